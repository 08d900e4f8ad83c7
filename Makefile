# Two commands for a fresh clone (see README): `make run` and `make test`. Each sets itself up; a second
# run skips what is already done.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TORCH ?= cpu
STAMP := $(VENV)/.installed-$(TORCH)
DEV_STAMP := $(VENV)/.installed-dev
REQS := requirements.txt requirements-nodeps.txt
PORT ?= 8501

.PHONY: setup dev run test lint weights warm browser bench

# TORCH=cpu (default): the lightest torch build that runs on a CPU; TORCH=cuda: the build for an NVIDIA GPU
# (scripts/setup-venv.sh says which it installed). The app's packages only; `make test` adds the test tools.
$(STAMP): $(REQS) scripts/setup-venv.sh
	rm -f $(VENV)/.installed*
	PY=$(PY) TORCH=$(TORCH) scripts/setup-venv.sh
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

setup: $(STAMP)

dev: $(DEV_STAMP)

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

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

test: dev lint weights browser
	$(BIN)/python -m pytest

bench: weights
	$(BIN)/python bench/speed.py --quick
