# SPDX-License-Identifier: GPL-2.0-or-later
#
# make install [PREFIX=/usr/local] [DESTDIR=staging-root]
#
# Builds what `make` builds and the man pages (docs/man/NAME.SECTION.rst,
# through Debian's rst2man, into build/man/), then installs with
# scripts/install.sh: the emulator, qemu-vswitch, vpcnet-mac and the
# helpers, QEMU's data directory (keymaps), man pages, the documentation
# with the libvirt domain XML examples, the helpers' ACL files, and the
# privileged step (done as root, printed otherwise).  That script's
# comment says where each file goes.
#
# PREFIX is not a configure option: QEMU is built relocatable and finds
# its data, its helpers and qemu-bridge-helper its ACL relative to its
# executable, so a PREFIX other than the configured one (/usr/local)
# needs no reconfigure and no rebuild.  (A --prefix in CONFIGURE would
# regenerate config-host.h and so recompile all of QEMU.)  Only
# qemu-filter-bridge-helper's ACL is fixed: /etc/qemu/filter-bridge.conf.

PREFIX  ?= /usr/local
DESTDIR ?=
MAN_SRC := $(wildcard docs/man/*.rst)
MAN_OUT := $(patsubst docs/man/%.rst,$(BUILD)/man/%,$(MAN_SRC))

.PHONY: install man
man: $(MAN_OUT)

$(BUILD)/man/%: docs/man/%.rst
	@./scripts/deps.sh install
	@mkdir -p $(@D)
	@rst2man --halt=warning --exit-status=warning $< $@.tmp && mv $@.tmp $@

# Built here on top of `make`: what QEMU's install plan puts in its data
# directory besides the keymaps.
INSTALL_DATA := trace/trace-events-all

install: all man
	@$(NINJA) -C $(OBJ) $(INSTALL_DATA) | { grep -v '^ninja: no work to do' || true; }
	@PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' ./scripts/install.sh
