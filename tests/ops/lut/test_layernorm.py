"""lut.layernorm: the mantissa table equals the formula rebuilt here, both datapaths equal an
exact Python-int reference, the documented error bound against the exact normalisation holds,
and every intermediate stays inside its documented bounds."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops, synthetic
from refmodel.ops.lut import layernorm as lut_layernorm
from tests.ops.helpers import Ranges, assert_inputs_refused, reference_rows, round_half_even, run_both, within
from refmodel.testing import int_arrays, shapes

pytestmark = pytest.mark.plain


def expected_table(k: int) -> list[int]:
    """``rne(2^30 / sqrt(2^p (1 + (2f + 1) / 2^k)))`` (float64 quotient, exact rounding)."""
    return [
        round_half_even(Fraction(2.0**30 / math.sqrt(float(2**p) * (1.0 + (2 * f + 1) / 2.0**k))))
        for p in (0, 1)
        for f in range(2 ** (k - 1))
    ]


def eps(k: int) -> Fraction:
    return Fraction(1, 2 ** (k + 1)) + Fraction(1, 2 ** (2 * k + 1)) + Fraction(1, 2**29)


def reference_row(row, cfg, r: Ranges):
    """One row in Python ints; facts: Y, V, YN for the error bound."""
    c, shift, k = len(row), cfg["shift"], cfg["index_bits"]
    mu = round_half_even(Fraction(sum(row), c))
    y = [x - mu for x in row]
    v = sum((yj >> shift) ** 2 for yj in y)
    v = r.see("V", max(v, 1))
    lead = r.see("L", v.bit_length() - 1)
    e = r.see("E", lead // 2)
    # The k-1 bits after the leading one, read from the binary string (zero-padded).
    bits = bin(v)[3:] + "0" * k
    f = int(bits[: k - 1], 2) if k > 1 else 0
    t = r.see("T", cfg["table"][(lead % 2) * 2 ** (k - 1) + f])
    yn = [r.see("YN", round_half_even(Fraction(r.see("YT", yj * t), 2 ** (e + shift)))) for yj in y]
    out = [r.see("OUT", s * (n + b)) for n, s, b in zip(yn, cfg["gamma_sign"], cfg["bi"])]
    return out, {"y": y, "v": v, "yn": yn}


def check(k, q: np.ndarray) -> None:
    cfg = k.config
    got = run_both(k, q)
    want, ranges, facts = reference_rows(q, cfg, reference_row)
    np.testing.assert_array_equal(got, want)
    assert list(within(ranges, lut_layernorm.bounds(cfg))) == []
    assert k.out_spec.lo <= got.min() and got.max() <= k.out_spec.hi
    bound = eps(cfg["index_bits"])
    with localcontext() as ctx:
        ctx.prec = 60
        for fact in facts:
            root = Decimal(fact["v"]).sqrt() * 2 ** cfg["shift"]
            for yj, yn in zip(fact["y"], fact["yn"]):
                z = Decimal(2**30 * yj) / root
                assert abs(Decimal(yn) - z) <= Decimal("0.5") + Decimal(bound.numerator) / Decimal(bound.denominator) * abs(z), (yj, yn, z)


def _affine(rng: np.random.Generator, c: int) -> tuple[np.ndarray, np.ndarray]:
    return synthetic.affine(rng, c)


@pytest.mark.parametrize("k", [1, 2, 5, 8, 12])
def test_table_is_the_rounded_rsqrt(k):
    got = lut_layernorm.rsqrt_table(k)
    assert got == expected_table(k) and len(got) == 2**k
    assert all(2**29 <= t < 2**30 for t in got)


@given(data=st.data(), in_bits=st.integers(2, 16), shift=st.integers(0, 6), table_bits=st.integers(1, 12))
def test_datapaths_match_reference_and_bound(data, in_bits, shift, table_bits):
    rows, cols = data.draw(shapes(max_cols=64))
    gamma, beta = _affine(np.random.default_rng(data.draw(st.integers(0, 2**31))), cols)
    k = ops.make("lut.layernorm", scale_in=0.002, gamma=gamma, beta=beta, shift=shift, in_bits=in_bits, table_bits=table_bits)
    check(k, data.draw(int_arrays(in_bits, True, (rows, cols))))


def test_realistic_rows_against_float_layernorm():
    """At table_bits = 8 the output is within eps_8 ~ 0.2 % (plus half an LSB) of the float
    LayerNorm of the same integers (population variance, no epsilon)."""
    rng = np.random.default_rng(3)
    params = synthetic.residual_layernorm_params(rng, 192, 8)
    k = ops.make("lut.layernorm", **params)
    q = synthetic.inputs("lut.layernorm", params, (16, 192), rng)
    check(k, q)
    x = q.astype(np.float64)
    norm = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    real = norm * params["gamma"] + params["beta"]
    got = run_both(k, q) * k.scale_out
    assert np.abs(got - real).max() < 0.003 * np.abs(norm * params["gamma"]).max() + 1e-3


def test_edge_and_constant_rows():
    rng = np.random.default_rng(5)
    for in_bits, cols in ((16, 192), (8, 7), (2, 5), (31, 3)):
        gamma, beta = _affine(rng, cols)
        k = ops.make("lut.layernorm", scale_in=1.0, gamma=gamma, beta=beta, in_bits=in_bits)
        lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
        rows = [[hi] * cols, [lo] * cols, [lo if j % 2 else hi for j in range(cols)], [hi] + [lo] * (cols - 1), [0] * cols, [lo] + [hi] * (cols - 1)]
        check(k, np.array(rows, dtype=np.int64))
        one = ops.make("lut.layernorm", scale_in=1.0, gamma=gamma[:1], beta=beta[:1], in_bits=in_bits)
        check(one, np.array([[lo], [hi], [0]], dtype=np.int64))


def test_constant_row_gives_the_bias():
    """V = 0 is replaced by 1 (D8): Y = 0, so YN = 0 and OUT = sign(gamma) * BI."""
    gamma, beta = np.array([1.0, -2.0, 0.5]), np.array([0.1, 0.2, -0.3])
    k = ops.make("lut.layernorm", scale_in=1.0, gamma=gamma, beta=beta)
    got = run_both(k, np.full((2, 3), 77, dtype=np.int64))
    sgn, bi = k.config["gamma_sign"], k.config["bi"]
    assert got.tolist() == [[s * b for s, b in zip(sgn, bi)]] * 2


def test_worked_example_of_the_doc():
    k = ops.make("lut.layernorm", scale_in=0.002, gamma=np.ones(4), beta=np.zeros(4))
    table = k.config["table"]
    assert len(table) == 256 and table[0] == 1071650796 and table[128] == 757771545
    # X = [100, -50, 20, 10]: MU = 20, Y = [80, -70, 0, -10], V = 11400 = 0b10110010001000,
    # L = 13, e = 6, p = 1, f = 0b0110010 = 50, T = table[128 + 50].
    assert table[178] == 642940445  # 2^30 / sqrt(2 * (1 + 101/256)) = 642940445.31
    got = run_both(k, np.array([[100, -50, 20, 10]], dtype=np.int64))
    yn = [round_half_even(Fraction(y * 642940445, 2**6)) for y in (80, -70, 0, -10)]
    assert got.tolist() == [yn] and yn == [803675556, -703216112, 0, -100459445]
    z = 2**30 * 80 / math.sqrt(11400)
    assert abs(yn[0] - z) / z < float(eps(8))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"table_bits": 0}, "table_bits"),
        ({"table_bits": 17}, "table_bits"),
        ({"shift": -1}, "shift"),
        ({"shift": 32}, "shift"),
        ({"in_bits": 33}, "in_bits"),
        ({"gamma": np.array([1.0, 0.0, 1.0, 1.0])}, "gamma"),
        ({"beta": np.array([1e15, 0.0, 0.0, 0.0])}, "beta"),
        ({"beta": np.zeros(3)}, "beta"),
        ({"scale_in": 0.0}, "scale_in"),
    ],
)
def test_bad_parameters_are_named(kwargs, name):
    params = {"scale_in": 0.002, "gamma": np.ones(4), "beta": np.zeros(4), **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        ops.make("lut.layernorm", **params)


def test_wide_rows_refuse_in_bits_that_overflow_v():
    c = 2**20
    with pytest.raises(ValueError, match="^in_bits: .*accepted range"):
        ops.make("lut.layernorm", scale_in=1.0, gamma=np.ones(c), beta=np.zeros(c), in_bits=32)


def test_out_of_range_inputs_are_refused():
    k = ops.make("lut.layernorm", scale_in=1.0, gamma=np.ones(2), beta=np.zeros(2), in_bits=8)
    assert_inputs_refused(k, [[[128, 0]], [[-129, 0]], [[0, 0, 0]]])
