"""Properties that hold for every input: they are what the course's chapters rely on."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_config
from hypothesis import given
from hypothesis import strategies as st

import pooling_lab as pl
import pooling_lab.functional as F


def _pool(seed, **kwargs):
    rng = np.random.default_rng(seed)
    n = 1 + seed % 2
    cfg = random_config(rng, n, dtype=np.float64, **kwargs)
    x = cfg.pop("x")
    try:
        out, idx = (F.max_pool1d if n == 1 else F.max_pool2d)(x, **cfg, return_indices=True)
    except ValueError:  # a dilated window missed the input
        return None
    back = F.max_pool1d_backward if n == 1 else F.max_pool2d_backward
    return rng, n, x, out, idx, back


@given(st.integers(0, 10**6))
def test_max_pool_gradient_mass_is_conserved(seed):
    """Every output passes its whole gradient to exactly one input: the totals agree."""
    problem = _pool(seed)
    if problem is None:
        return
    rng, n, x, out, idx, back = problem
    g = rng.standard_normal(out.shape)
    grad = back(g, idx, x.shape)
    np.testing.assert_allclose(grad.sum(), g.sum(), rtol=1e-10, atol=1e-10)
    lead = x.shape[:-n]
    for pos in np.ndindex(*lead):  # also per plane: gradient never leaks between channels
        np.testing.assert_allclose(grad[pos].sum(), g[pos].sum(), rtol=1e-10, atol=1e-10)


@given(st.integers(0, 10**6))
def test_each_window_routes_to_exactly_one_input_of_its_own(seed):
    """A one-hot output gradient lands on exactly one input, inside that window, at its max."""
    problem = _pool(seed, tie_heavy=True)
    if problem is None:
        return
    rng, _, x, out, idx, back = problem
    flat_out = out.reshape(-1)
    pos = int(rng.integers(0, flat_out.size))
    g = np.zeros(out.size)
    g[pos] = 1.0
    grad = back(g.reshape(out.shape), idx, x.shape)
    nonzero = np.flatnonzero(grad)
    assert nonzero.size == 1 and grad.reshape(-1)[nonzero[0]] == 1.0
    # The input that received it holds the window's maximum.
    assert x.reshape(-1)[nonzero[0]] == flat_out[pos]


def test_overlapping_windows_sum_their_gradients():
    x = np.array([[0.0, 9.0, 1.0, 2.0, 3.0]])
    out, idx = F.max_pool1d(x, 3, stride=1, return_indices=True)
    np.testing.assert_array_equal(out, [[9.0, 9.0, 3.0]])
    grad = F.max_pool1d_backward(np.array([[1.0, 10.0, 100.0]]), idx, x.shape)
    np.testing.assert_array_equal(grad, [[0.0, 11.0, 0.0, 0.0, 100.0]])


def test_ties_first_index_gets_everything():
    x = np.array([[[2.0, 2.0], [2.0, 1.0]]])
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.item() == 0
    grad = F.max_pool2d_backward(np.array([[[5.0]]]), idx, x.shape)
    np.testing.assert_array_equal(grad, [[[5.0, 0.0], [0.0, 0.0]]])


def test_nan_propagates_and_index_points_at_the_last_nan():
    x = np.array([[1.0, np.nan, 7.0, np.nan, 2.0, 3.0]])
    out, idx = F.max_pool1d(x, 6, return_indices=True)
    assert np.isnan(out).all() and idx.item() == 3


def test_all_minus_inf_window_reports_first_real_element_not_padding():
    x = np.full((1, 3, 3), -np.inf)
    out, idx = F.max_pool2d(x, 2, padding=1, return_indices=True)
    assert (out == -np.inf).all()
    np.testing.assert_array_equal(idx, [[[0, 1], [3, 4]]])


def test_max_unpool_is_max_pool_backward_without_overlap():
    rng = np.random.default_rng(0)
    x = pl.gradcheck.tie_free((2, 3, 6, 6), seed=1)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    g = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(F.max_unpool2d(g, idx, 2), F.max_pool2d_backward(g, idx, x.shape))


@given(st.integers(0, 10**6))
def test_integer_max_pool_is_exact(seed):
    rng = np.random.default_rng(seed)
    cfg = random_config(rng, 2, dtype=np.float64)
    x = rng.integers(-(2**62), 2**62, cfg.pop("x").shape, dtype=np.int64)
    try:
        ref = pl.reference.max_pool(x, **cfg)
    except ValueError:
        return
    out, idx = F.max_pool2d(x, **cfg, return_indices=True)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, ref[0])
    np.testing.assert_array_equal(idx, ref[1])


def test_relu_is_a_max_pool_over_zero_and_x():
    x = pl.gradcheck.tie_free((7,), seed=3)
    stacked = np.stack([np.zeros_like(x), x], axis=-1)[None]  # (1, 7, 2): windows {0, x}
    out, idx = F.max_pool1d(stacked, 2, return_indices=True)
    np.testing.assert_array_equal(out[0, :, 0], F.relu(x))
    g = np.arange(1.0, 8.0)
    routed = F.max_pool1d_backward(g.reshape(1, 7, 1), idx, stacked.shape)[0, :, 1]
    np.testing.assert_array_equal(routed, F.relu_backward(g, x))


@given(st.integers(0, 10**6))
def test_tie_rules_first_matches_pytorch_rule_and_split_conserves_mass(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (2, 2, 6, 7)).astype(np.float64)  # many ties
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    out, idx = F.max_pool2d(x, k, s, return_indices=True)
    g = rng.standard_normal(out.shape)
    first = pl.ties.max_pool2d_backward_ties(x, g, k, s, rule="first")
    np.testing.assert_array_equal(first, F.max_pool2d_backward(g, idx, x.shape))
    split = pl.ties.max_pool2d_backward_ties(x, g, k, s, rule="split")
    np.testing.assert_allclose(split.sum(), g.sum(), atol=1e-9)
    every = pl.ties.max_pool2d_backward_ties(x, np.abs(g), k, s, rule="all")
    assert every.sum() >= np.abs(g).sum() - 1e-9  # "all" can only inflate the total


def test_tie_rules_against_a_loop():
    x = np.array([[[1, 3, 3, 0], [3, 2, 1, 1], [0, 0, 5, 5], [0, 0, 5, 5]]], dtype=float)
    g = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    split = pl.ties.max_pool2d_backward_ties(x, g, 2, rule="split")
    expected = np.zeros_like(x)
    for (i, j), value in np.ndenumerate(g[0]):
        window = x[0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        top = window == window.max()
        expected[0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2] += value * top / top.sum()
    np.testing.assert_allclose(split, expected)
    with pytest.raises(ValueError, match="rule must be one of"):
        pl.ties.max_pool2d_backward_ties(x, g, 2, rule="random")


@given(st.integers(0, 10**6))
def test_count_maxima_against_a_loop(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (1, 2, 5, 6)).astype(np.float32)
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    counts = pl.ties.count_maxima(x, k, s)
    out = F.max_pool2d(x, k, s)
    assert counts.shape == out.shape and counts.dtype == np.int64
    for n, c, i, j in np.ndindex(*counts.shape):
        window = x[n, c, i * s : i * s + k, j * s : j * s + k]
        assert counts[n, c, i, j] == np.sum(window == window.max())


def test_tie_rule_layer_follows_its_rule_and_checks_it():
    x = np.random.default_rng(3).integers(0, 3, (2, 3, 6, 6)).astype(np.float64)
    g = np.random.default_rng(4).standard_normal((2, 3, 3, 3))
    for rule in pl.ties.RULES:
        layer = pl.ties.MaxPool2dTies(2, rule=rule)
        np.testing.assert_array_equal(layer(x), F.max_pool2d(x, 2))
        expected = pl.ties.max_pool2d_backward_ties(x, g, 2, rule=rule)
        np.testing.assert_array_equal(layer.backward(g), expected)
    # on tie-free inputs every rule is the ordinary gradient
    free = pl.gradcheck.tie_free((1, 2, 4, 4), seed=5)
    assert pl.gradcheck.gradcheck(pl.ties.MaxPool2dTies(2, rule="split"), free) < 1e-7
    with pytest.raises(ValueError, match="rule must be one of"):
        pl.ties.MaxPool2dTies(2, rule="last")
    with pytest.raises(RuntimeError, match="before forward"):
        pl.ties.MaxPool2dTies(2).backward(g)
