"""Model names, weight sources and checkpoint errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from refmodel import models


@pytest.fixture(scope="module")
def seeded():
    return models.load("deit_t", seed=3)


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_seeded_weights_are_reproducible_and_say_so(seeded):
    again = models.load("deit_t", seed=3)
    other = models.load("deit_t", seed=4)
    assert seeded.source == "seeded" and "SEEDED" in seeded.describe()
    assert _equal(seeded.model, again.model)
    assert not _equal(seeded.model, other.model)


def test_pth_checkpoint_in_deit_layout(tmp_path, seeded):
    path = tmp_path / "deit.pth"
    torch.save({"model": seeded.model.state_dict()}, path)
    loaded = models.load("deit_t", checkpoint=path, seed=9)
    assert loaded.source == "checkpoint" and loaded.path == path and len(loaded.sha256) == 64
    assert _equal(loaded.model, seeded.model)


def test_safetensors_checkpoint(tmp_path, seeded):
    path = tmp_path / "deit.safetensors"
    save_file({k: v.contiguous() for k, v in seeded.model.state_dict().items()}, str(path))
    assert _equal(models.load("deit_t", checkpoint=path, seed=9).model, seeded.model)


def test_corrupt_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(ValueError, match=f"^{path}: not a readable checkpoint"):
        models.load("deit_t", checkpoint=path)


def test_wrong_shape_names_the_key(tmp_path, seeded):
    state = dict(seeded.model.state_dict())
    state["blocks.3.mlp.fc1.weight"] = torch.zeros(10, 10)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"key 'blocks.3.mlp.fc1.weight' has shape \(10, 10\), the model expects \(768, 192\)"):
        models.load("deit_t", checkpoint=path)


def test_missing_and_unexpected_keys_are_named(tmp_path, seeded):
    state = dict(seeded.model.state_dict())
    del state["norm.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="missing key 'norm.weight'"):
        models.load("deit_t", checkpoint=tmp_path / "missing.pth")
    state = dict(seeded.model.state_dict(), extra=torch.zeros(1))
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match="unexpected key 'extra'"):
        models.load("deit_t", checkpoint=tmp_path / "extra.pth")


def test_a_checkpoint_for_another_model(tmp_path, seeded):
    torch.save(seeded.model.state_dict(), tmp_path / "deit_t.pth")
    with pytest.raises(ValueError, match="deit_t.pth: .*(shape|key)"):
        models.load("deit_s", checkpoint=tmp_path / "deit_t.pth")


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet50'; known models: deit_t, deit_s, deit_b, vit_s, vit_b, swin_t, swin_s"):
        models.load("resnet50")


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(ValueError, match="checkpoint file not found"):
        models.load("deit_t", checkpoint=tmp_path / "nope.pth")
