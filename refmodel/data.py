"""Images for calibration and evaluation.

``--data DIR`` is an ImageFolder directory (one sub-directory per class, sorted names give
the class indices, as ImageNet's ``val`` layout does), read with the model's timm eval
transform. Without it, calibration uses seeded synthetic images: standard-normal pixels in
the normalised input space, which is what the model's first layer sees; the run says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch


class ImageError(ValueError):
    """An image file of a data directory that cannot be read (raised lazily, batch by batch,
    for an evaluation folder)."""


@dataclass
class Images:
    images: torch.Tensor  # float32 [N, 3, H, W], normalised
    labels: torch.Tensor | None  # int64 [N] for a labelled folder
    description: str


def synthetic(n: int, seed: int, size: int = 224) -> Images:
    """``n`` seeded synthetic images."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn((n, 3, size, size), generator=generator)
    return Images(images, None, f"{n} SYNTHETIC images (seeded standard-normal pixels, seed {seed}); no image data was given")


def _dataset(directory: str | Path, model: torch.nn.Module):
    from timm.data import create_transform, resolve_data_config
    from torchvision.datasets import ImageFolder

    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: data directory not found")
    transform = create_transform(**resolve_data_config({}, model=model))
    try:
        dataset = ImageFolder(str(directory), transform=transform)
    except (FileNotFoundError, OSError) as exc:
        raise ValueError(f"{directory}: not an ImageFolder directory with images ({exc})") from None
    if len(dataset) == 0:
        raise ValueError(f"{directory}: holds no images")
    return dataset


def _item(dataset, index: int) -> tuple[torch.Tensor, int]:
    try:
        return dataset[index]
    except Exception as exc:  # unreadable image file
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise ImageError(f"{dataset.samples[index][0]}: cannot read image ({type(exc).__name__}{': ' + detail if detail else ''})") from None


def image_batches(directory: str | Path, model: torch.nn.Module, batch_size: int) -> tuple[int, Iterator[tuple[torch.Tensor, torch.Tensor]]]:
    """``(count, batches)`` of a labelled ImageFolder, read lazily batch by batch (ImageNet's
    50,000 validation images do not fit in memory at once)."""
    dataset = _dataset(directory, model)

    def generate() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(dataset), batch_size):
            items = [_item(dataset, i) for i in range(start, min(start + batch_size, len(dataset)))]
            yield torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])

    return len(dataset), generate()


def image_folder(directory: str | Path, model: torch.nn.Module, limit: int | None = None) -> Images:
    """Up to ``limit`` images of an ImageFolder directory, through the model's eval transform
    (the first ``limit`` in the folder's sorted order). ``ValueError`` names the directory if
    it is missing, empty or unreadable."""
    dataset = _dataset(directory, model)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    items = [_item(dataset, index) for index in range(count)]
    images = torch.stack([x for x, _ in items])
    return Images(images, torch.tensor([y for _, y in items]), f"{count} images from {directory}")
