"""The per-channel affine shared by the integer-sqrt LayerNorms (``ibert.layernorm``,
``ivit.layernorm``; decisions D0, D14, D15).

Both normalise a row of ``C`` channels to ``YN ~ 2^30 (x - mu) / (sigma sqrt(C))`` and then
apply ``gamma_c``/``beta_c`` as an integer bias and a sign, the magnitude going to the output
scale::

    sf0         = sqrt(C) / 2^30                      (float64)
    BI_c        = floor((beta_c / gamma_c) / sf0)     (float64 quotients, then floor: D0)
    OUT_c       = sign(gamma_c) * (YN_c + BI_c)       (D15: the integers carry the sign)
    scale_out_c = sf0 * |gamma_c|

so ``OUT_c * scale_out_c ~= gamma_c (x - mu) / sigma + beta_c``. ``OUT`` is declared signed
``max(32, signed width of its proven range)`` bits. ``gamma_c = 0`` cannot be represented.

Plain Python and numpy only: the constants, not the datapaths (each op keeps its own Numba
kernel and PyTorch twin).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from refmodel.fixedpoint import signed_width

#: The narrowest declared output; wider biases widen it to the proven width.
MIN_OUT_BITS = 32
#: ``BI_c`` is only formed for ``|(beta_c / gamma_c) / sf0| < 2^62``.
BIAS_LIMIT = 2.0**62

Interval = tuple[int, int]


def sf0(channels: int) -> float:
    """``sqrt(C) / 2^30``: the real value of one unit of ``YN`` per unit of ``gamma``."""
    return math.sqrt(channels) / 2.0**30


def first_zero(gamma: np.ndarray) -> int | None:
    """The first channel with ``gamma_c == 0`` (D15 refuses it), or ``None``."""
    zero = np.flatnonzero(gamma == 0.0)
    return int(zero[0]) if zero.size else None


def bias_int(gamma_c: float, beta_c: float, unit: float) -> tuple[float, int | None]:
    """``(ratio, BI_c)`` with ``ratio = (beta_c / gamma_c) / unit`` (float64) and
    ``BI_c = floor(ratio)``; ``BI_c`` is ``None`` when ``ratio`` is not finite or
    ``|ratio| >= 2^62`` (no int64 datapath can hold it)."""
    ratio = (beta_c / gamma_c) / unit
    bi = math.floor(ratio) if math.isfinite(ratio) and abs(ratio) < BIAS_LIMIT else None
    return ratio, bi


def out_range(yn: Interval, biases: Iterable[int], negative: Iterable[object]) -> Interval:
    """Closed bounds of ``OUT`` over all rows: channel ``c`` gives ``YN + BI_c`` in
    ``[yn_lo + BI_c, yn_hi + BI_c]``, negated where ``negative_c`` is true."""
    los, his = [], []
    for bi, neg in zip(biases, negative):
        lo, hi = yn[0] + bi, yn[1] + bi
        if neg:
            lo, hi = -hi, -lo
        los.append(lo)
        his.append(hi)
    return min(los), max(his)


def out_width(lo: int, hi: int) -> int:
    """The declared output width of ``OUT`` in ``[lo, hi]``: ``max(32, signed width)``."""
    return max(MIN_OUT_BITS, signed_width(lo, hi))


def scale_out(gamma: np.ndarray) -> np.ndarray:
    """The per-channel output scale ``sf0 * |gamma_c|``."""
    return sf0(gamma.size) * np.abs(gamma)
