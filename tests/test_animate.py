"""The animations and the explorer show what the package computes, in a self-contained player."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pooling_lab import functional as F
from pooling_lab import plots
from pooling_lab.generalized import lse_pool2d_backward
from pooling_lab.ties import max_pool2d_backward_ties

X44 = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.0, 2.0, 1.0, 1.0], [7, 1, 3, 6]])
RNG = np.random.default_rng(3)
X55 = RNG.integers(-9, 10, (5, 5)).astype(float)


@pytest.mark.parametrize(
    "shape, args, windows",
    [
        ((4, 4), dict(kernel_size=2), 4),
        ((5, 5), dict(kernel_size=3, stride=1), 9),  # overlapping windows
        ((4, 4), dict(kernel_size=3, stride=2, padding=1), 4),
        ((6, 6), dict(kernel_size=2, stride=1, dilation=2), 16),
        ((5, 5), dict(kernel_size=2, stride=2, ceil_mode=True), 9),
    ],
)
def test_forward_has_one_frame_per_window_and_shows_max_pool2d(shape, args, windows):
    x = np.arange(np.prod(shape), dtype=float).reshape(shape) % 7
    anim = plots.animate_forward(x, **args)
    assert len(anim.frames) == len(anim.captions) == windows + 2
    out, idx = F.max_pool2d(x[None], return_indices=True, **args)
    assert anim.frames[-1]["output"] == out[0].tolist()
    assert anim.frames[-1]["indices"] == idx[0].tolist()
    steps = [f for f in anim.frames if f["step"] == "window"]
    assert [f["index"] for f in steps] == idx[0].ravel().tolist()
    assert all(x[f["winner"]] == f["value"] for f in steps)


def test_forward_shows_the_padding_ring_and_the_partial_ceil_mode_window():
    padded = plots.animate_forward(np.arange(16.0).reshape(4, 4), 3, 2, padding=1)
    ring = 6 * 6 - 4 * 4  # every padded position, and the legend's sample
    assert padded.html.count(">\u2212\u221e</text>") == ring + 1
    assert "5 of its positions are \u2212\u221e padding" in padded.captions[1]  # a corner
    ceil = plots.animate_forward(np.arange(25.0).reshape(5, 5), 2, 2, ceil_mode=True)
    assert "fall beyond the padded input and are left out (ceil_mode)" in ceil.captions[3]
    assert "beyond" not in " ".join(ceil.captions[:3])


def test_forward_caption_describes_the_window_in_words():
    anim = plots.animate_forward(X44, 2)
    assert anim.captions[2] == (
        "Window (0, 1) covers rows 0\u20131, columns 2\u20133; its maximum 8 is at input "
        "(1, 2), flat index 6; output (0, 1) = 8."
    )
    dilated = plots.animate_forward(np.zeros((5, 5)), 2, 1, dilation=2)
    assert "rows 0 and 2, columns 0 and 2" in dilated.captions[1]
    assert "tied with 3 others" in dilated.captions[1]


def test_backward_last_frame_is_max_pool2d_backward_and_shared_winners_add_up():
    g = np.array([[2.0, -4.0, 1.0], [3.0, 5.0, -1.0], [1.0, 1.0, 2.0]])
    anim = plots.animate_backward(X55, g, 3, stride=1)
    _, idx = F.max_pool2d(X55[None], 3, 1, return_indices=True)
    expected = F.max_pool2d_backward(g[None], idx, (1, 5, 5))[0]
    assert anim.frames[-1]["grad_input"] == expected.tolist()
    assert anim.frames[-2]["grad_input"] == expected.tolist()  # the running sums end there
    assert len(anim.frames) == 9 + 2
    assert anim.frames[-1]["total"] == pytest.approx(g.sum())
    assert f"Total {plots._svg.num(g.sum())} = sum of the output gradients" in anim.captions[-1]
    shared = [f for f in anim.frames[1:-1] if f["before"] != 0]
    assert shared, "this case should have a shared winner"
    for f in shared:
        assert f["after"] == f["before"] + f["amount"]
        caption = anim.captions[anim.frames.index(f)]
        add = f"{plots._svg.num(f['before'])} + {plots._svg.term(f['amount'])} = "
        assert add + plots._svg.num(f["after"]) in caption


def test_backward_running_sum_is_written_with_parentheses_for_negatives():
    x = np.array([[1.0, 2.0, 0.0], [0.0, 9.0, 1.0], [3.0, 0.0, 2.0]])
    anim = plots.animate_backward(x, np.array([[2.0, -4.0], [1.0, 3.0]]), 2, stride=1)
    assert "2 + (\u22124) = \u22122" in anim.captions[2]
    assert '"2 + (\u22124)"' in anim.html  # the cell's running sum, in frame 2's changes
    assert anim.frames[-1]["grad_input"] == [[0.0] * 3, [0.0, 2.0, 0.0], [0.0] * 3]


@pytest.mark.parametrize("grad", [1.0, 2.5])
def test_tie_totals_are_g_g_and_t_times_g(grad):
    window = np.array([[3.0, 1.0, 3.0], [3.0, 0.0, 2.0], [1.0, 3.0, 0.0]])  # t = 4
    anim = plots.animate_ties(window, grad)
    totals = {f["rule"]: f["total"] for f in anim.frames[1:]}
    assert totals == pytest.approx({"first": grad, "split": grad, "all": 4 * grad})
    for f in anim.frames[1:]:
        expected = max_pool2d_backward_ties(
            window[None], np.full((1, 1, 1), grad), 3, rule=f["rule"]
        )
        assert f["grad"] == expected[0].tolist()


def test_family_weights_max_one_hot_average_uniform_lse_sharpening():
    window = np.array([[0.3, 1.0], [0.8, -0.5]])
    temps = (10.0, 1.0, 0.3, 0.1)
    anim = plots.animate_family(window, grad=2.0, temperatures=temps)
    by = [f for f in anim.frames if f["pool"]]
    assert [f["pool"] for f in by] == ["max", "avg"] + ["lse"] * 4
    assert np.array_equal(by[0]["weights"], [[0.0, 1.0], [0.0, 0.0]])
    assert np.allclose(by[1]["weights"], 0.25)
    peaks = []
    for f, T in zip(by[2:], temps):
        w = np.array(f["weights"])
        assert w.sum() == pytest.approx(1.0)
        expected = lse_pool2d_backward(np.full((1, 1, 1), 2.0), window[None], 2, temperature=T)
        assert np.allclose(np.array(f["grad"]), expected[0])
        peaks.append(w[0, 1])
    assert peaks == sorted(peaks) and peaks[0] < 0.3 < 0.8 < peaks[-1]
    assert all(f["total"] == pytest.approx(2.0) for f in by)


def test_html_is_deterministic_self_contained_small_and_accessible():
    a, b = plots.animate_forward(X44, 2), plots.animate_forward(X44.copy(), 2)
    assert a.html == b.html
    assert plots.animate_forward(X44 + 1, 2).html != a.html
    html = plots.animate_backward(X55, np.ones((2, 2)), 3, 2).html
    for text in (a.html, html):
        assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "//cdn" not in text and "src=" not in text
        assert len(text.encode()) < 1_000_000
        assert 'role="img"' in text and "<title" in text and 'aria-live="polite"' in text
        labels = re.findall(r'<button type="button" data-act="(\w+)" aria-label="([^"]+)" '
                            r'title="([^"]+)"', text)  # fmt: skip
        assert [act for act, _, _ in labels] == ["first", "prev", "play", "next", "last"]
        assert all(aria == title for _, aria, title in labels)
        assert 'data-frame="0"' in text and 'data-playing="false"' in text
        assert 'value="1"' in text and "frame 1 / " in text
        assert "document.currentScript" in text and "Math.random" not in text
    # Frame 0 is what the static HTML shows: no window outlined yet, no output filled in.
    static = a.html.split("<script")[0]
    assert 'class="c cw" data-k' not in static and 'class="c cur" data-k' not in static
    assert 'class="c empty" data-k' in static
    assert a._repr_html_() == a.html and a.alt.startswith("Animation, 6 frames")


def test_two_players_on_a_page_have_their_own_ids_and_scripts():
    a, b = plots.animate_ties(np.eye(2)), plots.animate_ties(np.ones((2, 2)))
    ida = re.search(r'id="(pl-anim-[0-9a-f]{12})"', a.html).group(1)
    idb = re.search(r'id="(pl-anim-[0-9a-f]{12})"', b.html).group(1)
    assert ida != idb
    assert "#" + ida + " " in a.html and "#" + idb not in a.html


def test_inputs_are_validated_and_never_changed():
    x = X44.copy()
    plots.animate_backward(x, np.ones((2, 2)), 2)
    assert np.array_equal(x, X44)
    with pytest.raises(ValueError, match="animate_forward: x must be one 2-D"):
        plots.animate_forward(np.zeros((1, 4, 4)), 2)
    with pytest.raises(ValueError, match="too large to animate"):
        plots.animate_forward(np.zeros((13, 13)), 2)
    with pytest.raises(ValueError, match="too many to step through"):
        plots.animate_forward(np.zeros((12, 12)), 2, 1, padding=1)  # 169 windows
    with pytest.raises(TypeError, match="animate_forward: x must be a real numeric"):
        plots.animate_forward(np.array([["a"]]), 1)
    with pytest.raises(ValueError, match="animate_forward: padding should be at most half"):
        plots.animate_forward(X44, 2, padding=2)
    with pytest.raises(TypeError, match="animate_forward: kernel_size"):
        plots.animate_forward(X44, 2.5)
    with pytest.raises(ValueError, match="animate_backward: grad_output must have the output"):
        plots.animate_backward(X44, np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="animate_family: temperatures must be finite and > 0"):
        plots.animate_family(np.eye(2), temperatures=(1.0, 0.0))
    with pytest.raises(TypeError, match="animate_ties: grad must be a real number"):
        plots.animate_ties(np.eye(2), grad="1")


def _contrast(a: str, b: str) -> float:
    def lum(c):
        rgb = np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(lin @ [0.2126, 0.7152, 0.0722])

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_on_every_cell_fill_has_contrast_of_at_least_4_5():
    fills = re.findall(r"\.\w+\{fill:(#[0-9a-fA-F]{6})", plots._svg.CSS)
    assert len(fills) >= 8
    for fill in fills:
        if fill.lower() != "#0072b2":  # the bar, which holds no text
            assert _contrast("#111111", fill) >= 4.5, fill
    assert _contrast("#555555", "#ececec") >= 4.5  # grey labels, padding cells


@pytest.mark.parametrize(
    "args",
    [
        dict(kernel_size=2, stride=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, stride=1, padding=1, tie_rule="split", preset="ties"),
        dict(kernel_size=2, stride=1, tie_rule="all", preset="relu"),
        dict(kernel_size=2, stride=2, tie_rule="split", preset="negative", seed=4),
    ],
)
def test_explorer_state_matches_functional_and_ties(args):
    s = plots.explorer_state(**args)
    x = np.array(s["input"])[None]
    k, st, p = args["kernel_size"], args["stride"], args.get("padding", 0)
    out, idx = F.max_pool2d(x, k, st, p, return_indices=True)
    assert s["ok"] and s["output_size"] == out.shape[1:]
    assert s["output"] == out[0].tolist() and s["indices"] == idx[0].tolist()
    rule = args.get("tie_rule", "first")
    grad = max_pool2d_backward_ties(x, np.ones(out.shape), k, st, p, rule=rule)[0]
    assert np.allclose(s["grad_input"], grad)
    assert s["grad_total"] == pytest.approx(grad.sum())
    assert s["summary"][0] == f"output size: {out.shape[1]} x {out.shape[2]}"
    assert s["formula"][0].endswith(f"= {out.shape[1]}") and s["svg"].startswith("<svg")
    if args.get("preset") == "negative":
        assert (x < 0).all()
    if args.get("preset") == "relu":
        assert (x >= 0).all() and (x == 0).any()


def test_explorer_state_dilation_and_ceil_mode_tie_rules_agree_with_first():
    s = plots.explorer_state("ties", 2, 1, 0, 2, True, "first")
    out, idx = F.max_pool2d(np.array(s["input"])[None], 2, 1, 0, 2, True, return_indices=True)
    assert s["indices"] == idx[0].tolist()
    split = plots.explorer_state("ties", 2, 1, 0, 2, True, "split")
    every = plots.explorer_state("ties", 2, 1, 0, 2, True, "all")
    assert split["grad_total"] == pytest.approx(s["grad_total"]) == out.size
    assert every["grad_total"] > s["grad_total"]


def test_explorer_state_reports_invalid_combinations_instead_of_raising():
    s = plots.explorer_state(kernel_size=2, padding=2)
    assert not s["ok"] and "padding should be at most half" in s["message"]
    assert s["summary"][0] == "output size: none" and s["svg"].startswith("<svg")
    assert not plots.explorer_state(kernel_size=4, dilation=3)["ok"]


def test_explorer_is_static_outside_the_browser():
    static = plots.explorer(interactive=False)
    assert isinstance(static, plots.StaticExplorer)
    assert "Run in your browser" in static._repr_html_()
    assert "output size: 3 x 3" in static._repr_html_()


def test_explorer_widgets_redraw_on_every_change():
    pytest.importorskip("ipywidgets")
    ui = plots.explorer(interactive=True)
    assert "output size: 3 x 3" in ui.summary.value
    descriptions = {w.description for w in ui.controls.values()}
    assert {"kernel size", "stride", "padding", "dilation", "ceil_mode", "tie rule"} <= descriptions
    before = ui.view.value
    ui.controls["kernel_size"].value = 3
    ui.controls["stride"].value = 1
    assert "output size: 4 x 4" in ui.summary.value
    assert ui.view.value != before and ui.state["output_size"] == (4, 4)
    ui.controls["padding"].value = 2  # more than half the kernel: a message, not an error
    assert "output size: none" in ui.summary.value


def test_the_explorer_formula_says_when_ceil_mode_drops_a_window():
    from pooling_lab.plots import explorer_state

    # ceil((6 + 2 - 1 - 1) / 4) + 1 = 3 windows counted; the third would start at 7 = 6 + 1,
    # in the right padding, so PyTorch's rule drops it: 2
    dropped = explorer_state(kernel_size=2, stride=4, padding=1, ceil_mode=True)
    assert dropped["output_size"] == (2, 2)
    assert dropped["formula"][0].endswith("= 3, minus the last window, which would start in the "
                                          "right padding: 2")  # fmt: skip
    # ceil_mode that adds a window (dilation 2: floor gives 2, ceil 3) and drops none
    added = explorer_state(kernel_size=2, stride=2, dilation=2, ceil_mode=True)
    assert added["output_size"] == (3, 3) and added["formula"][0].endswith(") + 1 = 3")
    assert not any("minus" in line for line in added["formula"])


def test_the_explorer_says_why_no_window_fits():
    from pooling_lab.plots import explorer_state

    state = explorer_state(kernel_size=4, dilation=3)
    assert not state["ok"] and state["output_size"] is None
    assert "spans 3·(4 \u2212 1) + 1 = 10 inputs, more than the 6 + 2·0 = 6" in state["message"]


def test_animate_ties_refuses_a_window_without_a_tie():
    from pooling_lab.plots import animate_ties

    with pytest.raises(ValueError, match="window must have a tied maximum"):
        animate_ties(np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_backward_captions_name_a_tie_at_the_winner():
    from pooling_lab.plots import animate_backward

    x = np.array([[2.0, 2.0], [0.0, 1.0]])
    captions = animate_backward(x, np.ones((1, 1)), 2).captions
    assert "the first in row-major order of 2 tied maxima" in captions[1]
    assert "1 input won windows" in captions[-1] and "the other 3 inputs" in captions[-1]
