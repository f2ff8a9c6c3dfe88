"""`symbiose demo` runs the whole loop on generated data and prints a summary people can read."""

from __future__ import annotations

import io

from rich.console import Console

from serving.cli.demo import run_demo, serve_demo


def test_demo_generates_trains_recommends_and_summarizes(symbiose_home, tmp_path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=False)
    comparison = run_demo(tmp_path / "demo", n_accounts=300, seed=11, console=console)
    text = buffer.getvalue()
    for expected in ("Next best action per account", "Discounts granted", "random eligible action",
                     "best single action", "oracle", "normalized policy value"):
        assert expected in text
    assert (tmp_path / "demo" / "recommendations.csv").exists()
    assert (tmp_path / "demo" / "truth.parquet").exists()
    assert not (tmp_path / "demo" / "data" / "truth.parquet").exists()
    assert comparison.ineligible_suggestions == 0
    assert comparison.policy > comparison.random


def test_demo_service_users_and_curl_lines(symbiose_home, trained_run, small_data_dir) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=400, force_terminal=False)
    tokens = serve_demo(small_data_dir, model=trained_run.model_uri, console=console, serve=False, port=8765)
    text = buffer.getvalue()
    assert set(tokens) == {"demo-rep", "demo-manager", "demo-marketing"}
    for token in tokens.values():
        assert token in text
    assert "curl -s http://127.0.0.1:8765/health" in text
    assert "/v1/accounts/" in text and "/suggestions" in text
    assert "Rep workspace: http://127.0.0.1:8765/ui/" in text
