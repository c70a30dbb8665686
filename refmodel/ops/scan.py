"""Whole-array passes of the Numba datapath: the range of an int64 array, and its conversion
to float together with that range, each one parallel read of the array.

:func:`int_range` gives ``(min x, max x)`` of an integer array as Python ints (the input
check of every kernel); :func:`to_float` writes ``float(x)`` element by element (IEEE
round-to-nearest, exact for ``|x| <= 2^24`` in float32 and ``2^53`` in float64) and returns
the range measured in the same pass; it reads a strided view whose rows have unit stride (a
head of ``q``, ``k`` or ``v`` split out of one tensor) in place, row by row out of the span of
memory the view covers, so the view is never copied to C order first.
"""

from __future__ import annotations

import numpy as np

from refmodel.jit import prange, rows_kernel


@rows_kernel
def _range(x):
    """``(min x, max x)`` of a non-empty 1-D int64 array."""
    lo = x[0]
    hi = x[0]
    for i in prange(x.size):
        v = x[i]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@rows_kernel
def _convert(x, out):
    """``out[i] = x[i]`` (to ``out``'s float type) for non-empty 1-D arrays of one length;
    returns ``(min x, max x)``."""
    lo = x[0]
    hi = x[0]
    for i in prange(x.size):
        v = x[i]
        out[i] = v
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@rows_kernel
def _convert_rows(flat, starts, width, out):
    """``out[r, m] = flat[starts[r] + m]`` for ``r < len(starts)``, ``m < width`` (rows of unit
    stride read out of one flat span of memory; ``out`` C-contiguous); returns
    ``(min, max)`` of the values read."""
    lo = flat[starts[0]]
    hi = lo
    for r in prange(starts.size):
        base = starts[r]
        for m in range(width):
            v = flat[base + m]
            out[r, m] = v
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


def _unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For a non-empty array whose last axis has unit stride and whose other strides are
    positive: ``(flat, starts)``, ``flat`` a 1-D view of the memory from ``x``'s first element
    to its last and ``starts`` the offset in ``flat`` of each row of ``x`` (C order); else
    ``None``."""
    size = x.itemsize
    if x.ndim < 2 or x.strides[-1] != size or any(st <= 0 or st % size for st in x.strides[:-1]):
        return None
    steps = [st // size for st in x.strides[:-1]]
    span = 1 + (x.shape[-1] - 1) + sum((n - 1) * st for n, st in zip(x.shape[:-1], steps))
    flat = np.lib.stride_tricks.as_strided(x, shape=(span,), strides=(size,))
    starts = np.zeros(1, dtype=np.int64)
    for n, st in zip(x.shape[:-1], steps):
        starts = (starts[:, None] + np.arange(n, dtype=np.int64) * st).reshape(-1)
    return flat, starts


def int_range(x: np.ndarray) -> tuple[int, int]:
    """``(min x, max x)`` of a non-empty integer array, as Python ints (one Numba pass for
    C-contiguous int64; other dtypes and layouts by numpy, on their own values)."""
    if x.dtype == np.int64 and x.flags.c_contiguous:
        lo, hi = _range(x.reshape(-1))
        return int(lo), int(hi)
    return int(x.min()), int(x.max())


def to_float(x: np.ndarray, dtype: type[np.floating]) -> tuple[np.ndarray, int, int]:
    """``(x as dtype, min x, max x)`` for an int64 array ``x`` of any strides: a C-contiguous
    float copy and the range, in one pass (Python ints; ``(0, 0)`` for an empty array)."""
    out = np.empty(x.shape, dtype=dtype)
    if x.size == 0:
        return out, 0, 0
    if x.flags.c_contiguous:
        lo, hi = _convert(x.reshape(-1), out.reshape(-1))
    elif (rows := _unit_rows(x)) is not None:
        lo, hi = _convert_rows(rows[0], rows[1], x.shape[-1], out.reshape(-1, x.shape[-1]))
    else:
        lo, hi = _convert(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out, int(lo), int(hi)
