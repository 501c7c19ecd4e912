"""Channels-last inputs (PyTorch's ``channels_last`` / ``channels_last_3d``): pooled in their
own layout, bit-identical to the ordinary (N, C, *spatial) path, results in the input's layout.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import first_call_peak
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pooling_lab as pl
import pooling_lab.functional as F
from pooling_lab import _channels_last, _phases, _tiled

MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
MAX_BACK = {1: F.max_pool1d_backward, 2: F.max_pool2d_backward, 3: F.max_pool3d_backward}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
AVG_BACK = {1: F.avg_pool1d_backward, 2: F.avg_pool2d_backward, 3: F.avg_pool3d_backward}
MAX_LAYER = {1: pl.MaxPool1d, 2: pl.MaxPool2d, 3: pl.MaxPool3d}
AVG_LAYER = {1: pl.AvgPool1d, 2: pl.AvgPool2d, 3: pl.AvgPool3d}


def channels_last(a: np.ndarray, n: int) -> np.ndarray:
    """The same values with channels-last memory, as torch's ``contiguous(channels_last)``."""
    if a.ndim == n + 1:
        return channels_last(a[None], n)[0]
    order = (0,) + tuple(range(2, n + 2)) + (1,)
    return a.transpose(order).copy().transpose(np.argsort(order))


def ambiguous(a: np.ndarray, n: int) -> bool:
    """One channel, or one position: both layouts are the same memory."""
    return a.shape[-n - 1] == 1 or np.prod(a.shape[-n:]) == 1


def is_cl(a: np.ndarray, n: int) -> bool:
    """Channels-last, or one of the cases where both layouts are the same memory."""
    return ambiguous(a, n) or _channels_last.is_channels_last(a, n)


def same(a: np.ndarray, b: np.ndarray) -> None:
    """Bit for bit: values (NaN where NaN), signs of zeros, dtype. Not a NaN's sign or
    payload, which NumPy leaves to the hardware and the compiler: a loop's SIMD body and its
    scalar tail may return either operand's NaN (inf + -inf with a NaN, say)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True)
    numbers = ~np.isnan(a)
    assert np.array_equal(np.signbit(a[numbers]), np.signbit(b[numbers]))


@st.composite
def problems(draw, kind="max", specials=False):
    n = draw(st.sampled_from([1, 2, 3]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dil = tuple(draw(st.integers(1, 2)) if kind == "max" else 1 for _ in range(n))
    pad = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil_mode = draw(st.booleans())
    lowest = [max(1, d * (k - 1) + 1 - 2 * p) for k, p, d in zip(kernel, pad, dil)]
    if kind == "avg" and n == 3:  # torch's avg_pool3d wants input >= kernel
        lowest = [max(lo, k) for lo, k in zip(lowest, kernel)]
    spatial = tuple(draw(st.integers(lo, lo + 4)) for lo in lowest)
    batch = draw(st.sampled_from([(1,), (2,), ()]))  # () unbatched: (C, *spatial)
    c = draw(st.integers(2, 5))  # C = 1 is the ordinary layout (tested below)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    if draw(st.booleans()):
        elements = st.sampled_from([-1.0, -0.0, 0.0, 1.0, 2.0])  # ties, signed zeros
    else:
        elements = st.floats(-1e3, 1e3, width=32)
    if specials:
        elements = st.one_of(elements, st.sampled_from([np.nan, np.inf, -np.inf]))
    x = draw(arrays(dtype, batch + (c,) + spatial, elements=elements))
    if kind == "max":
        kw = dict(kernel_size=kernel, stride=stride, padding=pad, dilation=dil)
    else:
        kw = dict(kernel_size=kernel, stride=stride, padding=pad)
        kw["count_include_pad"] = draw(st.booleans())
        kw["divisor_override"] = draw(st.sampled_from([None, None, 3, -2]))
    return n, x, dict(kw, ceil_mode=ceil_mode)


def ordinary_or_error(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except ValueError:
        return None


@given(problems(specials=True), st.integers(0, 2**32 - 1))
def test_max_pool_functional_equals_the_ordinary_path(problem, seed):
    n, x, kw = problem
    expected = ordinary_or_error(MAX[n], x, **kw, return_indices=True)
    xc = channels_last(x, n)
    assert is_cl(xc, n)
    before = xc.copy()
    if expected is None:  # a dilated window misses the input: the same error
        with pytest.raises(ValueError):
            MAX[n](xc, **kw, return_indices=True)
        return
    out, idx = MAX[n](xc, **kw, return_indices=True)
    same(out, expected[0])
    assert np.array_equal(idx, expected[1]) and idx.dtype == np.int64
    assert (is_cl(out, n) and is_cl(idx, n)) or ambiguous(x, n)  # the input's layout
    np.testing.assert_array_equal(xc, before)  # the input is never written to
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    grad = MAX_BACK[n](channels_last(g, n), idx, x.shape)
    same(grad, MAX_BACK[n](g, expected[1], x.shape))
    assert is_cl(grad, n) or ambiguous(g, n)


@given(problems(specials=True), st.integers(0, 2**32 - 1))
def test_max_pool_layer_equals_the_ordinary_path(problem, seed):
    n, x, kw = problem
    plain = MAX_LAYER[n](**kw, return_indices=True)
    expected = ordinary_or_error(plain.forward, x)
    if expected is None:
        return
    layer = MAX_LAYER[n](**kw, return_indices=True)
    out, idx = layer.forward(channels_last(x, n))
    same(out, expected[0])
    np.testing.assert_array_equal(idx, expected[1])
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    grad = layer.backward(g)  # an ordinary gradient: the result still takes the input's layout
    same(grad, plain.backward(g))
    assert is_cl(grad, n)
    same(layer.backward(channels_last(g, n)), grad)


@given(problems(kind="avg", specials=True), st.integers(0, 2**32 - 1))
def test_avg_pool_equals_the_ordinary_path_bit_for_bit(problem, seed):
    """The window sums are taken in the same order, so even float sums agree to the bit."""
    n, x, kw = problem
    expected = ordinary_or_error(AVG[n], x, **kw)
    if expected is None:
        return
    xc = channels_last(x, n)
    before = xc.copy()
    with np.errstate(invalid="ignore"):
        out = AVG[n](xc, **kw)
    same(out, expected)
    assert is_cl(out, n) or ambiguous(x, n)
    np.testing.assert_array_equal(xc, before)
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    grad = AVG_BACK[n](channels_last(g, n), x.shape, **kw)
    same(grad, AVG_BACK[n](g, x.shape, **kw))
    # the functional backward follows grad_output's layout, ordinary where g shows none
    assert is_cl(grad, n) or not is_cl(x, n) or ambiguous(g, n)
    layer = AVG_LAYER[n](**kw)
    with np.errstate(invalid="ignore"):
        same(layer.forward(xc), expected)
    same(layer.backward(g), grad)
    assert is_cl(layer.backward(g), n)


@pytest.mark.parametrize(
    "shape, kw",
    [  # the benchmark's configurations, shrunk in the batch; exact tiling and not
        ((2, 64, 56, 56), dict(kernel_size=3, stride=2, padding=1)),
        ((3, 32, 32, 32), dict(kernel_size=2)),
        ((2, 3, 224, 224), dict(kernel_size=3, stride=1, padding=1)),
        ((9, 8, 8, 8), dict(kernel_size=2)),
        ((2, 16, 6, 56, 56), dict(kernel_size=2)),
        ((2, 16, 7, 20, 20), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_benchmark_shapes_with_ties(shape, kw, dtype):
    n = len(shape) - 2
    rng = np.random.default_rng(8)
    x = rng.integers(-3, 4, shape).astype(dtype)
    out, idx = MAX[n](x, **kw, return_indices=True)
    xc = channels_last(x, n)
    layer = MAX_LAYER[n](**kw, return_indices=True)
    out_c, idx_c = layer.forward(xc)
    same(out_c, out)
    np.testing.assert_array_equal(idx_c, idx)
    assert is_cl(out_c, n) and is_cl(idx_c, n)
    g = rng.standard_normal(out.shape).astype(dtype)
    expected = MAX_BACK[n](g, idx, shape)
    same(layer.backward(channels_last(g, n)), expected)
    same(MAX_BACK[n](channels_last(g, n), idx_c, shape), expected)
    avg = AVG[n](x, **kw) if "ceil_mode" not in kw else None
    if avg is not None:
        same(AVG[n](xc, **kw), avg)


def test_tiny_blocks(monkeypatch):
    """Many blocks with a partial last one, in both kernels (phases and exact tiling)."""
    monkeypatch.setattr(_phases, "BLOCK_ELEMENTS", 40)
    _phases.plan_for.cache_clear()
    try:
        rng = np.random.default_rng(9)
        x = rng.integers(-2, 3, (5, 3, 6, 8)).astype(np.float32)
        for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
            out, idx = F.max_pool2d(x, **kw, return_indices=True)
            out_c, idx_c = F.max_pool2d(channels_last(x, 2), **kw, return_indices=True)
            same(out_c, out)
            np.testing.assert_array_equal(idx_c, idx)
            same(F.avg_pool2d(channels_last(x, 2), **kw), F.avg_pool2d(x, **kw))
        # planes larger than a block: exact tiling cuts them into rows of windows
        v = rng.integers(-2, 3, (3, 2, 4, 6, 8)).astype(np.float32)
        for layer in (pl.MaxPool3d(2, return_indices=True), pl.MaxPool3d(2, return_indices=True)):
            out, idx = layer.forward(v)
            out_c, idx_c = F.max_pool3d(channels_last(v, 3), 2, return_indices=True)
            same(out_c, out)
            np.testing.assert_array_equal(idx_c, idx)
            g = rng.standard_normal(out.shape).astype(np.float32)
            same(F.max_pool3d_backward(channels_last(g, 3), idx_c, v.shape), layer.backward(g))
    finally:
        _phases.plan_for.cache_clear()


@pytest.mark.parametrize(
    "dtype, c, gathered",
    [  # channel vectors of 16 bytes or more are gathered; shorter ones reduced by dimension
        (np.float32, 4, True),
        (np.float32, 3, False),
        (np.float64, 2, True),
        (np.float16, 8, True),
        (np.float16, 4, False),
        (np.int16, 8, True),
    ],
)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_exact_tiling_gathered_or_by_dimension(monkeypatch, dtype, c, gathered, n):
    """Both routes of exact tiling on channels-last inputs, over many blocks with a partial
    last one, with ties and signed zeros: bit-identical to the ordinary path."""
    calls = []
    original = _tiled.max_pool_gathered
    monkeypatch.setattr(
        _tiled, "max_pool_gathered", lambda x, plan: calls.append(1) or original(x, plan)
    )
    monkeypatch.setattr(_phases, "BLOCK_ELEMENTS", 40)
    _phases.plan_for.cache_clear()
    try:
        rng = np.random.default_rng(21)
        shape = (3, c) + (6, 4, 6)[:n]
        if np.dtype(dtype).kind == "f":
            x = rng.choice(np.array([-1.0, -0.0, 0.0, 1.0, 2.0], dtype=dtype), shape)
        else:
            x = rng.integers(-2, 3, shape).astype(dtype)
        for kw in (dict(kernel_size=2), dict(kernel_size=(3, 2, 3)[:n] if n > 1 else 3)):
            out, idx = MAX[n](x, **kw, return_indices=True)
            layer = MAX_LAYER[n](**kw, return_indices=True)
            out_c, idx_c = layer.forward(channels_last(x, n))
            same(out_c, out)
            np.testing.assert_array_equal(idx_c, idx)
            g = rng.standard_normal(out.shape).astype(np.float32).astype(x.dtype)
            if np.dtype(dtype).kind == "f":
                same(layer.backward(channels_last(g, n)), MAX_BACK[n](g, idx, shape))
            # unbatched, one sample
            same(MAX[n](channels_last(x, n)[1], **kw), out[1])
            # then a larger batch through the same layer: its plan's buffers must grow
            bigger = np.concatenate([x, x[::-1], x])
            out_big, idx_big = layer.forward(channels_last(bigger, n))
            same(out_big, MAX[n](bigger, **kw))
            np.testing.assert_array_equal(idx_big, MAX[n](bigger, **kw, return_indices=True)[1])
            if np.dtype(dtype).kind == "f":
                # average pooling on values whose sums round: the order of the additions shows
                xf = rng.standard_normal(shape).astype(dtype)
                avg = AVG[n](xf, **kw)
                same(AVG[n](channels_last(xf, n), **kw), avg)
                ga = rng.standard_normal(avg.shape).astype(dtype)
                same(AVG_BACK[n](channels_last(ga, n), shape, **kw), AVG_BACK[n](ga, shape, **kw))
    finally:
        _phases.plan_for.cache_clear()
    assert bool(calls) == gathered


def test_what_counts_as_channels_last():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5))
    is_cl = _channels_last.is_channels_last  # the rule itself, here
    assert not is_cl(x, 2)  # NCHW
    assert is_cl(channels_last(x, 2), 2)
    assert is_cl(channels_last(x[:1], 2), 2)  # batch 1: unambiguous
    assert is_cl(channels_last(x[0], 2), 2)  # unbatched (C, H, W) with C innermost
    # C = 1 or a 1x1 plane: both layouts are the same memory; the ordinary one is chosen
    assert not is_cl(channels_last(x[:, :1], 2), 2)
    assert not is_cl(channels_last(x[..., :1, :1], 2), 2)
    # neither layout (a strided slice of a channels-last array): the ordinary path, copied
    sliced = channels_last(x, 2)[:, :, ::2]
    assert not is_cl(sliced, 2)
    np.testing.assert_array_equal(F.max_pool2d(sliced, 2), F.max_pool2d(np.array(sliced), 2))
    # the 3-D and 1-D analogues
    v = rng.standard_normal((2, 3, 4, 5, 6))
    assert is_cl(channels_last(v, 3), 3) and not is_cl(v, 3)
    s = rng.standard_normal((2, 3, 7))
    assert is_cl(channels_last(s, 1), 1)
    assert is_cl(s.transpose(0, 2, 1).copy().transpose(0, 2, 1), 1)  # (N, L, C) memory


def test_integer_inputs_and_the_minimum_integer():
    x = np.random.default_rng(11).integers(-3, 3, (2, 4, 6, 6)).astype(np.int16)
    x[0, 1, :3, :3] = np.iinfo(np.int16).min  # a window of the padding's value
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        out, idx = F.max_pool2d(x, **kw, return_indices=True)
        out_c, idx_c = F.max_pool2d(channels_last(x, 2), **kw, return_indices=True)
        same(out_c, out)
        np.testing.assert_array_equal(idx_c, idx)
        assert is_cl(out_c, 2) and is_cl(idx_c, 2)


def test_nan_and_minus_inf_windows_use_the_ordinary_rules():
    x = np.random.default_rng(12).standard_normal((2, 3, 6, 6)).astype(np.float32)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = np.nan  # the last NaN of the window wins
    x[1, 2, :2, :2] = -np.inf  # a window of -inf reports its first element
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        layer, plain = pl.MaxPool2d(**kw, return_indices=True), pl.MaxPool2d(**kw)
        out_c, idx_c = layer.forward(channels_last(x, 2))
        out, idx = F.max_pool2d(x, **kw, return_indices=True)
        same(out_c, out)
        np.testing.assert_array_equal(idx_c, idx)
        assert is_cl(out_c, 2) and is_cl(idx_c, 2)
        g = np.arange(out.size, dtype=np.float32).reshape(out.shape)
        plain.forward(x)
        grad = layer.backward(g)
        same(grad, plain.backward(g))
        assert is_cl(grad, 2)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("n", [2, 3])
def test_torch_agrees_in_channels_last(kind, n):
    """Values, indices, gradients and the layout itself (the strides), against torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    shape = (2, 8) + (9,) * n
    x = rng.integers(-3, 4, shape).astype(np.float32)
    fmt = torch.channels_last if n == 2 else torch.channels_last_3d
    t = torch.from_numpy(x).contiguous(memory_format=fmt).requires_grad_(True)
    fn = getattr(torch.nn.functional, f"{kind}_pool{n}d")
    layer = (MAX_LAYER if kind == "max" else AVG_LAYER)[n](3, 2, 1)
    out = layer.forward(channels_last(x, n))
    if kind == "max":
        out_t, idx_t = fn(t, 3, 2, 1, return_indices=True)
        idx = MAX[n](channels_last(x, n), 3, 2, 1, return_indices=True)[1]
        np.testing.assert_array_equal(idx, idx_t.numpy())
        assert idx.strides == tuple(s * 8 for s in idx_t.stride())
    else:
        out_t = fn(t, 3, 2, 1)
    g = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    out_t.backward(torch.from_numpy(channels_last(g, n)))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-6)
    grad = layer.backward(g)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert is_cl(out, n) and is_cl(grad, n)
    if (kind, n) == ("avg", 3):
        # torch 2.13's avg_pool3d has no channels-last kernel: its output is in the ordinary
        # layout. pooling_lab keeps one rule for every pooling: results take the input's.
        assert out_t.is_contiguous()
        return
    # torch keeps the layout too: the same strides, in elements
    assert out.strides == tuple(s * 4 for s in out_t.stride())
    assert grad.strides == tuple(s * 4 for s in t.grad.stride())


@pytest.mark.parametrize(
    "shape, kw",
    [  # the benchmark's configurations
        ((32, 64, 56, 56), dict(kernel_size=3, stride=2, padding=1)),
        ((64, 32, 32, 32), dict(kernel_size=2)),
        ((8, 3, 224, 224), dict(kernel_size=3, stride=1, padding=1)),
        ((256, 8, 8, 8), dict(kernel_size=2)),
        ((4, 16, 16, 56, 56), dict(kernel_size=2)),
    ],
)
def test_first_call_peak_memory_is_at_most_three_inputs(shape, kw):
    """As for the ordinary layout (test_fast_paths): forward + backward of a fresh geometry."""
    n = len(shape) - 2
    x = channels_last(np.random.default_rng(14).standard_normal(shape).astype(np.float32), n)
    layer = MAX_LAYER[n](**kw)
    _phases.plan_for.cache_clear()
    out_shape = layer.forward(x[:1]).shape[1:]
    g = channels_last(np.ones((shape[0],) + out_shape, dtype=np.float32), n)
    done = {}

    def run():
        done["out"], done["grad"] = layer.forward(x), layer.backward(g)

    peak = first_call_peak(run, 3 * x.nbytes)
    out, grad = done["out"], done["grad"]
    assert is_cl(out, n) and is_cl(grad, n)
    assert peak <= 3 * x.nbytes, peak / x.nbytes


@pytest.mark.parametrize("layout", ["ordinary", "channels_last"])
def test_an_empty_batch(layout):
    """Only the batch may be empty, as in PyTorch: every result is empty too."""
    x = np.zeros((0, 3, 4, 4), dtype=np.float32)
    if layout == "channels_last":
        x = channels_last(x, 2)
    for layer in (pl.MaxPool2d(2), pl.MaxPool2d(3, 1, 1), pl.AvgPool2d(2)):
        out = layer.forward(x)
        assert out.shape == (0, 3, 2, 2) or out.shape == (0, 3, 4, 4)
        assert layer.backward(np.zeros(out.shape, np.float32)).shape == x.shape
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert F.max_pool2d_backward(np.zeros(out.shape, np.float32), idx, x.shape).shape == x.shape
