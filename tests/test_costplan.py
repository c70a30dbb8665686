"""The cost-aware plan (refmodel.costplan) and its sweep (refmodel.costsweep), on synthetic
scores and costs: no model runs here."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

import numpy as np
import pytest

from refmodel import costplan, costsweep, methods
from refmodel.costplan import CostModel, PlanCost, Point
from refmodel.plan import SlotScores, choose

CANDIDATES = ("ibert", "fqvit", "ivit")
KINDS = {f"s{i}": kind for i, kind in enumerate(["softmax", "gelu", "layernorm"] * 6)}
ELEMENTS = {name: {"softmax": 3 * 197 * 197, "gelu": 197 * 768, "layernorm": 197 * 192}[kind] for name, kind in KINDS.items()}


def _table(rng: np.random.Generator) -> dict:
    """A cost table with random positive areas and cycles for every op of the candidates."""
    rows = {"softmax": 197, "gelu": 768, "layernorm": 192}
    ops = {}
    for m in CANDIDATES:
        for kind, op in methods.get(m).ops.items():
            ops[op.name] = {"nand2_area": float(rng.uniform(1e3, 1e5)), "cycles_per_row": int(rng.integers(100, 30000)), "row_length": rows[kind]}
    return {"ops": ops}


def _scores(rng: np.random.Generator, ties: bool = False) -> list[SlotScores]:
    """dSQNR of every candidate of every slot; with ``ties`` drawn from a few values, +inf and -inf included."""
    out = []
    for name, kind in KINDS.items():
        entry = SlotScores(name, kind)
        for m in methods.candidates(kind, CANDIDATES):
            d = float(rng.choice([-3.0, 0.0, 1.5, math.inf, -math.inf])) if ties else float(rng.normal(0, 5))
            entry.scores[m] = {"sqnr_in": 30.0, "sqnr_out": 30.0 + d, "dsqnr": d}
        out.append(entry)
    return out


def _objective(s: SlotScores, m: str, weight: float, costs: dict) -> float:
    return s.scores[m]["dsqnr"] - weight * costs[s.kind][m]


def test_normalised_cost_is_the_documented_formula():
    table = {"ops": {
        "ibert.softmax": {"nand2_area": 200.0, "cycles_per_row": 10, "row_length": 197},
        "fqvit.softmax": {"nand2_area": 100.0, "cycles_per_row": 40, "row_length": 197},
        "ivit.softmax": {"nand2_area": 50.0, "cycles_per_row": 20, "row_length": 197},
        "ibert.gelu": {"nand2_area": 10.0, "cycles_per_row": 1, "row_length": 768},
        "ivit.gelu": {"nand2_area": 40.0, "cycles_per_row": 4, "row_length": 768},
        "ibert.layernorm": {"nand2_area": 3.0, "cycles_per_row": 3, "row_length": 192},
        "fqvit.layernorm": {"nand2_area": 3.0, "cycles_per_row": 3, "row_length": 192},
        "ivit.layernorm": {"nand2_area": 3.0, "cycles_per_row": 3, "row_length": 192},
    }}
    costs = CostModel.from_table(table).normalised(CANDIDATES)
    assert costs["softmax"] == {"ibert": (1 + 0.25) / 2, "fqvit": (0.5 + 1) / 2, "ivit": (0.25 + 0.5) / 2}
    assert costs["gelu"] == {"ibert": (0.25 + 0.25) / 2, "ivit": 1.0}
    assert costs["layernorm"] == {"ibert": 1.0, "fqvit": 1.0, "ivit": 1.0}
    total = CostModel.from_table(table).total({"a": "ibert", "b": "ivit", "c": "float"}, {"a": "softmax", "b": "gelu", "c": "gelu"}, {"a": 394, "b": 768 * 3, "c": 5})
    assert total == PlanCost(200.0 + 40.0, 394 * 10 / 197 + 768 * 3 * 4 / 768, ("c",))


@pytest.mark.parametrize("seed", range(20))
def test_weight_zero_is_the_dsqnr_plan_exactly(seed):
    rng = np.random.default_rng(seed)
    costs = CostModel.from_table(_table(rng)).normalised(CANDIDATES)
    for ties in (False, True):
        scores = _scores(rng, ties)
        assert costplan.choose(scores, 0.0, costs) == choose(scores)
        assert costplan.choose(scores, 0, costs) == choose(scores)


@pytest.mark.parametrize("seed", range(20))
def test_each_slot_maximises_the_objective(seed):
    """Checked against the objective written out here, for weights across the breakpoints."""
    rng = np.random.default_rng(seed)
    costs = CostModel.from_table(_table(rng)).normalised(CANDIDATES)
    scores = _scores(rng)
    for weight in [0.1, 1.0, 7.3, 40.0]:
        plan = costplan.choose(scores, weight, costs)
        for s in scores:
            best = max(_objective(s, m, weight, costs) for m in s.scores)
            assert _objective(s, plan[s.name], weight, costs) == best


@pytest.mark.parametrize("seed", range(20))
def test_a_large_weight_picks_the_cheapest_method_of_every_slot(seed):
    rng = np.random.default_rng(seed)
    model = CostModel.from_table(_table(rng))
    scores = _scores(rng)
    plan = costplan.choose(scores, 1e6, model.normalised(CANDIDATES))
    for name, kind in KINDS.items():
        # the cheapest by the formula, computed here from the raw table
        units = {m: model.units[methods.get(m).op(kind)] for m in methods.candidates(kind, CANDIDATES)}
        top_a, top_t = max(u.area for u in units.values()), max(u.cycles_per_row for u in units.values())
        cheapest = min(units, key=lambda m: units[m].area / top_a + units[m].cycles_per_row / top_t)
        assert plan[name] == cheapest
    # past the last breakpoint the plan is already that one
    costs = model.normalised(CANDIDATES)
    assert costplan.choose(scores, 1.01 * costplan.breakpoints(scores, costs)[-1], costs) == plan


def test_the_sweep_runs_from_the_dsqnr_plan_to_the_cheapest_with_distinct_plans():
    rng = np.random.default_rng(7)
    costs = CostModel.from_table(_table(rng)).normalised(CANDIDATES)
    scores = _scores(rng)
    swept = costplan.sweep_weights(scores, costs, 6)
    assert len(swept) == 6 and swept[0] == (0.0, choose(scores))
    assert swept[-1][1] == costplan.choose(scores, 1e9, costs)
    weights = [w for w, _ in swept]
    assert weights == sorted(weights) and len({tuple(sorted(p.items())) for _, p in swept}) == 6
    # every distinct plan of the whole range of L, when asked for that many
    every = costplan.sweep_weights(scores, costs, 10_000)
    grid = {tuple(sorted(costplan.choose(scores, w, costs).items())) for w in np.geomspace(1e-3, 1e4, 600)}
    assert grid <= {tuple(sorted(p.items())) for _, p in every}


def _points(rng: np.random.Generator, n: int) -> list[Point]:
    values = rng.integers(0, 6, size=(n, 3)).astype(float)  # few values: many ties and duplicates
    return [Point(f"p{i}", float(i), {}, float(s), PlanCost(float(a), float(c))) for i, (s, a, c) in enumerate(values)]


@pytest.mark.parametrize("seed", range(30))
def test_the_front_is_exactly_the_non_dominated_points(seed):
    rng = np.random.default_rng(seed)
    points = _points(rng, 25)
    points.append(Point("float slots", None, {}, 100.0, PlanCost(0.0, 0.0, ("s1",))))  # best everywhere, but not counted in full
    points.append(Point("refused", 1.0, {}, math.nan, PlanCost(0.0, 0.0)))
    costplan.mark_front(points)
    ranked = points[:-2]
    for p in ranked:
        dominated = any(q.sqnr >= p.sqnr and q.cost.area <= p.cost.area and q.cost.cycles <= p.cost.cycles
                        and (q.sqnr, q.cost.area, q.cost.cycles) != (p.sqnr, p.cost.area, p.cost.cycles) for q in ranked)
        assert p.front == (not dominated)
    front = [p for p in points if p.front]
    assert front and not points[-1].front and not points[-2].front
    for p in front:
        assert not any(costplan.dominates(q, p) for q in front)


def test_collect_marks_uniform_and_dsqnr_plans_and_writes_the_csv():
    rng = np.random.default_rng(3)
    model = CostModel.from_table(_table(rng))
    scores = _scores(rng)
    from refmodel.plan import uniform_plan

    known = {f"uniform {m}": (uniform_plan(KINDS, m), float(i)) for i, m in enumerate(CANDIDATES)}
    calls = []

    def score(plan):
        calls.append(plan)
        return float(len(calls))

    points = costsweep.collect(scores, KINDS, model, CANDIDATES, 5, ELEMENTS, score, known)
    assert points[0].label == costsweep.DSQNR_LABEL and points[0].plan == choose(scores)
    assert [p.label for p in points[-3:]] == list(known) and not points[-2].cost.complete  # uniform fqvit: float GELU
    assert all(p.weight is not None for p in points[:-3])
    rows = list(csv.DictReader(io.StringIO(costsweep.csv_text(points, KINDS))))
    assert [r["label"] for r in rows] == [p.label for p in points]
    front = [r for r in rows if r["on_front"] == "1"]
    for r in front:  # non-dominated among the rows counted in full, read back from the CSV
        key = (float(r["logits_sqnr_db"]), -float(r["nand2_area"]), -float(r["cycles_per_image"]))
        for o in rows:
            if o["counted_in_full"] == "1":
                other = (float(o["logits_sqnr_db"]), -float(o["nand2_area"]), -float(o["cycles_per_image"]))
                assert not (all(a >= b for a, b in zip(other, key)) and other != key)


def test_png_is_written_when_matplotlib_is_installed():
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the 'plot' extra); the PNG is not drawn")
    rng = np.random.default_rng(1)
    points = _points(rng, 6)
    points[0].label, points[0].weight = costsweep.DSQNR_LABEL, 0.0
    points[1].weight = None
    points[2].sqnr = math.nan  # a plan that refused a scale
    costplan.mark_front(points)
    png = costsweep.png_bytes(points, "test")
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_without_matplotlib_the_png_is_none(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    assert costsweep.png_bytes(_points(np.random.default_rng(0), 3), "t") is None
    assert "pip install -e '.[plot]'" in costsweep.PLOT_HINT


@pytest.mark.parametrize("weight", [-1.0, math.nan, math.inf, -0.5])
def test_bad_weight_is_refused(weight):
    with pytest.raises(ValueError, match=r"^--cost-weight must be a finite number >= 0, got"):
        costplan.check_request(weight, None, plan_file=False, compare=False, out=False, candidates=CANDIDATES)


def test_requests_refused_before_any_work(tmp_path):
    table = tmp_path / "cost.json"  # the candidates' ops only: no lut entry
    table.write_text(json.dumps(_table(np.random.default_rng(0))))

    def refused(weight, sweep, **kw):
        args = dict(plan_file=False, compare=False, out=True, candidates=CANDIDATES, table=table) | kw
        with pytest.raises(ValueError) as info:
            costplan.check_request(weight, sweep, **args)
        assert "\n" not in str(info.value)
        return str(info.value)

    line = refused(1.0, None, candidates=("ibert", "lut"))
    assert line.startswith("--cost-weight: method lut has no cost for its softmax op lut.softmax in") and "--methods" in line
    assert refused(None, 4, candidates=("lut",)).startswith("--cost-sweep: method lut has no cost")
    assert refused(1.0, None, plan_file=True).startswith("--cost-weight")
    assert refused(None, 4, plan_file=True).startswith("--cost-sweep needs measured scores")
    assert refused(None, 4, out=False).startswith("--cost-sweep writes")
    assert refused(None, 1).startswith("--cost-sweep: the number of plans must be at least 2")
    costplan.check_request(None, 3, plan_file=True, compare=True, out=True, candidates=CANDIDATES, table=table)  # --plan --compare measures the scores


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "x"])
def test_bad_cost_weight_on_the_command_line_is_one_line(value, capsys):
    from refmodel import sim

    try:
        code = sim.main(["deit_t", f"--cost-weight={value}"])
    except SystemExit as exc:  # the argument parser's own error
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--cost-weight" in lines[0]
