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


_CHOSEN = {"blocks.0.norm1": "fqvit", "blocks.0.attn.softmax": "ibert", "blocks.0.mlp.act": "ivit"}


def _document():
    return planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _kinds(), _CHOSEN, _scores())


def test_plan_file_round_trips_with_infinities(tmp_path):
    doc = _document()
    write_plan(tmp_path / "plan.json", doc)
    choices, scores = read_plan(tmp_path / "plan.json", "deit_t", _kinds(), bits=8)
    assert choices == {"blocks.0.norm1": "fqvit", "blocks.0.attn.softmax": "ibert", "blocks.0.mlp.act": "ivit"}
    assert [s.scores for s in scores] == [s.scores for s in _scores()]


def test_a_run_from_a_plan_file_writes_back_its_rule_and_search_record(tmp_path):
    """``provenance`` returns what the file recorded, so ``plan_document`` of a run from it
    (``--plan``) writes a file equal to the one it read: a rerun of a searched plan matches."""
    search = {"rule": "greedy", "start": dict(_CHOSEN), "trials": [{"slot": "blocks.0.mlp.act", "score": math.inf}]}
    doc = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _kinds(), _CHOSEN, _scores(), planmod.searched_rule("my rule"), search=search)
    write_plan(tmp_path / "plan.json", doc)
    rule, record = planmod.provenance(tmp_path / "plan.json")
    assert record["trials"][0]["score"] == "inf" and rule.startswith("plan search") and rule.endswith("my rule")
    choices, scores = read_plan(tmp_path / "plan.json", "deit_t", _kinds(), bits=8)
    again = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _kinds(), choices, scores, rule, search=record)
    write_plan(tmp_path / "again.json", again)
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "plan.json").read_bytes()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(model="swin_t"), "plan is for model 'swin_t', not 'deit_t'"),
        (lambda d: d["slots"][0].update(choice="relu"), "unknown method 'relu'"),
        (lambda d: d["slots"][2].update(choice="fqvit"), "unknown method 'fqvit' for a gelu slot"),
        (lambda d: d["slots"].pop(), "no entry for 1 slot\\(s\\) of model deit_t: blocks.0.mlp.act"),
        (lambda d: d.update(format="x"), "not a refmodel plan"),
    ],
)
def test_bad_plan_files_are_one_line_errors(tmp_path, edit, message):
    doc = _document()
    edit(doc)
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=message):
        read_plan(tmp_path / "p.json", "deit_t", _kinds(), bits=8)


def test_unreadable_plan_file(tmp_path):
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable plan file"):
        read_plan(tmp_path / "p.json", "deit_t", _kinds(), bits=8)


def test_the_document_records_the_plan_that_ran_not_the_best_score():
    ran = dict(_CHOSEN, **{"blocks.0.attn.softmax": "ivit"})  # ibert is the only scored softmax method
    doc = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _kinds(), ran, _scores())
    assert [s["choice"] for s in doc["slots"]] == ["fqvit", "ivit", "ivit"]
    assert [s["name"] for s in doc["slots"]] == list(_kinds())
    assert doc["slots"][1]["scores"] == {"ibert": {"sqnr_in": "inf", "sqnr_out": 3.0, "dsqnr": "-inf"}}
    unmeasured = planmod.plan_document("deit_t", 8, "seeded", {"images": 2}, _kinds(), ran, [])
    assert all("scores" not in s for s in unmeasured["slots"])


def _defects(tmp_path, doc, bits=8) -> list[str]:
    (tmp_path / "p.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError) as info:
        read_plan(tmp_path / "p.json", "deit_t", _kinds(), bits=bits)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{tmp_path / 'p.json'}: ") for line in lines), lines
    return lines


def test_a_score_that_is_not_a_number_names_file_slot_and_field(tmp_path):
    doc = _document()
    doc["slots"][2]["scores"]["ivit"]["dsqnr"] = "abc"
    assert _defects(tmp_path, doc) == [
        f"{tmp_path / 'p.json'}: slot blocks.0.mlp.act: field 'scores.ivit.dsqnr': expected a number, \"inf\" or \"-inf\", got 'abc'"
    ]


def test_a_slot_listed_twice_is_refused(tmp_path):
    doc = _document()
    doc["slots"].append(dict(doc["slots"][0], choice="ibert"))
    (line,) = _defects(tmp_path, doc)
    assert "slot blocks.0.norm1: field 'name': listed twice" in line


def test_bits_of_another_run_are_refused(tmp_path):
    doc = _document()
    doc["bits"] = 6
    (line,) = _defects(tmp_path, doc, bits=8)
    assert line.endswith("field 'bits': the plan is for 6-bit, this run is 8-bit")
    doc["bits"] = "8"
    assert any("field 'bits': expected int, got str '8'" in line for line in _defects(tmp_path, doc))
    doc["bits"] = True
    assert any("field 'bits': expected int, got bool True" in line for line in _defects(tmp_path, doc))


def test_a_plan_for_another_model_is_one_line(tmp_path):
    doc = _document()
    doc["model"] = "swin_t"
    assert _defects(tmp_path, doc) == [f"{tmp_path / 'p.json'}: field 'model': the plan is for model 'swin_t', not 'deit_t'"]


def test_every_defect_is_its_own_line(tmp_path):
    doc = _document()
    doc["slots"][0]["choice"] = "relu"
    doc["slots"][1]["kind"] = "gelu"
    doc["slots"][2]["colour"] = "red"
    doc["slots"][2]["scores"]["fqvit"] = {"sqnr_in": 1.0, "sqnr_out": 2.0, "dsqnr": 1.0}
    doc["slots"].append({"name": "blocks.9.norm1", "kind": "layernorm", "choice": "ivit"})
    doc["extra"] = 1
    lines = _defects(tmp_path, doc)
    expected = [
        "field 'extra': unknown",
        "slot blocks.0.norm1: field 'choice': unknown method 'relu' for a layernorm slot (known: ibert, fqvit, ivit, lut)",
        "slot blocks.0.attn.softmax: field 'kind': 'gelu', but blocks.0.attn.softmax is a softmax slot",
        "slot blocks.0.mlp.act: field 'colour': unknown",
        "slot blocks.0.mlp.act: field 'scores': unknown method 'fqvit' for a gelu slot",
        "slot blocks.9.norm1: field 'name': not a slot of model deit_t",
    ]
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        assert want in line, (line, want)


def test_missing_fields_and_slots(tmp_path):
    doc = _document()
    del doc["slots"][1]["choice"]
    del doc["slots"][2]
    lines = _defects(tmp_path, doc)
    assert lines[0].endswith("slot blocks.0.attn.softmax: field 'choice': missing")
    assert lines[1].endswith("field 'slots': no entry for 1 slot(s) of model deit_t: blocks.0.mlp.act")


def test_an_empty_path_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="^plan: empty path$"):
        read_plan("", "deit_t", _kinds(), bits=8)
    with pytest.raises(ValueError, match="^plan: empty path$"):
        write_plan("", _document())
