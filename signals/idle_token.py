"""The idle token: what the fast path of an idle ``signals run`` (``signals.fast_run``) must
know to answer "nothing to do" without loading the configuration or SQLAlchemy. The full
``run`` writes it in the cache directory once it succeeded (``signals.idle_record``).

One token per configuration (working directory, database URL, configuration files, judge
model, cache directory). It records the digests of the files the full run read
(``sources.yaml``, ``scenarios.yaml``, ``--judge``), a fingerprint of the code (every file of
the package, the site-packages directories, the interpreter), what the database held or must
hold (``store.idle_check.DbFacts``), the ``keep_attempts_days`` of ``sources.yaml``, the
intake lock's name and the lines an idle run prints. The fast path trusts it only while all of
these are unchanged. Standard library only; a missing, unreadable or stale token only means the
full run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from .store.idle_check import DbFacts

#: Bump when the token's layout or meaning changes.
FORMAT = 1
PATTERN = "idle-*.json"


class Config(NamedTuple):
    """How a run was invoked, as the CLI resolves it: selects the token."""

    cwd: str
    db_url: str
    sources: str
    scenarios: str
    judge: str | None  # None: the model shipped with the package (covered by the code)
    cache_dir: str

    @classmethod
    def of(
        cls, db_url: str, sources: Path, scenarios: Path, judge: Path | None, cache_dir: Path
    ) -> Config:
        return cls(
            os.getcwd(),
            db_url,
            str(sources),
            str(scenarios),
            None if judge is None else str(judge),
            str(cache_dir),
        )

    def files(self) -> list[str]:
        """The configuration files a full run reads."""
        return [self.sources, self.scenarios] + ([self.judge] if self.judge else [])

    def token_path(self) -> Path:
        key = hashlib.sha256(json.dumps(list(self)).encode()).hexdigest()[:16]
        return Path(self.cache_dir) / f"idle-{key}.json"


class Token(NamedTuple):
    config: Config
    code: str  # ``code_fingerprint()``
    files: dict[str, str]  # ``file_digests(config)``
    db: DbFacts
    keep_attempts_days: int
    lock: str
    lines: list[str]  # what an idle run prints (unless -q)


PACKAGE = os.path.dirname(os.path.abspath(__file__))


def code_fingerprint(package: str = PACKAGE) -> str:
    """Changes with any file of the package (size, modification time), any install or removal
    in a site-packages directory (their listing changes) and the interpreter."""
    h = hashlib.sha256(f"{FORMAT}|{sys.version}|{sys.executable}".encode())
    for root, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            st = os.stat(os.path.join(root, name))
            rel = os.path.relpath(os.path.join(root, name), package)
            h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            h.update(f"{entry}|{os.stat(entry).st_mtime_ns}\n".encode())
    return h.hexdigest()


def file_digests(config: Config) -> dict[str, str]:
    """path → ``size:sha256`` of each configuration file (raises ``OSError``)."""
    out = {}
    for path in config.files():
        data = Path(path).read_bytes()
        out[path] = f"{len(data)}:{hashlib.sha256(data).hexdigest()}"
    return out


def dumps(token: Token) -> bytes:
    return json.dumps(
        {
            "format": FORMAT,
            "config": list(token.config),
            "code": token.code,
            "files": token.files,
            "db": list(token.db),
            "keep_attempts_days": token.keep_attempts_days,
            "lock": token.lock,
            "lines": token.lines,
        },
        ensure_ascii=False,
        indent=1,
    ).encode()


def read(config: Config) -> Token | None:
    """The token of ``config``, or None (missing, unreadable, another format, another config)."""
    try:
        data: Any = json.loads(config.token_path().read_bytes())
        if data["format"] != FORMAT or data["config"] != list(config):
            return None
        revision, sources, meta = data["db"]
        return Token(
            config,
            str(data["code"]),
            {str(k): str(v) for k, v in data["files"].items()},
            DbFacts(revision, str(sources), dict(meta)),
            int(data["keep_attempts_days"]),
            str(data["lock"]),
            [str(line) for line in data["lines"]],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def still_valid(token: Token) -> bool:
    """The code and the configuration files are those the token was written with."""
    try:
        return token.code == code_fingerprint() and token.files == file_digests(token.config)
    except OSError:
        return False
