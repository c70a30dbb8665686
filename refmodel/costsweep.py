"""The cost sweep (``python -m refmodel.sim MODEL --cost-sweep [N] --out DIR``): the logits
SQNR of the cost-aware plans over a range of weights ``L``, against their total area and
cycles per image (:mod:`refmodel.costplan`), with every uniform plan and the dSQNR plan.

The weights are those of :func:`refmodel.costplan.sweep_weights`: ``L = 0`` (the dSQNR plan),
a weight past the last breakpoint (every slot its cheapest method) and, between them, up to
``N - 2`` more, one per distinct plan, spread evenly. Each plan is calibrated and run on the
calibration images and scored by its logits SQNR against the float model; the uniform plans
reuse the logits the sensitivity measurement already has.

A point is on the front when no other point has a logits SQNR at least as high, an area and
cycles at least as low, and is better in one of the three (:func:`refmodel.costplan.mark_front`);
a plan with float slots (uniform FQ-ViT: GELU in float) is plotted but not ranked. The sweep
writes ``cost_sweep.csv`` (one row per point) and ``cost_sweep.png`` (logits SQNR against
area and against cycles; needs matplotlib, the ``plot`` extra: without it the CSV is written
and one line says how to install it).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence

from refmodel import methods
from refmodel.costplan import CostModel, Point, mark_front, sweep_weights
from refmodel.plan import SlotScores

CSV_NAME = "cost_sweep.csv"
PNG_NAME = "cost_sweep.png"
PLOT_HINT = "cost sweep: no PNG written: matplotlib is not installed (pip install -e '.[plot]')"
DSQNR_LABEL = "dSQNR plan (L=0)"
CSV_FIELDS = ("label", "cost_weight", "logits_sqnr_db", "nand2_area", "cycles_per_image", "counted_in_full", "on_front", "methods")


def _key(plan: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(plan.items()))


def collect(
    scores: Sequence[SlotScores],
    kinds: Mapping[str, str],
    cost_model: CostModel,
    candidates: Sequence[str],
    count: int,
    elements: Mapping[str, float],
    score_plan: Callable[[dict[str, str]], float],
    known: Mapping[str, tuple[dict[str, str], float]],
) -> list[Point]:
    """The sweep's points, the front marked: ``count`` swept weights (each plan scored by
    ``score_plan`` unless ``known`` already holds its SQNR; a plan whose calibration refuses a
    scale gets ``nan``), then every plan of ``known`` (label -> plan, logits SQNR)."""
    costs = cost_model.normalised(candidates)
    sqnr_of = {_key(plan): sqnr for plan, sqnr in known.values()}
    points = []
    for weight, plan in sweep_weights(scores, costs, count):
        if _key(plan) not in sqnr_of:
            try:
                sqnr_of[_key(plan)] = score_plan(plan)
            except ValueError:
                sqnr_of[_key(plan)] = math.nan
        label = DSQNR_LABEL if weight == 0 else f"L={weight:.4g}"
        points.append(Point(label, weight, plan, sqnr_of[_key(plan)], cost_model.total(plan, kinds, elements)))
    for label, (plan, sqnr) in known.items():
        points.append(Point(label, None, plan, sqnr, cost_model.total(plan, kinds, elements)))
    mark_front(points)
    return points


def method_counts(plan: Mapping[str, str], kinds: Mapping[str, str]) -> str:
    """``softmax: ibert 12; gelu: ivit 12; ...``: how many slots of each kind run each method."""
    parts = []
    for kind in methods.KINDS:
        chosen = [plan[n] for n, k in kinds.items() if k == kind]
        if chosen:
            parts.append(f"{kind}: " + ", ".join(f"{m} {chosen.count(m)}" for m in dict.fromkeys(chosen)))
    return "; ".join(parts)


def csv_text(points: Sequence[Point], kinds: Mapping[str, str]) -> str:
    """One row per point (:data:`CSV_FIELDS`); SQNR as ``nan`` where the plan refused a scale."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for p in points:
        writer.writerow([
            p.label, "" if p.weight is None else repr(p.weight), f"{p.sqnr:.4f}", f"{p.cost.area:.1f}", f"{p.cost.cycles:.0f}",
            int(p.cost.complete), int(p.front), method_counts(p.plan, kinds),
        ])
    return buffer.getvalue()


def report_lines(points: Sequence[Point]) -> list[str]:
    """The sweep's table for the report."""
    lines = [f"{'cost sweep':<20} {'logits SQNR dB':>15} {'kNAND2 area':>12} {'Mcycles/image':>14}  front"]
    for p in points:
        star = "*" if not p.cost.complete else ""
        lines.append(f"{p.label:<20} {p.sqnr:>15.2f} {p.cost.area / 1e3:>12.1f} {p.cost.cycles / 1e6:>14.3f}{star:1}  {'yes' if p.front else ''}")
    if any(not p.cost.complete for p in points):
        lines.append("* float slots are not counted (no unit): not ranked on the front")
    return lines


def png_bytes(points: Sequence[Point], title: str) -> bytes | None:
    """The chart as PNG bytes; ``None`` when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(12, 5), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    markers = dict(zip((p.label for p in points if p.weight is None), "s^vDPX<>h"))
    for ax, (attr, scale, xlabel) in zip(axes, (("area", 1e3, "total area of the non-linear units (kNAND2 eq.)"),
                                               ("cycles", 1e6, "cycles of the non-linear units per image (millions)"))):
        xs = [getattr(p.cost, attr) / scale for p in points]
        front = sorted((x, p.sqnr) for x, p in zip(xs, points) if p.front)
        swept = [(x, p) for x, p in zip(xs, points) if p.weight is not None and p.label != DSQNR_LABEL]
        ax.scatter([x for x, _ in swept], [p.sqnr for _, p in swept], s=28, facecolors="none", edgecolors="tab:gray", label="cost-weighted plans")
        if front:
            ax.scatter(*zip(*front), s=70, facecolors="none", edgecolors="tab:red", linewidths=1.5, label="front (non-dominated)")
        for x, p in zip(xs, points):
            if math.isnan(p.sqnr):  # a plan that refused a scale: in the CSV, not on the chart
                continue
            if p.label == DSQNR_LABEL:
                ax.scatter([x], [p.sqnr], marker="*", s=180, color="tab:blue", label=DSQNR_LABEL, zorder=3)
            elif p.weight is None:
                ax.scatter([x], [p.sqnr], marker=markers.get(p.label, "o"), s=60, color="tab:green", zorder=3)
                ax.annotate(p.label + ("*" if not p.cost.complete else ""), (x, p.sqnr), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("logits SQNR against the float model (dB)")
    axes[0].legend(loc="best", fontsize=8)
    fig.suptitle(title + ("   (* float slots not counted)" if any(not p.cost.complete for p in points) else ""), fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def run(
    model,
    bits: int,
    images,
    batch_size: int,
    sensitivity,
    kinds: Mapping[str, str],
    candidates: Sequence[str],
    count: int,
    elements: Mapping[str, float],
    ran: tuple[dict[str, str], object],
    title: str,
) -> tuple[list[str], dict[str, bytes]]:
    """The sweep of a ``refmodel.sim`` run: its measured ``sensitivity`` (scores, float and
    uniform logits), the calibration ``images``, and ``ran``: the plan the run's mixed model
    ran and its logits (not run again when a swept plan equals it). Returns the report's
    lines and the files for ``--out`` (the CSV, and the PNG when matplotlib is installed)."""
    from refmodel import pipeline, search
    from refmodel.plan import uniform_plan

    reference = sensitivity.float_logits
    known = {f"uniform {m}": (uniform_plan(dict(kinds), m), pipeline.logits_sqnr(reference, logits)) for m, logits in sensitivity.logits.items()}
    ran_sqnr = pipeline.logits_sqnr(reference, ran[1])

    def score_plan(plan: dict[str, str]) -> float:
        if plan == ran[0]:
            return ran_sqnr
        return search.plan_score(model, plan, bits, images, reference, batch_size)

    points = collect(sensitivity.scores, kinds, CostModel.load(), candidates, count, elements, score_plan, known)
    lines = report_lines(points)
    files = {CSV_NAME: csv_text(points, kinds).encode()}
    png = png_bytes(points, f"{title}: logits SQNR against the cost of the non-linear units")
    if png is None:
        lines.append(PLOT_HINT)
    else:
        files[PNG_NAME] = png
    return lines, files
