"""fqvit.softmax (Log-Int-Softmax): both datapaths equal the exact Python-int reference; codes,
their probabilities, monotonicity, row-length limits and refusals behave as documented."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import rne_div
from refmodel.ops.fqvit.softmax import decode, max_columns
from refmodel.ops.ibert import iexp
from refmodel.testing import int_arrays, scales, shapes, widths
from tests.ops.fqvit.reference_softmax import documented_bounds, iexp30, log2_code, reference_lis
from tests.ops.helpers import assert_inputs_refused, both, make_or_reject, within

plain = pytest.mark.plain

#: float32 scales where 2 * z(x0+1) < Cq: E dips as D crosses x0 (|x0| = 672 and 459).
E_DIP_SCALES = (0.0010329358046874404, 0.0015133173437789083)


def build(**kwargs) -> ops.Kernel:
    return ops.make("fqvit.softmax", **kwargs)


build_or_reject = functools.partial(make_or_reject, "fqvit.softmax")


def draw_input(data, k: ops.Kernel, in_bits: int) -> np.ndarray:
    rows, cols = data.draw(shapes(max_cols=min(256, max_columns(k.config["cq"]))))
    return data.draw(int_arrays(in_bits, True, (rows, cols)))


# ----------------------------------------------------------------------------- agreement
@plain
@given(data=st.data(), in_bits=widths(2, 32), out_bits=widths(2, 32), scale=scales(1.9e-5, 1.6))
def test_datapaths_equal_exact_reference_and_stay_in_documented_widths(data, in_bits, out_bits, scale):
    k = build_or_reject(scale_in=scale, out_bits=out_bits, in_bits=in_bits)
    q = draw_input(data, k, in_bits)
    got = both(k, q)
    expected, ranges, _ = reference_lis(q, k.config)
    np.testing.assert_array_equal(got, expected)
    assert list(within(ranges, documented_bounds(k.config, q.shape[-1]))) == []


@plain
@pytest.mark.parametrize("scale", [1.9e-5, 1e-4, 0.01, 0.05, 1.6])
def test_documented_widths_fit_int64_at_the_longest_accepted_row(scale):
    k = build(scale_in=scale, in_bits=32)
    cols = max_columns(k.config["cq"])
    for name, (lo, hi) in documented_bounds(k.config, cols).items():
        assert 0 <= hi < 2**63 and lo >= -(2**63), name
    assert k.config["cq"] << 30 < 2**63


@plain
@pytest.mark.parametrize("scale", [float(np.float32(s)) for s in (1.9e-5, 1e-4, 0.05, 0.0734, 1.6)])
def test_config_follows_the_documented_float64_formulas(scale):
    k = build(scale_in=scale, out_bits=4)
    assert k.config == {
        "x0": math.floor(-0.6931 / scale),
        "bq": math.floor((0.96963238 / 0.35815147) / scale),
        "cq": math.floor((1 / 0.35815147) / (scale * scale)),
        "n": 30,
        "zero_code": 15,
        "out_bits": 4,
        "in_bits": 8,
    }
    assert k.scale_out is None
    assert k.in_spec == ops.IntSpec(8, True) and k.out_spec == ops.IntSpec(4, False)


# ----------------------------------------------------------------------------- codes
@plain
def test_code_rule_rounds_up_from_one_and_a_half():
    assert [log2_code(r) for r in range(1, 13)] == [0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4]
    for k in range(1, 60):
        assert log2_code(3 << (k - 1)) == k + 1  # R = 1.5 * 2^k rounds up
        assert log2_code((3 << (k - 1)) - 1) == k
        assert log2_code(1 << k) == k


@plain
@pytest.mark.parametrize("out_bits", [2, 4, 6, 8])
def test_decode_maps_the_top_code_to_zero(out_bits):
    top = 2**out_bits - 1
    assert decode(top, out_bits) == 0
    assert [decode(c, out_bits) for c in range(top)] == [Fraction(1, 2**c) for c in range(top)]


@plain
@given(data=st.data(), out_bits=widths(2, 8), scale=scales(1.9e-5, 1.6), in_bits=widths(2, 16))
def test_probabilities_bound_each_share_and_the_row_sum(data, out_bits, scale, in_bits):
    """E/(2S) <= 2^-code < 3E/(2S) for every code below the zero code; sum of 2^-code < 3/2."""
    k = build_or_reject(scale_in=scale, out_bits=out_bits, in_bits=in_bits)
    q = draw_input(data, k, in_bits)
    got = both(k, q)
    _, _, facts = reference_lis(q, k.config)
    zero = 2**out_bits - 1
    for row, fact in zip(got.tolist(), facts):
        s = fact["s"]
        probs = [decode(c, out_bits) for c in row]
        assert all(p >= 0 for p in probs)
        assert sum(probs) < Fraction(3, 2)
        for code, p, e in zip(row, probs, fact["e"]):
            assert 0 <= code <= zero
            if code < zero:
                assert Fraction(e, 2 * s) <= p < Fraction(3 * e, 2 * s)
        if max(log2_code(rne_div(s, e)) for e in fact["e"]) < zero:  # no code saturated
            assert sum(probs) >= Fraction(1, 2)


@plain
@given(data=st.data(), scale=scales(1.9e-5, 1.6), in_bits=widths(2, 20), out_bits=widths(2, 8))
def test_larger_input_never_gets_a_larger_code(data, scale, in_bits, out_bits):
    k = build_or_reject(scale_in=scale, in_bits=in_bits, out_bits=out_bits)
    assume(max_columns(k.config["cq"]) >= 2)  # below about 2.55e-5 only one-element rows fit
    cols = data.draw(st.integers(2, min(40, max_columns(k.config["cq"]))))
    q = data.draw(int_arrays(in_bits, True, (1, cols)))
    x0 = k.config["x0"]
    if data.draw(st.booleans()):  # put differences on and beside multiples of x0
        top = int(q[0].max())
        lo = -(2 ** (in_bits - 1))
        for j in range(1, cols):
            q[0, j] = max(lo, min(top, top + data.draw(st.integers(0, 31)) * x0 + data.draw(st.integers(-2, 2))))
    out = both(k, q)[0]
    order = np.argsort(q[0], kind="stable")
    xs, ys = q[0][order], out[order]
    assert np.all(np.diff(ys)[np.diff(xs) > 0] <= 0)


@plain
@pytest.mark.parametrize("scale", E_DIP_SCALES)
def test_scale_where_the_exp_dips_is_refused_only_when_reachable(scale):
    k8 = build(scale_in=scale, in_bits=8)  # |x0| > 255: D never reaches x0
    x0 = k8.config["x0"]
    assert iexp30(x0 + 1, k8.config) < iexp30(x0, k8.config)  # the dip is real
    with pytest.raises(ValueError, match=r"^scale_in: .*not monotone"):
        build(scale_in=scale, in_bits=16)


def test_exp_is_monotone_over_every_reachable_difference():
    """Every D from 30*x0 - 2 to 0, for scales across the range and beside the dips."""
    picks = [float(np.float32(s)) for s in np.geomspace(1.9e-5, 1.6, 20)]
    for bad in E_DIP_SCALES:
        picks += [v for v in iexp.nearest_accepted(bad, lambda s: _accepted(s)) if v is not None]
    for scale in picks:
        k = build(scale_in=scale, in_bits=32)
        d = np.arange(min(0, 30 * k.config["x0"] - 2), 1, dtype=np.int64)
        e = [iexp30(int(v), k.config) for v in d[:: max(1, d.size // 20000)]]
        assert all(a <= b for a, b in zip(e, e[1:])), scale
        for q1 in range(1, 31):  # every boundary exactly
            assert iexp30(q1 * k.config["x0"] + 1, k.config) >= iexp30(q1 * k.config["x0"], k.config)


def _accepted(scale: float) -> bool:
    try:
        build(scale_in=scale, in_bits=32)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- edges
@plain
@pytest.mark.parametrize("value", [-128, 0, 127])
def test_all_equal_row_of_197_gives_code_8(value):
    k = build(scale_in=0.05)
    np.testing.assert_array_equal(both(k, np.full((2, 197), value)), np.full((2, 197), 8))


@plain
@pytest.mark.parametrize("out_bits", [2, 6, 32])
def test_one_column_gets_probability_one(out_bits):
    k = build(scale_in=0.05, out_bits=out_bits)
    np.testing.assert_array_equal(both(k, np.array([[-128], [5], [127]])), np.zeros((3, 1)))


@plain
def test_small_widths_fold_far_codes_into_zero():
    k = build(scale_in=0.05, out_bits=2)
    q = np.array([[127, 127 - 14, 127 - 28, 127 - 255]], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference_lis(q, k.config)[0])
    assert got[0, -1] == 3 and decode(3, 2) == 0
    assert got[0, 0] <= 1


@plain
@pytest.mark.parametrize("in_bits", [2, 32])
def test_extreme_input_widths(in_bits):
    lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
    k = build(scale_in=0.05, in_bits=in_bits)
    q = np.array([[lo, hi], [hi, hi], [lo, lo], [lo, lo + 1]], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference_lis(q, k.config)[0])
    assert got[1].tolist() == [1, 1] and got[0, 1] <= got[0, 0]


@plain
def test_row_length_limit_depends_on_the_scale():
    k = build(scale_in=1e-4)
    cq = k.config["cq"]
    limit = max_columns(cq)
    assert limit * (cq << 30) < 2**63 <= (limit + 1) * (cq << 30)
    q = np.zeros((1, limit), dtype=np.int64)  # all equal: S = limit * Cq * 2^30, the worst case
    got = both(k, q)
    np.testing.assert_array_equal(got, reference_lis(q, k.config)[0])
    too_long = np.zeros((1, limit + 1), dtype=np.int64)
    with pytest.raises(ValueError, match=rf"^q: .*{limit + 1}.*accepted maximum row length is {limit}"):
        k.sim(too_long)
    with pytest.raises(ValueError, match="^q: "):
        k.fakequant(torch.from_numpy(too_long))


@plain
def test_deit_rows_fit_at_realistic_scales():
    assert max_columns(build(scale_in=0.01).config["cq"]) >= 197
    assert max_columns(build(scale_in=0.001).config["cq"]) >= 197


@plain
def test_tiny_and_huge_scales_are_refused_with_the_accepted_range():
    lo, hi = iexp.scale_range(2**33)
    assert 1.80e-5 < lo < 1.81e-5 and 1.670 < hi < 1.672
    build(scale_in=lo)
    build(scale_in=hi)
    for bad in (float(np.nextafter(lo, 0.0)), 1e-6, float(np.nextafter(hi, 2.0)), 2.0):
        with pytest.raises(ValueError, match=r"^scale_in: must be in \[1\.80\d*e-05, 1\.67\d*\]"):
            build(scale_in=bad)


@plain
def test_large_scale_codes_follow_the_input_difference():
    """s = 1.6: x0 = -1, E = 2^(30 + D): R = S / E and the code tracks -D."""
    k = build(scale_in=1.6, out_bits=6)
    q = np.array([[0, -1, -2, -3, -40]], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference_lis(q, k.config)[0])
    assert got[0].tolist() == [1, 2, 3, 4, 31]


# ----------------------------------------------------------------------------- bad input
@plain
@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": [0.1]}, "scale_in"),
        ({"scale_in": 0.1, "out_bits": 1}, "out_bits"),
        ({"scale_in": 0.1, "out_bits": 33}, "out_bits"),
        ({"scale_in": 0.1, "in_bits": 1}, "in_bits"),
        ({"scale_in": 0.1, "in_bits": 33}, "in_bits"),
        ({"scale_in": 0.1, "n": 30}, "n"),
        ({"out_bits": 6}, "scale_in"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        build(**kwargs)


@plain
def test_out_of_range_input_is_refused():
    k = build(scale_in=0.05, in_bits=6)
    assert_inputs_refused(k, ([[32, 0]], [[-33, 0]]))
