"""Hex packing: exact examples and round trips at every width."""

from __future__ import annotations

import doctest

import numpy as np

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


@pytest.mark.parametrize("bits, signed", [(b, s) for b in (1, 2, 7, 8, 16, 31, 32, 33, 63) for s in (True, False) if b > 1 or not s])
def test_array_codec_equals_the_line_codec(bits, signed):
    """The array fast paths give the bytes and values of the per-line reference, extremes
    included."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    rng = np.random.default_rng(bits)
    values = np.concatenate([rng.integers(lo, hi, size=500, endpoint=True), [lo, hi, 0 if lo <= 0 else lo]])
    reference = "".join(line + "\n" for line in hexio.to_hex_lines(values.tolist(), bits, signed))
    assert hexio.to_hex_text(values, bits, signed) == reference
    assert hexio.from_hex_array(reference, bits, signed).tolist() == hexio.from_hex_lines(reference.splitlines(), bits, signed)


def test_array_codec_refuses_out_of_width_values_naming_the_element():
    with pytest.raises(ValueError, match=r"element 2 = 128 is outside the declared width \[-128, 127\]"):
        hexio.to_hex_text(np.array([0, -128, 128]), 8)
