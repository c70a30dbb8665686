"""FQ-ViT's power-of-two-factor (PTF) input quantizer for an FQ-ViT LayerNorm slot.

Unsigned ``b``-bit, asymmetric, one zero point, per-channel scales ``S_c = S1 * 2^alpha_c``
with ``alpha_c`` in ``0..K`` (K = 3), as FQ-ViT's ``ptf`` observer computes them
(``upstream-kernels.md`` §5.2): from the per-channel running min/max of all calibration
batches, ``S_K = (max_all - min_all) / (2^b - 1)``, ``S_(k-1) = S_k / 2``,
``zp = clamp(-rne(min_all / S_K), 0, 2^b - 1)``; each channel takes the alpha whose
fake-quantization of the **last** calibration batch has the least squared error (ties to the
smaller alpha).

In the integer model its input is the 16-bit residual stream, so quantization is one
``requant`` op: a dyadic requantisation per channel (D6) from the residual scale to ``S_c``,
plus ``zp``, saturated to ``[0, 2^b - 1]``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel import ops
from refmodel.quant.exact import quantize
from refmodel.quant.opcall import run
from refmodel.quant.observer import FLOAT32_EPS, RangeObserver
from refmodel.quant.qtensor import QTensor

K = 3


class PTFQuant(nn.Module):
    def __init__(self, bits: int, name: str = "") -> None:
        super().__init__()
        self.bits = bits
        self.name = name
        self.observer = RangeObserver(per_channel=True)
        self.calibrating = True
        self.last_batch: torch.Tensor | None = None
        self.scales: np.ndarray | None = None  # float64 per channel, S1 * 2^alpha
        self.zero_point = 0
        self._kernel_key: tuple | None = None
        self._kernel: ops.Kernel | None = None

    def freeze(self) -> None:
        if not self.observer.ready:
            raise RuntimeError(f"{self.name}: never saw calibration data")
        self.calibrating = False
        self.last_batch = None

    def _calibrate(self, real: torch.Tensor) -> None:
        self.observer.observe(real)
        self.last_batch = real.detach().to(torch.float64).reshape(-1, real.shape[-1])
        lo, hi = float(self.observer.min.min()), float(self.observer.max.max())
        levels = (1 << self.bits) - 1
        s_top = float(np.float32(max((hi - lo) / levels, FLOAT32_EPS)))
        zp = int(np.clip(-np.round(lo / s_top), 0, levels))
        candidates = [s_top / 2 ** (K - a) for a in range(K + 1)]  # exact halvings
        x = self.last_batch
        errors = []
        for s in candidates:
            q = quantize(x, s, self.bits, signed=False, zero_point=zp)
            errors.append(((q - zp).to(torch.float64) * s - x).pow(2).mean(dim=0))
        alpha = torch.argmin(torch.stack(errors), dim=0).numpy()  # first minimum: smaller alpha
        self.scales = np.array([candidates[a] for a in alpha], dtype=np.float64)
        self.zero_point = zp

    def forward(self, x: QTensor) -> torch.Tensor:
        """Unsigned PTF integers of the residual ``x`` (whose scale is one float):
        ``saturate(rne_shift(q * m_c, c_c) + zp, bits, unsigned)``, op ``requant``."""
        if self.calibrating:
            self._calibrate(x.real(torch.float64))
        key = (float(x.scale), self.scales.tobytes(), x.bits, self.zero_point)
        if key != self._kernel_key:
            # ratio_c = s_x / S_c, the float64 quotient D6 takes (scale_out 1.0 divides exactly)
            self._kernel = ops.make(
                "requant", scale_in=float(x.scale) / self.scales, scale_out=1.0, out_bits=self.bits, signed=False, in_bits=x.bits, zero_point=self.zero_point
            )
            self._kernel_key = key
        return run(self._kernel, self.name, q=x.q)
