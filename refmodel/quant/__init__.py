"""Quantized building blocks for timm ViT/DeiT/Swin models, wired the I-ViT way (D7):
16-bit residual stream, per-channel symmetric weights, per-tensor symmetric activations,
32-bit bias, dyadic requantisation between layers, and one non-linear slot per Softmax, GELU
and LayerNorm that runs the method a plan gives it. ``Dn`` is decision n of
``docs/semantics.md``; the integer graph, signal by signal, is ``docs/network.md``."""
