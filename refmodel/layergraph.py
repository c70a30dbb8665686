"""The integer network of a quantized model as a graph of layers: every layer's kernel, inputs
and output on some images, and where each input element comes from.

:func:`record` runs the model twice on the same images:

1. **Values**: every layer on its Numba kernel (the engine of :mod:`refmodel.layers`); each
   layer's name, kernel, inputs (by name) and output are kept.
2. **Sources**: the same wiring runs with no kernel at all (datapath mode ``"replay"``):
   layer ``i`` outputs *codes*, ``code = (i + 1) * 2^40 + e`` for its element ``e`` (flat,
   row-major). Between layers the wiring only moves integers (reshapes, head splits,
   transposes, window partitions, concatenation, slicing, broadcasting), so each element of
   a later layer's integer input arrives as the code of the producer element it was copied
   from. Decoding gives, for every input element, its producer layer and the element of the
   producer's output; the recorded values must then agree (``input[j] ==
   output_of[producer[j]][element[j]]`` for every ``j``), or the input is *unchained*.

An input is one of:

- ``layer``: copied from earlier layers' outputs, element by element (``identity`` when it
  is one producer's whole output in its own order, however reshaped; otherwise a gather
  map: producer and element per input element). Elements the wiring sets to a constant
  (Swin's shifted-window mask writes the softmax input's minimum) arrive as that value in
  both runs: the map marks them with producer ``-1`` and holds the constant as their element;
- ``image``: the model's input images (the real input of the image quantizer);
- ``parameter``: a model parameter (the class token, the position embedding);
- ``real``: another real tensor the model computes in float (a relative-position bias; an
  activation a method keeps in float);
- ``unchained``: integers that are not plain copies of earlier outputs (e.g. the wiring
  saturated or summed them between two ops); :attr:`Source.why` says which.

The replay sees what the wiring does to the codes, not why: wiring that leaves every code as
it is (adding zero) is a copy, and one that writes the same value in both runs a constant;
either way the recorded values agree with the map, which is what the chain check proves.

Codes stay below ``2^53`` (at most ``2^13`` layers, ``2^40`` elements each), so they survive
the wiring's exact round trips through float64 (the patch unfold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from refmodel import ops
from refmodel.layers import UniqueNames, detached_probes
from refmodel.quant import opcall

CODE_SHIFT = 40
MAX_LAYERS = 1 << 12
SourceKind = Literal["layer", "image", "parameter", "real", "unchained"]


@dataclass
class Source:
    """Where one input of a layer comes from (see the module docstring)."""

    kind: SourceKind
    #: Producer layer names (kind ``layer``), in order of first use.
    producers: list[str] = field(default_factory=list)
    #: ``True`` when the input is the single producer's whole output in its element order.
    identity: bool = False
    #: Per input element (flat): index into :attr:`producers`, or ``-1`` for a constant;
    #: ``None`` with one producer and no constant.
    producer: np.ndarray | None = None
    #: Per input element (flat): the producer's element (flat), or the constant's value;
    #: ``None`` for ``identity``.
    element: np.ndarray | None = None
    why: str = ""

    def gather(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """The input as the producers' outputs imply it (flat int64), kind ``layer`` only."""
        flats = [np.asarray(outputs[p]).reshape(-1) for p in self.producers]
        if self.identity:
            return flats[0].astype(np.int64)
        if self.producer is None:
            return flats[0][self.element].astype(np.int64)
        out = np.where(self.producer == -1, self.element, 0).astype(np.int64)
        for i, flat in enumerate(flats):
            where = self.producer == i
            out[where] = flat[self.element[where]]
        return out


@dataclass
class Layer:
    """One integer layer on the recorded images."""

    name: str
    kernel: ops.Kernel
    inputs: dict[str, np.ndarray]
    output: np.ndarray
    sources: dict[str, Source] = field(default_factory=dict)


class _ValueTracer:
    def __init__(self) -> None:
        self.names = UniqueNames()
        self.layers: list[Layer] = []

    def __call__(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None:
        arrays = {n: t.detach().numpy().copy() for n, t in inputs.items()}
        self.layers.append(Layer(self.names(layer), kernel, arrays, output.numpy().copy()))


class _SourceTracer:
    """Replays the recorded layers with codes as outputs and resolves every input's source."""

    def __init__(self, layers: list[Layer], images: torch.Tensor) -> None:
        self.layers = layers
        self.images = images
        self.names = UniqueNames()
        self.index = 0
        self.by_name = {layer.name: layer for layer in layers}

    def replay(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        name = self.names(layer)
        if self.index >= len(self.layers) or self.layers[self.index].name != name or self.layers[self.index].kernel.name != kernel.name:
            raise RuntimeError(f"layer {name} ({kernel.name}): the replayed wiring ran another layer than the recorded one at position {self.index}")
        recorded = self.layers[self.index]
        recorded.sources = {n: self._source(n, t, recorded) for n, t in inputs.items()}
        self.index += 1
        count = recorded.output.size
        codes = ((self.index << CODE_SHIFT) + np.arange(count, dtype=np.int64)).reshape(recorded.output.shape)
        return torch.from_numpy(codes)

    def __call__(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> None:
        pass

    def _source(self, input_name: str, t: torch.Tensor, layer: Layer) -> Source:
        if t.dtype.is_floating_point:
            if t.shape == self.images.shape and torch.equal(t, self.images):
                return Source("image")
            return Source("parameter") if isinstance(t, torch.nn.Parameter) else Source("real")
        codes = t.detach().reshape(-1).numpy().astype(np.int64)
        layer_ids = codes >> CODE_SHIFT
        constant = codes < (1 << CODE_SHIFT)  # the wiring wrote a value, not a copy (negatives too)
        elements = np.where(constant, codes, codes & ((1 << CODE_SHIFT) - 1))
        sizes = np.array([0] + [lay.output.size for lay in self.layers[: self.index]], dtype=np.int64)
        valid = constant | ((layer_ids >= 1) & (layer_ids <= self.index))
        if not valid.all() or np.any(~constant & (elements >= sizes[np.where(valid & ~constant, layer_ids, 0)])) or constant.all():
            return Source("unchained", why="some elements are not copies of earlier layers' outputs (the wiring computed them)")
        ids, first = np.unique(layer_ids[~constant], return_index=True)
        order = ids[np.argsort(first)]
        producers = [self.layers[i - 1].name for i in order.tolist()]
        lookup = np.full(self.index + 1, -1, dtype=np.int64)
        lookup[order] = np.arange(order.size)
        producer = None if order.size == 1 and not constant.any() else np.where(constant, -1, lookup[np.where(constant, 0, layer_ids)])
        identity = bool(producer is None and elements.size == sizes[order[0]] and np.array_equal(elements, np.arange(elements.size)))
        source = Source("layer", producers, identity, producer, None if identity else elements)
        values = layer.inputs[input_name].reshape(-1)
        if not np.array_equal(source.gather({p: self.by_name[p].output for p in producers}), values):
            return Source("unchained", why="the copied elements differ from the producers' outputs (the wiring changed them)")
        return source


def record(qmodel: torch.nn.Module, images: torch.Tensor) -> list[Layer]:
    """Every integer layer of the frozen ``qmodel`` on ``images``, in forward order, with its
    inputs' sources (see the module docstring). The slot probes are detached meanwhile."""
    with detached_probes(qmodel):
        values = _ValueTracer()
        with torch.no_grad(), opcall.datapath("numba", values):
            qmodel(images)
        if len(values.layers) >= MAX_LAYERS:
            raise ValueError(f"model: {len(values.layers)} integer layers; the source codes hold at most {MAX_LAYERS - 1}")
        sources = _SourceTracer(values.layers, images)
        with torch.no_grad(), opcall.datapath("replay", sources):
            qmodel(images)
        if sources.index != len(values.layers):
            raise RuntimeError(f"the replayed wiring ran {sources.index} layers, the recorded run {len(values.layers)}")
    return values.layers
