"""An account's suggestions as the JSON body of ``GET /v1/accounts/{id}/suggestions``, rendered
by the API's own response models, with every suggestion rendered once and then reused.

The same suggestion (same account, action, rank, values and reasons) is shown again and again
until a new snapshot is served; validating it into the response model and serializing it on every
request cost most of the request's time. Records are frozen values, so a record's JSON is kept
under the record itself; suggestions of a replaced snapshot carry other ids and simply age out.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from functools import lru_cache

from models.suggestion import SUGGESTION_FIELDS, Suggestion
from serving.api.schemas import AccountSuggestions
from serving.api.schemas import Suggestion as SuggestionOut

#: Rendered suggestions kept at most (about 0.5 KiB each); all are dropped when it is reached.
MAX_KEPT = 200_000
_OUT_FIELDS = tuple(name for name in SUGGESTION_FIELDS if name in SuggestionOut.model_fields)

_rendered: dict[Suggestion, bytes] = {}
_lock = threading.Lock()


def suggestion_json(suggestion: Suggestion) -> bytes:
    """One suggestion as the response model ``Suggestion`` serializes it."""
    found = _rendered.get(suggestion)
    if found is not None:
        return found
    values = {name: getattr(suggestion, name) for name in _OUT_FIELDS}
    values["reasons"] = list(suggestion.reasons)
    text = SuggestionOut.model_validate(values).model_dump_json().encode()
    with _lock:
        if len(_rendered) >= MAX_KEPT:
            _rendered.clear()
        _rendered[suggestion] = text
    return text


def account_suggestions_json(account_id: str, model_version: str, as_of: datetime,
                             suggestions: list[Suggestion]) -> bytes:
    """The body of an account's suggestions: the JSON values ``AccountSuggestions`` serializes."""
    head, middle = _head(model_version, as_of)
    return b"".join((head, json.dumps(account_id, ensure_ascii=False).encode(), middle,
                     b",".join([suggestion_json(s) for s in suggestions]), b"]}"))


@lru_cache(maxsize=16)
def _head(model_version: str, as_of: datetime) -> tuple[bytes, bytes]:
    """The body's JSON before the account id and between it and the suggestions (rendered by
    ``AccountSuggestions``; the same for every account of one snapshot)."""
    text = AccountSuggestions(account_id="", model_version=model_version, as_of=as_of,
                              suggestions=[]).model_dump_json().encode()
    head, empty_id, rest = text.partition(b'"account_id":""')
    if not empty_id or not rest.endswith(b"[]}"):
        raise RuntimeError(f"AccountSuggestions: expected account_id first and suggestions last, got {text!r}")
    return head + b'"account_id":', rest[:-2]
