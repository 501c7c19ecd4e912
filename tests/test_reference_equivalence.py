"""Property tests: the vectorised functions equal the plain-loop reference on every input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pooling_lab.functional as F
from pooling_lab import reference as R

MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d}
MAX_BACK = {1: F.max_pool1d_backward, 2: F.max_pool2d_backward}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d}
AVG_BACK = {1: F.avg_pool1d_backward, 2: F.avg_pool2d_backward}
UNPOOL = {1: F.max_unpool1d, 2: F.max_unpool2d}


@st.composite
def problems(draw, dilation=True, specials=False):
    """A pooling problem: input array plus keyword arguments; stride < kernel is common."""
    n = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 4)) for _ in range(n))
    dil = tuple(draw(st.integers(1, 3)) if dilation else 1 for _ in range(n))
    pad = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil_mode = draw(st.booleans())
    spatial = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), max(1, d * (k - 1) + 1 - 2 * p) + 6))
        for k, p, d in zip(kernel, pad, dil)
    )
    lead = draw(st.sampled_from([(1,), (3,), (1, 2), (2, 1)]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    if draw(st.booleans()):
        # Tie-heavy: small integers cast to float, so windows often hold equal maxima.
        elements = st.integers(-2, 2).map(float)
    else:
        elements = st.floats(-1e3, 1e3, width=32)
    if specials:
        elements = st.one_of(elements, st.sampled_from([np.nan, np.inf, -np.inf]))
    x = draw(arrays(dtype, lead + spatial, elements=elements))
    return (
        n,
        x,
        dict(kernel_size=kernel, stride=stride, padding=pad, dilation=dil, ceil_mode=ceil_mode),
    )


def _both(fast, slow):
    """Run both; if one raises ValueError the other must too (a window may miss the input)."""
    try:
        expected = slow()
    except ValueError:
        with pytest.raises(ValueError):
            fast()
        return None, None
    return fast(), expected


@given(problems(specials=True))
def test_max_pool_forward_and_indices_equal_reference(problem):
    n, x, kw = problem
    fast, slow = _both(
        lambda: MAX_POOL[n](x, **kw, return_indices=True), lambda: R.max_pool(x, **kw, ndim=n)
    )
    if fast is None:
        return
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    assert fast[0].dtype == x.dtype and fast[1].dtype == np.int64


@given(problems(), st.integers(0, 2**32 - 1))
def test_max_pool_backward_equals_reference(problem, seed):
    n, x, kw = problem
    try:
        out, idx = R.max_pool(x, **kw, ndim=n)
    except ValueError:
        return
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    fast = MAX_BACK[n](g, idx, x.shape)
    slow = R.max_pool_backward(g, idx, x.shape, ndim=n)
    assert fast.dtype == x.dtype
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


@given(problems(dilation=False))
def test_avg_pool_forward_equals_reference(problem):
    n, x, kw = problem
    del kw["dilation"]
    for include in (True, False):
        fast = AVG_POOL[n](x, **kw, count_include_pad=include)
        slow = R.avg_pool(x, **kw, count_include_pad=include, ndim=n)
        assert fast.dtype == x.dtype
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-3)


@given(problems(dilation=False), st.integers(0, 2**32 - 1))
def test_avg_pool_backward_equals_reference(problem, seed):
    n, x, kw = problem
    del kw["dilation"]
    out = R.avg_pool(x, **kw, ndim=n)
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    for include in (True, False):
        fast = AVG_BACK[n](g, x.shape, **kw, count_include_pad=include)
        slow = R.avg_pool_backward(g, x.shape, **kw, count_include_pad=include, ndim=n)
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


@given(problems())
def test_max_unpool_equals_reference(problem):
    n, x, kw = problem
    if kw["dilation"] != (1,) * n:
        return
    try:
        out, idx = R.max_pool(
            x, kw["kernel_size"], kw["stride"], kw["padding"], 1, kw["ceil_mode"], ndim=n
        )
    except ValueError:
        return
    lead, spatial = x.shape[:-n], x.shape[-n:]
    default = tuple(
        (o - 1) * s + k - 2 * p
        for o, s, k, p in zip(out.shape[-n:], kw["stride"], kw["kernel_size"], kw["padding"])
    )
    # Unpool to the original size when PyTorch allows it, else to the default size.
    ok = all(d - s < size < d + s for size, d, s in zip(spatial, default, kw["stride"]))
    size = spatial if ok else default
    if min(size) < 1 or idx.max(initial=0) >= np.prod(size):
        return
    fast = UNPOOL[n](out, idx, kw["kernel_size"], kw["stride"], kw["padding"], output_size=size)
    np.testing.assert_array_equal(fast, R.max_unpool(out, idx, lead + tuple(size), ndim=n))


def _rows_then_columns(plane, k, s):
    """making_it_fast's separable order, as plain loops: a 1-D first-maximum pool along every
    row, then along every column of the row maxima. Returns maxima and flat indices."""
    h, w = plane.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    row_best = np.empty((h, wo))
    row_at = np.empty((h, wo), dtype=np.int64)
    for r in range(h):
        for b in range(wo):
            j = int(np.argmax(plane[r, b * s : b * s + k]))  # argmax: the first maximum
            row_best[r, b], row_at[r, b] = plane[r, b * s + j], b * s + j
    out = np.empty((ho, wo))
    index = np.empty((ho, wo), dtype=np.int64)
    for a in range(ho):
        for b in range(wo):
            i = int(np.argmax(row_best[a * s : a * s + k, b]))
            out[a, b] = row_best[a * s + i, b]
            index[a, b] = (a * s + i) * w + row_at[a * s + i, b]
    return out, index


@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 6),
    st.integers(0, 6),
    st.integers(0, 2**32 - 1),
)
def test_the_separable_order_keeps_the_first_maximum_for_overlapping_windows(k, s, dh, dw, seed):
    """making_it_fast says the columns-then-rows order needs no tiling: any stride, ties and
    all (finite values; NaN has rules of its own)."""
    plane = np.random.default_rng(seed).integers(-2, 3, (k + dh, k + dw)).astype(float)
    out, index = _rows_then_columns(plane, k, s)
    ref_out, ref_index = R.max_pool(plane[None, None], k, stride=s)
    assert np.array_equal(out, ref_out[0, 0]) and np.array_equal(index, ref_index[0, 0])
