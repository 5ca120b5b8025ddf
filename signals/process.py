"""The process stage: extract → collapse duplicates → analyse → match, batch by batch.

A batch is claimed, analysed and written in one transaction: a crash (even ``kill -9``) rolls
the whole batch back and the next run does it again, so nothing is lost or stored twice.
Exact copies (same normalised text) are collapsed *before* the NLP.

``rematch`` re-scores history after ``scenarios.yaml`` changes: it re-runs only the matcher
over the stored sentence keys, at tokeniser speed, without the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .extract import compose_text, content_hash, extract
from .judge import JudgeModel
from .match import Ruleset, hits_of
from .models import AnalysedDoc, Sentence
from .store import Store, repo

log = logging.getLogger(__name__)
BATCH = 32
REMATCH_BATCH = 500
META_RULESET = "ruleset_version"
#: The scenarios the stored matches were computed with (JSON of the validated model), so that
#: ``signals preview`` can compare an edit with what is applied.
META_SCENARIOS = "ruleset_scenarios"


@dataclass
class ProcessReport:
    processed: int = 0
    duplicates: int = 0
    failed: int = 0
    rematched: int = 0
    seconds: float = 0.0


def article_text(art: repo.ReadyArticle) -> str:
    """Title + page text (trafilatura), falling back to stored text, then the feed summary."""
    body = ""
    if art.html:
        body = extract(art.html, art.url).text
    if not body:
        body = art.text or art.summary or ""
    return compose_text(art.title or "", body)


def scoring_version(ruleset: Ruleset, judge: JudgeModel) -> str:
    """What stored matches and judgements were computed with: the ruleset and the judge model."""
    return f"{ruleset.version}+{judge.version}"


def process_pending(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
                    clock: Callable[[], datetime], batch_size: int = BATCH,
                    limit: int | None = None) -> ProcessReport:
    report = ProcessReport()
    rematch(store, ruleset, judge, analyser, report)
    while limit is None or report.processed + report.duplicates + report.failed < limit:
        with store.begin() as conn:
            batch = repo.claim_ready(conn, batch_size)
            if not batch:
                break
            now = clock()
            todo: list[tuple[repo.ReadyArticle, str, str]] = []
            seen: dict[str, int] = {}
            for art in batch:
                try:
                    text = article_text(art)
                except Exception as e:  # one bad page must not stop the batch
                    log.warning("article %s failed extraction: %s", art.url, e)
                    repo.mark_failed(conn, art.id, f"extract: {e}", now)
                    report.failed += 1
                    continue
                h = content_hash(text)
                original = seen.get(h) or repo.find_duplicate(conn, h, art.id)
                if original is not None:
                    repo.mark_duplicate(conn, art.id, original, text, h, now)
                    report.duplicates += 1
                    continue
                seen[h] = art.id  # a later copy in this batch is collapsed into it (same transaction)
                todo.append((art, text, h))
            docs = analyser.analyse_many([(text, art.language) for art, text, _ in todo])
            evidence: list[tuple[int, str]] = []
            for (art, text, h), doc in zip(todo, docs, strict=True):
                items = ruleset.match_items(doc)
                judgements = judge.judge_doc(doc, items)
                repo.save_processed(conn, art.id, text, h, doc.language, doc, hits_of(items, doc),
                                    ruleset.version, KEYS_VERSION, now, judgements)
                if any(j.accepted for j in judgements):
                    evidence.append((art.id, text))
                report.processed += 1
            add_entities(conn, analyser, evidence)
    return report


def add_entities(conn: Connection, analyser: Analyser, articles: list[tuple[int, str]]) -> None:
    """Named entities (the NER model) only for articles that became evidence, once each."""
    todo = [(aid, text) for aid, text in articles if not repo.has_entities_run(conn, aid)]
    if todo:
        for (aid, _), ents in zip(todo, analyser.entities([text for _, text in todo]), strict=True):
            repo.save_entities(conn, aid, ents)


def ensure_entities(store: Store, analyser: Analyser, article_ids: list[int]) -> None:
    """Entities for articles that became evidence after a re-match (lazily, at digest time)."""
    with store.begin() as conn:
        missing = repo.articles_without_entities(conn, article_ids)
        add_entities(conn, analyser, missing)


def applied_scenarios_json(ruleset: Ruleset) -> str:
    return json.dumps(ruleset.scenarios.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def rematch(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
            report: ProcessReport | None = None, force: bool = False) -> int:
    """Re-match and re-judge every stored analysis when the ruleset, the judge model or the key
    normalisation changed (stored keys only: no model, tokeniser speed)."""
    version = scoring_version(ruleset, judge)
    applied = applied_scenarios_json(ruleset)
    with store.begin() as conn:
        current = repo.get_meta(conn, META_RULESET)
        if current == version and not force:
            if repo.get_meta(conn, META_SCENARIOS) != applied:
                repo.set_meta(conn, META_SCENARIOS, applied)  # a database from before it was recorded
            return 0
    done = 0
    after = 0
    while True:
        with store.begin() as conn:
            rows = repo.iter_analyses(conn, after, REMATCH_BATCH)
            if not rows:
                repo.set_meta(conn, META_RULESET, version)
                repo.set_meta(conn, META_SCENARIOS, applied)
                break
            for row in rows:
                sentences = row.sentences
                if row.keys_version != KEYS_VERSION:
                    sentences = [(text, " ".join(analyser.term_keys(text, row.language)))
                                 for text, _ in row.sentences]
                    repo.update_keys(conn, row.article_id, [list(s) for s in sentences], KEYS_VERSION)
                doc = AnalysedDoc(row.language, tuple(Sentence(text, tuple(keys.split()))
                                                     for text, keys in sentences))
                items = ruleset.match_items(doc)
                repo.replace_matches(conn, row.article_id, hits_of(items, doc), ruleset.version,
                                     judge.judge_doc(doc, items))
                after = row.article_id
                done += 1
    if report is not None:
        report.rematched += done
    if done:
        log.info("re-matched %d articles against %s", done, version)
    return done
