"""Where each input element of a layer comes from: copies, gathers, constants and values the
wiring computed, on a toy network whose wiring is known."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from refmodel import digits, layergraph, models, ops, pipeline
from refmodel.quant.opcall import run
from refmodel.quant.ptf import PTFQuant

MASK = torch.tensor([[True, False, False, True, False, False]])


class Toy(nn.Module):
    """image -> quantize -> requant of the reversed row (a gather) -> masked copy (constants),
    an identity copy, a sum the wiring computes, and a join of two producers."""

    def __init__(self) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.tensor([[0.5, -0.25, 1.0, 0.0, 2.0, -3.0]]))
        self.quant = ops.make("quantize", scale=0.05, bits=8)
        self.requant = ops.make("requant", scale_in=0.05, scale_out=0.1, out_bits=8, in_bits=8)
        self.add = ops.make("requant_add", scale_a=0.1, scale_b=0.05, scale_out=0.1, out_bits=8, a_bits=8, b_bits=8)

    def slots(self) -> list:
        return []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        q = run(self.quant, "image_act", x=images)
        t = run(self.quant, "token_act", x=self.token)
        reversed_ = run(self.requant, "reversed", q=q.flip(-1))
        masked = run(self.requant, "masked", q=torch.where(MASK, torch.full_like(reversed_, -128), reversed_))
        same = run(self.requant, "same", q=reversed_.reshape(3, 2))
        computed = run(self.requant, "computed", q=(reversed_ // 2))
        return run(self.add, "joined", a=torch.cat([same.reshape(1, 6)[:, :3], masked[:, 3:]], dim=1), b=t.clamp(-100, 100) + 0 * computed.sum())


def _layers() -> dict[str, layergraph.Layer]:
    images = torch.tensor([[0.3, -1.2, 4.0, 0.05, -0.4, 2.2]])
    return {layer.name: layer for layer in layergraph.record(Toy(), images)}


def test_real_inputs_are_the_image_or_a_parameter():
    layers = _layers()
    assert layers["image_act"].sources["x"].kind == "image"
    assert layers["token_act"].sources["x"].kind == "parameter"


def test_a_reversed_row_is_a_gather_and_a_reshape_an_identity():
    layers = _layers()
    flip = layers["reversed"].sources["q"]
    assert (flip.kind, flip.producers, flip.identity, flip.producer) == ("layer", ["image_act"], False, None)
    np.testing.assert_array_equal(flip.element, [5, 4, 3, 2, 1, 0])
    same = layers["same"].sources["q"]
    assert (same.kind, same.producers, same.identity) == ("layer", ["reversed"], True)


def test_masked_elements_are_constants_of_the_map():
    src = _layers()["masked"].sources["q"]
    assert src.kind == "layer" and src.producers == ["reversed"]
    np.testing.assert_array_equal(src.producer, [-1, 0, 0, -1, 0, 0])
    np.testing.assert_array_equal(src.element, [-128, 1, 2, -128, 4, 5])


def test_values_the_wiring_computes_are_unchained():
    layers = _layers()
    assert layers["computed"].sources["q"].kind == "unchained"
    assert layers["joined"].sources["b"].kind == "unchained"  # a saturation the wiring computes


def test_a_join_of_two_producers_names_both_and_gathers_exactly():
    layers = _layers()
    src = layers["joined"].sources["a"]
    assert src.producers == ["same", "masked"]
    np.testing.assert_array_equal(src.producer, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(src.element, [0, 1, 2, 3, 4, 5])
    outputs = {name: layer.output for name, layer in layers.items()}
    np.testing.assert_array_equal(src.gather(outputs), layers["joined"].inputs["a"].reshape(-1))


def test_fqvit_layernorm_wiring_leaves_no_input_unchained():
    """Digits with FQ-ViT LayerNorms: the PTF quantizer (requant with the zero point, unsigned)
    and the saturation to the next activation (the output quantizer's requant of ratio 1) are
    layers, so every input of the graph is a copy of earlier outputs, the image or a
    parameter."""
    model = models.load("digits").model
    kinds = pipeline.slot_kinds(model)
    q = pipeline.quantized_model(model, {name: "fqvit" if kind == "layernorm" else "ibert" for name, kind in kinds.items()}, 8)
    images = digits.images("calibration", 4).images
    pipeline.set_datapath(q, "numba")
    pipeline.calibrate(q, images, 4)
    layers = {layer.name: layer for layer in layergraph.record(q, images[:1])}
    assert [f"{name}: {key}" for name, layer in layers.items() for key, src in layer.sources.items() if src.kind == "unchained"] == []
    norms = [name for name, kind in kinds.items() if kind == "layernorm"]
    assert len(norms) == 9
    zero_points = {m.name: m.zero_point for m in q.modules() if isinstance(m, PTFQuant)}
    for norm, consumer in [("blocks.0.norm1", "blocks.0.attn.qkv"), ("blocks.3.norm2", "blocks.3.mlp.fc1"), ("norm", "head")]:
        ptf, act = layers[f"{norm}.ptf"].kernel, layers[f"{norm}.out_act"].kernel
        assert (ptf.name, ptf.out_spec.signed, ptf.config["zero_point"]) == ("requant", False, zero_points[f"{norm}.ptf"])
        assert (act.name, act.config["m"], act.config["c"], act.config["zero_point"]) == ("requant", 2**30, 30, 0)
        assert layers[norm].sources["q"].producers == [f"{norm}.ptf"] and layers[norm].sources["q"].identity
        assert layers[f"{norm}.out_act"].sources["q"].producers == [norm] and layers[f"{norm}.out_act"].sources["q"].identity
        assert layers[consumer].sources["q"].producers == [f"{norm}.out_act"]
