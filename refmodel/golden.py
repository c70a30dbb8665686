"""The committed per-op golden vectors: ``golden/<op>/w<bits>-<case>/``.

Every op is exercised at the activation widths of the mixed method's two settings (8 and 6
bits) where its input width is an activation width, with seeded cases: ``random`` (uniform
over the input width), ``realistic`` (the distributions and scales a DeiT layer sees),
``edges`` (all-equal rows at both extremes, alternating extremes, a single spike, zeros)
and ``one_column``; LayerNorms add ``constant_rows`` (D8); ``requant`` adds ``ties`` (a
ratio of 1/2) and ``zero_point`` (unsigned, a zero point off the middle of the output range,
both ends saturating). The ops of the non-linear methods and their case shapes come from
``refmodel.methods``. The whole-network ops ``gemm``,
``matmul`` and ``requant_add`` have their own corner cases (``refmodel.golden_network``,
written as shaped sets), each also confirmed by an exact Python-integer reference.

A case is written only after the Numba kernel and the PyTorch twin agreed on every element,
so the files lock bits that two independent datapaths confirmed. ``python -m refmodel.golden
write`` regenerates the set (the whole tree built beside ``golden/`` and swapped into
place; a ``--dir`` that is not a tree of vector sets is refused without ``--force``);
``python -m refmodel.golden check`` regenerates it in a
temporary directory and names the first differing op, case, file and element.
"""

from __future__ import annotations

import filecmp
import sys
import tempfile
import zlib
from itertools import chain
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from refmodel import cli, golden_network, methods, ops, outdir, synthetic, vectorset

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"

#: Rules of the ops that belong to no method (the ops of methods declare theirs in
#: ``refmodel.methods``).
OP_RULES = {
    "requant": "out = saturate(rne_shift(z*m, c) + zero_point); round half to even on the exact product (D5, D6). docs/ops/requant.md",
    **golden_network.RULES,
}
#: Op name -> the one-line rule written into its vector sets (every op of every method too).
RULES = methods.LiveMapping(lambda: {**{name: op.rule for name, op in methods.ops().items()}, **OP_RULES})

ACTIVATION_WIDTHS = methods.ACTIVATION_WIDTHS


@dataclass(frozen=True)
class Case:
    """One golden case: an op's parameters and the input tensor it runs on (the tensors by
    input name for an op with several inputs)."""

    op: str
    width: int
    name: str
    params: dict[str, Any]
    inputs: np.ndarray | dict[str, np.ndarray]
    seed: int

    @property
    def size(self) -> int:
        """Input elements, over every input."""
        arrays = self.inputs.values() if isinstance(self.inputs, dict) else [self.inputs]
        return sum(int(np.size(a)) for a in arrays)

    @property
    def directory(self) -> str:
        return f"{self.op}/w{self.width}-{self.name}"


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def _edge_rows(lo: int, hi: int, cols: int) -> np.ndarray:
    mid = (lo + hi) // 2
    rows = [
        np.full(cols, hi),
        np.full(cols, lo),
        np.where(np.arange(cols) % 2 == 0, lo, hi),
        np.where(np.arange(cols) == cols // 3, hi, lo),
        np.full(cols, mid),
        np.clip(np.arange(cols) - cols // 2, lo, hi),
    ]
    return np.stack(rows).astype(np.int64)


def _one_column(lo: int, hi: int) -> np.ndarray:
    return np.array([[lo], [lo + 1], [0 if lo <= 0 <= hi else lo], [hi - 1], [hi]], dtype=np.int64)


def _op_cases(
    op: str, widths: tuple[int, ...], channels: int, realistic_shape: tuple[int, ...], random_range: tuple[int, int] | None = None
) -> Iterator[Case]:
    """The standard cases of ``op`` at each width: realistic, random (uniform over the input
    width, or over ``random_range``), edges, one column and, for LayerNorms, constant rows."""
    for width in widths:
        rng = np.random.default_rng(_seed(op, width))
        params = synthetic.params(op, rng, channels, width)
        kernel = ops.make(op, **params)
        lo, hi = kernel.in_spec.lo, kernel.in_spec.hi
        lo_r, hi_r = random_range or (lo, hi)
        inputs = {
            "realistic": synthetic.inputs(op, params, realistic_shape, rng),
            "random": rng.integers(lo_r, hi_r, size=(6, channels), endpoint=True),
            "edges": _edge_rows(lo, hi, channels),
        }
        if op.endswith("layernorm"):
            mid = (lo + hi) // 2
            inputs["constant_rows"] = np.stack([np.full(channels, v) for v in (lo, mid - 7, mid, hi)]).astype(np.int64)
        for name, q in inputs.items():
            yield Case(op, width, name, params, q, _seed(op, width, name))
        one_params = _first_channel(params) if kernel.channels is not None else params
        yield Case(op, width, "one_column", one_params, _one_column(lo, hi), _seed(op, width, "one_column"))


def _first_channel(params: dict[str, Any]) -> dict[str, Any]:
    """Per-channel parameters cut to the first channel, for the one-column case."""
    return {k: (np.asarray(v)[:1] if np.ndim(v) == 1 else v) for k, v in params.items()}


def _requant_ties() -> Iterator[Case]:
    """A scale ratio of 1/2 puts every odd input exactly on a half: ties go to even."""
    q = np.arange(-40, 40, dtype=np.int64).reshape(1, -1)
    for width in ACTIVATION_WIDTHS:
        params = {"scale_in": 0.5, "scale_out": 1.0, "out_bits": width}
        yield Case("requant", width, "ties", params, q, _seed("requant", width, "ties"))


def _requant_zero_point() -> Iterator[Case]:
    """An unsigned output with a zero point off the middle of its range, ``2^(b-1) + 3``, and
    a ratio of 1/2 (every odd input a tie) over inputs that saturate at both ends only once
    the zero point is added."""
    for width in ACTIVATION_WIDTHS:
        reach = (1 << width) + 8
        q = np.arange(-reach, reach, dtype=np.int64).reshape(-1, 16)
        params = {"scale_in": 0.5, "scale_out": 1.0, "out_bits": width, "signed": False, "zero_point": (1 << (width - 1)) + 3}
        yield Case("requant", width, "zero_point", params, q, _seed("requant", width, "zero_point"))


def _network_cases(op: str) -> Iterator[Case]:
    """The corner cases of a whole-network op (``refmodel.golden_network``)."""
    for width, name, params, inputs in golden_network.SPECS[op]():
        yield Case(op, width, name, params, inputs, _seed(op, width, name))


def _method_cases(op: methods.Op) -> Iterator[Case]:
    g = op.golden
    return _op_cases(op.name, g.widths, g.channels, g.shape, g.random_range)


#: Op name -> its golden cases: the ops that belong to no method here, the ops of every
#: method from its registry entry.
OP_CASE_SOURCES: dict[str, Callable[[], Iterator[Case]]] = {
    "requant": lambda: chain(_op_cases("requant", ACTIVATION_WIDTHS, 64, (8, 64)), _requant_ties(), _requant_zero_point()),
    **{op: (lambda op=op: _network_cases(op)) for op in golden_network.SPECS},
}
CASE_SOURCES: Mapping[str, Callable[[], Iterator[Case]]] = methods.LiveMapping(
    lambda: {**{name: (lambda op=op: _method_cases(op)) for name, op in methods.ops().items()}, **OP_CASE_SOURCES}
)


def cases() -> list[Case]:
    """Every golden case, in a fixed order."""
    return [case for op in sorted(CASE_SOURCES) for case in CASE_SOURCES[op]()]


def confirmed_output(case: Case) -> tuple[ops.Kernel, np.ndarray, dict[str, np.ndarray]]:
    """Run both datapaths (and, for the whole-network ops, the exact Python-integer reference
    of ``refmodel.golden_network``); return the output (and any per-element datapath values)
    only if they agree on every element."""
    kernel = ops.make(case.op, **case.params)
    if isinstance(case.inputs, dict):
        return kernel, _confirmed_named(case, kernel), {}
    sim = kernel.sim(case.inputs)
    twin = kernel.fakequant(torch.from_numpy(case.inputs)).numpy()
    if not np.array_equal(sim, twin):
        index = int(np.flatnonzero(sim.reshape(-1) != twin.reshape(-1))[0])
        raise AssertionError(
            f"{case.directory}: Numba and PyTorch disagree at element {index}: "
            f"input {case.inputs.reshape(-1)[index]}, sim {sim.reshape(-1)[index]}, twin {twin.reshape(-1)[index]}"
        )
    if case.op in golden_network.SPECS:
        _agree(case, "the exact reference", sim, golden_network.exact_output(case.op, case.params, case.inputs))
    datapath = kernel.datapath(case.inputs)
    twin_datapath = kernel.twin_datapath(torch.from_numpy(case.inputs))
    for key, values in datapath.items():
        if not np.array_equal(values, twin_datapath[key].numpy()):
            raise AssertionError(f"{case.directory}: Numba and PyTorch disagree on the datapath values {key}")
    return kernel, sim, datapath


def _agree(case: Case, what: str, sim: np.ndarray, other: np.ndarray) -> None:
    """Raise ``AssertionError`` naming the first element where ``other`` differs from the
    Numba output ``sim``."""
    if sim.shape != other.shape or not all(int(s) == int(o) for s, o in zip(sim.reshape(-1).tolist(), other.reshape(-1).tolist())):
        flat_s, flat_o = sim.reshape(-1).tolist(), np.asarray(other).reshape(-1).tolist()
        index = next((i for i, (s, o) in enumerate(zip(flat_s, flat_o)) if int(s) != int(o)), min(len(flat_s), len(flat_o)))
        raise AssertionError(f"{case.directory}: Numba and {what} disagree at element {index} (shapes {sim.shape}, {other.shape})")


def _confirmed_named(case: Case, kernel: ops.Kernel) -> np.ndarray:
    """The output of an op with named inputs, confirmed by its PyTorch twin and, for the
    whole-network ops, the exact reference."""
    assert isinstance(case.inputs, dict)
    sim = kernel.sim(**case.inputs)
    _agree(case, "PyTorch", sim, kernel.fakequant(**{n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in case.inputs.items()}).numpy())
    if case.op in golden_network.SPECS:
        _agree(case, "the exact reference", sim, golden_network.exact_output(case.op, case.params, case.inputs))
    return sim


def write_all(root: Path = GOLDEN_DIR, progress: Callable[[str], None] | None = None) -> list[Case]:
    """Regenerate every case under ``root``."""
    written = []
    for case in cases():
        kernel, output, datapath = confirmed_output(case)
        vs = vectorset.VectorSet(
            case.directory.replace("/", "_"), kernel, case.inputs, output, seed=case.seed, notes={"case": case.name, "width": case.width}, datapath=datapath
        )
        vectorset.write(root / case.directory, vs, method_rules=RULES[case.op])
        written.append(case)
        if progress:
            progress(f"wrote {case.directory} ({case.size} elements)")
    return written


def compare_trees(expected: Path, actual: Path) -> list[str]:
    """Differences between a committed golden tree and a regenerated one, each naming the
    op, case, file and (for hex files) the first differing element."""
    problems = []
    exp_sets = {p.parent.relative_to(expected) for p in expected.rglob("meta.json")}
    act_sets = {p.parent.relative_to(actual) for p in actual.rglob("meta.json")}
    for missing in sorted(act_sets - exp_sets):
        problems.append(f"{missing}: regenerated but not committed")
    for extra in sorted(exp_sets - act_sets):
        problems.append(f"{extra}: committed but no longer generated")
    for rel in sorted(exp_sets & act_sets):
        exp_dir, act_dir = expected / rel, actual / rel
        names = sorted({p.name for p in exp_dir.iterdir()} | {p.name for p in act_dir.iterdir()})
        for name in names:
            e, a = exp_dir / name, act_dir / name
            if not e.exists() or not a.exists():
                problems.append(f"{rel}/{name}: {'missing from the committed set' if not e.exists() else 'no longer generated'}")
            elif not filecmp.cmp(e, a, shallow=False):
                problems.append(f"{rel}/{name}: differs" + _first_hex_difference(e, a))
    return problems


def _first_hex_difference(expected: Path, actual: Path) -> str:
    if expected.suffix != ".hex":
        return ""
    exp_lines, act_lines = expected.read_text().splitlines(), actual.read_text().splitlines()
    for index, (e, a) in enumerate(zip(exp_lines, act_lines)):
        if e != a:
            return f" at element {index}: committed {e}, now {a}"
    return f" in length: committed {len(exp_lines)} elements, now {len(act_lines)}"


def check(root: Path = GOLDEN_DIR) -> list[str]:
    """Regenerate into a temporary directory and compare with ``root``."""
    with tempfile.TemporaryDirectory() as tmp:
        write_all(Path(tmp))
        return compare_trees(root, Path(tmp))


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m refmodel.golden",
        description="Write or check refmodel's committed per-op golden vectors (golden/<op>/w<bits>-<case>/).",
    )
    parser.add_argument("action", choices=["write", "check"], help="write: regenerate the set; check: compare a fresh regeneration with it")
    parser.add_argument("--dir", type=cli.nonempty_path, default=GOLDEN_DIR, help=f"golden directory (default {GOLDEN_DIR})")
    parser.add_argument("--force", action="store_true", help="let write replace a --dir that is not a tree of refmodel vector sets")
    args = parser.parse_args(argv)
    return cli.run(lambda: _write_command(args.dir, args.force) if args.action == "write" else _check_command(args.dir), args.debug)


def _write_command(root: Path, force: bool) -> int:
    """Regenerate the whole tree beside ``root`` and swap it into place (:mod:`refmodel.outdir`)."""
    with outdir.staged(root, force=force, accept=outdir.is_export_tree) as stage:
        written = write_all(stage, progress=print)
    print(f"golden cases written: {len(written)}")
    return 0


def _check_command(root: Path) -> int:
    if not root.is_dir():
        raise cli.UsageError(f"{root}: no such directory")
    problems = check(root)
    for line in problems:
        print(line)
    total = len(cases())
    failing = {"/".join(line.split("/")[:2]) for line in problems}
    print(f"golden cases ok: {total - len(failing)}/{total}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
