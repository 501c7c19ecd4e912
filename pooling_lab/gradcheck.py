"""Finite-difference gradient checking for any function or layer.

A backward pass claims to compute ``g · J`` (a vector-Jacobian product: ``g`` is the gradient
arriving at the output, ``J`` the Jacobian of the forward pass). The check picks a random ``g``,
estimates ``g · J`` one input element at a time with central differences, and reports how far
the backward pass is from that estimate as one relative error over all elements
(:func:`relative_error`).

.. warning::
   Central differences assume the function is smooth between ``x - eps`` and ``x + eps``.
   Max pooling and ReLU have *kinks*: where two window elements tie (or ReLU's input is 0),
   moving one input by ``eps`` changes which element wins, and the finite difference averages
   two different slopes. The check is then meaningless, not the backward pass wrong. Test on
   inputs whose values are well separated (:func:`tie_free`); :func:`gradcheck` warns with a
   :class:`KinkWarning` when it detects one-sided slopes that disagree.

Examples
--------
>>> import pooling_lab as pl
>>> x = pl.gradcheck.tie_free((1, 1, 4, 4), seed=0)
>>> pl.gradcheck.gradcheck(pl.MaxPool2d(2), x) < 1e-7
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = [
    "KinkWarning",
    "gradcheck",
    "gradcheck_parameters",
    "numerical_vjp",
    "relative_error",
    "tie_free",
]


class KinkWarning(UserWarning):
    """A finite difference crossed a kink: the function is not differentiable there."""


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-12) -> float:
    """``||a - n|| / max(||a||, ||n||)``: how far two gradient estimates are apart, relatively.

    The norms are Euclidean over all elements. Measuring the whole vector, rather than each
    element on its own scale, keeps tiny gradient entries (whose finite-difference estimate is
    mostly rounding noise) from dominating the verdict.

    Parameters
    ----------
    analytic, numeric : ndarray
        Two estimates of the same gradient.
    floor : float, default 1e-12
        Smallest denominator, for when both are (nearly) zero.

    Returns
    -------
    float
        0.0 for identical (or empty) arrays; about 1 when they disagree completely.

    Examples
    --------
    >>> import numpy as np
    >>> relative_error(np.array([1.0, 0.0]), np.array([1.001, 0.0]))
    0.000999000999000...
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} and {n.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.linalg.norm(a), np.linalg.norm(n), floor)
    return float(np.linalg.norm(a - n) / scale)


def numerical_vjp(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    grad_output: np.ndarray,
    eps: float = 1e-6,
    *,
    kinks: list | None = None,
) -> np.ndarray:
    """Central-difference estimate of ``grad_output · df/dx``, one input element at a time.

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to an array shaped like ``grad_output``.
    x : ndarray
        Point of evaluation; it is copied to float64 and never modified.
    grad_output : ndarray
        The vector ``g`` in ``g · J``.
    eps : float, default 1e-6
        Step size.
    kinks : list, optional
        If given, the index of every element where the left and right slopes disagree
        (a kink) is appended to it.

    Returns
    -------
    ndarray
        float64 array shaped like ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> numerical_vjp(lambda v: v ** 2, np.array([3.0]), np.array([1.0])).round(6)
    array([6.])
    """
    x = np.array(x, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    center = np.asarray(f(x), dtype=np.float64).copy() if kinks is not None else None
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        original = x[i]
        x[i] = original + eps
        plus = np.array(f(x), dtype=np.float64)
        x[i] = original - eps
        minus = np.array(f(x), dtype=np.float64)
        x[i] = original
        # Subtract before summing: outputs that x[i] does not reach cancel exactly, so their
        # rounding noise never enters the estimate.
        grad[i] = np.sum((plus - minus) * g) / (2 * eps)
        if center is not None:
            right = np.sum((plus - center) * g) / eps
            left = np.sum((center - minus) * g) / eps
            if abs(right - left) > 1e-3 * max(1.0, abs(right), abs(left)):
                kinks.append(i)
    return grad


def gradcheck(
    f,
    x: np.ndarray,
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    grad_output: np.ndarray | None = None,
    eps: float = 1e-6,
    seed: int = 0,
) -> float:
    """Compare a backward pass with finite differences; return their relative error.

    Parameters
    ----------
    f : layer or callable
        Either a layer with ``forward(x)`` and ``backward(grad_output)``, or a function
        ``f(x) -> y``, in which case ``backward`` must be given.
    x : ndarray
        Input to check at. It is converted to float64 (the check needs the precision).
    backward : callable, optional
        ``backward(x, grad_output) -> grad_input`` for a plain function ``f``.
    grad_output : ndarray, optional
        The output gradient to propagate; default: standard normal, from ``seed``.
    eps : float, default 1e-6
        Finite-difference step.
    seed : int, default 0
        Seed for the default ``grad_output``.

    Returns
    -------
    float
        ``relative_error(analytic, numeric)``; below 1e-7 means the backward pass agrees.

    Warns
    -----
    KinkWarning
        If some input element sits on a kink, where no finite difference can be trusted.

    Examples
    --------
    >>> import numpy as np
    >>> square = lambda v: v ** 2
    >>> gradcheck(square, np.array([1.0, -2.0]), lambda v, g: 2 * v * g) < 1e-7
    True
    >>> gradcheck(square, np.array([1.0, -2.0]), lambda v, g: v * g) > 0.1  # a wrong backward
    True
    """
    x = np.array(x, dtype=np.float64)
    if backward is None:
        if not (hasattr(f, "forward") and hasattr(f, "backward")):
            raise TypeError(
                "gradcheck: f must be a layer with forward and backward, or a function passed "
                "together with backward(x, grad_output)"
            )
        layer = f

        def forward(v):
            return layer.forward(v)

        y = forward(x)
        g = _grad_output(grad_output, y, seed)
        analytic = layer.backward(g)
    else:
        forward = f
        y = forward(x)
        g = _grad_output(grad_output, y, seed)
        analytic = backward(x, g)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(
            f"gradcheck: the backward pass returned shape {analytic.shape}, but the input has "
            f"shape {x.shape}"
        )
    kinks: list = []
    numeric = numerical_vjp(forward, x, g, eps, kinks=kinks)
    if kinks:
        warnings.warn(
            f"gradcheck: {len(kinks)} input element(s), first {kinks[0]}, sit on a kink (a tie "
            "or a zero): the slopes left and right of them differ, so finite differences say "
            "nothing there; check at a tie-free input (see tie_free)",
            KinkWarning,
            stacklevel=2,
        )
    return relative_error(analytic, numeric)


def _grad_output(grad_output, y, seed):
    y = np.asarray(y)
    if grad_output is None:
        return np.random.default_rng(seed).standard_normal(y.shape)
    g = np.asarray(grad_output, dtype=np.float64)
    if g.shape != y.shape:
        raise ValueError(
            f"gradcheck: grad_output has shape {g.shape}, but the output has shape {y.shape}"
        )
    return g


def tie_free(
    shape: tuple[int, ...], seed: int = 0, dtype=np.float64, gap: float = 0.1
) -> np.ndarray:
    """Random input with no ties and no zeros: safe for finite differences through max and ReLU.

    The values are a shuffled ladder ``gap * (k - n // 2) + gap / 2`` for ``k = 0 .. n-1``, so
    any two differ by at least ``gap`` and none lies closer than ``gap / 2`` to zero.

    Parameters
    ----------
    shape : tuple of int
        Shape of the result.
    seed : int, default 0
        Seed of the shuffle.
    dtype : dtype, default float64
        Result dtype.
    gap : float, default 0.1
        Smallest distance between two values.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> x = tie_free((2, 3), seed=1)
    >>> len(set(x.ravel().tolist())) == x.size and bool((abs(x) >= 0.05).all())
    True
    """
    n = int(np.prod(shape))
    ladder = gap * (np.arange(n) - n // 2) + gap / 2
    return np.random.default_rng(seed).permutation(ladder).reshape(shape).astype(dtype)


def gradcheck_parameters(layer, x: np.ndarray, *, eps: float = 1e-6, seed: int = 0) -> dict:
    """Check a layer's parameter gradients (its ``grads`` after ``backward``) numerically.

    Build the layer in float64 for this (e.g. ``Conv2d(..., dtype=np.float64)``): the
    parameters are perturbed in place and restored.

    Parameters
    ----------
    layer : layer
        Has ``params`` and ``grads`` dicts, ``forward`` and ``backward``.
    x : ndarray
        The input to check at.
    eps : float, default 1e-6
        Finite-difference step.
    seed : int, default 0
        Seed of the random output gradient.

    Returns
    -------
    dict
        Parameter name to :func:`relative_error` of its gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from pooling_lab.training import Linear
    >>> layer = Linear(3, 2, dtype=np.float64)
    >>> errors = gradcheck_parameters(layer, np.ones((4, 3)))
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['bias', 'weight'], True)
    """
    x = np.array(x, dtype=np.float64)
    g = _grad_output(None, layer.forward(x), seed)
    layer.backward(g)
    analytic = {name: np.array(grad, dtype=np.float64) for name, grad in layer.grads.items()}
    errors = {}
    for name, param in layer.params.items():
        if param.dtype != np.float64:
            raise TypeError(
                f"gradcheck_parameters: parameter {name!r} is {param.dtype}; build "
                "the layer with dtype=np.float64 to check it"
            )

        def as_function(values, param=param):
            saved = param.copy()
            param[...] = values
            try:
                return layer.forward(x)
            finally:
                param[...] = saved

        numeric = numerical_vjp(as_function, param.copy(), g, eps)
        errors[name] = relative_error(analytic[name], numeric)
    return errors
