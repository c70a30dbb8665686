"""Validation of op parameters: every bad value is a ``ValueError`` naming the parameter and
the accepted range. Nothing is clipped or coerced silently."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from refmodel.fixedpoint import int_range, signed_width

MIN_BITS, MAX_BITS = 2, 32
#: The accumulator register of the linear layers and attention products (I-ViT, D7), and the
#: widest accumulator an op may declare (int64).
DEFAULT_ACC_BITS, MAX_ACC_BITS = 32, 63


def scalar_scale(name: str, value: Any) -> float:
    """A single positive, finite scale, returned as a Python float (float64)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        arr = np.asarray(value)
        if arr.ndim == 0 and arr.dtype.kind in "fiu":
            value = arr.item()
        else:
            raise ValueError(f"{name}: expected one positive finite float, got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{name}: must be a positive finite float in (0, inf), got {value!r}")
    return x


def scale_vector(name: str, value: Any, length: int | None = None) -> np.ndarray:
    """A 1-D array of positive finite scales (float64). ``length`` checks its size."""
    arr = np.asarray(value, dtype=np.float64) if _is_numeric(value) else None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of positive floats, got {value!r}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name}: expected {length} values (one per channel), got {arr.size}")
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0.0)):
        raise ValueError(f"{name}: every value must be positive and finite, in (0, inf)")
    return arr


def scale_scalar_or_vector(name: str, value: Any) -> float | np.ndarray:
    """A positive scale, either one float or a per-channel 1-D array."""
    if np.ndim(value) == 0:
        return scalar_scale(name, value)
    return scale_vector(name, value)


def float_vector(name: str, value: Any, length: int | None = None) -> np.ndarray:
    """A non-empty 1-D array of finite floats (float64), e.g. LayerNorm ``gamma``/``beta``."""
    arr = np.asarray(value, dtype=np.float64) if _is_numeric(value) else None
    if arr is None or arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of finite floats, got {value!r}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name}: expected {length} values (one per channel), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: every value must be finite")
    return arr


def integer(name: str, value: Any, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise ValueError(f"{name}: must be in [{lo}, {hi}], got {v}")
    return v


def integer_array(name: str, value: Any, bits: int, shape: tuple[int | None, ...]) -> np.ndarray:
    """A non-empty int64 array of rank ``len(shape)`` (``None``: any length) whose values are
    signed ``bits``-wide integers. Float arrays are refused, even with integral values."""
    arr = np.asarray(value) if _is_numeric(value) else None
    if arr is None or arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected an integer array, got {getattr(arr, 'dtype', type(value).__name__)}")
    if arr.ndim != len(shape) or arr.size == 0 or any(w is not None and g != w for g, w in zip(arr.shape, shape)):
        wanted = " x ".join("n" if w is None else str(w) for w in shape)
        raise ValueError(f"{name}: expected a non-empty {wanted} integer array, got shape {arr.shape}")
    lo, hi = int_range(bits, True)
    if int(arr.min()) < lo or int(arr.max()) > hi:
        raise ValueError(f"{name}: values must lie in [{lo}, {hi}] (signed {bits}-bit), got min {int(arr.min())}, max {int(arr.max())}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def bits(name: str, value: Any, lo: int = MIN_BITS, hi: int = MAX_BITS) -> int:
    """A bit width in ``[lo, hi]`` (by default 2..32)."""
    return integer(name, value, lo, hi)


def accumulator_bits(acc_bits: Any, acc_range: tuple[int, int], why: str) -> int:
    """The accumulator width an op declares: ``acc_bits`` when given (at least the width of
    the proven range ``acc_range``, at most 63), else 32 when the proven width fits in it.
    ``why`` names what the proof is built from, for the error line."""
    proven = signed_width(*acc_range)
    if acc_bits is None:
        if proven > DEFAULT_ACC_BITS:
            raise ValueError(
                f"acc_bits: the accumulator needs {proven} bits (proven from {why}), more than the "
                f"default {DEFAULT_ACC_BITS}; declare acc_bits={proven} or more"
            )
        return DEFAULT_ACC_BITS
    acc_bits = bits("acc_bits", acc_bits, MIN_BITS, MAX_ACC_BITS)
    if acc_bits < proven:
        raise ValueError(f"acc_bits: the accumulator needs {proven} bits (proven from {why}), got {acc_bits}")
    return acc_bits


def flag(name: str, value: Any) -> bool:
    """A boolean."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _is_numeric(value: Any) -> bool:
    try:
        arr = np.asarray(value)
    except Exception:  # ragged or exotic input
        return False
    return arr.dtype.kind in "fiu"
