"""``python -m refmodel.sim MODEL``: the mixed non-linear quantization of a timm ViT, DeiT or
Swin model, end to end, with every slot proven bit-exact.

It loads the model (``--checkpoint``, else the local timm cache, else seeded weights: the run
says which), takes calibration images (``--data``, else seeded synthetic ones: the run says
so), calibrates one uniformly quantized copy per method, measures every slot's SQNR in and
out, chooses the plan (or reads ``--plan``), calibrates and runs the mixed model, and at every
slot reruns the integers its PyTorch twin saw through the slot's Numba kernel. It prints a
per-slot table, the logits SQNR and top-1 agreement of each plan against the float model, a
timing breakdown, and last ``bit-exact slots: K/N``; it exits non-zero when ``K < N``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path


from refmodel import checkpoint, data, digits, models, pipeline, vectors
from refmodel.plan import choose, plan_document, read_plan, write_plan

DEFAULT_CALIB_IMAGES = 32
DEFAULT_MAX_ROWS = 64
BATCH_SIZE = 8


class UsageError(Exception):
    """A bad argument or input: reported as one line, exit status 2."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m refmodel.sim",
        description=__doc__.split("\n\n")[0].replace("``", "'"),
        epilog="Example: python -m refmodel.sim deit_t --bits 6 --out out/deit_t-w6",
    )
    parser.add_argument("model", help=f"model short name: {', '.join(models.MODELS)}")
    parser.add_argument("--bits", type=int, default=None, help="weight and activation width, 8, 6 or 4 (residual stream stays 16; default 8, or a training checkpoint's)")
    parser.add_argument("--checkpoint", help="weights file (.pth or .safetensors, timm or original DeiT/Swin layout)")
    parser.add_argument("--data", help="ImageFolder directory of calibration images (default: seeded synthetic images)")
    parser.add_argument("--calib-images", type=int, default=DEFAULT_CALIB_IMAGES, help=f"number of calibration images (default {DEFAULT_CALIB_IMAGES})")
    parser.add_argument("--plan", help="reuse this plan file instead of measuring SQNR")
    parser.add_argument("--out", help="write plan.json, report.txt, one vector set per slot and manifest.json into this directory (see 'python -m refmodel.vectors check')")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help=f"rows of vectors exported per slot with --out (default {DEFAULT_MAX_ROWS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic weights and images (default 0)")
    parser.add_argument("--plan-search", action="store_true", help="search a plan by the logits SQNR on the calibration images, starting from the dSQNR plan (refmodel.search)")
    parser.add_argument("--eval", dest="eval_dir", nargs="?", const="", help="labelled ImageFolder (e.g. ImageNet val): report top-1 accuracy of every plan; for digits without DIR, the test split")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    if args.model not in models.MODELS:
        raise UsageError(f"unknown model {args.model!r}; known models: {', '.join(models.MODELS)}")
    if args.bits is not None and args.bits not in (8, 6, 4):
        raise UsageError(f"--bits must be 8, 6 or 4, got {args.bits}")
    if args.eval_dir == "" and args.model != "digits":
        raise UsageError(f"--eval needs a labelled ImageFolder DIR for {args.model} (only digits has a built-in test split)")
    if args.calib_images < 1:
        raise UsageError(f"--calib-images must be at least 1, got {args.calib_images}")
    if args.max_rows < 1:
        raise UsageError(f"--max-rows must be at least 1, got {args.max_rows}")


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


def run(args: argparse.Namespace) -> int:
    report = Report()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    try:
        trained = checkpoint.load_model(args.model, Path(args.checkpoint)) if args.checkpoint and checkpoint.is_train_checkpoint(Path(args.checkpoint)) else None
        loaded = trained.loaded if trained else models.load(args.model, args.checkpoint, args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if trained and trained.bits is not None:
        if args.bits not in (None, trained.bits):
            raise UsageError(f"--bits {args.bits}: the checkpoint {args.checkpoint} was trained at {trained.bits} bits")
        args.bits = trained.bits
    args.bits = args.bits or 8
    report(f"model: {args.model} ({loaded.timm_name}), W{args.bits}A{args.bits}, residual stream 16-bit")
    report(loaded.describe())
    try:
        if args.data:
            calib = data.image_folder(args.data, loaded.model, args.calib_images)
        elif args.model == "digits":
            calib = digits.images("calibration", args.calib_images)
        else:
            calib = data.synthetic(args.calib_images, args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report(f"calibration: {calib.description}")
    kinds = pipeline.slot_kinds(loaded.model)
    plan = None
    if args.plan:
        try:
            plan, scores = read_plan(Path(args.plan), args.model, kinds)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        report(f"plan: {args.plan}")
    elif trained and trained.plan is not None:
        plan = trained.plan
        report("plan: the training checkpoint's; its frozen scales replace calibration of the mixed model")
    lap("load model and data")

    progress = lambda line: print(f"  .. {line}", flush=True)  # noqa: E731
    try:
        sens = pipeline.sensitivity(loaded.model, args.bits, calib.images, BATCH_SIZE, progress)
    except ValueError as exc:  # e.g. a calibrated scale outside a method's accepted range
        raise UsageError(str(exc)) from None
    lap("calibrate uniform models and measure SQNR")
    if plan is None:
        scores = sens.scores
        plan = choose(scores)
    elif trained and plan == trained.plan and not args.plan:
        scores = trained.scores(sens.scores)
    searched = None
    if args.plan_search:
        from refmodel import search

        searched = search.search(loaded.model, plan, kinds, args.bits, calib.images, sens.float_logits, BATCH_SIZE, progress)
        start_plan, plan = plan, searched.plan
        scores = search.with_choices(scores, plan)
        lap("plan search")
    capture = vectors.CaptureProbe(args.max_rows) if args.out else None
    try:
        frozen = trained.scales if trained and trained.plan == plan else None
        mixed_logits, checker, mixed_model = pipeline.run_mixed(loaded.model, plan, args.bits, calib.images, BATCH_SIZE, progress, capture, frozen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    lap("calibrate and run mixed model")
    timings["Numba check (inside mixed run)"] = checker.seconds

    report()
    methods = ("ibert", "fqvit", "ivit")
    report(f"{'slot':<34} {'kind':<9} {'method':<6} " + " ".join(f"{'dSQNR ' + m:>12}" for m in methods) + f" {'elements':>10}  bit-exact")
    by_name = {s.name: s for s in scores}
    for name, kind in kinds.items():
        entry = by_name.get(name)
        cells = " ".join(f"{fmt_db(entry.scores[m]['dsqnr']) if entry and m in entry.scores else '-':>12}" for m in methods)
        check = checker.checks.get(name)
        exact = "yes" if check and check.exact else ("NO: " + check.first if check else "not run")
        report(f"{name:<34} {kind:<9} {plan[name]:<6} {cells} {check.elements if check else 0:>10}  {exact}")
    counts = {m: sum(1 for n in kinds if plan[n] == m) for m in methods}
    report("mixed plan: " + ", ".join(f"{m} {c}" for m, c in counts.items()) + f" slots of {len(kinds)}")
    per_kind = {k: {m: sum(1 for n, kk in kinds.items() if kk == k and plan[n] == m) for m in methods} for k in ("softmax", "gelu", "layernorm")}
    report("per kind: " + "; ".join(f"{k}: " + ", ".join(f"{m} {c}" for m, c in v.items() if c) for k, v in per_kind.items()))

    report()
    report(f"{'plan':<14} {'logits SQNR dB':>15} {'top-1 agreement':>16}")
    for method in methods:
        label = "uniform " + method + ("*" if method == "fqvit" else "")
        if method in sens.refused:
            report(f"{label:<14} refused: {sens.refused[method]}")
            continue
        report(f"{label:<14} {fmt_db(pipeline.logits_sqnr(sens.float_logits, sens.logits[method])):>15} {pipeline.top1_agreement(sens.float_logits, sens.logits[method]):>16.3f}")
    if searched is not None:
        report(f"{'mixed (dSQNR)':<14} {fmt_db(searched.start_score):>15}")
    report(f"{'mixed':<14} {fmt_db(pipeline.logits_sqnr(sens.float_logits, mixed_logits)):>15} {pipeline.top1_agreement(sens.float_logits, mixed_logits):>16.3f}")
    if searched is not None:
        report(f"plan search: {len(searched.trials)} trials, {searched.passes} passes, {sum(1 for n in plan if plan[n] != start_plan[n])} slots changed; "
               f"logits SQNR on the calibration images {fmt_db(searched.start_score)} -> {fmt_db(searched.score)} dB")
    report("* FQ-ViT has no integer GELU: its uniform model keeps GELU in float, as upstream")
    lap("report")

    if args.eval_dir is not None:
        try:
            if args.eval_dir == "":
                test = digits.load("test")
                count, labelled, where = len(test.labels), test.batches(BATCH_SIZE), test.describe()
            else:
                count, labelled = data.image_batches(args.eval_dir, loaded.model, BATCH_SIZE)
                where = f"{count} labelled images from {args.eval_dir}"
            report()
            report(f"evaluation: {where}")
            named = {"float": sens.models["float"], **{f"uniform {m}": sens.models[m] for m in methods if m in sens.models}, "mixed": mixed_model}
            if searched is not None:
                dsqnr_model = pipeline.quantized_model(loaded.model, start_plan, args.bits)
                pipeline.set_datapath(dsqnr_model, "numba")
                pipeline.calibrate(dsqnr_model, calib.images, BATCH_SIZE)
                named["mixed (dSQNR)"] = dsqnr_model
            for model in named.values():
                pipeline.set_datapath(model, "numba")  # no gradients: the fast, identical datapath
            accuracy = pipeline.evaluate(named, labelled, progress)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        for name, acc in accuracy.items():
            report(f"top-1 accuracy {name:<14} {100 * acc:6.2f} %")
        lap("evaluate")

    exact = sum(1 for n in kinds if n in checker.checks and checker.checks[n].exact)
    report()
    final = f"bit-exact slots: {exact}/{len(kinds)}"
    if args.out:
        out = Path(args.out)
        with vectors.Staging(out) as stage:
            calibration = {"images": int(calib.images.shape[0]), "source": calib.description}
            document = plan_document(args.model, args.bits, loaded.sha256, calibration, scores)
            if searched is not None:
                document["search"] = searched.document()
            write_plan(stage / "plan.json", document)
            entries = vectors.write_slot_sets(stage, capture, vectors.git_revision(), args.seed)
            (stage / "report.txt").write_text("\n".join(report.lines + [final]) + "\n")
            vectors.write_manifest(
                stage,
                {
                    "model": args.model,
                    "timm_model": loaded.timm_name,
                    "bits": args.bits,
                    "weights": loaded.sha256,
                    "seed": args.seed,
                    "calibration": calibration,
                    "max_rows": args.max_rows,
                    "plan": plan,
                    "slots": entries,
                    "git_revision": vectors.git_revision(),
                },
            )
        lap("write vectors")
        print(f"wrote {out}: plan.json, report.txt, manifest.json and {len(entries)} slot vector sets")
    print("timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print(final)
    return 0 if exact == len(kinds) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_args(args)
        return run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
