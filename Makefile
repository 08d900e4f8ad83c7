# Two commands for a fresh clone (see README): `make run` and `make test`. Each sets itself up; a second
# run skips what is already done.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-dev.txt requirements-nodeps.txt
PORT ?= 8501

.PHONY: setup run test lint weights warm browser bench

$(STAMP): $(REQS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q setuptools wheel
	@# basicsr's setup.py needs torch at build time: install torch first, then build basicsr against it
	@# (--no-build-isolation) instead of letting pip fetch a second torch into a build environment.
	$(BIN)/pip install -q $$(grep -E '^(torch|torchvision|numpy)==' requirements.txt)
	$(BIN)/pip install -q --no-build-isolation -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-build-isolation --no-deps -r requirements-nodeps.txt
	touch $@

setup: $(STAMP)

# weights only: a test measures a backend when it first needs one
weights: setup
	$(BIN)/python -m core prepare --no-measure

# weights, and this machine's backend measurements for the default networks: ready before class
warm: setup
	$(BIN)/python -m core prepare

browser:
	@command -v chromium >/dev/null || scripts/install-chromium.sh

run: warm
	$(BIN)/streamlit run streamlit_app.py --server.port $(PORT)

lint: setup
	$(BIN)/ruff check .

test: lint weights browser
	$(BIN)/python -m pytest

bench: weights
	$(BIN)/python bench/speed.py --quick
