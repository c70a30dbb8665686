"""The integer attention and MLP shared by ViT and Swin blocks (I-ViT wiring, D7, D11).

Attention: ``h(b) --qkv--> acc --act(b)--> q, k, v``; ``scores = q k^T`` with scale
``s^2 / sqrt(d)`` (plus an optional 16-bit bias: Swin's relative-position bias and window
mask, added inside the softmax slot's input quantizer); softmax slot; ``P V`` the method's
way; ``--act(b)--> o --proj--> acc --act16-->``.

MLP: ``h(b) --fc1--> acc --GELU slot--> g(b) --fc2--> acc --act16-->``.
"""

from __future__ import annotations

import torch
from torch import nn

from refmodel import ops
from refmodel.quant.act import QuantAct
from refmodel.quant.linear import QuantLinear
from refmodel.quant.opcall import run, scale_of
from refmodel.quant.qtensor import QTensor
from refmodel.quant.slots import RESIDUAL_BITS, GeluSlot, SoftmaxSlot


def _split_heads(t: torch.Tensor | None, heads: int) -> tuple:
    if t is None:
        return None, None, None
    B, N, _ = t.shape
    return t.reshape(B, N, 3, heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


def _merge_heads(t: torch.Tensor | None) -> torch.Tensor | None:
    if t is None:
        return None
    B, H, N, D = t.shape
    return t.transpose(1, 2).reshape(B, N, H * D)


class QuantAttention(nn.Module):
    def __init__(self, attn: nn.Module, slot_name: str, method: str, bits: int, softmax_out_bits: dict[str, int] | None = None) -> None:
        super().__init__()
        prefix = slot_name.rsplit(".", 1)[0]
        self.attn = attn
        self.num_heads = attn.num_heads
        self.scale = float(attn.scale)
        self.softmax = SoftmaxSlot(slot_name, method, bits, softmax_out_bits)
        self.prefix = prefix
        self.qkv = QuantLinear(attn.qkv, bits, f"{prefix}.qkv")
        self.proj = QuantLinear(attn.proj, bits, f"{prefix}.proj")
        self.qkv_act = QuantAct(bits, f"{prefix}.qkv_act")
        self.out_act = QuantAct(bits, f"{prefix}.out_act")
        self.proj_act = QuantAct(RESIDUAL_BITS, f"{prefix}.proj_act")

    def float_forward(self, h: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        attn = self.attn
        q, k, v = _split_heads(attn.qkv(h), self.num_heads)
        if hasattr(attn, "q_norm"):
            q, k = attn.q_norm(q), attn.k_norm(k)
        scores = (q * attn.scale) @ k.transpose(-2, -1)
        if bias is not None:
            scores = scores + bias
        o = _merge_heads(self.softmax.float_forward(scores) @ v)
        if hasattr(attn, "norm"):
            o = attn.norm(o)
        return attn.proj(o)

    def forward(self, h: QTensor, bias: QTensor | None = None, masked: torch.Tensor | None = None) -> QTensor:
        a = self.qkv_act.from_int(self.qkv(h))
        q, k, v = _split_heads(a.q, self.num_heads)
        qs, ks, vs = _split_heads(a.shadow, self.num_heads)
        qk = ops.make("matmul", scale_a=scale_of(a), scale_b=scale_of(a), depth=q.shape[-1], a_bits=a.bits, b_bits=a.bits)
        scores = QTensor(run(qk, f"{self.prefix}.qk", a=q, b=k.transpose(-2, -1)), torch.as_tensor(qk.scale_out * self.scale, dtype=torch.float64), qk.out_spec.bits)
        if qs is not None:
            scores.shadow = (qs * self.scale) @ ks.transpose(-2, -1)
        probs = self.softmax(scores, bias, masked)
        o = self.softmax.attend(probs, QTensor(v, a.scale, a.bits, shadow=vs))
        o = QTensor(_merge_heads(o.q), o.scale, o.bits, shadow=_merge_heads(o.shadow))
        return self.proj_act.from_int(self.proj(self.out_act.from_int(o)))


class QuantMlp(nn.Module):
    def __init__(self, mlp: nn.Module, slot_name: str, method: str, bits: int) -> None:
        super().__init__()
        prefix = slot_name.rsplit(".", 1)[0]
        self.mlp = mlp
        self.act = GeluSlot(slot_name, method, bits)
        self.fc1 = QuantLinear(mlp.fc1, bits, f"{prefix}.fc1")
        self.fc2 = QuantLinear(mlp.fc2, bits, f"{prefix}.fc2")
        self.fc2_act = QuantAct(RESIDUAL_BITS, f"{prefix}.fc2_act")

    def float_forward(self, h: torch.Tensor) -> torch.Tensor:
        mlp = self.mlp
        g = self.act.float_forward(mlp.fc1(h))
        return mlp.fc2(mlp.norm(mlp.drop1(g)))

    def forward(self, h: QTensor) -> QTensor:
        return self.fc2_act.from_int(self.fc2(self.act(self.fc1(h))))
