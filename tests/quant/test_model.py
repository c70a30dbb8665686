"""The quantized models: float path unchanged, uniform plans bit-exact, gradients flow."""

from __future__ import annotations

import pytest
import torch

from refmodel import models, pipeline
from refmodel.plan import uniform_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deit():
    return models.load("deit_t", seed=1).model


@pytest.fixture(scope="module")
def swin():
    return models.load("swin_t", seed=1).model


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn((n, 3, 224, 224), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("which", ["deit", "swin"])
def test_float_output_is_unchanged_by_wrapping(which, request):
    model = request.getfixturevalue(which)
    for module in model.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = False  # timm's explicit softmax path, which the wrapper follows
    q = pipeline.quantized_model(model, uniform_plan(pipeline.slot_kinds(model), "ivit"), 8)
    q.quantized = False
    images = _images(2)
    with torch.no_grad():
        assert torch.equal(q(images), model(images))


@pytest.mark.parametrize("method", ["ibert", "fqvit", "ivit", "lut"])
@pytest.mark.parametrize("bits", [8, 6])
def test_uniform_plan_runs_and_its_integer_slots_are_bit_exact(deit, method, bits):
    kinds = pipeline.slot_kinds(deit)
    plan = uniform_plan(kinds, method)
    logits, checker, _ = pipeline.run_mixed(deit, plan, bits, _images(2), 2, lambda _: None)
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()
    for name, kind in kinds.items():
        if plan[name] == "float":
            assert method == "fqvit" and kind == "gelu" and name not in checker.checks
        else:
            assert checker.checks[name].exact, (name, checker.checks[name].first)
    assert len(checker.checks) == (37 if method == "fqvit" else 49)


def test_one_training_step_changes_the_weights(deit):
    kinds = pipeline.slot_kinds(deit)
    plan = {name: ("ibert", "fqvit", "ivit", "lut")[i % 4] if kind != "gelu" else ("ibert", "ivit", "lut")[i % 3] for i, (name, kind) in enumerate(kinds.items())}
    q = pipeline.quantized_model(deit, plan, 8)
    images = _images(2, seed=5)
    pipeline.calibrate(q, images, 2)
    before = {n: p.detach().clone() for n, p in deit.named_parameters()}
    opt = torch.optim.SGD(deit.parameters(), lr=1e-2)
    loss = torch.nn.functional.cross_entropy(q(images), torch.tensor([1, 2]))
    loss.backward()
    without = [n for n, p in deit.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without == []
    opt.step()
    changed = [n for n, p in deit.named_parameters() if not torch.equal(before[n], p.detach())]
    assert len(changed) == len(before)
    with torch.no_grad():
        for n, p in deit.named_parameters():
            p.copy_(before[n])
