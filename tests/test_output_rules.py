"""The notebooks exempt from output comparison exactly the cells tests/output_rules.py lists."""

from __future__ import annotations

import json
from pathlib import Path

from output_rules import MACHINE_DEPENDENT

ROOT = Path(__file__).resolve().parents[1]


def ignored_cells() -> set[tuple[str, str]]:
    found = set()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] == "code" and "nbval-ignore-output" in tags:
                found.add((str(path.relative_to(ROOT)), cell["id"]))
    return found


def test_ignored_outputs_are_the_listed_ones():
    tagged = ignored_cells()
    listed = set(MACHINE_DEPENDENT)
    assert not tagged - listed, f"tagged nbval-ignore-output without a reason: {tagged - listed}"
    assert not listed - tagged, f"listed but not tagged (or gone): {listed - tagged}"


def test_no_cell_skips_nbval_entirely():
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            assert "nbval-skip" not in tags, f"{path.name} {cell['id']}: nbval-skip"
