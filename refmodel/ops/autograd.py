"""A differentiable wrapper around the PyTorch twins: integer forward, straight-through
backward.

Forward, the op runs on integers exactly (``kernel.fakequant``); its real-valued output is the
integer output times the op's output scale. Backward, rounding and flooring pass gradients
straight through: the gradient is that of the float function the op approximates (softmax,
GELU, LayerNorm, identity for requant), evaluated at the real-valued input. This is the
training recipe the mixed method inherits from I-ViT ("rounding and flooring pass gradients
straight through").

>>> import torch
>>> from refmodel import ops
>>> k = ops.make("requant", scale_in=0.5, scale_out=0.25, out_bits=8)
>>> x = torch.tensor([[1.0, -2.0]], requires_grad=True)
>>> q = torch.tensor([[2, -4]])
>>> y, y_int = straight_through(k, q, x)
>>> y_int.tolist(), y.tolist()
([[4, -8]], [[1.0, -2.0]])
>>> y.sum().backward(); x.grad.tolist()
[[1.0, 1.0]]
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from refmodel.ops.kernel import Kernel

Reference = Callable[[torch.Tensor], torch.Tensor]


def dequantize(kernel: Kernel, out_int: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Real value of an op's integer output: ``out * scale_out`` (per channel on the last
    axis), or ``2^-code`` with the all-ones code meaning 0 for log2-coded outputs (D10, D16).
    Computed in float64, returned in ``dtype`` (default: torch's default float dtype)."""
    dtype = dtype or torch.get_default_dtype()
    if kernel.scale_out is None:
        zero_code = (1 << kernel.out_spec.bits) - 1
        real = torch.pow(2.0, -out_int.to(torch.float64))
        return torch.where(out_int == zero_code, torch.zeros_like(real), real).to(dtype)
    scale = torch.as_tensor(np.asarray(kernel.scale_out, dtype=np.float64), device=out_int.device)
    return (out_int.to(torch.float64) * scale).to(dtype)


def float_reference(kernel: Kernel) -> Reference:
    """The float function ``kernel`` approximates, used for its backward pass."""
    family = kernel.name.split(".")[-1]
    if family == "softmax":
        return lambda x: torch.softmax(x, dim=-1)
    if family == "gelu":
        return F.gelu
    if family == "layernorm":
        gamma = torch.as_tensor(np.asarray(kernel.params["gamma"]), dtype=torch.float64)
        beta = torch.as_tensor(np.asarray(kernel.params["beta"]), dtype=torch.float64)

        def layer_norm(x: torch.Tensor) -> torch.Tensor:
            return F.layer_norm(x, x.shape[-1:], gamma.to(x), beta.to(x), eps=1e-12)

        return layer_norm
    return lambda x: x


def straight_through(
    kernel: Kernel, q: torch.Tensor, x_real: torch.Tensor, reference: Reference | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``kernel`` on the integers ``q`` (the quantised form of ``x_real``).

    Returns ``(y_real, y_int)``: ``y_int`` the exact integer output, ``y_real`` its real value
    in ``x_real``'s dtype, differentiable through ``reference`` (default
    :func:`float_reference`) with respect to ``x_real`` and to any parameter ``reference``
    uses (a LayerNorm's gamma and beta, say). The forward value is exactly the dequantised
    integer output: ``y_real = exact + (r - r.detach())`` adds an exact zero whose gradient
    is that of ``r = reference(x_real)``.
    """
    y_int = kernel.fakequant(q)
    exact = dequantize(kernel, y_int, x_real.dtype)
    if not torch.is_grad_enabled():
        return exact, y_int
    approx = (reference or float_reference(kernel))(x_real)
    return exact + (approx - approx.detach()), y_int
