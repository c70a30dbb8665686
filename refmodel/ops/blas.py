"""numpy's own BLAS GEMM, callable from inside a Numba kernel.

The exact float products of :mod:`refmodel.ops.intmatmul` need both cores. numpy's OpenBLAS
keeps its own thread pool, and its threads and the Numba kernels' OpenMP workers (which spin
for a while after every parallel kernel) fight over the cores. Calling ``cblas_sgemm`` /
``cblas_dgemm`` from the Numba workers themselves, one block of rows per worker with BLAS
limited to the calling thread, leaves a single thread pool.

:func:`find` looks the two functions up in the OpenBLAS library numpy loaded (found by
``threadpoolctl``; numpy's own build prefixes every symbol with ``scipy_`` and suffixes it
with ``64_``), learns its integer width from ``openblas_get_config()`` (``USE64BITINT``:
64-bit dimensions), and accepts them only after each has computed a small integer product
exactly. When no such library is found (numpy built on another BLAS) it returns ``None`` and
the caller keeps numpy's ``matmul``.

The functions are ``ctypes`` objects; a Numba kernel receives them as an argument (a
first-class function), which keeps that kernel cacheable.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl

#: CBLAS enum values (``CblasRowMajor``, ``CblasNoTrans``, ``CblasTrans``), plain C ints in
#: every CBLAS.
ROW_MAJOR = 101
NO_TRANS = 111
TRANS = 112


@dataclass(frozen=True)
class Gemms:
    """``cblas_?gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)``
    for float32 (``sgemm``) and float64 (``dgemm``), and the library they come from."""

    sgemm: Any
    dgemm: Any
    library: str
    set_threads: Any
    get_threads: Any

    @contextlib.contextmanager
    def one_thread(self) -> Iterator[None]:
        """The library on one thread (each call runs on its calling thread) inside the block;
        its previous setting after it. Two C calls, where ``threadpoolctl`` walks every loaded
        library."""
        before = self.get_threads()
        if before != 1:
            self.set_threads(1)
        try:
            yield
        finally:
            if before != 1:
                self.set_threads(before)


def _bind(lib: ctypes.CDLL, name: str, real: type, index: type) -> Any:
    fn = getattr(lib, name)
    fn.restype = None
    pointer = ctypes.c_void_p
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, index, index, index, real, pointer, index, pointer, index, real, pointer, index]
    return fn


def _computes_exactly(fn: Any, dtype: type[np.floating]) -> bool:
    """Whether ``fn`` multiplies a 2x3 by a 3x2 integer matrix exactly (row-major)."""
    a = np.array([[1, -2, 3], [4, 5, -6]], dtype=dtype)
    b = np.array([[7, 8], [-9, 10], [11, -12]], dtype=dtype)
    c = np.zeros((2, 2), dtype=dtype)
    fn(ROW_MAJOR, NO_TRANS, NO_TRANS, 2, 2, 3, 1.0, a.ctypes.data, 3, b.ctypes.data, 2, 0.0, c.ctypes.data, 2)
    return bool(np.array_equal(c, [[58, -48], [-83, 154]]))


def _numpy_openblas() -> str | None:
    numpy_dir = Path(np.__file__).resolve().parent.parent
    for lib in threadpoolctl.threadpool_info():
        if lib.get("internal_api") == "openblas" and Path(lib["filepath"]).resolve().is_relative_to(numpy_dir):
            return lib["filepath"]
    return None


@functools.cache
def find() -> Gemms | None:
    """The float32 and float64 GEMMs of numpy's OpenBLAS, or ``None`` (see the module doc)."""
    path = _numpy_openblas()
    if path is None:
        return None
    lib = ctypes.CDLL(path)
    for prefix in ("scipy_", ""):  # numpy's own build renames every symbol
        for suffix in ("64_", ""):
            get_config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
            if get_config is None:
                continue
            get_config.restype = ctypes.c_char_p
            index = ctypes.c_int64 if b"USE64BITINT" in get_config() else ctypes.c_int
            try:
                sgemm = _bind(lib, f"{prefix}cblas_sgemm{suffix}", ctypes.c_float, index)
                dgemm = _bind(lib, f"{prefix}cblas_dgemm{suffix}", ctypes.c_double, index)
                set_threads = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
                get_threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
            except AttributeError:
                continue
            set_threads.argtypes, set_threads.restype = [ctypes.c_int], None
            get_threads.argtypes, get_threads.restype = [], ctypes.c_int
            if _computes_exactly(sgemm, np.float32) and _computes_exactly(dgemm, np.float64):
                return Gemms(sgemm, dgemm, path, set_threads, get_threads)
    return None
