"""QuantLinear: per-output-channel symmetric weights, 32-bit bias, exact integer accumulator.

``W_q[o] = clamp(rne(W[o] / s_w[o]))`` with ``s_w[o] = max|W[o]| / (2^(b-1) - 1)``;
``b_q = clamp_32(rne(b / (s_w * s_x)))``; ``acc = x_q @ W_q^T + b_q`` with scale
``s_w * s_x`` (one per output channel; the product of two float32 values is exact in float64).
No requantisation happens here: the next QuantAct does it (I-ViT).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refmodel.quant.exact import matmul, quantize
from refmodel.quant.observer import symmetric_scale
from refmodel.quant.qtensor import QTensor

ACC_BITS = 32
BIAS_BITS = 32


class QuantLinear(nn.Module):
    """Integer form of an ``nn.Linear``, or of a patch-embedding ``nn.Conv2d`` applied to
    unfolded patches (weights shared with the float module, flattened per output channel)."""

    def __init__(self, linear: nn.Linear | nn.Conv2d, weight_bits: int) -> None:
        super().__init__()
        self.linear = linear
        self.weight_bits = weight_bits

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight.flatten(1)

    def weight_scale(self) -> torch.Tensor:
        w = self.weight.detach()
        bound = w.abs().amax(dim=1)
        return symmetric_scale(-bound, bound, self.weight_bits)

    def forward(self, x: QTensor) -> QTensor:
        w = self.weight
        s_w = self.weight_scale()
        w_q = quantize(w, s_w[:, None], self.weight_bits)
        s_acc = s_w * x.scale
        acc = matmul(x.q, w_q.t())
        b = self.linear.bias
        if b is not None:
            acc = acc + quantize(b, s_acc, BIAS_BITS)
        out = QTensor(acc, s_acc, ACC_BITS)
        if x.shadow is not None:
            w_fq = w + ((w_q.to(torch.float64) * s_w[:, None]).to(w.dtype) - w).detach()
            b_fq = None if b is None else b + ((quantize(b, s_acc, BIAS_BITS).to(torch.float64) * s_acc).to(b.dtype) - b).detach()
            out.shadow = F.linear(x.shadow, w_fq, b_fq)
        return out
