"""The cocotb flow: each op's RTL driven by ``tests/rtl/cocotb_streams.py`` under Icarus
Verilog, with the refmodel kernel as the scoreboard and random back-pressure; built and run
from pytest with ``cocotb_tools.runner``.

The parameters and the input of each run are drawn from ``refmodel.testing``'s strategies
(``params``, ``inputs``: the op's sensitive values mixed in) with a fixed seed
(``refmodel.testing.examples``), so every run drives the same case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cocotb_tools import runner as cocotb_runner  # cocotb 2.x, in the test extra
from hypothesis import strategies as st

from refmodel import cost, ops, rtl, testing, vectorset

HERE = Path(__file__).resolve().parent

#: The ops driven through cocotb: the three softmax methods and one LayerNorm (per-channel
#: biases and gamma signs served from the testbench's register file).
OPS = ["ibert.softmax", "ivit.softmax", "fqvit.softmax", "ivit.layernorm"]
#: Rows and the longest row of a run: the scoreboard runs the kernel as plain Python in the
#: simulator, one row at a time.
ROWS, MAX_COLS = 3, 24
#: The seed of the draws, and how many cases are drawn to pick the one that runs from
#: (hypothesis starts from its simplest example).
SEED, DRAWS = 20261206, 6


@st.composite
def small_cases(draw: st.DrawFn, op: str) -> testing.Case:
    """A case of ``op`` from ``refmodel.testing``: its parameters (with at most ``MAX_COLS``
    channels where they fix the row length) and a ``ROWS``-row input of its sensitive values."""
    p = draw(testing.params(op).filter(lambda q: (ops.make(op, **q).channels or 0) <= MAX_COLS))
    kernel = ops.make(op, **p)
    limit = testing.STRATEGIES[op].max_cols
    cols = kernel.channels or draw(st.integers(1, MAX_COLS if limit is None else min(MAX_COLS, limit(kernel))))
    return testing.Case(op, p, kernel, draw(testing.inputs(kernel, shape=(ROWS, cols))))


def drawn_case(op: str) -> testing.Case:
    """Of ``DRAWS`` seeded draws of :func:`small_cases`, the first with the most distinct input
    values among those with a row of at most two values (all-equal, extremes, one maximum
    above a constant row): edge rows and generic rows in one run, where a draw has both."""

    def richness(case: testing.Case) -> tuple[bool, int]:
        return any(len(np.unique(row)) <= 2 for row in case.q), len(np.unique(case.q))

    return max(testing.examples(small_cases(op), DRAWS, seed=SEED), key=richness)


@pytest.mark.parametrize("op", OPS)
def test_rtl_streams_match_the_kernel_under_random_back_pressure(tmp_path, monkeypatch, op):
    if shutil.which("iverilog") is None:
        pytest.fail(rtl.INSTALL_HINT)
    case = drawn_case(op)
    kernel, q = case.kernel, case.q
    make = vectorset.jsonable(case.params)
    # The simulator rebuilds the kernel from the JSON parameters: the same registers.
    rebuilt = ops.make(op, **{k: (np.asarray(v) if isinstance(v, list) else v) for k, v in make.items()})
    assert repr(rebuilt.config) == repr(kernel.config)
    top, params = cost.dut_parameters(kernel, q.shape[1])
    runner = cocotb_runner.get_runner("icarus")
    runner.build(
        sources=rtl.dut_sources(op),
        hdl_toplevel=top,
        parameters=params,
        build_dir=tmp_path / "build",
        timescale=("1ns", "1ps"),
    )
    monkeypatch.syspath_prepend(str(HERE))  # the runner passes sys.path on to the simulator
    config = {"op": op, "make": make, "inputs": q.tolist(), "seed": 7}
    (tmp_path / "case.json").write_text(json.dumps(config))  # the drawn case, for a rerun by hand
    results = runner.test(
        test_module="cocotb_streams",
        hdl_toplevel=top,
        build_dir=tmp_path / "build",
        test_dir=tmp_path,
        # The kernel runs as plain Python in the simulator (the same code, no JIT compile per
        # run); tests/ops/test_plain_python.py checks that mode against the compiled kernels.
        extra_env={"RM_COCOTB": json.dumps(config), "NUMBA_DISABLE_JIT": "1"},
    )
    total, failed = cocotb_runner.get_results(results)
    assert (total, failed) == (1, 0), f"{(tmp_path / 'build').as_posix()}: case {tmp_path / 'case.json'}"


def test_the_drawn_cases_are_fixed_and_reach_beyond_the_simplest():
    """The seeded draws repeat exactly, and the case that runs is not hypothesis's simplest."""
    for op in OPS:
        case, again = drawn_case(op), drawn_case(op)
        assert repr(case.kernel.config) == repr(again.kernel.config) and np.array_equal(case.q, again.q)
        assert case.q.shape[0] == ROWS and case.q.shape[1] <= MAX_COLS
        simplest = testing.examples(small_cases(op), 1, seed=SEED)[0]
        assert repr(case.kernel.config) != repr(simplest.kernel.config) or not np.array_equal(case.q, simplest.q)
