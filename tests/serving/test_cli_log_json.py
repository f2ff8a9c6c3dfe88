"""``symbiose --log-json``: every stderr line is a JSON object (the steps with their duration and
counts, errors, notes, the command's end), stdout as without the flag; without it nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``symbiose argv`` in this process."""
    with pytest.raises(SystemExit) as ended:
        main(argv)
    captured = capsys.readouterr()
    return int(ended.value.code or 0), captured.out, captured.err


def json_lines(stderr: str) -> list[dict]:
    lines = stderr.splitlines()
    assert lines, "no log lines"
    records = [json.loads(line) for line in lines]  # every line parses, or the test fails here
    assert all({"time", "level", "logger"} <= set(r) for r in records)
    return records


def test_steps_are_json_lines_and_stdout_is_unchanged(small_data_dir: Path, capsys) -> None:
    code, plain_out, plain_err = run(["validate", "--data", str(small_data_dir)], capsys)
    assert code == 0 and plain_err == ""
    code, json_out, json_err = run(["--log-json", "validate", "--data", str(small_data_dir)], capsys)
    assert code == 0 and json_out == plain_out
    records = json_lines(json_err)
    step = next(r for r in records if r["event"] == "step")
    assert (step["command"], step["step"], step["status"]) == ("validate", "load data", "ok")
    assert step["accounts"] == 400 and step["orders"] > 0 and step["duration_s"] >= 0
    end = records[-1]
    assert (end["event"], end["command"], end["status"], end["exit_code"]) == ("command", "validate", "ok", 0)
    assert end["duration_s"] >= step["duration_s"]


def test_an_error_is_a_json_line_with_the_exit_code(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nothing-here"
    code, out, err = run(["--log-json", "validate", "--data", str(missing)], capsys)
    assert code == 1 and out == ""
    records = json_lines(err)
    error = next(r for r in records if r["event"] == "error")
    assert error["message"] == f"--data {missing}: no such directory" and error["level"] == "INFO"
    assert records[-1]["event"] == "command" and records[-1]["exit_code"] == 1
    assert records[-1]["status"] == "error"

    code, _out, plain = run(["validate", "--data", str(missing)], capsys)
    assert code == 1 and plain.startswith("error: --data") and "{" not in plain


def test_notes_are_json_and_the_token_stays_on_stdout(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", f"sqlite:///{tmp_path / 'users.db'}")
    code, out, err = run(["--log-json", "users", "add", "--name", "ops", "--role", "admin"], capsys)
    assert code == 0
    token = out.strip()
    assert len(token) > 20 and token not in err
    records = json_lines(err)
    note = next(r for r in records if r["event"] == "note")
    assert note["command"] == "users" and "shown only once" in note["message"]
    assert records[-1]["event"] == "command" and records[-1]["exit_code"] == 0


def test_each_step_of_a_progress_bar_is_a_step_line(monkeypatch, caplog) -> None:
    """`train` reports its steps through a progress bar; with --log-json each ends in a step line."""
    import logging

    from serving.cli import common

    monkeypatch.setitem(common._JSON, "on", True)
    monkeypatch.setitem(common._JSON, "command", "train")
    with caplog.at_level(logging.INFO, logger=common.LOG.name), common.step_progress(["a", "b"]) as start:
        start(0, "first")
        start(1, "second")
    steps = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == "step"]
    assert [(s["step"], s["status"]) for s in steps] == [("first", "ok"), ("second", "ok")]
    caplog.clear()
    with pytest.raises(RuntimeError), caplog.at_level(logging.INFO, logger=common.LOG.name), \
            common.step_progress(["a"]) as start:
        start(0, "failing")
        raise RuntimeError("stop")
    assert [(r.fields["step"], r.fields["status"]) for r in caplog.records
            if getattr(r, "fields", {}).get("event") == "step"] == [("failing", "error")]
