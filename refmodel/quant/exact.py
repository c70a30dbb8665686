"""Exact integer arithmetic for the model's linear parts (PyTorch, int64).

- :func:`quantize` is the only place a real tensor becomes integers (the image, weights, bias
  and float-kept activations): round half to even of ``x / scale`` in float64, then the
  saturation of the target width (D1, D5, D7).
- :func:`matmul` multiplies integer tensors exactly. It runs BLAS in float64, which is exact
  because every product and partial sum is an integer below 2^53: the bound is checked
  before each call from the operands' widths and the reduction length, and the result is
  returned as int64.
- :func:`requant_wide` is the dyadic requantiser (D6) for accumulators wider than the
  ``requant`` op's 32-bit input (I-BERT's GELU output): the product ``z * m`` may need 94
  bits, so it is formed from 31-bit halves and rounded half to even exactly.
"""

from __future__ import annotations

import torch

from refmodel.fixedpoint import int_range

I64 = torch.int64
_EXACT_LIMIT = 2**53


def quantize(x: torch.Tensor, scale: torch.Tensor | float, bits: int, signed: bool = True, zero_point: int = 0) -> torch.Tensor:
    """``clamp(rne(x / scale) + zero_point)`` to the width, as int64 (float64 division)."""
    lo, hi = int_range(bits, signed)
    scale_t = torch.as_tensor(scale, dtype=torch.float64)
    q = torch.round(x.detach().to(torch.float64) / scale_t) + zero_point
    return q.clamp(lo, hi).to(I64)


def max_abs(t: torch.Tensor) -> int:
    return int(t.abs().max()) if t.numel() else 0


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for int64 tensors, exactly (float64 BLAS under a checked 2^53 bound)."""
    k = a.shape[-1]
    if k * max_abs(a) * max_abs(b) >= _EXACT_LIMIT:
        return torch.matmul(a, b)  # int64 kernel: slower, exact while the sums fit int64
    return torch.matmul(a.to(torch.float64), b.to(torch.float64)).to(I64)


def requant_wide(z: torch.Tensor, m: torch.Tensor, c: torch.Tensor, bits: int, signed: bool = True) -> torch.Tensor:
    """``saturate(rne(z * m / 2^c))`` for ``|z| < 2^62``, ``0 < m < 2^31`` and ``c >= 31``
    (a ratio below 1), exactly: with ``z = zh * 2^31 + zl``, ``z * m = T * 2^31 + Bl``
    where ``T = zh*m + ((zl*m) >> 31)`` and ``Bl = (zl*m) mod 2^31``; the quotient by
    ``2^c`` is ``T >> (c-31)`` and the rounding compares the remainder of ``T`` and ``Bl``
    with the half."""
    if bool((c < 31).any()):
        raise ValueError("c: requant_wide needs c >= 31 (scale_in / scale_out below 1)")
    zh = torch.bitwise_right_shift(z, 31)
    zl = z - torch.bitwise_left_shift(zh, 31)
    low = zl * m
    t = zh * m + torch.bitwise_right_shift(low, 31)
    bl = low - torch.bitwise_left_shift(torch.bitwise_right_shift(low, 31), 31)
    k = c - 31
    big = k >= 63
    ks = torch.where(big, torch.full_like(k, 62), k)
    quotient = torch.bitwise_right_shift(t, ks)
    rem = t - torch.bitwise_left_shift(quotient, ks)  # in [0, 2^k)
    half_t = torch.where(ks > 0, torch.bitwise_left_shift(torch.ones_like(ks), (ks - 1).clamp(min=0)), torch.zeros_like(ks))
    # remainder of the whole product as a fraction of 2^c, compared with 1/2:
    # k > 0: (rem, bl) against (2^(k-1), 0);  k == 0: bl against 2^30.
    above = torch.where(ks > 0, (rem > half_t) | ((rem == half_t) & (bl > 0)), bl > (1 << 30))
    tie = torch.where(ks > 0, (rem == half_t) & (bl == 0), bl == (1 << 30))
    up = above | (tie & ((quotient & 1) == 1))
    out = quotient + up.to(I64)
    out = torch.where(big, torch.zeros_like(out), out)  # |z*m / 2^c| < 1/2 once c >= 94
    lo, hi = int_range(bits, signed)
    return out.clamp(lo, hi)
