"""Exact Python-int reference of ``fqvit.softmax`` (Log-Int-Softmax), the oracle for both
datapaths.

Written from ``docs/ops/fqvit.softmax.md`` with unbounded Python integers, using only the
register values in ``config``. It records the ``[min, max]`` of every named intermediate so the
tests can hold each to the width the op document gives it (decision D14).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refmodel.fixedpoint import rne_div
from tests.ops.helpers import Ranges, reference_rows


def iexp30(d: int, config: dict, ranges: Ranges | None = None) -> int:
    """``E = z << (30 - q)`` of one ``D = X - max <= 0`` (I-BERT's i-exp with n = 30)."""
    rg = ranges if ranges is not None else Ranges()
    x0, bq, cq = config["x0"], config["bq"], config["cq"]
    d = rg.see("d_clamped", max(d, 30 * x0))
    q = rg.see("q", d // x0)
    r = rg.see("r", d - x0 * q)
    z = rg.see("z", r * (r + bq) + cq)
    return rg.see("e", z << (30 - q))


def log2_code(ratio: int) -> int:
    """``k + ((R >> (k-1)) & 1)`` with ``k = bitlen(R) - 1`` for ``R >= 2``; 0 for ``R = 1``."""
    k = ratio.bit_length() - 1
    return 0 if k == 0 else k + ((ratio >> (k - 1)) & 1)


def lis_row(row: Sequence[int], config: dict, ranges: Ranges) -> tuple[list[int], dict]:
    """One row: codes and per-row facts (``e`` list and ``s``)."""
    xs = [int(v) for v in row]
    top = max(xs)
    es = [iexp30(ranges.see("d", x - top), config, ranges) for x in xs]
    s = ranges.see("s", sum(es))
    out = []
    for e in es:
        ratio = ranges.see("ratio", rne_div(s, e))
        ranges.see("k", ratio.bit_length() - 1)
        code = ranges.see("code", log2_code(ratio))
        out.append(ranges.see("out", min(code, config["zero_code"])))
    return out, {"e": es, "s": s}


def reference_lis(q: np.ndarray, config: dict) -> tuple[np.ndarray, Ranges, list[dict]]:
    """Rows of the last axis of ``q``: (codes int64 of ``q``'s shape, ranges, per-row facts)."""
    return reference_rows(q, config, lis_row)


def documented_bounds(config: dict, columns: int) -> dict[str, tuple[int, int]]:
    """The worst-case range of every intermediate, as the op document's table gives it."""
    x0, bq, cq = config["x0"], config["bq"], config["cq"]
    span = (1 << config["in_bits"]) - 1
    q_max = min(30, span // -x0)
    z_low = (x0 + 1) * (x0 + 1 + bq) + cq
    e_max = cq << 30
    return {
        "d": (-span, 0),
        "d_clamped": (max(30 * x0, -span), 0),
        "q": (0, q_max),
        "r": (x0 + 1, 0),
        "z": (z_low, cq),
        "e": (z_low << (30 - q_max) if q_max < 30 else min(cq, z_low << 1), e_max),
        "s": (e_max, columns * e_max),
        "ratio": (1, columns * e_max),
        "k": (0, (columns * e_max).bit_length() - 1),
        "code": (0, (columns * e_max).bit_length()),
        "out": (0, config["zero_code"]),
    }
