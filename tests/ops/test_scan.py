"""scan: the range of an int64 array and its float copy, one pass each, for every layout."""

from __future__ import annotations

import numpy as np
import pytest

from refmodel.ops import scan

pytestmark = pytest.mark.plain


def _views() -> dict[str, np.ndarray]:
    base = np.random.default_rng(3).integers(-(2**40), 2**40, (2, 5, 3, 4, 6))
    return {
        "c-order": base[0, :, 0],
        "head split": base[0].transpose(1, 2, 0, 3)[1],  # (4, 5, 6) with a gap between rows
        "transposed": base[1, :, 2].swapaxes(-1, -2),
        "1-d step": base[0, 0, 0, 0, ::2],
        "5-d permuted": base.transpose(4, 3, 2, 1, 0),
        "negative stride": base[1, ::-1, 1, :, ::-1],
    }


@pytest.mark.parametrize("name", list(_views()))
def test_to_float_copies_any_layout_in_c_order_with_its_range(name):
    x = _views()[name]
    assert name == "c-order" or not x.flags.c_contiguous
    for dtype in (np.float64, np.float32):
        out, lo, hi = scan.to_float(x, dtype)
        assert out.dtype == dtype and out.shape == x.shape and out.flags.c_contiguous
        np.testing.assert_array_equal(out, x.astype(dtype))
        assert (lo, hi) == (int(x.min()), int(x.max()))
    assert scan.int_range(x) == (int(x.min()), int(x.max()))


def test_to_float_of_an_empty_array():
    out, lo, hi = scan.to_float(np.zeros((3, 0), dtype=np.int64).T, np.float32)
    assert out.shape == (0, 3) and (lo, hi) == (0, 0)
