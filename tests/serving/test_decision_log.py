"""The decision log's group commit: concurrent requests share transactions, every row is stored
once, and a failed or slow write fails exactly the requests whose rows it held."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import event

from serving.decision_log import DecisionLog, DecisionLogUnavailable
from serving.log_writer import WriterInThisProcess
from serving.store.db import Database
from serving.store.decisions import count_decisions
from tests.serving.test_store import _decision


@pytest.fixture
def log(database_url: str):
    Database.open(database_url).close()  # migrate
    decision_log = DecisionLog(WriterInThisProcess(Database.open_log(database_url)), timeout=5.0)
    yield decision_log
    decision_log.close()


def _commits(log: DecisionLog) -> list[int]:
    """A list that grows by one per committed transaction of ``log``'s engine."""
    commits: list[int] = []
    event.listen(log._writer.database.engine, "commit", lambda _conn: commits.append(1))
    return commits


def test_concurrent_async_requests_share_commits_and_store_every_row(log: DecisionLog) -> None:
    commits = _commits(log)

    async def requests() -> None:
        await asyncio.gather(*(log.write_async([_decision(f"s{i}-{j}", account=f"A{i}") for j in range(3)])
                               for i in range(200)))

    asyncio.run(requests())
    with log._writer.database() as session:
        assert count_decisions(session) == 600
        assert count_decisions(session, "A17") == 3
    # 200 requests arrive in one loop tick: the first starts a batch, the others share the next.
    assert 1 <= len(commits) <= 5, len(commits)


def _handoffs(log: DecisionLog) -> list[int]:
    """A list that grows by the row count of each batch ``log`` hands to its writer thread."""
    handoffs: list[int] = []
    submit = log.submit

    def counting_submit(rows):
        handoffs.append(len(rows))
        return submit(rows)

    log.submit = counting_submit  # type: ignore[method-assign]
    return handoffs


def test_requests_arriving_during_a_write_join_the_next_batch(log: DecisionLog) -> None:
    """One hand-off to the writer thread per batch, not per request."""
    handoffs = _handoffs(log)

    async def requests() -> None:
        async def one(i: int) -> None:
            await asyncio.sleep(0.001 * (i % 10))
            await log.write_async([_decision(f"t{i}"), _decision(f"u{i}")])

        await asyncio.gather(*(one(i) for i in range(300)))

    asyncio.run(requests())
    with log._writer.database() as session:
        assert count_decisions(session) == 600
    assert sum(handoffs) == 600
    assert len(handoffs) < 100, len(handoffs)


def test_a_failed_write_fails_the_requests_of_its_batch_only(log: DecisionLog) -> None:
    async def requests() -> tuple[list, list]:
        bad = [log.write_async([_decision("dup"), {"suggestion_id": "x"}]) for _ in range(3)]
        failed = await asyncio.gather(*bad, return_exceptions=True)
        ok = await asyncio.gather(*(log.write_async([_decision(f"ok{i}")]) for i in range(3)),
                                  return_exceptions=True)
        return failed, ok

    failed, ok = asyncio.run(requests())
    assert all(isinstance(f, DecisionLogUnavailable) and "not written" in str(f) for f in failed)
    assert ok == [None, None, None]
    with log._writer.database() as session:
        assert count_decisions(session) == 3


def test_a_cancelled_request_does_not_disturb_the_others(log: DecisionLog) -> None:
    async def requests() -> None:
        victim = asyncio.ensure_future(log.write_async([_decision("gone")]))
        others = [asyncio.ensure_future(log.write_async([_decision(f"k{i}")])) for i in range(5)]
        await asyncio.sleep(0)
        victim.cancel()
        assert await asyncio.gather(*others) == [None] * 5

    asyncio.run(requests())


def test_a_write_that_does_not_finish_in_time_is_unavailable(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    Database.open(url).close()
    log = DecisionLog(WriterInThisProcess(Database.open_log(url)), timeout=0.2)
    release = threading.Event()

    def stall(*_args) -> None:
        release.wait(5)

    event.listen(log._writer.database.engine, "begin", stall)
    try:
        with pytest.raises(DecisionLogUnavailable, match="within 0.2 s"):
            asyncio.run(log.write_async([_decision("slow")]))
        with pytest.raises(DecisionLogUnavailable, match="within 0.2 s"):
            log.write([_decision("slow2")])
    finally:
        release.set()
        log.close()


def test_the_async_path_works_from_several_event_loops(log: DecisionLog) -> None:
    failures: list[BaseException] = []

    async def requests(prefix: str) -> None:
        await asyncio.gather(*(log.write_async([_decision(f"{prefix}{i}")]) for i in range(50)))

    def run(prefix: str) -> None:
        try:
            asyncio.run(asyncio.wait_for(requests(prefix), 10))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    log.write([_decision("sync")])
    with log._writer.database() as session:
        assert count_decisions(session) == 201


def test_rows_are_stored_as_the_core_insert_stores_them(database_url: str) -> None:
    """The log's own insert (positional on SQLite) keeps every column as Core's insert would,
    times in several zones included."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import insert, select

    from serving.store.decisions import DECISION_FIELDS, DECISIONS, log_decisions

    database = Database.open(database_url)
    utc = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
    shifted = utc.astimezone(timezone(timedelta(hours=2)))  # the same instant, another zone
    rows = [{**_decision(f"s{i}", account=f"A{i % 2}"), "as_of": as_of, "requested_at": requested,
             "offer_id": None if i == 1 else "O1", "propensity": 0.25 * (i + 1)}
            for i, (as_of, requested) in enumerate([(utc, utc), (shifted, utc), (utc.replace(tzinfo=None), shifted)])]
    with database() as session:
        log_decisions(session, rows)
    with database() as session:
        session.connection().execute(insert(DECISIONS), rows)
        session.commit()
    with database() as session:
        stored = [tuple(r) for r in session.execute(select(*(DECISIONS.c[n] for n in DECISION_FIELDS))
                                                    .order_by(DECISIONS.c.id))]
    database.close()
    assert len(stored) == 6 and stored[:3] == stored[3:]


class _HeldWriter:
    """A writer whose first batch waits until ``release`` is set; records every batch's size."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.batches: list[int] = []

    def write(self, rows) -> float:
        self.batches.append(len(rows))
        self.release.wait(5)
        return 0.0

    def close(self) -> None:
        self.release.set()


@pytest.mark.parametrize("in_flight", [1, 2])
def test_a_loop_hands_over_its_next_batch_while_one_is_being_written(in_flight: int) -> None:
    """While the first batch is held, the next loop turn's requests are handed to the writer
    thread at once when a second batch may be in flight, and only after the commit when not."""
    writer = _HeldWriter()
    log = DecisionLog(writer, timeout=5.0, in_flight=in_flight)
    handoffs = _handoffs(log)

    async def requests() -> list[int]:
        first = asyncio.ensure_future(log.write_async([_decision("a")]))
        while not writer.batches:
            await asyncio.sleep(0.001)
        later = [asyncio.ensure_future(log.write_async([_decision(f"b{i}")])) for i in range(3)]
        await asyncio.sleep(0.05)
        seen = list(handoffs)
        writer.release.set()
        await asyncio.gather(first, *later)
        return seen

    try:
        seen = asyncio.run(requests())
    finally:
        log.close()
    assert seen == ([1, 3] if in_flight == 2 else [1])
    assert handoffs == [1, 3] and writer.batches == [1, 3]


def test_in_flight_must_allow_one_batch() -> None:
    with pytest.raises(ValueError, match="in_flight: expected at least 1 batch, got 0"):
        DecisionLog(_HeldWriter(), in_flight=0)
