"""The exact primitives against Fractions and their docstring examples."""

from __future__ import annotations

import doctest
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import fixedpoint
from refmodel.fixedpoint import dyadic, int_range, isqrt, rne_div, rne_shift, saturate, signed_width

pytestmark = pytest.mark.plain


def round_half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    frac = value - floor
    return floor + (frac > Fraction(1, 2) or (frac == Fraction(1, 2) and floor % 2 == 1))


def test_docstring_examples():
    assert doctest.testmod(fixedpoint).failed == 0


@given(st.integers(-(2**70), 2**70), st.integers(0, 80))
def test_rne_shift_is_round_half_even(x, c):
    assert rne_shift(x, c) == round_half_even(Fraction(x, 2**c))


@given(st.integers(-(2**70), 2**70), st.integers(1, 2**40))
def test_rne_div_is_round_half_even(n, d):
    assert rne_div(n, d) == round_half_even(Fraction(n, d))


@given(st.floats(1e-30, 1e30))
def test_dyadic_is_normalised_and_within_half_ulp(ratio):
    m, c = dyadic(ratio)
    assert 2**30 <= m < 2**31
    assert abs(Fraction(m) / Fraction(2) ** c - Fraction(ratio)) <= Fraction(2) ** -c / 2


@given(st.lists(st.floats(1e-300, 1e300), min_size=1, max_size=20))
def test_dyadic_many_equals_dyadic_element_by_element(ratios):
    edges = [1 - 2.0**-40, 1.0, 2.0**31, 2.0**-1074 * 3, 0.5, 1 - 2.0**-53]
    values = ratios + edges
    ms, cs = fixedpoint.dyadic_many(np.array(values))
    assert list(zip(ms, cs)) == [dyadic(r) for r in values]
    assert all(type(m) is int and type(c) is int for m, c in zip(ms, cs))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_dyadic_many_refuses_bad_ratios_as_dyadic_does(bad):
    with pytest.raises(ValueError, match="^ratio:"):
        fixedpoint.dyadic_many(np.array([0.25, bad]))


@given(st.integers(0, 2**80))
def test_isqrt(v):
    r = isqrt(v)
    assert r * r <= v < (r + 1) * (r + 1)


@given(st.integers(2, 40), st.booleans(), st.integers(-(2**41), 2**41))
def test_saturate_clamps_to_the_width(bits, signed, x):
    lo, hi = int_range(bits, signed)
    assert saturate(x, bits, signed) == min(max(x, lo), hi)


@given(st.integers(-(2**40), 2**40), st.integers(0, 2**40))
def test_signed_width_is_minimal(a, span):
    lo, hi = a, a + span
    w = signed_width(lo, hi)
    assert fixedpoint.fits(lo, w) and fixedpoint.fits(hi, w)
    assert w == 1 or not (fixedpoint.fits(lo, w - 1) and fixedpoint.fits(hi, w - 1))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_dyadic_refuses_bad_ratios(bad):
    with pytest.raises(ValueError, match="^ratio:"):
        dyadic(bad)
