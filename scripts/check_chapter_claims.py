"""Check a chapter's claims against several benchmark runs, not only the committed one.

Usage: python scripts/check_chapter_claims.py RUN.json [RUN.json ...]
           [--notebook book/making_it_fast.ipynb] [--results benchmarks/results/pooling.json]

A chapter that reads a results file checks its text with hidden cells of asserts, against the
committed file. But even on an idle machine, paired ratios move from one run of the same code
to the next by more than many claims allow: a claim that holds for one run can be false for
the next. So before committing a regenerated results file, run the benchmark several times,
copy each file away, and check the chapter against every one: a claim that fails for one of
them depends on the run, and the text should say less.

For each run, the notebook's code cells run in this process, in one namespace, with matplotlib
drawing nowhere, in a scratch folder that stands in for the notebook's, with the run where the
results file would be: the repository is not touched. The other files the code reads by a
relative path in a string literal (making_it_fast's other committed runs, say), found as the
in-browser copy finds them (``lite_stage.data_files``), are copied beside it as they are,
except that a run that is one of them is replaced there by the committed results, so that the
chapter sees the same set of runs with another one shown; a path to anything else fails, and
is reported. Every top-level
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

import lite_stage

ROOT = Path(__file__).resolve().parents[1]


def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def failures(notebook: Path, run: Path, results: Path) -> list[str]:
    """Run the notebook's code cells against ``run`` standing in for ``results``; one line per
    failing assert or statement. All paths are absolute; ``results`` need not exist."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found, namespace = [], {"__name__": "__main__"}
    base = Path(os.path.commonpath([notebook.parent, results.parent]))
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    others = [path for path in lite_stage.data_files(nb, notebook, base) if path != results]
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp) / notebook.parent.relative_to(base)
        here.mkdir(parents=True, exist_ok=True)
        # a run that is one of the other files (a committed repeat) leaves its place to the
        # committed results: the chapter sees the same set of runs
        swap = {run: results} if results.exists() else {}
        for source, target in [(run, results), *((swap.get(p, p), p) for p in others)]:
            placed = Path(tmp) / target.relative_to(base)
            placed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, placed)
        os.chdir(here)
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
            # the chapter's figures are never shown here: close them, or a test that checks
            # ten runs in one process keeps them all (and matplotlib warns past twenty)
            plt.close("all")
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
    for run in args.runs:
        found = failures(notebook, run.resolve(), results)
        failed |= bool(found)
        print(f"{run}: " + ("every check holds" if not found else f"{len(found)} fail"))
        for line in found:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
