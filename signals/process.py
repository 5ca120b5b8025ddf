"""The process stage: extract → collapse duplicates → analyse → match, batch by batch.

A batch is claimed, analysed and written in one transaction: a crash (even ``kill -9``) rolls
the whole batch back and the next run does it again, so nothing is lost or stored twice.
Exact copies (same normalised text) and near-copies (``signals.neardup``) are collapsed *before*
the NLP.

``rematch`` re-scores history after ``scenarios.yaml`` changes: it re-runs only the matcher
over the stored sentence keys, at tokeniser speed, without the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .extract import compose_text, content_hash, extract
from .judge import JudgeModel
from .match import Ruleset, hits_of
from .models import AnalysedDoc, Sentence
from .neardup import DEFAULT_PARAMS, NearDupParams, band_keys, jaccard, shingles
from .progress import NO_PROGRESS, Progress, Task
from .store import Store, near, repo

log = logging.getLogger(__name__)
BATCH = 32
REMATCH_BATCH = 500
META_RULESET = "ruleset_version"


@dataclass
class ProcessReport:
    processed: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
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
                    limit: int | None = None, neardup: NearDupParams | None = DEFAULT_PARAMS,
                    progress: Progress = NO_PROGRESS) -> ProcessReport:
    """Process ready articles; ``neardup`` None turns near-duplicate collapse off."""
    report = ProcessReport()
    rematch(store, ruleset, judge, analyser, report, progress=progress)
    total = None
    if progress.enabled:  # the count is only for the bar
        with store.begin() as conn:
            total = repo.count_articles(conn, state="ready")
        total = total if limit is None else min(total, limit)
    with progress.task("process", total=total) as bar:
        _process_batches(store, ruleset, judge, analyser, clock, batch_size, limit, neardup, report, bar)
    return report


def _process_batches(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
                     clock: Callable[[], datetime], batch_size: int, limit: int | None,
                     neardup: NearDupParams | None, report: ProcessReport, bar: Task) -> None:
    while True:
        size = batch_size
        if limit is not None:  # exactly ``limit`` articles: the last batch is cut to fit
            size = min(batch_size, limit - (report.processed + report.duplicates + report.near_duplicates
                                           + report.failed))
            if size <= 0:
                break
        with store.begin() as conn:
            batch = repo.claim_ready(conn, size)
            if not batch:
                break
            now = clock()
            todo: list[tuple[repo.ReadyArticle, str, str]] = []
            batch_shingles: dict[int, frozenset[str]] = {}
            texts: list[tuple[repo.ReadyArticle, str]] = []
            for art in batch:
                try:
                    texts.append((art, article_text(art)))
                except Exception as e:  # one bad page must not stop the batch
                    log.warning("article %s failed extraction: %s", art.url, e)
                    repo.mark_failed(conn, art.id, f"extract: {e}", now)
                    report.failed += 1
            # a later copy in this batch is collapsed into the first (same transaction)
            seen = repo.find_duplicates(conn, [content_hash(text) for _, text in texts])
            for art, text in texts:
                h = content_hash(text)
                original = seen.get(h)
                if original is not None:
                    repo.mark_duplicate(conn, art.id, original, text, h, now)
                    report.duplicates += 1
                    continue
                if neardup is not None:
                    copy_of = _near_original(conn, art, text, neardup, batch_shingles)
                    if copy_of is not None:
                        repo.mark_duplicate(conn, art.id, copy_of, text, h, now)
                        report.near_duplicates += 1
                        continue
                seen[h] = art.id
                todo.append((art, text, h))
            docs = analyser.analyse_many([(text, art.language) for art, text, _ in todo])
            evidence: list[tuple[int, str]] = []
            done: list[repo.Processed] = []
            for (art, text, h), doc in zip(todo, docs, strict=True):
                items = ruleset.match_items(doc)
                judgements = judge.judge_doc(doc, items)
                done.append(repo.Processed(art.id, text, h, doc, hits_of(items, doc), judgements))
                if any(j.accepted for j in judgements):
                    evidence.append((art.id, text))
                report.processed += 1
            repo.save_processed_many(conn, done, ruleset.version, KEYS_VERSION, now)
            add_entities(conn, analyser, evidence)
        bar.advance(len(batch))


def _near_original(conn: Connection, art: repo.ReadyArticle, text: str, params: NearDupParams,
                   batch_shingles: dict[int, frozenset[str]]) -> int | None:
    """The original this article nearly copies (the oldest candidate at or above the Jaccard
    threshold), or None; an original's LSH buckets are stored for the articles that follow."""
    sh = shingles(text, params.shingle_words)
    keys = band_keys(sh, params)
    if not keys:
        return None
    window = timedelta(days=params.window_days)
    for cand_id, cand_text in near.candidates(
            conn, keys, art.published_at - window, art.published_at + window, art.id):
        cand = batch_shingles.get(cand_id)
        if cand is None:
            cand = shingles(cand_text, params.shingle_words)
        if jaccard(sh, cand) >= params.threshold:
            return cand_id
    near.add_bands(conn, art.id, keys, art.published_at)
    batch_shingles[art.id] = sh
    return None


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


def rematch(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
            report: ProcessReport | None = None, force: bool = False,
            progress: Progress = NO_PROGRESS) -> int:
    """Re-match and re-judge every stored analysis when the ruleset, the judge model or the key
    normalisation changed (stored keys only: no model, tokeniser speed)."""
    version = scoring_version(ruleset, judge)
    with store.begin() as conn:
        current = repo.get_meta(conn, META_RULESET)
    if current == version and not force:
        return 0
    total = None
    if progress.enabled:
        with store.begin() as conn:
            total = repo.count_analyses(conn)
    with progress.task("re-match", total=total) as bar:
        done = _rematch_batches(store, ruleset, judge, analyser, version, bar)
    if report is not None:
        report.rematched += done
    if done:
        log.info("re-matched %d articles against %s", done, version)
    return done


def _rematch_batches(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
                     version: str, bar: Task) -> int:
    done = 0
    after = 0
    while True:
        with store.begin() as conn:
            rows = repo.iter_analyses(conn, after, REMATCH_BATCH)
            if not rows:
                repo.set_meta(conn, META_RULESET, version)
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
        bar.advance(len(rows))
    return done
