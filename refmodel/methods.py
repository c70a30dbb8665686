"""The registry of non-linear methods: each method is declared here once, and every other
module (the op registry, the slots, the plan, the pipeline, the report, the golden vectors,
the benchmark, the synthetic data) reads it.

A :class:`Method` names its op for each slot kind it covers (``softmax``, ``gelu``,
``layernorm``), its tie-break rank in the plan, how the model wires its ops (the GELU input
and output, the softmax output width, the LayerNorm input) and, per op, the module that
builds it, the one-line rule written into vector sets, its golden cases and its synthetic
parameters. Adding a method is one :func:`register` call (or one entry in :data:`BUILTIN`)
plus its op modules.

An unknown method name is a ``ValueError`` naming it (:func:`get`, :func:`parse`); nothing
falls through to another method.

>>> [m for m in names()]
['ibert', 'fqvit', 'ivit', 'lut']
>>> DEFAULT
('ibert', 'fqvit', 'ivit')
>>> list(tie_break())
['ivit', 'ibert', 'fqvit', 'lut']
>>> candidates("gelu", DEFAULT)
('ibert', 'ivit')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from refmodel import synthetic

#: The slot kinds of a quantized ViT, in report order.
KINDS = ("softmax", "gelu", "layernorm")
#: What a uniform copy of a method runs in a slot of a kind the method has no op for:
#: GELU stays float (FQ-ViT upstream); softmax and LayerNorm take the wiring's own method.
FALLBACK = {"gelu": "float", "softmax": "ivit", "layernorm": "ivit"}
#: Widths the activation-width ops are exercised at (golden vectors).
ACTIVATION_WIDTHS = (8, 6)
#: Golden shape of softmax cases: (batch, heads, tokens) rows of 32 keys.
SOFTMAX_SHAPE = (2, 3, 197)

#: GELU input: ``accumulator`` = the fc1 accumulator itself (per-channel scales, its own
#: width); ``activation`` = the accumulator requantised to the activation width by the slot's
#: input quantizer.
GeluInput = Literal["accumulator", "activation"]
#: LayerNorm input: ``residual`` = the 16-bit residual stream; ``ptf`` = FQ-ViT's
#: power-of-two-factor quantizer at the activation width.
LayerNormInput = Literal["residual", "ptf"]

SyntheticParams = Callable[[np.random.Generator, int, int], dict[str, Any]]


@dataclass(frozen=True)
class Golden:
    """The golden cases of an op: input widths, row length, shape of the realistic case and,
    where a uniform draw over the whole input width is not useful, its range."""

    widths: tuple[int, ...]
    channels: int
    shape: tuple[int, ...]
    random_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class Op:
    """One op of a method: its name (``<method>.<kind>``), the module with its ``make``, the
    rule line of its vector sets, its golden cases and its synthetic parameters
    ``(rng, channels, width) -> params``."""

    name: str
    module: str
    rule: str
    golden: Golden
    synthetic: SyntheticParams


@dataclass(frozen=True)
class Method:
    """A non-linear method: its ops per slot kind and how the model wires them."""

    name: str
    #: Tie-break rank in the plan: among equal dSQNR the smallest rank wins.
    rank: int
    ops: Mapping[str, Op]
    gelu_input: GeluInput = "activation"
    #: ``None``: the GELU op chooses its own output scale. ``f``: the slot builds the op for
    #: the output scale ``scale_in * 2^-f`` and width ``in_bits + f`` (a table's fine output).
    #: Either way the slot's output quantizer then requantises it.
    gelu_out_frac_bits: int | None = None
    #: Softmax output width (D13) in ViT/DeiT and in Swin.
    softmax_out_bits: int = 16
    swin_softmax_out_bits: int = 16
    layernorm_input: LayerNormInput = "residual"

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name == FALLBACK["gelu"]:
            raise ValueError(f"name: a method name must be an identifier other than 'float', got {self.name!r}")
        for kind, op in self.ops.items():
            if kind not in KINDS:
                raise ValueError(f"ops: {self.name}: unknown slot kind {kind!r}; kinds: {', '.join(KINDS)}")
            if op.name != f"{self.name}.{kind}":
                raise ValueError(f"ops: {self.name}: the {kind} op must be named {self.name}.{kind}, got {op.name!r}")
        for key, value, allowed in (
            ("gelu_input", self.gelu_input, ("accumulator", "activation")),
            ("layernorm_input", self.layernorm_input, ("residual", "ptf")),
        ):
            if value not in allowed:
                raise ValueError(f"{key}: {self.name}: must be one of {', '.join(allowed)}, got {value!r}")
        if self.gelu_out_frac_bits is not None and not 0 <= self.gelu_out_frac_bits <= 16:
            raise ValueError(f"gelu_out_frac_bits: {self.name}: must be None or in [0, 16], got {self.gelu_out_frac_bits!r}")

    def op(self, kind: str) -> str:
        """The name of this method's op for slot kind ``kind`` (``ValueError`` if it has none)."""
        if kind not in self.ops:
            raise ValueError(f"method: {self.name} has no {kind} op")
        return self.ops[kind].name


def _golden_act(channels: int, shape: tuple[int, ...]) -> Golden:
    return Golden(ACTIVATION_WIDTHS, channels, shape)


_SOFTMAX_GOLDEN = _golden_act(32, SOFTMAX_SHAPE)
_GELU_GOLDEN = _golden_act(96, (8, 96))
_RESIDUAL_LN_GOLDEN = Golden((16,), 192, (8, 192))

BUILTIN: tuple[Method, ...] = (
    # I-BERT (Kim et al., 2021): polynomial exp and erf, integer square root
    Method(
        name="ibert",
        rank=1,
        gelu_input="accumulator",
        ops={
            "softmax": Op(
                "ibert.softmax",
                "refmodel.ops.ibert.softmax",
                "I-BERT polynomial exp, 16-bit requant of E (D4), exact 2^32//sum (D2), floor shift; docs/ops/ibert.softmax.md",
                _SOFTMAX_GOLDEN,
                synthetic.softmax_params,
            ),
            "gelu": Op(
                "ibert.gelu",
                "refmodel.ops.ibert.gelu",
                "I-BERT i-GELU, erf polynomial, >>14 floor, output integers negated (D15); docs/ops/ibert.gelu.md",
                Golden((32,), 96, (8, 96), random_range=(-(2**20), 2**20)),
                synthetic.accumulator_gelu_params,
            ),
            "layernorm": Op(
                "ibert.layernorm",
                "refmodel.ops.ibert.layernorm",
                "exact mean (rne), exact isqrt, 2^31//std, (Y*F)>>1, per-channel bias, sign of gamma (D3, D8, D15); docs/ops/ibert.layernorm.md",
                _RESIDUAL_LN_GOLDEN,
                synthetic.residual_layernorm_params,
            ),
        },
    ),
    # FQ-ViT (Lin et al., 2022): Log-Int-Softmax, PTF LayerNorm; GELU stays float
    Method(
        name="fqvit",
        rank=2,
        softmax_out_bits=6,
        swin_softmax_out_bits=6,
        layernorm_input="ptf",
        ops={
            "softmax": Op(
                "fqvit.softmax",
                "refmodel.ops.fqvit.softmax",
                "Log-Int-Softmax, R = rne(sum/E), log2 code with 1.5*2^k threshold, code 2^b-1 = zero (D10, D16); docs/ops/fqvit.softmax.md",
                _SOFTMAX_GOLDEN,
                synthetic.softmax_params,
            ),
            "layernorm": Op(
                "fqvit.layernorm",
                "refmodel.ops.fqvit.layernorm",
                "integer-only FQ-ViT LayerNorm with PTF shifts, 8-bit mantissa M, shift N, bias B (D9); docs/ops/fqvit.layernorm.md",
                _golden_act(192, (8, 192)),
                synthetic.ptf_layernorm_params,
            ),
        },
    ),
    # I-ViT (Li & Gu, 2023): Shiftmax, ShiftGELU, I-LayerNorm
    Method(
        name="ivit",
        rank=0,
        swin_softmax_out_bits=8,
        ops={
            "softmax": Op(
                "ivit.softmax",
                "refmodel.ops.ivit.softmax",
                "I-ViT Shiftmax, shift-exp, sum clamped at 2^31-1, (2^31-1)//sum (D2); docs/ops/ivit.softmax.md",
                _SOFTMAX_GOLDEN,
                synthetic.softmax_params,
            ),
            "gelu": Op(
                "ivit.gelu",
                "refmodel.ops.ivit.gelu",
                "I-ViT ShiftGELU, x*sigmoid(1.702x) by shift-exp, sum clamped at 2^31-1 (D14); docs/ops/ivit.gelu.md",
                _GELU_GOLDEN,
                synthetic.activation_gelu_params,
            ),
            "layernorm": Op(
                "ivit.layernorm",
                "refmodel.ops.ivit.layernorm",
                "exact mean (rne), 10 Newton steps from 2^16 (D3), (2^31-1)//std, per-channel bias (D15); docs/ops/ivit.layernorm.md",
                _RESIDUAL_LN_GOLDEN,
                synthetic.residual_layernorm_params,
            ),
        },
    ),
    # exact lookup tables: rounded GELU table, exp table softmax, rsqrt mantissa table LayerNorm
    Method(
        name="lut",
        rank=3,
        gelu_out_frac_bits=8,
        ops={
            "softmax": Op(
                "lut.softmax",
                "refmodel.ops.lut.softmax",
                "exp table E[t] = rne(2^F exp(-t s)), exact sum S, R = 2^62//S, rne_shift(E*R, 62-(b-1)); docs/ops/lut.softmax.md",
                _SOFTMAX_GOLDEN,
                synthetic.softmax_params,
            ),
            "gelu": Op(
                "lut.gelu",
                "refmodel.ops.lut.gelu",
                "table[x + 2^(b-1)] = sat(rne(GELU(x s_in) / s_out)), float64 GELU with math.erf; docs/ops/lut.gelu.md",
                _GELU_GOLDEN,
                synthetic.table_gelu_params,
            ),
            "layernorm": Op(
                "lut.layernorm",
                "refmodel.ops.lut.layernorm",
                "exact mean (rne) and variance, leading one of V, rsqrt mantissa table, rne_shift(Y*T, e+shift), per-channel bias (D8, D15); docs/ops/lut.layernorm.md",
                _RESIDUAL_LN_GOLDEN,
                synthetic.residual_layernorm_params,
            ),
        },
    ),
)

#: The paper's three methods: the default candidates of ``python -m refmodel.sim``.
DEFAULT = ("ibert", "fqvit", "ivit")

_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` (``ValueError`` if its name is taken; its op names, ``<name>.<kind>``,
    are then new too)."""
    if method.name in _REGISTRY:
        raise ValueError(f"name: method {method.name!r} is already registered")
    _REGISTRY[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a registered method (for methods registered at run time, e.g. in tests)."""
    get(name)
    del _REGISTRY[name]


for _method in BUILTIN:
    register(_method)


# ----------------------------------------------------------------------------- queries
def names() -> list[str]:
    """Every registered method, in registration order."""
    return list(_REGISTRY)


def get(name: str) -> Method:
    """The method called ``name``; ``ValueError`` naming it when there is none."""
    method = _REGISTRY.get(name)
    if method is None:
        raise ValueError(f"method: unknown method {name!r}; known methods: {', '.join(_REGISTRY)}")
    return method


def parse(text: str) -> tuple[str, ...]:
    """A comma-separated list of method names (``--methods``), each checked, no repeats."""
    chosen = tuple(part.strip() for part in text.split(","))
    if not text.strip() or any(not part for part in chosen):
        raise ValueError(f"--methods: expected a comma-separated list of methods ({', '.join(_REGISTRY)}), got {text!r}")
    for name in chosen:
        if name not in _REGISTRY:
            raise ValueError(f"--methods: unknown method {name!r}; known methods: {', '.join(_REGISTRY)}")
    repeated = sorted({n for n in chosen if chosen.count(n) > 1})
    if repeated:
        raise ValueError(f"--methods: method {repeated[0]!r} is named twice")
    return chosen


def candidates(kind: str, chosen: Sequence[str] | None = None) -> tuple[str, ...]:
    """The methods (of ``chosen``, by default all registered ones) that have an op of ``kind``."""
    pool = names() if chosen is None else [get(n).name for n in chosen]
    return tuple(n for n in pool if kind in _REGISTRY[n].ops)


def tie_break() -> tuple[str, ...]:
    """Every registered method, by rank (then name)."""
    return tuple(m.name for m in sorted(_REGISTRY.values(), key=lambda m: (m.rank, m.name)))


def uniform_choice(method: str, kind: str) -> str:
    """What the uniform copy of ``method`` runs in a slot of ``kind``: the method itself, or
    :data:`FALLBACK` for a kind it has no op for."""
    return method if kind in get(method).ops else FALLBACK[kind]


def ops() -> dict[str, Op]:
    """Every op of every registered method, by op name."""
    return {op.name: op for m in _REGISTRY.values() for op in m.ops.values()}


def op(name: str) -> Op:
    """The registered op called ``name`` (``ValueError`` if no method declares it)."""
    found = ops().get(name)
    if found is None:
        raise ValueError(f"op: {name!r} is not the op of a registered method")
    return found


def kind_of(op_name: str) -> str:
    """The slot kind of a method's op (``"<method>.<kind>"``)."""
    return op(op_name).name.rsplit(".", 1)[1]


# ----------------------------------------------------------------------------- live views
class LiveMapping(Mapping[str, Any]):
    """A read-only mapping recomputed from the registry on every access, so that a method
    registered later (a test's, a user's) appears in it."""

    def __init__(self, build: Callable[[], Mapping[str, Any]]) -> None:
        self._build = build

    def __getitem__(self, key: str) -> Any:
        return self._build()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())

    def __repr__(self) -> str:
        return f"LiveMapping({dict(self._build())!r})"


class LiveSequence(Sequence[str]):
    """A read-only tuple recomputed from the registry on every access."""

    def __init__(self, build: Callable[[], tuple[str, ...]]) -> None:
        self._build = build

    def __getitem__(self, index):  # type: ignore[override]
        return self._build()[index]

    def __len__(self) -> int:
        return len(self._build())

    def __repr__(self) -> str:
        return f"LiveSequence({self._build()!r})"


def softmax_out_bits(swin: bool = False) -> LiveMapping:
    """Method -> softmax output width (D13), for ViT/DeiT or for Swin."""
    return LiveMapping(
        lambda: {m.name: (m.swin_softmax_out_bits if swin else m.softmax_out_bits) for m in _REGISTRY.values() if "softmax" in m.ops}
    )


__all__ = [
    "KINDS",
    "DEFAULT",
    "FALLBACK",
    "Method",
    "Op",
    "Golden",
    "register",
    "unregister",
    "names",
    "get",
    "parse",
    "candidates",
    "tie_break",
    "uniform_choice",
    "ops",
    "op",
    "kind_of",
    "LiveMapping",
    "LiveSequence",
    "softmax_out_bits",
]
