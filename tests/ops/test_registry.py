"""The kernel contract: names, make, config, and the shared input checks, for every op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from refmodel import ops, synthetic

ALL = [
    "fqvit.layernorm",
    "fqvit.softmax",
    "ibert.gelu",
    "ibert.layernorm",
    "ibert.softmax",
    "ivit.gelu",
    "ivit.layernorm",
    "ivit.softmax",
    "lut.gelu",
    "lut.layernorm",
    "lut.softmax",
    "requant",
]


#: The ops of the linear layers, requantisers and the image quantiser, with small parameters.
LINEAR = {
    "fqvit.attend": {"scale_v": 0.05, "depth": 16},
    "gemm": {"weight": np.arange(-24, 24).reshape(3, 16), "bias": [5, -6, 7], "scale_in": 0.1, "scale_w": [0.01, 0.02, 0.03]},
    "matmul": {"scale_a": 0.1, "scale_b": 0.2, "depth": 16},
    "quantize": {"scale": 0.05, "bits": 8},
    "requant_add": {"scale_a": 0.001, "scale_b": 0.002, "scale_out": 0.01, "out_bits": 16},
    "requant_wide": {"scale_in": 1e-6, "scale_out": 0.03, "out_bits": 8},
}


def test_names_lists_every_op():
    assert ops.names() == sorted(ALL + list(LINEAR))


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_ops_hold_plain_integer_config_and_name_unknown_parameters(name):
    k = ops.make(name, **LINEAR[name])
    assert k.config and all(key.isidentifier() for key in k.config)
    assert all(_plain(v) for v in k.config.values()), k.config
    assert k.name == name
    with pytest.raises(ValueError, match="^wobble:"):
        ops.make(name, **LINEAR[name], wobble=1)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="^name: unknown op 'ivit.relu'; known ops: fqvit.attend, fqvit.layernorm"):
        ops.make("ivit.relu", scale_in=1.0)


def _kernel(name: str, channels: int = 16) -> ops.Kernel:
    return ops.make(name, **synthetic.params(name, np.random.default_rng(0), channels, 8))


def _plain(value) -> bool:
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (int, bool)


@pytest.mark.parametrize("name", ALL)
def test_config_holds_plain_integers_with_identifier_keys(name):
    k = _kernel(name)
    assert k.config and all(key.isidentifier() for key in k.config)
    assert all(_plain(v) for v in k.config.values()), k.config


@pytest.mark.parametrize("name", ALL)
def test_unknown_parameter_is_named(name):
    params = synthetic.params(name, np.random.default_rng(0), 16, 8)
    with pytest.raises(ValueError, match="^wobble:"):
        ops.make(name, **params, wobble=1)


@pytest.mark.parametrize("name", ALL)
def test_input_outside_the_declared_width_is_refused(name):
    k = _kernel(name)
    too_big = np.full((2, 16), k.in_spec.hi + 1, dtype=np.int64)
    with pytest.raises(ValueError, match="^q:"):
        k.sim(too_big)
    with pytest.raises(ValueError, match="^q:"):
        k.fakequant(torch.from_numpy(too_big))


@pytest.mark.parametrize("name", ALL)
def test_float_input_is_refused(name):
    k = _kernel(name)
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="^t:"):
        k.fakequant(torch.zeros((2, 16)))


@pytest.mark.parametrize("name", ALL)
def test_shape_is_kept_and_empty_batches_work(name):
    k = _kernel(name)
    q = synthetic.inputs(name, k.params, (2, 3, 16), np.random.default_rng(1))
    assert k.sim(q).shape == (2, 3, 16)
    assert k.fakequant(torch.from_numpy(q)).shape == (2, 3, 16)
    empty = np.zeros((0, 16), dtype=np.int64)
    assert k.sim(empty).shape == (0, 16)


@pytest.mark.parametrize("name", ALL)
def test_empty_last_axis_is_refused(name):
    k = _kernel(name)
    with pytest.raises(ValueError, match="^q:"):
        k.sim(np.zeros((2, 0), dtype=np.int64))
