"""Lp, log-sum-exp and global pooling: loops, PyTorch parity, gradients, limits, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import random_config

import pooling_lab as pl
from pooling_lab import _lp
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


@pytest.mark.parametrize("case", range(12))
def test_lse_layer_equals_the_functional_pair_bit_for_bit(case):
    """The layer keeps its forward's work for backward; the results must not change by it,
    nor by the input changing after the forward."""
    rng = np.random.default_rng(900 + case)
    n = 1 + case % 2
    cfg = random_config(rng, n, dilation=False, dtype=[np.float64, np.float32][case % 2])
    x = cfg.pop("x")
    del cfg["dilation"]
    kw = dict(temperature=[1.0, 0.3, 2.0][case % 3], mean=case % 4 >= 2)
    layer = (pl.LSEPool1d if n == 1 else pl.LSEPool2d)(**cfg, **kw)
    fn, bw = (
        (G.lse_pool1d, G.lse_pool1d_backward) if n == 1 else (G.lse_pool2d, G.lse_pool2d_backward)
    )
    out = layer.forward(x)
    kept = x.copy()
    x += 100.0  # the layer must have kept its own copy of what it needs
    g = rng.standard_normal(out.shape).astype(x.dtype)
    grad = layer.backward(g)
    np.testing.assert_array_equal(out, fn(kept, **cfg, **kw))
    np.testing.assert_array_equal(grad, bw(g, kept, **cfg, **kw))
    assert out.dtype == grad.dtype == x.dtype


def test_lse_layer_backward_needs_a_forward_and_a_gradient_of_the_output_shape():
    layer = pl.LSEPool2d(2)
    with pytest.raises(RuntimeError, match=r"LSEPool2d\.backward was called before forward"):
        layer.backward(np.ones((1, 1, 1)))
    layer.forward(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=r"LSEPool2d\.backward: grad_output must have the output"):
        layer.backward(np.ones((1, 1, 1)))


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


# ---------------------------------------------------------------------------------------------
# Lp pooling: numerics (the scaled form) and conventions (zeros, p < 1, negative inputs)


def _naive_lp(x, p, k):
    """Lp pooling the direct way, ``(sum x**p) ** (1/p)`` in the input's dtype (no scaling)."""
    with np.errstate(over="ignore", under="ignore"):
        return (pl.functional.avg_pool2d(x**p, k) * x.dtype.type(k * k)) ** x.dtype.type(1 / p)


@pytest.mark.parametrize("p", [2, 8, 16, 32, 64, 128])
@pytest.mark.parametrize("seed", [0, 1])
def test_lp_float32_matches_float64_for_large_p(p, seed):
    rng = np.random.default_rng(seed)
    # up to 20: 20**64 overflows float32 and 0.05**64 underflows it, when computed directly
    x = rng.uniform(0.05, 20.0, (2, 3, 8, 8)).astype(np.float32)
    x[0, 0, :2, :2] = rng.uniform(0.01, 0.05, (2, 2))  # a window of small values only
    wide = x.astype(np.float64)
    out = G.lp_pool2d(x, p, 2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, G.lp_pool2d(wide, p, 2), rtol=2e-6)
    np.testing.assert_allclose(out, pl.reference.lp_pool(wide, p, 2), rtol=2e-6)
    g = rng.standard_normal(out.shape).astype(np.float32)
    grad = G.lp_pool2d_backward(g, x, p, 2)
    assert grad.dtype == np.float32 and np.isfinite(grad).all()
    np.testing.assert_allclose(grad, G.lp_pool2d_backward(g, wide, p, 2), rtol=1e-4, atol=1e-5)
    if p >= 32:  # the direct form breaks in float32 here, so the scaling is what saves it
        naive = _naive_lp(x, p, 2)
        assert not np.isfinite(naive).all() or (naive == 0).any()


def test_lp_float32_matches_torch_float64_where_torch_float32_overflows():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.random.default_rng(4).uniform(0.5, 8.0, (1, 2, 6, 6)).astype(np.float32)
    direct = torch.nn.functional.lp_pool2d(torch.tensor(x), 64, 2).numpy()
    assert not np.isfinite(direct).all()  # 8**64 = 2**192 is past float32's range
    wide = torch.tensor(x.astype(np.float64), requires_grad=True)
    out = torch.nn.functional.lp_pool2d(wide, 64, 2)
    out.backward(torch.ones_like(out))
    np.testing.assert_allclose(G.lp_pool2d(x, 64, 2), out.detach().numpy(), rtol=2e-6)
    grad = G.lp_pool2d_backward(np.ones((1, 2, 3, 3), np.float32), x, 64, 2)
    np.testing.assert_allclose(grad, wide.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0])
def test_lp_gradient_of_an_all_zero_window_is_zero(p):
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 0, 2] = 1.5  # the second window is not all zero
    grad = G.lp_pool2d_backward(np.ones((1, 1, 1, 2)), x, p, 2)
    np.testing.assert_array_equal(grad[..., :2], 0)  # PyTorch's documented convention
    np.testing.assert_array_equal(G.lp_pool2d(x, p, 2), [[[[0.0, 1.5]]]])
    if p >= 1:
        assert np.isfinite(grad).all()
    else:  # p < 1: x**p has an infinite slope at 0, so zeros beside a non-zero element get inf
        assert np.isposinf(grad[0, 0, 0, 3]) and np.isposinf(grad[0, 0, 1, 2:]).all()


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0])
def test_lp_zero_conventions_match_torch(p):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.array([[[0.0, 0.0, 0.0, 2.0, 1.0, 0.5]]])
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.lp_pool1d(t, p, 2)
    out.backward(torch.ones_like(out))
    ours = G.lp_pool1d_backward(np.ones((1, 1, 3)), x, p, 2)
    np.testing.assert_allclose(G.lp_pool1d(x, p, 2), out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[..., 2:], t.grad.numpy()[..., 2:], rtol=1e-12)  # inf too
    # the all-zero window: 0 in both for p >= 1; for p < 1 torch computes 0 * inf = NaN
    # although its documentation says 0; pooling_lab returns the documented 0
    np.testing.assert_array_equal(ours[..., :2], 0)
    if p < 1:
        assert np.isnan(t.grad.numpy()[..., :2]).all()
    else:
        np.testing.assert_array_equal(t.grad.numpy()[..., :2], 0)


@pytest.mark.parametrize("p", [1.0, 2.0, 4.0])
def test_lp_signed_inputs_match_torch_for_p_one_and_even_p(p):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.random.default_rng(6).standard_normal((2, 2, 6, 6))
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.lp_pool2d(t, p, 3, 2, ceil_mode=True)
    g = np.random.default_rng(7).standard_normal(out.shape)
    out.backward(torch.tensor(g))
    ours = G.lp_pool2d(x, p, 3, 2, ceil_mode=True)
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        G.lp_pool2d_backward(g, x, p, 3, 2, ceil_mode=True), t.grad.numpy(), rtol=1e-9, atol=1e-12
    )
    if p == 1:  # a sum, signs and all
        assert (ours < 0).any()
        return
    np.testing.assert_allclose(ours, G.lp_pool2d(np.abs(x), p, 3, 2, ceil_mode=True))
    # the p-norm of a window with a large negative element exceeds the window's maximum
    assert (ours > pl.functional.max_pool2d(x, 3, 2, ceil_mode=True)).any()


def test_lp_gradient_is_zero_where_a_sum_cancels_to_zero_like_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.array([[[1.5, -1.5, 2.0, -1.0]]])  # p = 1: the first window sums to 0
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.lp_pool1d(t, 1, 2)
    out.backward(torch.ones_like(out))
    np.testing.assert_array_equal(G.lp_pool1d(x, 1, 2), out.detach().numpy())
    ours = G.lp_pool1d_backward(np.ones((1, 1, 2)), x, 1, 2)
    np.testing.assert_array_equal(ours, t.grad.numpy())
    np.testing.assert_array_equal(ours, [[[0.0, 0.0, 1.0, 1.0]]])


@pytest.mark.parametrize("p", [3.0, 5.0, 1.5, 0.5])
@pytest.mark.parametrize("fn", [G.lp_pool1d, pl.reference.lp_pool])
def test_lp_rejects_negative_inputs_unless_p_is_one_or_even(p, fn):
    x = np.array([[[2.0, -0.25, 1.0, 3.0]]])
    kwargs = {"ndim": 1} if fn is pl.reference.lp_pool else {}
    rule = r"input must be non-negative unless norm_type is 1 or an even integer"
    with pytest.raises(ValueError, match=rule):
        fn(x, p, 2, **kwargs)
    with pytest.raises(ValueError, match=r"norm_type=.*-0\.25"):
        G.lp_pool1d_backward(np.ones((1, 1, 2)), x, p, 2)
    with pytest.raises(ValueError, match="non-negative"):
        pl.LPPool1d(p, 2)(x)
    fn(np.abs(x), p, 2, **kwargs)  # fine without the sign
    fn(np.array([[[-0.0, 1.0]]]), p, 2, **kwargs)  # -0.0 is not negative


def test_lp_gradient_total_runs_from_the_window_size_to_one():
    x = tie_free((1, 1, 4, 4), seed=9) + 3  # positive, ties broken
    totals = [
        G.lp_pool2d_backward(np.ones((1, 1, 2, 2)), x, p, 2).sum() / 4 for p in (1, 2, 8, 64, 1000)
    ]
    assert totals[0] == pytest.approx(4)  # p = 1: every element gets 1, the window holds 4
    assert all(a > b for a, b in itertools.pairwise(totals))
    assert totals[-1] == pytest.approx(1, abs=1e-2)  # the max takes (almost) all, the rest 0


def test_lp_core_is_dimension_generic():
    # _lp takes n; a 3-D caller (lp_pool3d) uses the same core, so check n = 3 here too
    x = np.random.default_rng(3).uniform(0.1, 2.0, (2, 3, 4, 5, 6))
    out = _lp._lp("lp_pool3d", 3, x, 3.0, 2, None, False)
    # a 3-D window of 2x2x2: compare with a direct sum over the 8 offsets
    total = sum(
        x[:, :, a : a + 4 : 2, b : b + 4 : 2, c : c + 6 : 2] ** 3
        for a in range(2)
        for b in range(2)
        for c in range(2)
    )
    np.testing.assert_allclose(out, total ** (1 / 3), rtol=1e-12)
    g = np.ones_like(out)
    grad = _lp._lp("lp_pool3d", 3, x, 3.0, 2, None, False, g)
    # without overlap the gradient is (x / y) ** (p - 1) of each element's own window
    y = np.repeat(np.repeat(np.repeat(out, 2, 2), 2, 3), 2, 4)
    np.testing.assert_allclose(grad[:, :, :, :4], (x[:, :, :, :4] / y) ** 2, rtol=1e-12)
    np.testing.assert_array_equal(grad[:, :, :, 4], 0)  # the row no window reaches


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_lp_infinite_and_nan_inputs_match_torch(p):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x = np.array([[[np.inf, 1.0, 2.0, 3.0, np.nan, 1.0]]])
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.lp_pool1d(t, p, 2)
    out.backward(torch.ones_like(out))
    np.testing.assert_allclose(G.lp_pool1d(x, p, 2), out.detach().numpy(), rtol=1e-12)
    ours = G.lp_pool1d_backward(np.ones((1, 1, 3)), x, p, 2)
    if p == 1:
        # p = 1 is a sum, whose slope is 1 whatever the values: pooling_lab gives 1 in the NaN
        # window too, where torch's sign(nan) = 0 turns it into 0
        np.testing.assert_array_equal(ours[..., 4:], 1.0)
        np.testing.assert_allclose(ours[..., :4], t.grad.numpy()[..., :4], rtol=1e-12)
        return
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-12)  # nan where torch has nan


# ---------------------------------------------------------------------------------------------
# Claims of book/beyond_max.ipynb, checked beyond the chapter's printed examples


def test_lp_gradient_is_the_share_power_and_its_total_never_falls_below_one():
    rng = np.random.default_rng(11)
    windows = [np.array([[[1.0, 2.0], [3.0, 4.0]]]), np.array([[[3.8, 4.0], [1.0, 2.0]]])]
    for w in [*windows, rng.uniform(0.1, 5.0, (1, 3, 3))]:
        k = w.shape[-1]
        for p in [1.0, 1.7, 2.0, 5.0, 40.0]:
            grad = G.lp_pool2d_backward(np.ones((1, 1, 1)), w, p, k).ravel()
            s = w.ravel() ** p / (w.ravel() ** p).sum()
            assert np.allclose(grad, s ** (1 - 1 / p))
            assert grad.sum() >= 1 - 1e-12
            # Euler's identity for a positively homogeneous function: sum x dy/dx = y
            assert np.isclose((w.ravel() * grad).sum(), G.lp_pool2d(w, p, k).item())


def test_poolings_that_shift_with_their_input_keep_the_gradient_total():
    x = np.random.default_rng(12).standard_normal((2, 3, 6, 6))
    g = np.random.default_rng(13).standard_normal((2, 3, 3, 3))
    c = 0.7
    cases = [
        (
            lambda v: pl.functional.avg_pool2d(v, 2),
            lambda: pl.functional.avg_pool2d_backward(g, x.shape, 2),
        ),
        (
            lambda v: G.lse_pool2d(v, 2, temperature=0.3),
            lambda: G.lse_pool2d_backward(g, x, 2, temperature=0.3),
        ),
        (
            lambda v: pl.adaptive.adaptive_avg_pool2d(v, 3),
            lambda: pl.adaptive.adaptive_avg_pool2d_backward(g, x.shape, 3),
        ),
    ]
    for forward, backward in cases:
        assert np.allclose(forward(x + c), forward(x) + c)  # shift-equivariant
        assert np.allclose(backward().sum(axis=(2, 3)), g.sum(axis=(2, 3)))  # total kept
    # counted padding breaks both
    pad = {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": True}
    y0, y1 = pl.functional.avg_pool2d(x, **pad), pl.functional.avg_pool2d(x + c, **pad)
    assert not np.allclose(y1, y0 + c)
    grad = pl.functional.avg_pool2d_backward(np.ones_like(y0), x.shape, **pad)
    assert grad.sum() < y0.size


def test_lse_bounds_and_both_forms_share_one_gradient():
    for seed, k in [(1, 2), (2, 3)]:
        x = np.random.default_rng(seed).standard_normal((2, 3, 6, 6))
        top, avg = pl.functional.max_pool2d(x, k), pl.functional.avg_pool2d(x, k)
        for T in [0.01, 0.3, 1.0, 30.0]:
            summed = G.lse_pool2d(x, k, temperature=T)
            averaged = G.lse_pool2d(x, k, temperature=T, mean=True)
            assert np.allclose(summed - averaged, T * np.log(k * k))
            assert (top <= summed + 1e-12).all()
            assert (summed <= top + T * np.log(k * k) + 1e-12).all()
            assert (avg <= averaged + 1e-12).all() and (averaged <= top + 1e-12).all()
            g = np.ones_like(summed)
            assert np.array_equal(
                G.lse_pool2d_backward(g, x, k, temperature=T),
                G.lse_pool2d_backward(g, x, k, temperature=T, mean=True),
            )


def test_lse_output_is_softmax_average_plus_temperature_times_entropy():
    v = np.array([[[0.3, 1.0], [0.8, -0.5]]])
    for T in [0.3, 1.0, 2.0]:
        s = G.lse_pool2d_backward(np.ones((1, 1, 1)), v, 2, temperature=T).ravel()
        entropy = -(s * np.log(s)).sum()
        y = G.lse_pool2d(v, 2, temperature=T).item()
        assert np.isclose(y, (s * v.ravel()).sum() + T * entropy)


def test_adaptive_avg_backward_by_the_bin_formula_keeps_the_total():
    for length, n, seed in [(5, 3, 0), (7, 3, 1), (10, 4, 2), (3, 5, 3)]:
        g = np.random.default_rng(seed).standard_normal((2, 1, n))
        by_formula = np.zeros((2, 1, length))
        for j, (start, end) in enumerate(pl.adaptive.adaptive_bins(length, n)):
            by_formula[..., start:end] += g[..., j : j + 1] / (end - start)
        grad = pl.adaptive.adaptive_avg_pool1d_backward(g, (2, 1, length), n)
        assert np.allclose(grad, by_formula)
        assert np.allclose(grad.sum(axis=-1), g.sum(axis=-1))


def test_adaptive_5_to_3_is_kernel_3_stride_2_padding_1_without_counted_padding():
    x = np.random.default_rng(14).standard_normal((2, 3, 5, 5))
    g = np.random.default_rng(15).standard_normal((2, 3, 3, 3))
    pad = {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}
    assert np.allclose(pl.adaptive.adaptive_avg_pool2d(x, 3), pl.functional.avg_pool2d(x, **pad))
    assert np.allclose(
        pl.adaptive.adaptive_avg_pool2d_backward(g, x.shape, 3),
        pl.functional.avg_pool2d_backward(g, x.shape, **pad),
    )


def test_unpooling_a_non_tiling_input_needs_output_size_and_gathers_per_plane():
    x = tie_free((2, 3, 5, 5), seed=16)
    pooled, idx = pl.functional.max_pool2d(x, 2, return_indices=True)
    g = np.random.default_rng(17).standard_normal(pooled.shape)
    backward = pl.functional.max_pool2d_backward(g, idx, x.shape)
    right = pl.functional.max_unpool2d(g, idx, 2, output_size=x.shape[-2:])
    assert np.array_equal(right, backward)
    unpool = pl.MaxUnpool2d(2)
    unpool(pooled, idx, output_size=x.shape[-2:])
    grad_y = np.random.default_rng(18).standard_normal(x.shape)
    flat = grad_y.reshape(*x.shape[:2], -1)
    gathered = np.take_along_axis(flat, idx.reshape(*idx.shape[:2], -1), axis=-1)
    assert np.array_equal(unpool.backward(grad_y), gathered.reshape(idx.shape))


def test_unpooling_repeated_indices_keeps_the_last_value_in_row_major_order():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        values = rng.standard_normal((2, 3, 3, 4))
        indices = rng.integers(0, 5, size=values.shape)  # 12 values into 5 of 12 places
        unpooled = pl.functional.max_unpool2d(values, indices, 1)
        expected = np.zeros((2, 3, 12))
        for b, c in np.ndindex(2, 3):
            for value, index in zip(values[b, c].ravel(), indices[b, c].ravel()):
                expected[b, c, index] = value
        assert np.array_equal(unpooled.reshape(2, 3, 12), expected)
