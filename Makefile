# Proeftuin: the two README commands (`make up`, `make test`) and the usual helpers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install lint bench clean help native-tools postgresql images

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

# The storage tests start their own PostgreSQL cluster (initdb/pg_ctl in a temporary folder, never as root):
# Debian's server package, installed as root (as Chromium is), else only named.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "PostgreSQL ontbreekt: installeer het met 'sudo apt-get install postgresql' en probeer opnieuw."; exit 1; fi; fi

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

test: install /usr/bin/chromium postgresql lint  ## install everything, check the code (ruff, layers) and run the whole test suite
	$(BIN)/pytest

bench: install postgresql  ## run the benchmarks (each prints a ratio against its baseline)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: install  ## ruff on the code and the import layers of pyproject.toml (both pinned in the `lint` extra)
	$(BIN)/ruff check src tests bench pilots
	$(BIN)/lint-imports

# The container images of `proeftuin deploy kubernetes` (docker/*.Dockerfile, linted by hadolint in `make test`).
# Built only where a container engine exists; REGISTRY and TAG as in `proeftuin deploy kubernetes`.
REGISTRY ?= proeftuin
TAG ?= $(shell $(BIN)/python -c 'import importlib.metadata as m; print(m.version("proeftuin"))' 2>/dev/null || echo dev)
images:  ## build the container images (needs docker or podman)
	@engine=$$(command -v docker || command -v podman) || { echo "Geen docker of podman gevonden: installeer er een om de images te bouwen."; exit 1; }; \
	set -e; \
	$$engine build -f docker/singleuser.Dockerfile -t $(REGISTRY)/singleuser:$(TAG) .; \
	$$engine build -f docker/platform.Dockerfile --target platform -t $(REGISTRY)/platform:$(TAG) .; \
	$$engine build -f docker/platform.Dockerfile --target hub -t $(REGISTRY)/hub:$(TAG) .

clean:  ## remove the virtualenv (the state folder .proeftuin/ is kept)
	rm -rf $(VENV) src/proeftuin/_privacy_native*
