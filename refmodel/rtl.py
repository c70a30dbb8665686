"""Run the reference RTL of ``rtl_vectors/`` against vector sets with Icarus Verilog.

A vector set (``refmodel.vectorset``: a golden case under ``golden/<op>/`` or a model slot
written by ``python -m refmodel.sim MODEL --out DIR``) carries everything a testbench needs:
its ``.svh`` defines the widths, counts, file names and register values, and
``RM_OP_<OP>`` selects the DUT. :func:`run_testbench` compiles ``rtl_vectors/tb/rm_tb.sv``
with the set's ``.svh`` and the RTL of its op, runs it with ``vvp`` and parses the report::

    from refmodel.rtl import run_testbench
    r = run_testbench(Path("golden/ivit.softmax/w8-realistic"))
    r.vectors, r.errors, r.mismatches        # 1182, 0, []

``python -m refmodel.rtl DIR [DIR...]`` does the same from the shell: one line per set, then a
count line. A directory without ``meta.json`` stands for every set below it (e.g. a model's
export); sets below it whose op has no RTL are listed as skipped. The exit status is non-zero
when any set fails or cannot be run.

Every op has RTL (:data:`DUT_SOURCES` lists each one's files under ``rtl_vectors/rtl/``); see
``rtl_vectors/README.md``. A completed run also reports its cycle count and first-row latency
(``refmodel.cost`` times the RTL with them).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refmodel import cli
from refmodel.vectorset import identifier

RTL_ROOT = Path(__file__).resolve().parents[1] / "rtl_vectors"
TB_DIR = RTL_ROOT / "tb"
RTL_DIR = RTL_ROOT / "rtl"
TESTBENCH = TB_DIR / "rm_tb.sv"

#: RTL sources of each op that has a DUT.
DUT_SOURCES: dict[str, tuple[str, ...]] = {
    "requant": ("rm_requant.v",),
    "ivit.softmax": ("rm_shiftmax.v", "rm_shiftexp.v"),
    "ibert.softmax": ("rm_ibert_softmax.v", "rm_iexp.v", "rm_udiv.v"),
    "ibert.gelu": ("rm_ibert_gelu.v",),
    "ibert.layernorm": ("rm_ibert_layernorm.v", "rm_udiv.v", "rm_isqrt.v"),
    "ivit.layernorm": ("rm_ivit_layernorm.v", "rm_udiv.v"),
    "ivit.gelu": ("rm_ivit_gelu.v", "rm_shiftexp.v", "rm_udiv.v"),
    "fqvit.softmax": ("rm_fqvit_softmax.v", "rm_iexp.v", "rm_udiv.v"),
    "fqvit.layernorm": ("rm_fqvit_layernorm.v", "rm_udiv.v", "rm_isqrt.v"),
    "lut.gelu": ("rm_lut_gelu.v",),
    "lut.softmax": ("rm_lut_softmax.v",),
    "lut.layernorm": ("rm_lut_layernorm.v", "rm_udiv.v"),
    "gemm": ("rm_gemm.v", "rm_dot.v"),
    "matmul": ("rm_matmul.v", "rm_dot.v"),
    "requant_add": ("rm_requant_add.v", "rm_requant.v"),
    "requant_wide": ("rm_requant_wide.v",),
    "fqvit.attend": ("rm_fqvit_attend.v",),
    "quantize": ("rm_quantize.v",),
}
SUPPORTED_OPS = tuple(sorted(DUT_SOURCES))
#: Ops whose sets the testbench drives through its shaped path (one stream per input), where
#: ``max_rows`` applies; a ``gemm`` set with ``N == K`` is written unshaped but runs there too.
SHAPED_OPS = ("gemm", "matmul", "requant_add", "fqvit.attend", "quantize")

INSTALL_HINT = "install Icarus Verilog: apt-get install -y iverilog"

_SUMMARY = re.compile(r"^(\d+) vectors, (\d+) errors$")
_TIMING = re.compile(r"^rm_tb: cycles: total (\d+), first latency (-?\d+)$")
_CAPPED = re.compile(r"^rm_tb: simulating the first (\d+) of (\d+) output rows$")


class SimulatorMissing(RuntimeError):
    """``iverilog`` or ``vvp`` is not on ``PATH``."""


@dataclass
class TestbenchResult:
    """The outcome of one testbench run: the report's counts, its mismatch lines, the log."""

    __test__ = False  # not a pytest test class

    set_dir: Path
    op: str
    vectors: int
    errors: int
    mismatches: list[str] = field(default_factory=list)
    log: str = ""
    #: Clock edges from the first input transfer to the last output transfer, both counted
    #: (``None`` when the run did not complete).
    cycles: int | None = None
    #: Edges from the transfer of the first row's last input (of the first input, for an
    #: element-wise DUT that outputs earlier) to the first output transfer.
    first_latency: int | None = None
    #: ``(rows simulated, rows in the set)`` when ``max_rows`` cut a shaped set short, else ``None``.
    rows_capped: tuple[int, int] | None = None

    @property
    def passed(self) -> bool:
        return self.errors == 0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SimulatorMissing(f"{name} not found on PATH: {INSTALL_HINT}")
    return path


def read_meta(set_dir: Path) -> dict:
    """``meta.json`` of the set at ``set_dir``. The data files are not hash-checked here: a
    testbench also runs on a set edited by hand (``refmodel.vectorset.read`` checks them)."""
    path = Path(set_dir) / "meta.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: missing (not a vector set directory)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def dut_sources(op: str) -> list[Path]:
    """The RTL files of ``op``'s DUT; ``ValueError`` for an op without RTL."""
    if op not in DUT_SOURCES:
        raise ValueError(f"op {op!r} has no RTL DUT; supported ops: {', '.join(SUPPORTED_OPS)}")
    return [RTL_DIR / name for name in DUT_SOURCES[op]]


def write_quantize_scales(meta: dict, path: Path) -> int:
    """Write the scale of a ``quantize`` set (a float the op keeps in ``params``, not in its
    register config) to ``path`` as float64 bit patterns, one or one per column, for the
    testbench; return the count."""
    scales = np.atleast_1d(np.asarray(meta["params"]["scale"], dtype=np.float64))
    path.write_text("".join(f"{int(b):016x}\n" for b in scales.view(np.uint64)))
    return int(scales.size)


def compile_command(set_dir: Path, output: Path, meta: dict | None = None) -> list[str]:
    """The ``iverilog`` command line that builds the testbench of the set at ``set_dir``
    (for a ``quantize`` set it also writes the scale file beside ``output``:
    :func:`write_quantize_scales`)."""
    set_dir = Path(set_dir)
    meta = read_meta(set_dir) if meta is None else meta
    op = meta["op"]
    sources = dut_sources(op)
    svh = set_dir / meta["svh"]
    if not svh.exists():
        raise ValueError(f"{svh}: missing")
    cmd = [_tool("iverilog"), "-g2012", "-I", str(TB_DIR), "-o", str(output)]
    op_define = f"RM_OP_{identifier(op)}"
    if f"`define {op_define}" not in svh.read_text():
        cmd.append(f"-D{op_define}=1")  # a set written before the .svh named its op
    if op == "quantize":
        scale_file = Path(output).with_name(Path(output).stem + "-scale.hex").resolve()
        count = write_quantize_scales(meta, scale_file)
        cmd += [f'-DRM_QUANT_SCALE_FILE="{scale_file}"', f"-DRM_QUANT_SCALE_COUNT={count}"]
    return cmd + [str(svh), str(TESTBENCH), *map(str, sources)]


def run_testbench(
    set_dir: Path, workdir: Path | None = None, *, stall: bool = True, seed: int = 1, max_rows: int | None = None
) -> TestbenchResult:
    """Compile and run the testbench of the set at ``set_dir``; the build goes to ``workdir``
    (a temporary directory, removed afterwards, when ``None``).

    ``stall`` inserts pseudo-random bubbles on ``in_valid`` and ``out_ready`` (pattern
    ``seed``). ``max_rows`` simulates only the first ``max_rows`` output rows of a shaped set
    (``meta.json``'s ``layout.shaped``) or of a set of :data:`SHAPED_OPS` (the inputs of those
    rows are driven and their outputs compared; ``vectors`` counts them); other sets always
    run whole. Raises ``ValueError`` for an op without RTL or a broken set,
    :class:`SimulatorMissing` without Icarus Verilog and ``RuntimeError`` when compilation
    fails or the simulation ends without its summary line.
    """
    set_dir = Path(set_dir).resolve()
    meta = read_meta(set_dir)
    op = meta.get("op")
    dut_sources(op)
    _tool("vvp")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="refmodel-rtl-") as tmp:
            return _run(set_dir, meta, Path(tmp), stall, seed, max_rows)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return _run(set_dir, meta, workdir, stall, seed, max_rows)


def is_shaped_set(meta: dict) -> bool:
    """Whether ``meta.json`` describes a shaped set (one file per input, a shape per tensor)."""
    return isinstance(meta.get("layout"), dict) and bool(meta["layout"].get("shaped"))


def _run(set_dir: Path, meta: dict, workdir: Path, stall: bool, seed: int, max_rows: int | None) -> TestbenchResult:
    image = workdir / f"{Path(meta['svh']).stem}.vvp"
    build = subprocess.run(compile_command(set_dir, image, meta), capture_output=True, text=True)
    if build.returncode != 0:
        raise RuntimeError(f"{set_dir}: iverilog failed (status {build.returncode}):\n{build.stdout}{build.stderr}")
    cmd = [_tool("vvp"), "-n", str(image), f"+RM_DIR={set_dir}", f"+RM_SEED={seed}"]
    if not stall:
        cmd.append("+RM_NO_STALL")
    if max_rows is not None:
        if max_rows < 0:
            raise ValueError(f"max_rows: expected a non-negative row count, got {max_rows}")
        if is_shaped_set(meta) or meta["op"] in SHAPED_OPS:
            cmd.append(f"+RM_MAX_ROWS={max_rows}")
    sim = subprocess.run(cmd, capture_output=True, text=True, cwd=set_dir)
    log = sim.stdout + sim.stderr
    lines = [line.strip() for line in sim.stdout.splitlines() if line.strip()]
    summary = next((m for m in map(_SUMMARY.match, reversed(lines)) if m), None)
    if summary is None:
        raise RuntimeError(f"{set_dir}: the testbench ended without its 'N vectors, E errors' line (status {sim.returncode}):\n{log}")
    timing = next((m for m in map(_TIMING.match, lines) if m), None)
    capped = next((m for m in map(_CAPPED.match, lines) if m), None)
    return TestbenchResult(
        set_dir=set_dir,
        op=meta["op"],
        vectors=int(summary.group(1)),
        errors=int(summary.group(2)),
        mismatches=[line for line in lines if line.startswith(("mismatch at index ", "datapath mismatch at index "))],
        log=log,
        cycles=int(timing.group(1)) if timing else None,
        first_latency=int(timing.group(2)) if timing else None,
        rows_capped=(int(capped.group(1)), int(capped.group(2))) if capped else None,
    )


def find_sets(directory: Path) -> list[Path]:
    """``directory`` itself when it is a set, else every set below it, sorted."""
    directory = Path(directory)
    if (directory / "meta.json").exists():
        return [directory]
    return sorted(p.parent for p in directory.rglob("meta.json"))


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m refmodel.rtl",
        description="Run the reference RTL testbench on vector sets with Icarus Verilog.",
        epilog="Example: python -m refmodel.rtl golden/requant/w8-realistic golden/ivit.softmax",
    )
    parser.add_argument("dirs", nargs="+", type=cli.nonempty_path, metavar="DIR", help="a vector set, or a directory of sets (ops without RTL are skipped)")
    parser.add_argument("--no-stall", action="store_true", help="drive and accept every cycle (default: pseudo-random bubbles)")
    parser.add_argument("--seed", type=int, default=1, help="bubble pattern (default 1)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="sets simulated in parallel (default 1)")
    parser.add_argument(
        "--max-rows", type=int, default=None, metavar="R",
        help="simulate only the first R output rows of each shaped set (gemm, matmul, requant_add, fqvit.attend: a model's layers can be "
        "millions of MACs); the line of a cut set says so (default: every row)",
    )
    parser.add_argument("--show", type=int, default=0, metavar="K", help="also print the first K mismatch lines of a failing set (default 0)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.max_rows is not None and args.max_rows < 1:
        parser.error(f"--max-rows must be at least 1, got {args.max_rows}")
    return cli.run(lambda: _command(args), args.debug)


def _command(args: argparse.Namespace) -> int:
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        raise cli.UsageError(f"{missing[0]}: no such directory")
    try:
        _tool("iverilog")
        _tool("vvp")
    except SimulatorMissing as exc:
        raise cli.UsageError(str(exc)) from None

    jobs: list[tuple[Path, bool]] = []  # (set, named explicitly)
    status = 0
    for d in args.dirs:
        sets = find_sets(d)
        if not sets:
            print(f"ERROR {d}: no vector set (no meta.json) here or below")
            status = 1
        jobs.extend((s, s == d) for s in sets)

    def one(job: tuple[Path, bool]) -> tuple[str, bool]:
        set_dir, explicit = job
        try:
            meta = read_meta(set_dir)
            if meta.get("op") not in DUT_SOURCES and not explicit:
                return f"SKIP  {set_dir}: {meta.get('op')} has no RTL", True
            r = run_testbench(set_dir, stall=not args.no_stall, seed=args.seed, max_rows=args.max_rows)
        except (ValueError, RuntimeError) as exc:
            return f"ERROR {set_dir}: {exc}", False
        word = "PASS " if r.passed else "FAIL "
        text = f"{word} {set_dir}: {r.op}, {r.vectors} vectors, {r.errors} errors"
        if r.rows_capped is not None:
            text += f" (first {r.rows_capped[0]} of {r.rows_capped[1]} rows)"
        for line in r.mismatches[: args.show]:
            text += f"\n      {line}"
        return text, r.passed

    counts = {"PASS": 0, "FAIL": 0, "ERROR": 0, "SKIP": 0}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for text, ok in pool.map(one, jobs):
            print(text, flush=True)
            counts[text.split(None, 1)[0]] += 1
            if not ok:
                status = 1
    ran = counts["PASS"] + counts["FAIL"]
    print(
        f"{ran} sets simulated: {counts['PASS']} passed, {counts['FAIL']} failed; "
        f"{counts['ERROR']} errors; {counts['SKIP']} skipped (no RTL for their op)"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
