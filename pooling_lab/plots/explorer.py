"""The pooling explorer: max pooling's windows, output and gradient for chosen parameters.

:func:`explorer_state` computes everything as plain data plus an SVG drawing; :func:`explorer`
puts it behind ipywidgets controls in the in-browser copy of the book, and is a static drawing
elsewhere (a built page cannot run Python).
"""

from __future__ import annotations

import html
import math
import sys

import numpy as np

from .. import functional as F
from ._svg import DASHES, DOT, MINUS, OUTLINES, TIMES, Canvas, num, panel_width, table
from .animate import BASE, GAP, _input_panel, _kind, _legend, _set, _setup, _wins

__all__ = ["PRESETS", "explorer", "explorer_state"]

PRESETS = ("random", "ties", "negative", "relu")
SIZE = 6


def _plane(preset: str, seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if preset == "random":
        return rng.integers(-9, 10, (size, size)).astype(float)
    if preset == "ties":
        return rng.integers(0, 3, (size, size)).astype(float)
    if preset == "negative":
        return -rng.integers(1, 10, (size, size)).astype(float)
    return np.maximum(rng.integers(-6, 7, (size, size)), 0).astype(float)  # relu


def _formula(name, n, k, s, p, d, ceil_mode, out) -> str:
    """The output-size formula with this dimension's numbers, and what ceil_mode drops."""
    rnd = "ceil" if ceil_mode else "floor"
    span = n + 2 * p - d * (k - 1) - 1
    text = (
        f"{name}_out = {rnd}(({n} + 2{DOT}{p} {MINUS} {d}{DOT}({k} {MINUS} 1) {MINUS} 1) / {s}) + 1"
    )
    if ceil_mode:
        counted = -(-span // s) + 1
        if counted != out:  # PyTorch's rule: a last window may not start in the right padding
            return (
                f"{text} = {counted}, minus the last window, which would start in the right "
                f"padding: {out}"
            )
    return f"{text} = {out}"


def _too_small(x, kernel_size, padding, dilation) -> str | None:
    """Why no window fits, in the learner's terms (None if one does)."""
    reach, room = dilation * (kernel_size - 1) + 1, x.shape[0] + 2 * padding
    if reach <= room:
        return None
    return (
        f"a window spans {dilation}{DOT}({kernel_size} {MINUS} 1) + 1 = {reach} inputs, more "
        f"than the {x.shape[0]} + 2{DOT}{padding} = {room} of the padded input: no output"
    )


def _tie_grad(x, windows, win, idx, rule):
    """Input gradient for an all-ones output gradient, under a tie rule (any window shape)."""
    grad = np.zeros(x.shape)
    for w, first in zip(windows, idx.ravel()):
        cells = [(h, c) for h in w["rows"] for c in w["cols"] if _kind(x, win, h, c) == "in"]
        top = max(x[p] for p in cells)
        tied = [p for p in cells if x[p] == top] if rule != "first" else [divmod(first, x.shape[1])]
        for p in tied:
            grad[p] += 1.0 / len(tied) if rule == "split" else 1.0
    return grad


def explorer_state(
    preset: str = "random",
    kernel_size: int = 2,
    stride: int = 2,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    tie_rule: str = "first",
    seed: int = 0,
) -> dict:
    """Max pooling of a 6 x 6 plane with the given parameters, as data and an SVG drawing.

    Invalid combinations (padding above half the kernel, an empty output) do not raise: the
    state's ``ok`` is False and ``message`` says why, so moving a control never breaks the explorer.

    Parameters
    ----------
    preset : {"random", "ties", "negative", "relu"}
        The input: random integers, few distinct values (many ties), all negative, or a
        ReLU-like plane of zeros and positives.
    kernel_size, stride, padding, dilation, ceil_mode
        As in :func:`pooling_lab.functional.max_pool2d` (square windows).
    tie_rule : {"first", "split", "all"}
        How tied maxima share a window's gradient (:mod:`pooling_lab.ties`).
    seed : int, default 0
        Seed of the input's random numbers.

    Returns
    -------
    dict
        ``ok``, ``message``, ``input``, ``output_size``, ``formula`` (two lines), ``output``,
        ``indices``, ``grad_output`` (all ones), ``grad_input`` under ``tie_rule``,
        ``grad_total``, ``summary`` (lines of text) and ``svg``.

    Examples
    --------
    >>> s = explorer_state("random", kernel_size=3, stride=2, padding=1)
    >>> s["output_size"], s["grad_total"]
    ((3, 3), 9.0)
    >>> print(s["formula"][0])
    H_out = floor((6 + 2\u00b71 \u2212 1\u00b7(3 \u2212 1) \u2212 1) / 2) + 1 = 3
    >>> explorer_state(kernel_size=2, padding=2)["message"]
    'padding should be at most half of kernel_size, but got padding=(2, 2) and kernel_size=(2, 2)'
    """
    from ..ties import RULES, max_pool2d_backward_ties

    fn = "explorer_state"
    if preset not in PRESETS:
        raise ValueError(f"{fn}: preset must be one of {PRESETS}, but got {preset!r}")
    if tie_rule not in RULES:
        raise ValueError(f"{fn}: tie_rule must be one of {RULES}, but got {tie_rule!r}")
    x = _plane(preset, seed, SIZE)
    state = {"preset": preset, "kernel_size": kernel_size, "stride": stride,
             "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode,
             "tie_rule": tie_rule, "seed": seed, "input": x.tolist()}  # fmt: skip
    try:
        win, out, idx, windows, lo, hi = _setup(
            fn, x, kernel_size, stride, padding, dilation, ceil_mode, 0
        )
    except ValueError as err:
        message = _too_small(x, kernel_size, padding, dilation) or str(err).removeprefix(f"{fn}: ")
        c = Canvas()
        c.grid("x", 20, 44, [[num(v) for v in row] for row in x], title="input")
        c.text(0, c.height + 24, "No output: " + message[:110], "lg")
        c.extend(10, c.height + 30)
        summary = ["output size: none", f"why: {message}"]
        return {**state, "ok": False, "message": message, "output_size": None,
                "summary": summary, "svg": c.svg("Pooling explorer: " + message)}  # fmt: skip
    ho, wo = out.shape
    formula = [
        _formula("H", SIZE, win.kernel[0], win.stride[0], win.padding[0], win.dilation[0],
                 win.ceil_mode, ho),
        _formula("W", SIZE, win.kernel[1], win.stride[1], win.padding[1], win.dilation[1],
                 win.ceil_mode, wo),
    ]  # fmt: skip
    ones = np.ones((1, ho, wo))
    if tie_rule == "first":
        grad = F.max_pool2d_backward(ones, idx[None], (1, *x.shape))[0]
    elif all(d == 1 for d in win.dilation) and not ceil_mode:
        grad = max_pool2d_backward_ties(x[None], ones, kernel_size, stride, padding, tie_rule)[0]
    else:  # the ties module has no dilation or ceil_mode: the same rule, window by window
        grad = _tie_grad(x, windows, win, idx, tie_rule)
    total = math.fsum(grad.ravel())
    c = Canvas()
    right = _input_panel(c, "x", x, win, lo, hi, 20, 44, "input, windows and winners (W)")
    won: dict = {}
    for i in idx.ravel():
        p = divmod(int(i), SIZE)
        won[p] = won.get(p, 0) + 1
    ov: dict = {}
    for p, count in won.items():
        _set(c, ov, ("x", *p, "r"), "c won")
        _set(c, ov, ("x", *p, "m"), text=_wins(count))
    for r in range(lo[0], hi[0] + 1):
        for q in range(lo[1], hi[1] + 1):
            if _kind(x, win, r, q) == "void" and any(
                r in w["rows"] and q in w["cols"] for w in windows
            ):
                _set(c, ov, ("x", r, q, "r"), BASE["void"].replace(" off", ""))
    reach = [max(1, -(-((k - 1) * d + 1) // s)) for k, d, s in
             zip(win.kernel, win.dilation, win.stride)]  # fmt: skip
    step = min(3.0, 8.0 / max(reach[0] * reach[1] - 1, 1))
    dilated = any(d > 1 for d in win.dilation)
    for n, w in enumerate(windows):
        oh, ow = w["pos"]
        inset = 2 + step * ((oh % reach[0]) * reach[1] + ow % reach[1])
        style = {"fill": "none", "stroke": OUTLINES[n % len(OUTLINES)], "stroke-width": 1.8}
        if DASHES[(n // len(OUTLINES)) % len(DASHES)]:
            style["stroke-dasharray"] = DASHES[(n // len(OUTLINES)) % len(DASHES)]
        # Each window's extent (or, when dilated, each of its cells), inset by its own amount
        # so that overlapping windows' outlines are nested, not drawn on one another.
        if dilated:
            boxes = [(r, q, 1, 1) for r in w["rows"] for q in w["cols"]]
        else:
            boxes = [(w["rows"][0], w["cols"][0], len(w["rows"]), len(w["cols"]))]
        for r, q, nr, nc in boxes:
            x0, y0 = c.corner("x", r, q)
            c.add("rect", {"x": round(x0 + inset, 2), "y": round(y0 + inset, 2),
                           "width": round(40 * nc - 2 * inset, 2),
                           "height": round(40 * nr - 2 * inset, 2), **style})  # fmt: skip
    title = "output"
    c.grid("y", right + GAP, 44, [[num(v) for v in row] for row in out], title=title)
    x2 = right + 2 * GAP + panel_width(wo, title)
    gtitle = f"input gradient ({tie_rule}, all-ones g)"
    c.grid("d", x2, 44, [[num(v) for v in row] for row in grad], title=gtitle)
    for (r, q), v in np.ndenumerate(grad):
        if v != 0:
            _set(c, ov, ("d", r, q, "r"), "c nz")
            _set(c, ov, ("d", r, q, "v"), "v b")
    _legend(c, c.height + 18, [("c won", "W", "a window's winner"), ("c nz", "", "receives"),
            ("c pad", MINUS + "\u221e", "padding")])  # fmt: skip
    summary = [
        f"output size: {ho} x {wo}",
        f"gradient total: {num(total)} (output gradient: {ho * wo} ones)",
        f"winners' indices: {table(idx)}",
    ]
    label = (
        f"Max pooling of a {SIZE}{TIMES}{SIZE} {preset} input with kernel {kernel_size}, stride "
        f"{stride}, padding {padding}, dilation {dilation}"
        + (", ceil_mode" if ceil_mode else "")
        + f": output {table(out)}; winners at flat indices {table(idx)}; under the tie rule "
        f"{tie_rule}, an all-ones output gradient gives the input gradient {table(grad)}, "
        f"total {num(total)}."
    )
    return {**state, "ok": True, "message": "", "output_size": (ho, wo), "formula": formula,
            "output": out.tolist(), "indices": idx.tolist(), "grad_output": ones[0].tolist(),
            "grad_input": grad.tolist(), "grad_total": total, "summary": summary,
            "svg": c.svg(label, ov)}  # fmt: skip


def _summary_html(state: dict) -> str:
    lines = state["summary"] + state.get("formula", [])
    return "".join(f'<p style="margin:2px 0">{html.escape(line)}</p>' for line in lines)


class StaticExplorer:
    """What :func:`explorer` shows where the controls cannot run: one configuration, drawn."""

    NOTE = (
        "The controls of this explorer work in the in-browser copy of the book: open it with "
        "the \u201cRun in your browser\u201d button."
    )

    def __init__(self, state: dict) -> None:
        self.state = state

    def _repr_html_(self) -> str:
        return (
            '<div class="pl-explorer" style="background:#fff;color:#111;padding:8px;'
            "font-family:system-ui,sans-serif;font-size:14px;"
            'border:1px solid #767676;border-radius:6px;max-width:100%;overflow-x:auto">'
            f"{self.state['svg']}{_summary_html(self.state)}"
            f'<p style="margin:6px 0 0"><em>{html.escape(self.NOTE)}</em></p></div>'
        )

    def __repr__(self) -> str:
        return "\n".join([*self.state["summary"], self.NOTE])


def explorer(
    preset: str = "random",
    kernel_size: int = 2,
    stride: int = 2,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    tie_rule: str = "first",
    seed: int = 0,
    *,
    interactive: bool | None = None,
):
    """The pooling explorer: controls for max pooling's parameters and what they change.

    In the browser (JupyterLite, ``sys.platform == "emscripten"``) with ipywidgets, an
    interactive UI: dropdowns for kernel, stride, padding and dilation, a ceil_mode checkbox,
    dropdowns for the tie rule and the input, and a drawing plus lines of text (``output size:
    3 x 3``, the gradient total and the winners' indices) redrawn from :func:`explorer_state`
    on every change. Elsewhere, or with ``interactive=False``, a static drawing of the given
    configuration with a sentence pointing to the in-browser copy of the book.

    Parameters
    ----------
    preset, kernel_size, stride, padding, dilation, ceil_mode, tie_rule, seed
        The starting configuration, as in :func:`explorer_state`.
    interactive : bool, optional
        Force the widget UI (True) or the static drawing (False); by default, the UI only in
        the browser.

    Returns
    -------
    ipywidgets.VBox or StaticExplorer
        The UI's ``controls`` (a dict by parameter name), ``view`` and ``summary`` widgets are
        attributes of the returned box.

    Examples
    --------
    >>> print(repr(explorer(interactive=False)).splitlines()[0])
    output size: 3 x 3
    """
    state = explorer_state(preset, kernel_size, stride, padding, dilation, ceil_mode,
                           tie_rule, seed)  # fmt: skip
    if interactive is None:
        interactive = sys.platform == "emscripten"
    if interactive:
        try:
            import ipywidgets as W
        except ImportError:
            interactive = False
    if not interactive:
        return StaticExplorer(state)
    from ..ties import RULES

    style = {"description_width": "initial"}

    # Dropdowns, not sliders: a <select> steps with the arrow keys and reads its value out;
    # ipywidgets' slider handle ignored the arrow keys in the in-browser copy (JupyterLite).
    def choice(value, low, high, label):
        return W.Dropdown(options=list(range(low, high + 1)), value=value, description=label,
                          style=style)  # fmt: skip

    controls = {
        "kernel_size": choice(kernel_size, 1, 4, "kernel size"),
        "stride": choice(stride, 1, 4, "stride"),
        "padding": choice(padding, 0, 2, "padding"),
        "dilation": choice(dilation, 1, 3, "dilation"),
        "ceil_mode": W.Checkbox(value=ceil_mode, description="ceil_mode", indent=False),
        "tie_rule": W.Dropdown(options=RULES, value=tie_rule, description="tie rule",
                               style=style),
        "preset": W.Dropdown(options=PRESETS, value=preset, description="input", style=style),
    }  # fmt: skip
    view, summary = W.HTML(value=state["svg"]), W.HTML(value=_summary_html(state))

    def redraw(_change=None):
        values = {name: widget.value for name, widget in controls.items()}
        new = explorer_state(seed=seed, **values)
        view.value, summary.value = new["svg"], _summary_html(new)
        box.state = new

    for widget in controls.values():
        widget.observe(redraw, names="value")
    names = list(controls)
    box = W.VBox([
        W.HBox([controls[n] for n in names[:4]], layout=W.Layout(flex_flow="row wrap")),
        W.HBox([controls[n] for n in names[4:]], layout=W.Layout(flex_flow="row wrap")),
        summary,
        view,
    ])  # fmt: skip
    box.controls, box.view, box.summary, box.state = controls, view, summary, state
    return box
