"""Animations of one window: the three tie rules, and max, average and log-sum-exp pooling."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ._svg import CELL, DOT, TIMES, Animation, Canvas, check_plane, num, panel_width, table
from .animate import GAP, _legend, _set

__all__ = ["animate_family", "animate_ties"]


def _check_grad(fn: str, grad) -> float:
    if isinstance(grad, (bool, np.bool_)) or not isinstance(grad, (int, float, np.number)):
        raise TypeError(f"{fn}: grad must be a real number, but got {grad!r}")
    g = float(grad)
    if not math.isfinite(g):
        raise ValueError(f"{fn}: grad must be finite, but got {grad!r}")
    return g


def _panels(c: Canvas, window: np.ndarray, titles: Sequence[str], *, bars=False) -> None:
    """The window, then one empty panel per title, side by side."""
    kh, kw = window.shape
    c.grid("w", 0, 44, [[num(v) for v in row] for row in window], title="window", index=False)
    x = panel_width(kw, "window") + GAP
    blank = [[""] * kw for _ in range(kh)]
    for n, title in enumerate(titles):
        c.grid(("p", n), x, 44, blank, cls=[["c empty"] * kw for _ in range(kh)], title=title,
               index=False, bars=bars)  # fmt: skip
        c.text(x, 44 + kh * CELL + 18, "", "lg", name=("total", n))
        x += panel_width(kw, title) + GAP
    c.extend(x, 44 + kh * CELL + 24)


def _fill(c: Canvas, ov: dict, n: int, grad: np.ndarray, g: float, *, bars=False) -> None:
    for (r, q), v in np.ndenumerate(grad):
        _set(c, ov, (("p", n), r, q, "r"), "c nz" if v != 0 else "c")
        _set(c, ov, (("p", n), r, q, "v"), "v b" if v != 0 else "v", num(v))
        if bars:
            share = round(abs(v / g), 9) if g else 0.0
            _set(c, ov, (("p", n), r, q, "b"), width=round((CELL - 6) * min(share, 1.0), 1))


def animate_ties(window: np.ndarray, grad: float = 1.0) -> Animation:
    """Animate one tied window's gradient under the three tie rules of :mod:`pooling_lab.ties`.

    Frame 0 shows the window with its tied maxima marked "="; frames 1 to 3 fill in the
    gradient each element receives under ``"first"`` (all of ``g`` to the first maximum in
    row-major order), ``"split"`` (``g / t`` to each of the ``t`` tied maxima) and ``"all"``
    (``g`` to each: total ``t * g``, not a valid gradient), each panel with its total.

    Parameters
    ----------
    window : array_like
        One (kh, kw) window of real numbers, at most 12 x 12.
    grad : float, default 1.0
        The gradient arriving at the window's output.

    Returns
    -------
    Animation

    Raises
    ------
    ValueError
        If ``window`` is not 2-D or too large, has a single maximum (the three rules then
        agree), or ``grad`` is not finite.
    TypeError
        If ``window`` or ``grad`` is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> anim = animate_ties(np.array([[2., 2.], [1., 2.]]), grad=2.0)
    >>> len(anim.frames)
    4
    >>> [(f["rule"], f["total"]) for f in anim.frames[1:]]
    [('first', 2.0), ('split', 2.0), ('all', 6.0)]
    """
    from ..ties import RULES, max_pool2d_backward_ties

    fn = "animate_ties"
    window = check_plane(fn, "window", window)
    g = _check_grad(fn, grad)
    kh, kw = window.shape
    top = window.max()
    tied = np.argwhere(window == top)
    t = len(tied)
    if t < 2:  # the three rules agree on a single maximum: nothing to show
        raise ValueError(
            f"{fn}: window must have a tied maximum (at least two elements equal to its "
            f"largest value), but its maximum {num(top)} occurs once"
        )
    c = Canvas()
    _panels(c, window, RULES)
    _legend(c, c.height + 14, [("c tie", "=", "a tied maximum"), ("c nz", "g", "receives")])
    base = {}
    for r, q in tied:
        _set(c, base, ("w", r, q, "r"), "c tie")
        _set(c, base, ("w", r, q, "m"), text="=max")
    states, frames = [dict(base)], [{"rule": None, "tied": tied.tolist(), "max": float(top)}]
    captions = [
        f"A {kh}{TIMES}{kw} window with {t} tied maxima of value {num(top)} (marked =max); the "
        f"gradient arriving at its output is g = {num(g)}. Three rules share it out."
    ]
    first = tuple(int(v) for v in tied[0])
    words = {
        "first": f"first (PyTorch's CPU rule): all of g = {num(g)} goes to the first maximum in "
        f"row-major order, {first}; the others get 0.",
        "split": f"split: each of the {t} tied maxima gets g/{t} = {num(g / t)}. Also a valid "
        "gradient.",
        "all": f"all: each of the {t} tied maxima gets the whole g = {num(g)}, so g is counted "
        f"{t} times: not a valid gradient, shown for study.",
    }
    ov = dict(base)
    for n, rule in enumerate(RULES):
        share = max_pool2d_backward_ties(
            window[None], np.full((1, 1, 1), g), window.shape, rule=rule
        )[0]
        total = math.fsum(share.ravel())
        ov = dict(ov)
        _fill(c, ov, n, share, g)
        expected = "g" if rule != "all" else f"{t}{DOT}g"
        _set(c, ov, ("total", n), text=f"total {num(total)} = {expected}")
        states.append(ov)
        captions.append(f"{words[rule]} Total {num(total)} = {expected}.")
        frames.append({"rule": rule, "grad": share.tolist(), "total": total})
    alt = (
        f"Animation, 4 frames: the window {table(window)} has {t} tied maxima of value "
        f"{num(top)}; with output gradient g = {num(g)}, rule first gives all of g to the "
        f"first maximum (total {num(g)}), split gives each g/{t} (total {num(g)}), all gives "
        f"each g (total {num(t * g)}, not a valid gradient)."
    )
    return Animation("animate_ties", alt, frames, captions, c, states)


def animate_family(
    window: np.ndarray,
    grad: float = 1.0,
    temperatures: Sequence[float] = (10.0, 3.0, 1.0, 0.3, 0.1),
) -> Animation:
    """Animate how max, average and log-sum-exp pooling share one window's gradient.

    Frame 1: max pooling routes all of ``g`` to the maximum (the first, if tied). Frame 2:
    average pooling gives every one of the ``k`` elements ``g / k``. Then one frame per
    temperature ``T``: log-sum-exp pooling gives each element ``g`` times its softmax weight
    ``exp(x / T) / sum(exp(x / T))``, near-uniform for a large ``T`` and near-max for a small
    one. A bar in each cell shows its share of ``g``. The numbers come from
    :func:`pooling_lab.functional.max_pool2d_backward`,
    :func:`pooling_lab.functional.avg_pool2d_backward` and
    :func:`pooling_lab.generalized.lse_pool2d_backward`.

    Parameters
    ----------
    window : array_like
        One (kh, kw) window of real numbers, at most 12 x 12.
    grad : float, default 1.0
        The gradient arriving at the window's output.
    temperatures : sequence of float, default (10, 3, 1, 0.3, 0.1)
        The log-sum-exp temperatures, in the order shown; each finite and > 0.

    Returns
    -------
    Animation

    Raises
    ------
    ValueError
        If ``window`` is not 2-D or too large, ``grad`` is not finite, or a temperature is not
        a finite number > 0 (or there are none, or more than 20).
    TypeError
        If ``window`` or ``grad`` is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> anim = animate_family(np.array([[1., 3.], [2., 4.]]), temperatures=(10.0, 0.1))
    >>> len(anim.frames)  # the window, max, average, two temperatures
    5
    >>> [f["pool"] for f in anim.frames]
    [None, 'max', 'avg', 'lse', 'lse']
    >>> anim.frames[2]["weights"]
    [[0.25, 0.25], [0.25, 0.25]]
    """
    from ..generalized import lse_pool2d_backward

    fn = "animate_family"
    window = check_plane(fn, "window", window)
    g = _check_grad(fn, grad)
    temps = list(temperatures) if not isinstance(temperatures, (int, float)) else [temperatures]
    if not 1 <= len(temps) <= 20:
        raise ValueError(f"{fn}: temperatures must hold 1 to 20 values, but got {len(temps)}")
    for T in temps:
        if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, float, np.number)):
            raise TypeError(f"{fn}: temperatures must be real numbers, but got {T!r}")
        if not (math.isfinite(T) and T > 0):
            raise ValueError(f"{fn}: temperatures must be finite and > 0, but got {T!r}")
    kh, kw = window.shape
    k = window.size
    c = Canvas()
    titles = ("max", "average", f"log-sum-exp, T = {num(temps[0])}")
    _panels(c, window, titles, bars=True)
    y = c.height + 14
    _legend(c, y, [("c win", "max", "the maximum"), ("c nz", "", "receives"),
            ("c", "", "bar: share of g")])  # fmt: skip
    # the third swatch holds a bar, as the cells do (its x: after the first two items)
    bar_x = sum(40 + 6.6 * len(label) for label in ("the maximum", "receives"))
    c.add("rect", {"x": bar_x + 3, "y": y + 16, "width": 11, "height": 3, "class": "bar"})
    x = window[None]
    gout = np.full((1, 1, 1), g)
    _, idx = F.max_pool2d(x, window.shape, return_indices=True)
    top = divmod(int(idx.ravel()[0]), kw)
    base = {}
    _set(c, base, ("w", *top, "r"), "c win")
    _set(c, base, ("w", *top, "m"), text="max")
    states, frames = [dict(base)], [{"pool": None, "temperature": None}]
    captions = [
        f"A {kh}{TIMES}{kw} window (k = {k} elements), output gradient g = {num(g)}. How do "
        "max, average and log-sum-exp pooling share g out?"
    ]
    rounds = [
        ("max", None, F.max_pool2d_backward(gout, idx, x.shape)[0]),
        ("avg", None, F.avg_pool2d_backward(gout, x.shape, window.shape)[0]),
    ] + [("lse", T, lse_pool2d_backward(gout, x, window.shape, temperature=T)[0]) for T in temps]
    ov = dict(base)
    for pool, T, share in rounds:
        ov = dict(ov)
        n = {"max": 0, "avg": 1, "lse": 2}[pool]
        _fill(c, ov, n, share, g, bars=True)
        weights = share / g if g else np.zeros_like(share)
        total = math.fsum(share.ravel())
        _set(c, ov, ("total", n), text=f"total {num(total)}")
        if pool == "max":
            text = f"max: all of g = {num(g)} goes to the maximum {num(window[top])} at {top}; "
            text += f"the other {k - 1} elements get 0."
        elif pool == "avg":
            text = f"average: each of the k = {k} elements gets g/k = {num(g / k)}."
        else:
            _set(c, ov, (("p", 2), "title"), text=f"log-sum-exp, T = {num(T)}")
            text = (
                f"log-sum-exp at temperature T = {num(T)}: each element gets g times its "
                f"softmax weight; the weights {table(weights)} sum to 1, and the maximum gets "
                f"{num(weights[top])} of g."
            )
        states.append(ov)
        captions.append(text + f" Total {num(total)} = g.")
        frames.append({"pool": pool, "temperature": T, "grad": share.tolist(),
                       "weights": weights.tolist(), "total": total})  # fmt: skip
    alt = (
        f"Animation, {len(frames)} frames, on the window {table(window)} with output gradient "
        f"g = {num(g)}: max pooling sends all of g to the maximum; average pooling gives each "
        f"of the {k} elements g/{k}; log-sum-exp pooling gives softmax weights, stepped through "
        f"the temperatures {', '.join(num(T) for T in temps)}: near-uniform when T is large, "
        "near the max when T is small. Every total is g."
    )
    return Animation("animate_family", alt, frames, captions, c, states)
