"""``python -m refmodel.sim MODEL``: the mixed non-linear quantization of a timm ViT, DeiT or
Swin model, end to end, with every slot proven bit-exact.

It loads the model (``--checkpoint``, else the local timm cache, else seeded weights: the run
says which), takes calibration images (``--data``, else seeded synthetic ones: the run says
so), calibrates one uniformly quantized copy per method, measures every slot's SQNR in and
out, chooses the plan, calibrates and runs the mixed model, and at every slot reruns the
integers its PyTorch twin saw through the slot's Numba kernel. It prints a per-slot table,
the logits SQNR and top-1 agreement of each plan against the float model, a timing
breakdown, and last ``bit-exact slots: K/N``; it exits with status 1 when ``K < N``.

With ``--plan FILE`` the plan is read instead of measured: the uniform models are neither
calibrated nor measured (``--compare`` measures them too), and the report shows only what this
run measured. ``--out DIR`` writes one vector set per integer layer of the first
``--vector-images`` images with the graph that links them (:mod:`refmodel.layerexport`), or with
``--layers slots`` the first ``--max-rows`` rows of each slot (:mod:`refmodel.vectors`). It is refused, before any work, when DIR exists and is not a complete
earlier export (``--force`` replaces it); see :mod:`refmodel.outdir`. Failures follow
:mod:`refmodel.cli`: ``error: ...`` and exit status 2 for a bad argument or input file,
``internal error: ...`` and exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from refmodel import checkpoint, cli, costplan, costsweep, data, digits, layerexport, layergraph, layers, methods, models, outdir, pipeline, search, vectors
from refmodel.cli import UsageError
from refmodel.plan import SlotScores, plan_document, provenance, read_plan, searched_rule, uniform_plan, write_plan
from refmodel.quant.base import NETWORK_BITS

DEFAULT_CALIB_IMAGES = 32


class _TestSplit:
    """``--eval`` without a directory: the digits test split. Not a string: argparse converts
    a string ``const`` with the option's ``type``, which refuses the empty path."""

    def __repr__(self) -> str:
        return "<digits test split>"


TEST_SPLIT = _TestSplit()
DEFAULT_MAX_ROWS = 64
LAYER_EXPORTS = ("all", "slots")
BATCH_SIZE = 8
DEFAULT_EVAL_BATCH = 32
DEFAULT_WORKERS = 2
#: The width profile's file in an export (``refmodel.widths``).
WIDTHS = "widths.csv"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.Parser(
        prog="python -m refmodel.sim",
        description=__doc__.split("\n\n")[0].replace("``", "'"),
        epilog="Example: python -m refmodel.sim deit_t --bits 6 --out out/deit_t-w6",
    )
    path = cli.nonempty_path
    parser.add_argument("model", help=f"model short name: {', '.join(models.MODELS)}")
    parser.add_argument("--bits", type=int, default=None, help="weight and activation width, 8, 6 or 4 (residual stream stays 16; default 8, or a training checkpoint's)")
    parser.add_argument("--checkpoint", type=path, help="weights file (.pth or .safetensors, timm or original DeiT/Swin layout)")
    parser.add_argument("--data", type=path, help="ImageFolder directory of calibration images (default: seeded synthetic images)")
    parser.add_argument("--calib-images", type=int, default=DEFAULT_CALIB_IMAGES, help=f"number of calibration images (default {DEFAULT_CALIB_IMAGES})")
    parser.add_argument("--plan", type=path, help="run this plan file instead of measuring SQNR and choosing a plan")
    parser.add_argument(
        "--methods",
        default=",".join(methods.DEFAULT),
        help=f"comma-separated candidate methods, each a candidate for every slot of the kinds it has ops for "
        f"(known: {', '.join(methods.names())}; default {','.join(methods.DEFAULT)})",
    )
    parser.add_argument("--compare", action="store_true", help="with --plan: still calibrate and measure the uniform models, and report their numbers")
    parser.add_argument("--out", type=path, help="write plan.json, report.txt, widths.csv, one vector set per integer layer (or per slot: --layers slots) and manifest.json into this directory (see 'python -m refmodel.vectors check')")
    parser.add_argument("--force", action="store_true", help="let --out replace an existing file or directory that is not a refmodel export")
    parser.add_argument(
        "--layers", choices=LAYER_EXPORTS, default="all",
        help="with --out: 'all' (default) writes one vector set per integer layer, in forward order, with the graph that links them in manifest.json; "
        "'slots' writes the non-linear slots only (the first --max-rows rows of each)",
    )
    parser.add_argument("--vector-images", type=int, default=1, metavar="K", help="with --out and --layers all: the complete tensors of the first K calibration images in every layer set (default 1)")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help=f"with --layers slots: rows of vectors exported per slot (default {DEFAULT_MAX_ROWS})")
    parser.add_argument(
        "--engine-batches", type=int, default=pipeline.ENGINE_BATCHES, metavar="N",
        help=f"compare every layer of the Numba engine with the PyTorch path on the first N batches of {BATCH_SIZE} calibration images, 0 = all of them "
        f"(default {pipeline.ENGINE_BATCHES}; the other batches check the slots only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic weights and images (default 0)")
    parser.add_argument("--plan-search", action="store_true", help="search a plan by the logits SQNR on the calibration images, starting from the dSQNR plan (refmodel.search)")
    parser.add_argument(
        "--cost-weight", type=float, metavar="L",
        help="choose per slot the method maximising dSQNR - L * cost, cost normalised per kind from rtl_vectors/cost.json (refmodel.costplan; L >= 0, 0 = the dSQNR plan)",
    )
    parser.add_argument(
        "--cost-sweep", type=int, nargs="?", const=8, metavar="N",
        help="run up to N (default 8) cost-weighted plans over a range of L; write cost_sweep.csv and cost_sweep.png (logits SQNR against area and cycles) into --out",
    )
    parser.add_argument("--eval-batch-size", type=int, default=DEFAULT_EVAL_BATCH, help=f"--eval: images per batch (default {DEFAULT_EVAL_BATCH})")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help=f"--eval DIR: data loader worker processes, 0 reads in this process (default {DEFAULT_WORKERS})")
    parser.add_argument("--eval", dest="eval_dir", type=path, nargs="?", const=TEST_SPLIT, help="labelled ImageFolder (e.g. ImageNet val): report top-1 and top-5 accuracy of every plan; for digits without DIR, its test split")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Every check that needs no model: raises :class:`UsageError` (or ``outdir.Refused``)."""
    if args.model not in models.MODELS:
        raise UsageError(f"unknown model {args.model!r}; known models: {', '.join(models.MODELS)}")
    if args.bits is not None and args.bits not in NETWORK_BITS:
        raise UsageError(f"--bits must be {', '.join(map(str, NETWORK_BITS[:-1]))} or {NETWORK_BITS[-1]}, got {args.bits}")
    if args.eval_dir is TEST_SPLIT and args.model != "digits":
        raise UsageError(f"--eval needs a labelled ImageFolder DIR for {args.model} (only digits has a built-in test split)")
    if args.calib_images < 1:
        raise UsageError(f"--calib-images must be at least 1, got {args.calib_images}")
    if args.eval_batch_size < 1:
        raise UsageError(f"--eval-batch-size must be at least 1, got {args.eval_batch_size}")
    if args.workers < 0:
        raise UsageError(f"--workers must be at least 0, got {args.workers}")
    if args.max_rows < 1:
        raise UsageError(f"--max-rows must be at least 1, got {args.max_rows}")
    if args.engine_batches < 0:
        raise UsageError(f"--engine-batches must be at least 0 (0 = every batch), got {args.engine_batches}")
    if not 1 <= args.vector_images <= args.calib_images:
        raise UsageError(f"--vector-images must be between 1 and --calib-images ({args.calib_images}), got {args.vector_images}")
    with cli.bad_input():
        args.methods = methods.parse(args.methods)
    if args.compare and args.plan is None:
        raise UsageError("--compare needs --plan (without a plan file the uniform models are always measured)")
    with cli.bad_input():
        costplan.check_request(args.cost_weight, args.cost_sweep, plan_file=args.plan is not None, compare=args.compare, out=args.out is not None, candidates=args.methods)
    if args.out is not None:
        outdir.check_target(args.out, force=args.force)


def fmt_db(x: float) -> str:
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.2f}"


class Report:
    """Prints and keeps the lines for ``report.txt``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)


class Timer:
    """Seconds spent per named phase, in the order the phases ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.clock = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.clock
        self.clock = now

    def line(self) -> str:
        return "timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items())


def progress(line: str) -> None:
    print(f"  .. {line}", flush=True)


@dataclass
class Inputs:
    """What the run works on, read and validated before any work starts."""

    loaded: models.LoadedModel
    calib: data.Images
    kinds: dict[str, str]
    plan: dict[str, str] | None = None  # from --plan, or a QAT checkpoint's
    plan_scores: list[SlotScores] = field(default_factory=list)  # the scores stored in the plan file
    plan_provenance: tuple[str | None, dict[str, Any] | None] = (None, None)  # the plan file's rule and search record
    frozen: dict[str, torch.Tensor] | None = None  # a QAT checkpoint's quantizer state, for its own plan
    labelled: tuple[str, Iterator[tuple[torch.Tensor, torch.Tensor]], int] | None = None  # --eval: what, lazy batches, count


@dataclass
class Results:
    """What the run measured: the float reference, the uniform models (when measured), the
    mixed model and its slot checks."""

    plan: dict[str, str]
    float_logits: torch.Tensor
    float_model: torch.nn.Module
    mixed_logits: torch.Tensor
    mixed_model: torch.nn.Module
    checker: pipeline.NumbaCheckProbe
    engine: layers.Engine
    sensitivity: pipeline.Sensitivity | None  # None: the uniform models were not measured
    searched: search.SearchResult | None = None  # --plan-search: the search from the start plan

    @property
    def measured_scores(self) -> list[SlotScores] | None:
        return None if self.sensitivity is None else self.sensitivity.scores

    @property
    def measured_methods(self) -> list[str]:
        """The candidate methods whose uniform models were measured (none with --plan alone)."""
        return [] if self.sensitivity is None else [m for m in self.sensitivity.models if m != "float"]

    @property
    def refused_methods(self) -> dict[str, str]:
        """Candidate methods whose uniform model refused a calibrated scale, and why."""
        return {} if self.sensitivity is None else self.sensitivity.refused


def load_inputs(args: argparse.Namespace, report: Report) -> Inputs:
    """The model, the calibration images and the plan file; their problems are usage errors."""
    with cli.bad_input():
        trained = checkpoint.load_model(args.model, args.checkpoint) if args.checkpoint and checkpoint.is_train_checkpoint(args.checkpoint) else None
        loaded = trained.loaded if trained else models.load(args.model, args.checkpoint, args.seed)
    if trained and trained.bits is not None:
        if args.bits not in (None, trained.bits):
            raise UsageError(f"--bits {args.bits}: the checkpoint {args.checkpoint} was trained at {trained.bits} bits")
        args.bits = trained.bits
    args.bits = args.bits or 8
    report(f"model: {args.model} ({loaded.timm_name}), W{args.bits}A{args.bits}, residual stream 16-bit")
    report(loaded.describe())
    with cli.bad_input():
        if args.data:
            calib = data.image_folder(args.data, loaded.model, args.calib_images)
        elif args.model == "digits":
            calib = digits.images("calibration", args.calib_images)
        else:
            calib = data.synthetic(args.calib_images, args.seed)
    report(f"calibration: {calib.description}")
    inputs = Inputs(loaded, calib, pipeline.slot_kinds(loaded.model))
    if trained and trained.plan is not None:
        inputs.plan, inputs.frozen = trained.plan, trained.scales
        if args.plan is None:
            report("plan: the training checkpoint's; its frozen scales replace calibration of the mixed model")
    if args.plan is not None:
        with cli.bad_input():
            inputs.plan, inputs.plan_scores = read_plan(args.plan, args.model, inputs.kinds, bits=args.bits)
            inputs.plan_provenance = provenance(args.plan)
        print(f"plan: {args.plan}", flush=True)
        # report.txt does not depend on where the plan file lies, so a rerun from plan.json reproduces it
        report.lines.append("plan: read from --plan" + ("" if args.compare else " (uniform models not measured; --compare measures them)"))
    if args.eval_dir is TEST_SPLIT:
        test = digits.load("test")
        inputs.labelled = (test.describe(), test.batches(args.eval_batch_size), len(test.labels))
    elif args.eval_dir is not None:
        with cli.bad_input():
            count, batches = data.image_batches(args.eval_dir, loaded.model, args.eval_batch_size, args.workers)
        inputs.labelled = (f"{count} labelled images from {args.eval_dir}", batches, count)
    return inputs


def measure(args: argparse.Namespace, inputs: Inputs, timer: Timer, capture: vectors.CaptureProbe | None) -> Results:
    """Calibrate and measure the uniform models when needed, choose the plan unless given,
    then calibrate, run and check the mixed model."""
    model, images = inputs.loaded.model, inputs.calib.images
    sens = None
    if inputs.plan is None or args.compare:
        sens = pipeline.sensitivity(model, args.bits, images, BATCH_SIZE, progress, args.methods)
        float_model, float_logits = sens.models["float"], sens.float_logits
        timer.lap("calibrate uniform models and measure SQNR")
    else:
        float_model, float_logits = pipeline.float_reference(model, args.bits, images, BATCH_SIZE)
        timer.lap("run float model")
    plan = inputs.plan if inputs.plan is not None else costplan.choose_plan(sens.scores, args.cost_weight, args.methods)
    searched = None
    if args.plan_search:
        searched = search.search(model, plan, inputs.kinds, args.bits, images, float_logits, BATCH_SIZE, progress, methods=args.methods)
        plan = searched.plan
        timer.lap("plan search")
    frozen = inputs.frozen if inputs.frozen is not None and plan == inputs.plan else None
    engine = layers.Engine()
    engine_batches = args.engine_batches or math.ceil(images.shape[0] / BATCH_SIZE)
    mixed_logits, checker, mixed_model = pipeline.run_mixed(model, plan, args.bits, images, BATCH_SIZE, progress, capture, frozen, engine, engine_batches)
    timer.lap("calibrate and run mixed model")
    timer.seconds["Numba check (inside mixed run)"] = checker.seconds
    timer.seconds["Numba engine (inside mixed run)"] = engine.seconds
    return Results(plan, float_logits, float_model, mixed_logits, mixed_model, checker, engine, sens, searched)


def slot_table(kinds: dict[str, str], results: Results) -> list[str]:
    """One line per slot: kind, method, the measured dSQNR of every method, elements checked."""
    scores = results.measured_scores
    by_name = {s.name: s for s in scores or []}
    header = f"{'slot':<34} {'kind':<9} {'method':<6} "
    if scores is not None:
        header += " ".join(f"{'dSQNR ' + m:>12}" for m in results.measured_methods) + " "
    lines = [header + f"{'elements':>10}  bit-exact"]
    for name, kind in kinds.items():
        line = f"{name:<34} {kind:<9} {results.plan[name]:<6} "
        if scores is not None:
            entry = by_name.get(name)
            line += " ".join(f"{fmt_db(entry.scores[m]['dsqnr']) if entry and m in entry.scores else '-':>12}" for m in results.measured_methods) + " "
        check = results.checker.checks.get(name)
        exact = "yes" if check and check.exact else ("NO: " + check.first if check else "not run")
        lines.append(line + f"{check.elements if check else 0:>10}  {exact}")
    return lines


def plan_summary(kinds: dict[str, str], plan: dict[str, str], candidates: tuple[str, ...]) -> list[str]:
    """How many slots each method runs, in all and per kind (every candidate listed, and any
    other method a plan file names)."""
    listed = tuple(dict.fromkeys([*candidates, *plan.values()]))
    counts = {m: sum(1 for n in kinds if plan[n] == m) for m in listed}
    per_kind = {k: {m: sum(1 for n, kk in kinds.items() if kk == k and plan[n] == m) for m in listed} for k in methods.KINDS}
    return [
        "mixed plan: " + ", ".join(f"{m} {c}" for m, c in counts.items()) + f" slots of {len(kinds)}",
        "per kind: " + "; ".join(f"{k}: " + ", ".join(f"{m} {c}" for m, c in v.items() if c) for k, v in per_kind.items()),
    ]


def elements_per_image(results: Results, images: int) -> dict[str, float]:
    """Elements each slot's kernel processed per image in the mixed run."""
    return {name: check.elements / images for name, check in results.checker.checks.items()}


def logits_table(results: Results, kinds: dict[str, str], elements: dict[str, float]) -> list[str]:
    """Logits SQNR and top-1 agreement against the float model of every plan run, and each
    plan's total cost (refmodel.costplan: area and cycles per image of its non-linear units)."""
    no_gelu = [m for m in results.measured_methods if "gelu" not in methods.get(m).ops]
    rows = {"uniform " + m + ("*" if m in no_gelu else ""): (results.sensitivity.logits[m], uniform_plan(kinds, m)) for m in results.measured_methods}
    rows["mixed"] = (results.mixed_logits, results.plan)
    ref = results.float_logits
    with cli.bad_input():
        cost_model = costplan.CostModel.load()
    cells = lambda plan: " " + cost_model.describe(plan, kinds, {n: elements.get(n, 0.0) for n in kinds})  # noqa: E731
    lines = [f"{'plan':<14} {'logits SQNR dB':>15} {'top-1 agreement':>16} {costplan.COST_HEADER}"]
    lines += [f"{'uniform ' + m:<14} refused: {why}" for m, why in results.refused_methods.items()]
    if results.searched is not None:
        lines.append(f"{'mixed (dSQNR)':<14} {fmt_db(results.searched.start_score):>15} {'':>16}" + cells(results.searched.start))
    lines += [
        f"{label:<14} {fmt_db(pipeline.logits_sqnr(ref, logits)):>15} {pipeline.top1_agreement(ref, logits):>16.3f}" + cells(plan)
        for label, (logits, plan) in rows.items()
    ]
    if results.searched is not None:
        found = results.searched
        changed = sum(1 for n in found.plan if found.plan[n] != found.start[n])
        lines.append(
            f"plan search: {len(found.trials)} trials, {found.passes} passes, {changed} slots changed; "
            f"logits SQNR on the calibration images {fmt_db(found.start_score)} -> {fmt_db(found.score)} dB"
        )
    for m in no_gelu:
        lines.append(f"* {m} has no integer GELU: its uniform model keeps GELU in float" + (", as upstream" if m == "fqvit" else "") + "; its cost counts no GELU unit")
    return lines


def report_results(args: argparse.Namespace, inputs: Inputs, results: Results, report: Report) -> dict[str, bytes]:
    """The slot table, the plan summary, the logits table with each plan's cost and, with
    ``--cost-sweep``, the sweep (refmodel.costsweep); returns the sweep's files for ``--out``."""
    elements = elements_per_image(results, int(inputs.calib.images.shape[0]))
    report()
    lines = slot_table(inputs.kinds, results) + plan_summary(inputs.kinds, results.plan, args.methods)
    if args.cost_weight is not None:
        lines.append(f"cost-aware plan: argmax dSQNR - L * cost per slot, L = {args.cost_weight:g} (cost normalised per kind, refmodel.costplan)")
    for line in lines + [""] + logits_table(results, inputs.kinds, elements):
        report(line)
    if args.cost_sweep is None:
        return {}
    lines, files = costsweep.run(
        inputs.loaded.model, args.bits, inputs.calib.images, BATCH_SIZE, results.sensitivity, inputs.kinds, args.methods, args.cost_sweep,
        elements, (results.plan, results.mixed_logits), f"{args.model} W{args.bits}A{args.bits}",
    )
    for line in [""] + lines:
        report(line)
    return files


def evaluate(
    where: str, labelled: Iterator[tuple[torch.Tensor, torch.Tensor]], count: int, results: Results, inputs: Inputs, bits: int, report: Report
) -> None:
    """Top-1 and top-5 accuracy of every model run on labelled images, with progress and
    throughput; an unreadable image is a usage error, a failure of a model is not."""
    report()
    report(f"evaluation: {where}")
    named = {"float": results.float_model}
    named.update({f"uniform {m}": results.sensitivity.models[m] for m in results.measured_methods})
    if results.searched is not None:
        start = pipeline.quantized_model(inputs.loaded.model, results.searched.start, bits)
        pipeline.set_datapath(start, "numba")
        pipeline.calibrate(start, inputs.calib.images, BATCH_SIZE)
        named["mixed (dSQNR)"] = start
    named["mixed"] = results.mixed_model
    for model in named.values():
        pipeline.set_datapath(model, "numba")  # no gradients: the fast, identical datapath
    try:
        accuracy = pipeline.evaluate(named, labelled, progress, count)
    except data.ImageError as exc:
        raise UsageError(str(exc)) from None
    for name, acc in accuracy.items():
        report(f"top-1 accuracy {name:<14} {100 * acc.top1 / max(acc.images, 1):6.2f} %")
    for name, acc in accuracy.items():
        report(f"top-{acc.k} accuracy {name:<14} {100 * acc.topk / max(acc.images, 1):6.2f} %")


def _provenance(args: argparse.Namespace, inputs: Inputs, results: Results) -> tuple[str | None, dict[str, Any] | None]:
    """The rule and search record ``plan.json`` gives the plan that ran: this run's, or those
    of the ``--plan`` file it ran."""
    if args.plan is not None:
        return inputs.plan_provenance
    rule = costplan.rule(args.cost_weight)
    if results.searched is None:
        return rule, None
    return searched_rule(rule), results.searched.document()


def export(
    args: argparse.Namespace, inputs: Inputs, results: Results, capture: vectors.CaptureProbe, report_lines: list[str], files: dict[str, bytes]
) -> int:
    """Write the export directory atomically, with ``files`` (name -> bytes) beside the rest;
    returns the number of vector sets (one per slot with ``--layers slots``, else one per
    integer layer)."""
    loaded, calib = inputs.loaded, inputs.calib
    calibration = {"images": int(calib.images.shape[0]), "source": calib.description}
    scores = results.measured_scores if results.measured_scores is not None else inputs.plan_scores
    with outdir.staged(args.out, force=args.force) as stage:
        write_plan(stage / "plan.json", plan_document(args.model, args.bits, loaded.sha256, calibration, inputs.kinds, results.plan, scores, *_provenance(args, inputs, results)))
        for name, content in files.items():
            (stage / name).write_bytes(content)
        revision = vectors.git_revision()
        if args.layers == "slots":
            entries, graph = vectors.write_slot_sets(stage, capture, revision, args.seed), None
        else:
            slots = {name: (kind, results.plan[name]) for name, kind in inputs.kinds.items()}
            recorded = layergraph.record(results.mixed_model, calib.images[: args.vector_images])
            graph = layerexport.write_layer_sets(stage, recorded, slots, revision, args.seed)
            entries = layerexport.slot_entries(recorded, slots)
        results.engine.widths.write(stage / WIDTHS)
        (stage / "report.txt").write_text("\n".join(report_lines) + "\n")
        manifest = {
            "model": args.model,
            "timm_model": loaded.timm_name,
            "bits": args.bits,
            "weights": loaded.sha256,
            "seed": args.seed,
            "calibration": calibration,
            "plan": results.plan,
            "slots": entries,
            "git_revision": revision,
        }
        if graph is None:
            manifest["max_rows"] = args.max_rows
        else:
            manifest.update(layers=graph, vector_images=args.vector_images)
        vectors.write_manifest(stage, manifest)
    return len(entries) if graph is None else len(graph)


def run(args: argparse.Namespace) -> int:
    """The whole run: inputs, measurement, report, evaluation, export; exit status 0 when
    every slot and every checked layer is bit-exact, else 1."""
    check_args(args)
    report, timer = Report(), Timer()
    inputs = load_inputs(args, report)
    timer.lap("load model and data")
    capture = vectors.CaptureProbe(args.max_rows) if args.out is not None and args.layers == "slots" else None
    results = measure(args, inputs, timer, capture)
    files = report_results(args, inputs, results, report)
    timer.lap("report" if args.cost_sweep is None else "report and cost sweep")
    if inputs.labelled is not None:
        evaluate(*inputs.labelled, results, inputs, args.bits, report)
        timer.lap("evaluate")
    kinds = inputs.kinds
    exact = sum(1 for n in kinds if n in results.checker.checks and results.checker.checks[n].exact)
    report()
    for line in results.engine.widths.summary() + results.engine.lines():
        report(line)
    final = f"bit-exact slots: {exact}/{len(kinds)}"
    if args.out is not None:
        sets = export(args, inputs, results, capture, report.lines + [results.engine.final_line(), final], files)
        timer.lap("write vectors")
        what = "slot" if args.layers == "slots" else "layer"
        print(f"wrote {args.out}: plan.json, report.txt, {WIDTHS}, manifest.json and {sets} {what} vector sets" + "".join(f", {n}" for n in files))
    print(timer.line())
    print(results.engine.final_line())
    print(final)
    return 0 if exact == len(kinds) and results.engine.exact == len(results.engine.checks) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run(lambda: run(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
