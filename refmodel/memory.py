"""The C allocator's settings for runs that make and free many large arrays.

Every layer of the engine, of the PyTorch path and of calibration makes arrays of megabytes
(a DeiT-T fc1 accumulator at batch 8 is 9.7 MB of int64) and frees them a moment later. With
its defaults, glibc's ``malloc`` maps each such block fresh from the kernel (its threshold for
that moves with what was freed before, so the same run behaves differently depending on
history) and returns freed heap to the kernel whenever more than twice that threshold is
free; the next array then faults every page in again. Measured on DeiT-T at batch 8: about
100,000 page faults (416 MB) and 1.5x the time per engine batch, 650,000 faults and 2x the
time per PyTorch-path batch.

:func:`keep_freed_memory` fixes both thresholds: blocks up to 32 MiB (glibc's largest
accepted value) come from the heap, and up to 1 GiB of freed heap stays mapped for reuse. The
command-line entry points call it (:func:`refmodel.cli.run`); a program that uses refmodel as
a library may call it too. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

#: ``mallopt`` parameters (glibc's ``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap (glibc accepts at most 32 MiB on 64-bit).
HEAP_BLOCK_LIMIT = 32 << 20
#: Freed heap kept mapped before any is returned to the kernel.
KEPT_FREE = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module doc) once per process; ``True``
    when both were accepted, ``False`` where there is no ``mallopt``."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_LIMIT)) and bool(mallopt(M_TRIM_THRESHOLD, KEPT_FREE))
