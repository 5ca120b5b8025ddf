"""The exception tree. Library code raises these; only ``cli.py`` turns them into
messages and exit codes.

    SignalsError                  base class; exit code 1 unless a subclass says otherwise
    ├── ConfigError               a YAML file is invalid (exit 2); carries every problem found
    ├── StoreError                the database cannot be opened or migrated (exit 3)
    │   └── NoDatabaseError       a read command found no Signals database at the URL (exit 3)
    ├── EmptyWeekError            no article analysed in the week asked for: no digest (exit 4)
    ├── LockedError               another run holds the job lock (exit 75, EX_TEMPFAIL)
    ├── FetchError                a fetch could not even be attempted (bad URL, refused address)
    │   └── BlockedAddressError   the destination resolves to a refused (private) address
    └── InputError                bad user input: a corpus line, a week string, a date (exit 2)
"""

from __future__ import annotations

from dataclasses import dataclass


class SignalsError(Exception):
    exit_code = 1


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located as precisely as we can."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class ConfigError(SignalsError):
    exit_code = 2

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(SignalsError):
    exit_code = 3


class NoDatabaseError(StoreError):
    """Raised instead of creating a database: only the commands that store articles create one."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(
            f"no Signals database at {url} (`signals run`, `import`, `demo` or "
            f"`db upgrade` creates one)"
        )


class EmptyWeekError(SignalsError):
    exit_code = 4

    def __init__(self, week: str, url: str):
        self.week = week
        super().__init__(f"no article analysed in {week} in {url}: no digest written")


class LockedError(SignalsError):
    exit_code = 75


class FetchError(SignalsError):
    pass


class BlockedAddressError(FetchError):
    pass


class InputError(SignalsError):
    exit_code = 2


class Stopped(Exception):
    """Raised inside a stage when ``should_stop`` says so; ``run_job`` turns it into a result."""
