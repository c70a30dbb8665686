"""fqvit.layernorm: Numba == PyTorch twin == exact Python-int reference, widths, invariance,
accuracy against the real LayerNorm, edge cases, refusals, and agreement with FQ-ViT."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from refmodel import ops
from refmodel.ops.fqvit import layernorm as ln
from refmodel.ops.fqvit import layernorm_agreement as agreement
from refmodel.testing import MAX_ROWS, fqvit_layernorm_params, int_arrays
from tests.ops.fqvit.reference_layernorm import layernorm_reference, reference_constants
from tests.ops.helpers import both

INT64_SAFE = 1 << 62


# ---------------------------------------------------------------------------- helpers
def build(p: dict) -> ln.FqvitLayerNorm:
    """``make``, skipping the (rare) drawn combinations that the op refuses by design."""
    try:
        return ops.make("fqvit.layernorm", **p)
    except ValueError as err:
        assume(not str(err).startswith(("in_bits:", "gamma:", "beta:")))
        raise


def check_against_reference(k: ln.FqvitLayerNorm, q: np.ndarray) -> dict[str, tuple[int, int]]:
    """Outputs and (M, N, B) of both datapaths equal the reference; every intermediate lies in
    the documented bounds, which fit int64; the output lies in the declared width."""
    consts = reference_constants(k.params["gamma"], k.params["beta"], k.params["scale_out"])
    for key, value in consts.items():
        assert k.config[key] == value, key
    out, aff, ranges = layernorm_reference(q, k.config["zero_point"], k.config["shift"], consts)
    np.testing.assert_array_equal(both(k, q), out)
    sim_aff = k.sim_affine(q)
    twin_aff = k.twin_affine(torch.from_numpy(q))
    for i, name in enumerate("MNB"):
        np.testing.assert_array_equal(sim_aff[name], aff[..., i], err_msg=name)
        np.testing.assert_array_equal(twin_aff[name].numpy(), aff[..., i], err_msg=name)
    box = ln.bounds(k.config)
    for name, (lo, hi) in ranges.items():
        assert box[name][0] <= lo and hi <= box[name][1], (name, (lo, hi), box[name])
    for name, (lo, hi) in box.items():
        assert -INT64_SAFE < lo <= hi < INT64_SAFE, name
    assert k.out_spec.lo <= out.min() and out.max() <= k.out_spec.hi
    return ranges


def ideal_output(k: ln.FqvitLayerNorm, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The real LayerNorm of the dequantised input in output LSBs (float64), and ``|A|`` per
    element (``gamma S1m / (sigma scale_out)``)."""
    shifts = np.array(k.config["shift"])
    xs = ((q - k.config["zero_point"]) << shifts).astype(np.float64)
    chans = q.shape[-1]
    mean = xs.mean(axis=-1, keepdims=True)
    sqrt_d = chans * np.sqrt(((xs - mean) ** 2).mean(axis=-1, keepdims=True))
    g = k.params["gamma"] / k.params["scale_out"]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.abs(g) * chans / sqrt_d
        y = np.sign(g) * a * (xs - mean) + k.params["beta"] / k.params["scale_out"]
    return y, a * np.ones_like(xs)


# ---------------------------------------------------------------------------- properties
@given(data=st.data(), p=fqvit_layernorm_params(max_cols=256))
def test_numba_equals_pytorch_twin(data, p):
    k = build(p)
    rows = data.draw(st.integers(1, MAX_ROWS))
    q = data.draw(int_arrays(p["in_bits"], False, (rows, k.channels)))
    both(k, q)
    sim_aff = k.sim_affine(q)
    twin_aff = k.twin_affine(torch.from_numpy(q))
    for name in "MNB":
        np.testing.assert_array_equal(sim_aff[name], twin_aff[name].numpy(), err_msg=name)


@pytest.mark.plain
@given(data=st.data(), p=fqvit_layernorm_params(max_cols=12))
def test_matches_exact_reference_and_widths(data, p):
    k = build(p)
    q = data.draw(int_arrays(p["in_bits"], False, (data.draw(st.integers(1, 3)), k.channels)))
    check_against_reference(k, q)


@pytest.mark.plain
@given(data=st.data(), p=fqvit_layernorm_params(max_cols=12), mixed=st.booleans())
def test_common_real_shift_leaves_output_unchanged(data, p, mixed):
    """Adding ``K * 2^(amax - a_c)`` to ``q_c`` adds ``K * 2^amax * S1`` to every real ``x_c``."""
    if not mixed:
        p = dict(p, scale_in=float(np.min(p["scale_in"])))
    k = build(p)
    shifts = np.array(k.config["shift"])
    step = 1 << (shifts.max() - shifts)
    q = data.draw(int_arrays(p["in_bits"], False, (data.draw(st.integers(1, 3)), k.channels)))
    top = (1 << p["in_bits"]) - 1
    room_up = ((top - q) // step).min(axis=-1)
    room_down = (q // step).min(axis=-1)
    assume(np.all(room_up + room_down > 0))
    kk = np.array([data.draw(st.integers(-int(lo), int(hi))) for lo, hi in zip(room_down, room_up)])
    moved = q + kk[:, None] * step[None, :]
    assert moved.min() >= 0 and moved.max() <= top
    np.testing.assert_array_equal(both(k, moved), both(k, q))


@pytest.mark.plain
@given(data=st.data(), p=fqvit_layernorm_params(max_cols=12))
def test_output_is_within_a_mantissa_step_of_the_real_layernorm(data, p):
    """Without M's saturation, ``|OUT - y| <= |A| |Xs - mean| (1/128 + 2^-28) + 1`` (LSB):
    M has 8 significant bits and the two roundings add half an LSB each."""
    k = build(p)
    q = data.draw(int_arrays(p["in_bits"], False, (data.draw(st.integers(1, 3)), k.channels)))
    out = both(k, q)
    y, a = ideal_output(k, q)
    aff = k.sim_affine(q)
    normal = (aff["M"] >= 128) & (a < 255)  # not FQ-ViT's M saturation (|A| >= 256)
    xs = (q - k.config["zero_point"]) << np.array(k.config["shift"])
    spread = np.abs(xs - xs.mean(axis=-1, keepdims=True))
    with np.errstate(invalid="ignore"):
        tol = a * spread * (1 / 128 + 2.0**-28) + 1 + 1e-6 * (1 + np.abs(y))
    assert np.all(np.abs(out - y)[normal] <= tol[normal])


# ---------------------------------------------------------------------------- edge cases
def _params(chans: int, *, gamma=1.0, beta=0.25, scale_out=0.05, zp=128, bits=8, alphas=None) -> dict:
    rng = np.random.default_rng(chans)
    g = np.full(chans, gamma) * np.where(rng.random(chans) < 0.3, -1.0, 1.0)
    b = np.full(chans, beta) if np.ndim(beta) == 0 else np.asarray(beta)
    s_in = 0.01 if alphas is None else 0.01 * 2.0 ** np.asarray(alphas, dtype=np.float64)
    return {"scale_in": s_in, "zero_point": zp, "gamma": g, "beta": b, "scale_out": scale_out, "in_bits": bits}


@pytest.mark.plain
def test_constant_rows_give_beta_over_scale_out():
    """D8: a zero-variance row takes sigma = 1, so x - mu = 0 and OUT = beta / scale_out rounded
    (half up, like every B); M = N = 0. No NaN, no infinity."""
    chans = 7
    beta = np.array([0.25, -0.1, 0.0375, 1.3, -2.0, 0.0, 0.123456])
    alphas = np.array([0, 1, 2, 3, 0, 1, 2])
    k = ops.make("fqvit.layernorm", **_params(chans, beta=beta, alphas=alphas))
    # equal real values: (q_c - zp) 2^a_c the same for every channel
    q = np.array([128 + v * (1 << (3 - alphas)) for v in (-16, -1, 0, 1, 15)], dtype=np.int64)
    out = both(k, q)
    want = [math.floor(Fraction(float(b)) / Fraction(0.05) + Fraction(1, 2)) for b in beta]
    np.testing.assert_array_equal(out, np.tile(want, (len(q), 1)))
    aff = k.sim_affine(q)
    assert np.all(aff["M"] == 0) and np.all(aff["N"] == 0)
    check_against_reference(k, q)


@pytest.mark.plain
def test_one_column_is_always_constant():
    k = ops.make("fqvit.layernorm", **_params(1, beta=[-0.7]))
    q = np.arange(256, dtype=np.int64).reshape(-1, 1)
    np.testing.assert_array_equal(both(k, q), np.full((256, 1), math.floor(Fraction(-0.7) / Fraction(0.05) + Fraction(1, 2))))
    check_against_reference(k, q[::37])


@pytest.mark.plain
@pytest.mark.parametrize("bits", [2, 3, 8, 16])
@pytest.mark.parametrize("zp_kind", ["low", "mid", "high"])
def test_extremes_of_the_input_width(bits, zp_kind):
    top = (1 << bits) - 1
    zp = {"low": 0, "mid": (top + 1) // 2, "high": top}[zp_kind]
    chans = 9
    k = ops.make("fqvit.layernorm", **_params(chans, zp=zp, bits=bits, alphas=[3, 0, 1, 2, 3, 0, 0, 1, 3]))
    q = np.array(
        [
            [0] * chans,
            [top] * chans,
            [top] + [0] * (chans - 1),
            [0] + [top] * (chans - 1),
            [top if j % 2 else 0 for j in range(chans)],
            [zp] * (chans - 1) + [top - zp if zp else top],
        ],
        dtype=np.int64,
    )
    check_against_reference(k, q)


@pytest.mark.plain
def test_tiny_variance_saturates_m_as_fq_vit_does():
    """|A| >= 256 (here a row with one element one step away and a large gamma / scale_out)
    gives FQ-ViT's M = 255, N = 0; the output stays centred: 255 (Xs - mean), rounded half up."""
    chans = 4
    k = ops.make("fqvit.layernorm", **_params(chans, gamma=200.0, beta=0.0, scale_out=0.5))
    q = np.array([[100, 100, 100, 101]], dtype=np.int64)
    aff = k.sim_affine(q)
    assert np.all(aff["M"] == 255) and np.all(aff["N"] == 0)
    xs = q - 128
    sgn = np.array(k.config["sign"])
    want = [math.floor(Fraction(int(s) * 255 * (4 * int(x) - int(xs.sum())), 4) + Fraction(1, 2)) for s, x in zip(sgn, xs[0])]
    np.testing.assert_array_equal(both(k, q)[0], want)
    check_against_reference(k, q)


@pytest.mark.plain
def test_tiny_gain_reaches_n_31():
    """|A| < 2^-24 clamps N at 31 with M below 128, as FQ-ViT's get_MN."""
    k = ops.make("fqvit.layernorm", **_params(4, gamma=1e-3, beta=0.0, scale_out=1.0, bits=16, zp=0, alphas=[3, 3, 3, 3]))
    q = np.array([[0, 65535, 0, 65535], [1, 65535, 3, 65000]], dtype=np.int64)
    aff = k.sim_affine(q)
    assert np.all(aff["N"] == 31) and aff["M"].max() < 128
    check_against_reference(k, q)


@pytest.mark.plain
def test_widest_accepted_row_is_exact():
    """At the D14 limit (C * max|Xs| just below 2^30) every intermediate still matches exact
    integers; one more channel is refused."""
    bits, shift = 16, 3
    top = (1 << bits) - 1
    chans = (ln.ROW_LIMIT - 1) // (top << shift)
    alphas = [0] + [shift] * (chans - 1)
    k = ops.make("fqvit.layernorm", **_params(chans, zp=0, bits=bits, alphas=alphas))
    q = np.array([[top] * chans, [top * (j % 2) for j in range(chans)], [0] + [top] * (chans - 1)], dtype=np.int64)
    ranges = check_against_reference(k, q)
    assert ranges["D"][1] >= 1 << 57 and ranges["SXX"][1] >= 1 << 48
    with pytest.raises(ValueError, match="^in_bits:"):
        ops.make("fqvit.layernorm", **_params(chans + 1, zp=0, bits=bits, alphas=alphas + [shift]))


@pytest.mark.plain
def test_out_width_is_declared_and_tight():
    k = ops.make("fqvit.layernorm", **_params(192, gamma=1.5, beta=0.3, scale_out=0.03))
    bound = ln.bounds(k.config)["OUT"][1]
    assert k.out_spec.signed and k.out_spec.hi >= bound and k.out_spec.bits == max(2, bound.bit_length() + 1)
    # |gamma| / scale_out * sqrt(C - 1) + |beta| / scale_out ~ 700: 11 bits
    assert k.out_spec.bits == 11
    assert k.scale_out == 0.03


# ---------------------------------------------------------------------------- refusals
@pytest.mark.plain
@pytest.mark.parametrize(
    "change, param",
    [
        ({"scale_in": 0.01 * np.array([1.0, 3.0, 1.0, 1.0])}, "scale_in"),
        ({"scale_in": 0.01 * np.array([1.0, 16.0, 1.0, 1.0])}, "scale_in"),
        ({"scale_in": 0.01 * np.array([1.0, 2.0, 1.0])}, "scale_in"),
        ({"scale_in": np.array([0.01, -0.02, 0.01, 0.01])}, "scale_in"),
        ({"scale_in": 0.0}, "scale_in"),
        ({"zero_point": 256}, "zero_point"),
        ({"zero_point": -1}, "zero_point"),
        ({"zero_point": 128.0}, "zero_point"),
        ({"gamma": np.array([1.0, 0.0, 1.0, 1.0])}, "gamma"),
        ({"gamma": np.array([1.0, np.nan, 1.0, 1.0])}, "gamma"),
        ({"beta": np.zeros(3)}, "beta"),
        ({"beta": np.array([0.0, np.inf, 0.0, 0.0])}, "beta"),
        ({"scale_out": 0.0}, "scale_out"),
        ({"scale_out": -0.1}, "scale_out"),
        ({"scale_out": float("nan")}, "scale_out"),
        ({"in_bits": 1}, "in_bits"),
        ({"in_bits": 17}, "in_bits"),
        ({"gamma": np.full(4, 1e9)}, "gamma"),
        ({"gamma": np.full(4, 1e-12), "beta": np.full(4, 1.0)}, "beta"),
        ({"wobble": 1}, "wobble"),
    ],
)
def test_bad_parameters_name_the_parameter(change, param):
    p = dict(_params(4), **change)
    with pytest.raises(ValueError, match=f"^{param}:"):
        ops.make("fqvit.layernorm", **p)


@pytest.mark.plain
def test_inputs_outside_the_unsigned_width_are_refused():
    k = ops.make("fqvit.layernorm", **_params(4))
    for bad in ([[0, 0, 0, -1]], [[0, 256, 0, 0]]):
        with pytest.raises(ValueError, match="^q:"):
            k.sim(np.array(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.fakequant(torch.tensor(bad))
        with pytest.raises(ValueError, match="^q:"):
            k.sim_affine(np.array(bad))
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 5), dtype=np.int64))


# ---------------------------------------------------------------------------- agreement
def test_agreement_with_fq_vit_float_layernorm():
    """Seeded realistic case (C = 192, 2 images): measured 99.892 % equal, every difference
    1 LSB and caused by the centred bias (FQ-ViT's own bias formula would agree on all)."""
    res = agreement.measure(192, images=2, seed=0)
    assert res.share >= 0.998, res.describe()
    assert res.max_abs_diff <= 1, res.describe()
    assert res.causes["other"] == 0 and res.causes["M or N differ (single-precision std vs exact isqrt)"] == 0, res.describe()
    assert res.anchored_equal / res.elements >= 0.9999, res.describe()
    ours_rms, _ = res.error["refmodel"]
    up_rms, _ = res.error["FQ-ViT"]
    assert ours_rms <= 0.3 and abs(ours_rms - up_rms) < 0.005, res.describe()
