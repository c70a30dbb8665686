"""matmul: two named activation inputs, exact product, width proven from depth and widths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from tests.ops import reference_linear as ref
from tests.ops.helpers import signed_bits
from refmodel.testing import int_arrays

pytestmark = pytest.mark.plain


def both(k: ops.Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    got = k.sim(a=a, b=b)
    np.testing.assert_array_equal(got, k.fakequant(a=torch.from_numpy(a), b=torch.from_numpy(b)).numpy())
    assert got.dtype == np.int64 and got.shape == a.shape[:-1] + b.shape[-1:]
    return got


@given(data=st.data(), a_bits=st.integers(2, 16), b_bits=st.integers(2, 16), a_signed=st.booleans(), depth=st.integers(1, 24))
def test_matmul_equals_python_ints_within_its_proven_range(data, a_bits, b_bits, a_signed, depth):
    lead = data.draw(st.sampled_from([(), (2,), (2, 3)]))
    m, n = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    a = data.draw(int_arrays(a_bits, a_signed, lead + (m, depth)))
    b = data.draw(int_arrays(b_bits, True, lead + (depth, n)))
    k = ops.make("matmul", scale_a=0.5, scale_b=0.25, depth=depth, a_bits=a_bits, b_bits=b_bits, a_signed=a_signed, acc_bits=63)
    got = both(k, a, b)
    np.testing.assert_array_equal(got, ref.matmul(a, b).astype(np.int64))
    a_lo, a_hi = (-(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1) if a_signed else (0, (1 << a_bits) - 1)
    b_lo, b_hi = -(1 << (b_bits - 1)), (1 << (b_bits - 1)) - 1
    corners = [x * y for x in (a_lo, a_hi) for y in (b_lo, b_hi)]
    assert k.bounds()["ACC"] == (depth * min(corners), depth * max(corners))
    lo, hi = k.bounds()["ACC"]
    assert lo <= int(got.min()) and int(got.max()) <= hi


def test_attention_shapes_fit_32_bits_and_reach_their_bound():
    # P (16-bit unsigned) times V (8-bit) over 197 tokens: 197 * 65535 * -128 fits 32 bits
    k = ops.make("matmul", scale_a=2.0**-15, scale_b=0.05, depth=197, a_bits=16, a_signed=False, b_bits=8)
    assert k.out_spec == ops.IntSpec(32, True) and signed_bits(*k.bounds()["ACC"]) == 32
    a = np.full((1, 2, 197), 65535, dtype=np.int64)
    b = np.full((1, 197, 3), -128, dtype=np.int64)
    np.testing.assert_array_equal(both(k, a, b), np.full((1, 2, 3), 197 * 65535 * -128))
    assert k.scale_out == 2.0**-15 * 0.05


def test_width_above_32_bits_is_refused_unless_declared():
    with pytest.raises(ValueError, match="^acc_bits: the accumulator needs 34 bits"):
        ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=577, a_bits=16, a_signed=False, b_bits=8)
    k = ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=577, a_bits=16, a_signed=False, b_bits=8, acc_bits=34)
    assert k.out_spec.bits == 34


def test_inputs_are_taken_by_name_only():
    k = ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=2)
    a, b = np.ones((1, 2), dtype=np.int64), np.ones((2, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="^a: matmul takes its inputs by name: a, b"):
        k.sim(a)
    with pytest.raises(ValueError, match="^b: input of matmul is missing"):
        k.sim(a=a)
    with pytest.raises(ValueError, match="^c: not an input of matmul"):
        k.fakequant(a=torch.from_numpy(a), b=torch.from_numpy(b), c=torch.from_numpy(b))
    with pytest.raises(ValueError, match="^in_spec:"):
        k.in_spec
    assert k.in_specs == {"a": ops.IntSpec(8, True), "b": ops.IntSpec(8, True)}


def test_bad_shapes_and_values_name_the_input():
    k = ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=3, a_bits=4, b_bits=4)
    good_a, good_b = np.zeros((2, 3), dtype=np.int64), np.zeros((3, 5), dtype=np.int64)
    cases = [
        ({"a": np.zeros((2, 4), dtype=np.int64), "b": good_b}, "a"),
        ({"a": good_a, "b": np.zeros((4, 5), dtype=np.int64)}, "b"),
        ({"a": np.zeros((2, 2, 3), dtype=np.int64), "b": np.zeros((3, 3, 5), dtype=np.int64)}, "b"),
        ({"a": np.full((2, 3), 8), "b": good_b}, "a"),
        ({"a": good_a, "b": np.full((3, 5), -9)}, "b"),
        ({"a": good_a.astype(float), "b": good_b}, "a"),
        ({"a": np.full((2, 4), 8), "b": good_b}, "a"),  # out of its width and of the wrong shape
        ({"a": good_a, "b": np.full((4, 5), -9)}, "b"),
    ]
    for inputs, name in cases:
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.sim(**inputs)
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.fakequant(**{n: torch.from_numpy(v) for n, v in inputs.items()})


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_a": 0.0, "scale_b": 1.0, "depth": 4}, "scale_a"),
        ({"scale_a": 1.0, "scale_b": float("nan"), "depth": 4}, "scale_b"),
        ({"scale_a": 1.0, "scale_b": 1.0, "depth": 0}, "depth"),
        ({"scale_a": 1.0, "scale_b": 1.0, "depth": 4, "a_bits": 33}, "a_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0, "depth": 4, "b_bits": 1}, "b_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0, "depth": 4, "a_signed": 1}, "a_signed"),
        ({"scale_a": 1.0, "scale_b": 1.0, "depth": 4, "acc_bits": 70}, "acc_bits"),
        ({"scale_a": 1.0, "scale_b": 1.0}, "depth"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("matmul", **kwargs)
