# conndiag — the two commands a new machine needs are `make demo` and `make test`.
# Both install what is missing (Debian packages; Python peers later), build, and run.

SWIFT      ?= swift
BIN        := .build/debug/conndiag
APT_PKGS   := libpcap-dev libnghttp2-dev libssl-dev iptables iproute2 tcpdump tshark nghttp2-server nghttp2-client nghttp2-proxy libcap2-bin util-linux python3 man-db python3-yaml
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MAN_DATE   := 2026-11-23
# The version is defined once, in VERSION: the binary (Plugins/BuildInfo), the man pages'
# footer and the release file name all read it.
VERSION    := $(shell cat VERSION)

PIP_PKGS   := grpcio grpcio-health-checking
# Only for `make bench` (curl is the comparison in the start-up benchmark; tshark, the analyze
# one's, is a test dependency already: the oracle of the wild-capture tests).
BENCH_APT_PKGS := tcpdump nghttp2-client nghttp2-server ethtool bc time curl

.PHONY: all deps pydeps benchdeps build demo test test-install test-deploy test-release install uninstall release image imagedeps test-image test-sanitized test-asan test-tsan bench man completions docs clean fuzz fuzz-build fuzz-smoke

all: build

# Installs only what is missing, so a prepared machine skips apt entirely.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# What the benchmarks need beyond the test dependencies, only when missing.
benchdeps:
	@missing=""; for p in $(BENCH_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
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
	$(MAKE) test-install test-deploy

# `make install` into a temporary DESTDIR with the debug binary already built: the files in
# their places, the man pages render (man -l), `man conndiag-probe` finds the page, uninstall
# removes everything (Tests/Install/check-install.sh).
test-install:
	bash Tests/Install/check-install.sh

# deploy/*.yaml parse (python3-yaml), the Job and DaemonSet carry the fields they need, and
# their conndiag arguments run with the debug binary (Tests/Deploy/check-manifests.py).
test-deploy:
	python3 Tests/Deploy/check-manifests.py

# The suite again under AddressSanitizer and ThreadSanitizer, each in its own scratch path
# (.build-asan, .build-tsan; SwiftPM's --sanitize instruments the Swift and the C targets),
# in the same two passes as `make test`. Tests that spawn conndiag get the sanitized binary
# of the same build (CONNDIAG_BIN). Reports, also those of spawned conndiag processes, go to
# files under the scratch path; any report fails the target even when the test whose run
# caused it passed. ASan exits 86 (not its default 1, which means "failure observed" from
# conndiag), TSan halts on the first race. Leak checking is on; Tests/Sanitizers/lsan.supp
# lists the leaks that are not ours, each with its reason. The Timing suites run too: on
# 2 cores they held their millisecond tolerances under both sanitizers (the engines sleep
# in poll(), so instrumentation barely shifts kernel timers); if a slower machine makes
# them miss only by time, that pass is the one to drop here, not the first.
SAN_REPORTS = $(CURDIR)/.build-$(1)/sanitizer-reports
define run-sanitized
	$(SWIFT) build --build-tests --scratch-path .build-$(1) --sanitize=$(2)
	@rm -rf $(call SAN_REPORTS,$(1)) && mkdir -p $(call SAN_REPORTS,$(1))
	@rc=0; export CONNDIAG_SANITIZER=$(2) CONNDIAG_BIN=$(CURDIR)/.build-$(1)/debug/conndiag $(3); \
	$(SWIFT) test --skip-build --scratch-path .build-$(1) --sanitize=$(2) --skip Timing || rc=$$?; \
	$(SWIFT) test --skip-build --scratch-path .build-$(1) --sanitize=$(2) --filter Timing --no-parallel || rc=$$?; \
	reports=$$(grep -l -E "(ERROR|WARNING|FATAL): [A-Za-z]*Sanitizer" $(call SAN_REPORTS,$(1))/* 2>/dev/null); \
	if [ -n "$$reports" ]; then \
	  for f in $$reports; do echo "== $$f"; cat "$$f"; done; \
	  echo "$(2) sanitizer reports above (.build-$(1)/sanitizer-reports)"; exit 1; \
	fi; exit $$rc
endef

test-sanitized: test-asan test-tsan

test-asan: deps pydeps
	$(call run-sanitized,asan,address,ASAN_OPTIONS=exitcode=86:detect_leaks=1:log_path=$(call SAN_REPORTS,asan)/asan LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp:print_suppressions=0)

test-tsan: deps pydeps
	$(call run-sanitized,tsan,thread,TSAN_OPTIONS=halt_on_error=1:exitcode=66:log_path=$(call SAN_REPORTS,tsan)/tsan)

# libFuzzer targets (Fuzz/, README "Fuzzing"): the packet decoders, TCP reassembly, the HTTP/2
# frame decoder with HPACK, the TLS key log and record decryption, the h2c-upgrade head decoder and
# follower, the capture readers (libpcap and our pcapng reader), and inspect's sock_diag parser.
# `make fuzz FUZZ_SECONDS=N` runs each for N seconds and fails on a crash; `fuzz-smoke` is CI's:
# every target a few seconds, 60 s of fuzzing in all.
FUZZ_SECONDS ?= 10
FUZZ_TARGETS := FuzzPacketDecoder FuzzTCPReassembly FuzzHTTP2Frames FuzzTLSRecords FuzzKeyLog FuzzHTTP1Head FuzzHTTP1Upgrade FuzzCaptureReader FuzzPcapngReader FuzzSockDiag

fuzz-build: deps
	$(SWIFT) build -c release --package-path Fuzz --scratch-path $(CURDIR)/.build-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library

fuzz: fuzz-build
	bash Fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	bash Fuzz/run.sh 6 $(FUZZ_TARGETS)

# Benchmarks (figures in the README). Release build; needs root for the lab namespaces.
# probe-scale.sh: probe at scale; analyze-bench.sh: `analyze` against tshark and tcpdump on a
# capture of >= 1 M packets built at bench time; soak.sh: memory of a chatty long run
# (SOAK sets its duration, default 120s; the README's figure is 1h); startup-bench.sh:
# start-up of probe and syn-timeout against curl on loopback, and report latency.
bench: deps benchdeps
	$(SWIFT) build -c release
	$(SUDO) env BIN=.build/release/conndiag bash bench/startup-bench.sh
	$(SUDO) env BIN=.build/release/conndiag bash bench/probe-scale.sh
	$(SUDO) env BIN=.build/release/conndiag bash bench/analyze-bench.sh
	$(SUDO) env BIN=.build/release/conndiag WORKLOAD=varied bash bench/analyze-bench.sh
	$(SUDO) env BIN=.build/release/conndiag bash bench/watch-bench.sh 10 1000
	$(SUDO) env BIN=.build/release/conndiag bash bench/soak.sh $(SOAK)

# Man pages and shell completions are generated from the ArgumentParser definitions;
# CLITests fails when the committed copies are stale.
man: build
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --date $(MAN_DATE) --configuration debug --authors "conndiag developers"
	rm -rf man && mkdir -p man && cp .build/plugins/GenerateManual/outputs/conndiag/*.1 man/
	sed -i 's/^\.Os$$/.Os conndiag $(VERSION)/' man/*.1
	$(BIN) --experimental-dump-help > man/.cli-dump.json

completions: build
	$(BIN) --generate-completion-script bash > completions/conndiag.bash
	$(BIN) --generate-completion-script zsh > completions/_conndiag
	$(BIN) --generate-completion-script fish > completions/conndiag.fish

docs: man completions

# Install: the binary, the man pages (man1/conndiag.probe.1 as generated, plus a
# conndiag-probe.1 link so `man conndiag-probe` works as `man conndiag.probe` does), and the
# completions where bash-completion, zsh and fish look for them. CONFIG=debug installs the
# debug build (the tests do); the default builds a release binary first.
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIG     ?= release
BINDIR     := $(DESTDIR)$(PREFIX)/bin
MAN1DIR    := $(DESTDIR)$(PREFIX)/share/man/man1
BASHCOMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHCOMPDIR := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
MAN_PAGES  := $(notdir $(wildcard man/*.1))

install:
	$(SWIFT) build -c $(CONFIG) --product conndiag
	install -d $(BINDIR) $(MAN1DIR) $(BASHCOMPDIR) $(ZSHCOMPDIR) $(FISHCOMPDIR)
	install -m 755 .build/$(CONFIG)/conndiag $(BINDIR)/conndiag
	for p in $(MAN_PAGES); do install -m 644 man/$$p $(MAN1DIR)/$$p; done
	for p in $(filter-out conndiag.1,$(filter conndiag.%,$(MAN_PAGES))); do ln -sf $$p $(MAN1DIR)/conndiag-$${p#conndiag.}; done
	install -m 644 completions/conndiag.bash $(BASHCOMPDIR)/conndiag
	install -m 644 completions/_conndiag $(ZSHCOMPDIR)/_conndiag
	install -m 644 completions/conndiag.fish $(FISHCOMPDIR)/conndiag.fish

uninstall:
	rm -f $(BINDIR)/conndiag $(BASHCOMPDIR)/conndiag $(ZSHCOMPDIR)/_conndiag $(FISHCOMPDIR)/conndiag.fish
	for p in $(MAN_PAGES); do rm -f $(MAN1DIR)/$$p; done
	for p in $(filter-out conndiag.1,$(filter conndiag.%,$(MAN_PAGES))); do rm -f $(MAN1DIR)/conndiag-$${p#conndiag.}; done

# A relocatable release: the Swift runtime linked in (--static-swift-stdlib, own scratch path
# so it never invalidates .build), so the binary needs only the system's glibc, libpcap,
# libnghttp2 and libssl/libcrypto. dist/conndiag-VERSION-linux-ARCH.tar.gz holds bin/, the
# man pages, the completions and LICENSE/NOTICE/README/CHANGELOG.
ARCH         := $(shell uname -m)
RELEASE_NAME := conndiag-$(VERSION)-linux-$(ARCH)
RELEASE_BIN  := .build-static/release/conndiag
RELEASE_TAR  := dist/$(RELEASE_NAME).tar.gz

release: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product conndiag
	rm -rf dist/$(RELEASE_NAME) && mkdir -p dist/$(RELEASE_NAME)/bin dist/$(RELEASE_NAME)/share/man/man1 dist/$(RELEASE_NAME)/share/completions
	install -m 755 -s $(RELEASE_BIN) dist/$(RELEASE_NAME)/bin/conndiag
	install -m 644 man/*.1 dist/$(RELEASE_NAME)/share/man/man1/
	install -m 644 completions/conndiag.bash completions/_conndiag completions/conndiag.fish dist/$(RELEASE_NAME)/share/completions/
	install -m 644 LICENSE NOTICE README.md CHANGELOG.md dist/$(RELEASE_NAME)/
	tar -C dist --owner=0 --group=0 --sort=name -czf $(RELEASE_TAR) $(RELEASE_NAME)
	@echo "$(RELEASE_TAR)"

# The release tarball unpacked and run with no Swift toolchain on the library path (env -i,
# empty LD_LIBRARY_PATH): ldd shows no libswift*, only the system libraries the README names;
# --version, analyze of a fixture, and syn-timeout in a namespace (Tests/Release/check-release.sh).
# Not part of `make test`: the static release build takes minutes from clean on 2 cores.
test-release: release
	bash Tests/Release/check-release.sh $(RELEASE_TAR)

# The OCI image, FROM scratch (container/Containerfile): the release binary and exactly the
# shared libraries ldd finds for it on this machine (container/make-rootfs.sh), built with
# buildah (installed when missing; chroot isolation works where podman's runtime cannot run)
# and also saved as an OCI archive in dist/ for `podman load` / `skopeo copy` elsewhere.
IMAGE       ?= localhost/conndiag:$(VERSION)
IMAGE_TAR   := dist/conndiag-$(VERSION)-linux-$(ARCH)-oci.tar
IMAGE_PKGS  := buildah

imagedeps:
	@missing=""; for p in $(IMAGE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

image: release imagedeps
	rm -rf .build-image && mkdir -p .build-image
	bash container/make-rootfs.sh dist/$(RELEASE_NAME)/bin/conndiag .build-image/rootfs
	cp container/Containerfile .build-image/Containerfile
	$(SUDO) buildah build --isolation chroot --layers=false -f .build-image/Containerfile -t $(IMAGE) .build-image
	rm -f $(IMAGE_TAR) && $(SUDO) buildah push $(IMAGE) oci-archive:$(IMAGE_TAR):$(IMAGE)
	@echo "$(IMAGE) ($(IMAGE_TAR))"

# Runs the image: podman cannot start containers in this sandbox, so the check mounts the
# image's root file system (buildah mount) and chroots into it: --version, an analyze of a
# fixture copied in, and nothing from the host on the library path (Tests/Image/check-image.sh).
test-image: image
	$(SUDO) bash Tests/Image/check-image.sh $(IMAGE)

clean:
	rm -rf .build .build-asan .build-tsan .build-fuzz .build-static .build-image dist
