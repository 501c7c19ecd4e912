"""Layer behaviour: forward keeps what backward needs; dtypes, shapes and inputs are respected."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
import pooling_lab.functional as F

POOLS = [pl.MaxPool1d(2), pl.MaxPool2d(2), pl.AvgPool1d(2), pl.AvgPool2d(2)]


@pytest.mark.parametrize("layer", POOLS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
def test_dtype_shape_and_input_preserved(layer, dtype, batched):
    n = 2 if "2d" in type(layer).__name__ else 1
    shape = ((2,) if batched else ()) + (3,) + (4,) * n
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    before = x.copy()
    out = layer(x)
    grad = layer.backward(np.ones_like(out))
    assert out.dtype == dtype and grad.dtype == dtype
    assert out.shape == shape[:-n] + (2,) * n and grad.shape == shape
    np.testing.assert_array_equal(x, before)


def test_max_pool_layer_caches_only_indices_and_shape():
    pool = pl.MaxPool2d(2)
    x = np.random.default_rng(1).standard_normal((1, 1, 4, 4))
    pool(x)
    assert pool.indices.dtype == np.int64 and pool.indices.shape == (1, 1, 2, 2)
    assert pool.input_shape == x.shape


def test_return_indices_layer_and_repr():
    pool = pl.MaxPool2d(2, return_indices=True)
    _, idx = pool(np.arange(16.0).reshape(1, 4, 4))
    np.testing.assert_array_equal(idx, [[[5, 7], [13, 15]]])
    assert repr(pool) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(pl.AvgPool1d(3, 1)) == (
        "AvgPool1d(kernel_size=3, stride=1, padding=0, ceil_mode=False, count_include_pad=True)"
    )


def test_relu_layer_copies_its_input():
    relu = pl.ReLU()
    x = np.array([-1.0, 2.0])
    relu(x)
    x[:] = [5.0, -5.0]  # changing x afterwards must not change the gradient
    np.testing.assert_array_equal(relu.backward(np.ones(2)), [0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_relu_backward_is_where_bit_for_bit(dtype):
    """The masked-bits backward gives np.where(x <= 0, 0, g)'s exact bits: NaN inputs pass
    the gradient (PyTorch's rule), inf and NaN gradients pass unchanged, -0.0 stays -0.0,
    blocked positions are +0.0; for any layout and an input of another dtype."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6)).astype(dtype)
    g = rng.standard_normal((4, 6)).astype(dtype)
    x[0, :4] = [np.nan, 0.0, -0.0, -np.inf]
    x[1, :4] = 1.0
    g[1, :4] = [np.inf, -np.inf, np.nan, -0.0]
    g[2, :3] = [np.nan, np.inf, -0.0]
    x[2, :3] = -1.0
    expected = np.where(x <= 0, np.zeros((), dtype), g)
    for grad, inp in [(g, x), (g.T.copy().T, x), (g[:, ::2], x[:, ::2]), (g, x.astype(float))]:
        want = expected[:, ::2] if grad.shape != g.shape else expected
        got = F.relu_backward(grad, inp)
        assert got.dtype == dtype
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_array_equal(got, want)  # NaN == NaN here


def test_functional_accepts_lists_and_tuples():
    out = F.max_pool2d([[[1, 2], [3, 4]]], (2, 2), stride=[2, 2])
    assert out.dtype.kind == "i" and out.item() == 4


def test_unpool_layer_backward_checks_its_gradient():
    unpool = pl.MaxUnpool2d(2)
    vals, idx = F.max_pool2d(np.ones((1, 4, 4)), 2, return_indices=True)
    unpool(vals, idx)
    with pytest.raises(ValueError, match="grad_output must have the unpooled shape"):
        unpool.backward(np.ones((1, 2, 2)))
    with pytest.raises(TypeError, match="floating-point"):
        unpool.backward(np.ones((1, 4, 4), dtype=int))


def test_backward_gradient_of_chain_matches_composition():
    """ReLU then max-pool equals max-pool then ReLU, forward and backward (they commute)."""
    x = pl.gradcheck.tie_free((2, 3, 6, 6), seed=7)
    g = np.random.default_rng(7).standard_normal((2, 3, 3, 3))
    relu1, pool1 = pl.ReLU(), pl.MaxPool2d(2)
    pool2, relu2 = pl.MaxPool2d(2), pl.ReLU()
    np.testing.assert_array_equal(pool1(relu1(x)), relu2(pool2(x)))
    np.testing.assert_array_equal(
        relu1.backward(pool1.backward(g)), pool2.backward(relu2.backward(g))
    )
