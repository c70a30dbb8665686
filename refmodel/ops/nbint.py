"""Integer helpers for the Numba datapath (int64 scalars, inlined into the kernels).

Numba integers wrap on overflow like the hardware they model, so every caller keeps its
operands inside the widths its op document derives; these helpers assume int64 operands.
"""

from __future__ import annotations

from refmodel.jit import scalar_helper


@scalar_helper
def rne_shift(x: int, c: int) -> int:
    """Round half to even of ``x / 2^c`` for ``c >= 0``. For ``c >= 64`` every int64 ``x``
    has ``|x / 2^c| <= 1/2`` and the result is 0 (the tie at ``-2^63`` rounds to even)."""
    if c == 0:
        return x
    if c >= 64:
        return 0
    q = x >> c
    r = x - (q << c)
    half = 1 << (c - 1)
    if r > half or (r == half and (q & 1) == 1):
        q += 1
    return q


@scalar_helper
def rne_shift_half(x: int, c: int, half: int) -> int:
    """:func:`rne_shift` of ``x`` by ``0 <= c <= 63`` given ``half = 2^(c-1)`` (for ``c = 0``
    any ``half >= 1``: the remainder is 0, so nothing is added), without branches so that a
    loop over columns with per-column ``c`` and ``half`` vectorises."""
    q = x >> c
    r = x - (q << c)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))


@scalar_helper
def clamp(x: int, lo: int, hi: int) -> int:
    """Saturate ``x`` to ``[lo, hi]``."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@scalar_helper
def row_max(x, i: int) -> int:
    """The largest element of row ``i`` of a 2-D int64 array with at least one column."""
    m = x[i, 0]
    for j in range(1, x.shape[1]):
        if x[i, j] > m:
            m = x[i, j]
    return m


@scalar_helper
def rne_div(num: int, den: int) -> int:
    """Round half to even of ``num / den`` for ``den > 0`` and ``|num| < 2^62``."""
    q = num // den
    r2 = 2 * (num - q * den)
    if r2 > den or (r2 == den and (q & 1) == 1):
        q += 1
    return q


@scalar_helper
def bit_length(x: int) -> int:
    """Number of bits of a non-negative ``x`` (0 for 0)."""
    n = 0
    while x > 0:
        x >>= 1
        n += 1
    return n


@scalar_helper
def isqrt(v: int) -> int:
    """``floor(sqrt(v))`` for ``0 <= v < 2^62``: a float64 estimate, then exact integer
    correction (the estimate is within a few units, so the loops run at most twice)."""
    if v <= 0:
        return 0
    r = int(v**0.5)
    while r * r > v:
        r -= 1
    while (r + 1) * (r + 1) <= v:
        r += 1
    return r
