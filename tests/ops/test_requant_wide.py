"""requant_wide: dyadic requantisation of accumulators up to 63 bits equals exact rational
round-half-even then saturation, ties and the shift edges included."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import dyadic
from tests.ops import reference_linear as ref
from tests.ops.helpers import round_half_even, run_both
from refmodel.testing import int_arrays

pytestmark = pytest.mark.plain


def expected(k: ops.Kernel, q: np.ndarray) -> np.ndarray:
    cols = q.shape[-1]
    ms = np.broadcast_to(np.atleast_1d(k.config["m"]), (cols,)).tolist()
    cs = np.broadcast_to(np.atleast_1d(k.config["c"]), (cols,)).tolist()
    bits, signed = k.config["out_bits"], bool(k.config["signed"])
    rows = q.reshape(-1, cols).tolist()
    return np.array([[ref.requant(z, ms[j], cs[j], bits, signed) for j, z in enumerate(row)] for row in rows], dtype=np.int64).reshape(q.shape)


@given(
    data=st.data(),
    in_bits=st.integers(2, 63),
    out_bits=st.integers(2, 32),
    signed=st.booleans(),
    log_ratio=st.floats(-100.0, -0.01),
    per_channel=st.booleans(),
)
def test_requant_wide_matches_exact_rational_rounding(data, in_bits, out_bits, signed, log_ratio, per_channel):
    cols = data.draw(st.integers(1, 8))
    q = data.draw(int_arrays(in_bits, True, (data.draw(st.integers(1, 4)), cols)))
    scale_in = np.exp2([data.draw(st.floats(-100.0, -0.01)) for _ in range(cols)]) if per_channel else float(np.exp2(log_ratio))
    k = ops.make("requant_wide", scale_in=scale_in, scale_out=1.0, out_bits=out_bits, signed=signed, in_bits=in_bits)
    got = run_both(k, q)
    np.testing.assert_array_equal(got, expected(k, q))
    lo, hi = k.bounds()["OUT"]
    assert lo <= int(got.min()) and int(got.max()) <= hi


@pytest.mark.parametrize("c", [31, 32, 33, 62, 63, 64, 93])
def test_ties_go_to_even_at_every_shift_regime(c):
    # m = 2^30: z * m / 2^c = z / 2^(c - 30), so z = t * 2^(c - 31) gives exactly t / 2
    assert dyadic(2.0 ** (30 - c)) == (2**30, c)
    k = ops.make("requant_wide", scale_in=2.0 ** (30 - c), scale_out=1.0, out_bits=32)
    step = 1 << (c - 31)
    ts = [t for t in range(-7, 8) if abs(t * step) < 2**62]
    q = np.array([[t * step for t in ts] + [t * step + 1 for t in ts if abs(t * step + 1) < 2**62]], dtype=np.int64)
    got = run_both(k, q)
    np.testing.assert_array_equal(got, expected(k, q))
    assert got[0, : len(ts)].tolist() == [round_half_even(Fraction(t, 2)) for t in ts]


def test_shifts_of_94_and_more_give_zero():
    k = ops.make("requant_wide", scale_in=2.0**-70, scale_out=1.0, out_bits=8)
    assert k.config["c"] >= 94
    q = np.array([[-(2**62), -1, 0, 1, 2**62 - 1]], dtype=np.int64)
    np.testing.assert_array_equal(run_both(k, q), np.zeros_like(q))


def test_largest_magnitudes_saturate():
    k = ops.make("requant_wide", scale_in=0.5, scale_out=1.0, out_bits=16, in_bits=63)
    q = np.array([[-(2**62), 2**62 - 1, 65535, 65536, -65537]], dtype=np.int64)
    np.testing.assert_array_equal(run_both(k, q), [[-32768, 32767, 32767, 32767, -32768]])


def test_a_ratio_of_one_or_more_is_refused():
    for ratio in (1.0, 2.0, 1 - 2.0**-40):
        with pytest.raises(ValueError, match="^scale_in: scale_in / scale_out must be below 1"):
            ops.make("requant_wide", scale_in=ratio, scale_out=1.0, out_bits=8)


def test_out_of_range_input_is_refused_not_clipped():
    k = ops.make("requant_wide", scale_in=0.5, scale_out=1.0, out_bits=8, in_bits=40)
    for bad in ([[2**39]], [[-(2**39) - 1]]):
        with pytest.raises(ValueError, match="^q:"):
            k.sim(np.array(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.fakequant(torch.tensor(bad))


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0, "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": [0.5, -0.5], "scale_out": 1.0, "out_bits": 8}, "scale_in"),
        ({"scale_in": 0.5, "scale_out": float("inf"), "out_bits": 8}, "scale_out"),
        ({"scale_in": 0.5, "scale_out": 1.0, "out_bits": 33}, "out_bits"),
        ({"scale_in": 0.5, "scale_out": 1.0, "out_bits": 8, "in_bits": 64}, "in_bits"),
        ({"scale_in": 0.5, "scale_out": 1.0, "out_bits": 8, "signed": None}, "signed"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("requant_wide", **kwargs)


@given(st.lists(st.integers(-(2**62) + 1, 2**62 - 1), min_size=1, max_size=12), st.floats(1e-30, 0.999), st.integers(2, 32))
def test_any_63_bit_accumulator_is_exact_round_half_even_then_saturation(zs, ratio, bits):
    m, c = dyadic(ratio)
    k = ops.make("requant_wide", scale_in=ratio, scale_out=1.0, out_bits=bits)
    assert (k.config["m"], k.config["c"]) == (m, c)
    got = run_both(k, np.array([zs], dtype=np.int64))[0].tolist()
    assert got == [ref.saturate(round_half_even(Fraction(z * m, 2**c)), bits) for z in zs]


def test_ratio_two_to_minus_33_ties_go_to_even():
    # ratio 2^-33 exactly: m = 2^30, c = 63; z = k * 2^32 gives k/2 + ties
    k = ops.make("requant_wide", scale_in=2.0**-33, scale_out=1.0, out_bits=16)
    assert (k.config["m"], k.config["c"]) == (2**30, 63)
    zs = np.array([[t * 2**32 for t in range(-5, 6)]], dtype=np.int64)
    assert run_both(k, zs)[0].tolist() == [round_half_even(Fraction(t, 2)) for t in range(-5, 6)]
