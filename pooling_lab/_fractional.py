"""The engine of :mod:`pooling_lab.fractional`: window starts, checks, and the pooling itself.

Kept apart from the documented functions and layers only to keep each module short.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._params import as_tuple, check_array

# Which column of the samples drives which spatial dimension (PyTorch's layout).
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}


def _starts(u: np.ndarray, size: int, out: int, k: int) -> np.ndarray:
    """(B, out) window starts from the samples ``u`` (B, 1), in ``u``'s floating type."""
    starts = np.full((u.shape[0], out), size - k, dtype=np.int64)
    if out > 1:
        t = u.dtype.type
        s_bar = t(size - k) / t(out - 1)  # the mean step (not Graham's alpha, size / out)
        i = np.arange(out - 1, dtype=u.dtype)
        # astype truncates towards zero, as the C++ cast does; all values here are >= 0.
        starts[:, :-1] = ((i + u) * s_bar).astype(np.int64) - (u * s_bar).astype(np.int64)
    return starts


def _output_size(fn, n, spatial, kernel, output_size, output_ratio) -> tuple[int, ...]:
    """The output size from ``output_size`` or ``output_ratio``, checked as PyTorch does."""
    if (output_size is None) == (output_ratio is None):
        raise ValueError(
            f"{fn}: give exactly one of output_size and output_ratio, but got "
            f"output_size={output_size!r} and output_ratio={output_ratio!r}"
        )
    if output_size is not None:
        sizes = as_tuple(fn, "output_size", output_size, n)
        if min(sizes) < 1:
            raise ValueError(f"{fn}: output_size must be positive, but got {sizes}")
    else:
        ratios = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,)
        if len(ratios) not in (1, n) or not all(
            isinstance(r, numbers.Real) and not isinstance(r, (bool, np.bool_)) for r in ratios
        ):
            raise TypeError(
                f"{fn}: output_ratio must be a number or a tuple of {n} numbers, "
                f"but got {output_ratio!r}"
            )
        ratios = tuple(float(r) for r in ratios) * (n if len(ratios) == 1 else 1)
        if not all(0 < r < 1 for r in ratios):
            raise ValueError(
                f"{fn}: output_ratio must lie strictly between 0 and 1, but got {output_ratio!r}"
            )
        # PyTorch: int(input size * ratio), in Python floats.
        sizes = tuple(int(s * r) for s, r in zip(spatial, ratios))
        if min(sizes) < 1:
            raise ValueError(
                f"{fn}: output_ratio {output_ratio!r} gives output size {sizes} for input "
                f"spatial size {tuple(spatial)}; every output size must be at least 1"
            )
    # torch 2.13 allows out + k - 1 == size in 2-D but asks for less than size in 3-D.
    for dim, (size, o, k) in enumerate(zip(spatial, sizes, kernel)):
        if o + k - 1 > size or (n == 3 and o + k - 1 == size):
            rule = "<=" if n == 2 else "<"
            raise ValueError(
                f"{fn}: kernel_size {kernel} is too large for output size {sizes} and input "
                f"spatial size {tuple(spatial)} (spatial dimension {dim}): each needs "
                f"output_size + kernel_size - 1 {rule} input size"
            )
    return sizes


def _samples(fn, n, x, random_samples, rng) -> np.ndarray:
    """The samples (N, C, n) in the arithmetic type, drawn if not given, checked if given."""
    batch = x.shape[0] if x.ndim == n + 2 else 1
    shape = (batch, x.shape[-n - 1], n)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if random_samples is None:
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        u = gen.random(shape).astype(dtype)
        # a draw just below 1 may round up to 1 in a narrower type; keep it below 1
        return np.minimum(u, np.nextafter(dtype.type(1), dtype.type(0)))
    u = np.asarray(random_samples)
    if u.dtype.kind != "f":
        raise TypeError(
            f"{fn}: random_samples must have a floating-point dtype, but got dtype {u.dtype}"
        )
    if u.shape != shape:
        raise ValueError(
            f"{fn}: random_samples must have shape (N, C, {n}) = {shape} for input of shape "
            f"{x.shape}, but got shape {u.shape}"
        )
    u = u.astype(dtype)
    bad = ~((u >= 0) & (u < 1))
    if bad.any():
        raise ValueError(
            f"{fn}: random_samples must lie in [0, 1) (in the input's dtype {dtype}), but "
            f"found {float(u[bad].ravel()[0])}"
        )
    return u


def _fractional(fn, n, input, kernel_size, output_size, output_ratio, random_samples, rng):
    """Output and flat indices of fractional max pooling, with PyTorch's rules."""
    x = check_array(fn, "input", input, n, integers=True)
    kernel = as_tuple(fn, "kernel_size", kernel_size, n)
    if min(kernel) < 1:
        raise ValueError(f"{fn}: kernel_size must be greater than zero, but got {kernel}")
    spatial = x.shape[-n:]
    out = _output_size(fn, n, spatial, kernel, output_size, output_ratio)
    u = _samples(fn, n, x, random_samples, rng).reshape(-1, n)
    planes = x.reshape((-1, int(np.prod(spatial))))
    # Per dimension, (B, out_d) starts, shaped to broadcast against (B, *out).
    starts = []
    for dim in range(n):
        col = _SAMPLE_COLUMN[n][dim]
        s = _starts(u[:, col : col + 1], spatial[dim], out[dim], kernel[dim])
        starts.append(s.reshape((-1,) + tuple(out[dim] if i == dim else 1 for i in range(n))))
    steps = [int(np.prod(spatial[d + 1 :])) for d in range(n)]  # flat stride of each dim
    best = index = None
    for offsets in np.ndindex(*kernel):  # row-major order within the window
        pos = sum((s + o) * st for s, o, st in zip(starts, offsets, steps))
        pos = np.broadcast_to(pos, (planes.shape[0],) + out).reshape(planes.shape[0], -1)
        values = np.take_along_axis(planes, pos, axis=1)
        if best is None:
            best, index = values.copy(), pos.copy()
            continue
        take = values > best  # strict: the first of tied maxima stays
        if x.dtype.kind == "f":
            take |= np.isnan(values)  # a NaN takes over, so the last NaN wins
        np.copyto(best, values, where=take)
        np.copyto(index, pos, where=take)
    shape = x.shape[:-n] + out
    return best.reshape(shape), index.reshape(shape)
