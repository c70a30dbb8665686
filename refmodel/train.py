"""``python -m refmodel.train MODEL``: float training, or quantization-aware training (QAT) of a
mixed or uniform quantized model through the straight-through PyTorch twins.

QAT: the model is quantized with a plan (``--plan mixed`` measures dSQNR on the calibration
images and picks per slot, ``ibert``/``fqvit``/``ivit`` are uniform plans, or a plan file
of ``python -m refmodel.sim --out``), calibrated and frozen; then the float weights train
through the integer forward pass: every slot and requantiser computes exact integers, and
rounding passes gradients straight through (:mod:`refmodel.ops.autograd`). Weight scales
follow the weights; activation scales stay frozen at their calibrated values. The
checkpoint (:mod:`refmodel.checkpoint`) holds the weights, the frozen scales and the plan;
``python -m refmodel.sim MODEL --checkpoint F`` recomputes the same integers from it.

Recipe (``../shared/spec/mixed-method.md``, the I-ViT recipe the mixed method inherits):
AdamW (weight decay 1e-4), lr 1e-6, cosine schedule, label smoothing 0.1, batch 128, Mixup
0.8 / CutMix 1.0 and RandAugment on ImageNet-style data (``--data``). The ``digits`` model
is trained from scratch, where that recipe's fine-tuning learning rate would not move it: it
has its own (:data:`DIGITS_FLOAT`, :data:`DIGITS_QAT`). Optimizer, scheduler, Mixup, the
transforms and the losses are timm's.

``torchrun --nproc_per_node N -m refmodel.train ...`` trains data-parallel (DDP; gloo on the
CPU, NCCL on CUDA; a distributed sampler splits every epoch's seeded permutation). Fixed
seeds: the same command gives the same weights, and ``--resume`` continues a run exactly.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from refmodel import checkpoint, models
from refmodel.quant.base import NETWORK_BITS

METHOD_PLANS = ("ibert", "fqvit", "ivit")
CALIB_BATCH = 8
DEFAULT_CALIB_IMAGES = 64
TRAIN_STATE = "train_state.pt"
MODEL_FILE = "model.safetensors"
LOG_FILE = "log.csv"
PLAN_FILE = "plan.json"
#: What a run is made of; ``--resume`` restores them from the run's training state.
RUN_SETTINGS = ("float_only", "plan", "bits", "batch_size", "lr", "weight_decay", "warmup_epochs", "data", "checkpoint", "seed", "calib_images", "steps_per_epoch")
LOG_FIELDS = ("epoch", "updates", "lr", "train_loss", "val_top1", "val_images", "seconds")


class UsageError(Exception):
    """A bad argument or input: one line, exit status 2."""


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_epochs: int = 0
    label_smoothing: float = 0.1
    drop_path: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    auto_augment: str | None = None


#: The spec's fine-tuning recipe (ImageNet-style ``--data``).
SPEC = Recipe(epochs=90, batch_size=128, lr=1e-6, weight_decay=1e-4, mixup=0.8, cutmix=1.0, auto_augment="rand-m9-mstd0.5-inc1")
#: The digits model from scratch (1,257 images): a large learning rate and weight decay.
DIGITS_FLOAT = Recipe(epochs=40, batch_size=64, lr=2e-3, weight_decay=0.05, warmup_epochs=1)
#: QAT of the trained digits model: a short fine-tuning budget.
DIGITS_QAT = Recipe(epochs=3, batch_size=64, lr=1e-4, weight_decay=1e-4)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m refmodel.train",
        description=__doc__.split("\n\n")[0].replace("``", "'"),
        epilog="Examples: python -m refmodel.train digits --float; python -m refmodel.train digits --bits 4 --plan mixed",
    )
    parser.add_argument("model", help=f"model short name: {', '.join(models.MODELS)}")
    parser.add_argument("--float", dest="float_only", action="store_true", help="train the float model (no quantization)")
    parser.add_argument("--plan", default=None, help="QAT plan: mixed (dSQNR, default), ibert, fqvit, ivit, or a plan.json")
    parser.add_argument("--bits", type=int, default=None, help="QAT weight and activation width: 8 (default), 6 or 4 (residual stream 16)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="global batch size over all processes (default: the recipe's)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's)")
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: the recipe's)")
    parser.add_argument("--warmup-epochs", type=int, help="epochs of linear learning-rate warm-up (default: the recipe's)")
    parser.add_argument("--data", help="ImageFolder directory with train/ and val/ (required except for digits)")
    parser.add_argument("--checkpoint", help="starting weights (a float checkpoint, or a refmodel training checkpoint)")
    parser.add_argument("--out", help="output directory (default ~/.cache/refmodel/MODEL/float or .../qat-wBITS-PLAN)")
    parser.add_argument("--resume", help="continue the run in this output directory from its last epoch")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out directory")
    parser.add_argument("--calib-images", type=int, help=f"calibration images for QAT (default {DEFAULT_CALIB_IMAGES})")
    parser.add_argument("--seed", type=int, help="seed of initialisation, data order and augmentation (default 0)")
    parser.add_argument("--workers", type=int, default=4, help="data loader workers for --data (default 4)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="float training: cuda when available (default); QAT: cpu only")
    parser.add_argument("--steps-per-epoch", type=int, help="stop each epoch after this many updates (smoke tests; default: the whole training set)")
    parser.add_argument("--stop-after", type=int, help="stop after this epoch, the schedule still spanning --epochs (continue with --resume)")
    parser.add_argument("--quiet", action="store_true", help="only the per-epoch lines")
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    if args.model not in models.MODELS:
        raise UsageError(f"unknown model {args.model!r}; known models: {', '.join(models.MODELS)}")
    if args.float_only and (args.plan is not None or args.bits is not None):
        raise UsageError("--plan and --bits are for QAT; --float trains the float model")
    if args.bits is not None and args.bits not in NETWORK_BITS:
        raise UsageError(f"--bits must be 8, 6 or 4, got {args.bits}")
    for name in ("epochs", "batch_size", "calib_images", "steps_per_epoch", "stop_after"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr must be a positive number, got {args.lr}")
    if args.weight_decay is not None and not (args.weight_decay >= 0 and math.isfinite(args.weight_decay)):
        raise UsageError(f"--weight-decay must be a non-negative number, got {args.weight_decay}")
    if args.warmup_epochs is not None and args.warmup_epochs < 0:
        raise UsageError(f"--warmup-epochs must be at least 0, got {args.warmup_epochs}")
    if args.workers < 0:
        raise UsageError(f"--workers must be at least 0, got {args.workers}")
    if args.data is not None:
        for split in ("train", "val"):
            if not (Path(args.data) / split).is_dir():
                raise UsageError(f"--data {args.data}: no {split}/ directory (an ImageFolder with train/ and val/ is expected)")
    elif args.model != "digits":
        raise UsageError(f"--data DIR is required for {args.model} (an ImageFolder with train/ and val/)")
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        raise UsageError(f"--checkpoint {args.checkpoint}: no such file")
    if args.resume is not None and not (Path(args.resume) / TRAIN_STATE).is_file():
        raise UsageError(f"--resume {args.resume}: no {TRAIN_STATE} there (not a training output directory)")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: CUDA is not available")
    if args.device == "cuda" and not args.float_only and args.resume is None:
        raise UsageError("--device cuda: QAT runs on the CPU (the integer datapath moves tensors through NumPy); use --device cpu")


def recipe_for(args: argparse.Namespace) -> Recipe:
    base = SPEC if args.data is not None or args.model != "digits" else (DIGITS_FLOAT if args.float_only else DIGITS_QAT)
    chosen = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "weight_decay", "warmup_epochs") if getattr(args, k) is not None}
    return replace(base, **chosen)


# -- processes ---------------------------------------------------------------------------


@dataclass
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_world(device: str) -> World:
    """One process, or the DDP group ``torchrun`` describes (``WORLD_SIZE``, ``RANK``)."""
    cuda = device == "cuda"
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1:
        import torch.distributed as dist

        dist.init_process_group("nccl" if cuda else "gloo")
        rank = dist.get_rank()
    else:
        rank = 0
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        torch.backends.cuda.matmul.allow_tf32 = False  # exact integer GEMMs need full float64/float32
        torch.backends.cudnn.allow_tf32 = False
        return World(rank, size, torch.device("cuda", local))
    return World(rank, size, torch.device("cpu"))


def all_sum(world: World, values: list[float]) -> list[float]:
    if world.size == 1:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=world.device)
    dist.all_reduce(t)
    return t.tolist()


def replica_digest(model: nn.Module, qmodel: nn.Module | None) -> str:
    """sha256 over every weight and (for QAT) every frozen quantizer scale, by name."""
    import hashlib

    from refmodel.quant.state import quantizer_state

    digest = hashlib.sha256()
    tensors = dict(model.state_dict())
    if qmodel is not None:
        tensors.update({"quant:" + k: v for k, v in quantizer_state(qmodel).items()})
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_replicas(world: World, digest: str) -> None:
    """Every DDP process must hold the same weights and scales; ``RuntimeError`` if not."""
    if world.size == 1:
        return
    import torch.distributed as dist

    digests: list[str | None] = [None] * world.size
    dist.all_gather_object(digests, digest)
    if len(set(digests)) != 1:
        raise RuntimeError("DDP replicas differ: " + ", ".join(f"rank {r} {d[:16]}" for r, d in enumerate(digests)))


# -- data ---------------------------------------------------------------------------------


@dataclass
class TrainData:
    train: torch.utils.data.Dataset
    val: torch.utils.data.Dataset
    calibration: torch.Tensor
    description: str


def load_data(args: argparse.Namespace, model: nn.Module, recipe: Recipe) -> TrainData:
    if args.data is None:
        from refmodel import digits

        try:
            train, test, calib = digits.load("train"), digits.load("test"), digits.load("calibration")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return TrainData(
            torch.utils.data.TensorDataset(train.images, train.labels),
            torch.utils.data.TensorDataset(test.images, test.labels),
            calib.images[: args.calib_images],
            f"{train.describe()}; validation: {test.describe()}; calibration: {min(args.calib_images, len(calib.labels))} calibration images",
        )
    from timm.data import create_transform, resolve_data_config
    from torchvision.datasets import ImageFolder

    config = resolve_data_config({}, model=model)
    root = Path(args.data)
    try:
        train = ImageFolder(str(root / "train"), transform=create_transform(**config, is_training=True, auto_augment=recipe.auto_augment))
        val = ImageFolder(str(root / "val"), transform=create_transform(**config))
        plain = ImageFolder(str(root / "train"), transform=create_transform(**config))
    except (FileNotFoundError, OSError) as exc:
        raise UsageError(f"--data {root}: not an ImageFolder with images in train/ and val/ ({exc})") from None
    pick = torch.randperm(len(plain), generator=torch.Generator().manual_seed(args.seed))[: args.calib_images]
    calibration = torch.stack([plain[int(i)][0] for i in pick])
    return TrainData(train, val, calibration, f"{len(train)} training and {len(val)} validation images from {root}; {len(pick)} calibration images")


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (seed * 1_000_003 + epoch * 1009 + rank) % (2**63)


# -- models -------------------------------------------------------------------------------


def start_weights(args: argparse.Namespace, timm_name: str, recipe: Recipe) -> tuple[nn.Module, str]:
    """The model to train and where its weights came from."""
    import timm

    from refmodel import digits  # noqa: F401  (registers the digits model)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = timm.create_model(timm_name, pretrained=False, drop_path_rate=recipe.drop_path)
    source = f"seeded initialisation (seed {args.seed})"
    path = Path(args.checkpoint) if args.checkpoint else None
    if path is None and not args.float_only:
        loaded = _load_or_usage(lambda: models.load(args.model, None, args.seed))
        if loaded.source == "seeded":
            hint = " (python -m refmodel.train digits --float writes it)" if args.model == "digits" else ""
            raise UsageError(f"QAT needs trained float weights: give --checkpoint{hint}")
        path = loaded.path
    if path is not None:
        if checkpoint.is_train_checkpoint(path):
            ckpt = _load_or_usage(lambda: checkpoint.read(path))
            if ckpt.model != args.model:
                raise UsageError(f"--checkpoint {path}: a checkpoint of model {ckpt.model!r}, not {args.model!r}")
            state = ckpt.weights
        else:
            state = _load_or_usage(lambda: models.read_state_dict(path))
        _load_or_usage(lambda: models.apply_state_dict(model, state, path))
        source = f"{path} (sha256 {models.sha256_of(path)[:16]}...)"
    return model, source


def _load_or_usage(fn):
    try:
        return fn()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def resolve_plan(args: argparse.Namespace, model: nn.Module, bits: int, calibration: torch.Tensor, say: Callable[[str], None]) -> tuple[dict[str, str], dict]:
    """The plan and its ``plan.json`` document."""
    from refmodel import pipeline
    from refmodel.plan import choose, plan_document, read_plan, uniform_plan

    kinds = pipeline.slot_kinds(model)
    name = args.plan or "mixed"
    calib_doc = {"images": int(calibration.shape[0]), "source": "training calibration images"}
    if name in METHOD_PLANS:
        plan = uniform_plan(kinds, name)
        doc = {"format": "refmodel-plan/1", "model": args.model, "bits": bits, "rule": f"uniform {name}", "calibration": calib_doc,
               "slots": [{"name": n, "kind": k, "choice": plan[n], "scores": {}} for n, k in kinds.items()]}
        return plan, doc
    if name == "mixed":
        say("plan: measuring dSQNR of every slot (uniform I-BERT, FQ-ViT and I-ViT copies)")
        sens = _load_or_usage(lambda: pipeline.sensitivity(model, bits, calibration, CALIB_BATCH, lambda _: None))
        for method, why in sens.refused.items():
            say(f"plan: {method} is no candidate (its uniform model refused: {why})")
        return choose(sens.scores), plan_document(args.model, bits, "training start", calib_doc, sens.scores)
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"--plan {name}: neither mixed, {', '.join(METHOD_PLANS)} nor a plan file")
    plan, scores = _load_or_usage(lambda: read_plan(path, args.model, kinds, bits=bits))
    doc = json.loads(path.read_text())
    if doc.get("bits") not in (None, bits):
        raise UsageError(f"--plan {path}: a plan for {doc.get('bits')} bits, training at {bits}")
    return plan, doc


def quantize(model: nn.Module, plan: dict[str, str], bits: int, calibration: torch.Tensor | None, scales: dict | None, source: str) -> nn.Module:
    """The quantized model, calibrated on ``calibration`` and frozen, or frozen at ``scales``."""
    from refmodel import pipeline
    from refmodel.quant.state import load_quantizer_state

    qmodel = _load_or_usage(lambda: pipeline.quantized_model(model, plan, bits))
    pipeline.set_datapath(qmodel, "numba")
    if scales is not None:
        _load_or_usage(lambda: load_quantizer_state(qmodel, scales, source))
    else:
        _load_or_usage(lambda: pipeline.calibrate(qmodel, calibration, CALIB_BATCH))
    return qmodel


def forget_kernels(qmodel: nn.Module) -> None:
    """Drop the requantisers built for the last step's weight scales (they change every step)."""
    from refmodel.quant.act import QuantAct

    for module in qmodel.modules():
        if isinstance(module, QuantAct):
            module._kernels.clear()


# -- the loop -----------------------------------------------------------------------------


def evaluate(net: nn.Module, dataset, batch_size: int, world: World) -> tuple[float, int]:
    """Top-1 accuracy over ``dataset`` (each process takes every ``size``-th image)."""
    index = list(range(world.rank, len(dataset), world.size))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, index), batch_size=batch_size, shuffle=False)
    correct = seen = 0
    was_training = net.training
    net.eval()
    with torch.no_grad():
        for images, labels in loader:
            logits = net(images.to(world.device))
            correct += int((logits.argmax(-1).cpu() == labels).sum())
            seen += labels.numel()
    net.train(was_training)
    correct, seen = all_sum(world, [float(correct), float(seen)])
    return correct / max(seen, 1), int(seen)


def fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def run(args: argparse.Namespace) -> int:
    world = init_world(args.device or ("cuda" if args.float_only and torch.cuda.is_available() else "cpu"))
    say = (lambda line: print(line, flush=True)) if world.main else (lambda line: None)
    resume_state = None
    if args.resume:
        given = [k for k in RUN_SETTINGS if getattr(args, k) not in (None, False)]
        if given:
            raise UsageError(f"--resume takes the run's own settings; only --epochs may be given with it, not --{given[0].replace('_', '-').replace('float-only', 'float')}")
        out = Path(args.resume)
        resume_state = torch.load(out / TRAIN_STATE, map_location="cpu", weights_only=True)
        saved = json.loads(resume_state["args"])
        for key in RUN_SETTINGS:
            setattr(args, key, saved[key])
        if args.epochs is None:
            args.epochs = saved["epochs"]
    args.seed = 0 if args.seed is None else args.seed
    args.calib_images = args.calib_images or DEFAULT_CALIB_IMAGES
    recipe = recipe_for(args)
    bits = None if args.float_only else (args.bits or 8)
    plan_label = "float" if args.float_only else f"w{bits}-{Path(args.plan).stem if args.plan and args.plan not in METHOD_PLANS else (args.plan or 'mixed')}"
    if not args.resume:
        out = Path(args.out) if args.out else models_cache(args.model) / ("float" if args.float_only else f"qat-{plan_label}")
        if out.exists() and any(out.iterdir()) and not args.force:
            raise UsageError(f"--out {out}: exists and is not empty (use --force to overwrite, or --resume {out} to continue it)")
    if recipe.batch_size % world.size:
        raise UsageError(f"--batch-size {recipe.batch_size} must be a multiple of the {world.size} processes")
    timm_name = models.resolve(args.model)
    model, source = start_weights(args, timm_name, recipe)
    data = load_data(args, model, recipe)
    say(f"model: {args.model} ({timm_name}), {'float' if bits is None else f'QAT W{bits}A{bits}, residual stream 16-bit'}; {world.size} process(es) on {world.device}")
    say(f"start weights: {source}")
    say(f"data: {data.description}")
    say(f"recipe: {recipe}")

    plan = plan_doc = None
    if bits is None:
        net: nn.Module = model
        params_owner = model
    else:
        if resume_state is not None:
            ckpt = _load_or_usage(lambda: checkpoint.read(out / MODEL_FILE))
            plan = ckpt.plan
            plan_doc = json.loads((out / PLAN_FILE).read_text())
            models.apply_state_dict(model, ckpt.weights, out / MODEL_FILE)
            net = quantize(model, plan, bits, None, ckpt.scales, str(out / MODEL_FILE))
        else:
            plan, plan_doc = resolve_plan(args, model, bits, data.calibration, say)
            net = quantize(model, plan, bits, data.calibration, None, "calibration")
        counts = {m: sum(1 for v in plan.values() if v == m) for m in sorted(set(plan.values()))}
        say("plan: " + ", ".join(f"{m} {c}" for m, c in counts.items()) + f" of {len(plan)} slots; scales calibrated and frozen")
        params_owner = model
    if resume_state is not None and bits is None:
        ckpt = _load_or_usage(lambda: checkpoint.read(out / MODEL_FILE))
        models.apply_state_dict(model, ckpt.weights, out / MODEL_FILE)
    net.to(world.device)
    net.train()

    from timm.data import Mixup
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2

    per_process = recipe.batch_size // world.size
    sampler = torch.utils.data.distributed.DistributedSampler(data.train, num_replicas=world.size, rank=world.rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(data.train, batch_size=per_process, sampler=sampler, drop_last=True, num_workers=args.workers if args.data else 0)
    steps = len(loader) if args.steps_per_epoch is None else min(len(loader), args.steps_per_epoch)
    if steps == 0:
        raise UsageError(f"--batch-size {recipe.batch_size} is larger than the {len(data.train)} training images")
    optimizer = create_optimizer_v2(params_owner, opt="adamw", lr=recipe.lr, weight_decay=recipe.weight_decay)
    scheduler, _ = create_scheduler_v2(
        optimizer, sched="cosine", num_epochs=args.epochs or recipe.epochs, warmup_epochs=recipe.warmup_epochs,
        warmup_lr=recipe.lr / 100, step_on_epochs=False, updates_per_epoch=steps,
    )
    epochs = args.epochs or recipe.epochs
    mixup = Mixup(mixup_alpha=recipe.mixup, cutmix_alpha=recipe.cutmix, label_smoothing=recipe.label_smoothing, num_classes=model.num_classes) if args.data and (recipe.mixup or recipe.cutmix) else None
    criterion = SoftTargetCrossEntropy() if mixup else LabelSmoothingCrossEntropy(recipe.label_smoothing)
    start_epoch, updates, rows = 0, 0, []
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        start_epoch, updates = int(resume_state["epoch"]), int(resume_state["updates"])
        rows = json.loads(resume_state["log"])
        scheduler.step_update(updates)
        say(f"resumed {out} after epoch {start_epoch} ({updates} updates)")
    if world.size > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[world.device.index] if world.device.type == "cuda" else None)
    if world.main:
        out.mkdir(parents=True, exist_ok=True)
        if plan_doc is not None:
            from refmodel.plan import write_plan

            write_plan(out / PLAN_FILE, plan_doc)

    last = epochs if args.stop_after is None else min(epochs, args.stop_after)
    total = (last - start_epoch) * steps
    clock = time.perf_counter()
    done = 0
    for epoch in range(start_epoch, last):
        sampler.set_epoch(epoch)
        seed = epoch_seed(args.seed, epoch, world.rank)
        np.random.seed(seed % 2**32)  # timm's Mixup draws from NumPy
        random.seed(seed)  # torchvision's RandAugment draws from Python's random (workers: seeded by PyTorch)
        torch.manual_seed(seed)  # stochastic depth, dropout
        loss_sum = loss_count = 0.0
        epoch_start = time.perf_counter()
        for step, (images, labels) in zip(range(steps), loader):
            images, labels = images.to(world.device), labels.to(world.device)
            if mixup is not None:
                images, labels = mixup(images, labels)
            loss = criterion(net(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            updates += 1
            scheduler.step_update(updates)
            if bits is not None:
                forget_kernels(net)
            loss_sum += float(loss.detach()) * labels.shape[0]
            loss_count += labels.shape[0]
            done += 1
            if not args.quiet and (step + 1) % max(1, steps // 5) == 0 and step + 1 < steps:
                elapsed = time.perf_counter() - clock
                say(f"  epoch {epoch + 1}/{epochs} step {step + 1}/{steps} loss {loss_sum / loss_count:.4f} lr {optimizer.param_groups[0]['lr']:.3g} "
                    f"elapsed {fmt_time(elapsed)} ETA {fmt_time(elapsed / done * (total - done))}")
        loss_sum, loss_count = all_sum(world, [loss_sum, loss_count])
        acc, seen = evaluate(net, data.val, per_process, world)
        elapsed = time.perf_counter() - clock
        row = {"epoch": epoch + 1, "updates": updates, "lr": f"{optimizer.param_groups[0]['lr']:.6g}", "train_loss": f"{loss_sum / loss_count:.6f}",
               "val_top1": f"{100 * acc:.2f}", "val_images": seen, "seconds": f"{time.perf_counter() - epoch_start:.1f}"}
        rows.append(row)
        say(f"epoch {epoch + 1}/{epochs}: train loss {row['train_loss']}, val top-1 {row['val_top1']} % ({seen} images), "
            f"{row['seconds']} s, ETA {fmt_time(elapsed / done * (total - done))}")
        qmodel = None if bits is None else (net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net)
        digest = replica_digest(model, qmodel)
        check_replicas(world, digest)
        if world.main:
            save(out, args, epochs, epoch + 1, updates, rows, model, plan, bits, net, optimizer)
    if not rows:
        raise UsageError(f"--resume {out}: the run already finished its {epochs} epochs")
    if world.size > 1:
        say(f"replicas: all {world.size} processes hold identical weights and scales (sha256 {digest[:16]}...)")
    stopped = f" (stopped; continue with --resume {out})" if last < epochs else ""
    say(f"trained {args.model} {plan_label}: val top-1 {rows[-1]['val_top1']} % ({rows[-1]['val_images']} images) after {last} of {epochs} epochs{stopped}; wrote {out}/{MODEL_FILE}")
    if world.size > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0


def models_cache(model: str) -> Path:
    from refmodel import digits

    return digits.cache_dir().parent / model


def save(out: Path, args: argparse.Namespace, epochs: int, epoch: int, updates: int, rows: list[dict], model: nn.Module,
         plan: dict[str, str] | None, bits: int | None, net: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The epoch's checkpoint, log and training state; each file written whole, then renamed."""
    from refmodel.quant.state import quantizer_state

    qmodel = net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net
    scales = {} if bits is None else quantizer_state(qmodel)
    weights = {k: v for k, v in model.state_dict().items()}
    checkpoint.write(out / MODEL_FILE, checkpoint.TrainCheckpoint(args.model, "float" if bits is None else "qat", weights, epoch, bits, plan, scales))
    _atomic(out / LOG_FILE, lambda path: _write_csv(path, rows))
    saved_args = {k: getattr(args, k) for k in RUN_SETTINGS}
    saved_args["epochs"] = epochs
    state = {"optimizer": optimizer.state_dict(), "epoch": epoch, "updates": updates, "log": json.dumps(rows), "args": json.dumps(saved_args)}
    _atomic(out / TRAIN_STATE, lambda path: torch.save(state, path))


def _write_csv(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


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
