"""How the model wiring runs an op: the scale of a tensor as the ops take it, and the choice
of datapath."""

from __future__ import annotations

import numpy as np
import torch

from refmodel import ops
from refmodel.quant.qtensor import QTensor


def scale_of(t: QTensor) -> float | np.ndarray:
    """A tensor's scale as the ops take it: one float64, or a float64 array per channel."""
    scale = t.scale.detach().cpu().numpy().astype(np.float64)
    return float(scale) if scale.ndim == 0 else scale


def run(kernel: ops.Kernel, **inputs: torch.Tensor) -> torch.Tensor:
    """The op's PyTorch twin while autograd is on or off the CPU; otherwise its Numba
    kernel: the same integers (both datapaths are tested equal), faster."""
    if torch.is_grad_enabled() or any(t.device.type != "cpu" for t in inputs.values()):
        return kernel.fakequant(**inputs)
    return torch.from_numpy(kernel.sim(**{name: t.numpy() for name, t in inputs.items()}))
