"""ivit.softmax (Shiftmax): both datapaths equal each other and the exact Python-int
reference, every intermediate fits its documented width, and the documented properties hold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.ops.ivit import shiftexp
from refmodel.testing import int_arrays, scales, shapes, shiftexp_scales
from tests.ops.helpers import assert_inputs_refused, run_both
from tests.ops.ivit import reference

pytestmark = pytest.mark.plain

LIMIT31 = reference.LIMIT31


def check_reference(k, q: np.ndarray) -> reference.Ranges:
    """Both datapaths equal the exact reference; every intermediate fits its documented width."""
    cfg = k.config
    got = run_both(k, q)
    rows = q.reshape(-1, q.shape[-1]).tolist()
    expected, r = reference.softmax(rows, cfg["x0"], cfg["n"], cfg["out_bits"])
    np.testing.assert_array_equal(got.reshape(-1, q.shape[-1]), np.array(expected, dtype=np.int64))
    ax0, n, b = -cfg["x0"], cfg["n"], cfg["out_bits"]
    cols = q.shape[-1]
    # Width table of docs/ops/ivit.softmax.md.
    assert -(2 ** cfg["in_bits"] - 1) <= r["D"][0] and r["D"][1] == 0
    assert 16 * r["P_raw"][0] >= -23 * (2 ** cfg["in_bits"] - 1) - 8  # P >= 1.4375 D - 1/2
    assert n * cfg["x0"] <= r["P"][0] and r["P"][1] == 0 and n * ax0 < 2**30
    assert 0 <= r["q"][0] and r["q"][1] <= n
    assert cfg["x0"] < r["rr"][0] and r["rr"][1] <= 0
    assert ax0 <= r["E"][0] and r["E"][1] <= ax0 * 2**n < 2**31
    low_sum = ax0 * (2**n + cols - 1)  # the row max gives u 2^n, every other element >= u
    assert low_sum <= r["sum_raw"][0] and r["sum_raw"][1] <= cols * ax0 * 2**n < 2**63
    assert min(low_sum, LIMIT31) <= r["Ssum"][0] and r["Ssum"][1] <= LIMIT31
    assert 1 <= r["F"][0] and r["F"][1] <= LIMIT31 // min(low_sum, LIMIT31) < 2 ** (31 - n)
    assert 0 < r["EF"][0] and r["EF"][1] <= LIMIT31
    assert 0 <= r["OUT"][0] and r["OUT"][1] <= 2 ** (b - 1) - 1
    assert k.out_spec.lo <= r["OUT"][0] and r["OUT"][1] <= k.out_spec.hi
    return r


def accepted_scales(n: int) -> st.SearchStrategy[float]:
    """Scales that ``make`` accepts for this ``n`` (|x0| * 2^n < 2^31), down to the limit."""
    return shiftexp_scales(n)


@given(data=st.data(), in_bits=st.integers(2, 32), out_bits=st.integers(2, 32), n=st.integers(1, 30))
def test_datapaths_match_reference(data, in_bits, out_bits, n):
    s = data.draw(accepted_scales(n))
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    k = ops.make("ivit.softmax", scale_in=s, out_bits=out_bits, n=n, in_bits=in_bits)
    r = check_reference(k, q)
    if r["sum_raw"][1] <= LIMIT31:
        # Not clamped: the row sums respect the documented bounds.
        assert r["row_sum_out"][1] <= 2 ** (out_bits - 1) - 1


@given(data=st.data(), out_bits=st.integers(2, 32))
def test_default_setting_matches_reference(data, out_bits):
    s = data.draw(scales(0.003, 0.5))
    q = data.draw(int_arrays(8, True, data.draw(shapes())))
    check_reference(ops.make("ivit.softmax", scale_in=s, out_bits=out_bits), q)


@given(data=st.data(), out_bits=st.integers(2, 32), n=st.integers(1, 30))
def test_row_sum_bounds_when_not_clamped(data, out_bits, n):
    s = data.draw(accepted_scales(n))
    rows, cols = data.draw(shapes())
    q = data.draw(int_arrays(8, True, (rows, cols)))
    k = ops.make("ivit.softmax", scale_in=s, out_bits=out_bits, n=n)
    out = run_both(k, q)
    h = 32 - out_bits
    for x, o in zip(q.tolist(), out.tolist()):
        _, r = reference.softmax([x], k.config["x0"], n, out_bits)
        ssum = r["sum_raw"][0]
        if ssum > LIMIT31:
            continue
        total = sum(o)
        assert total <= 2 ** (out_bits - 1) - 1
        # sum OUT > (2^31 - 1 - Ssum) / 2^h - C, written without division.
        assert total * 2**h > LIMIT31 - ssum - cols * 2**h


@given(data=st.data(), n=st.integers(1, 30))
def test_larger_input_never_gets_smaller_output(data, n):
    s = data.draw(accepted_scales(n))
    in_bits = data.draw(st.integers(2, 32))
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    out = run_both(ops.make("ivit.softmax", scale_in=s, n=n, in_bits=in_bits), q)
    assert (out >= 0).all()
    order = np.argsort(q, axis=1, kind="stable")
    sorted_out = np.take_along_axis(out, order, axis=1)
    assert (np.diff(sorted_out, axis=1) >= 0).all()


@pytest.mark.parametrize("x0, n", [(-1, 1), (-1, 30), (-20, 15), (-7, 23), (-65535, 15), (-1000, 21)])
def test_shiftexp_is_monotone_and_bounded(x0, n):
    """E(D) is non-decreasing on D <= 0, from |x0| (saturated) to |x0| * 2^n (D = 0)."""
    t_sat = shiftexp.saturation_distance(x0, n)
    step = max(1, (t_sat + 50) // 20000)  # every D for small tables, a comb for large ones
    near = set(range(-t_sat - 3, min(-t_sat + 3, 1)))
    span = sorted(set(range(-(t_sat + 50), 1, step)) | near | {0})
    es = [reference.shiftexp_parts(d, x0, n)[3] for d in span]
    assert all(a <= b for a, b in zip(es, es[1:]))
    assert es[0] == -x0 and es[-1] == -x0 * 2**n
    # saturation_distance: first t where E reaches its floor (and P its clamp).
    assert reference.shiftexp_parts(-t_sat, x0, n)[0] == n * x0
    assert reference.shiftexp_parts(-(t_sat - 1), x0, n)[0] > n * x0 or t_sat == 0


def test_all_equal_row_of_197_matches_upstream():
    q = np.zeros((2, 197), dtype=np.int64)
    q[1] = 57
    k16 = ops.make("ivit.softmax", scale_in=0.05, out_bits=16)
    k8 = ops.make("ivit.softmax", scale_in=0.05, out_bits=8)
    assert k16.config["x0"] == -20
    np.testing.assert_array_equal(run_both(k16, q), np.full((2, 197), 160))
    np.testing.assert_array_equal(run_both(k8, q), np.zeros((2, 197)))
    check_reference(k16, q)


def test_one_column_gives_the_single_element_its_maximum():
    k = ops.make("ivit.softmax", scale_in=0.05)
    q = np.array([[-128], [0], [127]], dtype=np.int64)
    # E = 20 * 2^15 = 655360, F = (2^31-1) // 655360 = 3276, (E*F) >> 16 = 32760.
    np.testing.assert_array_equal(run_both(k, q), [[32760]] * 3)
    check_reference(k, q)


def test_extremes_of_the_input_width():
    for in_bits in (2, 8, 16, 32):
        lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
        q = np.array([[lo, hi, lo, 0], [lo, lo, lo, lo], [hi, hi, lo, hi]], dtype=np.int64)
        for s in (1e-3, 0.05, 3.0):
            check_reference(ops.make("ivit.softmax", scale_in=s, in_bits=in_bits), q)


def test_sum_clamp_is_reproduced_exactly():
    """N * |x0| * 2^n > 2^31 - 1: the sum clamps, F = 1 and OUT = E >> (32 - b)."""
    k = ops.make("ivit.softmax", scale_in=0.001)
    assert k.config["x0"] == -1000
    q = np.zeros((1, 197), dtype=np.int64)
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["sum_raw"][1] == 197 * 1000 * 2**15 > LIMIT31 and r["F"] == (1, 1)
    np.testing.assert_array_equal(out, np.full((1, 197), 500))
    assert out.sum() == 98500 > 2**15 - 1  # the clamp breaks the sum bound, as in I-ViT


def test_table_fallback_equals_the_direct_path():
    """Large in_bits with a small scale: the kernel's exp table stops at TABLE_CAP."""
    k = ops.make("ivit.softmax", scale_in=2e-5, in_bits=24)
    assert shiftexp.table_plan(k.config["x0"], k.config["n"], 24)[1] is False
    rng = np.random.default_rng(7)
    q = rng.integers(-(2**23), 2**23, size=(4, 64))
    q[:, 0] = 2**23 - 1  # the row max, so t = max - X is set by the next columns
    q[:, 1:16] = q[:, :1] - rng.integers(0, 3 * shiftexp.TABLE_CAP, size=(4, 15))
    check_reference(k, q)


@pytest.mark.parametrize("n", [1, 10, 15, 23, 30])
def test_scale_limit_is_exact(n):
    """Accepted iff |floor(-1/s)| * 2^n < 2^31, i.e. |x0| <= 2^(31-n) - 1."""
    max_abs = 2 ** (31 - n) - 1
    k = ops.make("ivit.softmax", scale_in=1.0 / (max_abs - 0.5), n=n)
    assert k.config["x0"] == -max_abs
    with pytest.raises(ValueError, match=r"^scale_in: .*n=" + str(n)):
        ops.make("ivit.softmax", scale_in=1.0 / (max_abs + 0.5), n=n)
    with pytest.raises(ValueError, match="^scale_in: "):
        ops.make("ivit.softmax", scale_in=1e-310, n=n)


def test_config_and_specs():
    k = ops.make("ivit.softmax", scale_in=0.05, out_bits=16)
    assert k.config == {"x0": -20, "n": 15, "shift": 16, "sum_max": LIMIT31, "in_bits": 8, "out_bits": 16}
    assert all(isinstance(v, int) for v in k.config.values())
    assert k.scale_out == 2.0**-15
    assert (k.in_spec.bits, k.in_spec.signed, k.out_spec.bits, k.out_spec.signed) == (8, True, 16, False)
    # D0: the float32 value 0.01 (0.0099999997...) widened and divided in float64 gives
    # -100.0000002, so x0 = -101; upstream's float32 reciprocal rounds to 100 and gives -100.
    s32 = np.float32(0.01)
    assert ops.make("ivit.softmax", scale_in=s32).config["x0"] == math.floor(-1.0 / float(s32)) == -101


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": float("inf")}, "scale_in"),
        ({"scale_in": [0.1, 0.2]}, "scale_in"),
        ({"scale_in": 1e-5}, "scale_in"),
        ({"scale_in": 0.1, "out_bits": 1}, "out_bits"),
        ({"scale_in": 0.1, "out_bits": 33}, "out_bits"),
        ({"scale_in": 0.1, "n": 0}, "n"),
        ({"scale_in": 0.1, "n": 31}, "n"),
        ({"scale_in": 0.1, "n": 15.0}, "n"),
        ({"scale_in": 0.1, "in_bits": 1}, "in_bits"),
        ({"scale_in": 0.1, "in_bits": 33}, "in_bits"),
        ({"scale_in": 0.1, "sig_bits": 8}, "sig_bits"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("ivit.softmax", **kwargs)


def test_out_of_range_input_is_refused():
    k = ops.make("ivit.softmax", scale_in=0.1, in_bits=8)
    assert_inputs_refused(k, ([[128, 0]], [[-129, 0]]))
