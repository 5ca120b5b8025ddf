"""`signals.errors`: the exit code of each error and the one-line messages it carries."""

from __future__ import annotations

import pytest

from signals.errors import (
    BlockedAddressError,
    ConfigError,
    ConfigProblem,
    EmptyWeekError,
    FetchError,
    InputError,
    LockedError,
    NoDatabaseError,
    SignalsError,
    StoreError,
)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (SignalsError, 1),
        (FetchError, 1),
        (BlockedAddressError, 1),
        (StoreError, 3),
        (InputError, 2),
        (LockedError, 75),
        (ConfigError, 2),
        (NoDatabaseError, 3),
        (EmptyWeekError, 4),
    ],
)
def test_exit_codes(cls: type[SignalsError], code: int) -> None:
    assert cls.exit_code == code
    assert issubclass(cls, SignalsError)


def test_the_tree() -> None:
    assert issubclass(NoDatabaseError, StoreError)
    assert issubclass(BlockedAddressError, FetchError)
    assert not issubclass(EmptyWeekError, StoreError)


def test_a_config_problem_names_file_line_and_key() -> None:
    assert str(ConfigProblem("sources.yaml", 12, "sources[3].url", "not a URL")) == (
        "sources.yaml:12: sources[3].url: not a URL"
    )
    assert (
        str(ConfigProblem("sources.yaml", None, "fetch", "missing"))
        == "sources.yaml: fetch: missing"
    )


def test_a_config_error_carries_every_problem_one_per_line() -> None:
    problems = [ConfigProblem("a.yaml", 1, "x", "bad"), ConfigProblem("a.yaml", 4, "y", "worse")]
    err = ConfigError(problems)
    assert err.problems == problems
    assert str(err) == "a.yaml:1: x: bad\na.yaml:4: y: worse"


def test_no_database_and_empty_week_are_one_line_naming_the_url() -> None:
    err = NoDatabaseError("sqlite:///db/demoo.db")
    assert err.url == "sqlite:///db/demoo.db"
    assert str(err).startswith(
        "no Signals database at sqlite:///db/demoo.db ("
    ) and "\n" not in str(err)
    week = EmptyWeekError("2025-W15", "sqlite:///db/x.db")
    assert week.week == "2025-W15"
    assert str(week) == "no article analysed in 2025-W15 in sqlite:///db/x.db: no digest written"
