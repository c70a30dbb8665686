"""The per-datapath integer helpers against the exact Python-int primitives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import fixedpoint
from refmodel.ops import nbint, requant, torchint

pytestmark = pytest.mark.plain

values = st.integers(-(2**62) + 1, 2**62 - 1)


@given(st.lists(values, min_size=1, max_size=20), st.integers(0, 70))
def test_rne_shift_both_datapaths(xs, c):
    expected = [fixedpoint.rne_shift(x, c) for x in xs]
    assert [nbint.rne_shift(x, c) for x in xs] == expected
    assert torchint.rne_shift(torch.tensor(xs), c).tolist() == expected


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20), st.integers(0, 70))
def test_rne_shift_half_with_shift_columns_equals_rne_shift(xs, c):
    m, c2, half = (int(v[0]) for v in requant.shift_columns(np.array([1]), np.array([c])))
    assert [nbint.rne_shift_half(x * m, c2, half) for x in xs] == [fixedpoint.rne_shift(x, c) for x in xs]


@given(st.lists(st.tuples(values, st.integers(0, 70)), min_size=1, max_size=20))
def test_torch_rne_shift_with_per_element_shifts(pairs):
    xs, cs = zip(*pairs)
    expected = [fixedpoint.rne_shift(x, c) for x, c in pairs]
    assert torchint.rne_shift(torch.tensor(xs), torch.tensor(cs)).tolist() == expected


@given(st.lists(st.integers(-(2**60), 2**60), min_size=1, max_size=20), st.integers(1, 2**40))
def test_rne_div_both_datapaths(ns, d):
    expected = [fixedpoint.rne_div(n, d) for n in ns]
    assert [nbint.rne_div(n, d) for n in ns] == expected
    assert torchint.rne_div(torch.tensor(ns), d).tolist() == expected


@given(st.lists(st.integers(0, 2**62 - 1), min_size=1, max_size=20))
def test_isqrt_both_datapaths(vs):
    expected = [fixedpoint.isqrt(v) for v in vs]
    assert [nbint.isqrt(v) for v in vs] == expected
    assert torchint.isqrt(torch.tensor(vs)).tolist() == expected


@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=20))
def test_bit_length_both_datapaths(vs):
    expected = [v.bit_length() for v in vs]
    assert [nbint.bit_length(v) for v in vs] == expected
    assert torchint.bit_length(torch.tensor(vs)).tolist() == expected


def test_isqrt_near_perfect_squares():
    vs = [k * k + d for k in (4097, 2**20 + 7, 2**30 + 3, 2**31 - 1) for d in (-1, 0, 1)]
    expected = [fixedpoint.isqrt(v) for v in vs]
    assert [nbint.isqrt(v) for v in vs] == expected
    assert torchint.isqrt(torch.tensor(vs)).tolist() == expected
