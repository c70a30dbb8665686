"""The cost-aware plan: per slot, the method maximising ``dSQNR - L * cost``.

Costs come from the synthesis table of :mod:`refmodel.cost` (``rtl_vectors/cost.json``): for
the op ``o`` of a method in a slot kind, ``A(o)`` is its NAND2-equivalent area
(``nand2_area``), ``T(o)`` its steady-state cycles per row (``cycles_per_row``) at the row
length ``R(o)`` of the table (``row_length``: DeiT-T's, the same for every op of a kind).

**Normalised cost** (what the plan weighs). For a slot kind ``k`` with candidate methods
``C_k`` (the run's ``--methods`` that have an op of kind ``k``)::

    cost(m, k) = ( A(m.k) / max_{n in C_k} A(n.k)  +  T(m.k) / max_{n in C_k} T(n.k) ) / 2

so the most expensive candidate of a kind in area and in cycles costs 1, and every cost lies
in ``(0, 1]``. Every candidate of every kind must have a table entry; one that has none is
refused (``ValueError``, one line) before anything runs.

**The choice.** With ``L >= 0`` (``--cost-weight``), each slot takes::

    argmax_m  dSQNR(m) - L * cost(m, kind)

through the dSQNR plan's own chooser (:meth:`refmodel.plan.SlotScores.choice` on the scores
with ``dsqnr`` replaced by the objective): the same tie-break, and at ``L = 0`` the objective
is ``dSQNR`` itself (``d - 0.0 * c == d`` for every finite ``d``, and for ``+-inf``), so
``L = 0`` gives the dSQNR plan exactly. A method with ``dSQNR = +inf`` (a slot it leaves
noiseless) keeps ``+inf`` at every ``L``: no finite cost outweighs it. For finite scores and
a large enough ``L`` every slot takes the cheapest candidate of its kind (ties between equal
costs by the tie-break).

**A plan's total cost** (reported beside its logits SQNR, and the sweep's axes), one unit
per slot, the units run one after the other for an image::

    area   = sum over slots s of  A(op of s)                                 [NAND2 eq.]
    cycles = sum over slots s of  E_s * T(op of s) / R(op of s)               [per image]

with ``E_s`` the elements slot ``s`` processes per image (from the run's Numba check). The
cycles scale the table's throughput to the slot's elements (a row of another length is
assumed to cost in proportion). A slot that runs in float (the GELU of uniform FQ-ViT) has
no unit: it is counted in neither sum and the plan is flagged as not counted in full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refmodel import cost, methods
from refmodel.plan import TIE_BREAK, SlotScores, choose as choose_dsqnr

FLOAT = methods.FALLBACK["gelu"]


@dataclass(frozen=True)
class UnitCost:
    """One op's hardware cost from the table."""

    op: str
    area: float           # NAND2 equivalents
    cycles_per_row: int   # steady state, at row_length
    row_length: int


@dataclass(frozen=True)
class PlanCost:
    """A plan's total area and cycles per image; ``uncounted`` names its float slots."""

    area: float
    cycles: float
    uncounted: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.uncounted


def check_weight(weight: float) -> None:
    """``--cost-weight`` must be a finite number ``>= 0`` (``ValueError``, one line)."""
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"--cost-weight must be a finite number >= 0, got {weight!r}")


@dataclass
class CostModel:
    """The table's cost of every op that has one, by op name."""

    units: dict[str, UnitCost] = field(default_factory=dict)
    source: str = str(cost.TABLE)

    @classmethod
    def load(cls, path: Path = cost.TABLE) -> "CostModel":
        """The costs in the table at ``path`` (``ValueError`` if it is not valid JSON or an
        entry lacks a field)."""
        return cls.from_table(cost.load_table(path), str(path))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str = "cost table") -> "CostModel":
        units = {}
        for op, entry in table.get("ops", {}).items():
            try:
                units[op] = UnitCost(op, float(entry["nand2_area"]), int(entry["cycles_per_row"]), int(entry["row_length"]))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{source}: entry {op!r} lacks nand2_area, cycles_per_row or row_length") from None
            if not (units[op].area > 0 and units[op].cycles_per_row > 0 and units[op].row_length > 0):
                raise ValueError(f"{source}: entry {op!r}: area, cycles_per_row and row_length must be positive")
        return cls(units, source)

    def unit(self, method: str, kind: str) -> UnitCost | None:
        """The cost of ``method``'s op for ``kind``; ``None`` for a float slot or an op the
        table lacks."""
        if method == FLOAT:
            return None
        return self.units.get(methods.get(method).op(kind))

    def normalised(self, candidates: Sequence[str]) -> dict[str, dict[str, float]]:
        """``cost(m, k)`` of the module docstring for every kind and every method of
        ``candidates`` with an op of that kind; ``ValueError`` naming the first candidate op
        without a table entry."""
        costs: dict[str, dict[str, float]] = {}
        for kind in methods.KINDS:
            pool = methods.candidates(kind, candidates)
            if not pool:
                continue
            units = {}
            for m in pool:
                unit = self.unit(m, kind)
                if unit is None:
                    raise ValueError(
                        f"method {m} has no cost for its {kind} op {methods.get(m).op(kind)} in {self.source} "
                        f"(ops with a cost: {', '.join(sorted(self.units)) or 'none'}); leave {m} out of --methods"
                    )
                units[m] = unit
            top_area = max(u.area for u in units.values())
            top_cycles = max(u.cycles_per_row for u in units.values())
            costs[kind] = {m: (u.area / top_area + u.cycles_per_row / top_cycles) / 2 for m, u in units.items()}
        return costs

    def total(self, plan: Mapping[str, str], kinds: Mapping[str, str], elements: Mapping[str, float]) -> PlanCost:
        """A plan's total area and cycles per image (module docstring); ``elements``: slot ->
        elements per image. ``ValueError`` for an integer slot whose op has no entry."""
        area = cycles = 0.0
        uncounted = []
        for name, kind in kinds.items():
            method = plan[name]
            if method == FLOAT:
                uncounted.append(name)
                continue
            unit = self.unit(method, kind)
            if unit is None:
                raise ValueError(f"{self.source}: no cost for {methods.get(method).op(kind)} (slot {name})")
            area += unit.area
            cycles += elements[name] * unit.cycles_per_row / unit.row_length
        return PlanCost(area, cycles, tuple(uncounted))

    def describe(self, plan: Mapping[str, str], kinds: Mapping[str, str], elements: Mapping[str, float]) -> str:
        """The report's cost cells: area in kNAND2 and cycles per image in millions, ``-``
        when an op has no entry, a trailing ``*`` when float slots are not counted."""
        try:
            c = self.total(plan, kinds, elements)
        except ValueError:
            return f"{'-':>12} {'-':>14}"
        return f"{c.area / 1e3:>12.1f} {c.cycles / 1e6:>14.3f}" + ("*" if c.uncounted else "")


#: The report's header of :meth:`CostModel.describe`'s cells.
COST_HEADER = f"{'kNAND2 area':>12} {'Mcycles/image':>14}"


def weighted(scores: Sequence[SlotScores], weight: float, costs: Mapping[str, Mapping[str, float]]) -> list[SlotScores]:
    """The scores with ``dsqnr`` replaced by ``dSQNR - weight * cost(m, kind)``."""
    out = []
    for s in scores:
        adjusted = {m: {**d, "dsqnr": d["dsqnr"] - weight * costs[s.kind][m]} for m, d in s.scores.items()}
        out.append(SlotScores(s.name, s.kind, adjusted))
    return out


def choose(scores: Sequence[SlotScores], weight: float, costs: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    """The cost-aware plan: slot -> ``argmax dSQNR - weight * cost`` (the dSQNR plan's chooser)."""
    check_weight(weight)
    return choose_dsqnr(weighted(scores, weight, costs))


def choose_plan(scores: Sequence[SlotScores], weight: float | None, candidates: Sequence[str]) -> dict[str, str]:
    """``refmodel.sim``'s plan: the dSQNR plan when ``weight`` is ``None``, else the cost-aware
    plan with the committed table's costs normalised over ``candidates``."""
    if weight is None:
        return choose_dsqnr(list(scores))
    return choose(scores, weight, CostModel.load().normalised(candidates))


def rule(weight: float | None) -> str | None:
    """The rule ``plan.json`` records for a cost-aware plan (``None``: the dSQNR rule)."""
    if weight is None:
        return None
    return f"argmax dSQNR - L * cost, L = {weight!r}, cost normalised per kind (refmodel.costplan); ties: " + " > ".join(TIE_BREAK)


def breakpoints(scores: Sequence[SlotScores], costs: Mapping[str, Mapping[str, float]]) -> list[float]:
    """Every ``L > 0`` at which two methods of a slot have equal objectives (sorted, distinct):
    between two consecutive breakpoints the plan does not change."""
    points = set()
    for s in scores:
        items = [(m, d["dsqnr"], costs[s.kind][m]) for m, d in s.scores.items() if math.isfinite(d["dsqnr"])]
        for i, (_, da, ca) in enumerate(items):
            for _, db, cb in items[i + 1:]:
                if ca != cb and (da - db) / (ca - cb) > 0:
                    points.add((da - db) / (ca - cb))
    return sorted(points)


def sweep_weights(scores: Sequence[SlotScores], costs: Mapping[str, Mapping[str, float]], count: int) -> list[tuple[float, dict[str, str]]]:
    """Up to ``count`` (>= 2) weights with distinct plans, from ``L = 0`` (the dSQNR plan) to a
    weight past the last breakpoint (the plan of ``L -> inf``), the ones between spread evenly
    over the distinct plans in order of ``L``; each with its plan."""
    if count < 2:
        raise ValueError(f"--cost-sweep: the number of plans must be at least 2, got {count}")
    cuts = breakpoints(scores, costs)
    probes = [0.0] + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] + ([2 * cuts[-1]] if cuts else [])
    distinct: list[tuple[float, dict[str, str]]] = []
    for weight in probes:
        plan = choose(scores, weight, costs)
        if not distinct or plan != distinct[-1][1]:
            distinct.append((weight, plan))
    if len(distinct) <= count:
        return distinct
    picks = sorted({round(i * (len(distinct) - 1) / (count - 1)) for i in range(count)})
    return [distinct[i] for i in picks]


@dataclass
class Point:
    """One plan of the sweep: its label, weight (``None``: not a swept weight), logits SQNR
    (dB) and total cost."""

    label: str
    weight: float | None
    plan: dict[str, str]
    sqnr: float
    cost: PlanCost
    front: bool = False


def dominates(a: Point, b: Point) -> bool:
    """``a`` is at least as good as ``b`` in SQNR (higher), area and cycles (lower), and better
    in one."""
    ge = a.sqnr >= b.sqnr and a.cost.area <= b.cost.area and a.cost.cycles <= b.cost.cycles
    gt = a.sqnr > b.sqnr or a.cost.area < b.cost.area or a.cost.cycles < b.cost.cycles
    return ge and gt


def mark_front(points: Sequence[Point]) -> None:
    """Set ``front`` on the points no other point dominates, among those whose cost is
    complete and whose SQNR is a number (a plan with float slots is plotted, not ranked)."""
    ranked = [p for p in points if p.cost.complete and not math.isnan(p.sqnr)]
    for p in points:
        p.front = any(p is q for q in ranked) and not any(dominates(q, p) for q in ranked if q is not p)


def check_request(
    weight: float | None, sweep: int | None, *, plan_file: bool, compare: bool, out: bool, candidates: Sequence[str], table: Path = cost.TABLE
) -> None:
    """Every check of ``--cost-weight L`` and ``--cost-sweep N`` that needs no model
    (``ValueError``, one line): ``L`` finite and ``>= 0``; ``N >= 2``; neither with a plan
    file (``--cost-sweep`` may with ``--compare``, which measures the scores); the sweep
    writes into ``--out``; every candidate method has a cost for every kind it serves."""
    if weight is None and sweep is None:
        return
    if weight is not None:
        check_weight(weight)
        if plan_file:
            raise ValueError("--cost-weight chooses the plan from measured scores; it cannot be combined with --plan")
    if sweep is not None:
        if sweep < 2:
            raise ValueError(f"--cost-sweep: the number of plans must be at least 2, got {sweep}")
        if plan_file and not compare:
            raise ValueError("--cost-sweep needs measured scores: with --plan add --compare")
        if not out:
            raise ValueError("--cost-sweep writes cost_sweep.csv and cost_sweep.png into --out DIR; give --out")
    try:
        CostModel.load(table).normalised(candidates)
    except ValueError as exc:
        raise ValueError(f"{'--cost-weight' if weight is not None else '--cost-sweep'}: {exc}") from None
