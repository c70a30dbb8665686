"""Hypothesis strategies shared by the op tests: integer tensors, scales, widths.

Integer tensors are int64 numpy arrays whose values lie in a declared width; the shape's last
axis is the op's reduction/channel axis. ``plain`` (``NUMBA_DISABLE_JIT=1``) runs shrink the
shapes so the kernels can run as Python.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import strategies as st

from refmodel.fixedpoint import int_range

PLAIN_PYTHON = os.environ.get("NUMBA_DISABLE_JIT") == "1"
MAX_ROWS = 3 if PLAIN_PYTHON else 12
MAX_COLS = 12 if PLAIN_PYTHON else 256


def widths(lo: int = 2, hi: int = 32) -> st.SearchStrategy[int]:
    """A bit width in ``[lo, hi]``."""
    return st.integers(lo, hi)


def scales(lo: float = 1e-3, hi: float = 1.0) -> st.SearchStrategy[float]:
    """A positive scale, log-uniform in ``[lo, hi]``, rounded to float32 as models store it."""
    return st.floats(np.log(lo), np.log(hi)).map(lambda e: float(np.float32(np.exp(e))))


def shapes(max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS, cols: int | None = None) -> st.SearchStrategy[tuple[int, int]]:
    """A 2-D shape ``(rows, cols)``; ``cols`` fixes the last axis."""
    col_st = st.just(cols) if cols is not None else st.integers(1, max_cols)
    return st.tuples(st.integers(1, max_rows), col_st)


@st.composite
def int_arrays(draw, bits: int, signed: bool = True, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An int64 array of the given width. Rows are drawn from a mix of patterns that reach the
    edges: uniform, the extremes of the width, all-equal, and a narrow realistic cluster."""
    if shape is None:
        shape = draw(shapes())
    lo, hi = int_range(bits, signed)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["uniform", "extremes", "constant", "cluster", "mixed"]))
    size = int(np.prod(shape))
    if kind == "uniform":
        arr = rng.integers(lo, hi, size=shape, endpoint=True)
    elif kind == "extremes":
        arr = rng.choice(np.array([lo, hi, lo + 1 if hi > lo else lo, hi - 1 if hi > lo else hi, 0 if signed else lo]), size=shape)
    elif kind == "constant":
        arr = np.full(shape, draw(st.integers(lo, hi)))
    elif kind == "cluster":
        center = draw(st.integers(lo, hi))
        spread = max(1, (hi - lo) // 64)
        arr = np.clip(center + rng.integers(-spread, spread, size=shape, endpoint=True), lo, hi)
    else:
        arr = rng.integers(lo, hi, size=size, endpoint=True)
        n_edge = draw(st.integers(0, size))
        idx = rng.choice(size, size=n_edge, replace=False)
        arr[idx] = rng.choice(np.array([lo, hi]), size=n_edge)
        arr = arr.reshape(shape)
    return np.ascontiguousarray(arr, dtype=np.int64)
