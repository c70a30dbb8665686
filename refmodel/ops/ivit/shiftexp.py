"""I-ViT's shift-exponential, shared by ``ivit.softmax`` and ``ivit.gelu``.

For an integer ``D`` (a real value ``D * s``), ``x0 = floor(-1 / s) < 0`` and ``n >= 1``::

    P  = D + (D >> 1) - (D >> 4)          # ~ D * log2(e)   (1 + 1/2 - 1/16 = 1.4375)
    P  = max(P, n * x0)                   # exponent clamp at 2^-n
    q  = P // x0                          # integer part of the (negated) exponent
    rr = P - x0 * q                       # fractional part, in (x0, 0]
    E  = ((rr - 2 * x0) << (n - q)) >> 1  # (1 + f/2) * 2^(n - q) * |x0|, half bit kept

This is the PyTorch reference variant of the method (``spec/upstream-kernels.md`` section
4.1), not the TVM one: the half bit of ``rr / 2`` is kept whenever ``n - q >= 1``.

Both ops share their register derivation (:func:`registers`), their parameter checks
(:func:`checked_params`), the Numba exp table (:func:`exp_table`, :func:`table_plan`) and the
kernel base :class:`ShiftExpKernel`; their datapaths after ``E`` differ.

For ``D <= 0``: ``P <= 0``, ``0 <= q <= n`` and ``|x0| <= E <= |x0| * 2^n``. For ``D > 0``
(I-ViT GELU's ``-max``) ``q < 0`` and ``E`` can be astronomically large; the callers only use
``min(E, 2^31)`` (anything >= 2^31 is clamped away by the method's own 31-bit sum), so both
helpers here return exactly ``min(E, 2^31)`` and never shift by more than 31 bits.

Widths (``|x0| * 2^n < 2^31``, ``n <= 30``, ``|D| < 2^33``): ``|P| < 1.44 * 2^33``;
``rr - 2*x0`` lies in ``[|x0| + 1, 2 |x0|]``, below ``2^(32 - n)``, so the shifted value is
below ``2^(63 - n)``: everything fits int64.
"""

from __future__ import annotations

import math
import sys
from functools import cached_property
from typing import Any

import numpy as np
import torch

from refmodel.jit import scalar_helper
from refmodel.ops import params
from refmodel.ops.kernel import Kernel

#: The saturation value of both helpers: ``min(E, EXP_CAP)``.
EXP_CAP = 1 << 31
#: The method's 31-bit limit: clamp value of the exp sum and numerator of the factor.
SUM_MAX = (1 << 31) - 1
#: Largest accepted ``n`` (``|x0| >= 1`` and ``|x0| * 2^n < 2^31``).
N_MAX = 30
#: Largest exp table a Numba kernel builds per call (entries); beyond it, it computes.
TABLE_CAP = 4096


def exp_unit(name: str, scale: float, n: int, gain: float = 1.0) -> int:
    """``x0 = floor(-1 / (scale * gain))`` with float64 arithmetic (D0), refused unless
    ``|x0| * 2^n < 2^31`` (one exp term, ``|x0| * 2^n``, must fit the method's 31-bit sum).

    The ``ValueError`` names ``name`` and the accepted range
    ``scale >= 1 / (gain * (2^(31-n) - 1))``.
    """
    unit = scale * gain
    max_abs = (1 << (31 - n)) - 1
    if not math.isfinite(unit):
        raise ValueError(
            f"{name}: {name} * {gain} overflows float64; accepted: "
            f"{1.0 / (gain * max_abs):.6g} <= {name} <= {sys.float_info.max / gain:.6g}, "
            f"got {scale!r}"
        )
    ratio = -1.0 / unit
    x0 = math.floor(ratio) if math.isfinite(ratio) and ratio > -(2.0**62) else None
    if x0 is None or -x0 > max_abs:
        shown = "beyond int64" if x0 is None else str(x0)
        formula = f"-1/{name}" if gain == 1.0 else f"-1/({name}*{gain})"
        raise ValueError(
            f"{name}: x0 = floor({formula}) = {shown} gives |x0| * 2^n >= 2^31 with n={n} "
            f"(one exp term would exceed the method's 31-bit sum); accepted: |x0| <= {max_abs}, "
            f"i.e. {name} >= {1.0 / (gain * max_abs):.6g} for n={n} (or use a smaller n); "
            f"got {scale!r}"
        )
    return x0


def checked_params(scale_in: Any, width_name: str, width: int, n: int, in_bits: int) -> dict[str, Any]:
    """The validated parameters of an I-ViT shift-exp op, checked in this order:
    ``{"scale_in": float, width_name: bits, "n": 1..N_MAX, "in_bits": bits}``."""
    return {
        "scale_in": params.scalar_scale("scale_in", scale_in),
        width_name: params.bits(width_name, width),
        "n": params.integer("n", n, 1, N_MAX),
        "in_bits": params.bits("in_bits", in_bits),
    }


def registers(scale_in: float, n: int, in_bits: int, width: int, gain: float = 1.0) -> dict[str, int]:
    """The register values both ops share: ``x0 = exp_unit(scale_in, n, gain)``, ``n``,
    ``shift = 32 - width`` (``(E * F) >> shift`` keeps ``width - 1`` bits of the 31-bit
    product), ``sum_max = 2^31 - 1`` and ``in_bits``."""
    return {
        "x0": exp_unit("scale_in", scale_in, n, gain),
        "n": n,
        "shift": 32 - width,
        "sum_max": SUM_MAX,
        "in_bits": in_bits,
    }


def table_plan(x0: int, n: int, in_bits: int) -> tuple[int, bool]:
    """(length, covers) of a Numba kernel's exp table ``T[t] = shift_exp(-t)``, ``t = max - X``.

    It spans ``t`` in ``[0, min(t_sat, 2^in_bits - 1)]``: every reachable ``t``, with every
    ``t >= t_sat`` folded onto ``t_sat`` (where ``E = |x0|``), so ``T[min(t, length - 1)]`` is
    exact; ``covers`` is False when that would exceed ``TABLE_CAP`` entries, and the kernel
    then computes the ``t`` past the table directly.
    """
    reach = min(saturation_distance(x0, n), (1 << in_bits) - 1)
    length = min(reach + 1, TABLE_CAP)
    return length, length == reach + 1


def shift_exp_int(d: int, x0: int, n: int) -> int:
    """Exact Python-int shift-exp (no cap), for ``derive`` and documentation examples."""
    p = max(d + (d >> 1) - (d >> 4), n * x0)
    q = p // x0
    rr = p - x0 * q
    return ((rr - 2 * x0) << (n - q)) >> 1


def saturation_distance(x0: int, n: int) -> int:
    """The smallest ``t >= 0`` with ``P(-t) <= n * x0``: from there on ``E = |x0|`` exactly.

    ``P(D)`` is non-decreasing in ``D`` (each unit step of ``D`` adds ``1 + [0 or 1] - [0 or 1]``),
    so a binary search over ``t`` finds it.
    """
    def p_of(t: int) -> int:
        return -t + (-t >> 1) - (-t >> 4)

    limit = n * x0
    lo, hi = 0, 1
    while p_of(hi) > limit:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if p_of(mid) <= limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


@scalar_helper
def shift_exp(d: int, x0: int, n: int) -> int:
    """Numba: ``min(shiftexp(d, x0, n), 2^31)`` on int64 (module docstring)."""
    p = d + (d >> 1) - (d >> 4)
    floor_p = n * x0
    if p < floor_p:
        p = floor_p
    q = p // x0
    rr = p - x0 * q
    sh = n - q
    if sh >= 32:
        # rr - 2*x0 >= 2, so the value is at least 2^32 >> 1 = 2^31.
        return 1 << 31
    e = ((rr - 2 * x0) << sh) >> 1
    if e > (1 << 31):
        return 1 << 31
    return e


@scalar_helper
def exp_table(table_len: int, x0: int, n: int) -> np.ndarray:
    """Numba: the exp table ``T[t] = shift_exp(-t, x0, n)`` for ``0 <= t < table_len``."""
    table = np.empty(table_len, dtype=np.int64)
    for t in range(table_len):
        table[t] = shift_exp(-t, x0, n)
    return table


@scalar_helper
def floor_div_pos(num: int, den: int) -> int:
    """Numba: ``num // den`` exactly, for ``0 <= num < 2^53`` and ``1 <= den < 2^53``.

    A float64 quotient estimate (both operands exact in float64, quotient relative error
    <= 2^-53, so the estimate is within one of the floor), then one exact integer
    correction step. It is several times faster than a 64-bit integer division in a loop.
    """
    q = np.int64(np.float64(num) / np.float64(den))
    r = num - q * den
    if r < 0:
        q -= 1
    elif r >= den:
        q += 1
    return q


def shift_exp_torch(d: torch.Tensor, x0: int, n: int) -> torch.Tensor:
    """PyTorch: ``min(shiftexp(d, x0, n), 2^31)`` element-wise on an int64 tensor."""
    p = d + torch.bitwise_right_shift(d, 1) - torch.bitwise_right_shift(d, 4)
    p = torch.clamp(p, min=n * x0)
    q = torch.div(p, x0, rounding_mode="floor")
    rr = p - x0 * q
    sh = n - q
    big = sh >= 32
    safe_sh = torch.where(big, torch.zeros_like(sh), sh)
    e = torch.bitwise_right_shift(torch.bitwise_left_shift(rr - 2 * x0, safe_sh), 1)
    e = torch.clamp(e, max=EXP_CAP)
    return torch.where(big, torch.full_like(e, EXP_CAP), e)


class ShiftExpKernel(Kernel):
    """Base of the I-ViT shift-exp ops: the Numba kernel's table plan, from the config, and
    the call of the op's Numba kernel ``_rows(x, x0, n, shift, sum_max, table_len, covers)``
    (a ``staticmethod`` each subclass sets)."""

    _rows: Any

    @cached_property
    def _plan(self) -> tuple[int, bool]:
        cfg = self.config
        return table_plan(cfg["x0"], cfg["n"], cfg["in_bits"])

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        cfg = self.config
        table_len, covers = self._plan
        return self._rows(rows, cfg["x0"], cfg["n"], cfg["shift"], cfg["sum_max"], table_len, covers)
