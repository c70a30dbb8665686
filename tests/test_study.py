"""python -m refmodel.study digits --quick: the float model, every plan at every width (PTQ and
QAT, or one refusal line), the issue's QAT condition, the files of --out, and the KL helper."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch

from refmodel import pipeline

PLANS = ("uniform ibert", "uniform fqvit", "uniform ivit", "mixed (dSQNR)", "searched")
ACC = r"(\d+\.\d\d)% \((\d+)/(\d+)\)"


def test_kl_equals_the_formula_and_is_zero_only_for_equal_distributions():
    rng = np.random.default_rng(0)
    f, y = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    p = np.exp(f) / np.exp(f).sum(1, keepdims=True)
    q = np.exp(y) / np.exp(y).sum(1, keepdims=True)
    want = float(np.mean(np.sum(p * np.log(p / q), axis=1)))
    assert pipeline.logits_kl(torch.from_numpy(f), torch.from_numpy(y)) == pytest.approx(want, rel=1e-12)
    assert pipeline.logits_kl(torch.from_numpy(f), torch.from_numpy(f + 3.0)) == pytest.approx(0.0, abs=1e-15)  # softmax ignores a shift
    assert pipeline.logits_kl(torch.from_numpy(f), torch.from_numpy(y)) > 0
    with pytest.raises(ValueError, match="logits: expected two"):
        pipeline.logits_kl(torch.zeros(2, 3), torch.zeros(3, 3))


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One --quick run from a cold cache (the float model is trained first)."""
    pytest.importorskip("sklearn")
    import contextlib
    import io
    import os

    from refmodel import study

    root = tmp_path_factory.mktemp("study")
    out = root / "out"
    old = os.environ.get("REFMODEL_CACHE")
    os.environ["REFMODEL_CACHE"] = str(root / "cache")
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            code = study.main(["digits", "--quick", "--out", str(out)])
    finally:
        if old is None:
            del os.environ["REFMODEL_CACHE"]
        else:
            os.environ["REFMODEL_CACHE"] = old
    assert code == 0, buffer.getvalue()[-3000:]
    return buffer.getvalue().rstrip().splitlines(), out, root / "cache" / "digits" / "float" / "model.safetensors"


def _rows(lines: list[str]) -> dict[tuple[int, str], str]:
    rows = {}
    for line in lines:
        m = re.match(r"W(\d)\s+(uniform \w+|mixed \(dSQNR\)|searched)\s+(.*)$", line)
        if m:
            rows[(int(m.group(1)), m.group(2))] = m.group(3)
    return rows


@pytest.mark.slow
def test_quick_study_table(quick):
    lines, _, float_path = quick
    float_line = next(line for line in lines if line.startswith("float: test top-1"))
    top1, correct, images = re.search(ACC, float_line).groups()
    assert int(images) == 360 and float(top1) >= 95.0
    # the float accuracy, counted independently from the checkpoint the run trained
    from refmodel import checkpoint, digits, models

    model = models.create(models.resolve("digits"), 0)
    models.apply_state_dict(model, checkpoint.read(float_path).weights, float_path)
    test = digits.load("test")
    with torch.no_grad():
        assert int((model(test.images).argmax(-1) == test.labels).sum()) == int(correct)

    rows = _rows(lines)
    assert set(rows) == {(b, p) for b in (8, 6, 4) for p in PLANS}
    measured = {}
    for key, text in rows.items():
        if text.startswith("refused: "):
            assert "slot" in text or "blocks." in text or "norm" in text, text  # names where
            continue
        accs = re.findall(ACC, text)
        assert len(accs) == 2 and all(int(n) == 360 for _, _, n in accs), text
        numbers = re.sub(ACC, "", text).split()
        ptq_sqnr, ptq_kl, qat_sqnr, qat_kl = (float(x) for x in numbers)
        assert ptq_kl >= 0 and qat_kl >= 0
        measured[key] = (float(accs[0][0]), float(accs[1][0]))
    assert (8, "mixed (dSQNR)") in measured and (4, "mixed (dSQNR)") in measured
    ptq, qat = measured[(4, "mixed (dSQNR)")]
    if float(top1) - ptq > 2.0:
        assert qat > ptq
    uniform = [measured[(4, p)][1] for p in PLANS[:3] if (4, p) in measured]
    best = f"{max(uniform):.2f}%" if uniform else "refused"
    assert lines[-1] == f"study digits: float {top1}%, mixed W4 QAT {qat:.2f}%, best uniform W4 QAT {best}"


@pytest.mark.slow
def test_quick_study_files(quick):
    from refmodel import models
    from refmodel.outdir import is_export
    from refmodel.plan import read_plan

    lines, out, _ = quick
    assert is_export(out)
    rows = _rows(lines)
    with open(out / "table.csv") as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["plan"] == "float" and len(table) == 1 + 2 * len(rows)
    for entry in table[1:]:
        text = rows[(int(entry["bits"]), entry["plan"])]
        if entry["refused"]:
            assert text == "refused: " + entry["refused"]
        else:
            assert f"{float(entry['top1']):.2f}% ({entry['correct']}/{entry['images']})" in text
    kinds = pipeline.slot_kinds(models.create(models.resolve("digits"), 0))
    for bits in (8, 6, 4):
        for name in ("ibert", "fqvit", "ivit", "mixed", "searched"):
            path = out / f"w{bits}" / name / "plan.json"
            if not path.exists():
                continue
            choices, _ = read_plan(path, "digits", kinds, bits=bits)
            if name in ("ibert", "ivit"):
                assert set(choices.values()) == {name}
        searched = out / f"w{bits}" / "searched" / "plan.json"
        if searched.exists():
            doc = json.loads(searched.read_text())["search"]
            assert {t["method"] for t in doc["trials"]} <= {"ibert", "fqvit", "ivit"}
            assert doc["logits_sqnr_db"] >= doc["start_logits_sqnr_db"]
            assert all(t["kept"] is False or t["logits_sqnr_db"] is not None for t in doc["trials"])
