"""A timm Swin Transformer run the I-ViT way, with one slot per non-linear layer.

Differences from ViT (``refmodel.quant.vit``): the patch embedding's LayerNorm is a slot
whose output joins the 16-bit stream; every stage after the first starts with a patch
merging (2x2 neighbours concatenated, a LayerNorm slot, a bias-free reduction, requantised to
16 bits); attention runs in (shifted) windows, and the relative-position bias plus the
relative-position bias is quantized to 16 bits and added to the scores inside the softmax
slot's input quantizer; the shifted-window mask (the float model adds -100 where tokens come
from different regions) saturates the masked scores to that quantizer's minimum, so the
softmax input scale covers the scores and the bias only; I-ViT's softmax is 8-bit (D13); the head averages the final tokens (an exact integer sum with scale ``s / tokens``)
before the classifier.

Cyclic shifts, window partitions and patch merging are permutations of the integers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel import ops
from refmodel.quant.act import QuantAct
from refmodel.quant.base import QuantModel
from refmodel.quant.blocks import QuantAttention, QuantMlp
from refmodel.quant.exact import quantize
from refmodel.quant.linear import QuantLinear
from refmodel.quant.observer import symmetric_scale
from refmodel.quant.opcall import run
from refmodel.quant.qtensor import QTensor
from refmodel.quant.slots import RESIDUAL_BITS, SWIN_SOFTMAX_OUT_BITS, LayerNormSlot, Slot

BIAS_BITS = 16


def slot_kinds(model: nn.Module) -> dict[str, str]:
    """The non-linear slots of a timm Swin, name -> kind, in forward order."""
    kinds = {"patch_embed.norm": "layernorm"}
    for i, stage in enumerate(model.layers):
        if not isinstance(stage.downsample, nn.Identity):
            kinds[f"layers.{i}.downsample.norm"] = "layernorm"
        for j in range(len(stage.blocks)):
            p = f"layers.{i}.blocks.{j}"
            kinds.update({f"{p}.norm1": "layernorm", f"{p}.attn.softmax": "softmax", f"{p}.norm2": "layernorm", f"{p}.mlp.act": "gelu"})
    kinds["norm"] = "layernorm"
    return kinds


def _map(t: QTensor, fn) -> QTensor:
    """Apply an integer-preserving permutation ``fn`` to ``q`` (and the shadow)."""
    return QTensor(fn(t.q), t.scale, t.bits, t.signed, None if t.shadow is None else fn(t.shadow))


def _partition(x: torch.Tensor, shift: tuple[int, int], window: tuple[int, int]) -> torch.Tensor:
    B, H, W, C = x.shape
    if any(shift):
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    x = x.view(B, H // window[0], window[0], W // window[1], window[1], C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, window[0] * window[1], C)


def _reverse(x: torch.Tensor, shift: tuple[int, int], window: tuple[int, int], H: int, W: int) -> torch.Tensor:
    C = x.shape[-1]
    x = x.view(-1, H // window[0], W // window[1], window[0], window[1], C).permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)
    if any(shift):
        x = torch.roll(x, shifts=shift, dims=(1, 2))
    return x


def _merge(x: torch.Tensor) -> torch.Tensor:
    B, H, W, C = x.shape
    return x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)


class QuantSwinBlock(nn.Module):
    def __init__(self, name: str, block: nn.Module, plan: dict[str, str], bits: int) -> None:
        super().__init__()
        self.block = block
        self.window = tuple(block.window_size)
        self.shift = tuple(block.shift_size)
        self.norm1 = LayerNormSlot(f"{name}.norm1", plan[f"{name}.norm1"], bits, block.norm1)
        self.attn = QuantAttention(block.attn, f"{name}.attn.softmax", plan[f"{name}.attn.softmax"], bits, SWIN_SOFTMAX_OUT_BITS)
        self.norm2 = LayerNormSlot(f"{name}.norm2", plan[f"{name}.norm2"], bits, block.norm2)
        self.mlp = QuantMlp(block.mlp, f"{name}.mlp.act", plan[f"{name}.mlp.act"], bits)
        self.residual1 = QuantAct(RESIDUAL_BITS, f"{name}.residual1")
        self.residual2 = QuantAct(RESIDUAL_BITS, f"{name}.residual2")

    def slots(self) -> list[Slot]:
        return [self.norm1, self.attn.softmax, self.norm2, self.mlp.act]

    def bias(self, batch: int) -> torch.Tensor:
        """The float model's relative-position bias plus the shifted-window mask,
        ``[batch*nW, heads, N, N]``."""
        attn = self.block.attn
        bias = attn._get_rel_pos_bias()  # [1, heads, N, N]
        mask = self.block.attn_mask
        if mask is None:
            return bias
        n_win = mask.shape[0]
        full = bias.unsqueeze(1) + mask.unsqueeze(1).unsqueeze(0)  # [1, nW, heads, N, N]
        return full.expand(batch, -1, -1, -1, -1).reshape(batch * n_win, *bias.shape[1:])

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        h = _partition(self.norm1.float_forward(x), self.shift, self.window)
        o = _reverse(self.attn.float_forward(h, self.bias(B)), self.shift, self.window, H, W)
        x = (x + o).reshape(B, -1, C)
        x = x + self.mlp.float_forward(self.norm2.float_forward(x))
        return x.reshape(B, H, W, C)

    def masked(self, batch: int) -> torch.Tensor | None:
        """Where the shifted-window mask removes a score, ``[batch*nW, 1, N, N]`` (boolean)."""
        mask = self.block.attn_mask
        if mask is None:
            return None
        return (mask < 0).unsqueeze(0).expand(batch, -1, -1, -1).reshape(-1, 1, *mask.shape[1:])

    def forward(self, x16: QTensor) -> QTensor:
        B, H, W, C = x16.q.shape
        h = _map(self.norm1(x16), lambda t: _partition(t, self.shift, self.window))
        real_bias = self.block.attn._get_rel_pos_bias()  # [1, heads, N, N]
        s_bias = symmetric_scale(real_bias.detach().min(), real_bias.detach().max(), BIAS_BITS)
        bias = QTensor(quantize(real_bias, s_bias, BIAS_BITS, layer=f"{self.attn.prefix}.bias"), s_bias, BIAS_BITS)
        if h.shadow is not None:
            bias.shadow = real_bias
        o = _map(self.attn(h, bias, self.masked(B)), lambda t: _reverse(t, self.shift, self.window, H, W))
        x16 = self.residual1.from_int(o, identity=x16)
        flat = _map(x16, lambda t: t.reshape(B, H * W, C))
        flat = self.residual2.from_int(self.mlp(self.norm2(flat)), identity=flat)
        return _map(flat, lambda t: t.reshape(B, H, W, C))


class QuantPatchMerging(nn.Module):
    def __init__(self, name: str, merging: nn.Module, plan: dict[str, str], bits: int) -> None:
        super().__init__()
        self.merging = merging
        self.norm = LayerNormSlot(f"{name}.norm", plan[f"{name}.norm"], bits, merging.norm)
        self.reduction = QuantLinear(merging.reduction, bits, f"{name}.reduction")
        self.out_act = QuantAct(RESIDUAL_BITS, f"{name}.out_act")

    def float_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merging.reduction(self.norm.float_forward(_merge(x)))

    def forward(self, x16: QTensor) -> QTensor:
        return self.out_act.from_int(self.reduction(self.norm(_map(x16, _merge))))


class QuantSwin(QuantModel):
    """A timm ``SwinTransformer`` with integer forward and per-slot methods from ``plan``."""

    def __init__(self, model: nn.Module, plan: dict[str, str], bits: int) -> None:
        super().__init__(model, bits, model.patch_embed.proj)
        embed = model.patch_embed
        self.embed_norm = LayerNormSlot("patch_embed.norm", plan["patch_embed.norm"], bits, embed.norm, out_bits=RESIDUAL_BITS)
        self.merges = nn.ModuleDict()
        self.stages = nn.ModuleList()
        for i, stage in enumerate(model.layers):
            if not isinstance(stage.downsample, nn.Identity):
                self.merges[str(i)] = QuantPatchMerging(f"layers.{i}.downsample", stage.downsample, plan, bits)
            self.stages.append(nn.ModuleList(QuantSwinBlock(f"layers.{i}.blocks.{j}", blk, plan, bits) for j, blk in enumerate(stage.blocks)))
        self.norm = LayerNormSlot("norm", plan["norm"], bits, model.norm)
        self.pool_act = QuantAct(bits, "head.pool_act")
        self.head = QuantLinear(model.head.fc, bits, "head.fc")

    def slots(self) -> list[Slot]:
        out: list[Slot] = [self.embed_norm]
        for i, blocks in enumerate(self.stages):
            if str(i) in self.merges:
                out.append(self.merges[str(i)].norm)
            for blk in blocks:
                out += blk.slots()
        return out + [self.norm]

    def float_forward(self, images: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.patch_embed.proj(images).permute(0, 2, 3, 1)
        x = self.embed_norm.float_forward(x)
        for i, blocks in enumerate(self.stages):
            if str(i) in self.merges:
                x = self.merges[str(i)].float_forward(x)
            for blk in blocks:
                x = blk.float_forward(x)
        x = self.norm.float_forward(x)
        return m.forward_head(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.quantized:
            return self.float_forward(images)
        B, _, H, W = images.shape
        hp, wp = H // self.patch_size[0], W // self.patch_size[1]
        e = self.embed_patches(images)
        x16 = self.embed_norm(_map(e, lambda t: t.reshape(B, hp, wp, -1)))
        for i, blocks in enumerate(self.stages):
            if str(i) in self.merges:
                x16 = self.merges[str(i)](x16)
            for blk in blocks:
                x16 = blk(x16)
        logits = self.head(self.pool_act.from_int(self.pool(self.norm(x16))))
        return logits.value()

    def pool(self, h: QTensor) -> QTensor:
        """The average of the final tokens as an exact sum: op ``gemm`` over the ``T`` tokens
        of each channel with weights all one, scale ``s_h * (1 / T)``, ``[B, C]``."""
        B, H, W, C = h.q.shape
        tokens = H * W
        kernel = ops.make("gemm", weight=np.ones((1, tokens), dtype=np.int64), scale_in=float(h.scale), scale_w=[1.0 / tokens], in_bits=h.bits, w_bits=2)
        acc = run(kernel, "head.pool", q=h.q.reshape(B, tokens, C).transpose(1, 2)).reshape(B, C)
        summed = QTensor(acc, torch.as_tensor(float(kernel.scale_out[0]), dtype=torch.float64), kernel.out_spec.bits)
        if h.shadow is not None:
            summed.shadow = h.shadow.mean(dim=(1, 2))
        return summed
