"""Re-match and re-judge the stored history after ``scenarios.yaml``, the judge model or the key
normalisation changed: over the stored sentence keys, at tokeniser speed, without the model.

After an edit of items only the articles that ``rematch_plan`` finds in the key index are
re-matched (incremental); anything else (a new judge model, new keys, an index not complete
yet, ``force``) re-matches every stored analysis, and that full pass also (re)builds the key
index. Both end with the same stored matches and judgements.

One re-match at a time (``REMATCH_LOCK``), whoever needs it: a process worker, a digest. Process
workers writing meanwhile with the old ruleset are caught by the last transaction: it records
the new version first (on PostgreSQL that waits for the writes in flight, which share-lock it,
and the later ones see it and stop), then re-matches what those writes committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .judge import JudgeModel
from .lock import job_lock
from .match import Ruleset, hits_of
from .models import AnalysedDoc, Sentence
from .progress import NO_PROGRESS, Progress
from .rematch_plan import (
    KEY_INDEX_VERSION,
    META_KEY_INDEX,
    Applied,
    Plan,
    key_spaces,
    lookup_keys,
    plan,
    scored_with,
)
from .store import Store, keyindex, repo

log = logging.getLogger(__name__)
REMATCH_BATCH = 500
META_RULESET = "ruleset_version"
#: The lock of the re-match: one at a time, whoever runs it (a process worker, a digest).
REMATCH_LOCK = "rematch"
REMATCH_WAIT = timedelta(minutes=30)
#: The scenarios the stored matches were computed with (JSON of the validated model), so that
#: ``signals preview`` can compare an edit with what is applied and the re-match with the edit.
META_SCENARIOS = "ruleset_scenarios"


def scoring_version(ruleset: Ruleset, judge: JudgeModel) -> str:
    """What stored matches and judgements were computed with: the ruleset and the judge model."""
    return scored_with(ruleset.version, judge)


def applied_scenarios_json(ruleset: Ruleset) -> str:
    return ruleset.scenarios_json


def rematch(
    store: Store,
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    force: bool = False,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Bring the stored matches and judgements to ``ruleset`` and ``judge`` when the store
    records others (``force``: every stored analysis, whatever it records); the number of
    articles re-matched."""
    version = scoring_version(ruleset, judge)
    applied = applied_scenarios_json(ruleset)
    if _up_to_date(store, version, applied) and not force:
        return 0

    # one re-match at a time (process workers and digests): the others wait, then find it done;
    # kept_open: the lock's, the plan's and each batch's transactions reuse one SQLite connection
    with store.kept_open(), job_lock(store, REMATCH_LOCK, wait=REMATCH_WAIT, poll=0.2):
        with store.engine.connect() as conn:
            recorded = Applied(
                repo.get_meta(conn, META_RULESET),
                repo.get_meta(conn, META_SCENARIOS),
                repo.get_meta(conn, META_KEY_INDEX),
            )
            if recorded.version == version and not force:
                return 0
            todo = (
                Plan(True, "forced")
                if force
                else plan(
                    recorded, applied, ruleset, judge, analyser, lambda: keyindex.languages(conn)
                )
            )
            found = [] if todo.full else sorted(keyindex.articles_with(conn, todo.keys))
        run = _Run(store, ruleset, judge, analyser, version, applied)
        run.reindex = recorded.key_index != KEY_INDEX_VERSION
        done = run.full(progress) if todo.full else run.incremental(todo, found, progress)
    if done:
        log.info(
            "re-matched %d articles against %s (%s: %s)",
            done,
            version,
            "full" if todo.full else "incremental",
            todo.reason,
        )
    return done


def _up_to_date(store: Store, version: str, applied: str) -> bool:
    with store.engine.connect() as conn:
        current = repo.get_meta(conn, META_RULESET)
        recorded = repo.get_meta(conn, META_SCENARIOS)
    if current == version and recorded != applied:
        with store.begin() as conn:
            repo.set_meta(conn, META_SCENARIOS, applied)  # a database from before it was recorded
    return current == version


class _Run:
    """One re-match under the lock."""

    def __init__(
        self,
        store: Store,
        ruleset: Ruleset,
        judge: JudgeModel,
        analyser: Analyser,
        version: str,
        applied: str,
    ):
        self.store, self.ruleset, self.judge, self.analyser = store, ruleset, judge, analyser
        self.version, self.applied = version, applied
        self.reindex = False  # the key index is rebuilt for every article re-matched

    def _record(self, conn: Connection) -> None:
        """The new version, first in the last transaction (see the module's docstring)."""
        repo.set_meta(conn, META_RULESET, self.version)
        repo.set_meta(conn, META_SCENARIOS, self.applied)

    def full(self, progress: Progress) -> int:
        """Every stored analysis, by article id; then the key index is complete."""
        total = None
        if progress.enabled:
            with self.store.begin() as conn:
                total = repo.count_analyses(conn)
        done = 0
        after = 0
        with progress.task("re-match", total=total) as bar:
            while True:
                with self.store.begin() as conn:
                    rows = repo.iter_analyses(conn, after, REMATCH_BATCH)
                    if not rows:
                        self._record(conn)
                        while rows := repo.iter_analyses(conn, after, REMATCH_BATCH):
                            after = self._rows(conn, rows)
                            done += len(rows)
                        repo.set_meta(conn, META_KEY_INDEX, KEY_INDEX_VERSION)
                        break
                    after = self._rows(conn, rows)
                    done += len(rows)
                bar.advance(len(rows))
        return done

    def incremental(self, planned: Plan, found: list[int], progress: Progress) -> int:
        """The articles ``found`` holding one of the plan's keys, and those written since; the
        others' matches only get the new version."""
        keys = set(planned.keys)
        done: set[int] = set()
        with progress.task("re-match", total=len(found)) as bar:
            # all but the last batch in their own transactions; that one with the record
            while len(found) - len(done) > REMATCH_BATCH:
                ids = found[len(done) : len(done) + REMATCH_BATCH]
                with self.store.begin() as conn:
                    self._rows(conn, repo.stored_analyses(conn, ids))
                done.update(ids)
                bar.advance(len(ids))
            with self.store.begin() as conn:
                self._record(conn)
                # and what was written meanwhile: maybe the first articles of another language
                spaces = key_spaces(keyindex.languages(conn)) - planned.spaces
                keys |= lookup_keys(planned, self.ruleset, self.analyser, spaces)
                rest = sorted(keyindex.articles_with(conn, keys) - done)
                for i in range(0, len(rest), REMATCH_BATCH):
                    self._rows(conn, repo.stored_analyses(conn, rest[i : i + REMATCH_BATCH]))
                repo.set_matches_version(conn, self.ruleset.version)
                bar.advance(len(rest))
        return len(done) + len(rest)

    def _rows(self, conn: Connection, rows: Sequence[repo.StoredAnalysis]) -> int:
        """Re-match and re-judge stored analyses (recomputing stale keys); the last id done."""
        if not rows:
            return 0
        out = []
        indexed = []
        for row in rows:
            sentences = row.sentences
            if row.keys_version != KEYS_VERSION:
                sentences = [
                    (text, " ".join(self.analyser.term_keys(text, row.language)))
                    for text, _ in row.sentences
                ]
                repo.update_keys(conn, row.article_id, [list(s) for s in sentences], KEYS_VERSION)
            doc = AnalysedDoc(
                row.language,
                tuple(Sentence(text, tuple(keys.split())) for text, keys in sentences),
            )
            if self.reindex or row.keys_version != KEYS_VERSION:
                indexed.append((row.article_id, keyindex.keys_of(s.keys for s in doc.sentences)))
            items = self.ruleset.match_items(doc)
            out.append(
                (
                    row.article_id,
                    hits_of(items, doc),
                    self.judge.judge_doc(doc, items, self.ruleset.vocabulary(doc.language)),
                )
            )
        repo.replace_matches_many(conn, out, self.ruleset.version)
        keyindex.replace(conn, indexed)
        return rows[-1].article_id
