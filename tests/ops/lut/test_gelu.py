"""lut.gelu: the table equals the formula rebuilt here (math.erf, exact rounding with
fractions), both datapaths equal the table lookup, and bad parameters and inputs are refused."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from tests.ops.helpers import assert_inputs_refused, round_half_even, run_both
from refmodel.testing import int_arrays, scales, shapes

pytestmark = pytest.mark.plain


def expected_table(scale_in: float, scale_out: float, in_bits: int, out_bits: int) -> list[int]:
    """``sat(rne(GELU(x * s_in) / s_out))`` from the issue's formula: the float64 GELU, its
    float64 quotient, then the exact rounding of that quotient (as a fraction)."""
    lo, hi = -(2 ** (out_bits - 1)), 2 ** (out_bits - 1) - 1
    out = []
    for i in range(2**in_bits):
        v = (i - 2 ** (in_bits - 1)) * scale_in
        g = v * (1.0 + math.erf(v / math.sqrt(2.0))) / 2.0
        quotient = g / scale_out
        if math.isinf(quotient):
            out.append(hi if quotient > 0 else lo)
            continue
        out.append(min(hi, max(lo, round_half_even(Fraction(quotient)))))
    return out


@given(s_in=scales(1e-3, 2.0), s_out=scales(1e-4, 2.0), in_bits=st.integers(2, 10), out_bits=st.integers(2, 32))
def test_table_is_the_rounded_gelu(s_in, s_out, in_bits, out_bits):
    k = ops.make("lut.gelu", scale_in=s_in, scale_out=s_out, in_bits=in_bits, out_bits=out_bits)
    assert k.config["table"] == expected_table(s_in, s_out, in_bits, out_bits)


@given(data=st.data(), in_bits=st.integers(2, 12), out_bits=st.integers(2, 32))
def test_both_datapaths_read_the_table(data, in_bits, out_bits):
    s_in, s_out = data.draw(scales(1e-3, 1.0)), data.draw(scales(1e-3, 1.0))
    k = ops.make("lut.gelu", scale_in=s_in, scale_out=s_out, in_bits=in_bits, out_bits=out_bits)
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    got = run_both(k, q)
    table = np.asarray(k.config["table"])
    np.testing.assert_array_equal(got, table[q + 2 ** (in_bits - 1)])
    assert k.out_spec.lo <= got.min() and got.max() <= k.out_spec.hi


def test_error_is_half_an_lsb_where_not_saturated():
    """Each unsaturated entry is within 1/2 LSB (plus float64 rounding) of the real GELU."""
    s_in, s_out = 0.05, 0.03
    k = ops.make("lut.gelu", scale_in=s_in, scale_out=s_out)
    x = np.arange(-128, 128)
    got = run_both(k, x[None, :])[0]
    real = np.array([v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in x * s_in]) / s_out
    live = (got > -128) & (got < 127)
    assert np.all(np.abs(got[live] - real[live]) <= 0.5 + 1e-9)
    assert got[-1] == 127 and real[-1] > 127  # saturation, not wrapping


def test_worked_example_of_the_doc():
    k = ops.make("lut.gelu", scale_in=0.05, scale_out=0.03)
    cfg = k.config
    assert cfg["offset"] == 128 and len(cfg["table"]) == 256
    # x = -20: v = -1.0, GELU = -0.15865525393145707, / 0.03 = -5.288508..., rne -5.
    assert cfg["table"][128 - 20] == -5
    # x = 10: v = 0.5, GELU = 0.34573123063700656, / 0.03 = 11.524..., rne 12.
    assert cfg["table"][128 + 10] == 12
    assert cfg["table"][128] == 0


def test_six_bit_table_has_64_entries():
    k = ops.make("lut.gelu", scale_in=0.2, scale_out=0.12, in_bits=6, out_bits=6)
    assert len(k.config["table"]) == 64
    assert k.in_spec.bits == 6 and k.out_spec.bits == 6 and k.out_spec.signed


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"scale_in": 0.0, "scale_out": 0.1}, "scale_in"),
        ({"scale_in": float("nan"), "scale_out": 0.1}, "scale_in"),
        ({"scale_in": 0.1, "scale_out": -1.0}, "scale_out"),
        ({"scale_in": 0.1, "scale_out": 0.1, "in_bits": 17}, "in_bits"),
        ({"scale_in": 0.1, "scale_out": 0.1, "in_bits": 1}, "in_bits"),
        ({"scale_in": 0.1, "scale_out": 0.1, "out_bits": 33}, "out_bits"),
        ({"scale_in": 1e307, "scale_out": 0.1}, "scale_in"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        ops.make("lut.gelu", **kwargs)


def test_out_of_range_inputs_are_refused():
    k = ops.make("lut.gelu", scale_in=0.2, scale_out=0.12, in_bits=6, out_bits=6)
    assert_inputs_refused(k, [[[32]], [[-33, 0]], [[0, 1 << 40]]])
