"""Wiring the rep pages into an app: routes, static files and the sign-in/CSRF answers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, RedirectResponse, Response

from serving.web import campaign_pages, exports, team_pages
from serving.web.campaign_cards import install_campaign_names
from serving.web.context import CsrfRejected, SignInRequired, render, texts_for
from serving.web.pages import router

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI) -> None:
    """Add the ``/ui`` pages, ``/ui/static`` files and their error answers to ``app``."""
    app.include_router(router)
    app.include_router(team_pages.router)
    app.include_router(exports.router)
    app.include_router(campaign_pages.router)
    install_campaign_names()
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_api_route("/ui", _to_pages, include_in_schema=False)
    app.add_api_route("/ui/sw.js", _service_worker, include_in_schema=False)


async def _service_worker() -> Response:
    """The pages' service worker (``static/sw.js``), served from ``/ui/`` so that it may control
    every page below it; browsers check for a new version on each visit (no-cache)."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/ui/"})

async def _to_pages() -> Response:
    return RedirectResponse("/ui/", status_code=307)


async def _sign_in(request: Request, _exc: Exception) -> Response:
    """Pages go to the sign-in form; htmx requests are told to go there."""
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/ui/login"})
    return RedirectResponse("/ui/login", status_code=303)


async def _csrf_rejected(request: Request, _exc: Exception) -> Response:
    texts = texts_for(request)
    return render(request, texts, "error.html", 403, message=texts("bad_form"), principal=None)
