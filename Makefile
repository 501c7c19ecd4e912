# One virtual environment (.venv) for everything; each target installs what it needs, so each
# works on a fresh clone. Run `make help` for the list.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help test book execute lint clean venv

help:
	@echo "make test     install everything and run the whole test suite (what CI runs)"
	@echo "make book     install the book's tools and build it into _build/html"
	@echo "make execute  re-run every notebook top to bottom in a fresh kernel, in place"
	@echo "make lint     ruff check and format check"

venv: $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Unit, property and PyTorch-parity tests, docstring examples, every notebook re-run and
# compared by nbval, and the built book opened in headless Chromium.
# torch comes first and pinned: 2.13.0 is a CPU build; an unpinned torch pulls CUDA.
test: venv
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,book,reference]"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Build matplotlib's font cache now, so its one-time notice never lands in a notebook.
	$(BIN)/python -c "import matplotlib.pyplot"
	$(BIN)/python -m pytest

book: venv
	$(BIN)/pip install --quiet -e ".[book]"
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "The book is in _build/html: open _build/html/index.html in a browser."

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
