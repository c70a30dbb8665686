"""Helpers shared by the op tests: running both datapaths, input refusals, building ops that
hypothesis may discard, and the range recorder of the exact Python-int references.

Test-side only: nothing here is used by ``refmodel``, so the references stay independent of
the datapaths they check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import assume

from refmodel import ops


# ----------------------------------------------------------------------------- datapaths
def both(k: ops.Kernel, q: np.ndarray) -> np.ndarray:
    """Run both datapaths, require bit equality, return the (Numba) result."""
    got = k.sim(q)
    np.testing.assert_array_equal(got, k.fakequant(torch.from_numpy(q)).numpy())
    return got


def run_both(k: ops.Kernel, q: np.ndarray) -> np.ndarray:
    """:func:`both`, and the result is int64 of ``q``'s shape."""
    got = both(k, q)
    assert got.dtype == np.int64 and got.shape == q.shape
    return got


def assert_inputs_refused(k: ops.Kernel, bad_rows: Iterable[list]) -> None:
    """Each input is refused by both datapaths with a ``ValueError`` naming ``q``."""
    for bad in bad_rows:
        with pytest.raises(ValueError, match="^q:"):
            k.sim(np.array(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.fakequant(torch.tensor(bad))


def make_or_reject(name: str, **kwargs: Any) -> ops.Kernel:
    """Build op ``name``, and let hypothesis discard the rare scale refused as non-monotone."""
    try:
        return ops.make(name, **kwargs)
    except ValueError as err:
        assume("not monotone" not in str(err))
        raise


# ----------------------------------------------------------------------------- references
class Ranges:
    """Running ``[min, max]`` of named integer intermediates."""

    def __init__(self) -> None:
        self.bounds: dict[str, list[int]] = {}

    def see(self, name: str, value: int) -> int:
        lo_hi = self.bounds.setdefault(name, [value, value])
        lo_hi[0] = min(lo_hi[0], value)
        lo_hi[1] = max(lo_hi[1], value)
        return value

    def __getitem__(self, name: str) -> tuple[int, int]:
        lo, hi = self.bounds[name]
        return lo, hi

    def as_dict(self) -> dict[str, tuple[int, int]]:
        return {k: (v[0], v[1]) for k, v in self.bounds.items()}


RowFn = Callable[[Sequence[int], dict, Ranges], tuple[list[int], dict]]


def reference_rows(q: np.ndarray, config: dict, row_fn: RowFn) -> tuple[np.ndarray, Ranges, list[dict]]:
    """``row_fn`` on each row of the last axis of ``q``: (outputs int64 of ``q``'s shape,
    ranges, per-row facts)."""
    arr = np.asarray(q)
    rows = arr.reshape(-1, arr.shape[-1])
    ranges = Ranges()
    outs, facts = [], []
    for row in rows:
        o, fct = row_fn(row.tolist(), config, ranges)
        outs.append(o)
        facts.append(fct)
    return np.array(outs, dtype=np.int64).reshape(arr.shape), ranges, facts


def within(observed: Ranges, bounds: dict[str, tuple[int, int]]) -> Iterable[str]:
    """Names of intermediates whose observed range leaves its documented bounds."""
    for name, (lo, hi) in observed.bounds.items():
        blo, bhi = bounds[name]
        if lo < blo or hi > bhi:
            yield f"{name}: observed [{lo}, {hi}] outside documented [{blo}, {bhi}]"


def round_half_even(q: Fraction) -> int:
    """The integer nearest ``q``; ties to even."""
    fl = math.floor(q)
    rest = q - fl
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and fl % 2 == 1):
        fl += 1
    return fl


def signed_bits(lo: int, hi: int) -> int:
    """The smallest two's-complement width holding ``[lo, hi]`` (independent of refmodel)."""
    return max((x if x >= 0 else -x - 1).bit_length() + 1 for x in (lo, hi))
