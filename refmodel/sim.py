"""``python -m refmodel.sim MODEL``: run every non-linear slot of a ViT through refmodel.

This release runs the op-level form: for each slot of the model (``blocks.i.norm1``,
``blocks.i.attn.softmax``, ``blocks.i.norm2``, ``blocks.i.mlp.act``, final ``norm``), each
candidate method of the mixed method runs on seeded synthetic integer inputs of the slot's
shape (``refmodel.synthetic``), through both the Numba kernel and the PyTorch twin, and the
two must agree on every element. The quantized timm model, calibration and the SQNR plan
build on these kernels.

The last line is ``bit-exact slots: K/N``; the exit status is non-zero when ``K < N``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from refmodel import ops, synthetic

TOKENS = 197


@dataclass(frozen=True)
class Architecture:
    """What fixes a plain ViT's slot shapes."""

    embed_dim: int
    heads: int
    depth: int = 12
    mlp_ratio: int = 4


ARCHITECTURES = {
    "deit_t": Architecture(192, 3),
    "deit_s": Architecture(384, 6),
    "deit_b": Architecture(768, 12),
    "vit_s": Architecture(384, 6),
    "vit_b": Architecture(768, 12),
}

CANDIDATES = {
    "softmax": ("ibert.softmax", "fqvit.softmax", "ivit.softmax"),
    "gelu": ("ibert.gelu", "ivit.gelu"),
    "layernorm": ("ibert.layernorm", "fqvit.layernorm", "ivit.layernorm"),
}


@dataclass(frozen=True)
class Slot:
    name: str
    kind: str
    shape: tuple[int, ...]


def slots(arch: Architecture) -> list[Slot]:
    """The model's non-linear slots, in forward order, with one image's tensor shape each."""
    d = arch.embed_dim
    out = []
    for i in range(arch.depth):
        out += [
            Slot(f"blocks.{i}.norm1", "layernorm", (TOKENS, d)),
            Slot(f"blocks.{i}.attn.softmax", "softmax", (arch.heads, TOKENS, TOKENS)),
            Slot(f"blocks.{i}.norm2", "layernorm", (TOKENS, d)),
            Slot(f"blocks.{i}.mlp.act", "gelu", (TOKENS, arch.mlp_ratio * d)),
        ]
    out.append(Slot("norm", "layernorm", (TOKENS, d)))
    return out


def check_slot(slot: Slot, bits: int, rng: np.random.Generator) -> dict[str, bool]:
    """Run every candidate method of ``slot`` through both datapaths; True where they agree."""
    result = {}
    for op in CANDIDATES[slot.kind]:
        params = synthetic.params(op, rng, slot.shape[-1], bits)
        q = synthetic.inputs(op, params, slot.shape, rng)
        kernel = ops.make(op, **params)
        result[op] = bool(np.array_equal(kernel.sim(q), kernel.fakequant(torch.from_numpy(q)).numpy()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refmodel.sim",
        description="Run every non-linear slot of MODEL through each candidate integer method, "
        "Numba kernel against PyTorch twin, on seeded synthetic inputs of the slot's shape; "
        "ends with 'bit-exact slots: K/N' and exits non-zero when K < N.",
    )
    parser.add_argument("model", help=f"model short name: {', '.join(ARCHITECTURES)}")
    parser.add_argument("--bits", type=int, default=8, help="activation width of the setting: 8 or 6 (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic inputs (default 0)")
    args = parser.parse_args(argv)
    if args.model not in ARCHITECTURES:
        print(f"error: unknown model {args.model!r}; known models: {', '.join(ARCHITECTURES)}", file=sys.stderr)
        return 2
    if args.bits not in (6, 8):
        print(f"error: --bits must be 8 or 6, got {args.bits}", file=sys.stderr)
        return 2
    arch = ARCHITECTURES[args.model]
    rng = np.random.default_rng(args.seed)
    all_slots = slots(arch)
    print(f"{args.model}: {len(all_slots)} non-linear slots, W{args.bits}A{args.bits} setting, seed {args.seed}")
    print("inputs: seeded synthetic integers at each slot's shape (no checkpoint or images are used at op level)")
    start = time.perf_counter()
    exact = 0
    print(f"{'slot':<24} {'kind':<10} {'elements':>9}  methods (Numba == PyTorch)")
    for slot in all_slots:
        agree = check_slot(slot, args.bits, rng)
        exact += all(agree.values())
        marks = "  ".join(f"{op}:{'ok' if ok else 'MISMATCH'}" for op, ok in agree.items())
        print(f"{slot.name:<24} {slot.kind:<10} {int(np.prod(slot.shape)):>9}  {marks}", flush=True)
    print(f"time: {time.perf_counter() - start:.1f} s (includes first-call compile or cache load)")
    print(f"bit-exact slots: {exact}/{len(all_slots)}")
    return 0 if exact == len(all_slots) else 1


if __name__ == "__main__":
    sys.exit(main())
