"""A cocotb testbench for the reference RTL, with the refmodel kernel as its scoreboard.

The simulator runs this module (through ``cocotb_tools.runner``; see
``tests/rtl/test_cocotb.py``) with the op's module as the top level. The configuration comes
in the environment variable ``RM_COCOTB``: a JSON object with ``op``, ``make`` (the keyword
arguments of ``refmodel.ops.make``; lists become arrays), ``inputs`` (the rows to drive, a list
of lists: ``tests/rtl/test_cocotb.py`` draws them from ``refmodel.testing``) and ``seed`` (the
bubble pattern).

The test drives the rows with random bubbles on ``in_valid`` and random back-pressure on
``out_ready``; a monitor records every element the DUT accepts, and as soon as a row is
complete the scoreboard computes that row's expected output with ``kernel.sim`` on exactly the
recorded inputs and compares each output the DUT delivers. Per-channel constants
(``ch_idx`` / ``ch_*`` ports) are served like an asynchronous register file: the model reads
``ch_idx`` on each falling clock edge (it changes only on rising edges) and drives the
channel's values before the next rising edge. Reuse: point ``RM_COCOTB`` at another op.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from refmodel import ops


def _config() -> dict:
    cfg = json.loads(os.environ["RM_COCOTB"])
    cfg["make"] = {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in cfg["make"].items()}
    return cfg


def _to_bits(value: int, bits: int) -> int:
    return int(value) & ((1 << bits) - 1)


def _from_bits(raw: int, bits: int, signed: bool) -> int:
    return raw - (1 << bits) if signed and raw >> (bits - 1) & 1 else raw


async def _serve_channels(dut, kernel: ops.Kernel) -> None:
    """The per-channel register file of the LayerNorm ops."""
    k = kernel.config
    ob = kernel.out_spec.bits
    while True:
        await FallingEdge(dut.clk)
        c = int(dut.ch_idx.value)
        if kernel.name == "ibert.layernorm":
            dut.ch_bi.value = _to_bits(k["bi"][c], ob)
            dut.ch_neg.value = int(k["gamma_sign"][c] < 0)
        elif kernel.name == "ivit.layernorm":
            dut.ch_bi.value = _to_bits(k["bias_int"][c], ob)
            dut.ch_neg.value = int(k["negate"][c] != 0)


@cocotb.test()
async def stream_rows_against_the_kernel(dut):
    cfg = _config()
    kernel = ops.make(cfg["op"], **cfg["make"])
    x = np.asarray(cfg["inputs"], dtype=np.int64)
    rows, cols = x.shape
    bubbles = random.Random(cfg["seed"])
    ib, ob, out_signed = kernel.in_spec.bits, kernel.out_spec.bits, kernel.out_spec.signed

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    if hasattr(dut, "ch_idx"):
        cocotb.start_soon(_serve_channels(dut, kernel))
    dut.rst.value = 1
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    accepted: list[int] = []                 # inputs the DUT took, in order (the monitor)
    expected: deque[int] = deque()           # outputs of completed rows, not yet delivered
    received = 0
    errors: list[str] = []
    flat = x.reshape(-1).tolist()
    sent = 0
    presenting = False
    idle = 0
    while received < rows * cols:
        # Drive in the middle of the cycle; valid stays up until its transfer.
        await FallingEdge(dut.clk)
        if not presenting:
            if sent < len(flat) and bubbles.random() < 0.7:
                dut.in_valid.value = 1
                dut.in_data.value = _to_bits(flat[sent], ib)
                presenting = True
            else:
                dut.in_valid.value = 0
        dut.out_ready.value = int(bubbles.random() < 0.6)
        # Sample the settled handshakes: they are what the next rising edge transfers.
        await ReadOnly()
        if presenting and int(dut.in_ready.value):
            accepted.append(_from_bits(int(dut.in_data.value), ib, kernel.in_spec.signed))
            sent += 1
            presenting = False
            if len(accepted) % cols == 0:    # a complete row: the kernel is the scoreboard
                row = np.array(accepted[-cols:], dtype=np.int64).reshape(1, cols)
                expected.extend(int(v) for v in kernel.sim(row).reshape(-1))
        if int(dut.out_valid.value) and int(dut.out_ready.value):
            got = _from_bits(int(dut.out_data.value), ob, out_signed)
            want = expected.popleft() if expected else None
            if got != want:
                errors.append(f"output {received}: expected {want}, got {got}")
            received += 1
            idle = 0
        else:
            idle += 1
            assert idle < 200 * cols + 4000, f"timeout after {received} of {rows * cols} outputs"
    assert accepted == flat, "the monitor saw other inputs than the driver sent"
    assert not errors, f"{len(errors)} mismatches; first: {errors[:3]}"
