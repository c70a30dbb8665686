"""The whole-network Numba engine and its layer-by-layer check against the PyTorch path.

Every integer layer of a quantized model (a GEMM, a product of activations, a requantiser, a
residual join, a quantizer of the image or a parameter, a non-linear slot) runs through
:func:`refmodel.quant.opcall.run` under its module path (``blocks.3.mlp.fc1``; a name run
twice in one forward gets ``#2``). For each batch:

1. **Engine**: the model runs from the image with every layer on its Numba kernel
   (``kernel.sim``, datapath mode ``"numba"``): each layer is fed the engine's own outputs of
   the layers before it. The graph is recorded: for layer ``i`` its name, op and output.
2. **PyTorch path**: the same batch runs with every layer on its PyTorch twin
   (``kernel.fakequant``, mode ``"twin"``); the ``i``-th layer it runs must be the engine's
   ``i``-th (same name, same op) with an equal output, integer for integer. The logits (the
   head's accumulator times its scale) must be equal too.

A layer is bit-exact when every element of every batch was equal. The first difference is
named (layer, element, engine and PyTorch values); since each path feeds its own outputs
forward, every layer after a broken one differs as well, and the first one named is the
cause. The engine also builds the width profile (:mod:`refmodel.widths`); an output beyond
its declared width fails its layer.

The datapaths share the wiring between layers (reshapes, head splits, window permutations,
concatenation): integer moves, no arithmetic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

from refmodel import ops
from refmodel.quant import opcall
from refmodel.widths import WidthProfile

LOGITS = "logits"


@dataclass
class LayerCheck:
    """Engine-against-PyTorch result of one layer over a whole run."""

    name: str
    op: str
    elements: int = 0
    mismatches: int = 0
    first: str = ""

    @property
    def exact(self) -> bool:
        return self.elements > 0 and self.mismatches == 0

    def fail(self, count: int, why: str) -> None:
        self.mismatches += max(count, 1)
        if not self.first:
            self.first = why


class UniqueNames:
    """Unique layer names within one forward: the second run of ``x`` is ``x#2``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, layer: str) -> str:
        n = self.counts[layer] = self.counts.get(layer, 0) + 1
        return layer if n == 1 else f"{layer}#{n}"


def _compact(out: np.ndarray, spec: ops.IntSpec) -> np.ndarray:
    """The output in the narrowest numpy dtype of its declared width (less memory held)."""
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= spec.lo and spec.hi <= info.max:
            return out.astype(dtype)
    return out.copy()


@contextmanager
def detached_probes(qmodel: torch.nn.Module) -> Iterator[None]:
    """The slot probes of ``qmodel`` detached inside the block (they watch the PyTorch path
    only), restored after it."""
    slots = list(qmodel.slots())
    probes = [s.probe for s in slots]
    for s in slots:
        s.probe = None
    try:
        yield
    finally:
        for s, p in zip(slots, probes):
            s.probe = p


class EngineTracer:
    """Tracer of the engine pass: records each layer's name, op and output, and feeds the
    width profile."""

    def __init__(self, widths: WidthProfile | None) -> None:
        self.names = UniqueNames()
        self.widths = widths
        self.layers: list[tuple[str, str, np.ndarray | None]] = []
        self.problems: dict[str, str] = {}

    def __call__(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None:
        name = self.names(layer)
        if self.widths is not None:
            problem = self.widths.observe(name, kernel, inputs, output)
            if problem:
                self.problems.setdefault(name, problem)
        self.layers.append((name, kernel.name, _compact(output.numpy(), kernel.out_spec)))


class CompareTracer:
    """Tracer of the PyTorch pass: compares each layer with the engine's layer of the same
    position, then drops the engine's copy."""

    def __init__(self, engine: EngineTracer, checks: dict[str, LayerCheck]) -> None:
        self.engine = engine
        self.checks = checks
        self.names = UniqueNames()
        self.index = 0
        self.seconds = 0.0

    def __call__(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None:
        start = time.perf_counter()
        name = self.names(layer)
        check = self.checks.setdefault(name, LayerCheck(name, kernel.name))
        twin = output.numpy()
        check.elements += twin.size
        recorded = self.engine.layers
        if self.index >= len(recorded):
            check.fail(twin.size, "the engine ran no layer here")
        else:
            e_name, e_op, got = recorded[self.index]
            recorded[self.index] = (e_name, e_op, None)
            if (e_name, e_op) != (name, kernel.name):
                check.fail(twin.size, f"the engine ran layer {e_name} ({e_op}) here")
            elif got.shape != twin.shape or not np.array_equal(got, twin):
                bad = np.flatnonzero(got.reshape(-1) != twin.reshape(-1)) if got.shape == twin.shape else np.arange(twin.size)
                i = int(bad[0])
                detail = f"engine {int(got.reshape(-1)[i])}, pytorch {int(twin.reshape(-1)[i])}" if got.shape == twin.shape else f"engine shape {got.shape}, pytorch {twin.shape}"
                check.fail(bad.size, f"element {i}: {detail}")
            if name in self.engine.problems:
                check.fail(1, self.engine.problems[name])
        self.index += 1
        self.seconds += time.perf_counter() - start


class Engine:
    """Runs batches through the engine and the PyTorch path and keeps every layer's check."""

    def __init__(self, widths: bool = True) -> None:
        self.checks: dict[str, LayerCheck] = {}
        self.widths = WidthProfile() if widths else None
        self.seconds = 0.0

    @property
    def exact(self) -> int:
        return sum(1 for c in self.checks.values() if c.exact)

    def first_failure(self) -> LayerCheck | None:
        return next((c for c in self.checks.values() if not c.exact), None)

    def run(self, qmodel: torch.nn.Module, batch: torch.Tensor, pytorch: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:
        """One batch through the engine, then through the PyTorch path (``pytorch()``, by
        default ``qmodel(batch)``), comparing every layer; returns the PyTorch path's logits."""
        start = time.perf_counter()
        tracer = EngineTracer(self.widths)
        with detached_probes(qmodel), torch.no_grad(), opcall.datapath("numba", tracer):
            engine_logits = qmodel(batch)
        self.seconds += time.perf_counter() - start
        compare = CompareTracer(tracer, self.checks)
        with torch.no_grad(), opcall.datapath("twin", compare):
            logits = pytorch() if pytorch is not None else qmodel(batch)
        self.seconds += compare.seconds
        for name, _, _ in tracer.layers[compare.index :]:
            self.checks.setdefault(name, LayerCheck(name, "?")).fail(1, "the PyTorch path ran no layer here")
        check = self.checks.setdefault(LOGITS, LayerCheck(LOGITS, "float"))
        check.elements += logits.numel()
        if not torch.equal(engine_logits, logits):
            bad = torch.nonzero((engine_logits != logits).reshape(-1)).reshape(-1)
            i = int(bad[0]) if bad.numel() else 0
            check.fail(int(bad.numel()), f"element {i}: engine {float(engine_logits.reshape(-1)[i])!r}, pytorch {float(logits.reshape(-1)[i])!r}")
        return logits

    def lines(self) -> list[str]:
        """Report lines: the first layer that differs (the cause), and how many differ."""
        bad = [c for c in self.checks.values() if not c.exact]
        if not bad:
            return []
        first = bad[0]
        return [f"layer {first.name} ({first.op}) differs: {first.mismatches} of {first.elements} elements, first at {first.first}; {len(bad)} layers differ"]

    def final_line(self) -> str:
        return f"bit-exact layers: {self.exact}/{len(self.checks)}"
