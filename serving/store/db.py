"""Engine and sessions: SQLite (WAL, embedded default) or PostgreSQL; schema via Alembic on start."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from features.errors import InputError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: Pages of write-ahead log after which a decision-log commit checkpoints it itself: a bound only,
#: the log's writer checkpoints in a thread of its own (``serving.store.wal``) long before.
LOG_WAL_AUTOCHECKPOINT = 10_000
#: SQLite has one writer at a time; queueing writers here avoids its sleep-and-retry busy handler
#: (tail latency) and read-to-write upgrade failures under concurrent requests.
_SQLITE_WRITER = threading.Lock()
T = TypeVar("T")
_URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


@contextmanager
def writing(session: Session) -> Iterator[None]:
    """Hold the process-wide SQLite write lock (nothing on PostgreSQL) for one write transaction.

    Any read transaction the session has open is ended first, so the write starts on fresh data.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITER:
        session.commit()
        yield


def create_owner_only(path: Path) -> None:
    """Create the SQLite file ``path`` readable and writable by its owner only (0600; SQLite gives
    its -wal and -shm files the same mode). An existing file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", sqlite_wal_autocheckpoint: int = 1000) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode (checkpointed by each commit that grows
    the log past ``sqlite_wal_autocheckpoint`` pages), foreign keys and a busy timeout. A URL
    that cannot name such a database is an ``InputError`` (the URL is not repeated: it may hold
    a password)."""
    try:
        parsed = make_url(url)
        parsed.get_dialect().import_dbapi()  # the driver must be installed
        _port = parsed.port
    except ArgumentError:
        raise InputError(f"database URL: not a valid URL; expected {_URL_FORMS}") from None
    except ValueError as exc:
        raise InputError(f"database URL: {exc}; expected {_URL_FORMS}") from None
    except ImportError as exc:
        raise InputError(f"database URL {parsed.render_as_string(hide_password=True)!r}: its driver is not "
                         f"installed ({exc}); expected {_URL_FORMS}") from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise InputError(f"database URL {parsed.render_as_string(hide_password=True)!r}: expected a "
                             "database file, e.g. sqlite:////var/lib/symbiose/symbiose.db")
        if not parsed.database.startswith("file:"):
            create_owner_only(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=20)
        synchronous = sqlite_synchronous.upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise InputError(f"sqlite_synchronous: expected FULL, NORMAL or EXTRA, got {sqlite_synchronous!r}")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute(f"PRAGMA wal_autocheckpoint={int(sqlite_wal_autocheckpoint)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    raise InputError(f"database URL {parsed.render_as_string(hide_password=True)!r}: expected {_URL_FORMS}")


def migrate(engine: Engine) -> None:
    """Bring the schema of ``engine``'s database to the latest Alembic revision."""
    from alembic import command  # imported here: the decision log's writer process never migrates
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


class Database:
    """One database: the engine it owns and its sessions. ``database()`` opens a session
    (use it as a context manager); :meth:`close` releases the engine's connections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self._shared: dict[str, Any] = {}
        self._shared_lock = threading.Lock()

    def shared(self, name: str, make: Callable[[], T]) -> T:
        """The one object ``name`` kept for this database (made by ``make`` on first use), e.g. a
        cache of its rows that every request reads."""
        with self._shared_lock:
            if name not in self._shared:
                self._shared[name] = make()
            return cast(T, self._shared[name])

    @classmethod
    def open(cls, url: str, *, sqlite_synchronous: str = "FULL") -> Database:
        """The database at ``url`` with its schema migrated to the latest revision."""
        database = cls(make_engine(url, sqlite_synchronous=sqlite_synchronous))
        try:
            migrate(database.engine)
        except BaseException:
            database.close()
            raise
        return database

    @classmethod
    def open_log(cls, url: str) -> Database:
        """The database at ``url`` for the decision log: on SQLite a second engine whose commits
        skip the fsync (WAL with synchronous=NORMAL: safe against a killed process, not against
        power loss) and whose commits leave the write-ahead log's checkpoints to a thread
        (``serving.store.wal``) up to ``LOG_WAL_AUTOCHECKPOINT`` pages; PostgreSQL log
        transactions turn off ``synchronous_commit`` themselves. The schema is expected in place
        (:meth:`open` migrates it)."""
        return cls(make_engine(url, sqlite_synchronous="NORMAL", sqlite_wal_autocheckpoint=LOG_WAL_AUTOCHECKPOINT))

    def __call__(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        """Release every pooled connection (the object stays usable: new connections are opened)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
