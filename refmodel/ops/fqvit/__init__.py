"""FQ-ViT's integer operators (Lin et al., 2022): Log-Int-Softmax, power-of-two-factor LayerNorm."""
