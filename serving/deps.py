"""Request dependencies: the loaded runtime, a database session and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from serving.auth import Principal, hash_token
from serving.runtime import Runtime
from serving.store.users import principal_for_token

bearer = HTTPBearer(auto_error=False, description="a token from `symbiose users add`")
MAX_TOKEN_LENGTH = 200


async def get_runtime(request: Request) -> Runtime:
    """The runtime loaded at start (model, snapshot, database); async: no thread hop needed."""
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


def get_current_user(runtime: RuntimeDep, session: SessionDep,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                     ) -> Principal:
    """The caller named by ``Authorization: Bearer <token>``; 401 when missing, unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _unauthorized("invalid bearer token")
    key = hash_token(token)
    principal = runtime.principals.get(key)
    if principal is not None:
        return principal
    principal = principal_for_token(session, token)
    if principal is None:
        raise _unauthorized("unknown or revoked token")
    runtime.principals.put(key, principal)
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]
