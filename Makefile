# One virtual environment (.venv) for everything; each target installs what it needs, so each
# works on a fresh clone. Run `make help` for the list.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where pip finds torch (the test reference only). Empty: pip's default index, which on most
# Linux machines serves the multi-GB CUDA build; for the CPU build say
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
# Where the in-browser site's Pyodide comes from: pypi (default), cdn, or a local folder or
# pyodide-X.tar.bz2; every file is checked against lite/pyodide-manifest.json whatever the source.
PYODIDE_SOURCE ?= pypi
export PYODIDE_SOURCE

.PHONY: help test book execute lint clean venv

help:
	@echo "make test     install everything and run the whole test suite (what CI runs)"
	@echo "make book     install the book's tools and build it, with its in-browser copy, into _build/html"
	@echo "make execute  re-run every notebook top to bottom in a fresh kernel, in place"
	@echo "make lint     ruff check and format check"

venv: $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Unit, property and PyTorch-parity tests, docstring examples, every notebook re-run and
# compared by nbval, the built book opened in headless Chromium, and every chapter run in the
# book's in-browser copy (JupyterLite) there.
# torch comes first and pinned (an unpinned torch pulls CUDA); see TORCH_INDEX above. Without
# compiling its 2,285 modules to bytecode at install (13.6 s of the 17 here): each process
# that imports torch then compiles the ones it loads, about 1.1 s, and only a handful do.
test: venv
	$(BIN)/pip install --quiet --no-compile $(TORCH_FROM) torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,book,reference]"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Build matplotlib's font cache now, so its one-time notice never lands in a notebook.
	$(BIN)/python -c "import matplotlib.pyplot"
	$(BIN)/python -m pytest

# The book and, in _build/html/lite, its in-browser copy (POOLING_LAB_LITE=0 skips that).
book: venv
	$(BIN)/pip install --quiet -e ".[book]"
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "The book is in _build/html: open _build/html/index.html in a browser, or serve it"
	@echo "(python3 -m http.server -d _build/html) to use its 'Run in your browser' buttons."

execute: venv
	$(BIN)/pip install --quiet -e ".[book]" "ruff==0.17.6"
	$(BIN)/ruff format book
	$(BIN)/python -c "import matplotlib.pyplot"
	$(BIN)/python scripts/execute_notebooks.py

lint: venv
	$(BIN)/pip install --quiet "ruff==0.17.6"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis
