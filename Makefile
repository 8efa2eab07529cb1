# The two commands of the README:
#   make book   builds the book into _build/html (executing every notebook, warnings are errors)
#   make test   runs every test (lint, unit tests, nbval with every solution, strict build,
#               headless-browser check with MathJax)
# Both create .venv and install everything when no virtual environment is active.
# For teaching, make student builds the student edition (no solutions) and exports its notebooks.

PYTHON ?= python3
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := .venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.collapse-book-installed

.PHONY: book test student install lint unit notebooks site linkcheck browser clean

book: install
	$(BIN)/jupyter-book build . --warningiserror --keep-going

test: install browser lint unit notebooks
	BOOK_OFFLINE=1 $(MAKE) --no-print-directory book
	BOOK_OFFLINE=1 $(MAKE) --no-print-directory student
	$(MAKE) --no-print-directory site

# The student edition: _build/student/html and _build/student/notebooks, using the execution
# cache of `make book` (so, after it, no notebook runs again).
student: install
	$(BIN)/python scripts/student_edition.py

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

lint: install
	$(BIN)/ruff check helpers tests benchmarks scripts notebooks conftest.py
	$(BIN)/python scripts/sync_setup_cells.py --check
	$(BIN)/python scripts/check_notebooks.py

# Tests and notebooks run on every core (pytest-xdist): one torch thread per worker, since
# threads spinning against each other slow small models down many times over; a notebook's
# cells stay together and in order on one worker (--dist loadscope).
PARALLEL := -n auto --dist loadscope

unit: install
	OMP_NUM_THREADS=1 BOOK_OFFLINE=1 $(BIN)/python -m pytest tests --ignore=tests/site -q $(PARALLEL)

notebooks: install
	OMP_NUM_THREADS=1 BOOK_OFFLINE=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env -q \
		--durations=8 $(PARALLEL) notebooks

site: install browser
	$(BIN)/python -m pytest tests/site -q

linkcheck: install
	$(BIN)/python -m pytest tests/site/test_links.py -q

# Chromium (Debian's package) and MathJax 3 (npm's package, served locally by the site test).
browser:
	@bash scripts/ensure_chromium.sh
	@bash scripts/ensure_mathjax.sh

clean:
	rm -rf _build
