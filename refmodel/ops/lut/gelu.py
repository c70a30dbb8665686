"""``lut.gelu``: GELU by an exhaustive table, bit-exact to the rounded function.

For a signed ``in_bits``-wide input ``X`` (scale ``s_in``) the table has one entry per input
value, ``x = i - 2^(in_bits-1)`` for ``i`` in ``[0, 2^in_bits)``::

    v        = x * s_in                                        (float64)
    g        = v * (1 + erf(v / sqrt(2))) / 2                  (float64, math.erf)
    table[i] = sat_out(rne(g / s_out))                         (round half to even of the
                                                                float64 quotient, then
                                                                saturate to signed out_bits)
    OUT      = table[X + 2^(in_bits-1)]

``OUT`` is signed ``out_bits`` wide with scale ``s_out``. No arithmetic runs at inference:
the op is one indexed read per element. See ``docs/ops/lut.gelu.md``.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import int_range
from refmodel.jit import prange, rows_kernel
from refmodel.ops import params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

#: Widest input: the table has 2^in_bits entries (64 Ki at 16 bits).
MAX_IN_BITS = 16


def gelu_float(v: float) -> float:
    """``v * (1 + erf(v / sqrt(2))) / 2`` in float64, in exactly this order of operations."""
    return v * (1.0 + math.erf(v / math.sqrt(2.0))) / 2.0


def rne_saturate(quotient: float, bits: int) -> int:
    """``sat_bits(rne(quotient))`` for a float64 ``quotient`` (infinities saturate).

    Python's ``round`` of a float is exact round half to even, so no second rounding occurs."""
    lo, hi = int_range(bits, True)
    if quotient >= hi:
        return hi
    if quotient <= lo:
        return lo
    return round(quotient)


def derive(scale_in: float, scale_out: float, in_bits: int, out_bits: int) -> dict[str, Any]:
    """The table (``2^in_bits`` signed ``out_bits`` integers) and the widths.

    Raises ``ValueError`` naming ``scale_in`` when ``x * scale_in`` overflows float64 for an
    input of the declared width (the table entry would be undefined)."""
    half = 1 << (in_bits - 1)
    if not math.isfinite(half * scale_in):
        raise ValueError(
            f"scale_in: 2^(in_bits-1) * scale_in overflows float64 at in_bits={in_bits}; accepted: "
            f"scale_in <= {1.7976931348623157e308 / half:.6g}, got {scale_in!r}"
        )
    table = [rne_saturate(gelu_float(float(i - half) * scale_in) / scale_out, out_bits) for i in range(1 << in_bits)]
    return {"table": table, "offset": half, "in_bits": in_bits, "out_bits": out_bits}


@rows_kernel
def _gelu_rows(x, table, offset):
    rows, cols = x.shape
    out = np.empty_like(x)
    for i in prange(rows):
        for j in range(cols):
            out[i, j] = table[x[i, j] + offset]
    return out


class LutGelu(Kernel):
    name = "lut.gelu"
    reduces_rows = False

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        return _gelu_rows(rows, self._table, self.config["offset"])

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        table = torchint.as_i64(self.config["table"], rows.device)
        return torch.take(table, rows + self.config["offset"])

    @cached_property
    def _table(self) -> np.ndarray:
        return np.asarray(self.config["table"], dtype=np.int64)


def make(scale_in: Any, scale_out: Any, in_bits: int = 8, out_bits: int = 8) -> LutGelu:
    """Build the GELU table for input scale ``scale_in`` and output scale ``scale_out``
    (``docs/ops/lut.gelu.md``)."""
    s_in = params.scalar_scale("scale_in", scale_in)
    s_out = params.scalar_scale("scale_out", scale_out)
    in_bits = params.bits("in_bits", in_bits, hi=MAX_IN_BITS)
    out_bits = params.bits("out_bits", out_bits)
    return LutGelu(
        params={"scale_in": s_in, "scale_out": s_out, "in_bits": in_bits, "out_bits": out_bits},
        config=derive(s_in, s_out, in_bits, out_bits),
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(out_bits, True),
        scale_out=s_out,
    )
