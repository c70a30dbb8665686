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
