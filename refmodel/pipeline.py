"""The mixed-method pipeline behind ``python -m refmodel.sim``: calibrate, measure per-slot
SQNR, choose the plan, run the mixed model, and prove every slot bit-exact.

1. The float model and one uniformly quantized copy per method (by default I-BERT, FQ-ViT,
   I-ViT; any registered methods, ``refmodel.methods``; all with I-ViT's linear
   quantization) are calibrated on the same images, then frozen.
2. The same images run through the float model and every copy; each slot's input and output
   are compared with the float model's (:mod:`refmodel.plan`), and the copies' logits with
   the float logits.
3. The plan takes, per slot, the method of largest dSQNR (or comes from a plan file).
4. The mixed model is calibrated and run on its PyTorch twins; at every slot the integers
   its PyTorch twin saw are also run through the slot's Numba kernel, and the two outputs
   must be equal; with an engine (:mod:`refmodel.layers`) the same batches also run through
   the whole-network Numba engine, every layer compared.

Calibration and the sensitivity passes need no gradients and run each slot's Numba kernel
(the same integers as the twin, several times faster); the mixed model's final run goes
through the PyTorch twins, which the Numba check then compares slot by slot.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from refmodel import methods as registry
from refmodel import ops
from refmodel.plan import SlotScores, SQNRAccumulator, choose, delta_sqnr, uniform_plan
from refmodel.quant.slots import Slot

#: Batches of the mixed model's final pass that the whole-network engine checks: each costs
#: an engine pass and a pass with every layer on its twin (about twice the default pass).
ENGINE_BATCHES = 1
#: The default candidates: the paper's three methods.
METHODS = registry.DEFAULT
Progress = Callable[[str], None]


def quantized_model(model: torch.nn.Module, plan: dict[str, str], bits: int) -> torch.nn.Module:
    """The quantized wrapper for a timm ViT/DeiT or Swin model."""
    from timm.models.swin_transformer import SwinTransformer

    if isinstance(model, SwinTransformer):
        from refmodel.quant.swin import QuantSwin

        return QuantSwin(model, plan, bits)
    from refmodel.quant.vit import QuantViT

    return QuantViT(model, plan, bits)


def slot_kinds(model: torch.nn.Module) -> dict[str, str]:
    """Slot name -> kind, in forward order."""
    from timm.models.swin_transformer import SwinTransformer

    if isinstance(model, SwinTransformer):
        from refmodel.quant import swin

        return swin.slot_kinds(model)
    from refmodel.quant import vit

    return vit.slot_kinds(model)


def batches(images: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    for start in range(0, images.shape[0], size):
        yield images[start : start + size]


class SlotRecorder:
    """Probe that keeps the float model's slot tensors of the current batch."""

    wants_io = True

    def __init__(self) -> None:
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def on_io(self, slot: Slot, x: torch.Tensor, y: torch.Tensor, masked: torch.Tensor | None = None) -> None:
        self.tensors[slot.name] = (x.detach(), y.detach())

    def on_kernel(self, slot, kernel, q_in, q_out) -> None:  # the float model runs no kernel
        pass


class SQNRProbe:
    """Probe that compares a quantized copy's slot tensors with the recorded float ones, per
    image (``samples``: the images of the current batch), leaving out the entries a shifted-
    window mask removes."""

    wants_io = True

    def __init__(self, recorder: SlotRecorder) -> None:
        self.recorder = recorder
        self.samples: int | None = None
        self.inputs: dict[str, SQNRAccumulator] = {}
        self.outputs: dict[str, SQNRAccumulator] = {}

    def on_io(self, slot: Slot, x: torch.Tensor, y: torch.Tensor, masked: torch.Tensor | None = None) -> None:
        fx, fy = self.recorder.tensors[slot.name]
        keep = None if masked is None else ~masked
        self.inputs.setdefault(slot.name, SQNRAccumulator()).add(fx, x, self.samples, keep)
        self.outputs.setdefault(slot.name, SQNRAccumulator()).add(fy, y, self.samples, keep)

    def on_kernel(self, slot, kernel, q_in, q_out) -> None:
        pass


@dataclass
class SlotCheck:
    """Numba-against-PyTorch result of one slot over a whole run."""

    name: str
    kind: str
    method: str
    elements: int = 0
    mismatches: int = 0
    first: str = ""

    @property
    def exact(self) -> bool:
        return self.elements > 0 and self.mismatches == 0


class NumbaCheckProbe:
    """Probe that reruns every slot's integer input through its Numba kernel."""

    wants_io = False

    def __init__(self) -> None:
        self.checks: dict[str, SlotCheck] = {}
        self.seconds = 0.0

    def on_io(self, slot, x, y, masked=None) -> None:
        pass

    def on_kernel(self, slot: Slot, kernel: ops.Kernel, q_in: torch.Tensor, q_out: torch.Tensor) -> None:
        start = time.perf_counter()
        check = self.checks.setdefault(slot.name, SlotCheck(slot.name, slot.kind, slot.method))
        sim = kernel.sim(q_in.detach().cpu().numpy())
        twin = q_out.detach().cpu().numpy()
        bad = np.flatnonzero(sim.reshape(-1) != twin.reshape(-1))
        check.elements += sim.size
        check.mismatches += bad.size
        if bad.size and not check.first:
            i = int(bad[0])
            check.first = f"element {i}: input {int(q_in.reshape(-1)[i])}, numba {int(sim.reshape(-1)[i])}, pytorch {int(twin.reshape(-1)[i])}"
        self.seconds += time.perf_counter() - start


class ProbeGroup:
    """Several probes at once."""

    def __init__(self, *probes) -> None:
        self.probes = [p for p in probes if p is not None]
        self.wants_io = any(p.wants_io for p in self.probes)

    def on_io(self, slot, x, y, masked=None) -> None:
        for p in self.probes:
            if p.wants_io:
                p.on_io(slot, x, y, masked)

    def on_kernel(self, slot, kernel, q_in, q_out) -> None:
        for p in self.probes:
            p.on_kernel(slot, kernel, q_in, q_out)


def set_probe(qmodel: torch.nn.Module, probe) -> None:
    for slot in qmodel.slots():
        slot.probe = probe


def set_datapath(qmodel: torch.nn.Module, datapath: str) -> None:
    """Run every slot of ``qmodel`` through its PyTorch twin or its Numba kernel."""
    for slot in qmodel.slots():
        slot.datapath = datapath


def calibrate(qmodel: torch.nn.Module, images: torch.Tensor, batch_size: int) -> None:
    """Run the calibration images through ``qmodel`` (scales track the running range), then
    freeze every scale."""
    with torch.no_grad():
        for batch in batches(images, batch_size):
            qmodel(batch)
    qmodel.freeze()


def logits_sqnr(reference: torch.Tensor, logits: torch.Tensor) -> float:
    acc = SQNRAccumulator()
    acc.add(reference, logits)
    return acc.sqnr_db()


def logits_kl(reference: torch.Tensor, logits: torch.Tensor) -> float:
    """Mean KL divergence (nats) of the quantized model's class distribution from the float
    model's, over the images (rows)::

        KL = mean_i sum_c p_ic (log p_ic - log q_ic),   p = softmax(reference), q = softmax(logits)

    in float64 (``log_softmax`` on both sides, so a class the quantized model gives
    probability underflowing to zero costs a large finite amount, not ``inf``). Zero exactly
    when the two distributions agree; never negative up to rounding."""
    if reference.shape != logits.shape or reference.dim() != 2:
        raise ValueError(f"logits: expected two [images, classes] tensors of one shape, got {tuple(reference.shape)} and {tuple(logits.shape)}")
    log_p = torch.log_softmax(reference.detach().to(torch.float64), dim=-1)
    log_q = torch.log_softmax(logits.detach().to(torch.float64), dim=-1)
    return float((log_p.exp() * (log_p - log_q)).sum(-1).mean())


def top1_agreement(reference: torch.Tensor, logits: torch.Tensor) -> float:
    return float((reference.argmax(-1) == logits.argmax(-1)).to(torch.float64).mean())


@dataclass
class Sensitivity:
    scores: list[SlotScores]
    float_logits: torch.Tensor
    logits: dict[str, torch.Tensor] = field(default_factory=dict)
    models: dict[str, torch.nn.Module] = field(default_factory=dict)  # "float" and one per method
    refused: dict[str, str] = field(default_factory=dict)  # method -> why its uniform model could not be built


def float_model_of(model: torch.nn.Module, bits: int) -> torch.nn.Module:
    """The quantized wrapper with quantization off: the float model, with the slots' probes."""
    float_model = quantized_model(model, uniform_plan(slot_kinds(model), "ivit"), bits)
    float_model.quantized = False
    return float_model


def float_reference(model: torch.nn.Module, bits: int, images: torch.Tensor, batch_size: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """The float model and its logits on ``images`` (what the mixed model is compared with
    when the uniform models are not measured)."""
    float_model = float_model_of(model, bits)
    with torch.no_grad():
        logits = torch.cat([float_model(batch) for batch in batches(images, batch_size)])
    return float_model, logits


def sensitivity(
    model: torch.nn.Module, bits: int, images: torch.Tensor, batch_size: int, progress: Progress, methods: tuple[str, ...] = METHODS
) -> Sensitivity:
    """Calibrate one uniform copy per method of ``methods``, then measure every slot's SQNR in
    and out for the methods that have an op of its kind.

    A method whose uniform copy refuses a calibrated scale is left out (``refused`` says why)
    and is no candidate of any slot; ``ValueError`` when a slot is left with none."""
    kinds = slot_kinds(model)
    float_model = float_model_of(model, bits)
    copies, refused = {}, {}
    for method in methods:
        start = time.perf_counter()
        copy = quantized_model(model, uniform_plan(kinds, method), bits)
        set_datapath(copy, "numba")
        try:
            calibrate(copy, images, batch_size)
        except ValueError as exc:  # a scale the method cannot represent (4 bits, say): one line naming the slot
            refused[method] = str(exc)
            progress(f"uniform {method} model refused: {exc}")
            continue
        copies[method] = copy
        progress(f"calibrated uniform {method} model ({time.perf_counter() - start:.1f} s)")
    recorder = SlotRecorder()
    set_probe(float_model, recorder)
    probes = {m: SQNRProbe(recorder) for m in copies}
    for method, copy in copies.items():
        set_probe(copy, probes[method])
    float_logits, logits = [], {m: [] for m in copies}
    with torch.no_grad():
        for i, batch in enumerate(batches(images, batch_size)):
            float_logits.append(float_model(batch))
            for method, copy in copies.items():
                probes[method].samples = batch.shape[0]
                logits[method].append(copy(batch))
            progress(f"sensitivity: batch {i + 1}/{math.ceil(images.shape[0] / batch_size)}")
    scores = []
    for name, kind in kinds.items():
        entry = SlotScores(name, kind)
        for method in (m for m in registry.candidates(kind, methods) if m in copies):
            s_in, s_out = probes[method].inputs[name].sqnr_db(), probes[method].outputs[name].sqnr_db()
            entry.scores[method] = {"sqnr_in": s_in, "sqnr_out": s_out, "dsqnr": delta_sqnr(s_in, s_out)}
        if not entry.scores:
            raise ValueError(f"slot {name}: every {kind} method refused its scales at {bits} bits ({'; '.join(refused.values())})")
        scores.append(entry)
    set_probe(float_model, None)
    for copy in copies.values():
        set_probe(copy, None)
    return Sensitivity(scores, torch.cat(float_logits), {m: torch.cat(v) for m, v in logits.items()}, {"float": float_model, **copies}, refused)


def run_mixed(
    model: torch.nn.Module, plan: dict[str, str], bits: int, images: torch.Tensor, batch_size: int, progress: Progress, capture=None,
    frozen: dict[str, torch.Tensor] | None = None, engine=None, engine_batches: int = ENGINE_BATCHES,
) -> tuple[torch.Tensor, NumbaCheckProbe, torch.nn.Module]:
    """Calibrate and run the mixed model on its PyTorch twins, checking every slot against its
    Numba kernel. ``frozen`` (a trained model's quantizer state) replaces the calibration.
    With ``engine`` (a :class:`refmodel.layers.Engine`) the first ``engine_batches`` batches
    also run through the whole-network Numba engine, compared layer by layer with every layer
    on its PyTorch twin; the other batches run the slots on their twins and the other layers
    on the default datapath (the same integers, faster)."""
    mixed = quantized_model(model, plan, bits)
    set_datapath(mixed, "numba")
    if frozen is None:
        calibrate(mixed, images, batch_size)
        progress("calibrated mixed model")
    else:
        from refmodel.quant.state import load_quantizer_state

        load_quantizer_state(mixed, frozen, "checkpoint")
        progress("mixed model frozen at the checkpoint's scales")
    set_datapath(mixed, "twin")
    checker = NumbaCheckProbe()
    set_probe(mixed, ProbeGroup(checker, capture))
    outputs = []
    with torch.no_grad():
        for i, batch in enumerate(batches(images, batch_size)):
            outputs.append(engine.run(mixed, batch) if engine is not None and i < engine_batches else mixed(batch))
            progress(f"mixed model: batch {i + 1}/{math.ceil(images.shape[0] / batch_size)}")
    set_probe(mixed, None)
    return torch.cat(outputs), checker, mixed


@dataclass
class Accuracy:
    """Correct answers of one model over ``images`` labelled images: the label is the top
    class (``top1``) or among the ``k`` top classes (``topk``; ``k = min(5, classes)``; ties
    at the k-th logit go to the lower class index, as ``torch.topk`` on CPU)."""

    top1: int = 0
    topk: int = 0
    images: int = 0
    k: int = 5


def evaluate(
    named_models: dict[str, torch.nn.Module], labelled: Iterator[tuple[torch.Tensor, torch.Tensor]], progress: Progress, total: int | None = None,
    every_s: float = 2.0,
) -> dict[str, Accuracy]:
    """Top-1 and top-5 of every model on labelled batches; progress (images done, images per
    second over all models) at most every ``every_s`` seconds and at the end."""
    result = {name: Accuracy() for name in named_models}
    seen, start = 0, time.perf_counter()
    last = start
    with torch.no_grad():
        for images, labels in labelled:
            for name, model in named_models.items():
                logits = model(images)
                k = min(5, logits.shape[-1])
                acc = result[name]
                acc.k = k
                acc.top1 += int((logits.argmax(-1) == labels).sum())
                acc.topk += int((logits.topk(k, dim=-1).indices == labels[:, None]).any(-1).sum())
                acc.images += labels.numel()
            seen += labels.numel()
            now = time.perf_counter()
            if now - last >= every_s:
                last = now
                progress(f"evaluation: {seen}{'' if total is None else f'/{total}'} images, {seen / (now - start):.1f} images/s")
    elapsed = time.perf_counter() - start
    progress(f"evaluation: {seen} images in {elapsed:.1f} s, {seen / max(elapsed, 1e-9):.1f} images/s ({len(named_models)} models)")
    return result


__all__ = ["choose", "sensitivity", "float_reference", "run_mixed", "quantized_model", "slot_kinds"]
