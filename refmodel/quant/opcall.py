"""How the model wiring runs an op: the scale of a tensor as the ops take it, the choice of
datapath, and the layer tracer.

Every integer layer of the quantized models runs through :func:`run` (or, for the slots,
:func:`choose_sim`), named by the module path of the layer (``blocks.3.mlp.fc1``). Which
datapath runs it:

- ``"auto"`` (the default): the op's PyTorch twin while autograd is on or off the CPU,
  otherwise its Numba kernel (the same integers, faster);
- ``"twin"``: always the PyTorch twin (``kernel.fakequant``): the PyTorch path;
- ``"numba"``: always the Numba kernel (``kernel.sim``): the engine of :mod:`refmodel.layers`;
- ``"replay"``: no kernel runs; the tracer's ``replay(layer, kernel, inputs)`` gives each
  layer's output (:mod:`refmodel.layergraph` traces where every input element comes from).

:func:`datapath` sets the mode (and a tracer that sees every layer's name, kernel, inputs
and output) for the code inside a ``with`` block.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol

import numpy as np
import torch

from refmodel import ops
from refmodel.quant.qtensor import QTensor

MODES = ("auto", "twin", "numba", "replay")


class Tracer(Protocol):
    def __call__(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None: ...


class _State:
    mode: str = "auto"
    tracer: Tracer | None = None


_STATE = _State()


@contextmanager
def datapath(mode: str, tracer: Tracer | None = None) -> Iterator[None]:
    """Run every layer inside the block on ``mode``'s datapath, reporting it to ``tracer``."""
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    saved = (_STATE.mode, _STATE.tracer)
    _STATE.mode, _STATE.tracer = mode, tracer
    try:
        yield
    finally:
        _STATE.mode, _STATE.tracer = saved


def mode() -> str:
    """The datapath mode in force (see the module docstring)."""
    return _STATE.mode


def scale_of(t: QTensor) -> float | np.ndarray:
    """A tensor's scale as the ops take it: one float64, or a float64 array per channel."""
    scale = t.scale.detach().cpu().numpy().astype(np.float64)
    return float(scale) if scale.ndim == 0 else scale


def use_sim(inputs: dict[str, torch.Tensor], default: bool | None = None) -> bool:
    """Whether a layer runs its Numba kernel: by the mode in force; in ``"auto"`` mode
    ``default`` when given (a slot's own setting), else when autograd is off and every input
    is on the CPU. The Numba kernel never runs under autograd or off the CPU."""
    if torch.is_grad_enabled() or any(t.device.type != "cpu" for t in inputs.values()):
        return False
    if _STATE.mode != "auto":
        return _STATE.mode == "numba"
    return True if default is None else default


def trace(layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None:
    """Report one layer to the tracer in force, if any."""
    if _STATE.tracer is not None:
        _STATE.tracer(layer, kernel, inputs, output)


def compute(kernel: ops.Kernel, layer: str, inputs: dict[str, torch.Tensor], default: bool | None = None) -> torch.Tensor:
    """Layer ``layer``: ``kernel`` on ``inputs`` (by name) on the datapath of :func:`use_sim`
    (``default``: a slot's own setting), or the replayed output in ``"replay"`` mode; reports
    the layer to the tracer."""
    if _STATE.mode == "replay":
        out = _STATE.tracer.replay(layer, kernel, inputs)
    elif use_sim(inputs, default):
        arrays = {name: t.detach().numpy() for name, t in inputs.items()}
        out = torch.from_numpy(kernel.sim(**arrays))
    else:
        out = kernel.fakequant(**inputs)
    trace(layer, kernel, inputs, out)
    return out


def run(kernel: ops.Kernel, layer: str, **inputs: torch.Tensor) -> torch.Tensor:
    """Layer ``layer``: ``kernel`` on ``inputs`` (by name); see :func:`compute`."""
    return compute(kernel, layer, inputs)
