/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet: default MAC addresses in Virtual PC's 00:03:ff block.
 */
#include "net/vpcnet/macaddr.h"
#include "net/vpcnet/crc32.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vpc_mac_nic_key(char *buf, size_t len, const char *dev_id,
                    const char *pci_bus, unsigned slot, unsigned fn)
{
    int n;

    if (dev_id && *dev_id) {
        n = snprintf(buf, len, "id:%s", dev_id);
    } else if (slot > 31 || fn > 7) {
        return -1;
    } else if (pci_bus && *pci_bus) {
        n = snprintf(buf, len, "pci:%s/%02x.%x", pci_bus, slot, fn);
    } else {
        n = snprintf(buf, len, "pci:%02x.%x", slot, fn);
    }
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

void vpc_mac_derive(uint8_t out[6], const uint8_t host_mac[6],
                    const char *vm_identity, const char *nic_key)
{
    uint32_t h = 0xffffffffu;
    uint32_t low;

    h = vpc_crc32_le_update(h, host_mac, 6);
    if (vm_identity) {
        h = vpc_crc32_le_update(h, vm_identity, strlen(vm_identity));
    }
    /* The NUL keeps ("ab", "c") and ("a", "bc") apart. */
    h = vpc_crc32_le_update(h, "", 1);
    if (nic_key) {
        h = vpc_crc32_le_update(h, nic_key, strlen(nic_key));
    }
    /* Fold the 32-bit hash to 24 bits. */
    low = ((h >> 24) ^ h) & 0xffffff;

    out[0] = VPC_MAC_OUI0;
    out[1] = VPC_MAC_OUI1;
    out[2] = VPC_MAC_OUI2;
    out[3] = low >> 16;
    out[4] = low >> 8;
    out[5] = low;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * By hand, not sscanf: "%2x" skips leading spaces and takes a sign or a
 * single digit, so " 1: 2: 3: 4: 5: 6" and "+1:-2:3:4:5:6" would pass.
 */
int vpc_mac_parse(const char *text, uint8_t mac[6])
{
    uint8_t out[6];
    char sep;

    if (!text || strnlen(text, VPC_MAC_STRLEN) != VPC_MAC_STRLEN - 1) {
        return -1;
    }
    sep = text[2];
    if (sep != ':' && sep != '-') {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(text[3 * i]);
        int lo = hex_digit(text[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != sep)) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(mac, out, 6);
    return 0;
}

void vpc_mac_format(const uint8_t mac[6], char buf[VPC_MAC_STRLEN])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < 6; i++) {
        buf[3 * i] = hex[mac[i] >> 4];
        buf[3 * i + 1] = hex[mac[i] & 0xf];
        buf[3 * i + 2] = i < 5 ? ':' : '\0';
    }
}

int vpc_uuid_canonical(const char *text, char out[VPC_UUID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";

    if (!text || strnlen(text, VPC_UUID_STRLEN + 1) != VPC_UUID_STRLEN) {
        return -1;
    }
    for (int i = 0; i < VPC_UUID_STRLEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return -1;
            }
            out[i] = '-';
        } else {
            int v = hex_digit(text[i]);

            if (v < 0) {
                return -1;
            }
            out[i] = hex[v];
        }
    }
    out[VPC_UUID_STRLEN] = '\0';
    return 0;
}

/* Read @sysfs_net/@ifname/address; 0 on success. */
static int read_if_mac(const char *sysfs_net, const char *ifname,
                       uint8_t mac[6])
{
    char path[512], line[64];
    FILE *f;
    int ok;

    if (snprintf(path, sizeof(path), "%s/%s/address", sysfs_net, ifname)
        >= (int)sizeof(path)) {
        return -1;
    }
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok) {
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    return vpc_mac_parse(line, mac);
}

static int mac_is_zero(const uint8_t mac[6])
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vpc_host_adapter_mac(const char *sysfs_net, const char *ifname,
                         uint8_t mac[6], char chosen[16],
                         char *err, size_t errlen)
{
    DIR *dir;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int found = -1;

    if (errlen) {
        err[0] = '\0';
    }
    if (ifname) {
        if (strlen(ifname) >= 16 || strchr(ifname, '/')) {
            snprintf(err, errlen, "'%s' is not an interface name", ifname);
            return -1;
        }
        if (read_if_mac(sysfs_net, ifname, mac) < 0) {
            snprintf(err, errlen, "host adapter '%s' not found or has no "
                     "Ethernet address", ifname);
            return -1;
        }
        if (chosen) {
            snprintf(chosen, 16, "%s", ifname);
        }
        return 0;
    }

    dir = opendir(sysfs_net);
    if (!dir) {
        snprintf(err, errlen, "cannot list %s: %s", sysfs_net,
                 strerror(errno));
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0
            || strlen(de->d_name) >= 16) {
            continue;
        }
        if (n == cap) {
            char **bigger;
            cap = cap ? cap * 2 : 16;
            bigger = realloc(names, cap * sizeof(*names));
            if (!bigger) {
                break;
            }
            names = bigger;
        }
        names[n] = strdup(de->d_name);
        if (names[n]) {
            n++;
        }
    }
    closedir(dir);

    if (n) {
        qsort(names, n, sizeof(*names), name_cmp);
    }
    for (size_t i = 0; i < n && found < 0; i++) {
        if (read_if_mac(sysfs_net, names[i], mac) == 0 && !mac_is_zero(mac)) {
            found = 0;
            if (chosen) {
                snprintf(chosen, 16, "%s", names[i]);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    if (found < 0) {
        snprintf(err, errlen, "no host adapter with an Ethernet address "
                 "in %s", sysfs_net);
    }
    return found;
}

int vpc_nic_default_mac(uint8_t out[6], const char *sysfs_net,
                        const char *host_adapter, const char *vm_uuid,
                        const char *vm_name, const char *nic_key,
                        char *err, size_t errlen)
{
    uint8_t host_mac[6] = { 0 };
    char uuid[VPC_UUID_STRLEN + 1];
    const char *identity = vm_name;

    if (errlen) {
        err[0] = '\0';
    }
    if (host_adapter && vpc_mac_parse(host_adapter, host_mac) == 0) {
        /* An address standing for an adapter (of this host or another). */
    } else if (vpc_host_adapter_mac(sysfs_net, host_adapter, host_mac, NULL,
                                    err, errlen) < 0) {
        if (host_adapter) {
            return -1;
        }
        /* No adapter at all: the VM and NIC alone make the address. */
        memset(host_mac, 0, sizeof(host_mac));
        if (errlen) {
            err[0] = '\0';
        }
    }
    if (vm_uuid) {
        if (vpc_uuid_canonical(vm_uuid, uuid) < 0) {
            snprintf(err, errlen, "'%s' is not a UUID", vm_uuid);
            return -1;
        }
        identity = uuid;
    }
    vpc_mac_derive(out, host_mac, identity, nic_key);
    return 0;
}
