"""``symbiose serve`` starts uvicorn without uvicorn's own access log (never written at the level
given, and its arguments cost each answer); the service's access log is its own."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def test_serve_starts_uvicorn_without_its_access_log(tmp_path: Path, small_data_dir: Path, trained_run,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from serving.cli import main

    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("SYMBIOSE_MODEL_POLL_SECONDS", "0")
    monkeypatch.setenv("SYMBIOSE_ACCESS_LOG", "false")
    options: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **given: options.append(given) or app.state.runtime.close())
    try:
        main(["serve", "--data", str(small_data_dir), "--model", trained_run.model_uri])
    except SystemExit as exc:
        assert not exc.code, f"symbiose serve exited with {exc.code}"
    assert len(options) == 1 and options[0]["log_level"] == "warning"
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name in UVICORN_LOGGERS
             for lg in [logging.getLogger(name)]}
    try:
        uvicorn.Config(app=lambda *_: None, **options[0])  # sets up uvicorn's loggers as the server does
        # uvicorn's HTTP protocol formats an access line's arguments for every answer when this is true
        assert not logging.getLogger("uvicorn.access").hasHandlers()
        assert logging.getLogger("uvicorn.error").hasHandlers(), "uvicorn's errors are still written"
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
