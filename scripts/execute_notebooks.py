"""Re-execute every notebook of the book top to bottom in a fresh kernel, in place.

Usage: python scripts/execute_notebooks.py [NOTEBOOK ...]   (default: every notebook in book/)

Each notebook runs with `jupyter execute --inplace` (a new kernel per notebook, working
directory = the notebook's folder), so the stored outputs are exactly what a reader gets by
running it. Afterwards the per-cell timestamps nbclient records are removed: they change on
every run and mean nothing to a reader.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebooks(args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve() for a in args]
    return sorted(
        p
        for p in (ROOT / "book").rglob("*.ipynb")
        if not any(part.startswith((".", "_")) for part in p.relative_to(ROOT).parts)
    )


def strip_timing(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(args: list[str]) -> int:
    jupyter = Path(sys.executable).parent / "jupyter"
    for path in notebooks(args):
        print(f"executing {path.relative_to(ROOT)}", flush=True)
        subprocess.run([str(jupyter), "execute", "--inplace", str(path)], check=True)
        strip_timing(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
