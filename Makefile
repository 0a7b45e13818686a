# Proeftuin: the two README commands (`make up`, `make test`) and the usual helpers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install lint bench clean help native-tools

help:  ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependencies change; constraints.txt pins torch to the CPU build.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

# Node tools (axe-core for accessibility checks) are installed locally, never globally.
node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's Chromium (never a downloaded browser).
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "Chromium ontbreekt: installeer het met 'sudo apt-get install chromium' en probeer opnieuw."; exit 1; fi

# The scrubber compiled with mypyc (src/proeftuin/native.py), rebuilt when a module of the privacy
# package changes. Without a C compiler it says so and the scrubber runs as pure Python: same findings, slower.
NATIVE := src/proeftuin/_privacy_native.sha256
$(NATIVE): $(wildcard src/proeftuin/privacy/*.py) src/proeftuin/native.py | $(STAMP) native-tools
	$(BIN)/python -m proeftuin.native build --if-possible

# gcc and the Python headers for that build: installed as root (as Chromium is), else only named.
native-tools:
	@if ! command -v gcc >/dev/null || [ ! -f "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc python3-dev; \
	  else echo "Geen C-compiler of Python-headers: 'sudo apt-get install gcc python3-dev' maakt de scrubber sneller."; fi; fi

install: $(STAMP) $(NATIVE) node_modules/.installed  ## create .venv and install everything

up: install  ## install and start the platform on its embedded defaults
	$(BIN)/proeftuin up

test: install /usr/bin/chromium lint  ## install everything, check the code (ruff, layers) and run the whole test suite
	$(BIN)/pytest

bench: install  ## run the benchmarks (each prints a ratio against its baseline)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: install  ## ruff on the code and the import layers of pyproject.toml (both pinned in the `lint` extra)
	$(BIN)/ruff check src tests bench pilots
	$(BIN)/lint-imports

clean:  ## remove the virtualenv (the state folder .proeftuin/ is kept)
	rm -rf $(VENV) src/proeftuin/_privacy_native*
