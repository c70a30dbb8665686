"""refmodel.outdir: the guard on output paths, atomic replacement, cleanup after failure and
signals, and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from refmodel import outdir

ROOT = Path(__file__).resolve().parents[1]


def _export(directory: Path, tag: str, files: int = 3) -> None:
    """A minimal complete export: ``files`` files, all holding ``tag``, listed by a manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    names = {f"part{i}.txt": tag for i in range(files)}
    for name, text in names.items():
        (directory / name).write_text(text)
    (directory / "manifest.json").write_text(json.dumps({"format": "refmodel-manifest/1", "files": {n: "x" for n in names}}))


def _tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (hidden ones included): relative path -> content or kind."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "<link>" if path.is_symlink() else "<dir>" if path.is_dir() else path.read_text()
    return out


# ---------------------------------------------------------------------------- the guard


def test_absent_empty_and_earlier_exports_may_be_written(tmp_path):
    outdir.check_target(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    outdir.check_target(tmp_path / "empty")
    _export(tmp_path / "old", "v1")
    outdir.check_target(tmp_path / "old")


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), "not a complete refmodel export"),
        (lambda p: p.write_text("mine"), "exists and is not a directory"),
        (lambda p: p.symlink_to(p.parent), "is a symlink"),
        (lambda p: (_export(p, "v1"), (p / "notes.txt").write_text("mine")), "not a complete refmodel export"),
        (lambda p: (_export(p, "v1"), (p / "sub").mkdir()), "not a complete refmodel export"),
        (lambda p: (p.mkdir(), (p / "manifest.json").write_text("{not json")), "not a complete refmodel export"),
        (lambda p: (p.mkdir(), (p / "manifest.json").write_text('{"format": "other/1", "files": {}}')), "not a complete refmodel export"),
    ],
    ids=["user-file-in-dir", "regular-file", "symlink", "export-plus-user-file", "export-plus-empty-dir", "bad-manifest", "foreign-manifest"],
)
def test_anything_else_is_refused_before_the_work_and_left_alone(tmp_path, make, reason):
    target = tmp_path / "out"
    make(target)
    before = _tree(tmp_path)
    ran = []
    with pytest.raises(outdir.Refused) as info:
        with outdir.staged(target):
            ran.append(True)
    message = str(info.value)
    assert message.startswith(f"{target}: ") and reason in message and "--force" in message and "\n" not in message
    assert not ran and _tree(tmp_path) == before


def test_force_replaces_a_user_file_directory_or_symlink(tmp_path):
    for i, make in enumerate([lambda p: p.write_text("mine"), lambda p: (p.mkdir(), (p / "a").write_text("x")), lambda p: p.symlink_to(tmp_path)]):
        target = tmp_path / f"out{i}"
        make(target)
        with outdir.staged(target, force=True) as stage:
            _export(stage, "new")
        assert not target.is_symlink() and (target / "part0.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out0", "out1", "out2"]


def test_a_tree_of_exports_is_accepted_where_asked(tmp_path):
    _export(tmp_path / "g" / "op" / "case1", "a")
    _export(tmp_path / "g" / "op" / "case2", "b")
    assert outdir.is_export_tree(tmp_path / "g") and not outdir.is_export(tmp_path / "g")
    outdir.check_target(tmp_path / "g", accept=outdir.is_export_tree)
    (tmp_path / "g" / "op" / "README").write_text("mine")
    assert not outdir.is_export_tree(tmp_path / "g")


# ------------------------------------------------------------------- atomic replacement


def test_success_replaces_the_old_export_and_leaves_nothing_hidden(tmp_path):
    _export(tmp_path / "out", "old", files=5)
    with outdir.staged(tmp_path / "out") as stage:
        _export(stage, "new", files=2)
    assert _tree(tmp_path) == {"out": "<dir>", "out/manifest.json": (tmp_path / "out/manifest.json").read_text(), "out/part0.txt": "new", "out/part1.txt": "new"}


def test_a_failure_keeps_the_old_export_and_leaves_nothing_hidden(tmp_path):
    _export(tmp_path / "out", "old")
    before = _tree(tmp_path)
    with pytest.raises(RuntimeError):
        with outdir.staged(tmp_path / "out") as stage:
            _export(stage, "new")
            raise RuntimeError("boom")
    assert _tree(tmp_path) == before


_WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from refmodel import cli, outdir

    target, tag, rounds, pause = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

    def body():
        for r in range(rounds):
            with outdir.staged(target) as stage:
                names = {f"part{i}.txt": f"{tag}-{r}" for i in range(4)}
                for name, text in names.items():
                    (stage / name).write_text(text)
                    if pause:
                        print("writing", flush=True)
                        time.sleep(pause)
                (stage / "manifest.json").write_text(json.dumps({"format": "refmodel-manifest/1", "files": {n: "x" for n in names}}))
        return 0

    sys.exit(cli.run(body))
    """
)


def _writer(target: Path, tag: str, rounds: int, pause: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(target), tag, str(rounds), str(pause)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_a_signal_mid_write_keeps_the_old_export_and_leaves_nothing_hidden(tmp_path, signum, status):
    _export(tmp_path / "out", "old")
    before = _tree(tmp_path)
    proc = _writer(tmp_path / "out", "new", 1, 30.0)
    assert proc.stdout.readline() == "writing\n"  # the staging directory exists and is half-written
    assert any(p.name.startswith(".out.partial.") for p in tmp_path.iterdir())
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert _tree(tmp_path) == before


def _complete(target: Path) -> str:
    """The one tag every file of ``target`` holds (the export is complete, not mixed)."""
    tree = _tree(target)
    tags = {v for k, v in tree.items() if k.startswith("part")}
    assert len(tags) == 1 and len(tree) == 5, tree
    return tags.pop()


def test_two_writers_racing_20_times_both_succeed_and_the_last_complete_export_wins(tmp_path):
    target = tmp_path / "out"
    _export(target, "seed")
    a, b = _writer(target, "a", 20, 0.0), _writer(target, "b", 20, 0.0)
    seen_absent = 0
    while a.poll() is None or b.poll() is None:
        seen_absent += not target.is_dir()
        time.sleep(0.001)
    for proc in (a, b):
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        assert err == ""
    assert seen_absent == 0  # the path always held a complete export, never nothing
    assert _complete(target) in ("a-19", "b-19")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .partial, no .old


# ------------------------------------------------------------------------ vector sets


def _vector_set(name: str):
    import numpy as np

    from refmodel import ops, vectorset

    k = ops.make("requant", scale_in=[0.01, 0.02], scale_out=0.05, out_bits=8)
    q = np.array([[-100, 5], [7, -8]], dtype=np.int64)
    return vectorset.VectorSet(name, k, q, k.sim(q))


def test_a_vector_set_is_an_export_and_replaces_only_a_set(tmp_path):
    from refmodel import vectorset

    vectorset.write(tmp_path / "g" / "op" / "a", _vector_set("a"), method_rules="r")
    vectorset.write(tmp_path / "g" / "op" / "b", _vector_set("b"), method_rules="r")
    assert outdir.is_export(tmp_path / "g" / "op" / "a") and outdir.is_export_tree(tmp_path / "g")
    vectorset.write(tmp_path / "g" / "op" / "a", _vector_set("a"), method_rules="new")  # a set is replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(outdir.Refused, match="not a complete refmodel export"):
        vectorset.write(tmp_path / "mine", _vector_set("m"), method_rules="r")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g", "mine"]


def test_golden_write_swaps_the_whole_tree_and_refuses_a_users_directory(tmp_path, capsys, monkeypatch):
    from refmodel import golden, vectorset

    def write_all(root, progress=None):
        for name in ("x", "y"):
            vectorset.write(root / "op" / name, _vector_set(name), method_rules="r")
        return ["x", "y"]

    monkeypatch.setattr(golden, "write_all", write_all)
    assert golden.main(["write", "--dir", str(tmp_path / "g")]) == 0
    assert golden.main(["write", "--dir", str(tmp_path / "g")]) == 0  # a tree of sets is replaced
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*/*")) == ["g/op/x", "g/op/y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]
    (tmp_path / "g" / "README").write_text("mine")
    capsys.readouterr()
    assert golden.main(["write", "--dir", str(tmp_path / "g")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'g'}: exists and is not a complete refmodel export")
    assert (tmp_path / "g" / "README").read_text() == "mine"
