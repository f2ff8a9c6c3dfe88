"""Suggestion reasons in the page's language.

The snapshot keeps every candidate's reasons as data (``features.reason_texts``); a page renders
them in its own language instead of showing the English sentences of the API.
"""

from __future__ import annotations

from typing import Any

from features.policy import NONE_CHANNEL
from features.reason_texts import LITERAL, Reason, reasons_from_json
from serving.suggestions import NO_FURTHER_ACTION, NO_FURTHER_ACTION_REASON, SuggestionService


def in_language(suggestions: list[dict[str, Any]], service: SuggestionService, lang: str,
                currency: str) -> list[dict[str, Any]]:
    """Copies of the suggestion records with their ``reasons`` as sentences in ``lang``."""
    codes: dict[str, dict[str, str]] = {}
    out = []
    for s in suggestions:
        account = s.get("account_id")
        if account is not None and account not in codes:
            codes[account] = service.reason_codes(account)
        found = codes.get(account, {}).get(s["suggestion_id"]) if account is not None else None
        reasons = reasons_from_json(found) if found is not None else _without_codes(s)
        out.append({**s, "reasons": [r.text(lang, currency) for r in reasons]})
    return out


def _without_codes(suggestion: dict[str, Any]) -> list[Reason]:
    """Reasons of a record that has no data form: the added ``none`` says its own reason; other
    sentences stay as given."""
    texts = list(suggestion.get("reasons") or [])
    if suggestion.get("channel") == NONE_CHANNEL and texts == [NO_FURTHER_ACTION]:
        return [NO_FURTHER_ACTION_REASON]
    return [Reason(LITERAL, {"text": t}) for t in texts]
