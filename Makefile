# Symbiose: set-up, demo and tests on a machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.PHONY: demo test install install-dev lint bench bench-peers clean chromium java wrk

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, got " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The spark extra is part of development: its tests run in `make test` on Spark's local[2].
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(VENV)/.installed $@

# Browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The serving benchmark (benchmarks/serving_load.py) drives the service with Debian's wrk.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }

# Spark (the spark extra) runs on a Java 17 or newer runtime: Debian's headless JRE where none is.
java:
	@command -v java >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev java

# make demo PORT=8080 serves the demo on another port.
PORT ?= 8000
demo: install
	$(BIN)/symbiose demo --port $(PORT)

# Passive OpenMP waiting: LightGBM's threads otherwise spin against the test workers.
test: install-dev chromium
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest $(PYTEST_ARGS)

# Ruff over all code; mypy (settings in pyproject.toml: strict optional, unused ignores, untyped
# bodies checked) over the three packages.
lint: install-dev
	$(BIN)/ruff check features models serving tests benchmarks
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python benchmarks/policy_value.py

# Open-source uplift learners next to Symbiose (bench extra: scikit-uplift, causalml, econml).
# Quick development run: make bench-peers PEERS_ARGS=--quick. OpenMP threads that wait passively
# keep LightGBM's two threads from slowing each other down tenfold on a busy machine.
PEERS_ARGS ?=
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

bench-peers: $(VENV)/.installed-bench
	OMP_WAIT_POLICY=PASSIVE nice $(BIN)/python -m benchmarks.peers $(PEERS_ARGS)

clean:
	rm -rf $(VENV) .symbiose .pytest_cache
