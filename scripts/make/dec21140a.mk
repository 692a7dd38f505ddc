# SPDX-License-Identifier: GPL-2.0-or-later
#
# dec21140a: the vpcnet-mac tool, and coverage-guided fuzzing of the
# device model.
#
# vpcnet-mac (net/vpcnet/vpcnet-mac.c) prints the MAC a dec21140a derives;
# the library build makes it and `make` links it as build/vpcnet-mac.  The
# qtest that checks tool and device agree runs the copy built in QEMU's
# tree, from the same sources.

QTESTS += net/vpcnet/vpcnet-mac

.PHONY: dec21140a-tools
all: dec21140a-tools
dec21140a-tools: lib
	@ln -sf lib/net/vpcnet/vpcnet-mac $(BUILD)/vpcnet-mac

# Fuzzing:
#
#   make fuzz-device [FUZZ_TIME=seconds]
#
# builds a second QEMU, with clang, libFuzzer, ASan and UBSan, in its own
# directory (build/fuzz-build: build/qemu-build is never touched), and runs
# QEMU's generic-fuzz target against the dec21140a: the fuzzer drives its
# two BARs (CSR reads and writes) and answers the card's DMA reads of
# descriptors, buffers and setup frames with its own data; the card's
# transmitted frames go to -netdev user, whose answers (ARP, DHCP) come
# back through the receive path, as does the chip's internal loopback.
# The corpus is kept in build/fuzz-corpus/dec21140a between runs; crashes,
# leaks and timeouts land in build/fuzz-artifacts/ as inputs that
# reproduce them:
#
#   make fuzz-device-reproduce FUZZ_INPUT=build/fuzz-artifacts/crash-...
#
# prints the input as the qtest commands it stands for (to turn into a
# qtest in tests/qtest/dec21140a-test.c) and runs it once more.
#
# Not part of `make check`: the extra clang build of QEMU (6.5 minutes on
# a 2-core machine) would add a third to it, and a run short enough to go
# with it reaches little (docs/system/devices/dec21140a.rst, "Fuzzing").

FUZZ_OBJ       := $(BUILD)/fuzz-build
FUZZ_BIN       := $(FUZZ_OBJ)/qemu-fuzz-x86_64
FUZZ_CORPUS    := $(BUILD)/fuzz-corpus/dec21140a
FUZZ_ARTIFACTS := $(BUILD)/fuzz-artifacts
FUZZ_TIME      ?= 300
# Its own lock: a fuzz build must not hold up builds of build/qemu-build.
FUZZ_NINJA     := flock $(BUILD)/.fuzz-ninja.lock nice ninja
# Only what the fuzz target needs: the qtest accelerator (no TCG), the pc
# machine with every default device, slirp for -netdev user.
FUZZ_CONFIGURE := --python=$(PYTHON) --cc=clang --cxx=clang++ \
                  --target-list=x86_64-softmmu --without-default-features \
                  --disable-tcg --enable-kvm --enable-slirp \
                  --enable-fuzzing --enable-asan --enable-ubsan \
                  --disable-docs --disable-install-blobs
# What the fuzzer runs and which memory regions and QOM objects it may
# touch: the card's BARs ("dec21140a-io", "dec21140a-mmio") and its DMA.
# QEMU_AVOID_DOUBLE_FETCH: fill guest memory from the input only the first
# time the card reads it in each step, as in the reproducer (QTEST_LOG
# implies it).  Without it every read returns fresh bytes, so a
# descriptor the card has just handed back reads as owned again, and the
# card walks its ring round until the fuzzer's event-loop limit: the
# fuzzer fell to 16 execs/s, its slow units took 20-36 s a run that
# took 0.06-0.09 s with it, and none of that replays as a qtest, where
# memory keeps what the card wrote.
FUZZ_ENV       := QEMU_AVOID_DOUBLE_FETCH=1 \
                  QEMU_FUZZ_ARGS='-machine pc -nodefaults \
                  $(patsubst %,-L %,$(subst :, ,$(FIRMWARE))) \
                  -device dec21140a,netdev=n0,mac=00:03:ff:12:34:56 \
                  -netdev user,id=n0' \
                  QEMU_FUZZ_OBJECTS='dec21140a*' \
                  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
                  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: fuzz-device fuzz-device-build fuzz-device-reproduce FORCE

# Reconfigure when FUZZ_CONFIGURE changes, not on every edit of this file
# (a reconfigure rebuilds all of QEMU): the options are kept in a file
# rewritten only when they differ.
$(FUZZ_OBJ)/.configure-args: FORCE
	@mkdir -p $(FUZZ_OBJ)
	@echo '$(FUZZ_CONFIGURE)' | cmp -s - $@ \
	    || echo '$(FUZZ_CONFIGURE)' >$@

$(FUZZ_OBJ)/.configured: $(FUZZ_OBJ)/.configure-args | graft
	@./scripts/deps.sh fuzz
	cd $(FUZZ_OBJ) && ../qemu-src/configure $(FUZZ_CONFIGURE) \
	    >configure.log 2>&1 || { tail -n 30 configure.log; exit 1; }
	@touch $@

fuzz-device-build: graft $(FUZZ_OBJ)/.configured
	@$(FUZZ_NINJA) -C $(FUZZ_OBJ) qemu-fuzz-x86_64 \
	    | { grep -v '^ninja: no work to do' || true; }

fuzz-device: fuzz-device-build
	@mkdir -p $(FUZZ_CORPUS) $(FUZZ_ARTIFACTS)
	$(FUZZ_ENV) nice $(FUZZ_BIN) --fuzz-target=generic-fuzz \
	    -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_ARTIFACTS)/ $(FUZZ_CORPUS)

fuzz-device-reproduce: fuzz-device-build
	@test -n "$(FUZZ_INPUT)" || { echo "FUZZ_INPUT=file, please"; exit 1; }
	$(FUZZ_ENV) QTEST_LOG=1 FUZZ_SERIALIZE_QTEST=1 $(FUZZ_BIN) \
	    --fuzz-target=generic-fuzz $(FUZZ_INPUT)
