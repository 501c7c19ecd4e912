"""Bad input: a clear error naming the parameter and the rule, and the input left untouched."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
import pooling_lab.functional as F
from pooling_lab import adaptive as A
from pooling_lab import fractional as FR


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


# ---------------------------------------------------------------------------------------------
# The 3-D, adaptive and fractional family (issue 12)


@pytest.mark.parametrize("shape", [(4, 4, 4), (1, 1, 1, 4, 4, 4)])
def test_3d_wrong_ndim(shape):
    for fn in (F.max_pool3d, F.avg_pool3d, A.adaptive_avg_pool3d):
        _raises_and_unchanged(
            ValueError,
            rf"{fn.__name__}: input must be 4-D or 5-D \(C, D, H, W\) or \(N, C, D, H, W\)",
            fn,
            np.zeros(shape),
            2,
        )
    _raises_and_unchanged(
        ValueError,
        r"fractional_max_pool3d: input must be 4-D or 5-D",
        FR.fractional_max_pool3d,
        np.zeros(shape),
        2,
        output_size=1,
    )


@pytest.mark.parametrize(
    "name, value", [("kernel_size", 0), ("kernel_size", (2, 2, -1)), ("stride", (1, 0, 1))]
)
def test_3d_non_positive_sizes(name, value):
    x = np.zeros((1, 2, 5, 5, 5))
    kwargs = {"kernel_size": 2, name: value}
    for fn in (F.max_pool3d, F.avg_pool3d):
        _raises_and_unchanged(
            ValueError, rf"{fn.__name__}: {name} must be greater than zero", fn, x, **kwargs
        )


def test_3d_padding_over_half_the_kernel_and_size_rules():
    x = np.zeros((1, 2, 5, 5, 5))
    _raises_and_unchanged(
        ValueError,
        r"max_pool3d: padding should be at most half of kernel_size, but got padding=\(1, 2, 1\)",
        F.max_pool3d,
        x,
        3,
        padding=(1, 2, 1),
    )
    _raises_and_unchanged(
        ValueError, "avg_pool3d: padding should be at most half", F.avg_pool3d, x, 2, padding=2
    )
    _raises_and_unchanged(
        ValueError,
        r"avg_pool3d: the input's spatial size \(2, 5, 5\) is smaller than kernel_size "
        r"\(3, 3, 3\).*padding not counted",
        F.avg_pool3d,
        np.zeros((1, 2, 5, 5)),
        3,
        padding=1,
    )
    _raises_and_unchanged(
        ValueError, "max_pool3d: the output would have size", F.max_pool3d, x, (1, 6, 1)
    )


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (0, ValueError, "must not be zero"),
        (1.5, TypeError, "must be None or an int"),
        (True, TypeError, "must be None or an int"),
    ],
)
def test_divisor_override_rules(value, exc, match):
    x = np.zeros((1, 2, 4, 4))
    _raises_and_unchanged(
        exc, f"avg_pool2d: divisor_override {match}", F.avg_pool2d, x, 2, divisor_override=value
    )
    with pytest.raises(exc, match=f"AvgPool3d: divisor_override {match}"):
        pl.AvgPool3d(2, divisor_override=value)
    with pytest.raises(exc, match=f"avg_pool1d_backward: divisor_override {match}"):
        F.avg_pool1d_backward(np.ones((1, 2)), (1, 4), 2, divisor_override=value)


def test_unpool3d_output_size_and_indices():
    vals, idx = F.max_pool3d(np.ones((1, 4, 4, 4)), 2, return_indices=True)
    with pytest.raises(ValueError, match=r"max_unpool3d: output_size .* strictly between"):
        F.max_unpool3d(vals, idx, 2, output_size=(6, 4, 4))
    with pytest.raises(ValueError, match=r"max_unpool3d: indices must lie in \[0, 64\)"):
        F.max_unpool3d(vals, idx + 64, 2)
    with pytest.raises(ValueError, match=r"max_pool3d_backward: indices must lie in \[0, 64\)"):
        F.max_pool3d_backward(np.ones(vals.shape), idx - 1, (1, 4, 4, 4))


@pytest.mark.parametrize(
    "size, exc, match",
    [
        ((2, 2), ValueError, "output_size must be an int or a tuple of 3 ints"),
        ((2, 0, 2), ValueError, "output_size must be positive"),
        ((2, 2.5, 2), TypeError, r"output_size must be an int or a tuple of 3 ints \(or None\)"),
    ],
)
def test_adaptive_3d_output_size(size, exc, match):
    x = np.zeros((1, 2, 4, 4, 4))
    _raises_and_unchanged(exc, f"adaptive_max_pool3d: {match}", A.adaptive_max_pool3d, x, size)
    with pytest.raises(exc, match=f"AdaptiveAvgPool3d: {match}"):
        pl.AdaptiveAvgPool3d(size)


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.5, (0.5, 1.0)])
def test_fractional_output_ratio_outside_zero_one(ratio):
    x = np.zeros((1, 2, 8, 8))
    _raises_and_unchanged(
        ValueError,
        "fractional_max_pool2d: output_ratio must lie strictly between 0 and 1",
        FR.fractional_max_pool2d,
        x,
        2,
        output_ratio=ratio,
    )
    with pytest.raises(ValueError, match="FractionalMaxPool2d: output_ratio must lie strictly"):
        pl.FractionalMaxPool2d(2, output_ratio=ratio)


def test_fractional_size_arguments():
    x = np.zeros((1, 2, 8, 8))
    fn = FR.fractional_max_pool2d
    _raises_and_unchanged(ValueError, "give exactly one of output_size and output_ratio", fn, x, 2)
    _raises_and_unchanged(ValueError, "give exactly one", fn, x, 2, output_size=4, output_ratio=0.5)
    _raises_and_unchanged(
        ValueError, r"output_ratio 0.1 gives output size \(0, 0\)", fn, x, 2, output_ratio=0.1
    )
    _raises_and_unchanged(ValueError, "output_size must be positive", fn, x, 2, output_size=0)
    _raises_and_unchanged(
        ValueError,
        r"kernel_size \(3, 3\) is too large .* output_size \+ kernel_size - 1 <= input size",
        fn,
        x,
        3,
        output_size=7,
    )
    _raises_and_unchanged(
        ValueError,
        r"fractional_max_pool3d: .* output_size \+ kernel_size - 1 < input size",
        FR.fractional_max_pool3d,
        np.zeros((1, 5, 5, 5)),
        2,
        output_size=4,
    )
    _raises_and_unchanged(ValueError, "kernel_size must be greater than zero", fn, x, 0, 4)
    _raises_and_unchanged(TypeError, "output_ratio must be a number", fn, x, 2, None, "half")


@pytest.mark.parametrize(
    "samples, exc, match",
    [
        (np.full((1, 2), 0.5), ValueError, r"must have shape \(N, C, 2\)"),
        (np.full((2, 2, 2), 0.5), ValueError, r"must .* = \(1, 2, 2\) .* got shape \(2, 2, 2\)"),
        (np.full((1, 2, 3), 0.5), ValueError, r"must have shape \(N, C, 2\)"),
        (np.full((1, 2, 2), 1.0), ValueError, r"must lie in \[0, 1\).* found 1.0"),
        (np.full((1, 2, 2), -0.1), ValueError, r"must lie in \[0, 1\)"),
        (np.full((1, 2, 2), np.nan), ValueError, r"must lie in \[0, 1\).* found nan"),
        (np.zeros((1, 2, 2), dtype=int), TypeError, "must have a floating-point dtype"),
    ],
)
def test_fractional_samples_shape_and_range(samples, exc, match):
    x = np.zeros((1, 2, 8, 8))
    before = samples.copy()
    _raises_and_unchanged(
        exc,
        f"fractional_max_pool2d: random_samples {match}",
        FR.fractional_max_pool2d,
        x,
        2,
        output_size=4,
        random_samples=samples,
    )
    np.testing.assert_array_equal(samples, before)


def test_fractional_sample_that_rounds_to_one_in_float32_is_refused():
    x = np.zeros((1, 1, 8, 8), dtype=np.float32)
    u = np.full((1, 1, 2), 1 - 1e-10)  # below 1 in float64, exactly 1 in float32
    with pytest.raises(ValueError, match=r"in the input's dtype float32"):
        FR.fractional_max_pool2d(x, 2, output_size=4, random_samples=u)


@pytest.mark.parametrize(
    "layer",
    [
        pl.MaxPool3d(2),
        pl.AvgPool3d(2),
        pl.MaxUnpool3d(2),
        pl.AdaptiveMaxPool1d(2),
        pl.AdaptiveAvgPool1d(2),
        pl.AdaptiveMaxPool3d(2),
        pl.AdaptiveAvgPool3d(2),
        pl.FractionalMaxPool2d(2, output_size=2),
        pl.FractionalMaxPool3d(2, output_ratio=0.5),
    ],
)
def test_new_layers_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward was called before"):
        layer.backward(np.ones((1, 2, 2, 2)))


def test_new_layers_check_grad_output():
    layer = pl.AdaptiveMaxPool3d(2)
    layer(np.zeros((1, 4, 4, 4)))
    with pytest.raises(
        ValueError, match=r"AdaptiveMaxPool3d\.backward: indices must have the same"
    ):
        layer.backward(np.ones((1, 3, 2, 2)))
    pool = pl.FractionalMaxPool2d(2, output_size=3, rng=0)
    pool(np.zeros((1, 6, 6)))
    with pytest.raises(TypeError, match=r"FractionalMaxPool2d\.backward: grad_output must have a"):
        pool.backward(np.ones((1, 3, 3), dtype=int))
