"""``quantize``: real values to integers, the one place a real tensor enters the integer
network (the image; weights, biases, the class token and the position embedding; activations
a method keeps in float), decisions D1, D5, D7.

For a real input ``x`` (float16/32/64, finite), a scale ``s`` (one float, or one per channel
of the last axis), a zero point ``zp`` and a width::

    v   = float64(x) / float64(s)           IEEE float64 division, correctly rounded
    r   = round_half_even(v)                exact on the float64 value v
    out = saturate(r + zp, bits, signed)    (D5)

``float64(x)`` is exact for every float16/float32/float64 ``x``; a float32 scale widens
exactly too. ``r + zp`` is formed in float64 (exact: ``|r + zp|`` is an integer, and any
value past the saturation bounds saturates whatever its rounding), then saturated and
converted to int64. This is the only op with a real input: it is named ``x``, has no
integer width (``in_specs`` is empty) and non-finite values are refused. See
``docs/ops/quantize.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.jit import prange, rows_kernel
from refmodel.ops import params
from refmodel.ops.kernel import IntSpec, Kernel

#: Zero points are integers of this many bits at most.
MAX_ZERO_POINT = 1 << 32


@rows_kernel
def _quantize_rows(x, scale, zero_point, lo, hi):
    rows, cols = x.shape
    out = np.empty((rows, cols), dtype=np.int64)
    for i in prange(rows):
        for j in range(cols):
            v = x[i, j] / scale[j]
            r = np.floor(v)
            d = v - r  # exact: v and floor(v) share their exponent range
            if d > 0.5 or (d == 0.5 and np.fmod(r, 2.0) != 0.0):
                r += 1.0
            r += zero_point
            if r < lo:
                out[i, j] = lo
            elif r > hi:
                out[i, j] = hi
            else:
                out[i, j] = np.int64(r)
    return out


class Quantize(Kernel):
    name = "quantize"
    reduces_rows = False
    inputs = ()

    def _scales(self, cols: int) -> np.ndarray:
        s = np.atleast_1d(np.asarray(self.params["scale"], dtype=np.float64))
        return np.full(cols, s[0]) if s.size == 1 else s

    def _check_real(self, shape: tuple[int, ...], finite: bool) -> None:
        if len(shape) == 0 or shape[-1] == 0:
            raise ValueError(f"x: expected at least one axis with at least one element, got shape {shape}")
        if self.channels is not None and shape[-1] != self.channels:
            raise ValueError(f"x: last axis has {shape[-1]} elements but the op was made for {self.channels} channels")
        if not finite:
            raise ValueError("x: every value must be finite (no NaN or infinity)")

    def sim(self, x: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """Numba path: a real numpy array in, int64 of the same shape out."""
        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            raise ValueError(f"x: expected a real (floating-point) numpy array, got dtype {arr.dtype}")
        self._check_real(arr.shape, bool(np.isfinite(arr).all()))
        rows = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.float64)
        return _quantize_rows(rows, self._scales(rows.shape[1]), float(self.config["zero_point"]), self.out_spec.lo, self.out_spec.hi).reshape(arr.shape)

    def fakequant(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """PyTorch path: a real tensor in, int64 of the same shape out."""
        if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
            raise ValueError(f"x: expected a real (floating-point) tensor, got {getattr(x, 'dtype', type(x).__name__)}")
        self._check_real(tuple(x.shape), bool(torch.isfinite(x).all()))
        scale = torch.as_tensor(self.params["scale"], dtype=torch.float64, device=x.device)
        q = torch.round(x.detach().to(torch.float64) / scale) + self.config["zero_point"]
        return q.clamp(self.out_spec.lo, self.out_spec.hi).to(torch.int64)


def make(scale: Any, bits: int, signed: bool = True, zero_point: int = 0) -> Quantize:
    """Build the quantiser of real values at ``scale`` (float or per-channel array on the last
    axis) to ``bits``-wide integers of the given signedness, with ``zero_point`` added."""
    s = params.scale_scalar_or_vector("scale", scale)
    bits = params.bits("bits", bits)
    signed = params.flag("signed", signed)
    zero_point = params.integer("zero_point", zero_point, -MAX_ZERO_POINT, MAX_ZERO_POINT)
    per_channel = np.ndim(s) == 1
    config = {"bits": bits, "signed": int(signed), "zero_point": zero_point}
    return Quantize(
        params={"scale": s, "bits": bits, "signed": signed, "zero_point": zero_point},
        config=config,
        in_spec={},
        out_spec=IntSpec(bits, signed),
        scale_out=s,
        channels=len(s) if per_channel else None,
    )
