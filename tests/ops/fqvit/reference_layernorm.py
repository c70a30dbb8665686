"""Exact Python-int reference of ``fqvit.layernorm`` (the oracle for both datapaths).

Written from ``docs/ops/fqvit.layernorm.md`` with unbounded Python integers and
``fractions.Fraction``, one row at a time: no shifts that could hide an overflow, logarithms
and quotients taken on exact rationals. :func:`reference_constants` derives the registers from
``gamma``, ``beta`` and ``scale_out`` on its own. Besides the output it records the smallest
and largest value of every named intermediate, so the tests can check each against the width
the op document gives it (decision D14).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from tests.ops.helpers import Ranges, round_half_even


def floor_log2(q: Fraction) -> int:
    """``floor(log2(q))`` of a positive rational, exactly."""
    e = 0
    while q >= 2:
        q /= 2
        e += 1
    while q < 1:
        q *= 2
        e -= 1
    return e


def reference_constants(gamma: Sequence[float], beta: Sequence[float], scale_out: float) -> dict[str, list[int]]:
    """``(m, c)`` with ``G = |gamma| C / scale_out ~= m / 2^c``: ``G = mant 2^e``,
    ``m = round-half-away(mant 2^31)``, ``c = 31 - e`` (``m = 2^31`` renormalised);
    ``bias = rne(beta / scale_out * 2^(c + 22))`` (the quotient in float64, D0); ``sign(gamma)``."""
    chans = len(gamma)
    ms, cs, bias, sign = [], [], [], []
    for g, b in zip(gamma, beta):
        gain = Fraction(abs(float(g)) * chans / float(scale_out))  # the float64 value, exactly
        e = floor_log2(gain) + 1  # gain = mant * 2^e, mant in [1/2, 1)
        mant2 = gain * Fraction(2**31) / Fraction(2) ** e
        m = math.floor(mant2 + Fraction(1, 2))
        c = 31 - e
        if m == 2**31:
            m, c = 2**30, c - 1
        ms.append(m)
        cs.append(c)
        bias.append(round_half_even(Fraction(float(b) / float(scale_out)) * Fraction(2) ** (c + 22)))
        sign.append(1 if g > 0 else -1)
    return {"gain_m": ms, "gain_c": cs, "bias": bias, "sign": sign}


def layernorm_row(
    row: Sequence[int], zp: int, shifts: Sequence[int], k: dict[str, list[int]], rg: Ranges
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """One row; returns the outputs and each channel's ``(M, N, B)``."""
    chans = len(row)
    xs = [rg.see("XS", (q - zp) * 2**a) for q, a in zip(row, shifts)]
    sx = rg.see("SX", sum(xs))
    sxx = rg.see("SXX", sum(x * x for x in xs))
    d = rg.see("D", chans * sxx - sx * sx)
    if d > 0:
        kk = rg.see("K", (62 - d.bit_length()) // 2)
        dn = rg.see("DN", d * 4**kk)
        s = rg.see("S", math.isqrt(dn))
    qs = rg.see("QS", math.floor(Fraction(sx, chans)))
    rg.see("RS", sx - qs * chans)
    out, affine = [], []
    for j in range(chans):
        m_c, c_c, bias, sgn = k["gain_m"][j], k["gain_c"][j], k["bias"][j], k["sign"][j]
        if d == 0:
            big_m, n = 0, 0  # D8: sigma -> 1, x - mu = 0
        else:
            a_hat = Fraction(m_c * 2**kk, s) / Fraction(2) ** c_c
            l = floor_log2(a_hat)
            if l >= 8:
                big_m, n = 255, 0
            else:
                n = min(7 - l, 31)
                big_m = math.floor(a_hat * 2**n)
        rg.see("M", big_m)
        rg.see("N", n)
        vb = rg.see("VB", math.floor(Fraction(bias) * Fraction(2) ** (n - c_c + 1)))
        rg.see("VF", vb % 2**23)
        rg.see("BNUM", (vb % 2**23) * chans - sgn * big_m * (sx - qs * chans) * 2**23 + chans * 2**22)
        b = rg.see("B", math.floor(Fraction(vb, 2**23) - sgn * big_m * Fraction(sx, chans) + Fraction(1, 2)))
        acc = rg.see("ACC", sgn * big_m * xs[j] + b)
        out.append(rg.see("OUT", round_half_even(Fraction(acc, 2**n))))
        affine.append((big_m, n, b))
    return out, affine


def layernorm_reference(
    rows: np.ndarray, zp: int, shifts: Sequence[int], k: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
    """Reference outputs of a 2-D integer array, the ``(M, N, B)`` array ``(R, C, 3)`` and
    the range of every intermediate."""
    rg = Ranges()
    outs, affs = [], []
    for row in rows.tolist():
        o, a = layernorm_row([int(x) for x in row], zp, shifts, k, rg)
        outs.append(o)
        affs.append(a)
    return np.array(outs, dtype=np.int64), np.array(affs, dtype=np.int64).reshape(len(outs), -1, 3), rg.as_dict()
