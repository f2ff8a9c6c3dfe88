"""`symbiose demo` runs the whole loop on generated data and prints a summary people can read."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from serving.cli import demo as demo_module
from serving.cli import serve as serve_commands
from serving.cli.demo import TOKEN_FILE, run_demo, serve_demo
from tests.serving.cli_helpers import command_app, invoke


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


def test_demo_tokens_are_whole_on_a_narrow_terminal_and_in_a_private_file(
        symbiose_home, trained_run, small_data_dir) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, force_terminal=False)
    tokens = serve_demo(small_data_dir, model=trained_run.model_uri, console=console, serve=False, port=8766)
    text = buffer.getvalue()
    token_file = Path(small_data_dir).parent.resolve() / TOKEN_FILE
    assert all(token in text for token in tokens.values()), text
    assert str(token_file) in text
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    lines = [line.split("\t") for line in token_file.read_text(encoding="utf-8").splitlines()]
    assert {name: token for name, _role, token in lines} == tokens
    assert {name: role for name, role, _token in lines} == {
        "demo-rep": "rep", "demo-manager": "manager", "demo-marketing": "marketing"}


def test_token_file_is_made_private_when_it_existed(tmp_path) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    written = demo_module.write_token_file(path, {"demo-rep": "t1"}, {"demo-rep": ("rep", "R1", None)})
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert written.read_text(encoding="utf-8") == "demo-rep\trep\tt1\n"


@pytest.mark.parametrize("args, port", [([], 8000), (["--port", "8080"], 8080)])
def test_demo_command_passes_its_port_on(monkeypatch, tmp_path, args, port) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(demo_module, "run_demo", lambda workdir, **kw: seen.update(kw))
    code, _out, err = invoke(command_app(serve_commands.register),
                             ["demo", "--dir", tmp_path, "--no-serve", *args])
    assert code == 0, err
    assert seen["port"] == port and seen["serve"] is False


def test_demo_command_refuses_a_port_out_of_range(tmp_path) -> None:
    code, _out, err = invoke(command_app(serve_commands.register), ["demo", "--dir", tmp_path, "--port", "70000"])
    assert code == 2 and "--port" in err


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("args, port", [([], "8000"), (["PORT=8080"], "8080")])
def test_make_demo_takes_a_port(args, port) -> None:
    root = Path(__file__).resolve().parents[2]
    planned = subprocess.run(["make", "-n", "-C", str(root), "demo", *args], capture_output=True, text=True,
                             check=True).stdout
    assert f"symbiose demo --port {port}" in planned
