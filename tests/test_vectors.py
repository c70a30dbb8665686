"""Slot vector export and re-check: complete, deterministic, tamper-evident."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refmodel import sim, vectorcheck, vectors, vectorset

pytestmark = pytest.mark.slow

ARGS = ["deit_t", "--calib-images", "2", "--layers", "slots", "--max-rows", "4"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vec") / "deit_t-w8"
    assert sim.main([*ARGS, "--out", str(out)]) == 0
    return out


def _check(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "refmodel.vectors", "check", str(directory)], capture_output=True, text=True, timeout=300)


def test_export_writes_every_slot_and_checks_ok(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["model"] == "deit_t" and manifest["weights"] == "seeded" and len(manifest["slots"]) == 49
    for entry in manifest["slots"]:
        d = exported / entry["dir"]
        assert {"input.hex", "output.hex", "vectors.npz", "meta.json"} <= {p.name for p in d.iterdir()}
        assert entry["rows"] == 4
        assert manifest["plan"][entry["name"]] == entry["method"] and entry["op"] == f"{entry['method']}.{entry['kind']}"
    fqvit_ln = [e for e in manifest["slots"] if e["op"] == "fqvit.layernorm"]
    for e in fqvit_ln:  # per-channel gains and the per-token M, N, B have their own files
        assert {"cfg_gain_m.hex", "cfg_bias.hex", "dp_m.hex", "dp_n.hex", "dp_b.hex"} <= {p.name for p in (exported / e["dir"]).iterdir()}
    proc = _check(exported)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1] == "vectors ok: 49/49 sets"
    assert sum(line.startswith("ok   ") for line in proc.stdout.splitlines()) == 49
    # the width profile: one row per signal of every layer, covered by the manifest's sha256
    widths = (exported / "widths.csv").read_text().splitlines()
    assert widths[0] == "layer,op,signal,signed,declared_bits,proven_bits,seen_min,seen_max,seen_bits,unused_bits,note"
    assert manifest["files"]["widths.csv"] == hashlib.sha256((exported / "widths.csv").read_bytes()).hexdigest()
    layers = {row.split(",")[0] for row in widths[1:]}
    assert len(layers) >= 150 and {"patch_embed.proj", "blocks.0.attn.qkv", "head"} <= layers


def test_same_command_twice_gives_identical_directories(exported, tmp_path):
    again = tmp_path / "again"
    assert sim.main([*ARGS, "--out", str(again)]) == 0
    cmp = filecmp.dircmp(exported, again)

    def same(c: filecmp.dircmp) -> bool:
        return not (c.left_only or c.right_only or c.diff_files or c.funny_files) and all(same(s) for s in c.subdirs.values())

    files = sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (exported / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert same(cmp)


@pytest.mark.parametrize(
    "victim",
    [
        "blocks.0.attn.softmax/output.hex",
        "blocks.0.attn.softmax/input.hex",
        "blocks.3.norm1/meta.json",
        "blocks.5.mlp.act/vectors.npz",
        "norm/cfg_bias_int.hex",
        "plan.json",
        "report.txt",
        "widths.csv",
        "manifest.json",
    ],
)
def test_an_edited_byte_anywhere_fails_naming_the_file(exported, tmp_path, victim):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    path = copy / victim
    if not path.exists():  # the plan may have put another method on this slot
        candidates = sorted((copy / victim.split("/")[0]).glob("cfg_*.hex"))
        path = candidates[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))
    proc = _check(copy)
    assert proc.returncode == 1
    assert str(path) in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_truncated_and_missing_files_are_reported(exported, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    out = copy / "blocks.1.norm2" / "output.hex"
    out.write_text("\n".join(out.read_text().splitlines()[:3]) + "\n")
    (copy / "blocks.2.attn.softmax" / "input.hex").unlink()
    proc = _check(copy)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert f"{out}: sha256 differs" in proc.stdout
    assert f"{copy / 'blocks.2.attn.softmax' / 'input.hex'}: missing" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1] == "vectors FAILED: 47/49 sets ok"


def test_a_wrong_expected_value_names_slot_element_input_expected_and_got(exported, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    slot = copy / "blocks.0.attn.softmax"
    meta = json.loads((slot / "meta.json").read_text())
    lines = (slot / "output.hex").read_text().splitlines()
    lines[5] = format(int(lines[5], 16) ^ 1, f"0{len(lines[5])}x")
    (slot / "output.hex").write_text("\n".join(lines) + "\n")
    # re-sign the edited file so only the value check can catch it
    meta["sha256"]["output.hex"] = hashlib.sha256((slot / "output.hex").read_bytes()).hexdigest()
    (slot / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    result = vectorcheck.check_set(slot)
    assert not result.ok
    (message,) = result.problems
    assert message.startswith(f"{slot / 'output.hex'}: 1 mismatches")
    assert "first at element 5: input" in message and "expected" in message and "got" in message


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch, capsys):
    """A failure in the middle of the export: exit status 1 (not a usage error), one line
    naming the failure, and no trace of the output directory."""
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(vectors, "write_manifest", explode)
    code = sim.main([*ARGS, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "disk full" in err[0] and "Traceback" not in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def ivit_softmax(exported, tmp_path_factory) -> Path:
    """An export run from a plan file that puts I-ViT on every softmax and FQ-ViT on the
    first LayerNorm (not the measured choices)."""
    root = tmp_path_factory.mktemp("ivit")
    plan = json.loads((exported / "plan.json").read_text())
    for entry in plan["slots"]:
        if entry["kind"] == "softmax":
            entry["choice"] = "ivit"
    plan["slots"][0]["choice"] = "fqvit"
    (root / "ivit_softmax_plan.json").write_text(json.dumps(plan))
    out = root / "deit_t-ivit-softmax"
    assert sim.main([*ARGS, "--plan", str(root / "ivit_softmax_plan.json"), "--out", str(out)]) == 0
    return out


def test_real_deit_t_softmax_slots_pass_the_shiftmax_rtl(ivit_softmax):
    from refmodel.rtl import run_testbench

    out = ivit_softmax
    manifest = json.loads((out / "manifest.json").read_text())
    softmax = [e for e in manifest["slots"] if e["op"] == "ivit.softmax"]
    assert len(softmax) == 12
    for entry in softmax:
        result = run_testbench(out / entry["dir"])
        assert (result.vectors, result.errors) == (4 * 197, 0), result.log[-2000:]


# ------------------------------------------------------------- the plan that ran, fed back


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_plan_json_is_the_plan_that_ran_and_reproduces_the_export(ivit_softmax, tmp_path):
    plan = json.loads((ivit_softmax / "plan.json").read_text())
    manifest = json.loads((ivit_softmax / "manifest.json").read_text())
    assert {e["name"]: e["choice"] for e in plan["slots"]} == manifest["plan"]
    assert [e["choice"] for e in plan["slots"] if e["kind"] == "softmax"] == ["ivit"] * 12
    again = tmp_path / "again"
    assert sim.main([*ARGS, "--plan", str(ivit_softmax / "plan.json"), "--out", str(again)]) == 0
    first, second = _tree(ivit_softmax), _tree(again)
    assert sorted(first) == sorted(second)
    assert [rel for rel in first if first[rel] != second[rel]] == []


# ------------------------------------------------- edits the sha256 values cannot catch


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resign(export: Path, set_dir: Path | None = None) -> None:
    """Recompute what a forger would: the sha256 values in ``set_dir/meta.json`` and the
    manifest's file list and digest (following symbolic links, as a careless forger does)."""
    if set_dir is not None:
        meta = json.loads((set_dir / "meta.json").read_text())
        meta["sha256"] = {name: _sha(set_dir / name) for name in meta["sha256"]}
        (set_dir / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    manifest = json.loads((export / "manifest.json").read_text())
    files = {}
    for root, _, names in os.walk(export, followlinks=True):
        for name in names:
            rel = (Path(root) / name).relative_to(export).as_posix()
            if rel != "manifest.json":
                files[rel] = _sha(Path(root) / name)
    manifest["files"] = dict(sorted(files.items()))
    manifest["digest"] = "0" * 64
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    (export / "manifest.json").write_text(text.replace('"digest": "' + "0" * 64 + '"', f'"digest": "{digest}"'))


@pytest.fixture
def copy(exported, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(exported, target)
    return target


def _failed(copy: Path) -> list[str]:
    proc = _check(copy)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    lines = proc.stdout.rstrip().splitlines()
    assert lines[-1].startswith("vectors FAILED: ") and lines[-1].endswith("/49 sets ok")
    return lines


def test_resigning_alone_is_not_detected(copy):
    resign(copy, copy / "norm")
    assert _check(copy).stdout.rstrip().splitlines()[-1] == "vectors ok: 49/49 sets"


def test_an_edited_and_resigned_config_file_fails(copy):
    slot = copy / "norm"
    cfg = sorted(slot.glob("cfg_*.hex"))[0]
    lines = cfg.read_text().splitlines()
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")
    cfg.write_text("\n".join(lines) + "\n")
    resign(copy, slot)
    out = _failed(copy)
    assert out[-1] == "vectors FAILED: 48/49 sets ok"
    assert any(line.startswith(f"FAIL norm: {cfg}: differs from the config rebuilt from meta.json's parameters: line 1: expected") for line in out), out


def test_an_edited_and_resigned_svh_fails(copy):
    slot = copy / "blocks.0.attn.softmax"
    svh = next(slot.glob("*.svh"))
    svh.write_text(svh.read_text().replace("`define RM_ROWS 4\n", "`define RM_ROWS 5\n"))
    resign(copy, slot)
    out = _failed(copy)
    assert f"FAIL blocks.0.attn.softmax: {svh}: differs from the header the writer generates: line 6: expected '`define RM_ROWS 4', got '`define RM_ROWS 5'" in out


def test_an_edited_and_resigned_npz_fails(copy):
    slot = copy / "blocks.5.mlp.act"
    arrays = dict(np.load(slot / "vectors.npz"))
    arrays["output"][0, 0] += 1
    (slot / "vectors.npz").write_bytes(vectorset.npz_bytes(arrays))
    resign(copy, slot)
    out = _failed(copy)
    assert any(line.startswith(f"FAIL blocks.5.mlp.act: {slot / 'vectors.npz'}: differs from the hex files: array output differs from the hex files in 1 elements; first at element 0") for line in out), out


def test_an_edited_and_resigned_datapath_file_fails(ivit_softmax, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ivit_softmax, copy)
    dp = sorted((copy / "blocks.0.norm1").glob("dp_*.hex"))
    assert [p.name for p in dp] == ["dp_b.hex", "dp_m.hex", "dp_n.hex"]
    lines = dp[0].read_text().splitlines()
    lines[-1] = format(int(lines[-1], 16) ^ 1, f"0{len(lines[-1])}x")
    dp[0].write_text("\n".join(lines) + "\n")
    resign(copy, dp[0].parent)
    out = _failed(copy)
    assert any(f"{dp[0]}: differs from the datapath values of the kernel rebuilt from meta.json" in line for line in out), out


def test_a_slot_directory_outside_the_export_fails(copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(copy / "blocks.0.attn.softmax", outside)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["slots"][1]["dir"] = str(outside)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    resign(copy)
    out = _failed(copy)
    assert f"FAIL blocks.0.attn.softmax: {copy / 'manifest.json'}: slot blocks.0.attn.softmax: field 'dir': {str(outside)!r} is an absolute path (every path must stay inside the export)" in out
    manifest["slots"][1]["dir"] = "../elsewhere"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    resign(copy)
    assert any("field 'dir': '../elsewhere' has a '.' or '..' component" in line for line in _failed(copy))


def test_a_symbolic_link_out_of_the_export_fails(copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(copy / "blocks.0.attn.softmax", outside)
    (copy / "blocks.0.attn.softmax").symlink_to(outside)
    resign(copy)
    out = _failed(copy)
    assert any(line.startswith("FAIL blocks.0.attn.softmax: ") and "a symbolic link" in line for line in out), out
    assert out[-1] == "vectors FAILED: 48/49 sets ok"


def test_a_manifest_cut_to_three_slots_fails(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    kept = manifest["slots"][:3]
    for entry in manifest["slots"][3:]:
        shutil.rmtree(copy / entry["dir"])
        del manifest["plan"][entry["name"]]
    manifest["slots"] = kept
    (copy / "manifest.json").write_text(json.dumps(manifest))
    resign(copy)
    out = _failed(copy)
    assert f"FAIL {copy / 'manifest.json'}: field 'slots': 3 sets listed, model deit_t has 49 slots (first missing: blocks.0.mlp.act)" in out
    assert out[-1] == "vectors FAILED: 0/49 sets ok"


def test_a_plan_json_that_did_not_run_fails(copy):
    plan = json.loads((copy / "plan.json").read_text())
    entry = next(e for e in plan["slots"] if e["kind"] == "softmax")
    entry["choice"] = next(m for m in ("ivit", "ibert") if m != entry["choice"])
    (copy / "plan.json").write_text(json.dumps(plan))
    resign(copy)
    out = _failed(copy)
    assert any(line.startswith(f"FAIL {copy / 'plan.json'}: field 'choice' of slot {entry['name']}") for line in out), out


def test_missing_directory_and_a_directory_without_manifest(tmp_path):
    proc = _check(tmp_path / "nothing")
    assert (proc.returncode, proc.stderr) == (2, f"error: {tmp_path / 'nothing'}: no such directory\n")
    proc = _check(tmp_path)
    assert (proc.returncode, proc.stderr) == (2, f"error: {tmp_path}: not a refmodel export (no manifest.json)\n")


# ------------------------------------------------------------------------------ --rerun


def forge(export: Path, slot: str) -> None:
    """Change one input of ``slot`` and write the outputs its kernel gives for it: a
    consistent forgery, every file as the writer would make it."""
    set_dir = export / slot
    meta = json.loads((set_dir / "meta.json").read_text())
    lines = (set_dir / "input.hex").read_text().splitlines()
    lines[0] = format(0 if int(lines[0], 16) else 1, f"0{len(lines[0])}x")
    for name, data in vectorset.rebuild(meta, "\n".join(lines) + "\n").items():
        (set_dir / name).write_bytes(data)
    resign(export)


def test_rerun_tells_a_consistent_forgery_from_a_run(ivit_softmax, tmp_path):
    forged = tmp_path / "forged"
    shutil.copytree(ivit_softmax, forged)
    forge(forged, "blocks.3.attn.softmax")
    assert _check(forged).stdout.rstrip().splitlines()[-1] == "vectors ok: 49/49 sets"
    proc = subprocess.run([sys.executable, "-m", "refmodel.vectors", "check", str(forged), "--rerun"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.rstrip().splitlines()
    assert lines[-1] == "vectors FAILED: 48/49 sets ok"
    assert lines[-2].endswith(": 4 file(s) differ from the export (report.txt not compared)")
    assert lines[-2].startswith("rerun: python -m refmodel.sim deit_t --bits 8 --seed 0 --calib-images 2 --layers slots --max-rows 4 --plan ")
    (failed,) = [line for line in lines if line.startswith("FAIL")]
    slot = forged / "blocks.3.attn.softmax"
    for name in ("input.hex", "output.hex", "meta.json", "vectors.npz"):
        assert f"{slot / name}: differs from the rerun's" in failed, (name, failed)


def test_rerun_refuses_a_checkpoint_for_a_seeded_export(exported, tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"not weights")
    proc = subprocess.run([sys.executable, "-m", "refmodel.vectors", "check", str(exported), "--rerun", "--checkpoint", str(weights)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == f"error: --checkpoint {weights}: the export was made from seeded weights, not from a checkpoint\n"
