"""The course's figures draw what they claim: values, gradients, winners, totals."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from pooling_lab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_negative_zero_is_drawn_as_zero():
    ax = plots.matrix(np.array([[-0.0, 1.0]]))
    assert _texts(ax) == ["0", "1"]


def test_matrix_shades_on_its_own_scale_unless_given_a_shared_one():
    small, large = np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]])
    own = plots.matrix(small).images[0].get_clim()
    shared = plots.matrix(small, vmax=large.max()).images[0].get_clim()
    assert own == (-2.0, 2.0)
    assert shared == (-4.0, 4.0)  # a 2 beside a panel whose largest is 4 is shaded as half of it
    with pytest.raises(ValueError, match="vmax must be positive"):
        plots.matrix(small, vmax=0.0)
    assert plots.matrix(small, vmin=0.0).images[0].get_clim() == (0.0, 2.0)  # zero is blank
    with pytest.raises(ValueError, match="vmin must be below vmax"):
        plots.matrix(small, vmin=2.0)


def test_gradient_routing_shows_the_input_values_and_the_routed_gradients():
    x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0]])
    values, grads_out, grads_in = plots.gradient_routing(x, np.array([[10.0, 20.0]]), 2)
    assert _texts(values) == [plots._fmt(v) for v in x.ravel()]  # the values that decide
    assert _texts(grads_in) == ["0", "10", "0", "0", "0", "0", "20", "0"]
    assert _texts(grads_out) == ["10", "20"]


def test_tie_rules_titles_carry_each_rule_s_total():
    panels = plots.tie_rules(np.array([[0.0, 0.0], [0.0, 0.0]]), grad=2.0)
    assert [ax.get_title() for ax in panels[1:]] == [
        "first: total 2",
        "split: total 2",
        "all: total 8",
    ]
    assert _texts(panels[1]) == ["2", "0", "0", "0"]
    assert _texts(panels[2]) == ["0.5"] * 4


def test_network_draws_every_unit_and_edge():
    columns = [
        ("in", [("x0", "1", "g=0"), ("x1", "2", "g=1")]),
        ("out", [("y", "2", "g=1")]),
    ]
    edges = [((0, 0), (1, 0), "lost"), ((0, 1), (1, 0), "won", "w = 1")]
    ax = plots.network(columns, edges)
    assert len(ax.patches) == 3
    assert len(ax.lines) == 2
    for text in ["x0", "x1", "y", "g=0", "g=1", "w = 1", "in", "out"]:
        assert text in _texts(ax)


def test_network_rejects_an_unknown_edge_kind():
    with pytest.raises(ValueError, match="edge kind"):
        plots.network([("a", [("u", "1", "1")]), ("b", [("v", "1", "1")])], [((0, 0), (1, 0), "x")])


def test_network_second_weight_has_its_own_style_and_labels_sit_mid_line():
    columns = [("in", [("x0", "1", "0"), ("x1", "2", "0")]), ("out", [("y", "1", "0")])]
    edges = [((0, 0), (1, 0), "plain", "w = 1"), ((0, 1), (1, 0), "plain2")]
    ax = plots.network(columns, edges, spacing=4.0)
    first, second = ax.lines
    assert first.get_linestyle() == "-" and second.get_linestyle() == "-."
    assert first.get_color() != second.get_color()
    (x0, x1), label = first.get_xdata(), next(t for t in ax.texts if t.get_text() == "w = 1")
    assert label.get_position()[0] == pytest.approx((x0 + x1) / 2)


@pytest.mark.parametrize(
    "shape, kernel, stride, dilation",
    [((7, 7), 3, 2, 1), ((6, 6), 3, 1, 1), ((7, 9), (3, 2), (2, 1), 1), ((7, 7), 2, 1, 2)],
)
def test_pooling_windows_never_draws_two_overlapping_windows_on_one_another(
    shape, kernel, stride, dilation
):
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    ax = plots.pooling_windows(x, kernel, stride, dilation=dilation)
    cells: dict[tuple, dict[str, tuple]] = {}  # cell -> {window: its rectangle there}
    for patch in ax.patches:
        if patch.get_gid() is None:
            continue
        x0, y0 = patch.get_xy()
        cell = (round(y0), round(x0))  # the rectangle lies inside this cell
        rect = (round(x0, 6), round(y0, 6), round(patch.get_width(), 6))
        cells.setdefault(cell, {})[patch.get_gid()] = rect
    shared = [drawn for drawn in cells.values() if len(drawn) > 1]
    assert shared, "the case should have overlapping windows"
    for drawn in shared:
        assert len(set(drawn.values())) == len(drawn), drawn


def test_pooling_windows_draws_the_padding_as_minus_inf():
    x = np.arange(16.0).reshape(4, 4)
    ax = plots.pooling_windows(x, 3, stride=2, padding=1)
    ring = [t for t in ax.texts if t.get_text() == "-inf"]
    assert len(ring) == 6 * 6 - 4 * 4  # every padded position, and only those
    assert not [t for t in plots.pooling_windows(x, 2).texts if t.get_text() == "-inf"]


def _highlights(ax):
    return [c for c in ax.collections if c.get_gid() == "highlight"]


def test_winners_and_routed_cells_are_hatched_not_only_coloured():
    x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0]])
    values, _, grads_in = plots.gradient_routing(x, np.array([[10.0, 20.0]]), 2)
    (winners,) = _highlights(values)
    assert winners.get_hatch() == "//" and len(winners.get_paths()) == 2
    (routed,) = _highlights(grads_in)
    assert routed.get_hatch() == ".." and len(routed.get_paths()) == 2
    panels = plots.tie_rules(np.array([[2.0, 2.0], [1.0, 2.0]]))
    assert len(_highlights(panels[0])[0].get_paths()) == 3  # the tied maxima
    assert not _highlights(plots.matrix(np.eye(2)))


def test_neighbouring_windows_differ_in_line_style_and_phases_in_hatch():
    ax = plots.pooling_windows(np.arange(16.0).reshape(4, 4), 2)
    styles = {p.get_gid(): p.get_linestyle() for p in ax.patches if p.get_gid()}
    assert styles["window 0"] != styles["window 1"]
    left, _ = plots.stride_phases(size=4, kernel=2, stride=2)
    hatches = [p.get_hatch() for p in left.patches[:2]]  # phases (0, 0) and (0, 1)
    assert hatches[0] != hatches[1]


def test_pooling_windows_fills_only_the_winners_of_the_windows_it_draws():
    x = np.arange(16.0).reshape(4, 4)  # winners 5, 7, 13, 15 of the four 2x2 windows
    (every,) = _highlights(plots.pooling_windows(x, 2))
    (two,) = _highlights(plots.pooling_windows(x, 2, windows=[0, 3]))
    assert len(every.get_paths()) == 4
    assert len(two.get_paths()) == 2


def test_fractional_windows_can_fill_only_the_outlined_windows_winners():
    x = np.arange(49.0).reshape(7, 7)  # increasing: every window's winner is its last cell
    (every,) = _highlights(plots.fractional_windows(x, 2, 4, (0.3, 0.8), windows=[0, 15]))
    (two,) = _highlights(
        plots.fractional_windows(x, 2, 4, (0.3, 0.8), windows=[0, 15], winners="outlined")
    )
    assert len(every.get_paths()) == 16 and len(two.get_paths()) == 2
    with pytest.raises(ValueError, match="winners must be 'all' or 'outlined'"):
        plots.fractional_windows(x, 2, 4, (0.3, 0.8), winners="some")


@pytest.mark.parametrize(
    ("kernel", "stride", "offset"), [(3, 2, (1, 2)), (3, 2, (2, 1)), (2, 2, (1, 1))]
)
def test_flat_slice_draws_what_each_output_of_the_extended_grid_reads(kernel, stride, offset):
    size = 7
    grid_ax, outputs_ax, strip_ax = plots.flat_slice(size, kernel, stride, offset)
    u, v = offset
    side = (size - kernel) // stride + 1
    reach = (kernel - 1) // stride
    ext = side + reach
    grid = np.full((ext, ext), -np.inf)
    phase = np.arange(size * size).reshape(size, size)[u % stride :: stride, v % stride :: stride]
    grid[: phase.shape[0], : phase.shape[1]] = phase[:ext, :ext]
    t = (u // stride) * ext + (v // stride)
    length = ext * ext - (reach * ext + reach)
    reads = grid.ravel()[t : t + length]
    labels = ["-inf" if np.isinf(g) else str(int(g)) for g in grid.ravel()]
    assert [text.get_text() for text in grid_ax.texts] == labels  # the phase, -inf outside
    shown = [text.get_text() for text in outputs_ax.texts]
    assert len(shown) == ext * ext
    expected = ["-inf" if np.isinf(r) else str(int(r)) for r in reads] + [""] * (ext * ext - length)
    assert shown == expected
    # the kept outputs read Step 1's strided slice
    kept = [shown[r * ext + c] for r in range(side) for c in range(side)]
    numbers = np.arange(size * size).reshape(size, size)
    strided = numbers[u : u + stride * side : stride, v : v + stride * side : stride]
    assert kept == [str(n) for n in strided.ravel()]
    positions = [text.get_text() for text in strip_ax.texts[1 : 2 * ext * ext : 2]]
    assert positions == [str(p) for p in range(ext * ext)]
    assert f"[{t} : {t + length}]" in strip_ax.texts[-1].get_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kernel": 8}, "kernel must lie in"),
        ({"stride": 3}, "stride must be 1 or 2"),
        ({"offset": (3, 0)}, "offset must lie in"),
    ],
)
def test_flat_slice_names_a_bad_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.flat_slice(**kwargs)
