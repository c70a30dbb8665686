"""I-BERT's integer exponential (i-exp), shared by ``ibert.softmax`` and ``fqvit.softmax``.

For ``D <= 0`` (an input minus its row maximum, in units of the input scale ``s``)::

    D  = max(D, n * x0)                 clamp: the exponent never goes below 2^-n
    q  = D // x0                        0 <= q <= n  (floor division, x0 < 0)
    r  = D - x0 * q                     x0 < r <= 0
    z  = r * (r + Bq) + Cq              1 <= z <= Cq   (checked when the constants are derived)
    E  = z << (n - q)                   exp(D * s) ~= E * (a * s^2) * 2^-n

``z`` is I-BERT's polynomial ``p(x) = a x^2 + b x + 1`` (``a = 0.35815147``,
``b = 0.96963238``) at ``x = r * s``, in units of ``a * s^2``: ``z ~= p(r s) / (a s^2)``, and
``p`` approximates ``exp`` on ``(-ln 2, 0]``. Constants (decision D0: float64 quotients, then
floor)::

    x0 = floor(-0.6931 / s)
    Bq = floor((0.96963238 / 0.35815147) / s)
    Cq = floor((1 / 0.35815147) / (s * s))

The two ops differ in what they do with ``E``: ``ibert.softmax`` never forms it (it folds
``2^(n-q)`` into a rounding shift), ``fqvit.softmax`` materialises it. This module holds the
constants, the checks that bound ``z``, and one integer helper per datapath (written
separately on purpose: the Numba helper works on scalars, the torch helpers on tensors, one of
them on whole rows, ``D = X - max(X)``).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from refmodel.fixedpoint import floor_div
from refmodel.jit import scalar_helper

#: "ln 2" as I-BERT writes it (0.6931, not 0.693147...).
LN2 = 0.6931
#: I-BERT's polynomial exp(x) ~= a*x^2 + b*x + c on (-ln2, 0], with c = 1.
POLY_A = 0.35815147
POLY_B = 0.96963238
#: b / a and c / a as float64 quotients (D0); the integer constants divide these by s and s^2.
B_OVER_A = POLY_B / POLY_A
C_OVER_A = 1.0 / POLY_A


@dataclass(frozen=True)
class IExpConstants:
    """The i-exp register values for one input scale."""

    x0: int
    bq: int
    cq: int

    def z(self, r: int) -> int:
        """The polynomial ``z(r) = r * (r + Bq) + Cq`` (exact Python int)."""
        return r * (r + self.bq) + self.cq

    @property
    def z_low(self) -> int:
        """``z(x0 + 1)``: the smallest ``z`` (``z`` increases with ``r`` on ``[x0+1, 0]``)."""
        return self.z(self.x0 + 1)

    def registers(self) -> dict[str, int]:
        """The three register values ``{"x0", "bq", "cq"}`` as an op's config lists them."""
        return {"x0": self.x0, "bq": self.bq, "cq": self.cq}


def constants(scale_in: float) -> IExpConstants:
    """``(x0, Bq, Cq)`` of scale ``s``, unchecked (D0: float64 quotient, then floor)."""
    s = float(scale_in)
    return IExpConstants(
        x0=floor_div(-LN2, s),
        bq=floor_div(B_OVER_A, s),
        cq=floor_div(C_OVER_A, s * s),
    )


def scale_range(cq_limit: int) -> tuple[float, float]:
    """The float64 scales ``[lo, hi]`` with ``1 <= Cq < cq_limit`` (bisection on the D0 formula).

    ``Cq`` decreases as ``s`` grows, so ``lo`` is the smallest scale with ``Cq < cq_limit`` and
    ``hi`` the largest with ``Cq >= 1``.
    """

    def bisect(pred: Callable[[float], bool], a: float, b: float) -> float:
        """Smallest float in ``(a, b]`` where ``pred`` holds, ``pred`` monotone False -> True."""
        for _ in range(200):
            mid = 0.5 * (a + b)
            if mid in (a, b):
                break
            if pred(mid):
                b = mid
            else:
                a = mid
        return b

    lo = bisect(lambda s: constants(s).cq < cq_limit, 1e-12, 1.0)
    first_zero = bisect(lambda s: constants(s).cq < 1, 1.0, 16.0)
    return lo, float(np.nextafter(first_zero, 0.0))


def derive_iexp(scale_in: float, cq_limit: int, why_limit: str) -> IExpConstants:
    """Constants for ``scale_in``, checked: ``1 <= Cq < cq_limit``, ``z`` non-decreasing in ``r``
    on ``[x0+1, 0]``, and ``z(x0+1) >= 1`` (so every ``z`` lies in ``[1, Cq]``).

    ``why_limit`` says which intermediate ``cq_limit`` protects (for the error message).
    Raises ``ValueError("scale_in: ...")`` otherwise.
    """
    k = constants(scale_in)
    if not 1 <= k.cq < cq_limit:
        lo, hi = scale_range(cq_limit)
        raise ValueError(
            f"scale_in: must be in [{lo:.6g}, {hi:.6g}], got {scale_in!r} "
            f"(Cq = floor({C_OVER_A!r} / s^2) = {k.cq}; Cq >= 1 keeps the exp positive and "
            f"Cq < 2^{cq_limit.bit_length() - 1} keeps {why_limit})"
        )
    # z(r+1) - z(r) = 2r + 1 + Bq is smallest at r = x0 + 1.
    if k.x0 <= -2 and 2 * (k.x0 + 1) + 1 + k.bq < 0:
        raise ValueError(
            f"scale_in: the exp polynomial decreases on its interval at scale {scale_in!r} "
            f"(x0 = {k.x0}, Bq = {k.bq}); this scale is not supported"
        )
    if k.z_low < 1:
        raise ValueError(
            f"scale_in: the exp polynomial reaches {k.z_low} < 1 at r = x0 + 1 for scale "
            f"{scale_in!r} (x0 = {k.x0}, Bq = {k.bq}, Cq = {k.cq}); this scale is not supported"
        )
    return k


def boundary_quotients(x0: int, n: int, in_bits: int) -> range:
    """The quotients ``q + 1`` whose boundary ``D = (q+1) * x0`` (with ``D = (q+1)*x0 + 1``
    above it) is reachable: ``1 <= q + 1 <= n`` and ``|(q+1) * x0| <= 2^in_bits - 1``."""
    span = (1 << in_bits) - 1
    return range(1, min(n, span // -x0) + 1)


def to_single(x: float) -> float:
    """``x`` rounded to the nearest IEEE binary32 (single-precision) value, as a Python float:
    the form in which models store scales."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def single_step(x: float, up: bool) -> float:
    """The next binary32 value above (``up``) or below a positive normal binary32 value ``x``
    (its 24-bit mantissa makes the step ``2^(e - 24)``, halved just below a power of two)."""
    mant, e = math.frexp(x)
    ulp = 2.0 ** (e - 24)
    if not up and mant == 0.5:
        ulp *= 0.5
    return x + ulp if up else x - ulp


def nearest_accepted(scale_in: float, accepted: Callable[[float], bool], steps: int = 256) -> tuple[float | None, float | None]:
    """The nearest binary32 scales below and above ``scale_in`` that ``accepted`` takes
    (searching ``steps`` binary32 steps each way; ``None`` where none is found)."""
    start = to_single(scale_in)
    found: list[float | None] = []
    for up in (False, True):
        s = start
        hit = None
        for _ in range(steps):
            s = single_step(s, up)
            if accepted(s):
                hit = s
                break
        found.append(hit)
    return found[0], found[1]


# ---------------------------------------------------------------------------- Numba helper
@scalar_helper
def nb_iexp_qz(d: int, neg_x0: int, bq: int, cq: int, d_min: int) -> tuple[int, int]:
    """Numba: ``(q, z)`` of ``D = d`` (``d <= 0``), with ``neg_x0 = -x0 > 0`` and
    ``d_min = n * x0``. Works on non-negative operands so the division is a plain one:
    ``q = (-D) // (-x0)``, ``r = (-x0) * q - (-D)``."""
    if d < d_min:
        d = d_min
    nd = -d
    q = nd // neg_x0
    r = neg_x0 * q - nd
    return q, r * (r + bq) + cq


# ---------------------------------------------------------------------------- torch helper
def torch_iexp_qz(d: torch.Tensor, x0: int, bq: int, cq: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch: ``(q, z)`` element-wise for an int64 tensor ``d <= 0``."""
    d = torch.clamp(d, min=n * x0)
    q = torch.div(d, x0, rounding_mode="floor")
    r = d - q * x0
    return q, r * (r + bq) + cq


def torch_row_iexp_qz(rows: torch.Tensor, x0: int, bq: int, cq: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch: ``(q, z)`` of ``D = X - max(X)`` for int64 ``(R, C)`` rows ``X``."""
    d = rows - rows.max(dim=1, keepdim=True).values
    return torch_iexp_qz(d, x0, bq, cq, n)


__all__ = [
    "LN2",
    "POLY_A",
    "POLY_B",
    "B_OVER_A",
    "C_OVER_A",
    "IExpConstants",
    "constants",
    "scale_range",
    "derive_iexp",
    "boundary_quotients",
    "to_single",
    "single_step",
    "nearest_accepted",
    "nb_iexp_qz",
    "torch_iexp_qz",
    "torch_row_iexp_qz",
]
