"""``requant_add``: the residual join. Two integer tensors of different scales are requantised
to one output scale, each branch rounded and saturated on its own, then summed and saturated
(I-ViT's ``fixedpoint_mul`` with an identity, saturated at every width: D5, D6).

Inputs, by name: ``a`` (e.g. an accumulator, scale one float or one per channel of the last
axis) and ``b`` (e.g. the residual identity; broadcastable to ``a``'s shape)::

    m_a, c_a = dyadic(scale_a / scale_out)           per channel, as ``requant``
    m_b, c_b = dyadic(scale_b / scale_out)
    ya  = saturate_32(rne_shift(a * m_a, c_a))       branch registers, 32-bit
    yb  = saturate_32(rne_shift(b * m_b, c_b))
    s   = ya + yb                                    33 bits
    out = saturate(s, out_bits, signed)

``|a|, |b| <= 2^31`` and ``m < 2^31`` keep each product below ``2^62``. The output has
``a``'s shape and scale ``scale_out``. See ``docs/ops/requant_add.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import int_range, rne_shift, saturate
from refmodel.jit import prange, rows_kernel
from refmodel.ops import nbint, params, scan, torchint
from refmodel.ops.kernel import IntSpec, Kernel
from refmodel.ops.requant import derive as derive_dyadic
from refmodel.ops.requant import shift_columns

#: Width of each branch's register before the sum (what I-ViT's requantiser produces).
BRANCH_BITS = 32


def _branch_range(lo: int, hi: int, ms: list[int], cs: list[int]) -> tuple[int, int]:
    """The range of ``saturate_32(rne_shift(x * m, c))`` over ``x`` in ``[lo, hi]`` and every
    channel (the map is monotone in ``x``)."""
    ys = [(saturate(rne_shift(lo * m, c), BRANCH_BITS), saturate(rne_shift(hi * m, c), BRANCH_BITS)) for m, c in zip(ms, cs)]
    return min(y for y, _ in ys), max(y for _, y in ys)


@rows_kernel
def _requant_add_rows(a, b, ma, ca, ha, mb, cb, hb, blo, bhi, lo, hi):
    """The join on non-empty rows of ``a`` and ``b`` with per-column constants of
    :func:`refmodel.ops.requant.shift_columns`; returns ``(out, min a, max a, min b, max b)``."""
    rows, cols = a.shape
    out = np.empty_like(a)
    alo = a[0, 0]
    ahi = a[0, 0]
    b_lo = b[0, 0]
    b_hi = b[0, 0]
    for i in prange(rows):
        for j in range(cols):
            x = a[i, j]
            y = b[i, j]
            alo = min(alo, x)
            ahi = max(ahi, x)
            b_lo = min(b_lo, y)
            b_hi = max(b_hi, y)
            ya = nbint.clamp(nbint.rne_shift_half(x * ma[j], ca[j], ha[j]), blo, bhi)
            yb = nbint.clamp(nbint.rne_shift_half(y * mb[j], cb[j], hb[j]), blo, bhi)
            out[i, j] = nbint.clamp(ya + yb, lo, hi)
    return out, alo, ahi, b_lo, b_hi


class RequantAdd(Kernel):
    name = "requant_add"
    reduces_rows = False
    inputs = ("a", "b")
    range_in_kernel = True

    def _constants(self, cols: int) -> list[np.ndarray]:
        """``m', c', half`` of :func:`refmodel.ops.requant.shift_columns` for ``a``, then ``b``."""
        m_a, c_a, m_b, c_b = (np.broadcast_to(np.asarray(self.config[key], dtype=np.int64), (cols,)) for key in ("m_a", "c_a", "m_b", "c_b"))
        return [*shift_columns(m_a, c_a), *shift_columns(m_b, c_b)]

    def bounds(self) -> dict[str, tuple[int, int]]:
        cfg = self.config
        ya = _branch_range(self.in_specs["a"].lo, self.in_specs["a"].hi, *(np.atleast_1d(cfg[k]).tolist() for k in ("m_a", "c_a")))
        yb = _branch_range(self.in_specs["b"].lo, self.in_specs["b"].hi, *(np.atleast_1d(cfg[k]).tolist() for k in ("m_b", "c_b")))
        s = (ya[0] + yb[0], ya[1] + yb[1])
        lo, hi = self.out_spec.lo, self.out_spec.hi
        return {"YA": ya, "YB": yb, "S": s, "OUT": (min(max(s[0], lo), hi), max(min(s[1], hi), lo))}

    def _check_shapes(self, a: tuple[int, ...], b: tuple[int, ...]) -> None:
        if len(a) == 0 or a[-1] == 0:
            raise ValueError(f"a: expected at least one axis with at least one element, got shape {a}")
        if self.channels is not None and a[-1] != self.channels:
            raise ValueError(f"a: last axis has {a[-1]} elements but the op was made for {self.channels} channels")
        try:
            broadcast = np.broadcast_shapes(a, b)
        except ValueError:
            broadcast = None
        if broadcast != a:
            raise ValueError(f"b: shape {b} does not broadcast to a's shape {a}")

    def _sim_inputs(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        a, b = arrays["a"], arrays["b"]
        try:
            self._check_shapes(a.shape, b.shape)
        except ValueError:
            for name in self.inputs:  # an input outside its width is named first, as in every op
                if arrays[name].size:
                    self._check_range(*scan.int_range(arrays[name]), name)
            raise
        cols = a.shape[-1]
        rows_a = a.reshape(-1, cols)
        rows_b = np.ascontiguousarray(np.broadcast_to(b, a.shape)).reshape(-1, cols)
        if rows_a.shape[0] == 0:
            if b.size:
                self._check_range(*scan.int_range(b), "b")
            return np.zeros(a.shape, dtype=np.int64)
        blo, bhi = int_range(BRANCH_BITS, True)
        out, a_lo, a_hi, b_lo, b_hi = _requant_add_rows(rows_a, rows_b, *self._constants(cols), blo, bhi, self.out_spec.lo, self.out_spec.hi)
        self._check_range(int(a_lo), int(a_hi), "a")
        self._check_range(int(b_lo), int(b_hi), "b")
        return out.reshape(a.shape)

    def _twin_inputs(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b = tensors["a"], tensors["b"]
        self._check_shapes(tuple(a.shape), tuple(b.shape))
        cfg = self.config
        blo, bhi = int_range(BRANCH_BITS, True)
        ya = torchint.rne_shift(a * torchint.as_i64(cfg["m_a"], a.device), torchint.as_i64(cfg["c_a"], a.device)).clamp(blo, bhi)
        yb = torchint.rne_shift(b * torchint.as_i64(cfg["m_b"], b.device), torchint.as_i64(cfg["c_b"], b.device)).clamp(blo, bhi)
        return (ya + yb).clamp(self.out_spec.lo, self.out_spec.hi)


def make(
    scale_a: Any,
    scale_b: Any,
    scale_out: Any,
    out_bits: int,
    signed: bool = True,
    a_bits: int = 32,
    b_bits: int = 16,
) -> RequantAdd:
    """Build the join of ``a`` (scale ``scale_a``: float or per-channel array, signed
    ``a_bits``) and ``b`` (``scale_b``, signed ``b_bits``) at ``scale_out``, ``out_bits``."""
    s_a = params.scale_scalar_or_vector("scale_a", scale_a)
    s_b = params.scale_scalar_or_vector("scale_b", scale_b)
    s_out = params.scalar_scale("scale_out", scale_out)
    out_bits = params.bits("out_bits", out_bits)
    signed = params.flag("signed", signed)
    a_bits = params.bits("a_bits", a_bits)
    b_bits = params.bits("b_bits", b_bits)
    channels = {np.size(s) for s in (s_a, s_b) if np.ndim(s) == 1}
    if len(channels) > 1:
        raise ValueError(f"scale_b: {np.size(s_b)} per-channel scales, but scale_a has {np.size(s_a)}")
    constants = {}
    for branch, scale in (("a", s_a), ("b", s_b)):
        try:
            ms, cs = derive_dyadic(scale, s_out)
        except ValueError as err:
            raise ValueError(str(err).replace("scale_in", f"scale_{branch}")) from None
        per_channel = np.ndim(scale) == 1
        constants[f"m_{branch}"] = ms if per_channel else ms[0]
        constants[f"c_{branch}"] = cs if per_channel else cs[0]
    config = {**constants, "a_bits": a_bits, "b_bits": b_bits, "branch_bits": BRANCH_BITS, "out_bits": out_bits, "signed": int(signed)}
    return RequantAdd(
        params={"scale_a": s_a, "scale_b": s_b, "scale_out": s_out, "out_bits": out_bits, "signed": signed, "a_bits": a_bits, "b_bits": b_bits},
        config=config,
        in_spec={"a": IntSpec(a_bits, True), "b": IntSpec(b_bits, True)},
        out_spec=IntSpec(out_bits, signed),
        scale_out=s_out,
        channels=channels.pop() if channels else None,
    )
