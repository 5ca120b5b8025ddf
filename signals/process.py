"""The process stage: extract → collapse duplicates → analyse → match, batch by batch.

A batch is claimed, analysed and written in one transaction: a crash (even ``kill -9``) rolls
the whole batch back and the next run does it again, so nothing is lost or stored twice.
Exact copies (same normalised text) and near-copies (``signals.neardup``) are collapsed *before*
the NLP.

``rematch`` re-scores history after ``scenarios.yaml`` changes: it re-runs only the matcher
over the stored sentence keys, at tokeniser speed, without the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .extract import compose_text, content_hash, extract
from .fetch import effective_date
from .judge import JudgeModel
from .languages import decide_language
from .match import Ruleset, hits_of
from .models import AnalysedDoc, Extracted, Sentence
from .neardup import DEFAULT_PARAMS, NearDupParams, band_keys, jaccard, shingles
from .progress import NO_PROGRESS, Progress, Task
from .score import iso_week
from .store import Store, near, repo

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
    near_duplicates: int = 0
    failed: int = 0
    rematched: int = 0
    seconds: float = 0.0


#: Feed dates the page's date replaces (see ``fetch.dates.effective_date``).
REDATABLE = ("missing", "future")


@dataclass(frozen=True)
class Content:
    """What processing takes from an article: its text, its language, maybe a better date."""

    text: str
    language: str
    redate: repo.Redate | None = None


def article_content(art: repo.ReadyArticle) -> Content:
    """Title + page text (trafilatura), falling back to stored text, then the feed summary.

    The language is decided here, once: the entry's, else the page's, else the source's
    (``languages.decide_language``). A feed date that was missing or in the future is replaced
    by the page's date when that one is plausible (not over 24 h after we first saw the item);
    ``date_flag`` then becomes ``page`` and ``published_raw`` keeps what the feed said."""
    page = Extracted(text="")
    if art.html:
        page = extract(art.html, art.url, with_date=art.date_flag in REDATABLE)
    body = page.text or art.text or art.summary or ""
    language = decide_language(art.language, page.language, art.source_language)
    return Content(compose_text(art.title or "", body), language, _redate(art, page.published))


def _redate(art: repo.ReadyArticle, page_date: datetime | None) -> repo.Redate | None:
    if page_date is None or art.date_flag not in REDATABLE or art.first_seen_at is None:
        return None
    published, flag = effective_date(page_date, art.first_seen_at)
    if flag is not None:  # the page's date is implausible too
        return None
    return repo.Redate(published, iso_week(published))


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
            todo: list[tuple[repo.ReadyArticle, Content, str]] = []
            batch_shingles: dict[int, frozenset[str]] = {}
            contents: list[tuple[repo.ReadyArticle, Content]] = []
            for art in batch:
                try:
                    contents.append((art, article_content(art)))
                except Exception as e:  # one bad page must not stop the batch
                    log.warning("article %s failed extraction: %s", art.url, e)
                    repo.mark_failed(conn, art.id, f"extract: {e}", now)
                    report.failed += 1
            # a later copy in this batch is collapsed into the first (same transaction)
            seen = repo.find_duplicates(conn, [content_hash(c.text) for _, c in contents])
            for art, content in contents:
                h = content_hash(content.text)
                original = seen.get(h)
                if original is not None:
                    repo.mark_duplicate(conn, art.id, original, content.text, h, now)
                    report.duplicates += 1
                    continue
                if neardup is not None:
                    published = content.redate.published_at if content.redate else art.published_at
                    copy_of = _near_original(conn, art.id, published, content.text, neardup, batch_shingles)
                    if copy_of is not None:
                        repo.mark_duplicate(conn, art.id, copy_of, content.text, h, now)
                        report.near_duplicates += 1
                        continue
                seen[h] = art.id
                todo.append((art, content, h))
            docs = analyser.analyse_many([(c.text, c.language) for _, c, _ in todo])
            evidence: list[tuple[int, str]] = []
            done: list[repo.Processed] = []
            for (art, content, h), doc in zip(todo, docs, strict=True):
                items = ruleset.match_items(doc)
                judgements = judge.judge_doc(doc, items)
                done.append(repo.Processed(art.id, content.text, h, content.language, doc,
                                           hits_of(items, doc), judgements, content.redate))
                if any(j.accepted for j in judgements):
                    evidence.append((art.id, content.text))
                report.processed += 1
            repo.save_processed_many(conn, done, ruleset.version, KEYS_VERSION, now)
            add_entities(conn, analyser, evidence)
        bar.advance(len(batch))


def _near_original(conn: Connection, article_id: int, published: datetime, text: str,
                   params: NearDupParams, batch_shingles: dict[int, frozenset[str]]) -> int | None:
    """The original this article nearly copies (the oldest candidate at or above the Jaccard
    threshold), or None; an original's LSH buckets are stored for the articles that follow."""
    sh = shingles(text, params.shingle_words)
    keys = band_keys(sh, params)
    if not keys:
        return None
    window = timedelta(days=params.window_days)
    for cand_id, cand_text in near.candidates(conn, keys, published - window, published + window,
                                              article_id):
        cand = batch_shingles.get(cand_id)
        if cand is None:
            cand = shingles(cand_text, params.shingle_words)
        if jaccard(sh, cand) >= params.threshold:
            return cand_id
    near.add_bands(conn, article_id, keys, published)
    batch_shingles[article_id] = sh
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


def applied_scenarios_json(ruleset: Ruleset) -> str:
    return json.dumps(ruleset.scenarios.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def rematch(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
            report: ProcessReport | None = None, force: bool = False,
            progress: Progress = NO_PROGRESS) -> int:
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
    total = None
    if progress.enabled:
        with store.begin() as conn:
            total = repo.count_analyses(conn)
    with progress.task("re-match", total=total) as bar:
        done = _rematch_batches(store, ruleset, judge, analyser, version, applied, bar)
    if report is not None:
        report.rematched += done
    if done:
        log.info("re-matched %d articles against %s", done, version)
    return done


def _rematch_batches(store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser,
                     version: str, applied: str, bar: Task) -> int:
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
        bar.advance(len(rows))
    return done
