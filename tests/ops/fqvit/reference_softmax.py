"""Exact Python-int reference of ``fqvit.softmax`` (Log-Int-Softmax), the oracle for both
datapaths.

Written from ``docs/ops/fqvit.softmax.md`` with unbounded Python integers, using only the
register values in ``config``. It records the ``[min, max]`` of every named intermediate so the
tests can hold each to the width the op document gives it (decision D14).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from refmodel.fixedpoint import rne_div


class Ranges:
    """Running ``[min, max]`` of named integer intermediates."""

    def __init__(self) -> None:
        self.bounds: dict[str, list[int]] = {}

    def see(self, name: str, value: int) -> int:
        lo_hi = self.bounds.setdefault(name, [value, value])
        lo_hi[0] = min(lo_hi[0], value)
        lo_hi[1] = max(lo_hi[1], value)
        return value


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
    arr = np.asarray(q)
    rows = arr.reshape(-1, arr.shape[-1])
    ranges = Ranges()
    outs, facts = [], []
    for row in rows:
        o, fct = lis_row(row.tolist(), config, ranges)
        outs.append(o)
        facts.append(fct)
    return np.array(outs, dtype=np.int64).reshape(arr.shape), ranges, facts


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


def within(observed: Ranges, bounds: dict[str, tuple[int, int]]) -> Iterable[str]:
    """Names of intermediates whose observed range leaves its documented bounds."""
    for name, (lo, hi) in observed.bounds.items():
        blo, bhi = bounds[name]
        if lo < blo or hi > bhi:
            yield f"{name}: observed [{lo}, {hi}] outside documented [{blo}, {bhi}]"
