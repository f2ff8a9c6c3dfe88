"""The HTTP API: routers (one per resource), the plain functions behind them, dependencies,
schemas and the mapping of errors to answers (``serving.app`` puts it together with the pages)."""
