"""Agreement of ``fqvit.layernorm`` with FQ-ViT's float ``QIntLayerNorm`` on the same integers.

``python -m refmodel.ops.fqvit.layernorm_agreement`` builds seeded, realistic inputs, feeds the
same ``q`` to refmodel's integer op and to a single-precision numpy re-implementation of
FQ-ViT's ``QIntLayerNorm`` (``mode='int'``, upstream-kernels.md section 5.3), and prints the
share of exactly equal outputs, the histogram of the differences (in output LSBs), the largest
difference and where the differences come from.

Inputs, per channel count ``C`` (192, 384, 768 by default):

- synthetic ViT residual-stream activations ``x[t, c] = r_t (sigma_c z + mu_c)``, ``z ~ N(0, 1)``,
  ``sigma_c ~ |N(1, 0.3)|``, ``mu_c ~ N(0, 0.5)``, a per-token spread ``r_t = exp(N(0, 0.3))``,
  and ``max(2, C // 64)`` outlier channels with ``sigma_c`` 10 to 50 times larger and a mean of
  the same size, as in real ViTs;
- calibrated the FQ-ViT way (section 5.2) on 4 calibration images of 197 tokens:
  ``S8 = (max - min) / 255`` over the batch, one ``zp = clamp(-rne(min / S8), 0, 255)``,
  ``alpha_c`` by the least mean squared error of fake quantisation at ``S1, S2, S4, S8``;
- LayerNorm ``gamma ~ N(1, 0.3)`` (3 % negated), ``beta ~ N(0, 0.2)``;
- ``scale_out`` of a uint8 asymmetric min-max quantiser of the float LayerNorm output on the
  calibration images (the next ``QAct``'s scale);
- then evaluated on other images: ``q = clamp(rne(x / S_c + zp), 0, 255)``.

The upstream emulation computes in IEEE single precision, as the reference code does; it is
test tooling only, not a datapath of refmodel.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from refmodel import ops

SINGLE = np.single
TOKENS = 197
CAL_IMAGES = 4


@dataclass
class Case:
    """One calibrated LayerNorm: its parameters and the evaluation integers."""

    q: np.ndarray
    s1: float
    zero_point: int
    alphas: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    scale_out: float

    @property
    def scale_in(self) -> np.ndarray:
        return self.s1 * 2.0 ** self.alphas.astype(np.float64)


@dataclass
class Agreement:
    """The comparison of refmodel's outputs with the upstream emulation's."""

    channels: int
    elements: int
    equal: int
    histogram: dict[int, int]
    max_abs_diff: int
    causes: dict[str, int] = field(default_factory=dict)
    #: Outputs equal to FQ-ViT's had refmodel used FQ-ViT's bias formula (``A``, not ``M``).
    anchored_equal: int = 0
    #: RMS and largest ``|OUT - y|`` (LSB) against the float LayerNorm ``y`` of the same
    #: dequantised input, for refmodel and for FQ-ViT.
    error: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return self.equal / self.elements

    def describe(self) -> str:
        hist = ", ".join(f"{d:+d}: {n}" for d, n in sorted(self.histogram.items()))
        causes = "; ".join(f"{k}: {v}" for k, v in self.causes.items() if v)
        errors = "; ".join(f"{k} rms {rms:.4f}, max {mx:.3f}" for k, (rms, mx) in self.error.items())
        return (
            f"C = {self.channels}: {self.equal} of {self.elements} outputs equal "
            f"({100 * self.share:.4f} %), max |diff| = {self.max_abs_diff} LSB\n"
            f"  differences (refmodel - FQ-ViT): {hist or 'none'}\n"
            f"  causes of the differing outputs: {causes or 'none'}\n"
            f"  with FQ-ViT's A-based B instead: {100 * self.anchored_equal / self.elements:.4f} % equal\n"
            f"  error vs float LayerNorm of the dequantised input (LSB): {errors}"
        )


# ---------------------------------------------------------------------------- inputs
def residual_stream(rng: np.random.Generator, channels: int):
    """A sampler of synthetic residual-stream images (``TOKENS x channels``, single precision)."""
    sigma = np.abs(rng.normal(1.0, 0.3, channels))
    mu = rng.normal(0.0, 0.5, channels)
    n_out = max(2, channels // 64)
    outliers = rng.choice(channels, size=n_out, replace=False)
    sigma[outliers] *= rng.uniform(10.0, 50.0, n_out)
    mu[outliers] = rng.normal(0.0, 1.0, n_out) * sigma[outliers]

    def image() -> np.ndarray:
        spread = np.exp(rng.normal(0.0, 0.3, (TOKENS, 1)))
        return (spread * (rng.normal(size=(TOKENS, channels)) * sigma + mu)).astype(SINGLE)

    return image


def calibrate_ptf(x: np.ndarray, bits: int = 8) -> tuple[float, int, np.ndarray]:
    """FQ-ViT's PTF observer (section 5.2) on a ``(tokens, C)`` single-precision batch:
    ``(S1, zp, alpha)``."""
    hi = (1 << bits) - 1
    s8 = SINGLE((x.max() - x.min()) / SINGLE(hi))
    s4 = s8 / SINGLE(2)
    s2 = s4 / SINGLE(2)
    s1 = s2 / SINGLE(2)
    zp = SINGLE(np.clip(SINGLE(0) - np.round(x.min() / s8), 0, hi))
    alphas = np.zeros(x.shape[1], dtype=np.int64)
    for j in range(x.shape[1]):
        col = x[:, j]
        scores = []
        for s in (s1, s2, s4, s8):
            fq = (np.clip(np.round(col / s + zp), 0, hi) - zp) * s
            scores.append(np.mean((col - fq) ** 2, dtype=SINGLE))
        alphas[j] = int(np.argmin(scores))
    return float(s1), int(zp), alphas


def quantise_ptf(x: np.ndarray, s1: float, zp: int, alphas: np.ndarray, bits: int = 8) -> np.ndarray:
    """``clamp(rne(x / S_c + zp), 0, 2^bits - 1)`` in single precision, as FQ-ViT's uniform
    quantiser."""
    scales = (SINGLE(s1) * np.power(SINGLE(2), alphas.astype(SINGLE))).astype(SINGLE)
    return np.clip(np.round(x / scales + SINGLE(zp)), 0, (1 << bits) - 1).astype(np.int64)


def float_layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The float LayerNorm of the model (population variance, ``eps`` as in timm ViTs)."""
    x = x.astype(np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def make_case(rng: np.random.Generator, channels: int, images: int) -> Case:
    """A calibrated LayerNorm and ``images`` evaluation images of quantised activations."""
    image = residual_stream(rng, channels)
    cal = np.concatenate([image() for _ in range(CAL_IMAGES)])
    s1, zp, alphas = calibrate_ptf(cal)
    gamma = rng.normal(1.0, 0.3, channels)
    gamma[rng.random(channels) < 0.03] *= -1.0
    gamma = gamma.astype(SINGLE)
    beta = rng.normal(0.0, 0.2, channels).astype(SINGLE)
    y = float_layernorm(cal, gamma, beta)
    scale_out = float(SINGLE((y.max() - y.min()) / 255.0))
    x = np.concatenate([image() for _ in range(images)])
    return Case(quantise_ptf(x, s1, zp, alphas), s1, zp, alphas, gamma, beta, scale_out)


# ---------------------------------------------------------------------------- upstream
def upstream_layernorm(case: Case) -> dict[str, np.ndarray]:
    """FQ-ViT's ``QIntLayerNorm`` (``mode='int'``) in single precision, step by step as in
    upstream-kernels.md section 5.3: ``OUT, M, N, B`` (float arrays; NaN where upstream is)."""
    q = case.q
    chans = q.shape[-1]
    shifts = case.alphas - case.alphas.min()
    s1m = SINGLE(case.s1 * 2.0 ** int(case.alphas.min()))
    xq = ((q - case.zero_point) * (1 << shifts)).astype(SINGLE)  # = rne(x / S1m), exactly
    gamma = case.gamma.astype(SINGLE)[None, :]
    beta = case.beta.astype(SINGLE)[None, :]
    s_o = SINGLE(case.scale_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = xq.mean(axis=-1, dtype=SINGLE) * s1m
        total = xq.sum(axis=-1, dtype=SINGLE)
        squares = (xq * xq).sum(axis=-1, dtype=SINGLE)
        std = (s1m / SINGLE(chans)) * np.sqrt(SINGLE(chans) * squares - total * total)
        a = (s1m / std)[:, None] * gamma / s_o
        sign = np.sign(a)
        mag = np.abs(a)
        n = np.clip(SINGLE(7) - np.floor(np.log2(mag)), 0, 31)
        pow_n = np.power(SINGLE(2), n)
        m = np.clip(np.floor(mag * pow_n), 0, 255)
        b = np.round((beta - (mean / std)[:, None] * gamma) / s_o * pow_n)
        out = np.round((sign * m * xq + b) / pow_n)
    return {"OUT": out, "M": m, "N": n, "B": b}


def anchored_bias(case: Case, n: np.ndarray) -> np.ndarray:
    """FQ-ViT's bias formula ``rne(2^N (beta - gamma mean / std) / S_o)`` in float64 from the
    exact integer statistics: what ``B`` is without FQ-ViT's single-precision rounding."""
    q = case.q
    chans = q.shape[-1]
    xs = (q - case.zero_point) * (1 << (case.alphas - case.alphas.min()))
    sx = xs.sum(axis=-1).astype(np.float64)
    d = (chans * (xs * xs).sum(axis=-1) - xs.sum(axis=-1) ** 2).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sx / np.sqrt(d)  # mean / std
        g = case.gamma.astype(np.float64)[None, :]
        b = case.beta.astype(np.float64)[None, :]
        return np.round((b - ratio[:, None] * g) / case.scale_out * 2.0**n)


# ---------------------------------------------------------------------------- comparison
def compare(case: Case) -> Agreement:
    """Run both on ``case.q`` and attribute every differing output to one cause."""
    k = ops.make(
        "fqvit.layernorm",
        scale_in=case.scale_in,
        zero_point=case.zero_point,
        gamma=case.gamma,
        beta=case.beta,
        scale_out=case.scale_out,
    )
    ours = k.sim(case.q)
    aff = k.sim_affine(case.q)
    up = upstream_layernorm(case)
    finite = np.isfinite(up["OUT"])
    diff = np.where(finite, ours - np.nan_to_num(up["OUT"]).astype(np.int64), 0)
    differs = (diff != 0) | ~finite
    mn_differs = (aff["M"] != up["M"]) | (aff["N"] != up["N"])
    anchored = anchored_bias(case, up["N"])
    # With M and N equal, FQ-ViT's B follows its exact-statistics formula: the difference is
    # refmodel's centring (B from M, not from A); otherwise single precision moved B.
    centring = ~mn_differs & (up["B"] == anchored) & (aff["B"] != up["B"])
    bias_rounding = ~mn_differs & (up["B"] != anchored)
    causes = {
        "upstream not finite (zero variance)": int(np.count_nonzero(~finite)),
        "M or N differ (single-precision std vs exact isqrt)": int(np.count_nonzero(differs & finite & mn_differs)),
        "B differs: refmodel centres with M, FQ-ViT uses A": int(np.count_nonzero(differs & finite & centring)),
        "B differs: FQ-ViT's single-precision mean/std": int(np.count_nonzero(differs & finite & bias_rounding)),
    }
    causes["other"] = int(np.count_nonzero(differs)) - sum(causes.values())
    n_pow = np.power(2.0, up["N"])
    xs = (case.q - case.zero_point) * (1 << (case.alphas - case.alphas.min()))
    with np.errstate(invalid="ignore"):
        out_anchored = np.round((np.sign(case.gamma)[None, :] * up["M"] * xs + anchored) / n_pow)
    ideal = float_layernorm((case.q - case.zero_point) * case.scale_in, case.gamma, case.beta, eps=0.0) / case.scale_out
    err_ours = ours - ideal
    err_up = np.where(finite, up["OUT"], ideal) - ideal
    return Agreement(
        channels=case.q.shape[-1],
        elements=int(diff.size),
        equal=int(np.count_nonzero(~differs)),
        histogram=dict(sorted(Counter(diff[finite & differs].tolist()).items())),
        max_abs_diff=int(np.abs(diff).max()),
        causes=causes,
        anchored_equal=int(np.count_nonzero(finite & (out_anchored == up["OUT"]))),
        error={
            "refmodel": (float(np.sqrt(np.mean(err_ours**2))), float(np.abs(err_ours).max())),
            "FQ-ViT": (float(np.sqrt(np.mean(err_up**2))), float(np.abs(err_up).max())),
        },
    )


def measure(channels: int, images: int = 8, seed: int = 0) -> Agreement:
    """The agreement for one channel count, seeded."""
    rng = np.random.default_rng([seed, channels])
    return compare(make_case(rng, channels, images))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[192, 384, 768])
    parser.add_argument("--images", type=int, default=8, help="evaluation images of 197 tokens per case")
    parser.add_argument("--seeds", type=int, default=4, help="independent cases per channel count")
    args = parser.parse_args(argv)
    total: dict[str, Any] = {"elements": 0, "equal": 0, "max": 0, "hist": Counter()}
    for chans in args.channels:
        for seed in range(args.seeds):
            res = measure(chans, args.images, seed)
            print(f"seed {seed}, " + res.describe())
            total["elements"] += res.elements
            total["equal"] += res.equal
            total["max"] = max(total["max"], res.max_abs_diff)
            total["hist"].update(res.histogram)
    share = total["equal"] / total["elements"]
    hist = ", ".join(f"{d:+d}: {n}" for d, n in sorted(total["hist"].items()))
    print(
        f"all: {total['equal']} of {total['elements']} equal ({100 * share:.4f} %), "
        f"max |diff| = {total['max']} LSB; differences: {hist or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
