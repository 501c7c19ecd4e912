"""Plain-loop pooling: the readable specification that the fast code is tested against.

Nothing here is vectorised and nothing is shared with ``pooling_lab._core`` except argument
checking. Every function visits one output position at a time, walks its window element by
element in row-major order, and writes down what happens, so it can be read as the definition.
It is slow; use :mod:`pooling_lab.functional` for real work.

Arrays have shape ``(N, C, *spatial)`` or ``(C, *spatial)`` with 1, 2 or 3 spatial dimensions.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._params import check_array, make_window

__all__ = [
    "avg_pool",
    "avg_pool_backward",
    "fractional_max_pool",
    "max_pool",
    "max_pool_backward",
    "max_unpool",
    "output_length",
]


def output_length(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Number of windows along one dimension, by PyTorch's documented formula.

    Examples
    --------
    >>> output_length(5, kernel=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    2
    >>> output_length(5, kernel=2, stride=2, padding=0, dilation=1, ceil_mode=True)
    3
    """
    extent = dilation * (kernel - 1) + 1  # how far one window reaches
    room = size + 2 * padding - extent  # how far the first window can slide
    if ceil_mode:
        count = -(-room // stride) + 1  # ceiling division
        last_start = (count - 1) * stride
        if last_start >= size + padding:  # the last window would start in the right padding
            count -= 1
    else:
        count = room // stride + 1
    return count


def _planes(x: np.ndarray, n: int):
    """Yield every (index, plane) pair of the leading dimensions."""
    for lead in np.ndindex(*x.shape[:-n]):
        yield lead, x[lead]


def _window(out_pos, kernel, stride, padding, dilation):
    """Input coordinates of one window, in row-major order (they may lie in the padding)."""
    for offsets in itertools.product(*(range(k) for k in kernel)):
        yield tuple(
            o * s - p + j * d for o, s, p, j, d in zip(out_pos, stride, padding, offsets, dilation)
        )


def _inside(coord, shape) -> bool:
    return all(0 <= c < size for c, size in zip(coord, shape))


def _shape(fn, x, win):
    spatial = x.shape[-win.ndim :]
    out = tuple(
        output_length(size, k, s, p, d, win.ceil_mode)
        for size, k, s, p, d in zip(spatial, win.kernel, win.stride, win.padding, win.dilation)
    )
    if min(out) < 1:
        raise ValueError(f"{fn}: output size {out} is too small")
    return spatial, out


def max_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, ndim=2):
    """Max pooling by loops; returns ``(output, indices)`` like ``max_pool2d(..., True)``.

    Examples
    --------
    >>> import numpy as np
    >>> out, idx = max_pool(np.array([[[1., 3.], [3., 2.]]]), 2)
    >>> out, idx  # the tie between the two 3s goes to the first in row-major order
    (array([[[3.]]]), array([[[1]]]...))
    """
    win = make_window("reference.max_pool", ndim, kernel_size, stride, padding, dilation, ceil_mode)
    x = check_array("reference.max_pool", "input", x, ndim, integers=True)
    spatial, out_shape = _shape("reference.max_pool", x, win)
    output = np.zeros(x.shape[:-ndim] + out_shape, dtype=x.dtype)
    indices = np.zeros(output.shape, dtype=np.int64)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*out_shape):
            coords = [
                c
                for c in _window(out_pos, win.kernel, win.stride, win.padding, win.dilation)
                if _inside(c, spatial)
            ]
            if not coords:
                raise ValueError("reference.max_pool: a window covers no input element")
            # Start from the first real element with value -inf, as PyTorch does: any real
            # value beats it, and if all are -inf the first one is reported.
            best_value, best_coord = -math.inf, coords[0]
            for c in coords:
                value = plane[c]
                if value > best_value or np.isnan(value):  # NaN always takes over
                    best_value, best_coord = value, c
            output[lead + out_pos] = plane[best_coord]
            indices[lead + out_pos] = np.ravel_multi_index(best_coord, spatial)
    return output, indices


def max_pool_backward(grad_output, indices, input_shape, *, ndim=2):
    """Route each output gradient to the input that won its window; sum where windows share it.

    Examples
    --------
    >>> import numpy as np
    >>> max_pool_backward(np.array([[2., 3.]]), np.array([[1, 1]]), (1, 3), ndim=1)
    array([[0., 5., 0.]])
    """
    grad_output = np.asarray(grad_output)
    indices = np.asarray(indices)
    grad_input = np.zeros(input_shape, dtype=grad_output.dtype)
    plane_shape = tuple(input_shape[-ndim:])
    for pos in np.ndindex(*grad_output.shape):
        lead = pos[:-ndim]
        target = tuple(int(t) for t in np.unravel_index(indices[pos], plane_shape))
        grad_input[lead + target] += grad_output[pos]  # "+=": an input may win many windows
    return grad_input


def _avg_window(out_pos, spatial, win, count_include_pad, divisor_override=None):
    """The real input coordinates of one average-pooling window, and its divisor."""
    coords = [
        c
        for c in _window(out_pos, win.kernel, win.stride, win.padding, win.dilation)
        if _inside(c, spatial)
    ]
    if divisor_override is not None:  # one given number for every window
        divisor = divisor_override
    elif count_include_pad:
        # Padded zeros count, but a ceil_mode window that hangs past the right padding is
        # clipped there: only positions within the padded input are counted.
        divisor = 1
        for o, k, s, p, size in zip(out_pos, win.kernel, win.stride, win.padding, spatial):
            start = o * s - p
            divisor *= min(start + k, size + p) - start
    else:
        divisor = len(coords)
    return coords, divisor


def avg_pool(
    x,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
    *,
    ndim=2,
):
    """Average pooling by loops, like ``avg_pool2d`` (or ``avg_pool1d``/``3d`` with ``ndim``).

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool(np.array([[[1., 2.], [3., 6.]]]), 2)
    array([[[3.]]])
    """
    win = make_window("reference.avg_pool", ndim, kernel_size, stride, padding, 1, ceil_mode)
    x = check_array("reference.avg_pool", "input", x, ndim, integers=False)
    spatial, out_shape = _shape("reference.avg_pool", x, win)
    output = np.zeros(x.shape[:-ndim] + out_shape, dtype=x.dtype)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*out_shape):
            coords, divisor = _avg_window(
                out_pos, spatial, win, count_include_pad, divisor_override
            )
            total = x.dtype.type(0)
            for c in coords:
                total += plane[c]
            output[lead + out_pos] = total / divisor
    return output


def avg_pool_backward(
    grad_output,
    input_shape,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
    *,
    ndim=2,
):
    """Give every real element of a window an equal share of that window's gradient.

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool_backward(np.array([[1., 1.]]), (1, 3), 2, stride=1, ndim=1)
    array([[0.5, 1. , 0.5]])
    """
    win = make_window(
        "reference.avg_pool_backward", ndim, kernel_size, stride, padding, 1, ceil_mode
    )
    grad_output = np.asarray(grad_output)
    grad_input = np.zeros(input_shape, dtype=grad_output.dtype)
    spatial = tuple(input_shape[-ndim:])
    for pos in np.ndindex(*grad_output.shape):
        lead, out_pos = pos[:-ndim], pos[-ndim:]
        coords, divisor = _avg_window(out_pos, spatial, win, count_include_pad, divisor_override)
        for c in coords:
            grad_input[lead + c] += grad_output[pos] / divisor
    return grad_input


def max_unpool(x, indices, output_shape, *, ndim=2):
    """Put each value at its index in a zero array of ``output_shape``; the last write wins.

    Examples
    --------
    >>> import numpy as np
    >>> max_unpool(np.array([[5., 7.]]), np.array([[1, 2]]), (1, 4), ndim=1)
    array([[0., 5., 7., 0.]])
    """
    x = np.asarray(x)
    indices = np.asarray(indices)
    output = np.zeros(output_shape, dtype=x.dtype)
    plane_shape = tuple(output_shape[-ndim:])
    for pos in np.ndindex(*x.shape):
        lead = pos[:-ndim]
        target = tuple(int(t) for t in np.unravel_index(indices[pos], plane_shape))
        output[lead + target] = x[pos]
    return output


def lp_pool(x, norm_type, kernel_size, stride=None, ceil_mode=False, *, ndim=2):
    """Lp pooling by loops, as PyTorch defines it: ``(area / count * sum x**p) ** (1/p)`` per
    window, with ``count`` its in-bounds elements (``area / count > 1`` only for a ceil_mode
    window clipped at the edge: PyTorch averages ``x**p`` there and multiplies by the area).

    Each window's sum is taken in Python floats (float64) without scaling: fine for the
    moderate p and values of the tests. Negative elements follow
    :func:`pooling_lab.generalized.lp_pool2d`'s rule (p = 1 or an even integer p only).

    Examples
    --------
    >>> import numpy as np
    >>> lp_pool(np.array([[[3., 4.], [0., 0.]]]), 2, 2)
    array([[[5.]]])
    """
    from ._lp import _check_signs, _norm  # the argument rules, shared

    p = _norm("reference.lp_pool", norm_type)
    win = make_window("reference.lp_pool", ndim, kernel_size, stride, 0, 1, ceil_mode)
    x = check_array("reference.lp_pool", "input", x, ndim, integers=False)
    _check_signs("reference.lp_pool", x, p)
    spatial, out_shape = _shape("reference.lp_pool", x, win)
    output = np.zeros(x.shape[:-ndim] + out_shape, dtype=x.dtype)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*out_shape):
            values = [
                float(plane[c])
                for c in _window(out_pos, win.kernel, win.stride, win.padding, win.dilation)
                if _inside(c, spatial)
            ]
            total = sum(v**p for v in values) * math.prod(win.kernel) / len(values)
            output[lead + out_pos] = total ** (1 / p)
    return output


def lse_pool(
    x, kernel_size, stride=None, padding=0, temperature=1.0, ceil_mode=False, mean=False, *, ndim=2
):
    """Log-sum-exp pooling by loops: ``T * log(sum(exp(x / T)))`` over each window's real
    elements (padding contributes nothing); with ``mean=True`` the sum is a mean over them.

    Examples
    --------
    >>> import numpy as np
    >>> lse_pool(np.zeros((1, 2, 2)), 2).round(4)  # log 4
    array([[[1.3863]]])
    """
    win = make_window("reference.lse_pool", ndim, kernel_size, stride, padding, 1, ceil_mode)
    x = check_array("reference.lse_pool", "input", x, ndim, integers=False)
    spatial, out_shape = _shape("reference.lse_pool", x, win)
    output = np.zeros(x.shape[:-ndim] + out_shape, dtype=x.dtype)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*out_shape):
            values = [
                float(plane[c])
                for c in _window(out_pos, win.kernel, win.stride, win.padding, win.dilation)
                if _inside(c, spatial)
            ]
            top = max(values)
            total = sum(math.exp((v - top) / temperature) for v in values)
            if mean:
                total /= len(values)
            output[lead + out_pos] = top + temperature * math.log(total)
    return output


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation by loops, PyTorch's ``conv2d`` for (N, C, H, W) inputs.

    Examples
    --------
    >>> import numpy as np
    >>> conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    array([[[[4., 4.],
             [4., 4.]]]])
    """
    x, weight = np.asarray(x), np.asarray(weight)
    (sh, sw), (ph, pw) = (
        (stride, stride) if np.isscalar(stride) else stride,
        ((padding, padding) if np.isscalar(padding) else padding),
    )
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    o, _, kh, kw = weight.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    out = np.zeros((n, o, ho, wo), dtype=np.result_type(x, weight))
    for b in range(n):
        for f in range(o):
            for i in range(ho):
                for j in range(wo):
                    field = xp[b, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[b, f, i, j] = np.sum(field * weight[f]) + (0 if bias is None else bias[f])
    return out


def adaptive_max_pool(x, output_size, *, ndim=2):
    """Adaptive max pooling by loops over PyTorch's bins; returns ``(output, indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool(np.array([[3., 1., 4., 1., 5.]]), (3,), ndim=1)
    (array([[3., 4., 5.]]), array([[0, 2, 4]]...))
    """
    from .adaptive import adaptive_bins

    x = np.asarray(x)
    spatial = x.shape[-ndim:]
    bins = [adaptive_bins(size, out) for size, out in zip(spatial, output_size)]
    output = np.zeros(x.shape[:-ndim] + tuple(output_size), dtype=x.dtype)
    indices = np.zeros(output.shape, dtype=np.int64)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*output_size):
            ranges = [range(*bins[d][i]) for d, i in enumerate(out_pos)]
            best_value, best_coord = -math.inf, tuple(r[0] for r in ranges)
            for c in itertools.product(*ranges):  # row-major order
                value = plane[c]
                if value > best_value or np.isnan(value):  # PyTorch's update rule
                    best_value, best_coord = value, c
            output[lead + out_pos] = plane[best_coord]
            indices[lead + out_pos] = np.ravel_multi_index(best_coord, spatial)
    return output, indices


def adaptive_avg_pool(x, output_size, *, ndim=2):
    """Adaptive average pooling by loops over PyTorch's bins.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool(np.array([[3., 1., 4., 1., 5.]]), (3,), ndim=1)
    array([[2., 2., 3.]])
    """
    from .adaptive import adaptive_bins

    x = np.asarray(x)
    spatial = x.shape[-ndim:]
    bins = [adaptive_bins(size, out) for size, out in zip(spatial, output_size)]
    output = np.zeros(x.shape[:-ndim] + tuple(output_size), dtype=x.dtype)
    for lead, plane in _planes(x, ndim):
        for out_pos in np.ndindex(*output_size):
            ranges = [range(*bins[d][i]) for d, i in enumerate(out_pos)]
            cells = list(itertools.product(*ranges))
            output[lead + out_pos] = sum(plane[c] for c in cells) / len(cells)
    return output


def fractional_max_pool(x, kernel_size, output_size, random_samples, *, ndim=2):
    """Fractional max pooling by loops, PyTorch's rules; returns ``(output, indices)``.

    Each plane has one sample ``u`` per spatial dimension (PyTorch stores them as (W, H) in
    2-D and (D, H, W) in 3-D). Along a dimension of ``size`` inputs with ``out`` windows of
    ``k`` elements, ``s_bar = (size - k) / (out - 1)`` and window ``i`` starts at
    ``floor((i + u) * s_bar) - floor(u * s_bar)``, the last one at ``size - k``; the
    arithmetic is done in the input's floating type, as PyTorch does.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[3., 1., 4., 1., 5., 9., 2.]]])  # (C, H, W) with H = 1
    >>> fractional_max_pool(x, (1, 2), (1, 4), np.array([[[0.5, 0.]]]))  # starts 0, 2, 4, 5
    (array([[[3., 4., 9., 9.]]]), array([[[0, 2, 5, 5]]]...))
    """
    x = np.asarray(x)
    t = x.dtype.type if x.dtype.kind == "f" else np.float64
    samples = np.asarray(random_samples).reshape(-1, ndim)
    columns = (1, 0) if ndim == 2 else (0, 1, 2)  # which sample drives which dimension
    spatial = x.shape[-ndim:]
    output = np.zeros(x.shape[:-ndim] + tuple(output_size), dtype=x.dtype)
    indices = np.zeros(output.shape, dtype=np.int64)
    for number, (lead, plane) in enumerate(_planes(x, ndim)):
        starts = []
        for dim, (size, out, k) in enumerate(zip(spatial, output_size, kernel_size)):
            u = t(samples[number, columns[dim]])
            s_bar = t(size - k) / t(out - 1) if out > 1 else t(0)
            starts.append(
                [int((t(i) + u) * s_bar) - int(u * s_bar) for i in range(out - 1)] + [size - k]
            )
        for out_pos in np.ndindex(*output_size):
            first = tuple(starts[d][o] for d, o in enumerate(out_pos))
            best_value, best_coord = -math.inf, first
            for offsets in itertools.product(*(range(k) for k in kernel_size)):
                c = tuple(f + j for f, j in zip(first, offsets))
                value = plane[c]
                if value > best_value or np.isnan(value):  # PyTorch's update rule
                    best_value, best_coord = value, c
            output[lead + out_pos] = plane[best_coord]
            indices[lead + out_pos] = np.ravel_multi_index(best_coord, spatial)
    return output, indices
