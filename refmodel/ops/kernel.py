"""The kernel contract shared by every op (``docs/semantics.md``, "The kernel contract").

An op is a :class:`Kernel` built by ``refmodel.ops.make``. It holds the op's derived integer
constants (``config``, the register values), its output scale, its declared input and output
widths, and two independent datapaths:

- :meth:`Kernel.sim`: the Numba kernel on a numpy integer array;
- :meth:`Kernel.fakequant`: the PyTorch int64 twin on an integer tensor.

Both take an array whose last axis is the op's reduction (or channel) axis, check that every
element lies in the declared input width (``ValueError`` otherwise; nothing is clipped), run
the op on the rows of the array flattened to 2-D and return int64 of the same shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from refmodel.fixedpoint import int_range


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

    def __init__(
        self,
        *,
        params: dict[str, Any],
        config: dict[str, Any],
        in_spec: IntSpec,
        out_spec: IntSpec,
        scale_out: float | np.ndarray | None,
        channels: int | None = None,
    ) -> None:
        self.params = params
        self.config = config
        self.in_spec = in_spec
        self.out_spec = out_spec
        self.scale_out = scale_out
        self.channels = channels

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.params.items() if np.ndim(v) == 0}
        return f"{type(self).__name__}({self.name!r}, {shown})"

    # ------------------------------------------------------------------ public datapaths
    def sim(self, q: np.ndarray) -> np.ndarray:
        """Numba path: integer numpy array in, int64 array of the same shape out."""
        arr, rows = self._sim_input(q)
        if rows.shape[0] == 0:
            return np.zeros(arr.shape, dtype=np.int64)
        return self._sim_rows(rows).reshape(arr.shape)

    def fakequant(self, t: torch.Tensor) -> torch.Tensor:
        """PyTorch path: integer tensor in, int64 tensor of the same shape out."""
        rows = self._twin_input(t)
        if rows.shape[0] == 0:
            return torch.zeros(t.shape, dtype=torch.int64, device=t.device)
        return self._twin_rows(rows).reshape(t.shape)

    # ------------------------------------------------------------------ for subclasses
    @abstractmethod
    def _sim_rows(self, rows: np.ndarray) -> np.ndarray:
        """Numba kernel on C-contiguous int64 ``(R, C)`` data; returns int64 ``(R, C)``."""

    @abstractmethod
    def _twin_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """PyTorch twin on int64 ``(R, C)`` data; returns int64 ``(R, C)``."""

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
    def _sim_input(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Check a numpy input (integer dtype, shape, declared width) and return it with its
        rows: ``(arr, rows)``, ``rows`` the C-contiguous int64 ``(R, C)`` view of ``arr``."""
        arr = np.asarray(q)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"q: expected an integer numpy array, got dtype {arr.dtype}")
        self._check_shape(arr.shape)
        if arr.size:
            self._check_range(int(arr.min()), int(arr.max()))
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

    def _check_range(self, lo: int, hi: int) -> None:
        spec = self.in_spec
        if lo < spec.lo or hi > spec.hi:
            raise ValueError(
                f"q: values must lie in the declared input width ({spec.describe()}); "
                f"got min {lo}, max {hi}"
            )
