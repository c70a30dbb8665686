"""Slot vector export and re-check: complete, deterministic, tamper-evident."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refmodel import sim, vectors

pytestmark = pytest.mark.slow

ARGS = ["deit_t", "--calib-images", "2", "--max-rows", "4"]


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
    import hashlib

    meta["sha256"]["output.hex"] = hashlib.sha256((slot / "output.hex").read_bytes()).hexdigest()
    (slot / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    result = vectors.check_slot(slot)
    assert not result.ok
    assert "first at element 5: input" in result.message and "expected" in result.message and "got" in result.message


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(vectors, "write_manifest", explode)
    with pytest.raises(RuntimeError):
        sim.main([*ARGS, "--out", str(tmp_path / "out")])
    assert list(tmp_path.iterdir()) == []


def test_real_deit_t_softmax_slots_pass_the_shiftmax_rtl(exported, tmp_path, capsys):
    from refmodel.rtl import run_testbench

    plan = json.loads((exported / "plan.json").read_text())
    for entry in plan["slots"]:
        if entry["kind"] == "softmax":
            entry["choice"] = "ivit"
    (tmp_path / "ivit_softmax_plan.json").write_text(json.dumps(plan))
    out = tmp_path / "deit_t-ivit-softmax"
    assert sim.main([*ARGS, "--plan", str(tmp_path / "ivit_softmax_plan.json"), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    softmax = [e for e in manifest["slots"] if e["op"] == "ivit.softmax"]
    assert len(softmax) == 12
    for entry in softmax:
        result = run_testbench(out / entry["dir"])
        assert (result.vectors, result.errors) == (4 * 197, 0), result.log[-2000:]
