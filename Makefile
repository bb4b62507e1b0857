# The two set-up commands: `make demo` (the tour on bundled data) and `make test`.
# Each creates or reuses .venv; torch==2.13.0 goes in first so that pip takes the
# local CPU wheel instead of a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nnlab-installed

.PHONY: demo test clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/nnlab tour

# One test process per core (at most 4), each on one thread: the tests' tensors are tiny, so two
# single-threaded processes finish sooner than one on two threads (measured in docs/benchmarks.md).
# A file's tests stay in one process, sharing its module fixtures.
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --maxprocesses=4 --dist loadfile

clean:
	rm -rf $(VENV) runs .pytest_cache
