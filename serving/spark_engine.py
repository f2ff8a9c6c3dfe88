"""``symbiose recommend --engine spark``: the recommendations file computed on Apache Spark.

The same decisions as the pandas engine (``models.recommend.score_dataset``), split by account:

1. The contract tables are read with Spark (``NAME.csv`` or ``NAME.parquet``, as the pandas loader
   accepts them; CSV cells as text, each row numbered as in its file). The small tables (offers,
   reps) and policy.yaml are checked on the driver with the contract checks; so are the headers,
   empty tables and ids that must be unique across accounts (touches.touch_id).
2. The account-keyed tables (accounts, orders, touches, web_events) go to buckets of accounts
   (a hash of account_id); ``groupBy(bucket).applyInPandas`` rebuilds each bucket's tables, checks
   their rows (``features.partition``) and builds its snapshot with ``features.snapshot``. A broken
   row anywhere stops the run with the contract's error (``features.validation.ContractError``),
   its rows numbered as in the files.
3. Each account's snapshot rows are packed into one row (``models.model_input``) and scored with
   ``mlflow.pyfunc.spark_udf`` on the registered model (or ``--model``), given the data's current
   offers and policy as parameters; the packed results are exploded back into contract rows.
4. The recommendations (docs/data-contract.md §3, the same columns as the pandas engine's) are
   written as Parquet: one file for a local path, Spark's directory of part files for other URIs.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from features.contract import TABLES, TABLES_BY_NAME, Table
from features.errors import InputError
from features.partition import (
    PARTITIONED_TABLES,
    ROW_COLUMN,
    SharedTables,
    merge_problems,
    partition_dataset,
)
from features.policy import Policy, PolicyError, policy_from_text
from features.validation import ContractError, Problem, check_table
from models.model_input import (
    PACKED_COLUMN,
    PACKED_OUTPUT,
    decision_context,
    offers_param,
    policy_param,
    snapshot_categories,
)
from models.pipeline import DecisionPipeline

POLICY_FILE = "policy.yaml"
#: Accounts per bucket, about: each bucket builds its features in one pass.
ACCOUNTS_PER_BUCKET = 2_500
#: The recommendation columns and their Spark types (the pandas engine's columns, in order).
OUTPUT_TYPES = {
    "account_id": "string", "rank": "bigint", "channel": "string", "offer_id": "string",
    "discount_pct": "double", "p_convert": "double", "p_convert_baseline": "double",
    "expected_incremental_margin": "double", "executed_by": "string", "rep_id": "string",
    "reasons": "string", "model_version": "string", "category": "string", "offer_name": "string",
    "propensity": "double", "explored": "boolean",
}
_BUCKET = "_bucket"
_PACKED_SCHEMA = f"account_id string, {ROW_COLUMN} bigint, {PACKED_COLUMN} string, problems string, latest string"


@contextmanager
def spark_session(master: str | None) -> Iterator[Any]:
    """A Spark session on ``master`` (default: the environment's, else ``local[*]``) with UTC
    session time; stopped at the end when this call started it."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        yield active
        return
    builder = SparkSession.builder.appName("symbiose recommend")
    master = master or os.environ.get("MASTER", "local[*]")
    builder = builder.master(master)
    if master.startswith("local"):  # the workers are this Python, where Symbiose is installed
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (builder.config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        yield spark
    finally:
        if active is None:
            spark.stop()


def recommend_on_spark(spark: Any, data: str, out: str, *, as_of: pd.Timestamp | None, pipeline: DecisionPipeline,
                       model_uri: str, model_version: str, top_k: int = 3) -> dict[str, Any]:
    """Write the recommendations of the data directory ``data`` (a path or a Hadoop URI) at
    ``as_of`` to ``out``; returns counts for the command's summary."""

    _ship_code(spark)
    shuffle = spark.conf.get("spark.sql.shuffle.partitions")
    try:
        return _recommend(spark, data, out, as_of=as_of, pipeline=pipeline, model_uri=model_uri,
                          model_version=model_version, top_k=top_k)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", shuffle)


def _recommend(spark: Any, data: str, out: str, *, as_of: pd.Timestamp | None, pipeline: DecisionPipeline,
               model_uri: str, model_version: str, top_k: int) -> dict[str, Any]:
    from pyspark.sql import functions as F

    base = _directory(data)
    files = _Files(spark, base)
    problems: list[Problem] = []
    policy = files.policy(problems)
    channels = None if policy is None else policy.channel_names
    frames = {t.name: files.read(t, problems) for t in TABLES}
    small = {name: check_table(frames[name].toPandas(), TABLES_BY_NAME[name], channels)
             for name in ("offers", "reps") if frames[name] is not None}
    for checked in small.values():
        problems += checked.problems
    numbered = {name: _numbered(frames[name]) for name in PARTITIONED_TABLES if frames[name] is not None}
    problems += _header_problems(numbered, channels)
    problems += _unique_across_accounts(numbered)
    if policy is None or "offers" not in small or "accounts" not in numbered:
        raise ContractError(problems)
    offers = small["offers"]
    reps = small.get("reps")
    shared = SharedTables(
        offers=offers, reps=reps, policy=policy,
        file_columns={n: tuple(c for c in df.columns if c != ROW_COLUMN) for n, df in numbered.items()},
        numeric_columns={n: _numeric_columns(df, TABLES_BY_NAME[n]) for n, df in numbered.items()
                         if files.kind[n] == "csv"},
        accounts_empty=numbered["accounts"].limit(1).count() == 0)
    n_accounts = numbered["accounts"].count()
    n_buckets = max(spark.sparkContext.defaultParallelism, math.ceil(n_accounts / ACCOUNTS_PER_BUCKET))
    spark.conf.set("spark.sql.shuffle.partitions", str(n_buckets))  # one task per bucket
    blobs = _bucket_blobs(numbered, n_buckets)
    if problems:  # still check every row: the error lists every problem, as the pandas loader's does
        raise ContractError(problems + _row_problems(blobs, shared))
    catalog_data = _catalog(offers.frame, policy)
    if as_of is None:
        as_of = _default_as_of(blobs, shared)
    context = decision_context(catalog_data.before(as_of))
    categories = snapshot_categories(context["actions"], pipeline)
    packed = blobs.groupBy(_BUCKET).applyInPandas(
        _snapshot_task(shared, as_of, pipeline.specs, categories), schema=_PACKED_SCHEMA).cache()
    try:
        broken = packed.filter(F.col("problems").isNotNull()).select("problems").collect()
        if broken:
            found = [Problem(**{**p, "rows": tuple(p["rows"]), "values": tuple(p["values"])})
                     for row in broken for p in json.loads(row["problems"])]
            raise ContractError(merge_problems(found))
        params = {"top_k": int(top_k), "offers": offers_param(offers.frame), "policy": policy_param(policy)}
        recs = _score(spark, packed.filter(F.col(PACKED_COLUMN).isNotNull()), model_uri, params, model_version)
        written = _write(recs, out)
    finally:
        packed.unpersist()
    return {"as_of": as_of, "accounts": n_accounts, **written}


# ---------------------------------------------------------------- reading

def _directory(data: str) -> str:
    parsed = urlparse(data)
    if parsed.scheme and len(parsed.scheme) > 1:
        return data.rstrip("/")
    path = Path(data)
    if not path.exists():
        raise InputError(f"--data {data}: no such directory")
    if not path.is_dir():
        raise InputError(f"--data {data}: expected a directory, got a file")
    return path.resolve().as_uri()


class _Files:
    """The data directory's files, through Hadoop's file system (local paths and cluster URIs)."""

    def __init__(self, spark: Any, base: str) -> None:
        self.spark, self.base = spark, base
        jvm = spark.sparkContext._jvm
        self._path = jvm.org.apache.hadoop.fs.Path
        self._fs = self._path(base).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not self._fs.isDirectory(self._path(base)):
            raise InputError(f"--data {base}: no such directory")
        self.kind: dict[str, str] = {}

    def exists(self, name: str) -> bool:
        return bool(self._fs.isFile(self._path(f"{self.base}/{name}")))

    def policy(self, problems: list[Problem]) -> Policy | None:
        if not self.exists(POLICY_FILE):
            return Policy()
        text = "\n".join(r.value for r in self.spark.read.text(f"{self.base}/{POLICY_FILE}", wholetext=True).collect())
        try:
            return policy_from_text(text)
        except PolicyError as exc:
            detail = str(exc).removeprefix(f"{POLICY_FILE}: ")
            problems.append(Problem("policy", None, (), (), f"valid business rules in {POLICY_FILE}; {detail}"))
            return None

    def read(self, table: Table, problems: list[Problem]) -> Any:
        csv, parquet = f"{table.name}.csv", f"{table.name}.parquet"
        has_csv, has_parquet = self.exists(csv), self.exists(parquet)
        if has_csv and has_parquet:
            problems.append(Problem(table.name, None, (), (), f"only one of {csv} and {parquet} (found both)"))
            return None
        if not has_csv and not has_parquet:
            if table.required:
                problems.append(Problem(table.name, None, (), (), f"a file {csv} or {parquet} in "
                                        f"{self.base} (required table)"))
            return None
        self.kind[table.name] = "csv" if has_csv else "parquet"
        try:
            if has_csv:  # every cell as text; only empty cells are empty (as the pandas loader reads)
                return (self.spark.read.option("header", True).option("encoding", "UTF-8")
                        .option("multiLine", True).option("nullValue", "").option("emptyValue", "")
                        .csv(f"{self.base}/{csv}"))
            return self.spark.read.parquet(f"{self.base}/{parquet}")
        except Exception as exc:  # Spark's AnalysisException and friends
            what = "a well-formed CSV file" if has_csv else "a readable Parquet file"
            problems.append(Problem(table.name, None, (), (), f"{what} ({csv if has_csv else parquet}: "
                                    f"{str(exc).splitlines()[0]})"))
            return None


def _numbered(frame: Any) -> Any:
    """``frame`` with each row's 1-based data row of its file in ``_row`` (files are read in
    order; partition p's rows follow the rows of partitions 0..p-1)."""
    from pyspark.sql import functions as F

    ided = frame.withColumn("_id", F.monotonically_increasing_id())
    counts = dict(ided.groupBy(F.spark_partition_id().alias("p")).count().collect())
    offsets, total = [], 0
    for p in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(p, 0)
    if not offsets:
        return ided.withColumn(ROW_COLUMN, F.lit(0).cast("bigint")).drop("_id")
    start = F.element_at(F.array(*[F.lit(o).cast("bigint") for o in offsets]),
                         F.shiftright(F.col("_id"), 33).cast("int") + 1)
    row = start + F.col("_id").bitwiseAND(F.lit((1 << 33) - 1)) + 1
    return ided.withColumn(ROW_COLUMN, row).drop("_id")


def _header_problems(numbered: dict[str, Any], channels: list[str] | None) -> list[Problem]:
    """The problems of the partitioned tables' headers and emptiness (the contract checks on a
    table with the file's columns and no rows)."""
    problems = []
    for name, frame in numbered.items():
        columns = [c for c in frame.columns if c != ROW_COLUMN]
        header = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
        empty_problem = name == "accounts" and frame.limit(1).count() > 0
        problems += [p for p in check_table(header, TABLES_BY_NAME[name], channels).problems
                     if not (empty_problem and p.column is None and "at least one data row" in p.expected)]
    return problems


def _unique_across_accounts(numbered: dict[str, Any]) -> list[Problem]:
    """touches.touch_id must be unique over the whole file (partitions see only their accounts)."""
    from pyspark.sql import functions as F

    frame = numbered.get("touches")
    if frame is None or "touch_id" not in frame.columns:
        return []
    ids = frame.select(F.trim(F.col("touch_id").cast("string")).alias("id"), ROW_COLUMN).filter(
        F.col("id").isNotNull() & (F.col("id") != ""))
    dup = ids.groupBy("id").count().filter(F.col("count") > 1).select("id")
    rows = ids.join(dup, "id").orderBy(ROW_COLUMN).collect()
    if not rows:
        return []
    column = TABLES_BY_NAME["touches"].column("touch_id")
    return [Problem("touches", "touch_id", tuple(int(r[ROW_COLUMN]) for r in rows), tuple(r["id"] for r in rows),
                    f"each {column.name} only once (unique column)")]


def _numeric_columns(numbered: Any, table: Table) -> dict[str, str]:
    """The columns of a CSV table that pandas reads as numbers: extra columns whose every cell is a
    number (the contract's own columns are read as text and normalized by the validation, as
    ``features.files`` reads them): "int64" when every cell is a whole number, else "float64"."""
    from pyspark.sql import functions as F

    declared = set(table.column_names)
    candidates = [c for c in numbered.columns if c != ROW_COLUMN and c.strip() not in declared]
    if not candidates:
        return {}
    checks = []
    for c in candidates:
        number = F.col(c).try_cast("double")
        checks += [F.sum(F.when(F.col(c).isNotNull() & number.isNull(), 1).otherwise(0)).alias(f"bad_{c}"),
                   F.sum(F.when(F.col(c).isNull() | (number != F.floor(number)) | F.col(c).contains("."), 1)
                         .otherwise(0)).alias(f"float_{c}")]
    counts = numbered.select(checks).first()
    return {c: "float64" if counts[f"float_{c}"] else "int64" for c in candidates if not counts[f"bad_{c}"]}


def _catalog(offers: pd.DataFrame, policy: Policy) -> Any:
    from features.contract import TABLES as ALL
    from features.dataset import Dataset
    from features.validation import empty_table

    frames = {t.name: empty_table(t) for t in ALL}
    frames["offers"] = offers
    return Dataset(**frames, policy=policy)


# ---------------------------------------------------------------- per bucket

def _bucket_blobs(numbered: dict[str, Any], n_buckets: int) -> Any:
    """One row per bucket and table: the bucket's raw rows of the table as Parquet bytes."""
    from pyspark.sql import functions as F

    parts = []
    for name, frame in numbered.items():
        key = F.col("account_id").cast("string") if "account_id" in frame.columns else F.lit(None).cast("string")
        bucketed = frame.withColumn(_BUCKET, F.pmod(F.hash(key), F.lit(n_buckets)))
        parts.append(bucketed.groupBy(_BUCKET).applyInPandas(_pack_task(name),
                                                             schema=f"{_BUCKET} int, table string, blob binary"))
    blobs = parts[0]
    for part in parts[1:]:
        blobs = blobs.unionByName(part)
    return blobs


def _pack_task(name: str) -> Any:
    def pack(frame: pd.DataFrame) -> pd.DataFrame:
        buffer = io.BytesIO()
        frame.drop(columns=_BUCKET).to_parquet(buffer, index=False)
        return pd.DataFrame({_BUCKET: [int(frame[_BUCKET].iloc[0])], "table": [name], "blob": [buffer.getvalue()]})
    return pack


def _unpack(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(io.BytesIO(b)) for t, b in zip(frame["table"], frame["blob"], strict=True)}


def _problem_rows(problems: list[Problem]) -> pd.DataFrame:
    data = json.dumps([asdict(p) for p in problems])
    return pd.DataFrame({"account_id": [None], ROW_COLUMN: [None], PACKED_COLUMN: [None],
                         "problems": [data], "latest": [None]})


def _snapshot_task(shared: SharedTables, as_of: pd.Timestamp, specs: list[Any], categories: list[str]) -> Any:
    def task(frame: pd.DataFrame) -> pd.DataFrame:
        from features.partition import partition_snapshot
        from models.model_input import pack_snapshot

        raw = _unpack(frame)
        snapshot, problems = partition_snapshot(raw, shared, as_of, specs, categories)
        if snapshot is None:
            return _problem_rows(problems)
        packed = pack_snapshot(snapshot)
        accounts = raw["accounts"] if "accounts" in raw else pd.DataFrame({"account_id": [], ROW_COLUMN: []})
        order = pd.Series(accounts[ROW_COLUMN].to_numpy(), index=accounts["account_id"].astype(str).to_numpy())
        return pd.DataFrame({"account_id": packed["account_id"].astype(str),
                             ROW_COLUMN: order.reindex(packed["account_id"].astype(str)).to_numpy(dtype="int64"),
                             PACKED_COLUMN: packed[PACKED_COLUMN], "problems": None, "latest": None})
    return task


def _latest_task(shared: SharedTables) -> Any:
    def task(frame: pd.DataFrame) -> pd.DataFrame:
        dataset, problems = partition_dataset(_unpack(frame), shared)
        if dataset is None:
            return _problem_rows(problems)
        latest = dataset.latest_time()
        return pd.DataFrame({"account_id": [None], ROW_COLUMN: [None], PACKED_COLUMN: [None], "problems": [None],
                             "latest": [None if latest is None else latest.isoformat()]})
    return task


def _row_problems(blobs: Any, shared: SharedTables) -> list[Problem]:
    rows = blobs.groupBy(_BUCKET).applyInPandas(_latest_task(shared), schema=_PACKED_SCHEMA) \
        .filter("problems is not null").select("problems").collect()
    found = [Problem(**{**p, "rows": tuple(p["rows"]), "values": tuple(p["values"])})
             for row in rows for p in json.loads(row["problems"])]
    return merge_problems(found)


def _default_as_of(blobs: Any, shared: SharedTables) -> pd.Timestamp:
    """Midnight after the latest event of any partition (``Dataset.default_as_of``), or today."""
    rows = blobs.groupBy(_BUCKET).applyInPandas(_latest_task(shared), schema=_PACKED_SCHEMA).collect()
    broken = [p for r in rows if r["problems"] for p in json.loads(r["problems"])]
    if broken:
        raise ContractError(merge_problems([Problem(**{**p, "rows": tuple(p["rows"]), "values": tuple(p["values"])})
                                            for p in broken]))
    stamps = [pd.Timestamp(r["latest"]) for r in rows if r["latest"]]
    if not stamps:
        return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    return max(stamps).normalize() + pd.Timedelta(days=1)


# ---------------------------------------------------------------- scoring and writing

def _result_type() -> str:
    fields = ", ".join(f"{name}: {kind}" for name, kind in OUTPUT_TYPES.items())
    return f"{PACKED_OUTPUT} array<struct<{fields}>>"


def _score(spark: Any, packed: Any, model_uri: str, params: dict[str, Any], model_version: str) -> Any:
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=_result_type(), env_manager="local",
                                  params=params)
    scored = packed.select(F.col(ROW_COLUMN).alias("_account_row"),
                           udf(F.struct("account_id", PACKED_COLUMN)).alias("_out"))
    rows = scored.select("_account_row", F.explode(f"_out.{PACKED_OUTPUT}").alias("r"))
    recs = rows.select("_account_row", *[F.col(f"r.{c}").alias(c) for c in OUTPUT_TYPES])
    recs = recs.withColumn("model_version", F.lit(model_version))
    return recs.orderBy("_account_row", "rank").drop("_account_row")


def _write(recs: Any, out: str) -> dict[str, Any]:
    """Write ``recs`` to ``out`` (one Parquet file for a local path, written atomically)."""
    from pyspark.sql import functions as F

    recs = recs.cache()
    try:
        counts = recs.agg(F.count("*").alias("rows"), F.countDistinct("account_id").alias("accounts"),
                          F.sum(F.when((F.col("rank") == 1) & (F.col("channel") != "none"), 1).otherwise(0))
                          .alias("acting")).first()
        parsed = urlparse(out)
        if parsed.scheme and len(parsed.scheme) > 1:
            recs.write.mode("overwrite").parquet(out)
        else:
            target = Path(out).resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            try:
                recs.coalesce(1).write.mode("overwrite").parquet((tmp / "parts").as_uri())
                part = next((tmp / "parts").glob("part-*.parquet"))
                os.replace(part, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        recs.unpersist()
    return {"rows": int(counts["rows"]), "acting": int(counts["acting"] or 0)}


def _ship_code(spark: Any) -> None:
    """Send the ``features``, ``models`` and ``serving`` packages to the executors (a cluster's
    workers need not have Symbiose installed, only its dependencies)."""
    import features
    import models
    import serving

    if spark.sparkContext.master.startswith("local"):
        return  # the workers are this machine's Python, with Symbiose importable
    target = Path(tempfile.mkdtemp(prefix="symbiose-code-")) / "symbiose_code.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for package in (features, models, serving):
            root = Path(str(package.__file__)).resolve().parent
            for file in root.rglob("*"):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, Path(root.name) / file.relative_to(root))
    spark.sparkContext.addPyFile(str(target))
