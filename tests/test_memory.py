"""memory: with the allocator's thresholds set, arrays of megabytes made and freed over and
over are served from memory kept mapped, not faulted in afresh each time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from refmodel import memory

pytestmark = pytest.mark.plain

_LOOP = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from refmodel import memory
    if sys.argv[1] == "keep":
        assert memory.keep_freed_memory()
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(2):  # warm-up rounds
        arrays = [np.ones(1_200_000) for _ in range(4)]  # 9.6 MB each, every page written
        del arrays
    before = faults()
    for _ in range(20):
        arrays = [np.ones(1_200_000) for _ in range(4)]
        del arrays
    print(faults() - before)
    """
)


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _LOOP, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    kept, default = _faults("keep"), _faults("default")
    pages = 20 * 4 * 9_600_000 // 4096  # what faulting every array in afresh costs
    assert kept < pages // 20, (kept, default)
    assert default > pages // 20, (kept, default)  # without it the loop does fault: the check can fail


def test_it_is_set_once_and_reports_success():
    assert memory.keep_freed_memory() is memory.keep_freed_memory()
