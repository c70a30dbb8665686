"""A method whose uniform model cannot represent a calibrated scale (4 bits) is left out of
the sensitivity, with the one-line reason naming the slot; the plan uses the others."""

from __future__ import annotations

import pytest
import torch

from refmodel import models, pipeline
from refmodel.plan import choose

pytestmark = pytest.mark.slow


def test_a_refused_method_is_no_candidate_and_says_which_slot():
    model = models.create(models.resolve("digits"), 0)
    with torch.no_grad():
        model.blocks[0].attn.qkv.weight.mul_(12.0)  # large attention scores: a 4-bit input scale above I-BERT's limit
    images = torch.randn((4, 1, 12, 12), generator=torch.Generator().manual_seed(0))
    lines: list[str] = []
    sens = pipeline.sensitivity(model, 4, images, 4, lines.append)
    assert "ibert" in sens.refused and "ibert" not in sens.models and "ibert" not in sens.logits
    assert sens.refused["ibert"].startswith("slot blocks.0.attn.softmax (ibert.softmax): scale_in: must be in")
    assert "\n" not in sens.refused["ibert"]
    assert any(line.startswith("uniform ibert model refused: slot blocks.0.attn.softmax") for line in lines)
    assert all("ibert" not in entry.scores and entry.scores for entry in sens.scores)
    assert "ibert" not in set(choose(sens.scores).values())
