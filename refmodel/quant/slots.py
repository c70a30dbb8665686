"""The non-linear slots of a quantized model: each runs the method its plan names.

A slot owns the quantizers that belong to its method (the 8-bit input quantizer of an I-ViT
softmax or GELU, FQ-ViT's PTF quantizer, the activation quantizer after a LayerNorm), runs
its op's PyTorch twin on integers (``straight_through`` when autograd is on), and reports to
a :class:`Probe`: the real values at its input and output (for SQNR) and the integers it gave
its kernel (for the Numba check and vector capture).

The methods of each kind, and how each is wired (the GELU input and output, the softmax
output width, the LayerNorm input), come from the registry ``refmodel.methods``; a GELU slot
also accepts ``float`` (FQ-ViT's GELU, kept in float as upstream). An unknown method is a
``ValueError`` naming the slot and the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from refmodel import methods, ops
from refmodel.ops.autograd import dequantize, straight_through as op_straight_through
from refmodel.quant.act import QuantAct
from refmodel.quant.opcall import compute, run, scale_of, trace
from refmodel.quant.ptf import PTFQuant
from refmodel.quant.qtensor import QTensor

#: Slot kind -> every registered method with an op of that kind (read from the registry).
CANDIDATES = methods.LiveMapping(lambda: {kind: methods.candidates(kind) for kind in methods.KINDS})
FLOAT_METHOD = methods.FALLBACK["gelu"]
#: Softmax output width per method (D13): linear 16-bit for I-BERT, I-ViT and the tables
#: (8-bit I-ViT in Swin), 6-bit log2 codes for FQ-ViT.
SOFTMAX_OUT_BITS = methods.softmax_out_bits(swin=False)
SWIN_SOFTMAX_OUT_BITS = methods.softmax_out_bits(swin=True)
#: Fractional bits of FQ-ViT's shift-form attention times V (D11).
LOG2_ATTN_FRAC_BITS = 16
RESIDUAL_BITS = 16
#: What Swin's shifted-window mask adds to a masked score in the float model.
MASK_VALUE = -100.0


class Probe(Protocol):
    #: Whether the probe wants the slot's real input and output (computing them costs time).
    wants_io: bool

    def on_io(self, slot: "Slot", x: torch.Tensor, y: torch.Tensor, masked: torch.Tensor | None = None) -> None:
        """``masked`` (boolean, broadcastable to ``x``): entries Swin's shifted-window mask removes."""

    def on_kernel(self, slot: "Slot", kernel: ops.Kernel, q_in: torch.Tensor, q_out: torch.Tensor) -> None: ...


class Slot(nn.Module):
    """Base of the three slot kinds."""

    kind: str = ""

    def __init__(self, name: str, method: str, act_bits: int) -> None:
        super().__init__()
        allowed = CANDIDATES[self.kind] + ((FLOAT_METHOD,) if self.kind == "gelu" else ())
        if method not in allowed:
            known = "" if method in (*methods.names(), FLOAT_METHOD) else "unknown method "
            raise ValueError(f"method: {name} is a {self.kind} slot; its methods are {', '.join(allowed)}, got {known}{method!r}")
        self.name = name
        self.method = method
        #: The registry entry of the slot's method (``None`` for a float GELU).
        self.spec: methods.Method | None = None if method == FLOAT_METHOD else methods.get(method)
        self.act_bits = act_bits
        self.probe: Probe | None = None
        #: "twin" (PyTorch, differentiable) or "numba" (same integers, faster; no autograd).
        self.datapath = "twin"
        self._kernel_cache: dict[tuple, ops.Kernel] = {}

    def kernel(self, op: str, **params) -> ops.Kernel:
        key = tuple((k, np.asarray(v).tobytes() if np.ndim(v) else v) for k, v in sorted(params.items()))
        kernel = self._kernel_cache.get(key)
        if kernel is None:
            try:
                kernel = ops.make(op, **params)
            except ValueError as exc:  # a calibrated scale the method cannot represent
                raise ValueError(f"slot {self.name} ({op}): {exc}") from None
            self._kernel_cache = {key: kernel}  # scales change while calibrating; keep the latest
        return kernel

    def reference(self):
        """The float function the slot's op approximates (its gradient in training)."""
        return None

    def run(self, kernel: ops.Kernel, q: torch.Tensor, shadow: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The op's integers on ``q`` (and the differentiable real output when ``shadow``)."""
        if shadow is not None and torch.is_grad_enabled():
            real, q_out = op_straight_through(kernel, q, shadow, self.reference())
            trace(self.name, kernel, {"q": q}, q_out)
        else:
            real, q_out = None, compute(kernel, self.name, {"q": q}, default=self.datapath == "numba")
        if self.probe is not None:
            self.probe.on_kernel(self, kernel, q, q_out)
        return q_out, real

    def report(self, x, y, masked: torch.Tensor | None = None) -> None:
        """Give the probe the slot's real input and output; ``x``/``y`` may be callables,
        evaluated only when the probe wants them."""
        if self.probe is not None and self.probe.wants_io:
            self.probe.on_io(self, x() if callable(x) else x, y() if callable(y) else y, masked)


class LayerNormSlot(Slot):
    """``norm1``/``norm2``/final ``norm``: residual (16-bit) in, ``act_bits`` activation out."""

    kind = "layernorm"

    def __init__(self, name: str, method: str, act_bits: int, norm: nn.LayerNorm, out_bits: int | None = None) -> None:
        super().__init__(name, method, act_bits)
        self.norm = norm
        self.out_bits = out_bits or act_bits  # Swin's patch-embedding norm feeds the 16-bit stream
        self.out_act = QuantAct(self.out_bits, f"{name}.out_act")
        if self.spec.layernorm_input == "ptf":
            self.ptf = PTFQuant(act_bits, f"{name}.ptf")

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x)
        self.report(x, y)
        return y

    def reference(self):
        return self.norm

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.norm.weight.detach().to(torch.float64).numpy(),
            self.norm.bias.detach().to(torch.float64).numpy(),
        )

    def forward(self, x: QTensor) -> QTensor:
        gamma, beta = self.affine()
        if self.spec.layernorm_input == "ptf":
            return self._ptf_forward(x, gamma, beta)
        k = self.kernel(self.spec.op("layernorm"), scale_in=float(x.scale), gamma=gamma, beta=beta, in_bits=x.bits)
        q_out, real = self.run(k, x.q, x.shadow)
        y = QTensor(q_out, torch.as_tensor(np.asarray(k.scale_out), dtype=torch.float64), k.out_spec.bits, shadow=real)
        self.report(x.real, y.real)
        return self.out_act.from_int(y)

    def _ptf_forward(self, x: QTensor, gamma: np.ndarray, beta: np.ndarray) -> QTensor:
        """FQ-ViT's wiring: the residual through the PTF quantizer, the op built for the output
        quantizer's scale, its output saturated to the quantizer's width by the quantizer's
        requantiser (ratio 1: ``m = 2^30``, ``c = 30``, the identity before the saturation).
        The quantizer observes the float LayerNorm of the PTF input, not the op's output, and
        the output's shadow is the op's straight-through real output."""
        q_in = self.ptf(x)
        scales = torch.as_tensor(self.ptf.scales, dtype=torch.float64)
        x_in = (q_in - self.ptf.zero_point).to(torch.float64) * scales
        if self.out_act.calibrating:
            self.out_act._observe(F.layer_norm(x_in, x_in.shape[-1:], self.norm.weight.detach().double(), self.norm.bias.detach().double(), eps=0.0))
        k = self.kernel(
            self.spec.op("layernorm"),
            scale_in=self.ptf.scales,
            zero_point=self.ptf.zero_point,
            gamma=gamma,
            beta=beta,
            scale_out=float(self.out_act.scale),
            in_bits=self.act_bits,
        )
        shadow = None
        if x.shadow is not None and torch.is_grad_enabled():
            shadow = x.shadow + (x_in.to(x.shadow.dtype) - x.shadow).detach()
        q_out, real = self.run(k, q_in, shadow)
        # fqvit.layernorm's proven output width is at most 32 bits, so this runs op requant.
        out = QTensor(q_out, torch.as_tensor(k.scale_out, dtype=torch.float64), k.out_spec.bits)
        y = QTensor(self.out_act.requantise(out), self.out_act.scale, self.out_bits, shadow=real)
        self.report(lambda: x_in.to(torch.float32), y.real)
        return y


class GeluSlot(Slot):
    """``mlp.act``: the fc1 accumulator in, ``act_bits`` activation out. The method's wiring
    says whether its op takes the accumulator itself or its requantisation to ``act_bits``, and
    (for a table) the output scale the op is built for; the output quantizer requantises the
    op's output in every case."""

    kind = "gelu"

    def __init__(self, name: str, method: str, act_bits: int) -> None:
        super().__init__(name, method, act_bits)
        self.out_act = QuantAct(act_bits, f"{name}.out_act")
        if self.spec is not None and self.spec.gelu_input == "activation":
            self.in_act = QuantAct(act_bits, f"{name}.in_act")

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(x)
        self.report(x, y)
        return y

    def forward(self, acc: QTensor) -> QTensor:
        if self.spec is None:  # float GELU
            x = acc.value()
            y = F.gelu(x)
            self.report(acc.real, y)
            return self.out_act.from_real(y)
        if self.spec.gelu_input == "activation":
            x = self.in_act.from_int(acc)
            params = {"scale_in": float(x.scale), "in_bits": self.act_bits}
        else:  # the accumulator itself, per-channel scales
            x = acc
            params = {"scale_in": acc.scale.numpy(), "in_bits": acc.bits}
        frac = self.spec.gelu_out_frac_bits
        if frac is not None:
            params.update(scale_out=params["scale_in"] * 2.0**-frac, out_bits=params["in_bits"] + frac)
        k = self.kernel(self.spec.op("gelu"), **params)
        q_out, real = self.run(k, x.q, x.shadow)
        y = QTensor(q_out, torch.as_tensor(np.asarray(k.scale_out), dtype=torch.float64), k.out_spec.bits, shadow=real)
        self.report(x.real, y.real)
        return self.out_act.from_int(y)


@dataclass
class Probabilities:
    """A softmax slot's output: linear integers with a scale, or log2 codes (D10)."""

    q: torch.Tensor
    scale: float | None  # None for log2 codes
    bits: int
    shadow: torch.Tensor | None = None


class SoftmaxSlot(Slot):
    """``attn.softmax``: attention scores (an accumulator with one scale) in; probabilities
    out, and :meth:`attend` multiplies them with V the method's way."""

    kind = "softmax"

    def __init__(self, name: str, method: str, act_bits: int, out_bits: dict[str, int] | None = None) -> None:
        super().__init__(name, method, act_bits)
        self.in_act = QuantAct(act_bits, f"{name}.in_act")
        self.out_bits = (out_bits or SOFTMAX_OUT_BITS)[method]

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.softmax(dim=-1)
        self.report(x, y)
        return y

    def forward(self, scores: QTensor, bias: QTensor | None = None, masked: torch.Tensor | None = None) -> Probabilities:
        """``masked`` (boolean, broadcastable to the scores) marks the entries Swin's shifted
        window mask removes: they saturate to the input quantizer's minimum, so the input
        scale covers the scores and the position bias only (the float model adds -100)."""
        x = self.in_act.from_int(scores, bias)
        if masked is not None:
            lo = -(1 << (self.act_bits - 1))
            shadow = None if x.shadow is None else x.shadow + masked.to(x.shadow.dtype) * MASK_VALUE
            x = QTensor(torch.where(masked, torch.full_like(x.q, lo), x.q), x.scale, x.bits, shadow=shadow)
        k = self.kernel(self.spec.op("softmax"), scale_in=float(x.scale), out_bits=self.out_bits, in_bits=self.act_bits)
        q_out, real = self.run(k, x.q, x.shadow)
        probs = Probabilities(q_out, k.scale_out, k.out_spec.bits, real)
        self.report(x.real, lambda: dequantize(k, q_out), masked)
        return probs

    def attend(self, p: Probabilities, v: QTensor) -> QTensor:
        """``P @ V``: the exact ``matmul`` op for linear probabilities; for log2 codes the shift
        form of D11 (op ``fqvit.attend``), ``sum_j (v_j << F) >> code_j``, scale ``s_v * 2^-F``."""
        depth = v.q.shape[-2]
        if p.scale is not None:
            k = ops.make("matmul", scale_a=p.scale, scale_b=scale_of(v), depth=depth, a_bits=p.bits, a_signed=False, b_bits=v.bits)
            acc = run(k, f"{self.name}.attend", a=p.q, b=v.q)
        else:
            k = ops.make("fqvit.attend", scale_v=scale_of(v), depth=depth, code_bits=p.bits, v_bits=v.bits, frac_bits=LOG2_ATTN_FRAC_BITS)
            acc = run(k, f"{self.name}.attend", codes=p.q, v=v.q)
        out = QTensor(acc, torch.as_tensor(k.scale_out, dtype=torch.float64), k.out_spec.bits)
        if p.shadow is not None and v.shadow is not None:
            out.shadow = p.shadow @ v.shadow
        return out
