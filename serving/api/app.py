"""The FastAPI application: ``create_app(settings)`` loads model and snapshot once and serves them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from serving.decision_log import DecisionLogUnavailable
from serving.errors import ConflictError, NotFoundError
from serving.routers import accounts, attribution, campaigns, feedback, health, model, reps
from serving.runtime import Runtime, Snapshot, open_runtime
from serving.settings import Settings, get_settings
from serving.web.setup import install_web

DESCRIPTION = """Next best actions per account, ranked by expected incremental margin.

All `/v1` paths need `Authorization: Bearer <token>` (tokens from `symbiose users add`).
Reps see their own accounts, managers their region, marketing and admin all accounts."""


def create_api(lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
               ) -> FastAPI:
    """The routes, error handlers and OpenAPI schema, with nothing loaded yet."""
    app = FastAPI(title="Symbiose", version="1", description=DESCRIPTION, lifespan=lifespan)
    for module in (health, accounts, reps, feedback, model, attribution, campaigns):
        app.include_router(module.router)
    install_web(app)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(DecisionLogUnavailable, _database_error)
    return app


def create_app(settings: Settings | None = None, *, snapshot: Snapshot | None = None,
               runtime: Runtime | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment). Model and snapshot are loaded
    here, once; pass ``snapshot`` (or a whole ``runtime``) to reuse ones already loaded.

    Without an explicit model, while running, it follows the registry's champion
    (``serving.model_watch``; every ``model_poll_seconds``, 0 = off)."""
    settings = settings or get_settings()
    runtime = runtime or open_runtime(settings, snapshot)
    app = create_api(lifespan=_follow_champion)
    app.state.runtime = runtime
    return app


@asynccontextmanager
async def _follow_champion(app: FastAPI) -> AsyncIterator[None]:
    from serving.model_watch import watch_champion

    watcher = watch_champion(app.state)
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"database unavailable, try again ({type(exc).__name__})"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
