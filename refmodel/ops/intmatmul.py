"""Exact integer matrix products for ``gemm`` and ``matmul``: BLAS only under a checked bound.

A product ``a @ b`` of integer matrices with reduction length ``K`` is computed in floating
point exactly when every product ``a_ik * b_kj`` and every partial sum, in whatever order the
BLAS library adds them (blocking and FMA included), is an integer the format represents
exactly: integers of magnitude below ``2^24`` in float32 and ``2^53`` in float64. Every such
partial sum is bounded by ``K * max|a| * max|b|``, so:

- :func:`plan` splits the reduction into chunks of ``chunk`` columns with
  ``chunk * max|a| * max|b| < 2^24`` (float32) or ``< 2^53`` (float64), takes the narrowest
  format whose chunks hold at least ``min(K, MIN_CHUNK)`` columns, converts each chunk's
  exact result to int64 and adds the chunks in int64;
- when neither format qualifies (operands over about 26 bits each) it takes the exact int64
  path, which first checks that ``K * max|a| * max|b| < 2^63`` (``ValueError`` otherwise:
  the sum would wrap).

The maxima are measured on the operands at each call, so the bound is checked every time.
The Numba path (:func:`matmul_np`) may use float32 chunks; the PyTorch path
(:func:`matmul_torch`) uses float64 chunks only, which no precision setting of PyTorch
(TF32, reduced-precision float32 matmul) can make inexact, and int64 otherwise.

On the Numba path each operand is an :class:`Operand`: one pass converts it to float32 and
measures ``max|x|``. A layer's weights are a fixed operand, a private read-only copy whose
magnitude and float copies are taken once at construction and so are its values' at every
later call; the plan is still made at each call from the activation's ``max|a|`` measured
then. Each chunk's float product goes to int64 in one pass that also adds the bias (first
chunk) or the running sum (later chunks); the sum of integers is the same in any order.

The float products run on the Numba kernels' own threads when :func:`refmodel.ops.blas.find`
gives numpy's ``cblas_?gemm`` (:func:`_blas_blocks`: one task per matrix and block of rows,
each calling BLAS on its block, one BLAS thread each); otherwise numpy's ``matmul`` on one
BLAS thread computes them.
"""

from __future__ import annotations

import contextlib

import numba
import numpy as np
import threadpoolctl
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import blas, scan

#: Exclusive bounds below which every integer is exact in float32 and float64.
FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53
#: The int64 path refuses sums that could reach this magnitude.
INT64_LIMIT = 1 << 63
#: A float format is used only when its chunks hold at least this many columns (or all K).
MIN_CHUNK = 64

_FLOAT_FORMATS = (("float32", FLOAT32_EXACT, np.float32), ("float64", FLOAT64_EXACT, np.float64))


def plan(k: int, a_max: int, b_max: int, formats: tuple[str, ...] = ("float32", "float64")) -> tuple[str, int]:
    """``(path, chunk)`` for a product with reduction length ``k`` and operand magnitudes at
    most ``a_max`` and ``b_max``: ``path`` is ``"float32"``, ``"float64"`` or ``"int64"``;
    ``chunk`` is the number of reduction columns per exact float product (``k`` for int64).
    Raises ``ValueError`` when even int64 could overflow."""
    bound = a_max * b_max
    if k * bound >= INT64_LIMIT:
        raise ValueError(
            f"a: the exact product needs {(k * bound).bit_length() + 1} bits "
            f"(K={k}, max|a|={a_max}, max|b|={b_max}); int64 holds 63"
        )
    for name, limit, _ in _FLOAT_FORMATS:
        if name not in formats:
            continue
        chunk = (limit - 1) // bound if bound else k
        if chunk >= min(k, MIN_CHUNK):
            return name, max(1, min(k, chunk))
    return "int64", k


def _max_abs_np(x: np.ndarray) -> int:
    if not x.size:
        return 0
    lo, hi = scan.int_range(x)
    return max(hi, -lo)


def _max_abs_torch(x: torch.Tensor) -> int:
    return int(x.abs().max()) if x.numel() else 0


class Operand:
    """An int64 operand ``x`` of :func:`matmul_np` with its range ``lo = min x``, ``hi = max x``,
    ``max_abs = max|x|`` and its float copies (float32 made with the range, in one pass;
    float64 on first use).

    ``fixed=False`` wraps ``x`` (no copy; any strides) for one product. Its float copy is read
    from the view in place; when ``x`` is the transposed view of a row-major matrix (its
    last-but-one axis has unit stride, as ``k^T``) the copy keeps the row-major layout and
    ``transposed`` is True, so BLAS reads it transposed. ``fixed=True`` takes a private
    read-only C-order copy, for an operand used in many products (a layer's weights): its
    range and float copies then stay its values' for as long as it lives. ``ints`` (the values
    in C order, for the int64 path) is made on first use."""

    def __init__(self, x: np.ndarray, fixed: bool = False) -> None:
        if fixed:
            x = np.array(x, dtype=np.int64, order="C", copy=True)
            x.setflags(write=False)
        else:
            x = np.asarray(x, dtype=np.int64)
        self._x = x
        self.shape: tuple[int, ...] = x.shape
        self.transposed = x.ndim >= 2 and not x.flags.c_contiguous and x.strides[-2] == x.itemsize
        f32, self.lo, self.hi = scan.to_float(self._stored(x), np.float32)
        self.max_abs = max(self.hi, -self.lo)
        self._floats: dict[type, np.ndarray] = {np.float32: f32}
        self._ints: np.ndarray | None = x if x.flags.c_contiguous else None

    def _stored(self, x: np.ndarray) -> np.ndarray:
        return x.swapaxes(-1, -2) if self.transposed else x

    @property
    def ints(self) -> np.ndarray:
        """``x`` as a C-contiguous int64 array."""
        if self._ints is None:
            self._ints = np.ascontiguousarray(self._x)
        return self._ints

    def floats(self, dtype: type[np.floating]) -> np.ndarray:
        """``x`` as ``dtype`` (exact when every ``|x|`` is below that format's bound), C order;
        for a ``transposed`` operand the C-order copy of ``x.swapaxes(-1, -2)``."""
        if dtype not in self._floats:
            self._floats[dtype] = scan.to_float(self._stored(self._x), dtype)[0]
        return self._floats[dtype]

    def logical_floats(self, dtype: type[np.floating]) -> np.ndarray:
        """:meth:`floats` as a view of ``x``'s shape."""
        f = self.floats(dtype)
        return f.swapaxes(-1, -2) if self.transposed else f


@rows_kernel
def _matmul_loops(a, b):
    """``a @ b`` for int64 ``a (B, M, K)`` and ``b (B, K, N)`` with int64 loops, parallel
    over the ``B * M`` output rows."""
    batches, rows, depth = a.shape
    cols = b.shape[2]
    out = np.zeros((batches, rows, cols), dtype=np.int64)
    for r in prange(batches * rows):
        n = r // rows
        i = r - n * rows
        for kk in range(depth):
            x = a[n, i, kk]
            if x != 0:
                for j in range(cols):
                    out[n, i, j] += x * b[n, kk, j]
    return out


@rows_kernel
def _blas_blocks(gemm, one, zero, a, a_t, b, b_t, bias, out, chunk, row_blocks):
    """``out[n] = op(a[n]) @ op(b[n]) + bias`` for float ``a`` and ``b`` holding integers
    (``op(x) = x^T`` when the flag ``a_t`` / ``b_t`` is set, else ``x``), giving ``op(a[n])``
    of shape ``(M, K)`` and ``op(b[n])`` of ``(K, N)``, and int64 ``out (B, M, N)``: task ``t``
    takes matrix ``n = t // row_blocks`` and its ``t % row_blocks``-th block of rows,
    multiplies it by BLAS ``gemm`` in reduction chunks of ``chunk`` columns, and adds each
    chunk's product to ``out`` as int64."""
    batches = a.shape[0]
    rows = a.shape[2] if a_t else a.shape[1]
    depth = a.shape[1] if a_t else a.shape[2]
    cols = b.shape[1] if b_t else b.shape[2]
    lda = a.shape[2]
    ldb = b.shape[2]
    trans_a = blas.TRANS if a_t else blas.NO_TRANS
    trans_b = blas.TRANS if b_t else blas.NO_TRANS
    step = (rows + row_blocks - 1) // row_blocks
    for t in prange(batches * row_blocks):
        n = t // row_blocks
        lo = (t - n * row_blocks) * step
        hi = min(rows, lo + step)
        if hi <= lo:
            continue
        part = np.empty((hi - lo, cols), dtype=a.dtype)
        for k0 in range(0, depth, chunk):
            width = min(chunk, depth - k0)
            a_block = a[n, k0:, lo:] if a_t else a[n, lo:, k0:]
            b_block = b[n, :, k0:] if b_t else b[n, k0:, :]
            gemm(blas.ROW_MAJOR, trans_a, trans_b, hi - lo, cols, width, one, a_block.ctypes, lda, b_block.ctypes, ldb, zero, part.ctypes, cols)
            if k0 == 0:
                for r in range(hi - lo):
                    for j in range(cols):
                        out[n, lo + r, j] = np.int64(part[r, j]) + bias[j]
            else:
                for r in range(hi - lo):
                    for j in range(cols):
                        out[n, lo + r, j] += np.int64(part[r, j])
    return out


@rows_kernel
def _store(part, bias, out):
    """``out[r, j] = int64(part[r, j]) + bias[j]`` for a float ``part (R, N)`` of integers."""
    rows, cols = part.shape
    for r in prange(rows):
        for j in range(cols):
            out[r, j] = np.int64(part[r, j]) + bias[j]


@rows_kernel
def _accumulate(part, out):
    """``out[r, j] += int64(part[r, j])`` for a float ``part (R, N)`` of integers."""
    rows, cols = part.shape
    for r in prange(rows):
        for j in range(cols):
            out[r, j] += np.int64(part[r, j])


def matmul_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The exact int64 path of :func:`matmul_np` (``a (B, M, K)``, ``b (B, K, N)``)."""
    plan(a.shape[-1], _max_abs_np(a), _max_abs_np(b), formats=())
    return _matmul_loops(np.ascontiguousarray(a, dtype=np.int64), np.ascontiguousarray(b, dtype=np.int64))


def matmul_np(a: np.ndarray | Operand, b: np.ndarray | Operand, bias: np.ndarray | None = None) -> np.ndarray:
    """``a @ b + bias`` exactly for int64 ``a (..., M, K)``, ``b (..., K, N)`` with the same
    leading axes (arrays or :class:`Operand`) and int64 ``bias (N,)`` (``None``: 0): float32
    or float64 BLAS in chunks under the bound of :func:`plan`, else int64 loops."""
    a = a if isinstance(a, Operand) else Operand(a)
    b = b if isinstance(b, Operand) else Operand(b)
    k, cols = a.shape[-1], b.shape[-1]
    path, chunk = plan(k, a.max_abs, b.max_abs)
    bias = np.zeros(cols, dtype=np.int64) if bias is None else bias
    out_shape = a.shape[:-1] + (cols,)
    if path == "int64":
        stack = _matmul_loops(a.ints.reshape((-1,) + a.shape[-2:]), b.ints.reshape((-1,) + b.shape[-2:]))
        return stack.reshape(out_shape) + bias
    dtype = next(d for name, _, d in _FLOAT_FORMATS if name == path)
    out = np.empty(out_shape, dtype=np.int64)
    gemms = blas.find() if use_numba_blas else None
    if gemms is not None:
        with gemms.one_thread():
            _blas_chunks(gemms, dtype, a, b, bias, out, chunk)
    else:
        with one_blas_thread():
            _numpy_chunks(a.logical_floats(dtype), b.logical_floats(dtype), bias, out, chunk)
    return out


#: Whether :func:`matmul_np` calls BLAS from the Numba workers when it can (tests turn it off
#: to cover numpy's ``matmul`` path).
use_numba_blas = True


def _blas_chunks(gemms: blas.Gemms, dtype: type, a: Operand, b: Operand, bias: np.ndarray, out: np.ndarray, chunk: int) -> None:
    af, bf = a.floats(dtype), b.floats(dtype)
    a3, b3 = af.reshape((-1,) + af.shape[-2:]), bf.reshape((-1,) + bf.shape[-2:])
    batches, cols = a3.shape[0], b.shape[-1]
    row_blocks = max(1, -(-numba.get_num_threads() // batches))
    gemm = gemms.sgemm if dtype is np.float32 else gemms.dgemm
    out3 = out.reshape((batches, a.shape[-2], cols))
    _blas_blocks(gemm, dtype(1.0), dtype(0.0), a3, a.transposed, b3, b.transposed, bias, out3, chunk, row_blocks)


def _numpy_chunks(af: np.ndarray, bf: np.ndarray, bias: np.ndarray, out: np.ndarray, chunk: int) -> None:
    cols, k = bf.shape[-1], af.shape[-1]
    out_rows = out.reshape(-1, cols)
    for lo in range(0, k, chunk):
        part = np.matmul(af[..., lo : lo + chunk], bf[..., lo : lo + chunk, :]).reshape(-1, cols)
        if lo == 0:
            _store(part, bias, out_rows)
        else:
            _accumulate(part, out_rows)


_BLAS: threadpoolctl.ThreadpoolController | None = None


def one_blas_thread() -> contextlib.AbstractContextManager:
    """numpy's BLAS on one thread inside the block. The Numba kernels' OpenMP workers keep
    spinning for a while after each parallel kernel; a second BLAS thread then shares a core
    with them and a GEMM runs several times slower than on one thread (measured on DeiT-T:
    1.36 s per batch of 8 against 0.39 s). The libraries are looked up once."""
    global _BLAS
    if _BLAS is None:
        _BLAS = threadpoolctl.ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def matmul_torch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` exactly for int64 tensors (batched like ``torch.matmul``): float64 BLAS in
    chunks under the bound of :func:`plan`, else an int64 matmul (on the CPU)."""
    k = a.shape[-1]
    path, chunk = plan(k, _max_abs_torch(a), _max_abs_torch(b), formats=("float64",))
    if path == "int64":
        return torch.matmul(a.cpu(), b.cpu()).to(a.device)
    parts = (
        torch.matmul(a[..., lo : lo + chunk].to(torch.float64), b[..., lo : lo + chunk, :].to(torch.float64)).to(torch.int64)
        for lo in range(0, k, chunk)
    )
    return sum(parts, start=torch.zeros((), dtype=torch.int64, device=a.device))
