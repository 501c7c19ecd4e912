"""The fast path's special layouts, each held equal to the loop reference.

Random geometries rarely tile the input exactly or cross a block boundary, so these tests aim
at those paths directly: exact tiling (phases split by whole rows), blocks of planes (with a
partial last block), and both kinds of winner code (position in the window, or offset number).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import first_call_peak
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pooling_lab as pl
from pooling_lab import _core, _phases
from pooling_lab import reference as R
from pooling_lab._params import make_window

LAYERS = {(1, "max"): pl.MaxPool1d, (2, "max"): pl.MaxPool2d, (2, "avg"): pl.AvgPool2d}


def plan_of(x: np.ndarray, n: int, **kw) -> _phases.PhasePlan:
    win = make_window(
        "test",
        n,
        kw["kernel_size"],
        kw.get("stride"),
        kw.get("padding", 0),
        kw.get("dilation", 1),
        kw.get("ceil_mode", False),
    )
    spatial = x.shape[-n:]
    return _phases.plan_for(win, spatial, win.output_size(spatial))


def check_max_layer(x: np.ndarray, n: int, seed: int = 0, **kw) -> None:
    """Layer forward, indices and backward all equal the reference's."""
    layer = LAYERS[n, "max"](**kw, return_indices=True)
    out, idx = layer.forward(x)
    ref_out, ref_idx = R.max_pool(x, **kw, ndim=n)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(idx, ref_idx)
    assert out.dtype == x.dtype
    g = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float64)
    grad = layer.backward(g)
    np.testing.assert_allclose(grad, R.max_pool_backward(g, ref_idx, x.shape, ndim=n))


@st.composite
def exact_tilings(draw):
    """An input that windows with stride = kernel tile exactly; many ties."""
    n = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(n))
    out = tuple(draw(st.integers(1, 5)) for _ in range(n))
    lead = draw(st.sampled_from([(1,), (3,), (2, 3)]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16]))
    shape = lead + tuple(o * k for o, k in zip(out, kernel))
    x = draw(arrays(dtype, shape, elements=st.integers(-2, 2)))
    return n, x, kernel


@given(exact_tilings(), st.integers(0, 2**32 - 1))
def test_exact_tiling_max_pool_equals_reference(problem, seed):
    n, x, kernel = problem
    assert plan_of(x, n, kernel_size=kernel).exact
    check_max_layer(x, n, seed, kernel_size=kernel)


@given(exact_tilings(), st.integers(0, 2**32 - 1))
def test_exact_tiling_avg_pool_equals_reference(problem, seed):
    n, x, kernel = problem
    x = x.astype(np.float64)
    fwd = {1: pl.functional.avg_pool1d, 2: pl.functional.avg_pool2d}[n]
    back = {1: pl.functional.avg_pool1d_backward, 2: pl.functional.avg_pool2d_backward}[n]
    out = fwd(x, kernel)
    np.testing.assert_allclose(out, R.avg_pool(x, kernel, ndim=n))
    g = np.random.default_rng(seed).standard_normal(out.shape)
    np.testing.assert_allclose(
        back(g, x.shape, kernel), R.avg_pool_backward(g, x.shape, kernel, ndim=n)
    )


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of a few dozen elements, so every call crosses many block boundaries."""
    monkeypatch.setattr(_phases, "BLOCK_ELEMENTS", 40)
    _phases.plan_for.cache_clear()
    yield
    _phases.plan_for.cache_clear()


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),  # exact tiling
        dict(kernel_size=3, stride=2, padding=1),  # overlapping, padded
        dict(kernel_size=2, stride=3),  # gaps between windows
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True),
    ],
)
def test_many_blocks_with_a_partial_last_one(tiny_blocks, kw):
    rng = np.random.default_rng(1)
    # distinct values: a stale maximum left over from the previous block would show
    x = rng.standard_normal((5, 5, 6, 8)).astype(np.float32)
    plan = plan_of(x, 2, **kw)
    planes_per_block = plan.exact_block if plan.exact else plan.block
    assert planes_per_block == 1 or 25 % planes_per_block  # the last block is partial
    check_max_layer(x, 2, **kw)
    if "dilation" not in kw:
        x = x.astype(np.float64)  # sums in another order: compare in double precision
        layer = pl.AvgPool2d(**kw)
        out = layer.forward(x)
        np.testing.assert_allclose(out, R.avg_pool(x, **kw, ndim=2))
        g = rng.standard_normal(out.shape)
        np.testing.assert_allclose(layer.backward(g), R.avg_pool_backward(g, x.shape, **kw, ndim=2))


def test_winner_codes_are_positions_when_they_fit_a_byte():
    x = np.zeros((2, 3, 8, 10), dtype=np.float32)
    plan = plan_of(x, 2, kernel_size=3, stride=2, padding=1)
    assert plan.direct and plan.code_dtype == np.uint8
    assert plan.codes == [0, 1, 2, 10, 11, 12, 20, 21, 22]  # row * width + column


@pytest.mark.parametrize("dtype", [np.uint8, np.float16, np.float32, np.float64, np.longdouble])
def test_scratch_buffers_start_cache_lines(dtype):
    for n in (0, 1, 13, 1000):
        a = _phases.aligned_empty(n, dtype)
        assert a.shape == (n,) and a.dtype == dtype
        # an empty array has no first element, and NumPy may leave its pointer anywhere
        assert n == 0 or a.ctypes.data % _phases.ALIGNMENT == 0
    plan = plan_of(np.zeros((2, 3, 9, 11)), 2, kernel_size=3, stride=2, padding=1)
    buf, flat = plan.buffers(dtype, 7, planes=3)
    assert buf.shape == (len(plan.phases), 3) + plan.ext
    assert flat.shape == (len(plan.phases), 3 * plan.plane)
    assert all(row.ctypes.data % _phases.ALIGNMENT == 0 for row in flat)  # every phase
    assert (flat == 7).all()
    buf[1, 2, 0, 1] = 5  # the two are one memory: phase 1, plane 2, row 0, column 1
    assert flat[1, 2 * plan.plane + 1] == 5 and (flat == 5).sum() == 1


@pytest.mark.parametrize(
    "shape, kw",
    [
        ((2, 3, 4, 300), dict(kernel_size=2)),  # position 301 does not fit a byte
        ((2, 2, 1, 1), dict(kernel_size=3, padding=1)),  # window wider than the 1x1 input
        ((2, 2, 3, 2), dict(kernel_size=2, stride=1, dilation=(1, 2), padding=(0, 1))),
        ((1, 2, 40, 40), dict(kernel_size=16, stride=8)),  # 256 offsets: numbers 0..255
        ((1, 2, 40, 40), dict(kernel_size=17, stride=8)),  # 289 offsets: uint32 numbers
    ],
)
def test_winner_codes_are_offset_numbers_otherwise(shape, kw):
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, shape).astype(np.float64)
    plan = plan_of(x, 2, **kw)
    assert not plan.direct
    # a byte holds offset numbers up to 255, that is every kernel up to 16 x 16
    assert plan.code_dtype == (np.uint8 if len(plan.codes) <= 256 else np.uint32)
    check_max_layer(x, 2, **kw)


def test_fast_path_equals_slice_version_on_a_large_input():
    """Thousands of planes through several blocks, against the plain vectorised version."""
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (4096, 12, 12)).astype(np.float32)
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        win = make_window("test", 2, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))
        result = _core.max_pool(x, win)
        out, index = _core.max_pool_slices(x, win)
        np.testing.assert_array_equal(result.output, out)
        np.testing.assert_array_equal(result.indices(), index)
        g = rng.standard_normal(out.shape).astype(np.float32)
        np.testing.assert_array_equal(
            result.backward(g), _core.max_pool_backward(g, index, x.shape[1:])
        )


def test_inputs_that_are_not_contiguous():
    rng = np.random.default_rng(4)
    base = rng.integers(-2, 3, (4, 3, 8, 12)).astype(np.float32)
    for x in (base[..., ::-1], base.transpose(0, 1, 3, 2), base[:, ::2]):
        before = x.copy()
        check_max_layer(x, 2, kernel_size=2)
        np.testing.assert_array_equal(x, before)  # never written to


@pytest.mark.parametrize("kernel", [(2, 2, 2), (1, 3, 2), (3, 1, 1)])
def test_exact_tiling_in_three_dimensions(kernel):
    """The core is N-dimensional: three reduction steps, reusing buffers in turn."""
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, (5,) + tuple(3 * k for k in kernel)).astype(np.float32)
    win = make_window("test", 3, kernel, None, 0)
    result = _core.max_pool(x, win)
    assert result.plan.exact and result.index is None  # the fast path ran
    out, index = _core.max_pool_slices(x, win)
    np.testing.assert_array_equal(result.output, out)
    np.testing.assert_array_equal(result.indices(), index)


@pytest.mark.parametrize(
    "shape, kw",
    [  # the benchmark's configurations
        ((32, 64, 56, 56), dict(kernel_size=3, stride=2, padding=1)),
        ((64, 32, 32, 32), dict(kernel_size=2)),
        ((128, 16, 28, 28), dict(kernel_size=2)),
        ((8, 3, 224, 224), dict(kernel_size=3, stride=1, padding=1)),
        ((256, 8, 8, 8), dict(kernel_size=2)),
    ],
)
def test_first_call_peak_memory_is_at_most_three_inputs(shape, kw):
    """Forward + backward on a fresh geometry, its new buffers included: the issue's limit.

    (The benchmark measures later calls, when the buffers already exist.)
    """
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    layer = pl.MaxPool2d(**kw)
    _phases.plan_for.cache_clear()  # a new plan: its reused buffers count too
    out_shape = layer.forward(x[:1]).shape[1:]
    g = np.ones((shape[0],) + out_shape, dtype=np.float32)
    done = {}

    def run():
        done["out"], done["grad"] = layer.forward(x), layer.backward(g)

    peak = first_call_peak(run, 3 * x.nbytes)
    out, grad = done["out"], done["grad"]
    assert out.shape == g.shape and grad.shape == x.shape
    assert peak <= 3 * x.nbytes, peak / x.nbytes


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("order", ["hardware", None])
def test_signed_zeros_keep_the_first_maximum(dtype, order, monkeypatch):
    """+0 and -0 are equal, so the first of them wins and its sign is the output's, as in
    PyTorch; np.maximum alone may return either. ``None`` forces the repair used on machines
    whose maximum picks +0 regardless of order."""
    if order is None:
        monkeypatch.setattr(_phases, "tie_order", lambda dtype: None)
    rng = np.random.default_rng(7)
    x = rng.choice(np.array([-1.0, -0.0, 0.0, 0.0, -0.0], dtype=dtype), (3, 4, 8, 10))
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        out, idx = pl.MaxPool2d(**kw, return_indices=True).forward(x)
        ref_out, ref_idx = R.max_pool(x, **kw)
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(ref_out))


# ---------------------------------------------------------------------------------------------
# The functional backward: user-given indices, which may repeat a position


def add_at_truth(g: np.ndarray, idx: np.ndarray, spatial: tuple[int, ...]) -> np.ndarray:
    """The scatter-add written the obvious way: np.add.at over every plane."""
    batch, plane = g.shape[0], int(np.prod(spatial))
    result = np.zeros((batch, plane), dtype=g.dtype)
    rows = np.arange(batch)[:, None]
    np.add.at(result, (rows, idx.reshape(batch, -1)), g.reshape(batch, -1))
    return result.reshape((batch,) + tuple(spatial))


@pytest.mark.parametrize("block", [40, 1 << 16])
@given(
    planes=st.integers(1, 7),
    size=st.integers(1, 12),
    outputs=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_functional_backward_equals_add_at_for_any_indices(block, planes, size, outputs, seed):
    """Arbitrary valid indices, repeated or not, plane by plane and block by block."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, size, (planes, outputs))
    if rng.random() < 0.5:  # half the cases: positions that never repeat within a plane
        outputs = min(outputs, size)
        idx = np.stack([rng.permutation(size)[:outputs] for _ in range(planes)])
    g = rng.standard_normal(idx.shape)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_phases, "BLOCK_ELEMENTS", block)
        grad = pl.functional.max_pool1d_backward(g, idx, (planes, size))
    np.testing.assert_array_equal(grad, add_at_truth(g, idx, (size,)))


def test_functional_backward_sums_repeated_indices(tiny_blocks):
    """One plane among many repeats a position: its block must still add, the others assign."""
    x = np.random.default_rng(8).standard_normal((6, 4, 8, 8))
    out, idx = pl.functional.max_pool2d(x, 2, return_indices=True)
    idx = idx.copy()
    idx[3, 2, 0, :] = 9  # four windows of one plane all claim position 9
    g = np.arange(1.0, out.size + 1).reshape(out.shape)
    grad = pl.functional.max_pool2d_backward(g, idx, x.shape)
    assert grad[3, 2].reshape(-1)[9] == g[3, 2, 0, :].sum()
    np.testing.assert_array_equal(
        grad, add_at_truth(g.reshape(24, 4, 4), idx, (8, 8)).reshape(x.shape)
    )


_EMPTY = np.empty


def nan_filled_empty(*args, **kwargs):
    """``np.empty`` whose float arrays start as NaN rather than whatever memory held."""
    a = _EMPTY(*args, **kwargs)
    if a.dtype.kind == "f":
        a.fill(np.nan)
    return a


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2, stride=1),  # positions as codes
        dict(kernel_size=3, stride=1, padding=1),  # offset numbers through the table
        # wide padding, and gaps between windows
        dict(kernel_size=5, stride=1, padding=2),
        dict(kernel_size=2, stride=3, ceil_mode=True),
    ],
)
def test_planes_larger_than_a_block(tiny_blocks, monkeypatch, kw):
    """A plane of more outputs than a block holds: the indices are built, and both backwards
    scatter, a piece of a plane at a time, zeroing each piece's reach just before; in both
    layouts, against the reference."""
    rng = np.random.default_rng(12)
    # 8 x 10 or 9 x 11 outputs per plane, over 40; 3 channels, which do not divide a piece of 10
    x = rng.standard_normal((3, 3, 9, 11))
    ref_out, ref_idx = R.max_pool(x, **kw, ndim=2)
    g = rng.standard_normal(ref_out.shape)
    expected = R.max_pool_backward(g, ref_idx, x.shape, ndim=2)

    def nhwc(a):  # the same values, channels-last memory
        return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)

    for inp in (x, nhwc(x)):
        out, idx = pl.functional.max_pool2d(inp, **kw, return_indices=True)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(idx, ref_idx)
        for grad in (g, nhwc(g)):  # the gradient's layout picks the scatter
            for index in (idx, idx.copy()):
                back = pl.functional.max_pool2d_backward(grad, index, x.shape)
                np.testing.assert_allclose(back, expected)
        layer = pl.MaxPool2d(**kw)
        layer.forward(inp)
        # fresh memory is often zero already: during the backward, every new float array
        # starts as NaN, so that a position the backward forgets to zero shows
        with monkeypatch.context() as m:
            m.setattr(np, "empty", nan_filled_empty)
            back = layer.backward(g)
        np.testing.assert_array_equal(back, expected)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.uint64])
def test_functional_backward_takes_any_integer_indices(dtype):
    # 10 channels: a channels-last position (index * 10) passes 255, so uint8 arithmetic would wrap
    x = np.random.default_rng(9).standard_normal((2, 10, 6, 6)).astype(np.float32)
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1)):
        out, idx = pl.functional.max_pool2d(x, **kw, return_indices=True)
        g = np.random.default_rng(10).standard_normal(out.shape).astype(np.float32)
        grad = pl.functional.max_pool2d_backward(g, idx.astype(dtype), x.shape)
        layer = pl.MaxPool2d(**kw)
        layer.forward(x)
        np.testing.assert_array_equal(grad, layer.backward(g))
        assert grad.dtype == np.float32
        # a channels-last gradient takes the channels-last scatter: the same sums
        g_cl = g.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
        grad_cl = pl.functional.max_pool2d_backward(g_cl, idx.astype(dtype), x.shape)
        np.testing.assert_array_equal(grad_cl, grad)
        assert grad_cl.dtype == np.float32 and grad_cl.strides[1] == 4  # channels innermost


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
@pytest.mark.parametrize("bad", [-1, -128, 16])
def test_out_of_range_indices_of_any_width_are_refused(dtype, bad):
    """The range check is one pass over the indices viewed as unsigned: negatives included."""
    idx = np.zeros((1, 2, 2), dtype=dtype)
    idx[0, 1, 0] = bad
    with pytest.raises(ValueError, match=rf"indices must lie in \[0, 16\).*found index {bad}"):
        pl.functional.max_pool2d_backward(np.ones((1, 2, 2)), idx, (1, 4, 4))


# ---------------------------------------------------------------------------------------------
# Three spatial dimensions, through the N-d layer and functional helpers, against torch

# pl.MaxPool3d is being added; until then the N-d layer with n = 3 is what it will be.
MaxPool3d = getattr(pl, "MaxPool3d", None) or type("MaxPool3d", (pl.layers._MaxPoolNd,), {"_n": 3})


@pytest.mark.parametrize(
    "shape, kw",
    [
        ((2, 3, 6, 8, 8), dict(kernel_size=2)),  # exact tiling, the benchmark's geometry
        ((2, 3, 7, 9, 8), dict(kernel_size=3, stride=2, padding=1)),  # overlapping, padded
        ((1, 2, 5, 6, 7), dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), dilation=(1, 2, 1))),
    ],
)
def test_three_dimensions_match_torch(shape, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.integers(-3, 4, shape).astype(np.float32)  # many ties
    layer = MaxPool3d(**kw, return_indices=True)
    out, idx = layer.forward(x)
    g = rng.standard_normal(out.shape).astype(np.float32)
    grad = layer.backward(g)
    t = torch.tensor(x, requires_grad=True)
    t_out, t_idx = torch.nn.functional.max_pool3d(t, **kw, return_indices=True)
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)
    # the functional path: int64 indices, then the backward from them alone
    f_out, f_idx = functional_3d(x, kw)
    np.testing.assert_array_equal(f_out, out)
    np.testing.assert_array_equal(f_idx, idx)
    if hasattr(pl.functional, "max_pool3d_backward"):
        f_grad = pl.functional.max_pool3d_backward(g, f_idx, x.shape)
    else:
        f_grad = pl.functional._max_pool_backward("max_pool3d_backward", 3, g, f_idx, x.shape)
    np.testing.assert_allclose(f_grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)


def functional_3d(x, kw):
    """max_pool3d(..., return_indices=True): the public function once it exists, else the N-d
    helper that the 2-D functions wrap."""
    if hasattr(pl.functional, "max_pool3d"):
        return pl.functional.max_pool3d(x, **kw, return_indices=True)
    return pl.functional._max_pool(
        "max_pool3d",
        3,
        x,
        kw["kernel_size"],
        kw.get("stride"),
        kw.get("padding", 0),
        kw.get("dilation", 1),
        False,
        True,
    )


def test_stride_phase_exercise_solution():
    """making_it_fast, exercise ex-fast-phase: 5x5 kernel, stride 2, checked against the plan."""
    x = np.zeros((1, 9, 9), dtype=np.float32)
    plan = plan_of(x, 2, kernel_size=5, stride=2)
    phase_of = dict(enumerate(plan.phases))  # phase number -> (row phase, column phase)
    number, shift = plan.shifts[3 * 5 + 4]  # offset (3, 4), row-major
    assert phase_of[number] == (1, 0)
    assert divmod(shift, plan.ext[1]) == (1, 2)  # (rows, columns) within the phase
    counts = {}
    for number, _ in plan.shifts:
        counts[phase_of[number]] = counts.get(phase_of[number], 0) + 1
    assert counts == {(0, 0): 9, (0, 1): 6, (1, 0): 6, (1, 1): 4}


@pytest.mark.parametrize(
    "shape, k, s, p",
    [((2, 3, 9, 11), 3, 2, 1), ((2, 2, 8, 8), 2, 2, 0), ((1, 3, 10, 7), 3, 1, 1)],
)
def test_benchmark_ablation_steps_equal_the_reference(shape, k, s, p):
    """The forward passes the benchmark times as the chapter's steps compute max pooling."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from pooling_ablation import STEPS

    x = np.random.default_rng(1).integers(-3, 4, shape).astype(np.float32)  # many ties
    ref_out, ref_idx = R.max_pool(x, k, stride=s, padding=p)
    width = shape[-1] + 2 * p
    for name, step in STEPS.items():
        out, number = step(x, k, s, p)
        ho, wo = out.shape[-2:]
        row = np.arange(ho)[:, None] * s + number // k - p
        col = np.arange(wo)[None, :] * s + number % k - p
        assert np.array_equal(out, ref_out), name
        assert np.array_equal(row * shape[-1] + col, ref_idx), (name, width)
