"""Exact Python-int reference of ``ibert.layernorm`` (the oracle for both datapaths).

Written from ``docs/ops/ibert.layernorm.md`` with unbounded Python integers and
``fractions.Fraction`` for the rounded mean, one row at a time. :func:`reference_constants`
derives ``BI`` and the signs from ``gamma``/``beta`` on its own. Besides the output it records
the smallest and largest value of every named intermediate, so the tests can check each against
the width the op document gives it (decision D14).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from tests.ops.helpers import Ranges, round_half_even


def reference_constants(gamma: Sequence[float], beta: Sequence[float]) -> dict[str, list[int]]:
    """``BI_c = floor((beta_c / gamma_c) / (sqrt(C) / 2^30))`` (float64) and ``sign(gamma_c)``."""
    sf0 = math.sqrt(len(gamma)) / 2**30
    return {
        "bi": [math.floor((float(b) / float(g)) / sf0) for g, b in zip(gamma, beta)],
        "gamma_sign": [1 if g > 0 else -1 for g in gamma],
    }


def layernorm_row(row: Sequence[int], bi: Sequence[int], sgn: Sequence[int], shift: int, rg: Ranges) -> list[int]:
    """One row: rounded mean, centred values, shifted sum of squares, exact isqrt, factor."""
    c = len(row)
    total = rg.see("SUM", sum(row))
    mu = rg.see("MU", round_half_even(Fraction(total, c)))
    ys = [rg.see("Y", x - mu) for x in row]
    v = rg.see("V", sum(rg.see("YS", y // 2**shift) ** 2 for y in ys))
    r = rg.see("R", math.isqrt(v))
    std = rg.see("STD", (r * 2**shift) or 1)
    f = rg.see("F", 2**31 // std)
    out = []
    for j, y in enumerate(ys):
        yf = rg.see("YF", y * f)
        yn = rg.see("YN", yf // 2)
        out.append(rg.see("OUT", sgn[j] * (yn + bi[j])))
    return out


def layernorm_reference(
    rows: np.ndarray, bi: Sequence[int], sgn: Sequence[int], shift: int
) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """Reference output of a 2-D integer array and the range of every intermediate."""
    rg = Ranges()
    out = [layernorm_row([int(x) for x in row], bi, sgn, shift, rg) for row in rows.tolist()]
    return np.array(out, dtype=np.int64), rg.as_dict()
