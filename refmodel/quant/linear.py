"""QuantLinear: per-output-channel symmetric weights, 32-bit bias, exact integer accumulator.

``W_q[o] = clamp(rne(W[o] / s_w[o]))`` with ``s_w[o] = max|W[o]| / (2^(b-1) - 1)``;
``b_q = clamp_32(rne(b / (s_w * s_x)))`` (op ``quantize``); ``acc = x_q @ W_q^T + b_q`` (op
``gemm``, weights and bias its config) with scale ``s_w * s_x`` (one per output channel; the
product of two float32 values is exact in float64). No requantisation happens here: the next
QuantAct does it (I-ViT).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refmodel import ops
from refmodel.quant.exact import quantize
from refmodel.quant.observer import symmetric_scale
from refmodel.quant.opcall import run
from refmodel.quant.qtensor import QTensor

BIAS_BITS = 32


class QuantLinear(nn.Module):
    """Integer form of an ``nn.Linear``, or of a patch-embedding ``nn.Conv2d`` applied to
    unfolded patches (weights shared with the float module, flattened per output channel)."""

    def __init__(self, linear: nn.Linear | nn.Conv2d, weight_bits: int, name: str = "") -> None:
        super().__init__()
        self.name = name
        self.linear = linear
        self.weight_bits = weight_bits
        self._gemm: tuple[tuple, ops.Kernel] | None = None
        #: The last integer weights, bias and kernel with what they were made from (no autograd).
        self._frozen: tuple | None = None

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight.flatten(1)

    def weight_scale(self) -> torch.Tensor:
        w = self.weight.detach()
        bound = w.abs().amax(dim=1)
        return symmetric_scale(-bound, bound, self.weight_bits)

    def gemm(self, w_q: torch.Tensor, s_w: torch.Tensor, b_q: torch.Tensor | None, x: QTensor) -> ops.Kernel:
        """The ``gemm`` op of these integer weights and bias at the input's scale and width,
        rebuilt only when the weights, their scales, the bias or the width change (a new input
        scale alone rescales the op: :meth:`refmodel.ops.gemm.Gemm.with_scale_in`)."""
        key = (float(x.scale), x.bits)
        if self._gemm is not None:
            (old_key, old_w, old_b, old_s_w), kernel = self._gemm
            same_bias = (old_b is None and b_q is None) or (old_b is not None and b_q is not None and torch.equal(old_b, b_q))
            if old_key[1] == key[1] and torch.equal(old_w, w_q) and torch.equal(old_s_w, s_w) and same_bias:
                if old_key[0] != key[0]:  # only the input scale moved (calibration)
                    kernel = kernel.with_scale_in(key[0])
                    self._gemm = ((key, w_q, b_q, s_w), kernel)
                return kernel
        kernel = ops.make(
            "gemm",
            weight=w_q.numpy(),
            bias=None if b_q is None else b_q.numpy(),
            scale_in=float(x.scale),
            scale_w=s_w.numpy(),
            in_bits=x.bits,
            w_bits=self.weight_bits,
        )
        self._gemm = ((key, w_q, b_q, s_w), kernel)
        return kernel

    def _params_key(self, x: QTensor) -> tuple | None:
        """What the integer weights, bias and kernel depend on: the parameter values (copies,
        compared element by element: an edit through ``.data`` bumps no version counter) and
        the input scale and width; ``None`` (no reuse) under autograd."""
        if torch.is_grad_enabled():
            return None
        params = tuple(p.detach() for p in (self.linear.weight, self.linear.bias) if p is not None)
        return params + (float(x.scale), x.bits)

    def _reusable(self, key: tuple | None) -> bool:
        if key is None or self._frozen is None:
            return False
        old = self._frozen[0]
        n = len(key) - 2
        return len(old) == len(key) and old[n:] == key[n:] and all(torch.equal(a, b) for a, b in zip(old[:n], key[:n]))

    def forward(self, x: QTensor) -> QTensor:
        w = self.weight
        b = self.linear.bias
        key = self._params_key(x)
        if self._reusable(key):
            _, s_w, w_q, b_q, s_acc, kernel = self._frozen
        else:
            s_w = self.weight_scale()
            w_q = quantize(w.t(), s_w, self.weight_bits).t()
            s_acc = s_w * x.scale
            b_q = None if b is None else quantize(b, s_acc, BIAS_BITS)
            kernel = self.gemm(w_q, s_w, b_q, x)
            self._frozen = None if key is None else ((*(t.clone() for t in key[:-2]), *key[-2:]), s_w, w_q, b_q, s_acc, kernel)
        out = QTensor(run(kernel, self.name, q=x.q), s_acc, kernel.out_spec.bits)
        if x.shadow is not None:
            w_fq = w + ((w_q.to(torch.float64) * s_w[:, None]).to(w.dtype) - w).detach()
            b_fq = None if b is None else b + ((b_q.to(torch.float64) * s_acc).to(b.dtype) - b).detach()
            out.shadow = F.linear(x.shadow, w_fq, b_fq)
        return out
