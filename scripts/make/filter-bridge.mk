# SPDX-License-Identifier: GPL-2.0-or-later
#
# filter-bridge: -netdev filter-bridge's privileged helper, built by `make`
# beside the emulator (where QEMU looks for it first), and its benchmark.
#
#   make bench-bridge     filter-bridge beside tap on a Linux bridge and
#                         macvtap: iperf3 through a TCG guest, and frames/s
#                         of the host-side path alone (tests/bench/README.md)

TARGETS += net/vpcnet/bridge/qemu-filter-bridge-helper
QTESTS  += tests/qtest/vpcnet-filter-bridge-test

# Root: the network namespaces.  iperf3 comes with the bench group, the
# guest's iperf3 with the test guest (tests/guest/build-guest.sh).
.PHONY: bench-bridge
bench-bridge: all
	@./scripts/deps.sh bench bridge
	@./tests/guest/build-guest.sh $(BUILD)/guest >/dev/null
	@$(PYTHON) tests/bench/bench_bridge.py
