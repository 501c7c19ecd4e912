"""3-D pooling (issue 12): loops, finite differences, layers and Lp pooling in three dimensions.

The PyTorch parity sweeps for max, average and unpooling are in test_torch_parity.py; this file
checks the 3-D functions against the plain-loop reference (which knows nothing of the fast
core), their backward passes by gradcheck, and the layers' bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_config

import pooling_lab as pl
import pooling_lab.functional as F
from pooling_lab import generalized as G
from pooling_lab import reference as R
from pooling_lab.gradcheck import gradcheck, tie_free


def _small_config(rng, **kw):
    """A random 3-D problem small enough for the loop reference (a few hundred elements)."""
    while True:
        cfg = random_config(rng, 3, **kw)
        if cfg["x"].size <= 1500:
            return cfg


@pytest.mark.parametrize("case", range(40))
def test_max_pool3d_equals_loop_reference(case):
    rng = np.random.default_rng(40000 + case)
    cfg = _small_config(rng, specials=case % 3 == 0)
    x = cfg.pop("x")
    try:
        ref_out, ref_idx = R.max_pool(x, **cfg, ndim=3)
    except ValueError:  # a dilated window that misses the input: both must refuse
        with pytest.raises(ValueError, match="covers no input element"):
            F.max_pool3d(x, **cfg)
        return
    out, idx = F.max_pool3d(x, **cfg, return_indices=True)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    assert out.dtype == x.dtype and idx.dtype == np.int64
    g = rng.standard_normal(out.shape).astype(x.dtype)
    np.testing.assert_allclose(
        F.max_pool3d_backward(g, idx, x.shape),
        R.max_pool_backward(g, idx, x.shape, ndim=3),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("case", range(30))
def test_avg_pool3d_equals_loop_reference(case):
    rng = np.random.default_rng(41000 + case)
    cfg = _small_config(rng, dilation=False)
    x = cfg.pop("x")
    del cfg["dilation"]
    if any(s < k for s, k in zip(x.shape[-3:], cfg["kernel_size"])):
        with pytest.raises(ValueError, match="smaller than kernel_size"):
            F.avg_pool3d(x, **cfg)
        return
    cfg["count_include_pad"] = bool(case % 2)
    cfg["divisor_override"] = None if case % 3 else 3
    out = F.avg_pool3d(x, **cfg)
    np.testing.assert_allclose(out, R.avg_pool(x, **cfg, ndim=3), rtol=1e-5, atol=1e-4)
    g = rng.standard_normal(out.shape).astype(x.dtype)
    np.testing.assert_allclose(
        F.avg_pool3d_backward(g, x.shape, **cfg),
        R.avg_pool_backward(g, x.shape, **cfg, ndim=3),
        rtol=1e-5,
        atol=1e-5,
    )


def test_max_unpool3d_equals_loop_reference():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((2, 3, 5, 4, 6))
    out, idx = F.max_pool3d(x, (2, 2, 3), stride=(2, 1, 3), return_indices=True)
    size = (5, 4, 6)
    np.testing.assert_array_equal(
        F.max_unpool3d(out, idx, (2, 2, 3), stride=(2, 1, 3), output_size=size),
        R.max_unpool(out, idx, (2, 3) + size, ndim=3),
    )


LAYERS_3D = [
    (pl.MaxPool3d(2), (2, 2, 4, 4, 4)),
    (pl.MaxPool3d(3, stride=(1, 2, 2), padding=1), (1, 2, 4, 5, 5)),  # overlapping windows
    (pl.MaxPool3d((2, 3, 2), stride=2, dilation=(1, 2, 1), ceil_mode=True), (3, 5, 7, 5)),
    (pl.AvgPool3d(3, stride=2, padding=1), (2, 1, 5, 5, 5)),
    (pl.AvgPool3d(2, stride=1, padding=1, count_include_pad=False, ceil_mode=True), (1, 3, 4, 3)),
    (pl.AvgPool3d(2, divisor_override=3), (1, 2, 4, 4, 4)),
    (pl.AdaptiveMaxPool3d((2, 3, None)), (2, 5, 7, 3)),
    (pl.AdaptiveAvgPool3d((3, 2, 1)), (1, 2, 5, 4, 3)),
]


@pytest.mark.parametrize("layer, shape", LAYERS_3D, ids=repr)
def test_3d_layers_pass_gradcheck(layer, shape):
    """Nothing new in the backward: the same selection (or averaging) one dimension further."""
    x = tie_free(shape, seed=len(shape))
    with np.errstate(all="raise"):
        assert gradcheck(layer, x) < 1e-7


def test_max_unpool3d_layer_passes_gradcheck():
    x = tie_free((1, 2, 4, 4, 6), seed=3)
    pooled, idx = F.max_pool3d(x, 2, return_indices=True)
    unpool = pl.MaxUnpool3d(2)

    class Bound:  # the indices stay fixed; only the pooled values vary
        def forward(self, v):
            return unpool.forward(v, idx)

        def backward(self, g):
            return unpool.backward(g)

    assert gradcheck(Bound(), pooled) < 1e-7


def test_3d_layers_keep_dtype_accept_unbatched_input_and_leave_it_alone():
    x = tie_free((2, 4, 6, 5), seed=1, dtype=np.float32)  # (C, D, H, W)
    before = x.copy()
    for layer in (pl.MaxPool3d(2, padding=1), pl.AvgPool3d(2, ceil_mode=True)):
        out = layer(x)
        assert out.dtype == np.float32 and out.ndim == 4
        batched = type(layer)(**_init_args(layer))(x[None])
        np.testing.assert_array_equal(out, batched[0])
        grad = layer.backward(np.ones_like(out))
        assert grad.shape == x.shape and grad.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def _init_args(layer):
    keys = ("kernel_size", "stride", "padding", "ceil_mode")
    return {k: getattr(layer, k) for k in keys}


def test_max_pool3d_on_integers_is_exact():
    x = np.arange(2 * 4 * 4 * 4, dtype=np.int64).reshape(2, 4, 4, 4) * 10**12
    out, idx = F.max_pool3d(x, 2, return_indices=True)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, x.reshape(-1)[idx + np.arange(2)[:, None, None, None] * 64])


def test_max_pool3d_layer_remembers_indices_and_repr():
    layer = pl.MaxPool3d(2, return_indices=True)
    x = tie_free((1, 1, 2, 2, 2), seed=5)
    out, idx = layer(x)
    assert out.reshape(-1)[0] == x.max() and idx.reshape(-1)[0] == np.argmax(x)
    np.testing.assert_array_equal(layer.indices, idx)
    assert repr(layer).startswith("MaxPool3d(kernel_size=2, stride=2")
    assert "divisor_override=4" in repr(pl.AvgPool3d(2, divisor_override=4))
    assert "divisor_override" not in repr(pl.AvgPool3d(2))


# ---------------------------------------------------------------------------------------------
# Lp pooling in 3-D: lp_pool3d and LPPool3d, through the same N-dimensional core as 1-D and 2-D
# (pooling_lab/_lp.py).


def _lp3_case(case):
    rng = np.random.default_rng(43000 + case)
    kernel = tuple(int(k) for k in rng.integers(1, 4, 3))
    stride = tuple(int(s) for s in rng.integers(1, 4, 3))
    shape = (2, 2) + tuple(int(k + rng.integers(0, 4)) for k in kernel)
    x = rng.uniform(0.1, 2.0, shape)
    return (
        x,
        [1.0, 2.0, 3.0, 1.5][case % 4],
        dict(kernel_size=kernel, stride=stride, ceil_mode=bool(case % 3 == 0)),
    )


@pytest.mark.parametrize("case", range(20))
def test_lp_pool3d_matches_torch_and_loops(case):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    x, p, kw = _lp3_case(case)
    ours = G.lp_pool3d(x, p, **kw)
    t = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.lp_pool3d(t, p, **kw)
    g = np.random.default_rng(case).standard_normal(ours.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours, R.lp_pool(x, p, **kw, ndim=3), rtol=1e-10)
    np.testing.assert_allclose(
        G.lp_pool3d_backward(g, x, p, **kw), t.grad.numpy(), rtol=1e-8, atol=1e-10
    )


def test_lp_pool3d_layer_passes_gradcheck():
    x = tie_free((1, 2, 4, 4, 5), seed=9) + 3.0  # positive, away from x = 0
    with np.errstate(all="raise"):
        assert gradcheck(pl.LPPool3d(2.0, 2, stride=(1, 2, 2)), x) < 1e-6
