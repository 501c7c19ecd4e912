"""The in-browser copy's building blocks, without a browser: staging and Pyodide's pins."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lite_pyodide  # noqa: E402
import lite_stage  # noqa: E402
from test_lite_browser import nbval_compares, nbval_view, output_mismatches  # noqa: E402


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
        assert "import matplotlib.font_manager" in code[0]["source"]  # its notice lands here
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        ids = [c["id"] for c in nb["cells"]]
        assert len(ids) == len(set(ids)), f"{path.name}: repeated cell ids"
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                assert lite_stage.RAW_MYST.search(cell["source"]) is None, path.name


def test_files_a_chapter_reads_are_staged_beside_it(tmp_path):
    lite_stage.stage(tmp_path)
    results = ROOT / "benchmarks" / "results"
    repeats = sorted((results / "pooling_repeats").glob("*.json"))
    assert repeats  # the folder making_it_fast names with a final slash: every file of it
    for path in [results / "pooling.json", results / "cnn.json", *repeats]:
        copy = tmp_path / path.relative_to(ROOT)
        assert copy.read_bytes() == path.read_bytes(), copy


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


# The browser test compares outputs as nbval does; these check that comparison without a browser.


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def figure(size="640x480", png="iVBORw0KGgo"):
    data = {"text/plain": f"<Figure size {size} with 1 Axes>", "image/png": png}
    return {"output_type": "display_data", "data": data, "metadata": {}}


def test_outputs_compare_as_nbval_compares_them():
    same = nbval_view([stream("a\n"), stream("b\n"), figure()])
    # streams are merged by name, images and output types are not compared
    assert nbval_view([stream(["a\n", "b\n"]), figure(png="other")]) == same
    result = {"output_type": "execute_result", "execution_count": 3, "metadata": {}}
    result["data"] = {"text/plain": "<Figure size 640x480 with 1 Axes>"}
    assert nbval_view([stream("a\nb\n"), result]) == same
    assert nbval_view([stream("a\nb\n"), figure(size="640x481")]) != same
    assert nbval_view([stream("a\nb\n", "stderr"), figure()]) != same
    assert nbval_view([stream("a\nb\n"), stream("notice\n", "stderr"), figure()]) != same
    assert nbval_view([stream("x\rb\n"), stream("a\n")]) == nbval_view([stream("b\na\n")])


def cell(source="print(1)", tags=(), count=1):
    node = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    node.execution_count = count
    return node


def test_the_cells_nbval_compares():
    assert nbval_compares(cell())
    assert not nbval_compares(cell(tags=["nbval-ignore-output"]))
    assert not nbval_compares(cell(tags=["nbval-skip"]))
    assert not nbval_compares(cell("# NBVAL_IGNORE_OUTPUT\nprint(1)"))
    assert not nbval_compares(cell(count=None))  # nbval does not compare a cell that never ran
    assert nbval_compares(cell("# NBVAL_CHECK_OUTPUT\nprint(1)", tags=["nbval-ignore-output"]))


def test_every_chapter_compares_with_its_own_stored_outputs(tmp_path):
    """The staged copy keeps each chapter's code cells (ids, source, order), so that the browser
    test can match them with the stored ones; a changed output is reported with a diff."""
    for path in lite_stage.stage(tmp_path):
        chapter = str(path.relative_to(tmp_path).with_suffix(""))
        stored = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
        outputs = {c.id: c.outputs for c in stored.cells if c.cell_type == "code"}
        staged = json.loads(path.read_text())["cells"]
        cells = [
            {"id": c["id"], "type": c["cell_type"], "source": "".join(c["source"]), "outputs": []}
            for c in staged
        ]
        for c in cells:
            c["outputs"] = json.loads(json.dumps(outputs.get(c["id"], [])))
            change = lite_stage.BROWSER_CHANGES.get((chapter, c["id"]))
            for out in c["outputs"] if change else []:  # what the changed cell prints there
                if out["output_type"] == "stream":
                    out["text"] = lite_stage.replace_once("".join(out["text"]), change.output, "")
        assert output_mismatches(chapter, stored, cells) == [], chapter
        compared = next(
            c for c in cells if c["outputs"] and nbval_compares(outputs_cell(stored, c["id"]))
        )
        compared["outputs"] = [stream("something else\n")]
        [(cell_id, diff)] = output_mismatches(chapter, stored, cells)
        assert cell_id == compared["id"] and "+something else" in diff, diff


def outputs_cell(stored, cell_id):
    return next(c for c in stored.cells if c.get("id") == cell_id)


def test_the_browser_changes_are_applied_and_cannot_go_stale(tmp_path):
    staged = {
        str(p.relative_to(tmp_path).with_suffix("")): json.loads(p.read_text())
        for p in lite_stage.stage(tmp_path)
    }
    for (chapter, cell_id), change in lite_stage.BROWSER_CHANGES.items():
        cells = {c["id"]: "".join(c["source"]) for c in staged[chapter]["cells"]}
        for _old, new in change.source:
            assert new in cells[cell_id], (chapter, cell_id)
    cnn = {c["id"]: "".join(c["source"]) for c in staged["book/cnn_digits"]["cells"]}
    assert "# In your browser: 10 of the recipe's 40 epochs" in cnn["c07"]  # the reader's note
    with pytest.raises(lite_stage.StageError, match="exactly once"):
        lite_stage.replace_once("recipe = 1\n", [("recipe = 2", "recipe = 3")], "here")


def test_cells_fold_in_the_browser_as_the_book_folds_them(tmp_path):
    staged = {p.stem: p for p in lite_stage.stage(tmp_path, ROOT)}
    seen = set()
    for doc in lite_stage.notebook_chapters(ROOT):
        stored = json.loads((ROOT / f"{doc}.ipynb").read_text())
        tags = {c["id"]: set(c["metadata"].get("tags", [])) for c in stored["cells"]}
        for cell in json.loads(staged[Path(doc).name].read_text())["cells"]:
            if cell["cell_type"] != "code" or cell["id"] not in tags:
                continue
            t = tags[cell["id"]]
            folded = cell["metadata"].get("jupyter", {})
            hides_source = bool(t & {"hide-input", "hide-cell", "remove-input", "remove-cell"})
            hides_outputs = bool(t & {"hide-output", "hide-cell", "remove-output", "remove-cell"})
            assert folded.get("source_hidden", False) == hides_source, (doc, cell["id"], t)
            assert folded.get("outputs_hidden", False) == hides_outputs, (doc, cell["id"], t)
            seen |= t
    # the book uses these tags, so the test sees real cases of each kind
    assert {"hide-input", "hide-cell", "remove-cell"} <= seen, seen


def test_each_figure_is_described_under_it_in_the_browser(tmp_path):
    staged = {p.stem: p for p in lite_stage.stage(tmp_path, ROOT)}
    described = 0
    for doc in lite_stage.notebook_chapters(ROOT):
        stored = json.loads((ROOT / f"{doc}.ipynb").read_text())
        alts = {
            c["id"]: c["metadata"]["mystnb"]["image"]["alt"]
            for c in stored["cells"]
            if "alt" in c["metadata"].get("mystnb", {}).get("image", {})
        }
        cells = json.loads(staged[Path(doc).name].read_text())["cells"]
        for i, cell in enumerate(cells):
            if cell["id"] in alts:
                after = "".join(cells[i + 1]["source"])
                assert cells[i + 1]["cell_type"] == "markdown", (doc, cell["id"])
                assert "Text description of the figure" in after and alts[cell["id"]] in after
                described += 1
        assert described >= len(alts)
    assert described >= 20, described


def test_the_explorer_chapter_installs_ipywidgets_from_the_pinned_wheels(tmp_path):
    staged = {p.stem: p for p in lite_stage.stage(tmp_path, ROOT)}
    pins = (ROOT / "lite" / "wheels.txt").read_text()
    assert "ipywidgets==" in pins and "jupyterlab_widgets==" in pins
    for chapter, cell_id in lite_stage.LIVE_IN_BROWSER:
        cells = json.loads(staged[Path(chapter).name].read_text())["cells"]
        assert cell_id in {c["id"] for c in cells}, (chapter, cell_id)
        setup = "".join(next(c for c in cells if c["id"] == "lite-setup")["source"])
        assert "%pip install pooling-lab matplotlib ipywidgets" in setup, setup
    # chapters without the explorer do not load the widgets
    cells = json.loads(staged["chain_rule"].read_text())["cells"]
    assert "ipywidgets" not in "".join(
        cells[[c["id"] for c in cells].index("lite-setup")]["source"]
    )
