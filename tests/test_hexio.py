"""Hex packing: exact examples and round trips at every width."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import hexio
from refmodel.fixedpoint import int_range


def test_docstring_examples():
    assert doctest.testmod(hexio).failed == 0


@given(st.data(), st.integers(1, 64), st.booleans())
def test_round_trip(data, bits, signed):
    if signed and bits == 1:
        bits = 2
    lo, hi = int_range(bits, signed)
    values = data.draw(st.lists(st.integers(lo, hi), max_size=50))
    text = hexio.to_hex_text(values, bits, signed)
    assert all(len(line) == (bits + 3) // 4 for line in text.splitlines())
    assert hexio.from_hex_text(text, bits, signed) == values


def test_out_of_width_value_is_an_error_not_a_wrap():
    with pytest.raises(ValueError, match="element 1"):
        hexio.to_hex_lines([0, 128], bits=8)


@pytest.mark.parametrize("line, why", [("fff", "expected 2 hex digits"), ("zz", "not a hex number"), ("7f", "above the declared width")])
def test_malformed_lines_are_named(line, why):
    with pytest.raises(ValueError, match=f"line 1: .*{why}"):
        hexio.from_hex_lines([line], bits=6 if why.startswith("above") else 8)
