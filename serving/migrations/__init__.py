"""Alembic migrations of the service database (run programmatically by ``store.db.migrate``)."""
