"""ibert.gelu: Numba kernel == PyTorch twin == exact Python-int reference; widths, monotonicity
and accuracy against float GELU (docs/ops/ibert.gelu.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import signed_width
from refmodel.ops.ibert import gelu
from refmodel.testing import int_arrays, scales, shapes
from tests.ops.helpers import assert_inputs_refused, both
from tests.ops.ibert.reference_gelu import gelu_reference, reference_constants

S_1E4 = float(np.float32(1e-4))


def float_gelu(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + torch.special.erf(torch.from_numpy(x / math.sqrt(2.0))).numpy())


@st.composite
def gelu_cases(draw, lo: float = 1e-6, hi: float = 10.0):
    """(kernel, input) with a random width, scalar or per-channel scale, and input tensor."""
    in_bits = draw(st.integers(2, 32))
    rows, cols = draw(shapes())
    if draw(st.booleans()):
        scale = np.array([draw(scales(lo, hi)) for _ in range(cols)])
    else:
        scale = draw(scales(lo, hi))
    q = draw(int_arrays(in_bits, True, (rows, cols)))
    return ops.make("ibert.gelu", scale_in=scale, in_bits=in_bits), q


# ---------------------------------------------------------------------------- 1 and 2
@pytest.mark.plain
@given(case=gelu_cases())
def test_numba_twin_and_reference_agree_and_fit_the_documented_widths(case):
    k, q = case
    got = both(k, q)
    expected, seen = gelu_reference(q, k.config["bg"], k.config["cg"], k.config["one"])
    np.testing.assert_array_equal(got, expected)
    derived = gelu.bounds(k.config)
    for name, (lo, hi) in seen.items():
        assert derived[name][0] <= lo and hi <= derived[name][1], name
        assert max(-derived[name][0], derived[name][1]) < 2**62, name
    assert signed_width(*derived["OUT"]) == k.out_spec.bits == k.config["out_bits"]
    assert k.out_spec.lo <= got.min() and got.max() <= k.out_spec.hi


@pytest.mark.plain
@given(s=scales(1e-6, 10.0), in_bits=st.integers(2, 32))
def test_constants_match_an_independent_derivation(s, in_bits):
    k = ops.make("ibert.gelu", scale_in=s, in_bits=in_bits)
    ref = reference_constants(s)
    assert (k.config["bg"], k.config["cg"], k.config["one"]) == (ref["bg"], ref["cg"], ref["one"])
    assert k.config["n"] == 14
    assert k.config["bg"] <= -1 and k.config["cg"] <= -1 and k.config["one"] <= -1
    se = s / 1.4142
    assert k.scale_out == pytest.approx(s * se * se * 0.2888 * 2**14 / 2, rel=1e-12)


@pytest.mark.plain
def test_worked_example_of_the_doc():
    k = ops.make("ibert.gelu", scale_in=S_1E4)
    assert S_1E4 == 9.999999747378752e-05
    assert (k.config["bg"], k.config["cg"], k.config["one"]) == (-25018, -692507529, -42268)
    assert k.scale_out == pytest.approx(1.182947e-09, rel=1e-6)
    b = gelu.bounds(k.config)
    widths = {name: signed_width(lo, hi) for name, (lo, hi) in b.items()}
    assert widths == {"A": 16, "D": 16, "D2": 31, "P": 31, "Y": 31, "YS": 17, "Z": 18, "XZ": 49, "OUT": 49}
    assert b["OUT"] == (-(2**31), 181539677582792)
    # X = 2^31 - 1 reaches the top of OUT: clipped, Z = (Cg >> 14) + One.
    top = np.array([[2**31 - 1, -(2**31), 1, -1, 25018, 25019]], dtype=np.int64)
    got = both(k, top)
    assert got[0, 0] == b["OUT"][1]
    assert got[0, 1] == b["OUT"][0]


# ---------------------------------------------------------------------------- 3: properties
@pytest.mark.plain
@given(case=gelu_cases())
def test_zero_maps_to_zero_and_negative_inputs_stay_small_and_non_positive(case):
    k, q = case
    q = q.copy()
    q[:, 0] = 0
    got = both(k, q)
    assert np.all(got[:, 0] == 0)
    neg = q < 0
    assert np.all(got[neg] <= 0)
    # Beyond the clip point the factor is (-Cg >> 14) + One, 0 or -1: X <= OUT <= 0.
    bg = np.broadcast_to(np.atleast_1d(k.config["bg"]), (q.shape[1],))
    clipped = q <= bg[None, :]
    assert np.all(got[clipped] >= q[clipped])


@pytest.mark.plain
@given(case=gelu_cases())
def test_positive_inputs_give_outputs_of_at_least_the_input(case):
    k, q = case
    got = both(k, q)
    pos = q > 0
    # OUT = X * T with T >= 1 for X > 0 (checked by derive): OUT >= X > 0.
    assert np.all(got[pos] >= q[pos])


def _monotone_probe(bg: int, in_bits: int) -> np.ndarray:
    """Every X in [0, 2^17] and in 2^17 either side of the clip point ``-Bg``, and 8192
    points spread over the rest of the non-negative range."""
    top = (1 << (in_bits - 1)) - 1
    near_zero = np.arange(0, min(top, 1 << 17) + 1, dtype=np.int64)
    near_clip = np.arange(max(0, -bg - (1 << 17)), min(top, -bg + (1 << 17)) + 1, dtype=np.int64)
    spread = np.linspace(0, top, 8192).astype(np.int64)
    return np.unique(np.concatenate([near_zero, near_clip, spread]))


@pytest.mark.parametrize("s", np.logspace(-6, 1, 29).astype(np.float32).astype(float).tolist())
def test_non_decreasing_on_non_negative_inputs_across_the_clip_point(s):
    k = ops.make("ibert.gelu", scale_in=s)
    x = _monotone_probe(k.config["bg"], 32)
    out = k.sim(x[None, :])[0]
    assert np.all(np.diff(out) >= 0)
    edge = np.array([[-k.config["bg"] - 1, -k.config["bg"], -k.config["bg"] + 1]], dtype=np.int64)
    e = both(k, edge)[0]
    assert e[0] <= e[1] <= e[2]


@pytest.mark.plain
@pytest.mark.parametrize("s", [1e-4, 3e-3, 0.05])
def test_non_decreasing_small(s):
    k = ops.make("ibert.gelu", scale_in=s, in_bits=12)
    x = np.arange(0, 2048, dtype=np.int64)[None, :]
    assert np.all(np.diff(both(k, x)[0]) >= 0)


def accuracy_bound(x: np.ndarray, s: float) -> np.ndarray:
    """The documented error bound of ``OUT * scale_out`` against float GELU for
    ``1e-6 <= s <= 3e-3``: the polynomial's own error (``(1 + a b^2) / 2 = 0.04812`` relative
    at ``x -> 0``, ``0.0183`` absolute at most) plus the integer floors (``|sigS| + se``
    relative)."""
    se = s / 1.4142
    q = abs(se * se * -0.2888 * 2**14) + se
    ax = np.abs(x)
    return np.minimum((0.0482 + q) * ax, 0.0185 + q * ax)


@pytest.mark.parametrize("s", np.logspace(-6, math.log10(3e-3), 12).astype(np.float32).astype(float).tolist())
def test_approximates_float_gelu_within_the_documented_bound(s):
    k = ops.make("ibert.gelu", scale_in=s)
    rng = np.random.default_rng(7)
    xs = np.concatenate([
        np.round(np.linspace(-8.0 / s, 8.0 / s, 200_001)),
        np.arange(-2000, 2001),
        rng.integers(-(2**31), 2**31, 5000),
    ])
    q = np.unique(np.clip(xs, -(2**31), 2**31 - 1)).astype(np.int64)[None, :]
    real = k.sim(q)[0] * k.scale_out
    x = q[0] * s
    err = np.abs(real - float_gelu(x))
    assert np.all(err <= accuracy_bound(x, s))
    # and the polynomial's error is really reached: the bound is not loose by construction
    assert err.max() > 0.017


@pytest.mark.plain
@given(case=gelu_cases(1e-6, 3e-3))
def test_accuracy_bound_on_random_inputs_and_per_channel_scales(case):
    k, q = case
    got = both(k, q)
    s = np.broadcast_to(np.asarray(k.params["scale_in"], dtype=np.float64), (q.shape[1],))
    so = np.broadcast_to(np.asarray(k.scale_out, dtype=np.float64), (q.shape[1],))
    x = q * s[None, :]
    err = np.abs(got * so[None, :] - float_gelu(x))
    assert np.all(err <= accuracy_bound(x, s[None, :]) * (1 + 1e-12))


# ---------------------------------------------------------------------------- 4: edges
@pytest.mark.plain
@pytest.mark.parametrize("in_bits", [2, 8, 16, 32])
def test_extremes_of_the_input_width_constant_rows_and_one_column(in_bits):
    lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
    for s in (S_1E4, 2e-3, 0.5):
        k = ops.make("ibert.gelu", scale_in=s, in_bits=in_bits)
        q = np.array([[lo, hi, 0, lo + 1, hi - 1, -1, 1]], dtype=np.int64)
        np.testing.assert_array_equal(both(k, q), gelu_reference(q, k.config["bg"], k.config["cg"], k.config["one"])[0])
        for v in (lo, hi, 0):
            row = np.full((2, 5), v, dtype=np.int64)
            got = both(k, row)
            assert np.all(got == got[0, 0])
        col = np.array([[lo], [0], [hi]], dtype=np.int64)
        np.testing.assert_array_equal(both(k, col), gelu_reference(col, k.config["bg"], k.config["cg"], k.config["one"])[0])


@pytest.mark.plain
@pytest.mark.parametrize("in_bits", [32, 24, 16, 8])
def test_smallest_accepted_scale_runs_exactly_and_a_smaller_one_is_refused(in_bits):
    s_min = gelu.min_scale(in_bits)
    k = ops.make("ibert.gelu", scale_in=s_min, in_bits=in_bits)
    b = gelu.bounds(k.config)
    largest = max(max(-lo, hi) for lo, hi in b.values())
    assert 2**61 <= largest < 2**62  # the limit really is what binds
    lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
    clip = min(hi, -k.config["bg"])
    q = np.array([[lo, hi, clip, -clip, 1, -1, 0]], dtype=np.int64)
    expected, _ = gelu_reference(q, k.config["bg"], k.config["cg"], k.config["one"])
    np.testing.assert_array_equal(both(k, q), expected)
    with pytest.raises(ValueError, match=r"^scale_in: .*accepted range"):
        ops.make("ibert.gelu", scale_in=s_min * 0.99, in_bits=in_bits)
    with pytest.raises(ValueError, match=r"^scale_in: .*\(channel 1\)"):
        ops.make("ibert.gelu", scale_in=[1e-3, s_min * 0.99], in_bits=in_bits)


def test_min_scale_is_documented():
    assert gelu.min_scale(32) == pytest.approx(6.27e-7, rel=1e-3)
    assert gelu.min_scale(16) == pytest.approx(1.814e-9, rel=1e-3)
    assert gelu.min_scale(8) == pytest.approx(1.165e-9, rel=1e-3)


@pytest.mark.plain
def test_per_channel_constants_are_applied_per_channel():
    s = [1e-4, 1e-3, 1e-2]
    k = ops.make("ibert.gelu", scale_in=s)
    assert k.channels == 3 and len(k.config["bg"]) == 3
    q = np.array([[5000, 5000, 5000], [-7, 12, 30000]], dtype=np.int64)
    got = both(k, q)
    for j, sj in enumerate(s):
        single = ops.make("ibert.gelu", scale_in=sj)
        np.testing.assert_array_equal(got[:, j], single.sim(q[:, j:j + 1])[:, 0])
    np.testing.assert_allclose(k.scale_out, [ops.make("ibert.gelu", scale_in=v).scale_out for v in s])


# ---------------------------------------------------------------------------- 5: bad input
@pytest.mark.plain
@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -1e-4}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": float("inf")}, "scale_in"),
        ({"scale_in": 1e200}, "scale_in"),
        ({"scale_in": 1e-300}, "scale_in"),
        ({"scale_in": [1e-4, -1e-4]}, "scale_in"),
        ({"scale_in": [[1e-4]]}, "scale_in"),
        ({"scale_in": "0.1"}, "scale_in"),
        ({"scale_in": 1e-4, "in_bits": 1}, "in_bits"),
        ({"scale_in": 1e-4, "in_bits": 33}, "in_bits"),
        ({"scale_in": 1e-4, "in_bits": 8.0}, "in_bits"),
        ({"scale_in": 1e-4, "in_bits": True}, "in_bits"),
        ({"scale_in": 1e-8}, "scale_in"),
        ({"scale_in": 1e-4, "bogus": 1}, "bogus"),
        ({}, "scale_in"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("ibert.gelu", **kwargs)


@pytest.mark.plain
def test_out_of_range_and_misshaped_inputs_are_refused():
    k = ops.make("ibert.gelu", scale_in=1e-3, in_bits=8)
    assert_inputs_refused(k, ([[128]], [[-129]]))
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.array([[0.5]]))
    with pytest.raises(ValueError, match="^t:"):
        k.fakequant(torch.tensor([[0.5]]))
    kc = ops.make("ibert.gelu", scale_in=[1e-3, 2e-3])
    with pytest.raises(ValueError, match="^q:"):
        kc.sim(np.zeros((2, 3), dtype=np.int64))
