"""An integer tensor with its scale: the value ``q * scale`` of the model's dataflow.

``q`` is int64; ``scale`` is float64, either a scalar or one value per channel of the last
axis. ``shadow`` is an optional float tensor with the same value, carried only while
autograd is on: it is what gradients flow through (straight-through), never what the forward
pass computes with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class QTensor:
    q: torch.Tensor
    scale: torch.Tensor
    bits: int
    signed: bool = True
    shadow: torch.Tensor | None = None

    def real(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``q * scale`` (computed in float64, then cast)."""
        return (self.q.to(torch.float64) * self.scale).to(dtype)

    def real_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(min, max)`` of :meth:`real` in float64 (a non-empty tensor), from the integers'
        extremes per channel of the scale: converting an integer to float64 and multiplying by
        a positive scale are both monotone non-decreasing roundings, so the extreme reals are
        the reals of the extreme integers, bit for bit, without the float tensor."""
        scale = torch.as_tensor(self.scale, dtype=torch.float64)
        q = self.q.detach()
        if scale.dim() == 0:
            lo, hi = q.min(), q.max()
        else:
            rows = q.reshape(-1, q.shape[-1])
            lo, hi = rows.amin(dim=0), rows.amax(dim=0)
        return (lo.to(torch.float64) * scale).min(), (hi.to(torch.float64) * scale).max()

    def value(self) -> torch.Tensor:
        """The float tensor downstream float code should use: the shadow when gradients are
        tracked (its value equals :meth:`real`), else :meth:`real`."""
        return self.shadow if self.shadow is not None else self.real()


def straight_through(shadow: torch.Tensor | None, exact: torch.Tensor) -> torch.Tensor | None:
    """``exact`` in the forward pass, the identity gradient to ``shadow`` in the backward pass
    (``None`` when autograd is off)."""
    if shadow is None or not torch.is_grad_enabled():
        return None
    exact = exact.to(shadow.dtype)
    return shadow + (exact - shadow).detach()
