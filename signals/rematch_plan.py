"""What a re-match after an edit of ``scenarios.yaml`` has to redo (pure).

An article's matches and judgements depend only on its stored keys, the compiled items (their
rupture, kind, weight, ``within``, ``min_sentences`` and the texts of their
``any``/``all``/``none``/``context`` terms), the terms' keys and the judge model: not on labels, titles or where items stand in the
file (``Ruleset.match_items`` orders its result by item id). An item can only hit an article
that contains the first key of one of its ``any``/``all`` terms; the judge is per rupture over
the items that hit and the rupture's vocabulary (``Ruleset.vocabulary``: the distinctive keys
of its terms), which an edit changes only for some keys of the edited terms. So after an edit
only the articles holding the first key of a term of a changed item, old or new version (added,
removed, or any of those fields changed), or a key that entered or left a rupture's vocabulary,
can change; every other article keeps exactly what a full re-match would give it. When only an
item's ``any`` list changed (the commonest edit: a term added or removed), only the terms added
or removed are looked up: an article without any of them keeps its hits of that item and their
occurrences.

Those articles are found in the stored key index (``store.keyindex``). The re-match is a full
one when the difference is not of that kind or cannot be trusted: no recorded ruleset, a judge
model or key normalisation (``KEYS_VERSION``) other than the recorded one, a key index that is
not complete for the current keys and languages (a database from before revision 0006), or item
ids that repeat.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .analyse import KEYS_VERSION, Analyser
from .config import Rupture, fingerprint_of
from .judge import JudgeModel
from .languages import index_language
from .match import (
    LANGUAGES,
    VOCABULARY_MAX_RUPTURES,
    CompiledItem,
    Ruleset,
    compile_items,
    ruleset_version,
    term_keys,
)

#: Meta key: the key index covers every stored analysis, for these keys and key spaces.
META_KEY_INDEX = "key_index"
KEY_INDEX_VERSION = f"{KEYS_VERSION} {' '.join(LANGUAGES)}"


@dataclass(frozen=True)
class Applied:
    """What the store records its matches were computed with (``meta``)."""

    version: str | None  # ruleset + judge (``rematch.scoring_version``)
    scenarios: str | None  # the scenarios, JSON
    key_index: str | None  # KEY_INDEX_VERSION once the key index is complete


@dataclass(frozen=True)
class Plan:
    """Full (every stored analysis, and why), or only the articles holding one of ``keys``."""

    full: bool
    reason: str
    keys: frozenset[str] = frozenset()
    items: tuple[str, ...] = ()  # the changed item ids
    terms: frozenset[str] = frozenset()  # their any/all terms, old and new versions
    spaces: frozenset[str] = frozenset()  # the key spaces ``keys`` cover
    #: The changed ruptures, and the any/all terms of those that existed before the edit.
    ruptures: frozenset[str] = frozenset()
    before_terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def key_spaces(languages: Iterable[str]) -> frozenset[str]:
    """The key spaces articles in these languages are matched in."""
    return frozenset(index_language(x) for x in languages)


def scored_with(ruleset_version_: str, judge: JudgeModel) -> str:
    """What stored matches and judgements were computed with: the ruleset and the judge model."""
    return f"{ruleset_version_}+{judge.version}"


def plan(
    applied: Applied,
    current_json: str,
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    languages: Callable[[], Iterable[str]],
) -> Plan:
    """What to re-match to bring a store recorded as ``applied`` to ``ruleset`` (whose
    scenarios' ``canonical_json`` is ``current_json``) and ``judge``; ``languages()``: the
    languages of the stored analyses (asked only for an incremental plan)."""
    if applied.key_index != KEY_INDEX_VERSION:
        return Plan(True, "the key index is not complete yet")
    if applied.version is None or applied.scenarios is None:
        return Plan(True, "no ruleset recorded")
    if scored_with(ruleset_version(fingerprint_of(applied.scenarios)), judge) != applied.version:
        return Plan(
            True, "the judge model, the key normalisation or the recorded scenarios changed"
        )
    before_r, after_r = _ruptures(applied.scenarios), _ruptures(current_json)
    if before_r is None or after_r is None:
        return Plan(True, "rupture or item ids repeat, or the recorded scenarios are unreadable")
    changed_r = {
        rid for rid in before_r.keys() | after_r.keys() if before_r.get(rid) != after_r.get(rid)
    }
    try:
        old = [Rupture.model_validate(before_r[rid]) for rid in sorted(changed_r & before_r.keys())]
    except ValueError:
        return Plan(True, "the recorded scenarios are unreadable")
    before = signatures(old)
    after = signatures(r for r in ruleset.scenarios.ruptures if r.id in changed_r)
    changed = sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))
    terms = {t for i in changed for t in _changed_terms(before.get(i), after.get(i))}
    before_terms: dict[str, list[str]] = {}
    for sig in before.values():
        before_terms.setdefault(sig.rupture_id, []).extend((*sig.any, *sig.all))
    spaces = key_spaces(languages()) if terms else frozenset()
    out = Plan(
        False,
        f"{len(changed)} item(s) of {len(changed_r)} rupture(s) changed",
        frozenset(),
        tuple(changed),
        frozenset(terms),
        spaces,
        frozenset(changed_r),
        {r: tuple(ts) for r, ts in before_terms.items()},
    )
    return replace(out, keys=frozenset(lookup_keys(out, ruleset, analyser, spaces)))


_GROUPS = ("watch", "early_signs", "doubts", "milestones", "announcers")


def _ruptures(canonical_json: str) -> dict[str, dict[str, Any]] | None:
    """Rupture id → its JSON, or None when the JSON is unreadable or rupture or item ids repeat
    (matching keys items by id)."""
    try:
        data = json.loads(canonical_json)
        ruptures = {str(r["id"]): r for r in data["ruptures"]}
        items = [it["id"] for r in data["ruptures"] for g in _GROUPS for it in r.get(g) or ()]
    except (ValueError, KeyError, TypeError):
        return None
    if len(ruptures) != len(data["ruptures"]) or len(set(items)) != len(items):
        return None
    return ruptures


@dataclass(frozen=True)
class Signature:
    """Everything of an item that its matches and judgements depend on (terms as texts)."""

    rupture_id: str
    kind: str
    weight: float
    within: int | None
    min_sentences: int
    any: tuple[str, ...]
    all: tuple[str, ...]
    none: tuple[str, ...]
    context: tuple[str, ...]


def signatures(ruptures: Iterable[Rupture]) -> dict[str, Signature]:
    """Item id → its signature (item ids are unique: see ``_ruptures``)."""
    items, terms = compile_items(ruptures)
    return {it.item_id: _signature(it, terms) for it in items}


def _signature(it: CompiledItem, terms: list[str]) -> Signature:
    def texts(ids: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(terms[i] for i in ids)

    return Signature(
        it.rupture_id,
        str(it.kind),
        it.weight,
        it.within,
        it.min_sentences,
        texts(it.any),
        texts(it.all),
        texts(it.none),
        texts(it.context),
    )


def _changed_terms(before: Signature | None, after: Signature | None) -> set[str]:
    """The terms whose keys find every article the item's change can affect: when only its
    ``any`` list changed, and not only in order, the terms added or removed (listed a different
    number of times: an article can gain or lose a hit, or a term occurrence, only where one of
    them occurs); otherwise all its ``any`` and ``all`` terms, old and new."""
    if before is not None and after is not None and replace(before, any=after.any) == after:
        counts_before, counts_after = Counter(before.any), Counter(after.any)
        if counts_before != counts_after:
            return {t for t in counts_before | counts_after if counts_before[t] != counts_after[t]}
    return {t for sig in (before, after) if sig is not None for t in (*sig.any, *sig.all)}


def lookup_keys(
    planned: Plan, ruleset: Ruleset, analyser: Analyser, spaces: Iterable[str]
) -> set[str]:
    """In each key space (``LANGUAGES``), the first key of every changed term (what the matcher
    indexes a term by) and every key that entered or left a rupture's vocabulary (what moves the
    judge's vocabulary features). A key space costs a tokenizer the first time: only those of
    stored articles."""
    out: set[str] = set()
    for lang in sorted(spaces):
        for term in planned.terms:
            keys = term_keys(term, analyser, lang)
            if keys:
                out.add(keys[0])
        out |= vocabulary_change(planned, ruleset, analyser, lang)
    return out


def vocabulary_change(planned: Plan, ruleset: Ruleset, analyser: Analyser, lang: str) -> set[str]:
    """The keys whose membership of some rupture's vocabulary the edit changed, in ``lang``.

    Only keys of the changed terms can change: a changed rupture's key set differs from before by
    them alone, and so does the number of ruptures that share a key."""
    known = ruleset.keys_by_text(lang)

    def keys(term: str) -> tuple[str, ...]:
        found = known.get(term)
        return found if found is not None else term_keys(term, analyser, lang)

    edited = {k for t in planned.terms for k in keys(t) if len(k) >= 3}
    if not edited:
        return set()
    after = ruleset.rupture_keys(lang)
    before = {r: ks & edited for r, ks in after.items() if r not in planned.ruptures}
    for rid, terms in planned.before_terms.items():
        before[rid] = frozenset(k for t in terms for k in keys(t) if k in edited)
    after = {r: ks & edited for r, ks in after.items()}
    changed: set[str] = set()
    for k in edited:
        was = [r for r, ks in before.items() if k in ks]
        now = [r for r, ks in after.items() if k in ks]
        if len(was) > VOCABULARY_MAX_RUPTURES:
            was = []
        if len(now) > VOCABULARY_MAX_RUPTURES:
            now = []
        if set(was) != set(now):
            changed.add(k)
    return changed
