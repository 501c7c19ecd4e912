"""Check a chapter's claims against several benchmark runs, not only the committed one.

Usage: python scripts/check_chapter_claims.py RUN.json [RUN.json ...]
           [--notebook book/making_it_fast.ipynb] [--results benchmarks/results/pooling.json]

A chapter that reads a results file checks its text with hidden cells of asserts, against the
committed file. But even on an idle machine, paired ratios move from one run of the same code
to the next by more than many claims allow: a claim that holds for one run can be false for
the next. So before committing a regenerated results file, run the benchmark several times,
copy each file away, and check the chapter against every one: a claim that fails for one of
them depends on the run, and the text should say less.

For each run, the file is put in place of the committed results (which are restored
afterwards, whatever happens) and the notebook's code cells run in this process, in one
namespace, from the notebook's folder, with matplotlib drawing nowhere. Every top-level
statement runs on its own, so a failing ``assert`` is reported and the rest of its cell still
runs: one run shows all the claims it breaks, not only the first. Exit status 1 if any failed.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def failures(notebook: Path) -> list[str]:
    """Run the notebook's code cells; one line per failing assert or statement."""
    import matplotlib

    matplotlib.use("Agg")
    found, namespace = [], {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(notebook.parent)
    try:
        for number, source in enumerate(code_cells(notebook), 1):
            lines = source.splitlines()
            for statement in ast.parse(source).body:
                code = compile(ast.Module([statement], []), f"cell {number}", "exec")
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(code, namespace)
                except Exception as error:  # reported; then the next statement
                    text = lines[statement.lineno - 1].strip()
                    found.append(
                        f"code cell {number}, line {statement.lineno}: "
                        f"{type(error).__name__}: {text}"
                    )
                    if not isinstance(error, AssertionError):
                        break  # later statements of the cell may need this one
    finally:
        os.chdir(cwd)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="results files to check against")
    parser.add_argument("--notebook", type=Path, default=ROOT / "book" / "making_it_fast.ipynb")
    parser.add_argument(
        "--results", type=Path, default=ROOT / "benchmarks" / "results" / "pooling.json"
    )
    args = parser.parse_args(argv)
    notebook, results = args.notebook.resolve(), args.results.resolve()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        kept = Path(tmp) / results.name
        shutil.copy2(results, kept)
        try:
            for run in args.runs:
                shutil.copy2(run, results)
                found = failures(notebook)
                failed |= bool(found)
                print(f"{run}: " + ("every check holds" if not found else f"{len(found)} fail"))
                for line in found:
                    print(f"  {line}")
        finally:
            shutil.copy2(kept, results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
