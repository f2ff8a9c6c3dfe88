"""What ``symbiose serve`` has ready before it answers its first request."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_serve_compiles_every_page_template_before_it_answers(
        tmp_path: Path, small_data_dir: Path, trained_run, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from serving.cli import main
    from serving.web.context import ENV

    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("SYMBIOSE_MODEL_POLL_SECONDS", "0")
    assert ENV.cache is not None
    ENV.cache.clear()  # as in a new process
    compiled: list[set[str]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, **_options: compiled.append(
        {name for _loader, name in ENV.cache.keys()}))
    try:
        main(["serve", "--data", str(small_data_dir), "--model", trained_run.model_uri])
    except SystemExit as exc:
        assert not exc.code, f"symbiose serve exited with {exc.code}"
    assert compiled == [set(ENV.list_templates(extensions=["html"]))]
