"""Alembic environment: runs on the connection handed over by ``serving.store.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from serving.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Upgrade on the given connection (or on ``sqlalchemy.url`` when run from the alembic CLI)."""
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("no sqlalchemy.url: run migrations through serving.store.db.migrate")
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
