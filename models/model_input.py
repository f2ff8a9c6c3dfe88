"""The decision model's input and output forms, shared by every way of scoring.

The CLI, the service, ``mlflow models serve`` and Spark score the same snapshot with the same
catalog; this module says what that input is and derives the catalog the one way
(:func:`decision_context`, also used by ``models.recommend.score_dataset``).

**Snapshot rows** (the flat form): one row per account × category, as
``features.snapshot.build_snapshot`` makes them: ``account_id``, ``category``, ``rep_id``, the
contact-state columns (``consent_email``, ``do_not_contact``, ``touches_30d__<channel>``,
``days_since_last_order``, ``in_quiet_period``) and the model's feature columns.

**Packed rows**: one row per account with ``account_id`` and ``snapshot_rows``, a JSON array of
that account's snapshot rows (objects keyed by column name). Batch engines whose calls must return
one row per input row (Spark's ``mlflow.pyfunc.spark_udf``) send this form, so an account's
categories never fall into different batches; the output is then one row per account with the
column ``recommendations``: a list of that account's recommendation records.

**Parameters**: ``top_k`` (suggestions per account, default 3); ``offers``: the current offer
catalog as a JSON array of offers in the contract's terms (docs/data-contract.md §1, ``offers``:
``channels`` and ``discount_steps`` as JSON arrays or ``|``-separated text); ``policy``: the
current business rules as a JSON object of the same shape as ``policy.yaml``. With neither, the
training-time catalog and policy apply; ``offers`` alone is read against the training-time
policy; ``policy`` needs ``offers`` too (the action space depends on both).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.actions import action_space
from features.contract import OFFERS, TABLES
from features.dataset import Dataset
from features.errors import InputError
from features.policy import Policy
from features.validation import ContractError, check_table, empty_table

if TYPE_CHECKING:
    from models.pipeline import DecisionPipeline

#: The packed form's column: the account's snapshot rows as a JSON array of objects.
PACKED_COLUMN = "snapshot_rows"
#: The packed output's column: the account's recommendations as a list of records.
PACKED_OUTPUT = "recommendations"
PARAM_TOP_K, PARAM_OFFERS, PARAM_POLICY = "top_k", "offers", "policy"
#: The model's parameters and their defaults (empty text = the training-time catalog or policy).
DEFAULT_PARAMS: dict[str, Any] = {PARAM_TOP_K: 3, PARAM_OFFERS: "", PARAM_POLICY: ""}


def decision_context(data: Dataset) -> dict[str, Any]:
    """The action space, policy, offers and category margins that ``data``'s offers and policy
    give: what ``DecisionPipeline.recommend`` decides with."""
    return {"actions": action_space(data), "policy": data.policy, "offers": data.offers,
            "category_margin": data.category_margin_rates()}


def snapshot_categories(actions: pd.DataFrame, pipeline: DecisionPipeline) -> list[str]:
    """The categories a snapshot is built for: those of the actions, else the training-time ones."""
    return sorted(set(actions["category"].astype(str))) or pipeline.categories


# ---------------------------------------------------------------- parameters

def offers_param(offers: pd.DataFrame) -> str:
    """The ``offers`` parameter for a normalized offers table (``Dataset.offers``)."""
    records = []
    for row in offers.to_dict("records"):
        records.append({k: _plain(v) for k, v in row.items()})
    return json.dumps(records)


def policy_param(policy: Policy) -> str:
    """The ``policy`` parameter for a policy."""
    return json.dumps(policy.to_dict())


def _plain(value: Any) -> Any:
    """A JSON-ready value: tuples as lists, numpy scalars as Python numbers, missing as null."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value


def catalog_dataset(offers: str | None, policy: str | None, pipeline: DecisionPipeline) -> Dataset | None:
    """A data set holding the catalog of the ``offers`` and ``policy`` parameters (checked like a
    data directory's offers and policy.yaml), or None when neither is given."""
    if not offers and not policy:
        return None
    if not offers:
        raise InputError("parameter policy: give the parameter offers too (the action space "
                         "depends on both); expected offers as a JSON array of offers")
    rules = Policy.from_dict(_json(policy, PARAM_POLICY, dict)) if policy else Policy.from_dict(pipeline.policy)
    records = _json(offers, PARAM_OFFERS, list)
    if not all(isinstance(r, dict) for r in records):
        raise InputError("parameter offers: expected a JSON array of objects (one per offer)")
    checked = check_table(pd.DataFrame.from_records(records), OFFERS, rules.channel_names)
    if checked.problems:
        raise ContractError(checked.problems)
    tables = {t.name: empty_table(t) for t in TABLES}
    tables["offers"] = checked.frame
    return Dataset(**tables, policy=rules)


def _json(text: str, name: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InputError(f"parameter {name}: expected JSON text ({exc})") from exc
    if not isinstance(value, kind):
        raise InputError(f"parameter {name}: expected a JSON {'array' if kind is list else 'object'}, "
                         f"got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- packed form

def is_packed(model_input: pd.DataFrame) -> bool:
    """True for the packed form (one row per account with ``snapshot_rows``)."""
    return PACKED_COLUMN in model_input.columns and "category" not in model_input.columns


def pack_snapshot(snapshot: pd.DataFrame) -> pd.DataFrame:
    """The packed form of flat snapshot rows: one row per account, in order of first appearance."""
    accounts = pd.unique(snapshot["account_id"].to_numpy(dtype=object))
    groups = snapshot.groupby("account_id", sort=False).indices
    records = snapshot.to_dict("records")
    packed = [json.dumps([{k: _plain(v) for k, v in records[i].items()} for i in groups[a]])
              for a in accounts]
    return pd.DataFrame({"account_id": pd.Series(accounts, dtype=object), PACKED_COLUMN: packed})


def unpack_snapshot(packed: pd.DataFrame) -> pd.DataFrame:
    """Flat snapshot rows from the packed form (rows of each account in the order given)."""
    rows: list[dict[str, Any]] = []
    for account, text in zip(packed["account_id"], packed[PACKED_COLUMN], strict=True):
        for item in _json(text, PACKED_COLUMN, list):
            if not isinstance(item, dict):
                raise InputError(f"{PACKED_COLUMN} of account {account!r}: expected a JSON array of objects")
            if item.setdefault("account_id", account) != account:
                raise InputError(f"{PACKED_COLUMN} of account {account!r}: holds a row of account "
                                 f"{item['account_id']!r}; expected only rows of its own account")
            rows.append(item)
    return pd.DataFrame.from_records(rows)


def pack_recommendations(recs: pd.DataFrame, accounts: pd.Series) -> pd.DataFrame:
    """One row per account of ``accounts`` (in that order) with its recommendations as records."""
    by_account = recs.groupby("account_id", sort=False).indices
    records = recs.to_dict("records")
    packed = [[records[i] for i in by_account.get(a, [])] for a in accounts]
    return pd.DataFrame({PACKED_OUTPUT: packed}, index=accounts.index)
