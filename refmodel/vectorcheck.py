"""``python -m refmodel.vectors check DIR [--rerun]``: verify an export written by
``python -m refmodel.sim MODEL --out DIR``.

The check proves that the export is internally consistent and consistent with the model it
names:

- ``manifest.json`` is unedited (its own digest), every file it lists has its sha256, every
  file of the directory is listed, and every path stays inside the directory (no absolute
  path, no ``..``, no symbolic link);
- the slot list equals the model's slots, in forward order, each with the model's kind and
  the method of the manifest's plan, and ``plan.json`` is a valid plan for the model and
  bits whose choices are that plan;
- every vector set equals, byte for byte, the set the writer produces from its
  ``meta.json`` (op, parameters, name, seed, notes) and its ``input.hex``: the kernel is
  rebuilt from the parameters, so every ``cfg_*.hex`` (config), ``dp_*.hex`` (datapath
  values), ``output.hex`` (the Numba kernel's output), ``vectors.npz``, the ``.svh`` and
  ``meta.json`` itself (widths, shapes, config, sha256) are what that kernel implies.

It cannot tell a consistent forgery from a run: inputs (and the parameters in
``meta.json``) that were never seen by the model, with the outputs the kernel gives for
them, pass. ``--rerun`` closes that gap: it reruns the model from the manifest's model,
weights, plan, bits, seed, calibration and row count into a temporary directory and
compares every file byte for byte (``report.txt`` excepted: it describes the invocation).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from refmodel import cli, costsweep, models, vectorset
from refmodel.hexio import from_hex_text
from refmodel.plan import read_plan
from refmodel.quant.base import NETWORK_BITS
from refmodel.quant.slots import CANDIDATES
from refmodel.vectors import MANIFEST, _DIGEST_PLACEHOLDER, _manifest_digest

PLAN = "plan.json"
REPORT = "report.txt"
NOT_RERUN = frozenset({REPORT, costsweep.CSV_NAME, costsweep.PNG_NAME})
"""Files a rerun does not reproduce: the report describes the invocation, and the cost sweep
measures many plans while the rerun runs the recorded one (both stay sha256-checked)."""


class Refused(cli.UsageError):
    """A bad argument or input: one ``error:`` line, exit status 2."""


@dataclass
class SetResult:
    name: str
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Outcome:
    """What a check found: export-level problems, one result per expected set."""

    problems: list[str] = field(default_factory=list)
    sets: list[SetResult] = field(default_factory=list)
    total: int = 0
    #: Layer inputs the chain check compared with their producers (a layer export).
    chained: int = 0

    @property
    def ok_sets(self) -> int:
        return 0 if self.problems else sum(r.ok for r in self.sets)

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.ok_sets == self.total

    def lines(self) -> list[str]:
        out = [f"FAIL {p}" for p in self.problems]
        for r in self.sets:
            out.append(f"ok   {r.name}: {r.summary}" if r.ok else f"FAIL {r.name}: " + "; ".join(r.problems))
        if self.chained:
            out.append(f"chain: {self.chained} layer inputs equal their producers' outputs" if self.ok else "chain: see the failures above")
        out.append(f"vectors ok: {self.ok_sets}/{self.total} sets" if self.ok else f"vectors FAILED: {self.ok_sets}/{self.total} sets ok")
        return out


# ------------------------------------------------------------------------------- paths


def safe_relative(text: Any) -> str | None:
    """Why ``text`` is not a relative path that stays inside a directory, or ``None``."""
    if not isinstance(text, str) or not text:
        return f"{text!r} is not a path"
    if "\\" in text or "\0" in text:
        return f"{text!r} holds a backslash or NUL"
    path = PurePosixPath(text)
    if path.is_absolute():
        return f"{text!r} is an absolute path"
    if any(part in ("..", ".") for part in text.split("/")) or text.endswith("/"):
        return f"{text!r} has a '.' or '..' component"
    return None


def symlinks(directory: Path) -> list[Path]:
    """Every symbolic link under ``directory`` (never followed)."""
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                found.append(Path(root) / name)
    return sorted(found)


# ------------------------------------------------------------------------- one vector set


def _first_line_difference(expected: bytes, got: bytes) -> str:
    exp, act = expected.decode(errors="replace").split("\n"), got.decode(errors="replace").split("\n")
    for i, (e, a) in enumerate(zip(exp, act)):
        if e != a:
            return f"line {i + 1}: expected {e!r}, got {a!r}"
    return f"{len(act) - 1} lines, expected {len(exp) - 1}"


def _npz_difference(expected: bytes, got: bytes) -> str:
    try:
        exp, act = vectorset.npz_arrays(expected), vectorset.npz_arrays(got)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return f"not a readable npz archive ({exc})"
    if sorted(exp) != sorted(act):
        return f"holds arrays {', '.join(sorted(act))}, the hex files give {', '.join(sorted(exp))}"
    for key in sorted(exp):
        if exp[key].shape != act[key].shape:
            return f"array {key}: shape {act[key].shape}, the hex files give {exp[key].shape}"
        bad = np.flatnonzero(exp[key].reshape(-1) != act[key].reshape(-1))
        if bad.size:
            i = int(bad[0])
            return f"array {key} differs from the hex files in {bad.size} elements; first at element {i}: expected {int(exp[key].reshape(-1)[i])}, got {int(act[key].reshape(-1)[i])}"
    return "same arrays as the hex files, but not the writer's bytes (archive layout, dtype or timestamps)"


def _output_difference(meta: dict[str, Any], files: dict[str, bytes], got: bytes) -> str:
    spec = meta["tensors"]["output"]
    try:
        actual = from_hex_text(got.decode(), spec["bits"], spec["signed"])
    except (ValueError, UnicodeDecodeError) as exc:
        return f"not a valid {spec['bits']}-bit hex file ({exc})"
    expected = from_hex_text(files["output.hex"].decode(), spec["bits"], spec["signed"])
    shaped = meta["layout"].get("shaped")
    inputs = None if shaped else from_hex_text(files["input.hex"].decode(), meta["tensors"]["input"]["bits"], meta["tensors"]["input"]["signed"])
    if len(actual) != len(expected):
        return f"{len(actual)} elements, expected {len(expected)}"
    bad = [i for i, (e, a) in enumerate(zip(expected, actual)) if e != a]
    if not bad:
        return "same values, not the writer's format: " + _first_line_difference(files["output.hex"], got)
    i = bad[0]
    seen = "" if inputs is None else f"input {inputs[i]}, "
    return f"{len(bad)} mismatches with the kernel rebuilt from meta.json; first at element {i}: {seen}expected {expected[i]}, got {actual[i]}"


def _describe(fname: str, meta: dict[str, Any], files: dict[str, bytes], got: bytes) -> str:
    """How the file on disk differs from the one the writer produces."""
    expected = files[fname]
    if fname == "output.hex":
        return _output_difference(meta, files, got)
    if fname == "vectors.npz":
        return "differs from the hex files: " + _npz_difference(expected, got)
    if fname.startswith("cfg_"):
        what = "the config rebuilt from meta.json's parameters"
    elif fname.startswith("dp_"):
        what = "the datapath values of the kernel rebuilt from meta.json"
    elif fname.endswith(".svh"):
        what = "the header the writer generates"
    else:
        what = "the writer's format"
    return f"differs from {what}: " + _first_line_difference(expected, got)


def _meta_difference(expected: bytes, got: bytes) -> str | None:
    """``meta.json`` against the writer's, its ``sha256`` left out: those were checked
    against the files on disk, and every file is compared with the writer's itself."""
    try:
        actual = json.loads(got)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "not valid JSON"
    wanted = json.loads(expected)
    keys = sorted(k for k in set(wanted) | set(actual) if k != "sha256" and wanted.get(k) != actual.get(k))
    if keys:
        return "differs from what the kernel rebuilt from its parameters implies in: " + ", ".join(keys)
    if (json.dumps(actual, indent=1, sort_keys=True) + "\n").encode() != got:
        return "not in the writer's format (sorted keys, one-space indent)"
    return None


def check_set(directory: Path) -> SetResult:
    """Verify one vector set: every file equals what the writer produces from ``meta.json``
    and ``input.hex``, with the kernel rebuilt from the parameters (see the module
    docstring). Problems name the file."""
    directory = Path(directory)
    result = SetResult(directory.name)
    problems = result.problems
    if directory.is_symlink() or not directory.is_dir():
        problems.append(f"{directory}: {'a symbolic link' if directory.is_symlink() else 'missing'} (a set is a plain directory)")
        return result
    on_disk: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.is_symlink() or not path.is_file():
            problems.append(f"{path}: not a plain file (a set holds plain files only)")
        else:
            on_disk[path.name] = path
    meta_path = directory / vectorset.META
    if vectorset.META not in on_disk:
        problems.append(f"{meta_path}: missing")
        return result
    try:
        meta = json.loads(on_disk[vectorset.META].read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{meta_path}: not valid JSON ({exc})")
        return result
    digests = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(digests, dict):
        problems.append(f"{meta_path}: field 'sha256': missing")
        return result
    unsigned = []
    for fname, digest in sorted(digests.items()):
        if "/" in fname or safe_relative(fname):
            unsigned.append(f"{meta_path}: field 'sha256': {fname!r} is not a file name of this set")
        elif fname not in on_disk:
            unsigned.append(f"{directory / fname}: missing")
        elif vectorset.sha256_file(on_disk[fname]) != digest:
            unsigned.append(f"{directory / fname}: sha256 differs from meta.json (file edited or truncated)")
    problems += unsigned
    if unsigned:
        return result
    try:
        files = vectorset.rebuild(meta, {f: on_disk[f].read_text() for f in vectorset.input_files(meta) if f in on_disk})
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"{meta_path}: cannot rebuild the set ({type(exc).__name__ if isinstance(exc, KeyError) else ''}{exc})")
        return result
    for fname in sorted(set(files) - set(on_disk)):
        problems.append(f"{directory / fname}: missing (the writer produces it)")
    for fname in sorted(set(on_disk) - set(files)):
        problems.append(f"{directory / fname}: not a file the writer produces")
    for fname in sorted(set(files) & set(on_disk)):
        got = on_disk[fname].read_bytes()
        if fname == vectorset.META:
            why = _meta_difference(files[fname], got)
            if why:
                problems.append(f"{directory / fname}: {why}")
        elif got != files[fname]:
            problems.append(f"{directory / fname}: {_describe(fname, meta, files, got)}")
    result.summary = f"{meta['op']}, {meta['tensors']['output']['count']} vectors, every file as the rebuilt kernel implies"
    return result


# ------------------------------------------------------------------------------ an export


@lru_cache(maxsize=None)
def model_slots(model: str) -> tuple[tuple[str, str], ...]:
    """``(slot, kind)`` of ``model`` in forward order (from the seeded model: names only)."""
    from refmodel.pipeline import slot_kinds

    return tuple(slot_kinds(models.load(model, None, 0).model).items())


def _read_manifest(directory: Path) -> tuple[dict[str, Any] | None, list[str]]:
    path = directory / MANIFEST
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, [f"{path}: not valid JSON ({exc})"]
    if not isinstance(manifest, dict):
        return None, [f"{path}: not a JSON object"]
    problems = []
    stored = manifest.get("digest", "")
    blanked = raw.replace(f'"digest": "{stored}"'.encode(), f'"digest": "{_DIGEST_PLACEHOLDER}"'.encode(), 1)
    if _manifest_digest(blanked) != stored:
        problems.append(f"{path}: edited (its digest does not match its content)")
    return manifest, problems


def _file_problems(directory: Path, manifest: dict[str, Any]) -> list[str]:
    """sha256 of every listed file, unlisted files, unsafe paths and symbolic links."""
    problems = []
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        return [f"{directory / MANIFEST}: field 'files': missing"]
    for rel, digest in sorted(listed.items()):
        why = safe_relative(rel)
        if why:
            problems.append(f"{directory / MANIFEST}: field 'files': {why} (every path must stay inside the export)")
            continue
        file = directory / rel
        if not file.is_file():
            problems.append(f"{file}: missing")
        elif vectorset.sha256_file(file) != digest:
            problems.append(f"{file}: sha256 differs from manifest.json (file edited or truncated)")
    for link in symlinks(directory):
        problems.append(f"{link}: a symbolic link (an export holds plain files and directories only)")
    for root, _, names in os.walk(directory, followlinks=False):
        for name in names:
            rel = (Path(root) / name).relative_to(directory).as_posix()
            if rel != MANIFEST and rel not in listed and not os.path.islink(os.path.join(root, name)):
                problems.append(f"{directory / rel}: not listed in manifest.json")
    return problems


def _slot_list_problems(path: Path, manifest: dict[str, Any], expected: tuple[tuple[str, str], ...]) -> list[str]:
    entries = manifest.get("slots")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return [f"{path}: field 'slots': expected a list of objects"]
    names = [e.get("name") for e in entries]
    model_names = [n for n, _ in expected]
    if names == model_names:
        return []
    for i, (got, want) in enumerate(zip(names, model_names)):
        if got != want:
            return [f"{path}: field 'slots': entry {i} is {got!r}, model {manifest['model']}'s slot {i} is {want!r} (the list must be the model's slots, in forward order)"]
    missing = model_names[len(names) :]
    if missing:
        return [f"{path}: field 'slots': {len(names)} sets listed, model {manifest['model']} has {len(model_names)} slots (first missing: {missing[0]})"]
    return [f"{path}: field 'slots': {len(names)} sets listed, model {manifest['model']} has {len(model_names)} slots (first extra: {names[len(model_names)]!r})"]


def _entry_problems(path: Path, entry: dict[str, Any], kind: str, plan: dict[str, Any]) -> list[str]:
    name = entry["name"]
    where = f"{path}: slot {name}:"
    problems = []
    why = safe_relative(entry.get("dir"))
    if why:
        problems.append(f"{where} field 'dir': {why} (every path must stay inside the export)")
    elif entry["dir"] != name:
        problems.append(f"{where} field 'dir': {entry['dir']!r}, the writer uses the slot name")
    method = plan.get(name)
    if entry.get("kind") != kind:
        problems.append(f"{where} field 'kind': {entry.get('kind')!r}, the model's slot is a {kind} slot")
    if entry.get("method") != method or method not in CANDIDATES[kind]:
        problems.append(f"{where} field 'method': {entry.get('method')!r}, the manifest's plan says {method!r}")
    if entry.get("op") != f"{method}.{kind}":
        problems.append(f"{where} field 'op': {entry.get('op')!r}, the plan implies {method}.{kind}")
    return problems


def _meta_problems(set_dir: Path, entry: dict[str, Any]) -> list[str]:
    """``meta.json`` names the same slot, op and shape as the manifest entry."""
    meta = json.loads((set_dir / vectorset.META).read_text())
    wanted = {
        "name": entry["name"],
        "op": entry.get("op"),
        "notes": {"slot": entry["name"], "kind": entry.get("kind"), "method": entry.get("method")},
        "layout.shape": [entry.get("rows"), entry.get("cols")],
    }
    got = {"name": meta.get("name"), "op": meta.get("op"), "notes": meta.get("notes"), "layout.shape": meta.get("layout", {}).get("shape")}
    return [f"{set_dir / vectorset.META}: field '{k}': {got[k]!r}, manifest.json says {v!r}" for k, v in wanted.items() if got[k] != v]


def _owner(directory: Path, sets: list[SetResult], problem: str) -> SetResult | None:
    """The set whose directory (or a file in it) a problem line names first, if any."""
    for result in sets:
        prefix = str(directory / result.name)
        if problem.startswith(prefix + os.sep) or problem.startswith(prefix + ":"):
            return result
    return None


def check(directory: Path) -> tuple[Outcome, dict[str, Any] | None]:
    """Verify the export at ``directory`` (which holds a ``manifest.json``)."""
    directory = Path(directory)
    outcome = Outcome()
    manifest, problems = _read_manifest(directory)
    outcome.problems += problems
    if manifest is None:
        return outcome, None
    manifest_path = directory / MANIFEST
    file_problems = _file_problems(directory, manifest)
    model, bits = manifest.get("model"), manifest.get("bits")
    if model not in models.MODELS:
        outcome.problems.append(f"{manifest_path}: field 'model': {model!r} is not a known model ({', '.join(models.MODELS)})")
    if bits not in NETWORK_BITS or isinstance(bits, bool):
        outcome.problems.append(f"{manifest_path}: field 'bits': {bits!r}, expected one of {', '.join(map(str, NETWORK_BITS))}")
    plan = manifest.get("plan")
    if not isinstance(plan, dict):
        outcome.problems.append(f"{manifest_path}: field 'plan': expected an object (slot -> method)")
        plan = {}
    if outcome.problems:  # nothing the manifest lists can be trusted: every slot counts as failed
        outcome.problems += file_problems
        outcome.total = len(model_slots(model)) if model in models.MODELS else 0
        return outcome, manifest
    expected = model_slots(model)
    kinds = dict(expected)
    outcome.total = len(expected)
    outcome.problems += _slot_list_problems(manifest_path, manifest, expected)
    if set(plan) != set(kinds):  # an object: its key order carries nothing
        outcome.problems.append(f"{manifest_path}: field 'plan': its slots are not model {model}'s slots")
    try:
        choices, _ = read_plan(directory / PLAN, model, kinds, bits=bits)
        differ = [n for n in kinds if n in plan and choices[n] != plan[n]]
        if differ:
            outcome.problems.append(f"{directory / PLAN}: field 'choice' of slot {differ[0]}: {choices.get(differ[0])!r}, manifest.json ran {plan.get(differ[0])!r} ({len(differ)} slots differ)")
    except ValueError as exc:
        outcome.problems += str(exc).splitlines()
    entries = manifest.get("slots") if isinstance(manifest.get("slots"), list) else []
    if "layers" in manifest:
        _check_layers(directory, manifest, entries, kinds, plan, outcome)
        entries = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("name") not in kinds:
            continue
        name = entry["name"]
        entry_problems = _entry_problems(manifest_path, entry, kinds[name], plan)
        if entry_problems:
            outcome.sets.append(SetResult(name, entry_problems))
            continue
        set_dir = directory / entry["dir"]
        result = check_set(set_dir)
        result.name = name
        if result.ok:
            result.problems += _meta_problems(set_dir, entry)
        outcome.sets.append(result)
    for problem in file_problems:  # a file problem inside one set fails that set, elsewhere the export
        owner = _owner(directory, outcome.sets, problem)
        if owner is None:
            outcome.problems.append(problem)
        elif problem not in owner.problems:
            owner.problems.append(problem)
    return outcome, manifest  # the model's slots without a set are counted in total, named by the slot list problem


def _layer_meta_problems(set_dir: Path, entry: dict[str, Any], slot: dict[str, Any] | None) -> list[str]:
    """``meta.json`` of a layer set names the manifest's layer, op, output shape and slot."""
    meta = json.loads((set_dir / vectorset.META).read_text())
    notes = {"layer": entry["name"]}
    if slot is not None:
        notes.update(slot=slot["name"], kind=slot.get("kind"), method=slot.get("method"))
    output = entry.get("output") if isinstance(entry.get("output"), dict) else {}
    wanted = {"name": entry["name"], "op": entry.get("op"), "notes": notes, "output shape": output.get("shape")}
    if meta.get("layout", {}).get("shaped"):
        shape = meta.get("tensors", {}).get("output", {}).get("shape")
    else:
        shape = meta.get("layout", {}).get("shape")
    got = {"name": meta.get("name"), "op": meta.get("op"), "notes": meta.get("notes"), "output shape": shape}
    return [f"{set_dir / vectorset.META}: field '{k}': {got[k]!r}, manifest.json says {v!r}" for k, v in wanted.items() if got[k] != v]


def _check_layers(directory: Path, manifest: dict[str, Any], slots: list[Any], kinds: dict[str, str], plan: dict[str, Any], outcome: Outcome) -> None:
    """A layer export: every layer set rebuilt from its ``meta.json``, every slot entry one
    of the layers with the plan's method, and the chain (:func:`refmodel.layerexport.chain_problems`)."""
    from refmodel import layerexport

    path = directory / MANIFEST
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in layers):
        outcome.problems.append(f"{path}: field 'layers': expected a non-empty list of objects with a 'name'")
        return
    outcome.total = len(layers)
    by_slot = {e["name"]: e for e in slots if isinstance(e, dict) and e.get("name") in kinds}
    names = [e["name"] for e in layers]
    for name in kinds:
        if name not in names:
            outcome.problems.append(f"{path}: field 'layers': slot {name} has no layer set")
    for name, entry in by_slot.items():
        outcome.problems += _entry_problems(path, entry, kinds[name], plan)
    for entry in layers:
        name = entry["name"]
        why = safe_relative(entry.get("dir"))
        if why or entry.get("dir") != layerexport.layer_dir(name):
            outcome.sets.append(SetResult(name, [f"{path}: layer {name}: field 'dir': {why or repr(entry.get('dir'))}, the writer uses {layerexport.layer_dir(name)!r}"]))
            continue
        set_dir = directory / entry["dir"]
        result = check_set(set_dir)
        result.name = name
        if result.ok:
            result.problems += _layer_meta_problems(set_dir, entry, by_slot.get(name))
        outcome.sets.append(result)
    if any(not r.ok for r in outcome.sets):
        return  # the chain reads the sets: only sets that passed their own check
    for name, problems in layerexport.chain_problems(directory, layers).items():
        result = next(r for r in outcome.sets if r.name == name)
        result.problems += problems
    linked = {e["name"]: sum(1 for s in (e.get("inputs") or {}).values() if isinstance(s, dict) and s.get("from") == "layer") for e in layers}
    for result in outcome.sets:
        if result.ok and linked.get(result.name):
            result.summary += "; inputs equal their producers' outputs"
    outcome.chained = sum(linked.values())


# ---------------------------------------------------------------------------------- rerun


def _weights_args(manifest: dict[str, Any], checkpoint: Path | None) -> list[str]:
    weights = manifest.get("weights")
    if weights == "seeded":
        if checkpoint is not None:
            raise Refused(f"--checkpoint {checkpoint}: the export was made from seeded weights, not from a checkpoint")
        return []
    if checkpoint is None:
        raise Refused(f"the export was made from weights with sha256 {weights}; give that file with --checkpoint F")
    if not checkpoint.is_file():
        raise Refused(f"--checkpoint {checkpoint}: no such file")
    if models.sha256_of(checkpoint) != weights:
        raise Refused(f"--checkpoint {checkpoint}: its sha256 differs from the export's weights ({weights})")
    return ["--checkpoint", str(checkpoint)]


def rerun_command(directory: Path, manifest: dict[str, Any], out: Path, checkpoint: Path | None, data: Path | None) -> list[str]:
    """The ``python -m refmodel.sim`` command that reproduces the export into ``out``."""
    calibration = manifest.get("calibration") or {}
    command = [sys.executable, "-m", "refmodel.sim", str(manifest["model"]), "--bits", str(manifest["bits"])]
    command += ["--seed", str(manifest.get("seed", 0)), "--calib-images", str(calibration.get("images"))]
    if "layers" in manifest:
        command += ["--layers", "all", "--vector-images", str(manifest.get("vector_images"))]
    else:
        command += ["--layers", "slots", "--max-rows", str(manifest.get("max_rows"))]
    command += _weights_args(manifest, checkpoint) + (["--data", str(data)] if data is not None else [])
    return command + ["--plan", str(directory / PLAN), "--out", str(out)]


def _relative_files(directory: Path) -> set[str]:
    return {(Path(root) / n).relative_to(directory).as_posix() for root, _, names in os.walk(directory) for n in names}


def _manifest_content(manifest_bytes: bytes) -> dict[str, Any]:
    manifest = json.loads(manifest_bytes)
    manifest.pop("digest", None)
    manifest.pop("files", None)  # every file is compared itself
    return manifest


def compare_trees(directory: Path, rerun: Path) -> list[str]:
    """Every file of the export against the rerun's, byte for byte, except :data:`NOT_RERUN`;
    ``manifest.json`` is compared without its file digests (every file is compared itself) and its own digest."""
    problems = []
    for rel in sorted((_relative_files(directory) | _relative_files(rerun)) - NOT_RERUN):
        mine, theirs = directory / rel, rerun / rel
        if not theirs.is_file():
            problems.append(f"{mine}: the rerun does not produce it")
        elif not mine.is_file():
            problems.append(f"{mine}: missing (the rerun produces it)")
        elif rel == MANIFEST:
            if _manifest_content(mine.read_bytes()) != _manifest_content(theirs.read_bytes()):
                a, b = _manifest_content(mine.read_bytes()), _manifest_content(theirs.read_bytes())
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                problems.append(f"{mine}: differs from the rerun's in: {', '.join(keys)}")
        elif mine.read_bytes() != theirs.read_bytes():
            problems.append(f"{mine}: differs from the rerun's ({_first_line_difference(theirs.read_bytes(), mine.read_bytes()) if rel.endswith(('.hex', '.svh', '.json')) else 'binary'})")
    return problems


def rerun(directory: Path, manifest: dict[str, Any], outcome: Outcome, checkpoint: Path | None, data: Path | None) -> list[str]:
    """Rerun the model into a temporary directory and fold the differences into
    ``outcome``; returns the lines to print before the result."""
    scratch = Path(tempfile.mkdtemp(prefix="refmodel-rerun."))
    try:
        command = rerun_command(directory, manifest, scratch / "export", checkpoint, data)
        shown = "python -m refmodel.sim " + " ".join(command[3:-2]) + " --out TMP"
        proc = subprocess.run(command, capture_output=True, text=True)
        if not (scratch / "export" / MANIFEST).is_file():
            last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
            outcome.problems.append(f"rerun failed (exit status {proc.returncode}): {last}")
            return [f"rerun: {shown}"]
        differences = compare_trees(directory, scratch / "export")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for problem in differences:
        owner = _owner(directory, outcome.sets, problem)
        (owner.problems if owner else outcome.problems).append(problem)
    skipped = " and ".join(sorted(n for n in NOT_RERUN if (directory / n).is_file()))
    return [f"rerun: {shown}: {len(differences)} file(s) differ from the export ({skipped} not compared)"]


# ------------------------------------------------------------------------------- command


def _path_argument(text: str | None, what: str) -> Path | None:
    if text is None:
        return None
    if not text.strip():
        raise Refused(f"{what}: empty path")
    return Path(text)


def command(directory: str, rerun_model: bool = False, checkpoint: str | None = None, data: str | None = None) -> int:
    """``vectors check``: print one line per problem and per set, then the result line;
    returns the exit status (0 all sets ok, 1 otherwise). :class:`Refused` for a bad
    argument."""
    root = _path_argument(directory, "DIR")
    weights, images = _path_argument(checkpoint, "--checkpoint"), _path_argument(data, "--data")
    if (weights is not None or images is not None) and not rerun_model:
        raise Refused("--checkpoint and --data are for --rerun")
    if not root.is_dir():
        raise Refused(f"{root}: no such directory")
    if not (root / MANIFEST).is_file():
        raise Refused(f"{root}: not a refmodel export (no {MANIFEST})")
    outcome, manifest = check(root)
    lines = []
    if rerun_model:
        if manifest is None or not outcome.ok:
            lines.append("rerun: not run (the export fails the check above)")
        else:
            _weights_args(manifest, weights)  # refuse a wrong checkpoint before the long run
            lines += rerun(root, manifest, outcome, weights, images)
    result = outcome.lines()
    for line in result[:-1] + lines + result[-1:]:
        print(line)
    return 0 if outcome.ok else 1
