"""``gemm``: a linear layer's exact integer accumulator (decision D7).

For signed ``in_bits`` activations ``X`` (last axis ``K``), signed ``w_bits`` weights ``W``
(``N x K``, one row per output channel, quantized per channel) and a 32-bit bias ``B``::

    ACC[..., o] = B[o] + sum_k X[..., k] * W[o, k]         (exact)

with scale ``scale_w[o] * scale_in`` per output channel (float64 product). ``W`` and ``B`` are
the op's config (register values). Nothing is rounded or saturated: the next requantiser
does that.

Widths: with ``xlo = -2^(in_bits-1)``, ``xhi = 2^(in_bits-1) - 1``, channel ``o`` reaches
exactly ``[B[o] + xhi*Sneg[o] + xlo*Spos[o], B[o] + xhi*Spos[o] + xlo*Sneg[o]]``, where
``Spos``/``Sneg`` are the sums of its positive/negative weights; :meth:`Gemm.bounds` is the
union over channels and ``acc_bits`` its signed width at least. The generic worst case over
all weights is ``K * 2^(in_bits-1) * 2^(w_bits-1) + 2^31``. A proven width above 32 bits is
refused unless the caller declares ``acc_bits`` (up to 63). Both datapaths compute the
product with :mod:`refmodel.ops.intmatmul` (BLAS under its checked bound, else int64). See
``docs/ops/gemm.md``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from refmodel.fixedpoint import int_range
from refmodel.ops import intmatmul, params
from refmodel.ops.kernel import IntSpec, Kernel

BIAS_BITS = 32


def channel_bounds(weight: np.ndarray, bias: np.ndarray, in_bits: int) -> list[tuple[int, int]]:
    """The exact range ``[lo_o, hi_o]`` of each output channel's accumulator over all inputs
    of width ``in_bits`` (Python ints: no overflow)."""
    xlo, xhi = int_range(in_bits, True)
    s_pos = np.where(weight > 0, weight, 0).sum(axis=1).tolist()  # |sum| <= K * 2^31 < 2^63
    s_neg = np.where(weight < 0, weight, 0).sum(axis=1).tolist()
    return [(b + xhi * sn + xlo * sp, b + xhi * sp + xlo * sn) for b, sp, sn in zip(bias.tolist(), s_pos, s_neg)]


class Gemm(Kernel):
    name = "gemm"
    reduces_rows = False
    range_in_kernel = True

    def __init__(self, *, weight: np.ndarray, bias: np.ndarray, acc_range: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._w_t = intmatmul.Operand(weight.T[None], fixed=True)  # (1, K, N)
        self._bias = np.array(bias, dtype=np.int64)
        self._w_t_torch = torch.from_numpy(weight.copy()).t()
        self._bias_torch = torch.from_numpy(bias.copy())
        self._acc_range = acc_range

    def bounds(self) -> dict[str, tuple[int, int]]:
        return {"ACC": self._acc_range}

    def with_scale_in(self, scale_in: Any) -> Gemm:
        """This op for another input scale: the same weights, bias, widths and proof (none of
        them depends on the scale; the weights' float copies are shared), with
        ``scale_out = scale_w * scale_in``. What a layer needs when calibration moves its
        input scale and nothing else."""
        s_in = params.scalar_scale("scale_in", scale_in)
        other = copy.copy(self)
        other.params = {**self.params, "scale_in": s_in}
        other.scale_out = self.params["scale_w"] * s_in
        return other

    def _out_cols(self, cols: int) -> int:
        return self._w_t.shape[2]

    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        x = intmatmul.Operand(rows[None])
        self._check_range(x.lo, x.hi)
        return intmatmul.matmul_np(x, self._w_t, self._bias)[0]

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        w_t, bias = self._w_t_torch.to(rows.device), self._bias_torch.to(rows.device)
        return intmatmul.matmul_torch(rows, w_t) + bias


def make(
    weight: Any,
    scale_in: Any,
    scale_w: Any,
    bias: Any = None,
    in_bits: int = 8,
    w_bits: int = 8,
    acc_bits: int | None = None,
) -> Gemm:
    """Build the accumulator of ``X @ weight^T + bias`` for ``weight`` of shape ``N x K``
    (integers of ``w_bits``), ``bias`` (``N`` integers of 32 bits; ``None``: zeros), input
    scale ``scale_in`` and per-output-channel weight scales ``scale_w``."""
    in_bits = params.bits("in_bits", in_bits)
    w_bits = params.bits("w_bits", w_bits)
    w = params.integer_array("weight", weight, w_bits, (None, None))
    n_out = w.shape[0]
    b = np.zeros(n_out, dtype=np.int64) if bias is None else params.integer_array("bias", bias, BIAS_BITS, (n_out,))
    s_in = params.scalar_scale("scale_in", scale_in)
    s_w = params.scale_vector("scale_w", scale_w, n_out)
    per_channel = channel_bounds(w, b, in_bits)
    acc_range = (min(lo for lo, _ in per_channel), max(hi for _, hi in per_channel))
    acc_bits = params.accumulator_bits(acc_bits, acc_range, f"the weights, bias and in_bits={in_bits}")
    config = {"weight": w.tolist(), "bias": b.tolist(), "in_bits": in_bits, "w_bits": w_bits, "acc_bits": acc_bits}
    return Gemm(
        weight=w,
        bias=b,
        acc_range=acc_range,
        params={"weight": w, "scale_in": s_in, "scale_w": s_w, "bias": b, "in_bits": in_bits, "w_bits": w_bits, "acc_bits": acc_bits},
        config=config,
        in_spec=IntSpec(in_bits, True),
        out_spec=IntSpec(acc_bits, True),
        scale_out=s_w * s_in,
        channels=w.shape[1],
    )
