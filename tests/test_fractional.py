"""Fractional max pooling (issue 12): exact PyTorch parity given the same samples, loops,
finite differences, the samples' layout and arithmetic type, the size rules, and the layers."""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
from pooling_lab import fractional as FR
from pooling_lab import reference as R
from pooling_lab.gradcheck import gradcheck, tie_free

torch = pytest.importorskip("torch", reason="torch (the reference extra) is not installed")
TF = torch.nn.functional


def _case(case: int, n: int):
    """A random problem: input, kernel, output size and samples; ties, NaN, -inf included."""
    rng = np.random.default_rng(60000 + case)
    dtype = (np.float32, np.float64)[case % 2]
    kernel = tuple(int(k) for k in rng.integers(1, 4, n))
    out = tuple(int(o) for o in rng.integers(1, 6 if n == 2 else 4, n))
    # 2-D allows out + k - 1 == size; 3-D needs it smaller (torch 2.13)
    spatial = tuple(
        o + k - 1 + int(rng.integers(0 if n == 2 else 1, 7)) for o, k in zip(out, kernel)
    )
    lead = [(2, 3), (3,), (1, 2)][case % 3]
    kind = case % 4
    if kind == 0:
        x = rng.integers(-2, 3, lead + spatial).astype(dtype)
    else:
        x = rng.standard_normal(lead + spatial).astype(dtype)
    if kind == 1:
        x[rng.random(x.shape) < 0.1] = np.nan
        x[rng.random(x.shape) < 0.1] = -np.inf
    batch = lead[0] if len(lead) == 2 else 1
    samples = rng.random((batch, lead[-1], n)).astype(dtype)
    return x, kernel, out, samples


def _torch(n, x, kernel, out, samples, grad):
    t = torch.tensor(x, requires_grad=True)
    fn = TF.fractional_max_pool2d if n == 2 else TF.fractional_max_pool3d
    t_out, t_idx = fn(
        t, kernel, output_size=out, return_indices=True, _random_samples=torch.tensor(samples)
    )
    t_out.backward(torch.tensor(grad))
    return t_out.detach().numpy(), t_idx.numpy(), t.grad.numpy()


@pytest.mark.parametrize("case", range(150))
@pytest.mark.parametrize("n", [2, 3])
def test_fractional_max_pool_matches_torch_exactly(case, n):
    x, kernel, out, samples = _case(case, n)
    fn = getattr(FR, f"fractional_max_pool{n}d")
    ours, idx = fn(x, kernel, output_size=out, return_indices=True, random_samples=samples)
    g = np.random.default_rng(case).standard_normal(ours.shape).astype(x.dtype)
    t_out, t_idx, t_grad = _torch(n, x, kernel, out, samples, g)
    np.testing.assert_array_equal(ours, t_out)  # NaN where torch has NaN
    np.testing.assert_array_equal(idx, t_idx)
    assert ours.dtype == x.dtype and idx.dtype == np.int64
    back = getattr(FR, f"fractional_max_pool{n}d_backward")(g, idx, x.shape)
    np.testing.assert_allclose(back, t_grad, rtol=1e-6, atol=1e-6)
    ref, ref_idx = R.fractional_max_pool(x, kernel, out, samples, ndim=n)
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(idx, ref_idx)


@pytest.mark.parametrize("n", [2, 3])
def test_each_sample_column_drives_torchs_dimension(n):
    """Swapping the sample columns changes the result: the layout (W, H) / (D, H, W) matters."""
    x = np.random.default_rng(1).standard_normal((1, 1) + (11,) * n)
    samples = np.array([[[0.05, 0.55, 0.95][:n]]])
    kernel, out = 2, (6,) * n
    ours = getattr(FR, f"fractional_max_pool{n}d")(
        x, kernel, output_size=out, return_indices=True, random_samples=samples
    )[1]
    g = np.zeros(ours.shape)
    np.testing.assert_array_equal(ours, _torch(n, x, kernel, out, samples, g)[1])
    swapped = samples[..., ::-1].copy()
    assert not np.array_equal(ours, _torch(n, x, kernel, out, swapped, g)[1])


def test_window_starts_are_computed_in_the_inputs_float_type():
    """A case where float32 and float64 arithmetic place one window differently: torch uses
    the input's type, and so do we."""
    size, k, out, u = 43, 2, 40, 0.6341460347175598  # u is exactly a float32
    s32 = FR.fractional_starts(u, size, out, k, np.float32)
    s64 = FR.fractional_starts(u, size, out, k, np.float64)
    assert not np.array_equal(s32, s64)
    x = np.random.default_rng(0).standard_normal((1, 1, k, size)).astype(np.float32)
    samples = np.array([[[u, 0.0]]], dtype=np.float32)  # column 0 drives the width
    idx = FR.fractional_max_pool2d(
        x, k, output_size=(1, out), return_indices=True, random_samples=samples
    )[1]
    t_idx = _torch(2, x, k, (1, out), samples, np.zeros((1, 1, 1, out), np.float32))[1]
    np.testing.assert_array_equal(idx, t_idx)
    # the same values and sample in float64 arithmetic would pick a different winner here
    idx64 = FR.fractional_max_pool2d(
        x.astype(np.float64),
        k,
        output_size=(1, out),
        return_indices=True,
        random_samples=samples.astype(np.float64),
    )[1]
    assert not np.array_equal(idx64, t_idx)


def test_starts_follow_the_formula_and_steps_are_floor_or_ceil_alpha():
    rng = np.random.default_rng(5)
    for _ in range(300):
        k = int(rng.integers(1, 4))
        out = int(rng.integers(2, 30))
        size = out + k - 1 + int(rng.integers(0, 40))
        u = float(rng.random())
        starts = FR.fractional_starts(u, size, out, k)
        alpha = (size - k) / (out - 1)
        expected = [int(np.floor((i + u) * alpha) - np.floor(u * alpha)) for i in range(out - 1)]
        np.testing.assert_array_equal(starts, [*expected, size - k])
        steps = np.diff(starts)
        assert set(steps) <= {np.floor(alpha), np.ceil(alpha)} and starts[0] == 0
        assert starts.min() >= 0 and starts.max() + k <= size


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("ratio", [0.5, 0.7, 0.33, (0.6, 0.9, 0.25)])
def test_output_ratio_gives_torchs_output_size(n, ratio):
    x = np.random.default_rng(2).standard_normal((1, 2) + (13, 10, 9)[:n])
    r = ratio[:n] if isinstance(ratio, tuple) else ratio
    samples = np.random.default_rng(3).random((1, 2, n))
    ours = getattr(FR, f"fractional_max_pool{n}d")(x, 1, output_ratio=r, random_samples=samples)
    module = (torch.nn.FractionalMaxPool2d if n == 2 else torch.nn.FractionalMaxPool3d)(
        1, output_ratio=r, _random_samples=torch.tensor(samples)
    )
    np.testing.assert_array_equal(ours, module(torch.tensor(x)).numpy())


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_size_rule_is_torchs(n, extra):
    """out + k - 1 vs the input size: 2-D allows equality, 3-D (torch 2.13) does not."""
    k, out = 2, 4
    size = out + k - 1 + extra
    x = np.zeros((1, 1) + (size,) * n)
    samples = np.full((1, 1, n), 0.5)
    fn = TF.fractional_max_pool2d if n == 2 else TF.fractional_max_pool3d
    try:
        fn(torch.tensor(x), k, output_size=out, _random_samples=torch.tensor(samples))
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    try:
        getattr(FR, f"fractional_max_pool{n}d")(x, k, output_size=out, random_samples=samples)
        ours_ok = True
    except ValueError as err:
        ours_ok = False
        assert "output_size + kernel_size - 1" in str(err)
    assert ours_ok == torch_ok


@pytest.mark.parametrize("n", [2, 3])
def test_fractional_backward_passes_gradcheck(n):
    x = tie_free((2, 2) + (7, 8, 6)[:n], seed=n)
    samples = np.random.default_rng(n).random((2, 2, n))
    fn = getattr(FR, f"fractional_max_pool{n}d")
    back = getattr(FR, f"fractional_max_pool{n}d_backward")
    kernel, out = 2, (4, 5, 3)[:n]

    class Bound:  # the same samples at every evaluation, so the windows stay put
        def forward(self, v):
            y, self.idx = fn(v, kernel, out, return_indices=True, random_samples=samples)
            return y

        def backward(self, g):
            return back(g, self.idx, x.shape)

    with np.errstate(all="raise"):
        assert gradcheck(Bound(), x) < 1e-7


@pytest.mark.parametrize("n", [2, 3])
def test_layer_draws_reproducible_samples_and_matches_the_function(n):
    layer_cls = pl.FractionalMaxPool2d if n == 2 else pl.FractionalMaxPool3d
    x = tie_free((2, 3) + (9, 8, 7)[:n], seed=4)
    a, b = layer_cls(2, output_ratio=0.6, rng=7), layer_cls(2, output_ratio=0.6, rng=7)
    out_a, out_b = a(x), b(x)
    np.testing.assert_array_equal(out_a, out_b)  # same seed, same windows
    assert a.random_samples.shape == (2, 3, n) and a.random_samples.dtype == x.dtype
    assert ((a.random_samples >= 0) & (a.random_samples < 1)).all()
    fn = getattr(FR, f"fractional_max_pool{n}d")
    np.testing.assert_array_equal(
        out_a, fn(x, 2, output_ratio=0.6, random_samples=a.random_samples)
    )
    second = a(x)  # a new draw for every forward
    assert not np.array_equal(a.random_samples, b.random_samples)
    g = np.random.default_rng(0).standard_normal(second.shape)
    t = torch.tensor(x, requires_grad=True)
    module = (torch.nn.FractionalMaxPool2d if n == 2 else torch.nn.FractionalMaxPool3d)(
        2, output_ratio=0.6, _random_samples=torch.tensor(a.random_samples)
    )
    t_out = module(t)
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(second, t_out.detach().numpy())
    np.testing.assert_allclose(a.backward(g), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_unbatched_input_and_return_indices_layer():
    layer = pl.FractionalMaxPool2d((2, 3), output_size=(3, 4), return_indices=True, rng=0)
    x = tie_free((2, 6, 9), seed=2)
    out, idx = layer(x)
    assert out.shape == idx.shape == (2, 3, 4) and layer.random_samples.shape == (1, 2, 2)
    np.testing.assert_array_equal(
        out, np.take_along_axis(x.reshape(2, -1), idx.reshape(2, -1), 1).reshape(out.shape)
    )
    assert repr(layer) == "FractionalMaxPool2d(kernel_size=(2, 3), output_size=(3, 4))"


def test_functional_draws_from_rng_when_no_samples_are_given():
    x = tie_free((1, 2, 10, 10), seed=1)
    a = FR.fractional_max_pool2d(x, 2, output_ratio=0.5, rng=3)
    b = FR.fractional_max_pool2d(x, 2, output_ratio=0.5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_integer_input_is_pooled_exactly():
    x = (np.arange(2 * 8 * 8, dtype=np.int64) * 10**12).reshape(2, 8, 8)
    u = np.random.default_rng(0).random((1, 2, 2))
    out, idx = FR.fractional_max_pool2d(x, 2, 5, return_indices=True, random_samples=u)
    assert out.dtype == np.int64
    ref, ref_idx = R.fractional_max_pool(x, (2, 2), (5, 5), u)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(idx, ref_idx)


def test_chapter_numbers_hold_in_torch():
    """The chapter's worked cases, checked against torch itself: exercise 1 (b) with u = 0.7,
    and 10 -> 3 with windows of 2, where inputs 2, 3, 6, 7 lie in no window."""
    row = np.array([[[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]]]])
    samples = np.array([[[0.7, 0.0]]])
    t_out, _, t_grad = _torch(2, row, (1, 2), (1, 4), samples, np.ones((1, 1, 1, 4)))
    assert t_out.ravel().tolist() == [3.0, 4.0, 5.0, 9.0]
    assert t_grad.ravel().tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    wide = tie_free((1, 1, 1, 10), seed=6)
    samples = np.array([[[0.5, 0.0]]])
    _, _, t_grad = _torch(2, wide, (1, 2), (1, 3), samples, np.ones((1, 1, 1, 3)))
    assert FR.fractional_starts(0.5, 10, 3, 2).tolist() == [0, 4, 8]
    assert t_grad.ravel()[[2, 3, 6, 7]].tolist() == [0.0] * 4


def test_torch_layer_keeps_no_samples_and_redraws_in_eval_mode():
    # pooling_3d_fractional says so: torch's module keeps no samples after a forward pass, and
    # eval() does not fix its windows (pooling_lab's layers keep theirs in random_samples)
    torch.manual_seed(0)
    layer = torch.nn.FractionalMaxPool2d(2, output_ratio=0.7)
    x = torch.randn(2, 3, 10, 10)
    layer(x)
    assert getattr(layer, "_random_samples", None) is None and not list(layer.buffers())
    layer.eval()
    outs = [layer(x) for _ in range(5)]
    assert any(not torch.equal(outs[0], out) for out in outs[1:])


@pytest.mark.parametrize(
    ("u", "size", "out", "k", "dtype", "starts"),
    [
        (0.49999999999999994, 5, 3, 1, np.float64, [0, 3, 4]),  # steps 3 and 1, mean step 2
        (0.49999994, 32, 16, 2, np.float32, [0, 3, *range(5, 31, 2), 30]),  # input 2 skipped
    ],
)
def test_rounding_can_break_the_floor_or_ceil_step_rule_as_in_torch(u, size, out, k, dtype, starts):
    # the chapter's exact-arithmetic caveat: with a whole-number mean step, a sample just below
    # a multiple of 1 / s rounds (i + u) s up but u s down; torch does the same
    got = FR.fractional_starts(dtype(u), size, out, k, dtype=dtype)
    assert got.tolist() == starts
    x = torch.arange(size, dtype=getattr(torch, np.dtype(dtype).name)).reshape(1, 1, 1, size)
    samples = torch.tensor([[[u, 0.0]]], dtype=x.dtype)
    _, idx = torch.nn.functional.fractional_max_pool2d(
        x, (1, k), output_size=(1, out), return_indices=True, _random_samples=samples
    )
    assert (idx.flatten() - (k - 1)).tolist() == starts  # an increasing row: the window's last
