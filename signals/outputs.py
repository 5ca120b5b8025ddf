"""Where commands write files: checked before the work starts, so a bad ``--reports`` path is
one line on stderr (exit 2) instead of a traceback after minutes of processing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


def check_writable_dir(path: Path, option: str = "--reports") -> None:
    """Raise :class:`InputError` unless ``path`` is, or can be created as, a writable
    directory. Creates nothing: read-only commands stay read-only until they write."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{option} {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: {existing} is not writable")


@contextmanager
def writing_to(path: Path, option: str = "--reports") -> Iterator[None]:
    """An ``OSError`` about a file under ``path`` (disk full, permissions changed under us)
    becomes one :class:`InputError` line; any other error propagates unchanged."""
    try:
        yield
    except OSError as e:
        if not e.filename or not _under(Path(os.fsdecode(e.filename)), path):
            raise
        raise InputError(f"{option} {path}: cannot write {e.filename}: {e.strerror or e}") from None


def _under(file: Path, directory: Path) -> bool:
    return file.resolve().is_relative_to(directory.resolve())
