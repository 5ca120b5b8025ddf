"""`signals.live_config`: a strict first load, then the last good version of each file."""

from __future__ import annotations

from pathlib import Path

import pytest

from signals.errors import ConfigError
from signals.live_config import LiveConfig

SCHEDULE = "jobs:\n  - {id: run, command: run, every_minutes: 60}\n"
SOURCES = "sources:\n  - {id: a, name: A, url: 'https://a.test/rss'}\n"
SCENARIOS = 'ruptures:\n  - id: r\n    title: R\n    watch:\n      - {id: w, label: l, any: ["monnaie locale"]}\n'


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "schedule": tmp_path / "schedule.yaml",
        "sources": tmp_path / "sources.yaml",
        "scenarios": tmp_path / "scenarios.yaml",
    }
    for key, text in (("schedule", SCHEDULE), ("sources", SOURCES), ("scenarios", SCENARIOS)):
        paths[key].write_text(text, encoding="utf-8")
    return paths


def _live(files: dict[str, Path]) -> LiveConfig:
    return LiveConfig(files["schedule"], files["sources"], files["scenarios"])


def test_the_first_load_is_strict_and_lists_every_file_s_problems(files: dict[str, Path]) -> None:
    files["schedule"].write_text("jobs: []\n", encoding="utf-8")
    files["sources"].write_text(
        "sources:\n  - {id: Bad Id, name: A, url: 'https://a.test/'}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as e:
        _live(files)
    assert {p.file for p in e.value.problems} == {str(files["schedule"]), str(files["sources"])}


def test_unchanged_files_give_the_same_configuration(files: dict[str, Path]) -> None:
    live = _live(files)
    first = live.current
    assert [s.id for s in first.sources.sources] == ["a"] and first.schedule.jobs[0].id == "run"
    old, new = live.reload()
    assert old is first and new is first and live.errors() == {}
    files["sources"].write_text(SOURCES + "# a comment only\n", encoding="utf-8")
    assert live.reload()[1] is first  # new bytes, same value: nothing in force changed


def test_a_valid_edit_applies_a_broken_one_keeps_the_last_good(files: dict[str, Path]) -> None:
    live = _live(files)
    files["sources"].write_text(
        SOURCES + "  - {id: b, name: B, url: 'https://b.test/rss'}\n", encoding="utf-8"
    )
    old, new = live.reload()
    assert [s.id for s in old.sources.sources] == ["a"] and [s.id for s in new.sources.sources] == [
        "a",
        "b",
    ]
    assert new.scenarios is old.scenarios and new.schedule is old.schedule
    good = live.current
    # a term that normalises to nothing does not compile: the scenarios file is refused as a whole
    files["scenarios"].write_text(SCENARIOS.replace('"monnaie locale"', '"---"'), encoding="utf-8")
    assert live.reload()[1] is good
    assert list(live.errors()) == [str(files["scenarios"])]
    assert live.reload()[1] is good and list(live.errors()) == [
        str(files["scenarios"])
    ]  # not retried, still named
    files["scenarios"].write_text(SCENARIOS.replace("monnaie locale", "troc"), encoding="utf-8")
    assert live.reload()[1].scenarios.ruptures[0].watch[0].any == ["troc"] and live.errors() == {}


def test_an_unreadable_file_keeps_the_last_good(files: dict[str, Path]) -> None:
    live = _live(files)
    good = live.current
    files["schedule"].unlink()
    assert live.reload()[1] is good and str(files["schedule"]) in live.errors()
