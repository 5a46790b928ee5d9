# Two commands do all the set-up: `make demo` and `make test`. Both build the project
# virtualenv first (once; again only when pyproject.toml changes).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is pinned here, not in pyproject: an unpinned torch pulls gigabytes of CUDA packages.
TORCH := torch==2.13.0

.PHONY: install demo test test-fast lint bench clean browser

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xstilts demo

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# The fast tier, for iterating: no training, no whole real data files (under 2 minutes on 2 cores).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The report's test renders the page in headless Chromium (Debian's package). Installed once where
# this user may use apt; elsewhere that one test is skipped, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the report's browser test will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
