"""The cocotb flow: each op's RTL driven by ``tests/rtl/cocotb_streams.py`` under Icarus
Verilog, with the refmodel kernel as the scoreboard and random back-pressure; built and run
from pytest with ``cocotb_tools.runner``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cocotb_tools import runner as cocotb_runner  # cocotb 2.x, in the test extra

from refmodel import cost, ops, rtl


HERE = Path(__file__).resolve().parent

#: (op, keyword arguments of ops.make, rows, row length): the three softmax methods and one
#: LayerNorm with per-channel biases of both signs and negative gammas.
CASES = [
    ("ibert.softmax", {"scale_in": 0.05, "out_bits": 16, "n": 30, "in_bits": 8}, 3, 24),
    ("ivit.softmax", {"scale_in": 0.05, "out_bits": 16, "n": 15, "in_bits": 8}, 3, 24),
    ("fqvit.softmax", {"scale_in": 0.05, "out_bits": 6, "in_bits": 8}, 2, 12),
    (
        "ivit.layernorm",
        {
            "scale_in": 0.01,
            "gamma": [0.5, -1.0, 2.0, -0.25, 1.0, 1.5, -2.0, 0.75] * 2,
            "beta": [0.1, -0.2, 0.0, 3.0, -5.0, 0.5, 0.25, -0.75] * 2,
            "iters": 10,
            "in_bits": 16,
        },
        3,
        16,
    ),
]


@pytest.mark.parametrize("op, make, rows, cols", CASES, ids=[c[0] for c in CASES])
def test_rtl_streams_match_the_kernel_under_random_back_pressure(tmp_path, monkeypatch, op, make, rows, cols):
    if shutil.which("iverilog") is None:
        pytest.fail(rtl.INSTALL_HINT)
    kernel = ops.make(op, **{k: (np.asarray(v) if isinstance(v, list) else v) for k, v in make.items()})
    top, params = cost.dut_parameters(kernel, cols)
    runner = cocotb_runner.get_runner("icarus")
    runner.build(
        sources=rtl.dut_sources(op),
        hdl_toplevel=top,
        parameters=params,
        build_dir=tmp_path / "build",
        timescale=("1ns", "1ps"),
    )
    monkeypatch.syspath_prepend(str(HERE))  # the runner passes sys.path on to the simulator
    config = {"op": op, "make": make, "rows": rows, "cols": cols, "seed": 7}
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
    assert (total, failed) == (1, 0), (tmp_path / "build").as_posix()
