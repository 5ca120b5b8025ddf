"""The process stage: extract → collapse duplicates → analyse → match, batch by batch.

A batch is claimed, analysed and written in one transaction: a crash (even ``kill -9``) rolls
the whole batch back and the next run does it again, so nothing is lost or stored twice.
Exact copies (same normalised text) are collapsed *before* the NLP.

``rematch`` re-scores history after ``scenarios.yaml`` changes: it re-runs only the matcher
over the stored sentence keys, at tokeniser speed, without the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .analyse import KEYS_VERSION, Analyser
from .extract import content_hash, extract
from .match import Ruleset
from .models import AnalysedDoc, Sentence
from .store import Store, repo

log = logging.getLogger(__name__)
BATCH = 32
REMATCH_BATCH = 500
META_RULESET = "ruleset_version"


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
    title = (art.title or "").strip()
    if title and not body.startswith(title):
        return f"{title}.\n{body}" if body else title
    return body


def process_pending(store: Store, ruleset: Ruleset, analyser: Analyser, clock: Callable[[], datetime],
                    batch_size: int = BATCH, limit: int | None = None) -> ProcessReport:
    report = ProcessReport()
    rematch(store, ruleset, analyser, report)
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
            for (art, text, h), doc in zip(todo, docs, strict=True):
                hits = ruleset.match(doc)
                repo.save_processed(conn, art.id, text, h, doc.language, doc, hits, ruleset.version,
                                    KEYS_VERSION, now)
                report.processed += 1
    return report


def rematch(store: Store, ruleset: Ruleset, analyser: Analyser, report: ProcessReport | None = None,
            force: bool = False) -> int:
    """Re-match every stored analysis when the ruleset (or key normalisation) changed."""
    with store.begin() as conn:
        current = repo.get_meta(conn, META_RULESET)
    if current == ruleset.version and not force:
        return 0
    done = 0
    after = 0
    while True:
        with store.begin() as conn:
            rows = repo.iter_analyses(conn, after, REMATCH_BATCH)
            if not rows:
                repo.set_meta(conn, META_RULESET, ruleset.version)
                break
            for row in rows:
                sentences = row.sentences
                if row.keys_version != KEYS_VERSION:
                    sentences = [(text, " ".join(analyser.term_keys(text, row.language)))
                                 for text, _ in row.sentences]
                    repo.update_keys(conn, row.article_id, [list(s) for s in sentences], KEYS_VERSION)
                doc = AnalysedDoc(row.language, tuple(Sentence(text, tuple(keys.split()))
                                                     for text, keys in sentences))
                repo.replace_matches(conn, row.article_id, ruleset.match(doc), ruleset.version)
                after = row.article_id
                done += 1
    if report is not None:
        report.rematched += done
    if done:
        log.info("re-matched %d articles against ruleset %s", done, ruleset.version)
    return done
