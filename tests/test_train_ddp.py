"""Data-parallel training: two CPU processes (gloo) end a QAT step with identical weights and
frozen scales (the run compares the ranks' digests and fails otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("sklearn")

from refmodel import checkpoint, train  # noqa: E402

pytestmark = pytest.mark.slow


def _torchrun(nproc: int, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "refmodel.train", *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_two_gloo_processes_hold_identical_weights_and_scales(tmp_path):
    start = tmp_path / "start"
    assert train.main(["digits", "--float", "--epochs", "1", "--steps-per-epoch", "2", "--out", str(start), "--quiet"]) == 0
    start_file = start / train.MODEL_FILE
    args = ["digits", "--checkpoint", str(start_file), "--bits", "8", "--plan", "ibert", "--epochs", "1", "--steps-per-epoch", "1", "--calib-images", "8", "--batch-size", "16", "--quiet"]
    done = _torchrun(2, *args, "--out", str(tmp_path / "ddp"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 process(es) on cpu" in done.stdout
    assert "replicas: all 2 processes hold identical weights and scales" in done.stdout
    trained = checkpoint.read(tmp_path / "ddp" / train.MODEL_FILE)
    before = checkpoint.read(start_file).weights
    assert any(not torch.equal(trained.weights[k], before[k]) for k in before), "the step changed no weight"
    assert trained.scales and trained.kind == "qat"
