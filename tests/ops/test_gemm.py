"""gemm: the exact accumulator of a linear layer; both datapaths equal Python-int arithmetic,
and the declared width is proven from the weights, bias and input width."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.ops import intmatmul
from tests.ops import reference_linear as ref
from tests.ops.helpers import signed_bits
from refmodel.testing import MAX_COLS, int_arrays, scales

pytestmark = pytest.mark.plain


def _run_both(k: ops.Kernel, x: np.ndarray) -> np.ndarray:
    """Both datapaths, equal; int64 with the last axis replaced by the output channels."""
    got = k.sim(x)
    np.testing.assert_array_equal(got, k.fakequant(torch.from_numpy(x)).numpy())
    assert got.dtype == np.int64 and got.shape == x.shape[:-1] + (len(k.config["bias"]),)
    return got


@st.composite
def gemm_cases(draw, max_bits: int = 16):
    in_bits = draw(st.integers(2, max_bits))
    w_bits = draw(st.integers(2, max_bits))
    k = draw(st.integers(1, min(MAX_COLS, 64)))
    n = draw(st.integers(1, 12))
    weight = draw(int_arrays(w_bits, True, (n, k)))
    bias = draw(int_arrays(16, True, (n,)))
    x = draw(int_arrays(in_bits, True, (draw(st.integers(1, 6)), k)))
    return in_bits, w_bits, weight, bias, x


@given(case=gemm_cases(), s_in=scales(1e-3, 1.0))
def test_gemm_equals_python_int_arithmetic_within_its_proven_range(case, s_in):
    in_bits, w_bits, weight, bias, x = case
    k = ops.make("gemm", weight=weight, bias=bias, scale_in=s_in, scale_w=np.full(weight.shape[0], 0.01), in_bits=in_bits, w_bits=w_bits, acc_bits=63)
    got = _run_both(k, x)
    np.testing.assert_array_equal(got, ref.gemm(x, weight.tolist(), bias.tolist()).astype(np.int64))
    # the proof, recomputed: each term takes the input extreme that maximises (minimises) it
    xlo, xhi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    his = [b + sum(max(w * xlo, w * xhi) for w in row) for row, b in zip(weight.tolist(), bias.tolist())]
    los = [b + sum(min(w * xlo, w * xhi) for w in row) for row, b in zip(weight.tolist(), bias.tolist())]
    assert k.bounds()["ACC"] == (min(los), max(his))
    assert min(los) <= int(got.min()) and int(got.max()) <= max(his)


@given(case=gemm_cases(max_bits=8))
def test_default_declares_32_bits_exactly_when_the_proof_fits(case):
    in_bits, w_bits, weight, bias, x = case
    wide = ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=np.ones(weight.shape[0]), in_bits=in_bits, w_bits=w_bits, acc_bits=63)
    proven = signed_bits(*wide.bounds()["ACC"])
    if proven <= 32:
        k = ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=np.ones(weight.shape[0]), in_bits=in_bits, w_bits=w_bits)
        assert k.out_spec == ops.IntSpec(32, True) and k.config["acc_bits"] == 32
        np.testing.assert_array_equal(_run_both(k, x), _run_both(wide, x))
    else:
        with pytest.raises(ValueError, match="^acc_bits:"):
            ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=np.ones(weight.shape[0]), in_bits=in_bits, w_bits=w_bits)


@pytest.mark.parametrize("in_bits, w_bits", [(2, 2), (8, 8), (16, 16), (32, 2), (2, 32)])
def test_extreme_inputs_reach_the_proven_bounds_exactly(in_bits, w_bits):
    wlo, whi = -(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1
    xlo, xhi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    weight = np.array([[whi, wlo, whi], [wlo, wlo, 0]], dtype=np.int64)
    bias = np.array([5, -7])
    k = ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=[1.0, 1.0], in_bits=in_bits, w_bits=w_bits, acc_bits=63)
    # per channel, the maximising input takes xhi where w > 0 and xlo where w < 0
    x = np.array([[xhi, xlo, xhi], [xlo, xhi, xlo], [xlo, xlo, 0], [xhi, xhi, 0]], dtype=np.int64)
    got = _run_both(k, x)
    np.testing.assert_array_equal(got, ref.gemm(x, weight.tolist(), bias.tolist()).astype(np.int64))
    lo, hi = k.bounds()["ACC"]
    assert hi == max(int(got[0, 0]), int(got[2, 1])) and lo == min(int(got[1, 0]), int(got[3, 1]))


def test_bias_is_optional_and_zero():
    weight = np.array([[1, 2], [3, 4]])
    k = ops.make("gemm", weight=weight, scale_in=0.5, scale_w=[0.25, 0.125])
    assert k.config["bias"] == [0, 0] and k.config["weight"] == [[1, 2], [3, 4]]
    np.testing.assert_array_equal(_run_both(k, np.array([[1, -1]])), [[-1, -1]])
    np.testing.assert_array_equal(k.scale_out, [0.125, 0.0625])


def test_width_above_32_bits_is_refused_unless_declared():
    weight = np.full((1, 4096), -128, dtype=np.int64)
    bias = np.array([2**31 - 1])
    with pytest.raises(ValueError, match=r"^acc_bits: the accumulator needs 33 bits .*declare acc_bits=33"):
        ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=[1.0])
    with pytest.raises(ValueError, match=r"^acc_bits: the accumulator needs 33 bits .* got 32"):
        ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=[1.0], acc_bits=32)
    k = ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=[1.0], acc_bits=33)
    assert k.out_spec == ops.IntSpec(33, True)
    x = np.full((1, 4096), -128, dtype=np.int64)
    np.testing.assert_array_equal(_run_both(k, x), [[2**31 - 1 + 4096 * 128 * 128]])


def test_wide_operands_take_the_int64_path_exactly():
    weight = np.array([[-(2**30), 2**29]], dtype=np.int64)
    x = np.array([[-(2**31), 2**31 - 1], [2**31 - 1, -(2**31)], [-(2**31), -(2**31)]], dtype=np.int64)
    k = ops.make("gemm", weight=weight, scale_in=1.0, scale_w=[1.0], in_bits=32, w_bits=32, acc_bits=63)
    np.testing.assert_array_equal(_run_both(k, x), ref.gemm(x, weight.tolist(), [0]).astype(np.int64))


@pytest.mark.parametrize("in_bits, w_bits, depth, path", [(8, 8, 1100, "float32"), (16, 16, 300, "float64"), (30, 30, 5, "int64")])
def test_weights_prepared_once_stay_exact_over_calls_on_every_path(in_bits, w_bits, depth, path):
    # the weights' range and float copies are made once, at make; each later call plans on the
    # input's range then: chunked float32 (1023 + 77 columns), float64 and int64
    rng = np.random.default_rng(depth)
    wlo, whi = -(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1
    xlo, xhi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    weight = rng.integers(wlo, whi, (3, depth), endpoint=True)
    weight[0], weight[1, ::2] = wlo, whi
    bias = rng.integers(-(2**31), 2**31 - 1, 3, endpoint=True)
    assert intmatmul.plan(depth, -xlo, -wlo)[0] == path
    k = ops.make("gemm", weight=weight, bias=bias, scale_in=1.0, scale_w=np.ones(3), in_bits=in_bits, w_bits=w_bits, acc_bits=63)
    weight_before = weight.copy()
    weight[:] = 0  # the caller's array is not the kernel's
    extremes = np.array([[xlo] * depth, [xhi] * depth, [xlo, xhi] * (depth // 2) + [xlo] * (depth % 2)])
    for x in (extremes, rng.integers(xlo, xhi, (4, depth), endpoint=True), np.zeros((1, depth), dtype=np.int64), extremes[::-1].copy()):
        np.testing.assert_array_equal(_run_both(k, x), ref.gemm(x, weight_before.tolist(), bias.tolist()).astype(np.int64))


def test_an_accumulator_past_int64_is_refused():
    weight = np.array([[-(2**31), 2**31 - 1]], dtype=np.int64)
    with pytest.raises(ValueError, match="^acc_bits: the accumulator needs 64 bits"):
        ops.make("gemm", weight=weight, scale_in=1.0, scale_w=[1.0], in_bits=32, w_bits=32, acc_bits=63)


def test_input_axis_must_match_the_weights():
    k = ops.make("gemm", weight=np.ones((2, 3), dtype=np.int64), scale_in=1.0, scale_w=[1.0, 1.0])
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="^q:"):
        k.fakequant(torch.zeros((1, 4), dtype=torch.int64))


def test_out_of_range_input_is_refused():
    k = ops.make("gemm", weight=np.ones((2, 3), dtype=np.int64), scale_in=1.0, scale_w=[1.0, 1.0], in_bits=4)
    for bad in ([[8, 0, 0]], [[0, -9, 0]]):
        with pytest.raises(ValueError, match="^q:"):
            k.sim(np.array(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.fakequant(torch.tensor(bad))


def test_uint64_input_past_int64_is_refused_not_wrapped():
    k = ops.make("gemm", weight=np.ones((2, 3), dtype=np.int64), scale_in=1.0, scale_w=[1.0, 1.0], in_bits=8)
    with pytest.raises(ValueError, match="^q:.*max 18446744073709551615"):
        k.sim(np.array([[2**64 - 1, 0, 0]], dtype=np.uint64))


def test_empty_batch_gives_the_output_width():
    k = ops.make("gemm", weight=np.ones((5, 3), dtype=np.int64), scale_in=1.0, scale_w=np.ones(5))
    assert k.sim(np.zeros((0, 3), dtype=np.int64)).shape == (0, 5)
    assert k.fakequant(torch.zeros((2, 0, 3), dtype=torch.int64)).shape == (2, 0, 5)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"weight": np.ones((2, 3)), "scale_in": 1.0, "scale_w": [1.0, 1.0]}, "weight"),
        ({"weight": np.ones(3, dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0]}, "weight"),
        ({"weight": np.full((1, 3), 128), "scale_in": 1.0, "scale_w": [1.0]}, "weight"),
        ({"weight": np.ones((2, 3), dtype=np.int64), "bias": [1, 2, 3], "scale_in": 1.0, "scale_w": [1.0, 1.0]}, "bias"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "bias": [2**31], "scale_in": 1.0, "scale_w": [1.0]}, "bias"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 0.0, "scale_w": [1.0]}, "scale_in"),
        ({"weight": np.ones((2, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0]}, "scale_w"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [-1.0]}, "scale_w"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0], "in_bits": 1}, "in_bits"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0], "w_bits": 33}, "w_bits"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0], "acc_bits": 64}, "acc_bits"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_in": 1.0, "scale_w": [1.0], "acc_bits": 2}, "acc_bits"),
        ({"weight": np.ones((1, 3), dtype=np.int64), "scale_w": [1.0]}, "scale_in"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("gemm", **kwargs)


def test_a_new_input_scale_alone_gives_the_op_make_would_build():
    rng = np.random.default_rng(5)
    weight, bias = rng.integers(-128, 128, (6, 9)), rng.integers(-(2**20), 2**20, 6)
    s_w = rng.uniform(0.001, 0.01, 6)
    first = ops.make("gemm", weight=weight, scale_in=0.25, scale_w=s_w, bias=bias)
    moved = first.with_scale_in(0.0173)
    fresh = ops.make("gemm", weight=weight, scale_in=0.0173, scale_w=s_w, bias=bias)
    assert moved.config == fresh.config and moved.out_spec == fresh.out_spec and moved.bounds() == fresh.bounds()
    np.testing.assert_array_equal(moved.scale_out, fresh.scale_out)
    assert moved.params["scale_in"] == fresh.params["scale_in"] == 0.0173
    np.testing.assert_array_equal(first.scale_out, s_w * 0.25)  # the first op is unchanged
    x = rng.integers(-128, 128, (4, 9))
    np.testing.assert_array_equal(moved.sim(x), fresh.sim(x))
    np.testing.assert_array_equal(moved.fakequant(torch.from_numpy(x)).numpy(), fresh.sim(x))
    with pytest.raises(ValueError, match="^scale_in"):
        first.with_scale_in(-1.0)
