"""refmodel.testing: every op has strategies that draw accepted parameters and in-width inputs
reaching the op's sensitive region; the scoreboard reports in the testbench's exact format;
the hex helpers round-trip; the example of docs/testing.md finds its planted bug."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from refmodel import hexio, ops, rtl, testing, vectorset
from refmodel.ops import gemm as gemm_op
from refmodel.ops.ivit import shiftexp
from refmodel.testing import Case, MismatchError, assert_matches, cases, compare, params

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MARK = "<!-- example: run by tests/test_testing.py -->"
SEVERAL_MARK = "<!-- example: several inputs, run by tests/test_testing.py -->"


# ---------------------------------------------------------------------------- coverage of ops
def test_every_op_has_strategies():
    assert sorted(testing.STRATEGIES) == ops.names()


def test_an_op_without_strategies_is_named_in_a_clear_error(monkeypatch):
    monkeypatch.delitem(testing.STRATEGIES, "requant")
    with pytest.raises(ValueError, match=r"^name: op 'requant' has no hypothesis strategies yet .*ops with strategies: fqvit\.attend, fqvit\.layernorm"):
        params("requant")
    with pytest.raises(ValueError, match="^name: op 'requant' has no"):
        cases("requant")
    with pytest.raises(ValueError, match=r"^name: unknown op 'nope'; known ops: "):
        params("nope")


@pytest.mark.parametrize("name", ops.names())
@settings(max_examples=10)
@given(data=st.data())
def test_cases_are_accepted_in_width_and_both_datapaths_agree_on_them(name, data):
    case = data.draw(cases(name))
    k = case.kernel
    assert isinstance(case, Case) and case.op == name
    rebuilt = ops.make(name, **case.params)
    assert rebuilt.name == k.name == name
    assert repr(rebuilt.config) == repr(k.config)
    assert sorted(case.inputs) == sorted(k.inputs or ("x",))
    for input_name, q in case.inputs.items():
        assert q.ndim == 2 and q.size > 0
        if input_name in k.in_specs:
            spec = k.in_specs[input_name]
            assert q.dtype == np.int64 and spec.lo <= q.min() and q.max() <= spec.hi, input_name
        else:  # quantize: a finite real input
            assert q.dtype.kind == "f" and np.isfinite(q).all()
    if len(case.inputs) == 1:
        assert case.q is next(iter(case.inputs.values()))
        if k.channels is not None:
            assert case.q.shape[1] == k.channels
    # The twin is an independent datapath: the scoreboard must find it equal to the reference.
    twin = k.fakequant(**{n: torch.from_numpy(q) for n, q in case.inputs.items()}).numpy()
    report = compare(k, case.inputs, twin)
    assert report.passed and report.vectors == twin.size == case.expected().size and report.mismatches == ()


@pytest.mark.parametrize("name", ["ibert.softmax", "requant"])
@settings(max_examples=10)
@given(data=st.data())
def test_params_are_accepted_by_make(name, data):
    p = data.draw(params(name))
    assert ops.make(name, **p).name == name


# ---------------------------------------------------------------------------- sensitive regions
def first_hit(strategy: st.SearchStrategy[Any], predicate: Callable[[Any], bool], budget: int = 100) -> int | None:
    """The number of examples the strategy needed until ``predicate`` held (``None``: not
    within ``budget``, hypothesis's default number of examples)."""
    count = 0

    class Found(Exception):
        pass

    @settings(max_examples=budget, phases=[Phase.generate], database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def search(value):
        nonlocal count
        count += 1
        if predicate(value):
            raise Found

    try:
        search()
    except Found:
        return count
    return None


def differences(case: Case) -> np.ndarray:
    """``X - max(row)`` of every element."""
    return case.q - case.q.max(axis=1, keepdims=True)


def at_shiftexp_saturation(case: Case) -> bool:
    t_sat = shiftexp.saturation_distance(case.kernel.config["x0"], case.kernel.config["n"])
    return t_sat > 0 and bool((differences(case) == -t_sat).any())


def at_iexp_clamp(case: Case) -> bool:
    return bool((differences(case) == case.kernel.config["n"] * case.kernel.config["x0"]).any())


def at_gelu_clip(case: Case) -> bool:
    clip = -np.broadcast_to(np.asarray(case.kernel.config["bg"]), (case.q.shape[1],))
    return bool((np.abs(case.q) == clip).any())


def at_requant_saturation(case: Case) -> bool:
    """An input that saturates at the bottom while the next one up does not."""
    k, q = case.kernel, case.q
    up = np.minimum(q + 1, k.in_spec.hi)
    return bool(((k.sim(q) == k.out_spec.lo) & (k.sim(up) > k.out_spec.lo) & (up > q)).any())


def zero_variance_row(case: Case) -> bool:
    q = case.q
    return q.shape[1] > 1 and bool((q == q[:, :1]).all(axis=1).any())


def one_off_below_2_shift(case: Case) -> bool:
    """I-BERT LayerNorm, ``shift > 0``: a row with one element ``2^shift - 1`` above the others
    (its centred values lie in ``[0, 2^shift)``, so ``V = 0``, D8)."""
    shift, q = case.kernel.config["shift"], case.q
    if shift == 0 or q.shape[1] < 2:
        return False
    above = q - q.min(axis=1, keepdims=True)
    return bool((((above == 0).sum(axis=1) == q.shape[1] - 1) & (above.max(axis=1) == 2**shift - 1)).any())


def constant_zero_point_row(case: Case) -> bool:
    return bool((case.q == case.kernel.config["zero_point"]).all(axis=1).any())


def at_table_end(case: Case) -> bool:
    """``lut.softmax``: an element exactly at the table's last entry (``t = L - 1``)."""
    return bool((differences(case) == -(len(case.kernel.config["table"]) - 1)).any())


def at_gelu_dip(case: Case) -> bool:
    """``lut.gelu``: the input of the table's minimum (GELU's dip)."""
    table = case.kernel.config["table"]
    return bool((case.q == int(np.argmin(table)) - case.kernel.config["offset"]).any())


def at_channel_bound(case: Case) -> bool:
    """``gemm``: an output at its channel's exact bound (worked out from the weights here), in
    a channel whose range is not a single value."""
    cfg = case.kernel.config
    bounds = np.array(gemm_op.channel_bounds(np.array(cfg["weight"]), np.array(cfg["bias"]), cfg["in_bits"]))
    out = case.expected()
    return bool((((out == bounds[:, 0]) | (out == bounds[:, 1])) & (bounds[:, 0] < bounds[:, 1])).any())


def at_accumulator_bound(case: Case) -> bool:
    """``matmul``, ``fqvit.attend``: an output at a non-zero proven accumulator bound."""
    lo, hi = case.kernel.bounds()["ACC"]
    out = case.expected()
    return bool((((out == lo) & (lo != 0)) | ((out == hi) & (hi != 0))).any())


def at_requant_add_saturation(case: Case) -> bool:
    """A non-zero ``a`` whose output saturates at the bottom while ``a + 1`` does not."""
    k, a, b = case.kernel, case.inputs["a"], case.inputs["b"]
    up = np.minimum(a + 1, k.in_specs["a"].hi)
    return bool(((k.sim(a=a, b=b) == k.out_spec.lo) & (k.sim(a=up, b=b) > k.out_spec.lo) & (a != 0)).any())


def at_quantize_tie(case: Case) -> bool:
    """``quantize``: an input whose float64 quotient ``x / s`` lies exactly half-way between
    two integers, inside the output range."""
    s = np.broadcast_to(np.atleast_1d(np.asarray(case.kernel.params["scale"], dtype=np.float64)), (case.q.shape[1],))
    with np.errstate(over="ignore", invalid="ignore"):
        v = case.q.astype(np.float64) / s
    inside = (v + case.kernel.config["zero_point"] > case.kernel.out_spec.lo) & (v + case.kernel.config["zero_point"] < case.kernel.out_spec.hi)
    with np.errstate(invalid="ignore"):
        return bool((np.isfinite(v) & (v - np.floor(v) == 0.5) & inside).any())


REGIONS = {
    "ivit.softmax": at_shiftexp_saturation,
    "ivit.gelu": at_shiftexp_saturation,
    "ibert.softmax": at_iexp_clamp,
    "fqvit.softmax": at_iexp_clamp,
    "ibert.gelu": at_gelu_clip,
    "requant": at_requant_saturation,
    "requant_wide": at_requant_saturation,
    "requant_add": at_requant_add_saturation,
    "ibert.layernorm": one_off_below_2_shift,
    "lut.layernorm": one_off_below_2_shift,
    "ivit.layernorm": zero_variance_row,
    "fqvit.layernorm": constant_zero_point_row,
    "lut.softmax": at_table_end,
    "lut.gelu": at_gelu_dip,
    "gemm": at_channel_bound,
    "matmul": at_accumulator_bound,
    "fqvit.attend": at_accumulator_bound,
    "quantize": at_quantize_tie,
}


def test_every_op_has_a_sensitive_region():
    assert sorted(REGIONS) == ops.names()


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_inputs_reach_the_ops_sensitive_region_within_the_default_budget(name):
    assert first_hit(cases(name), REGIONS[name]) is not None


@pytest.mark.parametrize(
    "name, predicate",
    [
        ("ivit.softmax", lambda c: c.q.shape[1] == 1),
        ("ibert.softmax", lambda c: c.q.shape[1] > 1 and bool((c.q == c.kernel.in_spec.lo).any() and (c.q == c.kernel.in_spec.hi).any())),
        ("ibert.gelu", zero_variance_row),
    ],
)
def test_inputs_reach_one_column_extremes_and_all_equal_rows(name, predicate):
    assert first_hit(cases(name), predicate) is not None


# ---------------------------------------------------------------------------- scoreboard
def four_bit_requant() -> ops.Kernel:
    return ops.make("requant", scale_in=1.0, scale_out=1.0, out_bits=4, in_bits=8)


def test_compare_reports_the_first_mismatches_in_the_testbench_format():
    k = four_bit_requant()
    q = np.array([[-9, -8, 0, 7], [8, 100, -100, 3]])
    # Ratio 1 saturated to signed 4 bits: [-8, 7] (worked by hand).
    assert compare(k, q, [[-8, -8, 0, 7], [7, 7, -8, 3]]).lines() == ["8 vectors, 0 errors"]
    report = compare(k, q, [[-7, -8, 0, 7], [7, 7, -7, 3]])
    assert not report.passed and report.errors == 2 and report.vectors == 8
    assert report.mismatches == (testing.Mismatch(0, -9, -8, -7), testing.Mismatch(6, -100, -8, -7))
    assert str(report) == (
        "mismatch at index 0: input -9, expected -8, got -7\n"
        "mismatch at index 6: input -100, expected -8, got -7\n"
        "8 vectors, 2 errors"
    )
    limited = compare(k, q, np.zeros(8, dtype=np.int32), limit=1)
    assert limited.errors == 7 and [m.index for m in limited.mismatches] == [0]


def test_the_testbench_prints_the_lines_the_scoreboard_writes_and_parses(tmp_path):
    """A requant vector set with one planted wrong expected value, run on the reference RTL by
    refmodel.rtl: the testbench's own output holds exactly one mismatch line and the summary,
    in the format of Mismatch.line() and Report.lines(); refmodel.rtl and parse_report read
    them back."""
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip(f"Icarus Verilog is not installed (iverilog, vvp): {rtl.INSTALL_HINT}")
    k = four_bit_requant()
    q = np.array([[-9, -8, 0, 7], [8, 100, -100, 3]])
    right = k.sim(q)
    assert right.tolist() == [[-8, -8, 0, 7], [7, 7, -8, 3]]  # ratio 1, signed 4 bits (by hand)
    set_dir = vectorset.write(tmp_path / "planted", vectorset.VectorSet("planted", k, q, right, seed=0), method_rules="tests/test_testing.py")
    planted = right.reshape(-1).copy()
    planted[6] = -7  # the expected file now says -7 where the DUT gives -8
    (set_dir / "output.hex").write_text(hexio.to_hex_text(planted.tolist(), 4, True))
    result = rtl.run_testbench(set_dir, tmp_path / "build", stall=False)
    printed = [line.strip() for line in result.log.splitlines() if line.strip()]
    want = ["mismatch at index 6: input -100, expected -7, got -8", "8 vectors, 1 errors"]
    assert [line for line in printed if line.startswith("mismatch")] == want[:1]
    assert printed[-1] == want[-1]
    assert (result.vectors, result.errors, result.mismatches) == (8, 1, want[:1])
    report = testing.parse_report(result.log, "requant")
    assert report == testing.Report("requant", 8, 1, (testing.Mismatch(6, -100, -7, -8),))
    assert report.lines() == want
    # The scoreboard on the same data, the planted value as the implementation's output.
    assert compare(k, q, planted).lines() == ["mismatch at index 6: input -100, expected -8, got -7", "8 vectors, 1 errors"]


def test_parse_report_needs_the_summary_line():
    text = "rm_tb: starting\nmismatch at index 2: input 5, expected -1, got 0\nsomething else\n3 vectors, 1 errors\n"
    assert testing.parse_report(text) == testing.Report("", 3, 1, (testing.Mismatch(2, 5, -1, 0),))
    with pytest.raises(ValueError, match="^text: no 'N vectors, E errors' line"):
        testing.parse_report("mismatch at index 2: input 5, expected -1, got 0\n")


def test_named_inputs_are_compared_and_shown_by_name():
    # requant_add at ratio 1, signed 4 bits: 3 + 2 = 5 and 7 + (-9) = -2 (by hand).
    add = ops.make("requant_add", scale_a=1.0, scale_b=1.0, scale_out=1.0, out_bits=4, a_bits=8, b_bits=8)
    inputs = {"a": np.array([[3, 7]]), "b": np.array([[2, -9]])}
    assert compare(add, inputs, [[5, -2]]).passed
    assert compare(add, inputs, [[5, -1]]).lines() == ["mismatch at index 1: input a=7 b=-9, expected -2, got -1", "2 vectors, 1 errors"]
    # b broadcast over a's rows: each mismatch shows the b element that was used.
    wide = {"a": np.array([[3, 7], [0, 0]]), "b": np.array([[2, -9]])}
    assert [m.inputs for m in compare(add, wide, [[0, 0], [0, 0]]).mismatches] == [(("a", 3), ("b", 2)), (("a", 7), ("b", -9)), (("a", 0), ("b", 2)), (("a", 0), ("b", -9))]
    # matmul: the worked example of docs/ops/matmul.md; a product shows no input.
    mm = ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=3)
    report = compare("matmul", {"a": [[1, -2, 3]], "b": [[4], [5], [-6]]}, [[-23]], params=mm.params)
    assert report.lines() == ["mismatch at index 0: expected -24, got -23", "1 vectors, 1 errors"]
    # quantize: a real input, shown as such (0.25 / 0.5 = 0.5 rounds to even 0).
    qz = ops.make("quantize", scale=0.5, bits=4)
    assert compare(qz, np.array([[0.25, 3.0]]), [[1, 6]]).lines() == ["mismatch at index 0: input 0.25, expected 0, got 1", "2 vectors, 1 errors"]
    with pytest.raises(ValueError, match=r"^q_in: matmul takes several inputs \(a, b\); pass them as a dict by name"):
        compare(mm, np.zeros((1, 3), dtype=np.int64), [[0]])
    with pytest.raises(ValueError, match="^c: not an input of matmul"):
        compare(mm, {"a": [[1, 1, 1]], "b": [[1], [1], [1]], "c": [[1]]}, [[3]])


def test_several_input_ops_name_their_inputs_in_the_strategies():
    mm = ops.make("matmul", scale_a=1.0, scale_b=1.0, depth=3, a_bits=4, b_bits=4, b_signed=False)
    assert testing.edges(mm, "b").values == (0, 1, 14, 15)
    with pytest.raises(ValueError, match=r"^input_name: matmul takes several inputs \(a, b\); name one"):
        testing.edges(mm)
    with pytest.raises(ValueError, match="^kernel: matmul takes several inputs"):
        testing.inputs(mm)
    with pytest.raises(ValueError, match=r"^q: matmul takes several inputs"):
        Case("matmul", {}, mm, {"a": np.zeros((1, 3), dtype=np.int64), "b": np.zeros((3, 1), dtype=np.int64)}).q
    with pytest.raises(ValueError, match=r"^inputs: matmul takes several inputs"):
        Case("matmul", {}, mm, np.zeros((1, 3), dtype=np.int64))
    one = Case("requant", {}, four_bit_requant(), np.array([[1, 2]]))
    assert list(one.inputs) == ["q"] and one.q.tolist() == [[1, 2]]


def test_examples_are_the_same_draws_for_the_same_seed():
    def key(case: Case) -> str:
        return repr(case.kernel.config) + repr({n: v.tolist() for n, v in case.inputs.items()})

    first = testing.examples(cases("requant_add"), 3, seed=11)
    again = testing.examples(cases("requant_add"), 3, seed=11)
    other = testing.examples(cases("requant_add"), 3, seed=12)
    assert len(first) == 3 and list(map(key, first)) == list(map(key, again))
    assert list(map(key, first)) != list(map(key, other))
    with pytest.raises(ValueError, match="^n: must be >= 1"):
        testing.examples(cases("requant"), 0)


def test_raising_forms_and_op_by_name():
    k = four_bit_requant()
    q = np.array([[-9, 5]])
    with pytest.raises(MismatchError) as err:
        assert_matches(k, q, [[-7, 5]])
    assert isinstance(err.value, AssertionError) and err.value.report.errors == 1
    assert str(err.value).splitlines() == ["requant: output differs from refmodel", "mismatch at index 0: input -9, expected -8, got -7", "2 vectors, 1 errors"]
    with pytest.raises(MismatchError):
        compare("requant", q, [[-7, 5]], params=k.params, raise_on_mismatch=True)
    assert assert_matches("requant", q, [[-8, 5]], params=k.params).passed


@pytest.mark.parametrize(
    "args, kwargs, param",
    [
        (("requant", [[1]], [[1]]), {}, "params"),
        ((None, [[1]], [[1]]), {"params": {"out_bits": 4}}, "params"),
        ((None, [[1, 2]], [[1.0, 2.0]]), {}, "got"),
        ((None, [[1, 2]], [[1]]), {}, "got"),
        ((None, [[1, 2]], [[1, 2]]), {"limit": -1}, "limit"),
        ((None, [[1, 200]], [[1, 2]]), {}, "q"),
    ],
)
def test_bad_arguments_name_the_parameter(args, kwargs, param):
    op = args[0] if args[0] is not None else four_bit_requant()
    with pytest.raises(ValueError, match=f"^{param}:"):
        compare(op, np.array(args[1]), np.array(args[2]), **kwargs)


# ---------------------------------------------------------------------------- the vector format
def test_hex_files_round_trip_and_are_never_overwritten_silently(tmp_path):
    path = tmp_path / "x.hex"
    values = np.array([[-8, 7], [0, -1]])
    testing.write_hex(path, values, 4)
    assert path.read_text() == "8\n7\n0\nf\n"
    assert testing.read_hex(path, 4).tolist() == [-8, 7, 0, -1]
    assert testing.read_hex(path, 4, signed=False).tolist() == [8, 7, 0, 15]
    with pytest.raises(ValueError, match=r"x\.hex: exists \(pass force=True"):
        testing.write_hex(path, [1], 4)
    assert path.read_text() == "8\n7\n0\nf\n"
    testing.write_hex(path, [1], 4, force=True)
    assert path.read_text() == "1\n"
    with pytest.raises(ValueError, match="^values: element 0 = 8 is outside"):
        testing.write_hex(tmp_path / "y.hex", [8], 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.hex"]  # no partial file left
    (tmp_path / "bad.hex").write_text("zz\n")
    with pytest.raises(ValueError, match=r"bad\.hex: "):
        testing.read_hex(tmp_path / "bad.hex", 8)


def test_one_import_reads_a_golden_set_and_scores_it():
    assert testing.read_set is vectorset.read
    for name in ("to_hex_lines", "from_hex_lines", "to_hex_text", "from_hex_text", "hex_digits"):
        assert getattr(testing, name) is getattr(hexio, name)
    meta, q, expected = testing.read_set(ROOT / "golden" / "requant" / "w6-edges")
    report = compare(meta["op"], q, expected, params=meta["params"])
    assert report.passed and report.vectors == q.size
    wrong = expected.copy()
    wrong.reshape(-1)[3] += 1
    assert [m.index for m in compare(meta["op"], q, wrong, params=meta["params"]).mismatches] == [3]


def test_hypothesis_is_a_core_dependency():
    """``from refmodel.testing import cases, compare`` works from a plain install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("hypothesis") for dep in project["dependencies"])


# ---------------------------------------------------------------------------- docs/testing.md
@contextlib.contextmanager
def derandomized():
    """Hypothesis draws from a fixed seed (derived from each test's source) inside the block, so
    CI runs the same examples every time; settings a test gives explicitly still apply."""
    saved = settings.default
    settings.register_profile("derandomized", parent=saved, derandomize=True)
    settings.load_profile("derandomized")
    try:
        yield
    finally:
        settings.register_profile("restored", parent=saved)
        settings.load_profile("restored")


def run_documented_block(mark: str) -> tuple[dict[str, Any], str]:
    """Run the Python block after ``mark`` in docs/testing.md (derandomized, line numbers of the
    page kept); its namespace and what it printed."""
    text = (ROOT / "docs" / "testing.md").read_text()
    start = text.index(mark)
    block = re.match(r"\n```python\n(.*?)```", text[start + len(mark):], re.S)
    assert block is not None
    first_line = text[: start + len(mark)].count("\n") + 2
    code = compile("\n" * (first_line - 1) + block.group(1), str(ROOT / "docs" / "testing.md"), "exec")
    namespace: dict[str, Any] = {"__name__": "docs_testing_example"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), derandomized():
        exec(code, namespace)
    return namespace, out.getvalue()


def test_the_documented_several_input_example_runs():
    """The matmul device of the block agrees with the reference on its 20 cases (no
    MismatchError); the fixed list holds three requant_add cases with named inputs."""
    _, printed = run_documented_block(SEVERAL_MARK)
    lines = printed.splitlines()
    assert len(lines) == 3 and all(re.match(r"^requant_add \{'a': \(\d+, \d+\), 'b': \(\d+, \d+\)\} -> \(\d+, \d+\)$", line) for line in lines)


def test_the_documented_example_finds_its_planted_bug():
    """The example block of docs/testing.md, run as written (derandomized, so that CI is
    repeatable): the planted off-by-one (negative saturation at ``-2^(b-1) + 1``) is found
    within the example's 100 examples and the report printed."""
    text = (ROOT / "docs" / "testing.md").read_text()
    start = text.index(EXAMPLE_MARK)
    block = re.match(r"\n```python\n(.*?)```", text[start + len(EXAMPLE_MARK):], re.S)
    assert block is not None
    first_line = text[: start + len(EXAMPLE_MARK)].count("\n") + 2
    code = compile("\n" * (first_line - 1) + block.group(1), str(ROOT / "docs" / "testing.md"), "exec")
    namespace: dict[str, Any] = {"__name__": "docs_testing_example"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), derandomized():
        exec(code, namespace)
    report = namespace["report"]
    assert not report.passed and report.mismatches
    for m in report.mismatches:
        # Each mismatch is the planted bug: the signed minimum came out one too high.
        bits = (-m.expected).bit_length()
        assert m.expected == -(2 ** (bits - 1)) and m.got == m.expected + 1
    assert out.getvalue().splitlines()[-len(report.lines()):] == report.lines()
