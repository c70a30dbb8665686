"""The one place that owns Numba's jit settings.

Every kernel in ``refmodel.ops`` is compiled with :func:`rows_kernel` (parallel over rows) or
:func:`scalar_helper` (an inlined integer helper called from kernels). Both use ``cache=True``
and never ``fastmath``: integer code gains nothing from it and the float code that derives
constants must stay IEEE. With ``NUMBA_DISABLE_JIT=1`` the decorators return the plain Python
functions and ``prange`` is ``range``, so the same kernels run as Python (slow, but visible to
coverage and debuggers).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable)

prange = numba.prange


def _kernel_source_digest() -> str:
    """A digest of every kernel source file and of this module."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted((root / "ops").rglob("*.py")) + [Path(__file__).resolve()]:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# Numba keys its on-disk cache by the decorated function's own file, not by the helpers it
# inlines from other modules, so an edited helper could be served stale from the cache. The
# cache therefore lives in a directory named by a digest of all kernel sources (unless the
# user chose one with NUMBA_CACHE_DIR).
if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = str(Path.home() / ".cache" / "refmodel" / "numba" / _kernel_source_digest())

_COMMON = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}


def rows_kernel(fn: F) -> F:
    """Compile ``fn`` as a parallel kernel: its outer ``prange`` loop runs over rows."""
    return numba.njit(parallel=True, **_COMMON)(fn)


def scalar_helper(fn: F) -> F:
    """Compile ``fn`` as a small integer helper, inlined into the kernels that call it."""
    return numba.njit(inline="always", **_COMMON)(fn)
