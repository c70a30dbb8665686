"""``ibert.gelu``: I-BERT's i-GELU, ``GELU(x) = x/2 * (1 + erf(x/sqrt2))`` with a clipped
second-order erf polynomial (Kim et al., 2021), in exact int64 arithmetic.

For an input ``X`` with scale ``s`` (one float, or one per channel on the last axis) the
per-channel constants (float64 then floor, decision D0) are::

    se   = s / 1.4142
    Bg   = floor(-1.769 / se)                    (negative)
    Cg   = floor((1 / -0.2888) / se^2)           (negative)
    sigS = se^2 * (-0.2888) * 2^14               (negative: the scale of Y + One)
    One  = floor(1 / sigS)                       (negative: "+1.0" in units of sigS)

and each element is::

    A   = min(|X|, -Bg)                          clip |x / sqrt2| at 1.769
    Y   = sign(X) * ((A + Bg)^2 + Cg)            erf(x / sqrt2) in units of -0.2888 se^2
    Y   = Y >> 14                                floor
    OUT = -(X * (Y + One))                       X (1 + erf), negated (D15)

The method's natural output scale ``s * sigS / 2`` is negative; refmodel negates the integers
instead (D15), so ``OUT * scale_out ~= GELU(X * s)`` with ``scale_out = |s * sigS / 2|``.

Widths: every intermediate is bounded from the constants and ``in_bits`` by :func:`bounds`;
scales for which any bound reaches ``2^62`` are refused (D14). ``OUT`` is wider than 32 bits
at realistic scales (49 bits at ``s = 1e-4``, ``in_bits = 32``); ``out_spec`` declares the
derived width. See ``docs/ops/ibert.gelu.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import signed_width
from refmodel.jit import prange, rows_kernel
from refmodel.ops import params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

SQRT2 = 1.4142
ERF_A = -0.2888
ERF_B = -1.769
N_SHIFT = 14
#: Every intermediate must stay below this magnitude (int64 with a margin, D14).
LIMIT = 1 << 62
#: Outside ``[1/MAX_SCALE, MAX_SCALE]`` ``se * se`` would leave float64's normal range (far
#: beyond any useful scale; the int64 limit refuses small scales long before).
MAX_SCALE = 1e150

Interval = tuple[int, int]


def channel_constants(s: float) -> tuple[int, int, int, float]:
    """``(Bg, Cg, One, sigS)`` for one channel scale ``s`` (float64 then floor, D0)."""
    se = s / SQRT2
    bg = math.floor(ERF_B / se)
    cg = math.floor((1.0 / ERF_A) / (se * se))
    sig = se * se * ERF_A * 2.0**N_SHIFT
    one = math.floor(1.0 / sig)
    return bg, cg, one, sig


#: The intermediates of one channel, in the order :func:`channel_bounds` lists them.
SIGNALS = ("A", "D", "D2", "P", "Y", "YS", "Z", "XZ", "OUT")


@functools.lru_cache(maxsize=1 << 14)
def channel_bounds(bg: int, cg: int, one: int, in_bits: int) -> Mapping[str, Interval]:
    """Closed bounds of every intermediate of one channel over all inputs
    ``X in [-2^(in_bits-1), 2^(in_bits-1) - 1]``, as exact Python ints.

    Names: ``A = min(|X|, -Bg)``, ``D = A + Bg``, ``D2 = D^2``, ``P = D2 + Cg``,
    ``Y = sign(X) * P``, ``YS = Y >> 14``, ``Z = YS + One``, ``XZ = X * Z``, ``OUT = -XZ``.
    The inputs are split into five segments: ``X = 0`` (``A = 0``, ``Y = 0``), and for each
    sign the unclipped part ``1 <= |X| <= -Bg`` and the clipped part ``|X| > -Bg`` (where
    ``A = -Bg`` and ``Z`` is one constant). On each segment ``(A + Bg)^2`` is monotone in
    ``A``, so every range is reached at the segment's ends; ``XZ`` is the interval product.
    The result is the union over the segments (kept for the last 16384 channels asked: every
    make asks twice, once to refuse and once for the proof).
    """
    m = 1 << (in_bits - 1)
    p0 = bg * bg + cg
    lo = [0, bg, bg * bg, p0, 0, 0, one, 0, 0]  # the segment X = 0
    hi = list(lo)
    for sgn, abs_max in ((1, m - 1), (-1, m)):
        segments = [(1, min(abs_max, -bg), False)]
        if -bg < abs_max:
            segments.append((-bg + 1, abs_max, True))
        for abs_lo, abs_hi, clipped in segments:
            a = (-bg, -bg) if clipped else (abs_lo, abs_hi)
            d = (a[0] + bg, a[1] + bg)
            d2 = (d[1] * d[1], d[0] * d[0])
            p = (d2[0] + cg, d2[1] + cg)
            y = p if sgn > 0 else (-p[1], -p[0])
            ys = (y[0] >> N_SHIFT, y[1] >> N_SHIFT)
            z = (ys[0] + one, ys[1] + one)
            x = (abs_lo, abs_hi) if sgn > 0 else (-abs_hi, -abs_lo)
            corners = (x[0] * z[0], x[0] * z[1], x[1] * z[0], x[1] * z[1])
            xz = (min(corners), max(corners))
            for i, (l, h) in enumerate((a, d, d2, p, y, ys, z, xz, (-xz[1], -xz[0]))):
                if l < lo[i]:
                    lo[i] = l
                if h > hi[i]:
                    hi[i] = h
    return MappingProxyType(dict(zip(SIGNALS, zip(lo, hi))))


def bounds(config: dict[str, Any]) -> dict[str, Interval]:
    """:func:`channel_bounds` united over every channel of a derived ``config``."""
    bgs, cgs, ones = (np.atleast_1d(config[k]).tolist() for k in ("bg", "cg", "one"))
    per_channel = [channel_bounds(b, c, o, config["in_bits"]) for b, c, o in zip(bgs, cgs, ones)]
    return {k: (min(pc[k][0] for pc in per_channel), max(pc[k][1] for pc in per_channel)) for k in SIGNALS}


def _channel_problem(s: float, in_bits: int) -> str | None:
    """Why scale ``s`` cannot be accepted at ``in_bits`` (``None`` when it can)."""
    if not 1.0 / MAX_SCALE <= s <= MAX_SCALE:
        return "se^2 must stay a normal float64"
    bg, cg, one, _ = channel_constants(s)
    b = channel_bounds(bg, cg, one, in_bits)
    for name, (lo, hi) in b.items():
        if max(-lo, hi) >= LIMIT:
            return f"{name} would reach {max(-lo, hi).bit_length()} bits (limit 2^62)"
    # OUT = X * T(X) with T = -Z >= 1 for X > 0 makes OUT increasing on X >= 0; Z <= 0 for
    # X < 0 keeps negative inputs at a non-positive output. Both hold for every finite scale
    # tried; they are checked rather than assumed.
    if ((((1 + bg) ** 2 + cg) >> N_SHIFT) + one) > -1:
        return "the i-GELU factor at X = 1 is not positive (output would not be monotone)"
    a_neg = min(1 << (in_bits - 1), -bg)
    if ((-(cg + (a_neg + bg) ** 2)) >> N_SHIFT) + one > 0:
        return "the i-GELU factor for negative X would change sign"
    return None


def min_scale(in_bits: int) -> float:
    """The smallest scale (by bisection, far below 1e-6 relative) that :func:`derive` accepts;
    below it some intermediate would reach ``2^62``. Used for error messages and the doc."""
    lo, hi = math.log(1e-30), math.log(1.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _channel_problem(math.exp(mid), in_bits) is None:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


def derive(scale_in: float | np.ndarray, in_bits: int) -> dict[str, Any]:
    """The register values of ``ibert.gelu``: ``bg``, ``cg``, ``one`` (one int, or a list per
    channel), ``n`` (the shift, 14), ``in_bits`` and ``out_bits`` (the width of ``OUT``
    derived from :func:`bounds`). Raises ``ValueError("scale_in: ...")`` for a scale whose
    intermediates would reach ``2^62`` (D14)."""
    scales = np.atleast_1d(np.asarray(scale_in, dtype=np.float64))
    bgs, cgs, ones = [], [], []
    for i, s in enumerate(scales.tolist()):
        problem = _channel_problem(s, in_bits)
        if problem is not None:
            where = f" (channel {i})" if np.ndim(scale_in) == 1 else ""
            raise ValueError(
                f"scale_in: {s!r}{where} is outside the accepted range "
                f"[{min_scale(in_bits):.4g}, {MAX_SCALE:g}] for in_bits={in_bits}: {problem}"
            )
        bg, cg, one, _ = channel_constants(s)
        bgs.append(bg)
        cgs.append(cg)
        ones.append(one)
    per_channel = np.ndim(scale_in) == 1
    config: dict[str, Any] = {
        "bg": bgs if per_channel else bgs[0],
        "cg": cgs if per_channel else cgs[0],
        "one": ones if per_channel else ones[0],
        "n": N_SHIFT,
        "in_bits": in_bits,
    }
    lo, hi = bounds(config)["OUT"]
    config["out_bits"] = signed_width(lo, hi)
    return config


def output_scale(scale_in: float | np.ndarray) -> float | np.ndarray:
    """``|s * sigS / 2|`` per channel: the positive scale of the negated output (D15)."""
    if np.ndim(scale_in) == 0:
        s = float(scale_in)
        return abs(s * channel_constants(s)[3] / 2.0)
    return np.array([abs(s * channel_constants(s)[3] / 2.0) for s in np.asarray(scale_in).tolist()])


@rows_kernel
def _gelu_rows(x, bg, cg, one):
    rows, cols = x.shape
    out = np.empty_like(x)
    for i in prange(rows):
        for j in range(cols):
            v = x[i, j]
            a = -v if v < 0 else v
            if a > -bg[j]:
                a = -bg[j]
            d = a + bg[j]
            p = d * d + cg[j]
            if v < 0:
                p = -p
            elif v == 0:
                p = 0
            out[i, j] = -(v * ((p >> 14) + one[j]))
    return out


class IbertGelu(Kernel):
    name = "ibert.gelu"
    reduces_rows = False

    def _per_channel(self, key: str, cols: int) -> np.ndarray:
        vals = np.asarray(self.config[key], dtype=np.int64).reshape(-1)
        return np.full(cols, vals[0], dtype=np.int64) if vals.size == 1 else vals

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        cols = rows.shape[1]
        return _gelu_rows(rows, *(self._per_channel(k, cols) for k in ("bg", "cg", "one")))

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        bg = torchint.as_i64(self.config["bg"], rows.device)
        cg = torchint.as_i64(self.config["cg"], rows.device)
        one = torchint.as_i64(self.config["one"], rows.device)
        a = torch.minimum(rows.abs(), -bg)
        d = a + bg
        y = torch.sign(rows) * (d * d + cg)
        y = torch.bitwise_right_shift(y, self.config["n"])
        return -(rows * (y + one))


def make(scale_in: Any, in_bits: int = 32) -> IbertGelu:
    """Build i-GELU for an input of scale ``scale_in`` (float or per-channel array) and
    signed width ``in_bits`` (2..32)."""
    s_in = params.scale_scalar_or_vector("scale_in", scale_in)
    in_bits = params.bits("in_bits", in_bits)
    config = derive(s_in, in_bits)
    per_channel = np.ndim(s_in) == 1
    return IbertGelu(
        params={"scale_in": s_in, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(config["out_bits"], True),
        scale_out=output_scale(s_in),
        channels=len(s_in) if per_channel else None,
    )
