"""python -m refmodel.sim end to end: every slot bit-exact, plans, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from refmodel import sim

pytestmark = pytest.mark.slow


def _run(capsys, *args: str) -> tuple[int, list[str]]:
    code = sim.main(list(args))
    return code, capsys.readouterr().out.rstrip().splitlines()


@pytest.mark.parametrize("bits", [8, 6])
def test_deit_t_every_slot_bit_exact_and_plan_round_trips(bits, capsys, tmp_path):
    out = tmp_path / f"w{bits}"
    code, lines = _run(capsys, "deit_t", "--bits", str(bits), "--calib-images", "4", "--layers", "slots", "--out", str(out))
    assert code == 0 and lines[-1] == "bit-exact slots: 49/49"
    k, n = lines[-2].removeprefix("bit-exact layers: ").split("/")
    assert k == n and int(n) >= 150, lines[-2]
    assert any(line.startswith("width profile: ") for line in lines)
    assert any("SEEDED" in line for line in lines) and any("SYNTHETIC" in line for line in lines)
    plan = json.loads((out / "plan.json").read_text())
    assert plan["model"] == "deit_t" and plan["bits"] == bits and len(plan["slots"]) == 49
    choices = {s["name"]: s["choice"] for s in plan["slots"]}
    for entry in plan["slots"]:
        scores = entry["scores"]
        assert set(scores) == ({"ibert", "ivit"} if entry["kind"] == "gelu" else {"ibert", "fqvit", "ivit"})
    # the same seed gives the same plan
    code, _ = _run(capsys, "deit_t", "--bits", str(bits), "--calib-images", "4", "--layers", "slots", "--out", str(tmp_path / "again"))
    assert code == 0
    again = json.loads((tmp_path / "again" / "plan.json").read_text())
    assert {s["name"]: s["choice"] for s in again["slots"]} == choices
    # reusing the plan file runs that plan, and measures no uniform model
    code, lines = _run(capsys, "deit_t", "--bits", str(bits), "--calib-images", "4", "--plan", str(out / "plan.json"))
    assert code == 0 and lines[-1] == "bit-exact slots: 49/49"
    table = {line.split()[0]: line.split()[2] for line in lines if line.startswith(("blocks.", "norm "))}
    assert table == choices
    assert not any("uniform" in line and "calibrated" in line for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("plan ") and "logits SQNR dB" in line)
    assert lines[header + 1].split()[0] == "mixed" and not any(line.startswith("uniform ") for line in lines)
    assert (out / "report.txt").read_text().rstrip().splitlines()[-1] == "bit-exact slots: 49/49"


def test_out_replaces_an_earlier_export_but_never_a_users_directory(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert sim.main(["deit_t", "--calib-images", "1", "--layers", "slots", "--max-rows", "2", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {out}: exists and is not a complete refmodel export (it holds files refmodel did not write); use --force to replace it"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "run"]
    code, lines = _run(capsys, "deit_t", "--calib-images", "1", "--layers", "slots", "--max-rows", "2", "--out", str(out), "--force")
    assert code == 0 and not (out / "notes.txt").exists() and (out / "manifest.json").is_file()
    first = (out / "manifest.json").read_bytes()
    code, lines = _run(capsys, "deit_t", "--calib-images", "1", "--layers", "slots", "--max-rows", "2", "--seed", "1", "--out", str(out))
    assert code == 0 and (out / "manifest.json").read_bytes() != first  # an export is replaced without --force
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing hidden left beside it


@pytest.mark.parametrize("bits", [8, 6])
def test_swin_t_every_slot_bit_exact(bits, capsys):
    code, lines = _run(capsys, "swin_t", "--bits", str(bits), "--calib-images", "2")
    assert code == 0 and lines[-1] == "bit-exact slots: 53/53"
    k, n = lines[-2].removeprefix("bit-exact layers: ").split("/")
    assert k == n and int(n) >= 200, lines[-2]  # the engine replays windows, shifts and merges too
    table = [line for line in lines if line.startswith(("patch_embed.", "layers.", "norm "))]
    assert len(table) == 53 and all(line.rstrip().endswith("yes") for line in table)


@pytest.mark.parametrize("bits", [8, 6])
def test_vit_s_every_layer_and_slot_bit_exact(bits, capsys):
    code, lines = _run(capsys, "vit_s", "--bits", str(bits), "--calib-images", "2")
    assert code == 0 and lines[-1] == "bit-exact slots: 49/49"
    k, n = lines[-2].removeprefix("bit-exact layers: ").split("/")
    assert k == n and int(n) >= 150, lines[-2]


def _fails(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "refmodel.sim", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_unknown_model_lists_the_known_ones():
    assert "unknown model 'resnet50'; known models: deit_t, deit_s" in _fails("resnet50")


def test_bits_other_than_8_6_or_4():
    assert "--bits must be 8, 6 or 4, got 5" in _fails("deit_t", "--bits", "5")


def test_empty_or_missing_data_directory(tmp_path):
    assert "not an ImageFolder directory" in _fails("deit_t", "--data", str(tmp_path))
    assert "data directory not found" in _fails("deit_t", "--data", str(tmp_path / "nope"))


def test_plan_for_another_model_or_with_an_unknown_method(tmp_path):
    doc = {"format": "refmodel-plan/1", "model": "swin_t", "bits": 8, "slots": []}
    (tmp_path / "other.json").write_text(json.dumps(doc))
    assert "plan is for model 'swin_t', not 'deit_t'" in _fails("deit_t", "--plan", str(tmp_path / "other.json"))
    doc = {"format": "refmodel-plan/1", "model": "deit_t", "bits": 8, "slots": [{"name": "norm", "kind": "layernorm", "choice": "magic"}]}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert "unknown method 'magic'" in _fails("deit_t", "--plan", str(tmp_path / "bad.json"))


def test_corrupt_checkpoint(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"garbage")
    assert f"{tmp_path / 'x.pth'}: not a readable checkpoint" in _fails("deit_t", "--checkpoint", str(tmp_path / "x.pth"))


def test_eval_accuracy_of_the_float_model_equals_an_independent_count(tmp_path, capsys):
    """A checkpoint whose head can only answer class 0 or 1 (the two folders), so accuracy
    depends on the images; the test counts the float model's correct answers itself."""
    import numpy as np
    import torch
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    from refmodel import models

    rng = np.random.default_rng(0)
    paths = []
    for label in ("n01", "n02"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            paths.append((tmp_path / "data" / label / f"{i}.png", label == "n02"))
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[-1][0])
    model = models.create("deit_tiny_patch16_224", 0)
    with torch.no_grad():
        model.head.weight[2:] = 0.0
        model.head.bias[2:] = -1e3
        model.head.bias[:2] = 0.0
    torch.save(model.state_dict(), tmp_path / "two_class.pth")
    transform = create_transform(**resolve_data_config({}, model=model))
    with torch.no_grad():
        images = torch.stack([transform(Image.open(p).convert("RGB")) for p, _ in paths])
        predicted = model(images).argmax(-1)
    labels = torch.tensor([int(y) for _, y in paths])
    expected = 100.0 * float((predicted == labels).to(torch.float64).mean())

    code, lines = _run(capsys, "deit_t", "--checkpoint", str(tmp_path / "two_class.pth"), "--calib-images", "2", "--data", str(tmp_path / "data"), "--eval", str(tmp_path / "data"))
    assert code == 0
    assert any("calibration: 2 images from" in line for line in lines)
    assert any(line.startswith("evaluation: 6 labelled images from") for line in lines)
    top1 = {" ".join(line.split()[2:-2]): float(line.split()[-2]) for line in lines if line.startswith("top-1 accuracy")}
    assert list(top1) == ["float", "uniform ibert", "uniform fqvit", "uniform ivit", "mixed"]
    assert top1["float"] == pytest.approx(expected, abs=0.005)  # printed with two decimals


def test_eval_without_a_directory_is_for_digits_only():
    assert "--eval needs a labelled ImageFolder DIR for deit_t" in _fails("deit_t", "--eval")


def test_engine_batches_zero_compares_every_batch(monkeypatch, capsys):
    from refmodel import layers

    calls = []
    real_run = layers.Engine.run

    def counting_run(self, qmodel, batch, pytorch=None):
        calls.append(batch.shape[0])
        return real_run(self, qmodel, batch, pytorch)

    monkeypatch.setattr(layers.Engine, "run", counting_run)
    code, lines = _run(capsys, "digits", "--methods", "ivit", "--calib-images", "12", "--engine-batches", "0")
    assert code == 0 and calls == [8, 4], calls  # both batches of 8 and 4 images, every layer
    assert lines[-2].startswith("bit-exact layers: ")


def test_negative_engine_batches_is_one_line(capsys):
    assert sim.main(["digits", "--engine-batches", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "error: --engine-batches must be at least 0 (0 = every batch), got -1"
