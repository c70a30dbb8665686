"""Property tests against refmodel: hypothesis strategies per op, a scoreboard, hex I/O.

An engineer who checks an implementation of an op (RTL in cocotb, a C model, an HLS kernel)
draws cases from the strategies, runs them through the implementation and compares with the
reference::

    from hypothesis import given
    from refmodel.testing import assert_matches, cases

    @given(cases("ivit.softmax"))
    def test_my_softmax(case):
        assert_matches(case.kernel, case.q, my_softmax(case.q, **case.kernel.config))

    @given(cases("matmul"))                      # several inputs: by name
    def test_my_matmul(case):
        assert_matches(case.kernel, case.inputs, my_matmul(case.inputs["a"], case.inputs["b"]))

- :func:`params` draws parameters ``refmodel.ops.make`` accepts; :func:`inputs` draws the
  input tensor of a one-input kernel (declared width, the op's sensitive values mixed in),
  :func:`named_inputs` every input of any kernel by name; :func:`cases` draws both (a
  :class:`Case`, whose ``inputs`` is that dict and ``q`` the single input of a one-input op).
- :func:`compare` runs the reference (``Kernel.sim``) on one input or a dict of named inputs
  and reports the first mismatches in the SystemVerilog testbench's format (``mismatch at
  index I: input X, expected E, got G``, last line ``N vectors, E errors``);
  :func:`assert_matches` raises :class:`MismatchError` with it; :func:`parse_report` reads a
  testbench's output back into a :class:`Report`.
- :func:`examples`: a fixed number of draws from a fixed seed, for harnesses that cannot be
  wrapped in ``@given`` (a cocotb coroutine).
- The vector format: :func:`read_set` (one exported set), :func:`read_hex`/:func:`write_hex`
  (one ``.hex`` file) and the line-level helpers of :mod:`refmodel.hexio`.

Input rows mix generic patterns (uniform, the extremes of the width, all-equal rows, a narrow
cluster, edge values scattered in random rows, one column) with each op's own sensitive values
(:class:`Edges`): the exponent clamp of every softmax and of ShiftGELU, the clip of i-GELU,
the saturation of the requantisers, zero-variance and nearly constant LayerNorm rows, the
end of the exp table and the saturation of the GELU table, the rows that reach a linear
layer's proven bound, the corners of the products, the shift regimes of FQ-ViT's attention
codes, the rounding ties and saturation of the quantiser. Adding an op is one entry in
:data:`STRATEGIES`. With ``NUMBA_DISABLE_JIT=1`` the kernels run as plain Python and the
shapes shrink (:data:`MAX_ROWS`, :data:`MAX_COLS`).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from refmodel import ops
from refmodel.fixedpoint import int_range, signed_width
from refmodel.hexio import from_hex_lines, from_hex_text, hex_digits, to_hex_lines, to_hex_text
from refmodel.ops import gemm as gemm_op
from refmodel.ops import matmul as matmul_op
from refmodel.ops import quantize as quantize_op
from refmodel.ops.fqvit import attend as fqvit_attend
from refmodel.ops.fqvit import layernorm as fqvit_layernorm
from refmodel.ops.fqvit import softmax as fqvit_softmax
from refmodel.ops.ibert import layernorm as ibert_layernorm
from refmodel.ops.ivit import layernorm as ivit_layernorm
from refmodel.ops.ivit import shiftexp
from refmodel.ops.kernel import IntSpec
from refmodel.ops.lut import gelu as lut_gelu
from refmodel.ops.lut import layernorm as lut_layernorm
from refmodel.ops.lut import softmax as lut_softmax
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
    "examples",
    "fqvit_layernorm_params",
    "from_hex_lines",
    "from_hex_text",
    "hex_digits",
    "inputs",
    "int_arrays",
    "named_inputs",
    "params",
    "parse_report",
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
    """The values one input of a configured op is sensitive to.

    ``values``: absolute input values (a clip or saturation boundary and its neighbours).
    ``offsets``: differences from a row's maximum, ``<= 0`` (where an exponent clamps; also the
    drop from a single maximum to an otherwise constant row).
    ``rows``: whole rows (of the op's channel count), e.g. the rows that reach a linear
    layer's proven bound.
    ``columns``: per-column values for per-channel constants: entry ``j`` holds the values
    column ``j`` is sensitive to (one entry: every column).
    For ``quantize`` (a real input) ``values`` are quotients ``x / scale``.
    """

    values: tuple[int | float, ...] = ()
    offsets: tuple[int, ...] = ()
    rows: tuple[tuple[int, ...], ...] = ()
    columns: tuple[tuple[int, ...], ...] = ()


#: What an op's edge function returns: one :class:`Edges`, or one per input name.
EdgesOf = Edges | dict[str, Edges]
#: A strategy of an op's inputs by name, for a kernel and an optional output shape.
InputsOf = Callable[[ops.Kernel, "tuple[int, int] | None"], st.SearchStrategy[dict[str, np.ndarray]]]


@dataclass(frozen=True)
class OpStrategies:
    """What :func:`params` and :func:`inputs` know about one op: a strategy of parameters
    (``make`` may still refuse a rare draw: such draws are discarded), the op's sensitive
    values for a built kernel (one :class:`Edges`, or a dict by input name for an op with
    several inputs), the longest row the kernel accepts (``None``: any), a strategy of its
    inputs by name where the generic one-input strategy does not apply (``None``: generic),
    and whether output element ``i`` is computed from the inputs' element ``i`` (``aligned``:
    its mismatches show those inputs; ``False`` for the products ``gemm``, ``matmul``,
    ``fqvit.attend``)."""

    params: Callable[[], st.SearchStrategy[dict[str, Any]]]
    edges: Callable[[ops.Kernel], EdgesOf]
    max_cols: Callable[[ops.Kernel], int] | None = None
    inputs: InputsOf | None = None
    aligned: bool = True


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
    """``requant`` parameters; the zero point lies in the output range: 0 (the requantisers
    between layers) in one draw of three, an end of the range in one, else uniform."""
    p = {
        "scale_in": _per_channel_or_scalar(draw, 1e-4, 10.0),
        "scale_out": draw(scales(1e-4, 10.0)),
        "out_bits": draw(widths()),
        "signed": draw(st.booleans()),
        "in_bits": draw(widths()),
    }
    lo, hi = int_range(p["out_bits"], p["signed"])
    p["zero_point"] = draw(st.one_of(st.just(0), st.sampled_from([lo, hi]), st.integers(lo, hi)))
    return p


def _dyadic_crossings(m: int, c: int, lo: int, hi: int) -> list[int]:
    """The inputs ``z`` next to which ``rne_shift(z m, c)`` leaves ``[lo, hi]`` or first
    rounds away from 0: ``floor(t 2^c / m)`` for ``t = hi + 1/2, lo - 1/2, +-1/2`` (exact
    integers; the exact crossing lies within one of each)."""
    return [((2 * t + 1) << c) // (2 * m) for t in (hi, lo - 1, 0, -1)]


def _dyadic_columns(k: ops.Kernel, lo: int, hi: int, m_key: str = "m", c_key: str = "c") -> tuple[tuple[int, ...], ...]:
    """Per channel, :func:`_dyadic_crossings` of its ``(m, c)`` into ``[lo, hi]``, each +-2."""
    pairs = zip(np.atleast_1d(k.config[m_key]).tolist(), np.atleast_1d(k.config[c_key]).tolist())
    return tuple(_around(_dyadic_crossings(m, c, lo, hi), 2) for m, c in pairs)


def _dyadic_edges(k: ops.Kernel, lo: int, hi: int) -> Edges:
    """The inputs where ``rne_shift(z m, c)`` first leaves ``[lo, hi]`` and first rounds away
    from 0, per channel: ``z ~ (hi + 1/2) / ratio``, ``(lo - 1/2) / ratio`` and ``+-1/2 /
    ratio`` with ``ratio = m / 2^c``, each +-2 (as values for up to 8 channels, and per
    column)."""
    columns = _dyadic_columns(k, lo, hi)
    return Edges(values=tuple(sorted({0, *(z for col in columns[:8] for z in col)})), columns=columns)


def _requant_edges(k: ops.Kernel) -> Edges:
    """:func:`_dyadic_edges` where ``rne_shift(z m, c) + zero_point`` leaves the output width:
    ``rne_shift(z m, c)`` leaves ``[lo - zero_point, hi - zero_point]``."""
    zp = k.config["zero_point"]
    return _dyadic_edges(k, k.out_spec.lo - zp, k.out_spec.hi - zp)


@st.composite
def _requant_wide_params(draw: st.DrawFn) -> dict[str, Any]:
    """A ratio ``scale_in / scale_out`` below 1 (``c >= 31``), one or per channel: one draw in
    two log-uniform down to ``2^-70`` (every output 0 from ``c >= 94``), else near
    ``2^(out_bits - in_bits)`` (within ``2^+-4``: the accumulator spans the output range, so
    both ends saturate); an accumulator of 2..63 bits, at least ``out_bits`` in three draws
    of four (an accumulator narrower than the output cannot saturate it)."""
    out_bits = draw(widths())
    in_bits = draw(widths(2, 63)) if draw(st.integers(0, 3)) == 0 else draw(widths(out_bits, 63))
    scale_out = draw(scales(1e-4, 10.0))
    lo, hi = 2.0**-70, 0.99
    if draw(st.booleans()):
        centre = 2.0 ** (out_bits - in_bits)
        lo, hi = min(max(centre / 16, lo), hi / 2), min(max(centre * 16, lo * 2), hi)
    if draw(st.booleans()):
        scale_in: float | np.ndarray = float(np.float32(draw(scales(lo, hi)) * scale_out))
    else:
        channels = draw(st.integers(1, MAX_COLS))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        ratios = np.exp(rng.uniform(np.log(lo), np.log(hi), channels))
        scale_in = (ratios * scale_out).astype(np.float32).astype(np.float64)
    return {"scale_in": scale_in, "scale_out": scale_out, "out_bits": out_bits, "signed": draw(st.booleans()), "in_bits": in_bits}


def _requant_wide_edges(k: ops.Kernel) -> Edges:
    """``requant``'s crossings, and the splits of the wide datapaths: ``z`` at ``+-2^31`` and
    ``+-2^32`` (the high and low parts of the product), each +-1."""
    splits = [sign * (1 << b) for b in (31, 32) for sign in (1, -1)]
    own = _dyadic_edges(k, k.out_spec.lo, k.out_spec.hi)
    return Edges(values=tuple(sorted({*own.values, *_around(splits)})), columns=own.columns)


def _ratio_scales(draw: st.DrawFn, scale_out: float, in_bits: int, out_bits: int, channels: int, hi: float) -> float | np.ndarray:
    """Input scales (one, or one per channel in one draw of two) whose ratio to ``scale_out``
    is log-uniform in ``[1e-5, hi]``, or in one draw of two within ``2^+-4`` of
    ``2^(out_bits - in_bits)`` (where the input spans the output range), float32-rounded."""
    lo = 1e-5
    if draw(st.booleans()):
        centre = 2.0 ** (out_bits - in_bits)
        lo, hi = min(max(centre / 16, lo), hi / 2), min(max(centre * 16, lo * 2), hi)
    if draw(st.booleans()):
        return float(np.float32(draw(scales(lo, hi)) * scale_out))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (np.exp(rng.uniform(np.log(lo), np.log(hi), channels)) * scale_out).astype(np.float32).astype(np.float64)


@st.composite
def _requant_add_params(draw: st.DrawFn) -> dict[str, Any]:
    """Both scales one float or per channel (the same count), ratios to ``scale_out`` in
    ``[1e-5, 1e5]`` (:func:`_ratio_scales`), every width."""
    channels = draw(st.integers(1, MAX_COLS))
    out_bits, a_bits, b_bits = draw(widths()), draw(widths()), draw(widths())
    scale_out = draw(scales(1e-4, 10.0))
    return {
        "scale_a": _ratio_scales(draw, scale_out, a_bits, out_bits, channels, 1e5),
        "scale_b": _ratio_scales(draw, scale_out, b_bits, out_bits, channels, 1e5),
        "scale_out": scale_out,
        "out_bits": out_bits,
        "signed": draw(st.booleans()),
        "a_bits": a_bits,
        "b_bits": b_bits,
    }


def _requant_add_edges(k: ops.Kernel) -> dict[str, Edges]:
    """Per branch: where it alone leaves the output width or its 32-bit register, or first
    rounds away from 0 (``requant``'s crossings with that branch's ``m``, ``c``), per column."""
    out, reg = k.out_spec, IntSpec(32, True)
    found = {}
    for name in ("a", "b"):
        columns = tuple(
            tuple(sorted({*x, *y}))
            for x, y in zip(_dyadic_columns(k, out.lo, out.hi, f"m_{name}", f"c_{name}"), _dyadic_columns(k, reg.lo, reg.hi, f"m_{name}", f"c_{name}"))
        )
        found[name] = Edges(values=tuple(sorted({0, *(z for col in columns[:8] for z in col)})), columns=columns)
    return found


@st.composite
def _requant_add_inputs(draw: st.DrawFn, kernel: ops.Kernel, shape: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """``a`` of the drawn shape; ``b`` of the same shape or one row broadcast over ``a``'s; one
    draw in four ``b`` all 0 (the join is then ``a``'s requantiser, with its crossings)."""
    if shape is None:
        shape = draw(shapes(cols=kernel.channels))
    a = draw(_tensor(kernel, "a", shape))
    b_shape = (1, shape[1]) if draw(st.integers(0, 3)) == 0 else shape
    b = draw(_tensor(kernel, "b", b_shape))
    if draw(st.integers(0, 3)) == 0:
        b[:] = 0
    return {"a": a, "b": b}


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
    (D8): one element ``2^shift - 1`` above an otherwise constant row (as an offset, and as
    whole rows on the minimum and on 0)."""
    top = (1 << k.config["shift"]) - 1
    cols, lo = k.channels, k.in_spec.lo
    rows = []
    if top and cols > 1:
        for base in (lo, 0):
            for j in (0, cols - 1):
                row = [base] * cols
                row[j] = base + top
                rows.append(tuple(row))
    return Edges(offsets=(-top - 1, -top), rows=tuple(rows))


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


# ---------------------------------------------------------------------------- lookup tables
def _table_bits(draw: st.DrawFn) -> int:
    """An input width of a table op, 2..16; above 12 (tables of 8 Ki to 64 Ki entries, slow to
    build) one draw in eight."""
    return draw(st.integers(13, lut_gelu.MAX_IN_BITS)) if draw(st.integers(0, 7)) == 0 else draw(st.integers(2, 12))


@st.composite
def _lut_softmax_params(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "scale_in": draw(scales(1e-4, 20.0)),
        "in_bits": _table_bits(draw),
        "out_bits": draw(widths(2, lut_softmax.MAX_OUT_BITS)),
        "frac_bits": draw(st.integers(1, lut_softmax.MAX_FRAC_BITS)),
    }


def _lut_softmax_edges(k: ops.Kernel) -> Edges:
    """Differences from the row maximum at the end of the exp table (``t >= L - 1`` reads its
    last entry, 0 unless the table is full), +-1."""
    last = len(k.config["table"]) - 1
    return Edges(offsets=_around([-last]))


@st.composite
def _lut_gelu_params(draw: st.DrawFn) -> dict[str, Any]:
    return {"scale_in": draw(scales(1e-4, 2.0)), "scale_out": draw(scales(1e-4, 2.0)), "in_bits": _table_bits(draw), "out_bits": draw(widths())}


def _lut_gelu_edges(k: ops.Kernel) -> Edges:
    """0, the input of the table's minimum (GELU's dip) and the first input whose entry
    saturates at either end, +-1."""
    table, offset = k.config["table"], k.config["offset"]
    lo, hi = k.out_spec.lo, k.out_spec.hi
    firsts = (next((i for i, v in enumerate(table) if v == end), None) for end in (hi, lo))
    centres = [0, int(np.argmin(table)) - offset, *(i - offset for i in firsts if i is not None)]
    return Edges(values=_around(centres))


@st.composite
def _lut_layernorm_params(draw: st.DrawFn) -> dict[str, Any]:
    """As ``ibert.layernorm`` (the same mean, variance and shift), with a table of 1..16 bits."""
    p = draw(_ibert_layernorm_params())
    return {**p, "table_bits": draw(st.integers(lut_layernorm.MIN_TABLE_BITS, lut_layernorm.MAX_TABLE_BITS))}


# ---------------------------------------------------------------------------- products
def _accumulator(draw: st.DrawFn, acc_range: tuple[int, int]) -> int | None:
    """``acc_bits``: the default (``None``) when the proven width fits 32 bits, one draw in two;
    else a declared width from the proven one to 63."""
    proven = signed_width(*acc_range)
    if proven <= 32 and draw(st.booleans()):
        return None
    return draw(st.integers(max(proven, 2), 63))


@st.composite
def _gemm_params(draw: st.DrawFn) -> dict[str, Any]:
    """Weights ``N x K`` (``int_arrays`` patterns) of every width pair whose generic bound
    ``K 2^(in_bits-1) 2^(w_bits-1) + 2^31`` stays below ``2^62``; a bias (none, or 32-bit);
    per-channel weight scales."""
    in_bits = draw(widths())
    w_bits = draw(st.integers(2, min(32, 63 - in_bits)))
    max_k = max(1, min(MAX_COLS, ((1 << 62) - (1 << 31)) >> (in_bits + w_bits - 2)))
    k, n = draw(st.integers(1, max_k)), draw(st.integers(1, 16))
    weight = draw(int_arrays(w_bits, True, (n, k)))
    bias = None if draw(st.booleans()) else draw(int_arrays(gemm_op.BIAS_BITS, True, (1, n))).reshape(n)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale_w = np.exp(rng.uniform(np.log(1e-4), np.log(1.0), n)).astype(np.float32).astype(np.float64)
    bounds = gemm_op.channel_bounds(weight, np.zeros(n, dtype=np.int64) if bias is None else bias, in_bits)
    acc_bits = _accumulator(draw, (min(lo for lo, _ in bounds), max(hi for _, hi in bounds)))
    return {"weight": weight, "scale_in": draw(scales(1e-4, 1.0)), "scale_w": scale_w, "bias": bias, "in_bits": in_bits, "w_bits": w_bits, "acc_bits": acc_bits}


def _gemm_edges(k: ops.Kernel) -> Edges:
    """The rows that reach channel ``o``'s exact bounds (``hi`` where ``W[o, k] > 0``, ``lo``
    where it is negative), for up to 8 channels."""
    lo, hi = k.in_spec.lo, k.in_spec.hi
    rows = []
    for w in k.config["weight"][:8]:
        rows.append(tuple(hi if x > 0 else lo for x in w))
        rows.append(tuple(lo if x > 0 else hi for x in w))
    return Edges(rows=tuple(rows))


@st.composite
def _matmul_params(draw: st.DrawFn) -> dict[str, Any]:
    """Every width and signedness pair whose product range allows at least one column below
    ``2^62``; ``depth`` up to that limit and :data:`MAX_COLS`."""
    a = IntSpec(draw(widths()), draw(st.booleans()))
    b = IntSpec(draw(widths()), draw(st.booleans()))
    pmin, pmax = matmul_op.product_range(a, b)
    max_depth = min(MAX_COLS, ((1 << 62) - 1) // max(pmax, -pmin, 1))
    if max_depth < 1:
        reject()
    depth = draw(st.integers(1, max_depth))
    return {
        "scale_a": draw(scales(1e-4, 1.0)),
        "scale_b": draw(scales(1e-4, 1.0)),
        "depth": depth,
        "a_bits": a.bits,
        "b_bits": b.bits,
        "a_signed": a.signed,
        "b_signed": b.signed,
        "acc_bits": _accumulator(draw, (depth * pmin, depth * pmax)),
    }


@st.composite
def _fqvit_attend_params(draw: st.DrawFn) -> dict[str, Any]:
    """Codes of 2..16 bits (up to 8 in seven draws of eight), values of every width, ``frac_bits``
    up to the largest that keeps the proven accumulator within 63 bits."""
    code_bits = draw(st.integers(2, 8)) if draw(st.integers(0, 7)) else draw(st.integers(2, fqvit_attend.MAX_CODE_BITS))
    v_bits, depth = draw(widths()), draw(st.integers(1, MAX_COLS))
    vlo, vhi = int_range(v_bits, True)

    def acc(f: int) -> tuple[int, int]:
        return depth * (vlo << f), depth * (vhi << f)

    top = max((f for f in range(fqvit_attend.SHIFTED_LIMIT_BITS + 2 - v_bits) if signed_width(*acc(f)) <= 63), default=None)
    if top is None:
        reject()
    frac = draw(st.integers(0, top))
    return {
        "scale_v": draw(scales(1e-4, 1.0)),
        "depth": depth,
        "code_bits": code_bits,
        "v_bits": v_bits,
        "frac_bits": frac,
        "acc_bits": _accumulator(draw, acc(frac)),
    }


def _fqvit_attend_edges(k: ops.Kernel) -> dict[str, Edges]:
    """Codes: 0 (the whole ``v << F``), the shift regimes around ``F`` and ``F + v_bits`` (the
    twin's groups), 63 (arithmetic shifts of 63 and more), the zero code and the one below."""
    f, vb, zero = k.config["frac_bits"], k.config["v_bits"], k.config["zero_code"]
    return {"codes": Edges(values=_around([0, f, f + vb, 63, zero - 1])), "v": Edges(values=_around([0]))}


def _corner(draw: st.DrawFn, first: IntSpec, second: IntSpec) -> tuple[int, int]:
    """A pair of extremes of the two ranges whose product is the largest or the smallest."""
    pairs = [(x, y) for x in (first.lo, first.hi) for y in (second.lo, second.hi)]
    products = [x * y for x, y in pairs]
    return pairs[products.index(draw(st.sampled_from([max(products), min(products)])))]


@st.composite
def _product_inputs(draw: st.DrawFn, kernel: ops.Kernel, shape: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """``first (M, K)`` and ``second (K, N)`` (``K`` = ``depth``; ``shape`` fixes ``(M, N)``):
    rows of ``first`` and columns of ``second`` drawn as rows (the reduction vectors). One draw
    in two sets a row and a column to the corner pair of extremes that reaches the proven
    bound (``first`` all 0 for the codes of ``fqvit.attend``: the whole ``v << F``)."""
    first, second = kernel.inputs
    depth = kernel.config["depth"]
    if shape is None:
        shape = (draw(st.integers(1, MAX_ROWS)), draw(st.integers(1, min(12, MAX_COLS))))
    a = draw(_tensor(kernel, first, (shape[0], depth)))
    b_t = draw(_tensor(kernel, second, (shape[1], depth)))
    if draw(st.booleans()):
        spec_a, spec_b = kernel.in_specs[first], kernel.in_specs[second]
        if kernel.name == "fqvit.attend":
            x, y = 0, draw(st.sampled_from([spec_b.lo, spec_b.hi]))
        else:
            x, y = _corner(draw, spec_a, spec_b)
        a[draw(st.integers(0, shape[0] - 1))] = x
        b_t[draw(st.integers(0, shape[1] - 1))] = y
    return {first: a, second: np.ascontiguousarray(b_t.T)}


# ---------------------------------------------------------------------------- quantize
@st.composite
def _quantize_params(draw: st.DrawFn) -> dict[str, Any]:
    """A scale (one or per channel; one draw in four a power of two, where ``(k + 1/2) s`` is
    an exact tie), every width, a zero point (0, one inside the output range, or any of 33
    bits)."""
    bits, signed = draw(widths()), draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        scale: float | np.ndarray = 2.0 ** draw(st.integers(-20, 4))
    else:
        scale = _per_channel_or_scalar(draw, 1e-4, 10.0)
    lo, hi = int_range(bits, signed)
    zp = draw(st.one_of(st.just(0), st.integers(lo, hi), st.integers(-quantize_op.MAX_ZERO_POINT, quantize_op.MAX_ZERO_POINT)))
    return {"scale": scale, "bits": bits, "signed": signed, "zero_point": zp}


def _quantize_edges(k: ops.Kernel) -> Edges:
    """Quotients ``x / s``: the rounding ties at both saturation limits and around 0, and
    the limits themselves (``lo - zp``, ``hi - zp``)."""
    zp, lo, hi = k.config["zero_point"], k.out_spec.lo, k.out_spec.hi
    centres = [lo - zp, hi - zp, 0]
    return Edges(values=tuple(sorted({float(c + d) for c in centres for d in (-1.0, -0.5, 0.0, 0.5, 1.0)})))


@st.composite
def _quantize_inputs(draw: st.DrawFn, kernel: ops.Kernel, shape: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """Real ``x`` (float16, float32 or float64) by rows: uniform over the output range and a
    little beyond, integer quotients, exact ties ``(k + 1/2) s``, the quotients of
    :func:`edges`, and the extremes of the float format (its largest finite value, the
    smallest normal and subnormal, 0, -0). Values past the format saturate to its largest."""
    if shape is None:
        shape = draw(shapes(cols=kernel.channels))
    rows, cols = shape
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16]))
    info = np.finfo(dtype)
    s = np.broadcast_to(np.atleast_1d(np.asarray(kernel.params["scale"], dtype=np.float64)), (cols,))
    zp, lo, hi = kernel.config["zero_point"], kernel.out_spec.lo, kernel.out_spec.hi
    qlo, qhi = float(lo - zp - 2), float(hi - zp + 2)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    quotients = np.array(_quantize_edges(kernel).values)
    extremes = np.array([info.max, -info.max, info.tiny, -info.tiny, info.smallest_subnormal, 0.0, -0.0], dtype=np.float64)
    x = np.empty(shape, dtype=np.float64)
    for r in range(rows):
        kind = draw(st.sampled_from(["uniform", "integers", "ties", "edges", "extremes"]))
        if kind == "uniform":
            x[r] = rng.uniform(qlo, qhi, cols) * s
        elif kind == "integers":
            x[r] = np.floor(rng.uniform(qlo, qhi, cols)) * s
        elif kind == "ties":
            x[r] = (np.floor(rng.uniform(qlo, qhi, cols)) + 0.5) * s
        elif kind == "edges":
            x[r] = rng.choice(quotients, cols) * s
        else:
            x[r] = rng.choice(extremes, cols)
    return {"x": np.clip(x, -info.max, info.max).astype(dtype)}


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
    "requant_wide": OpStrategies(_requant_wide_params, _requant_wide_edges),
    "requant_add": OpStrategies(_requant_add_params, _requant_add_edges, inputs=_requant_add_inputs),
    "lut.softmax": OpStrategies(_lut_softmax_params, _lut_softmax_edges),
    "lut.gelu": OpStrategies(_lut_gelu_params, _lut_gelu_edges),
    "lut.layernorm": OpStrategies(_lut_layernorm_params, _ibert_layernorm_edges),
    "gemm": OpStrategies(_gemm_params, _gemm_edges, aligned=False),
    "matmul": OpStrategies(_matmul_params, lambda k: {"a": Edges(), "b": Edges()}, inputs=_product_inputs, aligned=False),
    "fqvit.attend": OpStrategies(_fqvit_attend_params, _fqvit_attend_edges, inputs=_product_inputs, aligned=False),
    "quantize": OpStrategies(_quantize_params, _quantize_edges, inputs=_quantize_inputs),
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
def _input_names(kernel: ops.Kernel) -> tuple[str, ...]:
    """The names of the kernel's inputs (``quantize``: its real input ``x``)."""
    return kernel.inputs or ("x",)


def _input_name(kernel: ops.Kernel, input_name: str | None) -> str:
    names = _input_names(kernel)
    if input_name is None:
        if len(names) > 1:
            raise ValueError(f"input_name: {kernel.name} takes several inputs ({', '.join(names)}); name one")
        return names[0]
    if input_name not in names:
        raise ValueError(f"input_name: {input_name!r} is not an input of {kernel.name}; its inputs are {', '.join(names)}")
    return input_name


def edges(kernel: ops.Kernel, input_name: str | None = None) -> Edges:
    """The sensitive values of one input of a built kernel (``input_name``: required for an op
    with several inputs): its op's :class:`Edges` plus the extremes of the input width (and 0
    when signed), every value inside the width. ``quantize`` (a real input): the op's own
    quotients only."""
    name = _input_name(kernel, input_name)
    own = _own_edges(kernel, name)
    spec = kernel.in_specs.get(name)
    if spec is None:
        return own
    generic = [spec.lo, spec.lo + 1, spec.hi - 1, spec.hi, 0]
    values = sorted({v for v in (*generic, *own.values) if spec.lo <= v <= spec.hi})
    return Edges(values=tuple(values), offsets=tuple(sorted({0, *own.offsets})), rows=own.rows, columns=own.columns)


def _own_edges(kernel: ops.Kernel, name: str) -> Edges:
    """The op's own :class:`Edges` of input ``name``: values inside the input width, offsets
    ``<= 0``, rows inside the width."""
    own = _entry(kernel.name).edges(kernel)
    if isinstance(own, dict):
        own = own[name]
    spec = kernel.in_specs.get(name)
    if spec is None:
        return own
    return Edges(
        values=tuple(v for v in own.values if spec.lo <= v <= spec.hi),
        offsets=tuple(o for o in own.offsets if o <= 0),
        rows=tuple(r for r in own.rows if all(spec.lo <= v <= spec.hi for v in r)),
        columns=tuple(tuple(v for v in col if spec.lo <= v <= spec.hi) or (0 if spec.lo <= 0 else spec.lo,) for col in own.columns),
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
def _edge_row(draw: st.DrawFn, lo: int, hi: int, own: Edges, every: Edges, cols: int) -> np.ndarray:
    """One row in ``[lo, hi]`` built from sensitive values: all-equal, the two extremes, edge
    values, a maximum with the other elements at sensitive offsets below it, one maximum above
    an otherwise constant row, one of the op's whole rows, or a value per column from the
    op's per-column values (where it has them). ``own`` (the
    op's values, drawn first) is part of ``every`` (with the extremes of the width).
    Hypothesis draws the pattern and the key values; a seeded generator fills the row."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    value = st.one_of(*(st.sampled_from(v) for v in (own.values, every.values) if v), st.integers(lo, hi))
    offset = st.one_of(*(st.sampled_from(o) for o in (own.offsets, every.offsets) if o))
    whole = [r for r in own.rows if len(r) == cols]
    per_column = own.columns if len(own.columns) in (1, cols) else ()
    extra = (["row"] if whole else []) + (["columns"] if per_column else [])
    kind = draw(st.sampled_from(["constant", "extremes", "values", "below_max", "one_max", *extra]))
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
    elif kind == "one_max":
        top, below = draw(value), draw(offset)
        row = np.full(cols, top + below if lo <= top + below <= hi else top)
        row[draw(st.integers(0, cols - 1))] = top
    elif kind == "row":
        row = np.array(draw(st.sampled_from(whole)))
    else:
        row = np.array([rng.choice(np.array(per_column[j % len(per_column)])) for j in range(cols)])
    return row.astype(np.int64)


@st.composite
def _tensor(draw: st.DrawFn, kernel: ops.Kernel, name: str, shape: tuple[int, int]) -> np.ndarray:
    """Integer input ``name`` of ``kernel`` of the given 2-D shape: rows from
    :func:`int_arrays`, some of them replaced by rows of the input's sensitive values."""
    spec = kernel.in_specs[name]
    q = draw(int_arrays(spec.bits, spec.signed, shape)).reshape(-1, shape[-1])
    own, every = _own_edges(kernel, name), edges(kernel, name)
    n_edge = draw(st.integers(0, q.shape[0]))
    rows = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(q.shape[0])[:n_edge]
    for row in rows.tolist():
        q[row] = draw(_edge_row(spec.lo, spec.hi, own, every, q.shape[1]))
    return q.reshape(shape)


def inputs(kernel: ops.Kernel, shape: tuple[int, int] | None = None) -> st.SearchStrategy[np.ndarray]:
    """The single input of a one-input ``kernel``: an int64 tensor of its declared width and
    channel count, rows from :func:`int_arrays`, some of them replaced by rows of the op's
    sensitive values (:func:`edges`: all-equal rows, the extremes, clamp and saturation
    regions, one element off a constant row); ``quantize``: its real input. ``shape`` fixes
    ``(rows, cols)``. An op with several inputs: :func:`named_inputs`."""
    names = _input_names(kernel)
    if len(names) > 1:
        raise ValueError(f"kernel: {kernel.name} takes several inputs ({', '.join(names)}); draw them with named_inputs")
    return named_inputs(kernel, shape).map(lambda named: named[names[0]])


def named_inputs(kernel: ops.Kernel, shape: tuple[int, int] | None = None) -> st.SearchStrategy[dict[str, np.ndarray]]:
    """Every input of ``kernel`` by name, as ``kernel.sim(**named)`` takes them. ``shape``
    fixes ``(rows, cols)`` of the input of a one-input op, of ``a`` for ``requant_add`` and of
    the output of ``matmul`` and ``fqvit.attend`` (their reduction length is ``depth``)."""
    entry = _entry(kernel.name)
    if entry.inputs is not None:
        return entry.inputs(kernel, shape)
    return _inputs(kernel, entry, shape).map(lambda q: {kernel.inputs[0]: q})


@st.composite
def _inputs(draw: st.DrawFn, kernel: ops.Kernel, entry: OpStrategies, shape: tuple[int, int] | None) -> np.ndarray:
    if shape is None:
        limit = MAX_COLS if entry.max_cols is None else min(MAX_COLS, entry.max_cols(kernel))
        shape = draw(shapes(max_cols=limit, cols=kernel.channels))
    return draw(_tensor(kernel, kernel.inputs[0], shape))


@dataclass(frozen=True)
class Case:
    """One drawn case: the op, the parameters, the kernel ``make`` built from them, and its
    inputs by name (``kernel.sim(**case.inputs)``). ``Case(op, params, kernel, q)`` with one
    array stands for the single input of a one-input op."""

    op: str
    params: dict[str, Any]
    kernel: ops.Kernel
    inputs: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Mapping):
            names = _input_names(self.kernel)
            if len(names) > 1:
                raise ValueError(f"inputs: {self.kernel.name} takes several inputs ({', '.join(names)}); give them as a dict by name")
            object.__setattr__(self, "inputs", {names[0]: np.asarray(self.inputs)})

    @property
    def q(self) -> np.ndarray:
        """The single input of a one-input op (``quantize``: the real ``x``)."""
        if len(self.inputs) != 1:
            raise ValueError(f"q: {self.op} takes several inputs ({', '.join(self.inputs)}); read case.inputs")
        return next(iter(self.inputs.values()))

    def expected(self) -> np.ndarray:
        """The reference output, ``kernel.sim(**inputs)``."""
        return self.kernel.sim(**self.inputs)


def cases(name: str) -> st.SearchStrategy[Case]:
    """A whole case of op ``name``: :func:`params`, the kernel, and :func:`named_inputs` for it."""
    _entry(name)
    return _cases(name)


@st.composite
def _cases(draw: st.DrawFn, name: str) -> Case:
    p, kernel = draw(_made(name))
    return Case(name, p, kernel, draw(named_inputs(kernel)))


def examples(strategy: st.SearchStrategy[Any], n: int, *, seed: int = 0) -> list[Any]:
    """Up to ``n`` values of ``strategy`` drawn from the fixed ``seed``: the same values on
    every run (of one hypothesis version), for a harness that cannot be wrapped in
    ``@given`` (a cocotb coroutine, a simulator's test list). Fewer than ``n`` only when
    the strategy has fewer distinct values."""
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn[:n]


# ============================================================================ scoreboard
@dataclass(frozen=True)
class Mismatch:
    """One element where an implementation differs from the reference (flat row-major index
    of the output). ``input``: the input element of the same index (one-input ops whose output
    element ``i`` comes from input element ``i``; a float for ``quantize``); ``inputs``: each
    named input's element there (``requant_add``); neither for the products (``gemm``,
    ``matmul``, ``fqvit.attend``), whose outputs come from whole rows and columns."""

    index: int
    input: int | float | None
    expected: int
    got: int
    inputs: tuple[tuple[str, int], ...] = ()

    def line(self) -> str:
        """The testbench's line: ``mismatch at index I: input X, expected E, got G``
        (``input a=X b=Y`` with named inputs; no input part for the products)."""
        if self.input is not None:
            shown = f"input {self.input}, "
        elif self.inputs:
            shown = "input " + " ".join(f"{name}={value}" for name, value in self.inputs) + ", "
        else:
            shown = ""
        return f"mismatch at index {self.index}: {shown}expected {self.expected}, got {self.got}"


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


_MISMATCH_LINE = re.compile(r"^mismatch at index (\d+): input (-?\d+), expected (-?\d+), got (-?\d+)$")
_SUMMARY_LINE = re.compile(r"^(\d+) vectors, (\d+) errors$")


def parse_report(text: str, op: str = "") -> Report:
    """The :class:`Report` in a testbench's output (``rtl_vectors/tb/rm_tb.sv``, or anything
    printing its lines): every ``mismatch at index I: input X, expected E, got G`` line and the
    last ``N vectors, E errors`` line; other lines are ignored. ``expected`` is then the
    testbench's expected file, ``got`` the device's output. Raises ``ValueError`` when the
    summary line is missing (the run did not finish)."""
    lines = [line.strip() for line in text.splitlines()]
    summary = next((m for m in map(_SUMMARY_LINE.match, reversed(lines)) if m), None)
    if summary is None:
        raise ValueError("text: no 'N vectors, E errors' line (the testbench did not finish)")
    found = (m for m in map(_MISMATCH_LINE.match, lines) if m)
    mismatches = tuple(Mismatch(*(int(g) for g in m.groups())) for m in found)
    return Report(op, int(summary.group(1)), int(summary.group(2)), mismatches)


def _kernel(op: str | ops.Kernel, op_params: dict[str, Any] | None) -> ops.Kernel:
    if isinstance(op, ops.Kernel):
        if op_params is not None:
            raise ValueError("params: give parameters only with an op name, not with a built kernel")
        return op
    if op_params is None:
        raise ValueError(f"params: op {op!r} needs its parameters (params={{...}}) or pass a built kernel")
    return ops.make(op, **op_params)


def _named(kernel: ops.Kernel, q_in: Any) -> dict[str, np.ndarray]:
    """``q_in`` as the kernel's inputs by name: one array for a one-input op, else a mapping."""
    names = _input_names(kernel)
    if isinstance(q_in, Mapping):
        return {name: np.asarray(value) for name, value in q_in.items()}
    if len(names) > 1:
        raise ValueError(f"q_in: {kernel.name} takes several inputs ({', '.join(names)}); pass them as a dict by name")
    return {names[0]: np.asarray(q_in)}


def _shown_inputs(kernel: ops.Kernel, named: dict[str, np.ndarray], shape: tuple[int, ...]) -> dict[str, np.ndarray] | None:
    """Each input flattened in the output's row-major order, where output element ``i`` comes
    from the inputs' element ``i`` (broadcast where an input broadcasts); ``None`` otherwise."""
    entry = STRATEGIES.get(kernel.name)
    if entry is not None and not entry.aligned:
        return None
    flat = {}
    for name, arr in named.items():
        if arr.ndim != len(shape):
            return None
        try:
            flat[name] = np.broadcast_to(arr, shape).reshape(-1)
        except ValueError:
            return None
    return flat


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

    ``op`` is a built kernel, or an op name with its ``params``. ``q_in`` is the input of a
    one-input op, or a dict of the inputs by name (``{"a": qa, "b": qb}``; what
    ``kernel.sim(**q_in)`` takes). ``got`` holds one integer per element of the reference
    output (any shape of the same size, read row-major). Returns a :class:`Report` with the
    first ``limit`` mismatches; with ``raise_on_mismatch`` a mismatch raises
    :class:`MismatchError` instead.
    """
    kernel = _kernel(op, params)
    named = _named(kernel, q_in)
    reference = kernel.sim(**named)
    expected = reference.reshape(-1)
    out = np.asarray(got)
    if out.dtype.kind not in "iu":
        raise ValueError(f"got: expected integers, got dtype {out.dtype}")
    if out.size != expected.size:
        raise ValueError(f"got: {out.size} elements, expected {expected.size} (one per output element)")
    if limit < 0:
        raise ValueError(f"limit: must be >= 0, got {limit}")
    out = out.reshape(-1).astype(np.int64)
    wrong = np.flatnonzero(out != expected)
    shown = _shown_inputs(kernel, named, reference.shape)
    mismatches = []
    for i in wrong[:limit].tolist():
        one = None
        several: tuple[tuple[str, int], ...] = ()
        if shown is not None and len(shown) == 1:
            one = next(iter(shown.values()))[i].item()
        elif shown is not None:
            several = tuple((name, int(values[i])) for name, values in shown.items())
        mismatches.append(Mismatch(i, one, int(expected[i]), int(out[i]), several))
    report = Report(kernel.name, int(expected.size), int(wrong.size), tuple(mismatches))
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
