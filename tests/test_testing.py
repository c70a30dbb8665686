"""refmodel.testing: every op has strategies that draw accepted parameters and in-width inputs
reaching the op's sensitive region; the scoreboard reports in the testbench's exact format;
the hex helpers round-trip; the example of docs/testing.md finds its planted bug."""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from refmodel import hexio, ops, testing, vectorset
from refmodel.ops.ivit import shiftexp
from refmodel.testing import Case, MismatchError, assert_matches, cases, compare, params

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MARK = "<!-- example: run by tests/test_testing.py -->"


# ---------------------------------------------------------------------------- coverage of ops
def test_every_op_has_strategies():
    assert sorted(testing.STRATEGIES) == ops.names()


def test_an_op_without_strategies_is_named_in_a_clear_error(monkeypatch):
    monkeypatch.delitem(testing.STRATEGIES, "requant")
    with pytest.raises(ValueError, match=r"^name: op 'requant' has no hypothesis strategies yet .*ops with strategies: fqvit\.layernorm"):
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


REGIONS = {
    "ivit.softmax": at_shiftexp_saturation,
    "ivit.gelu": at_shiftexp_saturation,
    "ibert.softmax": at_iexp_clamp,
    "fqvit.softmax": at_iexp_clamp,
    "ibert.gelu": at_gelu_clip,
    "requant": at_requant_saturation,
    "ibert.layernorm": one_off_below_2_shift,
    "ivit.layernorm": zero_variance_row,
    "fqvit.layernorm": constant_zero_point_row,
}


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


def test_the_report_lines_are_the_testbench_display_strings():
    """The $display formats of rtl_vectors/tb/rm_tb.sv, with %0d filled in, give our lines;
    refmodel.rtl collects mismatches by the same prefix."""
    tb = (ROOT / "rtl_vectors" / "tb" / "rm_tb.sv").read_text()
    mismatch_fmt = re.search(r'\$display\("(mismatch at index [^"]*)"', tb).group(1)
    total_fmt = re.search(r'\$display\("(%0d vectors, %0d errors)"', tb).group(1)
    report = compare(four_bit_requant(), np.array([[-9, 5]]), [[-7, 5]])
    assert report.lines() == [mismatch_fmt.replace("%0d", "{}").format(0, -9, -8, -7), total_fmt.replace("%0d", "{}").format(2, 1)]
    assert "line.startswith(\"mismatch at index \")" in (ROOT / "refmodel" / "rtl.py").read_text()


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
