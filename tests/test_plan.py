"""SQNR formula and plan rule, on hand-computed examples."""

from __future__ import annotations

import json
import math

import pytest
import torch

from refmodel import plan as planmod
from refmodel.plan import SlotScores, SQNRAccumulator, delta_sqnr, read_plan, write_plan


def test_sqnr_matches_a_hand_computed_example():
    # sample 1: ||x|| = 5 (3,4), noise (0, 1) -> ratio 5; sample 2: ||x|| = 10, noise 2 -> 5... use 2.5
    x = torch.tensor([[3.0, 4.0], [6.0, 8.0]])
    y = torch.tensor([[3.0, 3.0], [6.0, 4.0]])  # noise norms 1 and 4 -> ratios 5 and 2.5
    acc = SQNRAccumulator()
    acc.add(x, y)
    assert acc.sqnr_db() == pytest.approx(20 * math.log10((5 + 2.5) / 2))


def test_noise_free_samples_contribute_no_noise_and_a_noise_free_slot_is_inf():
    x = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    acc = SQNRAccumulator()
    acc.add(x, torch.tensor([[3.0, 3.0], [1.0, 1.0]]))
    assert acc.sqnr_db() == pytest.approx(20 * math.log10(5.0))
    exact = SQNRAccumulator()
    exact.add(x, x.clone())
    assert exact.sqnr_db() == math.inf


def test_delta_conventions():
    assert delta_sqnr(10.0, 25.0) == 15.0
    assert delta_sqnr(math.inf, math.inf) == math.inf
    assert delta_sqnr(10.0, math.inf) == math.inf
    assert delta_sqnr(math.inf, 30.0) == -math.inf


def test_argmax_and_the_documented_tie_break():
    s = SlotScores("blocks.0.norm1", "layernorm", {
        "ibert": {"sqnr_in": 30.0, "sqnr_out": 28.0, "dsqnr": -2.0},
        "fqvit": {"sqnr_in": 30.0, "sqnr_out": 27.0, "dsqnr": -3.0},
        "ivit": {"sqnr_in": 30.0, "sqnr_out": 26.0, "dsqnr": -4.0},
    })
    assert s.choice() == "ibert"
    tie = SlotScores("x", "softmax", {m: {"sqnr_in": 1.0, "sqnr_out": 2.0, "dsqnr": 1.0} for m in ("fqvit", "ibert", "ivit")})
    assert tie.choice() == planmod.TIE_BREAK[0] == "ivit"
    tie2 = SlotScores("x", "softmax", {m: {"sqnr_in": 1.0, "sqnr_out": 2.0, "dsqnr": 1.0} for m in ("fqvit", "ibert")})
    assert tie2.choice() == "ibert"
    inf_tie = SlotScores("x", "softmax", {"fqvit": {"sqnr_in": 1.0, "sqnr_out": math.inf, "dsqnr": math.inf}, "ibert": {"sqnr_in": 1.0, "sqnr_out": math.inf, "dsqnr": math.inf}})
    assert inf_tie.choice() == "ibert"


def _kinds():
    return {"blocks.0.norm1": "layernorm", "blocks.0.attn.softmax": "softmax", "blocks.0.mlp.act": "gelu"}


def _scores():
    return [
        SlotScores("blocks.0.norm1", "layernorm", {"fqvit": {"sqnr_in": 20.0, "sqnr_out": math.inf, "dsqnr": math.inf}}),
        SlotScores("blocks.0.attn.softmax", "softmax", {"ibert": {"sqnr_in": math.inf, "sqnr_out": 3.0, "dsqnr": -math.inf}}),
        SlotScores("blocks.0.mlp.act", "gelu", {"ivit": {"sqnr_in": 20.0, "sqnr_out": 21.5, "dsqnr": 1.5}}),
    ]


def test_plan_file_round_trips_with_infinities(tmp_path):
    doc = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _scores())
    write_plan(tmp_path / "plan.json", doc)
    choices, scores = read_plan(tmp_path / "plan.json", "deit_t", _kinds())
    assert choices == {"blocks.0.norm1": "fqvit", "blocks.0.attn.softmax": "ibert", "blocks.0.mlp.act": "ivit"}
    assert [s.scores for s in scores] == [s.scores for s in _scores()]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(model="swin_t"), "plan is for model 'swin_t', not 'deit_t'"),
        (lambda d: d["slots"][0].update(choice="relu"), "unknown method 'relu'"),
        (lambda d: d["slots"][2].update(choice="fqvit"), "unknown method 'fqvit' for a gelu slot"),
        (lambda d: d["slots"].pop(), "no choice for slot blocks.0.mlp.act"),
        (lambda d: d.update(format="x"), "not a refmodel plan"),
    ],
)
def test_bad_plan_files_are_one_line_errors(tmp_path, edit, message):
    doc = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _scores())
    edit(doc)
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=message):
        read_plan(tmp_path / "p.json", "deit_t", _kinds())


def test_unreadable_plan_file(tmp_path):
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable plan file"):
        read_plan(tmp_path / "p.json", "deit_t", _kinds())
