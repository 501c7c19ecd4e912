"""The convolution-backward checker names the mistakes it claims to, with hints for a conv."""

from __future__ import annotations

import numpy as np
import pytest

from pooling_lab.conv import col2im, im2col
from pooling_lab.exercises import check_conv_backward


def conv2d_backward(x, weight, delta, stride, padding, *, slip=None):
    """The exercise's solution, with switchable slips."""
    o, c, kh, kw = weight.shape
    n, _, h, w = x.shape
    if slip == "square":  # one size for both dimensions
        kw, w = kh, h
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = im2col(xp, (kh, kw), (stride, stride))
    deltas = delta.reshape(n, o, -1)
    used = weight[:, :, ::-1, ::-1] if slip == "flip" else weight
    W = used.reshape(-1, o) if slip == "reshaped_w" else used.reshape(o, -1).T
    if slip == "last_image":
        for i in range(n):
            grad_W, grad_b = cols[i] @ deltas[i].T, deltas[i].sum(axis=1)
    else:
        grad_W, grad_b = sum(cols[i] @ deltas[i].T for i in range(n)), deltas.sum(axis=(0, 2))
    if slip == "mean":
        grad_W, grad_b = grad_W / n, grad_b / n
    if slip == "bias_positions_only":
        grad_b = deltas.sum(axis=2)
    grad_xp = col2im(W @ deltas, xp.shape, (kh, kw), (stride, stride))
    if slip == "assigned":  # col2im written with = where fields overlap
        grad_xp = np.zeros_like(xp)
        ho, wo = delta.shape[2:]
        fields = (W @ deltas).reshape(n, c, kh, kw, ho, wo)
        for i in range(kh):
            for j in range(kw):
                rows, columns = slice(i, i + stride * ho, stride), slice(j, j + stride * wo, stride)
                grad_xp[:, :, rows, columns] = fields[:, :, i, j]
    grad_x = (
        grad_xp if slip == "padded" else grad_xp[:, :, padding : padding + h, padding : padding + w]
    )
    if slip == "d_by_o":
        return grad_x, grad_W, grad_b
    if slip == "untransposed":
        return grad_x, grad_W.reshape(weight.shape), grad_b
    return grad_x, grad_W.T.reshape(weight.shape), grad_b


def test_the_solution_passes():
    report = check_conv_backward(conv2d_backward)
    assert report.passed, repr(report)


@pytest.mark.parametrize(
    ("slip", "key", "in_hint"),
    [
        ("flip", "kernel_flip", "rotated by 180 degrees"),
        ("last_image", "images_not_summed", "add up over the batch"),
        ("mean", "batch_mean", "already in delta"),
        ("bias_positions_only", "bias_not_summed", "delta.sum(axis=(0, 2, 3))"),
        ("assigned", "overwrite", "col2im adds"),
        ("padded", "padding_kept", "crop it"),
        ("d_by_o", "weight_layout", "dW.T.reshape(weight.shape)"),
        ("untransposed", "weight_layout", "dW.T.reshape(weight.shape)"),
    ],
)
def test_each_slip_is_named_with_a_hint_for_a_convolution(slip, key, in_hint):
    report = check_conv_backward(lambda *args: conv2d_backward(*args, slip=slip))
    assert report.misconception == key, repr(report)
    assert in_hint in report.hint
    assert "window" not in report.hint  # the pooling table's words do not fit a convolution


def test_a_weight_gradient_left_output_by_input_gets_the_layout_hint():
    def o_by_d(x, weight, delta, stride, padding):
        grad_x, grad_weight, grad_bias = conv2d_backward(x, weight, delta, stride, padding)
        return grad_x, grad_weight.reshape(weight.shape[0], -1), grad_bias

    report = check_conv_backward(o_by_d)
    assert report.misconception == "weight_layout", repr(report)
    assert ".reshape(weight.shape)" in report.hint


def test_a_scatter_that_assigns_field_by_field_is_named_overwrite():
    def field_by_field(x, weight, delta, stride, padding):
        _, grad_weight, grad_bias = conv2d_backward(x, weight, delta, stride, padding)
        _, c, kh, kw = weight.shape
        n, _, h, w = x.shape
        grad = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
        for i in range(delta.shape[2]):
            for j in range(delta.shape[3]):
                for m in range(n):
                    field = np.einsum("ocuv,o->cuv", weight, delta[m, :, i, j])
                    grad[m, :, i * stride : i * stride + kh, j * stride : j * stride + kw] = field
        return grad[:, :, padding : padding + h, padding : padding + w], grad_weight, grad_bias

    report = check_conv_backward(field_by_field)
    assert report.misconception == "overwrite", repr(report)
    assert "np.add.at" in report.hint


@pytest.mark.parametrize(
    ("slip", "key", "in_message"),
    [
        (lambda gw, gb, n: (gw / n, gb), "batch_mean", "grad_weight"),
        (lambda gw, gb, n: (gw, gb / n), "batch_mean", "grad_bias"),
    ],
)
def test_a_slip_in_one_parameter_s_gradient_is_named_for_that_gradient(slip, key, in_message):
    def one_wrong(x, weight, delta, stride, padding):
        grad_x, grad_weight, grad_bias = conv2d_backward(x, weight, delta, stride, padding)
        return grad_x, *slip(grad_weight, grad_bias, len(x))

    report = check_conv_backward(one_wrong)
    assert report.misconception == key and in_message in report.message, repr(report)


def test_two_results_get_the_number_of_results_hint():
    report = check_conv_backward(lambda *args: conv2d_backward(*args)[:2])
    assert "return a tuple of 3" in report.hint, repr(report)


def test_a_solution_that_assumes_square_inputs_and_kernels_fails():
    report = check_conv_backward(lambda *args: conv2d_backward(*args, slip="square"))
    assert not report.passed and "6x9, kernel 3x2" in report.message, repr(report)


def test_a_crop_that_is_empty_at_padding_0_is_named():
    def minus_p_crop(x, weight, delta, stride, padding):
        grad_x, grad_weight, grad_bias = conv2d_backward(x, weight, delta, stride, padding)
        p = padding
        padded = np.pad(grad_x, ((0, 0), (0, 0), (p, p), (p, p)))
        return padded[:, :, p:-p, p:-p], grad_weight, grad_bias

    report = check_conv_backward(minus_p_crop)
    assert report.misconception == "empty_crop", repr(report)
    assert "-0 is 0" in report.hint


def rotated_kernel_backward(x, weight, delta, stride, padding, *, rotate):
    """The input gradient by network_backward's rotated-kernel recipe (spread the deltas, pad
    them, add the rows and columns no field reached, convolve with the turned kernel, crop),
    with ``rotate`` turning the kernel; the parameter gradients as the chapter computes them."""
    _, grad_weight, grad_bias = conv2d_backward(x, weight, delta, stride, padding)
    c, kh, kw = weight.shape[1:]
    n, _, h, w = x.shape
    s, p = stride, padding
    spread = np.zeros(delta.shape[:2] + tuple((d - 1) * s + 1 for d in delta.shape[2:]))
    spread[:, :, ::s, ::s] = delta
    more_h, more_w = (h + 2 * p - kh) % s, (w + 2 * p - kw) % s
    padded = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1 + more_h), (kw - 1, kw - 1 + more_w)))
    swapped = rotate(weight).transpose(1, 0, 2, 3).reshape(c, -1)
    grad_padded = (swapped @ im2col(padded, (kh, kw), (1, 1))).reshape(n, c, h + 2 * p, w + 2 * p)
    return grad_padded[:, :, p : p + h, p : p + w], grad_weight, grad_bias


@pytest.mark.parametrize(
    ("rotate", "key", "in_hint"),
    [
        (lambda k: k[:, :, ::-1, ::-1], None, None),
        (lambda k: np.rot90(k, 2, axes=(2, 3)), None, None),
        (lambda k: np.rot90(k, 2), "rot90_axes", "axes=(2, 3)"),
        (np.flip, "flip_all_axes", "np.flip(weight, axis=(2, 3))"),
        (lambda k: k, "kernel_flip", "rotated by 180 degrees"),  # the kernel not turned at all
    ],
)
def test_the_rotated_kernel_recipe_and_its_rotation_slips(rotate, key, in_hint):
    report = check_conv_backward(lambda *args: rotated_kernel_backward(*args, rotate=rotate))
    if key is None:
        assert report.passed, repr(report)
    else:
        assert report.misconception == key, repr(report)
        assert in_hint in report.hint


def test_a_weight_matrix_made_by_reshape_is_named():
    # W = weight.reshape(-1, O): the right shape, the weights scrambled, for grad_x only
    report = check_conv_backward(lambda *args: conv2d_backward(*args, slip="reshaped_w"))
    assert report.misconception == "weight_layout", repr(report)
    assert "weight.reshape(O, -1).T" in report.hint
