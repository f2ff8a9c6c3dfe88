"""Persistent state of the service: users, feedback and the decision log (SQLAlchemy 2)."""
