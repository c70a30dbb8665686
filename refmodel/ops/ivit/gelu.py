"""``ivit.gelu``: I-ViT's ShiftGELU, ``GELU(x) ~ x * sigmoid(1.702 x)``
(``spec/upstream-kernels.md`` 4.2; decisions D0, D2, D14).

For a signed input row ``X`` (one token, scale ``s``, last axis = channels)::

    x0   = floor(-1 / (s * 1.702))                (float64, D0)
    M    = max(X)                                 (per row)
    E    = shiftexp(X - M, x0, n)                 (|x0| <= E <= |x0| * 2^n < 2^31)
    Em   = shiftexp(-M, x0, n)                    (-M may be > 0: held as min(Em, 2^31))
    Ssum = min(E + Em, 2^31 - 1)                  (I-ViT's own clamp, per element)
    F    = (2^31 - 1) // Ssum                     (exact integer division, D2)
    SIG  = (E * F) >> (32 - sig_bits)             (in [0, 2^(sig_bits-1) - 1])
    OUT  = X * SIG

``OUT`` has scale ``s * 2^-(sig_bits-1)`` and fits signed ``in_bits + sig_bits - 1`` bits
(``SIG``'s top bit is always 0). Scales with ``|x0| * 2^n >= 2^31`` are refused. See
``docs/ops/ivit.gelu.md`` (including where the method is not monotone).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel, scalar_helper
from refmodel.ops import nbint
from refmodel.ops.ivit import shiftexp
from refmodel.ops.kernel import IntSpec

#: The method's 31-bit limit: clamp value of each ``E + Em`` and numerator of the factor.
SUM_MAX = shiftexp.SUM_MAX
#: sigmoid(1.702 x) approximates GELU(x) (I-ViT's constant).
SIGMOID_GAIN = 1.702


def derive(scale_in: float, sig_bits: int, n: int, in_bits: int) -> dict[str, int]:
    """The register values of ShiftGELU: ``x0``, ``n``, the sigmoid shift and the 31-bit limit."""
    return {**shiftexp.registers(scale_in, n, in_bits, sig_bits, SIGMOID_GAIN), "sig_bits": sig_bits}


@scalar_helper
def _sig(e: int, em: int, sum_max: int, shift: int) -> int:
    """``SIG = (E * ((2^31 - 1) // min(E + Em, 2^31 - 1))) >> (32 - sig_bits)``."""
    total = e + em
    if total > sum_max:
        total = sum_max
    return (e * shiftexp.floor_div_pos(sum_max, total)) >> shift


@rows_kernel
def _gelu_rows(x, x0, n, shift, sum_max, table_len, covers):
    """ShiftGELU on each row (token). ``E`` comes from a per-call table over ``t = M - X``
    exactly as in ``ivit.softmax``; ``Em`` (one per row) from the capped helper. With ``Em``
    fixed, ``SIG`` depends on ``t`` alone: when the table covers every ``t`` and is no longer
    than a row, each row first takes ``SIG`` for every table entry (``table_len`` divisions
    instead of one per element), then reads it by ``t``."""
    rows, cols = x.shape
    table = shiftexp.exp_table(table_len, x0, n)
    last = table_len - 1
    by_row = covers and table_len <= cols
    out = np.empty_like(x)
    for i in prange(rows):
        m = nbint.row_max(x, i)
        em = shiftexp.shift_exp(-m, x0, n)
        if by_row:
            sig = np.empty(table_len, dtype=np.int64)
            for t in range(table_len):
                sig[t] = _sig(table[t], em, sum_max, shift)
            for j in range(cols):
                out[i, j] = x[i, j] * sig[min(m - x[i, j], last)]
        else:
            for j in range(cols):
                t = m - x[i, j]
                if covers or t <= last:
                    e = table[min(t, last)]
                else:
                    e = shiftexp.shift_exp(-t, x0, n)
                out[i, j] = x[i, j] * _sig(e, em, sum_max, shift)
    return out


class IViTGelu(shiftexp.ShiftExpKernel):
    name = "ivit.gelu"
    _rows = staticmethod(_gelu_rows)

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        m = rows.max(dim=1, keepdim=True).values
        e = shiftexp.shift_exp_torch(rows - m, cfg["x0"], cfg["n"])
        em = shiftexp.shift_exp_torch(-m, cfg["x0"], cfg["n"])
        total = torch.clamp(e + em, max=cfg["sum_max"])
        f = torch.div(torch.full_like(total, cfg["sum_max"]), total, rounding_mode="floor")
        sig = torch.bitwise_right_shift(e * f, cfg["shift"])
        return rows * sig


def make(scale_in: Any, sig_bits: int = 8, n: int = 23, in_bits: int = 8) -> IViTGelu:
    """Build ShiftGELU for an input scale ``scale_in`` (``docs/ops/ivit.gelu.md``)."""
    p = shiftexp.checked_params(scale_in, "sig_bits", sig_bits, n, in_bits)
    return IViTGelu(
        params=p,
        config=derive(p["scale_in"], p["sig_bits"], p["n"], p["in_bits"]),
        in_spec=IntSpec(p["in_bits"], True),
        out_spec=IntSpec(p["in_bits"] + p["sig_bits"] - 1, True),
        scale_out=p["scale_in"] * 2.0 ** -(p["sig_bits"] - 1),
    )
