# pve-balancer top-level Makefile: delegates to native/ (CMake) and perl/.
#   make deps    install build and test dependencies (Debian 12, as root)
#   make         build the engine, the CLI, the tests and the Perl XS module (perl/build/)
#   make check   run every test this machine can run; ends with "N passed, N failed"
#   make check-ui  the web UI in headless Chromium (also part of make check)
#   make demo    plan the bundled example cluster
#   make bench   benchmarks (not part of check)
#   make fuzz FUZZ_SECONDS=N   each libFuzzer harness of tests/fuzz for N seconds (clang)
#   make check-upstream-ha UPSTREAM=DIR   pve-ha-manager's simulator suite with our HA scheduler
#   make deb            the Debian package for Proxmox VE 9, built in a trixie chroot (root)
#   make check-package  install, upgrade, remove and purge it in that chroot (root)

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
# Inside a parallel make (make check's builds, make -jN) a CMake build takes its jobs from that
# make's job slots ('+' passes them on); on its own it runs JOBS at once.
CMAKE_JOBS  = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS))
CLI        := $(BUILD)/pve-balancer
DEMO       := docs/examples/demo-cluster.json

# Debian packages needed to build and test (kept in one place; debian/control mirrors what the
# package build and its test suite need: not the browser and cluster tests, which it skips).
DEPS := build-essential cmake pkg-config libjsoncpp-dev libboost-test-dev \
	libqb-dev libcpg-dev libquorum-dev libcmap-dev libvotequorum-dev libcorosync-common-dev corosync \
	libperl-dev perl libjson-perl libjson-xs-perl libtest-mockmodule-perl \
	libhttp-message-perl libstring-shellquote-perl iproute2 valgrind \
	chromium fonts-dejavu-core libhttp-daemon-perl liburi-perl
# ... and to build and test the Debian package (make deb, make check-package): the trixie
# chroot is made with debootstrap; everything else is installed inside it (debian/control).
PKG_DEPS := debootstrap
# ... and for the libFuzzer harnesses (tests/fuzz; make fuzz, and the smoke run of make check):
# a development tool only, not in debian/control. clang 19: clang 14 lacks C++20's captured
# structured bindings, which the engine uses.
FUZZ_DEPS := clang-19 libclang-rt-19-dev
# ... and for make check's format check (Debian 12's clang-format, 14: the style is its output)
FORMAT_DEPS := clang-format
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

# The browser tests' npm packages (tests/ui/package.json, versions locked in package-lock.json)
# live outside the tree; Node.js itself comes from Debian (nodejs, npm) unless one is installed.
UI_NPM_DIR ?= /var/cache/pve-balancer/npm

.PHONY: all native perl asan check-build deps deps-ok ui-deps ui-deps-ok check check-unit check-ui \
	check-cluster check-upstream-ha check-nosan demo bench clean format install fuzz fuzz-build \
	install-pve-wrappers man deb check-package check-format www

all: native perl www

# the web UI: www/Makefile concatenates its classes into www/pve-balancer.js (docs/ui.md)
www:
	$(MAKE) -C www

# The README's two commands (make demo, make check) must work on a fresh Debian machine:
# when a build dependency is missing, install it (as root) or say how.
deps-ok:
	@missing=$$(for p in $(DEPS) $(FUZZ_DEPS) $(FORMAT_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "missing Debian packages: $$missing"; \
		$(MAKE) --no-print-directory deps; \
	fi

# deps-ok runs only when a build tree is configured (not for every build, and not in the Debian
# build, whose dh_auto_configure configures the tree itself).
# -g1 (line tables: backtraces, perf and sanitizer reports keep file:line, inlined frames too):
# a fifth to a third less CPU per file than -g, within make check's 20 minutes. For gdb's
# locals configure a tree of your own with -DCMAKE_BUILD_TYPE=RelWithDebInfo alone.
$(BUILD)/Makefile:
	@$(MAKE) --no-print-directory deps-ok
	cmake -S native -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

native: $(BUILD)/Makefile
	+cmake --build $(BUILD) $(CMAKE_JOBS)

# PVE::Balancer::Native (XS) on the engine's static library; see perl/Makefile and docs/perl.md.
perl: native
	$(MAKE) -C perl BUILD=$(abspath $(BUILD))

# -O1 (asserts stay on): ASan's usual level; at -O0 the unit tests alone took over 3 min of
# make check's 20-minute budget. -g1: line tables only, so ASan and UBSan reports still name
# file:line (inlined frames too) while the tree costs less CPU to build than with -g.
$(ASAN_BUILD)/Makefile:
	@$(MAKE) --no-print-directory deps-ok
	cmake -S native -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPVEBAL_SANITIZE=ON \
		-DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1"

asan: $(ASAN_BUILD)/Makefile
	+cmake --build $(ASAN_BUILD) $(CMAKE_JOBS)

deps:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "make deps installs Debian packages; run as root or run:"; \
		echo "  apt-get install -y $(DEPS) $(FUZZ_DEPS) $(FORMAT_DEPS)"; exit 1; \
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS) $(PKG_DEPS) $(FUZZ_DEPS) $(FORMAT_DEPS)
	$(MAKE) --no-print-directory ui-deps

# npm ci into $(UI_NPM_DIR) from the locked versions (root: it may install nodejs and npm first)
ui-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" -ne 0 ]; then echo "the UI tests need Node.js: apt-get install -y nodejs npm"; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	mkdir -p $(UI_NPM_DIR)
	cp tests/ui/package.json tests/ui/package-lock.json $(UI_NPM_DIR)/
	cd $(UI_NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error

# installs the npm packages when they are missing or the lock file changed
ui-deps-ok:
	@if ! cmp -s tests/ui/package-lock.json $(UI_NPM_DIR)/package-lock.json \
		|| [ ! -d $(UI_NPM_DIR)/node_modules/extjs-gpl ] || [ ! -d $(UI_NPM_DIR)/node_modules/playwright-core ]; then \
		$(MAKE) --no-print-directory ui-deps; \
	fi

# The three build trees (release, sanitizer, fuzz) are built at once, sharing JOBS job slots: no
# core waits while one tree links or compiles its last file. Output is grouped per compiled file.
check: deps-ok ui-deps-ok
	$(MAKE) --no-print-directory -j$(JOBS) -Otarget check-build
	BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) FUZZ_BUILD=$(FUZZ_BUILD) UI_NPM_DIR=$(UI_NPM_DIR) \
		FORMAT_FILES="$(FORMAT_FILES)" tests/run-checks

check-build: native perl www asan fuzz-build

# libFuzzer harnesses (tests/fuzz, docs/reliability.md): the engine built with clang,
# ASan+UBSan and coverage instrumentation. `make fuzz` runs each for FUZZ_SECONDS, one after
# the other; what they find stays in $(FUZZ_BUILD)/fuzz-corpus and fuzz-crashes. -O1 with line
# tables only, as OSS-Fuzz builds: reports keep file:line, and the tree builds in less time.
$(FUZZ_BUILD)/Makefile:
	@$(MAKE) --no-print-directory deps-ok
	CC=clang-19 CXX=clang++-19 cmake -S native -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
		-DPVEBAL_FUZZ=ON -DPVEBAL_TESTS=OFF

fuzz-build: $(FUZZ_BUILD)/Makefile
	+cmake --build $(FUZZ_BUILD) $(CMAKE_JOBS) --target fuzz-snapshot-reader fuzz-execute

fuzz: fuzz-build
	tests/fuzz/run --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

# www/pve-balancer.js in headless Chromium against the real API handlers (tests/ui, docs/ui.md)
check-ui: deps-ok ui-deps-ok perl www
	UI_NPM_DIR=$(UI_NPM_DIR) PERL5LIB=$(CURDIR)/perl/build/lib:$(CURDIR)/perl/build/arch:$(CURDIR) \
		prove --exec node tests/ui/scenarios.js

# pve-ha-manager's own simulator suite (its src/test) with pve-balancer's HA scheduler in both
# modes; not part of `check` (it needs upstream checkouts). UPSTREAM: a folder with pve-ha-manager
# and pve-common; MODE=compatible|capacity-aware|both; SCENARIO="test-x ..." shows their diffs.
# The simulator's Perl needs are listed by `tests/upstream-ha/check-upstream-ha --help`.
check-upstream-ha: perl
	@test -n "$(UPSTREAM)" || { tests/upstream-ha/check-upstream-ha --help; exit 2; }
	tests/upstream-ha/check-upstream-ha --upstream $(UPSTREAM) --mode $(or $(MODE),both) $(SCENARIO)

# Unit tests only.
check-unit: native
	$(BUILD)/pvebal-tests --report_level=short
	$(BUILD)/daemon/pve-balancerd-tests --report_level=short

# pve-balancerd on a real 3-node corosync cluster in network namespaces (root, or user
# namespaces); also part of make check. See docs/daemon.md, "Test lab".
check-cluster: deps-ok native
	BUILD=$(BUILD) tests/cluster/run.sh

# Every suite of `make check` that needs neither the sanitizer build nor valgrind: the unit
# tests, the CLI and the Perl prove tests (the Debian build's dh_auto_test runs this).
check-nosan: native perl
	PVEBAL_NOSAN=1 BUILD=$(BUILD) tests/run-checks

PREFIX     ?= /usr
PERL5DIR   ?= /usr/share/perl5
DOCDIR     ?= /usr/share/doc/pve-balancer
VERSION    := $(shell sed -n "s/^project.pve-balancer VERSION \([0-9.]*\).*/\1/p" native/CMakeLists.txt)

install: all
	install -D -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/pve-balancer
	install -D -m 0755 bin/pve-balancer-inject $(DESTDIR)$(PREFIX)/sbin/pve-balancer-inject
	install -D -m 0755 bin/pve-balancer-cycle $(DESTDIR)$(PREFIX)/share/pve-balancer/pve-balancer-cycle
	install -D -m 0755 bin/pve-balancer-node-info $(DESTDIR)$(PREFIX)/share/pve-balancer/pve-balancer-node-info
	install -d $(DESTDIR)$(PREFIX)/share/pve-manager/templates/default
	install -m 0644 templates/default/*.hbs $(DESTDIR)$(PREFIX)/share/pve-manager/templates/default/
	$(MAKE) -C perl install DESTDIR=$(DESTDIR) BUILD=$(abspath $(BUILD))
	cd PVE && find . -name '*.pm' -exec install -D -m 0644 {} $(DESTDIR)$(PERL5DIR)/PVE/{} \;
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 www/pve-balancer.js $(DESTDIR)$(PREFIX)/share/pve-manager/js/pve-balancer.js
	install -D -m 0755 $(BUILD)/daemon/pve-balancerd $(DESTDIR)$(PREFIX)/sbin/pve-balancerd

# The wrappers that take the place of pve-manager's /usr/bin/{pvedaemon,pveproxy,pvesh}, which
# the package diverts (docs/install.md). Only into a package's staging directory.
install-pve-wrappers:
	@[ -n "$(DESTDIR)" ] || { echo "install-pve-wrappers writes /usr/bin/pvedaemon & co.: only with DESTDIR"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin
	for s in pvedaemon pveproxy pvesh; do \
		perl -I. bin/pve-balancer-inject wrapper $$s >$(DESTDIR)$(PREFIX)/bin/$$s.tmp && \
		chmod 0755 $(DESTDIR)$(PREFIX)/bin/$$s.tmp && \
		mv $(DESTDIR)$(PREFIX)/bin/$$s.tmp $(DESTDIR)$(PREFIX)/bin/$$s || exit 1; \
	done

# Man pages from the docs: tools/md2man (pandoc) for the markdown ones, pod2man for the POD of
# pve-balancer-inject. pve-balancerd(8) comes from docs/daemon.md.
MAN_PAGES := $(BUILD)/man/pve-balancer.1 $(BUILD)/man/pve-balancer-inject.8 \
	$(BUILD)/man/pve-balancerd.8

man: $(MAN_PAGES)

$(BUILD)/man/pve-balancer.1: docs/cli.md tools/md2man
	@mkdir -p $(dir $@)
	tools/md2man --name pve-balancer --section 1 --version $(VERSION) \
		--summary "plan balancing, evacuation and HA failover of a Proxmox VE cluster" \
		--see-also "pve-balancer-inject(8), pvesh(1)" --sections-as COMMANDS $< >$@.tmp
	mv $@.tmp $@

$(BUILD)/man/pve-balancerd.8: docs/daemon.md tools/md2man
	@mkdir -p $(dir $@)
	tools/md2man --name pve-balancerd --section 8 --version $(VERSION) \
		--summary "automatic balancing daemon of pve-balancer" \
		--see-also "pve-balancer(1), pve-balancer-inject(8)" $< >$@.tmp
	mv $@.tmp $@

$(BUILD)/man/pve-balancer-inject.8: bin/pve-balancer-inject
	@mkdir -p $(dir $@)
	pod2man --section 8 --name PVE-BALANCER-INJECT --center pve-balancer \
		--release "pve-balancer $(VERSION)" $< >$@.tmp
	mv $@.tmp $@

# The Debian package for Proxmox VE 9, built the way Proxmox builds theirs (a copy of the
# tracked tree in a build directory, dpkg-buildpackage, lintian), but inside a Debian 13
# "trixie" chroot (tools/trixie-chroot: made once with debootstrap, cached in
# /var/cache/pve-balancer). Results: build-deb/pve-balancer_VERSION_amd64.deb & co.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
DEB_SRCDIR  = build-deb/pve-balancer-$(DEB_VERSION)

deb:
	@[ "$$(id -u)" -eq 0 ] || { echo "make deb builds in a chroot: run as root"; exit 1; }
	@command -v debootstrap >/dev/null || $(MAKE) --no-print-directory deps
	tools/trixie-chroot ensure .
	rm -rf build-deb && mkdir -p $(DEB_SRCDIR)
	git ls-files -z | xargs -0 cp -a --parents -t $(DEB_SRCDIR)
	DEB_BUILD_OPTIONS="parallel=$(JOBS) $(DEB_BUILD_OPTIONS)" \
		tools/trixie-chroot run -b $(CURDIR)/build-deb:/build -- \
		/build/pve-balancer-$(DEB_VERSION)/tools/build-deb /build/pve-balancer-$(DEB_VERSION)
	@ls -l build-deb/*.deb

# Install, upgrade, remove and purge the package in the trixie chroot, with stand-in
# pve-manager, pve-ha-manager, libpve-rs-perl, ... packages (tests/package/README.md). Builds
# the package first when there is none or a tracked file is newer.
check-package:
	@[ "$$(id -u)" -eq 0 ] || { echo "make check-package works in a chroot: run as root"; exit 1; }
	@deb=$$(ls build-deb/pve-balancer_$(DEB_VERSION)_*.deb 2>/dev/null | head -1); \
	if [ -z "$$deb" ] || [ "$$(git ls-files -z | xargs -0 stat -c %Y 2>/dev/null | sort -n | tail -1)" -gt "$$(stat -c %Y $$deb)" ]; then \
		$(MAKE) --no-print-directory deb; \
	fi
	tools/trixie-chroot ensure .
	tools/trixie-chroot run -b $(CURDIR):/src -b $(CURDIR)/build-deb:/debs -- \
		/src/tests/package/check-package /src /debs

demo: deps-ok native
	$(CLI) score --snapshot $(DEMO)
	@echo
	$(CLI) plan --snapshot $(DEMO)

# Debian packages `make bench` needs on top of DEPS; the bench target installs them when run as root.
BENCH_DEPS := coinor-cbc gnuplot-nox

bench: native perl
	@missing=""; for p in $(BENCH_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" -ne 0 ]; then \
			echo "make bench needs:$$missing; run as root or run: apt-get install -y$$missing"; exit 1; \
		fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	BUILD=$(BUILD) bench/run.sh

# Every C++ file we write (the same list for make format and make check's format check)
FORMAT_FILES = $(sort $(wildcard native/include/pvebal/*.h native/src/*/*.h native/src/*/*.cpp \
	native/cli/*.cpp native/cli/*.h native/daemon/*.h native/daemon/*.cpp tests/native/*.cpp \
	tests/native/*.h tests/native/support/*.h tests/daemon/*.cpp tests/daemon/*.h tests/fuzz/*.cpp bench/*.cpp bench/*.h))

format:
	clang-format -i $(FORMAT_FILES)

# make check fails on drift from .clang-format (run make format to fix)
check-format:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-deb tests/out
	$(MAKE) -C perl clean
	$(MAKE) -C www clean
