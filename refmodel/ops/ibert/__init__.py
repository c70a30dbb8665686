"""I-BERT's integer operators (Kim et al., 2021): polynomial exp softmax, i-GELU, integer LayerNorm."""
