"""Parity with torch.nn.functional (torch 2.13, CPU): values, indices and input gradients.

torch is only a test reference; these tests skip when it is absent. CI installs it, so they run.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_config

import pooling_lab as pl
import pooling_lab.functional as F

torch = pytest.importorskip(
    "torch", reason="torch is not installed; run `pip install torch==2.13.0` for parity tests"
)
TF = torch.nn.functional

CASES = 300


def _torch_pool(fn, x, kw, grad):
    """Run a torch pooling function with autograd; return its outputs and the input gradient."""
    t = torch.tensor(x, requires_grad=True)
    result = fn(t, **kw)
    out = result[0] if isinstance(result, tuple) else result
    out.backward(torch.tensor(grad))
    extra = result[1].numpy() if isinstance(result, tuple) else None
    return out.detach().numpy(), extra, t.grad.numpy()


def _covers_input(x, kw, n):
    """False when some dilated window misses the input (pooling_lab raises there)."""
    try:
        pl.reference.max_pool(x[(0,) * (x.ndim - n)][None], **kw, ndim=n)
    except ValueError:
        return False
    return True


def _tol(dtype):
    return dict(rtol=1e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", range(CASES))
def test_max_pool_matches_torch(case):
    rng = np.random.default_rng(1000 + case)
    n = 1 + case % 2
    cfg = random_config(rng, n, specials=case % 5 == 0)
    x = cfg.pop("x")
    fn = TF.max_pool1d if n == 1 else TF.max_pool2d
    if not _covers_input(x, cfg, n):
        # PyTorch returns -inf for a window that misses the input; pooling_lab refuses.
        assert (fn(torch.tensor(x), **cfg).numpy() == -np.inf).any()
        with pytest.raises(ValueError, match="covers no input element"):
            (F.max_pool1d if n == 1 else F.max_pool2d)(x, **cfg)
        return
    ours, idx = (F.max_pool1d if n == 1 else F.max_pool2d)(x, **cfg, return_indices=True)
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t, idx_t, grad_t = _torch_pool(fn, x, dict(cfg, return_indices=True), g)
    np.testing.assert_array_equal(ours, out_t)
    np.testing.assert_array_equal(idx, idx_t)
    back = F.max_pool1d_backward if n == 1 else F.max_pool2d_backward
    np.testing.assert_allclose(back(g, idx, x.shape), grad_t, **_tol(x.dtype))


@pytest.mark.parametrize("case", range(CASES // 2))
def test_avg_pool_matches_torch(case):
    rng = np.random.default_rng(5000 + case)
    n = 1 + case % 2
    cfg = random_config(rng, n, dilation=False, specials=case % 10 == 0)
    x = cfg.pop("x")
    del cfg["dilation"]
    cfg["count_include_pad"] = bool(case % 3)
    ours = (F.avg_pool1d if n == 1 else F.avg_pool2d)(x, **cfg)
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t, _, grad_t = _torch_pool(TF.avg_pool1d if n == 1 else TF.avg_pool2d, x, cfg, g)
    tol = dict(rtol=1e-5, atol=1e-5) if x.dtype == np.float32 else _tol(x.dtype)
    np.testing.assert_allclose(ours, out_t, **tol)
    back = F.avg_pool1d_backward if n == 1 else F.avg_pool2d_backward
    np.testing.assert_allclose(back(g, x.shape, **cfg), grad_t, **tol)


@pytest.mark.parametrize("case", range(CASES // 3))
def test_max_unpool_matches_torch(case):
    rng = np.random.default_rng(9000 + case)
    n = 1 + case % 2
    cfg = random_config(rng, n, dilation=False, tie_heavy=False)
    x = cfg.pop("x")
    cfg.pop("ceil_mode")
    cfg.pop("dilation")
    pooled, idx = (F.max_pool1d if n == 1 else F.max_pool2d)(x, **cfg, return_indices=True)
    default = tuple(
        (o - 1) * s + k - 2 * p
        for o, s, k, p in zip(pooled.shape[-n:], cfg["stride"], cfg["kernel_size"], cfg["padding"])
    )
    spatial = x.shape[-n:]
    if not all(d - s < size < d + s for size, d, s in zip(spatial, default, cfg["stride"])):
        spatial = None  # PyTorch cannot unpool to the input's size: use the default size
    ours = (F.max_unpool1d if n == 1 else F.max_unpool2d)(pooled, idx, **cfg, output_size=spatial)
    t = torch.tensor(pooled, requires_grad=True)
    fn = TF.max_unpool1d if n == 1 else TF.max_unpool2d
    out_t = fn(t, torch.tensor(idx), **cfg, output_size=spatial)
    np.testing.assert_array_equal(ours, out_t.detach().numpy())
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t.backward(torch.tensor(g))
    layer = (pl.MaxUnpool1d if n == 1 else pl.MaxUnpool2d)(**cfg)
    layer.forward(pooled, idx, output_size=spatial)
    np.testing.assert_allclose(layer.backward(g), t.grad.numpy(), **_tol(x.dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_matches_torch_including_zero_and_nan(dtype):
    x = np.array([-2.0, -0.0, 0.0, 1e-30, 3.0, np.nan, np.inf, -np.inf], dtype=dtype)
    g = np.arange(1, x.size + 1, dtype=dtype)
    t = torch.tensor(x, requires_grad=True)
    out = torch.relu(t)
    out.backward(torch.tensor(g))
    layer = pl.ReLU()
    np.testing.assert_array_equal(layer(x), out.detach().numpy())
    np.testing.assert_array_equal(layer.backward(g), t.grad.numpy())


@pytest.mark.parametrize("n", [1, 2])
def test_layers_match_functional_torch(n):
    """The layer classes give torch's nn module results on a plain batch."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((2, 3) + (9,) * n)
    ours = (pl.MaxPool1d if n == 1 else pl.MaxPool2d)(3, stride=2, padding=1)
    theirs = (torch.nn.MaxPool1d if n == 1 else torch.nn.MaxPool2d)(3, stride=2, padding=1)
    t = torch.tensor(x, requires_grad=True)
    out = theirs(t)
    g = rng.standard_normal(out.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours(x), out.detach().numpy())
    np.testing.assert_allclose(ours.backward(g), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_window_outside_input_is_an_error():
    """Where PyTorch silently returns -inf and an index outside the input, we raise."""
    x = np.array([[[1.0, 2.0]]])
    out, idx = TF.max_pool1d(torch.tensor(x), 2, padding=1, dilation=3, return_indices=True)
    assert out.numpy()[0, 0, 0] == -np.inf and not 0 <= idx.numpy()[0, 0, 0] < 2
    with pytest.raises(ValueError, match="covers no input element"):
        F.max_pool1d(x, 2, padding=1, dilation=3)


@pytest.mark.parametrize("case", range(40))
def test_invalid_arguments_rejected_where_torch_rejects_them(case):
    rng = np.random.default_rng(20000 + case)
    n = 1 + case % 2
    k = int(rng.integers(1, 5))
    kw = dict(
        kernel_size=k,
        stride=int(rng.integers(1, 3)),
        padding=int(rng.integers(0, 4)),
        dilation=int(rng.integers(1, 3)),
        ceil_mode=bool(case % 3 == 0),
    )
    x = rng.standard_normal((1, 2) + tuple(int(s) for s in rng.integers(1, 6, n)))
    try:
        (TF.max_pool1d if n == 1 else TF.max_pool2d)(torch.tensor(x), **kw)
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    try:
        (F.max_pool1d if n == 1 else F.max_pool2d)(x, **kw)
        ours_ok = True
    except ValueError as err:
        ours_ok = False
        if torch_ok:  # the only case where we are stricter than PyTorch
            assert "covers no input element" in str(err)
    if not torch_ok:
        assert not ours_ok


# ---------------------------------------------------------------------------------------------
# 3-D pooling (issue 12): the same sweeps, one dimension more.

CASES_3D = 120


def _avg_config(rng, n, **kw):
    """random_config for average pooling; in 3-D redrawn until the input is >= the kernel."""
    while True:
        cfg = random_config(rng, n, dilation=False, **kw)
        if n < 3 or all(s >= k for s, k in zip(cfg["x"].shape[-3:], cfg["kernel_size"])):
            del cfg["dilation"]
            return cfg


@pytest.mark.parametrize("case", range(CASES_3D))
def test_max_pool3d_matches_torch(case):
    """Values, indices and gradients, with ties, NaN, +-inf, padding, dilation and ceil_mode."""
    rng = np.random.default_rng(30000 + case)
    cfg = random_config(rng, 3, specials=case % 4 == 0, tie_heavy=case % 3 == 0 or None)
    x = cfg.pop("x")
    if not _covers_input(x, cfg, 3):
        assert (TF.max_pool3d(torch.tensor(x), **cfg).numpy() == -np.inf).any()
        with pytest.raises(ValueError, match="covers no input element"):
            F.max_pool3d(x, **cfg)
        return
    ours, idx = F.max_pool3d(x, **cfg, return_indices=True)
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t, idx_t, grad_t = _torch_pool(TF.max_pool3d, x, dict(cfg, return_indices=True), g)
    np.testing.assert_array_equal(ours, out_t)
    np.testing.assert_array_equal(idx, idx_t)
    np.testing.assert_allclose(F.max_pool3d_backward(g, idx, x.shape), grad_t, **_tol(x.dtype))
    layer = pl.MaxPool3d(**cfg)
    np.testing.assert_array_equal(layer(x), out_t)
    np.testing.assert_allclose(layer.backward(g), grad_t, **_tol(x.dtype))


def test_max_pool3d_all_minus_inf_window_and_nan_rules():
    """A window of -inf reports its first real element; a NaN window its last NaN."""
    x = np.zeros((1, 1, 3, 3, 3))
    x[0, 0, :2, :2, :2] = -np.inf
    x[0, 0, 1, 2, 0] = np.nan
    x[0, 0, 2, 2, 1] = np.nan
    for kw in (dict(kernel_size=2, padding=1), dict(kernel_size=2, stride=1), dict(kernel_size=3)):
        ours = F.max_pool3d(x, **kw, return_indices=True)
        theirs = TF.max_pool3d(torch.tensor(x), **kw, return_indices=True)
        np.testing.assert_array_equal(ours[0], theirs[0].numpy())
        np.testing.assert_array_equal(ours[1], theirs[1].numpy())


@pytest.mark.parametrize("case", range(CASES_3D // 2))
def test_avg_pool3d_matches_torch(case):
    rng = np.random.default_rng(31000 + case)
    if case % 6 == 0:  # input may be smaller than the kernel: an error in torch's avg_pool3d
        cfg = random_config(rng, 3, dilation=False)
        del cfg["dilation"]
    else:
        cfg = _avg_config(rng, 3, specials=case % 10 == 1)
    x = cfg.pop("x")
    cfg["count_include_pad"] = bool(case % 3)
    cfg["divisor_override"] = None if case % 4 else int(rng.choice([-3, 1, 2, 5]))
    if any(s < k for s, k in zip(x.shape[-3:], cfg["kernel_size"])):
        # torch's avg_pool3d (unlike its 2-D twin) wants input >= kernel, padding not counted
        with pytest.raises(RuntimeError, match="smaller than kernel size"):
            TF.avg_pool3d(torch.tensor(x), **cfg)
        with pytest.raises(ValueError, match="smaller than kernel_size"):
            F.avg_pool3d(x, **cfg)
        return
    ours = F.avg_pool3d(x, **cfg)
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t, _, grad_t = _torch_pool(TF.avg_pool3d, x, cfg, g)
    tol = dict(rtol=1e-5, atol=1e-5) if x.dtype == np.float32 else _tol(x.dtype)
    np.testing.assert_allclose(ours, out_t, **tol)
    np.testing.assert_allclose(F.avg_pool3d_backward(g, x.shape, **cfg), grad_t, **tol)
    layer = pl.AvgPool3d(**cfg)
    np.testing.assert_allclose(layer(x), out_t, **tol)
    np.testing.assert_allclose(layer.backward(g), grad_t, **tol)


@pytest.mark.parametrize("case", range(60))
def test_divisor_override_matches_torch(case):
    """1-D (which torch lacks: compared with torch's 2-D on a height-1 input), 2-D and 3-D."""
    rng = np.random.default_rng(32000 + case)
    n = 1 + case % 3
    cfg = _avg_config(rng, n)
    x = cfg.pop("x")
    cfg["count_include_pad"] = bool(case % 2)
    cfg["divisor_override"] = int(rng.choice([-2, 1, 3, 7]))
    ours = getattr(F, f"avg_pool{n}d")(x, **cfg)
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    back = getattr(F, f"avg_pool{n}d_backward")(g, x.shape, **cfg)
    if n == 1:  # as (…, 1, L) with a (1, k) window
        lift = {
            k: (1, v[0]) if k != "padding" else (0, v[0])
            for k, v in cfg.items()
            if isinstance(v, tuple)
        }
        kw = dict(cfg, **lift)
        out_t, _, grad_t = _torch_pool(TF.avg_pool2d, x[..., None, :], kw, g[..., None, :])
        out_t, grad_t = out_t[..., 0, :], grad_t[..., 0, :]
    else:
        out_t, _, grad_t = _torch_pool(getattr(TF, f"avg_pool{n}d"), x, cfg, g)
    tol = dict(rtol=1e-5, atol=1e-5) if x.dtype == np.float32 else _tol(x.dtype)
    np.testing.assert_allclose(ours, out_t, **tol)
    np.testing.assert_allclose(back, grad_t, **tol)


@pytest.mark.parametrize("case", range(CASES_3D // 3))
def test_max_unpool3d_matches_torch(case):
    rng = np.random.default_rng(33000 + case)
    cfg = random_config(rng, 3, dilation=False, tie_heavy=False)
    x = cfg.pop("x")
    cfg.pop("ceil_mode")
    cfg.pop("dilation")
    pooled, idx = F.max_pool3d(x, **cfg, return_indices=True)
    default = tuple(
        (o - 1) * s + k - 2 * p
        for o, s, k, p in zip(pooled.shape[-3:], cfg["stride"], cfg["kernel_size"], cfg["padding"])
    )
    spatial = x.shape[-3:]
    if not all(d - s < size < d + s for size, d, s in zip(spatial, default, cfg["stride"])):
        spatial = None
    ours = F.max_unpool3d(pooled, idx, **cfg, output_size=spatial)
    t = torch.tensor(pooled, requires_grad=True)
    out_t = TF.max_unpool3d(t, torch.tensor(idx), **cfg, output_size=spatial)
    np.testing.assert_array_equal(ours, out_t.detach().numpy())
    g = rng.standard_normal(ours.shape).astype(x.dtype)
    out_t.backward(torch.tensor(g))
    layer = pl.MaxUnpool3d(**cfg)
    layer.forward(pooled, idx, output_size=spatial)
    np.testing.assert_allclose(layer.backward(g), t.grad.numpy(), **_tol(x.dtype))


@pytest.mark.parametrize("case", range(30))
def test_invalid_3d_arguments_rejected_where_torch_rejects_them(case):
    rng = np.random.default_rng(34000 + case)
    kw = dict(
        kernel_size=int(rng.integers(1, 5)),
        stride=int(rng.integers(1, 3)),
        padding=int(rng.integers(0, 4)),
        dilation=int(rng.integers(1, 3)),
        ceil_mode=bool(case % 3 == 0),
    )
    x = rng.standard_normal((1, 2) + tuple(int(s) for s in rng.integers(1, 6, 3)))
    try:
        TF.max_pool3d(torch.tensor(x), **kw)
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    try:
        F.max_pool3d(x, **kw)
        ours_ok = True
    except ValueError as err:
        ours_ok = False
        if torch_ok:
            assert "covers no input element" in str(err)
    if not torch_ok:
        assert not ours_ok


@pytest.mark.parametrize(("k", "p", "d"), [(3, 1, 1), (3, 2, 1), (3, 2, 2), (2, 1, 3)])
def test_padding_limit_is_half_the_kernel_even_when_dilated(k, p, d):
    """maxpool_forward: PyTorch requires p <= k // 2, comparing with k itself when dilated."""
    x = np.zeros((1, 1, 20))

    def accepts(pool):
        try:
            pool()
        except (RuntimeError, ValueError):
            return False
        return True

    theirs = accepts(lambda: torch.nn.functional.max_pool1d(torch.from_numpy(x), k, 1, p, d))
    ours = accepts(lambda: F.max_pool1d(x, k, 1, p, d))
    assert theirs == ours == (p <= k // 2)


def test_lp_pool_at_infinite_norm_type_is_torch_s_max_of_abs_and_refused_here():
    """beyond_max: torch accepts norm_type=inf as max pooling of |x|; pooling_lab asks for a
    finite p."""
    x = np.array([[[-5.0, 1.0, 2.0, -0.5]]])
    theirs = torch.nn.functional.lp_pool1d(torch.from_numpy(x), float("inf"), 2)
    assert np.array_equal(theirs.numpy(), [[[5.0, 2.0]]])
    with pytest.raises(ValueError, match="norm_type"):
        pl.generalized.lp_pool1d(x, float("inf"), 2)
