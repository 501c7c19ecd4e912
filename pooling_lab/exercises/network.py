"""Checker for the network chapter's coding exercise: a convolution's backward pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..conv import col2im, im2col
from ._checking import MISCONCEPTIONS, Report, _diagnose, _with_hints

# One hint for both channel-axis slips: np.rot90 and np.flip each land on either model,
# depending on whether the learner convolves with the turned kernel or uses col2im.
_CHANNEL_FLIP_HINT = (
    "something reversed the kernel's channel axes: np.rot90(weight, 2) turns the plane of the "
    "first two axes, the output and input channels, and np.flip(weight) with no axis reverses "
    "all four. To turn only the kernel by 180 degrees, use np.rot90(weight, 2, axes=(2, 3)), "
    "np.flip(weight, axis=(2, 3)) or weight[:, :, ::-1, ::-1]"
)

MISCONCEPTIONS.update(
    {
        "kernel_flip": (
            "the input gradient used each kernel rotated by 180 degrees from the right one",
            "each delta goes back through the weight that produced it: grad_cols = W @ Delta "
            "(W the weights as D x O, input by output), then col2im. Written instead as a "
            "cross-correlation of the padded delta with the kernel, the kernel must be rotated "
            "by 180 degrees, once, because the forward pass is a cross-correlation itself",
        ),
        "rot90_axes": (
            "the input gradient used the kernel with its output and input channels reversed "
            "as well as its rows and columns",
            _CHANNEL_FLIP_HINT,
        ),
        "flip_all_axes": (
            "the input gradient used the kernel with its output and input channels reversed",
            _CHANNEL_FLIP_HINT,
        ),
        "images_not_summed": (
            "the weight and bias gradients hold the last image's contribution only",
            "every image uses the same weights and bias, so their gradients add up over the "
            "batch: add each image's X_n @ Delta_n.T into grad_W (+=, or one sum over n), and "
            "sum the deltas over images as well as positions for grad_b",
        ),
        "padding_kept": (
            "grad_x still has the padding",
            "col2im returns the gradient of the padded input; the padding is not an input, so "
            "crop it: grad[:, :, p : p + H, p : p + W]",
        ),
        "bias_not_summed": (
            "grad_bias was not summed over every image and position",
            "a channel's bias is added at every output position of every image, so its "
            "gradient is the sum of all that channel's deltas: delta.sum(axis=(0, 2, 3))",
        ),
        "weight_layout": (
            "grad_weight is not in the weight's layout",
            "weight is (O, C, kh, kw), output first, while the chapter's W is D x O (input by "
            "output): from a D x O gradient return dW.T.reshape(weight.shape); an O x D one "
            "needs only .reshape(weight.shape)",
        ),
    }
)

# The table's hints for these speak of windows and of a dense layer's x.T @ grad_y.
_CONV_HINTS = {
    "overwrite": "a pixel inside several receptive fields was copied into several columns, so "
    "it receives the sum of their gradients: col2im adds (+=) every column's entries back onto "
    "their pixels; assigning (=) keeps only the last copy's. A vectorised grad[idx] += cols "
    "does the same, because NumPy's fancy-indexed += is buffered: use np.add.at",
    "batch_mean": "the weight gradient is the sum over images and positions of delta times "
    "the receptive field, sum_n X_n @ Delta_n.T, and the bias gradient the sum of the deltas; "
    "if the loss is a mean over the batch, its 1/N is already in delta, so dividing again "
    "counts it twice",
}
_CONV_SHAPE_HINT = (
    "each gradient has the shape of its variable: grad_x like x (N, C, H, W), grad_weight like "
    "weight (O, C, kh, kw), grad_bias like the bias (O,)"
)


def _conv_backward(x, weight, delta, stride, padding, mistake=None):
    """The three gradients by the chapter's products, or with one specific mistake."""
    o, _, kh, kw = weight.shape
    n, _, h, w = x.shape
    pads = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    xp = np.pad(x, pads)
    kernel, steps = (kh, kw), (stride, stride)
    cols = im2col(xp, kernel, steps)  # (N, D, Q)
    deltas = delta.reshape(n, o, -1)  # (N, O, Q)
    # The two channel-axis slips come from the rotated-kernel recipe, which convolves with the
    # kernel turned by 180 degrees and so undoes one reversal of the rows and columns:
    # np.rot90(weight, 2) reverses O and C, which the recipe turns into all four axes reversed;
    # np.flip(weight) reverses all four, which the recipe turns into O and C reversed.
    used = {
        "kernel_flip": weight[:, :, ::-1, ::-1],
        "rot90_axes": weight[::-1, ::-1, ::-1, ::-1],
        "flip_all_axes": weight[::-1, ::-1],
    }.get(mistake, weight)
    # W is D x O: the weight's transpose, or (a slip) the weight reshaped, which scrambles it
    matrix = weight.reshape(-1, o) if mistake == "reshaped_w" else used.reshape(o, -1).T
    grad_cols = matrix @ deltas  # W Delta_n for every image: (N, D, Q)
    if mistake == "overwrite":
        grad_xp = _overwrite_col2im(grad_cols, xp.shape, kernel, steps)
    else:
        grad_xp = col2im(grad_cols, xp.shape, kernel, steps)
    grad_x = grad_xp[:, :, padding : padding + h, padding : padding + w]
    images = range(n - 1, n) if mistake == "images_not_summed" else range(n)
    grad_w = sum(cols[i] @ deltas[i].T for i in images)  # D x O
    grad_b = deltas[images.start :].sum(axis=(0, 2))
    if mistake == "batch_mean":
        grad_w, grad_b = grad_w / n, grad_b / n
    if mistake == "weight_layout":  # D x O reshaped to (O, C, kh, kw) without its transpose
        return grad_x, grad_w.reshape(weight.shape), grad_b
    return grad_x, grad_w.T.reshape(weight.shape), grad_b


def _overwrite_col2im(grad_cols, padded_shape, kernel, stride):
    """col2im with = where it must add: where fields overlap, the last copy's gradient wins."""
    n, c, hp, wp = padded_shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    fields = grad_cols.reshape(n, c, kh, kw, ho, wo)
    grad = np.zeros(padded_shape, dtype=grad_cols.dtype)
    for i in range(kh):
        for j in range(kw):
            grad[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw] = fields[:, :, i, j]
    return grad


def _one_result_slip(args, got, want):
    """Name a slip in one result that the models of whole mistakes do not cover.

    A scatter written as a loop over output positions with = (the last field to cover a pixel
    wins, where the models' = goes kernel offset by kernel offset); or the weight or the bias
    gradient alone from one image, or divided by the batch size.
    """
    x, weight, delta, stride, padding = args
    n = len(x)
    reshaped = _conv_backward(*args, mistake="reshaped_w")[0]  # its grad_x alone
    if not np.allclose(reshaped, want[0]) and np.allclose(got[0], reshaped):
        return "weight_layout", _RESHAPED_MESSAGE, _RESHAPED_HINT
    if all(np.allclose(g, w) for g, w in zip(got[1:], want[1:])):
        if np.allclose(got[0], _field_overwrite(*args)):
            return "overwrite", MISCONCEPTIONS["overwrite"][0], _CONV_HINTS["overwrite"]
        return None
    if not np.allclose(got[0], want[0]):
        return None
    one_image = _conv_backward(x[-1:], weight, delta[-1:], stride, padding)
    first_image = _conv_backward(x[:1], weight, delta[:1], stride, padding)
    for at, name in ((1, "grad_weight"), (2, "grad_bias")):
        other = 3 - at  # the other parameter's gradient must be right
        if not np.allclose(got[other], want[other]) or n == 1:
            continue
        if np.allclose(got[at], one_image[at]) or np.allclose(got[at], first_image[at]):
            message = f"{name} holds one image's contribution only"
            return "images_not_summed", message, MISCONCEPTIONS["images_not_summed"][1]
        if np.allclose(got[at], want[at] / n):
            message = f"{name} was divided by the batch size"
            return "batch_mean", message, _CONV_HINTS["batch_mean"]
    return None


_RESHAPED_MESSAGE = "W was built as weight.reshape(-1, O), which scrambles the weights"
_RESHAPED_HINT = (
    "weight is (O, C, kh, kw), output channels first; its D x O matrix W is "
    "weight.reshape(O, -1).T. A reshape to (D, O) keeps the memory order, so each column of it "
    "mixes several output channels' weights"
)


def _field_overwrite(x, weight, delta, stride, padding):
    """The input gradient of a scatter that assigns each field's gradient, field by field."""
    _, c, kh, kw = weight.shape
    n, _, h, w = x.shape
    grad = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    fields = np.einsum("ocuv,nopq->ncuvpq", weight, delta)  # each field's gradient
    for i in range(delta.shape[2]):
        for j in range(delta.shape[3]):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            grad[:, :, rows, cols] = fields[:, :, :, :, i, j]
    return grad[:, :, padding : padding + h, padding : padding + w]


def check_conv_backward(fn: Callable) -> Report:
    """Check ``fn(x, weight, delta, stride, padding) -> (grad_x, grad_weight, grad_bias)``.

    The convolution is ``pooling_lab.Conv2d``'s (a cross-correlation, with zero padding):
    ``weight`` has PyTorch's layout (O, C, kh, kw) and ``delta`` is the gradient at its output,
    (N, O, H', W').

    Parameters
    ----------
    fn : callable
        Takes ``x`` (N, C, H, W), ``weight``, ``delta`` and int ``stride``, ``padding``.

    Returns
    -------
    Report

    Examples
    --------
    >>> import pooling_lab as pl
    >>> def conv2d_backward(x, weight, delta, stride, padding):
    ...     conv = pl.Conv2d(*weight.shape[1::-1], weight.shape[2:], stride, padding,
    ...                      dtype=x.dtype)
    ...     conv.params["weight"] = weight
    ...     conv(x)
    ...     grad_x = conv.backward(delta)
    ...     return grad_x, conv.grads["weight"], conv.grads["bias"]
    >>> check_conv_backward(conv2d_backward)
    PASS check_conv_backward: all 4 cases agree.
    """
    rng = np.random.default_rng(7)
    # (description, images, channels in, out, (H, W), (kh, kw), stride, padding). Two input
    # channels everywhere: C * kh * kw then differs from the number of output positions, so a
    # weight gradient left (O, D) is not taken for a bias left (O, Q).
    plans = [
        (
            "one image, 2 channels, 4x4, kernel 2, stride 2 (fields that do not overlap)",
            1,
            2,
            2,
            (4, 4),
            (2, 2),
            2,
            0,
        ),
        (
            "one image, 2 channels, 5x5, kernel 3, stride 1 (overlapping fields)",
            1,
            2,
            2,
            (5, 5),
            (3, 3),
            1,
            0,
        ),
        (
            "two images, 2 channels, 6x6, kernel 3, stride 2, padding 1",
            2,
            2,
            3,
            (6, 6),
            (3, 3),
            2,
            1,
        ),
        # rectangular input and kernel, and a last row and column that no field reaches: a
        # solution that takes one size for both, or crops to the fields' reach, fails here
        (
            "one image, 2 channels, 6x9, kernel 3x2, stride 2 (row 5 and column 8 in no field)",
            1,
            2,
            2,
            (6, 9),
            (3, 2),
            2,
            0,
        ),
    ]
    cases = []
    for description, n, c, o, (h, w), (kh, kw), s, p in plans:
        x = rng.standard_normal((n, c, h, w))
        weight = rng.standard_normal((o, c, kh, kw))
        out = ((h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1)
        delta = rng.standard_normal((n, o, *out))
        args = (x, weight, delta, s, p)
        right = _conv_backward(*args)
        d, q = c * kh * kw, out[0] * out[1]
        mistakes = {
            "__shapes__": {
                (n, c, h + 2 * p, w + 2 * p): "padding_kept",
                (d, o): "weight_layout",
                (o, d): "weight_layout",
                # the deltas summed over positions only, or over images only
                (n, o): "bias_not_summed",
                (o, q): "bias_not_summed",
                (o, *out): "bias_not_summed",
            },
        }
        keys = (
            "kernel_flip",
            "rot90_axes",
            "flip_all_axes",
            "overwrite",
            "images_not_summed",
            "batch_mean",
            "weight_layout",
        )
        for key in keys:
            wrong = _conv_backward(*args, mistake=key)
            if not all(np.allclose(a, b) for a, b in zip(wrong, right)):
                mistakes[key] = wrong
        cases.append((description, args, right, mistakes))
    report = _diagnose(
        "check_conv_backward",
        fn,
        cases,
        names=("grad_x", "grad_weight", "grad_bias"),
        extra=_one_result_slip,
    )
    return _with_hints(report, _CONV_HINTS | {"shape": _CONV_SHAPE_HINT})
