"""The benchmark runs end to end and prints its table (no timing assertions)."""

from __future__ import annotations

from refmodel import bench


def test_bench_prints_a_row_per_op(capsys):
    assert bench.main(["--repeat", "1", "--scale", "0.05"]) == 0
    out = capsys.readouterr().out
    for op in bench.BENCH_ORDER:
        assert f"\n{op} " in out
    assert "ratio" in out and "first call s" in out
