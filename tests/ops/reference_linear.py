"""Exact Python-integer references of the linear ops (``gemm``, ``matmul``, ``requant_wide``,
``requant_add``, ``fqvit.attend``, ``quantize``), written from their documents alone: Python
ints never wrap, and rounding is done on ``Fraction``s."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tests.ops.helpers import round_half_even


def saturate(x: int, bits: int, signed: bool = True) -> int:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return max(lo, min(hi, x))


def gemm(x: np.ndarray, weight: list[list[int]], bias: list[int]) -> np.ndarray:
    """``ACC[r, o] = B[o] + sum_k X[r, k] * W[o, k]`` on Python ints."""
    rows = np.asarray(x).reshape(-1, np.shape(x)[-1]).tolist()
    out = [[b + sum(xv * wv for xv, wv in zip(row, w)) for w, b in zip(weight, bias)] for row in rows]
    return np.array(out, dtype=object).reshape(np.shape(x)[:-1] + (len(weight),))


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``a @ b`` on Python ints (leading axes equal)."""
    a3 = np.asarray(a).reshape((-1,) + np.shape(a)[-2:]).tolist()
    b3 = np.asarray(b).reshape((-1,) + np.shape(b)[-2:]).tolist()
    out = [[[sum(ai[k] * bm[k][j] for k in range(len(ai))) for j in range(len(bm[0]))] for ai in am] for am, bm in zip(a3, b3)]
    return np.array(out, dtype=object).reshape(np.shape(a)[:-1] + np.shape(b)[-1:])


def dyadic_round(z: int, m: int, c: int) -> int:
    """Round half to even of ``z * m / 2^c``."""
    return round_half_even(Fraction(z * m, 1 << c))


def requant(z: int, m: int, c: int, bits: int, signed: bool = True) -> int:
    return saturate(dyadic_round(z, m, c), bits, signed)


def requant_add(a: int, b: int, ma: int, ca: int, mb: int, cb: int, bits: int, signed: bool = True) -> int:
    """Two branches rounded and saturated to 32 bits, summed, saturated to ``bits``."""
    return saturate(saturate(dyadic_round(a, ma, ca), 32) + saturate(dyadic_round(b, mb, cb), 32), bits, signed)


def attend(codes: np.ndarray, v: np.ndarray, frac: int, code_bits: int) -> np.ndarray:
    """``sum_j floor(v_jd * 2^F / 2^code_ij)`` over live codes, on Fractions."""
    zero = (1 << code_bits) - 1
    c3 = np.asarray(codes).reshape((-1,) + np.shape(codes)[-2:]).tolist()
    v3 = np.asarray(v).reshape((-1,) + np.shape(v)[-2:]).tolist()
    out = []
    for cm, vm in zip(c3, v3):
        block = []
        for crow in cm:
            block.append(
                [
                    sum(
                        (Fraction(vm[j][d] * (1 << frac), 1 << crow[j])).__floor__()
                        for j in range(len(crow))
                        if crow[j] != zero
                    )
                    for d in range(len(vm[0]))
                ]
            )
        out.append(block)
    return np.array(out, dtype=object).reshape(np.shape(codes)[:-1] + np.shape(v)[-1:])


def quantize(x: float, scale: float, bits: int, signed: bool, zero_point: int) -> int:
    """The float64 quotient (Python ``/`` is IEEE double division), rounded half to even
    exactly as a ``Fraction``, plus the zero point, saturated."""
    return saturate(round_half_even(Fraction(float(x) / float(scale))) + zero_point, bits, signed)
