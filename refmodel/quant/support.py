"""Which timm models the integer path computes, and one error line for the rest.

The quantized wrappers (``QuantViT``, ``QuantSwin``) compute a fixed integer graph
(docs/network.md): pre-norm blocks of LayerNorm, attention (qkv, ``q k^T``, softmax,
``P V``, proj) and an MLP (fc1, GELU, fc2) joined to the residual stream with a plain add;
for ViT a class token and a position embedding before the blocks, a final LayerNorm and the
head on the class token; for Swin the patch-embedding LayerNorm, patch merging, a final
LayerNorm and the head on the average of the tokens. A timm option that puts anything else
in the float network (layer scale, extra norms, other pooling, extra tokens, another block,
MLP or activation type) would make the integer path compute a different network without
saying so. :func:`check_supported` refuses such a model with one ``ValueError`` line that
names the model and every unsupported feature found.
"""

from __future__ import annotations

from torch import nn


def model_name(model: nn.Module) -> str:
    """The timm architecture name (``deit_tiny_patch16_224``), else the class name."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return str(cfg.get("architecture") or type(model).__name__)


def _present(module: nn.Module | None) -> bool:
    """Whether an optional timm sub-module does something (timm puts ``nn.Identity`` there
    when the option is off)."""
    return module is not None and not isinstance(module, nn.Identity)


def _is_layernorm(module: nn.Module | None) -> bool:
    return isinstance(module, nn.LayerNorm) and module.elementwise_affine and module.weight is not None and module.bias is not None


def _is_exact_gelu(module: nn.Module | None) -> bool:
    return type(module) is nn.GELU and module.approximate == "none"


def _mlp_features(prefix: str, mlp: nn.Module) -> list[str]:
    from timm.layers import Mlp

    if type(mlp) is not Mlp:
        return [f"{prefix} of type {type(mlp).__name__} (only timm's Mlp: fc1, GELU, fc2)"]
    found = []
    if not _is_exact_gelu(mlp.act):
        found.append(f"{prefix}.act {mlp.act!r} (only the exact nn.GELU)")
    if _present(mlp.norm):
        found.append(f"{prefix}.norm (norm inside the MLP)")
    return found


def _norm_features(names: dict[str, nn.Module | None]) -> list[str]:
    return [f"{name} of type {type(norm).__name__} (only nn.LayerNorm with weight and bias)" for name, norm in names.items() if not _is_layernorm(norm)]


def vit_features(model: nn.Module) -> list[str]:
    """The features of a timm ``VisionTransformer`` that ``QuantViT`` does not compute."""
    from timm.models.vision_transformer import Attention, Block

    found = []
    if getattr(model, "global_pool", "token") != "token":
        found.append(f"global_pool {model.global_pool!r} (only the class token, 'token')")
    if _present(getattr(model, "fc_norm", None)):
        found.append("fc_norm (norm after pooling)")
    if _present(getattr(model, "norm_pre", None)):
        found.append("norm_pre (norm before the blocks)")
    if getattr(model, "num_reg_tokens", 0):
        found.append(f"{model.num_reg_tokens} register tokens")
    if getattr(model, "no_embed_class", False):
        found.append("no_embed_class (position embedding without the class token)")
    if getattr(model, "dynamic_img_size", False):
        found.append("dynamic_img_size")
    if _present(getattr(model.patch_embed, "norm", None)):
        found.append("patch_embed.norm")
    found += _norm_features({"norm": model.norm})
    for i, blk in enumerate(model.blocks):
        p = f"blocks.{i}"
        if type(blk) is not Block:
            found.append(f"{p} of type {type(blk).__name__} (only timm's pre-norm Block)")
            continue
        for ls in ("ls1", "ls2"):
            if _present(getattr(blk, ls)):
                found.append(f"{p}.{ls} (layer scale)")
        found += _norm_features({f"{p}.norm1": blk.norm1, f"{p}.norm2": blk.norm2})
        attn = blk.attn
        if type(attn) is not Attention:
            found.append(f"{p}.attn of type {type(attn).__name__} (only timm's Attention)")
        else:
            for qk in ("q_norm", "k_norm"):
                if _present(getattr(attn, qk)):
                    found.append(f"{p}.attn.{qk}")
            if _present(attn.norm):
                found.append(f"{p}.attn.norm (norm after attention)")
        found += _mlp_features(f"{p}.mlp", blk.mlp)
    return found


def swin_features(model: nn.Module) -> list[str]:
    """The features of a timm ``SwinTransformer`` that ``QuantSwin`` does not compute."""
    from timm.models.swin_transformer import PatchMerging, SwinTransformerBlock

    found = []
    if model.global_pool != "avg":
        found.append(f"global_pool {model.global_pool!r} (only the average of the tokens, 'avg')")
    if getattr(model, "dynamic_img_size", False):
        found.append("dynamic_img_size")
    found += _norm_features({"patch_embed.norm": model.patch_embed.norm, "norm": model.norm})
    for i, stage in enumerate(model.layers):
        if _present(stage.downsample):
            if type(stage.downsample) is not PatchMerging:
                found.append(f"layers.{i}.downsample of type {type(stage.downsample).__name__} (only timm's PatchMerging)")
            else:
                found += _norm_features({f"layers.{i}.downsample.norm": stage.downsample.norm})
        for j, blk in enumerate(stage.blocks):
            p = f"layers.{i}.blocks.{j}"
            if type(blk) is not SwinTransformerBlock:
                found.append(f"{p} of type {type(blk).__name__} (only timm's SwinTransformerBlock)")
                continue
            found += _norm_features({f"{p}.norm1": blk.norm1, f"{p}.norm2": blk.norm2})
            found += _mlp_features(f"{p}.mlp", blk.mlp)
    return found


def unsupported_features(model: nn.Module) -> list[str]:
    """Every feature of ``model`` the integer path would not compute (empty: supported)."""
    from timm.models.swin_transformer import SwinTransformer
    from timm.models.vision_transformer import VisionTransformer

    if type(model) is VisionTransformer:
        return vit_features(model)
    if type(model) is SwinTransformer:
        return swin_features(model)
    return [f"architecture {type(model).__name__} (only timm's VisionTransformer and SwinTransformer)"]


def check_supported(model: nn.Module) -> None:
    """``ValueError`` (one line naming the model and the features) unless the integer path
    computes ``model``'s float network."""
    found = unsupported_features(model)
    if found:
        raise ValueError(f"model {model_name(model)}: not computed by the integer path: {'; '.join(found)}")
