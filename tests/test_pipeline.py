"""refmodel.pipeline: Swin's SQNR is taken per image (all windows together) and leaves out the
entries the shifted-window mask removes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from refmodel import pipeline
from refmodel.plan import uniform_plan

SHIFTED_SOFTMAX = "layers.0.blocks.1.attn.softmax"
IMAGES, BATCH = 3, 2

pytestmark = pytest.mark.slow


def _tiny_swin(mask_value: float) -> torch.nn.Module:
    """A seeded one-stage Swin (8x8 tokens, 4x4 windows, the second block shifted), with the
    float model's mask value replaced by ``mask_value``."""
    from timm.models.swin_transformer import SwinTransformer

    torch.manual_seed(0)
    model = SwinTransformer(img_size=32, patch_size=4, window_size=4, embed_dim=16, depths=(2,), num_heads=(2,), num_classes=5).eval()
    mask = model.layers[0].blocks[1].attn_mask
    assert mask is not None and bool((mask < 0).any())
    mask[mask < 0] = mask_value
    return model


class _Keeper:
    """Keeps every tensor the probe protocol hands over for one slot."""

    wants_io = True

    def __init__(self, inner) -> None:
        self.inner, self.seen = inner, []

    def on_io(self, slot, x, y, masked=None) -> None:
        if slot.name == SHIFTED_SOFTMAX:
            self.seen.append((x, masked))
        self.inner.on_io(slot, x, y, masked)

    def on_kernel(self, slot, kernel, q_in, q_out) -> None:
        pass


def _measure(mask_value: float):
    """SQNR probe of a uniform I-BERT copy against the float model, over ``IMAGES`` images in
    batches of ``BATCH``; also the float and quantized softmax inputs and masks seen."""
    model = _tiny_swin(mask_value)
    images = torch.randn((IMAGES, 3, 32, 32), generator=torch.Generator().manual_seed(1))
    float_model = pipeline.float_model_of(model, 8)
    copy = pipeline.quantized_model(model, uniform_plan(pipeline.slot_kinds(model), "ibert"), 8)
    pipeline.calibrate(copy, images, BATCH)
    recorder = pipeline.SlotRecorder()
    float_keeper = _Keeper(recorder)
    probe = pipeline.SQNRProbe(recorder)
    keeper = _Keeper(probe)
    pipeline.set_probe(float_model, float_keeper)
    pipeline.set_probe(copy, keeper)
    with torch.no_grad():
        for batch in pipeline.batches(images, BATCH):
            float_model(batch)
            probe.samples = batch.shape[0]
            copy(batch)
    return probe, float_keeper.seen, keeper.seen


@pytest.fixture(scope="module")
def measured():
    return _measure(-100.0)


def test_softmax_sqnr_has_one_ratio_per_image_not_per_window(measured):
    probe, _, _ = measured
    for name in (SHIFTED_SOFTMAX, "layers.0.blocks.0.attn.softmax", "norm"):
        assert probe.inputs[name].samples == IMAGES
        assert probe.outputs[name].samples == IMAGES


def test_softmax_sqnr_in_matches_an_independent_per_image_computation(measured):
    probe, float_seen, quant_seen = measured
    ratios = []
    for (fx, _), (qx, masked) in zip(float_seen, quant_seen):
        f, q = fx.double().numpy(), qx.double().numpy()
        keep = np.broadcast_to(~masked.numpy(), f.shape)
        per_image = f.shape[0] // 4 if f.shape[0] % 4 == 0 else None  # 4 windows per image
        assert per_image is not None
        for i in range(per_image):
            rows = slice(4 * i, 4 * i + 4)
            fi, qi, ki = f[rows][keep[rows]], q[rows][keep[rows]], keep[rows]
            assert ki.sum() < ki.size  # the shifted block does mask entries
            ratios.append(np.sqrt((fi**2).sum()) / np.sqrt(((fi - qi) ** 2).sum()))
    assert len(ratios) == IMAGES
    assert probe.inputs[SHIFTED_SOFTMAX].ratios == pytest.approx(ratios, rel=1e-12)
    assert probe.inputs[SHIFTED_SOFTMAX].sqnr_db() == pytest.approx(20 * math.log10(np.mean(ratios)), rel=1e-12)


def test_the_float_models_mask_value_does_not_enter_the_sqnr(measured):
    """Masked entries are left out: -100 or -1000 in the float model gives the same numbers
    (with the masked entries compared, SQNR_in would move by tens of dB)."""
    probe, _, _ = measured
    other, _, _ = _measure(-1000.0)
    for name in (SHIFTED_SOFTMAX,):
        assert other.inputs[name].ratios == pytest.approx(probe.inputs[name].ratios, rel=1e-9)
        assert other.outputs[name].ratios == pytest.approx(probe.outputs[name].ratios, rel=1e-9)
