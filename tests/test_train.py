"""python -m refmodel.train: loss goes down, resume is exact, the checkpoint reproduces the
integers, bad arguments fail with one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("sklearn")

from refmodel import checkpoint, digits, pipeline, sim, train  # noqa: E402
from refmodel.quant.state import quantizer_state  # noqa: E402

pytestmark = pytest.mark.slow


def _train(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    assert train.main(["digits", "--out", str(out), "--quiet", *extra]) == 0
    return out


def _log(out: Path) -> list[dict]:
    with open(out / train.LOG_FILE) as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def float_run(tmp_path_factory) -> Path:
    """A few float updates from the seeded model (the same for every test of the module)."""
    return _train(tmp_path_factory.mktemp("float"), "f", "--float", "--epochs", "3", "--steps-per-epoch", "10", "--lr", "3e-3", "--warmup-epochs", "0")


def test_float_steps_lower_the_loss(float_run):
    rows = _log(float_run)
    assert len(rows) == 3
    assert float(rows[2]["train_loss"]) < float(rows[0]["train_loss"])
    ckpt = checkpoint.read(float_run / train.MODEL_FILE)
    assert ckpt.kind == "float" and ckpt.model == "digits" and ckpt.epoch == 3 and not ckpt.scales


def test_resume_continues_exactly(tmp_path, float_run):
    args = ["--float", "--epochs", "3", "--steps-per-epoch", "10", "--lr", "3e-3", "--warmup-epochs", "0"]
    half = _train(tmp_path, "half", *args, "--stop-after", "1")
    assert len(_log(half)) == 1
    assert train.main(["digits", "--resume", str(half), "--quiet"]) == 0
    whole = checkpoint.read(float_run / train.MODEL_FILE).weights
    resumed = checkpoint.read(half / train.MODEL_FILE).weights
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
    assert [r["train_loss"] for r in _log(half)] == [r["train_loss"] for r in _log(float_run)]


class _Integers:
    """Probe keeping every slot's integer output."""

    wants_io = False

    def __init__(self) -> None:
        self.out: dict[str, torch.Tensor] = {}

    def on_io(self, slot, x, y) -> None:
        pass

    def on_kernel(self, slot, kernel, q_in, q_out) -> None:
        self.out[slot.name] = q_out.clone()


def _integers(qmodel, images: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    probe = _Integers()
    pipeline.set_probe(qmodel, probe)
    with torch.no_grad():
        logits = qmodel(images)
    pipeline.set_probe(qmodel, None)
    return probe.out, logits


def test_checkpoint_round_trip_reproduces_every_slot_bit_for_bit(tmp_path, float_run):
    """A calibrated mixed-method model, written and read back, computes the same integers."""
    trained = checkpoint.load_model("digits", float_run / train.MODEL_FILE)
    kinds = pipeline.slot_kinds(trained.loaded.model)
    plan = {n: ("ibert", "fqvit", "ivit")[i % 3] if k != "gelu" else ("ibert", "ivit")[i % 2] for i, (n, k) in enumerate(kinds.items())}
    calib = digits.images("calibration", 16).images
    qmodel = train.quantize(trained.loaded.model, plan, 4, calib, None, "calibration")
    path = tmp_path / "model.safetensors"
    checkpoint.write(path, checkpoint.TrainCheckpoint("digits", "qat", trained.loaded.model.state_dict(), 1, 4, plan, quantizer_state(qmodel)))
    again = checkpoint.load_model("digits", path)
    assert again.plan == plan and again.bits == 4
    rebuilt = train.quantize(again.loaded.model, again.plan, again.bits, None, again.scales, str(path))
    images = digits.load("test").images[:24]
    want, want_logits = _integers(qmodel, images)
    got, got_logits = _integers(rebuilt, images)
    assert want.keys() == got.keys() == set(kinds)
    for name in kinds:
        assert torch.equal(want[name], got[name]), name
    assert torch.equal(want_logits, got_logits)


def test_qat_run_writes_a_checkpoint_that_sim_reproduces(tmp_path, float_run, capsys):
    out = _train(tmp_path, "q", "--checkpoint", str(float_run / train.MODEL_FILE), "--bits", "6", "--plan", "ivit", "--epochs", "1", "--steps-per-epoch", "2", "--calib-images", "16")
    rows = _log(out)
    ckpt = checkpoint.read(out / train.MODEL_FILE)
    assert ckpt.kind == "qat" and ckpt.bits == 6 and set(ckpt.plan.values()) == {"ivit"}
    plan_doc = json.loads((out / train.PLAN_FILE).read_text())
    assert {s["name"]: s["choice"] for s in plan_doc["slots"]} == ckpt.plan
    capsys.readouterr()
    assert sim.main(["digits", "--checkpoint", str(out / train.MODEL_FILE), "--calib-images", "8", "--eval"]) == 0
    report = capsys.readouterr().out
    assert "W6A6" in report and "bit-exact slots: 17/17" in report
    mixed = [line for line in report.splitlines() if line.startswith("top-1 accuracy mixed")]
    assert mixed and mixed[0].split()[-2] == rows[-1]["val_top1"]
    assert "evaluation: 360 digits test images" in report


@pytest.mark.parametrize(
    "argv, message",
    [
        (["digits", "--bits", "5"], "error: --bits must be 8, 6 or 4, got 5"),
        (["deit_t"], "error: --data DIR is required for deit_t"),
        (["digits", "--data", "/nonexistent/dir"], "error: --data /nonexistent/dir: no train/ directory"),
        (["digits", "--float", "--bits", "8"], "error: --plan and --bits are for QAT"),
        (["digits", "--epochs", "0"], "error: --epochs must be at least 1, got 0"),
        (["nosuch"], "error: unknown model 'nosuch'"),
        (["digits", "--resume", "/nonexistent"], "error: --resume /nonexistent: no train_state.pt there"),
    ],
)
def test_bad_arguments_fail_with_one_line(capsys, argv, message):
    assert train.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_plan_for_another_model_is_refused(tmp_path, capsys, float_run):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format": "refmodel-plan/1", "model": "deit_t", "bits": 8, "slots": []}))
    code = train.main(["digits", "--checkpoint", str(float_run / train.MODEL_FILE), "--plan", str(plan), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "plan is for model 'deit_t', not 'digits'" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_out_is_not_overwritten_without_force(tmp_path, capsys, float_run):
    code = train.main(["digits", "--float", "--out", str(float_run)])
    assert code == 2 and "exists and is not empty (use --force" in capsys.readouterr().err


def test_imagefolder_training_uses_the_spec_recipe(tmp_path, capsys):
    """--data: timm's training transform with RandAugment, Mixup/CutMix, the spec's AdamW."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for label in ("n01", "n02"):
            (tmp_path / "data" / split / label).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "data" / split / label / f"{i}.png")
    out = tmp_path / "out"
    argv = ["deit_t", "--float", "--data", str(tmp_path / "data"), "--epochs", "1", "--batch-size", "2", "--steps-per-epoch", "1", "--workers", "0", "--out", str(out)]
    assert train.main(argv) == 0
    text = capsys.readouterr().out
    assert "lr=1e-06, weight_decay=0.0001" in text and "mixup=0.8, cutmix=1.0, auto_augment='rand-m9-mstd0.5-inc1'" in text
    rows = _log(out)
    assert len(rows) == 1 and rows[0]["val_images"] == "4" and rows[0]["updates"] == "1"
    assert checkpoint.read(out / train.MODEL_FILE).model == "deit_t"
