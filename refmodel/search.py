"""A plan search by the whole network's output (``python -m refmodel.sim MODEL --plan-search``).

dSQNR judges every slot alone. The search judges a plan by the logits: with ``f`` the float
model's logits and ``y`` those of the model quantized with the plan (calibrated on the same
images), ``score = SQNR(f, y)`` in dB (:func:`refmodel.pipeline.logits_sqnr`). Greedy
coordinate ascent from the start plan (the dSQNR plan): in forward order, every slot tries
every other candidate method; a change is kept when it raises the score strictly. Passes
repeat until one changes nothing (or ``max_passes``). A plan a method refuses (a scale it
cannot represent) is recorded and skipped. ``methods`` restricts the candidates of every
slot to the run's methods (those of its kind, :func:`refmodel.methods.candidates`).

The result is never worse than the start on the images searched (only strict improvements
are kept) and deterministic (fixed order, deterministic calibration). Every score the search
computed is kept in :class:`SearchResult` for the plan document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from refmodel import methods as registry
from refmodel import pipeline
from refmodel.quant.slots import CANDIDATES


@dataclass
class Trial:
    slot: str
    method: str
    score: float | None  # None: the method refused a scale
    kept: bool
    note: str = ""


@dataclass
class SearchResult:
    start: dict[str, str]
    plan: dict[str, str]
    start_score: float
    score: float
    passes: int
    trials: list[Trial] = field(default_factory=list)

    def document(self) -> dict:
        """The search's record for ``plan.json``."""
        return {
            "rule": "greedy per slot, kept when the logits SQNR on the calibration images rises strictly",
            "start": dict(self.start),
            "start_logits_sqnr_db": self.start_score,
            "logits_sqnr_db": self.score,
            "passes": self.passes,
            "changed": {n: [self.start[n], m] for n, m in self.plan.items() if m != self.start[n]},
            "trials": [{"slot": t.slot, "method": t.method, "logits_sqnr_db": t.score, "kept": t.kept, **({"note": t.note} if t.note else {})} for t in self.trials],
        }


def plan_score(model: torch.nn.Module, plan: dict[str, str], bits: int, images: torch.Tensor, float_logits: torch.Tensor, batch_size: int) -> float:
    """Logits SQNR (dB) of ``plan``, calibrated and run on ``images``, against ``float_logits``."""
    qmodel = pipeline.quantized_model(model, plan, bits)
    pipeline.set_datapath(qmodel, "numba")
    pipeline.calibrate(qmodel, images, batch_size)
    with torch.no_grad():
        logits = torch.cat([qmodel(b) for b in pipeline.batches(images, batch_size)])
    return pipeline.logits_sqnr(float_logits, logits)


def search(
    model: torch.nn.Module,
    start: dict[str, str],
    kinds: dict[str, str],
    bits: int,
    images: torch.Tensor,
    float_logits: torch.Tensor,
    batch_size: int,
    progress: Callable[[str], None] = lambda _: None,
    max_passes: int = 2,
    slots: list[str] | None = None,
    methods: tuple[str, ...] | None = None,
) -> SearchResult:
    """Greedy search from ``start`` over ``slots`` (default: all, in forward order), each slot
    trying the candidates of its kind among ``methods`` (default: every registered method)."""
    if max_passes < 1:
        raise ValueError(f"max_passes: must be at least 1, got {max_passes}")
    pool = {kind: (CANDIDATES[kind] if methods is None else registry.candidates(kind, methods)) for kind in set(kinds.values())}
    plan = dict(start)
    best = plan_score(model, plan, bits, images, float_logits, batch_size)
    result = SearchResult(dict(start), plan, best, best, 0)
    names = list(kinds) if slots is None else slots
    for _ in range(max_passes):
        result.passes += 1
        changed = False
        for name in names:
            current = plan[name]
            for method in pool[kinds[name]]:
                if method == current:
                    continue
                candidate = {**plan, name: method}
                try:
                    score = plan_score(model, candidate, bits, images, float_logits, batch_size)
                except ValueError as exc:
                    result.trials.append(Trial(name, method, None, False, str(exc)))
                    continue
                kept = score > best
                result.trials.append(Trial(name, method, score, kept))
                if kept:
                    plan, best, changed = candidate, score, True
                    progress(f"plan search: {name} -> {method}: logits SQNR {score:.2f} dB")
        if not changed:
            break
    result.plan, result.score = plan, best
    return result
