"""The straight-through wrapper: exact integer forward, float-function backward."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

from refmodel import ops, synthetic
from refmodel.ops import autograd


def test_docstring_examples():
    assert doctest.testmod(autograd).failed == 0


@pytest.mark.parametrize("name", ["ivit.softmax", "ibert.softmax", "ivit.gelu", "ibert.layernorm", "ivit.layernorm", "lut.softmax", "lut.gelu", "lut.layernorm", "requant"])
def test_forward_is_the_twin_and_backward_is_the_float_gradient(name):
    rng = np.random.default_rng(0)
    params = synthetic.params(name, rng, 16, 8)
    k = ops.make(name, **params)
    q = torch.from_numpy(synthetic.inputs(name, params, (4, 16), rng))
    scale_in = torch.as_tensor(np.asarray(params["scale_in"], dtype=np.float64))
    x = (q.to(torch.float64) * scale_in).requires_grad_(True)
    y, y_int = autograd.straight_through(k, q, x)
    assert torch.equal(y_int, k.fakequant(q))
    assert torch.equal(y, autograd.dequantize(k, y_int, torch.float64))
    weights = torch.randn(y.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    (y * weights).sum().backward()
    x2 = x.detach().requires_grad_(True)
    (autograd.float_reference(k)(x2) * weights).sum().backward()
    assert torch.equal(x.grad, x2.grad)
    assert x.grad.abs().sum() > 0


def test_log2_codes_dequantize_with_the_zero_code():
    k = ops.make("fqvit.softmax", scale_in=0.08, out_bits=6)
    codes = torch.tensor([[0, 1, 8, 62, 63]])
    real = autograd.dequantize(k, codes, torch.float64)
    assert real.tolist() == [[1.0, 0.5, 2.0**-8, 2.0**-62, 0.0]]


def test_training_step_changes_a_weight_through_the_integer_op():
    torch.manual_seed(0)
    k = ops.make("ivit.gelu", scale_in=0.05)
    layer = torch.nn.Linear(8, 8)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    x = layer(torch.randn(4, 8))
    q = torch.clamp(torch.round(x.detach() / 0.05), -128, 127).to(torch.int64)
    y, _ = autograd.straight_through(k, q, x)
    before = layer.weight.detach().clone()
    y.pow(2).sum().backward()
    opt.step()
    assert not torch.equal(before, layer.weight)
