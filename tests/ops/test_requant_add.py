"""requant_add: the residual join; each branch rounded and saturated to 32 bits on its own,
summed, saturated; equals exact rational arithmetic; the identity may broadcast."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from tests.ops import reference_linear as ref
from refmodel.testing import int_arrays, scales

pytestmark = pytest.mark.plain


def both(k: ops.Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    got = k.sim(a=a, b=b)
    np.testing.assert_array_equal(got, k.fakequant(a=torch.from_numpy(a), b=torch.from_numpy(b)).numpy())
    assert got.dtype == np.int64 and got.shape == a.shape
    return got


def expected(k: ops.Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cols = a.shape[-1]
    cfg = k.config
    ma, ca, mb, cb = (np.broadcast_to(np.atleast_1d(cfg[key]), (cols,)).tolist() for key in ("m_a", "c_a", "m_b", "c_b"))
    bb = np.broadcast_to(b, a.shape)
    out = np.empty(a.shape, dtype=np.int64)
    for idx in np.ndindex(a.shape):
        j = idx[-1]
        out[idx] = ref.requant_add(int(a[idx]), int(bb[idx]), ma[j], ca[j], mb[j], cb[j], cfg["out_bits"], bool(cfg["signed"]))
    return out


@given(
    data=st.data(),
    a_bits=st.integers(2, 32),
    b_bits=st.integers(2, 32),
    out_bits=st.integers(2, 32),
    signed=st.booleans(),
    s_b=scales(1e-4, 10.0),
    s_out=scales(1e-3, 10.0),
    per_channel=st.booleans(),
    broadcast=st.booleans(),
)
def test_requant_add_matches_exact_rational_rounding(data, a_bits, b_bits, out_bits, signed, s_b, s_out, per_channel, broadcast):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 8))
    a = data.draw(int_arrays(a_bits, True, (rows, cols)))
    b = data.draw(int_arrays(b_bits, True, (1 if broadcast else rows, cols)))
    s_a = np.array([data.draw(scales(1e-4, 10.0)) for _ in range(cols)]) if per_channel else data.draw(scales(1e-4, 10.0))
    k = ops.make("requant_add", scale_a=s_a, scale_b=s_b, scale_out=s_out, out_bits=out_bits, signed=signed, a_bits=a_bits, b_bits=b_bits)
    got = both(k, a, b)
    np.testing.assert_array_equal(got, expected(k, a, b))
    lo, hi = k.bounds()["OUT"]
    assert lo <= int(got.min()) and int(got.max()) <= hi


def test_each_branch_saturates_at_32_bits_before_the_sum():
    # a's branch (4a) saturates at 2^31 - 1 and b's branch is -2^31 + 1, so the join is 0;
    # without the branch saturation it would be 3 * (2^31 - 1), saturated to 127
    k = ops.make("requant_add", scale_a=4.0, scale_b=1.0, scale_out=1.0, out_bits=8, a_bits=32, b_bits=32)
    a = np.array([[2**31 - 1]], dtype=np.int64)
    b = np.array([[-(2**31) + 1]], dtype=np.int64)
    np.testing.assert_array_equal(both(k, a, b), [[0]])
    assert k.bounds()["YA"] == (-(2**31), 2**31 - 1) and k.bounds()["S"] == (-(2**32), 2**32 - 2)


def test_branches_round_separately():
    # 0.5 + 0.5: each branch rounds its half to even (0), so the join is 0, not 1
    k = ops.make("requant_add", scale_a=0.5, scale_b=0.5, scale_out=1.0, out_bits=8)
    np.testing.assert_array_equal(both(k, np.array([[1, 3, -1]]), np.array([[1, 1, -3]])), [[0, 2, -2]])


def test_identity_broadcasts_over_leading_axes_only():
    k = ops.make("requant_add", scale_a=1.0, scale_b=1.0, scale_out=1.0, out_bits=16)
    a = np.arange(24).reshape(2, 3, 4)
    b = np.arange(12).reshape(1, 3, 4)
    np.testing.assert_array_equal(both(k, a, b), a + b)
    for bad_b in (np.zeros((2, 3, 5), dtype=np.int64), np.zeros((3, 3, 4), dtype=np.int64), np.zeros((1, 2, 3, 4), dtype=np.int64)):
        with pytest.raises(ValueError, match="^b:"):
            k.sim(a=a, b=bad_b)
        with pytest.raises(ValueError, match="^b:"):
            k.fakequant(a=torch.from_numpy(a), b=torch.from_numpy(bad_b))


def test_out_of_range_inputs_name_the_input():
    k = ops.make("requant_add", scale_a=1.0, scale_b=1.0, scale_out=1.0, out_bits=8, a_bits=8, b_bits=4)
    for a, b, name in (([[128]], [[0]], "a"), ([[0]], [[8]], "b"), ([[0]], [[-9]], "b")):
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.sim(a=np.array(a), b=np.array(b))
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.fakequant(a=torch.tensor(a), b=torch.tensor(b))


def test_an_input_outside_its_width_is_named_before_a_bad_shape():
    k = ops.make("requant_add", scale_a=1.0, scale_b=1.0, scale_out=1.0, out_bits=8, a_bits=8, b_bits=4)
    with pytest.raises(ValueError, match="^a: values must lie"):
        k.sim(a=np.array([[128, 0]]), b=np.zeros((3,), dtype=np.int64))
    with pytest.raises(ValueError, match="^b: values must lie"):
        k.sim(a=np.zeros((2, 2), dtype=np.int64), b=np.array([8, 0, 0]))
    with pytest.raises(ValueError, match="^b: values must lie"):
        k.sim(a=np.zeros((0, 2), dtype=np.int64), b=np.array([8, 0]))  # no rows, yet b is checked
    with pytest.raises(ValueError, match="^b: shape"):
        k.sim(a=np.zeros((2, 2), dtype=np.int64), b=np.zeros((3,), dtype=np.int64))


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_a": -1.0, "scale_b": 1.0, "scale_out": 1.0, "out_bits": 8}, "scale_a"),
        ({"scale_a": 1.0, "scale_b": 0.0, "scale_out": 1.0, "out_bits": 8}, "scale_b"),
        ({"scale_a": 2.0**32, "scale_b": 1.0, "scale_out": 1.0, "out_bits": 8}, "scale_a"),
        ({"scale_a": 1.0, "scale_b": 2.0**32, "scale_out": 1.0, "out_bits": 8}, "scale_b"),
        ({"scale_a": [1.0, 2.0], "scale_b": [1.0, 2.0, 3.0], "scale_out": 1.0, "out_bits": 8}, "scale_b"),
        ({"scale_a": 1.0, "scale_b": 1.0, "scale_out": 0.0, "out_bits": 8}, "scale_out"),
        ({"scale_a": 1.0, "scale_b": 1.0, "scale_out": 1.0, "out_bits": 40}, "out_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0, "scale_out": 1.0, "out_bits": 8, "a_bits": 33}, "a_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0, "scale_out": 1.0, "out_bits": 8, "b_bits": 64}, "b_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0, "scale_out": 1.0}, "out_bits"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("requant_add", **kwargs)
