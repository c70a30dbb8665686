"""The integer non-linear operators and the requantiser, behind one contract.

>>> from refmodel import ops
>>> ops.names()[:3]
['fqvit.layernorm', 'fqvit.softmax', 'ibert.gelu']
>>> k = ops.make("requant", scale_in=0.5, scale_out=0.25, out_bits=8)
>>> k.config["m"], k.config["c"]
(1073741824, 29)

Each name maps to a module with a ``make(**params)`` factory; see ``docs/ops/<name>.md`` for
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

_MODULES = {
    "ibert.softmax": "refmodel.ops.ibert.softmax",
    "ibert.gelu": "refmodel.ops.ibert.gelu",
    "ibert.layernorm": "refmodel.ops.ibert.layernorm",
    "ivit.softmax": "refmodel.ops.ivit.softmax",
    "ivit.gelu": "refmodel.ops.ivit.gelu",
    "ivit.layernorm": "refmodel.ops.ivit.layernorm",
    "fqvit.softmax": "refmodel.ops.fqvit.softmax",
    "fqvit.layernorm": "refmodel.ops.fqvit.layernorm",
    "requant": "refmodel.ops.requant",
}


def names() -> list[str]:
    """The sorted names of every op ``make`` builds."""
    return sorted(_MODULES)


def make(name: str, **params: Any) -> Kernel:
    """Build op ``name`` from its parameters (table in ``docs/semantics.md``, "The kernel contract").

    Raises ``ValueError`` for an unknown name, an unknown or missing parameter, or a value
    outside its accepted range.
    """
    if name not in _MODULES:
        raise ValueError(f"name: unknown op {name!r}; known ops: {', '.join(names())}")
    factory = importlib.import_module(_MODULES[name]).make
    signature = inspect.signature(factory)
    accepted = list(signature.parameters)
    for key in params:
        if key not in signature.parameters:
            raise ValueError(f"{key}: not a parameter of {name}; its parameters are {', '.join(accepted)}")
    for key, p in signature.parameters.items():
        if p.default is inspect.Parameter.empty and key not in params:
            raise ValueError(f"{key}: required parameter of {name} is missing")
    return factory(**params)
