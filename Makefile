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
# ansible-test resolves symlinks, so sanity runs on a copy of the source files (tests/tools/stage_collection.py),
# one per run under $(OUT)/sanity/run.*/ansible_collections/xphone/connect, so parallel runs do not collide.
# Tools that write into $HOME (ansible-test venvs and its get-pip cache, ansible-lint's collection install)
# get this one instead, so nothing lands in the real home directory.
TOOL_HOME := $(CURDIR)/$(OUT)/home
ANSIBLE_TEST_CACHE := $(TOOL_HOME)/.ansible/test/cache
DIST := $(OUT)/dist
TOOL_ENV := HOME=$(TOOL_HOME) XDG_CACHE_HOME=$(TOOL_HOME)/.cache ANSIBLE_HOME=$(TOOL_HOME)/.ansible
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)/tests/lab
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLL_ROOT)
export ANSIBLE_PYTHON_INTERPRETER := $(CURDIR)/$(BIN)/python
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/$(OUT)/tmp/local
export ANSIBLE_REMOTE_TMP := $(CURDIR)/$(OUT)/tmp/remote
export ANSIBLE_NOCOLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv collection demo test test-unit test-lab test-integration sanity sanity-ignores lint docs-lint \
        changelog-lint build lab-up lab-down lab-status lab-reset bench clean

help:
	@echo "make demo   - start the lab, run playbooks/site.yml against it (check, apply, apply again), show the result, stop the lab"
	@echo "make test   - every test: unit, lab, integration, sanity, lint, docs, changelog, build"
	@echo "make lab-up | lab-down | lab-status | lab-reset | bench | build | sanity | lint"

# The Kerberos extras (lines marked "kerberos-extra" in requirements-dev.txt) compile against MIT's libkrb5-dev, which
# tests/tools/install-kerberos installs where it can (root with apt-get); elsewhere they are left out and the
# Kerberos tests skip, saying why.
$(BIN)/.installed: requirements.txt requirements-dev.txt tests/tools/install-kerberos
	bash tests/tools/install-kerberos
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==26.3
	@if command -v krb5-config >/dev/null 2>&1; then \
		echo "$(BIN)/pip install -r requirements-dev.txt (with the Kerberos extras)"; \
		$(BIN)/pip install -q -r requirements-dev.txt; \
	else \
		echo "krb5-config not found: installing requirements-dev.txt without the Kerberos extras"; \
		grep -v 'kerberos-extra' requirements-dev.txt > $(VENV)/requirements-no-kerberos.txt; \
		$(BIN)/pip install -q -r $(VENV)/requirements-no-kerberos.txt; \
	fi
	touch $@

venv: $(BIN)/.installed

collection: venv
	@mkdir -p $(dir $(COLL_LINK)) $(OUT)/tmp/local $(OUT)/tmp/remote
	@ln -sfn $(CURDIR) $(COLL_LINK)

# LAB_ARGS=--kerberos also runs a real MIT KDC for the lab's realm (see tests/lab/README.md).
LAB_ARGS ?=
lab-up: collection
	$(BIN)/python -m lab up --dir $(LAB_DIR) $(LAB_ARGS)

lab-down: venv
	$(BIN)/python -m lab down --dir $(LAB_DIR)

lab-status: venv
	$(BIN)/python -m lab status --dir $(LAB_DIR)

lab-reset: venv
	$(BIN)/python -m lab reset --dir $(LAB_DIR)

# Lab up, site.yml in check mode, applied, applied again (fails if anything changes), state read back,
# lab down (also when a step fails). Other variables: make demo DEMO_VARS=path/to/vars.yml;
# make demo KERBEROS=1 runs it all over Kerberos against the lab's own MIT KDC.
KERBEROS ?= 0
demo: collection
	BIN=$(BIN) LAB_DIR=$(LAB_DIR) KERBEROS=$(KERBEROS) bash tests/tools/demo.sh

# Extra pytest options, e.g. make test PYTEST_ARGS="-n 2" (pytest-xdist) or PYTEST_ARGS="-x -k site".
PYTEST_ARGS ?=
# pytest exits 5 when it collects no test. That is accepted only while a directory holds no test files
# yet; any other non-zero exit fails the target.
define pytest_dir
	@if [ -z "$$(find $(1) -name 'test_*.py' -print -quit 2>/dev/null)" ]; then \
		echo "$(1): no test files yet"; \
	else \
		mkdir -p $(TOOL_HOME); rc=0; $(TOOL_ENV) $(BIN)/python -m pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS) $(1) || rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "$(1) has test files but pytest collected no test" >&2; fi; \
		exit $$rc; \
	fi
endef

test-unit: collection
	$(call pytest_dir,tests/unit)

# After the lab's tests: how much of what the lab says is sourced (tests/lab/FIDELITY.md, by status).
test-lab: collection
	$(call pytest_dir,tests/lab/tests)
	@$(BIN)/python tests/lab/fidelity_share.py --check

test-integration: collection
	$(call pytest_dir,tests/integration)

# Every target runs even after a failure (make -k), and `make test` still fails if any of them failed.
test: venv
	@$(MAKE) --no-print-directory -k test-unit test-lab test-integration sanity lint docs-lint changelog-lint build \
		&& echo "make test: everything passed" \
		|| { echo "make test: FAILED (see above)" >&2; exit 1; }

# The project allows no ignore entries: a sanity finding is fixed, not silenced.
sanity-ignores:
	@bad=$$(grep -v -h -E '^\s*(#|$$)' tests/sanity/ignore-*.txt 2>/dev/null || true); \
	if [ -n "$$bad" ]; then echo "tests/sanity/ignore-*.txt must stay empty, found:" >&2; echo "$$bad" >&2; exit 1; fi

$(ANSIBLE_TEST_CACHE)/get_pip_24_2.py: tests/tools/get_pip_24_2.py | venv
	@mkdir -p $(ANSIBLE_TEST_CACHE)
	@ls $(ANSIBLE_TEST_CACHE)/pip-24.2-*.whl >/dev/null 2>&1 || $(BIN)/pip download -q pip==24.2 --no-deps -d $(ANSIBLE_TEST_CACHE)
	@rm -f $(ANSIBLE_TEST_CACHE)/get_pip_24_2.py.download
	cp tests/tools/get_pip_24_2.py $@

sanity: venv sanity-ignores $(ANSIBLE_TEST_CACHE)/get_pip_24_2.py
	@mkdir -p $(OUT)/tmp $(OUT)/sanity
	@run=$$(mktemp -d $(CURDIR)/$(OUT)/sanity/run.XXXXXX); trap 'rm -rf "$$run"' EXIT; \
	root=$$run/ansible_collections/xphone/connect; \
	$(BIN)/python tests/tools/stage_collection.py --root $(CURDIR) "$$root" && cd "$$root" && \
	echo "ansible-test sanity --local --python 3.11 in $$root" && \
	$(TOOL_ENV) TMPDIR=$(CURDIR)/$(OUT)/tmp $(CURDIR)/$(BIN)/ansible-test sanity --local --python 3.11 --color no

lint: collection
	@mkdir -p $(TOOL_HOME)
	$(TOOL_ENV) $(BIN)/ansible-lint --offline --nocolor

docs-lint: collection
	@mkdir -p $(TOOL_HOME)
	$(TOOL_ENV) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# The artifact must not carry the lab, test output or the venv: list it and fail if it does.
build: venv
	@mkdir -p $(DIST)
	$(TOOL_ENV) $(BIN)/ansible-galaxy collection build --force --output-path $(DIST) .
	@tarball=$$(ls -t $(DIST)/xphone-connect-*.tar.gz | head -1); \
	bad=$$(tar -tzf "$$tarball" | grep -E '^(\./)?(tests/lab|tests/output|\.venv|collections|\.pytest_cache)(/|$$)|(^|/)__pycache__/' || true); \
	if [ -n "$$bad" ]; then echo "$$tarball contains files that must not ship:" >&2; echo "$$bad" | head -20 >&2; exit 1; fi; \
	echo "$$tarball: $$(tar -tzf "$$tarball" | wc -l) entries, no lab, test output or venv"

bench: collection
	$(BIN)/python tests/lab/bench.py
	$(BIN)/python tests/lab/bench_site.py

clean:
	rm -rf $(OUT) $(VENV) collections
