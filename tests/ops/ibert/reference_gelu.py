"""Exact Python-int reference of ``ibert.gelu`` (the oracle for both datapaths).

Written from ``docs/ops/ibert.gelu.md`` with unbounded Python integers, one element at a time.
:func:`reference_constants` derives the register values from the scale on its own; the element
function uses only those values. Besides the output it records the smallest and largest value
of every named intermediate, so the tests can check each against the width the op document
gives it (decision D14): two datapaths that wrapped the same way would agree, this cannot wrap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tests.ops.helpers import Ranges


def reference_constants(s: float) -> dict[str, int]:
    """``Bg``, ``Cg``, ``One`` of one channel from its scale: float64 quotients, then floor."""
    se = float(s) / 1.4142
    sig = se * se * -0.2888 * 16384.0
    return {
        "bg": math.floor(-1.769 / se),
        "cg": math.floor((1.0 / -0.2888) / (se * se)),
        "one": math.floor(1.0 / sig),
    }


def gelu_element(x: int, bg: int, cg: int, one: int, rg: Ranges) -> int:
    """i-GELU of one integer: sign, clip, square, shift by 14, multiply, negate (D15)."""
    sgn = (x > 0) - (x < 0)
    a = rg.see("A", min(abs(x), -bg))
    d = rg.see("D", a + bg)
    d2 = rg.see("D2", d * d)
    p = rg.see("P", d2 + cg)
    y = rg.see("Y", sgn * p)
    ys = rg.see("YS", y // 2**14)
    z = rg.see("Z", ys + one)
    xz = rg.see("XZ", x * z)
    return rg.see("OUT", -xz)


def gelu_reference(
    rows: np.ndarray, bg: Sequence[int] | int, cg: Sequence[int] | int, one: Sequence[int] | int
) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """Reference output of a 2-D integer array (per-channel constants on the last axis, or
    one set for every channel) and the range of every intermediate."""
    cols = rows.shape[1]

    def per_channel(v: Sequence[int] | int) -> list[int]:
        return [int(x) for x in v] if np.ndim(v) == 1 else [int(v)] * cols

    bgs, cgs, ones = per_channel(bg), per_channel(cg), per_channel(one)
    rg = Ranges()
    out = [
        [gelu_element(int(x), bgs[j], cgs[j], ones[j], rg) for j, x in enumerate(row)]
        for row in rows.tolist()
    ]
    return np.array(out, dtype=np.int64), rg.as_dict()
