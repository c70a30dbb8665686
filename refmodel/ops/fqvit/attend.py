"""``fqvit.attend``: FQ-ViT's attention probabilities times V in shift form (decisions D10, D11).

Inputs, by name: ``codes`` of shape ``(..., M, K)``, the unsigned ``code_bits`` log2 codes of
``fqvit.softmax`` (code ``k`` means ``2^-k``, the all-ones code means 0), and ``v`` of shape
``(..., K, N)``, signed ``v_bits`` integers with scale ``scale_v``, same leading axes::

    ACC[..., i, d] = sum_{j : code_ij != 2^code_bits - 1} (v_jd << F) >> code_ij

``>>`` is the arithmetic (floor) shift, so each term is ``floor(v * 2^(F - code))``; shifts of
63 or more give ``-1`` for negative ``v`` and 0 otherwise. ``F = frac_bits``; the output scale
is ``scale_v * 2^-F``. An exact product would need ``2^code_bits - 2`` fractional bits.

Widths: ``|v << F| < 2^(v_bits - 1 + F) <= 2^62`` and each term lies between
``vlo * 2^F`` and ``vhi * 2^F`` (code 0), so with ``K = depth``
``ACC`` lies in ``[K * vlo * 2^F, K * vhi * 2^F]`` (:meth:`FqvitAttend.bounds`); a width above
32 bits is refused unless ``acc_bits`` declares it. The Numba kernel loops over the terms; the
PyTorch twin groups them by code into exact integer matmuls. See ``docs/ops/fqvit.attend.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import int_range
from refmodel.jit import prange, rows_kernel
from refmodel.ops import intmatmul, params
from refmodel.ops.kernel import IntSpec, Kernel

DEFAULT_FRAC_BITS = 16
#: ``v << F`` must stay below 2^62.
SHIFTED_LIMIT_BITS = 62
MAX_CODE_BITS = 16
MAX_DEPTH = 1 << 24


@rows_kernel
def _attend_rows(codes, v, frac, zero_code):
    """``codes (B, M, K)``, ``v (B, K, N)`` -> ``(B, M, N)``, parallel over the ``B * M`` rows."""
    batches, rows, depth = codes.shape
    cols = v.shape[2]
    out = np.zeros((batches, rows, cols), dtype=np.int64)
    for r in prange(batches * rows):
        n = r // rows
        i = r - n * rows
        for kk in range(depth):
            code = codes[n, i, kk]
            if code == zero_code:
                continue
            for j in range(cols):
                x = v[n, kk, j] << frac
                if code >= 63:
                    out[n, i, j] += -1 if x < 0 else 0
                else:
                    out[n, i, j] += x >> code
    return out


def _twin_attend(codes: torch.Tensor, v: torch.Tensor, frac: int, zero_code: int) -> torch.Tensor:
    """The terms grouped by code, each group one exact matmul: codes ``k <= F`` contribute
    ``v * 2^(F-k)`` (one matmul with weights ``2^(F-k)``); codes ``F < k < F + w`` (``w`` the
    width of ``v``) contribute ``floor(v / 2^(k-F))`` (one matmul per code); larger codes give
    ``floor(v / 2^(k-F))``, which is -1 for negative ``v`` and 0 otherwise (one matmul)."""
    live = codes != zero_code
    width = max(int(v.abs().max()).bit_length() + 1, 2) if v.numel() else 2
    exact_part = torch.where(live & (codes <= frac), torch.bitwise_left_shift(torch.ones_like(codes), (frac - codes).clamp(min=0)), torch.zeros_like(codes))
    acc = intmatmul.matmul_torch(exact_part, v)
    for k in range(frac + 1, frac + width):
        mask = (live & (codes == k)).to(torch.int64)
        if bool(mask.any()):
            acc = acc + intmatmul.matmul_torch(mask, torch.div(v, 1 << (k - frac), rounding_mode="floor"))
    tail = (live & (codes >= frac + width)).to(torch.int64)
    if bool(tail.any()):
        acc = acc + intmatmul.matmul_torch(tail, -(v < 0).to(torch.int64))
    return acc


class FqvitAttend(Kernel):
    name = "fqvit.attend"
    reduces_rows = False
    inputs = ("codes", "v")

    def __init__(self, *, acc_range: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acc_range = acc_range

    def bounds(self) -> dict[str, tuple[int, int]]:
        f = self.config["frac_bits"]
        v = self.in_specs["v"]
        return {"VF": (v.lo << f, v.hi << f), "ACC": self._acc_range}

    def _check_shapes(self, codes: tuple[int, ...], v: tuple[int, ...]) -> None:
        depth = self.config["depth"]
        if len(codes) < 2 or codes[-1] != depth:
            raise ValueError(f"codes: expected shape (..., M, {depth}), got {codes}")
        if len(v) != len(codes) or v[-2] != depth or v[:-2] != codes[:-2]:
            raise ValueError(f"v: expected shape {codes[:-2] + (depth, 'N')} to match codes {codes}, got {v}")

    def _sim_inputs(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        codes, v = arrays["codes"], arrays["v"]
        self._check_shapes(codes.shape, v.shape)
        lead = codes.shape[:-2]
        out = _attend_rows(
            np.ascontiguousarray(codes.reshape((-1,) + codes.shape[-2:])),
            np.ascontiguousarray(v.reshape((-1,) + v.shape[-2:])),
            self.config["frac_bits"],
            self.config["zero_code"],
        )
        return out.reshape(lead + (codes.shape[-2], v.shape[-1]))

    def _twin_inputs(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        codes, v = tensors["codes"], tensors["v"]
        self._check_shapes(tuple(codes.shape), tuple(v.shape))
        return _twin_attend(codes, v, self.config["frac_bits"], self.config["zero_code"])


def make(
    scale_v: Any,
    depth: int,
    code_bits: int = 6,
    v_bits: int = 8,
    frac_bits: int = DEFAULT_FRAC_BITS,
    acc_bits: int | None = None,
) -> FqvitAttend:
    """Build the shift-form ``P V`` for ``code_bits`` log2 codes and signed ``v_bits`` values of
    scale ``scale_v`` over ``depth`` tokens, with ``frac_bits`` fractional bits."""
    s_v = params.scalar_scale("scale_v", scale_v)
    depth = params.integer("depth", depth, 1, MAX_DEPTH)
    code_bits = params.bits("code_bits", code_bits, params.MIN_BITS, MAX_CODE_BITS)
    v_bits = params.bits("v_bits", v_bits)
    frac_bits = params.integer("frac_bits", frac_bits, 0, SHIFTED_LIMIT_BITS + 1 - v_bits)
    vlo, vhi = int_range(v_bits, True)
    acc_range = (depth * (vlo << frac_bits), depth * (vhi << frac_bits))
    acc_bits = params.accumulator_bits(acc_bits, acc_range, f"depth={depth}, v_bits={v_bits}, frac_bits={frac_bits}")
    config = {
        "depth": depth,
        "code_bits": code_bits,
        "zero_code": (1 << code_bits) - 1,
        "v_bits": v_bits,
        "frac_bits": frac_bits,
        "acc_bits": acc_bits,
    }
    return FqvitAttend(
        acc_range=acc_range,
        params={"scale_v": s_v, "depth": depth, "code_bits": code_bits, "v_bits": v_bits, "frac_bits": frac_bits, "acc_bits": acc_bits},
        config=config,
        in_spec={"codes": IntSpec(code_bits, False), "v": IntSpec(v_bits, True)},
        out_spec=IntSpec(acc_bits, True),
        scale_out=s_v * 2.0**-frac_bits,
    )
