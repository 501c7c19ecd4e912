"""Adaptive pooling in 1-D and 3-D (issue 12): loops, PyTorch, finite differences, layers."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
from pooling_lab import adaptive as A
from pooling_lab import reference as R
from pooling_lab.gradcheck import gradcheck, tie_free

torch = pytest.importorskip("torch", reason="torch (the reference extra) is not installed")
TF = torch.nn.functional

MAX_LAYER = {1: pl.AdaptiveMaxPool1d, 2: pl.AdaptiveMaxPool2d, 3: pl.AdaptiveMaxPool3d}
AVG_LAYER = {1: pl.AdaptiveAvgPool1d, 2: pl.AdaptiveAvgPool2d, 3: pl.AdaptiveAvgPool3d}


def _case(case: int, n: int):
    """Input, PyTorch-style output_size (may hold None in 2-D/3-D) and the resolved sizes."""
    rng = np.random.default_rng(50000 + case)
    spatial = tuple(int(s) for s in rng.integers(1, 8 if n < 3 else 6, n))
    lead = [(2, 3), (3,)][case % 2]
    kind = case % 4
    if kind == 0:  # small integers: many ties
        x = rng.integers(-2, 3, lead + spatial).astype(np.float64)
    else:
        x = rng.standard_normal(lead + spatial)
    if kind == 1:
        x[rng.random(x.shape) < 0.1] = np.nan
        x[rng.random(x.shape) < 0.1] = -np.inf
    if case % 3 == 0:
        x = x.astype(np.float32)
    sizes = tuple(int(rng.integers(1, 2 * s + 1)) for s in spatial)  # larger than input, too
    if n == 1:
        return x, sizes[0], sizes
    arg = tuple(None if rng.random() < 0.25 else o for o in sizes)
    resolved = tuple(s if o is None else o for o, s in zip(arg, spatial))
    return x, arg, resolved


@pytest.mark.parametrize("case", range(80))
@pytest.mark.parametrize("n", [1, 3])
def test_adaptive_max_matches_torch_and_loops(case, n):
    x, arg, sizes = _case(case, n)
    ours, idx = getattr(A, f"adaptive_max_pool{n}d")(x, arg, return_indices=True)
    t = torch.tensor(x, requires_grad=True)
    t_out, t_idx = getattr(TF, f"adaptive_max_pool{n}d")(t, arg, return_indices=True)
    np.testing.assert_array_equal(ours, t_out.detach().numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    ref, ref_idx = R.adaptive_max_pool(x, sizes, ndim=n)
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(idx, ref_idx)
    g = np.random.default_rng(case).standard_normal(ours.shape).astype(x.dtype)
    t_out.backward(torch.tensor(g))
    back = getattr(A, f"adaptive_max_pool{n}d_backward")(g, idx, x.shape)
    np.testing.assert_allclose(back, t.grad.numpy(), rtol=1e-6, atol=1e-6)
    layer = MAX_LAYER[n](arg)
    np.testing.assert_array_equal(layer(x), ours)
    np.testing.assert_allclose(layer.backward(g), t.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", range(60))
@pytest.mark.parametrize("n", [1, 3])
def test_adaptive_avg_matches_torch_and_loops(case, n):
    x, arg, sizes = _case(case, n)
    x = np.nan_to_num(x, neginf=-3.0)  # averages of -inf and NaN say nothing about the bins
    ours = getattr(A, f"adaptive_avg_pool{n}d")(x, arg)
    t = torch.tensor(x, requires_grad=True)
    t_out = getattr(TF, f"adaptive_avg_pool{n}d")(t, arg)
    tol = dict(rtol=1e-5, atol=1e-6) if x.dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours, t_out.detach().numpy(), **tol)
    np.testing.assert_allclose(ours, R.adaptive_avg_pool(x, sizes, ndim=n), **tol)
    g = np.random.default_rng(case).standard_normal(ours.shape).astype(x.dtype)
    t_out.backward(torch.tensor(g))
    back = getattr(A, f"adaptive_avg_pool{n}d_backward")(g, x.shape, arg)
    np.testing.assert_allclose(back, t.grad.numpy(), **tol)
    assert ours.dtype == back.dtype == x.dtype
    layer = AVG_LAYER[n](arg)
    np.testing.assert_allclose(layer(x), ours, **tol)
    np.testing.assert_allclose(layer.backward(g), back, **tol)


def test_adaptive_2d_max_backward_function_matches_torch():
    x = tie_free((2, 3, 7, 5), seed=3)
    out, idx = A.adaptive_max_pool2d(x, (3, None), return_indices=True)
    t = torch.tensor(x, requires_grad=True)
    t_out = TF.adaptive_max_pool2d(t, (3, None))
    g = np.random.default_rng(0).standard_normal(out.shape)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(A.adaptive_max_pool2d_backward(g, idx, x.shape), t.grad.numpy())


@pytest.mark.parametrize(
    "layer, shape",
    [
        (pl.AdaptiveMaxPool1d(4), (2, 3, 9)),
        (pl.AdaptiveMaxPool1d(7), (1, 5)),  # more outputs than inputs: bins repeat
        (pl.AdaptiveAvgPool1d(3), (2, 2, 7)),
        (pl.AdaptiveMaxPool3d((2, 3, 2)), (1, 2, 5, 6, 4)),
        (pl.AdaptiveAvgPool3d((None, 2, 3)), (2, 3, 5, 4)),
    ],
    ids=repr,
)
def test_adaptive_layers_pass_gradcheck(layer, shape):
    x = tie_free(shape, seed=len(shape))
    with np.errstate(all="raise"):
        assert gradcheck(layer, x) < 1e-7


def test_adaptive_layers_return_indices_and_repr():
    layer = pl.AdaptiveMaxPool3d(1, return_indices=True)
    x = tie_free((2, 3, 3, 3), seed=0)
    out, idx = layer(x)
    np.testing.assert_array_equal(idx.reshape(2), x.reshape(2, -1).argmax(axis=1))
    np.testing.assert_array_equal(out.reshape(2), x.reshape(2, -1).max(axis=1))
    assert repr(pl.AdaptiveAvgPool1d(3)) == "AdaptiveAvgPool1d(output_size=3)"
    assert repr(pl.AdaptiveMaxPool3d((2, None, 1))) == "AdaptiveMaxPool3d(output_size=(2, None, 1))"


def test_adaptive_3d_on_integers_is_exact():
    x = (np.arange(2 * 3 * 4 * 5, dtype=np.int64) * 10**12).reshape(2, 3, 4, 5)
    out, idx = A.adaptive_max_pool3d(x, (2, 2, 2), return_indices=True)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(
        out, np.take_along_axis(x.reshape(2, -1), idx.reshape(2, -1), 1).reshape(out.shape)
    )
