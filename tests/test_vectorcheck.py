"""One vector set against the writer's output for its rebuilt kernel; paths that stay inside."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from refmodel import ops, vectorcheck, vectorset


def _set() -> vectorset.VectorSet:
    k = ops.make("fqvit.layernorm", scale_in=[0.01, 0.02, 0.04], zero_point=128, gamma=[1.0, -0.5, 2.0], beta=[0.0, 0.1, -0.2], scale_out=0.05)
    q = np.array([[28, 133, 248], [135, 120, 137]], dtype=np.int64)
    return vectorset.VectorSet("case_a", k, q, k.sim(q), seed=3, notes={"case": "a"}, datapath=k.datapath(q))


@pytest.fixture
def written(tmp_path) -> Path:
    return vectorset.write(tmp_path / "a", _set(), method_rules="rules", git_revision="abc")


def _resign(directory: Path) -> None:
    meta = json.loads((directory / "meta.json").read_text())
    meta["sha256"] = {n: hashlib.sha256((directory / n).read_bytes()).hexdigest() for n in meta["sha256"]}
    (directory / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def test_rebuild_gives_the_bytes_the_writer_wrote(written):
    meta = json.loads((written / "meta.json").read_text())
    rebuilt = vectorset.rebuild(meta, (written / "input.hex").read_text())
    assert sorted(rebuilt) == sorted(p.name for p in written.iterdir())
    assert {"cfg_gain_m.hex", "dp_m.hex", "dp_n.hex", "dp_b.hex", "case_a.svh"} <= set(rebuilt)
    for name, data in rebuilt.items():
        assert (written / name).read_bytes() == data, name
    assert vectorcheck.check_set(written).ok


@pytest.mark.parametrize("victim", ["cfg_bias.hex", "dp_m.hex", "output.hex"])
def test_a_resigned_edit_of_a_derived_hex_file_is_named(written, victim):
    path = written / victim
    lines = path.read_text().splitlines()
    lines[1] = format(int(lines[1], 16) ^ 1, f"0{len(lines[1])}x")
    path.write_text("\n".join(lines) + "\n")
    _resign(written)
    (problem,) = vectorcheck.check_set(written).problems
    assert problem.startswith(f"{path}: ")
    if victim == "output.hex":
        assert "1 mismatches with the kernel rebuilt from meta.json; first at element 1" in problem
    else:
        assert "line 2: expected" in problem


def test_a_resigned_edit_of_the_parameters_is_named(written):
    meta = json.loads((written / "meta.json").read_text())
    meta["tensors"]["output"]["bits"] = 9
    (written / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    (problem,) = vectorcheck.check_set(written).problems
    assert problem == f"{written / 'meta.json'}: differs from what the kernel rebuilt from its parameters implies in: tensors"


def test_an_extra_file_and_a_symbolic_link_are_named(written, tmp_path):
    (written / "notes.txt").write_text("x")
    (tmp_path / "outside.hex").write_text("00\n")
    (written / "link.hex").symlink_to(tmp_path / "outside.hex")
    problems = vectorcheck.check_set(written).problems
    assert f"{written / 'link.hex'}: not a plain file (a set holds plain files only)" in problems
    assert f"{written / 'notes.txt'}: not a file the writer produces" in problems


@pytest.mark.parametrize(
    "path, why",
    [
        ("/etc/passwd", "is an absolute path"),
        ("../x", "has a '.' or '..' component"),
        ("a/../../x", "has a '.' or '..' component"),
        ("a/./b", "has a '.' or '..' component"),
        ("", "is not a path"),
        (None, "is not a path"),
        ("a\\b", "holds a backslash"),
    ],
)
def test_paths_that_leave_the_directory_are_refused(path, why):
    assert why in vectorcheck.safe_relative(path)


@pytest.mark.parametrize("path", ["blocks.0.norm1", "blocks.0.norm1/meta.json", "plan.json"])
def test_paths_inside_are_accepted(path):
    assert vectorcheck.safe_relative(path) is None
