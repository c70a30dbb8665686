"""What every quantized model wrapper shares: its quantizers, freezing, and the integer patch
embedding (image -> ``b``-bit integers -> patch convolution as an exact matmul on unfolded
patches -> 16-bit stream)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refmodel.quant.act import QuantAct
from refmodel.quant.linear import QuantLinear
from refmodel.quant.qtensor import QTensor
from refmodel.quant.slots import RESIDUAL_BITS, Slot
from refmodel.quant.support import check_supported

NETWORK_BITS = (8, 6, 4)
"""The weight and activation widths a quantized model accepts (the residual stream stays 16)."""


class QuantModel(nn.Module):
    """Base of ``QuantViT`` and ``QuantSwin``: subclasses build their modules and ``slots()``."""

    def __init__(self, model: nn.Module, bits: int, patch_proj: nn.Conv2d) -> None:
        super().__init__()
        check_supported(model)
        if bits not in NETWORK_BITS:
            raise ValueError(f"bits: must be one of {NETWORK_BITS}, got {bits}")
        self.model = model
        self.bits = bits
        self.quantized = True
        self.patch_size = patch_proj.kernel_size
        self.input_act = QuantAct(bits, "input_act")
        self.patch = QuantLinear(patch_proj, bits, "patch_embed.proj")
        self.embed_act = QuantAct(RESIDUAL_BITS, "embed_act")

    def slots(self) -> list[Slot]:
        raise NotImplementedError

    def quantizers(self) -> list[nn.Module]:
        return [m for m in self.modules() if hasattr(m, "freeze") and m is not self]

    def freeze(self) -> None:
        """End calibration: fix every scale."""
        for m in self.quantizers():
            m.freeze()

    def embed_patches(self, images: torch.Tensor) -> QTensor:
        """The patch convolution's accumulator requantised to the 16-bit stream, ``[B, P, C]``."""
        img = self.input_act.from_real(images)
        patches = F.unfold(img.q.to(torch.float64), self.patch_size, stride=self.patch_size).transpose(1, 2).to(torch.int64)
        shadow = None
        if img.shadow is not None:
            shadow = F.unfold(img.shadow, self.patch_size, stride=self.patch_size).transpose(1, 2)
        return self.embed_act.from_int(self.patch(QTensor(patches, img.scale, img.bits, shadow=shadow)))
