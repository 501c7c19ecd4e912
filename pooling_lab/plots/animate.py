"""Animations of max pooling's forward and backward passes, as self-contained HTML players.

Each function returns an :class:`~pooling_lab.plots._svg.Animation`: a notebook shows it as an
SVG with buttons to step through the frames (no matplotlib, no network), and its ``frames``,
``captions`` and ``alt`` hold the same content as data and words. The numbers come from
:func:`pooling_lab.functional.max_pool2d` and its backward, so the animation shows what the
package computes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .._params import make_window
from ._svg import (
    MAX_FRAMES,
    MINUS,
    TIMES,
    Animation,
    Canvas,
    check_plane,
    num,
    panel_width,
    span,
    table,
    term,
)

__all__ = ["animate_backward", "animate_forward"]

GAP = 56


def _setup(fn, x, kernel_size, stride, padding, dilation, ceil_mode, extra_frames):
    """The windows of max pooling on the plane ``x``: geometry, output and winners."""
    win = make_window(fn, 2, kernel_size, stride, padding, dilation, ceil_mode)
    ho, wo = win.output_size(x.shape)
    if ho * wo + extra_frames > MAX_FRAMES:
        raise ValueError(
            f"{fn}: {ho} x {wo} = {ho * wo} windows are too many to step through (at most "
            f"{MAX_FRAMES - extra_frames}); use a smaller x or a larger stride"
        )
    out, idx = F.max_pool2d(
        x[None], kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
    )
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = win.kernel, win.stride, win.padding, win.dilation
    windows = []
    for oh in range(ho):
        for ow in range(wo):
            rows = [oh * sh - ph + i * dh for i in range(kh)]
            cols = [ow * sw - pw + j * dw for j in range(kw)]
            windows.append({"pos": (oh, ow), "rows": rows, "cols": cols})
    lo = (-ph, -pw)
    hi = (
        max(x.shape[0] - 1 + ph, max(w["rows"][-1] for w in windows)),
        max(x.shape[1] - 1 + pw, max(w["cols"][-1] for w in windows)),
    )
    return win, out[0], idx[0], windows, lo, hi


def _kind(x, win, h, w) -> str:
    (ph, pw), (rows, cols) = win.padding, x.shape
    if 0 <= h < rows and 0 <= w < cols:
        return "in"
    return "pad" if -ph <= h < rows + ph and -pw <= w < cols + pw else "void"


BASE = {"in": "c", "pad": "c pad", "void": "c void off"}


def _describe(win, x) -> str:
    parts = [f"kernel {_pair(win.kernel)}", f"stride {_pair(win.stride)}"]
    if any(win.padding):
        parts.append(f"padding {_pair(win.padding)} (a ring of {MINUS}\u221e)")
    if any(d > 1 for d in win.dilation):
        parts.append(f"dilation {_pair(win.dilation)}")
    if win.ceil_mode:
        parts.append("ceil_mode")
    return f"a {x.shape[0]}{TIMES}{x.shape[1]} input, " + ", ".join(parts)


def _pair(t) -> str:
    return str(t[0]) if t[0] == t[1] else f"{t[0]}{TIMES}{t[1]}"


def _input_panel(canvas, name, x, win, lo, hi, x0, y0, title):
    texts, classes = [], []
    for h in range(lo[0], hi[0] + 1):
        texts.append([])
        classes.append([])
        for w in range(lo[1], hi[1] + 1):
            kind = _kind(x, win, h, w)
            texts[-1].append(num(x[h, w]) if kind == "in" else ("" if kind == "void" else
                             MINUS + "\u221e"))  # fmt: skip
            classes[-1].append(BASE[kind])
    canvas.grid(name, x0, y0, texts, row0=lo[0], col0=lo[1], cls=classes, title=title)
    return x0 + panel_width(len(texts[0]), title)


def _set(canvas, ov, name, cls=None, text=None, width=None):
    old = ov.get(name, canvas.base[canvas.keys[name]])
    ov[name] = (
        old[0] if cls is None else cls,
        old[1] if text is None else text,
        old[2] if width is None else width,
    )


def _legend(canvas, y, items):
    x = 0
    for cls, mark, label in items:
        canvas.add("rect", {"x": x, "y": y, "width": 22, "height": 22, "class": cls})
        canvas.text(x + 11, y + 11, mark, "v lm" if len(mark) > 2 else "v b")
        canvas.text(x + 28, y + 15, label, "lg")
        x += 40 + 6.6 * len(label)
    canvas.extend(x, y + 24)


def _maxima(x, win, w, top) -> int:
    """How many of window ``w``'s real inputs (not padding) equal its maximum ``top``."""
    return sum(x[r, q] == top for r in w["rows"] for q in w["cols"] if _kind(x, win, r, q) == "in")


def _count(n: int, noun: str) -> str:
    """'1 window', '4 windows'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _wins(count) -> str:
    return "W" if count == 1 else f"W{TIMES}{count}"


def _window_words(x, win, w) -> str:
    kinds = [_kind(x, win, h, c) for h in w["rows"] for c in w["cols"]]
    text = f"Window ({w['pos'][0]}, {w['pos'][1]}) covers rows {span(w['rows'])}, columns "
    text += span(w["cols"])
    if kinds.count("pad"):
        text += f"; {kinds.count('pad')} of its positions are {MINUS}\u221e padding"
    if kinds.count("void"):
        text += f"; {kinds.count('void')} fall beyond the padded input and are left out (ceil_mode)"
    return text


def animate_forward(
    x: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
) -> Animation:
    """Animate max pooling's forward pass on one small plane, window by window.

    Frame 0 shows the input (with its ring of -inf padding, if any); then one frame per window:
    the window is outlined (dashed), its maximum marked "max", the output cell filled in and
    the winner's flat index recorded in the index grid; the last frame shows every winner
    ("W", or "Wx2" for an input that won two windows). With dilation, only the window's
    dilated positions are outlined; with ``ceil_mode``, an extra partial window's positions
    beyond the padded input are drawn dotted and left out.

    Parameters
    ----------
    x : array_like
        One (H, W) plane of real numbers, at most 12 x 12.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`pooling_lab.functional.max_pool2d`.

    Returns
    -------
    Animation
        Shown as a player in a notebook; ``frames`` (one dict per frame), ``captions`` and
        ``alt`` describe it in data and words.

    Raises
    ------
    ValueError
        If ``x`` is not 2-D, larger than 12 x 12, there would be more than 148 windows, or
        the window arguments are invalid (the message names the argument).
    TypeError
        If ``x`` is not real-valued or an argument has the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> anim = animate_forward(np.arange(16.).reshape(4, 4), 2)
    >>> len(anim.frames)  # the input, 4 windows, all winners
    6
    >>> print(anim.captions[2])
    Window (0, 1) covers rows 0\u20131, columns 2\u20133; its maximum 7 is at input (1, 3), flat index 7; output (0, 1) = 7.
    >>> anim.frames[-1]["output"]
    [[5.0, 7.0], [13.0, 15.0]]
    """  # noqa: E501
    fn = "animate_forward"
    x = check_plane(fn, "x", x)
    win, out, idx, windows, lo, hi = _setup(
        fn, x, kernel_size, stride, padding, dilation, ceil_mode, 2
    )
    ho, wo = out.shape
    c = Canvas()
    right = _input_panel(c, "x", x, win, lo, hi, 20, 44, "input")
    blank = [[""] * wo for _ in range(ho)]
    empty = [["c empty"] * wo for _ in range(ho)]
    title = "output (window maxima)"
    c.grid("y", right + GAP, 44, blank, cls=empty, title=title)
    x2 = right + 2 * GAP + panel_width(wo, title)
    # in words, not h·W + w: the chapters keep W for weights (and the players use it for winners)
    c.grid("i", x2, 44, blank, cls=empty, title=f"indices (row {TIMES} {x.shape[1]} + column)")
    _legend(c, c.height + 18, [("c win", "max", "this window's maximum"),
            ("c won", "W", "won a window"), ("c cw", "", "this window"),
            ("c pad", MINUS + "\u221e", "padding")])  # fmt: skip

    where = [divmod(int(i), x.shape[1]) for i in idx.ravel()]
    setup = _describe(win, x)
    frames = [{"step": "input", "window": None, "output": [[None] * wo for _ in range(ho)]}]
    captions = [
        f"Max pooling {setup}: {len(windows)} windows, output {ho}{TIMES}{wo}. "
        "Step through the windows with the buttons."
    ]
    states = [{}]
    won: dict = {}
    for n, w in enumerate(windows):
        ov = {}
        for (h, col), count in won.items():
            _set(c, ov, ("x", h, col, "r"), "c won")
            _set(c, ov, ("x", h, col, "m"), text=_wins(count))
        for h in w["rows"]:
            for col in w["cols"]:
                kind = _kind(x, win, h, col)
                cls = "c won cw" if (h, col) in won else BASE[kind].replace(" off", "") + " cw"
                _set(c, ov, ("x", h, col, "r"), cls)
        (h, col), (oh, ow) = where[n], w["pos"]
        _set(c, ov, ("x", h, col, "r"), "c win")
        _set(c, ov, ("x", h, col, "m"), text="max")
        won[h, col] = won.get((h, col), 0) + 1
        for m, (a, b) in enumerate(divmod(k, wo) for k in range(n + 1)):
            cls = "c cur" if m == n else "c"
            for grid, text in (("y", num(out[a, b])), ("i", str(int(idx[a, b])))):
                _set(c, ov, (grid, a, b, "r"), cls)
                _set(c, ov, (grid, a, b, "v"), text=text)
        states.append(ov)
        value = x[h, col]
        ties = _maxima(x, win, w, value)
        tie = (
            f" (tied with {ties - 1} other{'s' if ties > 2 else ''}; the first in row-major "
            "order wins)"
            if ties > 1
            else ""
        )
        captions.append(
            f"{_window_words(x, win, w)}; its maximum {num(value)} is at input ({h}, {col}), "
            f"flat index {int(idx[oh, ow])}{tie}; output ({oh}, {ow}) = {num(out[oh, ow])}."
        )
        filled = [[float(out[a, b]) if a * wo + b <= n else None for b in range(wo)]
                  for a in range(ho)]  # fmt: skip
        frames.append({"step": "window", "window": (oh, ow), "rows": w["rows"],
                       "cols": w["cols"], "winner": (h, col), "index": int(idx[oh, ow]),
                       "value": float(value), "output": filled})  # fmt: skip
    ov = {}
    for (h, col), count in won.items():
        _set(c, ov, ("x", h, col, "r"), "c won")
        _set(c, ov, ("x", h, col, "m"), text=_wins(count))
    for (a, b), v in np.ndenumerate(out):
        for grid, text in (("y", num(v)), ("i", str(int(idx[a, b])))):
            _set(c, ov, (grid, a, b, "r"), "c")
            _set(c, ov, (grid, a, b, "v"), text=text)
    states.append(ov)
    shared = sorted(p for p, k in won.items() if k > 1)
    captions.append(
        f"{_count(len(windows), 'window')} done: output {table(out)}, indices "
        f"{table(idx)}. {_count(len(won), 'input')} won a window"
        + (f"; {len(shared)} of them won more than one (marked W{TIMES}k)." if shared else ".")
    )
    frames.append({"step": "done", "window": None, "output": out.tolist(),
                   "indices": idx.tolist(), "winners": sorted(won)})  # fmt: skip
    alt = (
        f"Animation, {len(frames)} frames: max pooling {setup}. Each frame outlines one "
        f"window, marks its maximum and fills in the output and the winner's flat index; the "
        f"output is {table(out)} and the indices {table(idx)}."
    )
    return Animation("animate_forward", alt, frames, captions, c, states)


def animate_backward(
    x: np.ndarray,
    grad_output: np.ndarray,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
) -> Animation:
    """Animate max pooling's backward pass: each output gradient travels to its winner.

    Frame 0 shows the input with its winners ("W"), the output gradient and an input gradient
    of zeros; then one frame per window: an arrow carries the window's output gradient to its
    winner, and where a winner is shared by overlapping windows, the amounts add up, with the
    running sum written in the cell ("2 + (-4)"); the last frame is
    :func:`pooling_lab.functional.max_pool2d_backward`'s result, and its caption checks that
    the input gradient's total equals the output gradient's (losers get 0).

    Parameters
    ----------
    x : array_like
        One (H, W) plane of real numbers, at most 12 x 12.
    grad_output : array_like
        The gradient at the pooled output, shaped like the output plane.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`pooling_lab.functional.max_pool2d`.

    Returns
    -------
    Animation

    Raises
    ------
    ValueError
        As :func:`animate_forward`, or if ``grad_output`` does not have the output's shape.
    TypeError
        If ``x`` or ``grad_output`` is not real-valued.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1., 2., 0.], [0., 9., 1.], [3., 0., 2.]])
    >>> anim = animate_backward(x, np.array([[2., -4.], [1., 3.]]), 2, stride=1)
    >>> len(anim.frames)  # zeros, 4 windows, the result
    6
    >>> anim.frames[-1]["grad_input"][1]  # the 9 won all four windows
    [0.0, 2.0, 0.0]
    >>> print(anim.captions[2])
    Output gradient \u22124 at (0, 1) goes to its window's winner, input (1, 1) (value 9); it already won another window, so the amounts add up: 2 + (\u22124) = \u22122.
    """  # noqa: E501
    fn = "animate_backward"
    x = check_plane(fn, "x", x)
    g = check_plane(fn, "grad_output", grad_output, max_side=MAX_FRAMES)
    win, out, idx, windows, lo, hi = _setup(
        fn, x, kernel_size, stride, padding, dilation, ceil_mode, 2
    )
    if g.shape != out.shape:
        raise ValueError(
            f"{fn}: grad_output must have the output's shape {out.shape}, but got {g.shape}"
        )
    wo = out.shape[1]
    result = F.max_pool2d_backward(g[None], idx[None], (1,) + x.shape)[0]
    c = Canvas()
    right = _input_panel(c, "x", x, win, lo, hi, 20, 44, "input (winners W)")
    c.grid("g", right + GAP, 44, [[num(v) for v in row] for row in g], title="grad_output")
    x2 = right + 2 * GAP + panel_width(wo, "grad_output")
    zeros = [["0"] * x.shape[1] for _ in range(x.shape[0])]
    c.grid("d", x2, 44, zeros, title="grad_input", detail=True)
    where = [divmod(int(i), x.shape[1]) for i in idx.ravel()]
    for n, ((h, col), w) in enumerate(zip(where, windows)):
        (x1, y1), (xe, ye) = c.center("g", *w["pos"]), c.center("d", h, col)
        c.add("line", {"x1": x1 + 12, "y1": y1, "x2": xe - 14, "y2": ye, "class": "arr off",
                       "marker-end": "A"}, name=("arrow", n))  # fmt: skip
    _legend(c, c.height + 18, [("c win", "W", "the window's winner"), ("c cw", "", "window"),
            ("c hit", "", "just received"), ("c nz", "", "received before")])  # fmt: skip

    won = {}
    for p in where:
        won[p] = won.get(p, 0) + 1
    base = {}
    for (h, col), count in won.items():
        _set(c, base, ("x", h, col, "r"), "c won")
        _set(c, base, ("x", h, col, "m"), text=_wins(count))
    states, captions = (
        [dict(base)],
        [
            f"Backward through max pooling, {_describe(win, x)}: each of the {len(windows)} output "
            f"gradients goes to its window's winner (marked W, found by the forward pass); every "
            f"other input gets 0. The input gradient starts at 0."
        ],
    )
    frames = [{"step": "zeros", "grad_input": np.zeros(x.shape).tolist()}]
    running = np.zeros(x.shape)
    received: set = set()
    for n, ((h, col), w) in enumerate(zip(where, windows)):
        ov = dict(base)
        for p in received:
            _set(c, ov, ("d", *p, "r"), "c nz")
            _set(c, ov, ("d", *p, "v"), text=num(running[p]))
        for r in w["rows"]:
            for q in w["cols"]:
                if (r, q) != (h, col):
                    cls = "c won cw" if (r, q) in won else BASE[_kind(x, win, r, q)]
                    _set(c, ov, ("x", r, q, "r"), cls.replace(" off", "") + " cw")
        _set(c, ov, ("x", h, col, "r"), "c win")
        oh, ow = w["pos"]
        amount, before = float(g[oh, ow]), float(running[h, col])
        after = before + amount
        _set(c, ov, ("g", oh, ow, "r"), "c cur")
        _set(c, ov, ("arrow", n), "arr")
        _set(c, ov, ("d", h, col, "r"), "c hit")
        _set(c, ov, ("d", h, col, "v"), "v b", num(after))
        sentence = f"it had 0 and now holds {num(after)}."
        if (h, col) in received:
            _set(c, ov, ("d", h, col, "d"), text=f"{num(before)} + {term(amount)}")
            sentence = (
                f"it already won another window, so the amounts add up: "
                f"{num(before)} + {term(amount)} = {num(after)}."
            )
        running[h, col] = after
        received.add((h, col))
        states.append(ov)
        ties = _maxima(x, win, w, x[h, col])
        tie = f", the first in row-major order of {ties} tied maxima" if ties > 1 else ""
        captions.append(
            f"Output gradient {num(amount)} at ({oh}, {ow}) goes to its window's winner, "
            f"input ({h}, {col}) (value {num(x[h, col])}{tie}); {sentence}"
        )
        frames.append({"step": "window", "window": (oh, ow), "winner": (h, col),
                       "amount": amount, "before": before, "after": after,
                       "grad_input": running.tolist()})  # fmt: skip
    ov = dict(base)
    for p in received:
        _set(c, ov, ("d", *p, "r"), "c nz")
        _set(c, ov, ("d", *p, "v"), "v b", num(result[p]))
    states.append(ov)
    total_in, total_out = math.fsum(result.ravel()), math.fsum(g.ravel())
    shared = sorted(p for p, k in won.items() if k > 1)
    captions.append(
        f"Done: this is max_pool2d_backward's result. {_count(len(won), 'input')} won windows "
        f"and hold their gradients"
        + (f" (summed where a winner was shared, as at {shared[0]})" if shared else "")
        + f"; the other {_count(x.size - len(won), 'input')}, the losers, stay 0. Total "
        f"{num(total_in)} = sum of the output gradients {num(total_out)}: the backward pass "
        "conserves the gradient's total."
    )
    frames.append({"step": "done", "grad_input": result.tolist(), "total": total_in,
                   "grad_output_total": total_out, "shared": shared})  # fmt: skip
    alt = (
        f"Animation, {len(frames)} frames: max pooling's backward pass, {_describe(win, x)}, "
        f"with output gradient {table(g)}. One frame per window carries its output gradient "
        f"along an arrow to the window's winner, adding up where windows share a winner; the "
        f"input gradient ends as {table(result)}, total {num(total_in)}, the same as the "
        "output gradient's."
    )
    return Animation("animate_backward", alt, frames, captions, c, states)
