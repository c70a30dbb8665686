"""Hardware cost of every op's reference RTL: area from Yosys, cycles from simulation.

``python -m refmodel.cost`` synthesises each op's RTL (``rtl_vectors/rtl/``) with Yosys at one
fixed configuration per op (:data:`CONFIGS`: the default widths, DeiT-T's row lengths), with
the generic flow::

    read_verilog -sv <the op's sources>; chparam <parameters>; synth -flatten -top <module>
    abc -fast -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX; opt_clean; stat

and reports cells, flip-flops and a NAND2-equivalent area (:data:`NAND2_WEIGHTS`). It then
simulates the op's testbench (``refmodel.rtl``) without handshake bubbles on one and on three
rows of the configured length, and reports the steady-state cycles per row (the difference
divided by two), the first row's latency and the elements per cycle.

Synthesis is slow (about a minute per op), so the results live in a committed JSON table
(:data:`TABLE`), each op's entry keyed by :func:`digest`: a SHA-256 of its RTL sources, the
synthesis script, the configuration and the gate weights. The command reuses every entry whose
digest matches and re-measures the others (``--force``: all of them), rewrites the table and
prints it; ``--check`` only verifies that every entry is current, naming the ops whose RTL
changed since the table was made (exit 1), which is what CI runs through the test suite.

Per-channel constants (LayerNorm's biases and signs, i-GELU's constants) come from register
files outside the blocks (as the testbench provides them) and are not counted; so do
``gemm``'s weights and bias (a weight memory read through the block's port: the block holds
only its row buffer and one multiply-accumulate unit, so its area does not grow with ``N``). The tables of
the ``lut`` ops are register files inside their blocks (loaded through a write port), so
their flip-flops and read multiplexers are counted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from refmodel import ops, rtl, vectorset
from refmodel.fixedpoint import signed_width
from refmodel.ops.kernel import Kernel

TABLE = rtl.RTL_ROOT / "cost.json"
YOSYS_HINT = "install Yosys: apt-get install -y yosys"

#: The gate library ``abc`` maps to.
GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"

#: Area of each Yosys internal cell in NAND2 equivalents: typical ratios of a CMOS standard-cell
#: library (an inverter 2/3 of a NAND2, an XOR or a 2:1 mux 7/3, a D flip-flop 13/3). A
#: flip-flop with an enable adds a mux, one with a synchronous set or reset an AND gate.
NAND2_WEIGHTS: dict[str, float] = {
    "NOT": 0.67,
    "NAND": 1.0,
    "NOR": 1.0,
    "AND": 1.33,
    "OR": 1.33,
    "ANDNOT": 1.33,
    "ORNOT": 1.33,
    "XOR": 2.33,
    "XNOR": 2.33,
    "MUX": 2.33,
    "DFF": 4.33,
    "ENABLE": 2.33,
    "SYNC_RESET": 1.33,
}

SYNTH_SCRIPT = """read_verilog -sv {sources}
{chparams}
synth -flatten -top {top}
abc -fast -g {gates}
opt_clean
tee -q -o {stat} stat -json
"""


class YosysMissing(RuntimeError):
    """``yosys`` is not on ``PATH``."""


@dataclass(frozen=True)
class CostConfig:
    """One op's cost configuration: how to build its kernel and the row length to time."""

    make: Callable[[int], Kernel]     # row length -> kernel
    row_length: int
    note: str


#: The configuration of every op with RTL: default widths; the scales of a DeiT-T export;
#: DeiT-T's row lengths (197 tokens per attention row, 192 channels per LayerNorm row, 768
#: channels per GELU row, 192 per requantised row).
#: Output row length of ``matmul``'s configuration: DeiT-T's 197 tokens (the scores ``q k^T``).
MATMUL_COLUMNS = 197
#: Output row length of ``fqvit.attend``'s configuration: DeiT-T's head dimension (``P V``).
ATTEND_COLUMNS = 64


def _gemm(k: int, n: int = 192) -> Kernel:
    """A DeiT-T-sized linear layer (attn.proj: ``K = N = 192``), seeded 8-bit weights, zero bias."""
    weight = np.random.default_rng(0).integers(-128, 128, size=(n, k))
    return ops.make("gemm", weight=weight, scale_in=0.05, scale_w=np.full(n, 0.01), in_bits=8, w_bits=8)


CONFIGS: dict[str, CostConfig] = {
    "requant": CostConfig(lambda c: ops.make("requant", scale_in=np.full(c, 1e-4), scale_out=0.05, out_bits=8, signed=True, in_bits=32), 192, "32 -> 8 bits"),
    "ibert.softmax": CostConfig(lambda c: ops.make("ibert.softmax", scale_in=0.0034, out_bits=16, n=30, in_bits=8), 197, "8 -> 16 bits, n = 30"),
    "ivit.softmax": CostConfig(lambda c: ops.make("ivit.softmax", scale_in=0.0034, out_bits=16, n=15, in_bits=8), 197, "8 -> 16 bits, n = 15"),
    "fqvit.softmax": CostConfig(lambda c: ops.make("fqvit.softmax", scale_in=0.0034, out_bits=6, in_bits=8), 197, "8 bits -> 6-bit codes"),
    "ibert.gelu": CostConfig(lambda c: ops.make("ibert.gelu", scale_in=np.full(c, 1e-4), in_bits=32), 768, "32 -> 49 bits"),
    "ivit.gelu": CostConfig(lambda c: ops.make("ivit.gelu", scale_in=0.02, sig_bits=8, n=23, in_bits=8), 768, "8 -> 15 bits, sigmoid 8 bits"),
    "ibert.layernorm": CostConfig(
        lambda c: ops.make("ibert.layernorm", scale_in=1e-4, gamma=np.ones(c), beta=np.zeros(c), shift=0, in_bits=16), 192, "16 -> 32 bits"
    ),
    "ivit.layernorm": CostConfig(
        lambda c: ops.make("ivit.layernorm", scale_in=1e-4, gamma=np.ones(c), beta=np.zeros(c), iters=10, in_bits=16),
        192,
        "16 -> 32 bits, 10 Newton steps",
    ),
    "fqvit.layernorm": CostConfig(
        lambda c: ops.make(
            "fqvit.layernorm", scale_in=0.01 * 2.0 ** (np.arange(c) % 4), zero_point=128, gamma=np.ones(c), beta=np.zeros(c),
            scale_out=0.05, in_bits=8,
        ),
        192,
        "8 -> 11 bits, PTF shifts 0..3",
    ),
    # The table ops at a model's wiring: GELU's table straight to 8 fractional bits more than
    # its 8-bit input (256 entries of 16 bits); the exp table of an 8-bit score at F = 16 (all
    # 256 entries non-zero at this scale); the rsqrt table at table_bits = 8 (256 entries).
    "lut.gelu": CostConfig(lambda c: ops.make("lut.gelu", scale_in=0.05, scale_out=0.05 / 256, in_bits=8, out_bits=16), 768, "8 -> 16 bits, 256-entry table"),
    "lut.softmax": CostConfig(
        lambda c: ops.make("lut.softmax", scale_in=0.0034, in_bits=8, out_bits=16, frac_bits=16), 197, "8 -> 16 bits, F = 16, 256-entry table"
    ),
    "lut.layernorm": CostConfig(
        lambda c: ops.make("lut.layernorm", scale_in=1e-4, gamma=np.ones(c), beta=np.zeros(c), shift=0, in_bits=16, table_bits=8),
        192,
        "16 -> 32 bits, 256-entry table",
    ),
    # The whole-network ops at DeiT-T's shapes: a row is an input row (K for gemm and matmul).
    "gemm": CostConfig(_gemm, 192, "8 x 8 -> 32 bits, K = N = 192 (attn.proj), weights outside"),
    "matmul": CostConfig(
        lambda c: ops.make("matmul", scale_a=0.05, scale_b=0.05, depth=c), 64, f"8 x 8 -> 32 bits, q k^T: K = 64, N = {MATMUL_COLUMNS}"
    ),
    "requant_add": CostConfig(
        lambda c: ops.make("requant_add", scale_a=np.full(c, 1e-4), scale_b=2e-3, scale_out=4e-3, out_bits=16, a_bits=32, b_bits=16),
        192,
        "32 + 16 -> 16 bits, residual join",
    ),
    "fqvit.attend": CostConfig(
        lambda c: ops.make("fqvit.attend", scale_v=0.02, depth=c, code_bits=6, v_bits=8, frac_bits=16),
        197,
        f"6-bit codes x 8-bit V -> 32 bits, F = 16, P V: K = 197, N = {ATTEND_COLUMNS}",
    ),
    # The image entering the network: reals in [-1, 1] (float64 patterns) to 8 bits, a row of
    # DeiT-T's 224 x 224 input.
    "quantize": CostConfig(lambda c: ops.make("quantize", scale=1 / 127, bits=8, signed=True), 224, "float64 -> 8 bits, image rows"),
    # I-BERT GELU's 49-bit output requantised to the next 8-bit activation (fc2's input): 768
    # channels per row, shifts around 62.
    "requant_wide": CostConfig(
        lambda c: ops.make("requant_wide", scale_in=np.full(c, 1e-12), scale_out=0.0036, out_bits=8, signed=True, in_bits=49),
        768,
        "49 -> 8 bits (after I-BERT GELU)",
    ),
}


def _width(values: Any) -> int:
    v = np.atleast_1d(np.asarray(values, dtype=np.int64))
    return signed_width(int(v.min()), int(v.max()))


def dut_parameters(kernel: Kernel, cols: int) -> tuple[str, dict[str, int]]:
    """The top module and Verilog parameters of ``kernel``'s RTL for rows of ``cols`` (the
    values the testbench adapters pass from a vector set's ``.svh``)."""
    k, op = kernel.config, kernel.name
    ib = kernel.in_spec.bits if len(kernel.inputs) == 1 else 0   # two-input ops name their widths below
    ob = kernel.out_spec.bits
    if op == "requant":
        return "rm_requant", {"IN_BITS": ib, "OUT_BITS": ob, "OUT_SIGNED": int(k["signed"]), "C_BITS": 8, "ZP": int(k["zero_point"])}
    if op == "ibert.softmax":
        return "rm_ibert_softmax", {
            "COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "X0": k["x0"], "BQ": k["bq"], "CQ": k["cq"],
            "N": k["n"], "M16": k["m"], "C16": k["c"], "OUT_SHIFT": k["out_shift"],
        }
    if op == "ivit.softmax":
        return "rm_shiftmax", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "X0": k["x0"], "N": k["n"], "SHIFT": k["shift"]}
    if op == "fqvit.softmax":
        return "rm_fqvit_softmax", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "X0": k["x0"], "BQ": k["bq"], "CQ": k["cq"]}
    if op == "ibert.gelu":
        return "rm_ibert_gelu", {
            "IN_BITS": ib, "OUT_BITS": ob, "BG_BITS": _width(k["bg"]), "CG_BITS": _width(k["cg"]), "ONE_BITS": _width(k["one"]),
        }
    if op == "ivit.gelu":
        return "rm_ivit_gelu", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "X0": k["x0"], "N": k["n"], "SHIFT": k["shift"]}
    if op == "ibert.layernorm":
        return "rm_ibert_layernorm", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "SHIFT": k["shift"]}
    if op == "ivit.layernorm":
        return "rm_ivit_layernorm", {
            "COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "ITERS": k["iters"], "K0": k["k0"], "NUMERATOR": k["numerator"],
        }
    if op == "fqvit.layernorm":
        return "rm_fqvit_layernorm", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "ZP": k["zero_point"]}
    if op == "lut.gelu":
        return "rm_lut_gelu", {"IN_BITS": ib, "OUT_BITS": ob}
    if op == "lut.softmax":
        return "rm_lut_softmax", {
            "COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "FRAC_BITS": k["frac_bits"], "OUT_SHIFT": k["out_shift"], "TLEN": len(k["table"]),
        }
    if op == "lut.layernorm":
        return "rm_lut_layernorm", {"COLS": cols, "IN_BITS": ib, "OUT_BITS": ob, "SHIFT": k["shift"], "K": k["index_bits"]}
    if op == "gemm":
        return "rm_gemm", {"K": cols, "N": len(k["bias"]), "IN_BITS": k["in_bits"], "W_BITS": k["w_bits"], "ACC_BITS": k["acc_bits"]}
    if op == "matmul":
        return "rm_matmul", {
            "K": k["depth"], "N": MATMUL_COLUMNS, "A_BITS": k["a_bits"], "A_SIGNED": k["a_signed"], "B_BITS": k["b_bits"],
            "B_SIGNED": k["b_signed"], "ACC_BITS": k["acc_bits"],
        }
    if op == "quantize":
        return "rm_quantize", {"OUT_BITS": ob, "OUT_SIGNED": int(k["signed"]), "ZP": int(k["zero_point"])}
    if op == "fqvit.attend":
        return "rm_fqvit_attend", {
            "K": k["depth"], "N": ATTEND_COLUMNS, "CODE_BITS": k["code_bits"], "V_BITS": k["v_bits"], "F": k["frac_bits"],
            "ACC_BITS": k["acc_bits"],
        }
    if op == "requant_wide":
        return "rm_requant_wide", {"IN_BITS": ib, "OUT_BITS": ob, "OUT_SIGNED": int(k["signed"]), "C_BITS": 8}
    if op == "requant_add":
        return "rm_requant_add", {"A_BITS": k["a_bits"], "B_BITS": k["b_bits"], "OUT_BITS": ob, "OUT_SIGNED": k["signed"], "C_BITS": 8}
    raise ValueError(f"op {op!r} has no RTL cost configuration; configured ops: {', '.join(sorted(CONFIGS))}")


def digest(op: str, rtl_dir: Path = rtl.RTL_DIR) -> str:
    """SHA-256 of everything an entry depends on: the op's RTL sources (as found in
    ``rtl_dir``), the synthesis script, the gate weights, the configuration's parameters."""
    cfg = CONFIGS[op]
    top, params = dut_parameters(cfg.make(cfg.row_length), cfg.row_length)
    h = hashlib.sha256()
    for name in rtl.DUT_SOURCES[op]:
        h.update(name.encode() + b"\0" + (Path(rtl_dir) / name).read_bytes() + b"\0")
    h.update(json.dumps([SYNTH_SCRIPT, GATES, NAND2_WEIGHTS, top, params, cfg.row_length], sort_keys=True).encode())
    return h.hexdigest()


def nand2_area(cells_by_type: dict[str, int]) -> tuple[float, int]:
    """``(area in NAND2 equivalents, flip-flop count)`` of Yosys ``stat`` cell counts."""
    area, flops = 0.0, 0
    for cell, count in cells_by_type.items():
        name = cell.strip("$_")
        if "DFF" in name:
            kind = name.split("_")[0]                  # DFF, DFFE, SDFF, SDFFE, SDFFCE
            w = NAND2_WEIGHTS["DFF"]
            w += NAND2_WEIGHTS["ENABLE"] if kind.endswith("E") else 0.0
            w += NAND2_WEIGHTS["SYNC_RESET"] if kind.startswith("S") else 0.0
            area += w * count
            flops += count
        elif name in NAND2_WEIGHTS:
            area += NAND2_WEIGHTS[name] * count
        else:
            raise ValueError(f"cell type {cell!r} is not in the gate library {GATES}")
    return area, flops


def _verilog_literal(value: int) -> str:
    """``value`` as ``chparam`` accepts it: decimal, or a 64-bit signed binary literal for a
    negative value (which sign-extends or truncates to the parameter's width unchanged)."""
    return str(value) if value >= 0 else f"64'sb{value & ((1 << 64) - 1):064b}"


def synthesise(op: str) -> dict[str, Any]:
    """Run the Yosys flow on ``op``'s RTL at its configuration; cells, flip-flops, area."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise YosysMissing(f"yosys not found on PATH: {YOSYS_HINT}")
    cfg = CONFIGS[op]
    top, params = dut_parameters(cfg.make(cfg.row_length), cfg.row_length)
    with tempfile.TemporaryDirectory(prefix="refmodel-cost-") as tmp:
        stat = Path(tmp) / "stat.json"
        script = SYNTH_SCRIPT.format(
            sources=" ".join(str(p) for p in rtl.dut_sources(op)),
            chparams="\n".join(f"chparam -set {k} {_verilog_literal(int(v))} {top}" for k, v in params.items()),
            top=top,
            gates=GATES,
            stat=stat,
        )
        (Path(tmp) / "synth.ys").write_text(script)
        start = time.monotonic()
        run = subprocess.run([yosys, "-q", "-s", str(Path(tmp) / "synth.ys")], capture_output=True, text=True)
        seconds = time.monotonic() - start
        if run.returncode != 0:
            raise RuntimeError(f"{op}: yosys failed (status {run.returncode}):\n{run.stdout}{run.stderr}")
        cells_by_type = json.loads(stat.read_text())["design"]["num_cells_by_type"]
    area, flops = nand2_area(cells_by_type)
    return {
        "top": top,
        "parameters": params,
        "cells": sum(cells_by_type.values()),
        "flip_flops": flops,
        "nand2_area": round(area, 1),
        "synth_seconds": round(seconds, 1),
    }


def measure_cycles(op: str, workdir: Path) -> dict[str, Any]:
    """Cycles per row (steady state), first-row latency and elements per cycle of ``op``'s RTL
    at its configured row length, from two bubble-free testbench runs (one row, three rows)."""
    cfg = CONFIGS[op]
    kernel = cfg.make(cfg.row_length)
    totals = {}
    for rows in (1, 3):
        name = f"{op}-{rows}rows"
        x = timing_inputs(kernel, rows, cfg.row_length)
        out = kernel.sim(**x) if isinstance(x, dict) else kernel.sim(x)
        vs = vectorset.VectorSet(name, kernel, x, out, seed=0)
        set_dir = vectorset.write(workdir / name, vs, method_rules="refmodel.cost timing")
        r = rtl.run_testbench(set_dir, workdir / "build", stall=False)
        if not r.passed or r.cycles is None:
            raise RuntimeError(f"{op}: the timing run failed ({r.errors} errors):\n{r.log}")
        totals[rows] = r
    per_row = (totals[3].cycles - totals[1].cycles) // 2
    return {
        "row_length": cfg.row_length,
        "cycles_per_row": per_row,
        "first_latency": totals[1].first_latency,
        "elements_per_cycle": round(cfg.row_length / per_row, 4),
    }


def _uniform(rng: np.random.Generator, spec: Any, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(spec.lo, spec.hi + 1, size=shape, dtype=np.int64)


def timing_inputs(kernel: Kernel, rows: int, row_length: int) -> np.ndarray | dict[str, np.ndarray]:
    """Seeded uniform inputs of ``rows`` rows of ``row_length`` for a timing run (the first
    rows of three are the same at every ``rows``): ``x``, or ``a`` and ``b`` by name
    (``matmul``'s ``b`` of ``row_length x MATMUL_COLUMNS``, one batch), or ``fqvit.attend``'s
    ``codes`` and ``v`` (``row_length x ATTEND_COLUMNS``), or ``quantize``'s reals in [-1, 1]."""
    rng = np.random.default_rng(0)
    if kernel.name == "quantize":   # a real input
        return rng.uniform(-1.0, 1.0, (3, row_length))[:rows]
    if len(kernel.inputs) < 2:
        return _uniform(rng, kernel.in_spec, (3, row_length))[:rows]
    if kernel.name == "fqvit.attend":
        codes = _uniform(rng, kernel.in_specs["codes"], (3, row_length))[:rows]
        return {"codes": codes, "v": _uniform(rng, kernel.in_specs["v"], (row_length, ATTEND_COLUMNS))}
    a = _uniform(rng, kernel.in_specs["a"], (3, row_length))[:rows]
    b_shape = (row_length, MATMUL_COLUMNS) if kernel.name == "matmul" else (3, row_length)
    b = _uniform(rng, kernel.in_specs["b"], b_shape)
    return {"a": a, "b": b if kernel.name == "matmul" else b[:rows]}


def load_table(path: Path = TABLE) -> dict[str, Any]:
    """The cost table at ``path`` (``{"ops": {}}`` when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return {"ops": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def stale_ops(table: dict[str, Any], rtl_dir: Path = rtl.RTL_DIR) -> list[str]:
    """The ops with RTL whose table entry is missing or whose digest no longer matches."""
    entries = table.get("ops", {})
    return [op for op in rtl.SUPPORTED_OPS if entries.get(op, {}).get("digest") != digest(op, rtl_dir)]


def render(table: dict[str, Any]) -> str:
    """The table as aligned text, one line per op."""
    head = ("op", "configuration", "cells", "flip-flops", "NAND2 eq.", "row", "cycles/row", "latency", "elem/cycle", "synth s")
    rows = [head]
    for op in sorted(table["ops"]):
        e = table["ops"][op]
        rows.append((
            op, CONFIGS[op].note, str(e["cells"]), str(e["flip_flops"]), f"{e['nand2_area']:.0f}", str(e["row_length"]),
            str(e["cycles_per_row"]), str(e["first_latency"]), f"{e['elements_per_cycle']:.4f}", f"{e['synth_seconds']:.0f}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def _write_table(table: dict[str, Any], path: Path) -> None:
    """Write ``table`` to ``path`` completely or not at all (a temporary file, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _yosys_version() -> str:
    out = subprocess.run([shutil.which("yosys") or "yosys", "-V"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"Yosys (\S+)", out)
    return match.group(1) if match else out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refmodel.cost",
        description="Synthesise every op's RTL with Yosys, time it in simulation, and print the cost table.",
        epilog="The table is cached in rtl_vectors/cost.json, keyed by a digest of each op's RTL sources.",
    )
    parser.add_argument("--check", action="store_true", help="only verify that every entry is current (exit 1 naming the stale ops)")
    parser.add_argument("--force", action="store_true", help="re-measure every op, not only the stale ones")
    parser.add_argument("ops", nargs="*", metavar="OP", help="re-measure only these ops (default: every stale op)")
    parser.add_argument("--table", type=Path, default=TABLE, help="the table file (default rtl_vectors/cost.json)")
    args = parser.parse_args(argv)
    unknown = [op for op in args.ops if op not in rtl.SUPPORTED_OPS]
    if unknown:
        print(f"error: OP: {unknown[0]!r} has no RTL; ops with RTL: {', '.join(rtl.SUPPORTED_OPS)}", file=sys.stderr)
        return 2
    try:
        table = load_table(args.table)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = list(rtl.SUPPORTED_OPS) if args.force else stale_ops(table)
    if args.ops and not args.check:
        stale = [op for op in stale if op in args.ops] if not args.force else list(args.ops)
    if args.check:
        if stale:
            print(f"cost table {args.table} is stale for: {', '.join(stale)} (rerun python -m refmodel.cost)")
            return 1
        print(render(table))
        return 0
    missing = [tool for tool in ("yosys", "iverilog", "vvp") if stale and shutil.which(tool) is None]
    if missing:
        print(f"error: {missing[0]} not found on PATH: {YOSYS_HINT if missing[0] == 'yosys' else rtl.INSTALL_HINT}", file=sys.stderr)
        return 2
    table.setdefault("ops", {})
    table["flow"] = {"yosys": _yosys_version() if stale else table.get("flow", {}).get("yosys"), "gates": GATES, "nand2_weights": NAND2_WEIGHTS}
    with tempfile.TemporaryDirectory(prefix="refmodel-cost-") as tmp:
        for op in stale:
            print(f"  .. {op}: synthesising and timing", file=sys.stderr, flush=True)
            table["ops"][op] = {"digest": digest(op), **synthesise(op), **measure_cycles(op, Path(tmp) / op.replace(".", "_"))}
            table["ops"] = {o: table["ops"][o] for o in sorted(table["ops"]) if o in rtl.SUPPORTED_OPS}
            _write_table(table, args.table)  # after each op: an interrupted run keeps what it measured
    print(render(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
