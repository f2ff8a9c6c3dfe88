"""As-of times: ISO 8601 only, and within the data's time range."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from features.dataset import (  # noqa: E402
    MAX_DAYS_AFTER_DATA,
    as_utc_timestamp,
    check_as_of,
    resolve_as_of,
)
from features.definitions import feature_specs  # noqa: E402
from features.errors import InputError  # noqa: E402
from features.loading import load_dataset  # noqa: E402
from tests.bad_inputs import write_valid_directory  # noqa: E402


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-07-01", "2025-07-01 00:00:00"),
    ("2025-07-01T10:15", "2025-07-01 10:15:00"),
    ("2025-07-01 10:15:30", "2025-07-01 10:15:30"),
    ("2025-07-01T10:15:30.250", "2025-07-01 10:15:30.250"),
    ("2025-07-01T10:15:00+02:00", "2025-07-01 08:15:00"),
    ("2025-07-01T10:15:00Z", "2025-07-01 10:15:00"),
])
def test_iso_8601_dates_and_times_are_read(text: str, expected: str) -> None:
    assert as_utc_timestamp(text, "--as-of") == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["01.10.2026", "13.10.2026", "10/01/2026", "1 Oct 2026",
                                  "2026-13-01", "2026-10", "yesterday", ""])
def test_other_date_forms_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(InputError, match=r"--as-of .*expected an ISO 8601 date or time"):
        as_utc_timestamp(text, "--as-of")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return load_dataset(write_valid_directory(tmp_path_factory.mktemp("as-of") / "data"))


def test_as_of_before_the_first_event_is_refused_with_the_range(dataset) -> None:
    with pytest.raises(InputError) as caught:
        resolve_as_of(dataset, "1900-01-01")
    message = str(caught.value)
    assert "--as-of 1900-01-01 00:00:00: before the data's time range" in message
    assert "2025-01-02 00:00:00 to 2025-03-01 00:00:00" in message


def test_as_of_far_after_the_last_event_is_refused_with_the_range(dataset) -> None:
    with pytest.raises(InputError) as caught:
        resolve_as_of(dataset, "2300-01-01", "SYMBIOSE_AS_OF")
    message = str(caught.value)
    assert message.startswith("SYMBIOSE_AS_OF 2300-01-01 00:00:00: too long after")
    assert f"at most {MAX_DAYS_AFTER_DATA} days after the last day (2026-03-02)" in message


@pytest.mark.parametrize("text", ["2025-01-02T00:00:01", "2025-03-02", "2025-07-01", "2026-03-02"])
def test_as_of_within_the_range_or_a_while_after_it_is_accepted(dataset, text: str) -> None:
    assert resolve_as_of(dataset, text) == pd.Timestamp(text)


@pytest.mark.parametrize("text", ["2025-01-02", "2026-03-02T00:00:01"])
def test_range_edges_are_exclusive_at_the_first_event_and_inclusive_at_the_limit(dataset,
                                                                                  text: str) -> None:
    with pytest.raises(InputError):
        check_as_of(dataset, pd.Timestamp(text))


def test_the_default_as_of_needs_no_check(dataset) -> None:
    assert resolve_as_of(dataset, None) == pd.Timestamp("2025-03-02")


def test_the_allowed_lead_is_the_longest_feature_window(dataset) -> None:
    windows = [spec.window_days for spec in feature_specs(dataset) if spec.window_days]
    assert MAX_DAYS_AFTER_DATA == max(windows)
