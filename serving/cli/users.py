"""``symbiose users add|list|revoke``: API users and their bearer tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from serving.cli.common import CommandError, command_errors, note, out, settings
from serving.store.db import Database
from serving.store.users import add_user, list_users, revoke_user

users_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="API users: add (prints a new token once), list, revoke.")


def register(app: typer.Typer) -> None:
    """Add the ``users`` sub-app to ``app``."""
    app.add_typer(users_app, name="users")


def _database() -> Database:
    config = settings()
    return Database.open(config.resolved_database_url(), sqlite_synchronous=config.sqlite_synchronous)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="who the token is for")],
    role: Annotated[str, typer.Option("--role", help="rep, manager, marketing or admin")],
    rep_id: Annotated[str | None, typer.Option("--rep-id", help="for role rep: their rep_id")] = None,
    region: Annotated[str | None, typer.Option("--region", help="for role manager: their region")] = None,
) -> None:
    """Create a user and print their bearer token (shown only this once)."""
    with command_errors(), _database() as database, database() as session:
        user, token = add_user(session, name=name, role=role, rep_id=rep_id, region=region)
        scope = f" (rep {user.rep_id})" if user.rep_id else f" (region {user.region})" if user.region else ""
        note(f"added user {user.id} {user.name!r}, role {user.role}{scope}; the token below is shown only once:")
    print(token)


@users_app.command("list")
def list_command() -> None:
    """List users (never their tokens)."""
    table = Table(title="users")
    for col in ("id", "name", "role", "rep_id", "region", "created", "revoked"):
        table.add_column(col)
    with command_errors(), _database() as database, database() as session:
        for u in list_users(session):
            cells = (str(u.id), u.name, u.role, u.rep_id or "", u.region or "",
                     f"{u.created_at:%Y-%m-%d %H:%M}", f"{u.revoked_at:%Y-%m-%d %H:%M}" if u.revoked_at else "")
            table.add_row(*(Text(cell) for cell in cells))
        out.print(table)


@users_app.command("revoke")
def revoke(
    user_id: Annotated[int | None, typer.Option("--id", min=1, help="the user's id (see `users list`)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="the user's name, exactly as listed")] = None,
) -> None:
    """Revoke a user's token at once, by --id or by --name; later requests with it get 401."""
    with command_errors():
        if (user_id is None) == (name is None):
            raise CommandError("give either --id N or --name NAME (exactly one; see `symbiose users list`)")
        with _database() as database, database() as session:
            users = revoke_user(session, name, user_id=user_id)
        for u in users:
            out.print(Text(f"revoked user {u.id} {u.name!r}"))
