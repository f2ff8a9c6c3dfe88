"""What users did with the suggestions of each model version: the share accepted, dismissed, done.

The decision log says which suggestions were shown (and by which model version), the feedback
table what users answered. Each suggestion counts once, by its final status
(:mod:`models.feedback_state`): feedback taken back by an undo counts as no answer, and
"accepted" means taken on (accepted or done), as in the scoreboard's funnel. The shares are of
the distinct suggestions shown.
"""

from __future__ import annotations

import pandas as pd

from models.feedback_state import ANSWERS, TAKEN_ON, final_statuses

STATUSES = ANSWERS
FEEDBACK_COLUMNS = ["model_version", "shown", "answered", *STATUSES,
                    *(f"{s}_share" for s in STATUSES)]


def feedback_shares(decisions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """One row per model version: suggestions shown, answered, and per status count and share.

    ``decisions``: ``suggestion_id``, ``model_version`` (the decision log); ``feedback``:
    ``suggestion_id``, ``status`` in the order stored (or with their ``id``). Feedback on
    suggestions the log does not hold is left out."""
    for name, frame, columns in (("decision log", decisions, ("suggestion_id", "model_version")),
                                 ("feedback", feedback, ("suggestion_id", "status"))):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}; expected {list(columns)}")
    shown = decisions[["suggestion_id", "model_version"]].drop_duplicates("suggestion_id")
    if shown.empty:
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    final = final_statuses(feedback)
    status = shown["suggestion_id"].astype(str).map(final)
    table = shown.groupby("model_version").size().rename("shown").to_frame()
    by_version = shown["model_version"]
    table["answered"] = status.isin(ANSWERS).groupby(by_version).sum()
    table["accepted"] = status.isin(TAKEN_ON).groupby(by_version).sum()
    for name in ("dismissed", "done"):
        table[name] = (status == name).groupby(by_version).sum()
    for name in STATUSES:
        table[f"{name}_share"] = table[name] / table["shown"]
    table = table.reset_index()
    for column in ("shown", "answered", *STATUSES):
        table[column] = table[column].astype(int)
    return table[FEEDBACK_COLUMNS]
