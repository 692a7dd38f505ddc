/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * vpcnet bridge: the helper's access control list (see acl.h).
 */
#include <stdio.h>
#include <string.h>

#include "net/vpcnet/bridge/acl.h"

#define IFNAME_MAX  15

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next word of [*pos, end): its start and length; 0 at the end. */
static size_t next_word(const char *line, size_t end, size_t *pos,
                        const char **word)
{
    size_t start;

    while (*pos < end && is_blank(line[*pos])) {
        (*pos)++;
    }
    start = *pos;
    while (*pos < end && !is_blank(line[*pos])) {
        (*pos)++;
    }
    *word = line + start;
    return *pos - start;
}

static bool word_is(const char *word, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(word, s, n) == 0;
}

/* A name the kernel could give an interface: no '/', ':', NUL, blank. */
static bool valid_ifname(const char *name, size_t n)
{
    size_t i;

    if (n == 0 || n > IFNAME_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f) {
            return false;
        }
    }
    return !(n == 1 && name[0] == '.') &&
           !(n == 2 && name[0] == '.' && name[1] == '.');
}

bool vpc_acl_check(const char *text, size_t len, const char *ifname,
                   VpcAclResult *res)
{
    size_t ifname_len = strlen(ifname);
    unsigned allow_line = 0, deny_line = 0, lineno = 0;
    size_t pos = 0;

    memset(res, 0, sizeof(*res));
    while (pos < len) {
        size_t eol = pos, p;
        const char *verb, *arg, *extra;
        size_t verb_len, arg_len, extra_len;
        bool allow;

        while (eol < len && text[eol] != '\n') {
            eol++;
        }
        lineno++;
        p = pos;
        verb_len = next_word(text, eol, &p, &verb);
        pos = eol + 1;
        if (verb_len == 0 || verb[0] == '#') {
            continue;
        }
        arg_len = next_word(text, eol, &p, &arg);
        extra_len = next_word(text, eol, &p, &extra);
        if (word_is(verb, verb_len, "allow")) {
            allow = true;
        } else if (word_is(verb, verb_len, "deny")) {
            allow = false;
        } else {
            goto bad;
        }
        if (extra_len && extra[0] != '#') {
            goto bad;
        }
        if (!word_is(arg, arg_len, "all") && !valid_ifname(arg, arg_len)) {
            goto bad;
        }
        if (word_is(arg, arg_len, "all") ||
            (arg_len == ifname_len && memcmp(arg, ifname, arg_len) == 0)) {
            if (allow && !allow_line) {
                allow_line = lineno;
            } else if (!allow && !deny_line) {
                deny_line = lineno;
            }
        }
        continue;
bad:
        res->verdict = VPC_ACL_BAD_FILE;
        res->line = lineno;
        snprintf(res->reason, sizeof(res->reason),
                 "line %u is not 'allow IFNAME', 'deny IFNAME', "
                 "'allow all' or 'deny all', so nothing is allowed", lineno);
        return false;
    }
    if (deny_line) {
        res->verdict = VPC_ACL_DENIED;
        res->line = deny_line;
        snprintf(res->reason, sizeof(res->reason),
                 "line %u denies %s", deny_line, ifname);
        return false;
    }
    if (!allow_line) {
        res->verdict = VPC_ACL_NOT_ALLOWED;
        snprintf(res->reason, sizeof(res->reason),
                 "no line allows %s (add 'allow %s')", ifname, ifname);
        return false;
    }
    res->verdict = VPC_ACL_ALLOWED;
    res->line = allow_line;
    snprintf(res->reason, sizeof(res->reason), "line %u allows %s",
             allow_line, ifname);
    return true;
}
