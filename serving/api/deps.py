"""Request dependencies: the loaded runtime, a database session, the authenticated caller and
their access (``Annotated`` types, so a handler names what it needs in its signature)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from serving.access import Access
from serving.api.access_log import set_role
from serving.auth import Principal, hash_token
from serving.runtime import Runtime
from serving.store.users import principal_for_token

bearer = HTTPBearer(auto_error=False, description="a token from `symbiose users add`")
MAX_TOKEN_LENGTH = 200


async def get_runtime(request: Request) -> Runtime:
    """The served runtime (model, snapshot, database); async: no thread hop needed.

    Read once per request: a hot reload swaps the whole runtime, so a request sees one snapshot."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """One database session per request."""
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_current_user(request: Request, runtime: RuntimeDep, credentials: BearerDep) -> Principal:
    """The caller named by ``Authorization: Bearer <token>``; 401 when missing, unknown or revoked.

    A token checked in the last ``auth_cache_seconds`` is answered from memory; otherwise the
    user is looked up in a worker thread, so the event loop never waits on the database."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _unauthorized("invalid bearer token")
    key = hash_token(token)
    principal = runtime.principals.get(key)
    if principal is None:
        principal = await run_in_threadpool(_lookup, runtime, token)
        if principal is None:
            raise _unauthorized("unknown or revoked token")
        runtime.principals.put(key, principal)
    else:
        refresh_ahead(runtime, key, token)
    set_role(request.scope, principal.role)
    return principal


def _lookup(runtime: Runtime, token: str) -> Principal | None:
    with runtime.sessions() as session:
        return principal_for_token(session, token)


def refresh_ahead(runtime: Runtime, key: str, token: str) -> None:
    """When the cached check of ``token`` (hash ``key``) nears its end, check it again in a worker
    thread while this and other requests go on with the cached answer
    (``PrincipalCache.due_for_refresh``): otherwise every request arriving at the expiry would
    look the caller up at once, and all of them would wait on the database together."""
    principals = runtime.principals
    if not principals.due_for_refresh(key):
        return
    checked_at = time.monotonic()

    def done(future: asyncio.Future[Principal | None]) -> None:
        if future.cancelled() or future.exception() is not None:
            principals.refresh_failed(key)  # the entry expires as usual; a request then looks it up
        else:
            principals.refreshed(key, future.result(), checked_at)

    asyncio.get_running_loop().run_in_executor(None, _lookup, runtime, token).add_done_callback(done)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_access(request: Request, runtime: RuntimeDep, credentials: BearerDep) -> Access:
    """The caller's scope (``serving.access``). Resolves the caller itself rather than through
    ``CurrentUser``: one dependency level less on every request (each costs the framework more
    than the cached token check)."""
    return Access(await get_current_user(request, runtime, credentials))


AccessDep = Annotated[Access, Depends(get_access)]


async def get_planner(access: AccessDep) -> Access:
    """The caller's scope when they may plan campaigns (marketing, admin); 403 otherwise."""
    if not access.may_plan_campaigns:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {access.role} may not use campaigns; "
                                                              "expected marketing or admin")
    return access


PlannerDep = Annotated[Access, Depends(get_planner)]
