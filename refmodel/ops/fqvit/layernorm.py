"""``fqvit.layernorm``: FQ-ViT's LayerNorm on power-of-two-factor (PTF) inputs, integer only
(decisions D8, D9, D14, D15).

Input: one row of ``C`` unsigned ``in_bits`` integers ``q_c`` with per-channel scales
``S_c = S1m * 2^a_c`` (``a_c`` in 0..3) and one zero point ``zp``. Output: signed integers at the
next quantiser's scale ``scale_out``, ``OUT_c ~= (gamma_c (x_c - mu) / sigma + beta_c) / scale_out``
(not clamped: the next quantiser clamps). Per row::

    Xs_c = (q_c - zp) << a_c                       all channels on the S1m grid
    Sx   = sum Xs_c ;  Sxx = sum Xs_c^2 ;  D = C*Sxx - Sx^2       (exact; sigma = S1m*sqrt(D)/C)
    k    = (62 - bitlen(D)) >> 1 ;  s = isqrt(D << 2k)            (s in [2^30, 2^31), D > 0)
    qs   = Sx // C ;  rs = Sx - C*qs                              (mean = qs + rs/C)

and per channel, with the register values ``(m_c, c_c)`` of ``G_c = |gamma_c| C / scale_out``
(``G_c ~= m_c / 2^c_c``), ``sgn_c = sign(gamma_c)`` and ``beta'_c = rne(beta_c / scale_out *
2^(c_c + 22))``, FQ-ViT's per-token affine ``|A| ~= M / 2^N`` with ``A = gamma S1m / (sigma
scale_out) = G_c 2^k / sqrt(D << 2k)``::

    l    = k - c_c - (1 if m_c < s else 0)          floor(log2(m_c 2^(k-c_c) / s)), exactly
    N, M = 0, 255                      if l >= 8   (FQ-ViT's saturation of M)
    N    = min(7 - l, 31) ; e = k - c_c + N ;  M = (m_c << e) // s  (0 if e < 0)   otherwise
    Vb   = beta'_c * 2^(N - c_c + 1)                floor; = 2^N beta/scale_out with 23 fraction bits
    B    = floor(Vb / 2^23 - sgn_c * M * Sx / C + 1/2)   exact rational rounding, half up
    OUT  = rne_shift(sgn_c * M * Xs_c + B, N)          half to even, as FQ-ViT's torch.round

A row with ``D = 0`` (every ``x_c`` equal) takes ``M = 0, N = 0`` (D8: sigma is replaced by 1,
so ``x - mu = 0`` and the output is ``beta_c / scale_out``, rounded). ``B`` uses ``M`` (the
centred form ``M (Xs - mean)``), not FQ-ViT's unrounded ``A``, and rounds half up (which,
unlike half to even, commutes with adding an integer): the output is then exactly invariant to
a common shift of the row. Every intermediate fits int64; :func:`bounds` gives
their ranges and :func:`derive` refuses parameters that would exceed them (D14). See
``docs/ops/fqvit.layernorm.md``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import dyadic, signed_width
from refmodel.jit import prange, rows_kernel, scalar_helper
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec, Kernel

#: FQ-ViT's PTF uses K = 3: channel scales S1 * 2^alpha, alpha in 0..3.
MAX_PTF_SHIFT = 3
#: Widest accepted input (``C * max|Xs|`` must stay below 2^30).
MAX_IN_BITS = 16
#: Fraction bits of ``Vb`` (the term ``2^N beta / scale_out``) before ``B`` is rounded.
B_FRAC = 23
B_ONE = 1 << B_FRAC
B_HALF = 1 << (B_FRAC - 1)
#: Extra fraction bits of the bias register: ``beta'_c = rne(beta_c / scale_out * 2^(c_c + 22))``.
BIAS_FRAC = 22
#: FQ-ViT's mantissa: 8 bits (``get_MN`` hard-codes ``bit = 7``), shift ``N`` in 0..31.
M_MAX = 255
N_MAX = 31
#: ``C * max|Xs|`` stays below this, so ``D < 2^60`` and ``M * rs * 2^23 < 2^61``.
ROW_LIMIT = 1 << 30
#: Bound on ``|Vb|`` and ``|beta'_c|`` (so every sum of two intermediates fits int64).
TERM_LIMIT = 1 << 61
MAX_OUT_BITS = 32
#: ``isqrt`` of ``D << 2k`` (>= 2^60) is within a relative ``2^-30`` of the square root.
SQRT_SLACK = Fraction(1) + Fraction(1, 1 << 29)

Interval = tuple[int, int]


# ---------------------------------------------------------------------------- derivation
def ptf_shifts(scale_in: float | np.ndarray, channels: int) -> list[int]:
    """The shifts ``a_c = log2(S_c / min(S))`` of PTF scales; each ratio must be exactly
    ``2^a``, ``a`` in 0..3 (float64; PTF scales are exact halvings). A scalar gives zeros."""
    if np.ndim(scale_in) == 0:
        return [0] * channels
    scales = np.asarray(scale_in, dtype=np.float64)
    if scales.size != channels:
        raise ValueError(f"scale_in: expected {channels} values (one per channel of gamma), got {scales.size}")
    smallest = float(scales.min())
    shifts = []
    for i, s in enumerate(scales):
        ratio = float(s) / smallest
        a = int(round(math.log2(ratio)))
        if not (0 <= a <= MAX_PTF_SHIFT and ratio == 2.0**a):
            raise ValueError(
                f"scale_in: every S_c / min(S) must be exactly 2^a with a in 0..{MAX_PTF_SHIFT} "
                f"(FQ-ViT PTF scales S1 * 2^alpha); channel {i} has ratio {ratio!r}"
            )
        shifts.append(a)
    return shifts


def floor_log2(num: int, den: int) -> int:
    """``floor(log2(num / den))`` exactly, for positive integers."""
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    return e


def _sqrt_upper(n: int, frac_bits: int = 24) -> Fraction:
    """A rational upper bound of ``sqrt(n)`` within ``2^-frac_bits``."""
    return Fraction(math.isqrt(n << (2 * frac_bits)) + 1, 1 << frac_bits)


def bounds(config: dict[str, Any]) -> dict[str, Interval]:
    """Closed bounds of every named intermediate over all inputs of the configured width
    (``docs/ops/fqvit.layernorm.md``, width table).

    ``XS, SX, SXX, D, K, DN (= D << 2k), S, QS, RS, M, N, VB, VF (= Vb mod 2^23),
    BNUM (the numerator of B's rounded division, half added), B, ACC (= sgn M Xs + B), OUT``.
    ``K``, ``DN`` and ``S`` are bounds over rows with ``D > 0``.
    """
    b, zp, c = config["in_bits"], config["zero_point"], config["channels"]
    shifts = config["shift"]
    top = (1 << b) - 1
    amax = max(shifts)
    xr = top << amax
    xs_lo, xs_hi = -(zp << amax), (top - zp) << amax
    sx_lo, sx_hi = sum(-(zp << a) for a in shifts), sum((top - zp) << a for a in shifts)
    sxx_hi = sum((max(zp, top - zp) << a) ** 2 for a in shifts)
    d_hi = min(c * sxx_hi, (c * c * xr * xr) // 4)
    k_lo = (62 - d_hi.bit_length()) >> 1 if d_hi > 0 else 30
    qs_lo, qs_hi = sx_lo // c, sx_hi // c
    vb_hi = max(vb_max(bias, gc, k_lo) for bias, gc in zip(config["bias"], config["gain_c"]))
    bnum_hi = ((1 << B_FRAC) - 1) * c + M_MAX * (c - 1) * (1 << B_FRAC) + c * B_HALF
    bnum_lo = -M_MAX * (c - 1) * (1 << B_FRAC) + c * B_HALF
    # B = Vb / 2^23 - sgn M mean + (rounding <= 1/2), |mean| <= max|qs| + 1
    b_hi = (vb_hi >> B_FRAC) + 1 + M_MAX * (max(abs(qs_lo), abs(qs_hi)) + 1) + 1
    xs_abs = max(-xs_lo, xs_hi)
    out_hi = max(out_max(m, gc, bias, c) for m, gc, bias in zip(config["gain_m"], config["gain_c"], config["bias"]))
    return {
        "XS": (xs_lo, xs_hi),
        "SX": (sx_lo, sx_hi),
        "SXX": (0, sxx_hi),
        "D": (0, d_hi),
        "K": (k_lo, 30),
        "DN": (1 << 60, (1 << 62) - 1),
        "S": (1 << 30, (1 << 31) - 1),
        "QS": (qs_lo, qs_hi),
        "RS": (0, c - 1),
        "M": (0, M_MAX),
        "N": (0, N_MAX),
        "VB": (-vb_hi, vb_hi),
        "VF": (0, (1 << B_FRAC) - 1),
        "BNUM": (bnum_lo, bnum_hi),
        "B": (-b_hi, b_hi),
        "ACC": (-(M_MAX * xs_abs + b_hi), M_MAX * xs_abs + b_hi),
        "OUT": (-out_hi, out_hi),
    }


def vb_max(bias: int, gain_c: int, k_lo: int) -> int:
    """Bound of ``|Vb| = |beta' * 2^(N - c + 1)|`` (floor): ``N <= 8 + c - k_lo`` because
    ``l = k - c - [m < s] >= k_lo - c - 1`` and ``N <= max(0, 7 - l)``."""
    n_max = min(N_MAX, max(0, 8 + gain_c - k_lo))
    t = n_max - gain_c + 1
    return abs(bias) << t if t > 0 else max(abs(bias), 1)


def out_max(gain_m: int, gain_c: int, bias: int, channels: int) -> int:
    """Bound of ``|OUT|`` for one channel: ``|b~| + G sqrt(C-1) / C * (1 + 2^-29) + 1 + 2^-23``
    with ``b~ = beta' / 2^(c + 22)`` and ``G = m / 2^c``.

    ``M / 2^N <= m 2^(k-c) / s``, ``|Xs - mean| <= sqrt(D) sqrt(C-1) / C`` (Samuelson) and
    ``sqrt(D << 2k) / s <= 1 + 2^-29``; ``B``'s and ``OUT``'s roundings add ``1/2`` each and the
    floor of ``Vb`` at most ``2^-23``.
    """
    beta_t = Fraction(abs(bias)) / Fraction(2) ** (gain_c + BIAS_FRAC)
    gain = Fraction(gain_m) / Fraction(2) ** gain_c
    spread = gain * _sqrt_upper(channels - 1) / channels * SQRT_SLACK if channels > 1 else Fraction(0)
    return math.floor(beta_t + spread + 1 + Fraction(1, 1 << B_FRAC))


def derive(
    shifts: list[int],
    zero_point: int,
    gamma: np.ndarray,
    beta: np.ndarray,
    scale_out: float,
    in_bits: int,
) -> dict[str, Any]:
    """Register values of ``fqvit.layernorm`` (float64 then round, D0):

    - ``gain_m, gain_c``: ``dyadic(|gamma_c| * C / scale_out)`` (D6 form, ``2^30 <= m < 2^31``);
    - ``sign``: ``sign(gamma_c)`` as +1/-1 (D15);
    - ``bias``: ``rne(q * 2^(gain_c + 22))`` with ``q`` the float64 quotient ``beta_c / scale_out``
      (the scaling and the rounding exact);
    - ``shift``: the PTF shifts ``a_c``; ``zero_point``, ``channels``, ``in_bits``;
    - ``b_frac = 23``, ``bias_frac = 22``, ``out_bits`` (the proven output width).

    Raises ``ValueError`` for ``C * max|Xs| >= 2^30`` (``in_bits``), a bias term at or above
    2^61 (``beta``) and an output needing more than 32 bits (``gamma`` or ``beta``).
    """
    channels = len(gamma)
    top = (1 << in_bits) - 1
    xs_abs = max(zero_point, top - zero_point) << max(shifts)
    if channels * xs_abs >= ROW_LIMIT:
        raise ValueError(
            f"in_bits: C * max|Xs| = {channels} * {xs_abs} must be below 2^30 (D14: keeps D and "
            f"the bias division in int64); use fewer channels, a narrower input or smaller PTF shifts"
        )
    gain_m, gain_c, sign, bias = [], [], [], []
    for i, (g, bt) in enumerate(zip(gamma, beta)):
        gain = abs(float(g)) * channels / scale_out
        if not (math.isfinite(gain) and gain > 0.0):
            raise ValueError(f"gamma: |gamma_c| * C / scale_out must be positive and finite; channel {i} gives {gain!r}")
        m, c = dyadic(gain)
        exp = c + BIAS_FRAC
        scaled = Fraction(float(bt) / scale_out)  # the float64 quotient (D0), exactly
        scaled = scaled * (1 << exp) if exp >= 0 else scaled / (1 << -exp)
        beta_reg = _rne_fraction(scaled)
        if abs(beta_reg) >= TERM_LIMIT:
            raise ValueError(
                f"beta: |beta_c| / (|gamma_c| * C) must be below about 2^8 (the bias register "
                f"beta_c/scale_out * 2^(c_c+22) needs {abs(beta_reg).bit_length()} bits; channel {i})"
            )
        gain_m.append(m)
        gain_c.append(c)
        sign.append(1 if g > 0 else -1)
        bias.append(beta_reg)
    config: dict[str, Any] = {
        "channels": channels,
        "in_bits": in_bits,
        "zero_point": zero_point,
        "shift": list(shifts),
        "gain_m": gain_m,
        "gain_c": gain_c,
        "sign": sign,
        "bias": bias,
        "b_frac": B_FRAC,
        "bias_frac": BIAS_FRAC,
    }
    box = bounds(config)
    if box["VB"][1] >= TERM_LIMIT:
        i = max(range(channels), key=lambda j: vb_max(bias[j], gain_c[j], box["K"][0]))
        raise ValueError(
            f"beta: |beta_c| / |gamma_c| is too large for this input range: 2^N beta_c / scale_out "
            f"could reach 2^{box['VB'][1].bit_length() - B_FRAC} (channel {i}); the limit is 2^38"
        )
    out_hi = box["OUT"][1]
    bits = max(2, signed_width(-out_hi, out_hi))
    if bits > MAX_OUT_BITS:
        i = max(range(channels), key=lambda j: out_max(gain_m[j], gain_c[j], bias[j], channels))
        spread = abs(float(gamma[i])) / scale_out * math.sqrt(max(channels - 1, 0))
        name = "gamma" if spread >= abs(float(beta[i])) / scale_out else "beta"
        raise ValueError(
            f"{name}: the output would need {bits} bits (> {MAX_OUT_BITS}): |beta_c| / scale_out + "
            f"|gamma_c| / scale_out * sqrt(C - 1) must stay below 2^31 - 2 (channel {i}; "
            f"scale_out = {scale_out!r})"
        )
    config["out_bits"] = bits
    return config


def _rne_fraction(x: Fraction) -> int:
    """Round half to even of a rational."""
    fl = x.numerator // x.denominator
    rem = x - fl
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2 == 1):
        fl += 1
    return fl


# ---------------------------------------------------------------------------- Numba datapath
@scalar_helper
def _shift_signed(x: int, t: int) -> int:
    """``floor(x * 2^t)``: left shift for ``t >= 0``, arithmetic right shift otherwise."""
    if t >= 0:
        return x << t
    if t < -63:
        t = -63
    return x >> -t


@scalar_helper
def _row_stats(q, i, zp, shift):
    """Per-token step: ``(Sx, D, k, s, qs, rs)`` of row ``i`` (``k = s = 0`` when ``D = 0``)."""
    cols = q.shape[1]
    sx = 0
    sxx = 0
    for j in range(cols):
        x = (q[i, j] - zp) << shift[j]
        sx += x
        sxx += x * x
    d = cols * sxx - sx * sx
    k = 0
    s = 0
    if d > 0:
        k = (62 - nbint.bit_length(d)) >> 1
        s = nbint.isqrt(d << (2 * k))
    qs = sx // cols
    rs = sx - qs * cols
    return sx, d, k, s, qs, rs


@scalar_helper
def _affine(d, k, s, qs, rs, cols, gm, gc, sg, bias):
    """Per-(token, channel) step: FQ-ViT's ``(M, N, B)``."""
    m = 0
    n = 0
    if d > 0:
        lg = k - gc
        if gm < s:
            lg -= 1
        if lg >= 8:
            m = M_MAX
        else:
            n = 7 - lg
            if n > N_MAX:
                n = N_MAX
            e = k - gc + n
            if e >= 0:
                m = (gm << e) // s
    vb = _shift_signed(bias, n - gc + 1)
    vi = vb >> B_FRAC
    vf = vb - (vi << B_FRAC)
    num = vf * cols - sg * m * rs * B_ONE
    b = vi - sg * m * qs + (num + cols * B_HALF) // (cols * B_ONE)
    return m, n, b


@rows_kernel
def _layernorm_rows(q, zp, shift, gm, gc, sg, bias):
    rows, cols = q.shape
    out = np.empty_like(q)
    for i in prange(rows):
        sx, d, k, s, qs, rs = _row_stats(q, i, zp, shift)
        for j in range(cols):
            m, n, b = _affine(d, k, s, qs, rs, cols, gm[j], gc[j], sg[j], bias[j])
            x = (q[i, j] - zp) << shift[j]
            out[i, j] = nbint.rne_shift(sg[j] * m * x + b, n)
    return out


@rows_kernel
def _affine_rows(q, zp, shift, gm, gc, sg, bias):
    rows, cols = q.shape
    m_out = np.empty_like(q)
    n_out = np.empty_like(q)
    b_out = np.empty_like(q)
    for i in prange(rows):
        sx, d, k, s, qs, rs = _row_stats(q, i, zp, shift)
        for j in range(cols):
            m, n, b = _affine(d, k, s, qs, rs, cols, gm[j], gc[j], sg[j], bias[j])
            m_out[i, j] = m
            n_out[i, j] = n
            b_out[i, j] = b
    return m_out, n_out, b_out


# ---------------------------------------------------------------------------- PyTorch twin
def _bit_length(x: torch.Tensor) -> torch.Tensor:
    """Exact bit length of non-negative int64 values: the float64 exponent, corrected where
    the conversion rounded up to a power of two."""
    exponent = torch.frexp(x.to(torch.float64)).exponent.to(torch.int64)
    exponent = torch.where(x > 0, exponent, torch.zeros_like(exponent))
    low = torch.bitwise_left_shift(torch.ones_like(x), (exponent - 1).clamp(min=0, max=62))
    return exponent - ((x > 0) & (x < low)).to(torch.int64)


def _shift_signed_t(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    left = torch.bitwise_left_shift(x, t.clamp(min=0, max=63))
    right = torch.bitwise_right_shift(x, (-t).clamp(min=0, max=63))
    return torch.where(t >= 0, left, right)


def _twin_affine(rows: torch.Tensor, cfg: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    """Vectorised ``(Xs, M, N, B)`` of every (token, channel)."""
    dev = rows.device
    cols = rows.shape[1]
    shift = torchint.as_i64(cfg["shift"], dev)
    gm = torchint.as_i64(cfg["gain_m"], dev)
    gc = torchint.as_i64(cfg["gain_c"], dev)
    sg = torchint.as_i64(cfg["sign"], dev)
    bias = torchint.as_i64(cfg["bias"], dev)
    xs = torch.bitwise_left_shift(rows - cfg["zero_point"], shift)
    sx = xs.sum(dim=1, keepdim=True)
    d = cols * (xs * xs).sum(dim=1, keepdim=True) - sx * sx
    live = d > 0
    k = torch.where(live, torch.bitwise_right_shift(62 - _bit_length(d), 1), torch.zeros_like(d))
    s = torchint.isqrt(torch.bitwise_left_shift(d, 2 * k))
    s_safe = torch.where(live, s, torch.ones_like(s))
    qs = torchint.floor_div(sx, cols)
    rs = sx - qs * cols

    lg = k - gc - (gm < s).to(torch.int64)
    saturated = lg >= 8
    n = torch.where(saturated, torch.zeros_like(lg), (7 - lg).clamp(max=N_MAX))
    e = k - gc + n
    m_div = torchint.floor_div(torch.bitwise_left_shift(gm, e.clamp(min=0, max=8)), s_safe)
    m = torch.where(saturated, torch.full_like(m_div, M_MAX), torch.where(e >= 0, m_div, torch.zeros_like(m_div)))
    m = torch.where(live, m, torch.zeros_like(m))
    n = torch.where(live, n, torch.zeros_like(n))

    vb = _shift_signed_t(bias.expand_as(n), n - gc + 1)
    vi = torch.bitwise_right_shift(vb, B_FRAC)
    vf = vb - torch.bitwise_left_shift(vi, B_FRAC)
    num = vf * cols - sg * m * rs * (1 << B_FRAC)
    b = vi - sg * m * qs + torchint.floor_div(num + (cols << (B_FRAC - 1)), cols << B_FRAC)
    return xs, m, n, b


class FqvitLayerNorm(Kernel):
    name = "fqvit.layernorm"

    def _arrays(self) -> tuple[np.ndarray, ...]:
        cfg = self.config
        return tuple(np.asarray(cfg[key], dtype=np.int64) for key in ("shift", "gain_m", "gain_c", "sign", "bias"))

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        return _layernorm_rows(rows, self.config["zero_point"], *self._arrays())

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        xs, m, n, b = _twin_affine(rows, self.config)
        sg = torchint.as_i64(self.config["sign"], rows.device)
        return torchint.rne_shift(sg * m * xs + b, n)

    def sim_affine(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """The per-(token, channel) datapath values ``M``, ``N``, ``B`` (Numba), each of
        ``q``'s shape: ``OUT = rne_shift(sign * M * Xs + B, N)``."""
        arr, rows = self._sim_input(q)
        if rows.shape[0] == 0:
            empty = np.zeros(arr.shape, dtype=np.int64)
            return {"M": empty, "N": empty.copy(), "B": empty.copy()}
        m, n, b = _affine_rows(rows, self.config["zero_point"], *self._arrays())
        return {"M": m.reshape(arr.shape), "N": n.reshape(arr.shape), "B": b.reshape(arr.shape)}

    def twin_affine(self, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """The PyTorch twin's ``M``, ``N``, ``B`` of every (token, channel)."""
        rows = self._twin_input(t)
        _, m, n, b = _twin_affine(rows, self.config)
        return {"M": m.reshape(t.shape), "N": n.reshape(t.shape), "B": b.reshape(t.shape)}

    def datapath(self, q: np.ndarray) -> dict[str, np.ndarray]:
        return self.sim_affine(q)

    def twin_datapath(self, t: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.twin_affine(t)


def make(
    scale_in: Any,
    zero_point: Any,
    gamma: Any,
    beta: Any,
    scale_out: Any,
    in_bits: int = 8,
) -> FqvitLayerNorm:
    """Build FQ-ViT's integer LayerNorm for unsigned ``in_bits`` inputs with PTF scales
    ``scale_in`` (one float, or ``S1 * 2^alpha_c`` per channel), one ``zero_point``, the float
    ``gamma``/``beta`` and the next quantiser's ``scale_out``."""
    in_bits = params.bits("in_bits", in_bits, params.MIN_BITS, MAX_IN_BITS)
    gamma_v = params.float_vector("gamma", gamma)
    channels = gamma_v.size
    beta_v = params.float_vector("beta", beta, channels)
    if np.any(gamma_v == 0.0):
        i = int(np.flatnonzero(gamma_v == 0.0)[0])
        raise ValueError(f"gamma: every gamma_c must be non-zero (D15: integer LayerNorms cannot represent 0); channel {i} is 0")
    s_in = params.scale_scalar_or_vector("scale_in", scale_in)
    shifts = ptf_shifts(s_in, channels)
    zp = params.integer("zero_point", zero_point, 0, (1 << in_bits) - 1)
    s_out = params.scalar_scale("scale_out", scale_out)
    config = derive(shifts, zp, gamma_v, beta_v, s_out, in_bits)
    return FqvitLayerNorm(
        params={"scale_in": s_in, "zero_point": zp, "gamma": gamma_v, "beta": beta_v, "scale_out": s_out, "in_bits": in_bits},
        config=config,
        in_spec=IntSpec(in_bits, False),
        out_spec=IntSpec(config["out_bits"], True),
        scale_out=s_out,
        channels=channels,
    )
