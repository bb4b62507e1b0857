# The two set-up commands: `make demo` (the tour on bundled data) and `make test` (the test suite,
# then the docs site from the notebooks the suite executed). `make docs` executes only the notebooks
# and builds the site.
# Each creates or reuses .venv; torch==2.13.0 goes in first so that pip takes the
# local CPU wheel instead of a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nnlab-installed

.PHONY: demo test docs site clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $@

demo: $(STAMP)
	$(BIN)/nnlab tour

# One test process per core (at most 4), each on one thread: the tests' tensors are tiny, so two
# single-threaded processes finish sooner than one on two threads (measured in docs/benchmarks.md).
# A file's tests stay in one process, sharing its module fixtures. The notebooks' tests keep each
# executed notebook, with its outputs, in build/notebooks/ for the site.
# --no-loadscope-reorder: files go out in the order collected (tests/conftest.py puts the slowest first),
# not by their number of tests, which sent the one-test notebook files out last.
PYTEST := OMP_NUM_THREADS=1 NNLAB_EXECUTED_NOTEBOOKS=build/notebooks $(BIN)/python -m pytest -q -n auto \
	--maxprocesses=4 --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	rm -rf build/notebooks
	$(PYTEST)
	$(MAKE) --no-print-directory site

docs: $(STAMP)
	rm -rf build/notebooks
	$(PYTEST) tests/notebooks
	$(MAKE) --no-print-directory site

# The site from the notebooks as last executed (strict: a warning, a broken link or a stale notebook stops
# it), then the tests of what it built.
# NO_MKDOCS_2_WARNING: Material's notice of its end of life (docs/index.md#this-site), not about this site.
site: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --quiet
	$(BIN)/python -m pytest -q -m site tests/test_site.py

clean:
	rm -rf $(VENV) runs build .pytest_cache
