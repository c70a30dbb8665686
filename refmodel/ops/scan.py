"""Whole-array passes of the Numba datapath: the range of an int64 array, and its conversion
to float together with that range, each one parallel read of the array.

:func:`int_range` gives ``(min x, max x)`` of an integer array as Python ints (the input
check of every kernel); :func:`to_float` writes ``float(x)`` element by element (IEEE
round-to-nearest, exact for ``|x| <= 2^24`` in float32 and ``2^53`` in float64) and returns
the range measured in the same pass; it reads a strided view (a head of ``q``, ``k`` or ``v``
split out of one tensor) in place, so the view is never copied to C order first.
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
def _convert_4d(x, out):
    """:func:`_convert` for a non-empty 4-D array ``x`` of any strides and a C-contiguous
    ``out`` of its shape."""
    d0, d1, d2, d3 = x.shape
    lo = x[0, 0, 0, 0]
    hi = x[0, 0, 0, 0]
    for r in prange(d0 * d1):
        i = r // d1
        j = r - i * d1
        for k in range(d2):
            src = x[i, j, k]
            dst = out[i, j, k]
            for m in range(d3):
                v = src[m]
                dst[m] = v
                lo = min(lo, v)
                hi = max(hi, v)
    return lo, hi


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
    elif x.ndim <= 4:
        lead = (1,) * (4 - x.ndim)
        lo, hi = _convert_4d(x.reshape(lead + x.shape), out.reshape(lead + x.shape))
    else:
        lo, hi = _convert(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out, int(lo), int(hi)
