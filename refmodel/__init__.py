"""refmodel: a bit-accurate reference model for integer-only Vision Transformers.

The integer non-linear operators of I-BERT, I-ViT and FQ-ViT, each implemented twice (a Numba
kernel and a PyTorch integer twin) from one derived configuration; see ``refmodel.ops``.
Docstrings throughout the package cite the binding integer semantics as ``D0``-``D16``; each
is defined in ``docs/semantics.md``.
"""

__version__ = "0.1.0"
