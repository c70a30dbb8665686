"""``ivit.layernorm``: I-ViT's I-LayerNorm (``spec/upstream-kernels.md`` 4.3; decisions D0,
D2, D3, D8, D15).

For a signed input row ``X`` of ``C`` channels (one token)::

    MU  = rne_div(sum X, C)                       (round half to even)
    Y   = X - MU
    V   = sum Y^2
    k   = 2^16; repeat iters times: k = (k + V // k) // 2     (no convergence test, D3)
    STD = k                                       (k >= 1 here, so D8's 0 -> 1 never fires)
    F   = (2^31 - 1) // STD                       (exact, D2)
    YN  = (Y * F) >> 1                            (|YN| <= 2^30)
    OUT_c = sign(gamma_c) * (YN_c + BI_c)         (D15)

with, per channel (float64, D0), ``sf0 = sqrt(C) / 2^30``, ``BI_c = floor((beta_c/gamma_c) /
sf0)`` and output scale ``sf0 * |gamma_c|`` (shared with ``ibert.layernorm`` in
``refmodel.ops.layernorm_affine``). ``OUT`` is declared signed ``out_bits`` wide,
``out_bits = max(32, signed width of the proven OUT range)`` (:func:`out_bounds`; 33 bits at
``|beta_c / gamma_c| = 40``, ``C = 192``). Refused (D14): biases for which ``|OUT|`` could reach
``2^62``, and ``in_bits``/``C`` for which ``V`` could. See ``docs/ops/ivit.layernorm.md``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import layernorm_affine as affine
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

#: Newton's starting value (I-ViT's constant).
K0 = 1 << 16
#: Numerator of the normalising factor (I-ViT's constant, exactly, D2).
NUMERATOR = (1 << 31) - 1
#: ``V`` and ``OUT`` must stay below this magnitude (every ``Y^2``, partial sum and Newton
#: term then fits int64, D14).
V_LIMIT = 1 << 62
#: ``YN = (Y * F) >> 1`` lies in ``[YN_LO, YN_HI]`` for every row (``|Y| <= STD``).
YN_LO, YN_HI = -(1 << 30), (1 << 30) - 1
#: ``BI_c`` must lie in ``[BIAS_LO, BIAS_HI]`` so that ``|YN + BI_c| <= 2^62 - 1`` for every
#: ``YN`` in ``[YN_LO, YN_HI]``.
BIAS_LO, BIAS_HI = -(V_LIMIT - 1) - YN_LO, (V_LIMIT - 1) - YN_HI
#: The narrowest declared output; wider biases widen it to the proven width.
MIN_OUT_BITS = affine.MIN_OUT_BITS
MAX_ITERS = 16


def variance_bound(channels: int, in_bits: int) -> int:
    """The largest ``V = sum (X - MU)^2`` a row of ``channels`` ``in_bits``-bit values can give.

    With ``m`` the exact mean and ``R = 2^in_bits - 1``:
    ``V = sum (X - m)^2 + C (m - MU)^2``; the first term is convex in each ``X``, so it peaks
    with ``floor(C/2)`` values at one end of the range and the rest at the other:
    ``floor(C/2) * ceil(C/2) * R^2 / C``; the second is at most ``C / 4``.
    """
    c = channels
    r = (1 << in_bits) - 1
    bound = Fraction((c // 2) * ((c + 1) // 2) * r * r, c) + Fraction(c, 4)
    return math.floor(bound)


def out_bounds(bias_int: list[int], negate: list[int]) -> tuple[int, int]:
    """Closed bounds of ``OUT`` over all rows: channel ``c`` gives ``YN + BI_c`` in
    ``[YN_LO + BI_c, YN_HI + BI_c]``, negated when ``negate_c = 1``."""
    return affine.out_range((YN_LO, YN_HI), bias_int, negate)


def derive(gamma: np.ndarray, beta: np.ndarray, iters: int, in_bits: int) -> tuple[dict[str, Any], np.ndarray]:
    """The register values of I-LayerNorm and the per-channel output scale ``sf0 * |gamma|``.

    ``out_bits`` is ``max(32, signed width of out_bounds(...))``, at most 63. Raises
    ``ValueError`` naming ``gamma`` (a zero entry, D15), ``in_bits`` (``V`` could reach
    ``2^62``) or ``beta`` (a channel whose ``BI_c`` lets ``|OUT|`` reach ``2^62``)."""
    channels = gamma.size
    zero = affine.first_zero(gamma)
    if zero is not None:
        raise ValueError(
            f"gamma: channel {zero} is 0; every gamma must be non-zero (D15: the integer "
            f"LayerNorm cannot represent a zero scale)"
        )
    if variance_bound(channels, in_bits) >= V_LIMIT:
        ok = max((b for b in range(2, 33) if variance_bound(channels, b) < V_LIMIT), default=None)
        accepted = f"in_bits <= {ok}" if ok is not None else "no in_bits >= 2"
        raise ValueError(
            f"in_bits: with {channels} channels, V = sum Y^2 can reach "
            f"{variance_bound(channels, in_bits)} >= 2^62; accepted for {channels} channels: "
            f"{accepted}, got {in_bits}"
        )
    sf0 = affine.sf0(channels)
    bias_int: list[int] = []
    for c, (g, b) in enumerate(zip(gamma.tolist(), beta.tolist())):
        ratio, bi = affine.bias_int(g, b, sf0)
        if bi is None or not BIAS_LO <= bi <= BIAS_HI:
            shown = bi if bi is not None else f"{ratio!r} (not representable)"
            raise ValueError(
                f"beta: channel {c}: BI = floor((beta/gamma)/sf0) = {shown} lies outside "
                f"[-(2^62 - 2^30 - 1), 2^62 - 2^30], so |OUT| could reach 2^62; accepted: "
                f"beta/gamma within about +-(2^32 - 1) sqrt(C) = +-{BIAS_HI * sf0:.6g}; "
                f"got beta={b!r}, gamma={g!r}"
            )
        bias_int.append(bi)
    negate = [int(g < 0.0) for g in gamma.tolist()]
    config = {
        "channels": channels,
        "iters": iters,
        "k0": K0,
        "numerator": NUMERATOR,
        "bias_int": bias_int,
        "negate": negate,
        "in_bits": in_bits,
        "out_bits": affine.out_width(*out_bounds(bias_int, negate)),
    }
    return config, affine.scale_out(gamma)


@rows_kernel
def _layernorm_rows(x, iters, k0, numerator, bias_int, negate):
    """I-LayerNorm on each row (token); ``bias_int``/``negate`` are per channel."""
    rows, cols = x.shape
    out = np.empty_like(x)
    for i in prange(rows):
        total = 0
        for j in range(cols):
            total += x[i, j]
        mu = nbint.rne_div(total, cols)
        v = 0
        for j in range(cols):
            y = x[i, j] - mu
            v += y * y
        k = k0
        for _ in range(iters):
            k = (k + v // k) // 2
        if k == 0:
            k = 1
        f = numerator // k
        for j in range(cols):
            o = (((x[i, j] - mu) * f) >> 1) + bias_int[j]
            out[i, j] = -o if negate[j] else o
    return out


class IViTLayerNorm(Kernel):
    name = "ivit.layernorm"

    @cached_property
    def _channel_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        return np.asarray(cfg["bias_int"], dtype=np.int64), np.asarray(cfg["negate"], dtype=np.int64)

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        cfg = self.config
        bias, negate = self._channel_arrays
        return _layernorm_rows(rows, cfg["iters"], cfg["k0"], cfg["numerator"], bias, negate)

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        mu = torchint.rne_div(rows.sum(dim=1, keepdim=True), rows.shape[1])
        y = rows - mu
        v = (y * y).sum(dim=1, keepdim=True)
        k = torch.full_like(v, cfg["k0"])
        for _ in range(cfg["iters"]):
            k = torch.div(k + torch.div(v, k, rounding_mode="floor"), 2, rounding_mode="floor")
        k = torch.where(k == 0, torch.ones_like(k), k)
        f = torch.div(torch.full_like(k, cfg["numerator"]), k, rounding_mode="floor")
        o = torch.bitwise_right_shift(y * f, 1) + torchint.as_i64(cfg["bias_int"], rows.device)
        negate = torchint.as_i64(cfg["negate"], rows.device) == 1
        return torch.where(negate, -o, o)


def make(scale_in: Any, gamma: Any, beta: Any, iters: int = 10, in_bits: int = 16) -> IViTLayerNorm:
    """Build I-LayerNorm for per-channel ``gamma``/``beta`` (``docs/ops/ivit.layernorm.md``).

    ``scale_in`` is validated but does not enter the integers: the output scale is
    ``sqrt(C) / 2^30 * |gamma_c|`` whatever the input scale.
    """
    s_in = params.scalar_scale("scale_in", scale_in)
    g = params.float_vector("gamma", gamma)
    b = params.float_vector("beta", beta, length=g.size)
    iters = params.integer("iters", iters, 1, MAX_ITERS)
    in_bits = params.bits("in_bits", in_bits)
    config, scale_out = derive(g, b, iters, in_bits)
    return IViTLayerNorm(
        params={"scale_in": s_in, "gamma": g, "beta": b, "iters": iters, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(config["out_bits"], True),
        scale_out=scale_out,
        channels=g.size,
    )
