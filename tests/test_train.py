"""`signals train`'s fit: sparse features (items, headline words), thresholds, the model file."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from signals.judge import FEATURES, RUPTURE_FEATURES, model_from_json
from signals.models import Polarity
from signals.train import COUNTER_C, EVIDENCE_C, Row, fit
from signals.train_text import TextExample


def _rows(n: int = 160) -> list[Row]:
    """Evidence when the headline says 'rançongiciel' (or the hit is in the title); else not."""
    rng = random.Random(3)
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        title = 1.0 if positive and rng.random() < 0.5 else 0.0
        keys = frozenset({"ranconniciel" if positive else "footbal", "hopital"})
        feats = {f: 0.0 for f in FEATURES} | {"title": title, "items": rng.random()}
        vocab = frozenset({"rancon" if positive else "piratag", "informat"})
        rows.append(
            Row(
                "apres-chute-reseaux",
                Polarity.EVIDENCE,
                feats,
                int(positive),
                ("ac-x",),
                keys,
                vocab,
            )
        )
        rows.append(
            Row("apres-chute-reseaux", Polarity.COUNTER, feats, int(i % 4 == 0), ("ac-d",), keys)
        )
    return rows


def test_headline_words_are_learned_per_rupture_and_round_trip() -> None:
    model = fit(_rows(), target_precision=0.8)
    coef = model.models[Polarity.EVIDENCE].coef
    assert coef["title:apres-chute-reseaux:ranconniciel"] > 0
    assert coef["title:apres-chute-reseaux:footbal"] < 0
    assert "title:apres-chute-reseaux:hopital" not in coef  # in every headline: no weight kept
    assert model_from_json(model.to_json()).version == model.version
    assert model.meta["title_words"] is True


def test_without_headline_words_the_model_has_none() -> None:
    model = fit(_rows(), target_precision=0.8, title_words=False)
    assert not any(k.startswith("title:") for m in model.models.values() for k in m.coef)
    assert model.meta["title_words"] is False


def test_vocabulary_words_are_learned_per_rupture_or_left_out() -> None:
    coef = fit(_rows(), target_precision=0.8).models[Polarity.EVIDENCE].coef
    assert coef["vocab:apres-chute-reseaux:rancon"] > 0
    assert coef["vocab:apres-chute-reseaux:piratag"] < 0
    assert "vocab:apres-chute-reseaux:informat" not in coef  # in every article: no weight kept
    model = fit(_rows(), target_precision=0.8, vocab_words=False)
    assert not any(k.startswith("vocab:") for m in model.models.values() for k in m.coef)
    assert model.meta["vocab_words"] is False


def test_numeric_features_get_a_weight_per_rupture_or_are_left_shared() -> None:
    coef = fit(_rows(), target_precision=0.8).models[Polarity.EVIDENCE].coef
    assert coef["feature:apres-chute-reseaux:title"] > 0  # a headline hit: evidence here
    assert {k.split(":")[2] for k in coef if k.startswith("feature:")} <= set(RUPTURE_FEATURES)
    model = fit(_rows(), target_precision=0.8, rupture_features=False)
    assert not any(k.startswith("feature:") for m in model.models.values() for k in m.coef)
    assert model.meta["rupture_features"] is False


def test_evidence_is_regularised_harder_than_counter_evidence() -> None:
    model = fit(_rows(), target_precision=0.8)
    assert (model.meta["C"], model.meta["counter_C"]) == (EVIDENCE_C, COUNTER_C)
    loose = fit(_rows(), target_precision=0.8, c=10.0)
    weight = abs(model.models[Polarity.EVIDENCE].coef["title:apres-chute-reseaux:ranconniciel"])
    assert (
        abs(loose.models[Polarity.EVIDENCE].coef["title:apres-chute-reseaux:ranconniciel"]) > weight
    )


def test_with_the_articles_the_judge_learns_to_weigh_the_text_model() -> None:
    rows = [replace(r, record=n) for n, r in enumerate(_rows())]
    texts = [
        TextExample(f"https://x.org/{n}", tuple(r.vocab_keys), {r.rupture_id: bool(r.target)})
        for n, r in enumerate(rows)
    ]
    model = fit(rows, target_precision=0.8, texts=texts)
    assert model.text is not None and "apres-chute-reseaux" in model.text.ruptures
    assert model.models[Polarity.EVIDENCE].coef["text"] > 0
    assert model.meta["text_model"] is True
    assert model_from_json(model.to_json()).text == model.text
    without = fit(rows, target_precision=0.8)
    assert without.text is None and "text" not in without.models[Polarity.EVIDENCE].coef
    assert without.meta["text_model"] is False


def test_counter_rows_read_the_counter_evidence_text_models() -> None:
    rows = _rows(200)
    texts = [
        TextExample(
            f"https://x.org/{n}",
            tuple(r.vocab_keys),
            {r.rupture_id: bool(r.target)},
            {r.rupture_id: not r.target},
        )
        for n, r in enumerate(rows)
    ]
    model = fit(rows, target_precision=0.8, texts=texts)
    assert model.text is not None and model.text.counter is not None
    assert "apres-chute-reseaux" in model.text.counter
    assert model.meta["counter_text_model"] is True
    old = fit(rows, target_precision=0.8, texts=texts, counter_text=False)
    assert old.text is not None and old.text.counter is None
    assert old.meta["counter_text_model"] is False


def test_ruptures_with_enough_labels_get_their_own_threshold() -> None:
    rows = _rows(200)
    model = fit(rows, target_precision=0.8, rupture_thresholds=True)
    assert set(model.models[Polarity.EVIDENCE].rupture_thresholds) == {"apres-chute-reseaux"}
    shared = fit(rows, target_precision=0.8)
    assert shared.models[Polarity.EVIDENCE].rupture_thresholds == {}


def test_the_cli_defaults_are_the_shipped_judges_settings() -> None:
    """`signals train` with no options reproduces the shipped judge's settings, and the
    leave-one-round-out script measures those same settings."""
    import importlib.util

    from signals.cli import cli
    from signals.judge import load_model

    train = cli.commands["train"]  # type: ignore[attr-defined]
    defaults = {p.name: p.default for p in train.params}
    shipped = load_model()
    assert shipped.text is not None and defaults["text_model"] is True
    assert shipped.text.counter is not None and defaults["counter_text_model"] is True
    assert shipped.meta["counter_text_model"] is True
    assert shipped.meta["target_precision"] == defaults["target_precision"] == 0.83
    assert shipped.meta["counter_target_precision"] == defaults["counter_target_precision"]
    script = Path(__file__).resolve().parents[1] / "scripts" / "judge_rounds.py"
    spec = importlib.util.spec_from_file_location("judge_rounds", script)
    assert spec is not None and spec.loader is not None
    rounds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rounds)
    assert {
        "target_precision": defaults["target_precision"],
        "counter_target_precision": defaults["counter_target_precision"],
        "text_model": defaults["text_model"],
    } == rounds.CLI_DEFAULTS


def test_train_through_a_round_leaves_the_later_rounds_out(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from signals.cli import cli

    repo = Path(__file__).resolve().parents[1]
    labels = tmp_path / "l.jsonl"
    record = {"id": "https://ex.org/a", "split": "dev", "drawn_by": "r9:random", "labels": []}
    labels.write_text(json.dumps(record) + "\n")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"url": "https://ex.org/a", "title": "t", "text": "x"}) + "\n")
    args = ["--scenarios", str(repo / "scenarios.yaml"), "train", str(labels)]
    args += ["--corpus", str(corpus), "-o", str(tmp_path / "m.json"), "--through-round", "8"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert (
        res.output.strip() == f"error: no label records of split 'dev' in {labels} through round 8"
    )
