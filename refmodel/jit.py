"""The one place that owns Numba's jit settings.

Every kernel in ``refmodel.ops`` is compiled with :func:`rows_kernel` (parallel over rows) or
:func:`scalar_helper` (an inlined integer helper called from kernels). Both use ``cache=True``
and never ``fastmath``: integer code gains nothing from it and the float code that derives
constants must stay IEEE. With ``NUMBA_DISABLE_JIT=1`` the decorators return the plain Python
functions and ``prange`` is ``range``, so the same kernels run as Python (slow, but visible to
coverage and debuggers).
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable)

prange = numba.prange

_COMMON = {"cache": True, "fastmath": False, "nogil": True, "error_model": "numpy"}


def rows_kernel(fn: F) -> F:
    """Compile ``fn`` as a parallel kernel: its outer ``prange`` loop runs over rows."""
    return numba.njit(parallel=True, **_COMMON)(fn)


def scalar_helper(fn: F) -> F:
    """Compile ``fn`` as a small integer helper, inlined into the kernels that call it."""
    return numba.njit(inline="always", **_COMMON)(fn)
