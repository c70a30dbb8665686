"""Per-slot sensitivity (SQNR) and the automatic mixed plan.

For a slot and a candidate method, with ``x`` the float model's tensor and ``y`` the tensor
of the model quantized uniformly with that method, at the same point, for the same image,
flattened per sample (all windows of one image together, for Swin)::

    SQNR = 20 * log10( mean_over_samples( ||x|| / ||x - y|| ) )        [dB]

taken once at the slot's input (``SQNR_in``) and once at its output (``SQNR_out``);
``dSQNR = SQNR_out - SQNR_in`` is what the slot itself loses, with the error accumulated
upstream cancelled (``spec/mixed-method.md``).

Conventions that the formula leaves open:

- entries that Swin's shifted-window mask removes are left out of both norms, at the input
  and at the output (the float model adds -100 there, the quantized one saturates them: two
  conventions for "absent", not a quantization error);
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
from refmodel.quant.slots import CANDIDATES, FLOAT_METHOD

TIE_BREAK = methods.LiveSequence(methods.tie_break)
PLAN_FORMAT = "refmodel-plan/1"


class SQNRAccumulator:
    """Per-sample ``||x|| / ||x - y||`` ratios, gathered batch by batch.

    ``samples`` is the number of images in the batch: a tensor whose first axis holds more
    rows (Swin's windows, ``[images * windows, ...]`` with the image outermost) is grouped
    per image. Entries where ``keep`` is ``False`` (Swin's shifted-window mask) are left out
    of both norms."""

    def __init__(self) -> None:
        self.ratios: list[float] = []
        self.samples = 0

    def add(self, x: torch.Tensor, y: torch.Tensor, samples: int | None = None, keep: torch.Tensor | None = None) -> None:
        xs, ys = x.detach().to(torch.float64), y.detach().to(torch.float64)
        if keep is not None:
            xs, ys = xs * keep, ys * keep
        count = x.shape[0] if samples is None else samples
        if xs.shape[0] % count:
            raise ValueError(f"samples: {count} does not divide the first axis of a {tuple(x.shape)} tensor")
        xs, ys = xs.reshape(count, -1), ys.reshape(count, -1)
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


DSQNR_RULE = "argmax dSQNR = SQNR_out - SQNR_in; ties: " + " > ".join(TIE_BREAK)


def _json_numbers(value: Any) -> Any:
    """``value`` with every non-finite float written as ``"inf"``/``"-inf"`` (JSON has none)."""
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_numbers(v) for v in value]
    return value


def plan_document(
    model: str, bits: int, weights: str, calibration: dict[str, Any], kinds: dict[str, str], plan: dict[str, str], scores: list[SlotScores],
    rule: str | None = None,
    search: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON plan: model, bits, and per slot (in ``kinds`` order) the method that ran
    (``choice``, from ``plan``) and, for the slots that have them, the scores measured for
    each candidate. The choice is never recomputed from the scores: a plan read from a file
    and run is written back as it ran. ``rule`` replaces the dSQNR rule's description (a
    cost-aware plan, :mod:`refmodel.costplan`). ``search`` (:meth:`refmodel.search.SearchResult.document`)
    records a plan search with every score it decided from; the reader accepts it and does
    not interpret it."""
    measured = {s.name: s for s in scores}
    slots = []
    for name, kind in kinds.items():
        entry: dict[str, Any] = {"name": name, "kind": kind, "choice": plan[name]}
        if name in measured and measured[name].scores:
            entry["scores"] = {m: {k: _num(v) for k, v in d.items()} for m, d in sorted(measured[name].scores.items())}
        slots.append(entry)
    document = {
        "format": PLAN_FORMAT,
        "model": model,
        "bits": bits,
        "weights": weights,
        "calibration": calibration,
        "rule": rule if rule is not None else DSQNR_RULE,
        "slots": slots,
    }
    if search is not None:
        document["search"] = _json_numbers(search)
    return document


def searched_rule(start_rule: str | None) -> str:
    """The rule of a searched plan whose search started from the plan of ``start_rule``
    (``None``: the dSQNR rule)."""
    return f"plan search (see 'search') starting from the plan of: {start_rule or DSQNR_RULE}"


def provenance(path: str | Path) -> tuple[str | None, dict[str, Any] | None]:
    """The ``rule`` and ``search`` record of a plan file that :func:`read_plan` accepted, so a
    run from that file writes them back unchanged (a rerun of a searched plan reproduces it)."""
    document = json.loads(Path(path).read_text())
    return document.get("rule"), document.get("search")


def write_plan(path: Path, document: dict[str, Any]) -> None:
    """Write the plan JSON atomically (temporary file, then rename)."""
    path = _nonempty(path, "plan")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def _nonempty(path: str | Path, what: str) -> Path:
    if isinstance(path, str) and not path.strip():
        raise ValueError(f"{what}: empty path")
    return Path(path)


# ------------------------------------------------------------------------ the plan reader

#: Top-level fields of a plan file: name -> (required, accepted types).
_TOP_FIELDS: dict[str, tuple[bool, tuple[type, ...]]] = {
    "format": (True, (str,)),
    "model": (True, (str,)),
    "bits": (True, (int,)),
    "slots": (True, (list,)),
    "weights": (False, (str,)),
    "calibration": (False, (dict,)),
    "rule": (False, (str,)),
    "search": (False, (dict,)),
}
_SLOT_FIELDS: dict[str, tuple[bool, tuple[type, ...]]] = {
    "name": (True, (str,)),
    "kind": (True, (str,)),
    "choice": (True, (str,)),
    "scores": (False, (dict,)),
}
_SCORE_KEYS = ("sqnr_in", "sqnr_out", "dsqnr")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _field_problems(record: dict[str, Any], fields: dict[str, tuple[bool, tuple[type, ...]]], where: str) -> list[str]:
    """Missing required fields, unknown fields and wrong types of one JSON object."""
    problems = []
    for key, (required, types) in fields.items():
        if key not in record:
            if required:
                problems.append(f"{where}field {key!r}: missing")
        elif isinstance(record[key], bool) or not isinstance(record[key], types):
            problems.append(f"{where}field {key!r}: expected {' or '.join(t.__name__ for t in types)}, got {_type_name(record[key])} {record[key]!r}"[:200])
    for key in record:
        if key not in fields:
            problems.append(f"{where}field {key!r}: unknown (known: {', '.join(fields)})")
    return problems


def _score_value(value: Any) -> float | None:
    """A score: a JSON number or the strings "inf" / "-inf"; ``None`` for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return {"inf": math.inf, "-inf": -math.inf}.get(value) if isinstance(value, str) else None


def _scores(raw: dict[str, Any], kind: str, where: str) -> tuple[dict[str, dict[str, float]], list[str]]:
    scores: dict[str, dict[str, float]] = {}
    problems = []
    for method, values in raw.items():
        if method not in CANDIDATES[kind]:
            problems.append(f"{where}field 'scores': unknown method {method!r} for a {kind} slot (known: {', '.join(CANDIDATES[kind])})")
            continue
        if not isinstance(values, dict) or set(values) != set(_SCORE_KEYS):
            problems.append(f"{where}field 'scores.{method}': expected an object with exactly {', '.join(_SCORE_KEYS)}")
            continue
        parsed = {k: _score_value(values[k]) for k in _SCORE_KEYS}
        for k, v in parsed.items():
            if v is None:
                problems.append(f"{where}field 'scores.{method}.{k}': expected a number, \"inf\" or \"-inf\", got {values[k]!r}"[:200])
        if all(v is not None for v in parsed.values()):
            scores[method] = parsed  # type: ignore[assignment]
    return scores, problems


def read_plan(path: str | Path, model: str, slot_kinds: dict[str, str], *, bits: int) -> tuple[dict[str, str], list[SlotScores]]:
    """A plan file for ``model`` at ``bits``: its choices (slot -> method, in ``slot_kinds``
    order) and the scores stored beside them.

    The file must be ``{"format": "refmodel-plan/1", "model", "bits", "slots": [...]}`` (with
    optional ``weights``, ``calibration``, ``rule``, ``search``: an object, the record of a
    plan search, kept but not interpreted); each slot entry ``{"name", "kind",
    "choice"}`` (a method of the slot's kind; a GELU slot may also stay ``"float"``, as
    uniform FQ-ViT plans keep it) with optional ``scores`` (method -> ``sqnr_in``, ``sqnr_out``, ``dsqnr``, each
    a number or ``"inf"``/``"-inf"``). Every slot of the model appears exactly once, with its
    kind and a method known for that kind; ``model`` and ``bits`` equal the run's. Unknown
    fields are errors. ``ValueError`` lists every defect, one line each, naming the file, the
    slot and the field."""
    path = _nonempty(path, "plan")
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ValueError(f"{path}: not a refmodel plan (field 'format': {PLAN_FORMAT!r} expected)")
    problems = _field_problems(document, _TOP_FIELDS, "")
    if document.get("model") != model:
        problems.append(f"field 'model': the plan is for model {document.get('model')!r}, not {model!r}")
    if document.get("bits") != bits or isinstance(document.get("bits"), bool):
        problems.append(f"field 'bits': the plan is for {document.get('bits')!r}-bit, this run is {bits}-bit")
    if document.get("model") != model:  # its slot names mean nothing for this model
        raise ValueError("\n".join(f"{path}: {p}" for p in problems))
    choices: dict[str, str] = {}
    scores: dict[str, SlotScores] = {}
    entries = document.get("slots") if isinstance(document.get("slots"), list) else []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"slots[{index}]: expected an object, got {_type_name(entry)}")
            continue
        name = entry.get("name")
        where = f"slot {name}: " if isinstance(name, str) else f"slots[{index}]: "
        entry_problems = _field_problems(entry, _SLOT_FIELDS, where)
        problems += entry_problems
        if not isinstance(name, str):
            continue
        if name not in slot_kinds:
            problems.append(f"{where}field 'name': not a slot of model {model}")
            continue
        if name in scores:
            problems.append(f"{where}field 'name': listed twice (slots[{index}] repeats an earlier entry)")
            continue
        kind = slot_kinds[name]
        if "kind" in entry and entry["kind"] != kind:
            problems.append(f"{where}field 'kind': {entry['kind']!r}, but {name} is a {kind} slot")
        method = entry.get("choice")
        allowed = CANDIDATES[kind] + ((FLOAT_METHOD,) if kind == "gelu" else ())  # as the slot itself allows
        if isinstance(method, str) and method not in allowed:
            problems.append(f"{where}field 'choice': unknown method {method!r} for a {kind} slot (known: {', '.join(allowed)})")
        elif isinstance(method, str):
            choices[name] = method
        parsed, score_problems = _scores(entry.get("scores", {}) if isinstance(entry.get("scores", {}), dict) else {}, kind, where)
        problems += score_problems
        scores[name] = SlotScores(name, kind, parsed)
    missing = [n for n in slot_kinds if n not in scores]
    if missing:
        problems.append(f"field 'slots': no entry for {len(missing)} slot(s) of model {model}: {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}")
    if problems:
        raise ValueError("\n".join(f"{path}: {p}" for p in problems))
    return {n: choices[n] for n in slot_kinds}, [scores[n] for n in slot_kinds]
