/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the 00:03:ff default MAC derivation and host adapter
 * lookup (against a fake /sys/class/net made in a temporary directory).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "net/vpcnet/macaddr.h"

static const uint8_t host_a[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
static const uint8_t host_b[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xf0 };

static void test_oui_and_stability(void)
{
    uint8_t m1[6], m2[6];

    vpc_mac_derive(m1, host_a, "vm-one", "id:net0");
    vpc_mac_derive(m2, host_a, "vm-one", "id:net0");
    g_assert_cmpmem(m1, 6, m2, 6);
    g_assert_cmpuint(m1[0], ==, 0x00);
    g_assert_cmpuint(m1[1], ==, 0x03);
    g_assert_cmpuint(m1[2], ==, 0xff);
}

/* NICs of one VM, named by id or by PCI address, get distinct addresses. */
static void test_distinct_nics(void)
{
    static const char *const keys[] = {
        "id:net0", "id:net1", "id:net2", "id:net3",
        "pci:05.0", "pci:06.0", "pci:05.1", "pci:pci.1/05.0",
    };
    uint8_t m[G_N_ELEMENTS(keys)][6];

    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        vpc_mac_derive(m[i], host_a, "vm-one", keys[i]);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        for (unsigned j = i + 1; j < G_N_ELEMENTS(keys); j++) {
            g_assert_true(memcmp(m[i], m[j], 6) != 0);
        }
    }
}

/* The NIC's key: its id when it has one, else its PCI address. */
static void test_nic_key(void)
{
    char key[VPC_MAC_NIC_KEY_MAX];
    char small[8];

    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), "net0", NULL, 5, 0),
                    ==, 0);
    g_assert_cmpstr(key, ==, "id:net0");
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), "net0", "pci.1", 5, 0),
                    ==, 0);
    g_assert_cmpstr(key, ==, "id:net0");
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), NULL, NULL, 0x1f, 7),
                    ==, 0);
    g_assert_cmpstr(key, ==, "pci:1f.7");
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), "", "", 5, 0), ==, 0);
    g_assert_cmpstr(key, ==, "pci:05.0");
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), NULL, "bridge1", 1, 0),
                    ==, 0);
    g_assert_cmpstr(key, ==, "pci:bridge1/01.0");
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), NULL, NULL, 32, 0),
                    ==, -1);
    g_assert_cmpint(vpc_mac_nic_key(key, sizeof(key), NULL, NULL, 1, 8),
                    ==, -1);
    g_assert_cmpint(vpc_mac_nic_key(small, sizeof(small), "a-long-id", NULL,
                                    0, 0), ==, -1);
}

static void test_uuid(void)
{
    char out[VPC_UUID_STRLEN + 1];

    g_assert_cmpint(vpc_uuid_canonical("8F5C3E1A-0B2D-4C6E-9A7B-1D2E3F405162",
                                       out), ==, 0);
    g_assert_cmpstr(out, ==, "8f5c3e1a-0b2d-4c6e-9a7b-1d2e3f405162");
    g_assert_cmpint(vpc_uuid_canonical("8f5c3e1a0b2d4c6e9a7b1d2e3f405162",
                                       out), ==, -1);
    g_assert_cmpint(vpc_uuid_canonical("8f5c3e1a-0b2d-4c6e-9a7b-1d2e3f40516",
                                       out), ==, -1);
    g_assert_cmpint(vpc_uuid_canonical("8f5c3e1a-0b2d-4c6e-9a7b-1d2e3f4051623",
                                       out), ==, -1);
    g_assert_cmpint(vpc_uuid_canonical("8f5c3e1a-0b2d-4c6e-9a7b_1d2e3f405162",
                                       out), ==, -1);
    g_assert_cmpint(vpc_uuid_canonical("8g5c3e1a-0b2d-4c6e-9a7b-1d2e3f405162",
                                       out), ==, -1);
}

/* The host adapter and the VM identity both change the address. */
static void test_inputs_matter(void)
{
    uint8_t base[6], other_host[6], other_vm[6], no_vm[6];

    vpc_mac_derive(base, host_a, "vm-one", "id:net0");
    vpc_mac_derive(other_host, host_b, "vm-one", "id:net0");
    vpc_mac_derive(other_vm, host_a, "vm-two", "id:net0");
    vpc_mac_derive(no_vm, host_a, NULL, "id:net0");
    g_assert_true(memcmp(base, other_host, 6) != 0);
    g_assert_true(memcmp(base, other_vm, 6) != 0);
    g_assert_true(memcmp(base, no_vm, 6) != 0);
}

/* Over many VM names the 24-bit part spreads: few collisions. */
static void test_spread(void)
{
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    unsigned collisions = 0;

    for (unsigned i = 0; i < 4096; i++) {
        g_autofree char *name = g_strdup_printf("vm-%u", i);
        uint8_t m[6];
        guint key;

        vpc_mac_derive(m, host_a, name, "id:net0");
        key = (m[3] << 16) | (m[4] << 8) | m[5];
        if (g_hash_table_contains(seen, GUINT_TO_POINTER(key + 1))) {
            collisions++;
        }
        g_hash_table_add(seen, GUINT_TO_POINTER(key + 1));
    }
    /* Expected about 4096^2 / 2^25 = 0.5 for a uniform hash. */
    g_assert_cmpuint(collisions, <=, 4);
    g_hash_table_destroy(seen);
}

static void test_parse(void)
{
    uint8_t m[6];

    g_assert_cmpint(vpc_mac_parse("00:03:ff:1a:2b:3c", m), ==, 0);
    g_assert_cmpuint(m[5], ==, 0x3c);
    g_assert_cmpint(vpc_mac_parse("00:03:ff:1a:2b", m), ==, -1);
    g_assert_cmpint(vpc_mac_parse("00:03:ff:1a:2b:3c:4d", m), ==, -1);
    g_assert_cmpint(vpc_mac_parse("nonsense", m), ==, -1);
}

/* Upper case, and Windows' '-' form, read as the same address. */
static void test_parse_forms(void)
{
    static const uint8_t want[6] = { 0x00, 0x03, 0xff, 0xab, 0xcd, 0xef };
    uint8_t m[6];

    g_assert_cmpint(vpc_mac_parse("00:03:FF:AB:cd:Ef", m), ==, 0);
    g_assert_cmpmem(m, 6, want, 6);
    memset(m, 0, sizeof(m));
    g_assert_cmpint(vpc_mac_parse("00-03-ff-ab-cd-ef", m), ==, 0);
    g_assert_cmpmem(m, 6, want, 6);
}

/* Everything sscanf("%2x:...") used to let through, and more. */
static void test_parse_rejects(void)
{
    static const char *const bad[] = {
        " 1: 2: 3: 4: 5: 6",        /* the case that passed --reserve */
        "1:2:3:4:5:6",              /* single digits */
        "+1:-2:03:04:05:06",        /* signs */
        "0x:03:ff:1a:2b:3c",
        " 00:03:ff:1a:2b:3c",       /* leading space */
        "00:03:ff:1a:2b:3c ",       /* trailing space */
        "00:03:ff:1a:2b:3c\n",      /* trailing newline */
        "00:03:ff:1a:2b:3",         /* short last group */
        "00:03:ff:1a:2b:3cd",
        "00:03:ff:1a:2b:3c:",
        "00 03 ff 1a 2b 3c",        /* other separators */
        "00.03.ff.1a.2b.3c",
        "00:03-ff:1a:2b:3c",        /* mixed separators */
        "00-03-ff-1a-2b:3c",
        "000:3:ff:1a:2b:3c",        /* groups shifted */
        "0003ff1a2b3c",             /* no separators */
        "00:03:ff:1a:2g:3c",        /* not hex */
        "",
    };
    static const uint8_t untouched[6] = { 1, 2, 3, 4, 5, 6 };
    uint8_t untouched_copy[6] = { 1, 2, 3, 4, 5, 6 };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint8_t m[6];

        memcpy(m, untouched, 6);
        if (vpc_mac_parse(bad[i], m) != -1) {
            g_test_message("accepted \"%s\"", bad[i]);
            g_test_fail();
        }
        /* A refused text leaves the caller's buffer as it was. */
        g_assert_cmpmem(m, 6, untouched, 6);
    }
    g_assert_cmpint(vpc_mac_parse(NULL, untouched_copy), ==, -1);
}

/* vpc_mac_format writes what vpc_mac_parse reads, for every octet value. */
static void test_format_round_trip(void)
{
    static const uint8_t low_nibbles[6] = { 0, 3, 0xff, 0x0a, 0xb0, 1 };
    char buf[VPC_MAC_STRLEN];
    uint8_t m[6], back[6];

    vpc_mac_format(low_nibbles, buf);
    g_assert_cmpstr(buf, ==, "00:03:ff:0a:b0:01");
    for (unsigned v = 0; v < 256; v++) {
        for (int i = 0; i < 6; i++) {
            m[i] = (uint8_t)(v + 37 * i);
        }
        memset(buf, 'x', sizeof(buf));
        vpc_mac_format(m, buf);
        g_assert_cmpuint(strlen(buf), ==, VPC_MAC_STRLEN - 1);
        g_assert_cmpint(vpc_mac_parse(buf, back), ==, 0);
        g_assert_cmpmem(back, 6, m, 6);
    }
}

static void test_equal(void)
{
    static const uint8_t first_bit[6] = { 1, 0, 0, 0, 0, 0 };
    static const uint8_t zero[6];

    g_assert_true(vpc_mac_equal(host_a, host_a));
    g_assert_false(vpc_mac_equal(host_a, host_b));
    g_assert_false(vpc_mac_equal(first_bit, zero));
}

static void add_fake_if(const char *root, const char *name, const char *addr)
{
    g_autofree char *dir = g_build_filename(root, name, NULL);
    g_autofree char *file = g_build_filename(dir, "address", NULL);

    g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
    g_assert_true(g_file_set_contents(file, addr, -1, NULL));
}

static void test_host_adapter(void)
{
    g_autofree char *root = g_dir_make_tmp("vpcnet-sysfs-XXXXXX", NULL);
    uint8_t mac[6];
    char chosen[16], err[128];

    g_assert_nonnull(root);
    add_fake_if(root, "lo", "00:00:00:00:00:00\n");
    add_fake_if(root, "wlan0", "02:00:00:00:00:02\n");
    add_fake_if(root, "eth1", "02:00:00:00:00:01\n");
    add_fake_if(root, "dummy", "00:00:00:00:00:00\n");

    /* First non-loopback interface, in name order, with a real address. */
    g_assert_cmpint(vpc_host_adapter_mac(root, NULL, mac, chosen,
                                         err, sizeof(err)), ==, 0);
    g_assert_cmpstr(chosen, ==, "eth1");
    g_assert_cmpuint(mac[5], ==, 1);

    g_assert_cmpint(vpc_host_adapter_mac(root, "wlan0", mac, chosen,
                                         err, sizeof(err)), ==, 0);
    g_assert_cmpuint(mac[5], ==, 2);

    g_assert_cmpint(vpc_host_adapter_mac(root, "missing0", mac, NULL,
                                         err, sizeof(err)), ==, -1);
    g_assert_nonnull(strstr(err, "missing0"));
    g_assert_cmpint(vpc_host_adapter_mac(root, "../etc", mac, NULL,
                                         err, sizeof(err)), ==, -1);

    g_assert_cmpint(vpc_host_adapter_mac("/nonexistent-vpcnet", NULL, mac,
                                         NULL, err, sizeof(err)), ==, -1);
    g_assert_cmpstr(err, !=, "");
    /* Leave the fake tree behind for nobody. */
    {
        const char *names[] = { "lo", "wlan0", "eth1", "dummy" };
        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
            g_autofree char *f = g_build_filename(root, names[i], "address",
                                                  NULL);
            g_autofree char *d = g_build_filename(root, names[i], NULL);
            g_unlink(f);
            g_rmdir(d);
        }
        g_rmdir(root);
    }
}

/* The whole rule, as the device and vpcnet-mac apply it. */
static void test_nic_default_mac(void)
{
    g_autofree char *root = g_dir_make_tmp("vpcnet-sysfs-XXXXXX", NULL);
    g_autofree char *empty = g_dir_make_tmp("vpcnet-sysfs-XXXXXX", NULL);
    const char *uuid = "8f5c3e1a-0b2d-4c6e-9a7b-1d2e3f405162";
    uint8_t by_name[6], by_mac[6], first[6], m[6], want[6];
    char err[128];

    add_fake_if(root, "eth1", "52:54:00:ab:cd:ef\n");
    add_fake_if(root, "eth2", "52:54:00:ab:cd:f0\n");

    /* A host adapter named, given by its address, or the first one. */
    g_assert_cmpint(vpc_nic_default_mac(by_name, root, "eth1", NULL, "vm-one",
                                        "id:net0", err, sizeof(err)), ==, 0);
    g_assert_cmpint(vpc_nic_default_mac(by_mac, root, "52:54:00:AB:CD:EF",
                                        NULL, "vm-one", "id:net0",
                                        err, sizeof(err)), ==, 0);
    g_assert_cmpint(vpc_nic_default_mac(first, root, NULL, NULL, "vm-one",
                                        "id:net0", err, sizeof(err)), ==, 0);
    vpc_mac_derive(want, host_a, "vm-one", "id:net0");
    g_assert_cmpmem(by_name, 6, want, 6);
    g_assert_cmpmem(by_mac, 6, want, 6);
    g_assert_cmpmem(first, 6, want, 6);
    g_assert_cmpint(vpc_nic_default_mac(m, root, "eth2", NULL, "vm-one",
                                        "id:net0", err, sizeof(err)), ==, 0);
    g_assert_true(memcmp(m, want, 6) != 0);

    /* The UUID, in any case, wins over the name. */
    g_assert_cmpint(vpc_nic_default_mac(m, root, "eth1",
                                        "8F5C3E1A-0B2D-4C6E-9A7B-1D2E3F405162",
                                        "vm-one", "pci:05.0",
                                        err, sizeof(err)), ==, 0);
    vpc_mac_derive(want, host_a, uuid, "pci:05.0");
    g_assert_cmpmem(m, 6, want, 6);

    /* A host without adapters: zeros stand for the host's address. */
    g_assert_cmpint(vpc_nic_default_mac(m, empty, NULL, NULL, "vm-one",
                                        "id:net0", err, sizeof(err)), ==, 0);
    vpc_mac_derive(want, (const uint8_t[6]) { 0 }, "vm-one", "id:net0");
    g_assert_cmpmem(m, 6, want, 6);
    g_assert_cmpstr(err, ==, "");

    /* What must fail: a named adapter that is not there, a bad UUID. */
    g_assert_cmpint(vpc_nic_default_mac(m, root, "eth9", NULL, "vm-one",
                                        "id:net0", err, sizeof(err)), ==, -1);
    g_assert_nonnull(strstr(err, "eth9"));
    g_assert_cmpint(vpc_nic_default_mac(m, root, NULL, "not-a-uuid", NULL,
                                        "id:net0", err, sizeof(err)), ==, -1);
    g_assert_nonnull(strstr(err, "not-a-uuid"));

    for (unsigned i = 1; i <= 2; i++) {
        g_autofree char *d = g_strdup_printf("%s/eth%u", root, i);
        g_autofree char *f = g_strdup_printf("%s/address", d);
        g_unlink(f);
        g_rmdir(d);
    }
    g_rmdir(root);
    g_rmdir(empty);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/macaddr/oui-and-stability",
                    test_oui_and_stability);
    g_test_add_func("/vpcnet/macaddr/distinct-nics", test_distinct_nics);
    g_test_add_func("/vpcnet/macaddr/nic-key", test_nic_key);
    g_test_add_func("/vpcnet/macaddr/uuid", test_uuid);
    g_test_add_func("/vpcnet/macaddr/inputs-matter", test_inputs_matter);
    g_test_add_func("/vpcnet/macaddr/spread", test_spread);
    g_test_add_func("/vpcnet/macaddr/parse", test_parse);
    g_test_add_func("/vpcnet/macaddr/parse-forms", test_parse_forms);
    g_test_add_func("/vpcnet/macaddr/parse-rejects", test_parse_rejects);
    g_test_add_func("/vpcnet/macaddr/format-round-trip",
                    test_format_round_trip);
    g_test_add_func("/vpcnet/macaddr/equal", test_equal);
    g_test_add_func("/vpcnet/macaddr/host-adapter", test_host_adapter);
    g_test_add_func("/vpcnet/macaddr/nic-default-mac", test_nic_default_mac);
    return g_test_run();
}
