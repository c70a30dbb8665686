"""``requant``: dyadic requantisation of an integer tensor to a new scale (decisions D5, D6).

For an input ``z`` with scale ``s_in`` (one float, or one per channel on the last axis), a
target scale ``s_out`` and an integer ``zero_point`` of the output range::

    ratio  = s_in / s_out                       (float64)
    m, c   = dyadic(ratio)                      (2^30 <= m < 2^31, D6)
    y      = rne_shift(z * m, c)                (round half to even, exact integer product)
    out    = saturate(y + zero_point, out_bits, signed)   (D5, at every width)

Widths: ``|z| <= 2^(in_bits-1)`` and ``m < 2^31``, so ``|z * m| < 2^62`` for ``in_bits <= 32``
and ``|y| <= 2^62``; ``zero_point`` lies in the output range, so ``|zero_point| < 2^32`` and
``|y + zero_point| < 2^62 + 2^32 < 2^63``: the sum fits int64. ``c`` must be >= 0, i.e.
``ratio < 2^31``; a larger ratio is refused (every non-zero input would saturate). Any ``c``
above 63 yields ``y = 0`` exactly. See ``docs/ops/requant.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import dyadic_many
from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint, params, torchint
from refmodel.ops.kernel import IntSpec, Kernel


def derive(scale_in: float | np.ndarray, scale_out: float) -> tuple[list[int], list[int]]:
    """Per-channel dyadic multipliers ``(m, c)`` of ``scale_in / scale_out`` (one entry for a
    scalar ``scale_in``). Raises ``ValueError`` when a ratio reaches ``2^31``."""
    ratios = np.atleast_1d(np.asarray(scale_in, dtype=np.float64)) / float(scale_out)
    ms, cs = dyadic_many(ratios)
    for i, c in enumerate(cs):
        if c < 0:
            where = f" (channel {i})" if ratios.size > 1 else ""
            raise ValueError(
                f"scale_in: scale_in / scale_out must be below 2^31, got {float(ratios[i]):.6g}{where}"
            )
    return ms, cs


def shift_columns(m: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column ``(m', c', half)`` with ``rne_shift(p * m, c) == rne_shift_half(p * m', c',
    half)`` for every int64 ``p * m`` (:func:`refmodel.ops.nbint.rne_shift_half`): ``c >= 64``
    gives 0 (``m' = 0``, ``c' = 0``), otherwise ``m' = m``, ``c' = c``; ``half = 2^(c'-1)``, 1
    for ``c' = 0``."""
    wide = c >= 64
    m2 = np.where(wide, 0, m).astype(np.int64)
    c2 = np.where(wide, 0, c).astype(np.int64)
    half = np.where(c2 > 0, np.left_shift(np.int64(1), np.maximum(c2 - 1, 0)), 1).astype(np.int64)
    return m2, c2, half


@rows_kernel
def _requant_rows(z, m, c, half, zp, lo, hi):
    """``out = clamp(rne_shift(z * m, c) + zp, lo, hi)`` with per-column ``m``, ``c``, ``half``
    of :func:`shift_columns`, for non-empty ``z``; returns ``(out, min z, max z)``."""
    rows, cols = z.shape
    out = np.empty_like(z)
    zlo = z[0, 0]
    zhi = z[0, 0]
    for i in prange(rows):
        for j in range(cols):
            v = z[i, j]
            zlo = min(zlo, v)
            zhi = max(zhi, v)
            out[i, j] = nbint.clamp(nbint.rne_shift_half(v * m[j], c[j], half[j]) + zp, lo, hi)
    return out, zlo, zhi


class Requant(Kernel):
    name = "requant"
    reduces_rows = False
    range_in_kernel = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._columns_by_length: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _per_channel(self, cols: int) -> tuple[np.ndarray, np.ndarray]:
        m = np.asarray(self.config["m"], dtype=np.int64).reshape(-1)
        c = np.asarray(self.config["c"], dtype=np.int64).reshape(-1)
        if m.size == 1:
            m, c = np.full(cols, m[0]), np.full(cols, c[0])
        return m, c

    def _shift_columns(self, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`shift_columns` of this op's constants for rows of ``cols`` columns, made
        once per row length (the config does not change after ``make``)."""
        if cols not in self._columns_by_length:
            self._columns_by_length[cols] = shift_columns(*self._per_channel(cols))
        return self._columns_by_length[cols]

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        m, c, half = self._shift_columns(rows.shape[1])
        out, lo, hi = _requant_rows(rows, m, c, half, self.config["zero_point"], self.out_spec.lo, self.out_spec.hi)
        self._check_range(int(lo), int(hi))
        return out

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        m = torchint.as_i64(self.config["m"], rows.device)
        c = torchint.as_i64(self.config["c"], rows.device)
        y = torchint.rne_shift(rows * m, c)
        return (y + self.config["zero_point"]).clamp(self.out_spec.lo, self.out_spec.hi)


def make(
    scale_in: Any,
    scale_out: Any,
    out_bits: int,
    signed: bool = True,
    in_bits: int = 32,
    zero_point: int = 0,
) -> Requant:
    """Build a requantiser from ``scale_in`` (float or per-channel array) to ``scale_out``,
    adding ``zero_point`` (an integer of the output range) before the saturation."""
    s_in = params.scale_scalar_or_vector("scale_in", scale_in)
    s_out = params.scalar_scale("scale_out", scale_out)
    out_bits = params.bits("out_bits", out_bits)
    signed = params.flag("signed", signed)
    in_bits = params.bits("in_bits", in_bits)
    out_spec = IntSpec(out_bits, signed)
    zero_point = params.integer("zero_point", zero_point, out_spec.lo, out_spec.hi)
    ms, cs = derive(s_in, s_out)
    per_channel = np.ndim(s_in) == 1
    config = {
        "m": ms if per_channel else ms[0],
        "c": cs if per_channel else cs[0],
        "in_bits": in_bits,
        "out_bits": out_bits,
        "signed": int(signed),
        "zero_point": zero_point,
    }
    return Requant(
        params={"scale_in": s_in, "scale_out": s_out, "out_bits": out_bits, "signed": signed, "in_bits": in_bits, "zero_point": zero_point},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=out_spec,
        scale_out=s_out,
        channels=len(ms) if per_channel else None,
    )
