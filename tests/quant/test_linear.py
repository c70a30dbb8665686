"""QuantLinear reuses its integer weights only while the float parameters are unchanged."""

from __future__ import annotations

import torch
from torch import nn

from refmodel.quant.linear import QuantLinear
from refmodel.quant.qtensor import QTensor


def _expected(linear: nn.Linear, x: QTensor) -> torch.Tensor:
    """The accumulator computed here from scratch: per-row symmetric 8-bit weights, the bias
    at the accumulator's scale, exact integer products in Python ints."""
    w = linear.weight.detach().to(torch.float64)
    s_w = w.abs().amax(dim=1) / 127
    w_q = torch.clamp(torch.round(w / s_w[:, None]), -127, 127).to(torch.int64)
    b_q = torch.round(linear.bias.detach().to(torch.float64) / (s_w * x.scale)).to(torch.int64)
    rows = [[sum(int(a) * int(b) for a, b in zip(row, col)) + int(bias) for col, bias in zip(w_q, b_q)] for row in x.q]
    return torch.tensor(rows, dtype=torch.int64)


def test_an_edit_through_data_is_seen_by_the_next_forward():
    torch.manual_seed(0)
    linear = nn.Linear(6, 4)
    layer = QuantLinear(linear, 8, "fc")
    x = QTensor(torch.randint(-128, 128, (3, 6), dtype=torch.int64), torch.tensor(0.05, dtype=torch.float64), 8)
    with torch.no_grad():
        first = layer(x).q
        assert torch.equal(first, _expected(linear, x))
        assert torch.equal(layer(x).q, first)  # reused: same parameters, same input scale
        linear.weight.data[1, 2] += 0.5  # bumps no version counter of the parameter
        second = layer(x).q
    assert torch.equal(second, _expected(linear, x)) and not torch.equal(second, first)
