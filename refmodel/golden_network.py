"""Golden cases of the whole-network ops ``gemm``, ``matmul``, ``requant_add``, ``fqvit.attend``,
``quantize`` (shaped vector sets: ``golden/<op>/w<bits>-<case>/``) and ``requant_wide``, and an
exact reference for each.

The cases are small (at most a few hundred MACs) and sit at the corners of each op: the
narrowest and widest widths, a declared accumulator wider than the proof, accumulators whose
proven range is exactly 32 or 63 bits, one column and a one-element reduction (``K = 1``),
unsigned probabilities times signed values, leading (batch) axes, for ``requant_add`` both
branches and the sum saturating at both ends, ties at one half and a broadcast ``b``; for
``requant_wide`` the shifts 31 (the smallest), 32, 33, 62..64, 93 (the last not always 0) and
94 and beyond, exact ties at each, 63-bit extremes, 2- and 32-bit outputs; for
``fqvit.attend`` codes 0 (the whole ``v << F``), up to ``F``, past ``F``, at and past the
width of ``v << F`` (the sign alone), the zero code, ``F = 0``, 2- and 16-bit codes, 32-bit
``v`` with a 63-bit accumulator, the proven bound reached, one column and ``K = 1``; for
``quantize`` ties of the double quotient, quotients that round across a half, subnormal,
zero, huge and maximal inputs and scales, quotients that overflow to infinity or underflow,
zero points at both ends of their range, 2- and 32-bit outputs and random bit patterns.

:func:`exact_output` computes each op again with Python integers (numpy object arrays,
``fractions.Fraction`` rounded half to even), sharing nothing with the Numba kernels or
their PyTorch twins but the register values (``m``, ``c``) of the op's config;
:func:`refmodel.golden.confirmed_output` requires all three to agree on every element::

    gemm:        ACC[..., n]    = B[n] + sum_k X[..., k] * W[n, k]
    matmul:      ACC[..., i, j] = sum_k a[..., i, k] * b[..., k, j]
    requant_add: out = sat(sat32(rne(a * m_a / 2^c_a)) + sat32(rne(b * m_b / 2^c_b)))
    requant_wide: out = sat(rne(z * m / 2^c))
    fqvit.attend: ACC[..., i, d] = sum_{j: code_ij != zero} floor(v[..., j, d] * 2^F / 2^code_ij)
    quantize:     out = sat(round_half_even(Fraction(x / s)) + zp), x / s the IEEE double quotient
"""

from __future__ import annotations

import zlib
from fractions import Fraction
from typing import Any, Callable, Iterator

import numpy as np

from refmodel import ops

#: The one-line rule written into each op's vector sets.
RULES = {
    "gemm": "ACC[..., n] = B[n] + sum_k X[..., k] * W[n, k], exact at acc_bits (D7). docs/ops/gemm.md",
    "matmul": "ACC[..., i, j] = sum_k a[..., i, k] * b[..., k, j], exact at acc_bits. docs/ops/matmul.md",
    "requant_add": (
        "out = saturate(saturate_32(rne_shift(a*m_a, c_a)) + saturate_32(rne_shift(b*m_b, c_b))); each branch rounded "
        "half to even on its exact product (D5, D6). docs/ops/requant_add.md"
    ),
    "fqvit.attend": (
        "ACC[..., i, d] = sum over j with code_ij != 2^code_bits - 1 of (v_jd << F) >> code_ij, arithmetic (floor) "
        "shifts, exact at acc_bits (D10, D11, D12). docs/ops/fqvit.attend.md"
    ),
    "quantize": (
        "out = saturate(round_half_even(float64(x) / float64(s)) + zero_point); the double quotient correctly rounded, "
        "then rounded half to even (D1, D5). docs/ops/quantize.md"
    ),
    "requant_wide": (
        "out = saturate(rne_shift(z*m, c)) for z up to 63 bits; round half to even on the exact product (up to 94 bits; "
        "D5, D6). docs/ops/requant_wide.md"
    ),
}

Inputs = np.ndarray | dict[str, np.ndarray]
#: (width, case name, make parameters, inputs) of one case.
Spec = tuple[int, str, dict[str, Any], Inputs]


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _range(bits: int, signed: bool = True) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _ints(rng: np.random.Generator, bits: int, shape: tuple[int, ...], signed: bool = True) -> np.ndarray:
    """Uniform integers of the width, both extremes planted at the two ends."""
    lo, hi = _range(bits, signed)
    x = rng.integers(lo, hi, size=shape, dtype=np.int64, endpoint=True)
    x.flat[0], x.flat[-1] = lo, hi
    return x


def _extreme_rows(bits: int, cols: int, signed: bool = True) -> np.ndarray:
    """All at the minimum, all at the maximum, alternating, zeros (or the minimum), one spike."""
    lo, hi = _range(bits, signed)
    zero = 0 if lo <= 0 else lo
    return np.stack([
        np.full(cols, lo), np.full(cols, hi), np.where(np.arange(cols) % 2 == 0, lo, hi), np.full(cols, zero),
        np.where(np.arange(cols) == cols // 2, hi, zero),
    ]).astype(np.int64)


# ---------------------------------------------------------------------------------- gemm


def _gemm_params(weight: np.ndarray, bias: np.ndarray, in_bits: int, w_bits: int, acc_bits: int | None = None) -> dict[str, Any]:
    n = weight.shape[0]
    params = {"weight": weight, "bias": bias, "scale_in": 0.05, "scale_w": np.full(n, 0.01), "in_bits": in_bits, "w_bits": w_bits}
    return params if acc_bits is None else {**params, "acc_bits": acc_bits}


def gemm_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("gemm"))
    w = _ints(rng, 8, (6, 16))
    yield 8, "random", _gemm_params(w, rng.integers(-(1 << 20), 1 << 20, 6), 8, 8), _ints(rng, 8, (2, 3, 16))
    # Channel 0 (all -128) reaches 2^31 - 1 exactly and channel 1 (all 127) -2^31 on an
    # all-minimum row: the proven range is exactly 32 bits.
    k = 8
    w = np.stack([np.full(k, -128), np.full(k, 127), np.where(np.arange(k) % 2 == 0, -128, 127), np.zeros(k, dtype=np.int64)])
    bias = np.array([(1 << 31) - 1 - 128 * 128 * k, -(1 << 31) + 128 * 127 * k, 0, -7])
    yield 8, "edges", _gemm_params(w, bias, 8, 8), _extreme_rows(8, k)
    # 16 x 16 bits with a 32-bit bias needs 35 bits; declared 40.
    w = _ints(rng, 16, (3, 8))
    w[0] = -(1 << 15)
    bias = np.array([(1 << 31) - 1, -(1 << 31), 12345])
    yield 16, "wide_acc", _gemm_params(w, bias, 16, 16, acc_bits=40), np.concatenate([_extreme_rows(16, 8), _ints(rng, 16, (3, 8))])
    # 32 x 30 bits, K = 2: |ACC| up to 2^61 + 2^31, a 63-bit accumulator (the widest).
    w = np.array([[-(1 << 29), -(1 << 29)], [(1 << 29) - 1, -(1 << 29)]])
    bias = np.array([(1 << 31) - 1, -(1 << 31)])
    yield 32, "extreme", _gemm_params(w, bias, 32, 30, acc_bits=63), np.concatenate([_extreme_rows(32, 2), _ints(rng, 32, (3, 2))])
    # 2-bit inputs and weights, the accumulator declared at its proven 6 bits: the bias and
    # the products are cut to 6 bits in the RTL.
    w = np.array([[-2, -2, -2, -2, -2], [1, 1, 1, 1, 1], [-2, 1, 0, -1, 1]])
    yield 2, "narrow", _gemm_params(w, np.array([-10, 9, 0]), 2, 2, acc_bits=6), np.concatenate([_extreme_rows(2, 5), _ints(rng, 2, (4, 5))])
    yield 8, "one_column", _gemm_params(np.array([[-128]]), np.array([-5]), 8, 8), np.array([[-128], [-127], [0], [126], [127]])
    yield 8, "k1", _gemm_params(np.array([[-128], [127], [3]]), np.array([1, -1, 0]), 8, 8), np.array([[-128], [0], [127]])


def gemm_exact(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """``B + X @ W^T`` with Python integers."""
    acc = np.asarray(x).astype(object) @ np.asarray(params["weight"]).astype(object).T + np.asarray(params["bias"]).astype(object)
    return np.asarray(acc, dtype=object)


# ---------------------------------------------------------------------------------- matmul


def _matmul_params(depth: int, a_bits: int, b_bits: int, a_signed: bool = True, b_signed: bool = True, acc_bits: int | None = None) -> dict[str, Any]:
    params = {"scale_a": 0.02, "scale_b": 0.03, "depth": depth, "a_bits": a_bits, "b_bits": b_bits, "a_signed": a_signed, "b_signed": b_signed}
    return params if acc_bits is None else {**params, "acc_bits": acc_bits}


def matmul_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("matmul"))
    yield 8, "random", _matmul_params(6, 8, 8), {"a": _ints(rng, 8, (2, 3, 6)), "b": _ints(rng, 8, (2, 6, 4))}
    b = np.stack([np.full(5, -128), np.full(5, 127), np.where(np.arange(5) % 2 == 0, -128, 127), np.zeros(5, dtype=np.int64)], axis=1)
    yield 8, "edges", _matmul_params(5, 8, 8), {"a": _extreme_rows(8, 5)[None], "b": b[None]}
    # Unsigned 16-bit probabilities times signed 8-bit values (P V): an all-65535 row times an
    # all -128 column reaches the lower bound.
    a = _ints(rng, 16, (2, 3, 7), signed=False)
    a[0, 1] = (1 << 16) - 1
    b = _ints(rng, 8, (2, 7, 4))
    b[0, :, 2] = -128
    yield 16, "pv", _matmul_params(7, 16, 8, a_signed=False), {"a": a, "b": b}
    # 32 x 31 bits, K = 1: the product reaches 2^61, a 63-bit accumulator.
    a = np.array([[-(1 << 31)], [(1 << 31) - 1], [0], [-1]])
    b = np.array([[-(1 << 30), (1 << 30) - 1, 1]])
    yield 32, "extreme", _matmul_params(1, 32, 31, acc_bits=63), {"a": a, "b": b}
    # Unsigned 2 bits times signed 2 bits, the accumulator at its proven 6 bits.
    yield 2, "narrow", _matmul_params(3, 2, 2, a_signed=False, acc_bits=6), {"a": _ints(rng, 2, (4, 3), signed=False), "b": _ints(rng, 2, (3, 5))}
    yield 8, "one_column", _matmul_params(1, 8, 8), {"a": np.array([[-128], [-1], [0], [127]]), "b": np.array([[-128]])}


def matmul_exact(params: dict[str, Any], inputs: dict[str, np.ndarray]) -> np.ndarray:
    """``a @ b`` with Python integers."""
    return np.asarray(np.matmul(inputs["a"].astype(object), inputs["b"].astype(object)), dtype=object)


# ---------------------------------------------------------------------------------- requant_add


def _add_params(scale_a: Any, scale_b: Any, scale_out: float, out_bits: int, a_bits: int, b_bits: int, signed: bool = True) -> dict[str, Any]:
    return {"scale_a": scale_a, "scale_b": scale_b, "scale_out": scale_out, "out_bits": out_bits, "signed": signed, "a_bits": a_bits, "b_bits": b_bits}


def requant_add_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("requant_add"))
    c = 12
    scale_a = 2e-5 * np.exp(rng.uniform(-1.0, 1.0, c))
    a = np.clip(np.round(rng.normal(0, 2e5, (4, c))), -(1 << 31), (1 << 31) - 1).astype(np.int64)
    a[0, 0], a[-1, -1] = -(1 << 31), (1 << 31) - 1
    yield 16, "realistic", _add_params(scale_a, 4e-3, 5e-3, 16, 32, 16), {"a": a, "b": _ints(rng, 16, (4, c))}
    # Ratio 4 on a saturates branch a at 32 bits; ratio 1 on 32-bit b; both ends of the 8-bit sum.
    lo, hi = _range(32)
    a = np.array([[hi, lo, hi, lo, 40, -40], [hi, 0, 100, -100, 31, -32], [1, -1, 0, 0, 20, -20]])
    b = np.array([[lo + 1, hi, hi, lo, 0, 0], [-5, 7, -300, 300, 3, -1], [hi, lo, 1, -1, 0, 1]])
    yield 8, "edges", _add_params(4.0, 1.0, 1.0, 8, 32, 32), {"a": a, "b": b}
    # Ratio 1/2 on both branches: every odd input is a tie, each rounded to even on its own.
    a = np.arange(-20, 21, dtype=np.int64)[None]
    yield 8, "ties", _add_params(0.5, 0.5, 1.0, 8, 8, 8), {"a": a, "b": np.roll(a, 7, axis=1)}
    # b of shape (3, 1) broadcast over a (2, 3, 4), per-channel scales on b.
    b_scale = np.array([1e-3, 2e-3, 5e-4, 3e-3])
    yield 16, "broadcast", _add_params(1e-4, b_scale, 2e-3, 16, 32, 16), {"a": _ints(rng, 32, (2, 3, 4)), "b": _ints(rng, 16, (3, 1))}
    # The narrowest: 2-bit inputs, an unsigned 2-bit output saturating at both ends.
    pairs = np.arange(-2, 2, dtype=np.int64)
    a, b = np.meshgrid(pairs, pairs)        # every pair of 2-bit values, ya = a, yb = 3 b
    yield 2, "narrow", _add_params(1.0, 3.0, 1.0, 2, 2, 2, signed=False), {"a": a, "b": b}
    # The widest: 32-bit everything, a ratio of 2^20 on a: branches and the 33-bit sum saturate.
    yield 32, "wide", _add_params(1.0, 1.0, 2.0**-20, 32, 32, 32), {"a": _ints(rng, 32, (3, 5)), "b": _ints(rng, 32, (3, 5))}
    yield 16, "one_column", _add_params(np.array([3e-4]), 2e-3, 4e-3, 16, 32, 16), {"a": np.array([[-(1 << 31)], [-1], [0], [12345], [(1 << 31) - 1]]), "b": np.array([[-300], [7], [0], [-(1 << 15)], [(1 << 15) - 1]])}


def _rne(p: int, c: int) -> int:
    """``p / 2^c`` rounded half to even (``round`` of a Fraction)."""
    return round(Fraction(p, 1 << c))


def _sat(v: int, bits: int, signed: bool = True) -> int:
    lo, hi = _range(bits, signed)
    return min(max(v, lo), hi)


def requant_add_exact(config: dict[str, Any], inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Both branches rounded and saturated to 32 bits on their own, summed, saturated."""
    a = inputs["a"]
    b = np.broadcast_to(inputs["b"], a.shape)
    cols = a.shape[-1]
    const = {k: np.broadcast_to(np.asarray(config[k], dtype=object), (cols,)) for k in ("m_a", "c_a", "m_b", "c_b")}
    out = np.empty(a.shape, dtype=object)
    for index in np.ndindex(a.shape):
        j = index[-1]
        ya = _sat(_rne(int(a[index]) * int(const["m_a"][j]), int(const["c_a"][j])), 32)
        yb = _sat(_rne(int(b[index]) * int(const["m_b"][j]), int(const["c_b"][j])), 32)
        out[index] = _sat(ya + yb, config["out_bits"], bool(config["signed"]))
    return out


# ---------------------------------------------------------------------------------- requant_wide


def _wide_params(scale_in: Any, scale_out: float, out_bits: int, in_bits: int, signed: bool = True) -> dict[str, Any]:
    return {"scale_in": scale_in, "scale_out": scale_out, "out_bits": out_bits, "signed": signed, "in_bits": in_bits}


#: Per-channel ratios of the ``requant_wide`` edge cases and their dyadic shifts: the smallest
#: shift (31, at 0.75 and 0.5), 32, 33, 62, 63, 64, 93 (the widest shift that can round to a
#: non-zero value), 94 and 100 (always 0).
WIDE_EDGE_RATIOS = (0.75, 0.5, 0.25, 0.125, 0.7 * 2.0**-31, 2.0**-33, 2.0**-34, 0.7 * 2.0**-62, 2.0**-63, 0.9 * 2.0**-64, 2.0**-70)


def requant_wide_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("requant_wide"))
    # I-BERT GELU's output (49 bits at realistic scales) to 8 bits: shifts around 62.
    c = 16
    scale_in = 1e-12 * np.exp(rng.uniform(-1.0, 1.0, c))
    z = np.round(rng.normal(0, 0.3 / 1e-12, (6, c))).astype(np.int64)
    z[0, 0], z[-1, -1] = -(1 << 48), (1 << 48) - 1
    yield 8, "realistic", _wide_params(scale_in, 0.0036, 8, 49), z
    # 63-bit extremes at every edge shift: saturation at both ends (shifts 31..33), rounding of
    # -2^62 (exact in both splits) and 2^62 - 1 at 93, zeros from 94 on.
    ratios = np.array(WIDE_EDGE_RATIOS)
    rows = _extreme_rows(63, len(ratios))
    rows = np.concatenate([rows, np.full((1, len(ratios)), -1), np.full((1, len(ratios)), 1), _ints(rng, 63, (3, len(ratios)))])
    yield 8, "edges", _wide_params(ratios, 1.0, 8, 63), rows
    # Exact ties: ratio 2^-k has m = 2^30 and c = 30 + k, so z = t * 2^(k-1) is t / 2: every
    # odd t is a tie, rounded to even. Shifts 31, 32, 33, 62, 63, 64, 80, 89 (the last at the
    # top of the 63-bit range: 5 * 2^58 < 2^62).
    ks = np.array([1, 2, 3, 32, 33, 34, 50, 59])
    t = np.arange(-5, 6, dtype=np.int64)[:, None]
    yield 8, "ties", _wide_params(2.0 ** -ks.astype(float), 1.0, 8, 63), t * (np.int64(1) << (ks - 1))
    # A 32-bit output: 63-bit inputs at shift 31 (ratio 0.6) saturate it; unsigned.
    yield 32, "wide_out", _wide_params(np.array([0.6, 2.0**-20, 2.0**-31]), 1.0, 32, 63, signed=False), _ints(rng, 63, (5, 3))
    # The narrowest: a 2-bit input (z in [-2, 1]) at ratios 0.75 and 0.5 to a signed 2-bit output.
    yield 2, "narrow", _wide_params(np.array([0.75, 0.5, 0.25]), 1.0, 2, 2), np.array([[-2, -2, -2], [-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    # A 33-bit input (the high part one bit wide) at 16 bits, random.
    yield 16, "random", _wide_params(3e-6, 1e-3, 16, 33), _ints(rng, 33, (4, 8))
    yield 8, "one_column", _wide_params(np.array([1e-12]), 0.0036, 8, 49), np.array([[-(1 << 48)], [-1], [0], [123456789012], [(1 << 48) - 1]])


def requant_wide_exact(config: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """``saturate(round_half_even(z * m / 2^c))`` with Python integers and Fractions."""
    cols = z.shape[-1]
    m = np.broadcast_to(np.asarray(config["m"], dtype=object), (cols,))
    c = np.broadcast_to(np.asarray(config["c"], dtype=object), (cols,))
    out = np.empty(z.shape, dtype=object)
    for index in np.ndindex(z.shape):
        j = index[-1]
        out[index] = _sat(_rne(int(z[index]) * int(m[j]), int(c[j])), config["out_bits"], bool(config["signed"]))
    return out


# ---------------------------------------------------------------------------------- fqvit.attend


def _attend_params(depth: int, code_bits: int, v_bits: int, frac_bits: int, acc_bits: int | None = None) -> dict[str, Any]:
    params = {"scale_v": 0.02, "depth": depth, "code_bits": code_bits, "v_bits": v_bits, "frac_bits": frac_bits}
    return params if acc_bits is None else {**params, "acc_bits": acc_bits}


def fqvit_attend_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("fqvit.attend"))
    # Uniform 6-bit codes (63, the zero code, included) times uniform 8-bit v, two batches.
    codes = rng.integers(0, 64, (2, 3, 7))
    codes[0, 0, :2] = 63
    yield 6, "random", _attend_params(7, 6, 8, 16), {"codes": codes, "v": _ints(rng, 8, (2, 7, 4))}
    # Softmax-like codes (mostly small, a few zero-probability tokens) over 17 tokens.
    codes = np.minimum(rng.geometric(0.35, (17, 17)) - 1, 63)
    codes[rng.random((17, 17)) < 0.1] = 63
    v = np.clip(np.round(rng.normal(0, 30, (17, 8))), -128, 127).astype(np.int64)
    yield 6, "realistic", _attend_params(17, 6, 8, 16), {"codes": codes, "v": v}
    # 8-bit codes: all 0 against all -128 / all 127 reach both proven bounds; codes F - 1, F,
    # F + 1, 22 and 23 (v << F is 24 bits: from 23 on the sign alone), 62, 63, 64 and 254 (past
    # int64 shifts), 255 (zero).
    k = 10
    code_rows = np.array([
        np.zeros(k), [0, 15, 16, 17, 22, 23, 62, 63, 64, 254], [254] * k, [255] * k, [255, 0, 255, 1, 255, 2, 255, 3, 255, 4],
    ], dtype=np.int64)
    v = np.stack([np.full(k, -128), np.full(k, 127), np.where(np.arange(k) % 2 == 0, -128, 127), np.arange(k) - 5, -np.ones(k, dtype=np.int64)], axis=1)
    yield 8, "edges", _attend_params(k, 8, 8, 16), {"codes": code_rows, "v": v}
    # The widest: 16-bit codes, 32-bit v, F = 30 (v << F is 62 bits), K = 2: a 63-bit accumulator.
    codes = np.array([[0, 0], [1, 30], [31, 32], [60, 61], [62, 63], [1000, 65534], [65535, 0], [65535, 65535]])
    v = np.array([[-(1 << 31), (1 << 31) - 1, -1, 1, 12345], [-(1 << 31), (1 << 31) - 1, 1, -1, -54321]])
    yield 16, "wide", _attend_params(2, 16, 32, 30, acc_bits=63), {"codes": codes, "v": v}
    # The narrowest: 2-bit codes (3 is zero), 2-bit v, F = 0: every term floor(v / 2^code); the
    # accumulator at its proven 4 bits.
    codes = np.array(np.meshgrid(*[np.arange(4)] * 3)).reshape(3, -1).T
    yield 2, "narrow", _attend_params(3, 2, 2, 0, acc_bits=4), {"codes": codes, "v": _ints(rng, 2, (3, 5))}
    yield 6, "one_column", _attend_params(4, 6, 8, 16), {"codes": np.array([[0, 0, 0, 0], [63, 63, 63, 63], [1, 17, 24, 62], [5, 63, 0, 30]]), "v": np.array([[-128], [127], [-1], [3]])}
    yield 6, "k1", _attend_params(1, 6, 8, 16), {"codes": np.array([[0], [16], [23], [63]]), "v": np.array([[-128, 127, -1, 0, 1]])}


def fqvit_attend_exact(config: dict[str, Any], inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Each term the floor of ``v * 2^F / 2^code`` (Python integers), the zero code skipped."""
    codes, v = inputs["codes"], inputs["v"]
    f, zero = int(config["frac_bits"]), int(config["zero_code"])
    out = np.empty(codes.shape[:-1] + v.shape[-1:], dtype=object)
    for index in np.ndindex(out.shape):
        lead, i, d = index[:-2], index[-2], index[-1]
        total = 0
        for j in range(codes.shape[-1]):
            code = int(codes[lead + (i, j)])
            if code != zero:
                total += (int(v[lead + (j, d)]) * 2**f) // 2**code
        out[index] = total
    return out


# ---------------------------------------------------------------------------------- quantize

_TINY = 5e-324          # the smallest subnormal
_MAX = 1.7976931348623157e308


def _quantize_params(scale: Any, bits: int, signed: bool = True, zero_point: int = 0) -> dict[str, Any]:
    return {"scale": scale, "bits": bits, "signed": signed, "zero_point": zero_point}


def _random_doubles(rng: np.random.Generator, scales: np.ndarray, rows: int) -> np.ndarray:
    """Reals whose quotients by ``scales`` spread log-uniformly over [2^-4, 2^36] with random
    signs and random low significand bits (the products rounded to doubles as they fall)."""
    v = np.exp2(rng.uniform(-4, 36, (rows, scales.size))) * np.where(rng.random((rows, scales.size)) < 0.5, -1.0, 1.0)
    bits = (v.view(np.uint64) ^ rng.integers(0, 1 << 20, v.shape, dtype=np.uint64)).view(np.float64)
    with np.errstate(over="ignore", under="ignore"):
        x = bits * scales
    return np.where(np.isfinite(x), x, 1.0)


def quantize_specs() -> Iterator[Spec]:
    rng = np.random.default_rng(_seed("quantize"))
    # An image normalised to [-1, 1] at the scale of 8 bits (float32 values widened).
    x = rng.uniform(-1.0, 1.0, (4, 12)).astype(np.float32).astype(np.float64)
    x[0, 0], x[-1, -1] = -1.0, 1.0
    yield 8, "realistic", _quantize_params(float(np.float32(1 / 127)), 8), x
    # Ties of the double quotient (k / 2 at scale 0.5), and quotients that are not what the real
    # quotient is: 0.35 / 0.1 = 3.4999999999999996 (to 3), 0.25 / 0.1 = 2.5 (a tie, to 2).
    ties = (np.arange(-20, 20, dtype=np.float64) * 0.25).reshape(4, 10)
    yield 8, "ties", _quantize_params(0.5, 8), ties
    yield 8, "double_rounding", _quantize_params(0.1, 8), np.array([[0.35, 0.25, -0.35, -0.25, 0.45, 0.15, 1.15, 2.675, 12.7, -12.75]])
    # Per-channel scales at both ends of the doubles against extreme inputs: subnormal, zero,
    # maximal; quotients that overflow to infinity (saturation) or underflow (0).
    scales = np.array([_TINY, 3 * _TINY, 2.0**-1022, 1e-300, 0.1, 1.0, 3.0, 1e300, _MAX])
    xs = np.array([0.0, -0.0, _TINY, -_TINY, 2.0**-1022, 1e-300, 0.3, -7.5, 1e300, -_MAX, _MAX])
    grid = np.outer(xs, np.ones(scales.size))
    yield 8, "edges", _quantize_params(scales, 8), np.concatenate([grid, _random_doubles(rng, scales, 4)])
    # Zero points at both ends of their range: a 32-bit unsigned output with 2^32 and a signed
    # one with -2^32 (quotients near 2^32 land inside).
    near = np.array([[2.0**32, 2.0**32 - 0.5, 2.0**32 + 0.5, 2.0**32 - 2.5, -2.0**31, 2.0**33, 1.5, -1.5]])
    yield 32, "zp_low", _quantize_params(1.0, 32, signed=True, zero_point=-(1 << 32)), near
    yield 32, "zp_high", _quantize_params(1.0, 32, signed=False, zero_point=1 << 32), -near
    # The narrowest: unsigned 2 bits with zero point 1.
    yield 2, "narrow", _quantize_params(0.5, 2, signed=False, zero_point=1), np.array([[-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25]])
    # Random quotients over [2^-4, 2^36] at 16 bits, random per-channel scales from 2^-60 to 2^60.
    scales = np.exp2(rng.uniform(-60, 60, 8))
    yield 16, "random", _quantize_params(scales, 16, zero_point=-3), _random_doubles(rng, scales, 6)
    yield 8, "one_column", _quantize_params(np.array([0.02]), 8, zero_point=5), np.array([[-3.0], [-0.01], [0.0], [0.01], [0.03], [2.55], [1e10]])


def quantize_exact(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The IEEE double quotient (Python floats), rounded half to even as a Fraction (an
    infinite quotient saturates on its sign), plus the zero point, saturated."""
    cols = x.shape[-1]
    scales = np.broadcast_to(np.atleast_1d(np.asarray(params["scale"], dtype=np.float64)), (cols,))
    bits, signed, zp = int(params["bits"]), bool(params.get("signed", True)), int(params.get("zero_point", 0))
    lo, hi = _range(bits, signed)
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(x.shape):
        try:
            v = float(x[index]) / float(scales[index[-1]])
        except OverflowError:  # pragma: no cover - Python raises no error, it returns inf
            v = float("inf")
        if v in (float("inf"), float("-inf")):
            out[index] = hi if v > 0 else lo
        else:
            out[index] = _sat(round(Fraction(v)) + zp, bits, signed)
    return out


# ---------------------------------------------------------------------------------- registry

#: Op -> its case specs.
SPECS: dict[str, Callable[[], Iterator[Spec]]] = {
    "gemm": gemm_specs, "matmul": matmul_specs, "requant_add": requant_add_specs, "requant_wide": requant_wide_specs,
    "fqvit.attend": fqvit_attend_specs, "quantize": quantize_specs,
}


def exact_output(op: str, params: dict[str, Any], inputs: Inputs) -> np.ndarray:
    """The op's output with Python integers, as an object array (no overflow possible)."""
    if op == "gemm":
        return gemm_exact(params, np.asarray(inputs))
    if op == "matmul":
        return matmul_exact(params, inputs)  # type: ignore[arg-type]
    if op == "requant_add":
        return requant_add_exact(ops.make(op, **params).config, inputs)  # type: ignore[arg-type]
    if op == "quantize":
        return quantize_exact(params, np.asarray(inputs))
    if op == "fqvit.attend":
        return fqvit_attend_exact(ops.make(op, **params).config, inputs)  # type: ignore[arg-type]
    if op == "requant_wide":
        return requant_wide_exact(ops.make(op, **params).config, np.asarray(inputs))
    raise ValueError(f"op {op!r} has no exact reference here; ops: {', '.join(SPECS)}")
