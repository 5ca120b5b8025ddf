"""``signals preview``: what an edit of ``scenarios.yaml`` would change over the stored history,
before it is applied. Nothing is written.

The baseline is the ruleset the store was last matched with (recorded in ``meta`` by
``signals.rematch``), a git revision of the file (``git show REV:scenarios.yaml``) or another
file. Only the ruptures whose definition differs can change — matching is per item and the
judge is per rupture — so both versions of those ruptures are re-matched and re-judged in memory
over the stored sentence keys (the rematch path: no model, tokeniser speed), with the current
judge model and the analysts' verdicts as the digest counts them. Result: matches gained and
lost per item and evidence / counter-evidence articles gained and lost per rupture, with
example sentences, and the weeks whose status changes (every rupture re-scored, since the
multiple-testing correction runs across ruptures; unchanged ruptures keep their stored counts).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from .analyse import KEYS_VERSION, Analyser
from .config import Rupture, Scenarios, load_scenarios
from .errors import ConfigError, InputError, StoreError
from .judge import JudgeModel
from .match import Ruleset, compile_ruleset
from .models import AnalysedDoc, ItemMatch, Polarity, Sentence
from .rematch import META_SCENARIOS
from .score import ScoreParams, WeeklyCounts, score_week
from .store import Store, open_store, repo

__all__ = ["Preview", "baseline_scenarios", "preview", "render_text", "store_if_exists"]
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Example:
    article_id: int
    url: str
    title: str
    published: str
    sentence: str


@dataclass
class ItemChange:
    rupture_id: str
    item_id: str
    kind: str
    change: str  # added | removed | changed | unchanged (an unchanged item of a changed rupture)
    gained: int = 0
    lost: int = 0
    examples_gained: list[Example] = field(default_factory=list)
    examples_lost: list[Example] = field(default_factory=list)


@dataclass
class RuptureChange:
    rupture_id: str
    change: str  # added | removed | changed
    evidence_gained: int = 0
    evidence_lost: int = 0
    counter_gained: int = 0
    counter_lost: int = 0
    examples_gained: list[Example] = field(default_factory=list)  # evidence articles gained
    examples_lost: list[Example] = field(default_factory=list)


@dataclass(frozen=True)
class StatusChange:
    week: str
    rupture_id: str
    before: str  # status
    after: str
    evidence_before: int
    evidence_after: int


@dataclass
class Preview:
    baseline: str  # what the edit is compared with
    baseline_version: str
    current_version: str
    articles: int  # stored analyses scanned
    weeks: int
    ruptures: list[RuptureChange]
    items: list[ItemChange]
    status_changes: list[StatusChange]
    seconds: float = 0.0

    @property
    def matches_gained(self) -> int:
        return sum(i.gained for i in self.items)

    @property
    def matches_lost(self) -> int:
        return sum(i.lost for i in self.items)

    def summary(self) -> str:
        """One line (for ``signals check``)."""
        if not self.ruptures:
            return f"preview: no change against {self.baseline}"
        ev_g = sum(r.evidence_gained for r in self.ruptures)
        ev_l = sum(r.evidence_lost for r in self.ruptures)
        weeks = len({(s.week, s.rupture_id) for s in self.status_changes})
        return (
            f"preview against {self.baseline}: {len(self.ruptures)} rupture(s) changed, "
            f"matches +{self.matches_gained} -{self.matches_lost}, evidence articles +{ev_g} -{ev_l}, "
            f"{weeks} week status change(s) over {self.articles} stored articles "
            f"(details: signals preview)"
        )

    def to_json(self) -> str:
        d = asdict(self)
        d["matches_gained"], d["matches_lost"] = self.matches_gained, self.matches_lost
        return json.dumps(d, ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- baselines


def store_if_exists(url: str) -> Store | None:
    """The store at ``url`` if a database is there (never creates one); None otherwise."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
    try:
        return open_store(url, create=False)
    except StoreError:
        return None


def baseline_scenarios(
    store: Store, against: str | None, scenarios_path: Path
) -> tuple[Scenarios, str]:
    """The scenarios to compare with, and how to name them: the applied ones (``against`` is
    None), a file, or a git revision of ``scenarios_path``."""
    if against is None:
        with store.engine.connect() as conn:
            raw = repo.get_meta(conn, META_SCENARIOS)
        if raw is None:
            raise InputError(
                "the database does not record the applied scenarios yet (the next "
                "`signals process` or `digest` records them); use --against REV|FILE"
            )
        try:
            return Scenarios.model_validate(json.loads(raw)), "the applied ruleset"
        except ValueError as e:
            raise InputError(
                f"the applied scenarios recorded in the database are unreadable ({e})"
            ) from None
    path = Path(against)
    if path.is_file():
        return load_scenarios(path), str(path)
    return _git_scenarios(against, scenarios_path), f"{against}:{scenarios_path.name}"


def _git_scenarios(rev: str, scenarios_path: Path) -> Scenarios:
    where = scenarios_path.resolve().parent
    try:
        out = subprocess.run(
            ["git", "show", f"{rev}:./{scenarios_path.name}"],
            cwd=where,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError(f"--against {rev}: cannot run git ({e})") from None
    if out.returncode != 0:
        msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(
            f"--against {rev}: not a file, and git cannot show it ({msg[0] if msg else 'no output'})"
        )
    with tempfile.TemporaryDirectory(prefix="signals-preview-") as tmp:
        p = Path(tmp) / f"{rev.replace('/', '_')}-{scenarios_path.name}"
        p.write_bytes(out.stdout)
        try:
            return load_scenarios(p)
        except ConfigError as e:
            raise InputError(
                f"--against {rev}: {scenarios_path.name} at that revision is invalid: "
                f"{e.problems[0]}"
            ) from None


# --------------------------------------------------------------------------- comparing


def _item_dumps(r: Rupture) -> dict[str, tuple[str, str]]:
    return {
        it.id: (kind, json.dumps(it.model_dump(mode="json"), sort_keys=True))
        for kind, it in r.all_items()
    }


def _changed(
    old: Scenarios, new: Scenarios
) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    """rupture id → added/removed/changed, and (rupture, item) → (kind, change) for those ruptures."""
    o = {r.id: r for r in old.ruptures}
    n = {r.id: r for r in new.ruptures}
    ruptures: dict[str, str] = {}
    items: dict[tuple[str, str], tuple[str, str]] = {}
    for rid in [*o, *(x for x in n if x not in o)]:
        ro, rn = o.get(rid), n.get(rid)
        if ro is not None and rn is not None and ro.model_dump() == rn.model_dump():
            continue
        ruptures[rid] = "added" if ro is None else "removed" if rn is None else "changed"
        io = _item_dumps(ro) if ro else {}
        inn = _item_dumps(rn) if rn else {}
        for iid in [*io, *(x for x in inn if x not in io)]:
            a, b = io.get(iid), inn.get(iid)
            either = b or a
            kind = either[0] if either is not None else ""
            items[(rid, iid)] = (
                kind,
                "added"
                if a is None
                else "removed"
                if b is None
                else "unchanged"
                if a == b
                else "changed",
            )
    return ruptures, items


def _subset(s: Scenarios, ids: Iterable[str], analyser: Analyser, name: str) -> Ruleset | None:
    wanted = set(ids)
    rs = [r for r in s.ruptures if r.id in wanted]
    if not rs:
        return None
    return compile_ruleset(Scenarios(version=s.version, ruptures=rs), analyser, name)


@dataclass
class _Side:
    """What one ruleset version says over the history, for the changed ruptures."""

    counted: dict[tuple[str, str], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )  # (rid, pol)
    matches: dict[str, dict[int, str]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # item → art → sentence


def _judge_side(
    side: _Side,
    aid: int,
    doc: AnalysedDoc,
    ruleset: Ruleset | None,
    judge: JudgeModel,
    verdicts: Mapping[tuple[int, str, str], str],
) -> None:
    if ruleset is None:
        return
    items: list[ItemMatch] = ruleset.match_items(doc)
    for m in items:
        side.matches[m.item_id][aid] = doc.sentences[m.best].text
    for j in judge.judge_doc(doc, items, ruleset.vocabulary(doc.language)):
        v = verdicts.get((aid, j.rupture_id, str(j.polarity)))
        if (j.accepted and v != "rejected") or v == "confirmed":
            side.counted[(j.rupture_id, str(j.polarity))].add(aid)


def _example(ref: repo.ArticleRef | None, aid: int, sentence: str) -> Example:
    if ref is None:
        return Example(aid, "", "", "", sentence[:300])
    return Example(aid, ref.url, ref.title, ref.published_at.date().isoformat(), sentence[:300])


def _counts(
    side: _Side,
    changed: Iterable[str],
    refs: Mapping[int, repo.ArticleRef],
    base: WeeklyCounts,
    first_base: Mapping[str, str | None],
) -> WeeklyCounts:
    """The stored weekly counts with the changed ruptures' replaced by this side's."""
    evidence = {k: dict(v) for k, v in base.evidence.items()}
    sources = {k: dict(v) for k, v in base.sources.items()}
    doubts = {k: dict(v) for k, v in base.doubts.items()}
    first = dict(first_base)
    for rid in changed:
        ev: dict[str, set[int]] = defaultdict(set)
        src: dict[str, set[str]] = defaultdict(set)
        for aid in side.counted.get((rid, str(Polarity.EVIDENCE)), ()):
            ref = refs.get(aid)
            if ref is not None and ref.dup_of is None:
                ev[ref.week].add(aid)
                src[ref.week].update(ref.sources)
        dq: dict[str, set[int]] = defaultdict(set)
        for aid in side.counted.get((rid, str(Polarity.COUNTER)), ()):
            ref = refs.get(aid)
            if ref is not None and ref.dup_of is None:
                dq[ref.week].add(aid)
        evidence[rid] = {w: len(a) for w, a in ev.items()}
        sources[rid] = {w: len(s) for w, s in src.items()}
        doubts[rid] = {w: len(a) for w, a in dq.items()}
        first[rid] = min(ev) if ev else None
    return WeeklyCounts(
        analysed=base.analysed,
        evidence=evidence,
        sources=sources,
        doubts=doubts,
        first_evidence_week=first,
        history_start=base.history_start,
    )


def preview(
    store: Store,
    baseline: Scenarios,
    current: Scenarios,
    judge: JudgeModel,
    analyser: Analyser,
    baseline_name: str = "the applied ruleset",
    params: ScoreParams | None = None,
    batch: int = 500,
) -> Preview:
    """Compare ``current`` with ``baseline`` over every stored analysis (read-only)."""
    started = time.monotonic()
    params = params or ScoreParams()
    changed_r, changed_i = _changed(baseline, current)
    old_rs = _subset(baseline, changed_r, analyser, baseline_name)
    new_rs = _subset(current, changed_r, analyser, "scenarios.yaml")
    old, new = _Side(), _Side()
    n = 0
    with store.engine.connect() as conn:
        verdicts = repo.verdict_pairs(conn)
        weeks = repo.analysed_weeks(conn)
    if changed_r:
        after = 0
        while True:
            with store.engine.connect() as conn:
                rows = repo.iter_analyses(conn, after, batch)
            if not rows:
                break
            for row in rows:
                sentences = row.sentences
                if row.keys_version != KEYS_VERSION:
                    sentences = [
                        (text, " ".join(analyser.term_keys(text, row.language)))
                        for text, _ in sentences
                    ]
                doc = AnalysedDoc(
                    row.language,
                    tuple(Sentence(text, tuple(keys.split())) for text, keys in sentences),
                )
                _judge_side(old, row.article_id, doc, old_rs, judge, verdicts)
                _judge_side(new, row.article_id, doc, new_rs, judge, verdicts)
                after = row.article_id
                n += 1
        for (aid, rid, pol), v in verdicts.items():  # confirmed without a candidate still counts
            if v == "confirmed" and rid in changed_r:
                for side, s in ((old, baseline), (new, current)):
                    if any(r.id == rid for r in s.ruptures):
                        side.counted[(rid, pol)].add(aid)
    else:
        with store.engine.connect() as conn:
            n = repo.count_articles(conn, state="done")

    ids = sorted(
        {a for side in (old, new) for s in side.counted.values() for a in s}
        | {a for side in (old, new) for m in side.matches.values() for a in m}
    )
    with store.engine.connect() as conn:
        refs = repo.article_refs(conn, ids)
        status_changes = (
            _status_changes(conn, weeks, baseline, current, changed_r, old, new, refs, params)
            if changed_r
            else []
        )

    items = []
    for (rid, iid), (kind, change) in changed_i.items():
        a, b = old.matches.get(iid, {}), new.matches.get(iid, {})
        gained, lost = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        if change == "unchanged" and not gained and not lost:
            continue
        items.append(
            ItemChange(
                rid,
                iid,
                kind,
                change,
                len(gained),
                len(lost),
                [_example(refs.get(x), x, b[x]) for x in gained[:MAX_EXAMPLES]],
                [_example(refs.get(x), x, a[x]) for x in lost[:MAX_EXAMPLES]],
            )
        )
    ruptures = []
    for rid, change in changed_r.items():
        ev, cn = str(Polarity.EVIDENCE), str(Polarity.COUNTER)
        eo, en = old.counted.get((rid, ev), set()), new.counted.get((rid, ev), set())
        co, cnn = old.counted.get((rid, cn), set()), new.counted.get((rid, cn), set())
        rc = RuptureChange(rid, change, len(en - eo), len(eo - en), len(cnn - co), len(co - cnn))
        rc.examples_gained = [
            _example(refs.get(x), x, _sentence_of(new, x, rid, current))
            for x in sorted(en - eo)[:MAX_EXAMPLES]
        ]
        rc.examples_lost = [
            _example(refs.get(x), x, _sentence_of(old, x, rid, baseline))
            for x in sorted(eo - en)[:MAX_EXAMPLES]
        ]
        ruptures.append(rc)
    return Preview(
        baseline_name,
        baseline.fingerprint(),
        current.fingerprint(),
        n,
        len(weeks),
        ruptures,
        items,
        status_changes,
        round(time.monotonic() - started, 3),
    )


def _sentence_of(side: _Side, aid: int, rid: str, s: Scenarios) -> str:
    try:
        r = s.rupture(rid)
    except KeyError:
        return ""
    for _, it in r.all_items():
        sent = side.matches.get(it.id, {}).get(aid)
        if sent:
            return sent
    return ""


def _status_changes(
    conn: Connection,
    weeks: list[str],
    baseline: Scenarios,
    current: Scenarios,
    changed: Mapping[str, str],
    old: _Side,
    new: _Side,
    refs: Mapping[int, repo.ArticleRef],
    params: ScoreParams,
) -> list[StatusChange]:
    if not weeks:
        return []
    ev, src = repo.rupture_counts(conn, weeks, Polarity.EVIDENCE)
    dq, _ = repo.rupture_counts(conn, weeks, Polarity.COUNTER)
    first = repo.first_evidence_weeks(conn, Polarity.EVIDENCE)
    base = WeeklyCounts(
        analysed=repo.analysed_per_week(conn, weeks),
        evidence=ev,
        sources=src,
        doubts=dq,
        first_evidence_week={},
        history_start=repo.first_analysed_week(conn),
    )
    before = _counts(old, changed, refs, base, first)
    after = _counts(new, changed, refs, base, first)
    ids_before = [r.id for r in baseline.ruptures]
    ids_after = [r.id for r in current.ruptures]
    out = []
    for week in weeks:
        b = {s.rupture_id: s for s in score_week(before, week, ids_before, params)}
        a = {s.rupture_id: s for s in score_week(after, week, ids_after, params)}
        for rid in ids_before:  # an added or removed rupture is reported as such, not week by week
            sb, sa = b[rid], a.get(rid)
            if sa is not None and sb.status != sa.status:
                out.append(StatusChange(week, rid, sb.status, sa.status, sb.evidence, sa.evidence))
    return out


# --------------------------------------------------------------------------- rendering


def _ex_line(sign: str, e: Example) -> str:
    return f"      {sign} {e.published} «{e.sentence[:160]}» — {e.title[:80]} <{e.url}>"


def render_text(p: Preview) -> str:
    lines = [
        f"preview: scenarios.yaml ({p.current_version}) against {p.baseline} ({p.baseline_version}) "
        f"over {p.articles} stored articles, {p.weeks} weeks, in {p.seconds:.1f} s"
    ]
    if not p.ruptures:
        lines.append("no rupture differs: nothing would change")
        return "\n".join(lines)
    by_rupture: dict[str, list[ItemChange]] = defaultdict(list)
    for it in p.items:
        by_rupture[it.rupture_id].append(it)
    for r in p.ruptures:
        lines += [
            "",
            f"== {r.rupture_id} ({r.change}): evidence articles +{r.evidence_gained} -{r.evidence_lost}, "
            f"counter-evidence +{r.counter_gained} -{r.counter_lost}",
        ]
        lines += [_ex_line("+", e) for e in r.examples_gained]
        lines += [_ex_line("-", e) for e in r.examples_lost]
        quiet = 0
        for it in by_rupture[r.rupture_id]:
            if r.change != "changed" and not it.gained and not it.lost:
                quiet += 1  # an added or removed rupture: list only the items that matter
                continue
            lines.append(
                f"  {it.item_id} ({it.kind}, {it.change}): matches +{it.gained} -{it.lost}"
            )
            lines += [_ex_line("+", e) for e in it.examples_gained]
            lines += [_ex_line("-", e) for e in it.examples_lost]
        if quiet:
            lines.append(f"  ({quiet} {r.change} items without any match)")
    lines += ["", f"weeks whose status changes: {len(p.status_changes)}"]
    for s in p.status_changes:
        lines.append(
            f"  {s.week} {s.rupture_id}: {s.before} → {s.after} "
            f"(evidence {s.evidence_before} → {s.evidence_after})"
        )
    lines += ["", "nothing was written to the database"]
    return "\n".join(lines)


def check_summary(
    db_url: str, scenarios: Scenarios, judge_path: Path | None, analyser: Analyser
) -> str | None:
    """The one-line preview ``signals check`` prints when a database exists (None when none does)."""
    from .errors import SignalsError
    from .judge import load_model

    store = store_if_exists(db_url)
    if store is None:
        return None
    try:
        with store.engine.connect() as conn:
            raw = repo.get_meta(conn, META_SCENARIOS)
        if raw is None:
            return "preview: the database does not record the applied scenarios yet (the next process records them)"
        base, name = baseline_scenarios(store, None, Path("scenarios.yaml"))
        return preview(store, base, scenarios, load_model(judge_path), analyser, name).summary()
    except SignalsError as e:
        return f"preview: skipped ({e})"
    finally:
        store.dispose()
