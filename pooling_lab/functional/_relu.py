"""ReLU, the smallest max pooling: the maximum over the pair {0, x}."""

from __future__ import annotations

import numpy as np

from .._params import check_float


def relu(input: np.ndarray) -> np.ndarray:
    """Rectified linear unit, ``max(0, x)`` elementwise; NaN stays NaN.

    Parameters
    ----------
    input : ndarray
        Real array of any shape.

    Returns
    -------
    ndarray
        ``max(0, input)``, of the input's dtype.

    Raises
    ------
    TypeError
        If the input is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import relu
    >>> relu(np.array([-2., 0., 3.]))
    array([0., 0., 3.])
    """
    x = np.asarray(input)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"relu: input must have a real numeric dtype, but got dtype {x.dtype}")
    # np.maximum propagates NaN, as torch.relu does.
    return np.maximum(x, np.zeros((), dtype=x.dtype))


def relu_backward(grad_output: np.ndarray, input: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu`: ``grad_output`` where ``input > 0``, else 0.

    At the kink ``x == 0`` the gradient is 0, PyTorch's convention (any value in [0, 1] is a
    valid subgradient there). Like PyTorch, a NaN input lets the gradient through.

    Parameters
    ----------
    grad_output : ndarray
        Gradient with respect to the output, float.
    input : ndarray
        The forward input, same shape.

    Returns
    -------
    ndarray
        Gradient with respect to the input, of ``grad_output``'s dtype.

    Raises
    ------
    ValueError
        If the shapes differ.
    TypeError
        If ``grad_output`` is not float.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.functional import relu_backward
    >>> relu_backward(np.array([5., 5., 5.]), np.array([-1., 0., 2.]))
    array([0., 0., 5.])
    """
    g = check_float("relu_backward", "grad_output", grad_output)
    x = np.asarray(input)
    if x.shape != g.shape:
        raise ValueError(
            f"relu_backward: grad_output of shape {g.shape} must have the input's shape {x.shape}"
        )
    # "x <= 0 gives 0" rather than "x > 0 passes" so that NaN passes, matching PyTorch.
    blocked = np.less_equal(x, 0)
    if g.itemsize not in (2, 4, 8):  # long double: no integer of its width
        return np.where(blocked, np.zeros((), dtype=g.dtype), g)
    # The same bits as np.where(blocked, 0, g), about 7x faster here: keep every bit of g
    # (mask -1) where the input passes, none (mask 0, which is +0.0) where it is blocked.
    # An inf or NaN gradient passes unchanged, which g * (x > 0) would not do.
    keep = blocked.astype(f"i{g.itemsize}")
    keep -= 1
    return np.bitwise_and(g.view(keep.dtype), keep).view(g.dtype)
