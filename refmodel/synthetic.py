"""Seeded, realistic parameters and integer inputs for every op, at a DeiT layer's scales.

Used wherever refmodel needs data it makes itself (no pretrained weights or ImageNet here):
the golden vectors' ``realistic`` cases, the benchmark and the op-level demo. Every function
takes a ``numpy.random.Generator`` so the caller owns the seed.

Distributions (real values, then quantised at the op's input scale with round half to even
and clipping to the input width):

- softmax: attention logits ~ N(0, 2.5) plus a few peaked keys (+6 on 5 % of them);
- GELU: fc1 outputs ~ N(-0.4, 1.2); I-BERT's GELU takes them as 32-bit accumulators at
  per-channel scales 2^-15..2^-12, I-ViT's as 8/6-bit activations, the GELU table as 8/6-bit
  activations mapped straight to the next 8/6-bit activation;
- LayerNorm: the 16-bit residual stream, ~ N(0, 1) with four outlier channels x20;
  FQ-ViT's LayerNorm takes it through a PTF quantiser (unsigned, power-of-two channel scales);
- requant: 32-bit accumulators ~ N(0, 1.5) at per-channel scales 2^-16..2^-10.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refmodel.fixedpoint import int_range

#: Input scales of the 8-bit setting; the 6-bit setting's range is 4x coarser.
SOFTMAX_SCALE = {8: 0.08, 6: 0.32}
IVIT_GELU_SCALE = {8: 0.05, 6: 0.2}
RESIDUAL_SCALE = 0.002
FQVIT_S1 = 0.01
ACT_OUT_SCALE = {8: 0.03, 6: 0.12}


def f32(x: Any) -> Any:
    """Round to float32 and back, as scales are stored by models."""
    return np.asarray(x, dtype=np.float32).astype(np.float64) if np.ndim(x) else float(np.float32(x))


def quantise(real: np.ndarray, scale: Any, bits: int, signed: bool = True, zero_point: int = 0) -> np.ndarray:
    """``clamp(rne(real / scale) + zero_point)`` to the width, as int64."""
    lo, hi = int_range(bits, signed)
    return np.clip(np.rint(real / scale) + zero_point, lo, hi).astype(np.int64)


def affine(rng: np.random.Generator, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """LayerNorm ``gamma ~ N(1, 0.25)`` (5 % negated, |gamma| >= 0.05) and ``beta ~ N(0, 0.1)``."""
    gamma = rng.normal(1.0, 0.25, size=channels)
    gamma[rng.random(channels) < 0.05] *= -1.0
    gamma = np.where(np.abs(gamma) < 0.05, 0.05, gamma)
    beta = rng.normal(0.0, 0.1, size=channels)
    return f32(gamma), f32(beta)


def ptf_scales(rng: np.random.Generator, channels: int) -> np.ndarray:
    """FQ-ViT power-of-two-factor scales ``S1 * 2^alpha``, alpha in 0..3 (mostly 0)."""
    alphas = rng.choice(4, size=channels, p=[0.7, 0.15, 0.1, 0.05])
    return f32(FQVIT_S1) * 2.0**alphas


def softmax_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """A softmax at the attention scores' scale of the ``width`` setting."""
    return {"scale_in": SOFTMAX_SCALE[width], "in_bits": width}


def activation_gelu_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """A GELU on the fc1 output requantised to ``width`` bits (I-ViT's wiring)."""
    return {"scale_in": IVIT_GELU_SCALE[width], "in_bits": width}


def table_gelu_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """A GELU table from ``width``-bit inputs straight to the next ``width``-bit activation."""
    return {"scale_in": IVIT_GELU_SCALE[width], "scale_out": ACT_OUT_SCALE[width], "in_bits": width, "out_bits": width}


def accumulator_gelu_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """A GELU on the 32-bit fc1 accumulator at per-channel scales (I-BERT's wiring)."""
    return {"scale_in": f32(2.0 ** rng.uniform(-15, -12, size=channels)), "in_bits": 32}


def residual_layernorm_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """A LayerNorm on the 16-bit residual stream."""
    gamma, beta = affine(rng, channels)
    return {"scale_in": RESIDUAL_SCALE, "gamma": gamma, "beta": beta, "in_bits": 16}


def ptf_layernorm_params(rng: np.random.Generator, channels: int, width: int) -> dict[str, Any]:
    """FQ-ViT's LayerNorm on the PTF-quantised residual stream."""
    gamma, beta = affine(rng, channels)
    return {
        "scale_in": ptf_scales(rng, channels),
        "zero_point": 1 << (width - 1),
        "gamma": gamma,
        "beta": beta,
        "scale_out": ACT_OUT_SCALE[width],
        "in_bits": width,
    }


def params(op: str, rng: np.random.Generator, channels: int, width: int = 8) -> dict[str, Any]:
    """Realistic ``ops.make`` parameters for ``op`` with ``channels`` on the last axis and
    activation width ``width`` (8 or 6; LayerNorm inputs stay 16-bit, I-BERT GELU 32-bit).
    A method's op takes the parameters its registry entry declares (``refmodel.methods``)."""
    from refmodel import methods

    if op in methods.ops():
        return methods.op(op).synthetic(rng, channels, width)
    if op == "requant":
        return {"scale_in": f32(2.0 ** rng.uniform(-16, -10, size=channels)), "scale_out": ACT_OUT_SCALE[width], "out_bits": width}
    raise ValueError(f"op: no synthetic parameters for {op!r}")


def inputs(op: str, params_: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Realistic integer inputs of ``shape`` for ``op`` made with ``params_``: a method's op
    by its slot kind (a LayerNorm with a ``zero_point`` takes FQ-ViT's PTF input)."""
    from refmodel import methods

    bits = params_.get("in_bits", 32)
    kind = methods.kind_of(op) if op in methods.ops() else op
    if kind == "softmax":
        logits = rng.normal(0.0, 2.5, size=shape) + 6.0 * (rng.random(shape) < 0.05)
        return quantise(logits, params_["scale_in"], bits)
    if kind == "gelu":
        return quantise(rng.normal(-0.4, 1.2, size=shape), params_["scale_in"], bits)
    if kind == "layernorm":
        if "zero_point" in params_:
            # PTF gives the wide channels the large power-of-two factors.
            scale_in = np.asarray(params_["scale_in"], dtype=np.float64)
            real = rng.normal(0.0, 0.25, size=shape) * (scale_in / scale_in.min())
            return quantise(real, scale_in, bits, signed=False, zero_point=params_["zero_point"])
        spread = np.ones(shape[-1])
        spread[rng.choice(shape[-1], size=min(4, shape[-1]), replace=False)] = 20.0
        return quantise(rng.normal(0.0, 0.2, size=shape) * spread, params_["scale_in"], bits)
    if op == "requant":
        return quantise(rng.normal(0.0, 1.5, size=shape), params_["scale_in"], 32)
    raise ValueError(f"op: no synthetic inputs for {op!r}")
