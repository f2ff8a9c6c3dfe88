"""Suggestion reasons in the page's language.

The snapshot keeps every candidate's reasons as data (``features.reason_texts``); a page renders
them in its own language instead of showing the English sentences of the API.
"""

from __future__ import annotations

from features.policy import NONE_CHANNEL
from features.reason_texts import LITERAL, Reason, reasons_from_json
from models.suggestion import Suggestion
from serving.suggestions import NO_FURTHER_ACTION, NO_FURTHER_ACTION_REASON, SuggestionService


def in_language(suggestions: list[Suggestion], service: SuggestionService, lang: str,
                currency: str) -> list[Suggestion]:
    """The suggestions with their ``reasons`` as sentences in ``lang``."""
    codes: dict[str, dict[str, str]] = {}
    out = []
    for s in suggestions:
        if s.account_id not in codes:
            codes[s.account_id] = service.reason_codes(s.account_id)
        found = codes[s.account_id].get(s.suggestion_id)
        reasons = reasons_from_json(found) if found is not None else _without_codes(s)
        out.append(s.with_reasons(r.text(lang, currency) for r in reasons))
    return out


def _without_codes(suggestion: Suggestion) -> list[Reason]:
    """Reasons of a suggestion that has no data form: the added ``none`` says its own reason;
    other sentences stay as given."""
    if suggestion.channel == NONE_CHANNEL and suggestion.reasons == (NO_FURTHER_ACTION,):
        return [NO_FURTHER_ACTION_REASON]
    return [Reason(LITERAL, {"text": t}) for t in suggestion.reasons]
