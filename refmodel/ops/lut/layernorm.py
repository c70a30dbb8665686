"""``lut.layernorm``: integer LayerNorm with ``1/sqrt(V)`` from a leading-one detector and a
``2^k``-entry mantissa table (``k = table_bits``).

For one row ``X`` of ``C`` integers (signed ``in_bits``), mean and variance exactly as
``ibert.layernorm``::

    MU  = rne_div(sum_j X_j, C) ;  Y = X - MU ;  V = sum_j (Y_j >> shift)^2 ;  V = 0 -> 1 (D8)
    L   = bit_length(V) - 1 ;  e = L >> 1 ;  p = L & 1               (V = 2^(2e+p) * v, v in [1, 2))
    f   = the k-1 bits of V after its leading one                  (zero-padded when L < k-1)
    T   = table[p * 2^(k-1) + f]                                   (~ 2^30 / sqrt(2^p v))
    YN  = rne_shift(Y * T, e + shift)                              (~ 2^30 Y / (2^shift sqrt(V)))
    OUT_c = sign(gamma_c) * (YN_c + BI_c)

with the table ``table[p * 2^(k-1) + f] = rne(2^30 / sqrt(2^p * (1 + (2f + 1) / 2^k)))``
(float64, round half to even: the reciprocal square root at the middle of the mantissa
interval) and the affine constants of ``refmodel.ops.layernorm_affine`` (``sf0 = sqrt(C) /
2^30``, ``BI_c = floor((beta_c / gamma_c) / sf0)``, ``scale_out_c = sf0 |gamma_c|``).

Error (``docs/ops/lut.layernorm.md``): with ``Z = 2^30 Y / (2^shift sqrt(V))`` the exact
normalisation of the integer row, ``|YN - Z| <= 1/2 + eps_k |Z|``,
``eps_k = 2^-(k+1) + 2^-(2k+1) + 2^-29`` (:func:`eps`).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import layernorm_affine as affine
from refmodel.ops import nbint, params, torchint
from refmodel.ops.ibert.layernorm import LIMIT, MAX_SHIFT, max_in_bits, v_max
from refmodel.ops.kernel import IntSpec, Kernel

#: The table holds ``2^Q / sqrt(m)``.
Q_BITS = 30
MIN_TABLE_BITS, MAX_TABLE_BITS = 1, 16

Interval = tuple[int, int]


def rsqrt_table(table_bits: int) -> list[int]:
    """``rne(2^30 / sqrt(2^p * (1 + (2f + 1) / 2^k)))`` for ``p`` in ``{0, 1}`` and ``f`` in
    ``[0, 2^(k-1))``, in index order ``p * 2^(k-1) + f``."""
    k = table_bits
    half = 1 << (k - 1)
    return [round(2.0**Q_BITS / math.sqrt(float(1 << p) * (1.0 + (2 * f + 1) / 2.0**k))) for p in (0, 1) for f in range(half)]


def eps(table_bits: int) -> float:
    """The proven relative error bound of ``T * 2^-(30+e)`` against ``1 / sqrt(V)``:
    ``2^-(k+1) + 2^-(2k+1) + 2^-29``."""
    k = table_bits
    return 2.0 ** -(k + 1) + 2.0 ** -(2 * k + 1) + 2.0**-29


def yn_bounds(shift: int, table_bits: int) -> Interval:
    """Closed bounds of ``YN`` over every row: ``Y_j < 0`` gives ``|Y_j| <= 2^shift sqrt(V)``,
    so ``YN >= -(2^30 (1 + eps) + 1/2)``; ``Y_j >= 0`` gives ``Y_j < 2^shift (sqrt(V) + 1)``,
    so ``YN <= 2^30 (1 + [shift > 0]) (1 + eps) + 1/2`` (``V >= 1``; the replaced ``V = 0``
    has ``0 <= Y_j < 2^shift`` and ``YN <= T[0] < 2^30``)."""
    one = 2.0**Q_BITS * (1.0 + eps(table_bits))
    return -math.floor(one + 0.5), math.floor(one * (2 if shift else 1) + 0.5)


def bounds(config: dict[str, Any]) -> dict[str, Interval]:
    """Closed bounds of the named intermediates: ``V``, ``L``, ``E`` (``e``), ``T``, ``YT``
    (``Y * T``), ``YN``, ``OUT``."""
    b, s, c, k = config["in_bits"], config["shift"], config["channels"], config["index_bits"]
    vmax = max(1, v_max(b, s, c))
    lmax = vmax.bit_length() - 1
    table = config["table"]
    y = (1 << b) - 1
    yn = yn_bounds(s, k)
    return {
        "V": (1, vmax),
        "L": (0, lmax),
        "E": (0, lmax >> 1),
        "T": (min(table), max(table)),
        "YT": (-y * max(table), y * max(table)),
        "YN": yn,
        "OUT": affine.out_range(yn, config["bi"], [g < 0 for g in config["gamma_sign"]]),
    }


def derive(gamma: np.ndarray, beta: np.ndarray, shift: int, in_bits: int, table_bits: int) -> dict[str, Any]:
    """Register values: the mantissa table, ``bi`` and ``gamma_sign`` per channel, ``shift``,
    ``index_bits`` (``k = table_bits``: the table's index width; not named ``table_bits``, which
    would clash with the width the vector-set export gives the list ``table``), ``channels``,
    ``in_bits`` and ``out_bits`` (32, or the proven width of ``OUT`` when wider).

    Raises ``ValueError`` naming ``gamma`` (a zero entry, D15), ``in_bits`` (``V`` could
    reach ``2^62``) or ``beta`` (``|OUT|`` could reach ``2^62``)."""
    channels = int(gamma.size)
    zero = affine.first_zero(gamma)
    if zero is not None:
        raise ValueError(
            f"gamma: must be non-zero in every channel (integer LayerNorm cannot represent gamma = 0); channel {zero} is 0"
        )
    if v_max(in_bits, shift, channels) >= LIMIT:
        raise ValueError(
            f"in_bits: {in_bits} lets V reach 2^62 for C={channels}, shift={shift}; accepted range "
            f"[{params.MIN_BITS}, {max_in_bits(shift, channels)}]"
        )
    yn_lo, yn_hi = yn_bounds(shift, table_bits)
    bi_lo, bi_hi = -(LIMIT - 1) - yn_lo, (LIMIT - 1) - yn_hi
    sf0 = affine.sf0(channels)
    bis = []
    for c, (g, b) in enumerate(zip(gamma.tolist(), beta.tolist())):
        q, bi = affine.bias_int(g, b, sf0)
        if bi is None or not bi_lo <= bi <= bi_hi:
            raise ValueError(
                f"beta: channel {c}: BI = floor((beta/gamma) / sf0) = {q:.6g} must lie in [{bi_lo}, {bi_hi}] "
                f"so that |OUT| < 2^62 (|beta/gamma| below about {min(-bi_lo, bi_hi) * sf0:.4g} for C={channels})"
            )
        bis.append(bi)
    config: dict[str, Any] = {
        "table": rsqrt_table(table_bits),
        "bi": bis,
        "gamma_sign": [1 if g > 0 else -1 for g in gamma.tolist()],
        "shift": shift,
        "index_bits": table_bits,
        "channels": channels,
        "in_bits": in_bits,
    }
    config["out_bits"] = affine.out_width(*bounds(config)["OUT"])
    return config


@rows_kernel
def _layernorm_rows(x, shift, table, mant_bits, bi, sgn):
    rows, cols = x.shape
    out = np.empty_like(x)
    mask = (np.int64(1) << mant_bits) - 1
    for i in prange(rows):
        total = 0
        for j in range(cols):
            total += x[i, j]
        mu = nbint.rne_div(total, cols)
        v = 0
        for j in range(cols):
            q = (x[i, j] - mu) >> shift
            v += q * q
        if v == 0:
            v = 1
        lead = nbint.bit_length(v) - 1
        if lead >= mant_bits:
            f = (v >> (lead - mant_bits)) & mask
        else:
            f = (v << (mant_bits - lead)) & mask
        t = table[((lead & 1) << mant_bits) + f]
        sh = (lead >> 1) + shift
        for j in range(cols):
            yn = nbint.rne_shift((x[i, j] - mu) * t, sh)
            out[i, j] = sgn[j] * (yn + bi[j])
    return out


class LutLayerNorm(Kernel):
    name = "lut.layernorm"
    reduces_rows = True

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.config
        return tuple(np.asarray(cfg[key], dtype=np.int64) for key in ("table", "bi", "gamma_sign"))  # type: ignore[return-value]

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        table, bi, sgn = self._arrays
        return _layernorm_rows(rows, self.config["shift"], table, self.config["index_bits"] - 1, bi, sgn)

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        shift, mant = cfg["shift"], cfg["index_bits"] - 1
        table = torchint.as_i64(cfg["table"], rows.device)
        mu = torchint.rne_div(rows.sum(dim=1, keepdim=True), rows.shape[1])
        y = rows - mu
        q = torch.bitwise_right_shift(y, shift)
        v = (q * q).sum(dim=1, keepdim=True).clamp(min=1)
        lead = torchint.bit_length(v) - 1
        # The k-1 bits after the leading one: shift V so its leading one lands at bit k-1.
        aligned = torch.where(
            lead >= mant,
            torch.bitwise_right_shift(v, (lead - mant).clamp(min=0)),
            torch.bitwise_left_shift(v, (mant - lead).clamp(min=0)),
        )
        index = (lead % 2) * (1 << mant) + (aligned - (1 << mant))
        t = torch.take(table, index)
        yn = torchint.rne_shift(y * t, torch.div(lead, 2, rounding_mode="floor") + shift)
        return torchint.as_i64(cfg["gamma_sign"], rows.device) * (yn + torchint.as_i64(cfg["bi"], rows.device))


def make(scale_in: Any, gamma: Any, beta: Any, shift: int = 0, in_bits: int = 16, table_bits: int = 8) -> LutLayerNorm:
    """Build the table LayerNorm over ``C = len(gamma)`` channels for a signed ``in_bits``-wide
    input of scale ``scale_in`` (``docs/ops/lut.layernorm.md``)."""
    s_in = params.scalar_scale("scale_in", scale_in)
    g = params.float_vector("gamma", gamma)
    b = params.float_vector("beta", beta, length=g.size)
    shift = params.integer("shift", shift, 0, MAX_SHIFT)
    in_bits = params.bits("in_bits", in_bits)
    table_bits = params.integer("table_bits", table_bits, MIN_TABLE_BITS, MAX_TABLE_BITS)
    config = derive(g, b, shift, in_bits, table_bits)
    return LutLayerNorm(
        params={"scale_in": s_in, "gamma": g, "beta": b, "shift": shift, "in_bits": in_bits, "table_bits": table_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(config["out_bits"], True),
        scale_out=affine.scale_out(g),
        channels=int(g.size),
    )
