# pve-balancer top-level Makefile: delegates to native/ (CMake) and perl/.
#   make deps    install build and test dependencies (Debian 12, as root)
#   make         build the engine, the CLI and the tests
#   make check   run every test this machine can run; ends with "N passed, N failed"
#   make demo    plan the bundled example cluster
#   make bench   benchmarks (not part of check)

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CLI        := $(BUILD)/pve-balancer
DEMO       := docs/examples/demo-cluster.json

# Debian packages needed to build and test (kept in one place; debian/control mirrors it).
DEPS := build-essential cmake pkg-config libjsoncpp-dev libboost-test-dev \
	libqb-dev libcpg-dev libquorum-dev libcmap-dev libvotequorum-dev corosync \
	libperl-dev perl libjson-perl libtest-mockmodule-perl iproute2 valgrind

.PHONY: all native asan deps check demo bench clean format

all: native

$(BUILD)/Makefile:
	cmake -S native -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

native: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

$(ASAN_BUILD)/Makefile:
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

check: native asan
	BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) tests/run-checks

demo: native
	$(CLI) score --snapshot $(DEMO)
	@echo
	$(CLI) plan --snapshot $(DEMO)

format:
	clang-format -i native/include/pvebal/*.h native/src/*/*.h native/src/*/*.cpp native/cli/*.cpp native/cli/*.h tests/native/*.cpp tests/native/*.h

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) tests/out
