"""Range statistics for calibration: running min/max over every calibration batch.

I-ViT's QuantAct tracks an EMA (momentum 0.95) of the range during quantization-aware
training; post-training calibration here keeps the plain running min/max of all calibration
batches, so the frozen range covers every calibration sample. The symmetric scale is I-ViT's:
``max(-min, max) / (2^(b-1) - 1)``, clamped below at float32 epsilon, stored as float32.
"""

from __future__ import annotations

import numpy as np
import torch

FLOAT32_EPS = float(np.finfo(np.float32).eps)


class RangeObserver:
    """Running min/max of a tensor, over all of it or per channel of the last axis."""

    def __init__(self, per_channel: bool = False) -> None:
        self.per_channel = per_channel
        self.min: torch.Tensor | None = None
        self.max: torch.Tensor | None = None

    def observe(self, x: torch.Tensor) -> None:
        x = x.detach().to(torch.float64)
        if self.per_channel:
            flat = x.reshape(-1, x.shape[-1])
            lo, hi = flat.min(dim=0).values, flat.max(dim=0).values
        else:
            lo, hi = x.min(), x.max()
        self._merge(lo, hi)

    def observe_range(self, lo: torch.Tensor, hi: torch.Tensor) -> None:
        """:meth:`observe` of a tensor whose extremes are the float64 scalars ``lo``, ``hi``
        (per-tensor observers only)."""
        if self.per_channel:
            raise ValueError("observe_range: a per-channel observer needs the tensor")
        self._merge(lo.to(torch.float64), hi.to(torch.float64))

    def _merge(self, lo: torch.Tensor, hi: torch.Tensor) -> None:
        """Widen the running range to include ``[lo, hi]``."""
        self.min = lo if self.min is None else torch.minimum(self.min, lo)
        self.max = hi if self.max is None else torch.maximum(self.max, hi)

    @property
    def ready(self) -> bool:
        return self.min is not None


def symmetric_scale(lo: torch.Tensor | float, hi: torch.Tensor | float, bits: int) -> torch.Tensor:
    """``max(-lo, hi) / (2^(b-1) - 1)``, at least float32 epsilon, rounded to float32 and
    returned as float64 (the value a model stores)."""
    bound = torch.maximum(-torch.as_tensor(lo, dtype=torch.float64), torch.as_tensor(hi, dtype=torch.float64))
    scale = (bound / (2 ** (bits - 1) - 1)).clamp(min=FLOAT32_EPS)
    return scale.to(torch.float32).to(torch.float64)
