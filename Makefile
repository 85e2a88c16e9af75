# conndiag — the two commands a new machine needs are `make demo` and `make test`.
# Both install what is missing (Debian packages; Python peers later), build, and run.

SWIFT      ?= swift
BIN        := .build/debug/conndiag
APT_PKGS   := libpcap-dev libnghttp2-dev libssl-dev iptables iproute2 tcpdump nghttp2-server nghttp2-client nghttp2-proxy libcap2-bin util-linux python3
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MAN_DATE   := 2026-11-23

PIP_PKGS   := grpcio grpcio-health-checking

.PHONY: all deps pydeps build demo test bench man completions docs clean fuzz fuzz-build fuzz-smoke

all: build

# Installs only what is missing, so a prepared machine skips apt entirely.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# Python test peers (a grpcio server) from PyPI, only when missing.
pydeps:
	@python3 -c "import grpc, grpc_health.v1.health" 2>/dev/null || python3 -m pip install -q $(PIP_PKGS)

build: deps
	$(SWIFT) build

# The main job on the built-in lab: the --quick matrix of every classic failure, then the
# syn-timeout timelines of the blackholed, refused, ICMP-unreachable and listening targets.
demo: build pydeps
	$(SUDO) $(BIN) lab --quick --format table
	$(SUDO) $(BIN) syn-timeout --lab --format table

# Two passes: everything but the Timing suites in parallel, then the Timing suites (which
# assert kernel timers to the millisecond) one at a time on a quiet machine.
test: build pydeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip Timing
	$(SWIFT) test --skip-build --filter Timing --no-parallel

# libFuzzer targets (Fuzz/, README "Fuzzing"): the packet decoders, TCP reassembly, the HTTP/2
# frame decoder with HPACK, and the capture reader. `make fuzz FUZZ_SECONDS=N` runs each for
# N seconds and fails on a crash; `fuzz-smoke` is CI's: every target, 60 s of fuzzing in all.
FUZZ_SECONDS ?= 10
FUZZ_TARGETS := FuzzPacketDecoder FuzzTCPReassembly FuzzHTTP2Frames FuzzCaptureReader

fuzz-build: deps
	$(SWIFT) build -c release --package-path Fuzz --scratch-path $(CURDIR)/.build-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library

fuzz: fuzz-build
	bash Fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	bash Fuzz/run.sh 12 $(FUZZ_TARGETS)

# Benchmarks (figures in the README). Release build; needs root for the lab namespaces.
bench: deps
	$(SWIFT) build -c release
	$(SUDO) env BIN=.build/release/conndiag bash bench/probe-scale.sh

# Man pages and shell completions are generated from the ArgumentParser definitions;
# CLITests fails when the committed copies are stale.
man: build
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --date $(MAN_DATE) --configuration debug --authors "conndiag developers"
	rm -rf man && mkdir -p man && cp .build/plugins/GenerateManual/outputs/conndiag/*.1 man/
	$(BIN) --experimental-dump-help > man/.cli-dump.json

completions: build
	$(BIN) --generate-completion-script bash > completions/conndiag.bash
	$(BIN) --generate-completion-script zsh > completions/_conndiag
	$(BIN) --generate-completion-script fish > completions/conndiag.fish

docs: man completions

clean:
	rm -rf .build .build-fuzz
