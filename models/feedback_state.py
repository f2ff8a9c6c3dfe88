"""The state a suggestion ends in after its feedback — the one definition every count uses.

Feedback on a suggestion is a sequence of rows in the order they were stored (their ids). The
suggestion's *final status* is the status of its latest row; an ``undone`` takes back everything
before it, so a suggestion whose latest row is ``undone`` has no status (it is unanswered again),
and feedback given after an undo counts again. Counting follows the final status only:

- *taken on* (the funnel's "accepted" stage): final status ``accepted`` or ``done`` — a done
  suggestion was taken on, whether or not it was accepted first;
- ``done`` and ``dismissed``: final status ``done`` or ``dismissed``;
- ``snoozed`` (or no status) counts as none of these.

:class:`FinalStates` keeps final statuses up to date from rows read in any order and more than
once (a row older than the one already seen for its suggestion changes nothing), so counters that
read a growing feedback table incrementally agree with a count over the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

UNDONE = "undone"
#: Final statuses that answer a suggestion (and their shares in the monitor).
ANSWERS = ("accepted", "dismissed", "done")
#: Final statuses counted as taken on (the funnel's "accepted" stage).
TAKEN_ON = ("accepted", "done")


class FinalStates:
    """suggestion_id -> its final status, from feedback rows given with their ids."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[int, str]] = {}

    def update(self, row_id: int, suggestion_id: str, status: str) -> tuple[str | None, str | None] | None:
        """Take one feedback row. Returns (final status before, after) when the row is the
        suggestion's latest so far, else None (an older row, or one seen before, changes nothing)."""
        known = self._latest.get(suggestion_id)
        if known is not None and known[0] >= row_id:
            return None
        self._latest[suggestion_id] = (row_id, status)
        return _final(known[1] if known is not None else None), _final(status)

    def status(self, suggestion_id: str) -> str | None:
        """The suggestion's final status (None: no feedback, or its latest is ``undone``)."""
        known = self._latest.get(suggestion_id)
        return _final(known[1]) if known is not None else None

    def items(self) -> Iterable[tuple[str, str]]:
        """(suggestion_id, final status) of the suggestions that have one."""
        for sid, (_row_id, status) in self._latest.items():
            final = _final(status)
            if final is not None:
                yield sid, final


def _final(status: str | None) -> str | None:
    return None if status is None or status == UNDONE else status


def final_statuses(feedback: pd.DataFrame) -> pd.Series:
    """suggestion_id -> final status of the suggestions in ``feedback`` that have one.

    ``feedback``: ``suggestion_id``, ``status`` and, when the rows are not in the order they were
    stored, their ``id`` (the order is taken from it)."""
    missing = [c for c in ("suggestion_id", "status") if c not in feedback.columns]
    if missing:
        raise ValueError(f"feedback: missing columns {missing}; expected suggestion_id, status (and id)")
    ids = feedback["id"].to_numpy() if "id" in feedback.columns else range(len(feedback))
    states = FinalStates()
    for row_id, sid, status in zip(ids, feedback["suggestion_id"].astype(str), feedback["status"].astype(str),
                                   strict=True):
        states.update(int(row_id), sid, status)
    found = dict(states.items())
    return pd.Series(list(found.values()), index=pd.Index(list(found.keys()), name="suggestion_id"),
                     name="status", dtype=object)
