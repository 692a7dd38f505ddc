# SPDX-License-Identifier: GPL-2.0-or-later
#
# vpcnet: QEMU 10.0 with Virtual PC-style networking.
#
#   make          install build dependencies, fetch QEMU, graft, build
#   make check    build, then run every test; ends with "N passed, N failed"
#
# Upstream QEMU is fetched into build/qemu-src (see scripts/fetch-qemu.sh),
# our files are grafted into it (scripts/graft.sh) and it is built
# out of tree in build/qemu-build.

SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

BUILD     := build
SRC       := $(BUILD)/qemu-src
OBJ       := $(BUILD)/qemu-build
LIBOBJ    := $(BUILD)/lib
# Two ninjas in one build tree corrupt its logs: every QEMU build step
# holds this lock.
NINJA     := flock $(BUILD)/.ninja.lock ninja
PYTHON    := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
FIRMWARE  := /usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
# seccomp: -sandbox on, which the netdevs are tested under.
CONFIGURE := --python=$(PYTHON) --target-list=x86_64-softmmu --enable-slirp \
             --enable-seccomp \
             --disable-docs --disable-install-blobs --firmwarepath=$(FIRMWARE)
# What `make` builds: the emulator and the helper binaries.  Each is
# linked into build/ and, for helpers built in a subdirectory, beside
# the emulator too, where -netdev looks for them first.
TARGETS   := qemu-system-x86_64 qemu-bridge-helper net/vpcnet/qemu-vswitch
# What `make check` builds in addition.
QTESTS    := tests/qtest/qos-test tests/qtest/vpcnet-internal-test

.PHONY: all deps fetch graft qemu lib check bench-nic checkpatch clean distclean

all: qemu lib

deps:
	@./scripts/deps.sh

$(SRC)/.vpcnet-pristine: scripts/fetch-qemu.sh | deps
	@./scripts/fetch-qemu.sh $(SRC)

fetch: $(SRC)/.vpcnet-pristine

graft: fetch
	@./scripts/graft.sh $(SRC)

# Reconfigure when the options above change; meson regenerates by itself
# when a meson.build (ours or patched upstream) changes.
$(OBJ)/.configured: Makefile | graft
	@mkdir -p $(OBJ)
	cd $(OBJ) && ../qemu-src/configure $(CONFIGURE) >configure.log 2>&1 \
	    || { tail -n 30 configure.log; exit 1; }
	@touch $@

qemu: graft $(OBJ)/.configured
	@$(NINJA) -C $(OBJ) $(TARGETS) | { grep -v '^ninja: no work to do' || true; }
	@for t in $(TARGETS); do \
	    ln -sf qemu-build/$$t $(BUILD)/$${t##*/}; \
	    [ $$t = $${t##*/} ] || ln -sf $$t $(OBJ)/$${t##*/}; \
	done
	@# Run from the build tree, QEMU looks for firmware under qemu-bundle/
	@# (its relocatable install); point that at Debian's firmware.
	@for d in $(subst :, ,$(FIRMWARE)); do \
	    mkdir -p $(OBJ)/qemu-bundle$$(dirname $$d); \
	    ln -sfn $$d $(OBJ)/qemu-bundle$$d; \
	done

# The QEMU-independent library and its unit tests, built on their own.
$(LIBOBJ)/build.ninja: | deps
	meson setup --buildtype=debugoptimized $(LIBOBJ) . >/dev/null

lib: $(LIBOBJ)/build.ninja
	@ninja -C $(LIBOBJ) | { grep -v '^ninja: no work to do' || true; }

check: all
	@$(NINJA) -C $(OBJ) $(QTESTS) | { grep -v '^ninja: no work to do' || true; }
	@$(PYTHON) scripts/check.py

# One suite of scripts/check.py: check-unit, check-qtest, check-guest...
check-%: all
	@$(NINJA) -C $(OBJ) $(QTESTS) >/dev/null
	@$(PYTHON) scripts/check.py $*

# QEMU's style checker over every C file of ours.
checkpatch: fetch
	@fail=0; for f in $$(git ls-files '*.c' '*.h'); do \
	    out=$$(perl $(SRC)/scripts/checkpatch.pl --no-signoff -q -f $$f) \
	        || { echo "$$out"; fail=1; }; \
	done; \
	[ $$fail = 0 ] && echo "checkpatch: clean"

# Benchmarks print figures side by side; they are not tests.
bench-nic: all
	@./scripts/deps.sh bench
	@./tests/guest/build-guest.sh $(BUILD)/guest >/dev/null
	@$(PYTHON) tests/guest/bench_nic.py

# qemu-vswitch against vde_switch and -netdev dgram multicast: frames/s
# from a load tool (tests/bench/vswitch-load.c), then iperf3 between two
# guests.  libvdeplug-dev may have just been installed: then meson is
# told to look for it again.
.PHONY: bench-switch
bench-switch: all
	@./scripts/deps.sh bench
	@grep -qs -- -DCONFIG_VDEPLUG $(LIBOBJ)/build.ninja \
	    || meson setup --reconfigure --clearcache $(LIBOBJ) . >/dev/null
	@ninja -C $(LIBOBJ) tests/bench/vswitch-load \
	    | { grep -v '^ninja: no work to do' || true; }
	@./tests/guest/build-guest.sh $(BUILD)/guest >/dev/null
	@$(PYTHON) tests/bench/bench_switch.py

# The links `make` leaves in build/ (one per TARGETS, and those the
# fragments make, such as vpcnet-mac) point into the trees removed here,
# and the install trees QEMU's builds keep (qemu-bundle/) link to files
# never built: every link left dangling goes too, so nothing in build/
# points at nothing.  Sources, downloads and the fuzz corpus stay.
clean:
	rm -rf $(OBJ) $(LIBOBJ) $(BUILD)/qemu-system-x86_64 $(BUILD)/guest
	@[ ! -d $(BUILD) ] || find $(BUILD) -xtype l -delete

distclean:
	rm -rf $(BUILD)

# Each feature's own targets (bench-*, fuzz-*, install steps) live in a
# fragment of its own; they may add to TARGETS and QTESTS above.
include $(sort $(wildcard scripts/make/*.mk))
