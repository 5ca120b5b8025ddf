"""The re-match plan: which edits are incremental and which keys they look up; what is global."""

from __future__ import annotations

import copy
from typing import Any

from signals.analyse import Analyser
from signals.config import Scenarios
from signals.judge import accept_all, load_model
from signals.match import compile_ruleset, ruleset_version
from signals.rematch_plan import KEY_INDEX_VERSION, Applied, lookup_keys, plan, scored_with

ANALYSER = Analyser(entities=False)
JUDGE = load_model()
BASE: dict[str, Any] = {
    "ruptures": [
        {
            "id": "r1",
            "title": "R1",
            "watch": [
                {"id": "w-monnaie", "label": "monnaies", "any": ["monnaie locale"]},
                {"id": "w-troc", "label": "troc", "any": ["troc"], "all": ["village"]},
            ],
        },
        {"id": "r2", "title": "R2", "watch": [{"id": "w-revenu", "label": "r", "any": ["revenu"]}]},
    ]
}


def _applied(
    data: dict[str, Any], judge: Any = JUDGE, index: str | None = KEY_INDEX_VERSION
) -> Applied:
    s = Scenarios.model_validate(data)
    return Applied(scored_with(ruleset_version(s.fingerprint()), judge), s.canonical_json(), index)


def _plan(old: dict[str, Any], new: dict[str, Any], **kw: Any) -> Any:
    rs = compile_ruleset(Scenarios.model_validate(new), ANALYSER)
    asked: list[bool] = []

    def languages() -> list[str]:
        asked.append(True)
        return ["fr"]

    p = plan(_applied(old, **kw), rs.scenarios.canonical_json(), rs, JUDGE, ANALYSER, languages)
    return p, bool(asked)


def _edit(change: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    change(out)
    return out


def test_adding_a_term_looks_up_that_term_only() -> None:
    new = _edit(lambda d: d["ruptures"][0]["watch"][0]["any"].append("covoiturage solidaire"))
    p, _ = _plan(BASE, new)
    assert not p.full and p.items == ("w-monnaie",)
    # only an article holding the new term can gain a hit or an occurrence: its first key, and
    # the keys r1's vocabulary gained ("local" it keeps, so no article holding only "local"
    # can change); the item's other terms are not looked up
    assert p.keys == {"covoiturag", "solidair"}
    assert p.terms == {"covoiturage solidaire"}


def test_removing_a_term_looks_up_that_term_only() -> None:
    new = _edit(lambda d: d["ruptures"][0]["watch"][0].update(any=["troc local"]))
    p, _ = _plan(BASE, new)
    assert p.terms == {"monnaie locale", "troc local"}  # the removed one and the added one


def test_reordering_or_repeating_any_terms_is_a_change_of_the_whole_item() -> None:
    def reorder(d: dict[str, Any]) -> None:
        d["ruptures"][0]["watch"][0]["any"] = ["monnaie locale", "troc local"]

    base = _edit(lambda d: d["ruptures"][0]["watch"][0]["any"].insert(0, "troc local"))
    p, _ = _plan(base, _edit(reorder))
    assert p.items == ("w-monnaie",) and p.terms == {"monnaie locale", "troc local"}
    twice = _edit(lambda d: d["ruptures"][0]["watch"][0]["any"].append("monnaie locale"))
    p, _ = _plan(BASE, twice)
    assert p.items == ("w-monnaie",) and p.terms == {"monnaie locale"}


def test_a_none_change_looks_up_all_the_item_s_terms() -> None:
    new = _edit(lambda d: d["ruptures"][0]["watch"][1].update(none=["guerre"]))
    p, _ = _plan(BASE, new)
    assert not p.full and p.items == ("w-troc",)
    assert p.terms == {"troc", "village"} and p.keys == {"troc", "villag"}


def test_a_key_a_third_rupture_takes_leaves_the_others_vocabularies() -> None:
    def spread(d: dict[str, Any]) -> None:
        d["ruptures"][0]["watch"][0]["any"].append("revenu local")
        d["ruptures"].append(
            {"id": "r3", "title": "R3", "watch": [{"id": "w3", "label": "x", "any": ["revenu"]}]}
        )

    p, _ = _plan(BASE, _edit(spread))
    assert p.items == ("w-monnaie", "w3")
    # "revenu" is in three ruptures now: it leaves r2's vocabulary too (r2 itself is unchanged)
    assert p.keys == {"revenu"}


def test_a_weight_change_looks_up_its_item_and_an_all_term_counts() -> None:
    p, _ = _plan(BASE, _edit(lambda d: d["ruptures"][0]["watch"][1].update(weight=2.0)))
    assert not p.full and p.items == ("w-troc",)
    assert p.keys == {"troc", "villag"}


def test_any_and_all_are_told_apart() -> None:
    def swap(d: dict[str, Any]) -> None:
        it = d["ruptures"][0]["watch"][1]
        it["any"], it["all"] = it["all"], it["any"]

    p, _ = _plan(BASE, _edit(swap))
    assert not p.full and p.items == ("w-troc",)


def test_a_removed_rupture_looks_up_its_items() -> None:
    p, _ = _plan(BASE, _edit(lambda d: d["ruptures"].pop()))
    assert not p.full and p.items == ("w-revenu",) and p.keys == {"revenu"}


def test_labels_titles_and_order_change_nothing_and_ask_no_language() -> None:
    def cosmetic(d: dict[str, Any]) -> None:
        d["ruptures"][0]["title"] = "Autre titre"
        d["ruptures"][0]["watch"][0]["label"] = "autre libellé"
        d["ruptures"][0]["watch"].reverse()
        d["ruptures"].reverse()

    p, asked = _plan(BASE, _edit(cosmetic))
    assert not p.full and p.items == () and p.keys == frozenset()
    assert not asked


def test_global_changes_are_full() -> None:
    new = _edit(lambda d: d["ruptures"][0]["watch"][0]["any"].append("troc"))
    assert _plan(BASE, new, judge=accept_all())[0].full  # another judge model
    assert _plan(BASE, new, index=None)[0].full  # a database from before the key index
    assert _plan(BASE, new, index="k0 fr xx")[0].full  # other keys or languages
    rs = compile_ruleset(Scenarios.model_validate(new), ANALYSER)
    unreadable = Applied(_applied(BASE).version, "{not json", KEY_INDEX_VERSION)
    assert plan(unreadable, rs.scenarios.canonical_json(), rs, JUDGE, ANALYSER, list).full
    nothing = Applied(None, None, KEY_INDEX_VERSION)
    assert plan(nothing, rs.scenarios.canonical_json(), rs, JUDGE, ANALYSER, list).full


def test_lookup_keys_per_key_space() -> None:
    new = _edit(lambda d: d["ruptures"][1]["watch"][0]["any"].append("Monnaies locales"))
    p, _ = _plan(BASE, new)
    rs = compile_ruleset(Scenarios.model_validate(new), ANALYSER)
    # the added term's first key, and both keys r2's vocabulary gains (shared with r1: still
    # distinctive)
    assert lookup_keys(p, rs, ANALYSER, ["fr"]) == {"monnai", "local"}
    assert lookup_keys(p, rs, ANALYSER, ["fr", "xx"]) == {
        "monnai",
        "local",
        "monnaies",
        "locales",
    }
