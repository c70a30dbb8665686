"""``ibert.layernorm``: I-BERT's integer LayerNorm with an exact integer square root
(Kim et al., 2021), in exact int64 arithmetic.

For one row ``X`` of ``C`` integers (scale ``s``, signed ``in_bits``) and the float per-channel
``gamma``, ``beta``::

    MU  = rne_div(sum_j X_j, C)                 round half to even, exact
    Y   = X - MU
    V   = sum_j (Y_j >> shift)^2
    STD = isqrt(V) << shift                     exact isqrt (D3); STD = 0 -> 1 (D8)
    F   = 2^31 // STD                           exact (D2)
    YN  = (Y * F) >> 1                          ~ 2^30 (x - mu) / (sigma sqrt(C))
    OUT_c = sign(gamma_c) * (YN_c + BI_c)

with the per-channel constants (float64 then floor, D0; shared with ``ivit.layernorm`` in
``refmodel.ops.layernorm_affine``)::

    sf0  = sqrt(C) / 2^30
    BI_c = floor((beta_c / gamma_c) / sf0)
    scale_out_c = sf0 * |gamma_c|               (D15: the integers carry sign(gamma_c))

so ``OUT_c * scale_out_c ~= gamma_c (x - mu) / sigma + beta_c`` (population variance, no
epsilon). ``s`` cancels: it only documents the input. ``|YN| <= 2^30`` for ``shift = 0``;
:func:`bounds` gives every intermediate's range for any ``shift``. ``OUT`` is declared signed
``out_bits`` wide, ``out_bits = max(32, signed width of the proven OUT range)`` (33 bits at
``|beta_c / gamma_c| = 40``, ``C = 192``). Refused (D14): a ``beta_c / gamma_c`` for which
``|OUT|`` could reach ``2^62``, and ``in_bits``/``C`` pairs for which ``V`` could. See
``docs/ops/ibert.layernorm.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import layernorm_affine as affine
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

#: Numerator of the factor ``F = 2^31 // STD``.
F_BITS = 31
#: ``V``, ``OUT`` and every other intermediate must stay below this magnitude (D14).
LIMIT = 1 << 62
#: The narrowest declared output; wider biases (or shifts) widen it to the proven width.
MIN_OUT_BITS = affine.MIN_OUT_BITS
MAX_SHIFT = 31

Interval = tuple[int, int]


def yn_bounds(shift: int, channels: int) -> Interval:
    """Closed bounds of ``YN = (Y * F) >> 1`` over every row of ``channels`` values.

    - ``Y_j < 0``: ``|Y_j| <= STD`` (``floor(Y_j / 2^shift)^2 <= V``), so ``YN >= -2^30``.
    - ``V >= 1``: ``Y_j <= STD + 2^shift - 1`` and ``F <= 2^31 / STD``; the maximum is at
      ``isqrt(V) = 1``, ``Y_j = 2^(shift+1) - 1``:
      ``YN <= ((2^(shift+1) - 1) * 2^(31-shift)) >> 1`` (``2^30`` for ``shift = 0``).
    - ``V = 0`` (``STD`` replaced by 1, ``F = 2^31``): every ``Y_j`` lies in
      ``[0, 2^shift)`` and ``sum_j Y_j <= C / 2`` (``MU`` is the rounded mean), so
      ``YN <= min(2^shift - 1, C // 2) * 2^30``.
    """
    hi_v = (((1 << (shift + 1)) - 1) * ((1 << F_BITS) >> shift)) >> 1
    hi_zero = min((1 << shift) - 1, channels // 2) << (F_BITS - 1)
    return -(1 << (F_BITS - 1)), max(hi_v, hi_zero)


def v_max(in_bits: int, shift: int, channels: int) -> int:
    """An upper bound of ``V = sum_j (Y_j >> shift)^2``.

    ``sum_j Y_j^2 <= C 2^(2 in_bits - 2)`` (the spread of values in a ``in_bits``-wide range,
    plus the rounding of ``MU``); ``|Y_j >> shift| <= (|Y_j| + 2^shift - 1) / 2^shift`` and
    ``sum_j |Y_j| <= C 2^(in_bits - 1)`` give
    ``V <= C (2^(in_bits-1) + 2^shift - 1)^2 / 2^(2 shift)``.
    """
    return (channels * ((1 << (in_bits - 1)) + (1 << shift) - 1) ** 2) >> (2 * shift)


def bounds(config: dict[str, Any]) -> dict[str, Interval]:
    """Closed bounds of every named intermediate over all rows of ``config["channels"]``
    signed ``config["in_bits"]``-bit values: ``SUM``, ``MU``, ``Y``, ``YS = Y >> shift``,
    ``V``, ``R = isqrt(V)``, ``STD`` (after the D8 replacement), ``F``, ``YF = Y * F``,
    ``YN``, ``OUT``."""
    b, s, c = config["in_bits"], config["shift"], config["channels"]
    lo, hi = -(1 << (b - 1)), (1 << (b - 1)) - 1
    vmax = v_max(b, s, c)
    rmax = math.isqrt(vmax)
    std_max = max(1, rmax << s)
    yn = yn_bounds(s, c)
    return {
        "SUM": (c * lo, c * hi),
        "MU": (lo, hi),
        "Y": (lo - hi, hi - lo),
        "YS": ((lo - hi) >> s, (hi - lo) >> s),
        "V": (0, vmax),
        "R": (0, rmax),
        "STD": (1, std_max),
        "F": ((1 << F_BITS) // std_max, 1 << F_BITS),
        "YF": (2 * yn[0], 2 * yn[1] + 1),
        "YN": yn,
        "OUT": affine.out_range(yn, config["bi"], [g < 0 for g in config["gamma_sign"]]),
    }


def accepted_shifts(channels: int) -> list[int]:
    """The shifts for which ``YF = Y * F`` (so ``YN`` too) stays below ``2^62`` in magnitude.

    ``YF < 2^32`` when ``V >= 1`` and ``YF <= (2^shift - 1) 2^31 < 2^62`` when ``V = 0``, so
    this is every shift in ``[0, 31]`` for every row length; ``BI = 0`` then keeps ``OUT``
    below ``2^62`` as well."""
    out = []
    for s in range(MAX_SHIFT + 1):
        lo, hi = yn_bounds(s, channels)
        if max(-2 * lo, 2 * hi + 1) < LIMIT:
            out.append(s)
    return out


def bias_range(shift: int, channels: int) -> Interval:
    """The ``BI_c`` for which ``|YN + BI_c| <= 2^62 - 1`` for every ``YN`` of :func:`yn_bounds`."""
    yn_lo, yn_hi = yn_bounds(shift, channels)
    return -(LIMIT - 1) - yn_lo, (LIMIT - 1) - yn_hi


def out_width(config: dict[str, Any]) -> int:
    """The declared output width: ``max(32, signed width of bounds(config)["OUT"])``."""
    return affine.out_width(*bounds(config)["OUT"])


def max_in_bits(shift: int, channels: int) -> int:
    """The widest input for which ``V < 2^62`` at this ``shift`` and row length."""
    return max((b for b in range(params.MIN_BITS, params.MAX_BITS + 1) if v_max(b, shift, channels) < LIMIT), default=0)


def derive(gamma: np.ndarray, beta: np.ndarray, shift: int, in_bits: int) -> dict[str, Any]:
    """The register values of ``ibert.layernorm``: ``bi`` and ``gamma_sign`` (lists, one per
    channel), ``shift``, ``channels``, ``in_bits`` and ``out_bits`` (:func:`out_width`: 32, or
    the proven width of ``OUT`` when wider, at most 63).

    Raises ``ValueError`` naming ``gamma`` (a zero entry, D15), ``shift`` (``Y * F`` could
    reach ``2^62``; never for ``shift <= 31``), ``in_bits`` (``V`` could reach ``2^62``) or
    ``beta`` (a channel whose ``BI_c`` lets ``|OUT|`` reach ``2^62``)."""
    channels = int(gamma.size)
    zero = affine.first_zero(gamma)
    if zero is not None:
        raise ValueError(
            f"gamma: must be non-zero in every channel (integer LayerNorm cannot represent gamma = 0); "
            f"channel {zero} is 0"
        )
    shifts = accepted_shifts(channels)
    if shift not in shifts:
        raise ValueError(
            f"shift: {shift} lets Y * F reach 2^62 for C={channels}; accepted range "
            f"[{shifts[0]}, {shifts[-1]}]"
        )
    if v_max(in_bits, shift, channels) >= LIMIT:
        raise ValueError(
            f"in_bits: {in_bits} lets V reach 2^62 for C={channels}, shift={shift}; accepted range "
            f"[{params.MIN_BITS}, {max_in_bits(shift, channels)}]"
        )
    sf0 = affine.sf0(channels)
    bi_lo, bi_hi = bias_range(shift, channels)
    bis = []
    for c, (g, b) in enumerate(zip(gamma.tolist(), beta.tolist())):
        q, bi = affine.bias_int(g, b, sf0)  # bi is None past 2^62, outside [bi_lo, bi_hi] too
        if bi is None or not bi_lo <= bi <= bi_hi:
            raise ValueError(
                f"beta: channel {c}: BI = floor((beta/gamma) / sf0) = {q:.6g} must lie in "
                f"[{bi_lo}, {bi_hi}] so that |OUT| < 2^62 (|beta/gamma| below about "
                f"{min(-bi_lo, bi_hi) * sf0:.4g} for C={channels}, shift={shift})"
            )
        bis.append(bi)
    config: dict[str, Any] = {
        "bi": bis,
        "gamma_sign": [1 if g > 0 else -1 for g in gamma.tolist()],
        "shift": shift,
        "channels": channels,
        "in_bits": in_bits,
    }
    config["out_bits"] = out_width(config)
    return config


@rows_kernel
def _layernorm_rows(x, shift, bi, sgn):
    rows, cols = x.shape
    out = np.empty_like(x)
    for i in prange(rows):
        total = 0
        for j in range(cols):
            total += x[i, j]
        mu = nbint.rne_div(total, cols)
        v = 0
        for j in range(cols):
            q = (x[i, j] - mu) >> shift
            v += q * q
        std = nbint.isqrt(v) << shift
        if std == 0:
            std = 1
        f = (1 << 31) // std
        for j in range(cols):
            yn = ((x[i, j] - mu) * f) >> 1
            out[i, j] = sgn[j] * (yn + bi[j])
    return out


class IbertLayerNorm(Kernel):
    name = "ibert.layernorm"
    reduces_rows = True

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        bi = np.asarray(self.config["bi"], dtype=np.int64)
        sgn = np.asarray(self.config["gamma_sign"], dtype=np.int64)
        return _layernorm_rows(rows, self.config["shift"], bi, sgn)

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        shift = self.config["shift"]
        bi = torchint.as_i64(self.config["bi"], rows.device)
        sgn = torchint.as_i64(self.config["gamma_sign"], rows.device)
        mu = torchint.rne_div(rows.sum(dim=1, keepdim=True), rows.shape[1])
        y = rows - mu
        q = torch.bitwise_right_shift(y, shift)
        v = (q * q).sum(dim=1, keepdim=True)
        std = torch.bitwise_left_shift(torchint.isqrt(v), shift)
        std = torch.where(std == 0, torch.ones_like(std), std)
        f = torchint.floor_div(torch.full_like(std, 1 << F_BITS), std)
        yn = torch.bitwise_right_shift(y * f, 1)
        return sgn * (yn + bi)


def make(scale_in: Any, gamma: Any, beta: Any, shift: int = 0, in_bits: int = 16) -> IbertLayerNorm:
    """Build I-BERT's LayerNorm over ``C = len(gamma)`` channels (the last axis) for a signed
    ``in_bits``-wide input of scale ``scale_in``."""
    s_in = params.scalar_scale("scale_in", scale_in)
    g = params.float_vector("gamma", gamma)
    b = params.float_vector("beta", beta, length=g.size)
    shift = params.integer("shift", shift, 0, MAX_SHIFT)
    in_bits = params.bits("in_bits", in_bits)
    config = derive(g, b, shift, in_bits)
    return IbertLayerNorm(
        params={"scale_in": s_in, "gamma": g, "beta": b, "shift": shift, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(config["out_bits"], True),
        scale_out=affine.scale_out(g),
        channels=int(g.size),
    )
