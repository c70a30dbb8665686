"""``ivit.softmax``: I-ViT's Shiftmax (``spec/upstream-kernels.md`` 4.1; decisions D0, D2,
D13, D14).

For a signed input row ``X`` (scale ``s``, last axis reduced)::

    x0   = floor(-1 / s)                          (float64, D0)
    D    = X - max(X)                             (<= 0)
    E    = shiftexp(D, x0, n)                     (|x0| <= E <= |x0| * 2^n < 2^31)
    Ssum = min(sum E, 2^31 - 1)                   (I-ViT's own clamp, reproduced exactly)
    F    = (2^31 - 1) // Ssum                     (exact integer division, D2)
    OUT  = (E * F) >> (32 - out_bits)             (floor)

``OUT`` lies in ``[0, 2^(out_bits-1) - 1]`` with scale ``2^-(out_bits-1)``; it is declared
unsigned ``out_bits`` wide and its top bit is always 0. Scales with ``|x0| * 2^n >= 2^31`` are
refused (a single exp term would not fit the method's 31-bit sum). See
``docs/ops/ivit.softmax.md`` for the widths and proofs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint
from refmodel.ops.ivit import shiftexp
from refmodel.ops.kernel import IntSpec

#: The method's 31-bit limit: clamp value of the row sum and numerator of the factor.
SUM_MAX = shiftexp.SUM_MAX


def derive(scale_in: float, out_bits: int, n: int, in_bits: int) -> dict[str, int]:
    """The register values of Shiftmax: ``x0``, ``n``, the output shift and the 31-bit limit."""
    return {**shiftexp.registers(scale_in, n, in_bits, out_bits), "out_bits": out_bits}


@rows_kernel
def _softmax_rows(x, x0, n, shift, sum_max, table_len, covers):
    """Shiftmax on each row. ``E`` for ``t = max - X`` comes from a per-call table of
    ``shift_exp(-t)`` over ``t < table_len`` (built here with the same helper). When
    ``covers``, every reachable ``t`` past the table's end has the last entry's value
    (``t >= t_sat`` gives ``E = |x0|``); otherwise such ``t`` are computed directly."""
    rows, cols = x.shape
    table = shiftexp.exp_table(table_len, x0, n)
    last = table_len - 1
    out = np.empty_like(x)
    for i in prange(rows):
        m = nbint.row_max(x, i)
        total = 0
        if covers:
            for j in range(cols):
                t = m - x[i, j]
                e = table[min(t, last)]
                out[i, j] = e
                total += e
        else:
            for j in range(cols):
                t = m - x[i, j]
                if t <= last:
                    e = table[t]
                else:
                    e = shiftexp.shift_exp(-t, x0, n)
                out[i, j] = e
                total += e
        if total > sum_max:
            total = sum_max
        f = sum_max // total
        for j in range(cols):
            out[i, j] = (out[i, j] * f) >> shift
    return out


class IViTSoftmax(shiftexp.ShiftExpKernel):
    name = "ivit.softmax"
    _rows = staticmethod(_softmax_rows)

    def check_rows(self, columns: int) -> None:
        # The int64 row accumulator holds at most columns * 2^31 (D14).
        if columns >= 1 << 32:
            raise ValueError(f"q: rows of {columns} elements exceed 2^32 - 1, the int64 sum's limit")

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        d = rows - rows.max(dim=1, keepdim=True).values
        e = shiftexp.shift_exp_torch(d, cfg["x0"], cfg["n"])
        total = torch.clamp(e.sum(dim=1, keepdim=True), max=cfg["sum_max"])
        f = torch.div(torch.full_like(total, cfg["sum_max"]), total, rounding_mode="floor")
        return torch.bitwise_right_shift(e * f, cfg["shift"])

    def precision(self, q: np.ndarray) -> dict[str, int]:
        """``F = (2^31 - 1) // Ssum``: its fewest significant bits over the rows of ``q``
        (``Ssum`` near ``2^31`` leaves ``F`` one bit, and the output ``E * F`` the precision
        of ``E`` alone)."""
        arr = np.asarray(q)
        if arr.size == 0:
            return {}
        rows = torch.from_numpy(np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.int64))
        cfg = self.config
        e = shiftexp.shift_exp_torch(rows - rows.max(dim=1, keepdim=True).values, cfg["x0"], cfg["n"])
        largest_sum = int(torch.clamp(e.sum(dim=1), max=cfg["sum_max"]).max())
        return {"F": (cfg["sum_max"] // largest_sum).bit_length()}


def make(scale_in: Any, out_bits: int = 16, n: int = 15, in_bits: int = 8) -> IViTSoftmax:
    """Build Shiftmax for an input scale ``scale_in`` (``docs/ops/ivit.softmax.md``)."""
    p = shiftexp.checked_params(scale_in, "out_bits", out_bits, n, in_bits)
    return IViTSoftmax(
        params=p,
        config=derive(p["scale_in"], p["out_bits"], p["n"], p["in_bits"]),
        in_spec=IntSpec(p["in_bits"], True),
        out_spec=IntSpec(p["out_bits"], False),
        scale_out=2.0 ** -(p["out_bits"] - 1),
    )
