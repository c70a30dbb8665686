"""The real -> integer boundary of the model wiring.

:func:`quantize` is the only place a real tensor becomes integers (the image, weights, bias
and float-kept activations): it runs the ``quantize`` op (round half to even of
``x / scale`` in float64, then the saturation of the target width; D1, D5, D7). Every other
integer step of the model is an op of ``refmodel.ops`` too: ``gemm`` and ``matmul``
(exact products), ``requant``, ``requant_wide`` and ``requant_add`` (dyadic requantisers),
``fqvit.attend`` (FQ-ViT's shift-form P V).
"""

from __future__ import annotations

import torch

from refmodel import ops
from refmodel.quant.opcall import run


def quantize(
    x: torch.Tensor, scale: torch.Tensor | float, bits: int, signed: bool = True, zero_point: int = 0, layer: str | None = None
) -> torch.Tensor:
    """``clamp(rne(x / scale) + zero_point)`` to the width, as int64 (float64 division).
    ``scale`` is one value or one per element of the last axis. With ``layer`` it is a layer
    of the integer network (the image, a parameter, a float-kept activation) and runs on the
    datapath in force (:func:`refmodel.quant.opcall.run`); without, it makes configuration
    (weights, biases) and runs the twin."""
    kernel = ops.make("quantize", scale=scale.detach().cpu() if isinstance(scale, torch.Tensor) else scale, bits=bits, signed=signed, zero_point=zero_point)
    if layer is not None:
        return run(kernel, layer, x=x)
    return kernel.fakequant(x)
