"""The one place where errors become HTTP answers: Symbiose's own errors (``features.errors``)
get a 4xx with their message as ``detail``; an unavailable database a 503. Anything else is a bug:
FastAPI answers 500 and the server logs its traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from features.errors import SymbioseError
from serving.decision_log import DecisionLogUnavailable
from serving.errors import ConflictError, NotFoundError

#: Status of each kind of SymbioseError (the first matching class wins); others are 422.
STATUS: tuple[tuple[type[SymbioseError], int], ...] = (
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (ConflictError, status.HTTP_409_CONFLICT),
)


def install_error_handlers(app: FastAPI) -> None:
    """Map Symbiose's errors and database failures to answers with a ``detail``."""
    app.add_exception_handler(SymbioseError, _symbiose_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(DecisionLogUnavailable, _database_error)


async def _symbiose_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next((code for kind, code in STATUS if isinstance(exc, kind)), status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"database unavailable, try again ({type(exc).__name__})"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
