"""The ViT embedding: the class token and the position embedding have their own quantizers and
join the token stream at one calibrated scale."""

from __future__ import annotations

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from refmodel.pipeline import calibrate, quantized_model, slot_kinds

TINY_VIT = dict(img_size=32, patch_size=16, embed_dim=16, depth=1, num_heads=2, num_classes=5)


@pytest.fixture(scope="module")
def embedded():
    """A tiny ViT whose class token is ten times larger than any patch embedding (so the patch
    embedding's scale cannot represent it), calibrated; its embedding of fresh images."""
    torch.manual_seed(0)
    model = VisionTransformer(**TINY_VIT).eval()
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        patches = model.patch_embed(images)
        model.cls_token.copy_(10 * patches.abs().max() * torch.linspace(-1, 1, TINY_VIT["embed_dim"]))
    q = quantized_model(model, {name: "ibert" for name in slot_kinds(model)}, 8)
    with torch.no_grad():
        calibrate(q, images, batch_size=2)
        tokens = q.embed(images[:2])
        real = torch.cat([model.cls_token.expand(2, -1, -1), model.patch_embed(images[:2])], dim=1) + model.pos_embed
    return model, q, tokens, real, patches


def test_class_token_and_position_embedding_have_their_own_16_bit_scales(embedded):
    model, q, _, _, patches = embedded
    for act, param in ((q.cls_token_act, model.cls_token), (q.pos_embed_act, model.pos_embed)):
        assert act.bits == 16
        expected = torch.tensor(float(param.detach().abs().max()) / 32767, dtype=torch.float32).double()
        assert float(act.scale) == float(expected)
    assert float(q.embed_act.scale) * 32767 < float(model.cls_token.detach().abs().max())  # patches never saw it


def test_token_stream_is_the_sum_of_both_branches_within_two_roundings(embedded):
    _, q, tokens, real, _ = embedded
    s_x = float(q.pos_act.scale)
    assert tokens.bits == 16 and float(tokens.scale) == s_x
    # per element: the requantisation of each branch rounds once (<= s_x / 2 each), the 16-bit
    # quantization of the branches adds at most half of their (much finer) scales
    bound = s_x + float(q.cls_token_act.scale + q.pos_embed_act.scale + q.embed_act.scale) / 2
    error = (tokens.real(torch.float64) - real.double()).abs()
    cls_error = error[:, 0].max()
    assert cls_error <= bound
    # the patch rows also carry the image and weight quantization of the patch GEMM
    assert error[:, 1:].max() < 0.1 * float(real[:, 1:].abs().max())
