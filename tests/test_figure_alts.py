"""Every figure in the book has a text alternative that describes it.

The book's figures are notebook outputs; myst-nb gives each one the ``alt`` stored in its
cell's metadata (``{"mystnb": {"image": {"alt": ...}}}``), and the in-browser copy shows the
same words in a folded description under the cell (scripts/lite_stage.py). Without it, the
``alt`` would be the image's file path. The browser test checks the built pages; this checks
the source, and that no description outlives its figure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
# A description says what is drawn and what to see in it: a sentence or more, not a label.
MIN_WORDS = 25


def _figure_cells(path: Path):
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        images = sum(
            any(t in out.get("data", {}) for t in IMAGE_TYPES) for out in cell.get("outputs", [])
        )
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt")
        yield cell["id"], images, alt


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_a_description(path):
    for cell_id, images, alt in _figure_cells(path):
        where = f"{path.name} cell {cell_id}"
        if images == 0:
            assert alt is None, f"{where}: an alt text but no figure (left over?)"
            continue
        # one alt per cell: a cell that draws two figures would give both the same words
        assert images == 1, f"{where}: {images} figures in one cell; draw them in one figure"
        assert alt, f"{where}: no mystnb.image.alt in the cell's metadata"
        assert len(alt.split()) >= MIN_WORDS, f"{where}: alt too short to describe: {alt!r}"
        assert not re.search(r"\.(png|svg|jpe?g)\b|_images/", alt), f"{where}: alt is a path"


def test_the_book_has_figures():
    """The parametrized test above would pass on a book whose outputs were all lost."""
    found = sum(images for path in NOTEBOOKS for _, images, _ in _figure_cells(path))
    assert found >= 20, found
