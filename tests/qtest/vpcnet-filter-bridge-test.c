/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtest: -netdev filter-bridge's options and their errors.
 *
 * Each case runs QEMU with one -netdev filter-bridge and a dec21140a on
 * it, and expects it to fail, with exit status 1, saying what is wrong:
 * a missing, malformed or unknown adapter, bad values, a helper that
 * cannot run or dies, and the helper's own refusals.  For those the
 * real helper (next to the emulator, as QEMU finds it) runs through a
 * wrapper in a private mount namespace where a test ACL file is overlaid
 * on /etc/qemu/filter-bridge.conf, so the machine's /etc is never read
 * or written: one ACL that does not allow the adapter (a refusal naming
 * the file), one that allows "lo" (which is not Ethernet).  That needs
 * root, as the namespace suites do; the helper is then privileged as if
 * setuid.
 */
#include "qemu/osdep.h"

#include <glib/gstdio.h>

#include "libqtest.h"

#define ACL_PATH "/etc/qemu/filter-bridge.conf"

/* Run QEMU with -netdev @netdev: it must fail with @error on stderr. */
static void expect_bad_netdev(const char *netdev, const char *error)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = {
        "timeout", "60", qemu, "-machine", "pc", "-accel", "qtest",
        "-display", "none", "-nodefaults", "-S",
        "-netdev", netdev, "-device", "dec21140a,netdev=n0", NULL,
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL, *errout = NULL;
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &errout, &status, &err));
    g_assert_no_error(err);
    g_test_message("-netdev %s: %s", netdev, errout);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(errout, error));
}

static void test_help(void)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = { qemu, "-netdev", "help", NULL };
    const char *help_argv[] = { qemu, "-help", NULL };
    g_autofree char *out = NULL, *help = NULL;
    int status;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL,
                               &out, NULL, &status, NULL));
    g_assert_nonnull(strstr(out, "filter-bridge"));
    g_assert_true(g_spawn_sync(NULL, (char **)help_argv, NULL, 0, NULL, NULL,
                               &help, NULL, &status, NULL));
    g_assert_nonnull(strstr(help, "-netdev filter-bridge,id=str,ifname=name"));
    g_assert_nonnull(strstr(help, ACL_PATH));
}

static void test_bad_options(void)
{
    expect_bad_netdev("filter-bridge,id=n0", "Parameter 'ifname' is missing");
    expect_bad_netdev("filter-bridge,id=n0,ifname=",
                      "ifname '' is not an interface name");
    expect_bad_netdev("filter-bridge,id=n0,ifname=0123456789abcdef",
                      "is not an interface name (1 to 15 characters");
    expect_bad_netdev("filter-bridge,id=n0,ifname=a/b",
                      "ifname 'a/b' is not an interface name");
    expect_bad_netdev("filter-bridge,id=n0,ifname=vpcnet-nosuch",
                      "there is no host adapter 'vpcnet-nosuch'");
    expect_bad_netdev("filter-bridge,id=n0,ifname=lo,wifi=maybe",
                      "Parameter 'wifi' does not accept value 'maybe'");
    expect_bad_netdev("filter-bridge,id=n0,ifname=lo,mac-spoof=maybe",
                      "Parameter 'mac-spoof' expects 'on' or 'off'");
    expect_bad_netdev("filter-bridge,id=n0,ifname=lo,helper=",
                      "helper may not be empty");
    expect_bad_netdev("filter-bridge,id=n0,ifname=lo,"
                      "helper=/nonexistent/qemu-filter-bridge-helper",
                      "cannot run the helper "
                      "/nonexistent/qemu-filter-bridge-helper");
    expect_bad_netdev("filter-bridge,id=n0,ifname=lo,helper=/bin/false",
                      "the helper exited without sending READY");
}

/*
 * A directory with a wrapper that runs the real helper with @acl as its
 * ACL file.  Returns the directory; *@wrapper is the script.
 */
static char *make_acl_wrapper(const char *acl, char **wrapper)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *qemu_dir = g_path_get_dirname(qemu);
    g_autofree char *helper = g_build_filename(qemu_dir,
                                               "qemu-filter-bridge-helper",
                                               NULL);
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("vpcnet-fb-qtest-XXXXXX", &err);
    g_autofree char *qdir = NULL, *acl_file = NULL, *script = NULL;

    g_assert_no_error(err);
    g_assert_true(g_file_test(helper, G_FILE_TEST_IS_EXECUTABLE));
    qdir = g_build_filename(dir, "etc", "qemu", NULL);
    g_assert_cmpint(g_mkdir_with_parents(qdir, 0755), ==, 0);
    acl_file = g_build_filename(qdir, "filter-bridge.conf", NULL);
    g_assert_true(g_file_set_contents(acl_file, acl, -1, NULL));
    g_assert_cmpint(chmod(acl_file, 0644), ==, 0);
    *wrapper = g_build_filename(dir, "helper", NULL);
    script = g_strdup_printf(
        "#!/bin/sh\n"
        "exec unshare --mount --propagation private -- sh -c "
        "'mount -t overlay vpcnet-acl -o lowerdir=%s/etc:/etc /etc && "
        "exec \"$0\" \"$@\"' %s \"$@\"\n", dir, helper);
    g_assert_true(g_file_set_contents(*wrapper, script, -1, NULL));
    g_assert_cmpint(chmod(*wrapper, 0755), ==, 0);
    return dir;
}

static void remove_acl_wrapper(char *dir, char *wrapper)
{
    g_autofree char *acl_file = g_build_filename(dir, "etc", "qemu",
                                                 "filter-bridge.conf", NULL);
    g_autofree char *qdir = g_build_filename(dir, "etc", "qemu", NULL);
    g_autofree char *etc = g_build_filename(dir, "etc", NULL);

    g_unlink(acl_file);
    g_rmdir(qdir);
    g_rmdir(etc);
    g_unlink(wrapper);
    g_rmdir(dir);
    g_free(wrapper);
    g_free(dir);
}

static void test_helper_refusals(void)
{
    char *wrapper;
    char *dir;
    g_autofree char *netdev = NULL;

    if (geteuid() != 0) {
        g_test_fail_printf("the helper's refusals need root (for the mount "
                           "namespace with the test ACL)");
        return;
    }
    dir = make_acl_wrapper("# only eth9 may be bridged\nallow eth9\n",
                           &wrapper);
    netdev = g_strdup_printf("filter-bridge,id=n0,ifname=lo,helper=%s",
                             wrapper);
    expect_bad_netdev(netdev, "access to host adapter lo refused by the ACL "
                      "file " ACL_PATH ": no line allows lo (add 'allow lo')");
    remove_acl_wrapper(dir, wrapper);

    dir = make_acl_wrapper("allow all\ndeny lo\n", &wrapper);
    g_free(netdev);
    netdev = g_strdup_printf("filter-bridge,id=n0,ifname=lo,helper=%s",
                             wrapper);
    expect_bad_netdev(netdev, "refused by the ACL file " ACL_PATH
                      ": line 2 denies lo");
    remove_acl_wrapper(dir, wrapper);

    dir = make_acl_wrapper("allow lo\n", &wrapper);
    g_free(netdev);
    netdev = g_strdup_printf("filter-bridge,id=n0,ifname=lo,helper=%s",
                             wrapper);
    expect_bad_netdev(netdev, "host adapter lo is not an Ethernet or Wi-Fi "
                      "adapter");
    remove_acl_wrapper(dir, wrapper);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/filter-bridge/help", test_help);
    qtest_add_func("/filter-bridge/bad-options", test_bad_options);
    qtest_add_func("/filter-bridge/helper-refusals", test_helper_refusals);
    return g_test_run();
}
