"""Vector sets for every integer layer of a model, the graph that links them, and the check
that the graph is whole (``python -m refmodel.sim MODEL --out DIR``, the default
``--layers all``).

Each layer recorded by :mod:`refmodel.layergraph` (complete tensors of the first
``--vector-images`` images) becomes one vector set, ``DIR/<layer>/`` (``#`` of a layer run
twice, ``pos_act#2``, becomes ``~``): a plain set for a one-input op whose output has its
input's shape, a *shaped* set otherwise (one hex file per input; see
:mod:`refmodel.vectorset`). ``manifest.json`` lists the layers in forward order, each with
its op, directory, output shape and width, scales, and for every input its source:

``{"from": "layer", "producers": [...], "map": "identity"}``
    the input file is the producer's output file, element for element;
``{"from": "layer", "producers": [...], "map": "gather", "wiring": "wiring/<layer>.<input>.npz"}``
    element ``j`` of the input is element ``element[j]`` of producer ``producer[j]``'s output
    (the npz holds int64 arrays ``element`` and, with several producers or constants,
    ``producer``: an index into ``producers``, or ``-1`` where the wiring writes the constant
    ``element[j]``, as Swin's shifted-window mask does). This is how the head split, ``k^T``, the merge of the heads,
    the concatenation of the class token and the class-token slice reach the next layer;
``{"from": "image"}``, ``{"from": "parameter"}``, ``{"from": "real"}``
    a real input: the image, a model parameter, another real tensor;
``{"from": "unchained", "why": ...}``
    integers the wiring computed between two ops (not provable from the graph).

:func:`chain_problems` is the check: every ``layer`` input equals what its producers'
output files and the map give, integer for integer.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from refmodel import vectorset
from refmodel.golden import RULES
from refmodel.layergraph import Layer, Source

WIRING_DIR = "wiring"


def layer_dir(name: str) -> str:
    """The directory of layer ``name`` in an export (``#`` of a repeated run becomes ``~``)."""
    return name.replace("#", "~")


def _set_inputs(layer: Layer) -> np.ndarray | dict[str, np.ndarray]:
    return next(iter(layer.inputs.values())) if len(layer.inputs) == 1 else layer.inputs


def _scales(layer: Layer) -> dict[str, Any]:
    k = layer.kernel
    found = {key: value for key, value in k.params.items() if key.startswith("scale")}
    return vectorset.jsonable(dict(found, scale_out=k.scale_out))


def _source_entry(layer: Layer, input_name: str, source: Source, stage: Path) -> dict[str, Any]:
    if source.kind != "layer":
        return {"from": source.kind, **({"why": source.why} if source.why else {})}
    entry: dict[str, Any] = {"from": "layer", "producers": source.producers, "map": "identity" if source.identity else "gather"}
    if not source.identity:
        arrays = {"element": source.element}
        if source.producer is not None:
            arrays["producer"] = source.producer
        rel = f"{WIRING_DIR}/{layer_dir(layer.name)}.{input_name}.npz"
        (stage / WIRING_DIR).mkdir(exist_ok=True)
        (stage / rel).write_bytes(vectorset.npz_bytes(arrays))
        entry["wiring"] = rel
    return entry


def write_layer_sets(stage: Path, layers: list[Layer], slots: dict[str, tuple[str, str]], revision: str, seed: int | None) -> list[dict[str, Any]]:
    """One vector set per layer under ``stage`` and the wiring files; returns the manifest's
    ``layers`` entries. ``slots`` maps a slot's name to its ``(kind, method)``."""
    entries = []
    for layer in layers:
        k = layer.kernel
        notes: dict[str, Any] = {"layer": layer.name}
        if layer.name in slots:
            kind, method = slots[layer.name]
            notes.update(slot=layer.name, kind=kind, method=method)
        inputs = _set_inputs(layer)
        shaped = vectorset.is_shaped(k, inputs, layer.output)
        datapath = {} if shaped else k.datapath(inputs)
        vs = vectorset.VectorSet(layer.name, k, inputs, layer.output, seed=seed, notes=notes, datapath=datapath)
        directory = layer_dir(layer.name)
        (stage / directory).mkdir()
        for fname, data in vectorset.render(vs, method_rules=RULES.get(k.name, ""), git_revision=revision).items():
            (stage / directory / fname).write_bytes(data)
        entries.append(
            {
                "name": layer.name,
                "op": k.name,
                "dir": directory,
                "inputs": {n: _source_entry(layer, n, layer.sources[n], stage) for n in layer.inputs},
                "output": {"shape": list(layer.output.shape), "bits": k.out_spec.bits, "signed": k.out_spec.signed},
                "scales": _scales(layer),
            }
        )
    return entries


def slot_entries(layers: list[Layer], slots: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The manifest's ``slots`` list of a layer export: each slot's layer set, in forward order."""
    out = []
    for layer in layers:
        if layer.name in slots:
            kind, method = slots[layer.name]
            shape = layer.output.shape
            out.append({"name": layer.name, "kind": kind, "method": method, "op": layer.kernel.name, "dir": layer_dir(layer.name), "rows": int(np.prod(shape[:-1])), "cols": int(shape[-1])})
    return out


# ------------------------------------------------------------------------------ the check


def _inputs(directory: Path, names: list[str]) -> dict[str, np.ndarray]:
    """A set's inputs by input name (``names``: the manifest's, in the op's order), from its
    hex files."""
    _, inputs, _ = vectorset.read(directory)
    if isinstance(inputs, dict):
        return {role.removeprefix("input_"): arr for role, arr in inputs.items()}
    return {names[0]: inputs} if len(names) == 1 else {}


def _source(entry: dict[str, Any], directory: Path, size: int) -> Source:
    """The :class:`Source` a manifest input entry describes; ``ValueError`` for a malformed one."""
    producers = entry.get("producers")
    if not isinstance(producers, list) or not producers or not all(isinstance(p, str) for p in producers):
        raise ValueError("field 'producers': expected a list of layer names")
    if entry.get("map") == "identity":
        return Source("layer", producers, True)
    if entry.get("map") != "gather" or not isinstance(entry.get("wiring"), str):
        raise ValueError(f"field 'map': expected 'identity' or 'gather' with a 'wiring' file, got {entry.get('map')!r}")
    arrays = vectorset.npz_arrays((directory / entry["wiring"]).read_bytes())
    element, producer = arrays.get("element"), arrays.get("producer")
    if element is None or element.size != size or (producer is None) != (len(producers) == 1) or (producer is not None and producer.size != size):
        raise ValueError(f"{entry['wiring']}: expected {size} elements in 'element'" + (" and 'producer'" if len(producers) > 1 else ""))
    if producer is not None and (producer.min() < -1 or producer.max() >= len(producers)):
        raise ValueError(f"{entry['wiring']}: 'producer' holds -1 (a constant) or an index of the {len(producers)} producers")
    return Source("layer", producers, False, producer, element)


def chain_problems(directory: Path, layers: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For every layer whose input is copied from earlier layers: the input file must equal
    what the producers' output files and the map give. Returns problems by layer name."""
    directory = Path(directory)
    position = {e.get("name"): i for i, e in enumerate(layers)}
    dirs = {e.get("name"): e.get("dir") for e in layers}
    outputs: dict[str, np.ndarray] = {}
    problems: dict[str, list[str]] = {}

    def output_of(name: str) -> np.ndarray:
        if name not in outputs:
            outputs[name] = vectorset.read(directory / dirs[name])[2]
        return outputs[name]

    for i, entry in enumerate(layers):
        name = entry.get("name")
        sources = entry.get("inputs")
        if not isinstance(sources, dict):
            problems.setdefault(name, []).append(f"{directory / json.dumps(name)}: manifest field 'inputs': expected an object")
            continue
        wanted = [n for n, s in sources.items() if isinstance(s, dict) and s.get("from") == "layer"]
        if not wanted:
            continue
        try:
            inputs = _inputs(directory / entry["dir"], list(sources))
        except (ValueError, OSError, KeyError) as exc:
            problems.setdefault(name, []).append(f"chain: cannot read the inputs ({exc})")
            continue
        for input_name in wanted:
            where = f"chain: input {input_name} of layer {name}"
            if input_name not in inputs:
                problems.setdefault(name, []).append(f"{where}: the set has no such input")
                continue
            values = inputs[input_name].reshape(-1)
            try:
                source = _source(sources[input_name], directory, values.size)
                late = [p for p in source.producers if position.get(p, len(layers)) >= i]
                if late:
                    raise ValueError(f"producer {late[0]} is not an earlier layer")
                expected = source.gather({p: output_of(p) for p in source.producers})
            except (ValueError, OSError, KeyError, IndexError, zipfile.BadZipFile) as exc:
                problems.setdefault(name, []).append(f"{where}: {exc}")
                continue
            if expected.size != values.size:
                problems.setdefault(name, []).append(f"{where}: {values.size} elements, its producers give {expected.size}")
                continue
            bad = np.flatnonzero(expected != values)
            if bad.size:
                j = int(bad[0])
                index = 0 if source.producer is None else int(source.producer[j])
                producer = "the constant of the map" if index < 0 else source.producers[index]
                problems.setdefault(name, []).append(
                    f"{where} differs from {'the output of its producer ' if index >= 0 else ''}{producer} in {bad.size} elements; first at element {j}: input {int(values[j])}, producer gives {int(expected[j])}"
                )
    return problems
