"""Every integer operator of the network behind one contract: the non-linear ops, the
requantisers, the products of the linear layers and attention, and the image quantiser.

>>> from refmodel import ops
>>> ops.names()[:3]
['fqvit.attend', 'fqvit.layernorm', 'fqvit.softmax']
>>> k = ops.make("requant", scale_in=0.5, scale_out=0.25, out_bits=8)
>>> k.config["m"], k.config["c"]
(1073741824, 29)

Each name maps to a module with a ``make(**params)`` factory (the ops of the non-linear
methods are declared in ``refmodel.methods``); see ``docs/ops/<name>.md`` for
the integer algorithm of each op. The decisions the op modules cite as ``D0``-``D16`` (the
binding integer semantics: rounding, saturation, exact division, overflow) are defined in
``docs/semantics.md``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from refmodel.ops.kernel import IntSpec, Kernel

__all__ = ["names", "make", "Kernel", "IntSpec"]

#: Ops that belong to no method (the ops of methods come from ``refmodel.methods``).
_MODULES = {
    "requant": "refmodel.ops.requant",
    "requant_wide": "refmodel.ops.requant_wide",
    "requant_add": "refmodel.ops.requant_add",
    "gemm": "refmodel.ops.gemm",
    "matmul": "refmodel.ops.matmul",
    "fqvit.attend": "refmodel.ops.fqvit.attend",
    "quantize": "refmodel.ops.quantize",
}


def _modules() -> dict[str, str]:
    """Op name -> module, for the ops of every registered method and the others."""
    from refmodel import methods

    return {**{name: op.module for name, op in methods.ops().items()}, **_MODULES}


def names() -> list[str]:
    """The sorted names of every op ``make`` builds."""
    return sorted(_modules())


def make(name: str, **params: Any) -> Kernel:
    """Build op ``name`` from its parameters (table in ``docs/semantics.md``, "The kernel contract").

    Raises ``ValueError`` for an unknown name, an unknown or missing parameter, or a value
    outside its accepted range.
    """
    modules = _modules()
    if name not in modules:
        raise ValueError(f"name: unknown op {name!r}; known ops: {', '.join(sorted(modules))}")
    factory = importlib.import_module(modules[name]).make
    signature = inspect.signature(factory)
    accepted = list(signature.parameters)
    for key in params:
        if key not in signature.parameters:
            raise ValueError(f"{key}: not a parameter of {name}; its parameters are {', '.join(accepted)}")
    for key, p in signature.parameters.items():
        if p.default is inspect.Parameter.empty and key not in params:
            raise ValueError(f"{key}: required parameter of {name} is missing")
    return factory(**params)
