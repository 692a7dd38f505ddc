/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: messages between QEMU and the helper (see
 * helper-proto.h).
 */
#include <stdio.h>
#include <string.h>

#include "net/vpcnet/bridge/helper-proto.h"
#include "net/vpcnet/macaddr.h"

/* Keys of READY, set in a bit mask as they are seen. */
enum {
    K_VERSION = 1 << 0,
    K_TAP = 1 << 1,
    K_TAP_IFINDEX = 1 << 2,
    K_ADAPTER_IFINDEX = 1 << 3,
    K_ADAPTER_MAC = 1 << 4,
    K_MODE = 1 << 5,
    K_MAC = 1 << 6,
};
#define READY_KEYS  (K_VERSION | K_TAP | K_TAP_IFINDEX | K_ADAPTER_IFINDEX | \
                     K_ADAPTER_MAC | K_MODE)

int vpc_fbh_format(const VpcFbhMsg *m, char *buf, size_t cap)
{
    char mac[VPC_MAC_STRLEN];
    int n;

    switch (m->type) {
    case VPC_FBH_READY:
        vpc_mac_format(m->adapter_mac, mac);
        n = snprintf(buf, cap, "READY v=%d tap=%s tap-ifindex=%u "
                     "adapter-ifindex=%u adapter-mac=%s mode=%s\n",
                     VPC_FBH_VERSION, m->tap, m->tap_ifindex,
                     m->adapter_ifindex, mac, m->wifi ? "wifi" : "wired");
        break;
    case VPC_FBH_ATTACH:
        vpc_mac_format(m->mac, mac);
        n = snprintf(buf, cap, "ATTACH mac=%s\n", mac);
        break;
    case VPC_FBH_ATTACHED:
        n = snprintf(buf, cap, "ATTACHED\n");
        break;
    case VPC_FBH_ERROR:
        n = snprintf(buf, cap, "ERROR %s\n", m->text);
        break;
    default:
        return -1;
    }
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int fail(char *why, size_t why_len, const char *text)
{
    snprintf(why, why_len, "%s", text);
    return -1;
}

/* A decimal number of 1 to 10 digits that fits 32 bits. */
static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 10) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool parse_mac(const char *s, size_t n, uint8_t mac[6])
{
    char text[VPC_MAC_STRLEN];

    if (n != VPC_MAC_STRLEN - 1) {
        return false;
    }
    memcpy(text, s, n);
    text[n] = 0;
    return vpc_mac_parse(text, mac) == 0;
}

static bool key_is(const char *key, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(key, s, n) == 0;
}

int vpc_fbh_parse(const char *buf, size_t len, VpcFbhMsg *m, char *why,
                  size_t why_len)
{
    size_t pos = 0, verb_len, i;
    unsigned seen = 0, want;

    memset(m, 0, sizeof(*m));
    if (len > VPC_FBH_MSG_MAX) {
        return fail(why, why_len, "message too long");
    }
    if (len && buf[len - 1] == '\n') {
        len--;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c < ' ' || c > '~') {
            return fail(why, why_len, "control or non-ASCII byte");
        }
    }
    while (pos < len && buf[pos] != ' ') {
        pos++;
    }
    verb_len = pos;
    if (key_is(buf, verb_len, "ERROR")) {
        size_t n = len > verb_len ? len - verb_len - 1 : 0;

        m->type = VPC_FBH_ERROR;
        if (n >= sizeof(m->text)) {
            n = sizeof(m->text) - 1;
        }
        memcpy(m->text, buf + len - n, n);
        m->text[n] = 0;
        if (n == 0) {
            snprintf(m->text, sizeof(m->text), "unspecified error");
        }
        return 0;
    } else if (key_is(buf, verb_len, "READY")) {
        m->type = VPC_FBH_READY;
        want = READY_KEYS;
    } else if (key_is(buf, verb_len, "ATTACH")) {
        m->type = VPC_FBH_ATTACH;
        want = K_MAC;
    } else if (key_is(buf, verb_len, "ATTACHED")) {
        m->type = VPC_FBH_ATTACHED;
        want = 0;
    } else {
        return fail(why, why_len, "unknown message");
    }

    while (pos < len) {
        const char *key, *val;
        size_t key_len, val_len, start;
        uint32_t v;

        while (pos < len && buf[pos] == ' ') {
            pos++;
        }
        start = pos;
        while (pos < len && buf[pos] != ' ') {
            pos++;
        }
        if (pos == start) {
            break;
        }
        key = buf + start;
        val = memchr(key, '=', pos - start);
        if (!val) {
            return fail(why, why_len, "a word without '='");
        }
        key_len = (size_t)(val - key);
        val++;
        val_len = (size_t)(buf + pos - val);

        if (key_is(key, key_len, "v")) {
            if (!parse_u32(val, val_len, &v) || v != VPC_FBH_VERSION) {
                return fail(why, why_len, "protocol version mismatch");
            }
            seen |= K_VERSION;
        } else if (key_is(key, key_len, "tap")) {
            if (val_len == 0 || val_len >= sizeof(m->tap)) {
                return fail(why, why_len, "bad tap name");
            }
            memcpy(m->tap, val, val_len);
            m->tap[val_len] = 0;
            seen |= K_TAP;
        } else if (key_is(key, key_len, "tap-ifindex")) {
            if (!parse_u32(val, val_len, &m->tap_ifindex) ||
                !m->tap_ifindex) {
                return fail(why, why_len, "bad tap-ifindex");
            }
            seen |= K_TAP_IFINDEX;
        } else if (key_is(key, key_len, "adapter-ifindex")) {
            if (!parse_u32(val, val_len, &m->adapter_ifindex) ||
                !m->adapter_ifindex) {
                return fail(why, why_len, "bad adapter-ifindex");
            }
            seen |= K_ADAPTER_IFINDEX;
        } else if (key_is(key, key_len, "adapter-mac")) {
            if (!parse_mac(val, val_len, m->adapter_mac)) {
                return fail(why, why_len, "bad adapter-mac");
            }
            seen |= K_ADAPTER_MAC;
        } else if (key_is(key, key_len, "mode")) {
            if (key_is(val, val_len, "wifi")) {
                m->wifi = true;
            } else if (!key_is(val, val_len, "wired")) {
                return fail(why, why_len, "bad mode");
            }
            seen |= K_MODE;
        } else if (key_is(key, key_len, "mac")) {
            if (!parse_mac(val, val_len, m->mac)) {
                return fail(why, why_len, "bad mac");
            }
            seen |= K_MAC;
        }
        /* other keys: from a newer peer, ignored */
    }
    if ((seen & want) != want) {
        return fail(why, why_len, "a required key is missing");
    }
    return 0;
}
