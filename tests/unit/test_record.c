/*
 * test_record.c: magic-2 record batches. A hand-assembled golden batch
 * (bytes from the spec, CRC computed independently) pins the writer and
 * the reader to the format; round trips cover keys, values, headers,
 * nulls, timestamps, every codec, transactional and control batches and
 * re-stamping; and the reader must survive every truncation, thousands of
 * random mutations and every allocation failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "common/alloc.h"
#include "proto/crc32c.h"
#include "proto/record.h"

#define MiB ((size_t)1 << 20)

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- the golden batch ------------------------------------------------- */

/* Two records, written out field by field from docs/implementation.html.
 * The CRC-32C (0x456669ce) was computed with a bit-at-a-time CRC-32C in
 * Python over bytes 21..83, not with the library. */
static const uint8_t golden[84] = {
    0, 0, 0, 0, 0, 0, 0, 0,       /* baseOffset 0 */
    0, 0, 0, 72,                  /* batchLength: 84 - 12 */
    0xff, 0xff, 0xff, 0xff,       /* partitionLeaderEpoch -1 */
    2,                            /* magic */
    0x45, 0x66, 0x69, 0xce,       /* crc */
    0, 0,                         /* attributes: none of them */
    0, 0, 0, 1,                   /* lastOffsetDelta 1 */
    0, 0, 0, 0, 0, 0, 0x03, 0xe8, /* baseTimestamp 1000 */
    0, 0, 0, 0, 0, 0, 0x03, 0xed, /* maxTimestamp 1005 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId -1 */
    0xff, 0xff,                                     /* producerEpoch -1 */
    0xff, 0xff, 0xff, 0xff,                         /* baseSequence -1 */
    0, 0, 0, 2,                                     /* records 2 */
    /* record 0: length 9, attributes, timestampDelta 0, offsetDelta 0,
     * key "k", value "v1", no headers (varints are zig-zag) */
    0x12, 0x00, 0x00, 0x00, 0x02, 'k', 0x04, 'v', '1', 0x00,
    /* record 1: length 12, attributes, timestampDelta 5, offsetDelta 1,
     * key null, value "v2", one header "h" = "x" */
    0x18, 0x00, 0x0a, 0x02, 0x01, 0x04, 'v', '2', 0x02, 0x02, 'h', 0x02, 'x'};

START_TEST(golden_write)
{
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__rec_header h = {"h", 1, (const uint8_t *)"x", 1};
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, NULL), 0);
    ck_assert_int_eq(kfk__batch_append(&bw, 1000, "k", 1, "v1", 2, NULL, 0), 0);
    ck_assert_int_eq(kfk__batch_append(&bw, 1005, NULL, -1, "v2", 2, &h, 1), 0);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    ck_assert_uint_eq(w.len, sizeof(golden));
    for (size_t i = 0; i < sizeof(golden); i++)
        ck_assert_msg(w.data[i] == golden[i], "byte %zu: %02x, want %02x", i,
                      w.data[i], golden[i]);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(golden_read)
{
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    kfk__header_iter hi;
    kfk__rec_header h;

    ck_assert_int_eq(kfk__batch_parse(golden, sizeof(golden), &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert_int_eq(b.h.base_offset, 0);
    ck_assert_int_eq(b.h.length, 72);
    ck_assert_int_eq(b.h.leader_epoch, -1);
    ck_assert_uint_eq(b.h.crc, 0x456669ceu);
    ck_assert_int_eq(b.h.attributes, 0);
    ck_assert_int_eq(b.h.last_offset_delta, 1);
    ck_assert_int_eq(b.h.base_timestamp, 1000);
    ck_assert_int_eq(b.h.max_timestamp, 1005);
    ck_assert_int_eq(b.h.producer_id, -1);
    ck_assert_int_eq(b.h.producer_epoch, -1);
    ck_assert_int_eq(b.h.base_sequence, -1);
    ck_assert_int_eq(b.h.count, 2);
    ck_assert_uint_eq(b.size, 84);
    ck_assert_int_eq(kfk__batch_last_offset(&b), 1);

    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, NULL, 0), 0);
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 1);
    ck_assert_int_eq(r.offset, 0);
    ck_assert_int_eq(r.timestamp, 1000);
    ck_assert(r.key_len == 1 && r.key[0] == 'k');
    ck_assert(r.value_len == 2 && !memcmp(r.value, "v1", 2));
    ck_assert_ptr_eq(r.value, golden + 68); /* a view, not a copy */
    ck_assert_int_eq(r.header_count, 0);
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 1);
    ck_assert_int_eq(r.offset, 1);
    ck_assert_int_eq(r.timestamp, 1005);
    ck_assert(r.key_len == -1 && r.key == NULL);
    ck_assert(r.value_len == 2 && !memcmp(r.value, "v2", 2));
    ck_assert_int_eq(r.header_count, 1);
    kfk__header_iter_init(&hi, &r);
    ck_assert_int_eq(kfk__header_next(&hi, &h), 1);
    ck_assert(h.key_len == 1 && h.key[0] == 'h');
    ck_assert(h.value_len == 1 && h.value[0] == 'x');
    ck_assert_int_eq(kfk__header_next(&hi, &h), 0);
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
}
END_TEST

/* ---- sample records --------------------------------------------------- */

typedef struct trec {
    int64_t ts;
    char key[32];
    int32_t klen;
    char val[300];
    int32_t vlen;
    kfk__rec_header h[3];
    size_t nh;
} trec;

/* Record i of a deterministic mix: null / empty / short keys, values of
 * every small size and some long ones, 0-3 headers with null values among
 * them, timestamps going back and forth around the first. */
static void make_rec(int i, trec *t)
{
    static const char *hk[] = {"trace", "", "content-type"};
    static const char *hv[] = {"abc", "", "application/json"};
    t->ts = 1700000000000LL + (i % 7) * 1000 - (i % 3) * 5000 + i;
    t->klen = (i % 5 == 0)   ? -1
              : (i % 7 == 0) ? 0
                             : snprintf(t->key, 32, "key-%d", i);
    t->vlen = (i % 11 == 3) ? -1 : (i % 13 == 0) ? 290 : i % 100;
    for (int k = 0; k < t->vlen; k++)
        t->val[k] = (char)('a' + (i + k) % 26);
    t->nh = (size_t)(i % 4);
    for (size_t j = 0; j < t->nh; j++) {
        t->h[j].key = hk[j];
        t->h[j].key_len = (int32_t)strlen(hk[j]);
        t->h[j].value_len = (i + (int)j) % 3 == 0 ? -1 : (int32_t)strlen(hv[j]);
        t->h[j].value = (const uint8_t *)hv[j];
    }
}

static void append_recs(kfk__batch_writer *bw, int n)
{
    trec t;
    for (int i = 0; i < n; i++) {
        make_rec(i, &t);
        size_t before = kfk__batch_size(bw);
        int64_t base = i ? bw->base_timestamp : t.ts;
        ck_assert_int_eq(kfk__batch_append(bw, t.ts, t.key, t.klen, t.val,
                                           t.vlen, t.h, t.nh),
                         0);
        ck_assert_uint_eq(
            kfk__batch_size(bw) - before,
            kfk__record_size(t.ts - base, i, t.klen, t.vlen, t.h, t.nh));
    }
}

static void check_rec(const kfk__record *r, int i, int64_t base_offset)
{
    trec t;
    kfk__header_iter hi;
    kfk__rec_header h;
    make_rec(i, &t);
    ck_assert_int_eq(r->offset, base_offset + i);
    ck_assert_int_eq(r->timestamp, t.ts);
    ck_assert_int_eq(r->key_len, t.klen);
    ck_assert(t.klen <= 0 || !memcmp(r->key, t.key, (size_t)t.klen));
    ck_assert(t.klen != -1 || r->key == NULL);
    ck_assert_int_eq(r->value_len, t.vlen);
    ck_assert(t.vlen <= 0 || !memcmp(r->value, t.val, (size_t)t.vlen));
    ck_assert_int_eq(r->header_count, (int32_t)t.nh);
    kfk__header_iter_init(&hi, r);
    for (size_t j = 0; j < t.nh; j++) {
        ck_assert_int_eq(kfk__header_next(&hi, &h), 1);
        ck_assert_int_eq(h.key_len, t.h[j].key_len);
        ck_assert(!memcmp(h.key, t.h[j].key, (size_t)h.key_len));
        ck_assert_int_eq(h.value_len, t.h[j].value_len);
        if (h.value_len >= 0)
            ck_assert(!memcmp(h.value, t.h[j].value, (size_t)h.value_len));
        else
            ck_assert_ptr_null(h.value);
    }
    ck_assert_int_eq(kfk__header_next(&hi, &h), 0);
}

/* Reads every record of the batch at p and checks it against make_rec. */
static void check_batch(const uint8_t *p, size_t len, int n, int64_t base)
{
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    kfk__wbuf buf;
    kfk__wbuf_init(&buf, 0);
    ck_assert_int_eq(kfk__batch_parse(p, len, &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert_int_eq(b.h.count, n);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, 16 * MiB), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 1);
        check_rec(&r, i, base);
    }
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
    kfk__wbuf_free(&buf);
}

START_TEST(roundtrip)
{
    int codec = _i;
    kfk__zctx *z;
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    ck_assert_int_eq(kfk__zctx_new(&z), 0);
    kfk__wbuf_init(&w, 0);
    kfk__wr_raw(&w, "prefix", 6); /* the batch goes after what is there */
    kfk__batch_opts_init(&o);
    o.codec = codec;
    o.base_offset = 5000;
    o.leader_epoch = 7;
    o.producer_id = 123456789012LL;
    o.producer_epoch = 3;
    o.base_sequence = 42;
    o.flags = KFK__ATTR_TRANSACTIONAL;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), 0);
    append_recs(&bw, 500);
    ck_assert_int_eq(kfk__batch_finish(&bw, z), 0);
    ck_assert_uint_eq(bw.start, 6);
    check_batch(w.data + 6, w.len - 6, 500, 5000);

    kfk__batch b;
    ck_assert_int_eq(kfk__batch_parse(w.data + 6, w.len - 6, &b), 0);
    ck_assert_int_eq(kfk__batch_codec(&b), codec);
    ck_assert(kfk__batch_is_transactional(&b) && !kfk__batch_is_control(&b));
    ck_assert_int_eq(b.h.leader_epoch, 7);
    ck_assert_int_eq(b.h.producer_id, 123456789012LL);
    ck_assert_int_eq(b.h.producer_epoch, 3);
    ck_assert_int_eq(b.h.base_sequence, 42);
    ck_assert_int_eq(b.h.last_offset_delta, 499);
    ck_assert_int_eq(kfk__batch_last_offset(&b), 5499);
    trec t0;
    make_rec(0, &t0);
    ck_assert_int_eq(b.h.base_timestamp, t0.ts);
    int64_t max = 0;
    for (int i = 0; i < 500; i++) {
        trec t;
        make_rec(i, &t);
        max = t.ts > max ? t.ts : max;
    }
    ck_assert_int_eq(b.h.max_timestamp, max);
    if (codec)
        ck_assert_uint_lt(b.size, 500 * 60); /* it did compress */
    kfk__wbuf_free(&w);
    kfk__zctx_destroy(z);
}
END_TEST

START_TEST(empty_batch)
{
    int codec = _i;
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    kfk__wbuf buf;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    kfk__batch_opts_init(&o);
    o.codec = codec;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), 0);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert_int_eq(b.h.count, 0);
    ck_assert_int_eq(b.h.base_timestamp, -1);
    ck_assert_int_eq(b.h.max_timestamp, -1);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, MiB), 0);
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
}
END_TEST

START_TEST(bad_arguments)
{
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__rec_header h = {NULL, -1, NULL, -1};
    kfk__wbuf_init(&w, 0);
    kfk__batch_opts_init(&o);
    o.codec = 5;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), KFK_ERR__INVALID_ARG);
    o.codec = KFK__CODEC_GZIP;
    o.level = 12;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), KFK_ERR__INVALID_ARG);
    kfk__batch_opts_init(&o);
    o.flags = KFK__ATTR_DELETE_HORIZON;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), KFK_ERR__INVALID_ARG);
    ck_assert_uint_eq(w.len, 0);

    ck_assert_int_eq(kfk__batch_begin(&bw, &w, NULL), 0);
    ck_assert_int_eq(kfk__batch_append(&bw, 1, "k", -2, "v", 1, NULL, 0),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__batch_append(&bw, 1, "k", 1, "v", -3, NULL, 0),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk__batch_append(&bw, 1, "k", 1, "v", 1, &h, 1),
                     KFK_ERR__INVALID_ARG);
    ck_assert_uint_eq(kfk__record_size(0, 0, 1, 1, &h, 1), SIZE_MAX);
    ck_assert_uint_eq(kfk__batch_size(&bw), KFK__BATCH_HEADER_SIZE);
    /* the batch is still fine */
    ck_assert_int_eq(kfk__batch_append(&bw, 1, "k", 1, "v", 1, NULL, 0), 0);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    kfk__batch b;
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert_int_eq(b.h.count, 1);

    ck_assert_int_eq(kfk__batch_write_marker(&w, NULL, 0, 1, 0),
                     KFK_ERR__INVALID_ARG);
    kfk__batch_opts_init(&o);
    ck_assert_int_eq(kfk__batch_write_marker(&w, &o, 0, 2, 0),
                     KFK_ERR__INVALID_ARG);
    kfk__wbuf_free(&w);
}
END_TEST

/* A buffer with a small maximum: appends fail with TOO_LARGE. */
START_TEST(buffer_full)
{
    kfk__wbuf w;
    kfk__batch_writer bw;
    char v[100] = {0};
    int err = 0, n = 0;
    kfk__wbuf_init(&w, 4096);
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, NULL), 0);
    while (!(err = kfk__batch_append(&bw, 0, NULL, -1, v, 100, NULL, 0)))
        n++;
    ck_assert_int_eq(err, KFK_ERR__TOO_LARGE);
    ck_assert_int_gt(n, 30);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), KFK_ERR__TOO_LARGE);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- re-stamping ------------------------------------------------------ */

static void build(kfk__wbuf *w, int codec, int n)
{
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__batch_opts_init(&o);
    o.codec = codec;
    ck_assert_int_eq(kfk__batch_begin(&bw, w, &o), 0);
    append_recs(&bw, n);
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
}

START_TEST(restamp)
{
    kfk__wbuf w;
    kfk__batch b;
    kfk__wbuf_init(&w, 0);
    build(&w, KFK__CODEC_LZ4, 50);
    uint32_t crc = kfk__load_be32(w.data + KFK__BATCH_CRC);

    /* not covered by the CRC: it stays as it was, and still matches */
    ck_assert_int_eq(kfk__batch_set_base_offset(w.data, w.len, 1000000), 0);
    ck_assert_int_eq(kfk__batch_set_leader_epoch(w.data, w.len, 9), 0);
    ck_assert_uint_eq(kfk__load_be32(w.data + KFK__BATCH_CRC), crc);
    check_batch(w.data, w.len, 50, 1000000);
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert_int_eq(b.h.leader_epoch, 9);

    /* covered: recomputed */
    ck_assert_int_eq(kfk__batch_set_producer(w.data, w.len, 77, 2, 1234), 0);
    ck_assert_uint_ne(kfk__load_be32(w.data + KFK__BATCH_CRC), crc);
    check_batch(w.data, w.len, 50, 1000000);
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert(b.h.producer_id == 77 && b.h.producer_epoch == 2 &&
              b.h.base_sequence == 1234);

    ck_assert_int_eq(kfk__batch_set_log_append_time(w.data, w.len, 555), 0);
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert_int_eq(b.h.max_timestamp, 555);
    ck_assert_int_eq(kfk__batch_codec(&b), KFK__CODEC_LZ4);
    kfk__wbuf buf;
    kfk__rec_iter it;
    kfk__record r;
    kfk__wbuf_init(&buf, 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, MiB), 0);
    while (kfk__rec_iter_next(&it, &r) == 1)
        ck_assert_int_eq(r.timestamp, 555); /* log append time wins */
    ck_assert_int_eq(it.err, 0);
    kfk__wbuf_free(&buf);

    /* errors */
    ck_assert_int_eq(kfk__batch_set_base_offset(w.data, 60, 1),
                     KFK_ERR__TRUNCATED);
    ck_assert_int_eq(kfk__batch_set_producer(w.data, w.len - 1, 1, 1, 1),
                     KFK_ERR__TRUNCATED);
    w.data[KFK__BATCH_MAGIC_POS] = 1;
    ck_assert_int_eq(kfk__batch_set_leader_epoch(w.data, w.len, 1),
                     KFK_ERR__MALFORMED);
    w.data[KFK__BATCH_MAGIC_POS] = 2;
    kfk__store_be32(w.data + KFK__BATCH_LENGTH, 10);
    ck_assert_int_eq(kfk__batch_set_log_append_time(w.data, w.len, 1),
                     KFK_ERR__MALFORMED);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- control batches -------------------------------------------------- */

START_TEST(markers)
{
    kfk__wbuf w;
    kfk__batch_opts o;
    kfk__wbuf_init(&w, 0);
    kfk__batch_opts_init(&o);
    o.base_offset = 300;
    o.producer_id = 99;
    o.producer_epoch = 4;
    o.leader_epoch = 2;
    o.flags = KFK__ATTR_LOG_APPEND_TIME; /* ignored */
    o.codec = KFK__CODEC_ZSTD;           /* ignored */
    ck_assert_int_eq(
        kfk__batch_write_marker(&w, &o, 111, KFK__CONTROL_COMMIT, 17), 0);
    size_t first = w.len;
    ck_assert_int_eq(
        kfk__batch_write_marker(&w, &o, 222, KFK__CONTROL_ABORT, 18), 0);

    for (int k = 0; k < 2; k++) {
        kfk__batch b;
        kfk__rec_iter it;
        kfk__record r;
        kfk__control c;
        const uint8_t *p = k ? w.data + first : w.data;
        ck_assert_int_eq(kfk__batch_parse(p, w.len, &b), 0);
        ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
        ck_assert(kfk__batch_is_control(&b) && kfk__batch_is_transactional(&b));
        ck_assert_int_eq(b.h.attributes,
                         KFK__ATTR_CONTROL | KFK__ATTR_TRANSACTIONAL);
        ck_assert(b.h.producer_id == 99 && b.h.producer_epoch == 4);
        ck_assert(b.h.base_sequence == -1 && b.h.leader_epoch == 2);
        ck_assert_int_eq(b.h.count, 1);
        ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, NULL, 0), 0);
        ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 1);
        ck_assert_int_eq(r.offset, 300);
        ck_assert_int_eq(r.timestamp, k ? 222 : 111);
        ck_assert_int_eq(kfk__control_parse(&r, &c), 0);
        ck_assert_int_eq(c.version, 0);
        ck_assert_int_eq(c.type, k ? KFK__CONTROL_ABORT : KFK__CONTROL_COMMIT);
        ck_assert_int_eq(c.coordinator_epoch, k ? 18 : 17);
        ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
    }
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(control_parse_errors)
{
    static const uint8_t commit_key[] = {0, 0, 0, 1}, odd_key[] = {0, 0, 0, 5},
                         neg_key[] = {0x80, 0, 0, 1},
                         value[] = {0, 0, 0, 0, 0, 9};
    kfk__record r;
    kfk__control c;
    memset(&r, 0, sizeof(r));
    r.key = commit_key;
    r.key_len = 3;
    ck_assert_int_eq(kfk__control_parse(&r, &c), KFK_ERR__MALFORMED);
    r.key_len = -1;
    ck_assert_int_eq(kfk__control_parse(&r, &c), KFK_ERR__MALFORMED);
    r.key_len = 4;
    r.value_len = -1;
    ck_assert_int_eq(kfk__control_parse(&r, &c), KFK_ERR__MALFORMED);
    r.value = value;
    r.value_len = 5;
    ck_assert_int_eq(kfk__control_parse(&r, &c), KFK_ERR__MALFORMED);
    r.value_len = 6;
    ck_assert_int_eq(kfk__control_parse(&r, &c), 0);
    ck_assert_int_eq(c.coordinator_epoch, 9);
    r.key = neg_key;
    ck_assert_int_eq(kfk__control_parse(&r, &c), KFK_ERR__MALFORMED);
    r.key = odd_key; /* e.g. KRaft's own types: returned as they are */
    r.value_len = -1;
    ck_assert_int_eq(kfk__control_parse(&r, &c), 0);
    ck_assert(c.type == 5 && c.coordinator_epoch == -1);
}
END_TEST

/* ---- re-encoding read records ----------------------------------------- */

START_TEST(reencode)
{
    kfk__wbuf a, b2, buf;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    kfk__wbuf_init(&a, 0);
    kfk__wbuf_init(&b2, 0);
    kfk__wbuf_init(&buf, 0);
    build(&a, KFK__CODEC_SNAPPY, 200);
    kfk__batch_set_base_offset(a.data, a.len, 100);

    /* keep every other record, recompressed with gzip: offsets kept */
    kfk__batch_opts_init(&o);
    o.codec = KFK__CODEC_GZIP;
    o.base_offset = 100;
    ck_assert_int_eq(kfk__batch_begin(&bw, &b2, &o), 0);
    ck_assert_int_eq(kfk__batch_parse(a.data, a.len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, MiB), 0);
    while (kfk__rec_iter_next(&it, &r) == 1)
        if (r.offset % 2)
            ck_assert_int_eq(kfk__batch_append_record(&bw, &r), 0);
    ck_assert_int_eq(kfk__batch_append_record(&bw, &r),
                     KFK_ERR__INVALID_ARG); /* offset not increasing */
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);

    ck_assert_int_eq(kfk__batch_parse(b2.data, b2.len, &b), 0);
    ck_assert_int_eq(b.h.count, 100);
    ck_assert_int_eq(b.h.last_offset_delta, 199);
    kfk__wbuf buf2;
    kfk__wbuf_init(&buf2, 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf2, MiB), 0);
    for (int i = 1; i < 200; i += 2) {
        ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 1);
        check_rec(&r, i, 100);
    }
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), 0);
    kfk__wbuf_free(&a);
    kfk__wbuf_free(&b2);
    kfk__wbuf_free(&buf);
    kfk__wbuf_free(&buf2);
}
END_TEST

/* ---- malformed batches, built by hand --------------------------------- */

/* A batch around the given records section, with a correct CRC. */
static size_t raw_batch(uint8_t *out, int32_t count, int32_t last_delta,
                        const uint8_t *recs, size_t n)
{
    memset(out, 0, KFK__BATCH_HEADER_SIZE);
    kfk__store_be32(out + KFK__BATCH_LENGTH,
                    (uint32_t)(KFK__BATCH_HEADER_SIZE - 12 + n));
    out[KFK__BATCH_MAGIC_POS] = 2;
    kfk__store_be32(out + KFK__BATCH_LAST_OFFSET_DELTA, (uint32_t)last_delta);
    kfk__store_be32(out + KFK__BATCH_RECORD_COUNT, (uint32_t)count);
    memcpy(out + KFK__BATCH_HEADER_SIZE, recs, n);
    size_t len = KFK__BATCH_HEADER_SIZE + n;
    kfk__store_be32(out + KFK__BATCH_CRC, kfk__crc32c(0, out + 21, len - 21));
    return len;
}

/* Iterates; returns the final status and how many records came out. */
static int iterate(const uint8_t *p, size_t len, int *n, size_t *err_pos)
{
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    int rc = kfk__batch_parse(p, len, &b);
    *n = 0;
    if (rc)
        return rc;
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    if ((rc = kfk__rec_iter_init(&it, &b, NULL, NULL, 0)))
        return rc;
    while ((rc = kfk__rec_iter_next(&it, &r)) == 1)
        (*n)++;
    *err_pos = it.err_pos;
    ck_assert_int_eq(kfk__rec_iter_next(&it, &r), rc); /* sticky */
    return rc;
}

/* minimal record: length 6, attributes, ts 0, delta d, null key/value,
 * no headers */
#define REC(d) 0x0c, 0, 0, (uint8_t)(2 * (d)), 0x01, 0x01, 0x00
/* the same with a 10-byte value: 17 bytes */
#define REC10(d)                                                               \
    0x20, 0, 0, (uint8_t)(2 * (d)), 0x01, 0x14, '0', '1', '2', '3', '4', '5',  \
        '6', '7', '8', '9', 0x00

START_TEST(malformed)
{
    uint8_t out[256];
    int n;
    size_t pos = 0;
    static const uint8_t two[] = {REC(0), REC(1)};
    ck_assert_int_eq(iterate(out, raw_batch(out, 2, 1, two, 14), &n, &pos), 0);
    ck_assert_int_eq(n, 2);
    /* gaps in offsets are fine (compaction) */
    static const uint8_t gap[] = {REC(0), REC(5)};
    ck_assert_int_eq(iterate(out, raw_batch(out, 2, 9, gap, 14), &n, &pos), 0);

    struct {
        const char *what;
        int32_t count, last;
        uint8_t recs[48];
        size_t n;
        int n_ok;
        size_t pos;
    } cases[] = {
        {"count above records", 3, 2, {REC10(0), REC10(1)}, 34, 2, 34},
        {"count below records", 1, 1, {REC(0), REC(1)}, 14, 1, 7},
        {"delta repeats", 2, 1, {REC(0), REC(0)}, 14, 1, 7},
        {"delta past last", 2, 1, {REC(0), REC(2)}, 14, 1, 7},
        {"length past end", 1, 0, {0x10, 0, 0, 0, 1, 1, 0}, 7, 0, 0},
        {"length negative", 1, 0, {0x01, 0, 0, 0, 1, 1, 0}, 7, 0, 0},
        {"length short", 1, 0, {0x0a, 0, 0, 0, 1, 1, 0}, 7, 0, 0},
        {"length long", 1, 0, {0x0e, 0, 0, 0, 1, 1, 0, 0}, 8, 0, 0},
        {"key below -1", 1, 0, {0x0c, 0, 0, 0, 0x03, 1, 0}, 7, 0, 0},
        {"key past record", 1, 0, {0x0c, 0, 0, 0, 0x08, 1, 0}, 7, 0, 0},
        {"headers negative", 1, 0, {0x0c, 0, 0, 0, 1, 1, 0x01}, 7, 0, 0},
        {"header past record",
         1,
         0,
         {0x10, 0, 0, 0, 1, 1, 0x02, 0x02, 'a'},
         9,
         0,
         0},
        {"null header key",
         1,
         0,
         {0x10, 0, 0, 0, 1, 1, 0x02, 0x01, 0x01},
         9,
         0,
         0},
        {"bad varint",
         1,
         0,
         {0x16, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1, 0},
         12,
         0,
         0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = raw_batch(out, cases[i].count, cases[i].last,
                               cases[i].recs, cases[i].n);
        int rc = iterate(out, len, &n, &pos);
        ck_assert_msg(rc == KFK_ERR__MALFORMED, "%s: %d", cases[i].what, rc);
        ck_assert_msg(n == cases[i].n_ok, "%s: %d records", cases[i].what, n);
        ck_assert_msg(pos == cases[i].pos, "%s: at %zu", cases[i].what, pos);
    }
}
END_TEST

START_TEST(malformed_header)
{
    uint8_t out[256];
    static const uint8_t one[] = {REC(0)};
    kfk__batch b;
    size_t len = raw_batch(out, 1, 0, one, 7);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__batch_parse(out, len + 100, &b), 0); /* extra ok */
    ck_assert_uint_eq(b.size, len);

    out[KFK__BATCH_MAGIC_POS] = 1;
    ck_assert_int_eq(kfk__batch_parse(out, len, &b),
                     KFK_ERR__UNSUPPORTED_VERSION);
    out[KFK__BATCH_MAGIC_POS] = 3;
    ck_assert_int_eq(kfk__batch_parse(out, len, &b),
                     KFK_ERR__UNSUPPORTED_VERSION);
    out[KFK__BATCH_MAGIC_POS] = 2;
    kfk__store_be32(out + KFK__BATCH_LENGTH, 48);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), KFK_ERR__MALFORMED);
    kfk__store_be32(out + KFK__BATCH_LENGTH, 0x80000000u);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), KFK_ERR__MALFORMED);

    len = raw_batch(out, -1, 0, one, 7);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), KFK_ERR__MALFORMED);
    len = raw_batch(out, 3, 1, one, 7);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), KFK_ERR__MALFORMED);
    /* a count the bytes cannot hold is refused before iterating */
    len = raw_batch(out, 2, 1, one, 7);
    kfk__rec_iter it;
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, NULL, 0),
                     KFK_ERR__MALFORMED);

    len = raw_batch(out, 1, 0, one, 7);
    out[len - 1] ^= 1;
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), KFK_ERR__BAD_CRC);

    /* compressed, but nowhere to decompress to */
    len = raw_batch(out, 1, 0, one, 7);
    out[KFK__BATCH_ATTRIBUTES + 1] = KFK__CODEC_GZIP;
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, NULL, 0),
                     KFK_ERR__INVALID_ARG);
    out[KFK__BATCH_ATTRIBUTES + 1] = 6; /* no such codec */
    kfk__wbuf buf;
    kfk__wbuf_init(&buf, 0);
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, MiB),
                     KFK_ERR__UNKNOWN_CODEC);
    out[KFK__BATCH_ATTRIBUTES + 1] = KFK__CODEC_ZSTD; /* not zstd data */
    ck_assert_int_eq(kfk__batch_parse(out, len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, MiB),
                     KFK_ERR__COMPRESSION);
    kfk__wbuf_free(&buf);
}
END_TEST

START_TEST(decompression_cap)
{
    kfk__wbuf w, buf;
    kfk__batch b;
    kfk__rec_iter it;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    build(&w, KFK__CODEC_ZSTD, 1000);
    ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
    ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &buf, 10000),
                     KFK_ERR__TOO_LARGE);
    ck_assert_uint_le(buf.cap, 10000);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
}
END_TEST

/* ---- walking a records blob ------------------------------------------- */

START_TEST(walker)
{
    kfk__records_iter it;
    kfk__records_entry e;
    uint8_t p[40] = {0};

    kfk__records_iter_init(&it, NULL, 0);
    ck_assert_int_eq(kfk__records_next(&it, &e), 0);
    kfk__records_iter_init(&it, p, 11);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK__RECORDS_INCOMPLETE);
    ck_assert_uint_eq(e.size, 0);
    ck_assert_int_eq(e.magic, -1);

    kfk__store_be64(p, 77);
    kfk__store_be32(p + 8, 13); /* smaller than any entry */
    kfk__records_iter_init(&it, p, 40);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK_ERR__MALFORMED);
    ck_assert_uint_eq(e.pos, 0);
    kfk__store_be32(p + 8, 0xffffffffu);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK_ERR__MALFORMED);

    kfk__store_be32(p + 8, 100);
    p[16] = 2;
    kfk__records_iter_init(&it, p, 16);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK__RECORDS_INCOMPLETE);
    ck_assert_uint_eq(e.size, 112);
    ck_assert_int_eq(e.magic, -1);
    ck_assert_int_eq(e.offset, 77);
    kfk__records_iter_init(&it, p, 40);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK__RECORDS_INCOMPLETE);
    ck_assert_int_eq(e.magic, 2);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK__RECORDS_INCOMPLETE);

    kfk__store_be32(p + 8, 14);
    kfk__records_iter_init(&it, p, 30);
    ck_assert_int_eq(kfk__records_next(&it, &e), 1);
    ck_assert(e.data == p && e.size == 26 && e.pos == 0 && e.magic == 2);
    ck_assert_int_eq(kfk__records_next(&it, &e), KFK__RECORDS_INCOMPLETE);
    ck_assert_uint_eq(e.pos, 26);
}
END_TEST

/* A blob of several batches: every codec, a control batch. */
static size_t make_blob(kfk__wbuf *w, int *counts, size_t *ends)
{
    kfk__batch_opts o;
    size_t n = 0;
    for (int codec = 0; codec < KFK__CODEC_COUNT; codec++) {
        size_t start = w->len;
        counts[n] = 20 + codec * 7;
        build(w, codec, counts[n]);
        kfk__batch_set_base_offset(w->data + start, w->len - start,
                                   1000 * codec);
        ends[n++] = w->len;
    }
    kfk__batch_opts_init(&o);
    o.base_offset = 9000;
    ck_assert_int_eq(kfk__batch_write_marker(w, &o, 5, 1, 3), 0);
    counts[n] = 1;
    ends[n++] = w->len;
    return n;
}

/* Reads a blob to the end the way a consumer does; returns the final
 * status and counts batches and records. */
static int read_blob(const uint8_t *p, size_t len, bool crc, int *records,
                     int *batches)
{
    kfk__records_iter ri;
    kfk__records_entry e;
    kfk__batch b;
    kfk__rec_iter it;
    kfk__wbuf buf;
    kfk__record r;
    kfk__control c;
    kfk__header_iter hi;
    kfk__rec_header h;
    int rc;
    kfk__wbuf_init(&buf, 0);
    kfk__records_iter_init(&ri, p, len);
    *records = *batches = 0;
    while ((rc = kfk__records_next(&ri, &e)) == 1) {
        if ((rc = kfk__batch_parse(e.data, e.size, &b)) ||
            (crc && (rc = kfk__batch_check_crc(&b))) ||
            (rc = kfk__rec_iter_init(&it, &b, NULL, &buf, MiB)))
            break;
        (*batches)++;
        while ((rc = kfk__rec_iter_next(&it, &r)) == 1) {
            (*records)++;
            kfk__header_iter_init(&hi, &r);
            while (kfk__header_next(&hi, &h))
                ;
            if (kfk__batch_is_control(&b))
                (void)kfk__control_parse(&r, &c);
        }
        if (rc < 0)
            break;
    }
    kfk__wbuf_free(&buf);
    return rc;
}

START_TEST(blob_truncations)
{
    kfk__wbuf w;
    int counts[8], records, batches;
    size_t ends[8];
    kfk__wbuf_init(&w, 0);
    size_t nb = make_blob(&w, counts, ends);
    ck_assert_int_eq(read_blob(w.data, w.len, true, &records, &batches), 0);
    ck_assert_int_eq(batches, (int)nb);

    for (size_t len = 0; len < w.len; len++) {
        int want_records = 0, want_batches = 0;
        for (size_t i = 0; i < nb && ends[i] <= len; i++) {
            want_records += counts[i];
            want_batches++;
        }
        bool boundary =
            len == 0 || (want_batches && ends[want_batches - 1] == len);
        int rc = read_blob(w.data, len, true, &records, &batches);
        ck_assert_msg(rc == (boundary ? 0 : KFK__RECORDS_INCOMPLETE),
                      "len %zu: %d", len, rc);
        ck_assert_int_eq(records, want_records);
        ck_assert_int_eq(batches, want_batches);
    }
    kfk__wbuf_free(&w);
}
END_TEST

/* Every prefix of one batch is TRUNCATED to the parser. And when a cut
 * batch is made consistent again (length and CRC fixed up), iterating it
 * must fail: records are missing. */
START_TEST(batch_truncations)
{
    int codec = _i;
    kfk__wbuf w, buf;
    kfk__batch b;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&buf, 0);
    build(&w, codec, 60);
    for (size_t len = 0; len < w.len; len++)
        ck_assert_int_eq(kfk__batch_parse(w.data, len, &b), KFK_ERR__TRUNCATED);
    uint8_t *cut = malloc(w.len);
    for (size_t len = KFK__BATCH_HEADER_SIZE; len < w.len; len++) {
        memcpy(cut, w.data, len);
        kfk__store_be32(cut + KFK__BATCH_LENGTH, (uint32_t)(len - 12));
        kfk__store_be32(cut + KFK__BATCH_CRC,
                        kfk__crc32c(0, cut + 21, len - 21));
        ck_assert_int_eq(kfk__batch_parse(cut, len, &b), 0);
        ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
        kfk__rec_iter it;
        kfk__record r;
        int rc = kfk__rec_iter_init(&it, &b, NULL, &buf, MiB);
        if (!rc)
            while ((rc = kfk__rec_iter_next(&it, &r)) == 1)
                ;
        ck_assert_msg(rc == KFK_ERR__MALFORMED || rc == KFK_ERR__COMPRESSION,
                      "cut at %zu: %d", len, rc);
    }
    free(cut);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&buf);
}
END_TEST

/* Random damage never crashes (ASan/UBSan builds check the "never"). */
START_TEST(mutations)
{
    kfk__wbuf w;
    int counts[8], records, batches;
    size_t ends[8];
    kfk__wbuf_init(&w, 0);
    make_blob(&w, counts, ends);
    uint8_t *m = malloc(w.len);
    int failed = 0;
    for (int i = 0; i < 4000; i++) {
        memcpy(m, w.data, w.len);
        int k = 1 + (int)(next_rand() % 4);
        for (int j = 0; j < k; j++) {
            size_t at = next_rand() % w.len;
            if (i % 3 == 0) /* aim at batch headers, where lengths live */
                at = ends[next_rand() % 5] + next_rand() % 61;
            m[at % w.len] = (uint8_t)next_rand();
        }
        int rc = read_blob(m, w.len, i % 2, &records, &batches);
        failed += rc < 0;
    }
    ck_assert_int_gt(failed, 100); /* and some damage was noticed */
    free(m);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- allocation failures ---------------------------------------------- */

static void writer_nomem(int codec, bool with_ctx)
{
    int err = KFK_ERR__NOMEM;
    for (long n = 0; err; n++) {
        kfk__wbuf w;
        kfk__batch_writer bw;
        kfk__batch_opts o;
        kfk__zctx *z = NULL;
        kfk__wbuf_init(&w, 0);
        kfk__batch_opts_init(&o);
        o.codec = codec;
        kfk__alloc_fail_after(n);
        err = with_ctx ? kfk__zctx_new(&z) : 0;
        if (!err)
            err = kfk__batch_begin(&bw, &w, &o);
        for (int i = 0; !err && i < 300; i++)
            err = kfk__batch_append(&bw, i, "key", 3,
                                    "a value of some length ........", 31, NULL,
                                    0);
        if (!err)
            err = kfk__batch_finish(&bw, z);
        kfk__alloc_fail_after(-1);
        ck_assert_msg(err == 0 || err == KFK_ERR__NOMEM, "n=%ld: %d", n, err);
        if (!err) {
            kfk__batch b;
            ck_assert_int_eq(kfk__batch_parse(w.data, w.len, &b), 0);
            ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
            ck_assert_int_eq(b.h.count, 300);
        }
        kfk__zctx_destroy(z);
        kfk__wbuf_free(&w);
        ck_assert_int_lt(n, 2000);
    }
}

START_TEST(nomem_writer)
{
    writer_nomem(_i, false);
    writer_nomem(_i, true);
}
END_TEST

START_TEST(nomem_reader)
{
    int codec = _i;
    kfk__wbuf w;
    int err = KFK_ERR__NOMEM;
    kfk__wbuf_init(&w, 0);
    build(&w, codec, 300);
    for (long n = 0; err; n++) {
        int records, batches;
        kfk__alloc_fail_after(n);
        err = read_blob(w.data, w.len, true, &records, &batches);
        kfk__alloc_fail_after(-1);
        ck_assert_msg(err == 0 || err == KFK_ERR__NOMEM, "n=%ld: %d", n, err);
        if (!err)
            ck_assert_int_eq(records, 300);
        ck_assert_int_lt(n, 2000);
    }
    kfk__wbuf_free(&w);
}
END_TEST

static Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* sanitizer builds are slow */
    tcase_add_test(tc, golden_write);
    tcase_add_test(tc, golden_read);
    tcase_add_loop_test(tc, roundtrip, 0, KFK__CODEC_COUNT);
    tcase_add_loop_test(tc, empty_batch, 0, KFK__CODEC_COUNT);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, buffer_full);
    tcase_add_test(tc, restamp);
    tcase_add_test(tc, markers);
    tcase_add_test(tc, control_parse_errors);
    tcase_add_test(tc, reencode);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, malformed_header);
    tcase_add_test(tc, decompression_cap);
    tcase_add_test(tc, walker);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, blob_truncations);
    tcase_add_loop_test(tc, batch_truncations, 0, KFK__CODEC_COUNT);
    tcase_add_test(tc, mutations);
    tcase_add_loop_test(tc, nomem_writer, 0, KFK__CODEC_COUNT);
    tcase_add_loop_test(tc, nomem_reader, 0, KFK__CODEC_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(record_suite)
