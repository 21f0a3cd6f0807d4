/*
 * test_broker_log.c: the reference broker's partition log (src/broker/
 * log.c, log_disk.c, log_retention.c, compact.c, segment.c): offsets,
 * reads, timestamps, retention, compaction, durability and recovery, and
 * allocation failures on append.
 */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log.h"
#include "check_main.h"
#include "common/alloc.h"
#include "proto/record.h"

#define NOW 1700000000000LL

/* ---- building batches ------------------------------------------------- */

typedef struct spec {
    int n;      /* records */
    int64_t ts; /* first record's timestamp (+1 per record) */
    int codec;
    int64_t pid; /* 0: not idempotent */
    int16_t epoch;
    int32_t seq;
    const char *const *keys; /* NULL: "k<i>" */
    const char *const *vals; /* NULL: "v<i>"; an entry NULL: tombstone */
    size_t value_size;       /* > 0: values of this many bytes */
} spec;

static void put(kfk__wbuf *w, const spec *s)
{
    kfk__batch_opts o;
    kfk__batch_writer bw;
    kfk__batch_opts_init(&o);
    o.codec = s->codec;
    o.producer_id = s->pid ? s->pid : -1;
    o.producer_epoch = s->pid > 0 ? s->epoch : -1;
    o.base_sequence = s->pid > 0 ? s->seq : -1;
    ck_assert_int_eq(kfk__batch_begin(&bw, w, &o), 0);
    static uint8_t big[65536];
    for (int i = 0; i < s->n; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        const char *key = s->keys ? s->keys[i] : k;
        const char *val = s->vals ? s->vals[i] : v;
        const void *vp = s->value_size ? (const void *)big : val;
        int32_t vlen = s->value_size ? (int32_t)s->value_size
                       : val         ? (int32_t)strlen(val)
                                     : -1;
        ck_assert_int_eq(kfk__batch_append(&bw, s->ts + i, key,
                                           (int32_t)strlen(key), vp, vlen, NULL,
                                           0),
                         0);
    }
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
}

/* Appends one batch built from s; returns the append's error. */
static int append(kfk__plog *log, const spec *s, kfk__plog_append_info *info)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    put(&w, s);
    int err =
        kfk__plog_append(log, w.data, w.len, 3, KFK__PLOG_CLIENT, NOW, info);
    kfk__wbuf_free(&w);
    return err;
}

static void append_n(kfk__plog *log, int n, int64_t ts)
{
    spec s = {.n = n, .ts = ts};
    ck_assert_int_eq(append(log, &s, NULL), 0);
}

static kfk__plog *mem_log(const kfk__plog_conf *conf)
{
    kfk__plog_conf def;
    kfk__plog *log;
    if (!conf) {
        kfk__plog_conf_init(&def);
        conf = &def;
    }
    ck_assert_int_eq(kfk__plog_open(NULL, conf, NOW, &log), 0);
    return log;
}

/* ---- reading everything back ------------------------------------------ */

typedef struct rec {
    int64_t off, ts;
    char key[32], val[32];
    bool tomb;
} rec;

/* Every record the log serves from its start, in order; returns how many. */
static int collect(const kfk__plog *log, rec *out, int max)
{
    kfk__wbuf all, dec;
    kfk__plog_read_info ri;
    kfk__batch b;
    int n = 0;
    kfk__wbuf_init(&all, 0);
    kfk__wbuf_init(&dec, 0);
    ck_assert_int_eq(kfk__plog_read_copy(log, kfk__plog_start_offset(log), -1,
                                         SIZE_MAX, true, &all, &ri),
                     0);
    for (size_t pos = 0; pos < all.len; pos += b.size) {
        kfk__rec_iter it;
        kfk__record r;
        ck_assert_int_eq(kfk__batch_parse(all.data + pos, all.len - pos, &b),
                         0);
        ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
        if (kfk__batch_is_control(&b))
            continue;
        ck_assert_int_eq(kfk__rec_iter_init(&it, &b, NULL, &dec, 1 << 26), 0);
        while (kfk__rec_iter_next(&it, &r) == 1) {
            if (r.offset < kfk__plog_start_offset(log))
                continue;
            ck_assert_int_lt(n, max);
            rec *o = &out[n++];
            memset(o, 0, sizeof(*o));
            o->off = r.offset;
            o->ts = r.timestamp;
            snprintf(o->key, sizeof(o->key), "%.*s", (int)r.key_len,
                     (const char *)r.key);
            o->tomb = r.value == NULL;
            if (r.value && r.value_len < 32)
                snprintf(o->val, sizeof(o->val), "%.*s", (int)r.value_len,
                         (const char *)r.value);
        }
    }
    kfk__wbuf_free(&all);
    kfk__wbuf_free(&dec);
    return n;
}

/* The whole log's bytes from its start. */
static void dump(const kfk__plog *log, kfk__wbuf *w)
{
    kfk__plog_read_info ri;
    kfk__wbuf_init(w, 0);
    ck_assert_int_eq(kfk__plog_read_copy(log, kfk__plog_start_offset(log), -1,
                                         SIZE_MAX, true, w, &ri),
                     0);
}

/* Reads from offset; returns the first batch's base offset (-1 if none). */
static int64_t first_base(const kfk__plog *log, int64_t offset,
                          kfk__plog_read_info *ri)
{
    kfk__plog_slice sl[8];
    kfk__batch b;
    ck_assert_int_eq(kfk__plog_read(log, offset, -1, 1 << 20, true, sl, 8, ri),
                     0);
    if (!ri->nslices)
        return -1;
    ck_assert_int_eq(kfk__batch_parse(sl[0].data, sl[0].len, &b), 0);
    return b.h.base_offset;
}

/* ---- temporary directories -------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_dir(char *buf)
{
    strcpy(buf, "/tmp/kfk-test-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
    strcat(buf, "/topic-0"); /* a missing directory: open creates it */
    return buf;
}

static void tmp_cleanup(char *buf)
{
    *strrchr(buf, '/') = '\0';
    rm_rf(buf);
}

static off_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

static void seg_file(char *out, size_t n, const char *dir, int64_t base)
{
    snprintf(out, n, "%s/%020lld.log", dir, (long long)base);
}

/* ---- appending and reading -------------------------------------------- */

START_TEST(test_roundtrip)
{
    kfk__plog *log = mem_log(NULL);
    kfk__plog_append_info ai;
    spec s = {.n = 5, .ts = NOW};
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 0);
    ck_assert_int_eq(ai.last_offset, 4);
    ck_assert_int_eq(ai.log_end_offset, 5);
    ck_assert_int_eq(ai.log_append_time, -1);
    ck_assert_int_eq(ai.max_timestamp, NOW + 4);
    s.n = 3;
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 5);
    ck_assert_int_eq(kfk__plog_end_offset(log), 8);
    ck_assert_int_eq(kfk__plog_start_offset(log), 0);
    ck_assert_int_eq(kfk__plog_batch_count(log), 2);

    kfk__plog_slice sl[4];
    kfk__plog_read_info ri;
    kfk__batch b;
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 1 << 20, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.nslices, 1); /* contiguous in one chunk */
    ck_assert_int_eq(ri.bytes, kfk__plog_size(log));
    ck_assert_int_eq(ri.next_offset, 8);
    ck_assert_int_eq(kfk__batch_parse(sl[0].data, sl[0].len, &b), 0);
    ck_assert_int_eq(b.h.base_offset, 0);
    ck_assert_int_eq(b.h.leader_epoch, 3);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert_int_eq(
        kfk__batch_parse(sl[0].data + b.size, sl[0].len - b.size, &b), 0);
    ck_assert_int_eq(b.h.base_offset, 5);

    rec r[16];
    ck_assert_int_eq(collect(log, r, 16), 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(r[i].off, i);
    ck_assert_str_eq(r[6].key, "k1");
    ck_assert_str_eq(r[6].val, "v1");
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_many_batches)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 16 << 10;
    kfk__plog *log = mem_log(&conf);
    int64_t expect = 0;
    for (int i = 0; i < 5000; i++) {
        spec s = {.n = 1 + i % 3, .ts = NOW + i};
        kfk__plog_append_info ai;
        ck_assert_int_eq(append(log, &s, &ai), 0);
        ck_assert_int_eq(ai.base_offset, expect);
        expect += s.n;
    }
    ck_assert_int_eq(kfk__plog_end_offset(log), expect);
    ck_assert_int_gt(kfk__plog_segment_count(log), 10);
    /* every offset is found in the batch that contains it */
    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 0);
    int64_t next = 0;
    while (kfk__plog_iter_next(&it, &b)) {
        ck_assert_int_eq(b.h.base_offset, next);
        next = kfk__batch_last_offset(&b) + 1;
    }
    ck_assert_int_eq(next, expect);
    for (int64_t off = 0; off < expect; off += 7) {
        kfk__plog_read_info ri;
        int64_t base = first_base(log, off, &ri);
        ck_assert_int_le(base, off);
        ck_assert_int_gt(base + 3, off);
    }
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_read_middle_and_bounds)
{
    kfk__plog *log = mem_log(NULL);
    kfk__plog_read_info ri;
    append_n(log, 10, NOW);                       /* 0..9 */
    append_n(log, 10, NOW);                       /* 10..19 */
    append_n(log, 10, NOW);                       /* 20..29 */
    ck_assert_int_eq(first_base(log, 5, &ri), 0); /* the containing batch */
    ck_assert_int_eq(ri.next_offset, 30);
    ck_assert_int_eq(first_base(log, 15, &ri), 10);
    ck_assert_int_eq(first_base(log, 29, &ri), 20);
    ck_assert_int_eq(first_base(log, 30, &ri), -1); /* the end: empty, ok */
    ck_assert_int_eq(ri.next_offset, 30);

    kfk__plog_slice sl[4];
    ck_assert_int_eq(kfk__plog_read(log, 31, -1, 100, true, sl, 4, &ri),
                     KFK_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(kfk__plog_read(log, -1, -1, 100, true, sl, 4, &ri),
                     KFK_ERR_OFFSET_OUT_OF_RANGE);

    /* upper bound (HW/LSO): never a batch reaching it */
    ck_assert_int_eq(kfk__plog_read(log, 0, 20, 1 << 20, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.next_offset, 20);
    ck_assert_int_eq(kfk__plog_read(log, 0, 15, 1 << 20, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.next_offset, 10);
    ck_assert_int_eq(kfk__plog_read(log, 12, 15, 1 << 20, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.bytes, 0);

    /* max_bytes and KIP-74 */
    size_t one = kfk__plog_size(log) / 3;
    ck_assert_int_eq(
        kfk__plog_read(log, 0, -1, 2 * one + one / 2, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.bytes, 2 * one);
    ck_assert_int_eq(ri.next_offset, 20);
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 10, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.bytes, one); /* the first batch whole */
    ck_assert_int_eq(ri.next_offset, 10);
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 10, false, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.bytes, 0);
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 0, true, sl, 4, &ri), 0);
    ck_assert_int_eq(ri.bytes, one);

    /* copying read: same bytes as the slices */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 1 << 20, true, sl, 4, &ri), 0);
    ck_assert_int_eq(kfk__plog_read_copy(log, 0, -1, 1 << 20, true, &w, &ri),
                     0);
    ck_assert_int_eq(w.len, sl[0].len);
    ck_assert_mem_eq(w.data, sl[0].data, w.len);
    kfk__wbuf_free(&w);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_slices_survive_appends)
{
    kfk__plog *log = mem_log(NULL);
    kfk__plog_slice sl[64];
    kfk__plog_read_info ri;
    spec s = {.n = 4, .ts = NOW, .value_size = 3000};
    ck_assert_int_eq(append(log, &s, NULL), 0);
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 1 << 20, true, sl, 1, &ri), 0);
    const uint8_t *p = sl[0].data;
    uint8_t copy[16384];
    ck_assert_uint_le(sl[0].len, sizeof(copy));
    memcpy(copy, p, sl[0].len);
    for (int i = 0; i < 200; i++) /* several new chunks */
        ck_assert_int_eq(append(log, &s, NULL), 0);
    ck_assert_mem_eq(p, copy, sl[0].len);
    /* a read across chunks: one slice per chunk, limited by max_slices */
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, SIZE_MAX, true, sl, 64, &ri),
                     0);
    ck_assert_int_gt(ri.nslices, 1);
    ck_assert_int_eq(ri.next_offset, kfk__plog_end_offset(log));
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, SIZE_MAX, true, sl, 1, &ri), 0);
    ck_assert_int_eq(ri.nslices, 1);
    ck_assert_int_lt(ri.next_offset, kfk__plog_end_offset(log));
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_validation)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.max_message_bytes = 2000;
    kfk__plog *log = mem_log(&conf);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    spec s = {.n = 3, .ts = NOW};
    put(&w, &s);

    /* a flipped byte: CRC */
    w.data[w.len - 1] ^= 1;
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_CORRUPT_MESSAGE);
    w.data[w.len - 1] ^= 1;
    /* cut short */
    ck_assert_int_eq(kfk__plog_append(log, w.data, w.len - 1, 0,
                                      KFK__PLOG_CLIENT, NOW, NULL),
                     KFK_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, 0, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_INVALID_RECORD);
    /* magic 1 */
    w.data[KFK__BATCH_MAGIC_POS] = 1;
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_INVALID_RECORD);
    w.data[KFK__BATCH_MAGIC_POS] = 2;
    /* a valid batch followed by garbage: nothing is appended */
    size_t good = w.len;
    kfk__wr_raw(&w, "garbage-garbage-garbage", 23);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(kfk__plog_end_offset(log), 0);
    /* two valid batches in one call */
    w.len = good;
    put(&w, &s);
    kfk__plog_append_info ai;
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, &ai), 0);
    ck_assert_int_eq(ai.nbatches, 2);
    ck_assert_int_eq(ai.last_offset, 5);
    ck_assert_int_eq(first_base(log, 4, &(kfk__plog_read_info){0}), 3);

    /* too large */
    kfk__wbuf_reset(&w);
    spec big = {.n = 2, .ts = NOW, .value_size = 1500};
    put(&w, &big);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_MESSAGE_TOO_LARGE);

    /* control batches: only from the coordinator */
    kfk__batch_opts o;
    kfk__batch_opts_init(&o);
    o.producer_id = 7;
    o.producer_epoch = 0;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(
        kfk__batch_write_marker(&w, &o, NOW, KFK__CONTROL_COMMIT, 0), 0);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        KFK_ERR_INVALID_RECORD);
    ck_assert_int_eq(kfk__plog_append(log, w.data, w.len, 0,
                                      KFK__PLOG_COORDINATOR, NOW, &ai),
                     0);
    ck_assert_int_eq(ai.base_offset, 6);
    ck_assert_int_eq(kfk__plog_end_offset(log), 7);
    kfk__wbuf_free(&w);
    kfk__plog_close(log);
}
END_TEST

/* ---- timestamps ------------------------------------------------------- */

START_TEST(test_timestamps)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 400;
    kfk__plog *log = mem_log(&conf);
    int64_t off, ts;
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 0, -1, &off, &ts), 0);
    ck_assert_int_eq(off, -1);
    ck_assert_int_eq(kfk__plog_max_timestamp(log, -1, &off, &ts), 0);
    ck_assert_int_eq(off, -1);

    for (int i = 0; i < 10; i++) { /* 0..49, ts 1000 + 100*i + j */
        spec s = {
            .n = 5, .ts = 1000 + 100 * i, .codec = i % 2 ? KFK__CODEC_GZIP : 0};
        ck_assert_int_eq(append(log, &s, NULL), 0);
    }
    /* a batch whose largest timestamp is in the middle */
    const char *keys[] = {"a", "b", "c"};
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__wbuf_init(&w, 0);
    kfk__batch_begin(&bw, &w, NULL);
    kfk__batch_append(&bw, 5000, keys[0], 1, "x", 1, NULL, 0);
    kfk__batch_append(&bw, 9000, keys[1], 1, "x", 1, NULL, 0);
    kfk__batch_append(&bw, 9000, keys[2], 1, "x", 1, NULL, 0);
    kfk__batch_finish(&bw, NULL);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW, NULL),
        0);                 /* 50..52 */
    append_n(log, 2, 2000); /* 53..54: older timestamps again */
    kfk__wbuf_free(&w);
    ck_assert_int_gt(kfk__plog_segment_count(log), 2);

    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 0, -1, &off, &ts), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ts, 1000);
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 1302, -1, &off, &ts),
                     0);
    ck_assert_int_eq(off, 17); /* inside a gzip batch */
    ck_assert_int_eq(ts, 1302);
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 1450, -1, &off, &ts),
                     0);
    ck_assert_int_eq(off, 25);
    ck_assert_int_eq(ts, 1500);
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 6000, -1, &off, &ts),
                     0);
    ck_assert_int_eq(off, 51);
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 9001, -1, &off, &ts),
                     0);
    ck_assert_int_eq(off, -1);
    ck_assert_int_eq(ts, -1);
    /* beyond the upper bound: none */
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 6000, 50, &off, &ts),
                     0);
    ck_assert_int_eq(off, -1);

    ck_assert_int_eq(kfk__plog_max_timestamp(log, -1, &off, &ts), 0);
    ck_assert_int_eq(off, 51); /* the first record with the largest */
    ck_assert_int_eq(ts, 9000);

    /* after DeleteRecords, nothing below the start is reported */
    ck_assert_int_eq(kfk__plog_delete_records(log, 18, NULL), 0);
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 0, -1, &off, &ts), 0);
    ck_assert_int_eq(off, 18);
    ck_assert_int_eq(ts, 1303);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_log_append_time)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.log_append_time = true;
    kfk__plog *log = mem_log(&conf);
    kfk__plog_append_info ai;
    spec s = {.n = 3, .ts = 42, .codec = KFK__CODEC_LZ4};
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.log_append_time, NOW);

    kfk__plog_slice sl[1];
    kfk__plog_read_info ri;
    kfk__batch b;
    ck_assert_int_eq(kfk__plog_read(log, 0, -1, 1 << 20, true, sl, 1, &ri), 0);
    ck_assert_int_eq(kfk__batch_parse(sl[0].data, sl[0].len, &b), 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert(b.h.attributes & KFK__ATTR_LOG_APPEND_TIME);
    ck_assert_int_eq(b.h.max_timestamp, NOW);
    rec r[4];
    ck_assert_int_eq(collect(log, r, 4), 3);
    ck_assert_int_eq(r[2].ts, NOW);

    int64_t off, ts;
    ck_assert_int_eq(kfk__plog_offset_for_timestamp(log, 43, -1, &off, &ts), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ts, NOW);

    /* many batches in one call (the staging spills to the heap); the
     * caller's bytes stay as they were */
    kfk__wbuf w, copy;
    kfk__wbuf_init(&w, 0);
    kfk__wbuf_init(&copy, 0);
    for (int i = 0; i < 20; i++)
        put(&w, &s);
    kfk__wr_raw(&copy, w.data, w.len);
    kfk__alloc_fail_after(0);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 1, KFK__PLOG_CLIENT, NOW + 1, &ai),
        KFK_ERR__NOMEM);
    kfk__alloc_fail_after(-1);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 1, KFK__PLOG_CLIENT, NOW + 1, &ai),
        0);
    ck_assert_int_eq(ai.nbatches, 20);
    ck_assert_int_eq(ai.base_offset, 3);
    ck_assert_mem_eq(w.data, copy.data, w.len);
    kfk__plog_iter it;
    kfk__plog_iter_init(&it, log, 3);
    int64_t next = 3;
    while (kfk__plog_iter_next(&it, &b)) {
        ck_assert_int_eq(b.h.base_offset, next);
        ck_assert_int_eq(b.h.leader_epoch, 1);
        ck_assert_int_eq(b.h.max_timestamp, NOW + 1);
        ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
        next += 3;
    }
    ck_assert_int_eq(next, 63);
    rec all[64];
    ck_assert_int_eq(collect(log, all, 64), 63);
    ck_assert_int_eq(all[62].ts, NOW + 1);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&copy);
    kfk__plog_close(log);
}
END_TEST

/* ---- removing data ---------------------------------------------------- */

START_TEST(test_delete_records)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 300;
    kfk__plog *log = mem_log(&conf);
    for (int i = 0; i < 20; i++)
        append_n(log, 4, NOW); /* 0..79 */
    size_t segs = kfk__plog_segment_count(log);
    uint64_t size = kfk__plog_size(log);
    int64_t low;
    ck_assert_int_eq(kfk__plog_delete_records(log, 81, &low),
                     KFK_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(kfk__plog_delete_records(log, -1, &low),
                     KFK_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(kfk__plog_delete_records(log, 30, &low), 0);
    ck_assert_int_eq(low, 30);
    ck_assert_int_eq(kfk__plog_start_offset(log), 30);
    ck_assert_int_lt(kfk__plog_segment_count(log), segs);
    ck_assert_int_lt(kfk__plog_size(log), size);

    kfk__plog_read_info ri;
    kfk__plog_slice sl[2];
    ck_assert_int_eq(kfk__plog_read(log, 29, -1, 1000, true, sl, 2, &ri),
                     KFK_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(first_base(log, 30, &ri), 28); /* the straddling batch */
    ck_assert_int_eq(kfk__plog_delete_records(log, 10, &low), 0); /* no-op */
    ck_assert_int_eq(low, 30);
    rec r[100];
    int n = collect(log, r, 100);
    ck_assert_int_eq(n, 50);
    ck_assert_int_eq(r[0].off, 30);

    /* everything: the log is empty but keeps its end */
    ck_assert_int_eq(kfk__plog_delete_records(log, 80, &low), 0);
    ck_assert_int_eq(low, 80);
    ck_assert_int_eq(collect(log, r, 100), 0);
    kfk__plog_append_info ai;
    spec s = {.n = 1, .ts = NOW};
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 80);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_retention_time)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 250;
    conf.retention_ms = 60000;
    kfk__plog *log = mem_log(&conf);
    for (int i = 0; i < 10; i++)
        append_n(log, 3, NOW - 120000); /* old */
    int64_t old_end = kfk__plog_end_offset(log);
    for (int i = 0; i < 10; i++)
        append_n(log, 3, NOW - 1000); /* recent */
    size_t deleted;
    ck_assert_int_eq(kfk__plog_enforce_retention(log, NOW, -1, &deleted), 0);
    ck_assert_int_gt(deleted, 0);
    ck_assert_int_le(kfk__plog_start_offset(log), old_end);
    ck_assert_int_gt(kfk__plog_start_offset(log), old_end - 6);
    rec r[100];
    int n = collect(log, r, 100);
    ck_assert_int_ge(n, 30);
    ck_assert_int_eq(r[n - 1].off, 59);

    /* the high watermark holds segments back */
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 250;
    conf.retention_ms = 60000;
    kfk__plog *log2 = mem_log(&conf);
    for (int i = 0; i < 10; i++)
        append_n(log2, 3, NOW - 120000);
    ck_assert_int_eq(kfk__plog_enforce_retention(log2, NOW, 0, &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    /* all expired: even the active segment goes; a new one continues */
    ck_assert_int_eq(kfk__plog_enforce_retention(log2, NOW, -1, &deleted), 0);
    ck_assert_int_gt(deleted, 0);
    ck_assert_int_eq(kfk__plog_start_offset(log2), 30);
    ck_assert_int_eq(kfk__plog_end_offset(log2), 30);
    ck_assert_int_eq(kfk__plog_size(log2), 0);
    kfk__plog_append_info ai;
    spec s = {.n = 1, .ts = NOW};
    ck_assert_int_eq(append(log2, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 30);
    /* retention.ms -1 keeps everything */
    kfk__plog_conf_init(&conf);
    conf.retention_ms = -1;
    ck_assert_int_eq(kfk__plog_set_conf(log, &conf), 0);
    ck_assert_int_eq(kfk__plog_enforce_retention(log, NOW * 2, -1, &deleted),
                     0);
    ck_assert_int_eq(deleted, 0);
    kfk__plog_close(log);
    kfk__plog_close(log2);
}
END_TEST

START_TEST(test_retention_bytes_bounds_memory)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 64 << 10;
    conf.retention_bytes = 256 << 10;
    kfk__plog *log = mem_log(&conf);
    spec s = {.n = 4, .ts = NOW, .value_size = 1000};
    uint64_t max = 0;
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(append(log, &s, NULL), 0);
        if (i % 10 == 0)
            ck_assert_int_eq(kfk__plog_enforce_retention(log, NOW, -1, NULL),
                             0);
        if (kfk__plog_size(log) > max)
            max = kfk__plog_size(log);
    }
    /* retention.bytes is what stays at least (Kafka deletes a segment only
     * if the rest is still that big); one more segment and the appends
     * between two enforcements come on top */
    ck_assert_int_le(max, (uint64_t)(256 + 64 + 48) << 10);
    ck_assert_int_eq(kfk__plog_enforce_retention(log, NOW, -1, NULL), 0);
    ck_assert_int_ge(kfk__plog_size(log), 256 << 10);
    ck_assert_int_le(kfk__plog_size(log), (256 + 64) << 10);
    ck_assert_int_eq(kfk__plog_end_offset(log), 8000);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_truncate_and_epochs)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 300;
    kfk__plog *log = mem_log(&conf);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    spec s = {.n = 5, .ts = NOW};
    put(&w, &s);
    int32_t e;
    int64_t end;
    kfk__plog_epoch_end(log, 0, &e, &end);
    ck_assert_int_eq(e, -1);
    for (int i = 0; i < 10; i++) /* epoch 1: 0..24, epoch 4: 25..49 */
        ck_assert_int_eq(kfk__plog_append(log, w.data, w.len, i < 5 ? 1 : 4,
                                          KFK__PLOG_CLIENT, NOW, NULL),
                         0);
    ck_assert_int_eq(kfk__plog_latest_epoch(log), 4);
    ck_assert_int_eq(kfk__plog_assign_epoch(log, 6), 0); /* leader change */
    kfk__plog_epoch_end(log, 6, &e, &end);
    ck_assert_int_eq(e, 6);
    ck_assert_int_eq(end, 50);
    kfk__plog_epoch_end(log, 4, &e, &end);
    ck_assert_int_eq(e, 4);
    ck_assert_int_eq(end, 50);
    kfk__plog_epoch_end(log, 2, &e, &end);
    ck_assert_int_eq(e, 1);
    ck_assert_int_eq(end, 25);
    kfk__plog_epoch_end(log, 0, &e, &end);
    ck_assert_int_eq(e, 0);
    ck_assert_int_eq(end, 0);
    kfk__plog_epoch_end(log, 7, &e, &end);
    ck_assert_int_eq(e, -1);

    /* truncating inside a batch drops it whole */
    ck_assert_int_eq(kfk__plog_truncate_to(log, 32, &end), 0);
    ck_assert_int_eq(end, 30);
    ck_assert_int_eq(kfk__plog_end_offset(log), 30);
    ck_assert_int_eq(kfk__plog_latest_epoch(log), 4);
    kfk__plog_epoch_end(log, 4, &e, &end);
    ck_assert_int_eq(end, 30);
    rec r[64];
    ck_assert_int_eq(collect(log, r, 64), 30);
    kfk__plog_append_info ai;
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 7, KFK__PLOG_CLIENT, NOW, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 30);
    ck_assert_int_eq(kfk__plog_truncate_to(log, 100, &end), 0); /* no-op */
    ck_assert_int_eq(end, 35);

    /* below the start: everything goes, the log restarts there */
    ck_assert_int_eq(kfk__plog_delete_records(log, 20, NULL), 0);
    ck_assert_int_eq(kfk__plog_truncate_to(log, 10, &end), 0);
    ck_assert_int_eq(end, 10);
    ck_assert_int_eq(kfk__plog_start_offset(log), 10);
    ck_assert_int_eq(kfk__plog_size(log), 0);
    ck_assert_int_eq(
        kfk__plog_append(log, w.data, w.len, 8, KFK__PLOG_CLIENT, NOW, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 10);
    kfk__wbuf_free(&w);
    kfk__plog_close(log);
}
END_TEST

/* ---- compaction ------------------------------------------------------- */

static void put_kv(kfk__plog *log, const char *k, const char *v, int codec)
{
    const char *keys[] = {k}, *vals[] = {v};
    spec s = {.n = 1, .ts = NOW, .keys = keys, .vals = vals, .codec = codec};
    ck_assert_int_eq(append(log, &s, NULL), 0);
}

static const rec *find_key(const rec *r, int n, const char *key, int *count)
{
    const rec *last = NULL;
    *count = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(r[i].key, key)) {
            last = &r[i];
            (*count)++;
        }
    }
    return last;
}

static kfk__plog_conf compact_conf(void)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.cleanup_compact = true;
    conf.cleanup_delete = false;
    conf.segment_bytes = 500;
    conf.delete_retention_ms = 1000;
    return conf;
}

static void check_compaction(kfk__plog *log, int codec)
{
    char k[16], v[16];
    for (int round = 0; round < 10; round++) { /* 100 records, 10 keys */
        for (int i = 0; i < 10; i++) {
            snprintf(k, sizeof(k), "key%d", i);
            snprintf(v, sizeof(v), "r%d", round);
            put_kv(log, k, v, codec);
        }
    }
    put_kv(log, "key3", NULL, codec); /* a tombstone, offset 100 */
    /* the active segment gets its own fresh values */
    kfk__plog_conf conf = compact_conf();
    conf.segment_bytes = 1 << 20;
    ck_assert_int_eq(kfk__plog_set_conf(log, &conf), 0);
    put_kv(log, "key9", "head", codec); /* still in the old active segment? */
    conf.segment_ms = 0; /* force a roll so key9=head is cleanable */
    ck_assert_int_eq(kfk__plog_set_conf(log, &conf), 0);
    put_kv(log, "key0", "active", codec);
    conf.segment_ms = -1;
    ck_assert_int_eq(kfk__plog_set_conf(log, &conf), 0);
    int64_t end = kfk__plog_end_offset(log);
    ck_assert_int_eq(end, 103);

    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 102);
    ck_assert(kfk__plog_iter_next(&it, &b));
    uint8_t active_copy[256];
    size_t active_len = b.size;
    memcpy(active_copy, b.data, b.size);

    kfk__plog_compact_info ci;
    size_t segs = kfk__plog_segment_count(log);
    ck_assert_int_eq(kfk__plog_compact(log, NOW, -1, &ci), 0);
    ck_assert_int_gt(ci.segments, 0);
    ck_assert_int_lt(kfk__plog_segment_count(log), segs);
    ck_assert_int_eq(kfk__plog_end_offset(log), end);

    rec r[200];
    int n = collect(log, r, 200), cnt;
    ck_assert_int_lt(n, 20);
    for (int i = 1; i < n; i++)
        ck_assert_int_lt(r[i - 1].off, r[i].off); /* order and offsets kept */
    const rec *x = find_key(r, n, "key5", &cnt);
    ck_assert_int_eq(cnt, 1);
    ck_assert_str_eq(x->val, "r9");
    ck_assert_int_eq(x->off, 95);
    x = find_key(r, n, "key3", &cnt); /* the tombstone stays for now */
    ck_assert_int_eq(cnt, 1);
    ck_assert(x->tomb);
    ck_assert_int_eq(x->off, 100);
    x = find_key(r, n, "key9", &cnt);
    ck_assert_int_eq(cnt, 1);
    ck_assert_str_eq(x->val, "head");
    /* key0 in the active segment does not remove the older key0 */
    x = find_key(r, n, "key0", &cnt);
    ck_assert_int_eq(cnt, 2);
    ck_assert_str_eq(x->val, "active");
    ck_assert_int_eq(x->off, 102);
    /* the active segment is untouched */
    kfk__plog_iter_init(&it, log, 102);
    ck_assert(kfk__plog_iter_next(&it, &b));
    ck_assert_int_eq(b.size, active_len);
    ck_assert_mem_eq(b.data, active_copy, active_len);
    /* reads from a removed offset land on the next record */
    kfk__plog_read_info ri;
    ck_assert_int_eq(first_base(log, 3, &ri), 90);

    /* nothing new: a second run returns at once */
    ck_assert_int_eq(kfk__plog_compact(log, NOW + 10, -1, &ci), 0);
    ck_assert_int_eq(ci.segments, 0);
    /* past delete.retention.ms the tombstone goes */
    ck_assert_int_eq(kfk__plog_compact(log, NOW + 5000, -1, &ci), 0);
    n = collect(log, r, 200);
    find_key(r, n, "key3", &cnt);
    ck_assert_int_eq(cnt, 0);
    x = find_key(r, n, "key5", &cnt);
    ck_assert_int_eq(cnt, 1);
    append_n(log, 1, NOW); /* appends continue at the end */
    ck_assert_int_eq(kfk__plog_end_offset(log), 104);
}

START_TEST(test_compaction)
{
    kfk__plog_conf conf = compact_conf();
    kfk__plog *log = mem_log(&conf);
    check_compaction(log, KFK__CODEC_NONE);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_compaction_compressed_batches)
{
    kfk__plog_conf conf = compact_conf();
    conf.segment_bytes = 2000;
    kfk__plog *log = mem_log(&conf);
    const char *keys[] = {"a", "b", "a", "c", "b", "a"};
    const char *vals[] = {"1", "2", "3", "4", "5", "6"};
    for (int i = 0; i < 20; i++) {
        spec s = {.n = 6,
                  .ts = NOW,
                  .keys = keys,
                  .vals = vals,
                  .codec = KFK__CODEC_ZSTD};
        ck_assert_int_eq(append(log, &s, NULL), 0);
    }
    conf.segment_ms = 0;
    kfk__plog_set_conf(log, &conf);
    append_n(log, 1, NOW); /* roll: everything before is cleanable */
    ck_assert_int_eq(kfk__plog_compact(log, NOW, -1, NULL), 0);
    rec r[200];
    int n = collect(log, r, 200);
    ck_assert_int_eq(n, 4); /* a, c, b from the last batch + the new one */
    ck_assert_str_eq(r[0].key, "c");
    ck_assert_int_eq(r[0].off, 6 * 19 + 3);
    ck_assert_str_eq(r[1].val, "5");
    ck_assert_str_eq(r[2].val, "6");
    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 0);
    ck_assert(kfk__plog_iter_next(&it, &b));
    ck_assert_int_eq(kfk__batch_codec(&b), KFK__CODEC_ZSTD);
    ck_assert_int_eq(b.h.base_offset, 6 * 19);
    ck_assert_int_eq(b.h.last_offset_delta, 5); /* kept */
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_compaction_keeps_producer_state)
{
    kfk__plog_conf conf = compact_conf();
    kfk__plog *log = mem_log(&conf);
    const char *k[] = {"x"}, *v1[] = {"old"}, *v2[] = {"new"};
    spec s = {.n = 1,
              .ts = NOW,
              .keys = k,
              .vals = v1,
              .pid = 77,
              .epoch = 2,
              .seq = 0};
    ck_assert_int_eq(append(log, &s, NULL), 0); /* 0: pid 77's last batch */
    s.pid = 0;
    s.vals = v2;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(append(log, &s, NULL), 0); /* 1..10 */
    conf.segment_ms = 0;
    kfk__plog_set_conf(log, &conf);
    append_n(log, 1, NOW);
    ck_assert_int_eq(kfk__plog_compact(log, NOW, -1, NULL), 0);
    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 0);
    ck_assert(kfk__plog_iter_next(&it, &b));
    ck_assert_int_eq(b.h.base_offset, 0);
    ck_assert_int_eq(b.h.count, 0); /* emptied, but kept */
    ck_assert_int_eq(b.h.producer_id, 77);
    ck_assert_int_eq(b.h.producer_epoch, 2);
    ck_assert_int_eq(b.h.base_sequence, 0);
    ck_assert_int_eq(kfk__batch_check_crc(&b), 0);
    ck_assert(kfk__plog_iter_next(&it, &b));
    ck_assert_int_eq(b.h.base_offset, 10);
    kfk__plog_close(log);
}
END_TEST

/* ---- durability ------------------------------------------------------- */

static kfk__plog *open_dir(const char *dir, const kfk__plog_conf *conf)
{
    kfk__plog *log;
    ck_assert_int_eq(kfk__plog_open(dir, conf, NOW, &log), 0);
    return log;
}

START_TEST(test_durable_reopen)
{
    char dir[64];
    tmp_dir(dir);
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 1000;
    kfk__plog *log = open_dir(dir, &conf);
    for (int i = 0; i < 50; i++)
        append_n(log, 1 + i % 4, NOW + i);
    ck_assert_int_eq(kfk__plog_assign_epoch(log, 9), 0);
    ck_assert_int_eq(kfk__plog_delete_records(log, 7, NULL), 0);
    ck_assert_int_eq(kfk__plog_flush(log), 0);
    kfk__wbuf before, after;
    dump(log, &before);
    int64_t end = kfk__plog_end_offset(log);
    size_t segs = kfk__plog_segment_count(log);
    ck_assert_int_gt(segs, 3);
    kfk__plog_close(log);

    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), end);
    ck_assert_int_eq(kfk__plog_start_offset(log), 7);
    ck_assert_int_eq(kfk__plog_segment_count(log), segs);
    dump(log, &after);
    ck_assert_int_eq(after.len, before.len);
    ck_assert_mem_eq(after.data, before.data, before.len);
    int32_t e;
    int64_t eo;
    kfk__plog_epoch_end(log, 3, &e, &eo);
    ck_assert_int_eq(e, 3);
    ck_assert_int_eq(eo, end); /* epoch 9 starts at the end (no data yet) */
    int64_t off, ts;
    ck_assert_int_eq(kfk__plog_max_timestamp(log, -1, &off, &ts), 0);
    ck_assert_int_eq(ts, NOW + 50); /* batches 47 and 49 */
    kfk__plog_append_info ai;
    spec s = {.n = 2, .ts = NOW};
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, end);
    kfk__plog_close(log);

    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), end + 2);
    kfk__plog_close(log);
    kfk__wbuf_free(&before);
    kfk__wbuf_free(&after);
    tmp_cleanup(dir);
}
END_TEST

START_TEST(test_durable_torn_tail)
{
    char dir[64], path[128];
    tmp_dir(dir);
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    kfk__plog *log = open_dir(dir, &conf);
    for (int i = 0; i < 10; i++)
        append_n(log, 3, NOW);
    kfk__plog_close(log);
    seg_file(path, sizeof(path), dir, 0);
    off_t good = file_size(path);

    /* a partial batch at the end (the first 40 bytes of a real one) */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    spec s = {.n = 3, .ts = NOW};
    put(&w, &s);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, w.data, 40), 40);
    close(fd);
    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), 30);
    ck_assert_int_eq(file_size(path), good);
    kfk__plog_append_info ai;
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 30);
    kfk__plog_close(log);

    /* garbage after the last batch */
    fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "\0\0\0\0\0\0\0\0garbage!", 15), 15);
    close(fd);
    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), 33);
    rec r[64];
    ck_assert_int_eq(collect(log, r, 64), 33);
    kfk__plog_close(log);

    /* a flipped byte in the middle of the last batch: its CRC catches it */
    off_t size = file_size(path);
    fd = open(path, O_RDWR);
    uint8_t byte;
    ck_assert_int_eq(pread(fd, &byte, 1, size - (off_t)w.len / 2), 1);
    byte ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &byte, 1, size - (off_t)w.len / 2), 1);
    close(fd);
    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), 30);
    ck_assert_int_eq(file_size(path), good);
    ck_assert_int_eq(collect(log, r, 64), 30);
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, 30);
    kfk__plog_close(log);
    kfk__wbuf_free(&w);
    tmp_cleanup(dir);
}
END_TEST

START_TEST(test_durable_corrupt_middle_segment)
{
    char dir[64], path[128];
    tmp_dir(dir);
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 300;
    kfk__plog *log = open_dir(dir, &conf);
    for (int i = 0; i < 20; i++)
        append_n(log, 2, NOW);
    ck_assert_int_gt(kfk__plog_segment_count(log), 4);
    kfk__plog_close(log);
    /* damage the second segment's first batch: the log ends before it */
    int64_t second = -1;
    log = open_dir(dir, &conf);
    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 0);
    while (kfk__plog_iter_next(&it, &b) && second < 0) {
        seg_file(path, sizeof(path), dir, b.h.base_offset);
        if (b.h.base_offset > 0 && access(path, F_OK) == 0)
            second = b.h.base_offset;
    }
    kfk__plog_close(log);
    ck_assert_int_gt(second, 0);
    int fd = open(path, O_RDWR);
    ck_assert_int_eq(pwrite(fd, "XX", 2, 30), 2);
    close(fd);
    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_end_offset(log), second);
    ck_assert_int_eq(kfk__plog_segment_count(log), 2); /* the cut one stays */
    kfk__plog_append_info ai;
    spec s = {.n = 1, .ts = NOW};
    ck_assert_int_eq(append(log, &s, &ai), 0);
    ck_assert_int_eq(ai.base_offset, second);
    kfk__plog_close(log);
    tmp_cleanup(dir);
}
END_TEST

START_TEST(test_durable_retention_and_compaction)
{
    char dir[64];
    tmp_dir(dir);
    kfk__plog_conf conf = compact_conf();
    kfk__plog *log = open_dir(dir, &conf);
    check_compaction(log, KFK__CODEC_SNAPPY);
    kfk__wbuf before, after;
    dump(log, &before);
    int64_t end = kfk__plog_end_offset(log);
    kfk__plog_close(log);

    /* debris of an interrupted compaction is removed */
    char path[128];
    snprintf(path, sizeof(path), "%s/%020d.log.cleaned", dir, 0);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_eq(write(fd, "junk", 4), 4);
    close(fd);
    log = open_dir(dir, &conf);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(kfk__plog_end_offset(log), end);
    dump(log, &after);
    ck_assert_int_eq(after.len, before.len);
    ck_assert_mem_eq(after.data, before.data, before.len);

    /* retention by time removes the files */
    conf.cleanup_delete = true;
    conf.retention_ms = 1000;
    ck_assert_int_eq(kfk__plog_set_conf(log, &conf), 0);
    ck_assert_int_eq(kfk__plog_enforce_retention(log, NOW + 100000, -1, NULL),
                     0);
    ck_assert_int_eq(kfk__plog_size(log), 0);
    ck_assert_int_eq(kfk__plog_start_offset(log), end);
    kfk__plog_close(log);
    log = open_dir(dir, &conf);
    ck_assert_int_eq(kfk__plog_start_offset(log), end);
    ck_assert_int_eq(kfk__plog_end_offset(log), end);
    ck_assert_int_eq(kfk__plog_segment_count(log), 1);
    kfk__plog_close(log);
    kfk__wbuf_free(&before);
    kfk__wbuf_free(&after);
    tmp_cleanup(dir);
}
END_TEST

START_TEST(test_durable_swap_recovery)
{
    char dir[64], from[128], to[160];
    tmp_dir(dir);
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 300;
    kfk__plog *log = open_dir(dir, &conf);
    for (int i = 0; i < 12; i++)
        append_n(log, 2, NOW);
    kfk__plog_close(log);
    /* pretend a compaction merged segments [0, 2nd) and committed: its
     * output (here a copy of segment 0) was renamed to .swap.<end> */
    int64_t bases[16];
    int nb = 0;
    log = open_dir(dir, &conf);
    kfk__plog_iter it;
    kfk__batch b;
    kfk__plog_iter_init(&it, log, 0);
    while (kfk__plog_iter_next(&it, &b)) {
        seg_file(from, sizeof(from), dir, b.h.base_offset);
        if (access(from, F_OK) == 0)
            bases[nb++] = b.h.base_offset;
    }
    kfk__plog_close(log);
    ck_assert_int_ge(nb, 3);
    seg_file(from, sizeof(from), dir, 0);
    snprintf(to, sizeof(to), "%s/%020d.log.swap.%020lld", dir, 0,
             (long long)bases[2]);
    ck_assert_int_eq(link(from, to), 0);
    log = open_dir(dir, &conf);
    seg_file(from, sizeof(from), dir, bases[1]);
    ck_assert_int_ne(access(from, F_OK), 0); /* the other input went */
    ck_assert_int_ne(access(to, F_OK), 0);
    ck_assert_int_eq(kfk__plog_start_offset(log), 0);
    kfk__plog_read_info ri;
    ck_assert_int_eq(first_base(log, bases[1], &ri), bases[2]);
    kfk__plog_close(log);
    tmp_cleanup(dir);
}
END_TEST

/* ---- allocation failures ---------------------------------------------- */

START_TEST(test_append_nomem)
{
    kfk__plog_conf conf;
    kfk__plog_conf_init(&conf);
    conf.segment_bytes = 100000;
    kfk__plog *log = mem_log(&conf);
    kfk__wbuf w, before, after;
    kfk__wbuf_init(&w, 0);
    spec s = {.n = 5, .ts = NOW, .value_size = 2000};
    put(&w, &s);
    int failures = 0;
    for (int i = 0; i < 120; i++) {
        dump(log, &before);
        int64_t end = kfk__plog_end_offset(log);
        kfk__alloc_fail_after(i % 4);
        int err = kfk__plog_append(log, w.data, w.len, 0, KFK__PLOG_CLIENT, NOW,
                                   NULL);
        kfk__alloc_fail_after(-1);
        dump(log, &after);
        if (err) {
            ck_assert_int_eq(err, KFK_ERR__NOMEM);
            failures++;
            ck_assert_int_eq(kfk__plog_end_offset(log), end);
            ck_assert_int_eq(after.len, before.len);
        } else {
            ck_assert_int_eq(kfk__plog_end_offset(log), end + 5);
            ck_assert_int_eq(after.len, before.len + w.len);
        }
        if (before.len)
            ck_assert_mem_eq(after.data, before.data, before.len);
        kfk__wbuf_free(&before);
        kfk__wbuf_free(&after);
    }
    ck_assert_int_gt(failures, 0);
    rec r[2000];
    ck_assert_int_eq(collect(log, r, 2000), kfk__plog_end_offset(log));
    kfk__wbuf_free(&w);
    kfk__plog_close(log);
}
END_TEST

START_TEST(test_open_and_compact_nomem)
{
    char dir[64];
    tmp_dir(dir);
    kfk__plog_conf conf = compact_conf();
    kfk__plog *log = open_dir(dir, &conf);
    for (int i = 0; i < 40; i++)
        put_kv(log, i % 2 ? "a" : "b", "v", KFK__CODEC_NONE);
    conf.segment_ms = 0;
    kfk__plog_set_conf(log, &conf);
    append_n(log, 1, NOW);
    conf.segment_ms = -1;
    kfk__plog_set_conf(log, &conf);
    kfk__plog_close(log);
    /* open fails cleanly at every allocation, then works */
    for (int i = 0;; i++) {
        kfk__alloc_fail_after(i);
        int err = kfk__plog_open(dir, &conf, NOW, &log);
        kfk__alloc_fail_after(-1);
        if (!err)
            break;
        ck_assert_int_eq(err, KFK_ERR__NOMEM);
        ck_assert_ptr_null(log);
    }
    kfk__plog_close(log);
    /* compaction: a failure leaves a consistent log (groups already
     * swapped stay swapped), in memory and on disk; a retry finishes */
    for (int i = 0;; i++) {
        rec r[64];
        log = open_dir(dir, &conf);
        kfk__alloc_fail_after(i);
        int err = kfk__plog_compact(log, NOW, -1, NULL);
        kfk__alloc_fail_after(-1);
        for (int pass = 0; pass < 2; pass++) {
            int n = collect(log, r, 64);
            ck_assert_int_ge(n, 3);
            ck_assert_int_eq(r[n - 3].off, 38); /* latest b, a, and the tail */
            ck_assert_int_eq(r[n - 2].off, 39);
            ck_assert_int_eq(r[n - 1].off, 40);
            ck_assert_int_eq(kfk__plog_end_offset(log), 41);
            if (!err)
                ck_assert_int_eq(n, 3);
            kfk__plog_close(log);
            log = pass ? NULL : open_dir(dir, &conf);
        }
        if (!err)
            break;
        ck_assert_int_eq(err, KFK_ERR__NOMEM);
    }
    tmp_cleanup(dir);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("broker_log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_many_batches);
    tcase_add_test(tc, test_read_middle_and_bounds);
    tcase_add_test(tc, test_slices_survive_appends);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_timestamps);
    tcase_add_test(tc, test_log_append_time);
    tcase_add_test(tc, test_delete_records);
    tcase_add_test(tc, test_retention_time);
    tcase_add_test(tc, test_retention_bytes_bounds_memory);
    tcase_add_test(tc, test_truncate_and_epochs);
    tcase_add_test(tc, test_compaction);
    tcase_add_test(tc, test_compaction_compressed_batches);
    tcase_add_test(tc, test_compaction_keeps_producer_state);
    tcase_add_test(tc, test_durable_reopen);
    tcase_add_test(tc, test_durable_torn_tail);
    tcase_add_test(tc, test_durable_corrupt_middle_segment);
    tcase_add_test(tc, test_durable_retention_and_compaction);
    tcase_add_test(tc, test_durable_swap_recovery);
    tcase_add_test(tc, test_append_nomem);
    tcase_add_test(tc, test_open_and_compact_nomem);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(log_suite)
