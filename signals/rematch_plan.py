"""What a re-match after an edit of ``scenarios.yaml`` has to redo (pure).

An article's matches and judgements depend only on its stored keys, the compiled items (their
rupture, kind, weight, ``within`` and the texts of their ``any``/``all``/``none``/``context``
terms), the terms' keys and the judge model: not on labels, titles or where items stand in the
file (``Ruleset.match_items`` orders its result by item id). An item can only hit an article
that contains the first key of one of its ``any``/``all`` terms, and the judge is per rupture
over the items that hit. So after an edit only the articles holding a first key of a term of a
changed item, old or new version (added, removed, or any of those fields changed), can change;
every other article keeps exactly what a full re-match would give it.

Those articles are found in the stored key index (``store.keyindex``). The re-match is a full
one when the difference is not of that kind or cannot be trusted: no recorded ruleset, a judge
model or key normalisation (``KEYS_VERSION``) other than the recorded one, a key index that is
not complete for the current keys and languages (a database from before revision 0006), item ids
that repeat, or a first key too long to be indexed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .analyse import KEYS_VERSION, Analyser
from .config import Scenarios
from .judge import JudgeModel
from .match import LANGUAGES, CompiledItem, Ruleset, compile_items, ruleset_version, term_keys
from .store import keyindex

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


def scored_with(ruleset_version_: str, judge: JudgeModel) -> str:
    """What stored matches and judgements were computed with: the ruleset and the judge model."""
    return f"{ruleset_version_}+{judge.version}"


def plan(applied: Applied, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser) -> Plan:
    """What to re-match to bring a store recorded as ``applied`` to ``ruleset`` and ``judge``."""
    if applied.key_index != KEY_INDEX_VERSION:
        return Plan(True, "the key index is not complete yet")
    if applied.version is None or applied.scenarios is None:
        return Plan(True, "no ruleset recorded")
    try:
        old = Scenarios.model_validate(json.loads(applied.scenarios))
    except ValueError:
        return Plan(True, "the recorded scenarios are unreadable")
    if scored_with(ruleset_version(old), judge) != applied.version:
        return Plan(
            True, "the judge model, the key normalisation or the recorded scenarios changed"
        )
    before, after = signatures(old), signatures(ruleset.scenarios)
    if before is None or after is None:
        return Plan(True, "item ids repeat")
    changed = sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))
    terms = {
        t
        for i in changed
        for sig in (before.get(i), after.get(i))
        if sig is not None
        for t in (*sig.any, *sig.all)
    }
    keys = first_keys(terms, analyser)
    if not all(keyindex.indexable(k) for k in keys):
        return Plan(True, "a changed term starts with a key too long to be indexed")
    return Plan(False, f"{len(changed)} item(s) changed", frozenset(keys), tuple(changed))


@dataclass(frozen=True)
class Signature:
    """Everything of an item that its matches and judgements depend on (terms as texts)."""

    rupture_id: str
    kind: str
    weight: float
    within: int | None
    any: tuple[str, ...]
    all: tuple[str, ...]
    none: tuple[str, ...]
    context: tuple[str, ...]


def signatures(scenarios: Scenarios) -> dict[str, Signature] | None:
    """Item id → its signature; None when two items share an id."""
    items, terms = compile_items(scenarios)
    out = {it.item_id: _signature(it, terms) for it in items}
    return out if len(out) == len(items) else None


def _signature(it: CompiledItem, terms: list[str]) -> Signature:
    def texts(ids: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(terms[i] for i in ids)

    return Signature(
        it.rupture_id,
        str(it.kind),
        it.weight,
        it.within,
        texts(it.any),
        texts(it.all),
        texts(it.none),
        texts(it.context),
    )


def first_keys(terms: Iterable[str], analyser: Analyser) -> set[str]:
    """The first key of every term in every key space: what the matcher indexes it by."""
    out: set[str] = set()
    for term in terms:
        for lang in LANGUAGES:
            keys = term_keys(term, analyser, lang)
            if keys:
                out.add(keys[0])
    return out
