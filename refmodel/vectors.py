"""Golden vectors for every slot of a model's mixed plan, and their re-check.

Export (``python -m refmodel.sim MODEL --out DIR``) writes one vector set per slot,
``DIR/<slot>/`` (the format of :mod:`refmodel.vectorset`: ``input.hex``, ``output.hex``,
``cfg_<key>.hex`` for per-channel constants, ``vectors.npz``, ``meta.json``, ``<slot>.svh``),
plus ``DIR/manifest.json``: model, bits, weights hash (or "seeded"), plan, slot list and the
sha256 of every file. The inputs are the integers the slot's kernel saw in the mixed model
(the first ``--max-rows`` rows), the outputs what its PyTorch twin produced (which the
Numba kernel matched). The whole directory is built under a temporary name and swapped into
place (:mod:`refmodel.outdir`), so a failed run leaves no half-written set, and the same inputs and seed give
byte-identical files.

Check (``python -m refmodel.vectors check DIR``) verifies every sha256, rebuilds each slot's
kernel from its ``meta.json`` alone, runs it on ``input.hex`` and compares with
``output.hex``. One line per slot, then ``vectors ok: N/N sets``, or ``vectors FAILED: K/N sets
ok`` and exit status 1 on any problem, naming the file, or the slot, element, input, expected and got.
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
from refmodel.hexio import from_hex_text

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


# ---------------------------------------------------------------------------------- check


@dataclass
class SlotResult:
    name: str
    ok: bool
    message: str


def _check_manifest(directory: Path) -> tuple[dict[str, Any] | None, list[str]]:
    path = directory / MANIFEST
    if not path.is_file():
        return None, [f"{path}: missing"]
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, [f"{path}: not valid JSON ({exc})"]
    problems = []
    stored = manifest.get("digest", "")
    blanked = raw.replace(f'"digest": "{stored}"'.encode(), f'"digest": "{_DIGEST_PLACEHOLDER}"'.encode(), 1)
    if _manifest_digest(blanked) != stored:
        problems.append(f"{path}: edited (its digest does not match its content)")
    for rel, digest in sorted(manifest.get("files", {}).items()):
        file = directory / rel
        if not file.is_file():
            problems.append(f"{file}: missing")
        elif vectorset.sha256_file(file) != digest:
            problems.append(f"{file}: sha256 differs from manifest.json (file edited or truncated)")
    listed = set(manifest.get("files", {}))
    for rel in _file_digests(directory):
        if rel not in listed:
            problems.append(f"{directory / rel}: not listed in manifest.json")
    return manifest, problems


def check_slot(directory: Path) -> SlotResult:
    """Rebuild the slot's kernel from ``meta.json`` and rerun it on ``input.hex``."""
    name = directory.name
    try:
        meta, inputs, expected = vectorset.read(directory)
        kernel = ops.make(meta["op"], **meta["params"])
        if vectorset.jsonable(kernel.config) != meta["config"]:
            return SlotResult(name, False, f"{directory / 'meta.json'}: config rebuilt from its parameters differs from the stored config")
        got = kernel.sim(inputs)
        for key, info in meta.get("datapath_files", {}).items():
            stored = from_hex_text((directory / info["file"]).read_text(), info["bits"], info["signed"])
            if stored != kernel.datapath(inputs)[key].reshape(-1).tolist():
                return SlotResult(name, False, f"{directory / info['file']}: datapath values {key} differ from the kernel rebuilt from meta.json")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        return SlotResult(name, False, str(exc))
    bad = np.flatnonzero(got.reshape(-1) != expected.reshape(-1))
    if bad.size:
        i = int(bad[0])
        return SlotResult(
            name,
            False,
            f"{bad.size} mismatches; first at element {i}: input {int(inputs.reshape(-1)[i])}, expected {int(expected.reshape(-1)[i])}, got {int(got.reshape(-1)[i])}",
        )
    return SlotResult(name, True, f"{meta['op']}, {inputs.size} vectors")


def check(directory: Path) -> tuple[list[str], int, int]:
    """Lines to print, slots ok, slots in all."""
    directory = Path(directory)
    manifest, problems = _check_manifest(directory)
    lines = [f"FAIL {p}" for p in problems]
    if manifest is None:
        return lines, 0, 0
    bad_files = {p.split(":")[0] for p in problems}
    ok = 0
    slots = manifest.get("slots", [])
    for entry in slots:
        slot_dir = directory / entry["dir"]
        result = check_slot(slot_dir)
        tampered = [f for f in bad_files if f.startswith(str(slot_dir) + os.sep)]
        if result.ok and not tampered:
            ok += 1
            lines.append(f"ok   {entry['name']}: {result.message}")
        else:
            lines.append(f"FAIL {entry['name']}: {result.message if not result.ok else 'file check failed: ' + ', '.join(sorted(tampered))}")
    outside = [p for p in bad_files if not any(p.startswith(str(directory / e["dir"]) + os.sep) for e in slots)]
    if outside:  # a tampered manifest or stray file: no slot of this directory can be trusted
        ok = 0
    return lines, ok, len(slots)


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m refmodel.vectors",
        description="Verify a vector directory written by 'python -m refmodel.sim MODEL --out DIR': every sha256, "
        "and every slot's output.hex against its kernel rebuilt from meta.json alone.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    chk = sub.add_parser("check", help="verify a vector directory")
    chk.add_argument("directory", type=cli.nonempty_path)
    args = parser.parse_args(argv)
    return cli.run(lambda: _check_command(args.directory), args.debug)


def _check_command(directory: Path) -> int:
    if not directory.is_dir():
        raise cli.UsageError(f"{directory}: no such directory")
    if not (directory / MANIFEST).is_file():
        raise cli.UsageError(f"{directory}: not a refmodel export (no {MANIFEST})")
    lines, ok, total = check(directory)
    for line in lines:
        print(line)
    failed = any(line.startswith("FAIL") for line in lines) or ok < total or total == 0
    print(f"vectors FAILED: {ok}/{total} sets ok" if failed else f"vectors ok: {ok}/{total} sets")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
