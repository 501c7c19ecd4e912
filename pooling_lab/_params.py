"""Checking and normalising pooling arguments, shared by the fast core and the loop reference.

Every message names the function, the parameter and the rule it broke, the way PyTorch's do,
so that a learner who mistypes an argument is told what to change.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


def as_tuple(fn: str, name: str, value: object, n: int) -> tuple[int, ...]:
    """Turn an int, or a tuple/list of 1 or ``n`` ints, into a tuple of ``n`` Python ints."""
    if isinstance(value, (tuple, list)):
        items = tuple(value)
        if len(items) not in (1, n):
            raise ValueError(
                f"{fn}: {name} must be an int or a tuple of {n} ints, but got {value!r} "
                f"with {len(items)} elements"
            )
    else:
        items = (value,)
    for item in items:
        if type(item) is int:  # the common case, without the slower abstract-class check
            continue
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{fn}: {name} must be an int or a tuple of {n} ints, but got {value!r}"
            )
    if len(items) == 1:
        items = items * n
    return tuple(int(i) for i in items)


@dataclass(frozen=True)
class Window:
    """Normalised pooling geometry: one entry per spatial dimension."""

    fn: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    def describe(self) -> str:
        return (
            f"kernel_size={self.kernel}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def output_size(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """PyTorch's output size, raising ValueError when a dimension would be < 1."""
        sizes = []
        for size, k, s, p, d in zip(spatial, self.kernel, self.stride, self.padding, self.dilation):
            span = size + 2 * p - d * (k - 1) - 1  # last start position of a full window
            # Python's // floors towards -inf, which is what PyTorch's div_rtn does too.
            out = (span + (s - 1 if self.ceil_mode else 0)) // s + 1
            # ceil_mode may add a window that starts in the right padding; PyTorch drops it.
            if self.ceil_mode and out > 0 and (out - 1) * s >= size + p:
                out -= 1
            sizes.append(out)
        if min(sizes) < 1:
            raise ValueError(
                f"{self.fn}: the output would have size {tuple(sizes)} for input spatial size "
                f"{tuple(spatial)} with {self.describe()}; every output dimension must be at "
                "least 1 (use a smaller kernel_size or dilation, or more padding)"
            )
        return tuple(sizes)


def make_window(
    fn: str,
    n: int,
    kernel_size: object,
    stride: object,
    padding: object,
    dilation: object = 1,
    ceil_mode: bool = False,
    check_padding: bool = True,
) -> Window:
    """Validate the pooling parameters and return them as a :class:`Window`."""
    kernel = as_tuple(fn, "kernel_size", kernel_size, n)
    # PyTorch treats stride=None (and an empty stride) as "same as the kernel".
    empty = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernel if empty else as_tuple(fn, "stride", stride, n)
    pads = as_tuple(fn, "padding", padding, n)
    dils = as_tuple(fn, "dilation", dilation, n)
    for name, values in (("kernel_size", kernel), ("stride", strides), ("dilation", dils)):
        if min(values) < 1:
            raise ValueError(f"{fn}: {name} must be greater than zero, but got {name}={values}")
    if min(pads) < 0:
        raise ValueError(f"{fn}: padding must be non-negative, but got padding={pads}")
    if check_padding and any(p > k // 2 for p, k in zip(pads, kernel)):
        # torch 2.13 compares with the kernel size itself, not with the dilated extent.
        raise ValueError(
            f"{fn}: padding should be at most half of kernel_size, but got padding={pads} "
            f"and kernel_size={kernel}"
        )
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{fn}: ceil_mode must be a bool, but got {ceil_mode!r}")
    return Window(fn, kernel, strides, pads, dils, bool(ceil_mode))


# How the accepted input shapes are written in error messages, by number of spatial dimensions.
LAYOUTS = {
    1: "(C, L) or (N, C, L)",
    2: "(C, H, W) or (N, C, H, W)",
    3: "(C, D, H, W) or (N, C, D, H, W)",
}


def check_array(fn: str, name: str, value: object, n: int, *, integers: bool) -> np.ndarray:
    """Return ``value`` as an array of shape (N, C, *spatial) or (C, *spatial) with n spatial dims.

    ``integers`` says whether an integer dtype can be pooled exactly (max pooling can; an average
    of integers is not an integer, so average pooling asks for a cast instead of truncating).
    """
    x = np.asarray(value)
    kind = x.dtype.kind
    if kind == "f":
        pass
    elif kind in "iu" and integers:
        pass
    elif kind in "iu":
        raise TypeError(
            f"{fn}: {name} has integer dtype {x.dtype}, and an average of integers is not an "
            f"integer; cast it first, e.g. {name}.astype(np.float64)"
        )
    else:
        raise TypeError(
            f"{fn}: {name} must have a real numeric dtype (float, or int where exact), but got "
            f"dtype {x.dtype}"
        )
    layout = LAYOUTS[n]
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"{fn}: {name} must be {n + 1}-D or {n + 2}-D {layout}, but got a {x.ndim}-D "
            f"array of shape {x.shape}"
        )
    # As in PyTorch, only the batch dimension may be empty.
    non_batch = x.shape[-(n + 1) :]
    if min(non_batch) < 1:
        raise ValueError(
            f"{fn}: {name}'s non-batch dimensions must have positive length, but {name} has "
            f"shape {x.shape}"
        )
    return x


def check_float(fn: str, name: str, value: object) -> np.ndarray:
    """Return ``value`` as a floating-point array, or raise TypeError naming it."""
    g = np.asarray(value)
    if g.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must have a floating-point dtype, but got dtype {g.dtype}")
    return g


def check_indices(
    fn: str, indices: object, shape: tuple[int, ...], plane: int, check_range: bool = True
) -> np.ndarray:
    """Indices must be integers of the given shape pointing inside a plane of ``plane`` elements.

    ``check_range=False`` leaves the range to the caller (:func:`check_index_range`), which
    the scatter of max pooling's backward does block by block, while a block is in cache.
    """
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must have an integer dtype, but got dtype {idx.dtype}")
    if idx.shape != shape:
        raise ValueError(
            f"{fn}: indices must have the same shape as the pooled values {shape}, "
            f"but got shape {idx.shape}"
        )
    if check_range:
        check_index_range(fn, idx, plane)
    return idx


def check_index_range(fn: str, idx: np.ndarray, plane: int) -> None:
    """Integer indices must lie in [0, plane): a ValueError naming the first that does not."""
    # One pass, not min() and max(): viewed as unsigned, a negative index is huge.
    unsigned = idx.view(f"u{idx.itemsize}") if idx.dtype.kind == "i" else idx
    if idx.size and unsigned.max() >= plane:
        bad = idx[(idx < 0) | (idx >= plane)].ravel()[0]
        raise ValueError(
            f"{fn}: indices must lie in [0, {plane}) (flat positions within one plane), "
            f"but found index {int(bad)}"
        )


def check_input_shape(
    fn: str, input_shape: object, n: int, grad_shape: tuple[int, ...]
) -> tuple[int, ...]:
    """Check ``input_shape`` is a pooling input shape whose leading dims match ``grad_shape``."""
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_)) for s in input_shape
    ):
        raise TypeError(f"{fn}: input_shape must be a tuple of ints, but got {input_shape!r}")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (n + 1, n + 2) or min(shape[-(n + 1) :]) < 1 or min(shape) < 0:
        raise ValueError(
            f"{fn}: input_shape must describe a {n + 1}-D or {n + 2}-D input with positive "
            f"non-batch sizes, but got {shape}"
        )
    if len(grad_shape) != len(shape) or grad_shape[:-n] != shape[:-n]:
        raise ValueError(
            f"{fn}: grad_output of shape {grad_shape} does not match input_shape {shape}: "
            f"they must have the same number of dimensions and the same leading (batch, "
            f"channel) sizes"
        )
    return shape
