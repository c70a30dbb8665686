"""ibert.layernorm: Numba kernel == PyTorch twin == exact Python-int reference; widths (the
derived output width included), shift invariance, constant rows (D8) and the derived accuracy
bound against float LayerNorm (docs/ops/ibert.layernorm.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.ops.ibert import layernorm
from refmodel.testing import PLAIN_PYTHON, int_arrays, scales, shapes
from tests.ops.helpers import assert_inputs_refused, both, signed_bits
from tests.ops.ibert.reference_layernorm import layernorm_reference, reference_constants

OUT_MAX = 2**31 - 1
LIMIT = 2**62


def reference(k, q: np.ndarray):
    return layernorm_reference(q, k.config["bi"], k.config["gamma_sign"], k.config["shift"])


def ratio_limits(channels: int, shift: int, out_limit: int = LIMIT - 1) -> tuple[float, float]:
    """The open range of ``beta / gamma`` whose ``BI`` keeps ``|OUT| <= out_limit``: by default
    the accepted range (``|OUT| < 2^62``); ``OUT_MAX`` gives the 32-bit output."""
    yn_lo, yn_hi = layernorm.yn_bounds(shift, channels)
    sf0 = math.sqrt(channels) / 2**30
    return (-out_limit - yn_lo) * sf0, (out_limit - yn_hi) * sf0


def shifts_32(channels: int) -> list[int]:
    """The shifts for which ``|YN| <= 2^31 - 1``: some bias keeps the output at 32 bits."""
    return [s for s in range(32) if max(-layernorm.yn_bounds(s, channels)[0], layernorm.yn_bounds(s, channels)[1]) <= OUT_MAX]


@st.composite
def affine(draw, channels: int, shift: int, wide: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero ``gamma`` of either sign (magnitudes log-uniform in [1e-3, 10]) and a ``beta``
    whose ratio ``beta / gamma`` lies inside a range: zero, random, or at its edges. The range
    keeps ``|OUT|`` below ``2^31`` (``wide=False``; ``shift`` must be in :func:`shifts_32`), or
    below a limit drawn from ``2^31``, ``2^40`` and the accepted ``2^62`` (``wide=True``)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gamma = np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(10.0), channels))).astype(np.float64)
    gamma *= rng.choice([-1.0, 1.0], channels)
    yn = max(-layernorm.yn_bounds(shift, channels)[0], layernorm.yn_bounds(shift, channels)[1])
    limits = [OUT_MAX] if not wide else [m for m in (OUT_MAX, 2**40, LIMIT - 1) if m > yn]
    lo, hi = ratio_limits(channels, shift, draw(st.sampled_from(limits)))
    kind = draw(st.sampled_from(["zero", "random", "edges"]))
    if kind == "zero":
        fracs = np.full(channels, -lo / (hi - lo))
    elif kind == "random":
        fracs = rng.uniform(0.0005, 0.9995, channels)
    else:
        fracs = rng.choice([0.0005, 0.9995], channels)
    return gamma, (lo + fracs * (hi - lo)) * gamma


@st.composite
def ln_cases(draw, max_in_bits: int = 26, wide: bool = True):
    """(kernel, input): random row length, accepted shift and width, gamma/beta, tensor.
    ``wide=False`` keeps the shift and the biases where the output stays 32 bits wide."""
    rows, cols = draw(shapes())
    shift = draw(st.sampled_from((layernorm.accepted_shifts(cols) if wide else shifts_32(cols))[:6]))
    in_bits = draw(st.integers(2, min(max_in_bits, layernorm.max_in_bits(shift, cols))))
    gamma, beta = draw(affine(cols, shift, wide))
    k = ops.make("ibert.layernorm", scale_in=draw(scales(1e-4, 1.0)), gamma=gamma, beta=beta, shift=shift, in_bits=in_bits)
    return k, draw(int_arrays(in_bits, True, (rows, cols)))


# ---------------------------------------------------------------------------- 1 and 2
@pytest.mark.plain
@given(case=ln_cases())
def test_numba_twin_and_reference_agree_and_fit_the_documented_widths(case):
    k, q = case
    got = both(k, q)
    expected, seen = reference(k, q)
    np.testing.assert_array_equal(got, expected)
    derived = layernorm.bounds(k.config)
    for name, (lo, hi) in seen.items():
        assert derived[name][0] <= lo and hi <= derived[name][1], name
        assert max(-derived[name][0], derived[name][1]) < 2**62, name
    # The declared output is the smallest signed width of at least 32 bits holding the proven
    # OUT range, and every output fits it.
    bits = k.config["out_bits"]
    assert k.out_spec == ops.IntSpec(bits, True) and bits == max(32, signed_bits(*derived["OUT"])) <= 63
    assert k.out_spec.lo <= got.min() and got.max() <= k.out_spec.hi


@pytest.mark.plain
@given(data=st.data(), cols=st.integers(1, 64))
def test_constants_match_an_independent_derivation(data, cols):
    gamma, beta = data.draw(affine(cols, 0))
    k = ops.make("ibert.layernorm", scale_in=0.01, gamma=gamma, beta=beta)
    ref = reference_constants(gamma.tolist(), beta.tolist())
    assert k.config["bi"] == ref["bi"] and k.config["gamma_sign"] == ref["gamma_sign"]
    # shift 0: YN in [-2^30, 2^30], so OUT_c lies in gamma_sign_c * BI_c + [-2^30, 2^30].
    signed_bias = [s * b for s, b in zip(ref["gamma_sign"], ref["bi"])]
    out_bits = max(32, signed_bits(min(signed_bias) - 2**30, max(signed_bias) + 2**30))
    assert (k.config["shift"], k.config["channels"], k.config["in_bits"], k.config["out_bits"]) == (0, cols, 16, out_bits)
    assert k.out_spec == ops.IntSpec(out_bits, True)
    np.testing.assert_allclose(k.scale_out, math.sqrt(cols) / 2**30 * np.abs(gamma), rtol=1e-15)


@pytest.mark.plain
def test_worked_example_of_the_doc():
    k = ops.make("ibert.layernorm", scale_in=0.02, gamma=[0.5, -2.0, 1.0], beta=[0.25, 1.0, 0.0])
    assert k.config["bi"] == [309962565, -309962566, 0]
    assert k.config["gamma_sign"] == [1, -1, 1]
    q = np.array([[100, -50, 7]], dtype=np.int64)
    # sum 57 -> MU = 19; Y = [81, -69, -12]; V = 11466; STD = 107; F = 20069940;
    # YN = [812832570, -692412930, -120419640]; channel 1 negated (gamma < 0)
    assert both(k, q).tolist() == [[1122795135, 1002375496, -120419640]]
    b = layernorm.bounds(k.config)
    assert b["V"] == (0, 3 * 2**30) and b["YN"] == (-(2**30), 2**30)
    assert k.config["out_bits"] == 32 and k.out_spec == ops.IntSpec(32, True)


# ---------------------------------------------------------------------------- 3: properties
@pytest.mark.plain
@given(case=ln_cases(), data=st.data())
def test_adding_a_constant_to_a_row_changes_nothing_except_at_mean_ties(case, data):
    """``MU = rne(sum / C)`` moves with the row by ``k`` exactly, except that a mean ending in
    one half rounds to even: an odd ``k`` then moves ``MU`` by ``k +- 1``. Even ``k`` and rows
    without a tie are exactly invariant."""
    k, q = case
    lo, hi = k.in_spec.lo, k.in_spec.hi
    c = q.shape[1]
    step = np.array([[data.draw(st.integers(lo - int(r.min()), hi - int(r.max())))] for r in q], dtype=np.int64)
    moved, base = both(k, q + step), both(k, q)
    tie = (2 * (q.sum(axis=1) % c) == c) & (step[:, 0] % 2 == 1)
    np.testing.assert_array_equal(moved[~tie], base[~tie])
    even = step - (step % 2)
    if np.all(q + even >= lo) and np.all(q + even <= hi):
        np.testing.assert_array_equal(both(k, q + even), base)


@pytest.mark.plain
def test_a_mean_tie_rounds_to_even():
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=[1.0, 1.0], beta=[0.0, 0.0], in_bits=4)
    # means -0.5 and 0.5 both round to 0; 1.5 rounds to 2.
    assert both(k, np.array([[-1, 0], [0, 1], [1, 2]])).tolist() == [
        [-(2**30), 0], [0, 2**30], [-(2**30), 0]
    ]


@pytest.mark.plain
@given(case=ln_cases(), data=st.data())
def test_constant_rows_give_the_signed_bias(case, data):
    k, q = case
    rows = np.array([[data.draw(st.integers(k.in_spec.lo, k.in_spec.hi))] for _ in range(q.shape[0])], dtype=np.int64)
    q = np.repeat(rows, q.shape[1], axis=1)
    expected = np.array(k.config["gamma_sign"]) * np.array(k.config["bi"])
    got = both(k, q)
    np.testing.assert_array_equal(got, np.broadcast_to(expected, q.shape))
    assert k.out_spec.lo <= got.min() and got.max() <= k.out_spec.hi


@pytest.mark.plain
@given(data=st.data(), shift=st.sampled_from([0, 1]), in_bits=st.integers(2, 24))
def test_one_column_gives_the_signed_bias(data, shift, in_bits):
    gamma, beta = data.draw(affine(1, shift))
    k = ops.make("ibert.layernorm", scale_in=0.1, gamma=gamma, beta=beta, shift=shift, in_bits=in_bits)
    q = data.draw(int_arrays(in_bits, True, (5, 1)))
    np.testing.assert_array_equal(both(k, q), np.full((5, 1), k.config["gamma_sign"][0] * k.config["bi"][0]))


@pytest.mark.plain
@given(case=ln_cases())
def test_negating_gamma_and_beta_negates_the_integers(case):
    k, q = case
    p = k.params
    flipped = ops.make("ibert.layernorm", scale_in=p["scale_in"], gamma=-p["gamma"], beta=-p["beta"], shift=p["shift"], in_bits=p["in_bits"])
    assert flipped.config["bi"] == k.config["bi"]
    np.testing.assert_array_equal(flipped.scale_out, k.scale_out)
    np.testing.assert_array_equal(both(flipped, q), -both(k, q))


def accuracy_bound(q: np.ndarray, mu: np.ndarray, gamma: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The documented bound of ``|OUT * scale_out - LN(x)|`` per element, and the rows where it
    applies (``w > D-``). ``m``, ``sigma``: float mean and population std of the row; ``delta =
    m - MU``; ``w = sqrt(V_exact) = sqrt(C (sigma^2 + delta^2))``; ``STD`` lies in
    ``(w - D-, w + D+]`` with ``D- = 1, D+ = 0`` for ``shift = 0`` and
    ``D- = (2 sqrt(C) + 1) 2^shift``, ``D+ = sqrt(C) 2^shift`` otherwise."""
    c = q.shape[1]
    x = q.astype(np.float64)
    m = x.mean(axis=1, keepdims=True)
    var = ((x - m) ** 2).mean(axis=1, keepdims=True)
    sig = np.sqrt(var)
    delta = m - mu
    w = np.sqrt(c * (var + delta * delta))
    dm, dp = (1.0, 0.0) if shift == 0 else ((2 * math.sqrt(c) + 1) * 2**shift, math.sqrt(c) * 2**shift)
    ok = (w > dm) & (sig > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(x - m) / sig
        r1 = np.maximum(dp / w, dm / (w - dm))
        r2 = (w + dp) / 2**31
        rho = r1 + r2 + r1 * r2
        sf0 = math.sqrt(c) / 2**30
        t = (z + 0.5 / sig) * rho + z * delta * delta / (2 * var) + np.abs(delta) / sig + 2 * sf0
    return np.abs(gamma)[None, :] * t * (1 + 1e-9) + 1e-12, ok[:, 0]


def float_layernorm(q: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    x = q.astype(np.float64)
    m = x.mean(axis=1, keepdims=True)
    sig = np.sqrt(((x - m) ** 2).mean(axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return gamma * (x - m) / sig + beta


def check_accuracy(k, q: np.ndarray) -> float:
    got = both(k, q)
    mu = np.array([[layernorm_mu(r)] for r in q.tolist()], dtype=np.float64)
    bound, ok = accuracy_bound(q, mu, k.params["gamma"], k.config["shift"])
    err = np.abs(got * k.scale_out - float_layernorm(q, k.params["gamma"], k.params["beta"]))
    assert np.all(err[ok] <= bound[ok])
    return float(err[ok].max()) if ok.any() else 0.0


def layernorm_mu(row: list[int]) -> int:
    """``MU``: the row mean rounded half to even."""
    q, r = divmod(sum(row), len(row))
    return q + (1 if 2 * r > len(row) or (2 * r == len(row) and q % 2) else 0)


@pytest.mark.plain
@given(case=ln_cases(wide=False))
def test_approximates_float_layernorm_within_the_derived_bound(case):
    check_accuracy(*case)


@pytest.mark.parametrize("shift", [0, 1])
@pytest.mark.parametrize("cols", [192, 768])
def test_accuracy_on_realistic_residual_rows(shift, cols):
    rng = np.random.default_rng(cols + shift)
    gamma = rng.uniform(0.05, 2.0, cols) * rng.choice([-1.0, 1.0], cols)
    lo, hi = ratio_limits(cols, shift, OUT_MAX)
    beta = rng.uniform(0.5 * lo, 0.5 * hi, cols) * gamma
    k = ops.make("ibert.layernorm", scale_in=0.02, gamma=gamma, beta=beta, shift=shift)
    worst = []
    for spread in (2.0**3, 2.0**8, 2.0**12):
        base = rng.normal(0.0, spread, cols)
        base[rng.choice(cols, 2)] = 6 * spread  # outlier channels, as in trained ViTs
        x = base + rng.normal(0.0, spread, (64 if not PLAIN_PYTHON else 4, cols)) + rng.integers(-4000, 4000, (1, 1))
        q = np.clip(np.round(x), -(2**15), 2**15 - 1).astype(np.int64)
        worst.append(check_accuracy(k, q))
    # The integer LayerNorm resolves wide rows to ~1e-4 of gamma and coarse rows to ~1e-1.
    assert worst[-1] < 2e-3 and worst[0] < 0.5


# ---------------------------------------------------------------------------- 4: edges, D14
@pytest.mark.plain
def test_yn_bounds_are_reached_and_the_output_width_grows_exactly_at_the_32_bit_edge():
    # shift 0: Y = [1, -1], V = 2, STD = 1, F = 2^31: YN = +-2^30.
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=[1.0, 1.0], beta=[0.0, 0.0])
    assert both(k, np.array([[1, -1]])).tolist() == [[2**30, -(2**30)]]
    # shift 1, V >= 1 case: Y = [3, 0, ...], V = 1, STD = 2, F = 2^30: YN = 3 * 2^29.
    # beta at the 32-bit edge puts OUT exactly at 2^31 - 1 and keeps the output 32 bits wide.
    sf0 = math.sqrt(6) / 2**30
    bi_hi = OUT_MAX - layernorm.yn_bounds(1, 6)[1]
    assert layernorm.yn_bounds(1, 6)[1] == 3 * 2**29
    beta = [(bi_hi + 0.5) * sf0] + [0.0] * 5
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=[1.0] * 6, beta=beta, shift=1)
    assert k.config["bi"][0] == bi_hi and k.config["out_bits"] == 32
    q = np.array([[3, 0, 0, 0, 0, 0]], dtype=np.int64)
    got = both(k, q)
    assert got[0, 0] == OUT_MAX
    np.testing.assert_array_equal(got, reference(k, q)[0])
    # One more unit of BI is accepted: the output widens to 33 bits and that row reaches 2^31.
    wider = ops.make("ibert.layernorm", scale_in=1.0, gamma=[1.0] * 6, beta=[(bi_hi + 1.5) * sf0] + [0.0] * 5, shift=1)
    assert wider.config["bi"][0] == bi_hi + 1 and wider.config["out_bits"] == 33
    assert wider.out_spec == ops.IntSpec(33, True)
    got = both(wider, q)
    assert got[0, 0] == 2**31
    np.testing.assert_array_equal(got, reference(wider, q)[0])
    # shift 1, V = 0 case (D8): Y = [1, 0, ...] all below 2^shift: STD = 1, F = 2^31, YN = 2^30.
    assert both(k, np.array([[1, 0, 0, 0, 0, 0]]))[0, 0] == 2**30 + bi_hi


@pytest.mark.plain
def test_bias_ratio_of_40_at_c192_widens_the_output_to_its_proven_width():
    """Trained ViT LayerNorms have |beta / gamma| far above sqrt(C) (13.9 at C = 192)."""
    cols = 192
    rng = np.random.default_rng(192)
    gamma = rng.uniform(0.05, 2.0, cols) * rng.choice([-1.0, 1.0], cols)
    beta = rng.uniform(-0.5, 0.5, cols) * np.abs(gamma)
    gamma[7], beta[7] = -0.0125, -0.5  # beta / gamma = 40
    assert abs(beta[7] / gamma[7] - 40.0) < 1e-13
    sf0 = math.sqrt(cols) / 2**30
    # OUT_7 = -(YN + BI_7) with BI_7 ~ 3.1e9 reaches -(2^30 + BI_7) ~ -4.17e9 (33 bits) at
    # shift 0 and -(3 * 2^29 + BI_7) ~ -4.71e9 (34 bits) at shift 1.
    for shift, bits in ((0, 33), (1, 34)):
        k = ops.make("ibert.layernorm", scale_in=0.02, gamma=gamma, beta=beta, shift=shift)
        bi7 = k.config["bi"][7]
        assert bi7 == math.floor((beta[7] / gamma[7]) / sf0) and 3 * 2**30 > bi7 > 2**31
        derived = layernorm.bounds(k.config)
        assert derived["OUT"][0] == -(bi7 + layernorm.yn_bounds(shift, cols)[1])
        assert signed_bits(*derived["OUT"]) == bits
        assert k.config["out_bits"] == bits and k.out_spec == ops.IntSpec(bits, True)
        # A constant row outputs gamma_sign * BI exactly: channel 7 gives -BI_7 < -2^31.
        const = np.full((3, cols), 0, dtype=np.int64) + np.array([[-(2**15)], [5], [2**15 - 1]])
        got = both(k, const)
        np.testing.assert_array_equal(got, np.broadcast_to(np.array(k.config["gamma_sign"]) * np.array(k.config["bi"]), const.shape))
        assert got[0, 7] == -bi7 < -(2**31)
        # Residual-like rows: Numba == twin == exact reference; every output fits 33 bits.
        q = np.clip(np.round(rng.normal(0.0, 300.0, (16, cols))), -(2**15), 2**15 - 1).astype(np.int64)
        q = np.concatenate([q, const])
        got = both(k, q)
        expected, seen = reference(k, q)
        np.testing.assert_array_equal(got, expected)
        for name, (lo, hi) in seen.items():
            assert derived[name][0] <= lo and hi <= derived[name][1], name
        assert k.out_spec.lo <= got.min() < -(2**31) and got.max() <= k.out_spec.hi
        # The accuracy bound holds where the realistic ratio keeps OUT wide.
        check_accuracy(k, q[:16])


@pytest.mark.plain
def test_the_2_62_edges_of_the_bias_are_exact():
    """C = 16: sf0 = 2^-28 exactly, so BI = beta * 2^28 with no rounding; near 2^62 the float64
    ``beta`` steps BI by 1024. shift 1: YN in [-2^30, 3 * 2^29]; BI must lie in
    [-(2^62 - 1) + 2^30, 2^62 - 1 - 3 * 2^29]."""
    cols = 16
    assert math.sqrt(cols) / 2**30 == 2.0**-28
    bi_lo, bi_hi = layernorm.bias_range(1, cols)
    assert (bi_lo, bi_hi) == (-(2**62 - 1) + 2**30, 2**62 - 1 - 3 * 2**29)
    top = bi_hi - bi_hi % 1024  # the largest BI a float64 beta can give
    bottom = bi_lo + (-bi_lo) % 1024
    gamma = [1.0] * cols
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=gamma, beta=[top * 2.0**-28, bottom * 2.0**-28] + [0.0] * 14, shift=1)
    assert k.config["bi"][:2] == [top, bottom]
    assert k.config["out_bits"] == 63 and k.out_spec == ops.IntSpec(63, True)
    # [3, 0, ...]: YN_0 = 3 * 2^29 (the top of YN); [2, -2, 0, ...]: STD = 2, YN_1 = -2^30.
    q = np.array([[3] + [0] * 15, [2, -2] + [0] * 14, [7] * 16], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference(k, q)[0])
    assert got[0, 0] == top + 3 * 2**29 == 2**62 - 1024
    assert got[1, 1] == bottom - 2**30 == -(2**62) + 1024
    assert got[2, :2].tolist() == [top, bottom]
    with pytest.raises(ValueError, match=r"^beta: channel 0: .*\|OUT\| < 2\^62"):
        ops.make("ibert.layernorm", scale_in=1.0, gamma=gamma, beta=[(top + 1024) * 2.0**-28] + [0.0] * 15, shift=1)
    with pytest.raises(ValueError, match=r"^beta: channel 1: .*\|OUT\| < 2\^62"):
        ops.make("ibert.layernorm", scale_in=1.0, gamma=gamma, beta=[0.0, (bottom - 1024) * 2.0**-28] + [0.0] * 14, shift=1)


@pytest.mark.plain
def test_a_bias_past_2_62_is_refused_naming_beta_and_the_ratio_bound():
    gamma, beta = np.ones(192), np.zeros(192)
    gamma[3], beta[3] = 1e-9, 100.0  # beta / gamma = 1e11, above 2^32 sqrt(192) ~ 5.95e10
    with pytest.raises(ValueError, match=r"^beta: channel 3: .*\|beta/gamma\| below about 5\.951e\+10 for C=192"):
        ops.make("ibert.layernorm", scale_in=1.0, gamma=gamma, beta=beta)
    beta[3] = 50.0  # 5e10: accepted, 63 bits
    assert ops.make("ibert.layernorm", scale_in=1.0, gamma=gamma, beta=beta).config["out_bits"] == 63


@pytest.mark.plain
@pytest.mark.parametrize("cols, shift", [(192, 0), (192, 1), (768, 0), (3, 0), (2, 7)])
def test_widest_accepted_input_runs_exactly_and_a_wider_one_is_refused(cols, shift):
    b = layernorm.max_in_bits(shift, cols)
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=np.ones(cols), beta=np.zeros(cols), shift=shift, in_bits=b)
    lo, hi = k.in_spec.lo, k.in_spec.hi
    q = np.array([[lo, hi] * (cols // 2) + [lo] * (cols % 2), [hi] + [lo] * (cols - 1), [lo] + [hi] * (cols - 1)], dtype=np.int64)
    got = both(k, q)
    expected, seen = reference(k, q)
    np.testing.assert_array_equal(got, expected)
    derived = layernorm.bounds(k.config)
    assert seen["V"][1] <= derived["V"][1] < 2**62
    assert seen["V"][1] >= derived["V"][1] // 8  # extreme rows come close to the bound
    if b < 32:
        with pytest.raises(ValueError, match=r"^in_bits: .*accepted range \[2, %d\]" % b):
            ops.make("ibert.layernorm", scale_in=1.0, gamma=np.ones(cols), beta=np.zeros(cols), shift=shift, in_bits=b + 1)


@pytest.mark.plain
def test_every_shift_is_accepted_and_widens_the_output_to_its_proven_width():
    """Y * F stays below 2^62 for every shift in [0, 31]: shifts whose YN passes 32 bits widen
    the output instead of being refused."""
    for cols in (192, 6, 3):
        assert layernorm.accepted_shifts(cols) == list(range(32))
    assert shifts_32(192) == [0, 1] and shifts_32(3) == list(range(32))
    # shift 2: the V = 0 case gives YN up to 3 * 2^30: 33 bits.
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=np.ones(192), beta=np.zeros(192), shift=2)
    assert layernorm.yn_bounds(2, 192)[1] == 3 * 2**30 and k.config["out_bits"] == 33
    q = np.array([[3, 0, 0] + [0] * 189, [96] + [0] * 191], dtype=np.int64)
    got = both(k, q)
    np.testing.assert_array_equal(got, reference(k, q)[0])
    assert got[0, 0] == 3 * 2**30  # 3 >> 2 = 0: V = 0, STD = 1, F = 2^31
    assert got[1, 0] == (96 * (2**31 // 96)) >> 1  # 96 >> 2 = 24: V = 576, STD = 96
    # shift 31: every YS of a 16-bit row is 0 or -1. [96, 0, ...] (MU = rne(0.5) = 0) gives
    # V = 0, F = 2^31, YN = 96 * 2^30 = C/2 * 2^30, the bound: 38 bits.
    k = ops.make("ibert.layernorm", scale_in=1.0, gamma=np.ones(192), beta=np.zeros(192), shift=31)
    assert layernorm.yn_bounds(31, 192)[1] == 96 * 2**30 and k.config["out_bits"] == 38
    q = np.array([[96] + [0] * 191, [-96] + [0] * 191], dtype=np.int64)
    got = both(k, q)
    expected, seen = reference(k, q)
    np.testing.assert_array_equal(got, expected)
    assert seen["V"] == (0, 1) and got[0, 0] == 96 * 2**30 and 2**36 < got.max() < 2**37
    assert all(layernorm.bounds(k.config)[n][1] < 2**62 for n in seen)
    with pytest.raises(ValueError, match=r"^shift: must be in \[0, 31\]"):
        ops.make("ibert.layernorm", scale_in=1.0, gamma=np.ones(192), beta=np.zeros(192), shift=32)


@pytest.mark.plain
def test_extremes_of_the_default_width():
    k = ops.make("ibert.layernorm", scale_in=0.05, gamma=[1.0, -0.5, 2.0, 0.1], beta=[0.1, 0.2, -0.3, 0.0])
    q = np.array([[-(2**15), 2**15 - 1, -(2**15), 2**15 - 1], [-(2**15)] * 4, [2**15 - 1] * 4, [-(2**15), 0, 0, 0]], dtype=np.int64)
    np.testing.assert_array_equal(both(k, q), reference(k, q)[0])


# ---------------------------------------------------------------------------- 5: bad input
GOOD = {"scale_in": 0.01, "gamma": [1.0, 2.0], "beta": [0.0, 0.5]}


@pytest.mark.plain
@pytest.mark.parametrize(
    "change, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": -0.1}, "scale_in"),
        ({"scale_in": float("nan")}, "scale_in"),
        ({"scale_in": [0.1, 0.2]}, "scale_in"),
        ({"gamma": []}, "gamma"),
        ({"gamma": [[1.0, 2.0]]}, "gamma"),
        ({"gamma": [1.0, float("inf")]}, "gamma"),
        ({"gamma": ["a", "b"]}, "gamma"),
        ({"gamma": [1.0, 0.0]}, "gamma"),
        ({"beta": [0.0]}, "beta"),
        ({"beta": [0.0, float("nan")]}, "beta"),
        ({"beta": [0.0, 1e12]}, "beta"),
        ({"gamma": [1e-12, 1.0], "beta": [1.0, 0.0]}, "beta"),
        ({"gamma": [1e-300, 1.0], "beta": [1e300, 0.0]}, "beta"),
        ({"shift": -1}, "shift"),
        ({"shift": 32}, "shift"),
        ({"shift": 1.0}, "shift"),
        ({"shift": True}, "shift"),
        ({"in_bits": 1}, "in_bits"),
        ({"in_bits": 33}, "in_bits"),
        ({"in_bits": 32}, "in_bits"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_parameters_name_the_parameter(change, param):
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("ibert.layernorm", **{**GOOD, **change})


@pytest.mark.plain
def test_zero_gamma_names_the_channel_and_missing_parameters_are_named():
    with pytest.raises(ValueError, match=r"^gamma: .*channel 2"):
        ops.make("ibert.layernorm", scale_in=0.1, gamma=[1.0, 1.0, 0.0], beta=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"^beta: channel 1"):
        ops.make("ibert.layernorm", scale_in=0.1, gamma=[1.0, -1.0], beta=[0.0, 1e11])
    with pytest.raises(ValueError, match="^gamma:"):
        ops.make("ibert.layernorm", scale_in=0.1, beta=[0.0])


@pytest.mark.plain
def test_out_of_range_and_misshaped_inputs_are_refused():
    k = ops.make("ibert.layernorm", scale_in=0.1, gamma=[1.0, 2.0], beta=[0.0, 0.0], in_bits=8)
    assert_inputs_refused(k, ([[128, 0]], [[-129, 0]]))
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="^t:"):
        k.fakequant(torch.zeros((2, 2)))
