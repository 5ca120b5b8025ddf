"""The JSON digest (documented in the README's "Digest JSON reference") and reading it back."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from signals.emerging import EmergingMap
from signals.report.charts import ChartWeek
from signals.report.fmt import iso
from signals.report.model import Digest, DigestArticle, DigestRupture, DigestSentence, ItemActivity
from signals.report.view import ordered, summary_text
from signals.score import RuptureScore, ScoreParams

SCHEMA_VERSION = 1


def _sentence_dict(s: DigestSentence) -> dict[str, Any]:
    return {"text": s.text, "spans": [[a, b] for a, b in s.spans], "item_ids": list(s.item_ids)}


def _article_dict(a: DigestArticle) -> dict[str, Any]:
    return {
        "url": a.url,
        "title": a.title,
        "source": a.source,
        "published": iso(a.published),
        "item_ids": list(a.item_ids),
        "item_labels": list(a.item_labels),
        "kinds": list(a.kinds),
        "sentence": a.sentence,
        "terms": list(a.terms),
        "score": a.score,
        "reasons": list(a.reasons),
        "confirmed": a.confirmed,
        "sentences": [_sentence_dict(s) for s in a.sentences],
    }


def _rupture_dict(r: DigestRupture) -> dict[str, Any]:
    s = r.score
    return {
        "id": r.id,
        "title": r.title,
        "summary": r.summary,
        "status": s.status,
        "confidence": s.confidence,
        "direction": s.direction,
        "momentum": s.momentum,
        "evidence": s.evidence,
        "analysed": s.analysed,
        "sources": s.sources,
        "doubts": s.doubts,
        "baseline_doubts": s.baseline_doubts,
        "doubts_p": s.doubts_p,
        "counter_rising": s.counter_rising,
        "rate": s.rate,
        "baseline_evidence": s.baseline_evidence,
        "baseline_analysed": s.baseline_analysed,
        "baseline_rate": s.baseline_rate,
        "rate_ratio": s.rate_ratio,
        "p_value": s.p_value,
        "q_value": s.q_value,
        "history": list(s.history),
        "items": [asdict(i) for i in r.items],
        "articles": [_article_dict(a) for a in r.articles],
        "counter_evidence": [_article_dict(a) for a in r.counter_evidence],
        "announcers": list(r.announcers),
        "entities": [{"name": name, "count": count} for name, count in r.entities],
        "trend": [w.to_dict() for w in r.trend],
        "emerging": r.emerging.to_dict() if r.emerging is not None else None,
        "near_line": [_article_dict(a) for a in r.near_line],
    }


def digest_to_dict(d: Digest) -> dict[str, Any]:
    """The JSON document as plain Python data (ruptures in table order)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "week": d.week,
        "start": iso(d.start),
        "end": iso(d.end),
        "generated_at": iso(d.generated_at),
        "ruleset_version": d.ruleset_version,
        "articles_analysed": d.articles_analysed,
        "sources_active": d.sources_active,
        "summary": summary_text(d),
        "params": asdict(d.params),
        "near_line_min_score": d.near_line_min_score,
        "ruptures": [_rupture_dict(r) for r in ordered(d)],
    }


def render_json(d: Digest) -> str:
    return json.dumps(digest_to_dict(d), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _sentence_from(o: dict[str, Any]) -> DigestSentence:
    return DigestSentence(
        text=o["text"],
        spans=tuple((int(a), int(b)) for a, b in o.get("spans", ())),
        item_ids=tuple(o.get("item_ids", ())),
    )


def _article_from(o: dict[str, Any]) -> DigestArticle:
    return DigestArticle(
        url=o["url"],
        title=o["title"],
        source=o["source"],
        published=datetime.fromisoformat(o["published"]),
        item_ids=tuple(o["item_ids"]),
        item_labels=tuple(o.get("item_labels", ())),
        kinds=tuple(o["kinds"]),
        sentence=o["sentence"],
        terms=tuple(o.get("terms", ())),
        score=o.get("score"),
        reasons=tuple(o.get("reasons", ())),
        confirmed=bool(o.get("confirmed", False)),
        sentences=tuple(_sentence_from(s) for s in o.get("sentences", ())),
    )


def digest_from_json(text: str) -> Digest:
    """Read back a digest written by :func:`render_json` (ruptures in table order); files
    written before ``sentences`` existed read back without them."""
    o = json.loads(text)
    week = o["week"]
    ruptures = []
    for r in o["ruptures"]:
        score = RuptureScore(
            rupture_id=r["id"],
            week=week,
            evidence=r["evidence"],
            analysed=r["analysed"],
            rate=r["rate"],
            baseline_evidence=r["baseline_evidence"],
            baseline_analysed=r["baseline_analysed"],
            baseline_rate=r["baseline_rate"],
            rate_ratio=r["rate_ratio"],
            p_value=r["p_value"],
            q_value=r["q_value"],
            direction=r["direction"],
            sources=r["sources"],
            doubts=r["doubts"],
            status=r["status"],
            confidence=r["confidence"],
            momentum=r["momentum"],
            history=tuple(r["history"]),
            baseline_doubts=r.get("baseline_doubts", 0),
            doubts_p=r.get("doubts_p", 1.0),
            counter_rising=r.get("counter_rising", False),
        )
        ruptures.append(
            DigestRupture(
                id=r["id"],
                title=r["title"],
                summary=r["summary"],
                score=score,
                items=tuple(ItemActivity(**i) for i in r["items"]),
                articles=tuple(_article_from(a) for a in r["articles"]),
                counter_evidence=tuple(_article_from(a) for a in r["counter_evidence"]),
                announcers=tuple(r["announcers"]),
                entities=tuple((e["name"], e["count"]) for e in r["entities"]),
                trend=tuple(ChartWeek.from_dict(w) for w in r.get("trend", ())),
                emerging=EmergingMap.from_dict(r["emerging"]) if r.get("emerging") else None,
                near_line=tuple(_article_from(a) for a in r.get("near_line", ())),
            )
        )
    return Digest(
        week=week,
        start=datetime.fromisoformat(o["start"]),
        end=datetime.fromisoformat(o["end"]),
        generated_at=datetime.fromisoformat(o["generated_at"]),
        ruleset_version=o["ruleset_version"],
        articles_analysed=o["articles_analysed"],
        sources_active=o["sources_active"],
        ruptures=tuple(ruptures),
        params=ScoreParams(**o.get("params", {})),
        near_line_min_score=o.get("near_line_min_score", Digest.near_line_min_score),
    )
