/*
 * test_msgset.c: magic-0/1 message sets and the any-magic records reader.
 * The golden messages (including a gzip wrapper) were assembled in Python
 * from docs/implementation.html with zlib's CRC-32 and gzip module, not
 * with the library; the rest are built by a small writer below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "common/alloc.h"
#include "proto/msgset.h"

#define MiB ((size_t)1 << 20)

/* offset 7, magic 0, no attributes, key "key", value "hello" */
static const uint8_t golden_v0[34] = {
    0,    0,    0,    0,    0,   0,   0,   7, /* offset */
    0,    0,    0,    0x16,                   /* size 22 */
    0x08, 0x31, 0x3f, 0x85,                   /* crc32 of the rest */
    0,    0,                                  /* magic, attributes */
    0,    0,    0,    3,    'k', 'e', 'y',    /* key */
    0,    0,    0,    5,    'h', 'e', 'l', 'l', 'o'};

/* offset 8, magic 1, timestamp 1600000000123, null key, value "world" */
static const uint8_t golden_v1[39] = {
    0,    0,    0,    0,    0,    0,    0,    8,    0,
    0,    0,    0x1b, 0xc8, 0xef, 0x77, 0x8a, 1,    0,
    0,    0,    0x01, 0x74, 0x87, 0x6e, 0x80, 0x7b, /* timestamp */
    0xff, 0xff, 0xff, 0xff,                         /* null key */
    0,    0,    0,    5,    'w',  'o',  'r',  'l',  'd'};

/* A magic-1 gzip wrapper at offset 102, timestamp 1005, holding three
 * messages with relative offsets 0-2 and timestamps 1000-1002: ("a",
 * "one"), (null, "two"), ("c", null). */
static const uint8_t golden_gzip[113] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x66, 0x00, 0x00, 0x00, 0x65,
    0x23, 0x98, 0x10, 0x06, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0xed, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x4f, 0x1f, 0x8b,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x80, 0x03,
    0xa9, 0xd5, 0x11, 0x33, 0xb6, 0x30, 0x42, 0x39, 0xcc, 0x2f, 0x80, 0x04,
    0x63, 0x22, 0x88, 0x95, 0x9f, 0x97, 0x0a, 0x15, 0x04, 0x49, 0x4a, 0xde,
    0xcb, 0x5b, 0xa8, 0x0d, 0x57, 0xf5, 0xf2, 0x3f, 0x10, 0x80, 0x18, 0x25,
    0xe5, 0xf9, 0x50, 0x31, 0x26, 0x20, 0x16, 0xaf, 0xdf, 0xeb, 0x13, 0x0a,
    0x57, 0xf4, 0x0a, 0xa4, 0x35, 0x19, 0xa4, 0x12, 0x00, 0x26, 0x06, 0xf5,
    0x21, 0x6e, 0x00, 0x00, 0x00};

static uint64_t rng = 0xda3e39cb94b95bdbull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool bytes_eq(const uint8_t *p, int32_t len, const char *want)
{
    if (!want)
        return len == -1 && p == NULL;
    return len == (int32_t)strlen(want) && !memcmp(p, want, (size_t)len);
}

START_TEST(golden_messages)
{
    kfk__msg m;
    kfk__msgset_iter it;
    kfk__record r;

    ck_assert_int_eq(kfk__msg_parse(golden_v0, 34, true, &m), 0);
    ck_assert(m.offset == 7 && m.size == 22 && m.crc == 0x08313f85u);
    ck_assert(m.magic == 0 && m.attributes == 0 && m.timestamp == -1);
    ck_assert(bytes_eq(m.key, m.key_len, "key"));
    ck_assert(bytes_eq(m.value, m.value_len, "hello"));
    ck_assert_uint_eq(m.total, 34);
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, golden_v0, 34, true, NULL, NULL, 0), 0);
    ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 1);
    ck_assert(r.offset == 7 && r.timestamp == -1 && r.header_count == 0);
    ck_assert(bytes_eq(r.value, r.value_len, "hello"));
    ck_assert_ptr_eq(r.value, golden_v0 + 29); /* a view */
    ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 0);

    ck_assert_int_eq(kfk__msg_parse(golden_v1, 39, true, &m), 0);
    ck_assert(m.offset == 8 && m.magic == 1 && m.timestamp == 1600000000123);
    ck_assert(bytes_eq(m.key, m.key_len, NULL));
    ck_assert(bytes_eq(m.value, m.value_len, "world"));
}
END_TEST

static void check_golden_gzip(const uint8_t *p, size_t len, bool log_append)
{
    static const char *keys[] = {"a", NULL, "c"},
                      *values[] = {"one", "two", NULL};
    kfk__msgset_iter it;
    kfk__record r;
    kfk__wbuf buf;
    kfk__wbuf_init(&buf, 0);
    ck_assert_int_eq(kfk__msgset_iter_init(&it, p, len, true, NULL, &buf, MiB),
                     0);
    ck_assert(it.count == 3 && it.first_offset == 100 && it.last_offset == 102);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 1);
        ck_assert_int_eq(r.offset, 100 + i);
        ck_assert_int_eq(r.timestamp, log_append ? 1005 : 1000 + i);
        ck_assert(bytes_eq(r.key, r.key_len, keys[i]));
        ck_assert(bytes_eq(r.value, r.value_len, values[i]));
    }
    ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 0);
    kfk__wbuf_free(&buf);
}

START_TEST(golden_wrapper)
{
    uint8_t p[113];
    check_golden_gzip(golden_gzip, sizeof(golden_gzip), false);
    /* with the log-append-time bit the wrapper's timestamp wins */
    memcpy(p, golden_gzip, sizeof(p));
    p[17] |= KFK__MSG_ATTR_LOG_APPEND_TIME;
    kfk__store_be32(p + 12, (uint32_t)crc32(0, p + 16, sizeof(p) - 16));
    check_golden_gzip(p, sizeof(p), true);
}
END_TEST

/* ---- a small writer for the rest -------------------------------------- */

static void put_msg(kfk__wbuf *w, int64_t offset, int magic, int attr,
                    int64_t ts, const char *key, const void *val, int32_t vlen)
{
    size_t start = w->len;
    kfk__wr_i64(w, offset);
    kfk__wr_i32(w, 0); /* size, patched below */
    kfk__wr_i32(w, 0); /* crc, likewise */
    kfk__wr_i8(w, (int8_t)magic);
    kfk__wr_i8(w, (int8_t)attr);
    if (magic == 1)
        kfk__wr_i64(w, ts);
    kfk__wr_i32(w, key ? (int32_t)strlen(key) : -1);
    if (key)
        kfk__wr_raw(w, key, strlen(key));
    kfk__wr_i32(w, vlen);
    if (vlen > 0)
        kfk__wr_raw(w, val, (size_t)vlen);
    uint8_t *p = w->data + start;
    size_t n = w->len - start;
    kfk__store_be32(p + 8, (uint32_t)(n - 12));
    kfk__store_be32(p + 12, (uint32_t)crc32(0, p + 16, (uInt)(n - 16)));
}

/* n inner messages of the given magic; offsets first.. (relative in magic
 * 1 by convention, absolute in magic 0). */
static void put_inner(kfk__wbuf *w, int magic, int64_t first, int n)
{
    char key[16], val[64];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        int vl = snprintf(val, sizeof(val), "value number %d", i);
        put_msg(w, first + i, magic, 0, 5000 + i, key, val, vl);
    }
}

/* A wrapper holding the inner set, compressed with codec. */
static void put_wrapper(kfk__wbuf *w, int64_t offset, int magic, int codec,
                        const kfk__wbuf *inner)
{
    kfk__wbuf c;
    kfk__wbuf_init(&c, 0);
    ck_assert_int_eq(
        kfk__compress(NULL, codec, -1, inner->data, inner->len, &c), 0);
    put_msg(w, offset, magic, codec, 9999, NULL, c.data, (int32_t)c.len);
    kfk__wbuf_free(&c);
}

static void check_inner(const uint8_t *p, size_t len, int64_t first, int n,
                        int magic)
{
    kfk__msgset_iter it;
    kfk__record r;
    kfk__wbuf buf;
    char want[64];
    kfk__wbuf_init(&buf, 0);
    ck_assert_int_eq(kfk__msgset_iter_init(&it, p, len, true, NULL, &buf, MiB),
                     0);
    ck_assert_int_eq(it.count, n);
    ck_assert_int_eq(it.first_offset, first);
    ck_assert_int_eq(it.last_offset, first + n - 1);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 1);
        ck_assert_int_eq(r.offset, first + i);
        ck_assert_int_eq(r.timestamp, magic ? 5000 + i : -1);
        snprintf(want, sizeof(want), "value number %d", i);
        ck_assert(bytes_eq(r.value, r.value_len, want));
    }
    ck_assert_int_eq(kfk__msgset_iter_next(&it, &r), 0);
    kfk__wbuf_free(&buf);
}

/* gzip, snappy and lz4 wrappers in both magics. Magic 1 inner offsets are
 * relative to the wrapper's (which is the last inner one's); magic 0
 * inner offsets are absolute. */
START_TEST(wrappers)
{
    int codec = _i;
    for (int magic = 0; magic <= 1; magic++) {
        kfk__wbuf inner, w;
        kfk__wbuf_init(&inner, 0);
        kfk__wbuf_init(&w, 0);
        put_inner(&inner, magic, magic ? 0 : 500, 40);
        put_wrapper(&w, 539, magic, codec, &inner);
        if (codec == KFK__CODEC_LZ4 && magic == 0) {
            /* Kafka 0.8/0.9 got the frame header checksum wrong: make it
             * wrong (and fix the message CRC) */
            uint8_t *frame = w.data + 12 + 4 + 2 + 4 + 4;
            frame[6] ^= 0x5a;
            kfk__store_be32(w.data + 12, (uint32_t)crc32(0, w.data + 16,
                                                         (uInt)(w.len - 16)));
        }
        check_inner(w.data, w.len, 500, 40, magic);
        kfk__wbuf_free(&inner);
        kfk__wbuf_free(&w);
    }
}
END_TEST

START_TEST(errors)
{
    kfk__wbuf w, inner, buf;
    kfk__msg m;
    kfk__msgset_iter it;
    uint8_t p[64];
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&inner, 0);
    kfk__wbuf_init(&buf, 0);

    /* shape */
    for (size_t n = 0; n < sizeof(golden_v0); n++)
        ck_assert_int_eq(kfk__msg_parse(golden_v0, n, true, &m),
                         KFK_ERR__TRUNCATED);
    memcpy(p, golden_v0, 34);
    kfk__store_be32(p + 8, 13);
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m), KFK_ERR__MALFORMED);
    kfk__store_be32(p + 8, 21); /* value runs past the message */
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m), KFK_ERR__MALFORMED);
    kfk__store_be32(p + 8, 22);
    p[16] = 2;
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m),
                     KFK_ERR__UNSUPPORTED_VERSION);
    p[16] = 1; /* magic 1 needs a timestamp: the lengths no longer fit */
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m), KFK_ERR__MALFORMED);
    p[16] = 0;
    kfk__store_be32(p + 18, 0xfffffffeu); /* key length -2 */
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m), KFK_ERR__MALFORMED);
    put_msg(&w, 1, 0, 0, 0, "k", "v", 1);
    kfk__wr_i8(&w, 0); /* a byte the lengths do not account for */
    kfk__store_be32(w.data + 8, (uint32_t)(w.len - 12));
    ck_assert_int_eq(kfk__msg_parse(w.data, w.len, false, &m),
                     KFK_ERR__MALFORMED);

    /* crc */
    memcpy(p, golden_v0, 34);
    p[33] ^= 1;
    ck_assert_int_eq(kfk__msg_parse(p, 34, true, &m), KFK_ERR__BAD_CRC);
    ck_assert_int_eq(kfk__msg_parse(p, 34, false, &m), 0);

    /* wrappers */
    struct {
        const char *what;
        int inner_magic, nested, empty, partial, bad_crc;
        int err;
    } cases[] = {
        {"inner magic differs", 0, 0, 0, 0, 0, KFK_ERR__MALFORMED},
        {"nested compression", 1, 1, 0, 0, 0, KFK_ERR__MALFORMED},
        {"no inner messages", 1, 0, 1, 0, 0, KFK_ERR__MALFORMED},
        {"partial inner message", 1, 0, 0, 1, 0, KFK_ERR__MALFORMED},
        {"inner crc", 1, 0, 0, 0, 1, KFK_ERR__BAD_CRC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kfk__wbuf_reset(&inner);
        kfk__wbuf_reset(&w);
        if (!cases[i].empty)
            put_inner(&inner, cases[i].inner_magic, 0, 3);
        if (cases[i].nested)
            put_msg(&inner, 3, 1, KFK__CODEC_GZIP, 0, NULL, "x", 1);
        if (cases[i].partial)
            inner.len -= 3;
        if (cases[i].bad_crc)
            inner.data[inner.len - 1] ^= 1;
        put_wrapper(&w, 2, 1, KFK__CODEC_GZIP, &inner);
        int err =
            kfk__msgset_iter_init(&it, w.data, w.len, true, NULL, &buf, MiB);
        ck_assert_msg(err == cases[i].err, "%s: %d", cases[i].what, err);
    }

    kfk__wbuf_reset(&w);
    put_msg(&w, 2, 1, KFK__CODEC_GZIP, 0, NULL, NULL, -1);
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, w.data, w.len, true, NULL, &buf, MiB),
        KFK_ERR__MALFORMED);
    kfk__wbuf_reset(&w);
    put_wrapper(&w, 2, 1, KFK__CODEC_ZSTD, &inner); /* needs magic 2 */
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, w.data, w.len, true, NULL, &buf, MiB),
        KFK_ERR__UNKNOWN_CODEC);
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, golden_gzip, 113, true, NULL, NULL, MiB),
        KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, golden_gzip, 113, true, NULL, &buf, 100),
        KFK_ERR__TOO_LARGE);
    kfk__wbuf_reset(&w); /* a gzip stream cut short */
    put_msg(&w, 2, 1, KFK__CODEC_GZIP, 0, NULL, golden_gzip + 34, 30);
    ck_assert_int_eq(
        kfk__msgset_iter_init(&it, w.data, w.len, true, NULL, &buf, MiB),
        KFK_ERR__COMPRESSION);

    kfk__wbuf_free(&w);
    kfk__wbuf_free(&inner);
    kfk__wbuf_free(&buf);
}
END_TEST

/* ---- the any-magic reader ----------------------------------------------- */

/* A blob as a consumer might fetch from a log older than 0.11: magic 0,
 * magic 1, a magic-1 gzip wrapper, a magic-2 batch, a control batch. */
static size_t make_blob(kfk__wbuf *w, size_t *ends)
{
    kfk__wbuf inner;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    size_t n = 0;
    kfk__wbuf_init(&inner, 0);
    put_msg(w, 0, 0, 0, 0, "k0", "v0", 2);
    ends[n++] = w->len;
    put_msg(w, 1, 1, 0, 7777, NULL, "v1", 2);
    ends[n++] = w->len;
    put_inner(&inner, 1, 0, 3);
    put_wrapper(w, 4, 1, KFK__CODEC_GZIP, &inner);
    ends[n++] = w->len;
    kfk__batch_opts_init(&o);
    o.base_offset = 5;
    o.codec = KFK__CODEC_LZ4;
    o.producer_id = 31;
    ck_assert_int_eq(kfk__batch_begin(&bw, w, &o), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(
            kfk__batch_append(&bw, 8000 + i, "k", 1, "v", 1, NULL, 0), 0);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    ends[n++] = w->len;
    o.base_offset = 10;
    ck_assert_int_eq(kfk__batch_write_marker(w, &o, 9000, 1, 0), 0);
    ends[n++] = w->len;
    kfk__wbuf_free(&inner);
    return n;
}

static const int blob_counts[] = {1, 1, 3, 5, 1};

START_TEST(reader_mixed)
{
    kfk__wbuf w, buf;
    size_t ends[8];
    kfk__recs_reader rd;
    kfk__record r;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    make_blob(&w, ends);
    kfk__wr_raw(&w, golden_v1, 20); /* and a partial tail */

    kfk__recs_reader_init(&rd, w.data, w.len, NULL, &buf, MiB, true);
    int64_t want_offset = 0;
    for (int b = 0; b < 5; b++) {
        ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), 1);
        ck_assert_int_eq(rd.batch.h.magic, b == 0 ? 0 : b < 3 ? 1 : 2);
        ck_assert_int_eq(rd.batch.h.base_offset, want_offset);
        ck_assert_int_eq(rd.batch.h.count, blob_counts[b]);
        ck_assert_int_eq(kfk__batch_last_offset(&rd.batch),
                         want_offset + blob_counts[b] - 1);
        ck_assert_int_eq(rd.batch.h.producer_id, b == 3 || b == 4 ? 31 : -1);
        ck_assert_int_eq(kfk__batch_codec(&rd.batch), b == 2   ? KFK__CODEC_GZIP
                                                      : b == 3 ? KFK__CODEC_LZ4
                                                               : 0);
        ck_assert(kfk__batch_is_control(&rd.batch) == (b == 4));
        for (int i = 0; i < blob_counts[b]; i++) {
            ck_assert_int_eq(kfk__recs_reader_next_record(&rd, &r), 1);
            ck_assert_int_eq(r.offset, want_offset++);
            if (b == 1)
                ck_assert_int_eq(r.timestamp, 7777);
            if (b == 3)
                ck_assert_int_eq(r.timestamp, 8000 + i);
        }
        ck_assert_int_eq(kfk__recs_reader_next_record(&rd, &r), 0);
    }
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), KFK__RECORDS_INCOMPLETE);
    ck_assert_uint_eq(rd.entry.pos, ends[4]);
    ck_assert_int_eq(rd.entry.offset, 8);
    ck_assert_uint_eq(rd.entry.size, 39);
    ck_assert_int_eq(kfk__recs_reader_next_record(&rd, &r), 0);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
}
END_TEST

/* An entry of an unknown magic, or a damaged one, is reported, and the
 * reader goes on with the next. */
START_TEST(reader_skips_bad_batch)
{
    kfk__wbuf w, buf;
    size_t ends[8];
    kfk__recs_reader rd;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    make_blob(&w, ends);
    w.data[16] = 3;               /* first entry: magic 3 */
    w.data[ends[1] + 20] ^= 0xff; /* second: bad crc */
    kfk__recs_reader_init(&rd, w.data, w.len, NULL, &buf, MiB, true);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd),
                     KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_uint_eq(rd.err_pos, 0);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), 1);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), KFK_ERR__BAD_CRC);
    ck_assert_uint_eq(rd.err_pos, ends[1]);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), 1);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), 1);
    ck_assert_int_eq(kfk__recs_reader_next_batch(&rd), 0);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
}
END_TEST

static int read_all(const uint8_t *p, size_t len, bool crc, int *records)
{
    kfk__recs_reader rd;
    kfk__record r;
    kfk__wbuf buf;
    int rc;
    kfk__wbuf_init(&buf, 0);
    kfk__recs_reader_init(&rd, p, len, NULL, &buf, MiB, crc);
    *records = 0;
    while ((rc = kfk__recs_reader_next_batch(&rd)) == 1) {
        while ((rc = kfk__recs_reader_next_record(&rd, &r)) == 1)
            (*records)++;
        if (rc < 0)
            break;
    }
    kfk__wbuf_free(&buf);
    return rc;
}

START_TEST(reader_truncations)
{
    kfk__wbuf w;
    size_t ends[8];
    int records;
    kfk__wbuf_init(&w, 0);
    size_t nb = make_blob(&w, ends);
    for (size_t len = 0; len <= w.len; len++) {
        int want = 0;
        bool boundary = len == 0;
        for (size_t i = 0; i < nb && ends[i] <= len; i++) {
            want += blob_counts[i];
            boundary = ends[i] == len;
        }
        int rc = read_all(w.data, len, true, &records);
        ck_assert_msg(rc == (boundary ? 0 : KFK__RECORDS_INCOMPLETE),
                      "len %zu: %d", len, rc);
        ck_assert_int_eq(records, want);
    }
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(reader_mutations)
{
    kfk__wbuf w;
    size_t ends[8];
    int records, failed = 0;
    kfk__wbuf_init(&w, 0);
    make_blob(&w, ends);
    uint8_t *m = malloc(w.len);
    for (int i = 0; i < 4000; i++) {
        memcpy(m, w.data, w.len);
        for (int k = 0; k <= i % 4; k++)
            m[next_rand() % w.len] = (uint8_t)next_rand();
        failed += read_all(m, w.len, i % 2, &records) < 0;
    }
    ck_assert_int_gt(failed, 100);
    free(m);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(reader_nomem)
{
    kfk__wbuf w;
    size_t ends[8];
    int records, err = KFK_ERR__NOMEM;
    kfk__wbuf_init(&w, 0);
    make_blob(&w, ends);
    for (long n = 0; err; n++) {
        kfk__alloc_fail_after(n);
        err = read_all(w.data, w.len, true, &records);
        kfk__alloc_fail_after(-1);
        ck_assert_msg(err == 0 || err == KFK_ERR__NOMEM, "n=%ld: %d", n, err);
        ck_assert_int_lt(n, 1000);
    }
    ck_assert_int_eq(records, 11);
    kfk__wbuf_free(&w);
}
END_TEST

static Suite *msgset_suite(void)
{
    Suite *s = suite_create("msgset");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* sanitizer builds are slow */
    tcase_add_test(tc, golden_messages);
    tcase_add_test(tc, golden_wrapper);
    tcase_add_loop_test(tc, wrappers, KFK__CODEC_GZIP, KFK__CODEC_LZ4 + 1);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, reader_mixed);
    tcase_add_test(tc, reader_skips_bad_batch);
    tcase_add_test(tc, reader_truncations);
    tcase_add_test(tc, reader_mutations);
    tcase_add_test(tc, reader_nomem);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(msgset_suite)
