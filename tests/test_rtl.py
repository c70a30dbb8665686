"""The reference RTL (``rtl_vectors/``) against the vector sets, through ``refmodel.rtl``.

Icarus Verilog is required (CI installs it); without it these tests fail with the install
command rather than skip.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from refmodel import ops, rtl, vectorset
from refmodel.golden import GOLDEN_DIR
from refmodel.hexio import from_hex_lines, hex_digits
from tests.rtl.edge_sets import _row_kinds, edge_cases, write_confirmed

RTL_OPS = rtl.SUPPORTED_OPS
GOLDEN_SETS = sorted(p for op in RTL_OPS for p in (GOLDEN_DIR / op).iterdir() if (p / "meta.json").exists())


def _set_with_unknown_op(root: Path, name: str = "unknown") -> Path:
    """A copy of a golden set whose meta.json names an op without RTL."""
    set_dir = root / name
    shutil.copytree(GOLDEN_DIR / "requant" / "w8-ties", set_dir)
    meta = json.loads((set_dir / "meta.json").read_text())
    meta["op"] = "no.such_op"
    (set_dir / "meta.json").write_text(json.dumps(meta))
    return set_dir


def _run(set_dir: Path, **kwargs) -> rtl.TestbenchResult:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.fail(rtl.INSTALL_HINT)
    return rtl.run_testbench(set_dir, **kwargs)


def _element_count(set_dir: Path) -> int:
    """Output elements of a set (shaped or not)."""
    meta = json.loads((set_dir / "meta.json").read_text())
    return int(meta["tensors"]["output"]["count"])


def test_icarus_verilog_is_installed():
    assert shutil.which("iverilog") and shutil.which("vvp"), rtl.INSTALL_HINT


def test_every_rtl_op_has_golden_sets():
    assert {p.parent.name for p in GOLDEN_SETS} == set(RTL_OPS)


@pytest.mark.parametrize("set_dir", GOLDEN_SETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rtl_matches_every_golden_element(set_dir):
    r = _run(set_dir)
    assert (r.vectors, r.errors, r.mismatches) == (_element_count(set_dir), 0, []), r.log


@pytest.mark.parametrize("op", RTL_OPS)
def test_rtl_matches_without_handshake_bubbles(op):
    set_dir = next(p for p in GOLDEN_SETS if p.parent.name == op and p.name.endswith("-edges"))
    r = _run(set_dir, stall=False)
    assert (r.vectors, r.errors) == (_element_count(set_dir), 0), r.log


def _stress_sets(root: Path) -> list[Path]:
    """Sets past the golden cases' corners: every output width and signedness class, shifts
    of 0 and far beyond 63, zero points at both ends of the output range, the clamped
    Shiftmax sum, x0 = -1, n = 1 and 30, 32-bit inputs."""
    rng = np.random.default_rng(20240607)

    def ints(bits: int, shape: tuple[int, int]) -> np.ndarray:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        x = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
        x.flat[0], x.flat[-1] = lo, hi
        return x

    kernels = []
    cols = 12
    for in_bits, out_bits, signed in [(32, 32, True), (32, 32, False), (2, 2, True), (16, 2, False), (9, 17, True)]:
        s_in = np.exp(rng.uniform(np.log(1e-25), np.log(1e3), size=cols))
        s_in[:5] = [2.0**-40, 2.0**30 + 5, 1.0, 0.5, 1e-300]  # c = 71, 0, 31, 32, > 1000
        k = ops.make("requant", scale_in=s_in, scale_out=1.0, out_bits=out_bits, signed=signed, in_bits=in_bits)
        kernels.append((f"rq_i{in_bits}_o{out_bits}_s{int(signed)}", k, ints(in_bits, (24, cols))))
    # Zero points at both ends of the output range (2^32 - 1 and -2^31 at 32 bits) and inside.
    for in_bits, out_bits, signed, zero_point in [(32, 32, False, 2**32 - 1), (32, 32, True, -(2**31)), (32, 32, True, 2**31 - 1), (8, 8, False, 131), (2, 2, False, 3), (16, 6, True, -5)]:
        s_in = np.exp(rng.uniform(np.log(1e-25), np.log(1e3), size=cols))
        s_in[:5] = [2.0**-40, 2.0**30 + 5, 1.0, 0.5, 1e-300]
        k = ops.make("requant", scale_in=s_in, scale_out=1.0, out_bits=out_bits, signed=signed, in_bits=in_bits, zero_point=zero_point)
        kernels.append((f"rq_i{in_bits}_o{out_bits}_s{int(signed)}_zp{zero_point}", k, ints(in_bits, (24, cols))))
    for scale, out_bits, n, in_bits, c in [
        (0.001, 16, 15, 8, 197),   # all-equal rows clamp the sum at 2^31 - 1
        (2.0, 8, 15, 8, 7),        # x0 = -1
        (1e-4, 32, 15, 8, 33),     # shift 0
        (3.0, 2, 30, 8, 5),        # n = 30
        (0.3, 16, 1, 8, 9),        # n = 1
        (1e-3, 16, 15, 32, 24),    # 32-bit inputs
    ]:
        k = ops.make("ivit.softmax", scale_in=scale, out_bits=out_bits, n=n, in_bits=in_bits)
        x = ints(in_bits, (6, c))
        x[1] = x[1, 0]
        x[2] = -(1 << (in_bits - 1))
        x[2, 0] = (1 << (in_bits - 1)) - 1
        kernels.append((f"sm_n{n}_o{out_bits}_i{in_bits}_c{c}", k, x))
    # Every difference D in 0 .. -1023 in one row; the sum clamps, so F = 1 and, with a shift of
    # 0, each output is its exponential E itself.
    k = ops.make("ivit.softmax", scale_in=0.001, out_bits=32, n=15, in_bits=10)
    x = np.stack([np.arange(-512, 512), np.arange(511, -513, -1)]).astype(np.int64)
    kernels.append(("sm_every_d", k, x))
    sets = []
    for name, k, x in kernels:
        vs = vectorset.VectorSet(name, k, x, k.sim(x), seed=0)
        sets.append(vectorset.write(root / name, vs, method_rules="test_rtl stress set"))
    return sets


def test_rtl_matches_at_the_corners_of_every_parameter(tmp_path):
    for set_dir in _stress_sets(tmp_path):
        r = _run(set_dir, workdir=tmp_path / "build")
        assert (r.vectors, r.errors, r.mismatches) == (_element_count(set_dir), 0, []), f"{set_dir.name}\n{r.log}"


def lut_edge_cases() -> list[tuple[str, ops.Kernel, np.ndarray]]:
    """Edge sets of the table ops: both ends of every width, the widest tables (2^16 entries),
    saturated GELU entries, the shortest and longest exp-table divisions (F = 30 and 1), a cut
    exp table that distant elements read past its end, one column, the rsqrt table at k = 1,
    2 and 16, a variance whose leading one lies below k - 1 (padded index), shifts 0 and 31,
    negative gammas and outputs beyond 32 bits."""
    rng = np.random.default_rng(20261206)
    cases = []
    for s_in, s_out, in_bits, out_bits, cols in [
        (1.0, 0.5, 2, 2, 5),              # 4 entries, both output ends saturate
        (0.05, 1e-30, 8, 8, 12),          # every entry but 0 saturates (negative ones too)
        (3e-4, 1e-7, 16, 32, 8),          # 65536 entries of 32 bits
        (0.05, 0.05 / 256, 8, 16, 1),     # the model's wiring, one column
    ]:
        k = ops.make("lut.gelu", scale_in=s_in, scale_out=s_out, in_bits=in_bits, out_bits=out_bits)
        cases.append((f"lut_gelu_i{in_bits}_o{out_bits}_s{s_out:g}_c{cols}", k, _row_kinds(rng, in_bits, cols)))
    for s_in, in_bits, out_bits, frac_bits, cols in [
        (0.3, 2, 2, 1, 5),                # 2-bit in and out, F = 1: a 62-step division
        (0.01, 8, 32, 30, 33),            # F = 30 (33 steps), 32-bit output: OUT_SHIFT = 31
        (0.5, 8, 8, 8, 24),               # a table cut to 14 entries: distances read its last zero
        (1e-4, 16, 16, 16, 12),           # 16-bit inputs: 65536 entries
        (0.0034, 8, 16, 16, 1),           # one column: OUT = 2^15 exactly
        (0.001, 8, 16, 16, 197),          # nearly flat exponentials over a DeiT-T row
    ]:
        k = ops.make("lut.softmax", scale_in=s_in, in_bits=in_bits, out_bits=out_bits, frac_bits=frac_bits)
        cases.append((f"lut_softmax_i{in_bits}_o{out_bits}_f{frac_bits}_c{cols}_t{len(k.config['table'])}", k, _row_kinds(rng, in_bits, cols)))

    def affine(cols: int, wide: bool) -> tuple[np.ndarray, np.ndarray]:
        gamma = rng.uniform(0.2, 2.0, size=cols) * np.where(rng.random(cols) < 0.3, -1.0, 1.0)
        beta = rng.normal(0.0, 0.5, size=cols)
        if wide:
            beta[0], beta[-1] = 1e9 * abs(gamma[0]), -1e9 * abs(gamma[-1])   # out_bits beyond 32
        return gamma, beta

    for shift, in_bits, table_bits, cols, wide in [
        (0, 16, 1, 8, False),             # k = 1: the parity alone
        (0, 2, 2, 5, False),              # 2-bit inputs: V below 2^(k-1)
        (31, 16, 12, 8, False),           # V of single bits: the index padded with zeros
        (1, 16, 16, 6, True),             # 65536 entries, 2^16, outputs beyond 32 bits
        (0, 30, 8, 2, False),             # the widest input for two channels
        (0, 16, 8, 1, False),             # one column: V = 0 -> 1 on every row
    ]:
        g, b = affine(cols, wide)
        k = ops.make("lut.layernorm", scale_in=0.01, gamma=g, beta=b, shift=shift, in_bits=in_bits, table_bits=table_bits)
        x = _row_kinds(rng, in_bits, cols)
        cases.append((f"lut_layernorm_sh{shift}_i{in_bits}_k{table_bits}_c{cols}_o{k.out_spec.bits}", k, x))
    return cases


EDGE_CASES = edge_cases() + lut_edge_cases()


def test_edge_sets_cover_every_op_but_requant_and_shiftmax():
    """(The whole-network ops' corners are golden cases, refmodel/golden_network.py, plus
    NETWORK_SETS below.)"""
    assert {k.name for _, k, _ in EDGE_CASES} == set(RTL_OPS) - {"requant", "ivit.softmax"} - set(rtl.SHAPED_OPS)


def test_the_lut_edge_sets_reach_their_corners():
    """The lut edge cases reach what their names promise (checked on the kernels, not the RTL)."""
    by_name = {name: (k, x) for name, k, x in lut_edge_cases()}
    tables = {name: len(k.config["table"]) for name, (k, _) in by_name.items()}
    assert max(t for n, t in tables.items() if n.startswith("lut_gelu")) == 2**16
    assert max(t for n, t in tables.items() if n.startswith("lut_softmax")) == 2**16
    assert max(t for n, t in tables.items() if n.startswith("lut_layernorm")) == 2**16
    assert min(t for n, t in tables.items() if n.startswith("lut_layernorm")) == 2
    k, x = by_name["lut_gelu_i8_o8_s1e-30_c12"]
    assert {-128, 127} <= set(k.sim(x).ravel().tolist())
    k, x = by_name["lut_softmax_i8_o8_f8_c24_t14"]
    assert (x.max(axis=1, keepdims=True) - x).max() > 13          # read past the cut table
    k, x = by_name["lut_softmax_i8_o16_f16_c1_t256"]
    assert (k.sim(x) == 2**15).all()
    wide = [k for n, (k, _) in by_name.items() if n.startswith("lut_layernorm") and k.out_spec.bits > 32]
    assert wide


@pytest.mark.parametrize("case", EDGE_CASES, ids=[name for name, _, _ in EDGE_CASES])
def test_rtl_matches_every_edge_set(tmp_path, case):
    set_dir = write_confirmed(tmp_path, case)
    r = _run(set_dir, workdir=tmp_path / "build")
    assert (r.vectors, r.errors, r.mismatches) == (_element_count(set_dir), 0, []), r.log


@pytest.mark.parametrize(
    "op, case, index, bit",
    [
        ("requant", "w8-realistic", 137, 7),     # the sign bit: expected value changes sign
        ("requant_wide", "w8-realistic", 37, 7),  # the sign bit; a 49-bit input
        ("requant_wide", "w8-edges", 80, 0),      # a 63-bit input
        ("ivit.softmax", "w8-realistic", 600, 0),
        ("ibert.softmax", "w8-realistic", 600, 0),
        ("fqvit.softmax", "w8-random", 100, 0),
        ("ibert.gelu", "w32-realistic", 600, 51),  # the sign bit of a 52-bit output
        ("ivit.gelu", "w8-realistic", 600, 0),
        ("ibert.layernorm", "w16-realistic", 600, 0),
        ("ivit.layernorm", "w16-realistic", 600, 0),
        ("fqvit.layernorm", "w8-realistic", 600, 0),
        ("lut.gelu", "w8-realistic", 600, 7),      # the sign bit of an 8-bit output
        ("lut.softmax", "w8-realistic", 600, 0),
        ("lut.layernorm", "w16-realistic", 600, 0),
    ],
)
def test_a_flipped_expected_bit_is_exactly_one_named_error(tmp_path, op, case, index, bit):
    set_dir = tmp_path / case
    shutil.copytree(GOLDEN_DIR / op / case, set_dir)
    meta = json.loads((set_dir / "meta.json").read_text())
    out_spec, in_spec = meta["tensors"]["output"], meta["tensors"]["input"]
    lines = (set_dir / "output.hex").read_text().splitlines()
    true_value = from_hex_lines([lines[index]], out_spec["bits"], out_spec["signed"])[0]
    lines[index] = format(int(lines[index], 16) ^ (1 << bit), f"0{hex_digits(out_spec['bits'])}x")
    edited_value = from_hex_lines([lines[index]], out_spec["bits"], out_spec["signed"])[0]
    (set_dir / "output.hex").write_text("\n".join(lines) + "\n")
    x = from_hex_lines([(set_dir / "input.hex").read_text().splitlines()[index]], in_spec["bits"], in_spec["signed"])[0]

    r = _run(set_dir)

    assert (r.vectors, r.errors) == (_element_count(set_dir), 1), r.log
    assert r.mismatches == [f"mismatch at index {index}: input {x}, expected {edited_value}, got {true_value}"]
    assert r.log.rstrip().splitlines()[-1] == f"{r.vectors} vectors, 1 errors"


def _svh_macros(svh: Path) -> list[str]:
    return [line.split()[1] for line in svh.read_text().splitlines() if line.startswith("`define ")]


@pytest.mark.parametrize("op", sorted({p.parent.name for p in GOLDEN_SETS}))
def test_every_golden_svh_defines_each_macro_once(op):
    for set_dir in (p for p in GOLDEN_SETS if p.parent.name == op):
        names = _svh_macros(set_dir / json.loads((set_dir / "meta.json").read_text())["svh"])
        assert len(names) == len(set(names)), f"{set_dir}: {sorted(n for n in names if names.count(n) > 1)}"


def test_a_config_whose_keys_clash_in_the_svh_is_refused(tmp_path):
    k = ops.make("lut.layernorm", scale_in=0.01, gamma=np.ones(4), beta=np.zeros(4), table_bits=8)
    x = np.arange(8, dtype=np.int64).reshape(2, 4)
    k.config["table_bits"] = 8          # a scalar key beside the list `table`: RM_CFG_TABLE_BITS twice
    vs = vectorset.VectorSet("clash", k, x, k.sim(x))
    message = (
        "config: key 'table_bits' and key 'table' of op lut.layernorm both define the .svh macro `RM_CFG_TABLE_BITS; "
        "rename one of the keys (every macro must be defined once)"
    )
    with pytest.raises(ValueError) as info:
        vectorset.write(tmp_path / "clash", vs, method_rules="test")
    assert str(info.value) == message
    assert list(tmp_path.iterdir()) == []
    del k.config["table_bits"]
    k.config["Shift"] = 2               # folds to RM_CFG_SHIFT, which `shift` defines
    with pytest.raises(ValueError, match=r"^config: key '(Shift|shift)' and key '(shift|Shift)' of op lut\.layernorm both define the \.svh macro `RM_CFG_SHIFT; "):
        vectorset.render(vs, method_rules="test")


def test_a_set_whose_svh_does_not_name_its_op_still_runs(tmp_path):
    set_dir = tmp_path / "old"
    shutil.copytree(GOLDEN_DIR / "requant" / "w6-ties", set_dir)
    svh = set_dir / json.loads((set_dir / "meta.json").read_text())["svh"]
    svh.write_text("".join(line for line in svh.read_text().splitlines(True) if "RM_OP_" not in line))
    r = _run(set_dir)
    assert (r.vectors, r.errors) == (80, 0), r.log


def test_an_op_without_rtl_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"'no\.such_op' has no RTL DUT; supported ops: .*ibert\.softmax.*requant"):
        rtl.run_testbench(_set_with_unknown_op(tmp_path))


def test_missing_icarus_names_the_install_command(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(rtl.SimulatorMissing, match=r"install Icarus Verilog: apt-get install -y iverilog"):
        rtl.run_testbench(GOLDEN_DIR / "requant" / "w8-ties")


def test_cli_prints_one_line_per_set_and_fails_on_an_error(tmp_path, capsys):
    if shutil.which("iverilog") is None:
        pytest.fail(rtl.INSTALL_HINT)
    good = GOLDEN_DIR / "requant" / "w8-ties"
    unknown = tmp_path / "unknown_ops"
    for name in ("a", "b"):
        _set_with_unknown_op(unknown, name)
    assert rtl.main([str(good), str(unknown)]) == 0
    out = capsys.readouterr().out.splitlines()
    skipped = 2
    assert len(out) == 1 + skipped + 1
    assert out[0] == f"PASS  {good}: requant, 80 vectors, 0 errors"
    assert all(line.startswith("SKIP  ") and "no.such_op has no RTL" in line for line in out[1:-1])
    assert out[-1] == f"1 sets simulated: 1 passed, 0 failed; 0 errors; {skipped} skipped (no RTL for their op)"

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    lines = (bad / "output.hex").read_text().splitlines()
    lines[3] = format(int(lines[3], 16) ^ 1, "02x")
    (bad / "output.hex").write_text("\n".join(lines) + "\n")
    assert rtl.main([str(bad)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"FAIL  {bad}: requant, 80 vectors, 1 errors"
    assert rtl.main([str(bad), "--show", "1"]) == 1
    assert capsys.readouterr().out.splitlines()[1].strip().startswith("mismatch at index 3: input ")


@pytest.mark.slow
def test_every_slot_of_the_default_deit_t_export_passes_its_rtl(tmp_path, capsys):
    from refmodel import sim

    if shutil.which("iverilog") is None:
        pytest.fail(rtl.INSTALL_HINT)
    out = tmp_path / "deit_t-w8"
    assert sim.main(["deit_t", "--calib-images", "2", "--layers", "slots", "--max-rows", "4", "--out", str(out)]) == 0
    capsys.readouterr()
    assert rtl.main([str(out), "-j", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "49 sets simulated: 49 passed, 0 failed; 0 errors; 0 skipped (no RTL for their op)"


# ---------------------------------------------------------------------------------- shaped sets


def _network_sets(root: Path) -> list[Path]:
    """Shaped sets past the golden cases: a long, odd reduction (K = 37) with N = 11, matmul
    with two leading axes and unsigned a times 16-bit b, requant_add with b broadcast over a
    4-axis a (its shape (4, 1, 6)) and per-channel constants on both branches, fqvit.attend over
    batch and head axes with 8-bit codes (shifts past int64's), 12-bit v and a declared 40-bit
    accumulator, quantize with scales from the smallest subnormal to 1e308 and quotients a few
    ulps off half-integers. Each output is confirmed by the exact Python-integer reference before it is
    written."""
    from refmodel import golden_network

    rng = np.random.default_rng(20261207)
    w = rng.integers(-256, 256, (11, 37))
    gemm = ops.make("gemm", weight=w, bias=rng.integers(-(1 << 30), 1 << 30, 11), scale_in=0.1, scale_w=np.full(11, 0.01), in_bits=12, w_bits=9)
    mm = ops.make("matmul", scale_a=0.1, scale_b=0.2, depth=9, a_bits=8, b_bits=16, a_signed=False)
    ra = ops.make("requant_add", scale_a=np.linspace(1e-4, 3e-4, 6), scale_b=np.linspace(1e-3, 4e-3, 6), scale_out=2e-3, out_bits=12)
    cases = [
        ("gemm_k37_n11", gemm, rng.integers(-2048, 2048, (2, 3, 37))),
        ("matmul_2x2_batches", mm, {"a": rng.integers(0, 256, (2, 2, 3, 9)), "b": rng.integers(-(1 << 15), 1 << 15, (2, 2, 9, 5))}),
        ("requant_add_4axis", ra, {"a": rng.integers(-(1 << 31), 1 << 31, (2, 4, 3, 6)), "b": rng.integers(-(1 << 15), 1 << 15, (4, 1, 6))}),
    ]
    attend = ops.make("fqvit.attend", scale_v=0.05, depth=13, code_bits=8, v_bits=12, frac_bits=20, acc_bits=40)
    q_scales = np.exp2(rng.uniform(-1074, 1000, 16))
    q_scales[:3] = [5e-324, 2.0**-1060, 1e308]                      # subnormal, tiny and huge scales
    q_v = np.where(rng.random((30, 16)) < 0.5, rng.integers(-2**20, 2**20, (30, 16)) + 0.5, np.exp2(rng.uniform(-3, 35, (30, 16))))
    with np.errstate(all="ignore"):
        q_x = (q_v * q_scales).view(np.int64) + rng.integers(-2, 3, (30, 16))   # a few ulps off half-integers
    q_x = np.where(np.isfinite(q_x.view(np.float64)), q_x.view(np.float64), 0.0) * np.where(rng.random((30, 16)) < 0.5, -1.0, 1.0)
    quantize = ops.make("quantize", scale=q_scales, bits=32, signed=True, zero_point=7)
    cases.append(("quantize_stress", quantize, q_x))
    cases.append(("fqvit_attend_heads", attend, {"codes": rng.integers(0, 256, (2, 3, 5, 13)), "v": rng.integers(-2048, 2048, (2, 3, 13, 7))}))
    sets = []
    for name, k, x in cases:
        out = k.sim(**x) if isinstance(x, dict) else k.sim(x)
        exact = golden_network.exact_output(k.name, k.params, x)
        assert out.tolist() == exact.tolist(), name
        sets.append(vectorset.write(root / name, vectorset.VectorSet(name, k, x, out, seed=0), method_rules="test_rtl network set"))
    return sets


def test_rtl_matches_the_shaped_sets_past_the_golden_cases(tmp_path):
    for set_dir in _network_sets(tmp_path):
        r = _run(set_dir, workdir=tmp_path / "build")
        assert (r.vectors, r.errors, r.mismatches) == (_element_count(set_dir), 0, []), f"{set_dir.name}\n{r.log}"


@pytest.mark.parametrize(
    "op, case, index, bit",
    [
        ("gemm", "w8-random", 17, 31),          # the sign bit of the 32-bit accumulator
        ("gemm", "w32-extreme", 5, 62),         # the sign bit of a 63-bit accumulator
        ("matmul", "w16-pv", 13, 0),
        ("requant_add", "w16-broadcast", 9, 15),
        ("fqvit.attend", "w6-realistic", 37, 31),  # the sign bit of the 32-bit accumulator
        ("fqvit.attend", "w16-wide", 5, 62),       # the sign bit of a 63-bit accumulator
        ("quantize", "w8-edges", 100, 7),          # the sign bit of an 8-bit output
        ("quantize", "w32-zp_high", 3, 0),
    ],
)
def test_a_flipped_bit_of_a_shaped_set_is_exactly_one_named_error(tmp_path, op, case, index, bit):
    set_dir = tmp_path / case
    shutil.copytree(GOLDEN_DIR / op / case, set_dir)
    meta = json.loads((set_dir / "meta.json").read_text())
    out_spec = meta["tensors"]["output"]
    cols = out_spec.get("shape", meta.get("layout", {}).get("shape"))[-1]   # gemm with N == K is unshaped
    lines = (set_dir / "output.hex").read_text().splitlines()
    true_value = from_hex_lines([lines[index]], out_spec["bits"], out_spec["signed"])[0]
    lines[index] = format(int(lines[index], 16) ^ (1 << bit), f"0{hex_digits(out_spec['bits'])}x")
    edited_value = from_hex_lines([lines[index]], out_spec["bits"], out_spec["signed"])[0]
    (set_dir / "output.hex").write_text("\n".join(lines) + "\n")

    r = _run(set_dir)

    assert (r.vectors, r.errors) == (_element_count(set_dir), 1), r.log
    assert r.mismatches == [f"mismatch at index {index} (row {index // cols}, column {index % cols}): expected {edited_value}, got {true_value}"]
    assert r.log.rstrip().splitlines()[-1] == f"{r.vectors} vectors, 1 errors"


def test_max_rows_simulates_the_first_rows_of_a_shaped_set_only(tmp_path, capsys):
    set_dir = tmp_path / "cut"
    shutil.copytree(GOLDEN_DIR / "matmul" / "w8-random", set_dir)   # 6 rows of 4
    lines = (set_dir / "output.hex").read_text().splitlines()
    lines[-1] = format(int(lines[-1], 16) ^ 1, "08x")                  # a wrong last row
    (set_dir / "output.hex").write_text("\n".join(lines) + "\n")
    r = _run(set_dir, max_rows=2)
    assert (r.vectors, r.errors, r.rows_capped) == (8, 0, (2, 6)), r.log
    assert _run(set_dir, max_rows=6).errors == 1
    assert rtl.main([str(set_dir), "--max-rows", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"PASS  {set_dir}: matmul, 20 vectors, 0 errors (first 5 of 6 rows)"
    unshaped = GOLDEN_DIR / "requant" / "w8-ties"                      # not shaped: always whole
    r = _run(unshaped, max_rows=1)
    assert (r.vectors, r.rows_capped) == (80, None)
