"""Peers and Symbiose on generated worlds, valued on the generator's truth; only the learner differs.

Per world (``features.sample_data.generate_dataset``; a ``world=`` preset where the generator has
them) Symbiose is trained as of the generator's as-of date once per learner and recommends for the
same date. The peers learn from Symbiose's own design matrix of the logged decisions: the
account/category feature columns of ``models.training.training_examples`` (every labelled logged
touch and `none` holdout before as-of), encoded by the default pipeline's ``DesignMatrix``; the
treatment is the logged channel × offer (``--arm-level offer``, discount steps pooled) or channel ×
offer × discount (``discount``), arms with fewer than ``min_arm_rows`` logged touches dropped; the
outcome is conversion. The logging policy is randomized (`none` with a fixed probability, else
uniform among the eligible actions), so the peers' propensities are the arms' shares of the log.

A peer's predicted conversion effect τ(x, a) then goes through Symbiose's own decision arithmetic:
:class:`PeerConversion` answers ``predict_proba`` with p_none(x) of the default pipeline's
conversion model plus τ(x, a), and the pipeline's value model, margins, costs, eligibility and
ranking do the rest. Actions of dropped arms get τ = 0 (never worth their cost). Symbiose's lift
prior (shrinkage toward an action's average predicted lift) is part of its learner and is not
applied to the peers.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from benchmarks.peers.learners import MISSING, ArmData, Predict, fit_peer
from benchmarks.public.metrics import bootstrap
from features.actions import action_space
from features.dataset import Dataset
from features.policy import NONE_CHANNEL
from features.sample_data import DEFAULT_AS_OF, generate_dataset
from features.snapshot import build_snapshot
from models.design import DesignMatrix, action_frame
from models.evaluation.ground_truth import KEY, compare_policies
from models.pipeline import DecisionPipeline, split_snapshot
from models.training import TrainingConfig, train_pipeline, training_examples

ARM_LEVELS = ("offer", "discount")
_EPS = 1e-4


def world_presets() -> list[str] | None:
    """The generator's world presets (``features.sample_worlds.WORLDS``), or None when
    ``generate_dataset`` takes no ``world=``."""
    if "world" not in inspect.signature(generate_dataset).parameters:
        return None
    try:
        from features.sample_worlds import WORLDS  # type: ignore[import-not-found]
    except ImportError:
        return None
    return list(WORLDS)


def make_world(n_accounts: int, seed: int, world: str) -> tuple[Dataset, pd.DataFrame]:
    """(dataset, truth) of one generated world; ``world="default"`` is the generator's default."""
    if world == "default":
        return generate_dataset(n_accounts, seed)
    presets = world_presets()
    if presets is None:
        raise ValueError(f"world {world!r}: this generator has no world presets; use 'default'")
    if world not in presets:
        raise ValueError(f"world {world!r} is not a preset; expected one of: default, {', '.join(presets)}")
    return generate_dataset(n_accounts, seed, world=world)  # type: ignore[call-arg]


def _arm_key(channel: np.ndarray, offer: np.ndarray, discount: np.ndarray, level: str) -> np.ndarray:
    parts = [np.asarray(channel, dtype=object).astype(str), np.asarray(offer, dtype=object).astype(str)]
    if level == "discount":
        parts.append(np.char.mod("%g", np.nan_to_num(np.asarray(discount, dtype=float))))
    return np.array(["|".join(p) for p in zip(*parts, strict=True)], dtype=object)


def peer_data(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline, level: str,
              min_arm_rows: int, max_rows: int | None, seed: int) -> tuple[ArmData, dict[str, int], list[str]]:
    """(the peers' logged rows, arm key -> arm number, dropped arm keys)."""
    if level not in ARM_LEVELS:
        raise ValueError(f"arm level must be one of {', '.join(ARM_LEVELS)}; got {level!r}")
    examples = training_examples(dataset.before(as_of), as_of, pipeline.specs, max_examples=max_rows, seed=seed)
    contact = examples["channel"].astype(str).to_numpy() != NONE_CHANNEL
    key = _arm_key(examples["channel"], examples["offer_id"], examples["discount_pct"], level)
    counts = pd.Series(key[contact]).value_counts()
    kept = sorted(counts[counts >= min_arm_rows].index)
    dropped = sorted(counts[counts < min_arm_rows].index)
    arms = {k: i + 1 for i, k in enumerate(kept)}
    arm = np.where(contact, pd.Series(key).map(arms).fillna(-1).to_numpy(dtype=int), 0)
    keep = arm >= 0
    X = account_inputs(pipeline.design, pipeline.design.encode(examples[keep]))
    arm = arm[keep]
    shares = np.bincount(arm, minlength=len(kept) + 1) / len(arm)
    data = ArmData(X, arm, examples.loc[keep, "converted"].to_numpy(dtype=float),
                   np.tile(shares, (len(arm), 1)), binary=True)
    return data, arms, dropped


def account_inputs(design: DesignMatrix, encoded: np.ndarray) -> np.ndarray:
    """The account/category columns of an encoded design matrix, missing values as ``MISSING``."""
    X = np.asarray(encoded[:, :len(design.account_columns)], dtype=float)
    return np.where(np.isnan(X), MISSING, X)


class PeerConversion:
    """Conversion "classifier" for the decision: p_none(x) from Symbiose's fitted conversion model,
    plus a peer's predicted effect τ(x, a) of the row's action (0 for `none` and unknown arms)."""

    classes_ = np.array([0, 1])

    def __init__(self, base, design: DesignMatrix, effects: Predict, arms: dict[str, int], level: str):
        self.base, self.design, self.effects, self.arms, self.level = base, design, effects, arms, level
        cols = design.columns
        self._idx = {c: cols.index(c) for c in ("action_channel", "action_offer_id", "action_discount_pct",
                                                "action_is_contact")}

    def _decode(self, X: np.ndarray, column: str) -> np.ndarray:
        levels = np.asarray(self.design.levels_.get(column, []), dtype=object)
        codes = X[:, self._idx[column]]
        ok = ~np.isnan(codes)
        out = np.full(len(X), None, dtype=object)
        out[ok] = levels[codes[ok].astype(int)]
        return out

    def predict_proba(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        n = len(X)
        none = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
        p = self.base.predict_proba(self.design.with_actions(X, none))[:, 1]
        contact = np.nan_to_num(X[:, self._idx["action_is_contact"]]) > 0
        if contact.any():
            rows = np.flatnonzero(contact)
            key = _arm_key(self._decode(X[rows], "action_channel"), self._decode(X[rows], "action_offer_id"),
                           X[rows, self._idx["action_discount_pct"]], self.level)
            arm = pd.Series(key).map(self.arms).fillna(0).to_numpy(dtype=int)
            inputs = account_inputs(self.design, X[rows])
            unique, inverse = np.unique(inputs, axis=0, return_inverse=True)
            tau = self.effects(unique)[inverse.ravel()]
            effect = np.where(arm > 0, tau[np.arange(len(rows)), np.maximum(arm - 1, 0)], 0.0)
            p[rows] = p[rows] + effect
        p = np.clip(p, _EPS, 1 - _EPS)
        return np.column_stack([1 - p, p])


def recommend(dataset: Dataset, as_of: pd.Timestamp, pipeline: DecisionPipeline) -> pd.DataFrame:
    """Rank-1 suggestions of every account, as ``models.recommend.score_dataset`` makes them but
    without reasons (nobody reads them here, and a peer has no feature contributions)."""
    data = dataset.before(as_of)
    actions = action_space(data)
    snapshot = build_snapshot(data, as_of, pipeline.specs, sorted(set(actions["category"].astype(str))))
    frame, state = split_snapshot(snapshot)
    return pipeline.recommend(frame, state, top_k=1, actions=actions, policy=data.policy, offers=data.offers,
                              category_margin=data.category_margin_rates(), explain=False)


def policy_row(recs: pd.DataFrame, truth: pd.DataFrame, replicates: int, seed: int) -> dict[str, float]:
    """Normalized value, V_policy with a 95 % bootstrap interval over accounts, ineligible suggestions,
    contact share and the share of contacted rank-1 actions with a discount."""
    cmp = compare_policies(recs, truth)
    top = recs[recs["rank"] == 1]
    chosen = top[top["channel"] != NONE_CHANNEL][KEY].assign(discount_pct=lambda d: d["discount_pct"].astype(float))
    t = truth[[*KEY, "true_expected_incremental_margin", "eligible"]].assign(
        discount_pct=truth["discount_pct"].astype(float))
    merged = chosen.merge(t, on=KEY, how="left")
    value = merged["true_expected_incremental_margin"].where(merged["eligible"].fillna(False).astype(bool), 0.0)
    accounts = pd.Index(pd.unique(truth["account_id"]))
    per_account = np.zeros(len(accounts))
    np.add.at(per_account, accounts.get_indexer(merged["account_id"]), value.fillna(0).to_numpy())
    ci = bootstrap(lambda idx: {"v": float(per_account[idx].mean())}, len(per_account), replicates, seed).iloc[0]
    return {"normalized": cmp.normalized, "V_policy": cmp.policy, "V_ci_low": ci["ci_low"], "V_ci_high": ci["ci_high"],
            "ineligible": cmp.ineligible_suggestions, "contact_share": len(chosen) / max(len(top), 1),
            "discounted_share": float((chosen["discount_pct"] > 0).mean()) if len(chosen) else 0.0,
            "V_random": cmp.random, "V_best_single": cmp.best_single_action,
            "best_single": cmp.best_single_action_name, "V_oracle": cmp.oracle}


def run_world(n_accounts: int, seed: int, world: str, learners: list[str], peers: list[str], *,
              level: str = "offer", min_arm_rows: int = 300, max_rows: int | None = None,
              replicates: int = 1000, log: Callable[[str], None] = print,
              done: Callable[[list[dict[str, object]]], None] | None = None) -> list[dict[str, object]]:
    """One row per method (Symbiose's learners, the peers) and reference policy for one world;
    ``done`` is called with the rows so far after each method (e.g. to save them)."""
    dataset, truth = make_world(n_accounts, seed, world)
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    base_cfg = TrainingConfig(random_state=0)
    rows: list[dict[str, object]] = []
    info = {"world": world, "accounts": n_accounts, "seed": seed}
    base: DecisionPipeline | None = None
    for learner in learners:
        cfg = TrainingConfig(learner=learner)
        started = time.perf_counter()
        pipeline = train_pipeline(dataset, as_of, cfg).pipeline
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        recs = recommend(dataset, as_of, pipeline)
        rows.append({**info, "method": f"symbiose-{learner}", **policy_row(recs, truth, replicates, seed),
                     "fit_s": fit_s, "predict_s": time.perf_counter() - started})
        log(f"  {world} {n_accounts} seed {seed} symbiose-{learner}: normalized {rows[-1]['normalized']:.3f}, "
            f"{fit_s + rows[-1]['predict_s']:.0f} s")
        if done is not None:
            done(rows)
        if cfg == base_cfg:
            base = pipeline
    if peers:
        if base is None:
            base = train_pipeline(dataset, as_of, base_cfg).pipeline
        data, arms, dropped = peer_data(dataset, as_of, base, level, min_arm_rows, max_rows, seed)
        log(f"  peers learn from {len(data.y):,} logged rows, {data.n_arms} arms ({level})"
            + (f"; dropped (< {min_arm_rows} touches): {', '.join(dropped)}" if dropped else ""))
        for name in peers:
            started = time.perf_counter()
            effects = fit_peer(name, data, seed)
            fit_s = time.perf_counter() - started
            started = time.perf_counter()
            peer_pipeline = replace(base, classifier=PeerConversion(base.classifier, base.design, effects, arms, level),
                                    lift_prior=None)
            recs = recommend(dataset, as_of, peer_pipeline)
            rows.append({**info, "method": name, **policy_row(recs, truth, replicates, seed),
                         "fit_s": fit_s, "predict_s": time.perf_counter() - started,
                         "peer_rows": len(data.y), "peer_arms": data.n_arms})
            log(f"  {world} {n_accounts} seed {seed} {name}: normalized {rows[-1]['normalized']:.3f}, "
                f"{fit_s + rows[-1]['predict_s']:.0f} s")
            if done is not None:
                done(rows)
    ref = rows[0] if rows else policy_row(recommend(dataset, as_of, train_pipeline(dataset, as_of).pipeline),
                                          truth, replicates, seed)
    span = ref["V_oracle"] - ref["V_random"]
    rows.append({**info, "method": f"reference: best single action ({ref['best_single']})",
                 "normalized": (ref["V_best_single"] - ref["V_random"]) / span if span > 0 else np.nan,
                 "V_policy": ref["V_best_single"], "ineligible": 0})
    rows.append({**info, "method": "reference: oracle", "normalized": 1.0, "V_policy": ref["V_oracle"], "ineligible": 0})
    return rows
