"""The digits data set and model: a fixed split, disjoint and complete; the model's layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from refmodel import digits, models, pipeline  # noqa: E402


def test_splits_are_fixed_disjoint_and_cover_the_data_set():
    from collections import Counter

    from sklearn.datasets import load_digits

    raw = load_digits()
    parts = {name: digits.load(name) for name in digits.SPLITS}
    assert [len(parts[n].labels) for n in digits.SPLITS] == [digits.TRAIN, digits.CALIBRATION, digits.TEST]
    # the splits together hold every (image, label) of the data set exactly once
    everything = digits.preprocess(raw.images)
    want = Counter((everything[i].numpy().tobytes(), int(raw.target[i])) for i in range(len(raw.target)))
    got = Counter((p.images[i].numpy().tobytes(), int(p.labels[i])) for p in parts.values() for i in range(len(p.labels)))
    assert got == want and sum(want.values()) == 1797
    again = digits.load("test")
    assert torch.equal(again.images, parts["test"].images) and torch.equal(again.labels, parts["test"].labels)
    assert np.bincount(parts["test"].labels.numpy(), minlength=10).min() > 0


def test_split_name_is_checked():
    with pytest.raises(ValueError, match="split: must be one of train, calibration, test"):
        digits.load("val")


def test_preprocess_is_bilinear_upsampling_then_normalisation():
    image = np.zeros((1, 8, 8), dtype=np.float32)
    image[0, 3, 4] = 16.0
    x = digits.preprocess(image)
    assert x.shape == (1, 1, digits.IMAGE_SIZE, digits.IMAGE_SIZE)
    # a constant image stays constant: 16 -> 1.0, 0 -> -1.0
    assert torch.equal(digits.preprocess(np.full((1, 8, 8), 16.0, np.float32)), torch.ones(1, 1, 12, 12))
    assert torch.equal(digits.preprocess(np.zeros((1, 8, 8), np.float32)), -torch.ones(1, 1, 12, 12))
    assert float(x.max()) < 1.0 and float(x.min()) == -1.0


def test_the_digits_model_is_a_standard_vit_the_wrappers_take():
    model = models.create(models.resolve("digits"), 0)
    assert model.cls_token is not None and model.global_pool == "token"
    assert model.patch_embed.proj.kernel_size == (2, 2) and model.patch_embed.num_patches == 36
    kinds = pipeline.slot_kinds(model)
    assert len(kinds) == 4 * 4 + 1
    images = digits.preprocess(np.zeros((2, 8, 8), np.float32))
    assert model(images).shape == (2, digits.CLASSES)


def test_models_load_finds_the_trained_digits_weights(tmp_path, monkeypatch):
    from refmodel import checkpoint

    monkeypatch.setenv("REFMODEL_CACHE", str(tmp_path))
    assert models.load("digits", seed=4).source == "seeded"
    trained = models.create(models.resolve("digits"), 7)
    path = digits.float_checkpoint()
    assert path == tmp_path / "digits" / "float" / "model.safetensors"
    checkpoint.write(path, checkpoint.TrainCheckpoint("digits", "float", trained.state_dict(), 40))
    loaded = models.load("digits", seed=4)
    assert loaded.source == "checkpoint" and loaded.path == path
    for key, value in trained.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
