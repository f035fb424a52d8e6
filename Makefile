# Everything a fresh Debian 12 machine (as root) needs is installed by these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3 python3-venv python3-dev gcc git make openssh-client \
	debootstrap systemd-container iproute2 nftables restic rclone chromium
STAMP_APT := $(VENV)/.apt-stamp
# Tools run from the virtualenv (ansible-lint looks for ansible-playbook on PATH).
export PATH := $(CURDIR)/$(BIN):$(PATH)
STAMP_PY := $(VENV)/.py-stamp

.PHONY: setup demo test lint unit lab-test lab-down bench clean

setup: $(STAMP_PY) node_modules/.bin/azurite

$(STAMP_APT): Makefile
	@mkdir -p $(VENV)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# a machine may bring its own Node.js (with npm); only fall back to Debian's when npm is absent
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@touch $@

$(STAMP_PY): $(STAMP_APT) pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

node_modules/.bin/azurite: package.json $(STAMP_APT)
	npm ci --no-audit --no-fund --silent
	@touch $@

demo: setup
	$(BIN)/ilag demo
	$(BIN)/ilag report --out build/report

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/yamllint -s .
	cd $(CURDIR) && ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(BIN)/ansible-lint --profile production -q

unit: setup
	$(BIN)/pytest -m 'not lab'

test: lint
	$(BIN)/pytest

lab-down: setup
	$(BIN)/ilag lab down

bench: setup
	$(BIN)/python bench/converge.py

clean:
	rm -rf $(VENV) node_modules
