# Two commands for a fresh clone (see README): `make run` and `make test`. Each calls scripts/lab.py, which sets
# itself up (a second run skips what is already done) and runs without make too: `python3.11 scripts/lab.py run`,
# on Windows `py -3.11 scripts\lab.py run`.
PY ?= python3.11
TORCH ?= cpu
PORT ?= 8501
# for `make test`: what pytest gets, e.g. make test ARGS="tests/test_docs.py -x"
ARGS ?=
LAB = $(PY) scripts/lab.py

.PHONY: setup dev run test lint weights warm browser bench wheels

# setup: the app's packages (TORCH=cpu: the lightest torch that runs on a CPU; TORCH=cuda: the build for an NVIDIA
# GPU); dev: and the test tools; weights: converted, no measuring; warm: and this CPU's backends measured
setup dev weights warm browser lint bench wheels:
	$(LAB) $@ --torch $(TORCH)

run:
	$(LAB) run --torch $(TORCH) --port $(PORT)

test:
	$(LAB) test --torch $(TORCH) -- $(ARGS)
