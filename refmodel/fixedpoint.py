"""Exact integer primitives on Python ints: the arithmetic every op's spec is written in.

These functions are the oracle the two datapaths are tested against and the tools that
derive each op's register values (D0). They never touch floats except where a docstring
says so, and they never wrap: Python ints are unbounded. ``Dn`` here and in the op modules
is decision n of the binding integer semantics, defined in ``docs/semantics.md``.

Rounding conventions (decision D12):

====================  =================================================================
``x >> c``            floor(x / 2^c), arithmetic shift
``rne_shift(x, c)``   round half to even of x / 2^c
``rne_div(n, d)``     round half to even of n / d
``floor_div(c, s)``   floor of the float64 quotient c / s (constants from scales, D0)
====================  =================================================================

>>> [rne_shift(x, 1) for x in (-3, -1, 1, 3, 5)]
[-2, 0, 0, 2, 2]
>>> rne_div(5, 2), rne_div(7, 2), rne_div(-5, 2)
(2, 4, -2)
>>> dyadic(0.75)
(1610612736, 31)
>>> saturate(300, 8, signed=True), saturate(-1, 8, signed=False)
(127, 0)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "int_range",
    "saturate",
    "fits",
    "rne_shift",
    "rne_div",
    "floor_div",
    "dyadic",
    "dyadic_many",
    "isqrt",
    "bit_length",
    "signed_width",
]


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """The closed range of a ``bits``-wide integer: ``[-2^(b-1), 2^(b-1)-1]`` or ``[0, 2^b-1]``."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def saturate(x: int, bits: int, signed: bool = True) -> int:
    """Clamp ``x`` to the range of a ``bits``-wide integer (decision D5)."""
    lo, hi = int_range(bits, signed)
    return lo if x < lo else hi if x > hi else x


def fits(x: int, bits: int, signed: bool = True) -> bool:
    """True when ``x`` is representable in ``bits`` bits of the given signedness."""
    lo, hi = int_range(bits, signed)
    return lo <= x <= hi


def rne_shift(x: int, c: int) -> int:
    """Round half to even of ``x / 2^c`` for ``c >= 0``: ``q = x >> c``, then ``q + 1`` when the
    remainder exceeds half, or equals half and ``q`` is odd."""
    if c < 0:
        raise ValueError(f"c: shift must be >= 0, got {c}")
    if c == 0:
        return x
    q = x >> c
    r = x - (q << c)
    half = 1 << (c - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return q


def rne_div(num: int, den: int) -> int:
    """Round half to even of ``num / den`` for ``den > 0``, exactly."""
    if den <= 0:
        raise ValueError(f"den: must be > 0, got {den}")
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


def floor_div(c: float, s: float) -> int:
    """``floor(c / s)`` with the quotient taken in float64 (decision D0).

    ``s`` is the scale as given (typically a single-precision value, widened exactly to float64).
    """
    return math.floor(float(c) / float(s))


def dyadic(ratio: float) -> tuple[int, int]:
    """The dyadic form ``(m, c)`` of a positive ratio, ``ratio ~= m / 2^c`` (decision D6).

    ``mant, e = frexp(ratio)`` (``0.5 <= mant < 1``), ``m = round_half_away(mant * 2^31)``,
    ``c = 31 - e``; if ``m == 2^31`` then ``(m, c) = (2^30, c - 1)``. So ``2^30 <= m < 2^31``.
    ``mant * 2^31`` is exact in float64 and ``+ 0.5`` is exact below 2^31, so the rounding is
    exact.
    """
    ratio = float(ratio)
    if not (ratio > 0.0 and math.isfinite(ratio)):
        raise ValueError(f"ratio: must be positive and finite, got {ratio!r}")
    mant, e = math.frexp(ratio)
    m = math.floor(mant * 2.0**31 + 0.5)
    c = 31 - e
    if m == 1 << 31:
        m, c = 1 << 30, c - 1
    return m, c


def dyadic_many(ratios: np.ndarray) -> tuple[list[int], list[int]]:
    """:func:`dyadic` of every element of a 1-D float64 array of positive finite ratios, in
    one vectorised pass (``np.frexp`` splits a float64 exactly as ``math.frexp``; the scaling
    by ``2^31``, the ``+ 0.5`` and the floor are the same exact float64 steps). Lists of
    Python ints. Raises ``ValueError`` as :func:`dyadic` does for the first bad ratio."""
    ratios = np.asarray(ratios, dtype=np.float64)
    bad = np.flatnonzero(~((ratios > 0.0) & np.isfinite(ratios)))
    if bad.size:
        dyadic(float(ratios[bad[0]]))  # raises, naming the value
    mant, e = np.frexp(ratios)
    m = np.floor(mant * 2.0**31 + 0.5).astype(np.int64)
    c = 31 - e.astype(np.int64)
    top = m == 1 << 31
    m[top], c[top] = 1 << 30, c[top] - 1
    return m.tolist(), c.tolist()


def isqrt(v: int) -> int:
    """``floor(sqrt(v))`` for ``v >= 0``, exactly (the fixed point of integer Newton)."""
    return math.isqrt(v)


def bit_length(x: int) -> int:
    """Number of bits of ``|x|`` (0 for 0)."""
    return abs(x).bit_length()


def signed_width(lo: int, hi: int) -> int:
    """The smallest two's-complement width that holds every integer in ``[lo, hi]``."""
    bits = 1
    while not (fits(lo, bits) and fits(hi, bits)):
        bits += 1
    return bits
