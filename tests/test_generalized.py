"""Lp, log-sum-exp and global pooling: loops, PyTorch parity, gradients, limits, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import random_config

import pooling_lab as pl
from pooling_lab import generalized as G
from pooling_lab.gradcheck import gradcheck, tie_free

LP = {1: G.lp_pool1d, 2: G.lp_pool2d}
LP_BACK = {1: G.lp_pool1d_backward, 2: G.lp_pool2d_backward}
LSE = {1: G.lse_pool1d, 2: G.lse_pool2d}


def _lp_case(case):
    rng = np.random.default_rng(300 + case)
    n = 1 + case % 2
    kernel = tuple(int(k) for k in rng.integers(1, 4, n))
    stride = tuple(int(s) for s in rng.integers(1, 4, n))
    shape = (2, 3) + tuple(int(k + rng.integers(0, 6)) for k in kernel)  # no padding in LPPool
    x = rng.uniform(0.1, 2.0, shape)  # positive: x ** p is defined for every p
    p = [1.0, 2.0, 3.0, 1.5][case % 4]
    kw = dict(
        kernel_size=kernel if n == 2 else kernel[0],
        stride=stride if n == 2 else stride[0],
        ceil_mode=bool(case % 3 == 0),
    )
    return n, x, p, kw


@pytest.mark.parametrize("case", range(40))
def test_lp_pool_equals_loop_reference(case):
    n, x, p, kw = _lp_case(case)
    np.testing.assert_allclose(
        LP[n](x, p, **kw), pl.reference.lp_pool(x, p, **kw, ndim=n), rtol=1e-12
    )


@pytest.mark.parametrize("case", range(60))
def test_lp_pool_matches_torch(case):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    n, x, p, kw = _lp_case(case)
    ours = LP[n](x, p, **kw)
    t = torch.tensor(x, requires_grad=True)
    fn = torch.nn.functional.lp_pool1d if n == 1 else torch.nn.functional.lp_pool2d
    out = fn(t, p, **kw)
    g = np.random.default_rng(case).standard_normal(ours.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(LP_BACK[n](g, x, p, **kw), t.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", range(30))
def test_lse_pool_equals_loop_reference(case):
    rng = np.random.default_rng(700 + case)
    n = 1 + case % 2
    cfg = random_config(rng, n, dilation=False, dtype=np.float64)
    x = cfg.pop("x")
    del cfg["dilation"]
    temperature = [1.0, 0.1, 3.0][case % 3]
    mean = case % 4 >= 2
    np.testing.assert_allclose(
        LSE[n](x, **cfg, temperature=temperature, mean=mean),
        pl.reference.lse_pool(x, **cfg, temperature=temperature, mean=mean, ndim=n),
        rtol=1e-12,
        atol=1e-12,
    )


def test_log_mean_exp_runs_from_max_to_mean_with_the_same_gradient():
    x = tie_free((2, 3, 6, 6), seed=8)
    g = np.random.default_rng(8).standard_normal((2, 3, 3, 3))
    top = pl.functional.max_pool2d(x, 2)
    avg = pl.functional.avg_pool2d(x, 2)
    for t in [1e-3, 0.3, 1.0, 10.0, 1e4]:
        plain = G.lse_pool2d(x, 2, temperature=t)
        lme = G.lse_pool2d(x, 2, temperature=t, mean=True)
        np.testing.assert_allclose(plain - lme, t * np.log(4), rtol=1e-9)
        assert (lme >= avg - 1e-12).all() and (lme <= top + 1e-12).all()  # power-mean sandwich
        np.testing.assert_array_equal(
            G.lse_pool2d_backward(g, x, 2, temperature=t, mean=True),
            G.lse_pool2d_backward(g, x, 2, temperature=t),
        )
    np.testing.assert_allclose(G.lse_pool2d(x, 2, temperature=1e-3, mean=True), top, atol=2e-3)
    np.testing.assert_allclose(G.lse_pool2d(x, 2, temperature=1e6, mean=True), avg, atol=1e-3)


def test_log_mean_exp_counts_only_real_elements_and_keeps_dtype():
    # padding 1 around a 2x2 plane with kernel 2, stride 2: each window holds one real element
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]], dtype=np.float32)
    out = G.lse_pool2d(x, 2, padding=1, mean=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x, rtol=1e-6)
    layer = pl.LSEPool1d(3, stride=1, padding=1, mean=True)
    assert "mean=True" in repr(layer)
    with pytest.raises(TypeError, match="mean must be a bool"):
        G.lse_pool2d(x, 2, mean="yes")
    with pytest.raises(TypeError, match="mean must be a bool"):
        pl.LSEPool2d(2, mean=1)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (pl.LPPool2d(2, 2), (2, 2, 4, 4)),
        (pl.LPPool2d(3, 3, stride=2, ceil_mode=True), (1, 2, 6, 5)),
        (pl.LPPool1d(1.5, 3, stride=1), (2, 2, 7)),
        (pl.LSEPool2d(2, temperature=0.5), (2, 2, 4, 4)),
        (pl.LSEPool2d(3, stride=2, padding=1, temperature=2.0), (1, 2, 5, 5)),
        (pl.LSEPool1d(3, stride=1, padding=1), (2, 2, 6)),
        (pl.LSEPool2d(3, stride=2, padding=1, temperature=0.7, mean=True), (1, 2, 5, 5)),
        (pl.GlobalMaxPool2d(), (2, 3, 4, 5)),
        (pl.GlobalAvgPool2d(), (2, 3, 4, 5)),
    ],
    ids=repr,
)
def test_new_layers_pass_gradcheck(layer, shape):
    x = tie_free(shape, seed=3)
    if isinstance(layer, pl.LPPool2d) and not isinstance(layer, pl.LSEPool2d):
        x = np.abs(x) + 0.5  # Lp pooling is meant for positive inputs
    assert gradcheck(layer, x) < 1e-7


def test_lse_tends_to_max_pooling_and_its_gradient_to_the_winner():
    x = tie_free((1, 2, 6, 6), seed=5)
    g = np.random.default_rng(5).standard_normal((1, 2, 3, 3))
    out, idx = pl.functional.max_pool2d(x, 2, return_indices=True)
    routed = pl.functional.max_pool2d_backward(g, idx, x.shape)
    gaps = []
    for t in [1.0, 0.1, 0.01, 0.001]:
        y = G.lse_pool2d(x, 2, temperature=t)
        assert (y >= out).all() and (y <= out + t * np.log(4) + 1e-12).all()  # the sandwich
        gaps.append(np.abs(G.lse_pool2d_backward(g, x, 2, temperature=t) - routed).max())
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-12


def test_lse_gradient_is_the_window_softmax_and_conserves_mass():
    x = np.array([[[1.0, 2.0], [3.0, 0.5]]])
    weights = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(G.lse_pool2d_backward(np.ones((1, 1, 1)), x, 2), weights)


def test_lp_between_average_and_max():
    x = tie_free((1, 1, 4, 4), seed=2) + 2  # positive
    mean = pl.functional.avg_pool2d(x, 2)
    top = pl.functional.max_pool2d(x, 2)
    np.testing.assert_allclose(G.lp_pool2d(x, 1, 2), 4 * mean)
    scaled = [G.lp_pool2d(x, p, 2) / 4 ** (1 / p) for p in (1, 2, 4, 16, 64)]  # power means
    for low, high in itertools.pairwise(scaled):
        assert (low <= high + 1e-12).all()
    np.testing.assert_allclose(G.lp_pool2d(x, 200, 2), top, rtol=0.01)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global_pooling_matches_torch_adaptive(kind):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 4))
    layer = pl.GlobalMaxPool2d() if kind == "max" else pl.GlobalAvgPool2d()
    t = torch.tensor(x, requires_grad=True)
    fn = getattr(torch.nn.functional, f"adaptive_{kind}_pool2d")
    out = fn(t, 1)
    g = np.random.default_rng(2).standard_normal((2, 3, 1, 1))
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(layer(x), out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(g), t.grad.numpy(), rtol=1e-12)


def test_bad_arguments():
    x = np.ones((1, 4, 4))
    with pytest.raises(ValueError, match="lp_pool2d: norm_type must be a finite number > 0"):
        G.lp_pool2d(x, 0, 2)
    with pytest.raises(ValueError, match="lse_pool2d: temperature must be a finite number > 0"):
        G.lse_pool2d(x, 2, temperature=-1)
    with pytest.raises(ValueError, match="LSEPool2d: temperature"):
        pl.LSEPool2d(2, temperature=0)
    with pytest.raises(TypeError, match="lp_pool2d: input has integer dtype"):
        G.lp_pool2d(np.ones((1, 4, 4), dtype=int), 2, 2)
    with pytest.raises(ValueError, match="grad_output must have the output's shape"):
        G.lp_pool2d_backward(np.ones((1, 3, 3)), x, 2, 2)
    with pytest.raises(RuntimeError, match=r"LPPool2d\.backward was called before forward"):
        pl.LPPool2d(2, 2).backward(np.ones((1, 2, 2)))
    before = x.copy()
    G.lse_pool2d_backward(np.ones((1, 2, 2)), x, 2)
    np.testing.assert_array_equal(x, before)


def test_layer_reprs_show_their_arguments():
    assert repr(G.LPPool2d(2, 3, stride=1)) == (
        "LPPool2d(norm_type=2, kernel_size=3, stride=1, ceil_mode=False)"
    )
    assert repr(G.LSEPool1d(2, temperature=0.5)) == (
        "LSEPool1d(kernel_size=2, stride=None, padding=0, temperature=0.5, ceil_mode=False, "
        "mean=False)"
    )
