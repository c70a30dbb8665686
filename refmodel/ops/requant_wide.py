"""``requant_wide``: dyadic requantisation (D5, D6) of an accumulator wider than 32 bits, such
as I-BERT GELU's output, to a narrow activation.

Constants as ``requant`` (``m, c = dyadic(scale_in / scale_out)``, per channel), with the
ratio below 1 (``c >= 31``)::

    P    = z * m                        exact, up to 94 bits: never formed in one int64
    y    = rne_shift(P, c)              round half to even
    out  = saturate(y, out_bits, signed)

``|z| <= 2^62`` (``in_bits <= 63``) and ``m < 2^31``, so ``|P| < 2^93`` and every ``c >= 94``
gives 0 exactly. Each datapath splits ``z`` into a high and a low part so that both partial
products fit int64 (the Numba kernel at bit 32, the PyTorch twin at bit 31) and rounds from
the parts. See ``docs/ops/requant_wide.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import int_range, rne_shift
from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec
from refmodel.ops.requant import Requant
from refmodel.ops.requant import derive as derive_dyadic

MAX_IN_BITS = 63
#: The smallest shift accepted: ``scale_in / scale_out`` below 1.
MIN_SHIFT = 31
#: From this shift on every output is 0 (``|P| < 2^93``).
ZERO_SHIFT = 94


@rows_kernel
def _requant_wide_rows(z, m, c, lo, hi):
    """The wide requantiser on non-empty ``z``; returns ``(out, min z, max z)``."""
    rows, cols = z.shape
    out = np.empty_like(z)
    zlo = z[0, 0]
    zhi = z[0, 0]
    for i in prange(rows):
        for j in range(cols):
            zlo = min(zlo, z[i, j])
            zhi = max(zhi, z[i, j])
            cj = c[j]
            if cj >= ZERO_SHIFT:
                out[i, j] = 0
                continue
            zh = z[i, j] >> 32  # z = zh * 2^32 + zl, 0 <= zl < 2^32
            zl = z[i, j] - (zh << 32)
            low = zl * m[j]  # < 2^63
            h = zh * m[j] + (low >> 32)  # P = h * 2^32 + l
            l = low & 0xFFFFFFFF
            if cj == 31:
                q = 2 * h + (l >> 31)
                r = l & 0x7FFFFFFF
                above = r > 0x40000000
                tie = r == 0x40000000
            else:
                k = cj - 32  # 0 <= k <= 61
                q = h >> k
                rh = h - (q << k)  # the remainder is rh * 2^32 + l, compared with 2^(c-1)
                if k == 0:
                    above = l > 0x80000000
                    tie = l == 0x80000000
                else:
                    half = 1 << (k - 1)
                    above = rh > half or (rh == half and l > 0)
                    tie = rh == half and l == 0
            if above or (tie and (q & 1) == 1):
                q += 1
            out[i, j] = nbint.clamp(q, lo, hi)
    return out, zlo, zhi


def _twin_requant_wide(z: torch.Tensor, m: torch.Tensor, c: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """With ``z = zh * 2^31 + zl``, ``z * m = T * 2^31 + Bl`` where ``T = zh*m + ((zl*m) >> 31)``
    and ``Bl = (zl*m) mod 2^31``; the quotient by ``2^c`` is ``T >> (c-31)`` and the rounding
    compares the remainder of ``T`` and ``Bl`` with the half."""
    zh = torch.bitwise_right_shift(z, 31)
    zl = z - torch.bitwise_left_shift(zh, 31)
    low = zl * m
    t = zh * m + torch.bitwise_right_shift(low, 31)
    bl = low - torch.bitwise_left_shift(torch.bitwise_right_shift(low, 31), 31)
    k = c - 31
    big = k >= 63
    ks = torch.where(big, torch.full_like(k, 62), k)
    quotient = torch.bitwise_right_shift(t, ks)
    rem = t - torch.bitwise_left_shift(quotient, ks)  # in [0, 2^k)
    half_t = torch.where(ks > 0, torch.bitwise_left_shift(torch.ones_like(ks), (ks - 1).clamp(min=0)), torch.zeros_like(ks))
    # k > 0: (rem, bl) against (2^(k-1), 0);  k == 0: bl against 2^30.
    above = torch.where(ks > 0, (rem > half_t) | ((rem == half_t) & (bl > 0)), bl > (1 << 30))
    tie = torch.where(ks > 0, (rem == half_t) & (bl == 0), bl == (1 << 30))
    up = above | (tie & ((quotient & 1) == 1))
    out = quotient + up.to(torch.int64)
    out = torch.where(big, torch.zeros_like(out), out)  # |z*m / 2^c| < 1/2 once c >= 94
    return out.clamp(lo, hi)


class RequantWide(Requant):
    """The constants and their per-channel layout are ``requant``'s; the datapaths are wide."""

    name = "requant_wide"

    def bounds(self) -> dict[str, tuple[int, int]]:
        lo, hi = self.in_spec.lo, self.in_spec.hi
        pairs = list(zip(np.atleast_1d(self.config["m"]).tolist(), np.atleast_1d(self.config["c"]).tolist()))
        products = [(lo * m, hi * m) for m, _ in pairs]
        ys = [(rne_shift(lo * m, c), rne_shift(hi * m, c)) for m, c in pairs]
        out_lo, out_hi = self.out_spec.lo, self.out_spec.hi
        y_lo, y_hi = min(y for y, _ in ys), max(y for _, y in ys)
        return {
            "P": (min(p for p, _ in products), max(p for _, p in products)),
            "Y": (y_lo, y_hi),
            "OUT": (min(max(y_lo, out_lo), out_hi), max(min(y_hi, out_hi), out_lo)),
        }

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        out, lo, hi = _requant_wide_rows(rows, *self._per_channel(rows.shape[1]), self.out_spec.lo, self.out_spec.hi)
        self._check_range(int(lo), int(hi))
        return out

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        m = torchint.as_i64(self.config["m"], rows.device)
        c = torchint.as_i64(self.config["c"], rows.device)
        return _twin_requant_wide(rows, m, c, self.out_spec.lo, self.out_spec.hi)


def make(scale_in: Any, scale_out: Any, out_bits: int, signed: bool = True, in_bits: int = MAX_IN_BITS) -> RequantWide:
    """Build a requantiser of a signed ``in_bits``-wide (up to 63) accumulator with scale
    ``scale_in`` (float or per-channel array) to ``out_bits`` at ``scale_out``."""
    s_in = params.scale_scalar_or_vector("scale_in", scale_in)
    s_out = params.scalar_scale("scale_out", scale_out)
    out_bits = params.bits("out_bits", out_bits)
    signed = params.flag("signed", signed)
    in_bits = params.bits("in_bits", in_bits, params.MIN_BITS, MAX_IN_BITS)
    ms, cs = derive_dyadic(s_in, s_out)
    if min(cs) < MIN_SHIFT:
        ratio = float(np.max(np.atleast_1d(s_in))) / s_out
        raise ValueError(f"scale_in: scale_in / scale_out must be below 1 (a dyadic shift c >= {MIN_SHIFT}), got a ratio of {ratio:.6g}")
    per_channel = np.ndim(s_in) == 1
    config = {
        "m": ms if per_channel else ms[0],
        "c": cs if per_channel else cs[0],
        "in_bits": in_bits,
        "out_bits": out_bits,
        "signed": int(signed),
    }
    return RequantWide(
        params={"scale_in": s_in, "scale_out": s_out, "out_bits": out_bits, "signed": signed, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(out_bits, signed),
        scale_out=s_out,
        channels=len(ms) if per_channel else None,
    )
