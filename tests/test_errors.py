"""Bad input: a clear error naming the parameter and the rule, and the input left untouched."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
import pooling_lab.functional as F


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((2, 3, 6, 6))


def _raises_and_unchanged(exc, match, fn, arr, *args, **kwargs):
    before = arr.copy()
    with pytest.raises(exc, match=match):
        fn(arr, *args, **kwargs)
    np.testing.assert_array_equal(arr, before)


@pytest.mark.parametrize("shape", [(6,), (6, 6, 6, 6, 6)])
def test_wrong_ndim(x, shape):
    _raises_and_unchanged(
        ValueError,
        r"max_pool2d: input must be 3-D or 4-D .*got a \d-D",
        F.max_pool2d,
        np.zeros(shape),
        2,
    )
    _raises_and_unchanged(
        ValueError, r"avg_pool1d: input must be 2-D or 3-D", F.avg_pool1d, np.zeros(shape), 2
    )


def test_empty_non_batch_dimension():
    _raises_and_unchanged(
        ValueError,
        "non-batch dimensions must have positive length",
        F.max_pool2d,
        np.zeros((1, 0, 4, 4)),
        2,
    )
    assert F.max_pool2d(np.zeros((0, 2, 4, 4)), 2).shape == (0, 2, 2, 2)  # empty batch is fine


@pytest.mark.parametrize(
    "name, value",
    [("kernel_size", 0), ("kernel_size", (2, -1)), ("stride", 0), ("dilation", (1, 0))],
)
def test_non_positive_kernel_stride_dilation(x, name, value):
    kwargs = {"kernel_size": 2, name: value}
    _raises_and_unchanged(
        ValueError, f"max_pool2d: {name} must be greater than zero", F.max_pool2d, x, **kwargs
    )


def test_negative_padding(x):
    _raises_and_unchanged(
        ValueError, "max_pool2d: padding must be non-negative", F.max_pool2d, x, 3, padding=-1
    )


def test_padding_larger_than_half_the_kernel(x):
    _raises_and_unchanged(
        ValueError,
        r"padding should be at most half of kernel_size.*\(2, 2\)",
        F.max_pool2d,
        x,
        3,
        padding=2,
    )
    _raises_and_unchanged(
        ValueError,
        "padding should be at most half of kernel_size",
        F.avg_pool2d,
        x,
        2,
        padding=(0, 2),
    )
    # As in torch 2.13, dilation does not enlarge the allowance.
    _raises_and_unchanged(
        ValueError, "padding should be at most half", F.max_pool2d, x, 3, padding=2, dilation=3
    )


def test_output_too_small(x):
    _raises_and_unchanged(
        ValueError, r"output would have size .* must be at least 1", F.max_pool2d, x, 7
    )
    _raises_and_unchanged(ValueError, r"output would have size", F.avg_pool1d, np.zeros((1, 3)), 4)


def test_window_that_covers_no_input():
    _raises_and_unchanged(
        ValueError,
        r"window 0 along spatial dimension 0 .*\[-1, 2\]",
        F.max_pool1d,
        np.zeros((1, 2)),
        2,
        padding=1,
        dilation=3,
    )


@pytest.mark.parametrize("value", [2.0, "2", None, True, (2, 2, 2)])
def test_kernel_size_type(x, value):
    exc = ValueError if isinstance(value, tuple) else TypeError
    _raises_and_unchanged(
        exc, "max_pool2d: kernel_size must be an int or a tuple of 2 ints", F.max_pool2d, x, value
    )


def test_ceil_mode_type(x):
    _raises_and_unchanged(
        TypeError, "ceil_mode must be a bool", F.max_pool2d, x, 2, ceil_mode="yes"
    )


@pytest.mark.parametrize("dtype", [np.complex128, np.bool_, object, "U3"])
def test_non_numeric_dtype(dtype):
    arr = np.zeros((1, 4, 4), dtype=dtype)
    _raises_and_unchanged(
        TypeError, "max_pool2d: input must have a real numeric dtype", F.max_pool2d, arr, 2
    )


def test_integer_average_asks_for_a_cast():
    arr = np.arange(16).reshape(1, 4, 4)
    _raises_and_unchanged(TypeError, r"integer dtype int64.*cast it first", F.avg_pool2d, arr, 2)


def test_grad_output_shape_mismatch(x):
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    g = np.ones((2, 3, 3, 2))
    _raises_and_unchanged(
        ValueError,
        r"max_pool2d_backward: indices must have the same shape",
        F.max_pool2d_backward,
        g,
        idx,
        x.shape,
    )
    _raises_and_unchanged(
        ValueError,
        r"grad_output of shape \(2, 3, 3\) does not match",
        F.max_pool2d_backward,
        np.ones((2, 3, 3)),
        idx[0],
        x.shape,
    )
    _raises_and_unchanged(
        ValueError,
        r"avg_pool2d_backward: grad_output must have the pooled "
        r"shape \(2, 3, 3, 3\)",
        F.avg_pool2d_backward,
        g,
        x.shape,
        2,
    )


def test_grad_output_must_be_float(x):
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    _raises_and_unchanged(
        TypeError,
        "grad_output must have a floating-point dtype",
        F.max_pool2d_backward,
        np.ones(out.shape, dtype=int),
        idx,
        x.shape,
    )


@pytest.mark.parametrize("bad", [-1, 36])
def test_indices_out_of_range(x, bad):
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    idx = idx.copy()
    idx[0, 0, 0, 0] = bad
    before = idx.copy()
    with pytest.raises(ValueError, match=rf"indices must lie in \[0, 36\).*found index {bad}"):
        F.max_pool2d_backward(np.ones(out.shape), idx, x.shape)
    with pytest.raises(ValueError, match=r"max_unpool2d: indices must lie in \[0, 36\)"):
        F.max_unpool2d(out, idx, 2)
    np.testing.assert_array_equal(idx, before)


def test_indices_must_be_integers(x):
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(TypeError, match="indices must have an integer dtype"):
        F.max_pool2d_backward(np.ones(out.shape), idx.astype(float), x.shape)


def test_unpool_output_size_out_of_range():
    vals, idx = F.max_pool2d(np.ones((1, 4, 4)), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"output_size .* strictly between"):
        F.max_unpool2d(vals, idx, 2, output_size=(6, 4))
    assert F.max_unpool2d(vals, idx, 2, output_size=(5, 5)).shape == (1, 5, 5)


@pytest.mark.parametrize(
    "layer",
    [
        pl.MaxPool1d(2),
        pl.MaxPool2d(2),
        pl.AvgPool1d(2),
        pl.AvgPool2d(2),
        pl.MaxUnpool2d(2),
        pl.ReLU(),
    ],
)
def test_backward_before_forward(layer):
    with pytest.raises(
        RuntimeError,
        match=rf"{type(layer).__name__}.backward was called before "
        "forward",
    ):
        layer.backward(np.ones((1, 2, 2)))


def test_layers_check_arguments_when_built():
    with pytest.raises(ValueError, match="MaxPool2d: padding should be at most half"):
        pl.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="AvgPool1d: stride must be greater than zero"):
        pl.AvgPool1d(2, stride=0)


def test_relu_rejects_non_numeric_and_mismatched_gradient():
    with pytest.raises(TypeError, match="relu: input must have a real numeric dtype"):
        F.relu(np.array(["a"]))
    with pytest.raises(ValueError, match="relu_backward: grad_output of shape"):
        F.relu_backward(np.ones(3), np.ones(2))
