"""Hex packing of integer tensors for ``$readmemh``: one element per line, two's complement
masked to the declared width, ``ceil(bits/4)`` lower-case hex digits, no prefix.

>>> to_hex_lines([-1, 0, 5, -128, 127], bits=8)
['ff', '00', '05', '80', '7f']
>>> to_hex_lines([-1, 3], bits=6)
['3f', '03']
>>> from_hex_lines(['3f', '03'], bits=6, signed=True)
[-1, 3]
>>> from_hex_lines(['3f', '03'], bits=6, signed=False)
[63, 3]
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from refmodel.fixedpoint import int_range

_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NEWLINE = ord("\n")


def hex_digits(bits: int) -> int:
    """Digits per element: ``ceil(bits / 4)``."""
    return (bits + 3) // 4


def to_hex_lines(values: Iterable[int], bits: int, signed: bool = True) -> list[str]:
    """Each value masked to ``bits`` (two's complement), as fixed-width hex.

    A value outside the declared width is an error, never silently wrapped.
    """
    lo, hi = int_range(bits, signed)
    mask = (1 << bits) - 1
    width = hex_digits(bits)
    lines = []
    for index, v in enumerate(values):
        v = int(v)
        if not lo <= v <= hi:
            raise ValueError(f"values: element {index} = {v} is outside the declared width [{lo}, {hi}]")
        lines.append(format(v & mask, f"0{width}x"))
    return lines


def from_hex_lines(lines: Sequence[str], bits: int, signed: bool = True) -> list[int]:
    """Inverse of :func:`to_hex_lines`: parse and sign-extend. Raises ``ValueError`` naming
    the line for a malformed entry."""
    width = hex_digits(bits)
    out = []
    for index, line in enumerate(lines):
        text = line.strip()
        if len(text) != width:
            raise ValueError(f"line {index + 1}: expected {width} hex digits, got {text!r}")
        try:
            v = int(text, 16)
        except ValueError:
            raise ValueError(f"line {index + 1}: not a hex number: {text!r}") from None
        if v >> bits:
            raise ValueError(f"line {index + 1}: {text!r} has bits above the declared width {bits}")
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def to_hex_text(values: Iterable[int], bits: int, signed: bool = True) -> str:
    """The file content: the lines of :func:`to_hex_lines`, each ending in a newline.
    Arrays of up to 63-bit values are encoded without a Python loop (same bytes)."""
    if bits <= 63 or (bits == 64 and signed):
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values))
        if array.dtype.kind in "iu" and (array.dtype.kind == "i" or array.dtype.itemsize < 8):
            return _to_hex_array(array.astype(np.int64).reshape(-1), bits, signed).decode()
    return "".join(line + "\n" for line in to_hex_lines(values, bits, signed))


def _to_hex_array(values: np.ndarray, bits: int, signed: bool) -> bytes:
    lo, hi = int_range(bits, signed)
    bad = np.flatnonzero((values < lo) | (values > hi))
    if bad.size:
        index = int(bad[0])
        raise ValueError(f"values: element {index} = {int(values[index])} is outside the declared width [{lo}, {hi}]")
    width = hex_digits(bits)
    masked = values.view(np.uint64) & np.uint64((1 << bits) - 1)  # bits <= 64
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    text = np.empty((values.size, width + 1), dtype=np.uint8)
    text[:, :width] = _DIGITS[((masked[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    text[:, width] = _NEWLINE
    return text.tobytes()


def from_hex_text(text: str, bits: int, signed: bool = True) -> list[int]:
    """Parse a whole ``.hex`` file's content."""
    return from_hex_array(text, bits, signed).tolist()


def from_hex_array(text: str, bits: int, signed: bool = True) -> np.ndarray:
    """:func:`from_hex_text` as an int64 array. A file in the writer's exact layout (fixed-width
    lower-case lines, each ending in a newline, up to 63 bits) is parsed without a Python
    loop (64-bit signed files too); anything else goes through :func:`from_hex_lines`, whose errors name the line."""
    width = hex_digits(bits)
    data = np.frombuffer(text.encode(), dtype=np.uint8) if text.isascii() else None
    if (bits <= 63 or (bits == 64 and signed)) and data is not None and data.size % (width + 1) == 0:
        grid = data.reshape(-1, width + 1)
        digits = grid[:, :width]
        is_digit = (digits >= ord("0")) & (digits <= ord("9"))
        is_letter = (digits >= ord("a")) & (digits <= ord("f"))
        if np.all(grid[:, width] == _NEWLINE) and np.all(is_digit | is_letter):
            nibbles = np.where(is_digit, digits - ord("0"), digits - ord("a") + 10).astype(np.int64)
            values = np.zeros(grid.shape[0], dtype=np.int64)
            for column in range(width):
                values = (values << 4) | nibbles[:, column]
            if bits == 64:  # 16 nibbles shifted into int64 are already the two's complement reading
                return values
            if not np.any(values >> bits):
                if signed:
                    sign = np.int64(1 << (bits - 1))
                    values = (values ^ sign) - sign
                return values
    lines = [line for line in text.splitlines() if line.strip()]
    return np.asarray(from_hex_lines(lines, bits, signed), dtype=np.int64) if bits <= 63 else np.asarray(from_hex_lines(lines, bits, signed), dtype=object)
