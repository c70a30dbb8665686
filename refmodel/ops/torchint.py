"""Integer helpers for the PyTorch datapath: vectorised int64 tensor arithmetic.

Written separately from the Numba helpers on purpose; both follow ``refmodel.fixedpoint``.
"""

from __future__ import annotations

import torch

I64 = torch.int64


def as_i64(values, device: torch.device | None = None) -> torch.Tensor:
    """A constant (int or list of ints) as an int64 tensor."""
    return torch.as_tensor(values, dtype=I64, device=device)


def rne_shift(x: torch.Tensor, c: torch.Tensor | int) -> torch.Tensor:
    """Round half to even of ``x / 2^c`` element-wise, for ``|x| < 2^62`` and ``c >= 0``
    (scalar or broadcastable int64 tensor). Shifts of 64 or more give 0.

    For ``c >= 1``: ``(x + 2^(c-1) - 1 + ((x >> c) & 1)) >> c``: the remainder crosses the
    next multiple of ``2^c`` exactly when it exceeds the half, or equals it with an odd
    quotient.
    """
    c_t = torch.as_tensor(c, dtype=I64, device=x.device)
    cs = c_t.clamp(1, 63)
    bias = torch.bitwise_left_shift(torch.ones_like(cs), cs - 1) - 1
    out = torch.bitwise_right_shift(x + bias + (torch.bitwise_right_shift(x, cs) & 1), cs)
    if bool((c_t == 0).any()):
        out = torch.where(c_t == 0, x, out)
    if bool((c_t >= 64).any()):
        out = torch.where(c_t >= 64, torch.zeros_like(out), out)
    return out


def rne_div(num: torch.Tensor, den: torch.Tensor | int) -> torch.Tensor:
    """Round half to even of ``num / den`` element-wise for ``den > 0``."""
    q = torch.div(num, den, rounding_mode="floor")
    r2 = 2 * (num - q * den)
    up = (r2 > den) | ((r2 == den) & ((q & 1) == 1))
    return q + up.to(I64)


def floor_div(num: torch.Tensor, den: torch.Tensor | int) -> torch.Tensor:
    """Python ``//`` (floor) on int64 tensors."""
    return torch.div(num, den, rounding_mode="floor")


def isqrt(v: torch.Tensor) -> torch.Tensor:
    """``floor(sqrt(v))`` element-wise for ``0 <= v < 2^62``: a float64 estimate corrected by
    exact integer comparisons until no element moves."""
    r = torch.sqrt(v.clamp(min=0).to(torch.float64)).floor().to(I64)
    for _ in range(64):
        too_big = r * r > v
        too_small = (r + 1) * (r + 1) <= v
        if not bool(too_big.any() or too_small.any()):
            break
        r = r - too_big.to(I64) + too_small.to(I64)
    return torch.where(v <= 0, torch.zeros_like(r), r)


def bit_length(x: torch.Tensor) -> torch.Tensor:
    """Number of bits of non-negative int64 values (0 for 0)."""
    n = torch.zeros_like(x)
    y = x.clone()
    for _ in range(63):
        nz = y > 0
        if not bool(nz.any()):
            break
        n = n + nz.to(I64)
        y = torch.bitwise_right_shift(y, 1)
    return n
