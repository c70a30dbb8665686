"""QTensor: the real range from the integer extremes equals the range of the real tensor, bit
for bit (the calibration observers take it instead of the float tensor)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel.quant.observer import RangeObserver
from refmodel.quant.qtensor import QTensor

pytestmark = pytest.mark.plain


@given(
    seed=st.integers(0, 2**31),
    bits=st.sampled_from([8, 16, 32, 40, 56, 62]),
    per_channel=st.booleans(),
    shape=st.sampled_from([(1, 1), (3, 5), (2, 4, 7), (9,)]),
)
def test_real_range_is_the_range_of_real(seed, bits, per_channel, shape):
    rng = np.random.default_rng(seed)
    half = 1 << (bits - 1)
    q = torch.from_numpy(rng.integers(-half, half, shape, dtype=np.int64))
    q.view(-1)[0] = -half  # the extremes of the width (past 2^53 the float64 conversion rounds)
    q.view(-1)[-1] = half - 1
    scale = rng.uniform(1e-9, 10.0, shape[-1]) if per_channel else rng.uniform(1e-9, 10.0)
    scale = torch.as_tensor(np.asarray(scale, dtype=np.float32).astype(np.float64))
    t = QTensor(q, scale, bits)
    real = t.real(torch.float64)
    lo, hi = t.real_range()
    assert lo.dtype == hi.dtype == torch.float64
    assert lo.item() == real.min().item() and hi.item() == real.max().item()


def test_observe_range_equals_observe():
    x = torch.tensor([[-3.5, 2.0], [1.0, 7.25]], dtype=torch.float64)
    a, b = RangeObserver(), RangeObserver()
    a.observe(x)
    a.observe(x * 2)
    b.observe_range(x.min(), x.max())
    b.observe_range((x * 2).min(), (x * 2).max())
    assert (a.min.item(), a.max.item()) == (b.min.item(), b.max.item()) == (-7.0, 14.5)
    with pytest.raises(ValueError, match="^observe_range: a per-channel observer"):
        RangeObserver(per_channel=True).observe_range(x.min(), x.max())
