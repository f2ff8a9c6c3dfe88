"""What users did with the suggestions of each model version: the share accepted, dismissed, done.

The decision log says which suggestions were shown (and by which model version), the feedback
table what users answered. A suggestion counts once per status however often it was shown or
answered; the shares are of the distinct suggestions shown.
"""

from __future__ import annotations

import pandas as pd

STATUSES = ("accepted", "dismissed", "done")
FEEDBACK_COLUMNS = ["model_version", "shown", "answered", *STATUSES,
                    *(f"{s}_share" for s in STATUSES)]


def feedback_shares(decisions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """One row per model version: suggestions shown, answered, and per status count and share.

    ``decisions``: ``suggestion_id``, ``model_version`` (the decision log); ``feedback``:
    ``suggestion_id``, ``status``. Feedback on suggestions the log does not hold is left out."""
    for name, frame, columns in (("decision log", decisions, ("suggestion_id", "model_version")),
                                 ("feedback", feedback, ("suggestion_id", "status"))):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: missing columns {missing}; expected {list(columns)}")
    shown = decisions[["suggestion_id", "model_version"]].drop_duplicates("suggestion_id")
    if shown.empty:
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    answers = feedback[["suggestion_id", "status"]].drop_duplicates().merge(shown, on="suggestion_id")
    counts = (answers.assign(one=1).pivot_table(index="model_version", columns="status", values="one",
                                                aggfunc="sum", fill_value=0)
              .reindex(columns=list(STATUSES), fill_value=0))
    table = shown.groupby("model_version").size().rename("shown").to_frame()
    table["answered"] = answers.drop_duplicates("suggestion_id").groupby("model_version").size()
    table = table.join(counts).fillna(0)
    for status in STATUSES:
        table[f"{status}_share"] = table[status] / table["shown"]
    table = table.reset_index()
    for column in ("shown", "answered", *STATUSES):
        table[column] = table[column].astype(int)
    return table[FEEDBACK_COLUMNS]
