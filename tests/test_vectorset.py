"""Vector sets: complete, deterministic, tamper-evident."""

from __future__ import annotations

import json

import numpy as np
import pytest

from refmodel import ops, vectorset


def _set(name: str = "case_a") -> vectorset.VectorSet:
    k = ops.make("requant", scale_in=[0.01, 0.02, 0.04], scale_out=0.05, out_bits=6)
    q = np.array([[-1000, 5, 2000], [7, -8, 9]], dtype=np.int64)
    return vectorset.VectorSet(name, k, q, k.sim(q), seed=3)


def test_written_set_reads_back_and_lists_every_file(tmp_path):
    vs = _set()
    vectorset.write(tmp_path / "a", vs, method_rules="rules")
    meta, q, out = vectorset.read(tmp_path / "a")
    np.testing.assert_array_equal(q, vs.inputs)
    np.testing.assert_array_equal(out, vs.outputs)
    on_disk = {p.name for p in (tmp_path / "a").iterdir()} - {"meta.json"}
    assert on_disk == set(meta["sha256"]) == {"input.hex", "output.hex", "cfg_m.hex", "cfg_c.hex", "vectors.npz", "case_a.svh"}
    npz = np.load(tmp_path / "a" / "vectors.npz")
    np.testing.assert_array_equal(npz["cfg_m"], vs.kernel.config["m"])
    svh = (tmp_path / "a" / "case_a.svh").read_text()
    assert "`define RM_N_VECTORS 6" in svh and "`define RM_OUT_BITS 6" in svh and 'RM_CFG_M_FILE "cfg_m.hex"' in svh
    assert meta["tensors"]["output"] == {"file": "output.hex", "bits": 6, "signed": True, "count": 6}


def test_same_inputs_give_identical_bytes(tmp_path):
    vectorset.write(tmp_path / "a", _set(), method_rules="r")
    vectorset.write(tmp_path / "b", _set(), method_rules="r")
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_rewrite_replaces_the_old_set_and_leaves_no_staging(tmp_path):
    vectorset.write(tmp_path / "a", _set(), method_rules="old")
    vectorset.write(tmp_path / "a", _set(), method_rules="new")
    assert json.loads((tmp_path / "a" / "meta.json").read_text())["rules"] == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_failed_write_leaves_nothing(tmp_path):
    vs = _set()
    vs.outputs = vs.outputs + 1000  # outside the 6-bit output width
    with pytest.raises(ValueError):
        vectorset.write(tmp_path / "a", vs, method_rules="r")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("victim", ["output.hex", "input.hex", "cfg_c.hex", "vectors.npz"])
def test_an_edited_byte_names_the_file(tmp_path, victim):
    vectorset.write(tmp_path / "a", _set(), method_rules="r")
    path = tmp_path / "a" / victim
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=victim):
        vectorset.read(tmp_path / "a")


def test_a_missing_file_is_reported(tmp_path):
    vectorset.write(tmp_path / "a", _set(), method_rules="r")
    (tmp_path / "a" / "output.hex").unlink()
    with pytest.raises(ValueError, match="output.hex: missing"):
        vectorset.read(tmp_path / "a")


def _rebuilt_equals_written(directory) -> bool:
    meta = json.loads((directory / "meta.json").read_text())
    texts = {name: (directory / name).read_text() for name in vectorset.input_files(meta)}
    rebuilt = vectorset.rebuild(meta, texts)
    on_disk = {p.name for p in directory.iterdir()}
    return on_disk == set(rebuilt) and all(rebuilt[name] == (directory / name).read_bytes() for name in rebuilt)


def test_shaped_set_of_two_inputs_has_one_file_per_input_and_reads_back(tmp_path):
    rng = np.random.default_rng(1)
    k = ops.make("matmul", scale_a=0.1, scale_b=0.2, depth=5, a_bits=8, b_bits=6)
    a = rng.integers(-128, 128, (2, 3, 4, 5))
    b = rng.integers(-32, 32, (2, 3, 5, 6))
    out = np.einsum("...ik,...kj->...ij", a, b)  # exact int64 reference, independent of the op
    vectorset.write(tmp_path / "qk", vectorset.VectorSet("blocks.0.attn.qk", k, {"a": a, "b": b}, out), method_rules="r")
    meta, inputs, got = vectorset.read(tmp_path / "qk")
    assert set(inputs) == {"input_a", "input_b"} and meta["tensors"]["input_b"]["shape"] == [2, 3, 5, 6]
    np.testing.assert_array_equal(inputs["input_a"], a)
    np.testing.assert_array_equal(inputs["input_b"], b)
    np.testing.assert_array_equal(got, out)
    svh = (tmp_path / "qk" / "blocks_0_attn_qk.svh").read_text()
    assert '`define RM_INPUT_B_FILE "input_b.hex"' in svh and "`define RM_INPUT_B_BITS 6" in svh and "`define RM_OUTPUT_DIM3 6" in svh
    assert _rebuilt_equals_written(tmp_path / "qk")


def test_shaped_set_of_a_gemm_keeps_its_weights_as_config(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.integers(-127, 128, (6, 5))
    bias = rng.integers(-1000, 1000, 6)
    k = ops.make("gemm", weight=w, bias=bias, scale_in=0.1, scale_w=np.full(6, 0.01), in_bits=8, w_bits=8)
    x = rng.integers(-128, 128, (2, 4, 5))
    vectorset.write(tmp_path / "fc", vectorset.VectorSet("fc1", k, x, x @ w.T + bias), method_rules="r")
    meta, q, out = vectorset.read(tmp_path / "fc")
    assert meta["tensors"]["input"]["shape"] == [2, 4, 5] and meta["tensors"]["output"]["shape"] == [2, 4, 6]
    np.testing.assert_array_equal(np.load(tmp_path / "fc" / "vectors.npz")["cfg_weight"], w.reshape(-1))
    assert _rebuilt_equals_written(tmp_path / "fc")


def test_shaped_set_keeps_a_real_input_exactly(tmp_path):
    x = np.array([[0.1, -0.30000000000000004, 1e-300, 2.5]], dtype=np.float64)
    k = ops.make("quantize", scale=0.1, bits=8)
    vectorset.write(tmp_path / "img", vectorset.VectorSet("input_act", k, x, k.sim(x)), method_rules="r")
    meta, got, _ = vectorset.read(tmp_path / "img")
    assert meta["tensors"]["input"]["format"] == "float64"
    assert got.tobytes() == x.tobytes()
    assert _rebuilt_equals_written(tmp_path / "img")


def test_shaped_set_rebuild_catches_an_edited_input(tmp_path):
    rng = np.random.default_rng(3)
    k = ops.make("matmul", scale_a=0.1, scale_b=0.2, depth=3, a_bits=8, b_bits=8)
    a, b = rng.integers(-128, 128, (2, 3)), rng.integers(-128, 128, (3, 2))
    vectorset.write(tmp_path / "m", vectorset.VectorSet("m", k, {"a": a, "b": b}, a @ b), method_rules="r")
    path = tmp_path / "m" / "input_b.hex"
    lines = path.read_text().splitlines()
    lines[0] = "00" if lines[0] != "00" else "01"
    path.write_text("\n".join(lines) + "\n")
    assert not _rebuilt_equals_written(tmp_path / "m")
