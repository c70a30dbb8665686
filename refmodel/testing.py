"""Property tests against refmodel: hypothesis strategies per op, a scoreboard, hex I/O.

An engineer who checks an implementation of an op (RTL in cocotb, a C model, an HLS kernel)
draws cases from the strategies, runs them through the implementation and compares with the
reference::

    from hypothesis import given
    from refmodel.testing import assert_matches, cases

    @given(cases("ivit.softmax"))
    def test_my_softmax(case):
        assert_matches(case.kernel, case.q, my_softmax(case.q, **case.kernel.config))

- :func:`params` draws parameters ``refmodel.ops.make`` accepts; :func:`inputs` draws an input
  tensor of a kernel's declared width with the op's sensitive values mixed in; :func:`cases`
  draws both (a :class:`Case`).
- :func:`compare` runs the reference (``Kernel.sim``) and reports the first mismatches in the
  SystemVerilog testbench's format (``mismatch at index I: input X, expected E, got G``, last
  line ``N vectors, E errors``); :func:`assert_matches` raises :class:`MismatchError` with it.
- The vector format: :func:`read_set` (one exported set), :func:`read_hex`/:func:`write_hex`
  (one ``.hex`` file) and the line-level helpers of :mod:`refmodel.hexio`.

Input rows mix generic patterns (uniform, the extremes of the width, all-equal rows, a narrow
cluster, edge values scattered in random rows, one column) with each op's own sensitive values
(:class:`Edges`): the exponent clamp of every softmax and of ShiftGELU, the clip of i-GELU,
the saturation of the requantiser, zero-variance and nearly constant LayerNorm rows. Adding an
op is one entry in :data:`STRATEGIES`. With ``NUMBA_DISABLE_JIT=1`` the kernels run as plain
Python and the shapes shrink (:data:`MAX_ROWS`, :data:`MAX_COLS`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import int_range
from refmodel.hexio import from_hex_lines, from_hex_text, hex_digits, to_hex_lines, to_hex_text
from refmodel.ops.fqvit import layernorm as fqvit_layernorm
from refmodel.ops.fqvit import softmax as fqvit_softmax
from refmodel.ops.ibert import layernorm as ibert_layernorm
from refmodel.ops.ivit import layernorm as ivit_layernorm
from refmodel.ops.ivit import shiftexp
from refmodel.vectorset import read as read_set

__all__ = [
    "MAX_COLS",
    "MAX_ROWS",
    "PLAIN_PYTHON",
    "STRATEGIES",
    "Case",
    "Edges",
    "Mismatch",
    "MismatchError",
    "OpStrategies",
    "Report",
    "assert_matches",
    "cases",
    "compare",
    "edges",
    "fqvit_layernorm_params",
    "from_hex_lines",
    "from_hex_text",
    "hex_digits",
    "inputs",
    "int_arrays",
    "params",
    "read_hex",
    "read_set",
    "scales",
    "shapes",
    "shiftexp_scales",
    "to_hex_lines",
    "to_hex_text",
    "widths",
    "write_hex",
]

#: True when the kernels run as plain Python (``NUMBA_DISABLE_JIT=1``): smaller shapes.
PLAIN_PYTHON = os.environ.get("NUMBA_DISABLE_JIT") == "1"
#: Largest number of rows and of columns :func:`shapes` draws.
MAX_ROWS = 3 if PLAIN_PYTHON else 12
MAX_COLS = 12 if PLAIN_PYTHON else 256


# ============================================================================ generic strategies
def widths(lo: int = 2, hi: int = 32) -> st.SearchStrategy[int]:
    """A bit width in ``[lo, hi]``."""
    return st.integers(lo, hi)


def scales(lo: float = 1e-3, hi: float = 1.0) -> st.SearchStrategy[float]:
    """A positive scale, log-uniform in ``[lo, hi]``, rounded to float32 as models store it."""
    return st.floats(np.log(lo), np.log(hi)).map(lambda e: float(np.float32(np.exp(e))))


def shapes(max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS, cols: int | None = None) -> st.SearchStrategy[tuple[int, int]]:
    """A 2-D shape ``(rows, cols)``; ``cols`` fixes the last axis."""
    col_st = st.just(cols) if cols is not None else st.integers(1, max_cols)
    return st.tuples(st.integers(1, max_rows), col_st)


@st.composite
def int_arrays(draw: st.DrawFn, bits: int, signed: bool = True, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An int64 array of the given width. Rows are drawn from a mix of patterns that reach the
    edges: uniform, the extremes of the width, all-equal, and a narrow realistic cluster."""
    if shape is None:
        shape = draw(shapes())
    lo, hi = int_range(bits, signed)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["uniform", "extremes", "constant", "cluster", "mixed"]))
    size = int(np.prod(shape))
    if kind == "uniform":
        arr = rng.integers(lo, hi, size=shape, endpoint=True)
    elif kind == "extremes":
        arr = rng.choice(np.array([lo, hi, lo + 1 if hi > lo else lo, hi - 1 if hi > lo else hi, 0 if signed else lo]), size=shape)
    elif kind == "constant":
        arr = np.full(shape, draw(st.integers(lo, hi)))
    elif kind == "cluster":
        center = draw(st.integers(lo, hi))
        spread = max(1, (hi - lo) // 64)
        arr = np.clip(center + rng.integers(-spread, spread, size=shape, endpoint=True), lo, hi)
    else:
        arr = rng.integers(lo, hi, size=size, endpoint=True)
        n_edge = draw(st.integers(0, size))
        idx = rng.choice(size, size=n_edge, replace=False)
        arr[idx] = rng.choice(np.array([lo, hi]), size=n_edge)
        arr = arr.reshape(shape)
    return np.ascontiguousarray(arr, dtype=np.int64)


# ============================================================================ per-op knowledge
@dataclass(frozen=True)
class Edges:
    """The input values one configured op is sensitive to.

    ``values``: absolute input values (a clip or saturation boundary and its neighbours).
    ``offsets``: differences from a row's maximum, ``<= 0`` (where an exponent clamps; also the
    drop from a single maximum to an otherwise constant row).
    """

    values: tuple[int, ...] = ()
    offsets: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpStrategies:
    """What :func:`params` and :func:`inputs` know about one op: a strategy of parameters
    (``make`` may still refuse a rare draw: such draws are discarded), the op's sensitive
    values for a built kernel, and the longest row the kernel accepts (``None``: any)."""

    params: Callable[[], st.SearchStrategy[dict[str, Any]]]
    edges: Callable[[ops.Kernel], Edges]
    max_cols: Callable[[ops.Kernel], int] | None = None


def _around(centres: Iterable[int], reach: int = 1) -> tuple[int, ...]:
    """Each centre and its neighbours within ``reach``, sorted, without repeats."""
    return tuple(sorted({c + d for c in centres for d in range(-reach, reach + 1)}))


# ---------------------------------------------------------------------------- softmax family
def _iexp_edges(k: ops.Kernel) -> Edges:
    """I-BERT's i-exp (``ibert.softmax``, ``fqvit.softmax``): the clamp ``D <= n x0`` and the
    boundaries of the quotient ``q = D // x0`` (multiples of ``x0``)."""
    x0, n = k.config["x0"], k.config["n"]
    return Edges(offsets=_around([x0 * j for j in (1, 2, 3, n - 1, n, n + 1)], 2))


def _shiftexp_edges(k: ops.Kernel) -> Edges:
    """I-ViT's shift-exp (``ivit.softmax``, ``ivit.gelu``): from ``t_sat = max - X`` on the
    exponent is clamped (``E = |x0|``); ``x0`` steps the quotient. ShiftGELU also exponentiates
    ``-max`` itself, so the same distances appear as absolute values."""
    x0, n = k.config["x0"], k.config["n"]
    t_sat = shiftexp.saturation_distance(x0, n)
    return Edges(values=_around([0, t_sat, -t_sat]), offsets=_around([-t_sat, x0, 2 * x0]))


def _ibert_softmax_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"scale_in": scales(2.6e-5, 1.6), "out_bits": widths(), "n": st.integers(1, 62), "in_bits": widths()}
    )


def _fqvit_softmax_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"scale_in": scales(1.9e-5, 1.6), "out_bits": widths(), "in_bits": widths()})


def shiftexp_scales(n: int, gain: float = 1.0) -> st.SearchStrategy[float]:
    """Scales an I-ViT shift-exp op accepts at this ``n`` (``gain`` 1 for Shiftmax, 1.702 for
    ShiftGELU): ``|floor(-1/(gain s))| <= 2^(31-n) - 1``, from that limit up to 20."""
    lo = 1.0 / (gain * (2 ** (31 - n) - 1)) * (1 + 1e-6)
    return scales(max(lo, 1e-6), 20.0)


@st.composite
def _ivit_softmax_params(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 30))
    return {"scale_in": draw(shiftexp_scales(n)), "out_bits": draw(widths()), "n": n, "in_bits": draw(widths())}


@st.composite
def _ivit_gelu_params(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 30))
    return {"scale_in": draw(shiftexp_scales(n, 1.702)), "sig_bits": draw(widths()), "n": n, "in_bits": draw(widths())}


# ---------------------------------------------------------------------------- element-wise
def _per_channel_or_scalar(draw: st.DrawFn, lo: float, hi: float) -> float | np.ndarray:
    """One scale (:func:`scales`), or one per channel (which fixes the op's channel count),
    log-uniform in ``[lo, hi]`` and rounded to float32 like :func:`scales`."""
    if draw(st.booleans()):
        return draw(scales(lo, hi))
    channels = draw(st.integers(1, MAX_COLS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return np.exp(rng.uniform(np.log(lo), np.log(hi), channels)).astype(np.float32).astype(np.float64)


@st.composite
def _ibert_gelu_params(draw: st.DrawFn) -> dict[str, Any]:
    return {"scale_in": _per_channel_or_scalar(draw, 1e-6, 10.0), "in_bits": draw(widths())}


def _ibert_gelu_edges(k: ops.Kernel) -> Edges:
    """i-GELU clips ``|X|`` at ``-Bg`` (per channel)."""
    clips = sorted({-b for b in np.atleast_1d(k.config["bg"]).tolist()})[:8]
    return Edges(values=_around([0, *clips, *(-c for c in clips)]))


@st.composite
def _requant_params(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "scale_in": _per_channel_or_scalar(draw, 1e-4, 10.0),
        "scale_out": draw(scales(1e-4, 10.0)),
        "out_bits": draw(widths()),
        "signed": draw(st.booleans()),
        "in_bits": draw(widths()),
    }


def _requant_edges(k: ops.Kernel) -> Edges:
    """The inputs where ``rne_shift(z m, c)`` first leaves the output width (saturation), per
    channel: ``z ~ (hi + 1/2) / ratio`` and ``(lo - 1/2) / ratio`` with ``ratio = m / 2^c``."""
    out = k.out_spec
    pairs = sorted(set(zip(np.atleast_1d(k.config["m"]).tolist(), np.atleast_1d(k.config["c"]).tolist())))[:8]
    centres = [0]
    for m, c in pairs:
        ratio = m * 2.0**-c
        for edge in (out.hi + 0.5, out.lo - 0.5):
            z = edge / ratio
            if abs(z) < 2.0**40:
                centres.append(math.floor(z))
    return Edges(values=_around(centres, 2))


# ---------------------------------------------------------------------------- LayerNorm family
def _gamma_beta(draw: st.DrawFn, channels: int, ratios: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero ``gamma`` of either sign (magnitudes log-uniform in [1e-3, 10]) and ``beta`` with
    ``|beta / gamma|`` up to ``ratio * sqrt(C)``, ``ratio`` drawn from ``ratios``."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gamma = np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(10.0), channels))).astype(np.float64)
    gamma *= rng.choice([-1.0, 1.0], channels)
    ratio = draw(st.sampled_from(list(ratios)))
    beta = rng.uniform(-1.0, 1.0, channels) * np.abs(gamma) * math.sqrt(channels) * ratio
    return gamma, beta


@st.composite
def _ibert_layernorm_params(draw: st.DrawFn) -> dict[str, Any]:
    channels = draw(st.integers(1, MAX_COLS))
    shift = draw(st.sampled_from(ibert_layernorm.accepted_shifts(channels)[:6]))
    in_bits = draw(st.integers(2, min(26, ibert_layernorm.max_in_bits(shift, channels))))
    gamma, beta = _gamma_beta(draw, channels, (0.0, 0.1, 0.99, 40.0))
    return {"scale_in": draw(scales(1e-4, 1.0)), "gamma": gamma, "beta": beta, "shift": shift, "in_bits": in_bits}


def _ibert_layernorm_edges(k: ops.Kernel) -> Edges:
    """With ``shift > 0``, a row whose centred values all lie in ``[0, 2^shift)`` has ``V = 0``
    (D8): one element ``2^shift - 1`` above an otherwise constant row."""
    top = (1 << k.config["shift"]) - 1
    return Edges(offsets=(-top - 1, -top))


@st.composite
def _ivit_layernorm_params(draw: st.DrawFn) -> dict[str, Any]:
    in_bits = draw(widths())
    channels = draw(st.integers(1, MAX_COLS))
    while channels > 1 and ivit_layernorm.variance_bound(channels, in_bits) >= 2**62:
        channels //= 2
    gamma, beta = _gamma_beta(draw, channels, (0.0, 0.1, 0.99, 40.0))
    return {"scale_in": draw(scales(1e-4, 1.0)), "gamma": gamma, "beta": beta, "iters": draw(st.sampled_from([10, 1, 5, 16])), "in_bits": in_bits}


def _layernorm_edges(k: ops.Kernel) -> Edges:
    """Zero variance (constant rows, generic) and one element a unit off a constant row."""
    return Edges(offsets=(-1,))


@st.composite
def fqvit_layernorm_params(draw: st.DrawFn, max_cols: int = 64) -> dict[str, Any]:
    """Parameters ``fqvit.layernorm`` accepts, up to ``max_cols`` channels: a width, one PTF
    scale or per-channel scales ``s 2^a`` (``a`` in 0..3), a zero point, non-zero ``gamma`` of
    either sign, ``beta`` in [-3, 3], ``scale_out``. A rare draw ``make`` refuses (an output
    wider than 32 bits) remains possible."""
    bits = draw(st.integers(2, fqvit_layernorm.MAX_IN_BITS))
    chans = draw(st.integers(1, max_cols))
    s1 = draw(scales(1e-4, 1.0))
    if draw(st.booleans()):
        scale_in: float | np.ndarray = s1
    else:
        alphas = draw(st.lists(st.integers(0, 3), min_size=chans, max_size=chans))
        scale_in = s1 * 2.0 ** np.array(alphas, dtype=np.float64)
    zp = draw(st.integers(0, (1 << bits) - 1))
    mags = draw(st.lists(scales(1e-3, 10.0), min_size=chans, max_size=chans))
    signs = draw(st.lists(st.sampled_from([1.0, -1.0]), min_size=chans, max_size=chans))
    gamma = np.array(mags) * np.array(signs)
    beta = np.array(draw(st.lists(st.floats(-3.0, 3.0, width=32), min_size=chans, max_size=chans)))
    scale_out = draw(scales(1e-3, 1.0))
    return {"scale_in": scale_in, "zero_point": zp, "gamma": gamma, "beta": beta, "scale_out": scale_out, "in_bits": bits}


def _fqvit_layernorm_edges(k: ops.Kernel) -> Edges:
    """The zero point (the real 0 of the unsigned input) and one element a unit off a constant row."""
    return Edges(values=(k.config["zero_point"],), offsets=(-1,))


#: Strategies per op name. Adding an op: one entry (parameters, edges, optional row limit).
STRATEGIES: dict[str, OpStrategies] = {
    "ibert.softmax": OpStrategies(_ibert_softmax_params, _iexp_edges),
    "ibert.gelu": OpStrategies(_ibert_gelu_params, _ibert_gelu_edges),
    "ibert.layernorm": OpStrategies(_ibert_layernorm_params, _ibert_layernorm_edges),
    "ivit.softmax": OpStrategies(_ivit_softmax_params, _shiftexp_edges),
    "ivit.gelu": OpStrategies(_ivit_gelu_params, _shiftexp_edges),
    "ivit.layernorm": OpStrategies(_ivit_layernorm_params, _layernorm_edges),
    "fqvit.softmax": OpStrategies(_fqvit_softmax_params, _iexp_edges, lambda k: fqvit_softmax.max_columns(k.config["cq"])),
    "fqvit.layernorm": OpStrategies(lambda: fqvit_layernorm_params(min(64, MAX_COLS)), _fqvit_layernorm_edges),
    "requant": OpStrategies(_requant_params, _requant_edges),
}


def _entry(name: str) -> OpStrategies:
    if name in STRATEGIES:
        return STRATEGIES[name]
    if name in ops.names():
        raise ValueError(
            f"name: op {name!r} has no hypothesis strategies yet (refmodel.testing.STRATEGIES); "
            f"ops with strategies: {', '.join(sorted(STRATEGIES))}"
        )
    raise ValueError(f"name: unknown op {name!r}; known ops: {', '.join(ops.names())}")


# ============================================================================ public strategies
def edges(kernel: ops.Kernel) -> Edges:
    """The sensitive input values of a built kernel: its op's :class:`Edges` plus the extremes
    of the input width (and 0 when signed), every value inside the width."""
    own = _own_edges(kernel)
    spec = kernel.in_spec
    generic = [spec.lo, spec.lo + 1, spec.hi - 1, spec.hi, 0]
    values = sorted({v for v in (*generic, *own.values) if spec.lo <= v <= spec.hi})
    return Edges(values=tuple(values), offsets=tuple(sorted({0, *own.offsets})))


def _own_edges(kernel: ops.Kernel) -> Edges:
    """The op's own :class:`Edges`: values inside the input width, offsets ``<= 0``."""
    own = _entry(kernel.name).edges(kernel)
    spec = kernel.in_spec
    return Edges(
        values=tuple(v for v in own.values if spec.lo <= v <= spec.hi),
        offsets=tuple(o for o in own.offsets if o <= 0),
    )


@st.composite
def _made(draw: st.DrawFn, name: str) -> tuple[dict[str, Any], ops.Kernel]:
    """Parameters of op ``name`` and the kernel ``make`` builds from them; draws ``make``
    refuses (e.g. the isolated non-monotone softmax scales) are discarded."""
    p = draw(_entry(name).params())
    try:
        kernel = ops.make(name, **p)
    except ValueError:
        reject()
    return p, kernel


def params(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments ``refmodel.ops.make(name, **p)`` accepts (every width, the documented
    scale ranges, per-channel scales where the op takes them)."""
    _entry(name)
    return _made(name).map(lambda made: made[0])


@st.composite
def _edge_row(draw: st.DrawFn, kernel: ops.Kernel, own: Edges, every: Edges, cols: int) -> np.ndarray:
    """One row built from sensitive values: all-equal, the two extremes, edge values, a maximum
    with the other elements at sensitive offsets below it, or one maximum above an otherwise
    constant row. ``own`` (the op's values, drawn first) is part of ``every`` (with the extremes
    of the width). Hypothesis draws the pattern and the key values; a seeded generator fills
    the row."""
    lo, hi = kernel.in_spec.lo, kernel.in_spec.hi
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    value = st.one_of(*(st.sampled_from(v) for v in (own.values, every.values) if v), st.integers(lo, hi))
    offset = st.one_of(*(st.sampled_from(o) for o in (own.offsets, every.offsets) if o))
    kind = draw(st.sampled_from(["constant", "extremes", "values", "below_max", "one_max"]))
    if kind == "constant":
        row = np.full(cols, draw(value))
    elif kind == "extremes":
        row = rng.choice(np.array([lo, hi]), size=cols)
    elif kind == "values":
        row = rng.choice(np.array(every.values), size=cols)
    elif kind == "below_max":
        top = draw(value)
        row = np.array([top + o if lo <= top + o <= hi else top for o in rng.choice(np.array(every.offsets), size=cols).tolist()])
        row[draw(st.integers(0, cols - 1))] = top
    else:
        top, below = draw(value), draw(offset)
        row = np.full(cols, top + below if lo <= top + below <= hi else top)
        row[draw(st.integers(0, cols - 1))] = top
    return row.astype(np.int64)


def inputs(kernel: ops.Kernel, shape: tuple[int, int] | None = None) -> st.SearchStrategy[np.ndarray]:
    """An int64 input of ``kernel``'s declared width and channel count: rows from
    :func:`int_arrays`, some of them replaced by rows of the op's sensitive values
    (:func:`edges`: all-equal rows, the extremes, clamp and saturation regions, one element off
    a constant row). ``shape`` fixes ``(rows, cols)``."""
    return _inputs(kernel, _entry(kernel.name), shape)


@st.composite
def _inputs(draw: st.DrawFn, kernel: ops.Kernel, entry: OpStrategies, shape: tuple[int, int] | None) -> np.ndarray:
    if shape is None:
        limit = MAX_COLS if entry.max_cols is None else min(MAX_COLS, entry.max_cols(kernel))
        shape = draw(shapes(max_cols=limit, cols=kernel.channels))
    spec = kernel.in_spec
    q = draw(int_arrays(spec.bits, spec.signed, shape)).reshape(-1, shape[-1])
    own, every = _own_edges(kernel), edges(kernel)
    n_edge = draw(st.integers(0, q.shape[0]))
    rows = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(q.shape[0])[:n_edge]
    for row in rows.tolist():
        q[row] = draw(_edge_row(kernel, own, every, q.shape[1]))
    return q.reshape(shape)


@dataclass(frozen=True)
class Case:
    """One drawn case: the op, the parameters, the kernel ``make`` built from them, an input."""

    op: str
    params: dict[str, Any]
    kernel: ops.Kernel
    q: np.ndarray


def cases(name: str) -> st.SearchStrategy[Case]:
    """A whole case of op ``name``: :func:`params`, the kernel, and :func:`inputs` for it."""
    _entry(name)
    return _cases(name)


@st.composite
def _cases(draw: st.DrawFn, name: str) -> Case:
    p, kernel = draw(_made(name))
    return Case(name, p, kernel, draw(inputs(kernel)))


# ============================================================================ scoreboard
@dataclass(frozen=True)
class Mismatch:
    """One element where an implementation differs from the reference (flat row-major index)."""

    index: int
    input: int
    expected: int
    got: int

    def line(self) -> str:
        """The testbench's line: ``mismatch at index I: input X, expected E, got G``."""
        return f"mismatch at index {self.index}: input {self.input}, expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class Report:
    """The comparison of one output tensor with the reference: the first ``len(mismatches)``
    mismatches of ``errors`` in total over ``vectors`` elements."""

    op: str
    vectors: int
    errors: int
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return self.errors == 0

    def lines(self) -> list[str]:
        """The mismatch lines, then ``N vectors, E errors`` (the testbench's report)."""
        return [m.line() for m in self.mismatches] + [f"{self.vectors} vectors, {self.errors} errors"]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class MismatchError(AssertionError):
    """An implementation differs from the reference; ``report`` holds the comparison."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"{report.op}: output differs from refmodel\n{report}")
        self.report = report


def _kernel(op: str | ops.Kernel, op_params: dict[str, Any] | None) -> ops.Kernel:
    if isinstance(op, ops.Kernel):
        if op_params is not None:
            raise ValueError("params: give parameters only with an op name, not with a built kernel")
        return op
    if op_params is None:
        raise ValueError(f"params: op {op!r} needs its parameters (params={{...}}) or pass a built kernel")
    return ops.make(op, **op_params)


def compare(
    op: str | ops.Kernel,
    q_in: Any,
    got: Any,
    *,
    params: dict[str, Any] | None = None,
    limit: int = 10,
    raise_on_mismatch: bool = False,
) -> Report:
    """Run the reference on ``q_in`` and compare ``got`` with it element by element.

    ``op`` is a built kernel, or an op name with its ``params``. ``got`` holds one integer per
    element of ``q_in`` (any shape of the same size, read row-major). Returns a :class:`Report`
    with the first ``limit`` mismatches; with ``raise_on_mismatch`` a mismatch raises
    :class:`MismatchError` instead.
    """
    kernel = _kernel(op, params)
    q = np.asarray(q_in)
    expected = kernel.sim(q).reshape(-1)
    out = np.asarray(got)
    if out.dtype.kind not in "iu":
        raise ValueError(f"got: expected integers, got dtype {out.dtype}")
    if out.size != expected.size:
        raise ValueError(f"got: {out.size} elements, expected {expected.size} (one per input element)")
    if limit < 0:
        raise ValueError(f"limit: must be >= 0, got {limit}")
    out = out.reshape(-1).astype(np.int64)
    wrong = np.flatnonzero(out != expected)
    flat_in = q.reshape(-1)
    shown = tuple(Mismatch(int(i), int(flat_in[i]), int(expected[i]), int(out[i])) for i in wrong[:limit])
    report = Report(kernel.name, int(expected.size), int(wrong.size), shown)
    if raise_on_mismatch and not report.passed:
        raise MismatchError(report)
    return report


def assert_matches(op: str | ops.Kernel, q_in: Any, got: Any, *, params: dict[str, Any] | None = None, limit: int = 10) -> Report:
    """:func:`compare` that raises :class:`MismatchError` (an ``AssertionError``) on a mismatch."""
    return compare(op, q_in, got, params=params, limit=limit, raise_on_mismatch=True)


# ============================================================================ hex files
def read_hex(path: str | Path, bits: int, signed: bool = True) -> np.ndarray:
    """The int64 values of one ``.hex`` file (one element per line, ``bits`` wide). Raises
    ``ValueError`` naming the file for a malformed line."""
    path = Path(path)
    try:
        return np.asarray(from_hex_text(path.read_text(), bits, signed), dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def write_hex(path: str | Path, values: Any, bits: int, signed: bool = True, *, force: bool = False) -> Path:
    """Write ``values`` (row-major) as a ``.hex`` file ``$readmemh`` reads. An existing file is
    replaced only with ``force=True``; the file is complete or absent."""
    path = Path(path)
    if path.exists() and not force:
        raise ValueError(f"{path}: exists (pass force=True to replace it)")
    text = to_hex_text(np.asarray(values).reshape(-1).tolist(), bits, signed)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
