"""The one place where errors become HTTP answers: Symbiose's own errors (``features.errors``)
get a 4xx with their message as ``detail`` (an ``InvalidField`` a 422 whose ``detail`` names the
field, as for an invalid request); invalid requests a 422 whose ``detail`` lists the
fields (any JSON they held, NaN and unpaired surrogates included, shown safely); a value the
database refuses a 422; an unavailable database a 503. Anything else is a bug: FastAPI answers 500
and the server logs its traceback."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.routing import Match

from features.errors import SymbioseError
from serving.decision_log import DecisionLogUnavailable
from serving.errors import ConflictError, InvalidField, NotFoundError

#: Status of each kind of SymbioseError (the first matching class wins); others are 422.
STATUS: tuple[tuple[type[SymbioseError], int], ...] = (
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (ConflictError, status.HTTP_409_CONFLICT),
)


def install_error_handlers(app: FastAPI) -> None:
    """Map Symbiose's errors and database failures to answers with a ``detail``."""
    app.add_exception_handler(SymbioseError, _symbiose_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _refused_value)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(DecisionLogUnavailable, _database_error)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)


async def _method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 whose ``Allow`` names the methods of every route on the path (Starlette names only the
    first route's when a path has several, e.g. ``GET`` and ``POST /v1/campaigns``)."""
    allowed: set[str] = set()
    for route in request.app.router.routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(request.scope)[0] != Match.NONE:
            allowed |= set(methods)
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
                        headers={"Allow": ", ".join(sorted(allowed))})


async def _symbiose_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidField):  # shaped like a request validation error: the field is named
        return JSONResponse({"detail": [{"type": "value_error", "loc": ["body", exc.field], "msg": exc.message}]},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    code = next((code for kind, code in STATUS if isinstance(exc, kind)), status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"database unavailable, try again ({type(exc).__name__})"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


#: Longest text of an invalid value echoed back in an error (the rest is cut).
ECHO_CHARS = 200


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """422 listing each invalid field (``loc``, ``msg``, ``type``, the value given as ``input``)."""
    assert isinstance(exc, RequestValidationError)
    errors = [{key: safe_json(error[key]) for key in ("type", "loc", "msg", "input") if key in error}
              for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def safe_json(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON can carry it: non-finite numbers as their names ("NaN", "Infinity"),
    unpaired surrogates as ``\\uXXXX`` escapes, long texts and deep or wide containers cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        text = value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "…"
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if depth >= 4:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return {str(safe_json(str(k), depth + 1)): safe_json(v, depth + 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [safe_json(v, depth + 1) for v in list(value)[:20]]
    return safe_json(str(value), depth + 1)


async def _refused_value(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store is the request's fault, not an outage: no retry helps."""
    return JSONResponse({"detail": "a value of the request cannot be stored (the database refused it as "
                                   f"invalid: {type(getattr(exc, 'orig', exc)).__name__}); correct the request"},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
