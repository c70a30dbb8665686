"""``matmul``: the exact product of two integer activations (attention's ``q k^T`` and ``P V``).

Inputs, by name: ``a`` of shape ``(..., M, K)`` and ``b`` of shape ``(..., K, N)`` with the
same leading axes::

    ACC[..., i, j] = sum_k a[..., i, k] * b[..., k, j]        (exact)

with scale ``scale_a * scale_b`` (float64). Nothing is rounded or saturated.

Widths: ``a`` and ``b`` are integers of ``a_bits`` / ``b_bits`` of the given signedness and
``K = depth`` is fixed at ``make`` time, so every product lies in the interval product
``[pmin, pmax]`` of the two ranges and ``ACC`` in ``[K * pmin, K * pmax]``
(:meth:`Matmul.bounds`). A proven width above 32 bits is refused unless the caller declares
``acc_bits`` (up to 63; :func:`refmodel.ops.params.accumulator_bits`). Both datapaths compute the product with
:mod:`refmodel.ops.intmatmul` (BLAS under its checked bound, else int64). See
``docs/ops/matmul.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from refmodel.ops import intmatmul, params
from refmodel.ops.kernel import IntSpec, Kernel

#: Longest reduction accepted (far above any attention's token count).
MAX_DEPTH = 1 << 24


def product_range(a: IntSpec, b: IntSpec) -> tuple[int, int]:
    """The range of ``x * y`` for ``x`` in ``a``'s range and ``y`` in ``b``'s."""
    corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    return min(corners), max(corners)


class Matmul(Kernel):
    name = "matmul"
    reduces_rows = False
    inputs = ("a", "b")
    range_in_kernel = True
    strided_inputs = True  # a head of q, k or v, and k^T, are read in place

    def __init__(self, *, acc_range: tuple[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._acc_range = acc_range

    def bounds(self) -> dict[str, tuple[int, int]]:
        return {"ACC": self._acc_range}

    def _check_shapes(self, a: tuple[int, ...], b: tuple[int, ...]) -> None:
        depth = self.config["depth"]
        if len(a) < 2 or a[-1] != depth:
            raise ValueError(f"a: expected shape (..., M, {depth}), got {a}")
        if len(b) != len(a) or b[-2] != depth or b[:-2] != a[:-2]:
            raise ValueError(f"b: expected shape {a[:-2] + (depth, 'N')} to match a {a}, got {b}")

    def _sim_inputs(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        a, b = (intmatmul.Operand(arrays[name]) for name in self.inputs)  # each converted with its range
        self._check_range(a.lo, a.hi, "a")
        self._check_range(b.lo, b.hi, "b")
        self._check_shapes(a.shape, b.shape)
        return intmatmul.matmul_np(a, b)

    def _twin_inputs(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        a, b = tensors["a"], tensors["b"]
        self._check_shapes(tuple(a.shape), tuple(b.shape))
        return intmatmul.matmul_torch(a, b)


def make(
    scale_a: Any,
    scale_b: Any,
    depth: int,
    a_bits: int = 8,
    b_bits: int = 8,
    a_signed: bool = True,
    b_signed: bool = True,
    acc_bits: int | None = None,
) -> Matmul:
    """Build ``a @ b`` for inputs of scales ``scale_a``/``scale_b``, widths ``a_bits``/``b_bits``
    (signed unless ``a_signed``/``b_signed`` is False) and reduction length ``depth``."""
    s_a = params.scalar_scale("scale_a", scale_a)
    s_b = params.scalar_scale("scale_b", scale_b)
    depth = params.integer("depth", depth, 1, MAX_DEPTH)
    a_bits = params.bits("a_bits", a_bits)
    b_bits = params.bits("b_bits", b_bits)
    a_signed = params.flag("a_signed", a_signed)
    b_signed = params.flag("b_signed", b_signed)
    a_spec, b_spec = IntSpec(a_bits, a_signed), IntSpec(b_bits, b_signed)
    pmin, pmax = product_range(a_spec, b_spec)
    acc_range = (depth * pmin, depth * pmax)
    acc_bits = params.accumulator_bits(acc_bits, acc_range, f"depth={depth}, a_bits={a_bits}, b_bits={b_bits}")
    config = {
        "depth": depth,
        "a_bits": a_bits,
        "a_signed": int(a_signed),
        "b_bits": b_bits,
        "b_signed": int(b_signed),
        "acc_bits": acc_bits,
    }
    return Matmul(
        acc_range=acc_range,
        params={"scale_a": s_a, "scale_b": s_b, "depth": depth, "a_bits": a_bits, "b_bits": b_bits, "a_signed": a_signed, "b_signed": b_signed, "acc_bits": acc_bits},
        config=config,
        in_spec={"a": a_spec, "b": b_spec},
        out_spec=IntSpec(acc_bits, True),
        scale_out=s_a * s_b,
    )
