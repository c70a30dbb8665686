"""Models whose float network the integer path does not compute are refused, in one line."""

from __future__ import annotations

import pytest
import timm
from timm.models.swin_transformer import SwinTransformer
from timm.models.vision_transformer import VisionTransformer

from refmodel.models import MODELS
from refmodel.pipeline import quantized_model, slot_kinds
from refmodel.quant.support import check_supported, unsupported_features

TINY_VIT = dict(img_size=32, patch_size=16, embed_dim=16, depth=1, num_heads=2, num_classes=5)
TINY_SWIN = dict(img_size=32, patch_size=4, window_size=4, embed_dim=8, depths=(1, 1), num_heads=(1, 1), num_classes=5)


def _refusal(model) -> str:
    plan = {name: "ivit" for name in slot_kinds(model)}
    with pytest.raises(ValueError) as info:
        quantized_model(model, plan, 8)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", sorted(MODELS))
def test_supported_models_have_no_unsupported_feature(name):
    model = timm.create_model(MODELS[name], pretrained=False, device="meta")
    assert unsupported_features(model) == []
    check_supported(model)


def test_tiny_defaults_are_supported_and_build():
    for model in (VisionTransformer(**TINY_VIT), SwinTransformer(**TINY_SWIN)):
        plan = {name: "ivit" for name in slot_kinds(model)}
        quantized_model(model, plan, 8)


@pytest.mark.parametrize(
    "options, feature",
    [
        (dict(init_values=1e-5), "blocks.0.ls1 (layer scale)"),
        (dict(qk_norm=True), "blocks.0.attn.q_norm"),
        (dict(scale_attn_norm=True), "blocks.0.attn.norm"),
        (dict(scale_mlp_norm=True), "blocks.0.mlp.norm"),
        (dict(pre_norm=True), "norm_pre"),
        (dict(global_pool="avg"), "global_pool 'avg'"),
        (dict(fc_norm=True), "fc_norm"),
        (dict(reg_tokens=2), "2 register tokens"),
        (dict(no_embed_class=True), "no_embed_class"),
    ],
)
def test_vit_feature_is_refused_naming_model_and_feature(options, feature):
    model = VisionTransformer(**TINY_VIT, **options)
    model.pretrained_cfg = {"architecture": "tiny_vit_test"}
    message = _refusal(model)
    assert message.startswith("model tiny_vit_test: not computed by the integer path: ")
    assert feature in message


def test_layer_scale_names_both_branches_of_every_block():
    model = VisionTransformer(**{**TINY_VIT, "depth": 2}, init_values=1e-5)
    found = unsupported_features(model)
    assert found == [f"blocks.{i}.{ls} (layer scale)" for i in range(2) for ls in ("ls1", "ls2")]


def test_vit_with_another_activation_is_refused():
    import torch.nn as nn

    model = VisionTransformer(**TINY_VIT, act_layer=nn.SiLU)
    assert "blocks.0.mlp.act SiLU()" in _refusal(model)


def test_swin_with_another_pooling_is_refused():
    model = SwinTransformer(**TINY_SWIN, global_pool="max")
    message = _refusal(model)
    assert message.startswith("model SwinTransformer: ") and "global_pool 'max'" in message


def test_another_architecture_is_refused():
    model = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, device="meta")
    with pytest.raises(ValueError, match=r"^model deit_tiny_distilled_patch16_224: .*architecture VisionTransformerDistilled"):
        check_supported(model)
