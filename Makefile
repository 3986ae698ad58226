# pve-balancer top-level Makefile: delegates to native/ (CMake) and perl/.
#   make deps    install build and test dependencies (Debian 12, as root)
#   make         build the engine, the CLI, the tests and the Perl XS module (perl/build/)
#   make check   run every test this machine can run; ends with "N passed, N failed"
#   make check-ui  the web UI in headless Chromium (also part of make check)
#   make demo    plan the bundled example cluster
#   make bench   benchmarks (not part of check)
#   make check-upstream-ha UPSTREAM=DIR   pve-ha-manager's simulator suite with our HA scheduler

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CLI        := $(BUILD)/pve-balancer
DEMO       := docs/examples/demo-cluster.json

# Debian packages needed to build and test (kept in one place; debian/control mirrors it).
DEPS := build-essential cmake pkg-config libjsoncpp-dev libboost-test-dev \
	libqb-dev libcpg-dev libquorum-dev libcmap-dev libvotequorum-dev corosync \
	libperl-dev perl libjson-perl libjson-xs-perl libtest-mockmodule-perl \
	libhttp-message-perl libstring-shellquote-perl iproute2 valgrind \
	chromium fonts-dejavu-core libhttp-daemon-perl

# The browser tests' npm packages (tests/ui/package.json, versions locked in package-lock.json)
# live outside the tree; Node.js itself comes from Debian (nodejs, npm) unless one is installed.
UI_NPM_DIR ?= /var/cache/pve-balancer/npm

.PHONY: all native perl asan deps deps-ok ui-deps ui-deps-ok check check-unit check-ui \
	check-cluster check-upstream-ha demo bench clean format install deb

all: native perl

# The README's two commands (make demo, make check) must work on a fresh Debian machine:
# when a build dependency is missing, install it (as root) or say how.
deps-ok:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "missing Debian packages: $$missing"; \
		$(MAKE) --no-print-directory deps; \
	fi

$(BUILD)/Makefile: | deps-ok
	cmake -S native -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

native: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# PVE::Balancer::Native (XS) on the engine's static library; see perl/Makefile and docs/perl.md.
perl: native
	$(MAKE) -C perl BUILD=$(abspath $(BUILD))

$(ASAN_BUILD)/Makefile: | deps-ok
	cmake -S native -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPVEBAL_SANITIZE=ON

asan: $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j$(JOBS)

deps:
	@if [ "$$(id -u)" -ne 0 ]; then \
		echo "make deps installs Debian packages; run as root or run:"; \
		echo "  apt-get install -y $(DEPS)"; exit 1; \
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEPS)
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

check: deps-ok ui-deps-ok native perl asan
	BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) UI_NPM_DIR=$(UI_NPM_DIR) tests/run-checks

# www/pve-balancer.js in headless Chromium against the real API handlers (tests/ui, docs/ui.md)
check-ui: deps-ok ui-deps-ok perl
	UI_NPM_DIR=$(UI_NPM_DIR) PERL5LIB=$(CURDIR)/perl/build/lib:$(CURDIR)/perl/build/arch:$(CURDIR) \
		prove --exec node tests/ui/scenarios.js

# pve-ha-manager's own simulator suite (its src/test) with pve-balancer's HA scheduler in both
# modes; not part of `check` (it needs upstream checkouts). UPSTREAM: a folder with pve-ha-manager
# and pve-common; MODE=compatible|capacity-aware|both; SCENARIO="test-x ..." shows their diffs.
# The simulator's Perl needs are listed by `tests/upstream-ha/check-upstream-ha --help`.
check-upstream-ha: perl
	@test -n "$(UPSTREAM)" || { tests/upstream-ha/check-upstream-ha --help; exit 2; }
	tests/upstream-ha/check-upstream-ha --upstream $(UPSTREAM) --mode $(or $(MODE),both) $(SCENARIO)

# Unit tests only (used by the Debian build, which has no sanitizer build).
check-unit: native
	$(BUILD)/pvebal-tests --report_level=short
	$(BUILD)/daemon/pve-balancerd-tests --report_level=short

# pve-balancerd on a real 3-node corosync cluster in network namespaces (root, or user
# namespaces); also part of make check. See docs/daemon.md, "Test lab".
check-cluster: deps-ok native
	BUILD=$(BUILD) tests/cluster/run.sh

PREFIX     ?= /usr
PERL5DIR   ?= /usr/share/perl5
DOCDIR     ?= /usr/share/doc/pve-balancer
WWWDIR     ?= /usr/share/pve-manager/js

install: all
	install -D -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/pve-balancer
	install -D -m 0755 $(BUILD)/daemon/pve-balancerd $(DESTDIR)$(PREFIX)/sbin/pve-balancerd
	install -D -m 0755 bin/pve-balancer-inject $(DESTDIR)$(PREFIX)/sbin/pve-balancer-inject
	install -D -m 0755 bin/pve-balancer-cycle $(DESTDIR)$(PREFIX)/share/pve-balancer/pve-balancer-cycle
	install -d $(DESTDIR)$(PREFIX)/share/pve-manager/templates/default
	install -m 0644 templates/default/*.hbs $(DESTDIR)$(PREFIX)/share/pve-manager/templates/default/
	if [ -f perl/Makefile ]; then $(MAKE) -C perl install DESTDIR=$(DESTDIR); fi
	cd PVE && find . -name '*.pm' -exec install -D -m 0644 {} $(DESTDIR)$(PERL5DIR)/PVE/{} \;
	install -D -m 0644 www/pve-balancer.js $(DESTDIR)$(WWWDIR)/pve-balancer.js
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

# Debian package, built from a copy of the tree (Proxmox style); lintian runs when present.
deb:
	rm -rf build-deb && mkdir build-deb
	git ls-files -z | xargs -0 cp --parents -t build-deb
	cd build-deb && dpkg-buildpackage -us -uc -b
	-lintian build-deb/../pve-balancer_*.deb 2>/dev/null || true

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

format:
	clang-format -i native/include/pvebal/*.h native/src/*/*.h native/src/*/*.cpp native/cli/*.cpp native/cli/*.h tests/native/*.cpp tests/native/*.h
	clang-format -i native/daemon/*.h native/daemon/*.cpp tests/daemon/*.cpp tests/daemon/*.h

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-deb tests/out
	$(MAKE) -C perl clean
