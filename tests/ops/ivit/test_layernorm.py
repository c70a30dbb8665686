"""ivit.layernorm (I-LayerNorm): both datapaths equal each other and the exact Python-int
reference, every intermediate fits its documented width (the derived output width included),
Newton's fixed 10 steps behave as documented, and the documented properties hold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.ops.ivit.layernorm import variance_bound
from refmodel.testing import MAX_COLS, MAX_ROWS, int_arrays
from tests.ops.helpers import assert_inputs_refused, run_both, signed_bits
from tests.ops.ivit import reference

pytestmark = pytest.mark.plain

LIMIT31 = reference.LIMIT31
LIMIT62 = 2**62


def declared_bits(bias_int: list[int], negate: list[int]) -> int:
    """``max(32, width of OUT)``: ``OUT_c`` is ``YN + BI_c``, ``YN`` in ``[-2^30, 2^30 - 1]``,
    negated when ``negate_c``."""
    ends = [e for bi, n in zip(bias_int, negate) for e in ((-(2**30) + bi, 2**30 - 1 + bi) if not n else (-(2**30 - 1 + bi), 2**30 - bi))]
    return max(32, signed_bits(min(ends), max(ends)))


def check_reference(k, q: np.ndarray) -> reference.Ranges:
    """Both datapaths equal the exact reference; every intermediate fits its documented width."""
    cfg = k.config
    got = run_both(k, q)
    rows = q.reshape(-1, q.shape[-1]).tolist()
    expected, r = reference.layernorm(rows, cfg["iters"], cfg["bias_int"], cfg["negate"])
    np.testing.assert_array_equal(got.reshape(-1, q.shape[-1]), np.array(expected, dtype=np.int64))
    c, in_bits = cfg["channels"], cfg["in_bits"]
    # Width table of docs/ops/ivit.layernorm.md.
    assert -c * 2 ** (in_bits - 1) <= r["sum"][0] and r["sum"][1] <= c * (2 ** (in_bits - 1) - 1)
    assert -(2**in_bits - 1) <= r["Y"][0] and r["Y"][1] <= 2**in_bits - 1
    assert r["Y2"][1] <= r["V"][1] <= variance_bound(c, in_bits) < 2**62
    assert 1 <= r["k"][0] and r["k"][1] < 2**62
    assert r["k_minus_isqrt"][0] >= 0  # every Newton step is >= isqrt(V)
    assert 1 <= r["STD"][0] and r["Y_minus_STD"][1] <= 0  # |Y| <= STD
    assert 0 <= r["F"][0] and r["F"][1] <= LIMIT31  # F = 0 once STD > 2^31 - 1 (doc)
    assert -LIMIT31 <= r["YF"][0] and r["YF"][1] <= LIMIT31
    assert -(2**30) <= r["YN"][0] and r["YN"][1] <= 2**30 - 1
    # The declared output: max(32, the width of the proven OUT range); every output fits it.
    bits = cfg["out_bits"]
    assert bits == declared_bits(cfg["bias_int"], cfg["negate"]) <= 63
    assert k.out_spec == ops.IntSpec(bits, True)
    assert -(2 ** (bits - 1)) <= r["OUT"][0] and r["OUT"][1] < 2 ** (bits - 1)
    assert -LIMIT62 < r["OUT"][0] and r["OUT"][1] < LIMIT62
    return r


@st.composite
def layernorm_cases(draw, in_bits_lo: int = 2, in_bits_hi: int = 32):
    """(kernel, input): channels, in_bits (never refused), gamma of both signs, in-range beta."""
    in_bits = draw(st.integers(in_bits_lo, in_bits_hi))
    max_c = MAX_COLS
    while max_c > 1 and variance_bound(max_c, in_bits) >= 2**62:
        max_c //= 2
    channels = draw(st.integers(1, max_c))
    while variance_bound(channels, in_bits) >= 2**62:
        channels -= 1
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gamma = rng.uniform(0.05, 3.0, channels) * rng.choice([-1.0, 1.0], channels)
    # |beta / gamma| up to 0.99 sqrt(C) keeps 32 bits; 40 sqrt(C) and 0.99 (2^32 - 1) sqrt(C)
    # (near the 2^62 limit) widen the output.
    factor = draw(st.sampled_from([0.0, 0.1, 0.99, 40.0, 0.99 * (2**32 - 1)]))
    beta = rng.uniform(-1.0, 1.0, channels) * np.abs(gamma) * math.sqrt(channels) * factor
    iters = draw(st.sampled_from([10, 10, 1, 5, 16]))
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=gamma, beta=beta, iters=iters, in_bits=in_bits)
    rows = draw(st.integers(1, MAX_ROWS))
    q = draw(int_arrays(in_bits, True, (rows, channels)))
    return k, q


@given(case=layernorm_cases())
def test_datapaths_match_reference(case):
    check_reference(*case)


@given(case=layernorm_cases(16, 16))
def test_default_width_matches_reference(case):
    check_reference(*case)


def _shift_rows(q: np.ndarray, shift: int, in_bits: int) -> np.ndarray:
    """Add to each row the constant nearest ``shift`` (same parity) that keeps it in range."""
    lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
    a = np.clip(shift, lo - q.min(axis=1), hi - q.max(axis=1))
    a = np.where((a - shift) % 2 == 0, a, a - np.sign(a))  # clipping may change the parity
    return q + a[:, None]


@given(case=layernorm_cases(2, 24), half=st.integers(-(2**19), 2**19))
def test_adding_an_even_constant_to_a_row_changes_nothing(case, half):
    k, q = case
    np.testing.assert_array_equal(run_both(k, _shift_rows(q, 2 * half, k.config["in_bits"])), run_both(k, q))


@given(case=layernorm_cases(2, 24), half=st.integers(-(2**19), 2**19))
def test_adding_any_constant_changes_nothing_unless_the_mean_is_a_tie(case, half):
    """rne_div(sum + C*a, C) = rne_div(sum, C) + a unless sum/C is exactly k + 1/2 and a is odd."""
    k, q = case
    shifted = _shift_rows(q, 2 * half + 1, k.config["in_bits"])
    c = q.shape[1]
    tie = (2 * q.sum(axis=1)) % (2 * c) == c
    same = (run_both(k, shifted) == run_both(k, q)).all(axis=1)
    odd = (shifted - q)[:, 0] % 2 == 1
    assert same[~(tie & odd)].all()


def test_odd_shift_of_a_tied_mean_moves_the_rounding():
    """[2, 1] has mean 1.5 -> MU = 2; [3, 2] has mean 2.5 -> MU = 2 too (half to even)."""
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=[1.0, 1.0], beta=[0.0, 0.0], in_bits=4)
    out = run_both(k, np.array([[2, 1], [3, 2], [4, 3]], dtype=np.int64))
    np.testing.assert_array_equal(out, [[0, -(2**24)], [2**24 - 1, 0], [0, -(2**24)]])


def test_constant_row_gives_std_64_and_the_bias():
    gamma = np.array([1.0, -2.0, 0.5, -0.25])
    beta = np.array([0.3, 0.3, -0.5, 0.0])
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=gamma, beta=beta)
    q = np.array([[0, 0, 0, 0], [-32768] * 4, [32767] * 4, [17] * 4], dtype=np.int64)
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["V"] == (0, 0) and r["STD"] == (64, 64)
    bi = np.array(k.config["bias_int"])
    sign = np.where(gamma < 0, -1, 1)
    np.testing.assert_array_equal(out, np.broadcast_to(sign * bi, q.shape))
    sf0 = math.sqrt(4) / 2**30
    assert bi.tolist() == [math.floor((b / g) / sf0) for b, g in zip(beta, gamma)]


def test_one_column():
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=[-0.5], beta=[0.25])
    q = np.array([[-32768], [0], [32767]], dtype=np.int64)
    out = run_both(k, q)
    check_reference(k, q)
    # C = 1: Y = 0, so OUT = -BI with BI = floor((0.25 / -0.5) / 2^-30) = -2^29.
    np.testing.assert_array_equal(out, [[2**29]] * 3)


NEWTON_CASES = [
    # (row, in_bits, V, k after 10 steps, isqrt(V))
    ([3, 3, 3, 3], 16, 0, 64, 0),
    ([5, -5, 5, -5], 16, 100, 64, 10),
    ([0, -67, 16, 0], 16, 4095, 83, 63),
    ([8, -8, 50, -50, 706, -706], 16, 1001**2 - 1, 1001, 1000),
    ([2**23 - 1, -(2**23 - 1)], 24, 2 * (2**23 - 1) ** 2, 11863571, 11863281),
    ([2**23 - 1, -(2**23 - 1)] * 4, 24, 8 * (2**23 - 1) ** 2, 23892919, 23726563),
    ([2**23 - 1, -(2**23 - 1)] * 32, 24, 64 * (2**23 - 1) ** 2, 88116274, 67108856),
]


@pytest.mark.parametrize("row, in_bits, v, k10, root", NEWTON_CASES)
def test_newton_is_not_isqrt(row, in_bits, v, k10, root):
    """I-ViT's 10 Newton steps from 2^16 (D3): not converged below 2^15, isqrt + 1 at
    V = (k+1)^2 - 1, not converged from 2^46 on; the op reproduces it, not isqrt."""
    assert reference.newton_sqrt(v, 10)[-1] == k10 and math.isqrt(v) == root
    c = len(row)
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=np.ones(c), beta=np.zeros(c), in_bits=in_bits)
    q = np.array([row], dtype=np.int64)
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["V"] == (v, v) and r["STD"] == (k10, k10)
    mu = reference.rne_div(sum(row), c)
    with_isqrt = [((x - mu) * (LIMIT31 // max(root, 1))) >> 1 for x in row]
    if v and LIMIT31 // k10 != LIMIT31 // root:  # V = 2^47: F = 181 either way
        assert out[0].tolist() != with_isqrt


def test_newton_ranges_of_the_doc():
    """The table of docs/ops/ivit.layernorm.md, checked on every V of the small ranges."""
    assert all(reference.newton_sqrt(v, 10)[-1] >= 64 for v in range(0, 2**15, 7))
    assert all(reference.newton_sqrt(v, 10)[-1] == 64 for v in range(0, 256))
    exact = range(2**18, 2**18 + 20000)
    assert all(reference.newton_sqrt(v, 10)[-1] - math.isqrt(v) in (0, 1) for v in exact)
    rng = np.random.default_rng(3)
    for e in range(46, 62):
        v = int(rng.integers(2**e, 2 ** (e + 1)))
        assert reference.newton_sqrt(v, 10)[-1] > math.isqrt(v) + 1
    # From 2^16, 16 steps keep k >= 1 even for V = 0 (k halves): no division by zero.
    assert reference.newton_sqrt(0, 16)[-1] == 1 and reference.newton_sqrt(0, 17)[-1] == 0


def test_sixteen_iterations_and_one():
    gamma, beta = np.ones(3), np.zeros(3)
    q = np.array([[5, 5, 5], [-32768, 32767, 0], [1, 2, 3]], dtype=np.int64)
    for iters in (1, 2, 16):
        k = ops.make("ivit.layernorm", scale_in=0.01, gamma=gamma, beta=beta, iters=iters)
        r = check_reference(k, q)
        if iters == 16:
            assert r["STD"][0] == 1  # the constant row: k = 2^16 / 2^16


def test_extremes_of_the_input_width():
    for in_bits, c in ((2, 5), (16, 192), (24, 64), (31, 3), (32, 1)):
        lo, hi = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1
        k = ops.make("ivit.layernorm", scale_in=0.5, gamma=np.linspace(-2, 2, c) + 0.01, beta=np.zeros(c), in_bits=in_bits)
        half = [hi] * (c // 2) + [lo] * (c - c // 2)
        q = np.array([half, half[::-1], [lo] * c, [hi] * c], dtype=np.int64)
        r = check_reference(k, q)
        if c % 2 == 0:
            assert r["V"][1] == variance_bound(c, in_bits)  # the bound is reached for even C


def test_variance_limit_is_refused_naming_in_bits():
    ops.make("ivit.layernorm", scale_in=1.0, gamma=np.ones(4), beta=np.zeros(4), in_bits=31)
    with pytest.raises(ValueError, match="^in_bits: .*5 channels.*in_bits <= 30"):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=np.ones(5), beta=np.zeros(5), in_bits=31)
    with pytest.raises(ValueError, match="^in_bits: "):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=np.ones(2), beta=np.zeros(2), in_bits=32)
    ops.make("ivit.layernorm", scale_in=1.0, gamma=np.ones(1), beta=np.zeros(1), in_bits=32)


def test_the_32_bit_edges_of_the_bias_are_exact():
    """BI in [-2^30, 2^30] keeps OUT = +-(YN + BI) in signed 32 bits (YN in [-2^30, 2^30 - 1]);
    one unit further declares 33. BI = floor((beta/gamma) * 2^30 / sqrt(C))."""
    c = 4  # sf0 = 2 / 2^30 = 2^-29, so BI = floor(beta/gamma * 2^29)
    ok = ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0] * c, beta=[2.0, -(2.0 - 2**-29), 0, 0])
    assert ok.config["bias_int"][:2] == [2**30, -(2**30 - 1)] and ok.config["out_bits"] == 32
    q = np.array([[-32768, 32767, 32767, -32768], [32767, -32768, 0, 0]], dtype=np.int64)
    r = check_reference(ok, q)
    assert r["OUT"][1] <= LIMIT31
    # 16 Newton steps give STD = 1 for V = 1, so YN reaches 2^30 - 1 ([1, 0, 0, 0], channel 0)
    # and -2^30 ([0, -1, 0, 0], channel 1).
    ends = np.array([[1, 0, 0, 0], [0, -1, 0, 0]], dtype=np.int64)
    for beta, bi, bits, out in (
        ([2.0, -2.0, 0, 0], [2**30, -(2**30)], 32, [2**31 - 1, -(2**31)]),
        ([2.0 + 2**-29, -(2.0 + 2**-29), 0, 0], [2**30 + 1, -(2**30) - 1], 33, [2**31, -(2**31) - 1]),
    ):
        k = ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0] * c, beta=beta, iters=16)
        assert k.config["bias_int"][:2] == bi and k.config["out_bits"] == bits
        assert k.out_spec == ops.IntSpec(bits, True)
        got = run_both(k, ends)
        assert [got[0, 0], got[1, 1]] == out
        check_reference(k, np.concatenate([ends, q]))


def test_bias_ratio_of_40_at_c192_widens_the_output_to_its_proven_width():
    """Trained ViT LayerNorms have |beta / gamma| far above sqrt(C) (13.9 at C = 192)."""
    c = 192
    rng = np.random.default_rng(192)
    gamma = rng.uniform(0.05, 2.0, c) * rng.choice([-1.0, 1.0], c)
    beta = rng.uniform(-0.5, 0.5, c) * np.abs(gamma)
    gamma[7], beta[7] = -0.0125, -0.5  # beta / gamma = 40
    assert abs(beta[7] / gamma[7] - 40.0) < 1e-13
    k = ops.make("ivit.layernorm", scale_in=0.02, gamma=gamma, beta=beta)
    sf0 = math.sqrt(c) / 2**30
    bi7 = k.config["bias_int"][7]
    assert bi7 == math.floor((beta[7] / gamma[7]) / sf0) and 2**31 < bi7 < 3 * 2**30
    # OUT_7 = -(YN + BI_7) reaches -(2^30 - 1 + BI_7) ~ -4.17e9: 33 bits.
    assert signed_bits(-(2**30 - 1 + bi7), 0) == 33
    assert k.config["out_bits"] == 33 and k.out_spec == ops.IntSpec(33, True)
    # A constant row outputs +-BI exactly (Newton leaves STD = 64, Y = 0).
    const = np.zeros((3, c), dtype=np.int64) + np.array([[-(2**15)], [5], [2**15 - 1]])
    sign = np.where(gamma < 0, -1, 1)
    out = run_both(k, const)
    np.testing.assert_array_equal(out, np.broadcast_to(sign * np.array(k.config["bias_int"]), const.shape))
    assert out[0, 7] == -bi7 < -(2**31)
    # Residual-like rows: Numba == twin == exact reference; every output fits 33 bits.
    q = np.clip(np.round(rng.normal(0.0, 300.0, (16, c))), -(2**15), 2**15 - 1).astype(np.int64)
    q = np.concatenate([q, const])
    r = check_reference(k, q)
    assert -(2**32) <= r["OUT"][0] < -(2**31) and r["OUT"][1] < 2**32


def test_the_2_62_edges_of_the_bias_are_exact():
    """BI must lie in [-(2^62 - 2^30 - 1), 2^62 - 2^30] so that |YN + BI| <= 2^62 - 1. At C = 4,
    BI = beta * 2^29 exactly; near 2^62 a float64 beta steps BI by 512. 16 Newton steps put
    STD = 1 for V = 1, so YN reaches both ends, 2^30 - 1 and -2^30."""
    c = 4
    top = 2**62 - 2**30  # a multiple of 512: reachable exactly
    bottom = -(2**62 - 2**30 - 1) + 511  # the smallest multiple of 512 above the limit
    k = ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0] * c, beta=[top * 2.0**-29, bottom * 2.0**-29, 0, 0], iters=16)
    assert k.config["bias_int"][:2] == [top, bottom]
    assert k.config["out_bits"] == 63 and k.out_spec == ops.IntSpec(63, True)
    # [1, 0, 0, 0]: V = 1, STD = 1, F = 2^31 - 1, YN_0 = 2^30 - 1; [0, -1, 0, 0]: YN_1 = -2^30.
    q = np.array([[1, 0, 0, 0], [0, -1, 0, 0], [9, 9, 9, 9]], dtype=np.int64)
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["STD"][0] == 1
    assert out[0, 0] == 2**62 - 1
    assert out[1, 1] == bottom - 2**30 == -(2**62) + 512
    assert out[2, :2].tolist() == [top, bottom]
    with pytest.raises(ValueError, match=r"^beta: channel 0: .*could reach 2\^62"):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0] * c, beta=[(top + 512) * 2.0**-29, 0, 0, 0])
    with pytest.raises(ValueError, match=r"^beta: channel 1: .*could reach 2\^62"):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0] * c, beta=[0, (bottom - 512) * 2.0**-29, 0, 0])
    with pytest.raises(ValueError, match="^beta: channel 2: "):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0, 1.0, 1e-300, 1.0], beta=[0, 0, 1.0, 0])


def test_a_bias_past_2_62_is_refused_naming_beta_and_the_ratio_bound():
    gamma, beta = np.ones(192), np.zeros(192)
    gamma[3], beta[3] = 1e-9, 100.0  # beta / gamma = 1e11, above (2^32 - 1) sqrt(192) ~ 5.95e10
    with pytest.raises(ValueError, match=r"^beta: channel 3: .*\+-5\.95128e\+10"):
        ops.make("ivit.layernorm", scale_in=1.0, gamma=gamma, beta=beta)
    beta[3] = 50.0  # 5e10: accepted, 63 bits
    assert ops.make("ivit.layernorm", scale_in=1.0, gamma=gamma, beta=beta).config["out_bits"] == 63


def test_config_and_specs():
    gamma, beta = np.array([0.5, -2.0, 1.0]), np.array([0.1, 0.2, -0.3])
    k = ops.make("ivit.layernorm", scale_in=0.02, gamma=gamma, beta=beta)
    sf0 = math.sqrt(3) / 2**30
    assert k.config == {
        "channels": 3,
        "iters": 10,
        "k0": 65536,
        "numerator": LIMIT31,
        "bias_int": [math.floor((b / g) / sf0) for b, g in zip(beta, gamma)],
        "negate": [0, 1, 0],
        "in_bits": 16,
        "out_bits": 32,
    }
    assert all(isinstance(v, int) for v in k.config["bias_int"])
    np.testing.assert_array_equal(k.scale_out, sf0 * np.abs(gamma))
    assert (k.in_spec.bits, k.in_spec.signed, k.out_spec.bits, k.out_spec.signed) == (16, True, 32, True)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"scale_in": 0.0}, "scale_in"),
        ({"scale_in": float("inf")}, "scale_in"),
        ({"gamma": [1.0, 0.0, 1.0]}, "gamma"),
        ({"gamma": [1.0, float("nan"), 1.0]}, "gamma"),
        ({"gamma": [[1.0, 1.0, 1.0]]}, "gamma"),
        ({"gamma": []}, "gamma"),
        ({"beta": [0.0, 0.0]}, "beta"),
        ({"beta": [0.0, float("inf"), 0.0]}, "beta"),
        ({"beta": [0.0, 1e12, 0.0]}, "beta"),
        ({"iters": 0}, "iters"),
        ({"iters": 17}, "iters"),
        ({"in_bits": 1}, "in_bits"),
        ({"in_bits": 33}, "in_bits"),
        ({"shift": 0}, "shift"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, param):
    base = {"scale_in": 0.01, "gamma": [1.0, -1.0, 2.0], "beta": [0.0, 0.1, 0.2]}
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("ivit.layernorm", **{**base, **kwargs})


def test_out_of_range_input_and_wrong_channels_are_refused():
    k = ops.make("ivit.layernorm", scale_in=0.01, gamma=[1.0, 1.0], beta=[0.0, 0.0], in_bits=8)
    assert_inputs_refused(k, ([[128, 0]], [[-129, 0]], [[1, 2, 3]]))


def test_std_above_31_bits_zeroes_the_factor():
    """V >= 142617140514390016 (~2^56.98): 10 steps leave STD >= 2^31, so F = 0 and the row
    outputs its biases (docs/ops/ivit.layernorm.md, 'Newton')."""
    assert reference.newton_sqrt(142617140514390016, 10)[-1] >= 2**31 > reference.newton_sqrt(142617140514390015, 10)[-1]
    k = ops.make("ivit.layernorm", scale_in=1.0, gamma=[1.0, -1.0], beta=[0.5, 0.5], in_bits=30)
    q = np.array([[2**29 - 1, -(2**29)]], dtype=np.int64)
    out = run_both(k, q)
    r = check_reference(k, q)
    assert r["F"] == (0, 0) and r["STD"][0] >= 2**31
    bi = k.config["bias_int"]
    np.testing.assert_array_equal(out, [[bi[0], -bi[1]]])
