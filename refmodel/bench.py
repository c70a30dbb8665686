"""Benchmark every op's Numba kernel against its PyTorch twin on DeiT-T-sized tensors.

    python -m refmodel.bench [--repeat 7] [--ops ivit.softmax,...] [--scale 1.0]
    python -m refmodel.bench --network deit_t [--repeat 7]

With ``--network MODEL`` it times the whole network instead (:mod:`refmodel.netbench`): the
Numba engine, the PyTorch path and timm's float model at batch 8, ending with
``network MODEL: engine E img/s, pytorch P img/s, float F img/s, engine/float R``.

Sizes (DeiT-T, one image): softmax 12 layers x 3 heads x 197 x 197; GELU 12 x 197 x 768;
LayerNorm 25 x 197 x 192; requant 12 x 197 x 768 (32-bit in, 8-bit out). Both datapaths
run on the same int64 rows (the kernels themselves, after the input checks that ``sim`` and
``fakequant`` share); each is warmed up once (the first call's time, compile or cache load,
is reported), then timed ``--repeat`` times; the table gives medians, elements/s and the
Numba/PyTorch speed ratio, and checks the project's targets (>= 3x, >= 5x for softmax,
ivit.softmax >= 300 M elements/s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from refmodel import cli, methods, ops, synthetic

SOFTMAX_SHAPE = (12, 3, 197, 197)
GELU_SHAPE = (12, 197, 768)
LAYERNORM_SHAPE = (25, 197, 192)
IVIT_SOFTMAX_TARGET = 300e6
#: Every op of every registered method, kind by kind, then the ops of no method.
BENCH_ORDER = tuple(op for kind in methods.KINDS for op in methods.ops() if methods.kind_of(op) == kind) + ("requant",)


@dataclass
class Workload:
    op: str
    params: dict
    inputs: np.ndarray


@dataclass
class Result:
    op: str
    elements: int
    first_call_s: float
    numba_s: float
    torch_s: float

    @property
    def ratio(self) -> float:
        return self.torch_s / self.numba_s

    def target(self) -> float:
        return 5.0 if self.op.endswith("softmax") else 3.0

    def meets_target(self) -> bool:
        ok = self.ratio >= self.target()
        if self.op == "ivit.softmax":
            ok = ok and self.elements / self.numba_s >= IVIT_SOFTMAX_TARGET
        return ok


def _scaled(shape: tuple[int, ...], scale: float) -> tuple[int, ...]:
    lead = max(1, int(round(shape[0] * scale)))
    return (lead, *shape[1:])


def workloads(scale: float = 1.0, seed: int = 0) -> list[Workload]:
    """Realistic DeiT-T inputs (``refmodel.synthetic``) and parameters for every op."""
    rng = np.random.default_rng(seed)
    shapes = {
        "softmax": _scaled(SOFTMAX_SHAPE, scale),
        "gelu": _scaled(GELU_SHAPE, scale),
        "layernorm": _scaled(LAYERNORM_SHAPE, scale),
        "requant": _scaled(GELU_SHAPE, scale),
    }
    result = []
    for op in BENCH_ORDER:
        shape = shapes[op.split(".")[-1]]
        params = synthetic.params(op, rng, shape[-1], 8)
        result.append(Workload(op, params, synthetic.inputs(op, params, shape, rng)))
    return result


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(workload: Workload, repeat: int) -> Result:
    """Time one op: first call, then medians of both datapaths on the same rows."""
    kernel = ops.make(workload.op, **workload.params)
    rows = np.ascontiguousarray(workload.inputs.reshape(-1, workload.inputs.shape[-1]))
    rows_t = torch.from_numpy(rows)
    start = time.perf_counter()
    first = kernel._sim_rows(rows)
    first_call = time.perf_counter() - start
    twin = kernel._twin_rows(rows_t)
    if not np.array_equal(first, twin.numpy()):
        raise AssertionError(f"{workload.op}: Numba and PyTorch outputs differ on the bench input")
    numba_s = _median_time(lambda: kernel._sim_rows(rows), repeat)
    torch_s = _median_time(lambda: kernel._twin_rows(rows_t), repeat)
    return Result(workload.op, rows.size, first_call, numba_s, torch_s)


def format_table(results: list[Result]) -> str:
    header = f"{'op':<16} {'elements':>10} {'first call s':>12} {'numba ms':>9} {'numba Mel/s':>11} {'torch ms':>9} {'torch Mel/s':>11} {'ratio':>7}  target"
    lines = [header, "-" * len(header)]
    for r in results:
        target = f">= {r.target():.0f}x" + (" and >= 300 Mel/s" if r.op == "ivit.softmax" else "")
        lines.append(
            f"{r.op:<16} {r.elements:>10} {r.first_call_s:>12.3f} {r.numba_s * 1e3:>9.2f} {r.elements / r.numba_s / 1e6:>11.1f} "
            f"{r.torch_s * 1e3:>9.2f} {r.elements / r.torch_s / 1e6:>11.1f} {r.ratio:>6.1f}x  {target}: {'met' if r.meets_target() else 'MISSED'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m refmodel.bench",
        description="Time each op's Numba kernel against its PyTorch twin on DeiT-T-sized tensors "
        "(medians after warm-up; first-call time is compile or cache load).",
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per datapath (median reported; default 7)")
    parser.add_argument("--ops", default="", help="comma-separated op names (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="scale the leading dimension of every workload (default 1.0)")
    parser.add_argument("--network", default=None, help="time this model's whole network instead: Numba engine, PyTorch path, timm float model (batch 8)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat: must be >= 1")
    if args.network is not None:
        from refmodel import models

        if args.network not in models.MODELS:
            parser.error(f"--network: unknown model {args.network!r}; known models: {', '.join(models.MODELS)}")
        return cli.run(lambda: _network(args), args.debug)
    wanted = [s for s in args.ops.split(",") if s]
    unknown = [s for s in wanted if s not in ops.names()]
    if unknown:
        parser.error(f"--ops: unknown op(s) {', '.join(unknown)}; known: {', '.join(ops.names())}")
    if not args.scale > 0:
        parser.error(f"--scale: must be > 0, got {args.scale}")
    return cli.run(lambda: _command(args, wanted), args.debug)


def _command(args: argparse.Namespace, wanted: list[str]) -> int:
    print(f"torch threads: {torch.get_num_threads()}, numba threads: {_numba_threads()}, repeat: {args.repeat}", flush=True)
    results = []
    for workload in workloads(args.scale):
        if wanted and workload.op not in wanted:
            continue
        results.append(run(workload, args.repeat))
        print(f"  timed {workload.op}", flush=True)
    print(format_table(results))
    return 0


def _network(args: argparse.Namespace) -> int:
    from refmodel import netbench

    print(f"torch threads: {torch.get_num_threads()}, numba threads: {_numba_threads()}, repeat: {args.repeat}, batch: {netbench.BATCH}", flush=True)
    result = netbench.run(args.network, repeat=args.repeat, progress=lambda line: print(f"  .. {line}", flush=True))
    print(result.line())
    return 0


def _numba_threads() -> int:
    import numba

    return numba.get_num_threads()


if __name__ == "__main__":
    sys.exit(main())
