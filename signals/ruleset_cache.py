"""The compiled ruleset, cached on disk so a start-up does not recompile 2,700 terms.

Compiling ``scenarios.yaml`` (YAML parsing, validation, spaCy tokenizers for three languages,
every term normalised) costs seconds; an idle cron run must not pay it. The compiled
:class:`~signals.match.Ruleset` (with its validated ``Scenarios``) is pickled under a key made
of everything the compile depends on: the bytes of ``scenarios.yaml``, ``KEYS_VERSION``, the
Signals version, the source of the whole ``signals`` package (any code change recompiles once:
the classes pickled and the normalisation can change anywhere) and the versions of spaCy,
the stemmers and pydantic. Any change gives a new key, so a stale entry is never read.

The cache is a convenience: an unreadable, corrupt or unwritable cache only logs at debug
level and the ruleset is compiled as before. Entries are written atomically (temporary file,
then rename) and only the few most recent are kept. The directory is
``Settings.cache_dir`` (``--cache-dir`` / ``SIGNALS_CACHE_DIR``), else
``$XDG_CACHE_HOME/signals``, else ``~/.cache/signals``. It holds pickles: it must be as
private as the database (it is the user's own cache directory by default).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import pickle
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from . import __version__
from .cache_dir import KEEP as KEEP
from .cache_dir import default_cache_dir as default_cache_dir
from .cache_dir import prune, write_atomic
from .match import Ruleset

log = logging.getLogger(__name__)

#: Bump when the layout of a cache entry changes.
CACHE_FORMAT = "1"
_PACKAGES = ("spacy", "snowballstemmer", "PyStemmer", "pydantic")


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """What, besides the YAML, changes a compile: our code and the NLP libraries' versions."""
    h = hashlib.sha256(f"{CACHE_FORMAT}|{__version__}|{sys.version_info[:2]}".encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    for pkg in _PACKAGES:
        try:
            h.update(f"{pkg}={metadata.version(pkg)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{pkg}=-".encode())
    return h.hexdigest()


def cache_key(scenarios_bytes: bytes) -> str:
    """The key of a compile of these ``scenarios.yaml`` bytes by this code."""
    from .analyse import KEYS_VERSION

    h = hashlib.sha256(_code_fingerprint().encode())
    h.update(KEYS_VERSION.encode())
    h.update(scenarios_bytes)
    return h.hexdigest()[:32]


def _entry(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"ruleset-{key}.pickle"


def load(cache_dir: Path, key: str) -> Ruleset | None:
    """The cached ruleset for ``key``, or None (missing, unreadable or corrupt: never raises)."""
    path = _entry(cache_dir, key)
    try:
        with path.open("rb") as fh:
            ruleset = pickle.load(fh)  # noqa: S301 - our own cache directory
    except FileNotFoundError:
        log.debug("ruleset cache miss: %s", path)
        return None
    except Exception as e:  # corrupt, truncated, written by incompatible code...
        log.debug("ruleset cache unreadable (%s: %s), compiling: %s", e.__class__.__name__, e, path)
        return None
    if not isinstance(ruleset, Ruleset):
        log.debug("ruleset cache entry is not a ruleset, compiling: %s", path)
        return None
    log.debug("ruleset cache hit: %s", path)
    return ruleset


def save(cache_dir: Path, key: str, ruleset: Ruleset) -> Path | None:
    """Write ``ruleset`` atomically under ``key``; None (logged at debug level) if impossible."""
    path = _entry(cache_dir, key)
    frozen = copy.copy(ruleset)
    frozen.analyser = None  # spaCy pipelines are rebuilt on demand, never pickled
    try:
        write_atomic(path, pickle.dumps(frozen, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as e:  # read-only home, full disk, unpicklable...
        log.debug("ruleset cache not written (%s: %s): %s", e.__class__.__name__, e, path)
        return None
    try:
        prune(cache_dir, "ruleset-*.pickle", keep=path)
    except OSError as e:
        log.debug("ruleset cache not pruned: %s", e)
    log.debug("ruleset cached: %s", path)
    return path


def file_key(path: Path) -> str | None:
    """:func:`cache_key` of the file's bytes; None when it cannot be read (the loader says why)."""
    try:
        return cache_key(path.read_bytes())
    except OSError:
        return None
