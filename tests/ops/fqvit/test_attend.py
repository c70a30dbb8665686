"""fqvit.attend: FQ-ViT's shift-form P V (D11); both datapaths equal the per-term floor
shifts of the document on Python ints, zero codes skipped, large shifts included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from tests.ops import reference_linear as ref
from refmodel.testing import int_arrays

pytestmark = pytest.mark.plain


def both(k: ops.Kernel, codes: np.ndarray, v: np.ndarray) -> np.ndarray:
    got = k.sim(codes=codes, v=v)
    np.testing.assert_array_equal(got, k.fakequant(codes=torch.from_numpy(codes), v=torch.from_numpy(v)).numpy())
    assert got.dtype == np.int64 and got.shape == codes.shape[:-1] + v.shape[-1:]
    return got


@given(data=st.data(), code_bits=st.integers(2, 8), v_bits=st.integers(2, 16), frac_bits=st.integers(0, 24), depth=st.integers(1, 16))
def test_attend_equals_the_per_term_shift_sum(data, code_bits, v_bits, frac_bits, depth):
    lead = data.draw(st.sampled_from([(), (2,), (1, 2)]))
    codes = data.draw(int_arrays(code_bits, False, lead + (data.draw(st.integers(1, 4)), depth)))
    v = data.draw(int_arrays(v_bits, True, lead + (depth, data.draw(st.integers(1, 4)))))
    k = ops.make("fqvit.attend", scale_v=0.1, depth=depth, code_bits=code_bits, v_bits=v_bits, frac_bits=frac_bits, acc_bits=63)
    got = both(k, codes, v)
    np.testing.assert_array_equal(got, ref.attend(codes, v, frac_bits, code_bits).astype(np.int64))
    lo, hi = k.bounds()["ACC"]
    assert (lo, hi) == (depth * (-(1 << (v_bits - 1)) << frac_bits), depth * (((1 << (v_bits - 1)) - 1) << frac_bits))
    assert lo <= int(got.min()) and int(got.max()) <= hi


@given(st.integers(2, 8), st.integers(0, 2**32 - 1), st.sampled_from([8, 16]))
def test_six_bit_codes_over_seven_tokens(v_bits, seed, frac_bits):
    g = torch.Generator().manual_seed(seed)
    code_bits = 6
    codes = torch.randint(0, 2**code_bits, (2, 5, 7), generator=g)
    v = torch.randint(-(2 ** (v_bits - 1)), 2 ** (v_bits - 1), (2, 7, 3), generator=g)
    k = ops.make("fqvit.attend", scale_v=1.0, depth=7, code_bits=code_bits, v_bits=v_bits, frac_bits=frac_bits)
    got = both(k, codes.numpy(), v.numpy())
    zero = 2**code_bits - 1
    for b in range(2):
        for i in range(5):
            for d in range(3):
                terms = [(int(v[b, j, d]) << frac_bits) >> int(codes[b, i, j]) for j in range(7) if int(codes[b, i, j]) != zero]
                assert int(got[b, i, d]) == sum(terms)


def test_shifts_past_63_floor_to_minus_one_or_zero():
    # 8-bit codes reach 254: (v << F) >> code is -1 for negative v and 0 otherwise
    k = ops.make("fqvit.attend", scale_v=1.0, depth=4, code_bits=8, v_bits=8, frac_bits=16)
    codes = np.array([[62, 63, 64, 254]])
    v = np.array([[-128], [-1], [127], [-5]])
    expected = ((-128 << 16) >> 62) + -1 + 0 + -1
    np.testing.assert_array_equal(both(k, codes, v), [[expected]])
    # the all-ones code is probability 0 and contributes nothing
    np.testing.assert_array_equal(both(k, np.array([[255, 255, 255, 0]]), v), [[-5 << 16]])


def test_deit_shapes_fit_32_bits_and_scale_is_v_times_two_to_minus_f():
    k = ops.make("fqvit.attend", scale_v=0.05, depth=197, code_bits=6, v_bits=8, frac_bits=16)
    assert k.out_spec == ops.IntSpec(32, True) and k.scale_out == 0.05 * 2.0**-16
    codes = np.zeros((1, 1, 197), dtype=np.int64)
    v = np.full((1, 197, 2), -128, dtype=np.int64)
    np.testing.assert_array_equal(both(k, codes, v), [[[197 * -128 << 16] * 2]])
    with pytest.raises(ValueError, match="^acc_bits: the accumulator needs 33 bits"):
        ops.make("fqvit.attend", scale_v=0.05, depth=257, code_bits=6, v_bits=8, frac_bits=16)


def test_bad_inputs_name_the_input():
    k = ops.make("fqvit.attend", scale_v=1.0, depth=3, code_bits=6, v_bits=8)
    codes, v = np.zeros((2, 3), dtype=np.int64), np.zeros((3, 4), dtype=np.int64)
    cases = [
        ({"codes": np.full((2, 3), 64), "v": v}, "codes"),
        ({"codes": np.full((2, 3), -1), "v": v}, "codes"),
        ({"codes": codes, "v": np.full((3, 4), 128)}, "v"),
        ({"codes": np.zeros((2, 4), dtype=np.int64), "v": v}, "codes"),
        ({"codes": codes, "v": np.zeros((2, 4), dtype=np.int64)}, "v"),
    ]
    for inputs, name in cases:
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.sim(**inputs)
        with pytest.raises(ValueError, match=f"^{name}:"):
            k.fakequant(**{n: torch.from_numpy(a) for n, a in inputs.items()})


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_v": 0.0, "depth": 4}, "scale_v"),
        ({"scale_v": 1.0, "depth": 0}, "depth"),
        ({"scale_v": 1.0, "depth": 4, "code_bits": 17}, "code_bits"),
        ({"scale_v": 1.0, "depth": 4, "v_bits": 33}, "v_bits"),
        ({"scale_v": 1.0, "depth": 4, "frac_bits": -1}, "frac_bits"),
        ({"scale_v": 1.0, "depth": 4, "v_bits": 32, "frac_bits": 32}, "frac_bits"),
        ({"scale_v": 1.0, "depth": 4, "acc_bits": 16}, "acc_bits"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("fqvit.attend", **kwargs)
