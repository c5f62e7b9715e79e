# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
HUMMINGBOT_VERSION := 20260922
# Hummingbot needs Python 3.12; the pyenv shim refuses to run unless pyenv is told to, so prefer the real binary.
PYTHON312 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.deps-$(HUMMINGBOT_VERSION)
CONNECTOR := hummingbot/connector/derivative/vest_perpetual
SITE_CONNECTOR = $$($(PY) -c "import hummingbot, os; print(os.path.dirname(hummingbot.__file__))")/connector/derivative/vest_perpetual

.PHONY: venv install dev lint test upstream-pr discovery demo v2-demo cli live-check bench bench-peers-deps faults soak clean

venv: $(STAMP)

$(STAMP): requirements/build.txt requirements/hummingbot.txt requirements/dev.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found; set PYTHON312=/path/to/python3.12"; exit 1; }
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements/build.txt
	@echo "Building hummingbot==$(HUMMINGBOT_VERSION) (Cython; ~4 min the first time, then cached by pip)"
	$(PIP) install -q --no-deps --no-build-isolation hummingbot==$(HUMMINGBOT_VERSION)
	$(PIP) install -q -r requirements/hummingbot.txt -r requirements/dev.txt
	touch $(STAMP)

# A user's install: copies the connector into the installed Hummingbot, where connector discovery finds it.
install: venv
	@if [ -L "$(SITE_CONNECTOR)" ]; then rm "$(SITE_CONNECTOR)"; fi
	@site=$$($(PY) -c "import hummingbot, os; print(os.path.dirname(os.path.dirname(hummingbot.__file__)))"); \
	for path in $(DEV_OVERLAY); do if [ -L "$$site/$$path" ]; then rm "$$site/$$path"; fi; done
	$(PIP) install -q --no-deps .

# A developer's install: the installed Hummingbot sees the working tree through a symlink (an editable install
# would import it but hide it from discovery). Any copied install is removed first, so nothing stale is imported.
# The candles feed and the rate source are linked the same way, each to its place in the installed `hummingbot`
# package; `vest_hummingbot.overlay.register()` then adds them to Hummingbot's candles and rate-source maps.
DEV_OVERLAY := hummingbot/data_feed/candles_feed/vest_perpetual_candles \
	hummingbot/core/rate_oracle/sources/vest_perpetual_rate_source.py
dev: venv
	@if [ -d "$(SITE_CONNECTOR)" ] && [ ! -L "$(SITE_CONNECTOR)" ]; then \
		$(PIP) uninstall -q -y vest-perpetual-hummingbot; rm -rf "$(SITE_CONNECTOR)"; fi
	ln -sfn "$(CURDIR)/$(CONNECTOR)" "$(SITE_CONNECTOR)"
	@site=$$($(PY) -c "import hummingbot, os; print(os.path.dirname(os.path.dirname(hummingbot.__file__)))"); \
	for path in $(DEV_OVERLAY); do \
		if [ -e "$$site/$$path" ] && [ ! -L "$$site/$$path" ]; then rm -rf "$$site/$$path"; fi; \
		echo "ln -sfn $(CURDIR)/$$path $$site/$$path"; ln -sfn "$(CURDIR)/$$path" "$$site/$$path" || exit 1; \
	done

# Hummingbot's pre-commit checks (flake8, isort, autopep8's fixes, private keys, file hygiene) on the whole tree.
lint: venv
	$(PY) tools/lint.py

test: dev lint
	$(PY) -m pytest -q -m "not soak" --cov --cov-report=term $(PYTEST_ARGS)

# The in-tree pull request to hummingbot/hummingbot: its files and PR text in build/upstream-pr/, upstream's lint on
# them, and their tests with only Hummingbot's dependencies importable (each module covered >= 90%).
upstream-pr: dev
	$(PY) tools/upstream_pr.py

discovery: install
	$(PY) -m vest_hummingbot.discovery

# Local Vest simulator + real Hummingbot (headless, perpetual_market_making) for DEMO_DURATION seconds, then a summary.
DEMO_DURATION ?= 60
DEMO_SEED ?= 7
demo: discovery
	$(PY) -m vest_hummingbot.demo --duration $(DEMO_DURATION) --seed $(DEMO_SEED)

# The same with Hummingbot's V2 framework: the project's V2 script and Vest controller (vest_hummingbot/home/).
v2-demo: discovery
	$(PY) -m vest_hummingbot.v2_demo --duration $(DEMO_DURATION) --seed $(DEMO_SEED)

# Hummingbot's own CLI (conf/logs/data in run/). Local simulator by default; `make cli CLI_ARGS=` for the real venue.
CLI_ARGS ?= --simulator
cli: install
	$(PY) -m vest_hummingbot $(CLI_ARGS)

# Opt-in check of the real venue (needs network). Keys from VEST_PERPETUAL_API_KEY / _SIGNING_KEY / _ACCOUNT_GROUP;
# LIVE_ARGS="--domain vest_perpetual_testnet --place-order" places and cancels a minimum-size testnet order.
LIVE_ARGS ?= --domain vest_perpetual_testnet
live-check: install
	$(PY) -m vest_hummingbot.live_check $(LIVE_ARGS)

# One table (bench/README.md): hot paths against floors, scale against the simulator in its own process, peers.
bench: dev
	$(PY) bench/run.py

# The bench's peer section signs with hyperliquid_perpetual's own auth, which imports msgpack: Hummingbot declares
# it (as msgpack-python) but the venv installs Hummingbot --no-deps. Without it the signing peer row is skipped.
bench-peers-deps: venv
	$(PIP) install -q msgpack

faults: dev
	$(PY) bench/fault_report.py

SOAK_MINUTES ?= 10
soak: dev
	$(PY) bench/soak.py --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) .coverage htmlcov
