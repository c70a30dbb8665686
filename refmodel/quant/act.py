"""QuantAct: the per-tensor symmetric activation quantizer between layers (I-ViT, D7).

It takes either a real tensor (the image; activations a method keeps in float) and
quantizes it directly, or an integer accumulator with its (per-channel) scale, plus
optionally the residual identity, and requantises them dyadically (D6):
``out = saturate_b(rne(z*m/2^c) [+ rne(w*m1/2^c1)])``, each branch rounded on its own and the
sum saturated, as I-ViT's ``fixedpoint_mul`` does (but saturated at every width, D5).

While calibrating it records the running range of its real input and quantizes with the
scale of the range so far; ``freeze()`` fixes the scale.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel import ops
from refmodel.fixedpoint import int_range
from refmodel.ops.requant import derive as derive_dyadic
from refmodel.quant.exact import quantize, requant_wide
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
            self.scale = symmetric_scale(self.observer.min, self.observer.max, self.bits)

    def from_real(self, x: torch.Tensor) -> QTensor:
        """Quantize a real tensor directly: ``clamp(rne(x / s))``."""
        self._observe(x)
        q = quantize(x, self.scale, self.bits)
        out = QTensor(q, self.scale, self.bits)
        out.shadow = straight_through(x, out.real())
        return out

    def from_int(self, acc: QTensor, identity: QTensor | None = None) -> QTensor:
        """Requantise ``acc`` (plus ``identity``) to this quantizer's scale."""
        if self.calibrating:
            real = acc.real(torch.float64)
            if identity is not None:
                real = real + identity.real(torch.float64)
            self._observe(real)
        if identity is None:
            q = self._requant(acc, self.bits)
        else:
            lo, hi = int_range(self.bits, True)
            q = (self._requant(acc, 32) + self._requant(identity, 32)).clamp(lo, hi)
        out = QTensor(q, self.scale, self.bits)
        shadows = [t.shadow for t in (acc, identity) if t is not None and t.shadow is not None]
        if shadows:
            out.shadow = straight_through(sum(shadows), out.real())
        return out

    def _requant(self, t: QTensor, out_bits: int) -> torch.Tensor:
        scale_in = t.scale.detach().cpu().numpy().astype(np.float64)
        scale_in = float(scale_in) if scale_in.ndim == 0 else scale_in
        if t.bits > REQUANT_MAX_IN_BITS:
            ms, cs = derive_dyadic(scale_in, float(self.scale))
            m = torch.as_tensor(ms, dtype=torch.int64)
            c = torch.as_tensor(cs, dtype=torch.int64)
            return requant_wide(t.q, m, c, out_bits)
        key = (np.asarray(scale_in).tobytes(), float(self.scale), out_bits, t.bits)
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = ops.make("requant", scale_in=scale_in, scale_out=float(self.scale), out_bits=out_bits, in_bits=t.bits)
            if not self.calibrating:  # frozen scales: at most an accumulator and an identity
                self._kernels[key] = kernel
        if torch.is_grad_enabled():
            return kernel.fakequant(t.q)
        # Without autograd the requantiser between layers runs its Numba kernel: the same
        # integers (both datapaths are tested equal), several times faster.
        return torch.from_numpy(kernel.sim(t.q.numpy()))
