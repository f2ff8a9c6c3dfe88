"""The service: ``create_app(settings)`` puts the HTTP API and the rep pages together, loads model
and snapshot once and serves them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from serving.api.access_log import AccessLog, log_to_stderr
from serving.api.errors import install_error_handlers
from serving.api.fast_suggestions import AccountSuggestionsFastPath
from serving.api.limits import RequestLimits
from serving.api.redirects import RelativeRedirects
from serving.api.routers import accounts, attribution, campaigns, feedback, health, model, reps
from serving.api.routers.metrics import router as metrics_router
from serving.runtime import Runtime, open_runtime
from serving.settings import Settings, get_settings
from serving.snapshot import Snapshot
from serving.web.headers import SecurityHeaders
from serving.web.setup import install_web

DESCRIPTION = """Next best actions per account, ranked by expected incremental margin.

All `/v1` paths need `Authorization: Bearer <token>` (tokens from `symbiose users add`).
Reps see their own accounts, managers their region, marketing and admin all accounts."""

#: Answers smaller than this are sent uncompressed (gzip would not save a round trip).
GZIP_MIN_BYTES = 500
GZIP_LEVEL = 5


def create_api(lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
               settings: Settings | None = None) -> FastAPI:
    """The routes, error handlers, OpenAPI schema and the middleware around them (outermost
    first: access log, the account suggestions' fast path, security headers, gzip, request limits,
    relative redirects), with nothing loaded yet (limits from ``settings``, default: the
    settings' defaults)."""
    settings = settings or Settings()
    app = FastAPI(title="Symbiose", version="1", description=DESCRIPTION, lifespan=lifespan)
    for module in (health, accounts, reps, feedback, model, attribution, campaigns):
        app.include_router(module.router)
    install_web(app)
    # Operations: GET /metrics (off unless SYMBIOSE_METRICS_TOKEN is set); the AccessLog middleware
    # below logs every request as JSON and times it into the runtime's metrics.
    app.include_router(metrics_router)
    install_error_handlers(app)
    app.add_middleware(RelativeRedirects)
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes,
                       max_header_bytes=settings.max_header_bytes)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(SecurityHeaders)
    # Inside the access log, outside the rest: it does their work itself for its own answers.
    app.add_middleware(AccountSuggestionsFastPath, max_header_bytes=settings.max_header_bytes,
                       gzip_min_bytes=GZIP_MIN_BYTES, gzip_level=GZIP_LEVEL)
    app.add_middleware(AccessLog)
    return app


def create_app(settings: Settings | None = None, *, snapshot: Snapshot | None = None,
               runtime: Runtime | None = None) -> FastAPI:
    """The app for ``settings`` (default: from the environment). Model and snapshot are loaded
    here, once; pass ``snapshot`` (or a whole ``runtime``) to reuse ones already loaded.

    Without an explicit model, while running, it follows the registry's champion
    (``serving.model_watch``; every ``model_poll_seconds``, 0 = off)."""
    runtime = runtime or open_runtime(settings or get_settings(), snapshot)
    app = create_api(lifespan=_follow_champion, settings=runtime.settings)
    if runtime.settings.access_log:
        log_to_stderr()
    app.state.runtime = runtime
    return app


@asynccontextmanager
async def _follow_champion(app: FastAPI) -> AsyncIterator[None]:
    from serving.model_watch import watch_champion

    app.state.runtime.snapshot.start_background()
    watcher = watch_champion(app.state)
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()
