"""ivit.gelu (ShiftGELU): both datapaths equal each other and the exact Python-int reference,
every intermediate fits its documented width, and the documented properties hold, including
the method's own non-monotonicity."""

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
    expected, r = reference.gelu(rows, cfg["x0"], cfg["n"], cfg["sig_bits"])
    np.testing.assert_array_equal(got.reshape(-1, q.shape[-1]), np.array(expected, dtype=np.int64))
    ax0, n, b, in_bits = -cfg["x0"], cfg["n"], cfg["sig_bits"], cfg["in_bits"]
    # Width table of docs/ops/ivit.gelu.md.
    assert -(2**in_bits - 1) <= r["D"][0] and r["D"][1] == 0
    assert ax0 <= r["E"][0] and r["E"][1] <= ax0 * 2**n < 2**31
    assert ax0 <= r["Em_capped"][0] and r["Em_capped"][1] <= 2**31
    assert min(2 * ax0, LIMIT31) <= r["Ssum"][0] and r["Ssum"][1] <= LIMIT31
    assert 1 <= r["F"][0] and r["F"][1] <= LIMIT31 // min(2 * ax0, LIMIT31)
    assert 0 < r["EF"][0] and r["EF"][1] <= LIMIT31
    assert 0 <= r["SIG"][0] and r["SIG"][1] <= 2 ** (b - 1) - 1
    bound = 2 ** (in_bits - 1) * (2 ** (b - 1) - 1)
    assert -bound <= r["OUT"][0] and r["OUT"][1] <= bound
    assert k.out_spec.lo <= r["OUT"][0] and r["OUT"][1] <= k.out_spec.hi
    return r


def accepted_scales(n: int) -> st.SearchStrategy[float]:
    """Scales ``make`` accepts for this ``n``: |floor(-1/(1.702 s))| <= 2^(31-n) - 1."""
    return shiftexp_scales(n, 1.702)


@given(data=st.data(), in_bits=st.integers(2, 32), sig_bits=st.integers(2, 32), n=st.integers(1, 30))
def test_datapaths_match_reference(data, in_bits, sig_bits, n):
    s = data.draw(accepted_scales(n))
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    check_reference(ops.make("ivit.gelu", scale_in=s, sig_bits=sig_bits, n=n, in_bits=in_bits), q)


@given(data=st.data(), sig_bits=st.integers(2, 16))
def test_default_setting_matches_reference(data, sig_bits):
    s = data.draw(scales(0.0024, 0.5))
    q = data.draw(int_arrays(8, True, data.draw(shapes())))
    check_reference(ops.make("ivit.gelu", scale_in=s, sig_bits=sig_bits), q)


@given(data=st.data(), n=st.integers(1, 30), sig_bits=st.integers(2, 32))
def test_zero_maps_to_zero_and_signs_are_kept(data, n, sig_bits):
    s = data.draw(accepted_scales(n))
    in_bits = data.draw(st.integers(2, 32))
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    q.reshape(-1)[:: 3] = 0
    out = run_both(ops.make("ivit.gelu", scale_in=s, n=n, sig_bits=sig_bits, in_bits=in_bits), q)
    assert (out[q == 0] == 0).all()
    assert (out * np.sign(q) >= 0).all()
    # OUT = X * SIG with SIG in [0, 2^(b-1) - 1]: every non-zero X divides its output.
    nz = q != 0
    sig = out[nz] // q[nz]
    assert (sig * q[nz] == out[nz]).all()
    assert (sig >= 0).all() and (sig <= 2 ** (sig_bits - 1) - 1).all()


def _elementwise(x: int, m: int, x0: int, n: int) -> tuple[int, int]:
    """(E, F) of one element of a row with maximum m, from the reference's shift-exp."""
    e = reference.shiftexp_parts(x - m, x0, n)[3]
    em = reference.shiftexp_parts(-m, x0, n)[3]
    ssum = LIMIT31 if em is None else min(e + em, LIMIT31)
    return e, LIMIT31 // ssum


@given(data=st.data())
def test_what_monotonicity_holds(data):
    """Within a row, E is non-decreasing and F non-increasing in X; OUT is non-decreasing over
    non-negative X wherever F does not step down (the floor of F is what breaks it)."""
    s = data.draw(scales(0.0024, 0.5))
    k = ops.make("ivit.gelu", scale_in=s)
    x0, n = k.config["x0"], k.config["n"]
    m = data.draw(st.integers(0, 127))
    row = np.arange(-128, m + 1, dtype=np.int64)[None, :]
    out = run_both(k, row)[0]
    ef = [_elementwise(x, m, x0, n) for x in row[0].tolist()]
    es, fs = [e for e, _ in ef], [f for _, f in ef]
    assert all(a <= b for a, b in zip(es, es[1:]))
    assert all(a >= b for a, b in zip(fs, fs[1:]))
    start = 128  # index of X = 0
    for i in range(start, row.shape[1] - 1):
        if fs[i] == fs[i + 1]:
            assert out[i] <= out[i + 1]


def test_monotonicity_counterexample():
    """s = 0.02 (x0 = -30), row max 9: X = 5 gives 340 but X = 6 gives 336, because E + Em
    crosses (2^31 - 1) / 5 and F drops from 5 to 4 (docs/ops/ivit.gelu.md)."""
    k = ops.make("ivit.gelu", scale_in=0.02)
    assert k.config["x0"] == -30
    q = np.array([[5, 6, 9, -40], [11, 12, 12, 0]], dtype=np.int64)
    out = run_both(k, q)
    check_reference(k, q)
    assert out[0, 0] == 340 and out[0, 1] == 336  # SIG 68 then 56
    assert out[1, 0] == 803 and out[1, 1] == 720  # SIG 73 then 60


def test_all_negative_token_clamps_to_a_non_sigmoid():
    """-M > 0 makes Em >= 2^31: the sum clamps, F = 1 and SIG = E >> (32 - b)."""
    k = ops.make("ivit.gelu", scale_in=0.00231)  # x0 = -255
    assert k.config["x0"] == -255
    q = np.full((2, 8), -128, dtype=np.int64)
    q[1] = -1
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["Em_capped"][0] >= 2**31 - 255 * 2**23 and r["F"] == (1, 1)
    # SIG = 255 * 2^23 >> 24 = 127, i.e. sigmoid ~ 1.0 where sigmoid(1.702 * x) is 0.38 / 0.50.
    np.testing.assert_array_equal(out, [[-128 * 127] * 8, [-127] * 8])
    k2 = ops.make("ivit.gelu", scale_in=0.01)  # x0 = -59: SIG = 59 * 2^23 >> 24 = 29
    np.testing.assert_array_equal(run_both(k2, np.full((1, 4), -100)), [[-2900] * 4])


def test_huge_negative_max_has_no_overflow():
    """in_bits = 32, M = -2^31: the shift of Em would be astronomically large."""
    for s in (0.0024, 0.05, 30.0):
        k = ops.make("ivit.gelu", scale_in=s, in_bits=32)
        q = np.array([[-(2**31)] * 3, [-(2**31), -(2**31) + 1, -5], [2**31 - 1, -(2**31), 0]], dtype=np.int64)
        check_reference(k, q)


def test_table_fallback_equals_the_direct_path():
    """n = 15, x0 ~ -1000, 16-bit input: the kernel's exp table stops at TABLE_CAP."""
    k = ops.make("ivit.gelu", scale_in=1 / (1.702 * 999.5), n=15, in_bits=16)
    assert k.config["x0"] == -1000
    assert shiftexp.table_plan(k.config["x0"], k.config["n"], 16)[1] is False
    rng = np.random.default_rng(11)
    q = rng.integers(-(2**15), 2**15, size=(4, 64))
    q[:, 0] = 2**15 - 1  # the row max: t = M - X of the next columns spans the table's end
    q[:, 1:24] = q[:, :1] - rng.integers(0, 3 * shiftexp.TABLE_CAP, size=(4, 23))
    check_reference(k, q)


def test_sig_by_row_table_equals_the_per_element_path():
    """A row at least as long as the exp table takes SIG per table entry, a shorter one per
    element: the same token in both layouts gives the reference's integers."""
    for s in (0.0024, 0.02, 0.3):
        k = ops.make("ivit.gelu", scale_in=s)
        table_len, covers = shiftexp.table_plan(k.config["x0"], k.config["n"], 8)
        assert covers and table_len <= 256
        rng = np.random.default_rng(table_len)
        wide = rng.integers(-128, 128, size=(3, 260))
        wide[0, :2], wide[1, :2], wide[2] = (127, -128), (-128, -127), -128  # t spans 0..255
        check_reference(k, wide)
        narrow = wide[:, : max(1, table_len - 1)].copy()
        check_reference(k, narrow)


def test_one_column_and_extremes():
    for in_bits in (2, 8, 16, 32):
        lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
        for s in (0.0024, 0.05, 2.0):
            k = ops.make("ivit.gelu", scale_in=s, in_bits=in_bits)
            check_reference(k, np.array([[lo], [hi], [0], [-1], [1]], dtype=np.int64))
            check_reference(k, np.array([[lo, hi, 0, lo, hi], [lo] * 5, [hi] * 5], dtype=np.int64))


def test_output_width_is_tight():
    """|OUT| <= 2^(in_bits-1) * (2^(sig_bits-1) - 1): signed in_bits + sig_bits - 1 bits, and
    the bound is reached (X = -128, SIG = 127 at x0 = -255)."""
    k = ops.make("ivit.gelu", scale_in=0.00231)
    assert k.out_spec.bits == 8 + 8 - 1 and k.out_spec.signed
    out = run_both(k, np.full((1, 2), -128))
    assert out.min() == -128 * 127 < -(2 ** (k.out_spec.bits - 2))


@pytest.mark.parametrize("n", [1, 15, 23, 30])
def test_scale_limit_is_exact(n):
    max_abs = 2 ** (31 - n) - 1
    k = ops.make("ivit.gelu", scale_in=1.0 / (1.702 * (max_abs - 0.5)), n=n)
    assert k.config["x0"] == -max_abs
    with pytest.raises(ValueError, match=r"^scale_in: .*n=" + str(n)):
        ops.make("ivit.gelu", scale_in=1.0 / (1.702 * (max_abs + 0.5)), n=n)


def test_default_limit_is_upstreams_0_0023():
    assert ops.make("ivit.gelu", scale_in=0.00231).config["x0"] == -255
    assert ops.make("ivit.gelu", scale_in=1e308).config["x0"] == -1
    with pytest.raises(ValueError, match="^scale_in: .*0.0023"):
        ops.make("ivit.gelu", scale_in=0.0023)


def test_config_and_specs():
    k = ops.make("ivit.gelu", scale_in=0.02)
    assert k.config == {"x0": -30, "n": 23, "shift": 24, "sum_max": LIMIT31, "in_bits": 8, "sig_bits": 8}
    assert k.scale_out == 0.02 / 128
    assert (k.in_spec.bits, k.in_spec.signed, k.out_spec.bits, k.out_spec.signed) == (8, True, 15, True)
    assert k.config["x0"] == math.floor(-1.0 / (0.02 * 1.702))


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": 1e-3}, "scale_in"),
        ({"scale_in": 1.7e308}, "scale_in"),  # s * 1.702 overflows: x0 would be 0
        ({"scale_in": 0.1, "sig_bits": 1}, "sig_bits"),
        ({"scale_in": 0.1, "sig_bits": 33}, "sig_bits"),
        ({"scale_in": 0.1, "n": 0}, "n"),
        ({"scale_in": 0.1, "n": 31}, "n"),
        ({"scale_in": 0.1, "in_bits": 1}, "in_bits"),
        ({"scale_in": 0.1, "in_bits": 33}, "in_bits"),
        ({"scale_in": 0.1, "out_bits": 8}, "out_bits"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("ivit.gelu", **kwargs)


def test_out_of_range_input_is_refused():
    k = ops.make("ivit.gelu", scale_in=0.1, in_bits=8)
    assert_inputs_refused(k, ([[128, 0]], [[-129, 0]]))
