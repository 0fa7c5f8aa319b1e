# ml4t's make targets. `make help` lists them. A newcomer needs only `make demo` and `make test`:
# both create the local virtual environment (.venv) if missing, install the dependencies and build the
# Rust extension in release mode, then do their job.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PYO3_PYTHON := $(abspath $(VPY))
# Rebuild the extension when any of these change.
CORE_SOURCES := $(shell find core/src -name '*.rs') core/Cargo.toml Cargo.toml pyproject.toml

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip 'maturin>=1.7,<2'

# Installs the package (editable Python sources) with its dev extras and builds the extension in release mode.
$(VENV)/.built: $(VPY) $(CORE_SOURCES)
	$(VENV)/bin/maturin develop --release --extras dev --quiet
	@touch $@

.PHONY: install
install: $(VENV)/.built ## create .venv, install dependencies, build the Rust extension (release)

.PHONY: demo
demo: install ## run the main job on the embedded synthetic dataset
	$(VPY) -m ml4t.demo

.PHONY: test
test: install ## run every test: cargo (Rust core) then pytest
	cargo test --workspace --quiet
	$(VPY) -m pytest -q

.PHONY: lint
lint: install ## ruff, mypy and clippy (-D warnings), rustfmt check
	$(VPY) -m ruff check python tests bench examples
	$(VPY) -m ruff format --check python tests bench examples
	$(VPY) -m mypy
	$(VPY) -m mypy.stubtest ml4t._core
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

.PHONY: fmt
fmt: install ## format Python (ruff) and Rust (rustfmt)
	$(VPY) -m ruff format python tests bench
	$(VPY) -m ruff check --fix python tests bench
	cargo fmt --all

# The docs extra (pyproject), installed beside the dev extras without rebuilding the extension.
$(VENV)/.docs: $(VENV)/.built pyproject.toml
	$(VPY) -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['docs']))" \
		| $(VPY) -m pip install --quiet -r /dev/stdin
	@touch $@

.PHONY: docs
docs: $(VENV)/.docs ## build the docs site into site/: API reference, README, notebooks executed; warnings are errors
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

.PHONY: bench
bench: install ## run the benchmarks (bench/) and print the table
	$(VPY) -m bench

# Micro-benchmarks of the hot paths (bench/micro, pytest-benchmark; not collected by `make test`). The baseline
# is bench/micro/.baseline/ (saved on the project's machine kind by `make bench-micro-save`). MICRO_FAIL is the
# regression that fails `make bench-micro-compare`: a case whose fastest round (min: other processes only ever
# add time) is that much slower than the baseline's. Set from the run-to-run noise: see bench/micro/conftest.py.
MICRO := $(VPY) -m pytest bench/micro --benchmark-only -p no:cacheprovider --benchmark-storage=file://bench/micro/.baseline \
	--benchmark-min-rounds=10 --benchmark-columns=min,median,iqr,rounds --benchmark-sort=name
MICRO_FAIL ?= 150%

.PHONY: bench-micro
bench-micro: install ## run the micro-benchmarks (bench/micro) and print their rates
	$(MICRO)

.PHONY: bench-micro-save
bench-micro-save: install ## run the micro-benchmarks and save them as the baseline (bench/micro/.baseline)
	$(MICRO) --benchmark-save=baseline

.PHONY: bench-micro-compare
bench-micro-compare: install ## run the micro-benchmarks against the saved baseline; fail on a min slower by MICRO_FAIL
	$(MICRO) --benchmark-compare --benchmark-compare-fail=min:$(MICRO_FAIL)

.PHONY: clean
clean: ## remove the virtual environment and build artefacts
	rm -rf $(VENV) target site .pytest_cache .mypy_cache .ruff_cache .hypothesis
