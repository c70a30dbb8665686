"""Edge vector sets for the reference RTL: each op at the extremes its golden cases miss
(widths at both ends, clamps, zero variance, one column, extreme constants).

Every expected output comes from the op's Numba kernel and is confirmed element by element by
its independent PyTorch int64 twin (and, for ops with per-element datapath values, those too)
before a set is written, as the golden sets are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from refmodel import ops, vectorset

Case = tuple[str, ops.Kernel, np.ndarray]


def _ints(rng: np.random.Generator, bits: int, shape: tuple[int, int], signed: bool = True) -> np.ndarray:
    """Uniform integers of the width, with the two extremes planted at the ends."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    x.flat[0], x.flat[-1] = lo, hi
    return x


def _row_kinds(rng: np.random.Generator, bits: int, cols: int, signed: bool = True) -> np.ndarray:
    """Six rows: random, constant, all at the minimum but one maximum, all at the maximum,
    two values only, a narrow spread around 0."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x = _ints(rng, bits, (6, cols), signed)
    x[1] = x[1, 0]
    x[2] = lo
    x[2, 0] = hi
    x[3] = hi
    x[4] = np.where(np.arange(cols) % 2 == 0, lo, hi)
    mid = (lo + hi) // 2
    x[5] = np.clip(mid + rng.integers(-2, 3, size=cols), lo, hi)
    return x


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    for scale, out_bits, n, in_bits, cols in [
        (1.670962, 2, 30, 8, 7),          # x0 = -1: pure powers of two
        (2.6e-05, 32, 62, 8, 33),         # cq near 2^32, n = 62, widest output
        (0.05, 16, 1, 8, 5),              # n = 1
        (0.01, 16, 30, 32, 24),           # 32-bit inputs: the clamp fires for most elements
        (0.05, 8, 30, 2, 9),              # 2-bit inputs
        (0.02, 16, 30, 8, 1),             # one column
        (0.0015, 16, 30, 8, 197),         # |x0| = 462 > 2^8: q = 0 everywhere
    ]:
        k = ops.make("ibert.softmax", scale_in=scale, out_bits=out_bits, n=n, in_bits=in_bits)
        cases.append((f"ibert_softmax_s{scale:g}_o{out_bits}_n{n}_i{in_bits}_c{cols}", k, _row_kinds(rng, in_bits, cols)))
    for scale, out_bits, in_bits, cols in [
        (1.670962, 2, 8, 7),              # 2-bit codes: the zero code is reached
        (1.8030e-05, 32, 8, 1),           # cq near 2^33: E near 2^63, the longest row is 1
        (3e-4, 6, 8, 276),                # the longest row at this scale: S near 2^63
        (0.01, 8, 32, 24),                # 32-bit inputs
        (0.3, 6, 2, 9),                   # 2-bit inputs
    ]:
        k = ops.make("fqvit.softmax", scale_in=scale, out_bits=out_bits, in_bits=in_bits)
        x = _row_kinds(rng, in_bits, cols)
        cases.append((f"fqvit_softmax_s{scale:g}_o{out_bits}_i{in_bits}_c{cols}", k, x))
    return cases


def _gelu_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    for scale, in_bits, cols in [
        (6.3e-07, 32, 8),                 # near the smallest scale: 62-bit output
        (0.05, 8, 8),                     # a large scale, scalar constants
        (1e-3, 2, 4),                     # 2-bit inputs
        (1e-4, 16, 1),                    # one column
    ]:
        k = ops.make("ibert.gelu", scale_in=scale, in_bits=in_bits)
        cases.append((f"ibert_gelu_s{scale:g}_i{in_bits}_c{cols}", k, _row_kinds(rng, in_bits, cols)))
    per_channel = np.exp(rng.uniform(np.log(1e-5), np.log(1e-2), size=12))
    k = ops.make("ibert.gelu", scale_in=per_channel, in_bits=24)
    cases.append(("ibert_gelu_per_channel_i24", k, _row_kinds(rng, 24, 12)))
    for scale, sig_bits, n, in_bits, cols in [
        (0.02, 8, 23, 8, 16),             # the defaults, with all-negative rows (Em > 0 side)
        (1.0, 2, 30, 8, 7),               # n = 30, x0 = -1, 2-bit sigmoid
        (0.3, 32, 1, 8, 9),               # n = 1, 32-bit sigmoid
        (0.001, 8, 10, 32, 12),           # 32-bit inputs: Em capped at 2^31
        (0.2, 8, 23, 2, 5),               # 2-bit inputs
        (0.02, 8, 23, 8, 1),              # one column
    ]:
        k = ops.make("ivit.gelu", scale_in=scale, sig_bits=sig_bits, n=n, in_bits=in_bits)
        x = _row_kinds(rng, in_bits, cols)
        x[5] = np.clip(-1 - rng.integers(0, 4, size=cols), -(1 << (in_bits - 1)), None)  # small negative row
        cases.append((f"ivit_gelu_s{scale:g}_b{sig_bits}_n{n}_i{in_bits}_c{cols}", k, x))
    return cases


def _layernorm_cases(rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []

    def affine(cols: int, wide: bool) -> tuple[np.ndarray, np.ndarray]:
        gamma = rng.uniform(0.2, 2.0, size=cols) * np.where(rng.random(cols) < 0.3, -1.0, 1.0)
        beta = rng.normal(0.0, 0.5, size=cols)
        if wide:
            beta[0] = 1e9 * abs(gamma[0])             # out_bits well beyond 32
            beta[-1] = -1e9 * abs(gamma[-1])
        return gamma, beta

    for shift, in_bits, cols, wide in [(0, 28, 192, False), (1, 16, 6, True), (31, 16, 8, False), (0, 2, 5, False), (0, 16, 1, False)]:
        g, b = affine(cols, wide)
        k = ops.make("ibert.layernorm", scale_in=0.01, gamma=g, beta=b, shift=shift, in_bits=in_bits)
        cases.append((f"ibert_layernorm_sh{shift}_i{in_bits}_c{cols}_o{k.out_spec.bits}", k, _row_kinds(rng, in_bits, cols)))
    for iters, in_bits, cols, wide in [(10, 16, 192, True), (1, 16, 8, False), (16, 8, 4, False), (10, 30, 2, False), (10, 2, 5, False), (10, 16, 1, False)]:
        g, b = affine(cols, wide)
        k = ops.make("ivit.layernorm", scale_in=0.01, gamma=g, beta=b, iters=iters, in_bits=in_bits)
        cases.append((f"ivit_layernorm_it{iters}_i{in_bits}_c{cols}_o{k.out_spec.bits}", k, _row_kinds(rng, in_bits, cols)))
    for in_bits, zp, cols, alphas in [(16, 30000, 64, (0, 1, 2, 3)), (2, 1, 6, (0, 3)), (8, 0, 12, (0,)), (8, 255, 1, (2,))]:
        a = np.array([alphas[i % len(alphas)] for i in range(cols)], dtype=np.float64)
        g, b = affine(cols, False)
        k = ops.make("fqvit.layernorm", scale_in=0.01 * 2.0**a, zero_point=zp, gamma=g, beta=b, scale_out=0.05, in_bits=in_bits)
        cases.append((f"fqvit_layernorm_i{in_bits}_zp{zp}_c{cols}", k, _row_kinds(rng, in_bits, cols, signed=False)))
    return cases


def _requant_wide_cases(rng: np.random.Generator) -> list[Case]:
    """``requant_wide`` at both ends of the input (2, 33, 49, 63 bits) and output (2, 8, 16,
    32 bits, signed and unsigned) widths, over per-channel shifts from 31 to far beyond 94."""
    cases = []
    cols = 12
    for in_bits, out_bits, signed in [(63, 32, True), (63, 32, False), (2, 2, True), (33, 16, False), (49, 8, True)]:
        ratios = np.exp(rng.uniform(np.log(2.0**-75), np.log(0.99), size=cols))
        ratios[:6] = [0.75, 0.5, 2.0**-33, 2.0**-63, 0.9 * 2.0**-64, 2.0**-200]   # c = 31, 31, 63, 93, 95, 230
        k = ops.make("requant_wide", scale_in=ratios, scale_out=1.0, out_bits=out_bits, signed=signed, in_bits=in_bits)
        cases.append((f"requant_wide_i{in_bits}_o{out_bits}_s{int(signed)}", k, _row_kinds(rng, in_bits, cols)))
    return cases


def edge_cases() -> list[Case]:
    """Every edge case, in a fixed order (seeded)."""
    rng = np.random.default_rng(20261128)
    return _softmax_cases(rng) + _gelu_cases(rng) + _layernorm_cases(rng) + _requant_wide_cases(np.random.default_rng(20261208))


def write_confirmed(root: Path, case: Case) -> Path:
    """Write one case as a vector set under ``root`` after checking that the Numba kernel and
    the PyTorch twin agree on every output (and every per-element datapath value)."""
    name, k, x = case
    out = k.sim(x)
    twin = k.fakequant(torch.from_numpy(x)).numpy()
    assert np.array_equal(out, twin), f"{name}: Numba and PyTorch disagree"
    datapath = k.datapath(x)
    twin_dp = k.twin_datapath(torch.from_numpy(x))
    for key, values in datapath.items():
        assert np.array_equal(values, twin_dp[key].numpy()), f"{name}: datapath {key} disagrees"
    vs = vectorset.VectorSet(name, k, x, out, seed=20261128, datapath=datapath)
    return vectorset.write(root / name, vs, method_rules="tests/rtl/edge_sets.py")
