/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of what the filter bridge's privileged helper decides from
 * text: the ACL file (acl.c), the messages between QEMU and the helper
 * (helper-proto.c) and the per-adapter registry records (registry.c).
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/bridge/acl.h"
#include "net/vpcnet/bridge/helper-proto.h"
#include "net/vpcnet/bridge/registry.h"

static VpcAclVerdict acl(const char *text, const char *ifname, unsigned *line)
{
    VpcAclResult r;
    bool ok = vpc_acl_check(text, strlen(text), ifname, &r);

    g_assert_cmpint(ok, ==, r.verdict == VPC_ACL_ALLOWED);
    g_assert_cmpuint(strlen(r.reason), >, 0);
    if (line) {
        *line = r.line;
    }
    return r.verdict;
}

static void test_acl(void)
{
    unsigned line;

    g_assert_cmpint(acl("", "eth0", NULL), ==, VPC_ACL_NOT_ALLOWED);
    g_assert_cmpint(acl("# nothing\n\n", "eth0", NULL), ==,
                    VPC_ACL_NOT_ALLOWED);
    g_assert_cmpint(acl("allow eth0\n", "eth0", &line), ==, VPC_ACL_ALLOWED);
    g_assert_cmpuint(line, ==, 1);
    g_assert_cmpint(acl("allow eth0", "eth1", NULL), ==, VPC_ACL_NOT_ALLOWED);
    g_assert_cmpint(acl("allow eth0", "eth", NULL), ==, VPC_ACL_NOT_ALLOWED);
    g_assert_cmpint(acl("  allow\teth0  # mine\r\n", "eth0", NULL), ==,
                    VPC_ACL_ALLOWED);
    g_assert_cmpint(acl("allow all\n", "wlan0", NULL), ==, VPC_ACL_ALLOWED);
    /* deny wins, in either order */
    g_assert_cmpint(acl("allow all\ndeny eth0\n", "eth0", &line), ==,
                    VPC_ACL_DENIED);
    g_assert_cmpuint(line, ==, 2);
    g_assert_cmpint(acl("deny eth0\nallow eth0\n", "eth0", NULL), ==,
                    VPC_ACL_DENIED);
    g_assert_cmpint(acl("deny all\nallow eth0\n", "eth0", NULL), ==,
                    VPC_ACL_DENIED);
    g_assert_cmpint(acl("allow all\ndeny eth0\n", "eth1", NULL), ==,
                    VPC_ACL_ALLOWED);
    /* a line it does not understand closes everything */
    g_assert_cmpint(acl("allow eth0\nalow eth1\n", "eth0", &line), ==,
                    VPC_ACL_BAD_FILE);
    g_assert_cmpuint(line, ==, 2);
    g_assert_cmpint(acl("allow eth0 eth1\n", "eth0", NULL), ==,
                    VPC_ACL_BAD_FILE);
    g_assert_cmpint(acl("allow\n", "eth0", NULL), ==, VPC_ACL_BAD_FILE);
    g_assert_cmpint(acl("allow a/b\n", "eth0", NULL), ==, VPC_ACL_BAD_FILE);
    g_assert_cmpint(acl("allow 0123456789abcdef\n", "eth0", NULL), ==,
                    VPC_ACL_BAD_FILE);
    g_assert_cmpint(acl("include /etc/passwd\n", "eth0", NULL), ==,
                    VPC_ACL_BAD_FILE);
    /* a NUL in the middle is just a byte that is not a name */
    g_assert_false(vpc_acl_check("allow e\0th0\n", 12, "eth0",
                                 &(VpcAclResult){ 0 }));
}

static void roundtrip(const VpcFbhMsg *m, VpcFbhMsg *back)
{
    char text[VPC_FBH_MSG_MAX], why[80];
    int len = vpc_fbh_format(m, text, sizeof(text));

    g_assert_cmpint(len, >, 0);
    g_assert_cmpint(vpc_fbh_parse(text, (size_t)len, back, why, sizeof(why)),
                    ==, 0);
    g_assert_cmpint(back->type, ==, m->type);
}

static void test_proto(void)
{
    VpcFbhMsg m = { .type = VPC_FBH_READY, .tap_ifindex = 12,
                    .adapter_ifindex = 3, .wifi = true,
                    .adapter_mac = { 2, 0x77, 0, 0, 0, 1 } };
    VpcFbhMsg back;
    char why[80];

    strcpy(m.tap, "vpcfb7");
    roundtrip(&m, &back);
    g_assert_cmpstr(back.tap, ==, "vpcfb7");
    g_assert_cmpuint(back.tap_ifindex, ==, 12);
    g_assert_cmpuint(back.adapter_ifindex, ==, 3);
    g_assert_true(back.wifi);
    g_assert_cmpmem(back.adapter_mac, 6, m.adapter_mac, 6);

    m = (VpcFbhMsg){ .type = VPC_FBH_ATTACH,
                     .mac = { 0, 3, 0xff, 1, 2, 3 } };
    roundtrip(&m, &back);
    g_assert_cmpmem(back.mac, 6, m.mac, 6);

    m = (VpcFbhMsg){ .type = VPC_FBH_ERROR };
    strcpy(m.text, "MAC 00:03:ff:01:02:03 is already in use");
    roundtrip(&m, &back);
    g_assert_cmpstr(back.text, ==, m.text);

    m = (VpcFbhMsg){ .type = VPC_FBH_ATTACHED };
    roundtrip(&m, &back);

#define BAD(s) g_assert_cmpint(vpc_fbh_parse(s, strlen(s), &back, why, \
                                             sizeof(why)), ==, -1)
    BAD("HELLO\n");
    BAD("READY v=1 tap=x\n");                       /* keys missing */
    BAD("READY v=2 tap=x tap-ifindex=1 adapter-ifindex=2 "
        "adapter-mac=02:00:00:00:00:01 mode=wired\n");
    BAD("READY v=1 tap=x tap-ifindex=0 adapter-ifindex=2 "
        "adapter-mac=02:00:00:00:00:01 mode=wired\n");
    BAD("READY v=1 tap=x tap-ifindex=99999999999 adapter-ifindex=2 "
        "adapter-mac=02:00:00:00:00:01 mode=wired\n");
    BAD("READY v=1 tap=x tap-ifindex=1 adapter-ifindex=2 "
        "adapter-mac=02:00:00:00:00:1 mode=wired\n");
    BAD("READY v=1 tap=x tap-ifindex=1 adapter-ifindex=2 "
        "adapter-mac=02:00:00:00:00:01 mode=maybe\n");
    BAD("ATTACH\n");
    BAD("ATTACH mac\n");
    BAD("ATTACH mac=00:03:ff:01:02:03\001\n");
    g_assert_cmpint(vpc_fbh_parse("ATTACH mac=00:03:ff:01:02:03 extra=1", 36,
                                  &back, why, sizeof(why)), ==, 0);
    g_assert_cmpint(vpc_fbh_parse("ERROR", 5, &back, why, sizeof(why)), ==, 0);
    g_assert_cmpstr(back.text, ==, "unspecified error");
#undef BAD
}

static bool alive_42_at_7(int pid, uint64_t start, void *opaque)
{
    return pid == 42 && start == 7;
}

static void test_registry(void)
{
    VpcFbRecord r = { .mac = { 0, 3, 0xff, 0x12, 0x34, 0x56 },
                      .keeper_pid = 42, .keeper_start = 7, .qemu_pid = 41,
                      .uid = 65534, .tap_ifindex = 9, .wifi = false };
    VpcFbRecord back;
    char text[VPC_FB_RECORD_MAX], name[18];
    uint8_t mac[6];
    uint64_t start;
    int len;

    strcpy(r.tap, "vpcfb0");
    len = vpc_fb_record_format(&r, text, sizeof(text));
    g_assert_cmpint(len, >, 0);
    g_assert_cmpint(vpc_fb_record_parse(text, (size_t)len, &back), ==, 0);
    g_assert_cmpmem(back.mac, 6, r.mac, 6);
    g_assert_cmpint(back.keeper_pid, ==, 42);
    g_assert_cmpuint(back.keeper_start, ==, 7);
    g_assert_cmpint(back.qemu_pid, ==, 41);
    g_assert_cmpstr(back.tap, ==, "vpcfb0");

    vpc_fb_record_name(r.mac, name);
    g_assert_cmpstr(name, ==, "00-03-ff-12-34-56");
    g_assert_cmpint(vpc_fb_record_name_parse(name, mac), ==, 0);
    g_assert_cmpmem(mac, 6, r.mac, 6);
    g_assert_cmpint(vpc_fb_record_name_parse("lock", mac), ==, -1);
    g_assert_cmpint(vpc_fb_record_name_parse("00-03-FF-12-34-56", mac), ==, -1);
    g_assert_cmpint(vpc_fb_record_name_parse("00:03:ff:12:34:56", mac), ==, -1);

    g_assert_cmpint(vpc_fb_judge(name, text, (size_t)len, alive_42_at_7, NULL,
                                 &back), ==, VPC_FB_LIVE);
    /* a reused pid (another start time), a dead keeper, junk, a
     * record under another MAC's name: all stale */
    r.keeper_start = 8;
    len = vpc_fb_record_format(&r, text, sizeof(text));
    g_assert_cmpint(vpc_fb_judge(name, text, (size_t)len, alive_42_at_7, NULL,
                                 &back), ==, VPC_FB_STALE);
    g_assert_cmpint(vpc_fb_judge(name, "garbage", 7, alive_42_at_7, NULL,
                                 &back), ==, VPC_FB_STALE);
    g_assert_cmpint(vpc_fb_judge(name, "", 0, alive_42_at_7, NULL, &back), ==,
                    VPC_FB_STALE);
    r.keeper_start = 7;
    len = vpc_fb_record_format(&r, text, sizeof(text));
    g_assert_cmpint(vpc_fb_judge("00-03-ff-12-34-57", text, (size_t)len,
                                 alive_42_at_7, NULL, &back), ==,
                    VPC_FB_STALE);
    g_assert_cmpint(vpc_fb_record_parse("vpcnet-filter-bridge v=1 mac=x", 30,
                                        &back), ==, -1);
    g_assert_cmpint(vpc_fb_record_parse("vpcnet-filter-bridge v=1 "
                                        "mac=00:03:ff:12:34:56 keeper=0 "
                                        "start=1", 62, &back), ==, -1);

    /* /proc/PID/stat, with a command name that looks like fields */
    {
        const char *stat = "1234 (a) b ) c) S 1 1 1 0 -1 4194560 1 0 0 0 "
                           "0 0 0 0 20 0 1 0 98765 1000 10";
        g_assert_cmpint(vpc_proc_stat_start(stat, strlen(stat), &start), ==, 0);
        g_assert_cmpuint(start, ==, 98765);
        g_assert_cmpint(vpc_proc_stat_start("1 (x) S 1", 9, &start), ==, -1);
        g_assert_cmpint(vpc_proc_stat_start("no paren", 8, &start), ==, -1);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bridge/helper/acl", test_acl);
    g_test_add_func("/bridge/helper/proto", test_proto);
    g_test_add_func("/bridge/helper/registry", test_registry);
    return g_test_run();
}
