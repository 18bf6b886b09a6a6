# telcolab: the two commands a new user needs are `make demo` and `make test`.
# Both create the virtual environment (.venv) and install the project first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench check scale setup-emulation test-emulation clean help

help:
	@echo "make demo   run scenarios/quickstart.yaml on the simulated network"
	@echo "make test   run the test suite"
	@echo "make bench  run the benchmarks (pytest-benchmark)"
	@echo "make check  validate every scenario in scenarios/"
	@echo "make scale  run scenarios/scale-1m.yaml (a million customers; about 40 minutes, 8.5 GB)"
	@echo "make setup-emulation  (root) Open vSwitch, Mininet, iperf3 and os-ken for --backend mininet"
	@echo "make test-emulation   (root) the emulation tests, required to run"
	@echo "make clean  remove the virtual environment and run folders"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "telcolab needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) run_scenario.py scenarios/quickstart.yaml

# The tests, then the scenario library's expectations (pytest's testpaths: tests/ and scenarios/). The emulated
# quickstart's expectations are checked by its emulation test, which runs it once.
test: $(STAMP)
	$(PY) -m pytest --deselect scenarios/emulated-quickstart.yaml

bench: $(STAMP)
	$(PY) -m pytest tests/bench -m bench --benchmark-enable --benchmark-only \
		--benchmark-columns=min,median,mean,ops,rounds --benchmark-sort=name

check: $(STAMP)
	@for f in scenarios/*.yaml; do $(PY) run_scenario.py "$$f" --check || exit 2; done

scale: $(STAMP)
	rm -rf runs/scale-1m
	$(PY) run_scenario.py scenarios/scale-1m.yaml --out runs/scale-1m

setup-emulation:
	VENV=$(VENV) PYTHON=$(PYTHON) bash scripts/setup-emulation.sh

test-emulation: setup-emulation
	TELCOLAB_REQUIRE_EMULATION=1 $(PY) -m pytest -m emulation tests/emulation

clean:
	rm -rf $(VENV) runs .pytest_cache .benchmarks
