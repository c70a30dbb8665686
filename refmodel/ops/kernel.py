"""The kernel contract shared by every op (``docs/semantics.md``, "The kernel contract").

An op is a :class:`Kernel` built by ``refmodel.ops.make``. It holds the op's derived integer
constants (``config``, the register values), its output scale, its declared input and output
widths, and two independent datapaths:

- :meth:`Kernel.sim`: the Numba kernel on a numpy integer array;
- :meth:`Kernel.fakequant`: the PyTorch int64 twin on an integer tensor.

Both take an array whose last axis is the op's reduction (or channel) axis, check that every
element lies in the declared input width (``ValueError`` otherwise; nothing is clipped), run
the op on the rows of the array flattened to 2-D and return int64 of the same shape, except
for the last axis of ops that change it (``gemm``: ``K`` columns in, ``N`` out). Arithmetic
Numba kernels (``range_in_kernel``: the requantisers, ``gemm``, ``matmul``) measure the
input's range in their own pass and check it before returning, instead of a pass of its own
first; what they raise, and when, is the same.

Several inputs. An op with more than one input names them in ``inputs`` (``matmul``:
``("a", "b")``; ``requant_add``: ``("a", "b")``) and declares one width per name in
``in_specs``. Its datapaths take the inputs by keyword only, ``k.sim(a=qa, b=qb)`` (or
``k.sim(**arrays)``), check each against its own width (errors name the input) and hand the
checked int64 arrays to ``_sim_inputs`` / ``_twin_inputs``, which check the shapes the op
needs. One-input ops keep ``k.sim(q)``; their single input is named ``q`` and ``in_spec`` is
its width. A vector set of a several-input op holds one ``input_<name>.hex`` per input.

Proven widths. ``bounds()`` gives the closed range, proven at ``make`` time from the
parameters and the declared input widths, of each named intermediate of the op's document
(output included); ops that have not stated theirs this way return ``{}``.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from refmodel.fixedpoint import int_range
from refmodel.ops import scan


@dataclass(frozen=True)
class IntSpec:
    """Width and signedness of an integer tensor."""

    bits: int
    signed: bool

    @property
    def lo(self) -> int:
        return int_range(self.bits, self.signed)[0]

    @property
    def hi(self) -> int:
        return int_range(self.bits, self.signed)[1]

    def describe(self) -> str:
        return f"{'signed' if self.signed else 'unsigned'} {self.bits}-bit, [{self.lo}, {self.hi}]"


class Kernel(ABC):
    """One configured integer op. Subclasses set ``name`` and implement ``_sim_rows`` and
    ``_twin_rows`` on 2-D int64 data."""

    name: ClassVar[str]
    #: True when the op reduces along the last axis (softmax, LayerNorm, I-ViT GELU's max);
    #: False for element-wise ops (which still take per-channel constants on the last axis).
    reduces_rows: ClassVar[bool] = True
    #: The names of the op's integer inputs, in the order its document lists them.
    inputs: ClassVar[tuple[str, ...]] = ("q",)
    #: True when the Numba datapath measures the range of each input in its own pass and
    #: checks it (:meth:`_check_range`) before it returns or raises anything else: arithmetic
    #: kernels that never index memory by an input value, so that an input outside its width
    #: only yields a result that is dropped. Otherwise ``sim`` checks the range first.
    range_in_kernel: ClassVar[bool] = False
    #: True when ``_sim_inputs`` reads its int64 inputs in any memory layout (a strided view
    #: is passed through as it is); otherwise each arrives in C order.
    strided_inputs: ClassVar[bool] = False

    def __init__(
        self,
        *,
        params: dict[str, Any],
        config: dict[str, Any],
        in_spec: IntSpec | dict[str, IntSpec],
        out_spec: IntSpec,
        scale_out: float | np.ndarray | None,
        channels: int | None = None,
    ) -> None:
        self.params = params
        self.config = config
        #: Declared width of each input, by name (``in_spec`` given as a dict for several).
        self.in_specs = dict(in_spec) if isinstance(in_spec, dict) else {self.inputs[0]: in_spec}
        if tuple(self.in_specs) != self.inputs:
            raise TypeError(f"{type(self).__name__}: in_spec names {tuple(self.in_specs)}, inputs are {self.inputs}")
        self.out_spec = out_spec
        self.scale_out = scale_out
        self.channels = channels

    @property
    def in_spec(self) -> IntSpec:
        """The declared width of a one-input op's input."""
        if len(self.inputs) != 1:
            raise ValueError(f"in_spec: {self.name} has no single integer input (its integer inputs: {', '.join(self.inputs) or 'none'}); read in_specs")
        return self.in_specs[self.inputs[0]]

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if np.ndim(v) == 0}
        return f"{type(self).__name__}({self.name!r}, {shown})"

    # ------------------------------------------------------------------ public datapaths
    def sim(self, q: np.ndarray | None = None, /, **named: np.ndarray) -> np.ndarray:
        """Numba path: integer numpy array in (several inputs: by name), int64 array out."""
        if len(self.inputs) > 1:
            arrays = self._named(q, named)
            return self._sim_inputs({n: self._sim_array(n, arrays[n], not self.range_in_kernel) for n in self.inputs})
        q = self._named(q, named)[self.inputs[0]]
        arr, rows = self._sim_input(q, not self.range_in_kernel)
        if rows.shape[0] == 0:
            return np.zeros(arr.shape[:-1] + (self._out_cols(arr.shape[-1]),), dtype=np.int64)
        out = self._sim_rows(rows)
        return out.reshape(arr.shape[:-1] + (out.shape[-1],))

    def fakequant(self, t: torch.Tensor | None = None, /, **named: torch.Tensor) -> torch.Tensor:
        """PyTorch path: integer tensor in (several inputs: by name), int64 tensor out."""
        if len(self.inputs) > 1:
            tensors = self._named(t, named)
            return self._twin_inputs({n: self._twin_tensor(n, tensors[n]) for n in self.inputs})
        t = self._named(t, named)[self.inputs[0]]
        rows = self._twin_input(t)
        shape = tuple(t.shape)
        if rows.shape[0] == 0:
            return torch.zeros(shape[:-1] + (self._out_cols(shape[-1]),), dtype=torch.int64, device=t.device)
        out = self._twin_rows(rows)
        return out.reshape(shape[:-1] + (out.shape[-1],))

    def bounds(self) -> dict[str, tuple[int, int]]:
        """Proven closed range of each named intermediate (see the module docstring)."""
        return {}

    def precision(self, q: np.ndarray) -> dict[str, int]:
        """Data-dependent precision that can collapse: for each named quantity whose number of
        significant bits depends on the input (I-ViT Shiftmax's factor ``(2^31-1) // sum``),
        the fewest significant bits it has on any row of ``q`` (a checked input of the op).
        Empty for ops without such a quantity. A diagnostic for the width profile; it does not
        change the op's output."""
        return {}

    # ------------------------------------------------------------------ for subclasses
    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        """Numba kernel on C-contiguous int64 ``(R, C)`` data; returns int64 ``(R, C_out)``
        (one-input ops)."""
        raise NotImplementedError

    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """PyTorch twin on int64 ``(R, C)`` data; returns int64 ``(R, C_out)`` (one-input ops)."""
        raise NotImplementedError

    def _sim_inputs(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Numba path of a several-input op on its checked int64 arrays, by name."""
        raise NotImplementedError

    def _twin_inputs(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """PyTorch path of a several-input op on its checked int64 tensors, by name."""
        raise NotImplementedError

    def _out_cols(self, cols: int) -> int:
        """Length of the output's last axis for an input whose last axis has ``cols``."""
        return cols

    def datapath(self, q: np.ndarray) -> dict[str, np.ndarray]:
        """Per-element register values the op computes at run time and an RTL engineer may
        want to compare (FQ-ViT LayerNorm's ``M``, ``N``, ``B``), from the Numba datapath;
        empty for ops without any."""
        return {}

    def twin_datapath(self, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """The same values as :meth:`datapath`, from the PyTorch twin."""
        return {}

    def check_rows(self, columns: int) -> None:
        """Hook for limits that depend on the row length (decision D14); raise ``ValueError``."""

    # ------------------------------------------------------------------ checks
    def _named(self, positional: Any, named: dict[str, Any]) -> dict[str, Any]:
        """The inputs by name: one-input ops take theirs positionally or by its name, ops with
        several take every input by name."""
        if positional is not None:
            if len(self.inputs) > 1:
                raise ValueError(f"{self.inputs[0]}: {self.name} takes its inputs by name: {', '.join(self.inputs)}")
            if named:
                raise ValueError(f"{next(iter(named))}: {self.name} takes one input")
            return {self.inputs[0]: positional}
        for key in named:
            if key not in self.inputs:
                raise ValueError(f"{key}: not an input of {self.name}; its inputs are {', '.join(self.inputs)}")
        for key in self.inputs:
            if key not in named:
                raise ValueError(f"{key}: input of {self.name} is missing")
        return named

    def _sim_array(self, name: str, q: Any, check_range: bool = True) -> np.ndarray:
        """Input ``name`` of a several-input op as an int64 array (C-contiguous unless the op
        takes ``strided_inputs``), its dtype and (with ``check_range``, and always for uint64)
        declared width checked."""
        arr = np.asarray(q)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected an integer numpy array, got dtype {arr.dtype}")
        if arr.size and (check_range or arr.dtype == np.uint64):  # uint64 past 2^63 would wrap in int64
            self._check_range(*scan.int_range(arr), name)
        if self.strided_inputs:
            return arr.astype(np.int64, copy=False)
        return np.ascontiguousarray(arr, dtype=np.int64)

    def _twin_tensor(self, name: str, t: Any) -> torch.Tensor:
        """Input ``name`` of a several-input op as an int64 tensor (detached), checked."""
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise ValueError(f"{name}: expected an integer tensor, got dtype {t.dtype}")
        if t.numel():
            lo, hi = torch.aminmax(t)
            self._check_range(int(lo), int(hi), name)
        return t.detach().to(torch.int64)

    def _sim_input(self, q: np.ndarray, check_range: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Check a numpy input (integer dtype, shape, with ``check_range`` and always for
        uint64 declared width) and return it with its rows: ``(arr, rows)``, ``rows`` the
        C-contiguous int64 ``(R, C)`` view of ``arr``."""
        arr = np.asarray(q)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"q: expected an integer numpy array, got dtype {arr.dtype}")
        self._check_shape(arr.shape)
        if arr.size and (check_range or arr.dtype == np.uint64):  # uint64 past 2^63 would wrap in int64
            self._check_range(*scan.int_range(arr))
        return arr, np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.int64)

    def _twin_input(self, t: torch.Tensor) -> torch.Tensor:
        """Check a tensor input (integer dtype, shape, declared width) and return its rows as
        int64 ``(R, C)`` (detached)."""
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"t: expected a torch.Tensor, got {type(t).__name__}")
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise ValueError(f"t: expected an integer tensor, got dtype {t.dtype}")
        self._check_shape(tuple(t.shape))
        if t.numel():
            lo, hi = torch.aminmax(t)
            self._check_range(int(lo), int(hi))
        return t.detach().to(torch.int64).reshape(-1, t.shape[-1])

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) == 0:
            raise ValueError("q: expected at least one axis (the last axis is the channel axis)")
        if shape[-1] == 0:
            raise ValueError("q: the last axis must hold at least one element")
        if self.channels is not None and shape[-1] != self.channels:
            raise ValueError(
                f"q: last axis has {shape[-1]} elements but the op was made for "
                f"{self.channels} channels"
            )
        self.check_rows(shape[-1])

    def _check_range(self, lo: int, hi: int, name: str = "q") -> None:
        spec = self.in_specs[name if len(self.inputs) > 1 else self.inputs[0]]
        if lo < spec.lo or hi > spec.hi:
            raise ValueError(
                f"{name}: values must lie in the declared input width ({spec.describe()}); "
                f"got min {lo}, max {hi}"
            )
