/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: default MAC addresses in Virtual PC's 00:03:ff block.
 *
 * Virtual PC gave every emulated NIC an address 00-03-ff-xx-xx-xx whose
 * low three octets were computed from the host adapter's MAC, so that
 * guests on different hosts of one LAN do not collide.  QEMU's own default
 * (52:54:00:12:34:56 upward, counted per process) collides as soon as two
 * QEMU processes share a network.  We hash the host adapter's address, the
 * VM's identity (its -uuid, else its -name) and the NIC's key (its device
 * id, else its PCI address) into the low 24 bits.  Everything hashed is
 * named by the configuration, nothing by the order in which devices were
 * created, so the address is stable across restarts and hotplug, and it
 * differs, with high probability, between the NICs of a VM and across VMs
 * and hosts.  (The device refuses a derived address another NIC of the VM
 * already has, rather than letting two share it.)
 *
 * vpc_nic_default_mac() is the whole rule; the dec21140a device and the
 * vpcnet-mac tool (which tells libvirt and users an address in advance)
 * both call it.
 */
#ifndef VPCNET_MACADDR_H
#define VPCNET_MACADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VPC_MAC_OUI0 0x00
#define VPC_MAC_OUI1 0x03
#define VPC_MAC_OUI2 0xff

/* Longest NIC key vpc_mac_nic_key() writes, with its NUL. */
#define VPC_MAC_NIC_KEY_MAX 160

/*
 * vpc_mac_nic_key - name a NIC by what its configuration says.
 * @buf, @len: where the key goes ("id:ID" or "pci:[BUS/]SS.F").
 * @dev_id: the device's id (-device ...,id=), or NULL/"" when it has none.
 * @pci_bus: the name of the PCI bus it sits on when that is not the root
 *           bus, else NULL/"".
 * @slot, @fn: its PCI slot (0..31) and function (0..7).
 * The id wins when there is one: libvirt gives NICs ids (net0, net1...)
 * and fixed PCI addresses; a bare -device gets its command-line slot.
 * Returns 0, or -1 when the slot or function is out of range or the key
 * does not fit.
 */
int vpc_mac_nic_key(char *buf, size_t len, const char *dev_id,
                    const char *pci_bus, unsigned slot, unsigned fn);

/*
 * vpc_mac_derive - compute a NIC's default MAC.
 * @out: the address, 00:03:ff:xx:xx:xx.
 * @host_mac: the host adapter's hardware address (all zero when unknown).
 * @vm_identity: the VM's -uuid or -name, or NULL/"" when it has neither.
 * @nic_key: the NIC's key from vpc_mac_nic_key().
 */
void vpc_mac_derive(uint8_t out[6], const uint8_t host_mac[6],
                    const char *vm_identity, const char *nic_key);

/* The length of a canonical UUID, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define VPC_UUID_STRLEN 36

/*
 * vpc_uuid_canonical - @text as QEMU prints a -uuid (lower case, 8-4-4-4-12
 * hex digits) into @out; returns 0, or -1 when @text is no UUID.
 */
int vpc_uuid_canonical(const char *text, char out[VPC_UUID_STRLEN + 1]);

/*
 * vpc_nic_default_mac - the default address of a vpcnet NIC, by the rule
 * above: what the device uses when mac= is not given.
 * @out: the address.
 * @sysfs_net: the directory that lists host interfaces ("/sys/class/net").
 * @host_adapter: an interface name, or a MAC address (vpc_mac_parse()
 *                form) standing for one, or NULL for the first host
 *                adapter with an Ethernet address (see
 *                vpc_host_adapter_mac(); when none is found, all zeros).
 * @vm_uuid: the VM's -uuid, any case, or NULL; it wins over @vm_name.
 * @vm_name: the VM's -name, or NULL.
 * @nic_key: from vpc_mac_nic_key().
 * @err, @errlen: why it failed (always NUL-terminated).
 * Returns 0, or -1 when a named host adapter does not exist or @vm_uuid is
 * malformed.
 */
int vpc_nic_default_mac(uint8_t out[6], const char *sysfs_net,
                        const char *host_adapter, const char *vm_uuid,
                        const char *vm_name, const char *nic_key,
                        char *err, size_t errlen);

/*
 * vpc_host_adapter_mac - read a host adapter's hardware address.
 * @sysfs_net: the directory that lists interfaces ("/sys/class/net").
 * @ifname: the interface, or NULL for the first non-loopback interface
 *          (in name order) that has a non-zero Ethernet address.
 * @mac: the address found.
 * @chosen: when not NULL, receives the interface used (IFNAMSIZ bytes).
 * Returns 0, or -1 with a reason in @err (always NUL-terminated).
 */
int vpc_host_adapter_mac(const char *sysfs_net, const char *ifname,
                         uint8_t mac[6], char chosen[16],
                         char *err, size_t errlen);

/* The length of "aa:bb:cc:dd:ee:ff" with its NUL: vpc_mac_format()'s buffer. */
#define VPC_MAC_STRLEN 18

/*
 * vpc_mac_parse - parse a MAC address written the way ip(8) and sysfs do.
 * @text: exactly six groups of two hex digits (either case), separated by
 *        ':' throughout or by '-' throughout (Windows' form): 17 characters,
 *        nothing before or after, no spaces, signs or single digits.
 * @mac: the address; written only when the text is accepted.
 * Returns 0, or -1 when @text is anything else.
 */
int vpc_mac_parse(const char *text, uint8_t mac[6]);

/*
 * vpc_mac_format - write @mac as "aa:bb:cc:dd:ee:ff" (lower case) into @buf,
 * always NUL-terminated.  vpc_mac_parse() reads it back.
 */
void vpc_mac_format(const uint8_t mac[6], char buf[VPC_MAC_STRLEN]);

/* vpc_mac_equal - whether two 6-byte hardware addresses are the same. */
static inline bool vpc_mac_equal(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, 6) == 0;
}

#endif
