# Two commands for a fresh machine:  `make run`  and  `make test`  (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The pinned sources are read from a local mirror first when there is one (CI and the
# developers' machines have ../shared/data/mirror); otherwise they are downloaded and verified.
MIRROR := $(abspath ../shared/data/mirror)
export GEO_APP_DATA_MIRROR ?= $(if $(wildcard $(MIRROR)/MANIFEST.tsv),$(MIRROR),)

.PHONY: run test build install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

build: install
	$(BIN)/geo-app build

run: build
	$(BIN)/geo-app serve --host 127.0.0.1 --port 8000

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
