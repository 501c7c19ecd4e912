"""What PyTorch (2.13, CPU) does on tied maxima, measured; the course's prose relies on it.

- max pooling gives a tied window's whole gradient to the first maximum in row-major window
  order (the documentation does not say which maximum; this test is the course's evidence);
- ReLU's slope at exactly 0 is 0;
- ``torch.max(input)`` without ``dim`` and ``torch.amax`` split the gradient evenly between equal
  values, while ``torch.max(input, dim)`` sends it to the one index it returns (documented; the
  test checks the installed version does what the documentation says).

torch is only a test reference; these tests skip when it is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

import pooling_lab as pl
from pooling_lab.ties import max_pool2d_backward_ties

torch = pytest.importorskip(
    "torch", reason="torch is not installed; run `pip install torch==2.13.0` for these tests"
)

WINDOWS = [
    np.array([[2.0, 2.0], [1.0, 2.0]]),  # three tied maxima, the first at (0, 0)
    np.array([[0.0, 3.0], [3.0, 3.0]]),  # three tied maxima, the first at (0, 1)
    np.zeros((2, 2)),  # a window of zeros, as after a ReLU
    np.array([[1.0, 0.0], [5.0, 5.0]]),  # two tied maxima in the second row
]


def _grad(fn, x):
    t = torch.tensor(x, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize("window", WINDOWS)
def test_torch_max_pool_gives_a_tie_to_the_first_maximum(window):
    x = window[None, None]
    theirs = _grad(lambda t: torch.nn.functional.max_pool2d(t, 2), x)
    first = max_pool2d_backward_ties(x, np.ones((1, 1, 1, 1)), 2, rule="first")
    split = max_pool2d_backward_ties(x, np.ones((1, 1, 1, 1)), 2, rule="split")
    assert np.array_equal(theirs, first)
    assert not np.array_equal(theirs, split)
    ours = pl.MaxPool2d(2)
    ours(x)
    assert np.array_equal(ours.backward(np.ones((1, 1, 1, 1))), theirs)


def test_torch_relu_slope_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 1.0])
    assert np.array_equal(_grad(torch.relu, x), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("window", WINDOWS)
def test_torch_max_without_dim_and_amax_split_ties(window):
    split = max_pool2d_backward_ties(window[None, None], np.ones((1, 1, 1, 1)), 2, rule="split")
    assert np.allclose(_grad(torch.max, window), split[0, 0])
    assert np.allclose(_grad(lambda t: torch.amax(t, dim=(0, 1)), window), split[0, 0])


def test_torch_max_with_dim_sends_a_tie_to_the_returned_index():
    row = np.array([1.0, 4.0, 4.0, 2.0])
    t = torch.tensor(row, requires_grad=True)
    value, index = torch.max(t, dim=0)
    value.backward()
    expected = np.zeros(4)
    expected[int(index)] = 1.0
    assert np.array_equal(t.grad.numpy(), expected)
    assert t.grad.numpy().sum() == 1.0


def test_torch_maximum_splits_a_tie():
    # The first-maximum rule is PyTorch's max pooling rule only; its elementwise max does not
    # follow it (the max2 exercise and its checker hints say so).
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([2.0, 1.0], requires_grad=True)
    torch.maximum(a, b).sum().backward()
    assert np.array_equal(a.grad.numpy(), [0.5, 1.0])
    assert np.array_equal(b.grad.numpy(), [0.5, 0.0])


def test_torch_maximum_passes_a_nan_output_s_gradient_to_both_arguments():
    # max_derivative's footnote to the max2 exercise: libraries differ on NaN, and this is
    # torch's elementwise max (its max pooling gives the gradient to the last NaN instead).
    a = torch.tensor([np.nan, 1.0], requires_grad=True)
    b = torch.tensor([1.0, np.nan], requires_grad=True)
    out = torch.maximum(a, b)
    assert torch.isnan(out).all()
    out.sum().backward()
    assert np.array_equal(a.grad.numpy(), [1.0, 1.0])
    assert np.array_equal(b.grad.numpy(), [1.0, 1.0])


def test_torch_slopes_at_a_kink_follow_how_the_function_is_written():
    # max_derivative: PyTorch's autograd notes ask for the minimum-norm subgradient of a function
    # that is convex near the kink; relu follows it (0 at 0), clamp(min=0) does not (1 at 0),
    # and maximum(x, 0) splits the tie (1/2). Max pooling departs from it too (first maximum,
    # test_torch_max_pool_gives_a_tie_to_the_first_maximum), while amax splits 1/t (above).
    x = np.array([0.0])
    assert _grad(torch.relu, x).tolist() == [0.0]
    assert _grad(lambda t: torch.clamp(t, min=0), x).tolist() == [1.0]
    assert _grad(lambda t: torch.maximum(t, torch.zeros_like(t)), x).tolist() == [0.5]


def test_torch_max_pool_saves_its_input_for_backward():
    # maxpool_forward: pooling_lab's layer keeps only the indices and the input's shape; PyTorch's
    # autograd node saves the input too (its backward needs only the indices and the shape)
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    node = torch.nn.functional.max_pool2d(x, 2).grad_fn
    assert torch.equal(node._saved_self, x)
