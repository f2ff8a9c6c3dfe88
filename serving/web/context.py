"""Who is asking and in which language: the signed-in caller of a page, CSRF checks, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from serving.access import Access
from serving.api.access_log import set_role
from serving.api.deps import RuntimeDep
from serving.auth import Principal, hash_token
from serving.runtime import Runtime
from serving.store.web_sessions import end_web_session, web_session_principal
from serving.web.i18n import LANG_COOKIE, LANGUAGES, Texts, choose_language
from serving.web.session import CSRF_FIELD, CSRF_HEADER, SessionCodec, WebSession, csrf_matches

TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)


def compile_templates() -> int:
    """Compile every page template now (how many); a service calls it before it answers, so that
    no request of its first minute compiles one (about 0.1-0.8 s for all of them)."""
    names = ENV.list_templates(extensions=["html"])
    for name in names:
        ENV.get_template(name)
    return len(names)


class SignInRequired(Exception):
    """No valid session: the caller is sent to the sign-in page."""


class CsrfRejected(Exception):
    """A form or htmx POST without the session's CSRF token."""


def codec(request: Request) -> SessionCodec:
    """The app's cookie signer (made once per app from the runtime's settings)."""
    state = request.app.state
    found = getattr(state, "session_codec", None)
    if found is None:
        found = state.session_codec = SessionCodec(state.runtime.settings)
    return found


def web_principal(runtime: Runtime, session_id: str) -> Principal | None:
    """The active user of the stored sign-in ``session_id`` (cached like bearer tokens, re-read
    after a few seconds)."""
    key = _cache_key(session_id)
    found = runtime.principals.get(key)
    if found is not None:
        return found
    with runtime.sessions() as session:
        found = web_session_principal(session, session_id)
    if found is not None:
        runtime.principals.put(key, found)
    return found


def sign_out(runtime: Runtime, session_id: str) -> None:
    """End the sign-in ``session_id`` on the server: no copy of its cookie works any more."""
    with runtime.sessions() as session:
        end_web_session(session, session_id)
    runtime.principals.drop(_cache_key(session_id))


def _cache_key(session_id: str) -> str:
    return "web-session:" + hash_token(session_id)


@dataclass(frozen=True)
class Page:
    """One request of a signed-in user: runtime, caller, session, language."""

    request: Request
    runtime: Runtime
    principal: Principal
    session: WebSession
    texts: Texts

    @property
    def access(self) -> Access:
        """The caller's scope (``serving.access``)."""
        return Access(self.principal)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, self.texts, template, status_code, principal=self.principal,
                      csrf=self.session.csrf, **context)

    def check_csrf(self, submitted: str | None) -> None:
        """Raise :class:`CsrfRejected` unless the form field or ``X-CSRF-Token`` header matches."""
        token = submitted or self.request.headers.get(CSRF_HEADER)
        if not csrf_matches(self.session, token):
            raise CsrfRejected("missing or wrong CSRF token")


def texts_for(request: Request) -> Texts:
    return Texts(choose_language(request))


def signed_in(request: Request, runtime: RuntimeDep) -> Page:
    """The page context of a signed-in, still active user; :class:`SignInRequired` otherwise."""
    session = codec(request).read(request)
    if session is None:
        raise SignInRequired()
    principal = web_principal(runtime, session.session_id)
    if principal is None:
        raise SignInRequired()
    set_role(request.scope, principal.role)
    return Page(request, runtime, principal, session, texts_for(request))


PageDep = Annotated[Page, Depends(signed_in)]


def render(request: Request, texts: Texts, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """``template`` rendered (HTML-escaped) with the texts; remembers a ``?lang=`` choice."""
    html = ENV.get_template(template).render(t=texts, lang=texts.lang, languages=LANGUAGES,
                                             request=request, csrf_field=CSRF_FIELD, **context)
    response = HTMLResponse(html, status_code=status_code)
    remember_language(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def remember_language(request: Request, response: Response) -> None:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 24 * 3600, path="/ui", httponly=True,
                            samesite="lax")
