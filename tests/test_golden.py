"""The committed golden vectors are exactly what the code produces today."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refmodel import golden, vectorset


def test_golden_set_is_byte_identical_to_a_fresh_regeneration(tmp_path):
    golden.write_all(tmp_path)
    problems = golden.compare_trees(golden.GOLDEN_DIR, tmp_path)
    assert problems == [], "\n".join(problems[:20])


def test_every_op_has_cases_at_both_activation_widths_where_one_applies():
    by_op: dict[str, set[int]] = {}
    for case in golden.cases():
        by_op.setdefault(case.op, set()).add(case.width)
    for op in ("ibert.softmax", "ivit.softmax", "fqvit.softmax", "lut.softmax", "ivit.gelu", "lut.gelu", "fqvit.layernorm", "requant"):
        assert by_op[op] == {6, 8}, op
    assert set(by_op) == set(golden.RULES)


def test_committed_sets_read_back_and_match_their_npz():
    sets = sorted(p.parent for p in golden.GOLDEN_DIR.rglob("meta.json"))
    assert len(sets) == len(golden.cases())
    for directory in sets:
        meta, q, out = vectorset.read(directory)
        npz = np.load(directory / "vectors.npz")
        for role, values in (q.items() if isinstance(q, dict) else [("input", q)]):
            # a real input (quantize) reads back as float64; its npz holds the bit patterns
            bits = values.view(np.int64) if values.dtype.kind == "f" else values
            np.testing.assert_array_equal(npz[role], bits)
        np.testing.assert_array_equal(npz["output"], out)


def test_network_op_sets_are_shaped_and_reach_their_corners():
    """The whole-network ops' cases: two input files for matmul and requant_add, gemm's output
    row of N, and the corners the case names promise (checked on the committed files)."""
    def read(op: str, case: str):
        return vectorset.read(golden.GOLDEN_DIR / op / case)

    meta, inputs, out = read("matmul", "w16-pv")
    assert set(inputs) == {"input_a", "input_b"} and meta["tensors"]["input_a"]["signed"] is False
    assert out.min() == 7 * 65535 * -128
    meta, q, out = read("gemm", "w8-random")
    assert q.shape == (2, 3, 16) and out.shape == (2, 3, 6)
    assert (read("gemm", "w8-edges")[2].min(), read("gemm", "w8-edges")[2].max()) == (-(2**31), 2**31 - 1)
    assert read("gemm", "w16-wide_acc")[0]["tensors"]["output"]["bits"] == 40
    assert read("gemm", "w32-extreme")[0]["tensors"]["output"]["bits"] == 63
    assert read("matmul", "w32-extreme")[2].max() == 2**61
    meta, inputs, out = read("requant_add", "w8-edges")
    assert {-128, 127} <= set(out.ravel().tolist())
    assert read("requant_add", "w16-broadcast")[1]["input_b"].shape == (3, 1)
    assert set(read("requant_add", "w2-narrow")[2].ravel().tolist()) == {0, 1, 2, 3}


def test_a_flipped_output_bit_is_named_with_op_case_and_element(tmp_path):
    golden.write_all(tmp_path / "a")
    case = golden.cases()[0]
    victim: Path = tmp_path / "a" / case.directory / "output.hex"
    lines = victim.read_text().splitlines()
    lines[3] = format(int(lines[3], 16) ^ 1, f"0{len(lines[3])}x")
    victim.write_text("\n".join(lines) + "\n")
    problems = golden.compare_trees(tmp_path / "a", golden.GOLDEN_DIR)
    assert any(p.startswith(f"{case.directory}/output.hex: differs at element 3") for p in problems), problems


def test_fqvit_layernorm_sets_carry_m_n_b_that_reproduce_the_output():
    """dp_m/dp_n/dp_b.hex hold the per-(token, channel) mantissa, shift and bias;
    OUT = rne_shift(sign * M * Xs + B, N) with Xs = (q - zp) << shift_c must hold."""
    from refmodel.fixedpoint import rne_shift
    from refmodel.hexio import from_hex_text

    sets = sorted(p.parent for p in (golden.GOLDEN_DIR / "fqvit.layernorm").rglob("meta.json"))
    assert sets
    for directory in sets:
        meta, q, out = vectorset.read(directory)
        dp = {k: from_hex_text((directory / v["file"]).read_text(), v["bits"], v["signed"]) for k, v in meta["datapath_files"].items()}
        assert set(dp) == {"M", "N", "B"}
        cfg = meta["config"]
        cols = q.shape[-1]
        for i, (x, y) in enumerate(zip(q.reshape(-1).tolist(), out.reshape(-1).tolist())):
            c = i % cols
            xs = (x - cfg["zero_point"]) << cfg["shift"][c]
            assert rne_shift(cfg["sign"][c] * dp["M"][i] * xs + dp["B"][i], dp["N"][i]) == y, (directory.name, i)
