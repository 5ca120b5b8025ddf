"""Where Signals keeps its caches (the compiled ruleset, the tokenizers, the idle token), and
how an entry is written there: ``--cache-dir`` / ``SIGNALS_CACHE_DIR``, else
``$XDG_CACHE_HOME/signals``, else ``~/.cache/signals``. Standard library only: the fast path
of an idle ``run`` reads it."""

from __future__ import annotations

import os
from pathlib import Path

KEEP = 8  # entries of one kind kept (several checkouts or configurations may share a directory)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/signals``, else ``~/.cache/signals``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "signals"


def resolve(cache_dir: Path | None) -> Path:
    """The cache directory in force: the one given, else the default."""
    return cache_dir or default_cache_dir()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` through a temporary file and a rename (readers see the old
    entry or the new one, never half of one); raises ``OSError``."""
    import tempfile  # not at import: the fast path of an idle run reads this module

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prune(cache_dir: Path, pattern: str, keep: Path) -> None:
    """Drop all but the ``KEEP`` most recent entries named like ``pattern`` (never ``keep``);
    raises ``OSError``."""
    entries = sorted(cache_dir.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        if old != keep:
            old.unlink(missing_ok=True)
