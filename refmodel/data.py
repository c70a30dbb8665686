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


class _Checked(torch.utils.data.Dataset):
    """An ImageFolder whose unreadable file raises :class:`ImageError` naming it."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return _item(self.dataset, index)


def _worker_error(exc: Exception) -> ImageError:
    """The one-line :class:`ImageError` of a DataLoader worker (PyTorch re-raises it in the
    main process with the worker's traceback as its message)."""
    lines = str(exc).strip().splitlines()
    for line in reversed(lines):
        if "ImageError: " in line:
            return ImageError(line.split("ImageError: ", 1)[1])
    return ImageError(lines[-1] if lines else type(exc).__name__)


def image_batches(directory: str | Path, model: torch.nn.Module, batch_size: int, workers: int = 0) -> tuple[int, Iterator[tuple[torch.Tensor, torch.Tensor]]]:
    """``(count, batches)`` of a labelled ImageFolder, read lazily by a ``DataLoader`` with
    ``workers`` processes (0: in this process) in the folder's sorted order (ImageNet's 50,000
    validation images do not fit in memory at once). An unreadable image raises
    :class:`ImageError` naming the file, when its batch is read."""
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, got {batch_size}")
    if workers < 0:
        raise ValueError(f"workers: must be at least 0, got {workers}")
    dataset = _Checked(_dataset(directory, model))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)

    def generate() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        iterator = iter(loader)
        while True:
            try:
                images, labels = next(iterator)
            except StopIteration:
                return
            except ImageError as exc:
                raise _worker_error(exc) from None
            yield images, labels

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
