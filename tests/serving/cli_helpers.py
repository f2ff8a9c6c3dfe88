"""Running one command module of the CLI in isolation, with plain-text output."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import typer
from typer.testing import CliRunner

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def command_app(register: Callable[[typer.Typer], None]) -> typer.Typer:
    """A Typer app holding only the commands ``register`` adds."""
    application = typer.Typer(add_completion=False)

    @application.callback()
    def main() -> None:
        """Test app holding one command module."""

    register(application)
    return application


def invoke(app: typer.Typer, args: Sequence[object], env: dict[str, str] | None = None,
           columns: int = 160) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) with colour codes removed and whitespace collapsed."""
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns), **(env or {})})
    flat = [" ".join(_ANSI.sub("", text).split()) for text in (result.stdout, result.stderr)]
    return result.exit_code, flat[0], flat[1]
