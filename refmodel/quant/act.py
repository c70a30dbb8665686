"""QuantAct: the per-tensor symmetric activation quantizer between layers (I-ViT, D7).

It takes either a real tensor (the image; activations a method keeps in float) and
quantizes it directly (op ``quantize``), or an integer accumulator with its (per-channel)
scale, plus optionally the residual identity, and requantises them dyadically (D6): op
``requant`` (``requant_wide`` above 32 bits), or with an identity the residual join
``requant_add``, each branch rounded on its own and the sum saturated, as I-ViT's
``fixedpoint_mul`` does (but saturated at every width, D5).

While calibrating it records the running range of its real input and quantizes with the
scale of the range so far; ``freeze()`` fixes the scale.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel import ops
from refmodel.quant.exact import quantize
from refmodel.quant.opcall import run, scale_of
from refmodel.quant.observer import RangeObserver, symmetric_scale
from refmodel.quant.qtensor import QTensor, straight_through

REQUANT_MAX_IN_BITS = 32


class QuantAct(nn.Module):
    """Activation quantizer to ``bits`` signed bits with one scale."""

    def __init__(self, bits: int, name: str = "") -> None:
        super().__init__()
        self.bits = bits
        self.name = name
        self.observer = RangeObserver()
        self.calibrating = True
        self.register_buffer("scale", torch.zeros((), dtype=torch.float64))
        self._kernels: dict[tuple, ops.Kernel] = {}

    def extra_repr(self) -> str:
        return f"bits={self.bits}, scale={float(self.scale):.6g}"

    def freeze(self) -> None:
        if not self.observer.ready:
            raise RuntimeError(f"{self.name}: never saw calibration data")
        self.calibrating = False

    def _observe(self, real: torch.Tensor) -> None:
        if self.calibrating:
            self.observer.observe(real)
            self._scale_from_range()

    def _observe_range(self, lo: torch.Tensor, hi: torch.Tensor) -> None:
        """:meth:`_observe` of a real tensor given by its extremes."""
        if self.calibrating:
            self.observer.observe_range(lo, hi)
            self._scale_from_range()

    def _scale_from_range(self) -> None:
        self.scale = symmetric_scale(self.observer.min, self.observer.max, self.bits)

    def from_real(self, x: torch.Tensor) -> QTensor:
        """Quantize a real tensor directly: ``clamp(rne(x / s))``."""
        self._observe(x)
        q = quantize(x, self.scale, self.bits, layer=self.name)
        out = QTensor(q, self.scale, self.bits)
        if torch.is_grad_enabled():
            out.shadow = straight_through(x, out.real())
        return out

    def from_int(self, acc: QTensor, identity: QTensor | None = None) -> QTensor:
        """Requantise ``acc`` (plus ``identity``) to this quantizer's scale: ``requant`` (or
        ``requant_wide`` for accumulators over 32 bits), or the residual join ``requant_add``."""
        if self.calibrating:
            if identity is None and acc.q.numel():
                self._observe_range(*acc.real_range())
            else:
                real = acc.real(torch.float64)
                if identity is not None:
                    real = real + identity.real(torch.float64)
                self._observe(real)
        if identity is None:
            q = self.requantise(acc)
        else:
            kernel = self._kernel("requant_add", scale_a=scale_of(acc), scale_b=scale_of(identity), a_bits=acc.bits, b_bits=identity.bits)
            q = run(kernel, self.name, a=acc.q, b=identity.q)
        out = QTensor(q, self.scale, self.bits)
        shadows = [t.shadow for t in (acc, identity) if t is not None and t.shadow is not None]
        if shadows:
            out.shadow = straight_through(sum(shadows), out.real())
        return out

    def requantise(self, acc: QTensor) -> torch.Tensor:
        """The integers of ``acc`` at this quantizer's scale and width,
        ``saturate(rne_shift(q * m, c))`` with ``m / 2^c ~ s_acc / s``: op ``requant``
        (``requant_wide`` for accumulators over 32 bits). Observes nothing and carries no
        shadow."""
        op = "requant" if acc.bits <= REQUANT_MAX_IN_BITS else "requant_wide"
        kernel = self._kernel(op, scale_in=scale_of(acc), in_bits=acc.bits)
        return run(kernel, self.name, q=acc.q)

    def _kernel(self, op: str, **params) -> ops.Kernel:
        """Op ``op`` to this quantizer's scale and width; kept once the scales are frozen (a
        frozen quantizer always sees the same input scales, so it keeps one or two)."""
        key = (op,) + tuple((k, np.asarray(v).tobytes()) for k, v in sorted(params.items())) + (float(self.scale),)
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = ops.make(op, **params, scale_out=float(self.scale), out_bits=self.bits)
            if not self.calibrating:
                self._kernels[key] = kernel
        return kernel
