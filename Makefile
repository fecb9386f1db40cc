# xphone.connect — the two commands that matter: `make demo` and `make test`.
# Everything runs from a virtual environment built here from the pinned requirements-dev.txt.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := tests/output
# The collection must sit at ansible_collections/xphone/connect for Ansible: a symlink tree does that.
COLL_ROOT := $(OUT)/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/xphone/connect
LAB_DIR := $(OUT)/lab
export PYTHONPATH := $(CURDIR)/tests/lab
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLL_ROOT)
export ANSIBLE_PYTHON_INTERPRETER := $(CURDIR)/$(BIN)/python
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/$(OUT)/tmp/local
export ANSIBLE_REMOTE_TMP := $(CURDIR)/$(OUT)/tmp/remote
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv collection demo test test-unit test-lab test-integration sanity lint docs-lint changelog-lint build \
        lab-up lab-down lab-status lab-reset bench clean

help:
	@echo "make demo   - start the lab, run playbooks/site.yml against it twice, show the result, stop the lab"
	@echo "make test   - every test: unit, lab, integration, sanity, lint, docs"
	@echo "make lab-up | lab-down | lab-status | lab-reset | bench | build"

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==26.3
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

collection: venv
	@mkdir -p $(dir $(COLL_LINK)) $(OUT)/tmp/local $(OUT)/tmp/remote
	@ln -sfn $(CURDIR) $(COLL_LINK)

lab-up: collection
	$(BIN)/python -m lab up --dir $(LAB_DIR)

lab-down: venv
	$(BIN)/python -m lab down --dir $(LAB_DIR)

lab-status: venv
	$(BIN)/python -m lab status --dir $(LAB_DIR)

lab-reset: venv
	$(BIN)/python -m lab reset --dir $(LAB_DIR)

test-unit: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

test-lab: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/lab/tests

test-integration: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

test: test-unit test-lab test-integration sanity lint docs-lint changelog-lint build

bench: collection
	$(BIN)/python tests/lab/bench.py

clean:
	rm -rf $(OUT) $(VENV) collections
