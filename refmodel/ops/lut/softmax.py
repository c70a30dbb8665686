"""``lut.softmax``: softmax from an exp table, an exact row sum and one reciprocal per row.

For a signed ``in_bits``-wide row ``X`` (scale ``s``), ``F = frac_bits`` and
``B = out_bits - 1``::

    E[t]  = rne(2^F * exp(-t * s))           t = 0 .. 2^in_bits - 1 (float64, then round half
                                             to even; E[0] = 2^F; trailing zeros cut: below)
    t_j   = max(X) - X_j                     (in [0, 2^in_bits - 1])
    E_j   = E[min(t_j, L - 1)]               (L = table length)
    S     = sum_j E_j                        (exact; S >= 2^F: the row maximum gives 2^F)
    R     = 2^62 // S                        (one exact division per row)
    OUT_j = rne_shift(E_j * R, 62 - B)       (round half to even)

``OUT`` lies in ``[0, 2^B]`` with scale ``2^-B``, declared unsigned ``out_bits`` wide.
Against the exactly rounded ``rne(E_j * 2^B / S)`` the output is equal or one below, and
equal except at exact ties when ``S <= 2^(61 - F - B)`` (the proof is in
``docs/ops/lut.softmax.md``). The table is cut after its last non-zero entry plus one zero
(every later entry is zero), so ``L <= 2^in_bits``.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

#: The reciprocal's numerator is ``2^NORM_BITS``.
NORM_BITS = 62
MAX_IN_BITS = 16
MAX_FRAC_BITS = 30
MAX_OUT_BITS = 32


def exp_entry(t: int, scale_in: float, frac_bits: int) -> int:
    """``rne(2^F * exp(-t * s))``: the float64 product ``t * s``, ``math.exp``, the exact
    scaling by ``2^F`` and Python's exact round half to even."""
    return round(math.ldexp(math.exp(-(float(t) * scale_in)), frac_bits))


def exp_table(scale_in: float, frac_bits: int, in_bits: int) -> list[int]:
    """``E[t]`` for ``t`` up to the last non-zero entry, plus one zero entry when any entry
    of the full ``2^in_bits`` range is zero."""
    full = [exp_entry(t, scale_in, frac_bits) for t in range(1 << in_bits)]
    last = max(t for t, e in enumerate(full) if e)  # E[0] = 2^F is never zero
    return full[: min(last + 2, len(full))]


def derive(scale_in: float, in_bits: int, out_bits: int, frac_bits: int) -> dict[str, Any]:
    """Register values: the exp table, ``out_shift = 62 - (out_bits - 1)`` and the widths."""
    return {
        "table": exp_table(scale_in, frac_bits, in_bits),
        "out_shift": NORM_BITS - (out_bits - 1),
        "frac_bits": frac_bits,
        "in_bits": in_bits,
        "out_bits": out_bits,
    }


@rows_kernel
def _softmax_rows(x, table, out_shift):
    rows, cols = x.shape
    last = table.shape[0] - 1
    out = np.empty_like(x)
    num = np.int64(1) << 62
    for i in prange(rows):
        m = nbint.row_max(x, i)
        total = 0
        for j in range(cols):
            e = table[min(m - x[i, j], last)]
            out[i, j] = e
            total += e
        r = num // total
        for j in range(cols):
            out[i, j] = nbint.rne_shift(out[i, j] * r, out_shift)
    return out


class LutSoftmax(Kernel):
    name = "lut.softmax"

    def check_rows(self, columns: int) -> None:
        # S <= C * 2^F must stay below 2^62 so that R = 2^62 // S >= 1 (D14).
        limit = 1 << (NORM_BITS - self.config["frac_bits"])
        if columns >= limit:
            raise ValueError(f"q: rows of {columns} elements reach 2^(62 - frac_bits) = {limit}, the exp sum's limit")

    @cached_property
    def _table(self) -> np.ndarray:
        return np.asarray(self.config["table"], dtype=np.int64)

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        return _softmax_rows(rows, self._table, self.config["out_shift"])

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        table = torchint.as_i64(self.config["table"], rows.device)
        t = (rows.max(dim=1, keepdim=True).values - rows).clamp(max=table.numel() - 1)
        e = torch.take(table, t)
        r = torchint.floor_div(torch.full_like(e[:, :1], 1 << NORM_BITS), e.sum(dim=1, keepdim=True))
        return torchint.rne_shift(e * r, self.config["out_shift"])


def make(scale_in: Any, in_bits: int = 8, out_bits: int = 16, frac_bits: int = 16) -> LutSoftmax:
    """Build the table softmax for an input scale ``scale_in`` (``docs/ops/lut.softmax.md``)."""
    s_in = params.scalar_scale("scale_in", scale_in)
    in_bits = params.bits("in_bits", in_bits, hi=MAX_IN_BITS)
    out_bits = params.bits("out_bits", out_bits, hi=MAX_OUT_BITS)
    frac_bits = params.integer("frac_bits", frac_bits, 1, MAX_FRAC_BITS)
    return LutSoftmax(
        params={"scale_in": s_in, "in_bits": in_bits, "out_bits": out_bits, "frac_bits": frac_bits},
        config=derive(s_in, in_bits, out_bits, frac_bits),
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(out_bits, False),
        scale_out=2.0 ** -(out_bits - 1),
    )
