"""The CLI's one error mapping: Symbiose's own errors print their message, a bug keeps its
traceback (``--debug``) or says how to see it, and an unusable database is said to be one."""

from __future__ import annotations

import pytest

from features.errors import InputError, SymbioseError
from features.policy import PolicyError
from features.validation import ContractError
from models.training_config import ConfigError
from models.training_data import TrainingError
from serving.cli import main
from serving.errors import ConflictError, NotFoundError


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("kind", [ContractError, PolicyError, TrainingError, ConfigError, InputError,
                                  NotFoundError, ConflictError])
def test_domain_errors_share_one_base_and_stay_value_or_lookup_errors(kind: type) -> None:
    assert issubclass(kind, SymbioseError)
    assert issubclass(kind, ValueError | LookupError)


def _broken_loader(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def load_dataset(_path: object) -> None:
        raise error

    monkeypatch.setattr("features.loading.load_dataset", load_dataset)


def test_a_plain_value_error_is_a_bug_not_a_tidy_message(capsys, monkeypatch, tmp_path) -> None:
    _broken_loader(monkeypatch, ValueError("boom"))
    code, err = _run(capsys, "validate", "--data", str(tmp_path))
    assert code == 1
    assert "unexpected ValueError: boom" in err and "--debug" in err


def test_debug_shows_the_traceback_of_a_bug(capsys, monkeypatch, tmp_path) -> None:
    _broken_loader(monkeypatch, ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        main(["--debug", "validate", "--data", str(tmp_path)])


def test_a_symbiose_error_prints_only_its_message(capsys, monkeypatch, tmp_path) -> None:
    _broken_loader(monkeypatch, InputError("--data: what is wrong [and] why"))
    code, err = _run(capsys, "validate", "--data", str(tmp_path))
    assert code == 1 and err == "error: --data: what is wrong [and] why"


def test_users_with_an_unreachable_database_say_so(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SYMBIOSE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    code, err = _run(capsys, "users", "list")
    assert code == 1
    assert "the database cannot be used (OperationalError" in err and "SYMBIOSE_DATABASE_URL" in err
