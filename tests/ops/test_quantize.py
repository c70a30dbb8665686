"""quantize: real values to integers by the float64 round-half-even rule of its document;
both datapaths equal the rule evaluated on Python floats and Fractions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from tests.ops import reference_linear as ref
from refmodel.testing import scales

pytestmark = pytest.mark.plain


def both(k: ops.Kernel, x: np.ndarray) -> np.ndarray:
    got = k.sim(x)
    np.testing.assert_array_equal(got, k.fakequant(torch.from_numpy(x)).numpy())
    assert got.dtype == np.int64 and got.shape == x.shape
    return got


def expected(k: ops.Kernel, x: np.ndarray) -> np.ndarray:
    scale = np.broadcast_to(np.atleast_1d(k.params["scale"]), (x.shape[-1],)).tolist()
    cfg = k.config
    out = np.empty(x.shape, dtype=np.int64)
    for idx in np.ndindex(x.shape):
        out[idx] = ref.quantize(float(x[idx]), scale[idx[-1]], cfg["bits"], bool(cfg["signed"]), cfg["zero_point"])
    return out


@given(
    data=st.data(),
    bits=st.integers(2, 32),
    signed=st.booleans(),
    zero_point=st.integers(-300, 300),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    per_channel=st.booleans(),
)
def test_quantize_follows_the_float64_rule(data, bits, signed, zero_point, dtype, per_channel):
    cols = data.draw(st.integers(1, 6))
    s = np.array([data.draw(scales(1e-4, 10.0)) for _ in range(cols)]) if per_channel else data.draw(scales(1e-4, 10.0))
    values = st.one_of(
        st.floats(-6e4, 6e4, width=16) if dtype == np.float16 else st.floats(-1e6, 1e6, width=32),
        st.integers(-2000, 2000).map(lambda n: n / 2),  # exact halves: ties
    )
    x = np.array([[data.draw(values) for _ in range(cols)] for _ in range(data.draw(st.integers(1, 4)))], dtype=dtype)
    k = ops.make("quantize", scale=s, bits=bits, signed=signed, zero_point=zero_point)
    np.testing.assert_array_equal(both(k, x), expected(k, x))


def test_ties_go_to_even_and_values_saturate():
    k = ops.make("quantize", scale=0.5, bits=8)
    x = np.array([[-1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1e30, -1e30]], dtype=np.float32)
    np.testing.assert_array_equal(both(k, x), [[-2, -2, 0, 0, 2, 2, 127, -128]])


def test_the_quotient_is_rounded_in_float64_first():
    # 0.3 / 0.1 is 2.9999999999999996 in float64: it rounds to 3, and 0.35 / 0.1 (3.4999999999999996)
    # rounds to 3, not 4, though the real quotient 3.5 would round to 4
    k = ops.make("quantize", scale=0.1, bits=8)
    np.testing.assert_array_equal(both(k, np.array([0.3, 0.35, 0.25])), [3, 3, 2])


def test_unsigned_with_zero_point():
    k = ops.make("quantize", scale=1.0, bits=4, signed=False, zero_point=3)
    x = np.array([-2.5, -0.5, 0.5, 1.5, 2.5, 1000.0, -1000.0])
    np.testing.assert_array_equal(both(k, x), [1, 3, 3, 5, 5, 15, 0])


def test_non_finite_and_integer_inputs_are_refused():
    k = ops.make("quantize", scale=1.0, bits=8)
    for bad in (np.array([1.0, np.nan]), np.array([np.inf])):
        with pytest.raises(ValueError, match="^x: every value must be finite"):
            k.sim(bad)
        with pytest.raises(ValueError, match="^x: every value must be finite"):
            k.fakequant(torch.from_numpy(bad))
    with pytest.raises(ValueError, match="^x: expected a real"):
        k.sim(np.array([1, 2]))
    with pytest.raises(ValueError, match="^x: expected a real"):
        k.fakequant(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="^x:"):
        ops.make("quantize", scale=[1.0, 2.0], bits=8).sim(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale": 0.0, "bits": 8}, "scale"),
        ({"scale": [1.0, float("nan")], "bits": 8}, "scale"),
        ({"scale": 1.0, "bits": 1}, "bits"),
        ({"scale": 1.0, "bits": 8, "signed": 0}, "signed"),
        ({"scale": 1.0, "bits": 8, "zero_point": 0.5}, "zero_point"),
        ({"scale": 1.0, "bits": 8, "zero_point": 2**40}, "zero_point"),
        ({"bits": 8}, "scale"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("quantize", **kwargs)
