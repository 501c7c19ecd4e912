"""The in-browser copy's building blocks, without a browser: staging and Pyodide's pins."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lite_pyodide  # noqa: E402
import lite_stage  # noqa: E402


@pytest.fixture(scope="module")
def book():
    return lite_stage.scan_book(ROOT)


def convert(book, text, doc=None):
    converter = lite_stage.Converter(book, doc or book.notebooks[0])
    return converter.convert(text), converter


def test_exercise_solution_and_admonitions_become_plain_markdown(book):
    text = """(some-label)=
## Exercises

:::{admonition} Before you start
:class: tip
Read the chapter.
:::

```{exercise}
:label: ex-demo

Write `f(x)`; see {doc}`chain_rule` and $x$.
```

```{solution} ex-demo
:class: dropdown

    def f(x):
        return x
```

% a comment
```{note}
A note.
```
"""
    out, converter = convert(book, text, doc="book/max_derivative")
    assert lite_stage.RAW_MYST.search(out) is None, out
    assert "> **Before you start**\n>\n> Read the chapter." in out
    assert "**Exercise**\n\nWrite `f(x)`" in out
    assert "<details>\n<summary>Solution</summary>\n\n    def f(x):" in out
    assert "> **Note**" in out and "a comment" not in out and "some-label" not in out
    assert f"[{book.titles['book/chain_rule']}](chain_rule.ipynb)" in out
    assert converter.solutions["ex-demo"].strip().startswith("def f(x):")
    assert lite_stage.solution_code(converter.solutions["ex-demo"]) == "def f(x):\n    return x"


def test_roles_in_code_spans_are_left_alone(book):
    out, _ = convert(book, "Write ``{doc}`x` `` and `{ref}`y`` literally.")
    assert out == "Write ``{doc}`x` `` and `{ref}`y`` literally."


def test_citations_come_from_the_bibliography(book):
    key = next(iter(book.cites))
    authors, year = book.cites[key]
    out, _ = convert(book, f"As shown {{cite}}`{key}`.")
    assert out == f"As shown ({authors}, {year})."


@pytest.mark.parametrize(
    "text",
    ["```{unknown-directive}\nx\n```", "A {weird-role}`x` here.", "{ref}`no-such-label`"],
)
def test_what_cannot_be_converted_stops_the_build(book, text):
    with pytest.raises(lite_stage.StageError):
        convert(book, text)


def exercise(text):
    return lite_stage.Exercise("ex-t", text)


def test_a_coding_exercise_gets_a_stub_and_its_checker():
    stub = lite_stage._exercise_stub(
        "book/x",
        exercise(
            "Write `relu_backward(x,\n grad_output)` and check it with "
            "`pooling_lab.exercises.check_relu_backward`."
        ),
    )
    assert "def relu_backward(x, grad_output):" in stub
    assert "from pooling_lab.exercises import check_relu_backward" in stub
    assert stub.rstrip().endswith("check_relu_backward(relu_backward)")
    compile(stub, "stub", "exec")


def test_exercises_without_checker_get_no_stub():
    assert lite_stage._exercise_stub("book/x", exercise("Explain `f(x)` in words.")) is None


@pytest.mark.parametrize(
    "text",
    [
        "Check `f(x)` with `pooling_lab.exercises.check_no_such_thing(f)`.",  # no such checker
        "Check it with `pooling_lab.exercises.check_relu_backward`.",  # no signature shown
    ],
)
def test_a_coding_exercise_the_staging_cannot_serve_stops_the_build(text):
    with pytest.raises(lite_stage.StageError):
        lite_stage._exercise_stub("book/x", exercise(text))


def test_every_chapter_stages(tmp_path):
    staged = lite_stage.stage(tmp_path)
    assert sorted(staged) == sorted(tmp_path / f"{c}.ipynb" for c in lite_stage.notebook_chapters())
    for path in staged:
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code[0]["id"] == "lite-setup" and "%pip install pooling-lab" in code[0]["source"]
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        ids = [c["id"] for c in nb["cells"]]
        assert len(ids) == len(set(ids)), f"{path.name}: repeated cell ids"
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                assert lite_stage.RAW_MYST.search(cell["source"]) is None, path.name


def test_a_tampered_pyodide_file_is_refused(tmp_path):
    good, bad = tmp_path / "good.whl", tmp_path / "bad.whl"
    good.write_bytes(b"the real file")
    bad.write_bytes(b"something else")
    pinned = hashlib.sha256(b"the real file").hexdigest()
    out = tmp_path / "out"
    out.mkdir()
    lite_pyodide._from_folder(tmp_path, {"good.whl": pinned}, out, "test")
    assert (out / "good.whl").read_bytes() == b"the real file"
    with pytest.raises(lite_pyodide.FetchError, match="refusing"):
        lite_pyodide._from_folder(tmp_path, {"bad.whl": pinned}, out, "test")
    with pytest.raises(lite_pyodide.FetchError, match="missing"):
        lite_pyodide._from_folder(tmp_path, {"gone.whl": pinned}, out, "test")


def test_the_pyodide_pins_are_complete():
    manifest = lite_pyodide.load_manifest()
    packages = manifest["packages"]
    names = {n.replace("_", "-").lower() for n in packages}
    for entry in packages.values():  # every dependency is bundled as well
        assert {d.replace("_", "-").lower() for d in entry["depends"]} <= names, entry["name"]
        assert len(entry["sha256"]) == 64
    assert {n.replace("_", "-") for n in lite_pyodide.REQUESTED} <= names
    assert set(manifest["core"]) == set(lite_pyodide.CORE)
    assert manifest["lock_info"]["version"] == manifest["version"] == "0.27.7"
    assert manifest["lock_info"]["arch"] == "wasm32"
