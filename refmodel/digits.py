"""The ``digits`` data set and model: real images, small enough to train here.

Data: scikit-learn's handwritten digits (``sklearn.datasets.load_digits``, shipped inside the
package, no download): 1,797 grey 8x8 images with pixel values 0..16 and 10 classes. A fixed
seeded permutation splits them into :data:`TRAIN` training, :data:`CALIBRATION` calibration
and :data:`TEST` test images (the same split everywhere, whatever the caller's seed). Each
image is upsampled by 1.5 (bilinear, align_corners=False) to 12x12 and normalised to
``(x / 16 - 0.5) / 0.5``, one channel.

Model ``vit_digits_patch2_12`` (registered with timm): a standard ``VisionTransformer`` with
a class token and learned position embedding, 2x2 patches (36 patches + class token),
width 64, 4 blocks, 4 heads, MLP ratio 2, no layer scale, no dropout: the layout the
quantized wrappers of :mod:`refmodel.quant` expect.

scikit-learn is an optional dependency (``pip install 'refmodel[digits]'``); without it the
functions that need the images raise one ``ValueError`` saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from refmodel.data import Images

TIMM_NAME = "vit_digits_patch2_12"
IMAGE_SIZE = 12
CLASSES = 10
TRAIN, CALIBRATION, TEST = 1257, 180, 360
SPLIT_SEED = 20240725
SPLITS = ("train", "calibration", "test")


def cache_dir() -> Path:
    """Where the digits float model lives by default: ``$REFMODEL_CACHE`` or
    ``~/.cache/refmodel``, then ``digits/``."""
    root = os.environ.get("REFMODEL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "refmodel")
    return Path(root) / "digits"


def float_checkpoint() -> Path:
    """The float model written by ``python -m refmodel.train digits --float``."""
    return cache_dir() / "float" / "model.safetensors"


def _register() -> None:
    from timm.models import register_model
    from timm.models._registry import is_model

    if is_model(TIMM_NAME):
        return

    def vit_digits_patch2_12(pretrained: bool = False, **kwargs) -> torch.nn.Module:
        from timm.models.vision_transformer import VisionTransformer

        if pretrained:
            raise ValueError(f"{TIMM_NAME}: no pretrained weights exist; train them with python -m refmodel.train digits --float")
        for key in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
            kwargs.pop(key, None)
        args = dict(img_size=IMAGE_SIZE, patch_size=2, in_chans=1, num_classes=CLASSES, embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0)
        model = VisionTransformer(**{**args, **kwargs})
        cfg = {"input_size": (1, IMAGE_SIZE, IMAGE_SIZE), "mean": (0.5,), "std": (0.5,), "num_classes": CLASSES, "interpolation": "bilinear", "crop_pct": 1.0}
        model.pretrained_cfg = model.default_cfg = cfg
        return model

    vit_digits_patch2_12.__module__ = __name__
    register_model(vit_digits_patch2_12)


_register()


@dataclass
class Split:
    """One split: normalised images ``[N, 1, 12, 12]`` (float32) and labels ``[N]`` (int64)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor

    def describe(self) -> str:
        return f"{len(self.labels)} digits {self.name} images (sklearn load_digits, fixed split seed {SPLIT_SEED})"

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.labels), batch_size):
            yield self.images[start : start + batch_size], self.labels[start : start + batch_size]


def _raw() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError("digits: the data set needs scikit-learn (pip install 'refmodel[digits]')") from None
    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


def preprocess(images: np.ndarray) -> torch.Tensor:
    """``[N, 8, 8]`` pixels 0..16 -> ``[N, 1, 12, 12]``: bilinear x1.5, then ``(x/16 - 0.5)/0.5``."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    return (x - 0.5) / 0.5


def load(split: str) -> Split:
    """The ``train``, ``calibration`` or ``test`` split."""
    if split not in SPLITS:
        raise ValueError(f"split: must be one of {', '.join(SPLITS)}, got {split!r}")
    images, labels = _raw()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    bounds = {"train": (0, TRAIN), "calibration": (TRAIN, TRAIN + CALIBRATION), "test": (TRAIN + CALIBRATION, TRAIN + CALIBRATION + TEST)}
    lo, hi = bounds[split]
    index = order[lo:hi]
    return Split(split, preprocess(images[index]), torch.from_numpy(labels[index]))


def images(split: str, limit: int | None = None) -> Images:
    """The first ``limit`` images of a split as calibration :class:`refmodel.data.Images`."""
    part = load(split)
    n = len(part.labels) if limit is None else min(limit, len(part.labels))
    return Images(part.images[:n], part.labels[:n], f"{n} of the {part.describe()}")
