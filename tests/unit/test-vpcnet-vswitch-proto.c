/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the port protocol's encoders and decoders
 * (net/vpcnet/vswitch-proto.[ch]): the batching flags, and FRAMES
 * payloads built into a buffer or as iovecs, read back, and malformed
 * in every way the decoder tells apart.
 */
#include <glib.h>
#include <string.h>

#include "net/vpcnet/vswitch-proto.h"

/* A frame of @len bytes whose bytes say which frame (@tag) it is. */
static void fill_frame(uint8_t *frame, size_t len, unsigned tag)
{
    for (size_t i = 0; i < len; i++) {
        frame[i] = (uint8_t)(tag * 31 + i);
    }
}

/* Decode @payload to the end; returns the frames seen, asserts on errors. */
static unsigned count_frames(const uint8_t *payload, size_t len)
{
    const uint8_t *frame;
    size_t off = 0, flen;
    unsigned n = 0;
    int ret;

    while ((ret = vsw_frames_next(payload, len, &off, &frame, &flen)) > 0) {
        g_assert_true(frame >= payload && frame + flen <= payload + len);
        n++;
    }
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(off, ==, len);
    return n;
}

static void test_hello_batch_flag(void)
{
    VswHello in = {
        .version = VSW_VERSION,
        .flags = VSW_HELLO_BATCH | VSW_HELLO_DUP_WARN,
        .label = "vm/net0",
    };
    VswHello out;
    uint8_t wire[VSW_HELLO_LEN];

    vsw_hello_encode(&in, wire);
    /* flags: little-endian at offset 6 */
    g_assert_cmpuint(wire[6], ==, (1 << 2) | (1 << 1));
    g_assert_cmpuint(wire[7], ==, 0);
    g_assert_true(vsw_hello_decode(wire, sizeof(wire), &out));
    g_assert_cmpuint(out.flags, ==, VSW_HELLO_BATCH | VSW_HELLO_DUP_WARN);
}

static void test_welcome_batch_flag(void)
{
    uint8_t wire[VSW_WELCOME_LEN];
    VswReply r;

    vsw_welcome_encode(VSW_STATUS_JOINED, VSW_WELCOME_BATCH, 7, wire);
    g_assert_cmpuint(wire[2], ==, 1 << 1);
    g_assert_true(vsw_welcome_decode(wire, sizeof(wire), &r));
    g_assert_cmpuint(r.flags, ==, VSW_WELCOME_BATCH);
    g_assert_cmpuint(r.port_id, ==, 7);
    g_assert_cmpuint(r.text_len, ==, 0);
}

/* Frames of every legal size go in and come back, in order. */
static void test_frames_round_trip(void)
{
    static const size_t sizes[] = {
        VSW_FRAME_MIN, 60, 64, 1514, VSW_FRAME_MAX, VSW_FRAME_MIN + 1,
    };
    static uint8_t payload[VSW_PAYLOAD_MAX];
    uint8_t frame[VSW_FRAME_MAX], expect[VSW_FRAME_MAX];
    const uint8_t *got;
    size_t len = 0, off = 0, flen;
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        fill_frame(frame, sizes[i], i);
        g_assert_true(vsw_frames_append(payload, sizeof(payload), &len,
                                        frame, sizes[i]));
    }
    /* The first record's prefix: little-endian 14. */
    g_assert_cmpuint(payload[0], ==, VSW_FRAME_MIN);
    g_assert_cmpuint(payload[1], ==, 0);
    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen),
                        ==, 1);
        g_assert_cmpuint(flen, ==, sizes[i]);
        fill_frame(expect, sizes[i], i);
        g_assert_cmpmem(got, flen, expect, sizes[i]);
    }
    g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen), ==, 0);
    g_assert_cmpuint(off, ==, len);
    /* The end stays the end. */
    g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen), ==, 0);
}

/* vsw_frames_reserve() stops at VSW_PAYLOAD_MAX and at the buffer's end. */
static void test_frames_reserve_limits(void)
{
    static uint8_t payload[VSW_PAYLOAD_MAX + 100];
    uint8_t frame[64] = { 0 };
    size_t len = 0, before;
    unsigned n = 0;
    uint8_t *dst;

    while (vsw_frames_append(payload, sizeof(payload), &len, frame,
                             sizeof(frame))) {
        n++;
    }
    g_assert_cmpuint(n, ==, VSW_PAYLOAD_MAX / 66);
    g_assert_cmpuint(len, ==, n * 66);
    g_assert_cmpuint(count_frames(payload, len), ==, n);

    /* What is left still takes a smaller frame, up to exactly 65535. */
    before = len;
    dst = vsw_frames_reserve(payload, sizeof(payload), &len,
                             VSW_PAYLOAD_MAX - before - 2);
    g_assert_nonnull(dst);
    g_assert_true(dst == payload + before + 2);
    g_assert_cmpuint(len, ==, VSW_PAYLOAD_MAX);
    memset(dst, 0, VSW_PAYLOAD_MAX - before - 2);
    g_assert_cmpuint(count_frames(payload, len), ==, n + 1);
    g_assert_null(vsw_frames_reserve(payload, sizeof(payload), &len,
                                     VSW_FRAME_MIN));
    g_assert_cmpuint(len, ==, VSW_PAYLOAD_MAX);

    /* A small buffer: the record must fit in it, prefix included. */
    len = 0;
    g_assert_null(vsw_frames_reserve(payload, 15, &len, VSW_FRAME_MIN));
    g_assert_cmpuint(len, ==, 0);
    g_assert_nonnull(vsw_frames_reserve(payload, 16, &len, VSW_FRAME_MIN));
    g_assert_cmpuint(len, ==, 16);
    /* A length already past the buffer is refused, not wrapped. */
    len = 20;
    g_assert_null(vsw_frames_reserve(payload, 16, &len, VSW_FRAME_MIN));
    g_assert_cmpuint(len, ==, 20);
}

/* Frames outside the limits are never encoded. */
static void test_frames_reserve_bad_length(void)
{
    static const size_t bad[] = { 0, 1, VSW_FRAME_MIN - 1, VSW_FRAME_MAX + 1,
                                  65535 };
    uint8_t payload[64];
    size_t len = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(vsw_frames_reserve(payload, sizeof(payload), &len,
                                         bad[i]));
        g_assert_cmpuint(len, ==, 0);
    }
}

/**
 * BadCase - a malformed payload and what the decoder must say.
 * @name: what is wrong.
 * @good: well-formed 60-byte records in front of the bad part.
 * @tail: the bad part's bytes, @tail_len of them (then zeros up to
 *        @pad bytes in all).
 * @tail_len: how many.
 * @pad: bytes of the bad part in all.
 * @err: the error expected.
 * @flen: the frame length the error reports.
 */
typedef struct BadCase {
    const char *name;
    unsigned good;
    uint8_t tail[4];
    size_t tail_len;
    size_t pad;
    int err;
    size_t flen;
} BadCase;

static const BadCase bad_cases[] = {
    { "empty payload", 0, { 0 }, 0, 0, VSW_FRAMES_EMPTY, 0 },
    { "zero-length record", 0, { 0, 0 }, 2, 2, VSW_FRAMES_ZERO_LENGTH, 0 },
    { "zero-length record after a good one", 1, { 0, 0 }, 2, 2,
      VSW_FRAMES_ZERO_LENGTH, 0 },
    { "zero-length record with bytes behind it", 0, { 0, 0 }, 2, 20,
      VSW_FRAMES_ZERO_LENGTH, 0 },
    { "length 13", 0, { 13, 0 }, 2, 15, VSW_FRAMES_RUNT, 13 },
    { "length 1 after two good ones", 2, { 1, 0 }, 2, 3, VSW_FRAMES_RUNT, 1 },
    { "length 9019", 0, { 0x3b, 0x23 }, 2, 9021, VSW_FRAMES_GIANT, 9019 },
    { "length 65535", 1, { 0xff, 0xff }, 2, 100, VSW_FRAMES_GIANT, 65535 },
    { "record past the end", 0, { 60, 0 }, 2, 61, VSW_FRAMES_TRUNCATED, 60 },
    { "record past the end by a lot", 1, { 0x3a, 0x23 }, 2, 100,
      VSW_FRAMES_TRUNCATED, 9018 },
    { "prefix only", 1, { 14, 0 }, 2, 2, VSW_FRAMES_TRUNCATED, 14 },
    { "trailing byte", 1, { 0 }, 1, 1, VSW_FRAMES_TRAILING_BYTE, 0 },
    { "a lone byte", 0, { 60 }, 1, 1, VSW_FRAMES_TRAILING_BYTE, 0 },
};

static void test_frames_malformed(gconstpointer opaque)
{
    const BadCase *bc = opaque;
    static uint8_t payload[VSW_PAYLOAD_MAX];
    uint8_t frame[60];
    const uint8_t *got = NULL;
    size_t len = 0, off = 0, flen, bad_at;
    unsigned i;
    int ret;

    memset(payload, 0, sizeof(payload));
    for (i = 0; i < bc->good; i++) {
        fill_frame(frame, sizeof(frame), i);
        g_assert_true(vsw_frames_append(payload, sizeof(payload), &len,
                                        frame, sizeof(frame)));
    }
    bad_at = len;
    memcpy(payload + len, bc->tail, bc->tail_len);
    len += bc->pad;

    for (i = 0; i < bc->good; i++) {
        g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen),
                        ==, 1);
        g_assert_cmpuint(flen, ==, 60);
    }
    got = NULL;
    ret = vsw_frames_next(payload, len, &off, &got, &flen);
    g_assert_cmpint(ret, ==, bc->err);
    g_assert_cmpuint(off, ==, bad_at);
    g_assert_cmpuint(flen, ==, bc->flen);
    g_assert_null(got);
    g_assert_nonnull(vsw_frames_strerror(ret));
    /* Asking again gives the same answer: nothing moved. */
    g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen), ==,
                    bc->err);
    g_assert_cmpuint(off, ==, bad_at);
}

static void test_frames_bad_args(void)
{
    static uint8_t payload[VSW_PAYLOAD_MAX + 1];
    const uint8_t *got;
    size_t off = 0, flen, len = 0;
    uint8_t frame[VSW_FRAME_MIN] = { 0 };

    g_assert_true(vsw_frames_append(payload, sizeof(payload), &len, frame,
                                    sizeof(frame)));
    /* More than a message can carry. */
    g_assert_cmpint(vsw_frames_next(payload, VSW_PAYLOAD_MAX + 1, &off, &got,
                                    &flen), ==, VSW_FRAMES_TOO_BIG);
    /* An offset past the end is the caller's bug, reported, not read. */
    off = len + 1;
    g_assert_cmpint(vsw_frames_next(payload, len, &off, &got, &flen), ==,
                    VSW_FRAMES_BAD_OFFSET);
    g_assert_cmpuint(off, ==, len + 1);
}

/* Every error has its own description. */
static void test_frames_strerror(void)
{
    static const int errs[] = {
        VSW_FRAMES_EMPTY, VSW_FRAMES_TOO_BIG, VSW_FRAMES_TRAILING_BYTE,
        VSW_FRAMES_ZERO_LENGTH, VSW_FRAMES_RUNT, VSW_FRAMES_GIANT,
        VSW_FRAMES_TRUNCATED, VSW_FRAMES_BAD_OFFSET,
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(errs); i++) {
        const char *a = vsw_frames_strerror(errs[i]);

        g_assert_nonnull(a);
        g_assert_cmpstr(a, !=, vsw_frames_strerror(-100));
        for (unsigned j = 0; j < i; j++) {
            g_assert_cmpstr(a, !=, vsw_frames_strerror(errs[j]));
        }
    }
}

/* Concatenate @m's iovecs into @out; returns the bytes. */
static size_t flatten(const VswFramesIov *m, uint8_t *out, size_t size)
{
    size_t n = 0;

    for (size_t i = 0; i < m->iovcnt; i++) {
        g_assert_cmpuint(n + m->iov[i].iov_len, <=, size);
        memcpy(out + n, m->iov[i].iov_base, m->iov[i].iov_len);
        n += m->iov[i].iov_len;
    }
    return n;
}

/* The iovec builder gives the same bytes as the buffer encoder. */
static void test_frames_iov_same_bytes(void)
{
    static const size_t sizes[] = { 60, 14, 1514, 9018, 64 };
    static uint8_t frames[G_N_ELEMENTS(sizes)][VSW_FRAME_MAX];
    static uint8_t flat[VSW_MSG_MAX], built[VSW_MSG_MAX];
    uint8_t hdr[VSW_HDR_LEN];
    uint8_t prefix[8][VSW_FRAMES_PREFIX_LEN];
    struct iovec iov[1 + 2 * 8];
    VswFramesIov m;
    size_t len = 0, n;
    uint8_t type;
    size_t plen;

    vsw_frames_iov_init(&m, hdr, iov, G_N_ELEMENTS(iov), prefix, 8);
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        fill_frame(frames[i], sizes[i], i + 5);
        g_assert_cmpint(vsw_frames_iov_add(&m, frames[i], sizes[i]), ==, 1);
        g_assert_true(vsw_frames_append(built + VSW_HDR_LEN,
                                        sizeof(built) - VSW_HDR_LEN, &len,
                                        frames[i], sizes[i]));
        /* Frames are pointed at, not copied. */
        g_assert_true(m.iov[m.iovcnt - 1].iov_base == frames[i]);
    }
    vsw_frames_iov_finish(&m);
    g_assert_cmpuint(m.frames, ==, G_N_ELEMENTS(sizes));
    g_assert_cmpuint(m.iovcnt, ==, 1 + 2 * G_N_ELEMENTS(sizes));
    g_assert_cmpuint(m.payload_len, ==, len);
    vsw_header_put(built, VSW_MSG_FRAMES, len);

    n = flatten(&m, flat, sizeof(flat));
    g_assert_cmpmem(flat, n, built, VSW_HDR_LEN + len);
    g_assert_true(vsw_header_get(flat, n, &type, &plen));
    g_assert_cmpuint(type, ==, VSW_MSG_FRAMES);
    g_assert_cmpuint(count_frames(flat + VSW_HDR_LEN, plen), ==,
                     G_N_ELEMENTS(sizes));
}

/* A message is full at 65535 payload bytes, or out of iovecs or prefixes. */
static void test_frames_iov_full(void)
{
    static struct iovec iov[2048];
    static uint8_t prefix[1024][VSW_FRAMES_PREFIX_LEN];
    static uint8_t flat[VSW_MSG_MAX];
    uint8_t hdr[VSW_HDR_LEN];
    uint8_t frame[VSW_FRAME_MAX] = { 0 };
    VswFramesIov m;
    unsigned n = 0;
    int ret;

    vsw_frames_iov_init(&m, hdr, iov, G_N_ELEMENTS(iov), prefix,
                        G_N_ELEMENTS(prefix));
    while ((ret = vsw_frames_iov_add(&m, frame, 64)) == 1) {
        n++;
    }
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(n, ==, VSW_PAYLOAD_MAX / 66);
    /* A smaller frame still fits the rest. */
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, VSW_PAYLOAD_MAX -
                                       m.payload_len - 2), ==, 1);
    g_assert_cmpuint(m.payload_len, ==, VSW_PAYLOAD_MAX);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, VSW_FRAME_MIN), ==, 0);
    vsw_frames_iov_finish(&m);
    g_assert_cmpuint(flatten(&m, flat, sizeof(flat)), ==, VSW_MSG_MAX);
    g_assert_cmpuint(count_frames(flat + VSW_HDR_LEN, VSW_PAYLOAD_MAX), ==,
                     n + 1);

    /* Five iovecs: the header and two frames. */
    vsw_frames_iov_init(&m, hdr, iov, 5, prefix, G_N_ELEMENTS(prefix));
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 1);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 1);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 0);
    g_assert_cmpuint(m.frames, ==, 2);

    /* Three prefixes: three frames. */
    vsw_frames_iov_init(&m, hdr, iov, G_N_ELEMENTS(iov), prefix, 3);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 1);
    }
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 0);

    /* Bad lengths are told apart from a full message. */
    vsw_frames_iov_init(&m, hdr, iov, G_N_ELEMENTS(iov), prefix, 3);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 0), ==, VSW_FRAMES_RUNT);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, VSW_FRAME_MIN - 1), ==,
                    VSW_FRAMES_RUNT);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, VSW_FRAME_MAX + 1), ==,
                    VSW_FRAMES_GIANT);
    g_assert_cmpuint(m.frames, ==, 0);
    g_assert_cmpuint(m.iovcnt, ==, 1);

    /* No room even for the header. */
    vsw_frames_iov_init(&m, hdr, iov, 0, prefix, 3);
    g_assert_cmpint(vsw_frames_iov_add(&m, frame, 60), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vpcnet/vswitch-proto/hello-batch-flag",
                    test_hello_batch_flag);
    g_test_add_func("/vpcnet/vswitch-proto/welcome-batch-flag",
                    test_welcome_batch_flag);
    g_test_add_func("/vpcnet/vswitch-proto/frames/round-trip",
                    test_frames_round_trip);
    g_test_add_func("/vpcnet/vswitch-proto/frames/reserve-limits",
                    test_frames_reserve_limits);
    g_test_add_func("/vpcnet/vswitch-proto/frames/reserve-bad-length",
                    test_frames_reserve_bad_length);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/vpcnet/vswitch-proto/frames/malformed/%s",
                            bad_cases[i].name);

        g_strdelimit(path + strlen("/vpcnet/vswitch-proto/frames/"
                                   "malformed/"), " ", '-');
        g_test_add_data_func(path, &bad_cases[i], test_frames_malformed);
    }
    g_test_add_func("/vpcnet/vswitch-proto/frames/bad-args",
                    test_frames_bad_args);
    g_test_add_func("/vpcnet/vswitch-proto/frames/strerror",
                    test_frames_strerror);
    g_test_add_func("/vpcnet/vswitch-proto/frames/iov-same-bytes",
                    test_frames_iov_same_bytes);
    g_test_add_func("/vpcnet/vswitch-proto/frames/iov-full",
                    test_frames_iov_full);
    return g_test_run();
}
