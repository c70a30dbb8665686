"""The checkpoint ``python -m refmodel.train`` writes: one ``.safetensors`` file.

Tensors: the float model's state dict under its own keys (so any timm user can load the
weights) and, for a quantization-aware trained model, the frozen quantizer state of
:mod:`refmodel.quant.state` under keys prefixed ``quant:``. Metadata (strings): ``format``
(:data:`FORMAT`), ``model`` (short name), ``kind`` (``float`` or ``qat``), ``epoch``, and for
``qat`` ``bits`` and ``plan`` (JSON, slot -> method). ``python -m refmodel.sim --checkpoint``
rebuilds the quantized model from the plan and bits, loads the weights and the frozen scales
without calibrating, and so computes the integers the training run evaluated.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from refmodel.models import LoadedModel

FORMAT = "refmodel-train/1"
QUANT_PREFIX = "quant:"
KINDS = ("float", "qat")


@dataclass
class TrainCheckpoint:
    model: str
    kind: str
    weights: dict[str, torch.Tensor]
    epoch: int
    bits: int | None = None
    plan: dict[str, str] | None = None
    scales: dict[str, torch.Tensor] = field(default_factory=dict)


def write(path: Path, ckpt: TrainCheckpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (a temporary file in the same directory, then a
    rename): the file is complete or absent."""
    from safetensors.torch import save_file

    if ckpt.kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {ckpt.kind!r}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in ckpt.weights.items()}
    tensors.update({QUANT_PREFIX + k: v.detach().cpu().contiguous() for k, v in ckpt.scales.items()})
    meta = {"format": FORMAT, "model": ckpt.model, "kind": ckpt.kind, "epoch": str(ckpt.epoch)}
    if ckpt.kind == "qat":
        meta.update({"bits": str(ckpt.bits), "plan": json.dumps(ckpt.plan, sort_keys=True)})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_train_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a ``.safetensors`` file this module wrote."""
    path = Path(path)
    if path.suffix != ".safetensors" or not path.is_file():
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return (handle.metadata() or {}).get("format") == FORMAT
    except Exception:  # not a safetensors file at all: the model loader reports it
        return False


def read(path: Path) -> TrainCheckpoint:
    """The checkpoint at ``path``; ``ValueError`` naming the file when it is not one."""
    from safetensors import safe_open

    path = Path(path)
    if not is_train_checkpoint(path):
        raise ValueError(f"{path}: not a refmodel training checkpoint (format {FORMAT!r} expected)")
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    kind = meta.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{path}: kind {kind!r} is not one of {', '.join(KINDS)}")
    weights = {k: v for k, v in tensors.items() if not k.startswith(QUANT_PREFIX)}
    scales = {k.removeprefix(QUANT_PREFIX): v for k, v in tensors.items() if k.startswith(QUANT_PREFIX)}
    bits = int(meta["bits"]) if kind == "qat" else None
    plan = json.loads(meta["plan"]) if kind == "qat" else None
    return TrainCheckpoint(meta["model"], kind, weights, int(meta.get("epoch", 0)), bits, plan, scales)


@dataclass
class TrainedModel:
    """A training checkpoint loaded into its float model, ready for the quantized pipeline."""

    loaded: LoadedModel
    bits: int | None
    plan: dict[str, str] | None
    scales: dict[str, torch.Tensor]


def load_model(name: str, path: Path) -> TrainedModel:
    """The model ``name`` with the weights of the training checkpoint ``path``; ``ValueError``
    when the checkpoint is of another model or does not fit it."""
    from refmodel import models

    path = Path(path)
    ckpt = read(path)
    if ckpt.model != name:
        raise ValueError(f"{path}: a checkpoint of model {ckpt.model!r}, not {name!r}")
    timm_name = models.resolve(name)
    model = models.create(timm_name, 0)
    models.apply_state_dict(model, ckpt.weights, path)
    loaded = models.LoadedModel(name, timm_name, model.eval(), "checkpoint", path, models.sha256_of(path), None)
    return TrainedModel(loaded, ckpt.bits, ckpt.plan, ckpt.scales)

