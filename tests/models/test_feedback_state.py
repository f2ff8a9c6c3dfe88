"""Final statuses of suggestions: the latest feedback counts, an undo takes back what came before."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from models.feedback_state import FinalStates, final_statuses


def test_latest_feedback_counts_and_undo_takes_back():
    feedback = pd.DataFrame({"suggestion_id": ["a", "a", "b", "b", "b", "c", "d", "d"],
                             "status": ["accepted", "undone", "accepted", "undone", "done", "dismissed",
                                        "accepted", "done"]})
    assert final_statuses(feedback).to_dict() == {"b": "done", "c": "dismissed", "d": "done"}
    with pytest.raises(ValueError, match=r"missing columns \['status'\]"):
        final_statuses(feedback[["suggestion_id"]])


def test_rows_read_in_any_order_and_twice_give_the_same_final_statuses():
    rng = random.Random(7)
    statuses = ["accepted", "dismissed", "done", "snoozed", "undone"]
    rows = [(i, f"s{rng.randrange(30)}", rng.choice(statuses)) for i in range(1, 400)]
    in_order = FinalStates()
    for row in rows:
        in_order.update(*row)
    shuffled = FinalStates()
    for row in rng.sample(rows, len(rows)) + rng.sample(rows, 100):  # out of order, some twice
        shuffled.update(*row)
    assert dict(shuffled.items()) == dict(in_order.items())
    assert all(status != "undone" for _sid, status in in_order.items())


def test_update_reports_the_change_of_final_status():
    states = FinalStates()
    assert states.update(1, "s", "accepted") == (None, "accepted")
    assert states.update(3, "s", "undone") == ("accepted", None)
    assert states.update(2, "s", "done") is None  # older than the undo: changes nothing
    assert states.update(3, "s", "undone") is None  # read again
    assert states.status("s") is None and states.update(4, "s", "done") == (None, "done")
