"""``signals eval`` end to end: read labels and texts (corpus files or the store), decide, score,
format the table, check or update the floors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .analyse import Analyser
from .config import load_scenarios
from .corpus import read_documents
from .errors import InputError
from .evaluate import (
    DocDecision,
    EvalReport,
    Metric,
    check_floors,
    decide,
    decide_documents,
    evaluate,
    new_floors,
    read_floors,
)
from .judge import JudgeModel, accept_all, load_model
from .labels import LabelRecord, by_split, read_labels
from .match import Ruleset, compile_ruleset
from .models import AnalysedDoc, Sentence
from .settings import Settings
from .store import open_store, repo


def _decide_from_store(
    settings: Settings,
    records: list[LabelRecord],
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
) -> dict[str, DocDecision]:
    """Stored sentence keys → decisions with the current ruleset and judge (no re-analysis)."""
    from .analyse import KEYS_VERSION

    store = open_store(settings.db_url, create=False)
    try:
        with store.engine.connect() as conn:
            ids = repo.article_ids_by_url(conn, {r.id for r in records})
            analyses = {a.article_id: a for a in repo.stored_analyses(conn, sorted(ids.values()))}
    finally:
        store.dispose()
    out = {}
    for url, aid in ids.items():
        a = analyses.get(aid)
        if a is None:
            continue
        sentences = a.sentences
        if a.keys_version != KEYS_VERSION:
            sentences = [
                (text, " ".join(analyser.term_keys(text, a.language))) for text, _ in sentences
            ]
        doc = AnalysedDoc(
            a.language, tuple(Sentence(text, tuple(keys.split())) for text, keys in sentences)
        )
        out[url] = decide(doc, ruleset, judge)
    return out


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.2f}-{ci[1]:.2f}]"


def _row(name: str, m: Metric) -> str:
    return (
        f"{name:<28} {m.tp:>4} {m.fp:>4} {m.fn:>4}  {_fmt(m.precision)} {_ci(m.precision_ci):<11} "
        f"{_fmt(m.recall)} {_ci(m.recall_ci):<11} {_fmt(m.f1)}"
    )


def format_report(report: EvalReport, title: str, show_errors: int, by_bullet: bool = False) -> str:
    lines = [title, f"{report.labels} labelled records used, {report.missing} not found", ""]
    head = f"{'':<28} {'tp':>4} {'fp':>4} {'fn':>4}  {'prec':>5} {'95% CI':<11} {'rec':>5} {'95% CI':<11} {'F1':>5}"
    for pol in ("evidence", "counter"):
        lines += [
            f"{pol.upper()} (article set, judged against all ruptures)",
            head,
            _row("micro", report.micro[pol]),
        ]
        lines += [_row(r, m) for r, m in sorted(report.per_rupture[pol].items())]
        labelled, hit = report.candidates.get(pol, (0, 0))
        if labelled:
            lines.append(
                f"candidates: {hit} of the {labelled} labelled {pol} pairs have a sentence hit of "
                f"that polarity ({hit / labelled:.3f}: the recall no judge can pass)"
            )
        by_conf = report.by_confidence.get(pol, {})
        if by_conf:
            parts = [f"{c} {found} of {n} ({found / n:.3f})" for c, (n, found) in by_conf.items()]
            lines.append("recall by the label's confidence: " + ", ".join(parts))
        if by_bullet and report.by_bullet.get(pol):
            lines.append(f"{'by guide bullet':<32} {'labelled':>8} {'hit':>5} {'found':>6}")
            lines += [
                f"  {key:<30} {n:>8} {hit:>5} {found:>6}"
                for key, (n, hit, found) in report.by_bullet[pol].items()
            ]
        lines.append("")
    sp = report.stream_precision
    lines.append(
        f"STREAM PRECISION (evidence, {report.stream_pairs} matcher-flagged pairs, "
        f"{int(sp.get('accepted') or 0)} accepted): raw {_fmt(sp.get('raw'))}, "
        f"weighted by each rupture's share of flags {_fmt(sp.get('weighted'))}"
    )
    if show_errors:
        for kind, heading in (("false-positive", "false positives"), ("miss", "misses")):
            errs = [e for e in report.errors if e.kind == kind][:show_errors]
            if errs:
                lines += ["", f"{heading} (first {len(errs)}):"]
                for e in errs:
                    score = f" score {e.score:.2f}" if e.score is not None else " no candidate"
                    lines.append(f"  {e.rupture} {e.polarity} (label: {e.truth}){score} {e.id}")
                    if e.sentence:
                        lines.append(f"      « {e.sentence[:220]} »")
    return "\n".join(lines)


def run_eval(
    settings: Settings,
    label_paths: list[Path],
    corpora: list[Path],
    field_map: Mapping[str, str],
    split: str | None,
    with_verdicts: bool,
    sentence_hits: bool,
    floors_path: Path | None,
    update_floors: bool,
    allow_lower: bool,
    show_errors: int,
    skip_invalid: bool = False,
    by_bullet: bool = False,
) -> tuple[str, dict[str, Any], list[str]]:
    scenarios = load_scenarios(settings.scenarios_path)
    rupture_ids = [r.id for r in scenarios.ruptures]
    records = list(by_split(read_labels(label_paths, rupture_ids), split))
    if with_verdicts:
        from .review import verdict_records

        store = open_store(settings.db_url, create=False)
        try:
            records += verdict_records(store)
        finally:
            store.dispose()
    if not records:
        raise InputError("no label records to evaluate" + (f" in split {split!r}" if split else ""))
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(scenarios, analyser, str(settings.scenarios_path))
    judge = accept_all() if sentence_hits else load_model(settings.judge_path)
    if corpora:
        docs = read_documents(corpora, {r.id for r in records}, field_map, skip_invalid)
        decisions = decide_documents(records, docs, ruleset, judge, analyser)
    else:
        decisions = _decide_from_store(settings, records, ruleset, judge, analyser)
    report = evaluate(records, decisions, rupture_ids)
    title = (
        f"signals eval — {', '.join(p.name for p in label_paths)}"
        f"{f' [{split}]' if split else ''} — judge: {judge.meta.get('name', '?')} ({judge.version})"
    )
    failed: list[str] = []
    if floors_path is not None:
        if update_floors:
            old = read_floors(floors_path) if floors_path.exists() else {}
            floors = new_floors(report, old, allow_lower)
            floors_path.write_text(
                json.dumps({"floors": floors, "measured_on": title}, indent=2) + "\n",
                encoding="utf-8",
            )
        else:
            failed = check_floors(report, read_floors(floors_path))
    data = report.to_json()
    data["title"] = title
    return format_report(report, title, show_errors, by_bullet), data, failed
