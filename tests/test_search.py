"""The plan search: never worse than its start on the images it searched, deterministic, and
its recorded scores are the plans' scores."""

from __future__ import annotations

import pytest
import torch

from refmodel import models, pipeline, search
from refmodel.plan import uniform_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup():
    model = models.create(models.resolve("digits"), 3)
    images = torch.randn((8, 1, 12, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        float_logits = model(images)
    kinds = pipeline.slot_kinds(model)
    return model, images, float_logits, kinds


def test_search_never_loses_and_is_deterministic(setup):
    model, images, float_logits, kinds = setup
    start = uniform_plan(kinds, "ivit")
    slots = ["blocks.0.attn.softmax", "blocks.0.mlp.act", "blocks.1.norm1", "norm"]
    first = search.search(model, start, kinds, 6, images, float_logits, 4, max_passes=1, slots=slots)
    again = search.search(model, start, kinds, 6, images, float_logits, 4, max_passes=1, slots=slots)
    assert first.score >= first.start_score
    assert first.plan == again.plan and first.score == again.score
    assert [(t.slot, t.method, t.score, t.kept) for t in first.trials] == [(t.slot, t.method, t.score, t.kept) for t in again.trials]
    # every other candidate of every searched slot was tried once; nothing outside them changed
    assert len(first.trials) == sum(len(search.CANDIDATES[kinds[s]]) - 1 for s in slots)
    assert {n for n in kinds if first.plan[n] != start[n]} <= set(slots)
    # the recorded scores are those of the plans, recomputed independently of the search loop
    assert first.start_score == search.plan_score(model, start, 6, images, float_logits, 4)
    assert first.score == search.plan_score(model, first.plan, 6, images, float_logits, 4)
    kept = [t for t in first.trials if t.kept]
    assert all(t.score is not None for t in kept)
    if kept:
        assert kept[-1].score == first.score and first.score > first.start_score
    doc = first.document()
    assert doc["start_logits_sqnr_db"] == first.start_score and len(doc["trials"]) == len(first.trials)


def test_max_passes_is_checked(setup):
    model, images, float_logits, kinds = setup
    with pytest.raises(ValueError, match="max_passes: must be at least 1"):
        search.search(model, uniform_plan(kinds, "ivit"), kinds, 8, images, float_logits, 4, max_passes=0)


def test_search_keeps_to_the_run_methods(setup):
    model, images, float_logits, kinds = setup
    start = uniform_plan(kinds, "ivit")
    slots = ["blocks.0.attn.softmax", "blocks.0.norm1", "blocks.0.mlp.act"]
    found = search.search(model, start, kinds, 8, images, float_logits, 4, max_passes=1, slots=slots, methods=("ivit", "ibert"))
    assert [(t.slot, t.method) for t in found.trials] == [(s, "ibert") for s in slots]
    assert set(found.plan.values()) <= {"ivit", "ibert"}


def test_plan_json_carries_the_search_and_the_reader_accepts_it(setup, tmp_path):
    import json
    import math

    from refmodel.plan import plan_document, read_plan, write_plan

    model, images, float_logits, kinds = setup
    start = uniform_plan(kinds, "ivit")
    found = search.search(model, start, kinds, 8, images, float_logits, 4, max_passes=1, slots=["norm"], methods=("ivit", "ibert", "fqvit"))
    found.trials.append(search.Trial("norm", "lut", math.inf, False))  # a non-finite score is written as JSON can hold it
    doc = plan_document("digits", 8, "seeded", {"images": 8}, kinds, found.plan, [], search=found.document())
    write_plan(tmp_path / "plan.json", doc)
    text = (tmp_path / "plan.json").read_text()
    assert "Infinity" not in text
    back = json.loads(text)["search"]
    assert back["start"] == start and back["trials"][-1]["logits_sqnr_db"] == "inf"
    assert [t["method"] for t in back["trials"][:-1]] == ["ibert", "fqvit"]
    assert back["logits_sqnr_db"] == found.score and back["start_logits_sqnr_db"] == found.start_score
    choices, _ = read_plan(tmp_path / "plan.json", "digits", kinds, bits=8)
    assert choices == found.plan
    bad = dict(json.loads(text), search=[1])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="field 'search': expected dict"):
        read_plan(tmp_path / "bad.json", "digits", kinds, bits=8)


def test_a_uniform_fqvit_plan_file_reads_back_with_its_float_gelu(setup, tmp_path):
    import json

    from refmodel.plan import plan_document, read_plan, write_plan

    _, _, _, kinds = setup
    plan = uniform_plan(kinds, "fqvit")
    assert {plan[n] for n, k in kinds.items() if k == "gelu"} == {"float"}
    write_plan(tmp_path / "plan.json", plan_document("digits", 4, "seeded", {}, kinds, plan, []))
    assert read_plan(tmp_path / "plan.json", "digits", kinds, bits=4)[0] == plan
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["slots"][0]["choice"] = "float"  # blocks.0.norm1: a LayerNorm never stays float
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="unknown method 'float' for a layernorm slot"):
        read_plan(tmp_path / "bad.json", "digits", kinds, bits=4)
