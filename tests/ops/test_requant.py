"""requant: dyadic requantisation equals exact rational round-half-even, plus the zero point,
then saturation."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import dyadic, int_range, saturate
from refmodel.testing import int_arrays, scales, shapes

pytestmark = pytest.mark.plain


def exact_requant(z: int, m: int, c: int, bits: int, signed: bool, zero_point: int = 0) -> int:
    """Round half to even of z*m/2^c with Fractions, add the zero point, then saturate: the
    independent oracle."""
    value = Fraction(z * m, 2**c)
    floor = value.numerator // value.denominator
    frac = value - floor
    if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return saturate(floor + zero_point, bits, signed)


def zero_points(bits: int, signed: bool) -> st.SearchStrategy[int]:
    """A zero point of the output range: its ends and 0 often, otherwise uniform."""
    lo, hi = int_range(bits, signed)
    return st.one_of(st.sampled_from([lo, hi, max(lo, 0)]), st.integers(lo, hi))


@given(
    data=st.data(),
    in_bits=st.integers(2, 32),
    out_bits=st.integers(2, 32),
    signed=st.booleans(),
    s_in=scales(1e-4, 10.0),
    s_out=scales(1e-4, 10.0),
    per_channel=st.booleans(),
)
def test_requant_matches_exact_rational_rounding(data, in_bits, out_bits, signed, s_in, s_out, per_channel):
    rows, cols = data.draw(shapes())
    q = data.draw(int_arrays(in_bits, True, (rows, cols)))
    scale_in = np.array([data.draw(scales(1e-4, 10.0)) for _ in range(cols)]) if per_channel else s_in
    zp = data.draw(zero_points(out_bits, signed))
    k = ops.make("requant", scale_in=scale_in, scale_out=s_out, out_bits=out_bits, signed=signed, in_bits=in_bits, zero_point=zp)
    assert k.config["zero_point"] == zp
    got_sim = k.sim(q)
    got_twin = k.fakequant(torch.from_numpy(q)).numpy()
    np.testing.assert_array_equal(got_sim, got_twin)
    ms = np.broadcast_to(np.atleast_1d(k.config["m"]), (cols,))
    cs = np.broadcast_to(np.atleast_1d(k.config["c"]), (cols,))
    expected = np.array(
        [[exact_requant(int(q[i, j]), int(ms[j]), int(cs[j]), out_bits, signed, zp) for j in range(cols)] for i in range(rows)],
        dtype=np.int64,
    )
    np.testing.assert_array_equal(got_sim, expected)


@pytest.mark.parametrize("bits", range(2, 33))
def test_requant_saturates_at_every_width(bits):
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    k = ops.make("requant", scale_in=1.0, scale_out=1.0, out_bits=bits)
    candidates = [-(2**31), lo - 1, lo, 0, hi, hi + 1, 2**31 - 1]
    q = np.array([[v for v in candidates if -(2**31) <= v < 2**31]], dtype=np.int64)
    expected = np.clip(q, lo, hi)
    np.testing.assert_array_equal(k.sim(q), expected)
    np.testing.assert_array_equal(k.fakequant(torch.from_numpy(q)).numpy(), expected)


@pytest.mark.parametrize("bits", range(2, 33))
@pytest.mark.parametrize("signed", [True, False])
def test_zero_point_is_added_after_rounding_and_before_saturation(bits, signed):
    lo, hi = int_range(bits, signed)
    q = np.array([[-(2**31), -3, -1, 0, 1, 3, 2**31 - 1]], dtype=np.int64)
    for zp in sorted({lo, lo + 1, max(lo, 0), hi - 1, hi}):
        k = ops.make("requant", scale_in=0.5, scale_out=1.0, out_bits=bits, signed=signed, zero_point=zp)
        assert k.config["zero_point"] == zp
        expected = np.clip(np.array([[-(2**30), -2, 0, 0, 0, 2, 2**30]]) + zp, lo, hi)  # ties to even first
        np.testing.assert_array_equal(k.sim(q), expected)
        np.testing.assert_array_equal(k.fakequant(torch.from_numpy(q)).numpy(), expected)


def test_zero_point_defaults_to_zero_and_is_always_in_the_config():
    assert ops.make("requant", scale_in=1.0, scale_out=1.0, out_bits=8).config["zero_point"] == 0
    k = ops.make("requant", scale_in=[0.1, 0.2], scale_out=1.0, out_bits=8, signed=False, zero_point=255)
    assert k.config["zero_point"] == 255 and k.params["zero_point"] == 255


def test_a_vanishing_product_gives_the_zero_point():
    k = ops.make("requant", scale_in=1e-30, scale_out=1.0, out_bits=8, signed=False, zero_point=77)
    assert k.config["c"] > 63
    q = np.array([[-(2**31), -1, 0, 1, 2**31 - 1]])
    np.testing.assert_array_equal(k.sim(q), np.full_like(q, 77))
    np.testing.assert_array_equal(k.fakequant(torch.from_numpy(q)).numpy(), np.full_like(q, 77))


@pytest.mark.parametrize(
    "out_bits, signed, zero_point, accepted",
    [
        (8, True, 128, "[-128, 127]"),
        (8, True, -129, "[-128, 127]"),
        (8, False, -1, "[0, 255]"),
        (8, False, 256, "[0, 255]"),
        (32, False, 2**32, "[0, 4294967295]"),
        (32, True, -(2**31) - 1, "[-2147483648, 2147483647]"),
        (8, False, 1.0, "[0, 255]"),
        (8, False, True, "[0, 255]"),
        (8, False, "3", "[0, 255]"),
    ],
)
def test_a_zero_point_outside_the_output_range_is_refused(out_bits, signed, zero_point, accepted):
    with pytest.raises(ValueError, match=rf"^zero_point: .*{re.escape(accepted)}") as err:
        ops.make("requant", scale_in=1.0, scale_out=1.0, out_bits=out_bits, signed=signed, zero_point=zero_point)
    assert "\n" not in str(err.value)


def test_dyadic_multiplier_is_normalised_and_accurate():
    for ratio in [1.0, 0.5, 0.75, 1 - 2**-40, 3.0e-9, 123456.789]:
        m, c = dyadic(ratio)
        assert 2**30 <= m < 2**31
        assert abs(Fraction(m, 1) / Fraction(2) ** c - Fraction(ratio)) <= Fraction(ratio) * Fraction(1, 2**30)


def test_ratio_of_one_minus_tiny_renormalises():
    assert dyadic(1 - 2**-40) == (2**30, 30)


def test_half_tie_rounds_to_even():
    k = ops.make("requant", scale_in=0.5, scale_out=1.0, out_bits=16)
    q = np.array([[-3, -1, 1, 3, 5, 7]])
    np.testing.assert_array_equal(k.sim(q), [[-2, 0, 0, 2, 2, 4]])
    np.testing.assert_array_equal(k.fakequant(torch.from_numpy(q)).numpy(), [[-2, 0, 0, 2, 2, 4]])


def test_tiny_ratio_gives_zero_not_garbage():
    k = ops.make("requant", scale_in=1e-30, scale_out=1.0, out_bits=8)
    assert k.config["c"] > 63
    q = np.array([[-(2**31), -1, 0, 1, 2**31 - 1]])
    np.testing.assert_array_equal(k.sim(q), np.zeros_like(q))
    np.testing.assert_array_equal(k.fakequant(torch.from_numpy(q)).numpy(), np.zeros_like(q))


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0, "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": -1.0, "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": float("nan"), "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": 1.0, "scale_out": float("inf"), "out_bits": 8}, "scale_out"),
        ({"scale_in": 1.0, "scale_out": 1.0, "out_bits": 1}, "out_bits"),
        ({"scale_in": 1.0, "scale_out": 1.0, "out_bits": 33}, "out_bits"),
        ({"scale_in": 1.0, "scale_out": 1.0, "out_bits": 8, "in_bits": 64}, "in_bits"),
        ({"scale_in": 2.0**32, "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": [1.0, -2.0], "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": 1.0, "scale_out": 1.0, "out_bits": 8, "signed": "yes"}, "signed"),
        ({"scale_in": 1.0, "scale_out": 1.0, "out_bits": 8, "bogus": 1}, "bogus"),
        ({"scale_in": 1.0, "out_bits": 8}, "scale_out"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("requant", **kwargs)


def test_out_of_range_input_is_refused_not_clipped():
    k = ops.make("requant", scale_in=1.0, scale_out=1.0, out_bits=8, in_bits=8)
    for bad in ([[128]], [[-129]]):
        with pytest.raises(ValueError, match="^q:"):
            k.sim(np.array(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.fakequant(torch.tensor(bad))
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.array([[1.0]]))
    with pytest.raises(ValueError, match="^t:"):
        k.fakequant(torch.tensor([[1.0]]))


@pytest.mark.parametrize("op", ["requant", "requant_wide"])
def test_range_is_checked_in_the_kernel_pass_as_before_it(op):
    scale_in = 1.0 if op == "requant" else 1e-3
    k = ops.make(op, scale_in=scale_in, scale_out=1.0, out_bits=8, in_bits=8)
    q = np.zeros((3, 5), dtype=np.int64)
    q[2, 4] = 128
    with pytest.raises(ValueError, match="^q: values must lie in the declared input width .*; got min 0, max 128$"):
        k.sim(q)
    q[2, 4], q[0, 0] = 0, -129
    with pytest.raises(ValueError, match="got min -129, max 0$"):
        k.sim(q)
    with pytest.raises(ValueError, match="^q:.*max 18446744073709551615$"):
        k.sim(np.array([[2**64 - 1]], dtype=np.uint64))  # not wrapped to -1 by the cast to int64


def test_per_channel_length_must_match_last_axis():
    k = ops.make("requant", scale_in=[0.1, 0.2, 0.3], scale_out=1.0, out_bits=8)
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 4), dtype=np.int64))
