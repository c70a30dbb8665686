"""Short model names, timm models, and where their weights come from.

``load(name, checkpoint=None, seed=0)`` builds the timm model for a short name and fills it,
in this order of preference, from

1. ``checkpoint``: a ``.pth``/``.pt`` (a plain state dict or DeiT's ``{"model": ...}``) or a
   ``.safetensors`` file, in timm's layout or the original DeiT/ViT/Swin layout (converted by
   timm's own checkpoint filter);
2. for ``digits``, the float model ``python -m refmodel.train digits --float`` wrote
   (:func:`refmodel.digits.float_checkpoint`), when it exists;
3. the local timm / Hugging Face cache, when the pretrained file is already there (looked up
   offline: no network wait);
4. a seeded initialisation (``torch.manual_seed(seed)`` around timm's own init).

The returned :class:`LoadedModel` says which one it used; callers print it. A wrong or
corrupt checkpoint raises ``ValueError`` naming the file and the first mismatching key or
shape.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MODELS = {
    "deit_t": "deit_tiny_patch16_224",
    "deit_s": "deit_small_patch16_224",
    "deit_b": "deit_base_patch16_224",
    "vit_s": "vit_small_patch16_224",
    "vit_b": "vit_base_patch16_224",
    "swin_t": "swin_tiny_patch4_window7_224",
    "swin_s": "swin_small_patch4_window7_224",
    "digits": "vit_digits_patch2_12",  # refmodel.digits: a small ViT for the digits data set
}

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass
class LoadedModel:
    """A float timm model in eval mode and the provenance of its weights."""

    name: str
    timm_name: str
    model: torch.nn.Module
    source: str  # "checkpoint", "cache" or "seeded"
    path: Path | None
    sha256: str  # of the weight file, or "seeded"
    seed: int | None

    def describe(self) -> str:
        if self.source == "seeded":
            return f"weights: SEEDED random initialisation (seed {self.seed}); no checkpoint or cached pretrained file was used"
        return f"weights: {self.source} {self.path} (sha256 {self.sha256[:16]}...)"


def resolve(name: str) -> str:
    """The timm model name of a short name; ``ValueError`` lists the known names."""
    if name not in MODELS:
        raise ValueError(f"model: unknown model {name!r}; known models: {', '.join(MODELS)}")
    return MODELS[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, unwrapped from ``{"model": ...}``/``{"state_dict": ...}``
    and stripped of a ``module.`` prefix. ``ValueError`` names the file if it is unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: checkpoint file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: one clear line, not a traceback
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}{': ' + detail if detail else ''})") from None
    for key in ("model", "state_dict", "model_state"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def apply_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state`` into ``model`` strictly, after timm's conversion of original layouts.

    ``ValueError`` names ``path`` and the first missing, unexpected or mis-shaped key.
    """
    state = _timm_filter(model, state)
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            if _derived_buffer(key):
                continue
            raise ValueError(f"{path}: missing key {key!r} (expected shape {tuple(tensor.shape)})")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ValueError(
                f"{path}: key {key!r} has shape {tuple(state[key].shape)}, the model expects {tuple(tensor.shape)}"
            )
    for key in state:
        if key not in expected:
            raise ValueError(f"{path}: unexpected key {key!r} (not a parameter of this model)")
    model.load_state_dict({k: v for k, v in state.items()}, strict=False)


def _derived_buffer(key: str) -> bool:
    # Swin's relative-position index and attention masks are rebuilt by the model itself.
    return key.endswith(("relative_position_index", "attn_mask"))


def _timm_filter(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    from timm.models import swin_transformer, vision_transformer

    try:
        if isinstance(model, swin_transformer.SwinTransformer):
            return swin_transformer.checkpoint_filter_fn(state, model)
        if isinstance(model, vision_transformer.VisionTransformer):
            return vision_transformer.checkpoint_filter_fn(state, model)
    except Exception:  # a layout timm cannot convert: let the strict key check report it
        return state
    return state


def cached_pretrained(timm_name: str) -> Path | None:
    """The local pretrained weight file of ``timm_name``, if a previous download left one."""
    import timm
    from huggingface_hub import try_to_load_from_cache

    model_cfg = timm.create_model(timm_name, pretrained=False).pretrained_cfg
    repo = model_cfg.get("hf_hub_id")
    if repo:
        for filename in _WEIGHT_FILES:
            found = try_to_load_from_cache(repo, filename)
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
    url = model_cfg.get("url")
    if url:
        hub = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
        if hub.is_file():
            return hub
    return None


def create(timm_name: str, seed: int) -> torch.nn.Module:
    """A timm model with its own initialisation, made deterministic by ``seed``."""
    import timm

    from refmodel import digits  # noqa: F401  (registers the digits model with timm)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = timm.create_model(timm_name, pretrained=False)
    return model.eval()


def load(name: str, checkpoint: str | Path | None = None, seed: int = 0) -> LoadedModel:
    """Build model ``name`` with weights from ``checkpoint``, the local cache, or ``seed``."""
    timm_name = resolve(name)
    model = create(timm_name, seed)
    if checkpoint is not None:
        path = Path(checkpoint)
        apply_state_dict(model, read_state_dict(path), path)
        return LoadedModel(name, timm_name, model.eval(), "checkpoint", path, sha256_of(path), None)
    if name == "digits":
        from refmodel import digits

        trained = digits.float_checkpoint()
        if trained.is_file():
            apply_state_dict(model, read_state_dict(trained), trained)
            return LoadedModel(name, timm_name, model.eval(), "checkpoint", trained, sha256_of(trained), None)
    cached = cached_pretrained(timm_name)
    if cached is not None:
        apply_state_dict(model, read_state_dict(cached), cached)
        return LoadedModel(name, timm_name, model.eval(), "cache", cached, sha256_of(cached), None)
    return LoadedModel(name, timm_name, model.eval(), "seeded", None, "seeded", seed)
