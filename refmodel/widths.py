"""The width profile of the integer network: for every signal of every layer (its inputs, its
output or accumulator, the named intermediates its op document proves) the declared width,
the proven worst-case width, and the largest magnitude the run produced; plus the
data-dependent precision an op reports through :meth:`refmodel.ops.Kernel.precision` (I-ViT
Shiftmax's factor ``F = (2^31-1) // sum``) and the datapath of every exact product (float32
or float64 BLAS under the bound of :mod:`refmodel.ops.intmatmul`, or int64).

A value outside its declared width is never wrapped: inputs are refused by the op itself,
and :meth:`WidthProfile.observe` returns the line naming an output beyond its declared width,
which the engine counts as a failed layer.

Widths: ``width(lo, hi, signed)`` is the fewest bits holding ``[lo, hi]``; a signal's unused
bits are its declared width less the width of the range it took.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from refmodel import ops
from refmodel.ops import intmatmul

HEADER = ("layer", "op", "signal", "signed", "declared_bits", "proven_bits", "seen_min", "seen_max", "seen_bits", "unused_bits", "note")


def width(lo: int, hi: int, signed: bool) -> int:
    """The fewest bits of a ``signed`` (two's complement) or unsigned integer holding
    ``[lo, hi]``: ``max(bitlen(hi), bitlen(-lo - 1)) + 1`` signed, ``bitlen(hi)`` unsigned
    (at least 1)."""
    if signed:
        return max(max(int(hi), 0).bit_length(), int(-lo - 1).bit_length() if lo < 0 else 0) + 1
    return max(1, int(hi).bit_length())


@dataclass
class Signal:
    """One signal of one layer, its seen range merged over every batch."""

    layer: str
    op: str
    name: str
    signed: bool
    declared: int | None
    proven: tuple[int, int] | None
    lo: int | None = None
    hi: int | None = None
    note: str = ""

    def see(self, lo: int, hi: int) -> None:
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)

    @property
    def seen_bits(self) -> int | None:
        return None if self.lo is None else width(self.lo, self.hi, self.signed)

    @property
    def proven_bits(self) -> int | None:
        return None if self.proven is None else width(*self.proven, True)

    @property
    def unused(self) -> int | None:
        return None if self.declared is None or self.seen_bits is None else self.declared - self.seen_bits

    def row(self) -> tuple:
        blank = lambda v: "" if v is None else v  # noqa: E731
        return (self.layer, self.op, self.name, int(self.signed), blank(self.declared), blank(self.proven_bits), blank(self.lo), blank(self.hi), blank(self.seen_bits), blank(self.unused), self.note)


def proven_bounds(kernel: ops.Kernel) -> dict[str, tuple[int, int]]:
    """The op's proven ranges: :meth:`Kernel.bounds`, else its module's ``bounds(config)``."""
    found = kernel.bounds()
    if not found:
        module = importlib.import_module(type(kernel).__module__)
        fn = getattr(module, "bounds", None)
        if callable(fn):
            try:
                found = fn(kernel.config)
            except (KeyError, TypeError, ValueError):
                found = {}
    return {k: (int(v[0]), int(v[1])) for k, v in found.items()}


def _range(t: torch.Tensor) -> tuple[int, int]:
    lo, hi = torch.aminmax(t)
    return int(lo), int(hi)


def _max_abs(lo: int, hi: int) -> int:
    return max(abs(lo), abs(hi))


class WidthProfile:
    """Signals of every layer, in the order the engine first ran them."""

    def __init__(self) -> None:
        self.signals: dict[tuple[str, str], Signal] = {}
        #: (layer, quantity) -> fewest significant bits seen.
        self.precision: dict[tuple[str, str], int] = {}
        self._operands: dict[str, tuple[int, int]] = {}
        self._precision_ops: dict[str, str] = {}

    def _signal(self, layer: str, kernel: ops.Kernel, name: str, signed: bool, declared: int | None, proven: tuple[int, int] | None) -> Signal:
        key = (layer, name)
        if key not in self.signals:
            self.signals[key] = Signal(layer, kernel.name, name, signed, declared, proven)
        return self.signals[key]

    def observe(self, layer: str, kernel: ops.Kernel, inputs: dict[str, torch.Tensor], output: torch.Tensor) -> str | None:
        """Merge one run of ``layer`` into the profile; returns a line naming the layer when its
        output lies beyond its declared width, else ``None``."""
        seen_in: dict[str, tuple[int, int]] = {}
        for name, t in inputs.items():
            if t.dtype.is_floating_point or not t.numel():
                continue  # a real input (the quantize op): no integer width
            spec = kernel.in_specs.get(name)
            lo, hi = seen_in[name] = _range(t)
            sig = self._signal(layer, kernel, f"in:{name}", spec.signed if spec else True, spec.bits if spec else None, None)
            sig.see(lo, hi)
        bounds = proven_bounds(kernel)
        out_name = "ACC" if "ACC" in bounds else "OUT"
        spec = kernel.out_spec
        out = self._signal(layer, kernel, f"out:{out_name}", spec.signed, spec.bits, bounds.get(out_name))
        problem = None
        if output.numel():
            lo, hi = _range(output)
            out.see(lo, hi)
            if lo < spec.lo or hi > spec.hi:
                problem = f"output range [{lo}, {hi}] beyond its declared width ({spec.describe()})"
            out.note = self._product_path(layer, kernel, seen_in) or out.note
        for name, rng in bounds.items():
            if name not in ("ACC", "OUT"):
                self._signal(layer, kernel, name, True, None, rng)
        for name, bits in kernel.precision(inputs["q"].numpy()).items() if "q" in inputs else ():
            key = (layer, name)
            self.precision[key] = min(bits, self.precision.get(key, bits))
            self._precision_ops[layer] = kernel.name
        return problem

    def _product_path(self, layer: str, kernel: ops.Kernel, seen: dict[str, tuple[int, int]]) -> str | None:
        """How intmatmul computes the layer's product at the largest operands seen so far
        (``None`` for ops without one)."""
        if kernel.name == "gemm" and "q" in seen:
            a_max, b_max, depth = _max_abs(*seen["q"]), int(np.abs(kernel.params["weight"]).max()), kernel.params["weight"].shape[1]
        elif kernel.name == "matmul" and "a" in seen and "b" in seen:
            a_max, b_max, depth = _max_abs(*seen["a"]), _max_abs(*seen["b"]), kernel.config["depth"]
        else:
            return None
        old = self._operands.get(layer, (0, 0))
        a_max, b_max = max(a_max, old[0]), max(b_max, old[1])
        self._operands[layer] = (a_max, b_max)
        path, chunk = intmatmul.plan(depth, a_max, b_max)
        return f"product: {path}" + (f" chunks of {chunk}" if path != "int64" else "") + f" (K={depth}, max|a|={a_max}, max|b|={b_max})"

    # ------------------------------------------------------------------ output
    def csv_text(self) -> str:
        """``widths.csv``: one row per signal, then one per precision minimum."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(HEADER)
        for sig in self.signals.values():
            writer.writerow(sig.row())
        for (layer, name), bits in self.precision.items():
            writer.writerow((layer, self._precision_ops.get(layer, ""), f"precision:{name}", 0, "", "", "", "", bits, "", "fewest significant bits on any row"))
        return buf.getvalue()

    def write(self, path: Path) -> None:
        path.write_text(self.csv_text())

    def summary(self, top: int = 5) -> list[str]:
        """Report lines: the signals with the most unused bits (a signal of every block is one
        entry, ``blocks.*.attn.qk``, with its fewest unused bits over the blocks), and the
        precision minimum."""
        groups: dict[tuple[str, str], list[Signal]] = {}
        for s in self.signals.values():
            if s.unused is not None:
                groups.setdefault((re.sub(r"\.\d+(?=\.)", ".*", s.layer), s.name), []).append(s)
        ranked = sorted(groups.items(), key=lambda kv: (-min(s.unused for s in kv[1]), kv[0]))
        lines = [f"width profile: {len(self.signals)} signals of {len({s.layer for s in self.signals.values()})} layers (widths.csv with --out)"]
        for (layer, name), members in ranked[:top]:
            widest = max(members, key=lambda s: s.seen_bits)
            count = f" in {len(members)} layers" if len(members) > 1 else ""
            lines.append(
                f"  most unused bits: {layer} {name} ({widest.op}): declared {widest.declared}, at most {widest.seen_bits} used{count} "
                f"([{min(s.lo for s in members)}, {max(s.hi for s in members)}]), {min(s.unused for s in members)} unused"
            )
        if self.precision:
            (layer, name), bits = min(self.precision.items(), key=lambda kv: (kv[1], kv[0]))
            lines.append(f"  precision minimum: {layer} {name} keeps {bits} significant bit{'s' if bits != 1 else ''} (fewest of {len(self.precision)} layers)")
        return lines
