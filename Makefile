# The README's commands. `make demo` and `make test` install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := libcurl4-openssl-dev libxml2-dev libxml2-utils pkg-config libsqlite3-dev time chromium chromium-driver postgresql python3-venv
SECONDS ?= 60

.PHONY: deps build install demo workspace test bench bench-compare mock fuzz chaos clean-demo

# Installs the system packages the build needs, only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Installs miles-adapter and miles-mock (release builds) under PREFIX, with the mappings in
# PREFIX/share/miles-adapter/mappings, where miles-adapter finds them from any folder.
PREFIX ?= /usr/local
install: deps
	for p in miles-adapter miles-mock; do $(SWIFT) build -c release --product $$p || exit 1; done
	bin="$$($(SWIFT) build -c release --show-bin-path)"; \
	mkdir -p "$(PREFIX)/bin" "$(PREFIX)/share/miles-adapter" && \
	install -m 0755 "$$bin/miles-adapter" "$$bin/miles-mock" "$(PREFIX)/bin/" && \
	cp -R "$$bin/miles-collections-adapter_miles-mock.resources" "$(PREFIX)/bin/" && \
	rm -rf "$(PREFIX)/share/miles-adapter/mappings" && cp -R mappings "$(PREFIX)/share/miles-adapter/mappings"

# The nightly job end to end: miles-demo starts a mock MILES and runs each step with miles-adapter.
demo: deps
	$(SWIFT) build --product miles-adapter
	$(SWIFT) build --product miles-demo
	$$($(SWIFT) build --show-bin-path)/miles-demo

# The demo, then its store served in the workspace (sign in as ann or tom; the demo's passwords are NAME-demo-password).
workspace: demo
	@echo "workspace: sign in as ann (agent) or tom (team leader) with the password NAME-demo-password"
	$$($(SWIFT) build --show-bin-path)/miles-adapter serve --config demo-output/miles-adapter.yaml

# The store tests run on SQLite and on a PostgreSQL server of the tests' own (scripts/postgres-test-server:
# initdb into .build/postgres-test, a free loopback port), stopped at the end whatever happens.
PG_TEST_DIR := .build/postgres-test
TEST_LOG := .build/test-output.log
test: deps
	$(SWIFT) build --build-tests
	scripts/postgres-test-server start $(PG_TEST_DIR) >/dev/null
	# A hung test fails the run after 20 minutes instead of holding CI to its limit. Swift Testing
	# starts every test at once unless told (--num-workers only limits XCTest): four test cases at a
	# time keep each case's time near its own on two cores, so a case's time limit measures the case,
	# not the queue of the others (unlimited, a 1-second PostgreSQL case overran its 2 minutes). The
	# variable is experimental (Swift 6.3's Testing reads it); a toolchain without it runs all at once.
	# A failing run ends by naming its failures again: the tests print as they finish, so the one that
	# failed scrolls far up, and a CI record that keeps only the tail of the output would not show it.
	trap 'scripts/postgres-test-server stop $(PG_TEST_DIR)' EXIT; \
	MILES_TEST_POSTGRES_URL=$$(cat $(PG_TEST_DIR)/url) SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=4 \
		timeout 1200 $(SWIFT) test --skip-build --parallel --num-workers 2 2>&1 | tee $(TEST_LOG); \
	status=$${PIPESTATUS[0]}; \
	if [ $$status -ne 0 ]; then \
		echo "== make test failed (exit $$status$$([ $$status -eq 124 ] && echo ', stopped after 20 minutes')); what failed, from $(TEST_LOG):"; \
		grep -a '✘' $(TEST_LOG) | grep -av '✘ Suite' | cut -c1-600 | head -60; \
	fi; \
	exit $$status
	# The fuzzer's short form: a minute over the reader and the contract decoder.
	$(MAKE) fuzz SECONDS=60
	# The chaos run's short form on each store: 3,000 contracts, random faults and kills (and, on
	# PostgreSQL, the server crashed and started again), every check.
	$(MAKE) chaos CHAOS_ARGS=--short
	$(MAKE) chaos CHAOS_ARGS="--short --postgres"

# The peers' Python virtual environment (zeep and lxml): the pinned versions of
# bench/peers/requirements.txt from PyPI, made again whenever that file changes.
PYTHON ?= python3
BENCH_VENV := .build/bench-venv
$(BENCH_VENV)/installed: bench/peers/requirements.txt
	rm -rf $(BENCH_VENV)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check --no-cache-dir -r bench/peers/requirements.txt
	touch $@

# Throughput and memory benchmarks, in release mode; figures go to BENCHMARKS.md by hand. The peers
# (zeep and a hand-written lxml client) run from the virtual environment above. The bench exits
# non-zero, after printing every figure, when a goal of issue 16 is missed (storing floor, memory, peers).
bench: deps $(BENCH_VENV)/installed
	for p in miles-adapter miles-mock miles-adapter-bench; do $(SWIFT) build -c release --product $$p || exit 1; done
	BENCH_PYTHON=$(BENCH_VENV)/bin/python $$($(SWIFT) build -c release --show-bin-path)/miles-adapter-bench

# The same benchmarks beside an earlier commit's build, in one run: the earlier bench's in-process
# figures (decode, push) first, then this tree's, with the earlier miles-adapter measured beside this
# one for --help, sync and ingest. BASELINE is a commit (built under .build-baseline/src), or
# BASELINE_BIN an existing release folder of one (its source root two levels up).
BASELINE ?= c25a154
BASELINE_BIN ?=
BENCH_PRODUCTS := miles-adapter miles-mock miles-adapter-bench
bench-compare: deps $(BENCH_VENV)/installed
	for p in $(BENCH_PRODUCTS); do $(SWIFT) build -c release --product $$p || exit 1; done
	bin="$(BASELINE_BIN)"; \
	if [ -z "$$bin" ]; then \
		rm -rf .build-baseline/src && mkdir -p .build-baseline/src && git archive $(BASELINE) | tar -x -C .build-baseline/src && \
		(cd .build-baseline/src && for p in $(BENCH_PRODUCTS); do $(SWIFT) build -c release --product $$p || exit 1; done) || exit 1; \
		bin="$$PWD/.build-baseline/src/.build/release"; \
	fi; \
	echo "== baseline ($$bin): decode and push, in its own bench process"; \
	(cd "$$bin/../.." && BENCH_ONLY=decode,push "$$bin/miles-adapter-bench") || exit 1; \
	echo "== this tree, with the baseline's miles-adapter measured beside it for help, sync and ingest"; \
	BENCH_BASELINE_BIN="$$bin" BENCH_PYTHON=$(BENCH_VENV)/bin/python $$($(SWIFT) build -c release --show-bin-path)/miles-adapter-bench

# libFuzzer over the hardened XML reader, the SOAP envelope and the contract decoder, and the readers
# of agents' deliveries (CSV, XML, JSON) with each shipped mapping, for SECONDS seconds, from a seed
# corpus of the mock's own answers and the agents' golden files (each behind the byte that picks its
# reader, see Fuzz/MilesFuzz/main.swift). Findings go to .build-fuzz/findings/.
AGENT_SEEDS := 1:Tests/EndToEndTests/Golden/agents/acme-dca-return.csv 2:Tests/EndToEndTests/Golden/agents/tracewise-results.csv \
	3:Tests/EndToEndTests/Golden/agents/northern-recoveries-report.xml 4:Fuzz/seeds/updates.json
FUZZ_FLAGS := -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver
fuzz: deps
	$(SWIFT) build --product miles-mock
	# The fuzzer's own file is always recompiled: an incremental build of it has missed a change to the
	# layout of MappingSet, and a stale main then crashes at start-up (not a finding).
	touch Fuzz/MilesFuzz/main.swift
	$(SWIFT) build -c release --product miles-fuzz --scratch-path .build-fuzz $(FUZZ_FLAGS)
	mkdir -p .build-fuzz/corpus .build-fuzz/findings
	$$($(SWIFT) build --show-bin-path)/miles-mock --write-samples .build-fuzz/corpus --contracts 50
	for seed in $(AGENT_SEEDS); do \
		file=$${seed#*:}; { printf "\\x0$${seed%%:*}"; cat "$$file"; } > .build-fuzz/corpus/agent-$$(basename "$$file") || exit 1; \
	done
	.build-fuzz/release/miles-fuzz .build-fuzz/corpus -max_total_time=$(SECONDS) -max_len=65536 -rss_limit_mb=1024 \
		-timeout=10 -artifact_prefix=.build-fuzz/findings/ -print_final_stats=1 2>&1 | grep -v '^#[0-9]' | tail -20; \
		exit $${PIPESTATUS[0]}

# The chaos run: a mock MILES failing 20 % of calls at random (every kind of fault, from a seed), and
# sync, ingest and push killed with SIGKILL at random moments and restarted until they complete; then
# the store, MILES's ledger, the ingested rows, the audit log and the drop folder are checked.
# Ingest runs as two watchers and push as three workers. CHAOS_ARGS=--short is the CI form; --postgres
# runs it on a PostgreSQL server of its own (.build/chaos-postgres), crashed and restarted mid-ingest and
# mid-push; --seed N replays a run's faults.
CHAOS_ARGS ?=
chaos: deps
	$(SWIFT) build --product miles-adapter
	$(SWIFT) build --product miles-chaos
	$$($(SWIFT) build --show-bin-path)/miles-chaos $(CHAOS_ARGS)

# A standalone mock MILES on port 8080.
mock: deps
	$(SWIFT) run miles-mock --port 8080
