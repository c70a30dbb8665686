"""A timm ViT/DeiT run the I-ViT way, with one slot per non-linear layer.

Integer dataflow of one block (I-ViT's wiring; every signal's width and scale is in
``docs/network.md``; ``b`` is the activation width, 8 or 6, weights ``b`` bits per channel)::

    x16 --norm1--> h(b) --qkv--> acc --act--> q,k,v (b)
    q k^T * d^-1/2 --> scores --softmax slot (own b-bit input quantizer)--> P
    P V (method's way) --act--> o(b) --proj--> acc --act16--> + x16 --act16--> x16'
    x16' --norm2--> h(b) --fc1--> acc --GELU slot--> g(b) --fc2--> acc --act16--> + x16' --act16--> x16''

The embedding quantizes the image to ``b`` bits, runs the patch convolution as an integer
matmul on unfolded patches and requantises it to 16 bits (``embed_act``). The class token
and the position embedding are parameters, each quantized to 16 bits by its own quantizer
(``cls_token_act``, ``pos_embed_act``: the scale of the parameter's own range). The token
stream joins them row by row in one quantizer, ``pos_act``::

    x16[:, 0]  = sat16(requant(cls16, s_cls -> s_x) + requant(pos16[0],  s_pos -> s_x))
    x16[:, 1:] = sat16(requant(e16,   s_e   -> s_x) + requant(pos16[1:], s_pos -> s_x))

both branches requantised to the token scale ``s_x`` separately (D6) and the sum saturated
(D5); ``s_x`` is calibrated on the real sums of both row kinds. The final ``norm`` slot feeds
the classifier head on the class token; the logits are the head's accumulator times its
scale.

With ``quantized = False`` the same module computes the float model, op for op as timm's
non-fused attention path, reporting the same slot tensors to the probe.
"""

from __future__ import annotations

import torch
from torch import nn

from refmodel.quant.act import QuantAct
from refmodel.quant.base import QuantModel
from refmodel.quant.blocks import QuantAttention, QuantMlp
from refmodel.quant.linear import QuantLinear
from refmodel.quant.qtensor import QTensor
from refmodel.quant.slots import RESIDUAL_BITS, LayerNormSlot, Slot


def slot_kinds(model: nn.Module) -> dict[str, str]:
    """The non-linear slots of a timm ViT, name -> kind, in forward order."""
    kinds = {}
    for i in range(len(model.blocks)):
        p = f"blocks.{i}"
        kinds.update({f"{p}.norm1": "layernorm", f"{p}.attn.softmax": "softmax", f"{p}.norm2": "layernorm", f"{p}.mlp.act": "gelu"})
    kinds["norm"] = "layernorm"
    return kinds


def _expand(t: QTensor, batch: int) -> QTensor:
    """A ``[1, N, C]`` parameter tensor repeated over the batch (a view)."""
    shadow = None if t.shadow is None else t.shadow.expand(batch, -1, -1)
    return QTensor(t.q.expand(batch, -1, -1), t.scale, t.bits, t.signed, shadow)


def _rows(t: QTensor, start: int, stop: int | None) -> QTensor:
    """Tokens ``start:stop`` of a ``[B, N, C]`` tensor."""
    shadow = None if t.shadow is None else t.shadow[:, start:stop]
    return QTensor(t.q[:, start:stop], t.scale, t.bits, t.signed, shadow)


class QuantBlock(nn.Module):
    def __init__(self, index: int, block: nn.Module, plan: dict[str, str], bits: int) -> None:
        super().__init__()
        p = f"blocks.{index}"
        self.block = block
        self.norm1 = LayerNormSlot(f"{p}.norm1", plan[f"{p}.norm1"], bits, block.norm1)
        self.attn = QuantAttention(block.attn, f"{p}.attn.softmax", plan[f"{p}.attn.softmax"], bits)
        self.norm2 = LayerNormSlot(f"{p}.norm2", plan[f"{p}.norm2"], bits, block.norm2)
        self.mlp = QuantMlp(block.mlp, f"{p}.mlp.act", plan[f"{p}.mlp.act"], bits)
        self.residual1 = QuantAct(RESIDUAL_BITS, f"{p}.residual1")
        self.residual2 = QuantAct(RESIDUAL_BITS, f"{p}.residual2")

    def slots(self) -> list[Slot]:
        return [self.norm1, self.attn.softmax, self.norm2, self.mlp.act]

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        blk = self.block
        x = x + blk.ls1(self.attn.float_forward(self.norm1.float_forward(x)))
        return x + blk.ls2(self.mlp.float_forward(self.norm2.float_forward(x)))

    def forward(self, x16: QTensor) -> QTensor:
        x16 = self.residual1.from_int(self.attn(self.norm1(x16)), identity=x16)
        return self.residual2.from_int(self.mlp(self.norm2(x16)), identity=x16)


class QuantViT(QuantModel):
    """A timm ``VisionTransformer`` with integer forward and per-slot methods from ``plan``."""

    def __init__(self, model: nn.Module, plan: dict[str, str], bits: int) -> None:
        super().__init__(model, bits, model.patch_embed.proj)
        self.blocks = nn.ModuleList(QuantBlock(i, blk, plan, bits) for i, blk in enumerate(model.blocks))
        self.norm = LayerNormSlot("norm", plan["norm"], bits, model.norm)
        self.cls_token_act = QuantAct(RESIDUAL_BITS, "cls_token_act")
        self.pos_embed_act = QuantAct(RESIDUAL_BITS, "pos_embed_act")
        self.pos_act = QuantAct(RESIDUAL_BITS, "pos_act")
        self.head = QuantLinear(model.head, bits, "head")

    def slots(self) -> list[Slot]:
        return [s for blk in self.blocks for s in blk.slots()] + [self.norm]

    def float_forward(self, images: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.norm_pre(m.patch_drop(m._pos_embed(m.patch_embed(images))))
        for blk in self.blocks:
            x = blk.float_forward(x)
        x = self.norm.float_forward(x)
        return m.forward_head(x)

    def embed(self, images: torch.Tensor) -> QTensor:
        """The 16-bit token stream ``[B, 1 + P, C]``: class token and patches, each with its
        position embedding added (see the module docstring)."""
        m = self.model
        batch = images.shape[0]
        e = self.embed_patches(images)
        cls = _expand(self.cls_token_act.from_real(m.cls_token), batch)
        pos = _expand(self.pos_embed_act.from_real(m.pos_embed), batch)
        pos_cls, pos_patch = _rows(pos, 0, 1), _rows(pos, 1, None)
        if self.pos_act.calibrating:  # one range over both row kinds, before either is requantised
            self.pos_act._observe(torch.cat([cls.real(torch.float64), e.real(torch.float64)], dim=1) + pos.real(torch.float64))
        x_cls = self.pos_act.from_int(cls, identity=pos_cls)
        x_patch = self.pos_act.from_int(e, identity=pos_patch)
        shadow = None
        if x_cls.shadow is not None and x_patch.shadow is not None:
            shadow = torch.cat([x_cls.shadow, x_patch.shadow], dim=1)
        return QTensor(torch.cat([x_cls.q, x_patch.q], dim=1), self.pos_act.scale, RESIDUAL_BITS, shadow=shadow)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.quantized:
            return self.float_forward(images)
        x16 = self.embed(images)
        for blk in self.blocks:
            x16 = blk(x16)
        h = self.norm(x16)
        cls = QTensor(h.q[:, 0], h.scale, h.bits, shadow=None if h.shadow is None else h.shadow[:, 0])
        logits = self.head(cls)
        return logits.value()
