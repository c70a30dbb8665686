"""intmatmul: float BLAS only under the exactness bound, chunked; int64 otherwise; every path
equals Python-int arithmetic, also at the edges of each bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from refmodel.ops import blas, intmatmul
from tests.ops import reference_linear as ref
from refmodel.testing import int_arrays

pytestmark = pytest.mark.plain


def matmul_both_ways(a, b, bias=None):
    """``matmul_np`` with BLAS called from the Numba workers and with numpy's ``matmul``;
    asserts the two agree and returns the result."""
    saved = intmatmul.use_numba_blas
    try:
        intmatmul.use_numba_blas = True
        in_numba = intmatmul.matmul_np(a, b, bias)
        intmatmul.use_numba_blas = False
        in_numpy = intmatmul.matmul_np(a, b, bias)
    finally:
        intmatmul.use_numba_blas = saved
    np.testing.assert_array_equal(in_numba, in_numpy)
    return in_numba


def test_numpys_blas_is_found_and_checked():
    gemms = blas.find()
    assert gemms is not None, "numpy's OpenBLAS should be callable from the Numba kernels"
    assert "openblas" in gemms.library.lower()
    assert blas._computes_exactly(gemms.sgemm, np.float32) and blas._computes_exactly(gemms.dgemm, np.float64)
    before = gemms.get_threads()
    with gemms.one_thread():
        assert gemms.get_threads() == 1
    assert gemms.get_threads() == before


@pytest.mark.parametrize("batches,rows", [(1, 1), (1, 2), (1, 3), (1, 37), (2, 1), (5, 7), (24, 3)])
def test_row_blocks_cover_every_row_once(batches, rows):
    # the Numba path splits the rows of each matrix into one block per worker; every split
    # (fewer rows than workers, a last short block, many matrices) must write each row once
    rng = np.random.default_rng(batches * 100 + rows)
    a = rng.integers(-128, 128, (batches, rows, 70))
    b = rng.integers(-128, 128, (batches, 70, 9))
    bias = rng.integers(-(2**31), 2**31, 9)
    expected = (ref.matmul(a, b) + np.array(bias.tolist(), dtype=object)).astype(np.int64)
    np.testing.assert_array_equal(matmul_both_ways(a, b, bias), expected)


def test_plan_takes_the_narrowest_exact_format():
    assert intmatmul.plan(1536, 128, 128) == ("float32", (2**24 - 1) // 2**14)  # 1023-column chunks
    assert intmatmul.plan(64, 128, 128) == ("float32", 64)
    assert intmatmul.plan(197, 65535, 128) == ("float64", 197)  # float32 chunks would hold 1 column
    assert intmatmul.plan(197, 65535, 128, formats=("float64",)) == ("float64", 197)
    assert intmatmul.plan(4, 2**30, 2**30) == ("int64", 4)
    assert intmatmul.plan(10, 0, 2**40) == ("float32", 10)


def test_every_float_chunk_stays_below_its_bound():
    for k, a_max, b_max in [(3072, 128, 128), (100, 2**20, 2**20), (5000, 2**15, 2**15), (1, 2**26, 2**26)]:
        path, chunk = intmatmul.plan(k, a_max, b_max)
        limit = {"float32": 2**24, "float64": 2**53}.get(path)
        if limit is not None:
            assert chunk * a_max * b_max < limit and chunk >= min(k, intmatmul.MIN_CHUNK)


def test_int64_overflow_is_refused():
    with pytest.raises(ValueError, match="^a: the exact product needs 65 bits"):
        intmatmul.plan(2, 2**31, 2**31)
    a = np.full((1, 1, 2), -(2**31), dtype=np.int64)
    with pytest.raises(ValueError, match="^a:"):
        intmatmul.matmul_np(a, a.transpose(0, 2, 1).copy())
    with pytest.raises(ValueError, match="^a:"):
        intmatmul.matmul_torch(torch.from_numpy(a), torch.from_numpy(a).transpose(1, 2))


@given(data=st.data(), a_bits=st.integers(2, 32), b_bits=st.integers(2, 32), k=st.integers(1, 40))
def test_every_path_equals_python_ints(data, a_bits, b_bits, k):
    a = data.draw(int_arrays(a_bits, True, (2, 3, k)))
    b = data.draw(int_arrays(b_bits, True, (2, k, 4)))
    if k * (1 << (a_bits - 1)) * (1 << (b_bits - 1)) >= 2**63:
        return
    expected = ref.matmul(a, b).astype(np.int64)
    np.testing.assert_array_equal(matmul_both_ways(a, b), expected)
    np.testing.assert_array_equal(intmatmul.matmul_loops(a, b), expected)
    np.testing.assert_array_equal(intmatmul.matmul_torch(torch.from_numpy(a), torch.from_numpy(b)).numpy(), expected)


@pytest.mark.parametrize("k", [1022, 1023, 1024, 2047, 3000])
def test_chunked_float32_is_exact_at_the_bound(k):
    a = np.full((1, 2, k), -128, dtype=np.int64)
    a[0, 1, ::2] = 127
    b = np.full((1, k, 3), -128, dtype=np.int64)
    b[0, ::3, 1] = 127
    assert intmatmul.plan(k, 128, 128)[0] == "float32"
    expected = ref.matmul(a, b).astype(np.int64)
    np.testing.assert_array_equal(matmul_both_ways(a, b), expected)
    np.testing.assert_array_equal(intmatmul.matmul_torch(torch.from_numpy(a), torch.from_numpy(b)).numpy(), expected)


def test_sums_that_float32_would_round_are_exact():
    # the sum is odd and past 2^24, where float32 holds only even integers: one unchunked
    # float32 dot product cannot return it; chunks keep every partial sum below 2^24
    k = 1025
    a = np.full((1, 1, k), 128, dtype=np.int64)
    b = np.full((1, k, 1), 128, dtype=np.int64)
    a[0, 0, 0], b[0, 0, 0] = 127, 129
    expected = 1024 * 128 * 128 + 127 * 129
    assert expected > 2**24 and expected % 2 == 1
    assert intmatmul.plan(k, 128, 129) == ("float32", (2**24 - 1) // (128 * 129))
    assert int(matmul_both_ways(a, b)[0, 0, 0]) == expected
    unchunked = float(np.matmul(a.astype(np.float32), b.astype(np.float32))[0, 0, 0])
    assert unchunked != expected  # what the bound protects against


def test_strided_and_transposed_views_are_read_in_place():
    # the head split of one (B, T, 3, H, D) tensor into q, k, v and k^T: neither is C-ordered;
    # k^T is the transposed view of a row-major matrix and goes to BLAS transposed
    rng = np.random.default_rng(7)
    qkv = rng.integers(-128, 128, (2, 9, 3, 2, 5)).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
    q, k, v = qkv
    k_t = k.swapaxes(-1, -2)
    assert not q.flags.c_contiguous and not k_t.flags.c_contiguous
    assert not intmatmul.Operand(q).transposed and intmatmul.Operand(k_t).transposed
    scores = matmul_both_ways(q, k_t)
    np.testing.assert_array_equal(scores, ref.matmul(q, k_t).astype(np.int64))
    np.testing.assert_array_equal(matmul_both_ways(scores, v), ref.matmul(scores, v).astype(np.int64))
    a_t = rng.integers(-128, 128, (3, 300, 4)).swapaxes(-1, -2)  # a transposed, float32 in chunks
    b = rng.integers(-1024, 1025, (3, 300, 6))
    assert intmatmul.plan(300, 128, 1024) == ("float32", 127)
    np.testing.assert_array_equal(matmul_both_ways(a_t, b), ref.matmul(a_t, b).astype(np.int64))
    b_t = np.ascontiguousarray(b.swapaxes(-1, -2)).swapaxes(-1, -2)  # b transposed, in chunks
    np.testing.assert_array_equal(matmul_both_ways(a_t, b_t), ref.matmul(a_t, b).astype(np.int64))
    big = rng.integers(-(2**30), 2**30, (1, 3, 2)).swapaxes(-1, -2)  # the int64 path
    np.testing.assert_array_equal(intmatmul.matmul_np(big, big.swapaxes(-1, -2)), ref.matmul(big, big.swapaxes(-1, -2)).astype(np.int64))


def test_a_fixed_operand_is_a_private_read_only_copy():
    b = np.array([[[3, -4], [5, 6]]], dtype=np.int64)
    fixed = intmatmul.Operand(b, fixed=True)
    b[:] = 0
    assert not fixed.ints.flags.writeable and not fixed.transposed and (fixed.lo, fixed.hi, fixed.max_abs) == (-4, 6, 6)
    a = np.array([[[1, 2]]], dtype=np.int64)
    np.testing.assert_array_equal(intmatmul.matmul_np(a, fixed, np.array([10, -10])), [[[23, -2]]])
    np.testing.assert_array_equal(fixed.floats(np.float64), [[[3.0, -4.0], [5.0, 6.0]]])


def test_leading_axes_and_bias_on_every_path():
    rng = np.random.default_rng(1)
    for bits in (8, 20, 31):  # float32, float64, int64
        a = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (2, 3, 4, 5))
        b = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (2, 3, 5, 6))
        bias = rng.integers(-(2**31), 2**31, 6)
        expected = (ref.matmul(a, b) + np.array(bias.tolist(), dtype=object)).astype(np.int64)
        np.testing.assert_array_equal(matmul_both_ways(a, b, bias), expected)


def test_one_blas_thread_limits_inside_the_block_and_restores_after():
    import threadpoolctl

    before = [(p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    with intmatmul.one_blas_thread():
        inside = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    after = [(p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert before and all(n == 1 for n in inside) and after == before
