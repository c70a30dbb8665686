"""The real -> integer boundary of the model wiring (the ``quantize`` op behind it)."""

from __future__ import annotations

import torch

from refmodel.quant.exact import quantize


def test_quantize_rounds_half_to_even_and_saturates():
    x = torch.tensor([-2.5, -0.5, 0.5, 1.5, 2.5, 1000.0, -1000.0], dtype=torch.float64)
    assert quantize(x, 1.0, 8).tolist() == [-2, 0, 0, 2, 2, 127, -128]
    assert quantize(x, 1.0, 4, signed=False, zero_point=3).tolist() == [1, 3, 3, 5, 5, 15, 0]


def test_quantize_takes_a_scale_per_last_axis_element():
    x = torch.tensor([[1.0, 1.0], [-3.0, 3.0]])
    assert quantize(x, torch.tensor([0.5, 2.0]), 8).tolist() == [[2, 0], [-6, 2]]
