/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the per-adapter registry of guests (see registry.h).
 */
#include <stdio.h>
#include <string.h>

#include "net/vpcnet/bridge/registry.h"
#include "net/vpcnet/macaddr.h"

#define MAGIC "vpcnet-filter-bridge"

int vpc_fb_record_format(const VpcFbRecord *r, char *buf, size_t cap)
{
    char mac[VPC_MAC_STRLEN];
    int n;

    vpc_mac_format(r->mac, mac);
    n = snprintf(buf, cap, MAGIC " v=1 mac=%s keeper=%d start=%llu qemu=%d "
                 "uid=%u tap=%s tap-ifindex=%u mode=%s\n", mac,
                 r->keeper_pid, (unsigned long long)r->keeper_start,
                 r->qemu_pid, r->uid, r->tap[0] ? r->tap : "-", r->tap_ifindex,
                 r->wifi ? "wifi" : "wired");
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 19) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_int(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    return parse_u64(s, n, out) && *out <= max;
}

int vpc_fb_record_parse(const char *buf, size_t len, VpcFbRecord *r)
{
    size_t pos = 0;
    unsigned seen = 0;
    bool first = true;

    memset(r, 0, sizeof(*r));
    if (len > VPC_FB_RECORD_MAX) {
        return -1;
    }
    if (len && buf[len - 1] == '\n') {
        len--;
    }
    while (pos < len) {
        size_t start, key_len, val_len;
        const char *key, *val;
        uint64_t v;

        while (pos < len && buf[pos] == ' ') {
            pos++;
        }
        start = pos;
        while (pos < len && buf[pos] != ' ') {
            if ((unsigned char)buf[pos] < ' ' ||
                (unsigned char)buf[pos] > '~') {
                return -1;
            }
            pos++;
        }
        if (pos == start) {
            break;
        }
        key = buf + start;
        if (first) {
            if (pos - start != strlen(MAGIC) ||
                memcmp(key, MAGIC, pos - start) != 0) {
                return -1;
            }
            first = false;
            continue;
        }
        val = memchr(key, '=', pos - start);
        if (!val) {
            return -1;
        }
        key_len = (size_t)(val - key);
        val++;
        val_len = (size_t)(buf + pos - val);
#define KEY(s) (key_len == strlen(s) && memcmp(key, s, key_len) == 0)
        if (KEY("v")) {
            if (!parse_int(val, val_len, 1, &v) || v != 1) {
                return -1;
            }
            seen |= 1;
        } else if (KEY("mac")) {
            char text[VPC_MAC_STRLEN];

            if (val_len != VPC_MAC_STRLEN - 1) {
                return -1;
            }
            memcpy(text, val, val_len);
            text[val_len] = 0;
            if (vpc_mac_parse(text, r->mac) != 0) {
                return -1;
            }
            seen |= 2;
        } else if (KEY("keeper")) {
            if (!parse_int(val, val_len, 0x7fffffff, &v) || v == 0) {
                return -1;
            }
            r->keeper_pid = (int)v;
            seen |= 4;
        } else if (KEY("start")) {
            if (!parse_u64(val, val_len, &r->keeper_start)) {
                return -1;
            }
            seen |= 8;
        } else if (KEY("qemu")) {
            if (!parse_int(val, val_len, 0x7fffffff, &v)) {
                return -1;
            }
            r->qemu_pid = (int)v;
        } else if (KEY("uid")) {
            if (!parse_int(val, val_len, 0xffffffffu, &v)) {
                return -1;
            }
            r->uid = (unsigned)v;
        } else if (KEY("tap")) {
            if (val_len == 0 || val_len >= sizeof(r->tap)) {
                return -1;
            }
            memcpy(r->tap, val, val_len);
            r->tap[val_len] = 0;
        } else if (KEY("tap-ifindex")) {
            if (!parse_int(val, val_len, 0xffffffffu, &v)) {
                return -1;
            }
            r->tap_ifindex = (uint32_t)v;
        } else if (KEY("mode")) {
            r->wifi = val_len == 4 && memcmp(val, "wifi", 4) == 0;
        }
#undef KEY
    }
    return seen == 15 ? 0 : -1;
}

void vpc_fb_record_name(const uint8_t mac[6], char name[18])
{
    snprintf(name, 18, "%02x-%02x-%02x-%02x-%02x-%02x",
             mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int vpc_fb_record_name_parse(const char *name, uint8_t mac[6])
{
    size_t i;

    /* only our own lower-case, dash-separated form */
    if (strlen(name) != 17) {
        return -1;
    }
    for (i = 0; i < 17; i++) {
        char c = name[i];

        if (i % 3 == 2 ? c != '-' :
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return -1;
        }
    }
    return vpc_mac_parse(name, mac);
}

int vpc_proc_stat_start(const char *stat, size_t len, uint64_t *start)
{
    size_t pos, field, begin;

    /* the last ')' ends the command name, field 2 */
    pos = len;
    while (pos > 0 && stat[pos - 1] != ')') {
        pos--;
    }
    if (pos == 0) {
        return -1;
    }
    field = 2;
    while (pos < len) {
        while (pos < len && stat[pos] == ' ') {
            pos++;
        }
        begin = pos;
        while (pos < len && stat[pos] != ' ' && stat[pos] != '\n') {
            pos++;
        }
        if (pos == begin) {
            break;
        }
        if (++field == 22) {
            return parse_u64(stat + begin, pos - begin, start) ? 0 : -1;
        }
    }
    return -1;
}

VpcFbJudgement vpc_fb_judge(const char *name, const char *text, size_t len,
                            bool (*alive)(int pid, uint64_t start,
                                          void *opaque),
                            void *opaque, VpcFbRecord *rec)
{
    uint8_t mac[6];

    if (vpc_fb_record_name_parse(name, mac) != 0 ||
        vpc_fb_record_parse(text, len, rec) != 0 ||
        !vpc_mac_equal(mac, rec->mac)) {
        return VPC_FB_STALE;
    }
    return alive(rec->keeper_pid, rec->keeper_start, opaque) ?
           VPC_FB_LIVE : VPC_FB_STALE;
}
