"""The whole-network engine against the PyTorch path, every layer; a planted engine error is
named by layer; the width profile; the network benchmark's line."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
import torch

from refmodel import bench, layers, methods, models, netbench, ops, pipeline
from refmodel.ops.gemm import Gemm
from refmodel.widths import HEADER, WidthProfile, width


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn((n, 3, 224, 224), generator=torch.Generator().manual_seed(seed))


def _every_method_plan(kinds: dict[str, str]) -> dict[str, str]:
    """Slot ``i`` of a kind takes that kind's ``i``-th method in turn: every method's wiring
    (FQ-ViT's PTF LayerNorm and log2 attention, the float GELU included) runs."""
    plan, seen = {}, {}
    for name, kind in kinds.items():
        options = methods.candidates(kind) + (("float",) if kind == "gelu" else ())
        plan[name] = options[seen.get(kind, 0) % len(options)]
        seen[kind] = seen.get(kind, 0) + 1
    return plan


@pytest.fixture(scope="module")
def deit8():
    """DeiT-T at 8 bits, every method in some slot, calibrated on 2 images."""
    model = models.load("deit_t", seed=1).model
    q = pipeline.quantized_model(model, _every_method_plan(pipeline.slot_kinds(model)), 8)
    pipeline.set_datapath(q, "numba")
    pipeline.calibrate(q, _images(2), 2)
    pipeline.set_datapath(q, "twin")
    return q


@pytest.fixture(scope="module")
def checked(deit8):
    """One image through the engine and the PyTorch path: the engine and the image."""
    engine = layers.Engine()
    images = _images(1, seed=3)
    return engine, images, engine.run(deit8, images)


def test_deit_t_every_layer_of_the_engine_equals_the_pytorch_path(deit8, checked):
    engine, images, logits = checked
    with torch.no_grad():
        pipeline.set_datapath(deit8, "numba")
        auto = deit8(images)  # the default datapath (Numba where allowed) gives the same logits
        pipeline.set_datapath(deit8, "twin")
    assert torch.equal(logits, auto)
    names = list(engine.checks)
    assert len(names) >= 150 and engine.first_failure() is None, engine.lines()
    assert engine.final_line() == f"bit-exact layers: {len(names)}/{len(names)}"
    for layer in ("input_act", "patch_embed.proj", "pos_act", "pos_act#2", "blocks.0.attn.qkv", "blocks.0.attn.qk", "blocks.0.attn.softmax",
                  "blocks.0.attn.softmax.attend", "blocks.11.residual2", "norm", "head", "logits"):
        assert layer in engine.checks, layer
    ops_run = {c.op for c in engine.checks.values()}
    assert {"gemm", "matmul", "requant", "requant_add", "quantize", "fqvit.attend", "ivit.softmax", "ibert.gelu"} <= ops_run
    assert all(c.elements > 0 for c in engine.checks.values())
    # the width profile saw every layer: every integer output within its declared width
    profile = engine.widths
    outs = [s for s in profile.signals.values() if s.name.startswith("out:")]
    assert len({s.layer for s in outs}) == len(names) - 1  # every layer but the float logits
    for s in outs:
        assert s.declared is not None and s.seen_bits is not None and s.seen_bits <= s.declared, s.row()
        if s.proven is not None:
            assert s.proven[0] <= s.lo and s.hi <= s.proven[1], s.row()
    qkv = profile.signals[("blocks.0.attn.qkv", "out:ACC")]
    assert qkv.note.startswith("product: float32")  # 8-bit operands, K = 192: exact in float32


def test_a_planted_engine_error_is_named_by_its_layer(deit8):
    fc2 = deit8.blocks[2].mlp.fc2
    kernel = fc2._gemm[1]  # the frozen model's gemm of this layer, reused every forward

    def planted(rows: np.ndarray) -> np.ndarray:
        out = Gemm._sim_rows(kernel, rows)
        out[0, 5] += 1  # one element of the first image's class token
        return out

    kernel._sim_rows = planted
    try:
        engine = layers.Engine(widths=False)
        engine.run(deit8, _images(1, seed=4))
    finally:
        del kernel._sim_rows
    first = engine.first_failure()
    assert first is not None and first.name == "blocks.2.mlp.fc2" and first.op == "gemm"
    assert first.mismatches >= 1 and first.first.startswith("element ")
    before = list(engine.checks)[: list(engine.checks).index("blocks.2.mlp.fc2")]
    assert before and all(engine.checks[n].exact for n in before)
    assert engine.lines()[0].startswith("layer blocks.2.mlp.fc2 (gemm) differs: ")
    k, n = map(int, re.fullmatch(r"bit-exact layers: (\d+)/(\d+)", engine.final_line()).groups())
    assert len(before) <= k < n  # a later layer may round the one-LSB error away


def test_width_is_the_fewest_bits_holding_the_range():
    for lo in range(-70, 71):
        for hi in range(lo, 71):
            signed = next(b for b in range(1, 10) if -(1 << (b - 1)) <= lo and hi < (1 << (b - 1)))
            assert width(lo, hi, True) == signed
            if lo >= 0:
                assert width(lo, hi, False) == max(1, next(b for b in range(0, 10) if hi < (1 << b)))


def test_an_output_beyond_its_declared_width_is_an_error_never_a_wrap():
    k = ops.make("requant", scale_in=0.5, scale_out=1.0, out_bits=8, in_bits=16)
    profile = WidthProfile()
    q = torch.tensor([[3, -4]])
    assert profile.observe("x", k, {"q": q}, torch.tensor([[2, -2]])) is None
    problem = profile.observe("x", k, {"q": q}, torch.tensor([[128, -2]]))
    assert problem == "output range [-2, 128] beyond its declared width (signed 8-bit, [-128, 127])"


def test_shiftmax_factor_precision_is_the_fewest_bits_of_any_row():
    k = ops.make("ivit.softmax", scale_in=0.0034, out_bits=16)
    cfg = k.config
    x0, n = cfg["x0"], cfg["n"]
    # a row of equal values: every E is shift_exp(0) = |x0| * 2^n (docs/ops/ivit.softmax.md)
    for cols in (1, 7, 197):
        q = np.zeros((2, cols), dtype=np.int64)
        q[1, 0] = -100  # the second row sums less: the first has the fewest bits
        total = min(cols * (abs(x0) << n), (1 << 31) - 1)
        assert k.precision(q) == {"F": (((1 << 31) - 1) // total).bit_length()}
    assert ops.make("requant", scale_in=0.5, scale_out=1.0, out_bits=8, in_bits=16).precision(np.zeros((1, 1), dtype=np.int64)) == {}


def test_widths_csv_rows_and_summary(checked):
    engine = checked[0]
    rows = list(csv.reader(io.StringIO(engine.widths.csv_text())))
    assert tuple(rows[0]) == HEADER
    signals = {(r[0], r[2]): r for r in rows[1:]}
    r = signals[("blocks.0.attn.qkv", "out:ACC")]
    assert r[1] == "gemm" and int(r[9]) == int(r[4]) - int(r[8]) and int(r[8]) == width(int(r[6]), int(r[7]), True)
    precision = [r for r in rows[1:] if r[2] == "precision:F"]
    assert precision and all(r[1] == "ivit.softmax" for r in precision)
    summary = engine.widths.summary()
    assert summary[0].startswith("width profile: ") and any(line.startswith("  most unused bits: ") for line in summary)
    assert any(line.startswith("  precision minimum: ") and " F keeps " in line for line in summary)


def test_network_bench_line(capsys):
    assert bench.main(["--network", "digits", "--repeat", "1"]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert re.fullmatch(r"network digits: engine \d+\.\d\d img/s, pytorch \d+\.\d\d img/s, float \d+\.\d\d img/s, engine/float \d+\.\d\d", last), last
    assert netbench.NetworkResult("m", 8, 2.0, 4.0, 1.0).line() == "network m: engine 4.00 img/s, pytorch 2.00 img/s, float 8.00 img/s, engine/float 0.50"


def test_the_pytorch_path_runs_no_numba_kernel(deit8, monkeypatch):
    from refmodel.ops.quantize import Quantize
    from refmodel.quant import opcall

    def refuse(*args, **kwargs):
        raise AssertionError("a Numba kernel ran on the PyTorch path")

    monkeypatch.setattr(ops.Kernel, "sim", refuse)
    monkeypatch.setattr(Quantize, "sim", refuse)
    pipeline.set_datapath(deit8, "numba")  # the mode in force overrides a slot's own setting
    try:
        with torch.no_grad(), opcall.datapath("twin"):
            assert deit8(_images(1, seed=6)).shape == (1, 1000)
    finally:
        pipeline.set_datapath(deit8, "twin")
