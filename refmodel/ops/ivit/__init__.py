"""I-ViT's integer operators (Li & Gu, 2023): Shiftmax, ShiftGELU, I-LayerNorm."""
