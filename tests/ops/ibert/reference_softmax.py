"""Exact Python-int reference of ``ibert.softmax`` (the oracle for both datapaths).

Written from ``docs/ops/ibert.softmax.md`` with unbounded Python integers, one element at a
time, using only the register values in ``config``. Besides the output it records the
smallest and largest value of every named intermediate, so the tests can check each one
against the width the op document gives it (decision D14).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refmodel.fixedpoint import rne_shift, saturate
from tests.ops.helpers import Ranges, reference_rows


def exp16(d: int, config: dict, ranges: Ranges | None = None) -> int:
    """``E16`` of one ``D = X - max <= 0``: clamp, i-exp, then the 16-bit requantiser."""
    rg = ranges if ranges is not None else Ranges()
    x0, bq, cq, n, m, c = (config[key] for key in ("x0", "bq", "cq", "n", "m", "c"))
    d = rg.see("d_clamped", max(d, n * x0))
    q = rg.see("q", d // x0)
    r = rg.see("r", d - x0 * q)
    rg.see("r_plus_bq", r + bq)
    z = rg.see("z", r * (r + bq) + cq)
    zm = rg.see("z_times_m", z * m)
    shift = rg.see("shift", c - (n - q))
    e16_raw = rg.see("e16_unsaturated", rne_shift(zm, shift))
    return rg.see("e16", saturate(e16_raw, 16, True))


def softmax_row(row: Sequence[int], config: dict, ranges: Ranges) -> tuple[list[int], dict]:
    """One row: outputs and per-row facts (``ssum``, ``e16_row_max``, ``positive``)."""
    xs = [int(v) for v in row]
    top = max(xs)
    e16 = [exp16(ranges.see("d", x - top), config, ranges) for x in xs]
    ssum = ranges.see("ssum", sum(e16))
    f = ranges.see("f", (1 << 32) // ssum)
    shift = 32 - config["out_bits"]
    out = []
    for e in e16:
        prod = ranges.see("e16_times_f", e * f)
        out.append(ranges.see("out", prod >> shift))
    facts = {"ssum": ssum, "f": f, "e16": e16, "e16_row_max": max(e16), "positive": sum(1 for e in e16 if e > 0)}
    return out, facts


def reference_softmax(q: np.ndarray, config: dict) -> tuple[np.ndarray, Ranges, list[dict]]:
    """Rows of the last axis of ``q``: (outputs int64 of ``q``'s shape, ranges, per-row facts)."""
    return reference_rows(q, config, softmax_row)


def documented_bounds(config: dict, columns: int) -> dict[str, tuple[int, int]]:
    """The worst-case range of every intermediate, as the table in the op document gives it."""
    x0, bq, cq, n, m, c = (config[key] for key in ("x0", "bq", "cq", "n", "m", "c"))
    span = (1 << config["in_bits"]) - 1
    q_max = min(n, span // -x0)
    z_low = (x0 + 1) * (x0 + 1 + bq) + cq
    return {
        "d": (-span, 0),
        "d_clamped": (max(n * x0, -span), 0),
        "q": (0, q_max),
        "r": (x0 + 1, 0),
        "r_plus_bq": (x0 + 1 + bq, bq),
        "z": (z_low, cq),
        "z_times_m": (z_low * m, cq * m),
        "shift": (c - n, c - n + q_max),
        "e16_unsaturated": (0, 32767),
        "e16": (0, 32767),
        "ssum": (32767, 32767 * columns),
        "f": ((1 << 32) // (32767 * columns), (1 << 32) // 32767),
        "e16_times_f": (0, 32767 * ((1 << 32) // 32767)),
        "out": (0, (1 << config["out_bits"]) - 1),
    }
