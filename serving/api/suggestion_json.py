"""An account's suggestions as the JSON body of ``GET /v1/accounts/{id}/suggestions``, rendered
by the API's own response models, with every suggestion rendered once and then reused.

The same suggestion (same account, action, rank, values and reasons) is shown again and again
until a new snapshot is served; validating it into the response model and serializing it on every
request cost most of the request's time. Records are frozen values, so a record's JSON is kept
under the record itself; suggestions of a replaced snapshot carry other ids and simply age out.
"""

from __future__ import annotations

import threading
from datetime import datetime

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
    head = AccountSuggestions(account_id=account_id, model_version=model_version, as_of=as_of,
                              suggestions=[]).model_dump_json().encode()
    if not head.endswith(b"[]}"):
        raise RuntimeError(f"AccountSuggestions: expected its JSON to end with the suggestions, got {head[-40:]!r}")
    return head[:-2] + b",".join(suggestion_json(s) for s in suggestions) + b"]}"
