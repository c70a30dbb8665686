"""Every command of the package driven through bad inputs: each answers one line ``error: ...``
on stderr with exit status 2 (a bad argument or input file), or ``internal error: ...`` with
exit status 1, or for ``vectors check`` a failing last line and exit status 1; and no file
outside the intended output changes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from refmodel import bench, golden, models, pipeline, rtl, sim, vectors

pytestmark = pytest.mark.slow  # one small export of deit_t per module, for vectors check


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``, hidden ones included: path -> sha256, "<dir>" or link target."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + str(path.readlink())
        elif path.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _call(main: Callable[[list[str]], int], argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # the argument parser's errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str, prefix: str = "error: ") -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Inputs shared by the cases: good and bad images, checkpoints, plans, one export."""
    root = tmp_path_factory.mktemp("fuzz")
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder in ("images", "mixed_images"):
        for label in ("a", "b"):
            (root / folder / label).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / folder / label / f"{i}.png")
    (root / "mixed_images" / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    (root / "mixed_images" / "b" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 10)
    (root / "no_images").mkdir()
    (root / "no_images" / "a").mkdir()
    (root / "empty.pth").write_bytes(b"")
    (root / "garbage.pth").write_bytes(b"garbage")
    torch.save([1, 2, 3], root / "list.pth")
    torch.save({"foo.weight": torch.zeros(2)}, root / "foreign.pth")
    state = models.create("deit_tiny_patch16_224", 0).state_dict()
    state["head.weight"] = state["head.weight"][:10]
    torch.save(state, root / "wrong_shape.pth")
    (root / "bad.safetensors").write_bytes(b"\x00" * 16)
    kinds = pipeline.slot_kinds(models.create("deit_tiny_patch16_224", 0))
    plan = {"format": "refmodel-plan/1", "model": "deit_t", "bits": 8, "slots": [{"name": n, "kind": k, "choice": "ivit", "scores": {}} for n, k in kinds.items()]}
    (root / "plans").mkdir()
    (root / "plans" / "not_json.json").write_text("{plan")
    (root / "plans" / "other_model.json").write_text(json.dumps(dict(plan, model="swin_t")))
    unknown = json.loads(json.dumps(plan))
    unknown["slots"][0]["choice"] = "magic"
    (root / "plans" / "unknown_method.json").write_text(json.dumps(unknown))
    (root / "plans" / "missing_slots.json").write_text(json.dumps(dict(plan, slots=plan["slots"][:-3])))
    stray = json.loads(json.dumps(plan))
    stray["slots"][0]["name"] = "blocks.99.attn.softmax"
    (root / "plans" / "unknown_slot.json").write_text(json.dumps(stray))
    (root / "plans" / "not_a_plan.json").write_text(json.dumps({"hello": 1}))
    (root / "user_dir").mkdir()
    (root / "user_dir" / "notes.txt").write_text("the user's notes")
    (root / "user_file").write_text("the user's file")
    (root / "link").symlink_to(root / "user_dir")
    (root / "export_plus_user_file").mkdir()
    (root / "export_plus_user_file" / "plan.json").write_text("{}")
    (root / "export_plus_user_file" / "notes.txt").write_text("mine")
    manifest = {"format": "refmodel-manifest/1", "files": {"plan.json": hashlib.sha256(b"{}").hexdigest()}}
    (root / "export_plus_user_file" / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """One small real export of deit_t (49 slot vector sets of 2 rows)."""
    directory = tmp_path_factory.mktemp("export") / "export"
    assert sim.main(["deit_t", "--calib-images", "1", "--layers", "slots", "--max-rows", "2", "--out", str(directory)]) == 0
    return directory


# ------------------------------------------------------------------------------------ sim

SIM_CASES = {
    "unknown model": (["resnet50"], "unknown model 'resnet50'"),
    "bits 5": (["deit_t", "--bits", "5"], "--bits must be 8, 6 or 4, got 5"),
    "bits not a number": (["deit_t", "--bits", "abc"], "--bits"),
    "calib images 0": (["deit_t", "--calib-images", "0"], "--calib-images"),
    "max rows 0": (["deit_t", "--max-rows", "0"], "--max-rows"),
    "unknown option": (["deit_t", "--frobnicate"], "--frobnicate"),
    "empty --out": (["deit_t", "--out", ""], "--out: empty path"),
    "empty --plan": (["deit_t", "--plan", ""], "--plan: empty path"),
    "empty --checkpoint": (["deit_t", "--checkpoint", ""], "--checkpoint: empty path"),
    "empty --data": (["deit_t", "--data", ""], "--data: empty path"),
    "empty --eval": (["deit_t", "--eval", ""], "--eval: empty path"),
    "compare without plan": (["deit_t", "--compare"], "--compare needs --plan"),
    "out: directory of user files": (["deit_t", "--out", "{w}/user_dir"], "{w}/user_dir: exists and is not a complete refmodel export"),
    "out: regular file": (["deit_t", "--out", "{w}/user_file"], "{w}/user_file: exists and is not a directory"),
    "out: symlink": (["deit_t", "--out", "{w}/link"], "{w}/link: is a symlink"),
    "out: export plus a user file": (["deit_t", "--out", "{w}/export_plus_user_file"], "{w}/export_plus_user_file: exists and is not a complete"),
    "out: below a regular file": (["deit_t", "--out", "{w}/user_file/out"], "{w}/user_file/out"),
    "checkpoint: empty file": (["deit_t", "--checkpoint", "{w}/empty.pth"], "{w}/empty.pth: not a readable checkpoint"),
    "checkpoint: garbage": (["deit_t", "--checkpoint", "{w}/garbage.pth"], "{w}/garbage.pth: not a readable checkpoint"),
    "checkpoint: missing": (["deit_t", "--checkpoint", "{w}/nope.pth"], "{w}/nope.pth: checkpoint file not found"),
    "checkpoint: a list": (["deit_t", "--checkpoint", "{w}/list.pth"], "{w}/list.pth"),
    "checkpoint: another model's keys": (["deit_t", "--checkpoint", "{w}/foreign.pth"], "{w}/foreign.pth"),
    "checkpoint: wrong shape": (["deit_t", "--checkpoint", "{w}/wrong_shape.pth"], "'head.weight' has shape (10, 192)"),
    "checkpoint: bad safetensors": (["deit_t", "--checkpoint", "{w}/bad.safetensors"], "{w}/bad.safetensors: not a readable checkpoint"),
    "checkpoint: a directory": (["deit_t", "--checkpoint", "{w}/user_dir"], "{w}/user_dir: checkpoint file not found"),
    "data: missing": (["deit_t", "--data", "{w}/nope"], "{w}/nope: data directory not found"),
    "data: no images": (["deit_t", "--data", "{w}/no_images"], "{w}/no_images"),
    "data: corrupt images among good ones": (["deit_t", "--data", "{w}/mixed_images", "--calib-images", "8"], "cannot read image"),
    "data: a regular file": (["deit_t", "--data", "{w}/user_file"], "{w}/user_file: data directory not found"),
    "eval: missing": (["deit_t", "--eval", "{w}/nope"], "{w}/nope: data directory not found"),
    "plan: missing": (["deit_t", "--plan", "{w}/plans/nope.json"], "{w}/plans/nope.json"),
    "plan: not JSON": (["deit_t", "--plan", "{w}/plans/not_json.json"], "{w}/plans/not_json.json"),
    "plan: not a plan": (["deit_t", "--plan", "{w}/plans/not_a_plan.json"], "{w}/plans/not_a_plan.json"),
    "plan: another model": (["deit_t", "--plan", "{w}/plans/other_model.json"], "{w}/plans/other_model.json"),
    "plan: unknown method": (["deit_t", "--plan", "{w}/plans/unknown_method.json"], "{w}/plans/unknown_method.json"),
    "plan: missing slots": (["deit_t", "--plan", "{w}/plans/missing_slots.json"], "{w}/plans/missing_slots.json"),
    "plan: unknown slot": (["deit_t", "--plan", "{w}/plans/unknown_slot.json"], "{w}/plans/unknown_slot.json"),
    "plan: a directory": (["deit_t", "--plan", "{w}/user_dir"], "{w}/user_dir"),
}


@pytest.mark.parametrize("case", list(SIM_CASES))
def test_sim_bad_input_is_one_error_line_and_changes_nothing(case, workspace, capsys, tmp_path, monkeypatch):
    argv, expected = SIM_CASES[case]
    argv = [a.replace("{w}", str(workspace)) for a in argv]
    monkeypatch.setattr(pipeline, "sensitivity", _no_work)  # a bad input never gets this far
    monkeypatch.setattr(pipeline, "float_reference", _no_work)
    before = _snapshot(workspace)
    code, _, err = _call(sim.main, argv, capsys)
    assert code == 2, err
    line = _one_error_line(err)
    assert expected.replace("{w}", str(workspace)) in line
    assert _snapshot(workspace) == before


def _no_work(*args, **kwargs):
    raise AssertionError("the run started working on a bad input")


def test_sim_failure_inside_the_model_is_an_internal_error_not_a_usage_error(capsys, monkeypatch):
    def range_check(*args, **kwargs):
        raise ValueError("slot blocks.3.attn.softmax (ibert.softmax): scale_in 1e-09 outside the accepted range")

    monkeypatch.setattr(pipeline, "sensitivity", range_check)
    code, _, err = _call(sim.main, ["deit_t", "--calib-images", "1"], capsys)
    assert code == 1
    line = _one_error_line(err, "internal error: ")
    assert line == "internal error: ValueError: slot blocks.3.attn.softmax (ibert.softmax): scale_in 1e-09 outside the accepted range (rerun with --debug for the traceback)"
    code, _, err = _call(sim.main, ["deit_t", "--calib-images", "1", "--debug"], capsys)
    assert code == 1 and err.startswith("Traceback") and err.rstrip().splitlines()[-1].startswith("internal error: ValueError: slot blocks.3")


# ------------------------------------------------------------------------- vectors check


def _damage(kind: str, d: Path) -> None:
    slot = d / "blocks.0.attn.softmax"
    if kind == "manifest not JSON":
        (d / "manifest.json").write_text("{")
    elif kind == "manifest edited":
        text = (d / "manifest.json").read_text()
        (d / "manifest.json").write_text(text.replace('"bits": 8', '"bits": 6'))
    elif kind == "output.hex edited":
        lines = (slot / "output.hex").read_text().splitlines()
        lines[0] = "00" if lines[0] != "00" else "01"
        (slot / "output.hex").write_text("\n".join(lines) + "\n")
    elif kind == "input.hex deleted":
        (slot / "input.hex").unlink()
    elif kind == "meta.json deleted":
        (slot / "meta.json").unlink()
    elif kind == "meta.json not JSON":
        (slot / "meta.json").write_text("{")
    elif kind == "vectors.npz truncated":
        data = (slot / "vectors.npz").read_bytes()
        (slot / "vectors.npz").write_bytes(data[: len(data) // 2])
    elif kind == "stray file":
        (slot / "extra.hex").write_text("00\n")
    elif kind == "slot directory deleted":
        shutil.rmtree(slot)
    elif kind == "svh edited":
        svh = next(slot.glob("*.svh"))
        svh.write_text(svh.read_text() + "`define RM_EXTRA 1\n")
    else:
        raise AssertionError(kind)


VECTOR_DAMAGE = [
    "manifest not JSON",
    "manifest edited",
    "output.hex edited",
    "input.hex deleted",
    "meta.json deleted",
    "meta.json not JSON",
    "vectors.npz truncated",
    "stray file",
    "slot directory deleted",
    "svh edited",
]


@pytest.mark.parametrize("kind", VECTOR_DAMAGE)
def test_vectors_check_of_a_damaged_export_fails_in_its_last_line(kind, export, tmp_path, capsys):
    damaged = tmp_path / "export"
    shutil.copytree(export, damaged)
    _damage(kind, damaged)
    before = _snapshot(tmp_path)
    code, out, err = _call(vectors.main, ["check", str(damaged)], capsys)
    assert code == 1, out[-2000:] + err
    assert "Traceback" not in out + err
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("vectors FAILED: ") and last.endswith(" sets ok"), last
    ok, total = map(int, last.split()[2].split("/"))
    assert ok < total or (kind == "manifest not JSON" and total == 0)  # no slot list to count
    assert _snapshot(tmp_path) == before


def test_vectors_check_of_the_intact_export_passes(export, capsys):
    code, out, _ = _call(vectors.main, ["check", str(export)], capsys)
    assert code == 0 and out.rstrip().splitlines()[-1] == "vectors ok: 49/49 sets"


@pytest.mark.parametrize(
    "target, expected",
    [("nope", "{d}: no such directory"), ("user_dir", "{d}: not a refmodel export (no manifest.json)"), ("user_file", "{d}: no such directory"), ("", "empty path")],
)
def test_vectors_check_of_no_export_is_one_error_line(target, expected, workspace, capsys):
    directory = str(workspace / target) if target else ""
    before = _snapshot(workspace)
    code, out, err = _call(vectors.main, ["check", directory], capsys)
    assert code == 2 and out == ""
    assert expected.replace("{d}", directory) in _one_error_line(err)
    assert _snapshot(workspace) == before


# ------------------------------------------------------------------ golden, rtl, bench


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["write", "--dir", "{w}/user_dir"], "{w}/user_dir: exists and is not a complete refmodel export"),
        (["write", "--dir", "{w}/user_file"], "{w}/user_file: exists and is not a directory"),
        (["write", "--dir", "{w}/export_plus_user_file"], "{w}/export_plus_user_file: exists and is not a complete"),
        (["write", "--dir", ""], "--dir: empty path"),
        (["check", "--dir", "{w}/nope"], "{w}/nope: no such directory"),
        (["erase"], "invalid choice: 'erase'"),
    ],
)
def test_golden_bad_input(argv, expected, workspace, capsys):
    before = _snapshot(workspace)
    code, _, err = _call(golden.main, [a.replace("{w}", str(workspace)) for a in argv], capsys)
    assert code == 2
    assert expected.replace("{w}", str(workspace)) in _one_error_line(err)
    assert _snapshot(workspace) == before


@pytest.mark.parametrize(
    "argv, expected",
    [(["{w}/nope"], "{w}/nope: no such directory"), (["--jobs", "0", "{w}/user_dir"], "--jobs must be at least 1"), ([""], "empty path"), ([], "required")],
)
def test_rtl_bad_input(argv, expected, workspace, capsys):
    before = _snapshot(workspace)
    code, _, err = _call(rtl.main, [a.replace("{w}", str(workspace)) for a in argv], capsys)
    assert code == 2
    assert expected.replace("{w}", str(workspace)) in _one_error_line(err)
    assert _snapshot(workspace) == before


@pytest.mark.parametrize(
    "argv, expected",
    [(["--repeat", "0"], "--repeat"), (["--ops", "nosuch.op"], "unknown op(s) nosuch.op"), (["--scale", "0"], "--scale"), (["--scale", "x"], "--scale")],
)
def test_bench_bad_input(argv, expected, capsys):
    code, _, err = _call(bench.main, argv, capsys)
    assert code == 2
    assert expected in _one_error_line(err)
