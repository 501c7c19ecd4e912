"""Every layer passes a finite-difference check; the checker itself catches wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
from pooling_lab.gradcheck import KinkWarning, gradcheck, numerical_vjp, relative_error, tie_free

LAYERS = [
    (pl.MaxPool2d(2), (2, 3, 6, 6)),
    (pl.MaxPool2d(3, stride=1, padding=1), (1, 2, 5, 5)),  # overlapping windows
    (pl.MaxPool2d((3, 2), stride=(2, 1), dilation=(1, 2), ceil_mode=True), (2, 6, 7)),
    (pl.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8)),
    (pl.AvgPool2d(3, stride=2, padding=1), (2, 2, 6, 6)),
    (pl.AvgPool2d(2, stride=1, padding=1, count_include_pad=False, ceil_mode=True), (1, 5, 4)),
    (pl.AvgPool1d(4, stride=3, padding=2, ceil_mode=True), (2, 2, 9)),
    (pl.ReLU(), (3, 4, 5)),
]


@pytest.mark.parametrize("layer, shape", LAYERS, ids=repr)
def test_every_layer_passes_gradcheck(layer, shape):
    x = tie_free(shape, seed=len(shape))
    with np.errstate(all="raise"):
        assert gradcheck(layer, x) < 1e-7


def test_max_unpool_layer_passes_gradcheck():
    x = tie_free((2, 2, 6, 6), seed=4)
    pooled, idx = pl.functional.max_pool2d(x, 2, return_indices=True)
    unpool = pl.MaxUnpool2d(2)

    class Bound:  # fix the indices so the check varies only the pooled values
        def forward(self, v):
            return unpool.forward(v, idx)

        def backward(self, g):
            return unpool.backward(g)

    assert gradcheck(Bound(), pooled) < 1e-7


def test_gradcheck_catches_a_wrong_backward():
    class Doubled(pl.MaxPool2d):
        def backward(self, g):
            return 2 * super().backward(g)

    class Spread(pl.MaxPool2d):  # a common mistake: every window element gets the gradient
        def backward(self, g):
            return np.repeat(np.repeat(g, 2, axis=-1), 2, axis=-2)

    x = tie_free((1, 1, 4, 4))
    assert gradcheck(Doubled(2), x) > 0.3
    assert gradcheck(Spread(2), x) > 0.3


def test_gradcheck_of_plain_functions():
    x = np.array([0.5, -1.5, 2.0])
    assert gradcheck(np.sin, x, lambda v, g: np.cos(v) * g) < 1e-7
    assert gradcheck(np.sin, x, lambda v, g: np.sin(v) * g) > 0.1


def test_kink_is_reported_at_a_tie_and_not_away_from_it():
    tied = np.array([[[1.0, 1.0], [0.0, 0.0]]])
    with pytest.warns(KinkWarning, match="sit on a kink"):
        error = gradcheck(pl.MaxPool2d(2), tied)
    assert error > 0.1  # at the tie, the finite difference averages two slopes: 0.5 vs 1
    with pytest.warns(KinkWarning):
        gradcheck(pl.ReLU(), np.array([0.0, 1.0]))


def test_numerical_vjp_does_not_touch_its_input():
    x = np.array([1.0, 2.0])
    before = x.copy()
    numerical_vjp(np.exp, x, np.ones(2))
    np.testing.assert_array_equal(x, before)


def test_relative_error_and_tie_free():
    assert relative_error(np.ones(3), np.ones(3)) == 0.0
    assert relative_error(np.array([0.0]), np.array([1e-3])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.ones(2), np.ones(3))
    x = tie_free((5, 7), seed=2, dtype=np.float32)
    assert x.dtype == np.float32 and np.unique(x).size == 35
    gaps = np.diff(np.sort(x.ravel().astype(np.float64)))
    assert gaps.min() > 0.099 and np.abs(x).min() >= 0.049


def test_gradcheck_rejects_a_function_without_backward():
    with pytest.raises(TypeError, match="f must be a layer"):
        gradcheck(np.sin, np.ones(2))
