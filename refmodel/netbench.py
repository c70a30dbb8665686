"""Whole-network throughput: the Numba engine, the PyTorch path and timm's float model, in one
process, on the same batch (``python -m refmodel.bench --network MODEL``).

The quantized model takes a uniform plan (``--method``, default I-ViT: its calibration is
the cheapest) calibrated on the timed batch itself. Each of the three runs once as warm-up
(Numba compile or cache load, allocator), then ``repeat`` rounds that take the three in turn,
so that a machine whose speed drifts (a shared virtual machine) slows all three alike; in a
round each runs twice and the second run is timed (the PyTorch path frees gigabytes that the
next datapath's first run would fault in again). The median of each gives images per second. The engine's and the PyTorch path's logits must be equal (else ``AssertionError``).
The last line is ``network MODEL: engine E img/s, pytorch P img/s, float F img/s,
engine/float R``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from refmodel import models, pipeline
from refmodel.plan import uniform_plan
from refmodel.quant import opcall

BATCH = 8


@dataclass
class NetworkResult:
    model: str
    batch: int
    engine_s: float
    pytorch_s: float
    float_s: float

    def rate(self, seconds: float) -> float:
        return self.batch / seconds

    def line(self) -> str:
        e, p, f = (self.rate(s) for s in (self.engine_s, self.pytorch_s, self.float_s))
        return f"network {self.model}: engine {e:.2f} img/s, pytorch {p:.2f} img/s, float {f:.2f} img/s, engine/float {e / f:.2f}"


def _interleaved_medians(fns: list[Callable[[], torch.Tensor]], repeat: int) -> tuple[list[float], list[torch.Tensor]]:
    """Median seconds of each of ``fns`` over ``repeat`` rounds; each round calls each in turn
    twice and times the second call, so that a timed call always follows a call of the same
    datapath (its memory and thread pool as in steady use) while all of them share the
    machine's drift. Also each one's last result."""
    outs = [fn() for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            fn()
            start = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], outs


def input_size(model: torch.nn.Module) -> tuple[int, int, int]:
    """``(channels, height, width)`` of the model's input (timm's ``pretrained_cfg``)."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return tuple(int(v) for v in cfg.get("input_size", (3, 224, 224)))


def run(name: str, repeat: int = 3, batch: int = BATCH, bits: int = 8, method: str = "ivit", seed: int = 0, progress: Callable[[str], None] = print) -> NetworkResult:
    """Time the three datapaths of model ``name`` at batch ``batch``."""
    model = models.load(name, None, seed).model.eval()
    images = torch.randn((batch, *input_size(model)), generator=torch.Generator().manual_seed(seed))  # as data.synthetic
    qmodel = pipeline.quantized_model(model, uniform_plan(pipeline.slot_kinds(model), method), bits)
    pipeline.set_datapath(qmodel, "numba")
    pipeline.calibrate(qmodel, images, batch)
    progress(f"calibrated uniform {method} {name} at {bits} bits on {batch} images")

    def engine() -> torch.Tensor:
        with torch.no_grad(), opcall.datapath("numba"):
            return qmodel(images)

    def pytorch() -> torch.Tensor:
        with torch.no_grad(), opcall.datapath("twin"):
            return qmodel(images)

    def float_model() -> torch.Tensor:
        with torch.no_grad():
            return model(images)

    (engine_s, pytorch_s, float_s), (engine_logits, pytorch_logits, _) = _interleaved_medians([engine, pytorch, float_model], repeat)
    progress(f"timed {repeat} rounds: engine {engine_s:.2f} s, PyTorch path {pytorch_s:.2f} s, float {float_s:.3f} s per batch")
    if not torch.equal(engine_logits, pytorch_logits):
        raise AssertionError(f"{name}: the engine's logits differ from the PyTorch path's")
    return NetworkResult(name, batch, engine_s, pytorch_s, float_s)
