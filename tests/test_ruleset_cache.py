"""The compiled ruleset cached on disk: a hit skips the YAML and the compile, an edit or a
code change misses, a corrupt or unwritable cache only costs a recompile."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from signals import pipeline, ruleset_cache
from signals.models import AnalysedDoc, Sentence
from signals.settings import Settings

YAML = """ruptures:
  - id: local-money
    title: Monnaies locales
    watch:
      - {id: w1, label: monnaie locale, any: ["monnaie locale"]}
"""

_COMPILE = pipeline.compile_ruleset


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "scenarios.yaml"
    path.write_text(YAML, encoding="utf-8")
    return Settings(
        db_url=f"sqlite:///{tmp_path / 'signals.db'}",
        scenarios_path=path,
        cache_dir=tmp_path / "cache",
    )


def _ruleset(settings: Settings, compiles: list[int], monkeypatch: pytest.MonkeyPatch):
    """Open a context and get its ruleset, counting real compiles."""

    def counting(*a, **k):
        compiles.append(1)
        return _COMPILE(*a, **k)

    monkeypatch.setattr(pipeline, "compile_ruleset", counting)
    ctx = pipeline.Context.open(settings, need_sources=False)
    try:
        return ctx, ctx.ruleset()
    finally:
        ctx.close()


def _entries(settings: Settings) -> list[Path]:
    assert settings.cache_dir is not None
    return sorted(settings.cache_dir.glob("ruleset-*.pickle"))


def _hits(rs) -> list[str]:
    doc = AnalysedDoc("fr", (Sentence("Les monnaies locales", ("monnai", "local")),))
    return [h.item_id for h in rs.match(doc)]


def test_second_open_is_a_cache_hit_without_yaml_or_compile(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiles: list[int] = []
    _, first = _ruleset(settings, compiles, monkeypatch)
    assert len(compiles) == 1 and len(_entries(settings)) == 1

    def no_yaml(_path: Path):
        raise AssertionError("scenarios.yaml parsed despite a cache hit")

    monkeypatch.setattr(pipeline, "load_scenarios", no_yaml)
    ctx, second = _ruleset(settings, compiles, monkeypatch)
    assert len(compiles) == 1  # no recompile
    assert second.version == first.version
    assert ctx.scenarios == first.scenarios
    assert second.analyser is ctx.analyser()  # re-attached: highlighting works
    assert _hits(second) == _hits(first) == ["w1"]


def test_an_edit_misses_and_compiles_the_new_terms(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiles: list[int] = []
    _, first = _ruleset(settings, compiles, monkeypatch)
    settings.scenarios_path.write_text(
        YAML.replace('monnaie locale"]', 'monnaie locale", "troc"]'), encoding="utf-8"
    )
    ctx, edited = _ruleset(settings, compiles, monkeypatch)
    assert len(compiles) == 2
    assert edited.version != first.version
    assert "troc" in edited.terms and "troc" not in first.terms
    assert len(_entries(settings)) == 2
    # back to the first text: its entry is still there
    settings.scenarios_path.write_text(YAML, encoding="utf-8")
    _, again = _ruleset(settings, compiles, monkeypatch)
    assert len(compiles) == 2 and again.version == first.version


def test_a_new_keys_version_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ruleset_cache.cache_key(YAML.encode())
    monkeypatch.setattr("signals.analyse.KEYS_VERSION", "k-test")
    assert ruleset_cache.cache_key(YAML.encode()) != key


@pytest.mark.parametrize(
    "garbage", [b"", b"not a pickle", b"\x80\x05K\x01."]
)  # empty, junk, an int
def test_corrupt_cache_recompiles_silently_and_is_rewritten(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    garbage: bytes,
) -> None:
    compiles: list[int] = []
    _ruleset(settings, compiles, monkeypatch)
    [entry] = _entries(settings)
    entry.write_bytes(garbage)
    with caplog.at_level(logging.DEBUG, logger="signals.ruleset_cache"):
        _, rs = _ruleset(settings, compiles, monkeypatch)
    assert len(compiles) == 2 and _hits(rs) == ["w1"]
    assert any("compiling" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (
        ruleset_cache.load(entry.parent, entry.name[len("ruleset-") : -len(".pickle")]) is not None
    )


def test_unwritable_cache_dir_still_runs(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    s = Settings(
        db_url=settings.db_url, scenarios_path=settings.scenarios_path, cache_dir=blocker / "cache"
    )
    compiles: list[int] = []
    _, rs = _ruleset(s, compiles, monkeypatch)
    _, rs = _ruleset(s, compiles, monkeypatch)
    assert len(compiles) == 2 and _hits(rs) == ["w1"]
    assert not list(tmp_path.glob("**/.ruleset-*.tmp"))


def test_default_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ruleset_cache.default_cache_dir() == tmp_path / "signals"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ruleset_cache.default_cache_dir() == Path.home() / ".cache" / "signals"


def test_old_entries_are_pruned(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiles: list[int] = []
    _, rs = _ruleset(settings, compiles, monkeypatch)
    cache = tmp_path / "many"
    for i in range(ruleset_cache.KEEP + 3):
        ruleset_cache.save(cache, f"k{i:02d}", rs)
    assert len(list(cache.glob("ruleset-*.pickle"))) == ruleset_cache.KEEP
    assert (cache / f"ruleset-k{ruleset_cache.KEEP + 2:02d}.pickle").exists()
