"""Per-slot sensitivity (SQNR) and the automatic mixed plan.

For a slot and a candidate method, with ``x`` the float model's tensor and ``y`` the tensor
of the model quantized uniformly with that method, at the same point, for the same image,
flattened per sample::

    SQNR = 20 * log10( mean_over_samples( ||x|| / ||x - y|| ) )        [dB]

taken once at the slot's input (``SQNR_in``) and once at its output (``SQNR_out``);
``dSQNR = SQNR_out - SQNR_in`` is what the slot itself loses, with the error accumulated
upstream cancelled (``spec/mixed-method.md``).

Conventions that the formula leaves open:

- a sample whose quantized tensor equals the float one exactly (``||x - y|| = 0``) contributes
  no noise: it is left out of the mean; a slot with no noisy sample at all has SQNR ``+inf``;
- ``dSQNR`` is ``+inf`` when ``SQNR_out`` is ``+inf`` (a slot with no noise wins), ``-inf``
  when only ``SQNR_in`` is;
- the plan takes ``argmax dSQNR``; ties (equal values, ``+inf`` included) go to the first
  method of :data:`TIE_BREAK`, the registry's ranks (``refmodel.methods``): I-ViT (shift-only,
  the wiring's own method), then I-BERT, then FQ-ViT, then the tables.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from refmodel import methods
from refmodel.quant.slots import CANDIDATES

TIE_BREAK = methods.LiveSequence(methods.tie_break)
PLAN_FORMAT = "refmodel-plan/1"


class SQNRAccumulator:
    """Per-sample ``||x|| / ||x - y||`` ratios, gathered batch by batch."""

    def __init__(self) -> None:
        self.ratios: list[float] = []
        self.samples = 0

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        xs = x.detach().to(torch.float64).reshape(x.shape[0], -1)
        ys = y.detach().to(torch.float64).reshape(y.shape[0], -1)
        signal = xs.norm(dim=1)
        noise = (xs - ys).norm(dim=1)
        for s, n in zip(signal.tolist(), noise.tolist()):
            self.samples += 1
            if n > 0.0:
                self.ratios.append(s / n)

    def sqnr_db(self) -> float:
        return sqnr_db(self.ratios)


def sqnr_db(ratios: list[float]) -> float:
    """``20 log10(mean(ratios))``; ``+inf`` when no sample had noise."""
    if not ratios:
        return math.inf
    mean = sum(ratios) / len(ratios)
    return 20.0 * math.log10(mean) if mean > 0 else -math.inf


def delta_sqnr(sqnr_in: float, sqnr_out: float) -> float:
    """``SQNR_out - SQNR_in`` with the conventions of the module docstring."""
    if sqnr_out == math.inf:
        return math.inf
    if sqnr_in == math.inf:
        return -math.inf
    return sqnr_out - sqnr_in


@dataclass
class SlotScores:
    name: str
    kind: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> in/out/delta

    def choice(self) -> str:
        """``argmax dSQNR``, ties to the first method of :data:`TIE_BREAK`."""
        ranked = sorted(self.scores, key=lambda m: (-self.scores[m]["dsqnr"], TIE_BREAK.index(m)))
        return ranked[0]


def choose(scores: list[SlotScores]) -> dict[str, str]:
    """The mixed plan: slot name -> method."""
    return {s.name: s.choice() for s in scores}


def uniform_plan(slot_kinds: dict[str, str], method: str) -> dict[str, str]:
    """Every slot ``method``; a slot of a kind the method has no op for takes the registry's
    fallback (GELU slots of FQ-ViT stay float, as upstream)."""
    return {name: methods.uniform_choice(method, kind) for name, kind in slot_kinds.items()}


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _from_num(x: float | str) -> float:
    return float(x) if not isinstance(x, str) else (math.inf if x == "inf" else -math.inf)


def plan_document(model: str, bits: int, weights: str, calibration: dict[str, Any], scores: list[SlotScores]) -> dict[str, Any]:
    """The JSON plan: model, bits, every slot's choice and the numbers it was chosen from."""
    return {
        "format": PLAN_FORMAT,
        "model": model,
        "bits": bits,
        "weights": weights,
        "calibration": calibration,
        "rule": "argmax dSQNR = SQNR_out - SQNR_in; ties: " + " > ".join(TIE_BREAK),
        "slots": [
            {
                "name": s.name,
                "kind": s.kind,
                "choice": s.choice(),
                "scores": {m: {k: _num(v) for k, v in d.items()} for m, d in sorted(s.scores.items())},
            }
            for s in scores
        ],
    }


def write_plan(path: Path, document: dict[str, Any]) -> None:
    """Write the plan JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def read_plan(path: Path, model: str, slot_kinds: dict[str, str]) -> tuple[dict[str, str], list[SlotScores]]:
    """A plan file for ``model``: its choices and scores. ``ValueError`` (one line) for a
    file that is unreadable, for another model, or names an unknown slot or method."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ValueError(f"{path}: not a refmodel plan (format {PLAN_FORMAT!r} expected)")
    if document.get("model") != model:
        raise ValueError(f"{path}: plan is for model {document.get('model')!r}, not {model!r}")
    choices: dict[str, str] = {}
    scores: list[SlotScores] = []
    for entry in document.get("slots", []):
        name, method = entry.get("name"), entry.get("choice")
        if name not in slot_kinds:
            raise ValueError(f"{path}: unknown slot {name!r} for model {model}")
        kind = slot_kinds[name]
        if method not in CANDIDATES[kind]:
            raise ValueError(f"{path}: slot {name}: unknown method {method!r} for a {kind} slot (known: {', '.join(CANDIDATES[kind])})")
        choices[name] = method
        scores.append(
            SlotScores(name, kind, {m: {k: _from_num(v) for k, v in d.items()} for m, d in entry.get("scores", {}).items()})
        )
    missing = [n for n in slot_kinds if n not in choices]
    if missing:
        raise ValueError(f"{path}: no choice for slot {missing[0]} ({len(missing)} slots missing)")
    return choices, scores
