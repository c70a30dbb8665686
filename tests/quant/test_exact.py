"""Exact integer arithmetic of the model wiring."""

from __future__ import annotations

from fractions import Fraction

import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel.fixedpoint import dyadic, saturate
from refmodel.quant.exact import matmul, quantize, requant_wide
from refmodel.quant.slots import log2_attend


def rne(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    frac = value - floor
    return floor + (frac > Fraction(1, 2) or (frac == Fraction(1, 2) and floor % 2 == 1))


@given(st.lists(st.integers(-(2**62) + 1, 2**62 - 1), min_size=1, max_size=12), st.floats(1e-30, 0.999), st.integers(2, 32))
def test_requant_wide_is_exact_round_half_even_then_saturation(zs, ratio, bits):
    m, c = dyadic(ratio)
    got = requant_wide(torch.tensor(zs), torch.tensor(m), torch.tensor(c), bits).tolist()
    assert got == [saturate(rne(Fraction(z * m, 2**c)), bits) for z in zs]


def test_requant_wide_ties_go_to_even():
    # ratio 2^-33 exactly: m = 2^30, c = 63; z = k * 2^32 gives k/2 + ties
    m, c = dyadic(2.0**-33)
    zs = [k * 2**32 for k in range(-5, 6)]
    got = requant_wide(torch.tensor(zs), torch.tensor(m), torch.tensor(c), 16).tolist()
    assert got == [rne(Fraction(k, 2)) for k in range(-5, 6)]


@given(st.integers(1, 40), st.integers(1, 8), st.integers(1, 8), st.integers(2, 16), st.integers(0, 2**32 - 1))
def test_matmul_is_exact(k, rows, cols, bits, seed):
    g = torch.Generator().manual_seed(seed)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1)
    a = torch.randint(lo, hi, (rows, k), generator=g)
    b = torch.randint(lo, hi, (k, cols), generator=g)
    expected = [[sum(int(a[i, t]) * int(b[t, j]) for t in range(k)) for j in range(cols)] for i in range(rows)]
    assert matmul(a, b).tolist() == expected


def test_quantize_rounds_half_to_even_and_saturates():
    x = torch.tensor([-2.5, -0.5, 0.5, 1.5, 2.5, 1000.0, -1000.0], dtype=torch.float64)
    assert quantize(x, 1.0, 8).tolist() == [-2, 0, 0, 2, 2, 127, -128]
    assert quantize(x, 1.0, 4, signed=False, zero_point=3).tolist() == [1, 3, 3, 5, 5, 15, 0]


@given(st.integers(2, 8), st.integers(0, 2**32 - 1), st.sampled_from([8, 16]))
def test_log2_attend_equals_the_per_term_shift_sum(v_bits, seed, frac_bits):
    g = torch.Generator().manual_seed(seed)
    code_bits = 6
    codes = torch.randint(0, 2**code_bits, (2, 5, 7), generator=g)
    v = torch.randint(-(2 ** (v_bits - 1)), 2 ** (v_bits - 1), (2, 7, 3), generator=g)
    got = log2_attend(codes, v, code_bits, frac_bits)
    zero = 2**code_bits - 1
    for b in range(2):
        for i in range(5):
            for d in range(3):
                terms = [(int(v[b, j, d]) << frac_bits) >> int(codes[b, i, j]) for j in range(7) if int(codes[b, i, j]) != zero]
                assert int(got[b, i, d]) == sum(terms)
