"""Golden vectors for every slot of a model's mixed plan, and their re-check.

Slot export (``python -m refmodel.sim MODEL --out DIR --layers slots``; the default export of
every layer is :mod:`refmodel.layerexport`) writes one vector set per slot,
``DIR/<slot>/`` (the format of :mod:`refmodel.vectorset`: ``input.hex``, ``output.hex``,
``cfg_<key>.hex`` for per-channel constants, ``vectors.npz``, ``meta.json``, ``<slot>.svh``),
plus ``DIR/manifest.json``: model, bits, weights hash (or "seeded"), plan, slot list and the
sha256 of every file. The inputs are the integers the slot's kernel saw in the mixed model
(the first ``--max-rows`` rows), the outputs what its PyTorch twin produced (which the
Numba kernel matched). The whole directory is built under a temporary name and swapped into
place (:mod:`refmodel.outdir`), so a failed run leaves no half-written set, and the same inputs and seed give
byte-identical files.

Check (``python -m refmodel.vectors check DIR [--rerun]``): :mod:`refmodel.vectorcheck`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from refmodel import __version__, cli, ops, vectorset
from refmodel.golden import RULES

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "refmodel-manifest/1"
_DIGEST_PLACEHOLDER = "0" * 64


def git_revision() -> str:
    """The source revision of this refmodel checkout ("unknown" outside git)."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev.stdout.strip() if rev.returncode == 0 and rev.stdout.strip() else "unknown"


@dataclass
class Capture:
    """The first rows one slot's kernel saw, and what its twin returned."""

    kernel: ops.Kernel
    inputs: list[np.ndarray] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list)
    rows: int = 0


class CaptureProbe:
    """Probe that keeps up to ``max_rows`` rows of every slot's kernel input and output."""

    wants_io = False

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.slots: dict[str, Capture] = {}
        self.kinds: dict[str, tuple[str, str]] = {}

    def on_io(self, slot, x, y, masked=None) -> None:
        pass

    def on_kernel(self, slot, kernel: ops.Kernel, q_in: torch.Tensor, q_out: torch.Tensor) -> None:
        capture = self.slots.setdefault(slot.name, Capture(kernel))
        self.kinds[slot.name] = (slot.kind, slot.method)
        need = self.max_rows - capture.rows
        if need <= 0:
            return
        cols = q_in.shape[-1]
        rows_in = q_in.detach().reshape(-1, cols)[:need].numpy().copy()
        rows_out = q_out.detach().reshape(-1, cols)[:need].numpy().copy()
        capture.inputs.append(rows_in)
        capture.outputs.append(rows_out)
        capture.rows += rows_in.shape[0]


def write_slot_sets(directory: Path, probe: CaptureProbe, revision: str, seed: int | None) -> list[dict[str, Any]]:
    """One vector set per captured slot under ``directory``; returns the manifest entries."""
    entries = []
    for name, capture in probe.slots.items():
        kind, method = probe.kinds[name]
        inputs = np.concatenate(capture.inputs)
        outputs = np.concatenate(capture.outputs)
        vs = vectorset.VectorSet(
            name, capture.kernel, inputs, outputs, seed=seed, notes={"slot": name, "kind": kind, "method": method}, datapath=capture.kernel.datapath(inputs)
        )
        vectorset.write(directory / name, vs, method_rules=RULES[capture.kernel.name], git_revision=revision)
        entries.append({"name": name, "kind": kind, "method": method, "op": capture.kernel.name, "dir": name, "rows": int(inputs.shape[0]), "cols": int(inputs.shape[1])})
    return entries


def _file_digests(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): vectorset.sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _manifest_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(directory: Path, content: dict[str, Any]) -> None:
    """``manifest.json`` with the sha256 of every other file and its own ``digest``: the
    sha256 of the file's bytes with the digest value written as zeros."""
    content = dict(content, format=MANIFEST_FORMAT, refmodel_version=__version__, files=_file_digests(directory), digest=_DIGEST_PLACEHOLDER)
    text = json.dumps(content, indent=1, sort_keys=True) + "\n"
    digest = _manifest_digest(text.encode())
    (directory / MANIFEST).write_text(text.replace(f'"digest": "{_DIGEST_PLACEHOLDER}"', f'"digest": "{digest}"', 1))


def main(argv: list[str] | None = None) -> int:
    from refmodel import vectorcheck

    parser = cli.Parser(
        prog="python -m refmodel.vectors",
        description="Verify an export written by 'python -m refmodel.sim MODEL --out DIR': every sha256, every path, "
        "the slot list against the model, and every file of every set against the kernel rebuilt from its meta.json. "
        "--rerun also reruns the model and compares every file byte for byte.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    chk = sub.add_parser("check", help="verify an export directory")
    chk.add_argument("directory")
    chk.add_argument("--rerun", action="store_true", help="rerun the model from the manifest (model, weights, plan.json, bits, seed, calibration, rows) and compare every file")
    chk.add_argument("--checkpoint", help="with --rerun: the weights file of an export made from a checkpoint (its sha256 must match)")
    chk.add_argument("--data", help="with --rerun: the calibration ImageFolder of an export calibrated on images")
    args = parser.parse_args(argv)
    return cli.run(lambda: vectorcheck.command(args.directory, args.rerun, args.checkpoint, args.data), args.debug)


if __name__ == "__main__":
    sys.exit(main())
