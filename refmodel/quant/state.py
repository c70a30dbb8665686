"""The frozen quantizer state of a quantized model, as named tensors.

A quantized model's integers depend on its float weights (weight scales are derived from
them on every forward pass) and on the scales its activation quantizers froze after
calibration. :func:`quantizer_state` returns the second part: per ``QuantAct`` its scale
(float64), per FQ-ViT ``PTFQuant`` its per-channel scales (float64) and zero point (int64).
:func:`load_quantizer_state` puts them back into a freshly built model of the same plan and
bits and ends its calibration, so the model computes the same integers as the one saved.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel.quant.act import QuantAct
from refmodel.quant.ptf import PTFQuant


def quantizer_state(qmodel: nn.Module) -> dict[str, torch.Tensor]:
    """``{"<module>.scale": ..., "<ptf>.scales": ..., "<ptf>.zero_point": ...}`` of a frozen
    model. ``ValueError`` if a quantizer is still calibrating or of an unknown type."""
    state: dict[str, torch.Tensor] = {}
    for name, module in _quantizers(qmodel):
        if module.calibrating:
            raise ValueError(f"{name}: quantizer is still calibrating; freeze the model first")
        if isinstance(module, QuantAct):
            state[f"{name}.scale"] = module.scale.detach().to(torch.float64).clone()
        else:
            state[f"{name}.scales"] = torch.from_numpy(np.asarray(module.scales, dtype=np.float64).copy())
            state[f"{name}.zero_point"] = torch.tensor(int(module.zero_point), dtype=torch.int64)
    return state


def load_quantizer_state(qmodel: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Freeze ``qmodel`` at the scales of ``state``. ``ValueError`` naming ``source`` and the
    first quantizer the state lacks, or a key no quantizer of ``qmodel`` owns."""
    used = set()
    for name, module in _quantizers(qmodel):
        keys = [f"{name}.scale"] if isinstance(module, QuantAct) else [f"{name}.scales", f"{name}.zero_point"]
        for key in keys:
            if key not in state:
                raise ValueError(f"{source}: no frozen scale {key!r} (a checkpoint of another plan or model?)")
        used.update(keys)
        if isinstance(module, QuantAct):
            module.scale = state[keys[0]].to(torch.float64).clone()
        else:
            module.scales = state[keys[0]].to(torch.float64).numpy().copy()
            module.zero_point = int(state[keys[1]])
            module.last_batch = None
        module.calibrating = False
    extra = sorted(set(state) - used)
    if extra:
        raise ValueError(f"{source}: frozen scale {extra[0]!r} belongs to no quantizer of this model (a checkpoint of another plan?)")


def _quantizers(qmodel: nn.Module) -> list[tuple[str, nn.Module]]:
    found = []
    for name, module in qmodel.named_modules():
        if isinstance(module, (QuantAct, PTFQuant)):
            found.append((name, module))
        elif hasattr(module, "freeze") and module is not qmodel:
            raise ValueError(f"{name}: quantizer type {type(module).__name__} has no saved form")
    return found
