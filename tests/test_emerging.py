"""Emerging terms per rupture (signals.emerging): quadrants on hand-made data, function words and
boilerplate never lead, the entity filter, and the scatter's escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli
from signals.emerging import (
    Background,
    BackgroundDoc,
    EmergingMap,
    EmergingParams,
    EvidenceDoc,
    clean_entities,
    emerging_map,
    looks_like_name,
    quadrant,
    watch_keys,
)
from signals.judge import accept_all
from signals.keyness import content_words, stopwords
from signals.report.scatter import emerging_chart

WEEKS = [f"2024-W{w:02d}" for w in range(1, 13)]  # W09..W12 are the recent weeks
FILLER = "Le conseil municipal a voté le budget de la ville pour la rentrée scolaire."


def _background(evidence: list[EvidenceDoc], others: int = 120) -> Background:
    docs = [BackgroundDoc(d.article_id, d.text, "fr", "tv") for d in evidence]
    docs += [
        BackgroundDoc(
            10_000 + i,
            f"{FILLER} Sujet numéro {i} sur la météo et le sport.",
            "fr",
            "tv" if i % 2 else "radio",
        )
        for i in range(others)
    ]
    return Background(docs)


def _evidence() -> list[EvidenceDoc]:
    """20 evidence articles over 12 weeks: "coopérative" everywhere (well-known, then strong when
    it also rises), "plateforme" only in the last weeks (a weak signal), "entrepôt" in a few
    early ones (latent); every article full of function words and boilerplate."""
    docs = []
    for i in range(20):
        week = WEEKS[i * 12 // 20]
        recent = week >= "2024-W09"
        words = ["coopérative", "salariés"]
        if recent and i % 2 == 0:
            words.append("plateforme")
        if not recent and i % 5 == 0:
            words.append("entrepôt")
        text = (
            f"Selon le journal de samedi, les {' et les '.join(words)} sont aussi dans "
            "cette tribune, lundi, selon la rédaction de France."
        )
        docs.append(EvidenceDoc(i + 1, week, text, "fr"))
    return docs


def _terms(m: EmergingMap) -> dict[str, str]:
    return {t.term: t.quadrant for t in m.terms}


def test_quadrant_placement() -> None:
    assert quadrant(0.1, 2.0, 0.3, 1.0) == "weak"
    assert quadrant(0.5, 2.0, 0.3, 1.0) == "strong"
    assert quadrant(0.1, 0.0, 0.3, 1.0) == "latent"
    assert quadrant(0.5, -1.0, 0.3, 1.0) == "well-known"
    assert quadrant(0.14, 2.0, 0.14, 1.0) == "weak"  # a tie with the mean is low…
    assert quadrant(0.6, 0.0, 0.9, 1.0) == "well-known"  # …half the evidence or more is high


def test_map_places_hand_made_terms() -> None:
    ev = _evidence()
    m = emerging_map(ev, _background(ev), WEEKS, watch_keys(["salarié"]))
    assert m is not None
    assert m.evidence == 20 and m.recent_evidence == sum(d.week >= "2024-W09" for d in ev)
    q = _terms(m)
    assert q["plateforme"] == "weak", m.terms  # rare overall, rising: a weak signal
    assert q["coopérative"] == "well-known"  # everywhere, flat
    assert q["entrepôt"] == "latent"  # rare, only early
    by = {t.term: t for t in m.terms}
    assert by["plateforme"].growth >= 1.0 > by["coopérative"].growth
    assert by["plateforme"].earlier_share == 0.0 and by["plateforme"].recent_share >= 0.5
    assert by["salariés"].in_watch_list and not by["plateforme"].in_watch_list  # stems compared
    # strong: high visibility and rising
    rising = [
        EvidenceDoc(
            100 + i, d.week, d.text + (" Les livreurs aussi." if d.week >= "2024-W05" else ""), "fr"
        )
        for i, d in enumerate(ev)
    ]
    m2 = emerging_map(rising, _background(rising), WEEKS)
    assert m2 is not None and _terms(m2)["livreurs"] == "strong", m2.terms


def test_stopwords_and_boilerplate_never_listed() -> None:
    ev = _evidence()
    m = emerging_map(ev, _background(ev), WEEKS)
    assert m is not None and m.terms
    banned = {
        "selon",
        "journal",
        "samedi",
        "lundi",
        "tribune",
        "redaction",
        "france",
        "cette",
        "aussi",
        "les",
    }
    assert not {t.term for t in m.terms} & banned
    assert m.terms[0].term in {"coopérative", "salariés", "plateforme"}
    assert not content_words("Selon le journal de samedi, cette tribune est aussi la nôtre") - {
        "notre"
    }
    assert "les" in stopwords("fr") and "the" in stopwords("en")


def test_one_article_does_not_make_a_signal() -> None:
    ev = _evidence()
    ev[-1] = EvidenceDoc(
        ev[-1].article_id, ev[-1].week, ev[-1].text + " Un seul ornithorynque.", "fr"
    )
    m = emerging_map(ev, _background(ev), WEEKS)
    assert m is not None and "ornithorynque" not in _terms(m)  # below min_support
    m1 = emerging_map(ev, _background(ev), WEEKS, params=EmergingParams(min_support=1))
    assert m1 is not None
    # even with the support floor at 1, one mention is not over-represented enough to be listed
    # (log-odds z < 1.96), while a term that grew over several recent articles is
    assert "ornithorynque" not in _terms(m1)
    plateforme = next(t for t in m1.terms if t.term == "plateforme")
    assert plateforme.growth > 1.0


def test_no_evidence_no_map() -> None:
    assert emerging_map([], Background([]), WEEKS) is None


def test_entity_filter() -> None:
    assert not looks_like_name("Samedi")
    assert not looks_like_name("n’")
    assert not looks_like_name("2020 n’")
    assert not looks_like_name("l'Europe")  # a lowercase start
    assert not looks_like_name("1789")
    assert not looks_like_name("Madrid-")
    assert not looks_like_name("L'impact") and looks_like_name("L'Oréal")
    assert not looks_like_name("Bonjour Fanny")
    assert looks_like_name("Emmanuel Macron") and looks_like_name("Banque de France")
    docs = [
        BackgroundDoc(
            i,
            f"Les élus de la région votent. Signals, le journal {i}. Emmanuel Macron parle."
            if i < 3
            else f"Sujet {i} sur TF1 : Signals résume.",
            "fr",
            "tf1" if i % 2 else "f2",
        )
        for i in range(40)
    ]
    docs.append(
        BackgroundDoc(
            99,
            "Bonsoir Claude Sempère, vous êtes à Londres. Claude Sempère : rien de neuf.",
            "fr",
            "f2",
        )
    )
    bg = Background(docs)
    counts = [
        ("Signals", 10),
        ("Samedi", 5),
        ("n’", 4),
        ("Élus", 3),
        ("TF1", 3),
        ("Claude Sempère", 2),
        ("Emmanuel Macron", 2),
    ]
    assert clean_entities(counts, bg) == [("Emmanuel Macron", 2)]
    assert bg.is_boilerplate("Signals") and bg.is_boilerplate(
        "TF1"
    )  # everywhere; one source's name
    assert bg.is_common_word("Élus") and bg.is_on_air("Claude Sempère")


def test_channel_name_is_not_an_emerging_term() -> None:
    ev = [
        EvidenceDoc(
            i,
            WEEKS[-1 - i % 6],
            f"France 2 : la coopérative ouvrière numéro {i} ouvre.",
            "fr",
            ("France 2",),
        )
        for i in range(12)
    ]
    bg = Background(
        [BackgroundDoc(d.article_id, d.text, "fr", "france2") for d in ev]
        + [
            BackgroundDoc(100 + i, f"France 2 : le sport numéro {i}.", "fr", "france2")
            for i in range(60)
        ]
    )
    m = emerging_map(ev, bg, WEEKS)
    assert m is not None
    terms = _terms(m)
    assert "France 2" not in terms and "coopérative" in terms


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.on: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.on += [k for k, _ in attrs if k.startswith("on")]


def test_scatter_is_svg_without_script_and_escapes_terms() -> None:
    ev = _evidence()
    m = emerging_map(ev, _background(ev), WEEKS)
    assert m is not None
    hostile = m.terms[0].__class__(**{**m.terms[0].to_dict(), "term": "<script>alert(1)</script>"})
    m = EmergingMap.from_dict(
        {**m.to_dict(), "terms": [hostile.to_dict(), *(t.to_dict() for t in m.terms[1:])]}
    )
    svg = str(emerging_chart(m, label="<img src=x onerror=alert(1)>"))
    audit = _Audit()
    audit.feed(svg)
    assert "script" not in audit.tags and "img" not in audit.tags and not audit.on
    assert {"svg", "circle", "line", "text", "title"} <= set(audit.tags)
    assert svg.count("<circle") == len(m.terms)
    assert "&lt;script&gt;" in svg
    assert EmergingMap.from_dict(m.to_dict()) == m


def test_hostile_terms_are_escaped_in_the_digest_html_and_markdown() -> None:
    import dataclasses

    from signals.report import render_html, render_json, render_markdown
    from signals.report.json_io import digest_from_json

    from .test_report import XSS_PAYLOADS, make_digest

    ev = _evidence()
    m = emerging_map(ev, _background(ev), WEEKS)
    assert m is not None
    hostile = tuple(
        dataclasses.replace(t, term=XSS_PAYLOADS[i % len(XSS_PAYLOADS)])
        for i, t in enumerate(m.terms)
    )
    d = make_digest()
    moved = next(r for r in d.ruptures if r.score.status in ("gaining", "new", "fading"))
    d = dataclasses.replace(
        d,
        ruptures=tuple(
            dataclasses.replace(r, emerging=dataclasses.replace(m, terms=hostile))
            if r is moved
            else r
            for r in d.ruptures
        ),
    )
    html = render_html(d)
    audit = _Audit()
    audit.feed(html)
    assert "script" not in audit.tags and not audit.on
    assert html.count('<svg class="emerging-map"') == 1 and "<h3>Emerging terms (" in html
    md = render_markdown(d)
    assert "### Emerging terms (" in md and "<script" not in md.lower()
    back = digest_from_json(render_json(d))
    assert next(r for r in back.ruptures if r.id == moved.id).emerging == dataclasses.replace(
        m, terms=hostile
    )


def test_digest_reads_the_window_from_the_store(db_url: str, tmp_path: Path) -> None:
    """import → process → digest on SQLite and PostgreSQL: the queries of signals.store.emerging
    run, the map covers 12 weeks of evidence, and a term that appears only lately is growing."""
    monday = datetime(2024, 2, 19, 8, tzinfo=UTC)  # 2024-W08
    lines = []
    for w in range(12):  # W08 .. W19: one evidence article a week, three a week in the last four
        day = (monday + timedelta(weeks=w)).isoformat()
        for k in range(3 if w >= 8 else 1):
            extra = " Les livreurs de la plateforme rejoignent la coopérative." if w >= 8 else ""
            lines.append(
                {
                    "url": f"https://ex.org/e{w}-{k}",
                    "title": f"Monnaie locale, épisode {w}-{k}",
                    "text": f"La monnaie locale des salariés de la coopérative progresse.{extra}",
                    "published": day,
                    "source": "tv",
                }
            )
        lines += [
            {
                "url": f"https://ex.org/q{w}-{k}",
                "title": f"Météo {w}-{k}",
                "published": day,
                "source": "radio" if k % 2 else "tv",
                "text": "Du soleil et quelques nuages sur la région.",
            }
            for k in range(6)
        ]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8"
    )
    (tmp_path / "scenarios.yaml").write_text(
        "ruptures:\n  - id: monnaies\n    title: Monnaies\n    summary: Les monnaies locales.\n    watch:\n"
        '      - {id: w-money, label: les monnaies locales, any: ["monnaie locale"]}\n',
        encoding="utf-8",
    )
    judge = tmp_path / "judge.json"
    judge.write_text(json.dumps(accept_all().to_json()), encoding="utf-8")
    base = [
        "--db",
        db_url,
        "--judge",
        str(judge),
        "--scenarios",
        str(tmp_path / "scenarios.yaml"),
        "--reports",
        str(tmp_path / "r"),
        "--now",
        "2024-05-20T12:00:00+00:00",
    ]
    for cmd in (["import", str(corpus)], ["process"], ["digest", "--week", "2024-W19"]):
        res = CliRunner().invoke(cli, [*base, *cmd])
        assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r" / "2024-W19.json").read_text(encoding="utf-8"))["ruptures"][0]
    em = r["emerging"]
    assert (em["first_week"], em["last_week"], em["evidence"], em["recent_evidence"]) == (
        "2024-W08",
        "2024-W19",
        20,
        12,
    )
    assert em["background"] == 20 + 12 * 6
    terms = {t["term"]: t for t in em["terms"]}
    assert terms["livreurs"]["growth"] > 1 and terms["livreurs"]["earlier_share"] == 0, terms
    assert terms["livreurs"]["quadrant"] in ("weak", "strong")
    assert not {"météo", "soleil", "nuages"} & set(terms)
