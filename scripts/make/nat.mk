# SPDX-License-Identifier: GPL-2.0-or-later
#
# -netdev nat and vpcnet-nat (issue 8).

# vpcnet-nat, the translator on a namespace's tap, built with QEMU's tree
# (net/vpcnet/nat/meson.build) and linked as build/vpcnet-nat.
TARGETS += net/vpcnet/nat/vpcnet-nat

# -netdev nat's qtest (tests/qtest/vpcnet-nat-test.c): a dec21140a driven
# through its rings against the translator and real sockets on loopback.
QTESTS += tests/qtest/vpcnet-nat-test

# NAT engines side by side: vpcnet-nat (once built), slirp4netns, pasta
# (built from trixie's passt source into build/bench/passt) and the
# kernel's veth path, in network namespaces of their own
# (tests/bench/bench_nat.py; BENCH_NAT_ARGS=... passes options to it,
# e.g. --reps 1 --seconds 2).  Figures, not a test.
.PHONY: bench-nat
bench-nat: all
	@./scripts/deps.sh nat bench-nat
	@$(PYTHON) tests/bench/bench_nat.py $(BENCH_NAT_ARGS)
