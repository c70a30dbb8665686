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

from refmodel.fixedpoint import int_range


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
    """The file content: the lines of :func:`to_hex_lines`, each ending in a newline."""
    return "".join(line + "\n" for line in to_hex_lines(values, bits, signed))


def from_hex_text(text: str, bits: int, signed: bool = True) -> list[int]:
    """Parse a whole ``.hex`` file's content."""
    return from_hex_lines([line for line in text.splitlines() if line.strip()], bits, signed)
