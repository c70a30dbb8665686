"""``fqvit.softmax``: FQ-ViT's Log-Int-Softmax (LIS), exact-integer form (decisions D2, D10, D16).

For each row ``X`` (signed ``in_bits``) of the last axis, with ``(x0, Bq, Cq)`` the I-BERT
i-exp constants of ``scale_in`` (``refmodel.ops.ibert.iexp``) and ``n = 30``::

    D    = max(X - max(X), 30 * x0)
    q    = D // x0 ;  r = D - x0 * q ;  z = r * (r + Bq) + Cq       (1 <= z <= Cq)
    E    = z << (30 - q)                                           (1 <= E <= Cq * 2^30 < 2^63)
    S    = sum(E)                                                  (< 2^63: checked per row length)
    R    = rne(S / E)                                              (exact round half to even, D2)
    k    = bitlen(R) - 1
    code = 0 if R == 1 else k + ((R >> (k - 1)) & 1)               (round log2 up from 1.5 * 2^k)
    OUT  = min(code, 2^out_bits - 1)

Output: unsigned ``out_bits``-bit codes; no linear scale (``scale_out`` is ``None``, D16).
Code ``0 .. 2^out_bits - 2`` means the probability ``2^-code``; code ``2^out_bits - 1`` means
exactly 0 (D10). See ``docs/ops/fqvit.softmax.md``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel, scalar_helper
from refmodel.ops import nbint, params
from refmodel.ops.ibert import iexp
from refmodel.ops.kernel import IntSpec, Kernel

#: FQ-ViT's exp shift (fixed: the LIS method uses I-BERT's i-exp with n = 30).
N = 30
#: ``E <= Cq * 2^30`` must stay below 2^63: ``Cq < 2^33``.
CQ_LIMIT = 1 << 33
INT64_LIMIT = 1 << 63


def max_columns(cq: int) -> int:
    """The longest row whose sum ``S <= columns * Cq * 2^30`` stays below 2^63."""
    return (INT64_LIMIT - 1) // (cq << N)


def decode(code: int, out_bits: int) -> Fraction:
    """The probability a code stands for (D10): ``2^-code``, or 0 for code ``2^out_bits - 1``."""
    if code == (1 << out_bits) - 1:
        return Fraction(0)
    return Fraction(1, 1 << code)


def _monotone_violation(k: iexp.IExpConstants, in_bits: int) -> int | None:
    """``D = x0`` when ``E`` falls from ``D = x0 + 1`` to ``D = x0`` (``2 * z(x0+1) < Cq``) and
    the input width can reach that boundary; ``None`` otherwise. ``E(q, x0+1) = z(x0+1) <<
    (30 - q)`` and ``E(q+1, 0) = Cq << (29 - q)``, so the test is the same at every boundary."""
    if 2 * k.z_low < k.cq and len(iexp.boundary_quotients(k.x0, N, in_bits)) > 0:
        return k.x0
    return None


def _accepted(scale_in: float, in_bits: int) -> bool:
    try:
        k = iexp.derive_iexp(scale_in, CQ_LIMIT, "E = z << 30 below 2^63")
    except ValueError:
        return False
    return _monotone_violation(k, in_bits) is None


def derive(scale_in: float, out_bits: int = 6, in_bits: int = 8) -> dict[str, int]:
    """Register values: ``x0, bq, cq`` (i-exp), ``n = 30``, ``zero_code = 2^out_bits - 1``,
    ``out_bits``, ``in_bits``.

    Raises ``ValueError("scale_in: ...")`` outside ``1 <= Cq < 2^33`` and where ``E`` would fall
    as ``D`` crosses ``x0`` at a boundary ``in_bits``-bit inputs reach.
    """
    k = iexp.derive_iexp(scale_in, CQ_LIMIT, "E = z << 30 below 2^63")
    d = _monotone_violation(k, in_bits)
    if d is not None:
        lower, upper = iexp.nearest_accepted(scale_in, lambda s: _accepted(s, in_bits))
        raise ValueError(
            f"scale_in: at scale {scale_in!r} (x0 = {k.x0}, Bq = {k.bq}, Cq = {k.cq}) the integer "
            f"exp is not monotone: 2*z(x0+1) = {2 * k.z_low} < Cq, so E at D = {d + 1} is below "
            f"E at D = {d} and a larger input could get a larger code; this scale is refused for "
            f"in_bits = {in_bits}. Nearest accepted single-precision scales: {lower!r} below, {upper!r} "
            f"above (see docs/ops/fqvit.softmax.md, 'Monotonicity')"
        )
    return {
        **k.registers(),
        "n": N,
        "zero_code": (1 << out_bits) - 1,
        "out_bits": out_bits,
        "in_bits": in_bits,
    }


@scalar_helper
def _nb_rne_div(num: int, den: int) -> int:
    """Round half to even of ``num / den`` for ``0 <= num < 2^63``, ``0 < den``: compares the
    remainder with ``den - remainder`` so nothing is doubled (no overflow near 2^63)."""
    q = num // den
    rem = num - q * den
    other = den - rem
    if rem > other or (rem == other and (q & 1) == 1):
        q += 1
    return q


@scalar_helper
def _nb_bitlen(x: int) -> int:
    """Bit length of ``0 <= x < 2^63`` by binary search (six steps)."""
    b = 0
    if x >= np.int64(1) << 32:
        x >>= 32
        b += 32
    if x >= 1 << 16:
        x >>= 16
        b += 16
    if x >= 1 << 8:
        x >>= 8
        b += 8
    if x >= 1 << 4:
        x >>= 4
        b += 4
    if x >= 1 << 2:
        x >>= 2
        b += 2
    if x >= 1 << 1:
        x >>= 1
        b += 1
    return b + x


@rows_kernel
def _lis_rows(x, x0, bq, cq, zero_code):
    rows, cols = x.shape
    out = np.empty_like(x)
    neg_x0 = -x0
    d_min = 30 * x0
    for i in prange(rows):
        mx = nbint.row_max(x, i)
        s = 0
        for j in range(cols):
            q, z = iexp.nb_iexp_qz(x[i, j] - mx, neg_x0, bq, cq, d_min)
            e = z << (30 - q)
            out[i, j] = e
            s += e
        for j in range(cols):
            r = _nb_rne_div(s, out[i, j])
            k = _nb_bitlen(r) - 1
            code = 0
            if k >= 1:
                code = k + ((r >> (k - 1)) & 1)
            out[i, j] = code if code < zero_code else zero_code
    return out


def _torch_rne_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """Round half to even of ``num / den`` element-wise (``0 <= num < 2^63``, ``den > 0``),
    without doubling the remainder."""
    q = torch.div(num, den, rounding_mode="floor")
    rem = num - q * den
    other = den - rem
    up = (rem > other) | ((rem == other) & ((q & 1) == 1))
    return q + up.to(torch.int64)


def _torch_floor_log2(x: torch.Tensor) -> torch.Tensor:
    """``bitlen(x) - 1`` for ``1 <= x < 2^63``: a float64 estimate, corrected exactly (the
    conversion to float64 can only round ``x`` up, onto the next power of two)."""
    k = torch.floor(torch.log2(x.to(torch.float64))).to(torch.int64).clamp(0, 62)
    k = k - (torch.bitwise_left_shift(torch.ones_like(k), k) > x).to(torch.int64)
    below_top = k < 62
    nxt = torch.bitwise_left_shift(torch.ones_like(k), torch.where(below_top, k + 1, k))
    return k + (below_top & (nxt <= x)).to(torch.int64)


class LogIntSoftmax(Kernel):
    name = "fqvit.softmax"

    def check_rows(self, columns: int) -> None:
        """Refuse rows so long that ``S`` could reach 2^63 (D14)."""
        limit = max_columns(self.config["cq"])
        if columns > limit:
            raise ValueError(
                f"q: rows of {columns} elements are too long for scale_in = "
                f"{self.params['scale_in']!r}: the exp sum S can reach columns * Cq * 2^30 "
                f"(Cq = {self.config['cq']}), which must stay below 2^63; the accepted maximum "
                f"row length is {limit}"
            )

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        k = self.config
        return _lis_rows(rows, k["x0"], k["bq"], k["cq"], k["zero_code"])

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        k = self.config
        q, z = iexp.torch_row_iexp_qz(rows, k["x0"], k["bq"], k["cq"], N)
        e = torch.bitwise_left_shift(z, N - q)
        s = e.sum(dim=1, keepdim=True)
        r = _torch_rne_div(s.expand_as(e), e)
        lg = _torch_floor_log2(r)
        half_bit = torch.bitwise_and(torch.bitwise_right_shift(r, (lg - 1).clamp(min=0)), 1)
        code = torch.where(lg >= 1, lg + half_bit, torch.zeros_like(lg))
        return code.clamp(max=k["zero_code"])


def make(scale_in: Any, out_bits: int = 6, in_bits: int = 8) -> LogIntSoftmax:
    """Build FQ-ViT's Log-Int-Softmax for input scale ``scale_in`` (one float).

    ``out_bits`` in 2..32 (unsigned code; ``2^out_bits - 1`` means 0), ``in_bits`` in 2..32
    (signed input). The longest accepted row is ``max_columns(config['cq'])``.
    """
    s = params.scalar_scale("scale_in", scale_in)
    out_bits = params.bits("out_bits", out_bits)
    in_bits = params.bits("in_bits", in_bits)
    config = derive(s, out_bits, in_bits)
    return LogIntSoftmax(
        params={"scale_in": s, "out_bits": out_bits, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(out_bits, False),
        scale_out=None,
    )
