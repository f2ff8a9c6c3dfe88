"""The account list's query, one reading for the page and its download: which filters the
parameters stand for in the caller's role, and the parameters that ask for the same list again."""

from __future__ import annotations

from serving.web.listing import Filters


def account_filters(role: str, *, rep_id: str = "", region: str = "", channel: str = "", q: str = "",
                    view: str = "", offset: int = 0) -> Filters:
    """The list ``/ui/`` shows for these parameters: a rep's day unless a rep asks for ``view=all``;
    a rep's own accounts only (their ``rep_id`` parameter is ignored)."""
    is_rep = role == "rep"
    return Filters(rep_id=rep_id if not is_rep else "", region=region, channel=channel, query=q, offset=offset,
                   rep_day=is_rep and view != "all")


def filter_params(filters: Filters, role: str) -> dict[str, str]:
    """The query parameters (without offset) that ask for the list of ``filters`` again."""
    view = "all" if role == "rep" and not filters.rep_day else ""
    pairs = (("rep_id", filters.rep_id), ("region", filters.region), ("channel", filters.channel),
             ("q", filters.query), ("view", view))
    return {k: v for k, v in pairs if v}
