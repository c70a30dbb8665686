"""``ibert.softmax``: I-BERT's integer softmax (i-exp, a 16-bit requantiser, an exact reciprocal).

For each row ``X`` (signed ``in_bits``) of the last axis, with ``(x0, Bq, Cq)`` the i-exp
constants of ``scale_in`` (``refmodel.ops.ibert.iexp``) and ``(m, c)`` the dyadic form of
``32767 / (Cq * 2^n)`` (decision D4)::

    D    = max(X - max(X), n * x0)
    q    = D // x0 ;  r = D - x0 * q ;  z = r * (r + Bq) + Cq        (1 <= z <= Cq)
    E16  = sat16(rne_shift(z * m, c - (n - q)))                     (= sat16(rne(E * m / 2^c)),
                                                                     E = z << (n - q), never formed)
    Ssum = sum(E16)                                                 (>= 32767: the row max gives 32767)
    F    = 2^32 // Ssum                                             (exact, D2)
    OUT  = (E16 * F) >> (32 - out_bits)                             (floor; 0 <= OUT <= 2^out_bits - 1)

Output: unsigned ``out_bits``, scale ``2^-out_bits``. ``z * m < Cq * 2^31 < 2^63`` needs
``Cq < 2^32`` (smaller scales are refused). Scales at which the integer exp would fall when
``D`` crosses a multiple of ``x0`` (so a larger input could get a smaller probability) are
refused too, when ``in_bits`` lets the input reach that boundary. See
``docs/ops/ibert.softmax.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import dyadic, rne_shift, saturate
from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint, params, torchint
from refmodel.ops.ibert import iexp
from refmodel.ops.kernel import IntSpec, Kernel

#: ``z * m`` must stay below 2^63 with ``m < 2^31``: ``Cq < 2^32``.
CQ_LIMIT = 1 << 32
#: The internal requantiser's output range (QuantAct(16), symmetric).
E16_MAX = 32767
E16_MIN = -32768
#: The numerator of the normaliser ``F = 2^32 // Ssum``.
NORM_BITS = 32


def e16_of(z: int, q: int, m: int, c: int, n: int) -> int:
    """``sat16(rne_shift(z * m, c - (n - q)))``: the 16-bit exp of a polynomial value ``z`` at
    quotient ``q`` (exact Python ints)."""
    return saturate(rne_shift(z * m, c - (n - q)), 16, True)


def _monotone_violation(k: iexp.IExpConstants, m: int, c: int, n: int, in_bits: int) -> tuple[int, int, int] | None:
    """The first reachable boundary where ``E16`` falls as ``D`` decreases past a multiple of
    ``x0``: ``(D, E16 at D + 1, E16 at D)`` with ``D = (q+1) * x0``; ``None`` when there is none.

    Within one quotient ``E16`` is non-decreasing in ``r`` (``z`` is, and rounding is monotone),
    so these boundaries are the only places a larger ``D`` can get a smaller ``E16``.
    """
    for q1 in iexp.boundary_quotients(k.x0, n, in_bits):
        above = e16_of(k.z_low, q1 - 1, m, c, n)
        below = e16_of(k.cq, q1, m, c, n)
        if above < below:
            return q1 * k.x0, above, below
    return None


def _derive_checked(scale_in: float, n: int, in_bits: int) -> tuple[iexp.IExpConstants, int, int, tuple[int, int, int] | None]:
    k = iexp.derive_iexp(scale_in, CQ_LIMIT, "z * m below 2^63")
    m, c = dyadic(E16_MAX / (k.cq << n))
    top = rne_shift(k.cq * m, c - n)
    if top != E16_MAX:  # |m / 2^c - ratio| <= ratio * 2^-31, so the row max rounds to 32767
        raise ValueError(f"scale_in: the row maximum maps to E16 = {top}, not {E16_MAX}, at scale {scale_in!r}")
    return k, m, c, _monotone_violation(k, m, c, n, in_bits)


def derive(scale_in: float, out_bits: int = 16, n: int = 30, in_bits: int = 8) -> dict[str, int]:
    """Register values: ``x0, bq, cq`` (i-exp), ``m, c`` (dyadic ``32767 / (Cq * 2^n)``, D4,
    D6), ``n``, ``out_shift = 32 - out_bits``, ``out_bits``, ``in_bits``.

    Raises ``ValueError("scale_in: ...")`` for scales outside the accepted range
    (``1 <= Cq < 2^32``) and for scales at which ``E16`` would decrease with ``D`` at a
    boundary reachable with ``in_bits``-bit inputs.
    """
    k, m, c, bad = _derive_checked(scale_in, n, in_bits)
    if bad is not None:
        d, above, below = bad
        lower, upper = iexp.nearest_accepted(scale_in, lambda s: _accepted(s, n, in_bits))
        raise ValueError(
            f"scale_in: at scale {scale_in!r} (x0 = {k.x0}, Bq = {k.bq}, Cq = {k.cq}, "
            f"2*z(x0+1) = {2 * k.z_low}) the integer exp is not monotone: E16 = {above} at "
            f"D = {d + 1} but {below} at D = {d}, so a larger input could get a smaller "
            f"probability; this scale is refused for in_bits = {in_bits}, n = {n}. Nearest "
            f"accepted single-precision scales: {lower!r} below, {upper!r} above "
            f"(see docs/ops/ibert.softmax.md, 'Monotonicity')"
        )
    return {
        **k.registers(),
        "n": n,
        "m": m,
        "c": c,
        "out_shift": NORM_BITS - out_bits,
        "out_bits": out_bits,
        "in_bits": in_bits,
    }


def _accepted(scale_in: float, n: int, in_bits: int) -> bool:
    try:
        return _derive_checked(scale_in, n, in_bits)[3] is None
    except ValueError:
        return False


@rows_kernel
def _softmax_rows(x, x0, bq, cq, n, m, c, out_shift):
    rows, cols = x.shape
    out = np.empty_like(x)
    neg_x0 = -x0
    d_min = n * x0
    shift0 = c - n  # the rounding shift at q = 0; at quotient q it is shift0 + q
    num = np.int64(1) << 32
    for i in prange(rows):
        mx = nbint.row_max(x, i)
        ssum = 0
        for j in range(cols):
            q, z = iexp.nb_iexp_qz(x[i, j] - mx, neg_x0, bq, cq, d_min)
            e16 = nbint.clamp(nbint.rne_shift(z * m, shift0 + q), E16_MIN, E16_MAX)
            out[i, j] = e16
            ssum += e16
        f = num // ssum
        for j in range(cols):
            out[i, j] = (out[i, j] * f) >> out_shift
    return out


class IBertSoftmax(Kernel):
    name = "ibert.softmax"

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        k = self.config
        return _softmax_rows(rows, k["x0"], k["bq"], k["cq"], k["n"], k["m"], k["c"], k["out_shift"])

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        k = self.config
        q, z = iexp.torch_row_iexp_qz(rows, k["x0"], k["bq"], k["cq"], k["n"])
        e16 = torchint.rne_shift(z * k["m"], q + (k["c"] - k["n"])).clamp(E16_MIN, E16_MAX)
        ssum = e16.sum(dim=1, keepdim=True)
        f = torch.div(torch.full_like(ssum, 1 << NORM_BITS), ssum, rounding_mode="floor")
        return torch.bitwise_right_shift(e16 * f, k["out_shift"])


def make(scale_in: Any, out_bits: int = 16, n: int = 30, in_bits: int = 8) -> IBertSoftmax:
    """Build I-BERT's integer softmax for input scale ``scale_in`` (one float).

    ``out_bits`` in 2..32 (output unsigned, scale ``2^-out_bits``), ``n`` in 1..62 (the exp
    floor ``2^-n``), ``in_bits`` in 2..32 (signed input).
    """
    s = params.scalar_scale("scale_in", scale_in)
    out_bits = params.bits("out_bits", out_bits)
    n = params.integer("n", n, 1, 62)
    in_bits = params.bits("in_bits", in_bits)
    config = derive(s, out_bits, n, in_bits)
    return IBertSoftmax(
        params={"scale_in": s, "out_bits": out_bits, "n": n, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(out_bits, False),
        scale_out=2.0**-out_bits,
    )
