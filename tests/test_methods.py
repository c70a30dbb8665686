"""The method registry: one declaration per method, read everywhere; unknown methods are
one-line errors wherever they appear; a method registered only here (one entry plus the
trivial op below) reaches the plan, the slots, the report and the vectors."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch

from refmodel import golden, methods, ops, pipeline, plan, sim, synthetic, vectorcheck
from refmodel.ops import params
from refmodel.ops.kernel import IntSpec, Kernel
from refmodel.quant.slots import CANDIDATES, SOFTMAX_OUT_BITS, SWIN_SOFTMAX_OUT_BITS, GeluSlot, LayerNormSlot


# ----------------------------------------------------------------------------- the test method
class ReluKernel(Kernel):
    """A trivial op: ``max(X, 0)`` at the input's scale."""

    name = "relu.gelu"
    reduces_rows = False

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.maximum(rows, 0)

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.clamp(rows, min=0)


def make(scale_in: Any, in_bits: int = 8) -> ReluKernel:
    s = params.scalar_scale("scale_in", scale_in)
    bits = params.bits("in_bits", in_bits)
    return ReluKernel(params={"scale_in": s, "in_bits": bits}, config={"in_bits": bits}, in_spec=IntSpec(bits, True), out_spec=IntSpec(bits, True), scale_out=s)


RELU = methods.Method(
    name="relu",
    rank=9,
    ops={
        "gelu": methods.Op(
            "relu.gelu",
            __name__,
            "max(x, 0) at the input scale (a test method)",
            methods.Golden((8,), 16, (2, 16)),
            synthetic.activation_gelu_params,
        )
    },
)


@pytest.fixture
def relu_method():
    methods.register(RELU)
    try:
        yield RELU
    finally:
        methods.unregister("relu")


# ----------------------------------------------------------------------------- the registry
def test_builtin_methods_and_their_reads():
    assert methods.names() == ["ibert", "fqvit", "ivit", "lut"]
    assert methods.DEFAULT == pipeline.METHODS == ("ibert", "fqvit", "ivit")
    assert tuple(plan.TIE_BREAK) == ("ivit", "ibert", "fqvit", "lut")
    assert dict(CANDIDATES) == {
        "softmax": ("ibert", "fqvit", "ivit", "lut"),
        "gelu": ("ibert", "ivit", "lut"),
        "layernorm": ("ibert", "fqvit", "ivit", "lut"),
    }
    assert dict(SOFTMAX_OUT_BITS) == {"ibert": 16, "fqvit": 6, "ivit": 16, "lut": 16}
    assert dict(SWIN_SOFTMAX_OUT_BITS) == {"ibert": 16, "fqvit": 6, "ivit": 8, "lut": 16}
    assert methods.candidates("gelu", methods.DEFAULT) == ("ibert", "ivit")
    assert {"lut.gelu", "lut.softmax", "lut.layernorm"} <= set(ops.names())
    assert set(methods.ops()) | {"requant"} <= set(golden.RULES)


def test_uniform_plan_uses_the_fallback_only_for_missing_kinds():
    kinds = {"a": "softmax", "b": "gelu", "c": "layernorm"}
    assert plan.uniform_plan(kinds, "fqvit") == {"a": "fqvit", "b": "float", "c": "fqvit"}
    assert plan.uniform_plan(kinds, "lut") == {"a": "lut", "b": "lut", "c": "lut"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("ibert,magic", "--methods: unknown method 'magic'; known methods: ibert, fqvit, ivit, lut"),
        ("ibert,,ivit", "--methods: expected a comma-separated list"),
        ("", "--methods: expected a comma-separated list"),
        ("lut,lut", "--methods: method 'lut' is named twice"),
    ],
)
def test_bad_methods_lists(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        methods.parse(text)


def test_parse_keeps_the_order():
    assert methods.parse("lut, ivit") == ("lut", "ivit")


def test_unknown_method_in_a_slot_is_named():
    with pytest.raises(ValueError, match=r"^method: blocks.0.mlp.act is a gelu slot; its methods are ibert, ivit, lut, float, got unknown method 'magic'$"):
        GeluSlot("blocks.0.mlp.act", "magic", 8)
    with pytest.raises(ValueError, match=r"^method: norm is a layernorm slot; .* got 'float'$"):
        LayerNormSlot("norm", "float", 8, torch.nn.LayerNorm(4))
    with pytest.raises(ValueError, match=r"^method: unknown method 'magic'; known methods: ibert, fqvit, ivit, lut$"):
        methods.get("magic")


def test_unknown_method_in_a_plan_file_is_named(tmp_path):
    path = tmp_path / "plan.json"
    doc = {"format": plan.PLAN_FORMAT, "model": "m", "bits": 8, "slots": [{"name": "norm", "kind": "layernorm", "choice": "magic"}]}
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="unknown method 'magic' for a layernorm slot") as err:
        plan.read_plan(path, "m", {"norm": "layernorm"}, bits=8)
    assert "\n" not in str(err.value)


def test_unknown_method_in_the_command_line_is_one_line(capsys):
    assert sim.main(["deit_t", "--methods", "ibert,magic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --methods: unknown method 'magic'; known methods: ibert, fqvit, ivit, lut"]


def test_bad_declarations_are_refused():
    op = RELU.ops["gelu"]
    with pytest.raises(ValueError, match="^ops: x: the gelu op must be named x.gelu"):
        methods.Method(name="x", rank=0, ops={"gelu": op})
    with pytest.raises(ValueError, match="^ops: relu: unknown slot kind 'mlp'"):
        methods.Method(name="relu", rank=0, ops={"mlp": op})
    with pytest.raises(ValueError, match="^gelu_input: relu: must be one of accumulator, activation"):
        methods.Method(name="relu", rank=0, ops={"gelu": op}, gelu_input="wide")
    with pytest.raises(ValueError, match=r"^gelu_out_frac_bits: relu: must be None or in \[0, 16\]"):
        methods.Method(name="relu", rank=0, ops={"gelu": op}, gelu_out_frac_bits=40)
    with pytest.raises(ValueError, match="^name: "):
        methods.Method(name="float", rank=0, ops={})
    with pytest.raises(ValueError, match="^name: method 'lut' is already registered"):
        methods.register(methods.get("lut"))


# ----------------------------------------------------------------------------- a registered method
def test_registered_method_reaches_ops_candidates_plan_and_golden(relu_method, tmp_path):
    assert "relu.gelu" in ops.names()
    k = ops.make("relu.gelu", scale_in=0.1)
    np.testing.assert_array_equal(k.sim(np.array([[-3, 0, 5]])), [[0, 0, 5]])
    assert CANDIDATES["gelu"] == ("ibert", "ivit", "lut", "relu") and "relu" not in CANDIDATES["softmax"]
    assert plan.TIE_BREAK[-1] == "relu"
    assert plan.uniform_plan({"a": "softmax", "b": "gelu"}, "relu") == {"a": "ivit", "b": "relu"}
    scores = plan.SlotScores("b", "gelu", {m: {"sqnr_in": 10.0, "sqnr_out": 9.0, "dsqnr": -1.0} for m in ("ivit", "relu")})
    scores.scores["relu"]["dsqnr"] = math.inf
    assert plan.choose([scores]) == {"b": "relu"}
    path = tmp_path / "plan.json"
    plan.write_plan(path, plan.plan_document("m", 8, "seeded", {}, {"b": "gelu"}, plan.choose([scores]), [scores]))
    assert plan.read_plan(path, "m", {"b": "gelu"}, bits=8)[0] == {"b": "relu"}
    assert golden.RULES["relu.gelu"].startswith("max(x, 0)")
    assert [c.directory for c in golden.CASE_SOURCES["relu.gelu"]()] == [
        "relu.gelu/w8-realistic",
        "relu.gelu/w8-random",
        "relu.gelu/w8-edges",
        "relu.gelu/w8-one_column",
    ]
    assert synthetic.params("relu.gelu", np.random.default_rng(0), 16, 8) == {"scale_in": 0.05, "in_bits": 8}


def test_unregistered_method_is_gone():
    assert "relu" not in methods.names() and "relu.gelu" not in ops.names()
    with pytest.raises(ValueError, match="^name: unknown op 'relu.gelu'"):
        ops.make("relu.gelu", scale_in=0.1)


@pytest.mark.slow
def test_registered_method_reaches_the_slots_report_and_vectors(relu_method, tmp_path, capsys):
    """deit_t with ``--methods ivit,relu`` and a plan that gives every GELU slot to relu: every
    slot is bit-exact, the report names relu, and the exported vectors check."""
    model = pipeline.slot_kinds(__import__("refmodel.models", fromlist=["load"]).load("deit_t", None, 0).model)
    choices = {n: "relu" if k == "gelu" else "ivit" for n, k in model.items()}
    score = {"sqnr_in": 10.0, "sqnr_out": 10.0, "dsqnr": 0.0}
    slots = [{"name": n, "kind": k, "choice": choices[n], "scores": {choices[n]: score}} for n, k in model.items()]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": plan.PLAN_FORMAT, "model": "deit_t", "bits": 8, "slots": slots}))
    out = tmp_path / "out"
    code = sim.main(["deit_t", "--methods", "ivit,relu", "--calib-images", "2", "--layers", "slots", "--max-rows", "4", "--plan", str(path), "--compare", "--out", str(out)])
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert code == 0 and lines[-1] == "bit-exact slots: 49/49"
    assert any("dSQNR relu" in line for line in lines)
    assert any(line.startswith("mixed plan: ivit 37, relu 12 slots of 49") for line in lines)
    assert any(line.startswith("uniform relu") for line in lines)
    manifest = json.loads((out / "manifest.json").read_text())
    relu_slots = [e for e in manifest["slots"] if e["method"] == "relu"]
    assert len(relu_slots) == 12 and all(e["op"] == "relu.gelu" for e in relu_slots)
    outcome, _ = vectorcheck.check(out)
    assert outcome.ok and outcome.ok_sets == outcome.total == 49, outcome.lines()
