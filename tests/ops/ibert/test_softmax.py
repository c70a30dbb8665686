"""ibert.softmax: both datapaths equal the exact Python-int reference; the documented bounds,
monotonicity and refusals hold."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import dyadic, rne_shift, saturate
from refmodel.jit import prange, rows_kernel
from refmodel.ops.ibert import iexp
from refmodel.testing import int_arrays, scales, shapes, widths
from tests.ops.helpers import assert_inputs_refused, both, make_or_reject, within
from tests.ops.ibert.reference_softmax import documented_bounds, exp16, reference_softmax

plain = pytest.mark.plain

#: Scales (float32 values) where the integer exp dips at the first boundary D = x0.
#: E16 itself dips here (16383 at D = x0 + 1, 16384 at D = x0): refused once |x0| = 459 is reachable.
E16_DIP_SCALE = 0.0015133173437789083
#: Here E dips (2 * z(x0+1) < Cq) but the 16-bit requantiser rounds the dip away: accepted.
E_ONLY_DIP_SCALE = 0.0010329358046874404


def build(**kwargs) -> ops.Kernel:
    return ops.make("ibert.softmax", **kwargs)


build_or_reject = functools.partial(make_or_reject, "ibert.softmax")


@st.composite
def boundary_rows(draw, x0: int, in_bits: int, cols: int) -> np.ndarray:
    """Rows whose differences to the row max sit on and beside multiples of ``x0``."""
    lo, hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    top = draw(st.integers(lo, hi))
    vals = [top]
    for _ in range(cols - 1):
        value = top + draw(st.integers(0, 40)) * x0 + draw(st.integers(-2, 2))
        vals.append(max(lo, min(value, top)))
    return np.array([vals], dtype=np.int64)


# ----------------------------------------------------------------------------- agreement
@plain
@given(
    data=st.data(),
    in_bits=widths(2, 32),
    out_bits=widths(2, 32),
    n=st.integers(1, 62),
    scale=scales(2.6e-5, 1.6),
)
def test_datapaths_equal_exact_reference_and_stay_in_documented_widths(data, in_bits, out_bits, n, scale):
    k = build_or_reject(scale_in=scale, out_bits=out_bits, n=n, in_bits=in_bits)
    rows, cols = data.draw(shapes())
    q = data.draw(int_arrays(in_bits, True, (rows, cols)))
    got = both(k, q)
    expected, ranges, facts = reference_softmax(q, k.config)
    np.testing.assert_array_equal(got, expected)
    assert list(within(ranges, documented_bounds(k.config, cols))) == []
    for fact in facts:
        assert fact["e16_row_max"] == 32767
        assert fact["ssum"] >= 32767


@plain
@pytest.mark.parametrize("scale", [*iexp.scale_range(2**32), 1e-4, 0.01, 0.05, 0.1, 0.7, 1.6])
@pytest.mark.parametrize("n", [1, 30, 62])
def test_documented_widths_fit_int64_at_the_extremes(scale, n):
    k = build(scale_in=scale, n=n, in_bits=32, out_bits=32)
    for name, (lo, hi) in documented_bounds(k.config, columns=1 << 17).items():
        assert -(2**63) <= lo <= hi < 2**63, name
    assert 16 <= k.config["c"] - k.config["n"] <= 48  # the rounding shift at q = 0 (doc table)


# ----------------------------------------------------------------------------- constants
@plain
@pytest.mark.parametrize("scale", [float(np.float32(s)) for s in (2.6e-5, 1e-4, 0.01, 0.05, 0.0734, 0.5, 1.6)])
@pytest.mark.parametrize("n", [1, 15, 30, 62])
def test_config_follows_the_documented_float64_formulas(scale, n):
    k = build(scale_in=scale, n=n)
    x0 = math.floor(-0.6931 / scale)
    bq = math.floor((0.96963238 / 0.35815147) / scale)
    cq = math.floor((1 / 0.35815147) / (scale * scale))
    m, c = dyadic(32767 / (cq * 2**n))
    assert (k.config["x0"], k.config["bq"], k.config["cq"]) == (x0, bq, cq)
    assert (k.config["m"], k.config["c"], k.config["n"]) == (m, c, n)
    assert k.config["out_shift"] == 32 - k.config["out_bits"]
    assert all(isinstance(v, int) and key.isidentifier() for key, v in k.config.items())


@plain
def test_worked_example_of_the_doc():
    k = build(scale_in=float(np.float32(0.05)))
    assert k.config == {
        "x0": -14, "bq": 54, "cq": 1116, "n": 30, "m": 1970390812, "c": 56,
        "out_shift": 16, "out_bits": 16, "in_bits": 8,
    }
    assert [exp16(d, k.config) for d in (0, -1, -13, -14, -28, -255)] == [32767, 31211, 17118, 16383, 8192, 0]
    assert k.in_spec == ops.IntSpec(8, True) and k.out_spec == ops.IntSpec(16, False)
    assert k.scale_out == 2.0**-16


@plain
@given(d=st.integers(-(2**20), 0), scale=scales(2.6e-5, 1.6), n=st.integers(1, 62))
def test_e16_equals_requantising_the_materialised_exp(d, scale, n):
    """D4: rne_shift(z*m, c-(n-q)) is exactly rne(E*m / 2^c) with E = z << (n-q)."""
    k = build(scale_in=scale, n=n)
    cfg = k.config
    dc = max(d, n * cfg["x0"])
    q = dc // cfg["x0"]
    r = dc - cfg["x0"] * q
    e = (r * (r + cfg["bq"]) + cfg["cq"]) << (n - q)
    assert exp16(d, cfg) == saturate(rne_shift(e * cfg["m"], cfg["c"]), 16, True)


# ----------------------------------------------------------------------------- output bounds
@plain
@given(data=st.data(), out_bits=widths(2, 32), scale=scales(2.6e-5, 1.6), in_bits=widths(2, 16))
def test_row_sum_bounds(data, out_bits, scale, in_bits):
    k = build_or_reject(scale_in=scale, out_bits=out_bits, in_bits=in_bits)
    rows, cols = data.draw(shapes())
    q = data.draw(int_arrays(in_bits, True, (rows, cols)))
    got = both(k, q)
    _, _, facts = reference_softmax(q, k.config)
    shift = 32 - out_bits
    for row, fact in zip(got.tolist(), facts):
        total, ssum, positive = sum(row), fact["ssum"], fact["positive"]
        assert max(row) <= 2**out_bits - 1
        assert total <= 2**out_bits
        # exact lower bound: 2^k * sum >= 2^32 - Ssum + 1 - C+ * (2^k - 1)
        assert (total << shift) >= 2**32 - ssum + 1 - positive * (2**shift - 1)
        # the doc's simplified form: sum > 2^b - C+ - Ssum / 2^k
        assert Fraction(total) > 2**out_bits - positive - Fraction(ssum, 2**shift)


@plain
@pytest.mark.parametrize("out_bits", range(2, 33))
def test_one_column_gets_the_largest_output(out_bits):
    k = build(scale_in=0.05, out_bits=out_bits)
    q = np.array([[-128], [0], [127]], dtype=np.int64)
    top = (32767 * (2**32 // 32767)) >> (32 - out_bits)
    np.testing.assert_array_equal(both(k, q), np.full((3, 1), top))
    if out_bits <= 30:
        assert top == 2**out_bits - 1


@plain
@pytest.mark.parametrize("out_bits, expected", [(16, 332), (8, 1)])
def test_all_equal_row_of_197(out_bits, expected):
    """F = 2^32 // (197 * 32767) = 665; (32767 * 665) >> (32 - b). At 8 bits: 1, as upstream."""
    k = build(scale_in=0.05, out_bits=out_bits)
    for value in (-128, 0, 127):
        np.testing.assert_array_equal(both(k, np.full((2, 197), value)), np.full((2, 197), expected))


# ----------------------------------------------------------------------------- monotonicity
@plain
@given(data=st.data(), scale=scales(2.6e-5, 1.6), in_bits=widths(2, 20), n=st.integers(1, 62))
def test_larger_input_never_gets_smaller_probability(data, scale, in_bits, n):
    k = build_or_reject(scale_in=scale, in_bits=in_bits, n=n, out_bits=32)
    cols = data.draw(st.integers(2, 40))
    if data.draw(st.booleans()):
        q = data.draw(boundary_rows(k.config["x0"], in_bits, cols))
    else:
        q = data.draw(int_arrays(in_bits, True, (1, cols)))
    out = both(k, q)[0]
    order = np.argsort(q[0], kind="stable")
    xs, ys = q[0][order], out[order]
    assert np.all(np.diff(ys)[np.diff(xs) > 0] >= 0)


#: Wide enough that every D down to the clamp 30 * x0 (about -815,000 at the smallest scale) occurs.
SCAN_BITS = 21


def _scan_scales() -> list[float]:
    """Log-spaced scales plus the accepted float32 neighbours of the two known dips."""
    picks = [float(np.float32(s)) for s in np.geomspace(2.6e-5, 1.6, 25)]
    for bad in (E16_DIP_SCALE, E_ONLY_DIP_SCALE):
        lower, upper = iexp.nearest_accepted(bad, lambda s: _accepted(s, SCAN_BITS))
        picks += [v for v in (lower, upper) if v is not None]
    picks.append(E_ONLY_DIP_SCALE)
    return picks


def _accepted(scale: float, in_bits: int) -> bool:
    try:
        build(scale_in=scale, in_bits=in_bits)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("scale", _scan_scales())
def test_e16_is_monotone_over_every_reachable_difference(scale):
    """Every D from the clamp n*x0 to 0 in one row: with out_bits = 32, OUT = E16 * F exactly."""
    in_bits = SCAN_BITS
    k = build(scale_in=scale, in_bits=in_bits, out_bits=32)
    low = max(-(2**in_bits - 1), k.config["n"] * k.config["x0"] - 2)
    q = (np.arange(low, 1, dtype=np.int64) + (2 ** (in_bits - 1) - 1))[None, :]
    out = both(k, q)[0]
    assert out[-1] > 0  # F >= 1, so OUT preserves the order of E16
    assert np.all(np.diff(out) >= 0)


def _float32_scales(lo: float, hi: float, chunk: int = 1 << 22):
    """Every float32 value in ``[lo, hi]``, as float64 arrays of at most ``chunk`` values."""
    first = int(np.array([np.float32(lo)]).view(np.int32)[0])
    last = int(np.array([np.float32(hi)]).view(np.int32)[0])
    for start in range(first, last + 1, chunk):
        yield np.arange(start, min(start + chunk, last + 1), dtype=np.int32).view(np.float32).astype(np.float64)


@rows_kernel
def _classify_scales(s, cq_limit):
    """Per scale (D0 formulas, float64 then floor): 0 outside 1 <= Cq < cq_limit; 1 fine;
    2 where 2*z(x0+1) < Cq; -1 where z falls inside [x0+1, 0] or z(x0+1) < 1. Column 1: x0."""
    out = np.zeros((s.shape[0], 2), dtype=np.int64)
    for i in prange(s.shape[0]):
        x0 = np.int64(np.floor(-0.6931 / s[i]))
        bq = np.int64(np.floor((0.96963238 / 0.35815147) / s[i]))
        cqf = np.floor((1 / 0.35815147) / (s[i] * s[i]))
        out[i, 1] = x0
        if cqf < 1.0 or cqf >= cq_limit:
            continue
        cq = np.int64(cqf)
        z_low = (x0 + 1) * (x0 + 1 + bq) + cq
        if (x0 <= -2 and 2 * (x0 + 1) + 1 + bq < 0) or z_low < 1:
            out[i, 0] = -1
        elif 2 * z_low < cq:
            out[i, 0] = 2
        else:
            out[i, 0] = 1
    return out


@functools.cache
def _dip_scales() -> np.ndarray:
    """Every float32 scale of the i-exp range (1 <= Cq < 2^33) where 2*z(x0+1) < Cq; asserts
    the polynomial checks on the way."""
    lo_fq = iexp.scale_range(2**33)[0]
    hi = iexp.scale_range(2**32)[1]
    found = []
    for s in _float32_scales(lo_fq, hi):
        kind = _classify_scales(s, float(2**33))
        assert not np.any(kind[:, 0] == -1)
        dip = kind[:, 0] == 2
        assert np.all(kind[dip, 1] <= -459)
        found.append(s[dip])
    return np.concatenate(found)


def test_every_float32_scale_gives_an_increasing_positive_polynomial_and_dips_only_where_documented():
    """All ~145 M float32 scales of the i-exp range (fqvit's, which contains ibert's): z rises on
    [x0+1, 0] and stays >= 1; 2*z(x0+1) < Cq at exactly 35,844 scales (18,521 of them inside
    ibert's range), all with |x0| >= 459 and s <= 1.5134e-3, so 8-bit inputs never reach a dip."""
    lo_ib = iexp.scale_range(2**32)[0]
    dips = _dip_scales()
    assert dips.size == 35844 and dips.max() < 1.5134e-3
    assert np.count_nonzero(dips >= lo_ib) == 18521
    assert E16_DIP_SCALE in dips and E_ONLY_DIP_SCALE in dips


def test_e16_dips_at_exactly_the_documented_scales():
    """Of the 18,521 ibert scales where E dips, the 16-bit requantiser keeps the dip (E16 falls
    from D = x0 + 1 to D = x0) at 9,203; at every later boundary it rounds the dip away."""
    lo_ib = iexp.scale_range(2**32)[0]
    kept = 0
    dips = _dip_scales()
    dips = dips[dips >= lo_ib]
    for seen, s in enumerate(dips.tolist()):
        n = 30
        x0 = math.floor(-0.6931 / s)
        cfg = {"x0": x0, "bq": math.floor((0.96963238 / 0.35815147) / s), "cq": math.floor((1 / 0.35815147) / (s * s)), "n": n}
        cfg["m"], cfg["c"] = dyadic(32767 / (cfg["cq"] * 2**n))
        boundaries = range(1, n + 1) if seen % 25 == 0 else range(1, 2)  # all of them for a sample
        drops = [q1 for q1 in boundaries if exp16(q1 * x0 + 1, cfg) < exp16(q1 * x0, cfg)]
        assert drops in ([], [1])
        kept += bool(drops)
    assert (dips.size, kept) == (18521, 9203)


@plain
def test_scale_where_e16_dips_is_refused_only_when_the_boundary_is_reachable():
    k8 = build(scale_in=E16_DIP_SCALE, in_bits=8)  # |x0| = 459 > 255: D never reaches x0
    x0 = k8.config["x0"]
    assert x0 == -459
    assert exp16(x0 + 1, k8.config) < exp16(x0, k8.config)  # the dip is real
    with pytest.raises(ValueError, match=r"^scale_in: .*not monotone") as err:
        build(scale_in=E16_DIP_SCALE, in_bits=9)
    below, above = iexp.nearest_accepted(E16_DIP_SCALE, lambda s: _accepted(s, 9))
    assert below is not None and above is not None
    assert repr(below) in str(err.value) and repr(above) in str(err.value)


@plain
def test_scale_where_only_the_unrounded_exp_dips_is_accepted():
    k = build(scale_in=E_ONLY_DIP_SCALE, in_bits=16)
    cfg = k.config
    z_low = (cfg["x0"] + 1) * (cfg["x0"] + 1 + cfg["bq"]) + cfg["cq"]
    assert 2 * z_low < cfg["cq"]
    for q1 in range(1, cfg["n"] + 1):
        assert exp16(q1 * cfg["x0"] + 1, cfg) >= exp16(q1 * cfg["x0"], cfg)


# ----------------------------------------------------------------------------- edges
@plain
@pytest.mark.parametrize("in_bits", [2, 32])
def test_extreme_input_widths(in_bits):
    lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
    k = build(scale_in=0.05, in_bits=in_bits)
    q = np.array([[lo, hi], [hi, hi], [lo, lo], [lo, lo + 1]], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference_softmax(q, k.config)[0])
    assert got[0, 1] == got.max() and got[0, 0] <= got[0, 1]


@plain
def test_tiny_scale_is_refused_with_the_accepted_range():
    lo, hi = iexp.scale_range(2**32)
    assert 2.549e-5 < lo < 2.551e-5 and 1.670 < hi < 1.672
    build(scale_in=lo)
    build(scale_in=hi)
    for bad in (float(np.nextafter(lo, 0.0)), 1e-5, 1e-9):
        with pytest.raises(ValueError, match=r"^scale_in: must be in \[2\.5\d+e-05, 1\.67\d*\]"):
            build(scale_in=bad)


@plain
@pytest.mark.parametrize("scale", [float(np.nextafter(iexp.scale_range(2**32)[1], np.inf)), 2.0, 100.0])
def test_scale_with_zero_cq_is_refused(scale):
    with pytest.raises(ValueError, match=r"^scale_in: must be in .*Cq = floor\(.*\) = 0"):
        build(scale_in=scale)


@plain
def test_large_scale_exp_is_a_power_of_two():
    """s = 1.6: x0 = -1, every r is 0, z = Cq and E = Cq << (n - q): E16 halves per step."""
    k = build(scale_in=1.6, in_bits=8)
    assert k.config["x0"] == -1
    assert k.config["m"] == 32767 << 16 and k.config["c"] == 46  # m / 2^c = 32767 / 2^30 exactly
    assert [exp16(-d, k.config) for d in range(20)] == [rne_shift(32767, d) for d in range(20)]
    q = np.array([[0, -1, -2, -3, -40]], dtype=np.int64)
    np.testing.assert_array_equal(both(k, q), reference_softmax(q, k.config)[0])


# ----------------------------------------------------------------------------- bad input
@plain
@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": float("inf")}, "scale_in"),
        ({"scale_in": [0.1, 0.2]}, "scale_in"),
        ({"scale_in": 0.1, "out_bits": 1}, "out_bits"),
        ({"scale_in": 0.1, "out_bits": 33}, "out_bits"),
        ({"scale_in": 0.1, "n": 0}, "n"),
        ({"scale_in": 0.1, "n": 63}, "n"),
        ({"scale_in": 0.1, "n": 30.0}, "n"),
        ({"scale_in": 0.1, "in_bits": 1}, "in_bits"),
        ({"scale_in": 0.1, "in_bits": 33}, "in_bits"),
        ({"scale_in": 0.1, "bogus": 1}, "bogus"),
        ({"out_bits": 8}, "scale_in"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        build(**kwargs)


@plain
def test_out_of_range_input_is_refused():
    k = build(scale_in=0.05, in_bits=8)
    assert_inputs_refused(k, ([[128, 0]], [[-129, 0]]))
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 0), dtype=np.int64))


@plain
@pytest.mark.parametrize("value", [2.6e-5, 0.0015133173437789083, 0.05, 0.5, 1.0, 2.0**-10, 1.6])
def test_single_precision_steps_match_float32_nextafter(value):
    """The refusal message's neighbours are computed without float32 arrays; check them."""
    s = iexp.to_single(value)
    assert s == float(np.float32(value))
    assert iexp.single_step(s, True) == float(np.nextafter(np.float32(s), np.float32(np.inf)))
    assert iexp.single_step(s, False) == float(np.nextafter(np.float32(s), np.float32(0.0)))
