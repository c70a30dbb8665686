"""Exact Python-int references of I-ViT's Shiftmax, ShiftGELU and I-LayerNorm.

Written from ``spec/upstream-kernels.md`` (4.1-4.3) with unbounded Python ints and no shared
code with ``refmodel.ops.ivit``. Each function takes a list of rows (lists of ints) and the
op's config values, and returns ``(out_rows, ranges)`` where ``ranges`` maps every named
intermediate to its ``(min, max)`` over the call: the tests check those against the widths
the op documents (decision D14: two datapaths that overflow alike agree and are both wrong).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Rows = Sequence[Sequence[int]]

LIMIT31 = 2**31 - 1


class Ranges(dict):
    """``name -> (min, max)``, widened by :meth:`see`."""

    def see(self, name: str, values: Iterable[int] | int) -> None:
        vals = [values] if isinstance(values, int) else list(values)
        if not vals:
            return
        lo, hi = min(vals), max(vals)
        if name in self:
            lo, hi = min(lo, self[name][0]), max(hi, self[name][1])
        self[name] = (lo, hi)


def shiftexp_parts(d: int, x0: int, n: int) -> tuple[int, int, int, int | None]:
    """``(P, q, rr, E)`` of the shift-exp, exactly; ``E`` is None when it exceeds 2^200
    (only possible for ``d > 0``; the sum clamp then makes its value irrelevant)."""
    p = d + d // 2 - d // 16          # D >> 1 and D >> 4 are floor divisions by 2 and 16
    p = max(p, n * x0)
    q = p // x0
    rr = p - x0 * q
    if n - q > 200:
        return p, q, rr, None
    return p, q, rr, ((rr - 2 * x0) * 2 ** (n - q)) // 2


def softmax(rows: Rows, x0: int, n: int, out_bits: int) -> tuple[list[list[int]], Ranges]:
    """Shiftmax: ``OUT = (E * ((2^31-1) // min(sum E, 2^31-1))) >> (32 - out_bits)``."""
    ranges = Ranges()
    out = []
    for row in rows:
        m = max(row)
        es = []
        for x in row:
            d = x - m
            p, q, rr, e = shiftexp_parts(d, x0, n)
            assert e is not None
            ranges.see("D", d)
            ranges.see("P_raw", d + d // 2 - d // 16)
            ranges.see("P", p)
            ranges.see("q", q)
            ranges.see("rr", rr)
            ranges.see("E", e)
            es.append(e)
        raw = sum(es)
        ssum = min(raw, LIMIT31)
        f = LIMIT31 // ssum
        ranges.see("sum_raw", raw)
        ranges.see("Ssum", ssum)
        ranges.see("F", f)
        ranges.see("EF", [e * f for e in es])
        res = [(e * f) // 2 ** (32 - out_bits) for e in es]
        ranges.see("OUT", res)
        ranges.see("row_sum_out", sum(res))
        out.append(res)
    return out, ranges


def gelu(rows: Rows, x0: int, n: int, sig_bits: int) -> tuple[list[list[int]], Ranges]:
    """ShiftGELU: ``OUT = X * ((E * ((2^31-1) // min(E + Em, 2^31-1))) >> (32 - sig_bits))``."""
    ranges = Ranges()
    out = []
    for row in rows:
        m = max(row)
        pm, qm, rrm, em = shiftexp_parts(-m, x0, n)
        ranges.see("P_m", pm)
        ranges.see("q_m", qm)
        ranges.see("Em_capped", 2**31 if em is None else min(em, 2**31))
        res = []
        for x in row:
            p, q, rr, e = shiftexp_parts(x - m, x0, n)
            assert e is not None
            ssum = LIMIT31 if em is None else min(e + em, LIMIT31)
            f = LIMIT31 // ssum
            sig = (e * f) // 2 ** (32 - sig_bits)
            ranges.see("D", x - m)
            ranges.see("E", e)
            ranges.see("Ssum", ssum)
            ranges.see("F", f)
            ranges.see("EF", e * f)
            ranges.see("SIG", sig)
            res.append(x * sig)
        ranges.see("OUT", res)
        out.append(res)
    return out, ranges


def newton_sqrt(v: int, iters: int, k0: int = 2**16) -> list[int]:
    """Every iterate of I-ViT's fixed Newton square root: ``[k0, k1, ..., k_iters]``."""
    ks = [k0]
    for _ in range(iters):
        k = ks[-1]
        ks.append((k + v // k) // 2)
    return ks


def rne_div(num: int, den: int) -> int:
    """Round half to even of ``num / den``, ``den > 0``."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def layernorm(rows: Rows, iters: int, bias_int: Sequence[int], negate: Sequence[int]) -> tuple[list[list[int]], Ranges]:
    """I-LayerNorm: ``OUT_c = (-1)^negate_c * (((Y * ((2^31-1) // STD)) >> 1) + BI_c)``."""
    ranges = Ranges()
    out = []
    for row in rows:
        c = len(row)
        total = sum(row)
        mu = rne_div(total, c)
        ys = [x - mu for x in row]
        v = sum(y * y for y in ys)
        ks = newton_sqrt(v, iters)
        std = ks[-1] if ks[-1] != 0 else 1
        f = LIMIT31 // std
        yn = [(y * f) // 2 for y in ys]
        pre = [a + b for a, b in zip(yn, bias_int)]
        res = [-p if neg else p for p, neg in zip(pre, negate)]
        ranges.see("sum", total)
        ranges.see("Y", ys)
        ranges.see("Y2", [y * y for y in ys])
        ranges.see("V", v)
        ranges.see("k", ks)
        ranges.see("k_minus_isqrt", [k - _isqrt(v) for k in ks[1:]])
        ranges.see("STD", std)
        ranges.see("Y_minus_STD", [abs(y) - std for y in ys])
        ranges.see("F", f)
        ranges.see("YF", [y * f for y in ys])
        ranges.see("YN", yn)
        ranges.see("OUT", res)
        out.append(res)
    return out, ranges


def _isqrt(v: int) -> int:
    """floor(sqrt(v)) by bisection (independent of ``math.isqrt``)."""
    lo, hi = 0, 1
    while hi * hi <= v:
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid * mid <= v:
            lo = mid
        else:
            hi = mid
    return lo
