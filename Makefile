# The README's commands. `make demo` and `make test` install what is missing first.
SWIFT ?= swift
APT_PACKAGES := libcurl4-openssl-dev libxml2-dev libxml2-utils pkg-config libsqlite3-dev
SECONDS ?= 60

.PHONY: deps build demo test bench mock clean-demo

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

# The nightly job end to end against an in-process mock MILES.
demo: deps
	$(SWIFT) build --product miles-adapter
	$$($(SWIFT) build --show-bin-path)/miles-adapter demo

test: deps
	$(SWIFT) build --build-tests
	# A hung test fails the run after 20 minutes instead of holding CI to its limit.
	timeout 1200 $(SWIFT) test --skip-build --parallel --num-workers 2

# Throughput and memory benchmarks, in release mode; figures go to BENCHMARKS.md by hand.
bench: deps
	for p in miles-adapter miles-mock miles-adapter-bench; do $(SWIFT) build -c release --product $$p || exit 1; done
	$$($(SWIFT) build -c release --show-bin-path)/miles-adapter-bench

# A standalone mock MILES on port 8080.
mock: deps
	$(SWIFT) run miles-mock --port 8080
