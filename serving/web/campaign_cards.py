"""The campaign a rep's suggestion card belongs to: a card whose action (channel and offer) is the
rep action a current campaign planned for that account carries the campaign's name
(``campaign_name(request, s)`` in the page templates)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from serving.campaigns.rep_actions import rep_actions
from serving.web.context import ENV


def campaign_name(request: Request, suggestion: Any) -> str | None:
    """The name of the current campaign whose rep action on the card's account is the card's
    action; None for every other card."""
    runtime = getattr(request.app.state, "runtime", None)
    account = getattr(suggestion, "account_id", None)
    if runtime is None or account is None:
        return None
    for action in rep_actions(runtime.sessions).for_accounts([account]).get(account, []):
        if action["channel"] == suggestion.channel and action["offer_id"] == suggestion.offer_id:
            return str(action["campaign_name"])
    return None


def install_campaign_names() -> None:
    """Make :func:`campaign_name` available to every page template."""
    ENV.globals["campaign_name"] = campaign_name
