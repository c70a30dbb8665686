"""One vector set on disk: the inputs an op sees, the outputs it must produce, and the
register values that produce them (the format of ``DESIGN.md``, "Vectors").

A set is a directory holding

- ``input.hex`` / ``output.hex``: one element per line (see :mod:`refmodel.hexio`), row-major
  in the order of ``meta.json``'s ``layout.shape``;
- a *shaped* set (an op with several inputs, an output shaped unlike its input, or the real
  input of ``quantize``) instead gives every tensor its own ``shape`` in ``meta.json``'s
  ``tensors`` and has one input file per input: ``input.hex`` for a single input,
  ``input_<name>.hex`` for each of several (``matmul``: ``input_a.hex``, ``input_b.hex``). A real
  input is written as the bit patterns of its float64 values (64-bit hex, ``"format":
  "float64"``), so it reads back exactly;
- ``cfg_<key>.hex``: one file per list-valued config constant (per-channel constants);
- ``dp_<key>.hex``: per-element values the op computes at run time (``Kernel.datapath``:
  FQ-ViT LayerNorm's ``M``, ``N``, ``B`` per token and channel), same layout as the input;
- ``vectors.npz``: the same integers as int64 arrays named ``input``, ``output``, ``cfg_<key>``;
- ``<name>.svh``: SystemVerilog ``define``s (counts, widths, file names, scalar constants, and
  ``RM_OP_<OP>`` naming the op as an identifier, e.g. ``RM_OP_IVIT_SOFTMAX``, so a testbench can
  select its DUT with ```ifdef``); file names are relative to the set directory;
- ``meta.json``: op, parameters, config, widths, rules, seed, version and the sha256 of every
  other file.

Files are byte-deterministic (sorted JSON keys, a fixed zip timestamp in the npz) and the
directory is built beside its destination and swapped into place (:mod:`refmodel.outdir`), so a set on disk is
complete or absent.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from refmodel import __version__, outdir
from refmodel.fixedpoint import signed_width
from refmodel.hexio import from_hex_array, from_hex_text, to_hex_text
from refmodel.ops.kernel import IntSpec, Kernel

FORMAT = "refmodel-vectors/1"
META = "meta.json"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class VectorSet:
    """An op's configured kernel with its input tensor (or tensors, by input name) and its
    expected output."""

    name: str
    kernel: Kernel
    inputs: np.ndarray | dict[str, np.ndarray]
    outputs: np.ndarray
    seed: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    #: Per-element run-time register values (``Kernel.datapath``), each of ``inputs``' shape.
    datapath: dict[str, np.ndarray] = field(default_factory=dict)


def identifier(name: str) -> str:
    """``name`` made a valid (upper-case) Verilog identifier fragment."""
    return re.sub(r"[^0-9A-Za-z_]", "_", name).upper()


def jsonable(value: Any) -> Any:
    """Parameters and config as plain JSON: arrays to lists, numpy scalars to Python."""
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive with a fixed timestamp, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[key], dtype=np.int64), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def npz_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive's bytes, by name (no pickles)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n.removesuffix(".npy"): np.lib.format.read_array(io.BytesIO(archive.read(n)), allow_pickle=False) for n in archive.namelist()}


def _with_width(arr: np.ndarray) -> tuple[np.ndarray, IntSpec]:
    """``arr`` flattened, with the smallest signed width (at least 2) that holds it."""
    arr = np.asarray(arr, dtype=np.int64).reshape(-1)
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    return arr, IntSpec(max(2, signed_width(lo, hi)), True)


def _config_tensors(config: dict[str, Any]) -> dict[str, tuple[np.ndarray, IntSpec]]:
    return {key: _with_width(value) for key, value in config.items() if isinstance(value, (list, tuple))}


def _verilog_int(value: int) -> str:
    if -(2**31) <= value < 2**31:
        return str(value)
    return f"-64'sd{-value}" if value < 0 else f"64'sd{value}"


def _svh_text(vs: VectorSet, cfg_files: dict[str, dict[str, Any]], dp_files: dict[str, dict[str, Any]], version: str) -> str:
    k = vs.kernel
    rows, cols = vs.inputs.reshape(-1, vs.inputs.shape[-1]).shape
    guard = f"RM_{identifier(vs.name)}_SVH"
    lines = [
        f"// refmodel {version}: vectors for {k.name}, set {vs.name}. Generated; do not edit.",
        f"`ifndef {guard}",
        f"`define {guard}",
        f'`define RM_OP "{k.name}"',
        f"`define RM_OP_{identifier(k.name)} 1",
        f"`define RM_ROWS {rows}",
        f"`define RM_COLS {cols}",
        f"`define RM_N_VECTORS {vs.inputs.size}",
        f"`define RM_IN_BITS {k.in_spec.bits}",
        f"`define RM_IN_SIGNED {int(k.in_spec.signed)}",
        f"`define RM_OUT_BITS {k.out_spec.bits}",
        f"`define RM_OUT_SIGNED {int(k.out_spec.signed)}",
        '`define RM_INPUT_FILE "input.hex"',
        '`define RM_OUTPUT_FILE "output.hex"',
    ]
    lines += _config_macros(k, cfg_files)
    for key, info in sorted(dp_files.items()):
        lines.append(f'`define RM_DP_{identifier(key)}_FILE "{info["file"]}"')
        lines.append(f"`define RM_DP_{identifier(key)}_BITS {info['bits']}")
    lines.append("`endif")
    _refuse_macro_clash(k, cfg_files, dp_files)
    return "\n".join(lines) + "\n"


def _config_macros(k: Kernel, cfg_files: dict[str, dict[str, Any]]) -> list[str]:
    """The ``.svh`` lines of ``k``'s config: file, width and count of a list-valued key, the
    value of a scalar one."""
    lines = []
    for key, value in sorted(k.config.items()):
        if key in cfg_files:
            info = cfg_files[key]
            lines.append(f'`define RM_CFG_{identifier(key)}_FILE "{info["file"]}"')
            lines.append(f"`define RM_CFG_{identifier(key)}_BITS {info['bits']}")
            lines.append(f"`define RM_CFG_{identifier(key)}_COUNT {info['count']}")
        else:
            lines.append(f"`define RM_CFG_{identifier(key)} {_verilog_int(int(value))}")
    return lines


def _refuse_macro_clash(k: Kernel, cfg_files: dict[str, dict[str, Any]], dp_files: dict[str, dict[str, Any]]) -> None:
    """Raise ``ValueError`` when two config or datapath keys of ``k`` would define the same
    ``.svh`` macro (a list key ``a`` defines ``RM_CFG_A_FILE``, ``RM_CFG_A_BITS`` and
    ``RM_CFG_A_COUNT``, so a scalar key ``a_bits`` would redefine the second; ``identifier``
    also folds case and punctuation). The fixed macros (``RM_OP``, ``RM_COLS``, ...) cannot
    clash: every key's macro starts with ``RM_CFG_`` or ``RM_DP_``."""
    owner: dict[str, str] = {}
    defined: list[tuple[str, str]] = []
    for key in k.config:
        base = f"RM_CFG_{identifier(key)}"
        names = [f"{base}_FILE", f"{base}_BITS", f"{base}_COUNT"] if key in cfg_files else [base]
        defined.extend((name, f"key {key!r}") for name in names)
    for key in dp_files:
        base = f"RM_DP_{identifier(key)}"
        defined.extend((name, f"datapath key {key!r}") for name in (f"{base}_FILE", f"{base}_BITS"))
    for name, source in defined:
        if name in owner:
            raise ValueError(
                f"config: {source} and {owner[name]} of op {k.name} both define the .svh macro `{name}; "
                "rename one of the keys (every macro must be defined once)"
            )
        owner[name] = source


def _add_config_files(k: Kernel, files: dict[str, bytes], arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Add ``cfg_<key>.hex`` (and its npz array) for every list-valued config key of ``k``;
    returns their ``meta.json`` entries by key."""
    cfg_files: dict[str, dict[str, Any]] = {}
    for key, (arr, spec) in _config_tensors(k.config).items():
        fname = f"cfg_{key}.hex"
        files[fname] = to_hex_text(arr, spec.bits, spec.signed).encode()
        arrays[f"cfg_{key}"] = arr
        cfg_files[key] = _spec_dict(spec, fname, arr.size)
    return cfg_files


def _spec_dict(spec: IntSpec, file: str, count: int) -> dict[str, Any]:
    return {"file": file, "bits": spec.bits, "signed": spec.signed, "count": count}


def _meta_bytes(
    meta: dict[str, Any], vs: VectorSet, files: dict[str, bytes], cfg_files: dict[str, Any], dp_files: dict[str, Any], method_rules: str, svh_name: str, git_revision: str | None
) -> bytes:
    """``meta.json``: ``meta`` (format, name, op, layout, tensors) with the fields every set
    has: config, parameters, rules, seed, notes, the sha256 of every other file."""
    k = vs.kernel
    meta = dict(
        meta,
        config=jsonable(k.config),
        config_files=cfg_files,
        datapath_files=dp_files,
        params=jsonable(k.params),
        scale_out=jsonable(k.scale_out),
        rules=method_rules,
        svh=svh_name,
        seed=vs.seed,
        notes=jsonable(vs.notes),
        sha256={fname: hashlib.sha256(data).hexdigest() for fname, data in sorted(files.items())},
    )
    if git_revision is not None:
        meta["git_revision"] = git_revision
    return (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode()


def render(vs: VectorSet, *, method_rules: str, git_revision: str | None = None, version: str = __version__) -> dict[str, bytes]:
    """The bytes of every file of the set ``vs`` (``meta.json`` included), by file name: what
    :func:`write` puts on disk and what a check rebuilds from ``meta.json`` and ``input.hex``.
    ``version`` is the refmodel version recorded in the header lines."""
    k = vs.kernel
    if is_shaped(k, vs.inputs, vs.outputs):
        return _render_shaped(vs, method_rules=method_rules, git_revision=git_revision, version=version)
    if vs.inputs.shape != vs.outputs.shape:
        raise ValueError(f"outputs: shape {vs.outputs.shape} differs from inputs {vs.inputs.shape}")
    files: dict[str, bytes] = {
        "input.hex": to_hex_text(vs.inputs.reshape(-1), k.in_spec.bits, k.in_spec.signed).encode(),
        "output.hex": to_hex_text(vs.outputs.reshape(-1), k.out_spec.bits, k.out_spec.signed).encode(),
    }
    arrays = {"input": vs.inputs, "output": vs.outputs}
    cfg_files = _add_config_files(k, files, arrays)
    dp_files: dict[str, dict[str, Any]] = {}
    for key, values in sorted(vs.datapath.items()):
        if np.shape(values) != vs.inputs.shape:
            raise ValueError(f"datapath: {key} has shape {np.shape(values)}, expected the inputs' {vs.inputs.shape}")
        arr, spec = _with_width(values)
        fname = f"dp_{key.lower()}.hex"
        files[fname] = to_hex_text(arr, spec.bits, spec.signed).encode()
        arrays[f"dp_{key.lower()}"] = arr.reshape(vs.inputs.shape)
        dp_files[key] = _spec_dict(spec, fname, arr.size)
    files["vectors.npz"] = npz_bytes(arrays)
    svh_name = f"{identifier(vs.name).lower()}.svh"
    files[svh_name] = _svh_text(vs, cfg_files, dp_files, version).encode()
    meta = {
        "format": FORMAT,
        "name": vs.name,
        "op": k.name,
        "method": k.name.split(".")[0],
        "refmodel_version": version,
        "layout": {"shape": list(vs.inputs.shape), "order": "row-major", "reduction_axis": -1},
        "tensors": {
            "input": _spec_dict(k.in_spec, "input.hex", vs.inputs.size),
            "output": _spec_dict(k.out_spec, "output.hex", vs.outputs.size),
        },
    }
    files[META] = _meta_bytes(meta, vs, files, cfg_files, dp_files, method_rules, svh_name, git_revision)
    return files


FLOAT64 = "float64"


def is_shaped(kernel: Kernel, inputs: np.ndarray | dict[str, np.ndarray], outputs: np.ndarray) -> bool:
    """Whether a set of ``kernel`` needs the shaped form: several inputs (given by name), a
    real input (``quantize``), or an output shape other than the input's."""
    if isinstance(inputs, dict) or len(kernel.inputs) != 1:
        return True
    return tuple(np.shape(inputs)) != tuple(np.shape(outputs))


def input_roles(kernel: Kernel) -> dict[str, str]:
    """Input name -> role in ``meta.json``'s ``tensors`` (and file ``<role>.hex``): ``input`` for
    a single input, ``input_<name>`` for each of several. ``quantize``'s real input is ``x``."""
    names = kernel.inputs or ("x",)
    return {names[0]: "input"} if len(names) == 1 else {n: f"input_{n}" for n in names}


def _named_inputs(kernel: Kernel, inputs: np.ndarray | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    roles = input_roles(kernel)
    named = inputs if isinstance(inputs, dict) else {next(iter(roles)): inputs}
    if set(named) != set(roles):
        raise ValueError(f"inputs: {kernel.name} takes {', '.join(roles)}, got {', '.join(named)}")
    return {n: np.asarray(named[n]) for n in roles}


def _tensor_file(role: str, values: np.ndarray, spec: IntSpec | None) -> tuple[bytes, dict[str, Any], np.ndarray]:
    """The hex bytes, ``meta.json`` entry and npz array of one tensor; ``spec`` ``None`` for a
    real tensor (float64 bit patterns)."""
    fname = f"{role}.hex"
    if spec is None:
        bits = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).view(np.int64)
        entry = {"file": fname, "bits": 64, "signed": True, "count": int(values.size), "shape": list(values.shape), "format": FLOAT64}
        return to_hex_text(bits, 64, True).encode(), entry, bits.reshape(values.shape)
    entry = dict(_spec_dict(spec, fname, int(values.size)), shape=list(values.shape))
    return to_hex_text(values.reshape(-1), spec.bits, spec.signed).encode(), entry, values


def _dims_lines(role: str, entry: dict[str, Any]) -> list[str]:
    base = f"RM_{identifier(role)}"
    lines = [f'`define {base}_FILE "{entry["file"]}"', f"`define {base}_BITS {entry['bits']}", f"`define {base}_SIGNED {int(entry['signed'])}", f"`define {base}_COUNT {entry['count']}", f"`define {base}_DIMS {len(entry['shape'])}"]
    return lines + [f"`define {base}_DIM{i} {n}" for i, n in enumerate(entry["shape"])]


def _render_shaped(vs: VectorSet, *, method_rules: str, git_revision: str | None, version: str) -> dict[str, bytes]:
    """:func:`render` for a shaped set (see the module docstring): one file per input, every
    tensor with its shape; the ``.svh`` defines ``RM_<ROLE>_FILE``, ``_BITS``, ``_SIGNED``,
    ``_COUNT``, ``_DIMS`` and ``_DIM<i>`` for every tensor, ``RM_ROWS``/``RM_COLS`` of the
    output."""
    k = vs.kernel
    if vs.datapath:
        raise ValueError(f"datapath: a shaped set of {k.name} cannot hold per-element datapath values")
    named = _named_inputs(k, vs.inputs)
    roles = input_roles(k)
    files: dict[str, bytes] = {}
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, dict[str, Any]] = {}
    for name, role in roles.items():
        data, entry, array = _tensor_file(role, named[name], k.in_specs.get(name))
        files[entry["file"]], tensors[role], arrays[role] = data, entry, array
    files["output.hex"], tensors["output"], arrays["output"] = _tensor_file("output", np.asarray(vs.outputs), k.out_spec)
    cfg_files = _add_config_files(k, files, arrays)
    files["vectors.npz"] = npz_bytes(arrays)
    svh_name = f"{identifier(vs.name).lower()}.svh"
    out = tensors["output"]
    header = [
        f"// refmodel {version}: vectors for {k.name}, set {vs.name}. Generated; do not edit.",
        f"`ifndef RM_{identifier(vs.name)}_SVH",
        f"`define RM_{identifier(vs.name)}_SVH",
        f'`define RM_OP "{k.name}"',
        f"`define RM_OP_{identifier(k.name)} 1",
        f"`define RM_ROWS {out['count'] // max(out['shape'][-1], 1) if out['shape'] else 1}",
        f"`define RM_COLS {out['shape'][-1] if out['shape'] else 1}",
        f"`define RM_N_VECTORS {out['count']}",
        f"`define RM_OUT_BITS {k.out_spec.bits}",
        f"`define RM_OUT_SIGNED {int(k.out_spec.signed)}",
    ]
    for role in list(roles.values()) + ["output"]:
        header += _dims_lines(role, tensors[role])
    header += _config_macros(k, cfg_files)
    _refuse_macro_clash(k, cfg_files, {})
    files[svh_name] = ("\n".join(header + ["`endif"]) + "\n").encode()
    meta = {
        "format": FORMAT,
        "name": vs.name,
        "op": k.name,
        "method": k.name.split(".")[0],
        "refmodel_version": version,
        "layout": {"order": "row-major", "shaped": True},
        "tensors": tensors,
    }
    files[META] = _meta_bytes(meta, vs, files, cfg_files, {}, method_rules, svh_name, git_revision)
    return files


def _read_tensor(name: str, entry: dict[str, Any], text: str) -> np.ndarray:
    """One tensor of a shaped set from its hex text, at the width and shape of ``entry``;
    ``ValueError`` names the file."""
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ValueError(f"meta.json: field 'tensors.{name}.shape': expected a list of non-negative integers, got {shape!r}")
    try:
        values = from_hex_array(text, entry["bits"], entry["signed"])
    except ValueError as exc:
        raise ValueError(f"{entry['file']}: {exc}") from None
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{entry['file']}: {values.size} elements, meta.json's shape {shape} holds {int(np.prod(shape))}")
    values = values.reshape(shape)
    return values.view(np.float64) if entry.get("format") == FLOAT64 else values


def input_files(meta: dict[str, Any]) -> list[str]:
    """The input files a set's rebuild reads: ``input.hex``, or one per input of a shaped set."""
    tensors = meta.get("tensors", {}) if isinstance(meta, dict) else {}
    if not (isinstance(meta.get("layout"), dict) and meta["layout"].get("shaped")):
        return ["input.hex"]
    return sorted(entry["file"] for role, entry in tensors.items() if role != "output" and isinstance(entry, dict) and "file" in entry)


def _rebuild_shaped(meta: dict[str, Any], texts: dict[str, str]) -> dict[str, bytes]:
    from refmodel import ops

    kernel = ops.make(meta["op"], **meta["params"])
    named = {}
    for name, role in input_roles(kernel).items():
        entry = meta["tensors"].get(role)
        if not isinstance(entry, dict) or entry.get("file") != f"{role}.hex":
            raise ValueError(f"meta.json: field 'tensors.{role}': expected the entry of file {role}.hex")
        if (entry.get("format") == FLOAT64) != (name not in kernel.in_specs):
            raise ValueError(f"meta.json: field 'tensors.{role}.format': {kernel.name}'s input {name} is {'real (float64)' if name not in kernel.in_specs else 'an integer'}")
        named[name] = _read_tensor(role, entry, texts.get(entry["file"], ""))
    outputs = kernel.sim(named["x"]) if not kernel.inputs else kernel.sim(**named)
    vs = VectorSet(meta["name"], kernel, named, outputs, seed=meta["seed"], notes=meta["notes"])
    return render(vs, method_rules=meta["rules"], git_revision=meta.get("git_revision"), version=meta["refmodel_version"])


def rebuild(meta: dict[str, Any], input_text: str | dict[str, str]) -> dict[str, bytes]:
    """The files of a set as the writer produces them from ``meta.json``'s op, parameters,
    layout shape, name, seed, notes, rules and versions and the text of ``input.hex``: the
    kernel is rebuilt from the parameters, ``input.hex`` is read at the kernel's input width,
    the outputs and datapath values are the kernel's Numba results. ``ValueError`` names the
    field or file for parameters the op refuses, a bad shape or a malformed input file. A
    shaped set takes the text of each of its :func:`input_files` by file name."""
    from refmodel import ops

    texts = input_text if isinstance(input_text, dict) else {"input.hex": input_text}
    if isinstance(meta.get("layout"), dict) and meta["layout"].get("shaped"):
        return _rebuild_shaped(meta, texts)
    input_text = texts.get("input.hex", "")
    kernel = ops.make(meta["op"], **meta["params"])
    shape = meta["layout"]["shape"]
    if not isinstance(shape, list) or not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ValueError(f"meta.json: field 'layout.shape': expected a list of positive integers, got {shape!r}")
    try:
        values = from_hex_text(input_text, kernel.in_spec.bits, kernel.in_spec.signed)
    except ValueError as exc:
        raise ValueError(f"input.hex: {exc} (the op's input is {kernel.in_spec.describe()})") from None
    if len(values) != int(np.prod(shape)):
        raise ValueError(f"input.hex: {len(values)} elements, meta.json's layout.shape {shape} holds {int(np.prod(shape))}")
    inputs = np.asarray(values, dtype=np.int64).reshape(shape)
    vs = VectorSet(meta["name"], kernel, inputs, kernel.sim(inputs), seed=meta["seed"], notes=meta["notes"], datapath=kernel.datapath(inputs))
    return render(vs, method_rules=meta["rules"], git_revision=meta.get("git_revision"), version=meta["refmodel_version"])


def write(directory: Path, vs: VectorSet, *, method_rules: str, git_revision: str | None = None) -> Path:
    """Write ``vs`` as a complete set at ``directory`` (replacing an older set there)."""
    directory = Path(directory)
    files = render(vs, method_rules=method_rules, git_revision=git_revision)
    with outdir.staged(directory) as staging:
        for fname, data in files.items():
            (staging / fname).write_bytes(data)
    return directory


def read(directory: Path) -> tuple[dict[str, Any], np.ndarray | dict[str, np.ndarray], np.ndarray]:
    """``(meta, inputs, outputs)`` of the set at ``directory``, from its hex files; the inputs
    of a shaped set with several inputs by role (``input_a``, ...).

    Raises ``ValueError`` naming the file for a missing, malformed or tampered file.
    """
    directory = Path(directory)
    meta_path = directory / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{meta_path}: missing") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from None
    for fname, digest in meta.get("sha256", {}).items():
        path = directory / fname
        if not path.exists():
            raise ValueError(f"{path}: missing")
        if sha256_file(path) != digest:
            raise ValueError(f"{path}: sha256 differs from meta.json (file edited or truncated)")
    if meta["layout"].get("shaped"):
        found = {role: _read_tensor(role, entry, (directory / entry["file"]).read_text()) for role, entry in meta["tensors"].items()}
        outputs = found.pop("output")
        return meta, (found["input"] if list(found) == ["input"] else found), outputs
    shape = tuple(meta["layout"]["shape"])
    tensors = []
    for role in ("input", "output"):
        spec = meta["tensors"][role]
        path = directory / spec["file"]
        try:
            values = from_hex_text(path.read_text(), spec["bits"], spec["signed"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if len(values) != int(np.prod(shape)):
            raise ValueError(f"{path}: {len(values)} elements, expected {int(np.prod(shape))}")
        tensors.append(np.asarray(values, dtype=np.int64).reshape(shape))
    return meta, tensors[0], tensors[1]
