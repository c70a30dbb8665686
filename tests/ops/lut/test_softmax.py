"""lut.softmax: the exp table equals the formula rebuilt here (math.exp, exact rounding with
fractions), both datapaths equal an exact Python-int reference, and the documented error
bound against the exactly rounded E_j * 2^(out_bits-1) / sum E holds on random and edge rows."""

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


def expected_table(scale_in: float, frac_bits: int, in_bits: int) -> list[int]:
    """``rne(2^F * exp(-t * s))`` for every ``t``, cut after the last non-zero entry plus one
    zero (when the full table has a zero)."""
    full = [round_half_even(Fraction(math.exp(-(t * scale_in))) * 2**frac_bits) for t in range(2**in_bits)]
    nonzero = [t for t, e in enumerate(full) if e != 0]
    return full[: min(nonzero[-1] + 2, len(full))]


def reference(row: list[int], table: list[int], out_bits: int) -> tuple[list[int], list[int], int]:
    """(OUT, E, S) of one row with Python ints: E_j = E[max - X_j] (zero past the table)."""
    m = max(row)
    e = [table[m - x] if m - x < len(table) else 0 for x in row]
    s = sum(e)
    r = 2**62 // s
    shift = 62 - (out_bits - 1)
    out = [round_half_even(Fraction(ej * r, 2**shift)) for ej in e]
    return out, e, s


def check(k, q: np.ndarray) -> np.ndarray:
    """Both datapaths equal the reference, and the error bound of docs/ops/lut.softmax.md holds:
    OUT_j is rne(p_j) or rne(p_j) - 1 with p_j = E_j 2^B / S, and equals rne(p_j) whenever
    p_j is not a tie and S <= 2^(61 - F - B)."""
    cfg = k.config
    b = cfg["out_bits"] - 1
    got = run_both(k, q)
    for row, out in zip(q.reshape(-1, q.shape[-1]).tolist(), got.reshape(-1, q.shape[-1]).tolist()):
        want, e, s = reference(row, cfg["table"], cfg["out_bits"])
        assert out == want
        small = s <= 2 ** (61 - cfg["frac_bits"] - b)
        for ej, o in zip(e, out):
            p = Fraction(ej * 2**b, s)
            exact = round_half_even(p)
            assert exact - 1 <= o <= exact, (row, ej, s, o, exact)
            if small and p.denominator != 2:
                assert o == exact, (row, ej, s, o, exact)
            assert 0 <= o <= 2**b
    return got


@given(s=scales(1e-3, 4.0), frac_bits=st.integers(1, 30), in_bits=st.integers(2, 10))
def test_table_is_the_rounded_exp(s, frac_bits, in_bits):
    k = ops.make("lut.softmax", scale_in=s, frac_bits=frac_bits, in_bits=in_bits)
    assert k.config["table"] == expected_table(s, frac_bits, in_bits)
    assert k.config["table"][0] == 2**frac_bits


@given(data=st.data(), in_bits=st.integers(2, 12), out_bits=st.integers(2, 32), frac_bits=st.integers(1, 30))
def test_datapaths_match_reference_and_bound(data, in_bits, out_bits, frac_bits):
    s = data.draw(scales(1e-3, 2.0))
    k = ops.make("lut.softmax", scale_in=s, in_bits=in_bits, out_bits=out_bits, frac_bits=frac_bits)
    q = data.draw(int_arrays(in_bits, True, data.draw(shapes())))
    check(k, q)


@given(data=st.data(), width=st.sampled_from([6, 8]))
def test_default_setting(data, width):
    s = data.draw(scales(0.01, 0.5))
    k = ops.make("lut.softmax", scale_in=s, in_bits=width)
    q = data.draw(int_arrays(width, True, data.draw(shapes(cols=197))))
    got = check(k, q)
    # Monotone: a larger input never gets a smaller probability (E is non-increasing in t).
    order = np.argsort(q, axis=-1, kind="stable")
    assert (np.diff(np.take_along_axis(got, order, axis=-1), axis=-1) >= 0).all()


def test_edge_rows():
    for in_bits, s in ((8, 0.08), (6, 0.32), (8, 1e-3), (16, 1e-4), (2, 3.0)):
        k = ops.make("lut.softmax", scale_in=s, in_bits=in_bits)
        lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
        rows = [[hi] * 7, [lo] * 7, [lo, hi] * 3 + [lo], [hi] + [lo] * 6, [0] * 7, [lo + 1, hi - 1, 0, 0, 1, -1, hi]]
        check(k, np.array(rows, dtype=np.int64))
        check(k, np.array([[lo], [hi], [0]], dtype=np.int64))


def test_one_hot_and_uniform_rows_are_exact():
    """One live element gives exactly 2^B (1.0); C equal elements give rne(2^B / C)."""
    k = ops.make("lut.softmax", scale_in=0.32, in_bits=6)
    assert len(k.config["table"]) < 64  # 2^16 exp(-t 0.32) rounds to 0 from t = 37
    got = run_both(k, np.array([[31, -32, -32, -32], [5, 5, 5, 5]], dtype=np.int64))
    assert got.tolist() == [[32768, 0, 0, 0], [8192] * 4]
    got = run_both(k, np.full((1, 3), 7, dtype=np.int64))
    assert got.tolist() == [[round(32768 / 3)] * 3]


def test_worked_example_of_the_doc():
    k = ops.make("lut.softmax", scale_in=0.08)
    table = k.config["table"]
    assert table[:4] == [65536, 60497, 55846, 51552]
    assert len(table) == 149 and table[-1] == 0 and table[-2] == 1
    q = np.array([[10, 9, 0, -4, -30, -128]], dtype=np.int64)
    got = check(k, q)
    assert got.tolist() == [[11961, 11042, 5375, 3903, 488, 0]]
    # E = [65536, 60497, 29447, 21383, 2671, 1], S = 179535, R = 2^62 // S = 25686835538626;
    # p_4 = 2671 * 2^15 / S = 487.50009: just above the tie, and still rounded up.
    assert 2**62 // 179535 == 25686835538626
    assert k.config["out_shift"] == 47


def test_bound_is_reached_at_a_tie():
    """E = [16, 16, 9, 7], S = 48: p = 9 * 2^3 / 48 = 3/2 exactly. R = floor(2^62 / 48) is
    below 2^62 / 48, so the product lands just under the tie and rounds down to 1 where the
    exactly rounded value is 2: the documented one-LSB case."""
    k = ops.make("lut.softmax", scale_in=0.08, in_bits=4, out_bits=4, frac_bits=4)
    assert k.config["table"][:11] == [16, 15, 14, 13, 12, 11, 10, 9, 8, 8, 7]
    got = check(k, np.array([[7, 7, 0, -3]], dtype=np.int64))
    assert got.tolist() == [[3, 3, 1, 1]]
    assert round_half_even(Fraction(9 * 8, 48)) == 2


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("inf")}, "scale_in"),
        ({"scale_in": 0.1, "in_bits": 17}, "in_bits"),
        ({"scale_in": 0.1, "out_bits": 1}, "out_bits"),
        ({"scale_in": 0.1, "out_bits": 33}, "out_bits"),
        ({"scale_in": 0.1, "frac_bits": 0}, "frac_bits"),
        ({"scale_in": 0.1, "frac_bits": 31}, "frac_bits"),
        ({"scale_in": 0.1, "frac_bits": 16.0}, "frac_bits"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        ops.make("lut.softmax", **kwargs)


def test_out_of_range_inputs_are_refused():
    k = ops.make("lut.softmax", scale_in=0.32, in_bits=6)
    assert_inputs_refused(k, [[[32, 0]], [[-33]], [[0, -(1 << 40)]]])


def test_config_and_specs():
    k = ops.make("lut.softmax", scale_in=0.08, out_bits=8)
    assert set(k.config) == {"table", "out_shift", "frac_bits", "in_bits", "out_bits"}
    assert k.config["out_shift"] == 62 - 7
    assert k.scale_out == 2.0**-7 and (k.out_spec.bits, k.out_spec.signed) == (8, False)
