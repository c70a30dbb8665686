"""``python -m refmodel.study digits``: what every plan costs on real images, before and after
quantization-aware training.

1. The float digits model: reused from the cache when there, else trained there
   (:mod:`refmodel.train`'s digits recipe).
2. At 8, 6 and 4 bits (residual stream 16): the uniform I-BERT, FQ-ViT and I-ViT plans, the
   dSQNR mixed plan and the searched plan (:mod:`refmodel.search`, started from the dSQNR
   plan, over the same methods, scored on the calibration images) are calibrated on the
   calibration split (PTQ), then each trains for a fixed budget of QAT updates through the
   straight-through twins (scales frozen at calibration).
3. Every model is measured on the test split, which neither calibration, search nor training
   saw: top-1 (with the number of images), and against the float model's logits ``f`` the
   logits SQNR ``20 log10 mean_i ||f_i|| / ||f_i - y_i||`` (dB,
   :func:`refmodel.pipeline.logits_sqnr`) and the mean KL divergence
   ``mean_i KL(softmax f_i || softmax y_i)`` (nats, :func:`refmodel.pipeline.logits_kl`).

A plan a method cannot run (a calibrated scale it cannot represent, possible at 4 bits) is
one ``refused`` row naming the slot. Fixed seeds and one CPU thread: the same command prints
the same table. ``--out DIR`` writes ``table.csv``, one ``wB/PLAN/plan.json`` per plan run
(the searched plan's with the search's every score) and ``manifest.json``, atomically
(:mod:`refmodel.outdir`). The last line is
``study digits: float A%, mixed W4 QAT B%, best uniform W4 QAT C%``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from refmodel import cli, outdir, pipeline, search
from refmodel.cli import UsageError
from refmodel.plan import choose, plan_document, searched_rule, uniform_plan, write_plan

METHODS = ("ibert", "fqvit", "ivit")
BITS = (8, 6, 4)
BATCH = 8  # calibration batch, as sim's
EVAL_BATCH = 120
SEED = 0
MANIFEST_FORMAT = "refmodel-manifest/1"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Budget:
    """How much work a study does: calibration images (the search scores on them too), passes
    of the plan search, and per plan ``qat_steps`` updates of ``qat_batch`` training images at
    ``qat_lr`` (AdamW, weight decay 1e-4, cosine to zero, label smoothing 0.1)."""

    name: str
    calib_images: int
    search_passes: int
    qat_steps: int
    qat_batch: int
    qat_lr: float = 1e-4


FULL = Budget("full", calib_images=32, search_passes=2, qat_steps=40, qat_batch=64)
QUICK = Budget("quick", calib_images=8, search_passes=1, qat_steps=8, qat_batch=32)


@dataclass
class Measure:
    """A model on the test split: correct answers, images, logits SQNR and KL against float."""

    correct: int
    images: int
    sqnr_db: float
    kl: float

    @property
    def top1(self) -> float:
        return 100.0 * self.correct / self.images


@dataclass
class Row:
    bits: int
    plan_name: str
    plan: dict[str, str] | None
    ptq: Measure | None = None
    qat: Measure | None = None
    refused: str = ""
    document: dict | None = None


@dataclass
class Study:
    float_measure: Measure
    float_source: str
    rows: list[Row] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.Parser(prog="python -m refmodel.study", description=__doc__.split("\n\n")[0].replace("``", "'"),
                        epilog="Example: python -m refmodel.study digits --out out/study")
    parser.add_argument("model", help="the model studied: digits (the only one with a training and a test split here)")
    parser.add_argument("--quick", action="store_true", help="fewer calibration images, one search pass, fewer and smaller QAT updates (for CI); the same float model")
    parser.add_argument("--out", type=cli.nonempty_path, help="write table.csv, wB/PLAN/plan.json and manifest.json into this directory")
    parser.add_argument("--force", action="store_true", help="let --out replace an existing file or directory that is not a refmodel export")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    if args.model != "digits":
        raise UsageError(f"model: only digits can be studied (it has training and test splits here), got {args.model!r}")
    if args.out is not None:
        outdir.check_target(args.out, force=args.force)


# -- the float model ----------------------------------------------------------------------


def float_model(say: Say) -> tuple[nn.Module, str]:
    """The float digits model of every command (:func:`refmodel.digits.float_checkpoint`),
    trained there first with the digits recipe when absent (``--quick`` too: a shorter
    schedule does not reach 95 % here)."""
    from refmodel import checkpoint, digits, models, train

    path = digits.float_checkpoint()
    if not path.is_file():
        say(f"float model: none at {path}; training it (python -m refmodel.train digits --float)")
        if train.main(["digits", "--float", "--quiet", "--out", str(path.parent), "--force", "--seed", str(SEED)]) != 0:
            raise RuntimeError("float training failed")
    model = models.create(models.resolve("digits"), SEED)
    state = checkpoint.read(path).weights if checkpoint.is_train_checkpoint(path) else models.read_state_dict(path)
    with cli.bad_input():
        models.apply_state_dict(model, state, path)
    return model.eval(), f"{path} (sha256 {models.sha256_of(path)[:16]}...)"


# -- measuring ------------------------------------------------------------------------------


def logits_of(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits without gradients (a quantized model's slots then run their Numba kernels)."""
    was = net.training
    net.eval()
    with torch.no_grad():
        out = torch.cat([net(b) for b in pipeline.batches(images, EVAL_BATCH)])
    net.train(was)
    return out


def measure(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, reference: torch.Tensor) -> Measure:
    logits = logits_of(net, images)
    correct = int((logits.argmax(-1) == labels).sum())
    return Measure(correct, int(labels.numel()), pipeline.logits_sqnr(reference, logits), pipeline.logits_kl(reference, logits))


def calibrated(model: nn.Module, plan: dict[str, str], bits: int, calib: torch.Tensor) -> nn.Module:
    """The quantized model of ``plan``, calibrated and frozen; ``ValueError`` naming the slot
    whose scale its method cannot represent."""
    qmodel = pipeline.quantized_model(model, plan, bits)
    pipeline.set_datapath(qmodel, "numba")
    pipeline.calibrate(qmodel, calib, BATCH)
    return qmodel


def qat(model: nn.Module, plan: dict[str, str], bits: int, calib: torch.Tensor, train_split, budget: Budget, seed: int) -> nn.Module:
    """A copy of ``model`` quantized with ``plan``, calibrated, then ``budget.qat_steps``
    updates through the twins (activation scales frozen, weight scales following the
    weights), on a seeded order of the training split."""
    from timm.loss import LabelSmoothingCrossEntropy
    from timm.optim import create_optimizer_v2

    weights = copy.deepcopy(model)
    net = calibrated(weights, plan, bits, calib)
    optimizer = create_optimizer_v2(weights, opt="adamw", lr=budget.qat_lr, weight_decay=1e-4)
    criterion = LabelSmoothingCrossEntropy(0.1)
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(len(train_split.labels), generator=generator) for _ in range(1 + budget.qat_steps * budget.qat_batch // len(train_split.labels))])
    net.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # nothing random in the digits model today; kept for dropout or drop-path
        _steps(net, optimizer, criterion, order, train_split, budget)
    net.eval()
    return net


def _steps(net: nn.Module, optimizer, criterion, order: torch.Tensor, train_split, budget: Budget) -> None:
    from refmodel.train import forget_kernels

    for step in range(budget.qat_steps):
        for group in optimizer.param_groups:  # cosine from qat_lr to zero over the budget
            group["lr"] = budget.qat_lr * 0.5 * (1 + math.cos(math.pi * step / budget.qat_steps))
        index = order[step * budget.qat_batch : (step + 1) * budget.qat_batch]
        loss = criterion(net(train_split.images[index]), train_split.labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        forget_kernels(net)  # the requantisers follow the new weight scales


# -- the plans ------------------------------------------------------------------------------


def plans_at(model: nn.Module, bits: int, calib: torch.Tensor, budget: Budget, say: Say) -> list[Row]:
    """The rows of one width, each with its plan document: the uniform plans (refused where
    the sensitivity pass found a scale the method cannot represent), the dSQNR plan and the
    searched plan."""
    kinds = pipeline.slot_kinds(model)
    calibration = {"images": int(calib.shape[0]), "source": "digits calibration split"}
    rows = []
    try:
        sens = pipeline.sensitivity(model, bits, calib, BATCH, lambda line: None, METHODS)
    except ValueError as exc:  # a slot every method refuses: no plan exists at this width
        why = str(exc).splitlines()[0]
        return [Row(bits, name, None, refused=why) for name in [f"uniform {m}" for m in METHODS] + ["mixed (dSQNR)", "searched"]]
    for method in METHODS:
        plan = uniform_plan(kinds, method)
        doc = plan_document("digits", bits, "study float model", calibration, kinds, plan, [])
        doc["rule"] = f"uniform {method}"
        rows.append(Row(bits, f"uniform {method}", plan, refused=sens.refused.get(method, ""), document=doc))
    mixed = choose(sens.scores)
    rows.append(Row(bits, "mixed (dSQNR)", mixed, document=plan_document("digits", bits, "study float model", calibration, kinds, mixed, sens.scores)))
    found = search.search(model, mixed, kinds, bits, calib, sens.float_logits, BATCH, lambda line: say("  " + line), budget.search_passes, methods=METHODS)
    doc = plan_document("digits", bits, "study float model", calibration, kinds, found.plan, sens.scores, searched_rule(None), search=found.document())
    rows.append(Row(bits, "searched", found.plan, document=doc))
    changed = sum(1 for n in kinds if found.plan[n] != mixed[n])
    say(f"W{bits}: dSQNR plan {plan_counts(mixed)}; search: {len(found.trials)} trials, {changed} slots changed, "
        f"calibration logits SQNR {found.start_score:.2f} -> {found.score:.2f} dB")
    return rows


def plan_counts(plan: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for method in plan.values():
        counts[method] = counts.get(method, 0) + 1
    return ", ".join(f"{m} {c}" for m, c in sorted(counts.items()))


def run_row(row: Row, model: nn.Module, calib: torch.Tensor, test, reference: torch.Tensor, train_split, budget: Budget, seed: int) -> None:
    """PTQ then QAT of one row, measured on the test split; a refusal fills ``row.refused``."""
    if row.refused:
        return
    try:
        ptq_model = calibrated(model, row.plan, row.bits, calib)
    except ValueError as exc:
        row.refused = str(exc).splitlines()[0]
        return
    row.ptq = measure(ptq_model, test.images, test.labels, reference)
    row.qat = measure(qat(model, row.plan, row.bits, calib, train_split, budget, seed), test.images, test.labels, reference)


def plan_seed(bits: int, plan: dict[str, str] | None) -> int:
    """The QAT seed of a plan: from its content, so equal plans train identically."""
    text = json.dumps({"bits": bits, "plan": plan}, sort_keys=True)
    return SEED + int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def run_study(budget: Budget, say: Say) -> Study:
    from refmodel import digits

    with cli.bad_input():
        train_split, test, calib_split = digits.load("train"), digits.load("test"), digits.load("calibration")
    model, source = float_model(say)
    calib = calib_split.images[: budget.calib_images]
    reference = logits_of(model, test.images)
    study = Study(measure(model, test.images, test.labels, reference), source)
    say(f"float model: {source}; test top-1 {fmt_acc(study.float_measure)}")
    for bits in BITS:
        clock = time.perf_counter()
        rows = plans_at(model, bits, calib, budget, say)
        done: dict[tuple, Row] = {}
        for row in rows:
            key = None if row.plan is None else tuple(sorted(row.plan.items()))
            if key in done and not row.refused:  # the same plan: the same seeded run, the same numbers
                row.ptq, row.qat, row.refused = done[key].ptq, done[key].qat, done[key].refused
                continue
            run_row(row, model, calib, test, reference, train_split, budget, plan_seed(bits, row.plan))
            if key is not None:
                done[key] = row
        study.rows += rows
        say(f"W{bits}: {len(rows)} plans, PTQ and QAT, {time.perf_counter() - clock:.0f} s")
    return study


# -- the table ------------------------------------------------------------------------------


def fmt_acc(m: Measure) -> str:
    return f"{m.top1:.2f}% ({m.correct}/{m.images})"


def fmt_db(x: float) -> str:
    return ("+inf" if x > 0 else "-inf") if math.isinf(x) else f"{x:.2f}"


def table(study: Study, budget: Budget) -> list[str]:
    """The printed table: float on top, then one line per width and plan (refused: one line)."""
    lines = [
        f"float: test top-1 {fmt_acc(study.float_measure)}",
        f"PTQ: calibrated on {budget.calib_images} calibration images; QAT: {budget.qat_steps} updates of {budget.qat_batch} images, lr {budget.qat_lr:g}; "
        f"measured on the {study.float_measure.images} test images (SQNR in dB, KL in nats, both against the float logits)",
        f"{'bits':<4} {'plan':<14} {'PTQ top-1':>18} {'SQNR':>7} {'KL':>8} {'QAT top-1':>18} {'SQNR':>7} {'KL':>8}",
    ]
    for row in study.rows:
        head = f"{'W' + str(row.bits):<4} {row.plan_name:<14}"
        if row.refused:
            lines.append(f"{head} refused: {row.refused}")
            continue
        p, q = row.ptq, row.qat
        lines.append(f"{head} {fmt_acc(p):>18} {fmt_db(p.sqnr_db):>7} {p.kl:>8.4f} {fmt_acc(q):>18} {fmt_db(q.sqnr_db):>7} {q.kl:>8.4f}")
    return lines


CSV_FIELDS = ("bits", "plan", "phase", "top1", "correct", "images", "logits_sqnr_db", "kl", "refused")


def csv_text(study: Study) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    f = study.float_measure
    writer.writerow({"bits": "", "plan": "float", "phase": "float", "top1": f"{f.top1:.4f}", "correct": f.correct, "images": f.images,
                     "logits_sqnr_db": "inf", "kl": "0", "refused": ""})
    for row in study.rows:
        for phase, m in (("ptq", row.ptq), ("qat", row.qat)):
            if m is None:
                writer.writerow({"bits": row.bits, "plan": row.plan_name, "phase": phase, "refused": row.refused})
            else:
                writer.writerow({"bits": row.bits, "plan": row.plan_name, "phase": phase, "top1": f"{m.top1:.4f}", "correct": m.correct,
                                 "images": m.images, "logits_sqnr_db": fmt_db(m.sqnr_db), "kl": f"{m.kl:.6g}", "refused": ""})
    return buffer.getvalue()


def summary(study: Study) -> str:
    """The last line."""
    w4 = [r for r in study.rows if r.bits == 4]
    mixed = next(r for r in w4 if r.plan_name == "mixed (dSQNR)")
    uniform = [r.qat.top1 for r in w4 if r.plan_name.startswith("uniform") and r.qat is not None]
    best = f"{max(uniform):.2f}%" if uniform else "refused"
    mixed_text = f"{mixed.qat.top1:.2f}%" if mixed.qat is not None else "refused"
    return f"study digits: float {study.float_measure.top1:.2f}%, mixed W4 QAT {mixed_text}, best uniform W4 QAT {best}"


def slug(plan_name: str) -> str:
    return {"mixed (dSQNR)": "mixed"}.get(plan_name, plan_name.replace("uniform ", ""))


def write_out(target: Path, force: bool, study: Study, lines: list[str]) -> None:
    """``table.csv``, ``table.txt``, ``wB/PLAN/plan.json`` and ``manifest.json`` (the sha256 of
    every other file), atomically."""
    with outdir.staged(target, force=force) as stage:
        (stage / "table.csv").write_text(csv_text(study))
        (stage / "table.txt").write_text("\n".join(lines) + "\n")
        for row in study.rows:
            if row.document is not None:
                write_plan(stage / f"w{row.bits}" / slug(row.plan_name) / "plan.json", row.document)
        files = {p.relative_to(stage).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(stage.rglob("*")) if p.is_file()}
        manifest = {"format": MANIFEST_FORMAT, "kind": "study", "model": "digits", "float_model": study.float_source, "files": files}
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def run(args: argparse.Namespace) -> int:
    check_args(args)
    budget = QUICK if args.quick else FULL
    say = lambda line: print(line, flush=True)  # noqa: E731
    import numba

    threads, kernel_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)  # deterministic and, for this small model, faster than several
    numba.set_num_threads(1)  # the kernels' rows are few: thread start-up costs more than it gains
    clock = time.perf_counter()
    try:
        study = run_study(budget, say)
    finally:
        torch.set_num_threads(threads)
        numba.set_num_threads(kernel_threads)
    lines = table(study, budget)
    print()
    for line in lines:
        print(line)
    if args.out is not None:
        write_out(args.out, args.force, study, lines + [summary(study)])
        print(f"wrote {args.out}: table.csv, table.txt, {sum(1 for r in study.rows if r.document)} plan.json files, manifest.json")
    print(f"study ({budget.name}): {time.perf_counter() - clock:.0f} s")
    print(summary(study))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run(lambda: run(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
