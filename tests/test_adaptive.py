"""Adaptive pooling: PyTorch's bins, checked against loops, PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pooling_lab as pl
from pooling_lab import adaptive as A
from pooling_lab.gradcheck import gradcheck, tie_free

torch = pytest.importorskip("torch", reason="torch (the reference extra) is not installed")


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    out = (draw(st.integers(1, 2 * h)), draw(st.integers(1, 2 * w)))
    values = draw(st.sampled_from(["ties", "normal"]))
    seed = draw(st.integers(0, 10**6))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (2, 3, h, w)) if values == "ties" else rng.standard_normal((2, 3, h, w))
    return x.astype(np.float64), out


@settings(max_examples=60, deadline=None)
@given(cases())
def test_adaptive_pooling_equals_loops(case):
    x, out = case
    got, idx = A.adaptive_max_pool2d(x, out, return_indices=True)
    ref, ref_idx = pl.reference.adaptive_max_pool(x, out)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(
        A.adaptive_avg_pool2d(x, out), pl.reference.adaptive_avg_pool(x, out)
    )


@settings(max_examples=60, deadline=None)
@given(cases(), st.sampled_from([np.float32, np.float64]))
def test_adaptive_pooling_matches_torch(case, dtype):
    x, out = case
    x = x.astype(dtype)
    if x.size and np.random.default_rng(int(x.sum() * 7) % 1000).random() < 0.3:
        x.flat[0] = np.nan  # NaN: the index must point at a NaN, as PyTorch's does
    t = torch.from_numpy(x).requires_grad_(True)
    t_out, t_idx = torch.nn.functional.adaptive_max_pool2d(t, out, return_indices=True)
    got, idx = A.adaptive_max_pool2d(x, out, return_indices=True)
    np.testing.assert_array_equal(got, t_out.detach().numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    g = np.random.default_rng(1).standard_normal(got.shape).astype(dtype)
    t_out.backward(torch.from_numpy(g))
    layer = pl.AdaptiveMaxPool2d(out)
    layer(x)
    np.testing.assert_allclose(layer.backward(g), t.grad.numpy(), rtol=1e-6, atol=1e-6)

    xa = np.nan_to_num(x)
    ta = torch.from_numpy(xa).requires_grad_(True)
    t_avg = torch.nn.functional.adaptive_avg_pool2d(ta, out)
    got = A.adaptive_avg_pool2d(xa, out)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, t_avg.detach().numpy(), rtol=1e-5, atol=1e-6)
    t_avg.backward(torch.from_numpy(g))
    grad = A.adaptive_avg_pool2d_backward(g, xa.shape, out)
    np.testing.assert_allclose(grad, ta.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_one_dimensional_and_none_sizes_match_torch():
    x = np.random.default_rng(2).standard_normal((2, 3, 7))
    t = torch.from_numpy(x)
    for out in (1, 3, 5, 7, 10):
        got, idx = A.adaptive_max_pool1d(x, out, return_indices=True)
        t_out, t_idx = torch.nn.functional.adaptive_max_pool1d(t, out, return_indices=True)
        np.testing.assert_array_equal(got, t_out.numpy())
        np.testing.assert_array_equal(idx, t_idx.numpy())
        np.testing.assert_allclose(
            A.adaptive_avg_pool1d(x, out), torch.nn.functional.adaptive_avg_pool1d(t, out).numpy()
        )
        g = np.random.default_rng(out).standard_normal((2, 3, out))
        ta = t.clone().requires_grad_(True)
        torch.nn.functional.adaptive_avg_pool1d(ta, out).backward(torch.from_numpy(g))
        np.testing.assert_allclose(A.adaptive_avg_pool1d_backward(g, x.shape, out), ta.grad.numpy())
    x2 = np.random.default_rng(3).standard_normal((3, 6, 5))
    np.testing.assert_allclose(
        A.adaptive_avg_pool2d(x2, (None, 2)),
        torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(x2), (None, 2)).numpy(),
    )


@pytest.mark.parametrize("out", [1, (2, 3), (5, 4), (7, 9)])
def test_adaptive_layers_pass_gradcheck(out):
    x = tie_free((2, 2, 5, 6), seed=4)
    assert gradcheck(pl.AdaptiveMaxPool2d(out), x) < 1e-7
    assert gradcheck(pl.AdaptiveAvgPool2d(out), x) < 1e-7


def test_adaptive_pooling_keeps_dtype_and_input():
    x = tie_free((1, 2, 5, 5), seed=5).astype(np.float32)
    before = x.copy()
    assert A.adaptive_max_pool2d(x, 2).dtype == np.float32
    assert A.adaptive_avg_pool2d(x, 2).dtype == np.float32
    np.testing.assert_array_equal(x, before)
    ints = np.arange(25, dtype=np.int32).reshape(1, 5, 5)
    assert A.adaptive_max_pool2d(ints, 2).dtype == np.int32  # max of integers is exact


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: A.adaptive_max_pool2d(np.zeros((1, 4, 4)), 0), ValueError, "must be positive"),
        (lambda: A.adaptive_max_pool2d(np.zeros((1, 4, 4)), (2, 2, 2)), ValueError, "tuple of 2"),
        (lambda: A.adaptive_avg_pool2d(np.zeros((1, 4, 4)), 1.5), TypeError, "output_size"),
        (lambda: A.adaptive_avg_pool2d(np.zeros((4, 4)), 2), ValueError, "3-D or 4-D"),
        (lambda: A.adaptive_avg_pool2d(np.zeros((1, 4, 4), dtype=int), 2), TypeError, "cast"),
        (
            lambda: A.adaptive_avg_pool2d_backward(np.ones((1, 3, 3)), (1, 4, 4), 2),
            ValueError,
            "grad_output must have shape",
        ),
        (lambda: pl.AdaptiveMaxPool2d(-1), ValueError, "must be positive"),
        (lambda: pl.AdaptiveAvgPool2d(1).backward(np.ones((1, 1, 1))), RuntimeError, "forward"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
