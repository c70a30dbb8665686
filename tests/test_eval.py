"""--eval DIR: a DataLoader over an ImageFolder, top-1 and top-5 against an independent count,
and an unreadable image named in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from refmodel import data, models, pipeline


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Seven PNGs in three class folders (sorted names give labels 0, 1, 2)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("eval") / "val"
    rng = np.random.default_rng(3)
    files = []
    for label, name in enumerate(("a", "b", "c")):
        (root / name).mkdir(parents=True)
        for i in range(3 if label < 2 else 1):
            path = root / name / f"{i}.png"
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
            files.append((path, label))
    return root, files


@pytest.fixture(scope="module")
def model():
    """DeiT-T whose head answers only classes 0..7, so top-5 is neither always nor never right."""
    net = models.create("deit_tiny_patch16_224", 0)
    with torch.no_grad():
        net.head.bias[8:] = -1e4
    return net


def _independent(model, files) -> tuple[int, int]:
    """Correct top-1 and top-5 answers, image by image, with PIL, the timm transform and a
    NumPy ranking (no DataLoader, no torch.topk)."""
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    transform = create_transform(**resolve_data_config({}, model=model))
    top1 = top5 = 0
    with torch.no_grad():
        for path, label in files:
            logits = model(transform(Image.open(path).convert("RGB"))[None])[0].numpy().astype(np.float64)
            order = sorted(range(len(logits)), key=lambda c: (-logits[c], c))
            top1 += order[0] == label
            top5 += label in order[:5]
    return top1, top5


def test_top1_and_top5_with_workers_equal_an_independent_count(folder, model):
    root, files = folder
    want = _independent(model, files)
    assert 0 < want[1] < len(files) or want[0] < want[1]  # the check can fail: top-5 is not trivial here
    for workers, batch in ((2, 3), (0, 7)):
        count, batches = data.image_batches(root, model, batch, workers)
        lines = []
        acc = pipeline.evaluate({"float": model}, batches, lines.append, count)["float"]
        assert count == len(files) and acc.images == len(files) and acc.k == 5
        assert (acc.top1, acc.topk) == want
        assert "images/s" in lines[-1] and f"evaluation: {len(files)} images" in lines[-1]


def test_an_unreadable_image_in_a_worker_is_one_line_naming_it(folder, model, tmp_path):
    import shutil

    root, _ = folder
    broken = tmp_path / "val"
    shutil.copytree(root, broken)
    (broken / "b" / "1.png").write_bytes(b"not a png")
    count, batches = data.image_batches(broken, model, 2, workers=2)
    with pytest.raises(data.ImageError) as info:
        pipeline.evaluate({"float": model}, batches, lambda _: None, count)
    message = str(info.value)
    assert message.startswith(f"{broken / 'b' / '1.png'}: cannot read image") and "\n" not in message


def test_bad_batch_or_workers_are_refused(folder, model):
    root, _ = folder
    with pytest.raises(ValueError, match="batch_size: must be at least 1, got 0"):
        data.image_batches(root, model, 0)
    with pytest.raises(ValueError, match="workers: must be at least 0, got -1"):
        data.image_batches(root, model, 2, -1)
