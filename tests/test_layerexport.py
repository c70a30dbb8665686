"""The layer export: one vector set per integer layer, the graph in manifest.json, the chain
check (on the small digits ViT, so the whole export stays cheap)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refmodel import layerexport, sim, vectorcheck, vectorset
from tests.test_vectors import resign

ARGS = ["digits", "--calib-images", "8", "--vector-images", "2"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layers") / "digits"
    assert sim.main([*ARGS, "--out", str(out)]) == 0
    return out


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def _check(directory: Path) -> list[str]:
    """What ``python -m refmodel.vectors check DIR`` prints (in this process: no start-up)."""
    outcome, _ = vectorcheck.check(directory)
    return outcome.lines()


def _arrays(directory: Path, layer: str) -> tuple[dict, np.ndarray]:
    meta, inputs, output = vectorset.read(directory / layerexport.layer_dir(layer))
    return (inputs if isinstance(inputs, dict) else {"input": inputs}), output


def test_every_layer_has_a_set_in_forward_order_and_the_check_passes(exported, capsys):
    manifest = _manifest(exported)
    layers = manifest["layers"]
    names = [e["name"] for e in layers]
    assert manifest["vector_images"] == 2 and "max_rows" not in manifest
    assert names[0] == "input_act" and names[-1] == "head" and len(names) == len(set(names))
    assert layers[0]["inputs"] == {"x": {"from": "image"}}
    # every slot is one of the layers, at its place in the forward order
    slot_names = [e["name"] for e in manifest["slots"]]
    assert [n for n in names if n in set(slot_names)] == slot_names and len(slot_names) == len(manifest["plan"])
    for e in layers:
        assert (exported / e["dir"] / "meta.json").is_file()
        for source in e["inputs"].values():
            if source["from"] == "layer":
                assert all(names.index(p) < names.index(e["name"]) for p in source["producers"])
    proc = subprocess.run([sys.executable, "-m", "refmodel.vectors", "check", str(exported)], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.rstrip().splitlines()
    assert proc.returncode == 0 and lines[-1] == f"vectors ok: {len(layers)}/{len(layers)} sets", proc.stdout + proc.stderr
    chained = sum(1 for e in layers for s in e["inputs"].values() if s["from"] == "layer")
    assert lines[-2] == f"chain: {chained} layer inputs equal their producers' outputs"


def test_sets_hold_the_complete_tensors_of_the_first_images(exported):
    inputs, output = _arrays(exported, "input_act")
    assert inputs["input"].shape[0] == 2 and output.shape == inputs["input"].shape
    _, logits_acc = _arrays(exported, "head")
    assert logits_acc.shape == (2, 10)


def test_the_graph_maps_equal_the_model_wiring(exported):
    """Independent of the source codes: the head split and k^T by reshapes of the qkv
    quantizer's output, the class-token slice by indexing."""
    _, qkv = _arrays(exported, "blocks.0.attn.qkv_act")
    inputs, _ = _arrays(exported, "blocks.0.attn.qk")
    a, b = inputs["input_a"], inputs["input_b"]
    heads = a.shape[1]
    batch, tokens, _ = qkv.shape
    split = qkv.reshape(batch, tokens, 3, heads, -1).transpose(2, 0, 3, 1, 4)
    np.testing.assert_array_equal(a, split[0])
    np.testing.assert_array_equal(b, split[1].swapaxes(-2, -1))
    _, normed = _arrays(exported, "norm.out_act")
    head_in, _ = _arrays(exported, "head")
    np.testing.assert_array_equal(head_in["input"], normed[:, 0])
    entry = next(e for e in _manifest(exported)["layers"] if e["name"] == "blocks.0.attn.qk")
    assert entry["inputs"]["a"]["map"] == "gather" and entry["inputs"]["a"]["producers"] == ["blocks.0.attn.qkv_act"]


def test_rerun_reproduces_every_file_byte_for_byte(exported):
    """``vectors check --rerun`` reruns the recorded command (the plan that ran, the same
    images) and compares every file: the export is byte-identical across runs."""
    proc = subprocess.run([sys.executable, "-m", "refmodel.vectors", "check", str(exported), "--rerun"], capture_output=True, text=True, timeout=600)
    lines = proc.stdout.rstrip().splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines[-2].startswith("rerun: python -m refmodel.sim digits --bits 8 --seed 0 --calib-images 8 --layers all --vector-images 2 --plan ")
    assert lines[-2].endswith(": 0 file(s) differ from the export (report.txt not compared)")


def _forge_input(export: Path, layer: str) -> None:
    """Change one element of ``layer``'s input and rewrite the whole set as the writer would
    (outputs recomputed, every sha256 updated): only the chain can tell."""
    set_dir = export / layerexport.layer_dir(layer)
    meta = json.loads((set_dir / "meta.json").read_text())
    text = (set_dir / "input.hex").read_text().splitlines()
    bits = meta["tensors"]["input"]["bits"]
    text[3] = format((int(text[3], 16) + 1) % (1 << bits), f"0{len(text[3])}x")
    texts = {"input.hex": "\n".join(text) + "\n"}
    files = vectorset.rebuild(meta, texts)
    for name, data in files.items():
        (set_dir / name).write_bytes(data)
    resign(export)


def test_an_edited_input_with_its_set_rewritten_fails_only_the_chain(exported, tmp_path):
    """The forged set passes its own check; the chain names it and its producer, and its
    consumer (whose input no longer equals the forged set's recomputed output)."""
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    _forge_input(copy, "blocks.0.mlp.fc1")
    lines = _check(copy)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 2, lines
    assert failed[0].startswith("FAIL blocks.0.mlp.fc1: chain: input q of layer blocks.0.mlp.fc1 differs from the output of its producer blocks.0.norm2.out_act in 1 elements; first at element 3")
    assert failed[1].startswith("FAIL blocks.0.mlp.act: chain: input q of layer blocks.0.mlp.act differs from the output of its producer blocks.0.mlp.fc1")
    total = len(_manifest(copy)["layers"])
    assert lines[-1] == f"vectors FAILED: {total - 2}/{total} sets ok"


def test_an_edited_wiring_map_fails_naming_the_layer(exported, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    entry = next(e for e in _manifest(copy)["layers"] if e["name"] == "head")
    path = copy / entry["inputs"]["q"]["wiring"]
    with np.load(path) as npz:
        element = npz["element"].copy()
    element[0] += 1
    path.write_bytes(vectorset.npz_bytes({"element": element}))
    resign(copy)
    failed = [line for line in _check(copy) if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL head: chain: input q of layer head differs from the output of its producer norm.out_act"), failed


def test_vector_images_beyond_the_calibration_images_is_refused(capsys, tmp_path):
    assert sim.main(["digits", "--calib-images", "2", "--vector-images", "3", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "error: --vector-images must be between 1 and --calib-images (2), got 3"
    assert not (tmp_path / "o").exists()
