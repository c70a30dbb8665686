"""``refmodel.cost``: the committed cost table is current for the RTL sources, a changed RTL
file makes exactly the ops that use it stale (named by ``--check``), and the area and timing
arithmetic."""

from __future__ import annotations

import json
import shutil

import pytest

from refmodel import cost, rtl


def test_the_committed_table_has_a_current_entry_for_every_op_with_rtl():
    table = cost.load_table()
    assert sorted(table["ops"]) == sorted(rtl.SUPPORTED_OPS)
    assert cost.stale_ops(table) == [], "RTL changed without a regenerated table: run python -m refmodel.cost"


def test_check_passes_on_the_committed_table(capsys):
    assert cost.main(["--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["op", "configuration"]
    assert [line.split()[0] for line in lines[1:]] == sorted(rtl.SUPPORTED_OPS)


@pytest.mark.parametrize(
    "source, ops",
    [
        ("rm_iexp.v", ["fqvit.softmax", "ibert.softmax"]),
        ("rm_isqrt.v", ["fqvit.layernorm", "ibert.layernorm"]),
        ("rm_shiftmax.v", ["ivit.softmax"]),
        ("rm_lut_gelu.v", ["lut.gelu"]),
        ("rm_dot.v", ["gemm", "matmul"]),
        ("rm_requant.v", ["requant", "requant_add"]),
        (
            "rm_udiv.v",
            ["fqvit.layernorm", "fqvit.softmax", "ibert.layernorm", "ibert.softmax", "ivit.gelu", "ivit.layernorm", "lut.layernorm"],
        ),
    ],
)
def test_a_changed_rtl_file_makes_exactly_its_ops_stale(tmp_path, source, ops):
    rtl_dir = tmp_path / "rtl"
    shutil.copytree(rtl.RTL_DIR, rtl_dir)
    with open(rtl_dir / source, "a") as f:
        f.write("// edited\n")
    assert cost.stale_ops(cost.load_table(), rtl_dir) == sorted(ops)


def test_check_names_the_op_whose_entry_is_stale(tmp_path, capsys):
    table = cost.load_table()
    table["ops"]["ivit.gelu"]["digest"] = "0" * 64
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(table))
    assert cost.main(["--check", "--table", str(path)]) == 1
    assert capsys.readouterr().out.strip() == f"cost table {path} is stale for: ivit.gelu (rerun python -m refmodel.cost)"


def test_an_unknown_op_is_one_error_line(capsys):
    assert cost.main(["no.such_op"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: OP: 'no.such_op' has no RTL; ops with RTL: ")


def test_nand2_area_weighs_gates_and_every_flip_flop_kind():
    cells = {"$_NAND_": 2, "$_XOR_": 1, "$_DFF_P_": 1, "$_DFFE_PP_": 1, "$_SDFF_PP0_": 1, "$_SDFFCE_PN0P_": 1}
    area, flops = cost.nand2_area(cells)
    assert flops == 4
    assert area == pytest.approx(2 * 1.0 + 2.33 + 4.33 + (4.33 + 2.33) + (4.33 + 1.33) + (4.33 + 2.33 + 1.33))
    with pytest.raises(ValueError, match=r"cell type '\$_AOI3_' is not in the gate library"):
        cost.nand2_area({"$_AOI3_": 1})


def test_a_streaming_op_takes_one_cycle_per_element(tmp_path):
    if shutil.which("iverilog") is None:
        pytest.fail(rtl.INSTALL_HINT)
    timing = cost.measure_cycles("requant", tmp_path)
    assert timing["cycles_per_row"] == timing["row_length"] == 192
    assert timing["first_latency"] == 2
    assert cost.load_table()["ops"]["requant"]["cycles_per_row"] == 192


@pytest.mark.parametrize("op, entries, entry_bits, row_bits", [("lut.gelu", 256, 16, 0), ("lut.softmax", 256, 17, 197 * 8), ("lut.layernorm", 256, 30, 192 * 16)])
def test_the_table_ops_pay_for_their_tables(op, entries, entry_bits, row_bits):
    """The tables are register files inside the lut blocks: their flip-flops are in the table
    (every entry bit, plus the row buffer of the row-level ops)."""
    entry = cost.load_table()["ops"][op]
    assert entry["flip_flops"] >= entries * entry_bits + row_bits
    cfg = cost.CONFIGS[op]
    assert len(cfg.make(cfg.row_length).config["table"]) == entries
