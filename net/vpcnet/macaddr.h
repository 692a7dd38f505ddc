/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: default MAC addresses in Virtual PC's 00:03:ff block.
 *
 * Virtual PC gave every emulated NIC an address 00-03-ff-xx-xx-xx whose
 * low three octets were computed from the host adapter's MAC, so that
 * guests on different hosts of one LAN do not collide.  QEMU's own default
 * (52:54:00:12:34:56 upward, counted per process) collides as soon as two
 * QEMU processes share a network.  We mix the host adapter's address with
 * the VM's identity (its -uuid or -name) and then add the NIC's index, so
 * the address is stable across restarts, distinct for every NIC of a VM
 * and, with high probability, distinct across VMs and hosts.
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

/*
 * vpc_mac_derive - compute a NIC's default MAC.
 * @out: the address, 00:03:ff:xx:xx:xx.
 * @host_mac: the host adapter's hardware address (all zero when unknown).
 * @vm_identity: the VM's -uuid or -name, or NULL/"" when it has neither.
 * @nic_index: the NIC's index among the VM's vpcnet NICs.
 */
void vpc_mac_derive(uint8_t out[6], const uint8_t host_mac[6],
                    const char *vm_identity, unsigned nic_index);

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
