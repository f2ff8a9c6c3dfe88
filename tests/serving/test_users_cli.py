"""``symbiose users add|list|revoke``, ``symbiose serve`` argument errors and the demo's users."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from serving.cli import main
from serving.store.db import Database
from serving.store.users import principal_for_token

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())  # rich wraps long lines


@pytest.fixture
def db_url(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", url)
    return url


def test_add_prints_a_working_token_once_list_hides_it_revoke_disables_it(capsys, db_url) -> None:
    code, out, err = _run(capsys, "users", "add", "--name", "Petra", "--role", "rep", "--rep-id", "R001")
    assert code == 0 and "shown only once" in err
    token = out.strip()
    assert TOKEN.match(token), out
    code, out_m, _ = _run(capsys, "users", "add", "--name", "Max", "--role", "manager", "--region", "Nord")
    assert code == 0 and out_m.strip() != token
    sessions = Database.open(db_url)
    with sessions() as s:
        principal = principal_for_token(s, token)
    assert principal is not None and (principal.name, principal.role, principal.rep_id) == ("Petra", "rep", "R001")
    code, listing, _ = _run(capsys, "users", "list")
    assert code == 0 and "Petra" in listing and "Max" in listing and "Nord" in listing
    assert token not in listing and out_m.strip() not in listing
    code, out, _ = _run(capsys, "users", "revoke", "--name", "Petra")
    assert code == 0 and "revoked user 1 'Petra'" in out
    with sessions() as s:
        assert principal_for_token(s, token) is None
    sessions.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "x", "--role", "rep"], "role rep needs --rep-id"),
    (["--name", "x", "--role", "manager"], "role manager needs --region"),
    (["--name", "x", "--role", "owner"], "expected one of: rep, manager, marketing, admin"),
    (["--name", "x", "--role", "admin", "--region", "Nord"], "--region is only for role manager"),
])
def test_add_rejects_bad_scopes(capsys, db_url, args: list[str], message: str) -> None:
    code, out, err = _run(capsys, "users", "add", *args)
    assert code == 1 and message in err and out == ""


def test_revoke_unknown_user_fails(capsys, db_url) -> None:
    code, _, err = _run(capsys, "users", "revoke", "--name", "nobody")
    assert code == 1 and "no active user with name 'nobody'" in err
    code, _, err = _run(capsys, "users", "revoke", "--id", "99")
    assert code == 1 and "no active user with id 99" in err


def _active_names(db_url: str) -> list[str]:
    from serving.store.users import list_users

    database = Database.open(db_url)
    with database() as session:
        names = [u.name for u in list_users(session) if u.revoked_at is None]
    database.close()
    return names


def test_revoke_by_id_never_revokes_a_user_named_like_the_id(capsys, db_url) -> None:
    for name in ("alice", "1"):
        assert _run(capsys, "users", "add", "--name", name, "--role", "admin")[0] == 0

    code, out, _ = _run(capsys, "users", "revoke", "--id", "1")
    assert code == 0 and "revoked user 1 'alice'" in out and "'1'" not in out
    assert _active_names(db_url) == ["1"]

    code, out, _ = _run(capsys, "users", "revoke", "--name", "1")
    assert code == 0 and "revoked user 2 '1'" in out
    assert _active_names(db_url) == []


@pytest.mark.parametrize("args", [[], ["--id", "1", "--name", "alice"]])
def test_revoke_takes_exactly_one_of_id_and_name(capsys, db_url, args: list[str]) -> None:
    _run(capsys, "users", "add", "--name", "alice", "--role", "admin")
    code, _, err = _run(capsys, "users", "revoke", *args)
    assert code == 1 and "give either --id N or --name NAME" in err
    assert _active_names(db_url) == ["alice"]


@pytest.mark.parametrize("name", ["[/x]", "[bold]Ann[/bold]", "[red]Bo", "[link=x]Cem"])
def test_names_with_brackets_are_printed_literally(capsys, db_url, name: str) -> None:
    code, out, err = _run(capsys, "users", "add", "--name", name, "--role", "admin")
    assert code == 0 and TOKEN.match(out.strip()), err
    assert f"added user 1 {name!r}, role admin" in err

    code, listing, err = _run(capsys, "users", "list")
    assert code == 0 and name in listing, (listing, err)

    code, out, err = _run(capsys, "users", "revoke", "--name", name)
    assert code == 0 and f"revoked user 1 {name!r}" in " ".join(out.split()), err


@pytest.mark.parametrize("url", ["postgresql+psycopg2://u:secret@127.0.0.1:9/x",
                                 "postgresql+psycopg://u:secret@127.0.0.1:notaport/x",
                                 "postgresql+psycopg://u:secret@127.0.0.1:9/x", "sqlite://", "not a url"])
@pytest.mark.parametrize("command", [["users", "list"], ["users", "add", "--name", "a", "--role", "admin"],
                                     ["users", "revoke", "--id", "1"], ["serve", "--data", "."]])
def test_an_unusable_database_url_is_one_clear_line(capsys, monkeypatch, url: str,
                                                    command: list[str]) -> None:
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", url)

    code, out, err = _run(capsys, *command)

    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("error:") == 1, err
    assert "database" in err and "unexpected" not in err and "Traceback" not in err
    assert "secret" not in err


def test_serve_without_data_fails_clearly(capsys, db_url, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SYMBIOSE_DATA", raising=False)
    code, _, err = _run(capsys, "serve")
    assert code == 1 and "no data directory" in err
    code, _, err = _run(capsys, "serve", "--data", str(tmp_path / "missing"))
    assert code == 1 and "no such directory" in err


def test_serve_demo_creates_three_scoped_users_and_prints_curl_lines(db_url, small_data_dir, trained_run) -> None:
    from serving.cli.demo import DEMO_USERS, serve_demo

    buffer = io.StringIO()
    console = Console(file=buffer, width=400)
    tokens = serve_demo(small_data_dir, model=trained_run.model_uri, port=8765, console=console, serve=False)
    again = serve_demo(small_data_dir, model=trained_run.model_uri, port=8765,
                       console=Console(file=io.StringIO()), serve=False)
    text = buffer.getvalue()
    assert set(tokens) == set(DEMO_USERS)
    assert "curl -s http://127.0.0.1:8765/health" in text
    assert f"Authorization: Bearer {tokens['demo-rep']}" in text and "/v1/feedback" in text
    sessions = Database.open(db_url)
    with sessions() as s:
        roles = {name: principal_for_token(s, token) for name, token in tokens.items()}
        # A second demo run replaces the demo users: the first tokens stop working.
        assert all(principal_for_token(s, t) is not None for t in again.values())
    assert roles["demo-rep"] is None and roles["demo-manager"] is None
    with sessions() as s:
        rep = principal_for_token(s, again["demo-rep"])
        manager = principal_for_token(s, again["demo-manager"])
        marketing = principal_for_token(s, again["demo-marketing"])
    assert rep.role == "rep" and rep.rep_id and manager.role == "manager" and manager.region
    assert marketing.role == "marketing"
    sessions.close()
