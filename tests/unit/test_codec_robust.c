/*
 * test_codec_robust.c: the codec against hostile and broken input.
 *
 * A client decodes whatever a broker (or a man in the middle) sends, and
 * the reference broker decodes whatever any client sends, so no input may
 * crash, read out of bounds, allocate without bound or leak. Every message
 * at every version is decoded from each of its prefixes and from a few
 * hundred random mutations (fixed seeds), each in a heap buffer of exactly
 * its length so ASan sees any over-read; hand-made inputs then hit each
 * length and count check, and allocation failures are injected into decode
 * and encode until they succeed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "codec_fill.h"
#include "common/alloc.h"
#include "proto/gen/all.h"

static const kfk__msg_desc *const *msgs;
static size_t nmsgs;

/* Loop tests run in chunks of messages: one forked process per message
 * made the sanitizer build spend a minute in process start and leak scans. */
#define CHUNK 16

static int nchunks(size_t n)
{
    return (int)((n + CHUNK - 1) / CHUNK);
}

static size_t chunk_lo(int i)
{
    return (size_t)i * CHUNK;
}

static size_t chunk_hi(int i, size_t n)
{
    size_t hi = ((size_t)i + 1) * CHUNK;
    return hi < n ? hi : n;
}

/* Input copied to a heap block of exactly len bytes (ASan catches reads
 * one past the end). */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(c);
    if (len)
        memcpy(c, p, len);
    return c;
}

/* Decodes from an exact-size copy. The decoded message points into that
 * copy, so it is kept until keep_free(). */
static uint8_t *kept[8];
static size_t nkept;

static void keep_free(void)
{
    while (nkept)
        free(kept[--nkept]);
}

/* Frees a decode's arena and the inputs it points into. */
static void release(kfk__arena *a)
{
    kfk__arena_free(a);
    keep_free();
}

static int decode_exact(const kfk__msg_desc *d, int16_t v, const uint8_t *p, size_t len,
                        kfk__arena *a, void **out, size_t *consumed, kfk__codec_err *err)
{
    uint8_t *c = exact_copy(p, len);
    int rc = kfk__decode(d, v, c, len, a, out, consumed, err);
    if (rc || nkept == sizeof(kept) / sizeof(kept[0])) {
        ck_assert_msg(rc, "too many kept inputs");
        free(c);
    } else {
        kept[nkept++] = c;
    }
    return rc;
}

/* ---- every prefix of every message ----------------------------------------- */

static void every_truncation_one(const kfk__msg_desc *d)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
        for (unsigned k = 0; k < 2; k++) {
            unsigned flags = CF_SMALL | (k ? CF_NULLS | CF_UNKNOWN_TAGS : 0);
            ck_assert_int_eq(cf_encode_filled(d, v, cf_seed(d->name, v, 100 + k), flags, &w), 0);
            for (size_t len = 0; len < w.len; len++) {
                kfk__arena a;
                kfk__codec_err err;
                void *out = (void *)&w;
                size_t used = 12345;
                kfk__arena_init(&a, 0);
                /* A prefix is input that has not all arrived yet. */
                int rc = decode_exact(d, v, w.data, len, &a, &out, NULL, &err);
                ck_assert_msg(rc == KFK_ERR__TRUNCATED,
                              "%s v%d: prefix %zu/%zu gave %d at %s", d->name, v, len,
                              w.len, rc, err.path);
                ck_assert_int_eq(err.code, rc);
                ck_assert_uint_le(err.offset, len);
                ck_assert_ptr_null(out);
                rc = decode_exact(d, v, w.data, len, &a, &out, &used, &err);
                ck_assert_int_eq(rc, KFK_ERR__TRUNCATED);
                release(&a);
            }
        }
    }
    kfk__wbuf_free(&w);
}

START_TEST(every_truncation)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        every_truncation_one(msgs[k]);
}
END_TEST

/* ---- random mutations -------------------------------------------------- */

static void mutate(uint8_t *p, size_t *len, size_t cap, uint64_t *rng)
{
    int n = 1 + (int)(cf_rand(rng) % 4);
    for (int i = 0; i < n && *len; i++) {
        uint64_t r = cf_rand(rng);
        size_t at = (size_t)(r >> 16) % *len;
        switch (r % 8) {
        case 0:
            p[at] = (uint8_t)(r >> 8);
            break;
        case 1:
            p[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
            break;
        case 2:
            p[at] = 0xff;
            break;
        case 3:
            p[at] = 0x00;
            break;
        case 4:
            p[at] = 0x7f;
            break;
        case 5: /* delete a byte */
            memmove(p + at, p + at + 1, *len - at - 1);
            (*len)--;
            break;
        case 6: /* insert a byte */
            if (*len < cap) {
                memmove(p + at + 1, p + at, *len - at);
                p[at] = (uint8_t)(r >> 8);
                (*len)++;
            }
            break;
        default: /* a varint-looking run */
            for (size_t k = at; k < *len && k < at + 5; k++)
                p[k] = 0x80 | (uint8_t)(r >> (8 + k - at));
            break;
        }
    }
}

static bool acceptable_decode_error(int rc)
{
    return rc == KFK_ERR__TRUNCATED || rc == KFK_ERR__MALFORMED || rc == KFK_ERR__TOO_LARGE;
}

/* Decodes a possibly-mutated input; on success the message must re-encode
 * (or be refused cleanly), and the re-encoding must be a fixpoint. */
static void check_hostile(const kfk__msg_desc *d, int16_t v, const uint8_t *p, size_t len)
{
    kfk__arena a;
    kfk__codec_err err;
    void *out;
    kfk__arena_init(&a, 0);
    int rc = decode_exact(d, v, p, len, &a, &out, NULL, &err);
    if (rc) {
        ck_assert_msg(acceptable_decode_error(rc), "%s v%d: decode gave %d", d->name, v, rc);
        ck_assert_int_eq(err.code, rc);
        ck_assert_uint_le(err.offset, len);
        release(&a);
        return;
    }
    kfk__wbuf w1, w2;
    kfk__wbuf_init(&w1, 0);
    kfk__wbuf_init(&w2, 0);
    rc = kfk__encode(d, v, out, &w1, &err);
    if (rc == 0) {
        void *out2;
        char where[512];
        rc = decode_exact(d, v, w1.data, w1.len, &a, &out2, NULL, &err);
        ck_assert_msg(rc == 0, "%s v%d: re-encoding does not decode: %d at %s", d->name, v,
                      rc, err.path);
        ck_assert_msg(cf_equal(d->body, out, out2, where, sizeof(where)),
                      "%s v%d: decode(encode(x)) != x at %s", d->name, v, where);
        ck_assert_int_eq(kfk__encode(d, v, out2, &w2, NULL), 0);
        ck_assert_msg(w1.len == w2.len && (!w1.len || memcmp(w1.data, w2.data, w1.len) == 0),
                      "%s v%d: encoding is not a fixpoint", d->name, v);
    } else {
        ck_assert_msg(rc == KFK_ERR__NOT_ENCODABLE || rc == KFK_ERR__TOO_LARGE,
                      "%s v%d: re-encode gave %d at %s", d->name, v, rc, err.path);
    }
    kfk__wbuf_free(&w1);
    kfk__wbuf_free(&w2);
    release(&a);
}

static void random_mutations_one(const kfk__msg_desc *d)
{
    int nver = d->max_ver - d->min_ver + 1;
    int per_version = 400 / nver < 48 ? 48 : 400 / nver;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    uint64_t rng = cf_seed(d->name, 0, 999);
    for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
        for (int m = 0; m < per_version; m++) {
            unsigned flags = (m & 1) ? CF_NULLS | CF_UNKNOWN_TAGS : CF_SMALL;
            ck_assert_int_eq(cf_encode_filled(d, v, cf_seed(d->name, v, 200 + (m & 7)), flags, &w), 0);
            size_t cap = w.len + 8, len = w.len;
            uint8_t *buf = malloc(cap);
            if (w.len)
                memcpy(buf, w.data, w.len);
            mutate(buf, &len, cap, &rng);
            check_hostile(d, v, buf, len);
            free(buf);
        }
        /* Pure noise of small sizes. */
        for (int m = 0; m < 16; m++) {
            uint8_t noise[64];
            size_t len = cf_rand(&rng) % sizeof(noise);
            for (size_t i = 0; i < len; i++)
                noise[i] = (uint8_t)cf_rand(&rng);
            check_hostile(d, v, noise, len);
        }
    }
    kfk__wbuf_free(&w);
}

START_TEST(random_mutations)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        random_mutations_one(msgs[k]);
}
END_TEST

/* ---- lengths and counts ---------------------------------------------------- */

static int dec(const kfk__msg_desc *d, int16_t v, const uint8_t *p, size_t len,
               kfk__codec_err *err)
{
    kfk__arena a;
    void *out;
    kfk__arena_init(&a, 0);
    int rc = decode_exact(d, v, p, len, &a, &out, NULL, err);
    release(&a);
    return rc;
}

#define DEC(d, v, arr, err) dec(&(d), (v), (arr), sizeof(arr), (err))

START_TEST(negative_lengths)
{
    kfk__codec_err err;
    /* FindCoordinator v0: Key STRING. */
    static const uint8_t key_m2[] = {0xff, 0xfe, 'a', 'b'};
    ck_assert_int_eq(DEC(kfk__desc_find_coordinator_request, 0, key_m2, &err),
                     KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "Key");
    ck_assert_uint_eq(err.offset, 0);
    static const uint8_t key_null[] = {0xff, 0xff};
    ck_assert_int_eq(DEC(kfk__desc_find_coordinator_request, 0, key_null, &err),
                     KFK_ERR__MALFORMED); /* not nullable */
    static const uint8_t key_min[] = {0x80, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_find_coordinator_request, 0, key_min, &err),
                     KFK_ERR__MALFORMED);
    /* Produce v3: TransactionalId NULLABLE_STRING -2; Records BYTES -2. */
    static const uint8_t txn_m2[] = {0xff, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(DEC(kfk__desc_produce_request, 3, txn_m2, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "TransactionalId");
    static const uint8_t rec_m2[] = {0xff, 0xff, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1,
                                     0x00, 0x01, 't', 0, 0, 0, 1, 0, 0, 0, 0,
                                     0xff, 0xff, 0xff, 0xfe};
    ck_assert_int_eq(DEC(kfk__desc_produce_request, 3, rec_m2, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "TopicData[0].PartitionData[0].Records");
    ck_assert_uint_eq(err.offset, 23);
    /* Records -1 is fine (nullable). */
    uint8_t rec_null[sizeof(rec_m2)];
    memcpy(rec_null, rec_m2, sizeof(rec_m2));
    rec_null[26] = 0xff;
    ck_assert_int_eq(DEC(kfk__desc_produce_request, 3, rec_null, &err), 0);
    /* Metadata v0: Topics ARRAY -1 (nullable only from v1) and -2. */
    static const uint8_t arr_null[] = {0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 0, arr_null, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "Topics");
    static const uint8_t arr_null_v1[] = {0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 1, arr_null_v1, &err), 0);
    static const uint8_t arr_m2[] = {0xff, 0xff, 0xff, 0xfe};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 1, arr_m2, &err), KFK_ERR__MALFORMED);
    static const uint8_t arr_min[] = {0x80, 0x00, 0x00, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 1, arr_min, &err), KFK_ERR__MALFORMED);
    /* Compact null (0) where not nullable: ApiVersions v3 name, Metadata
     * v12 response Brokers. */
    static const uint8_t cnull[] = {0x00, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, cnull, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "ClientSoftwareName");
    static const uint8_t brokers_null[] = {0, 0, 0, 0, 0x00, 0x00, 0, 0, 0, 0, 1, 0};
    ck_assert_int_eq(DEC(kfk__desc_metadata_response, 12, brokers_null, &err),
                     KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "Brokers");
    ck_assert_uint_eq(err.offset, 4);
}
END_TEST

START_TEST(huge_counts)
{
    kfk__codec_err err;
    /* Metadata v0: 2^31-1 topics, 2 bytes follow. */
    static const uint8_t big[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 0, big, &err), KFK_ERR__TRUNCATED);
    ck_assert_str_eq(err.path, "Topics");
    /* Compact: uvarint 0x7fffffff = 2^31-2 elements. */
    static const uint8_t cbig[] = {0xff, 0xff, 0xff, 0xff, 0x07, 0x01, 0x00, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_metadata_request, 12, cbig, &err), KFK_ERR__TRUNCATED);
    /* Scalar arrays too: Metadata response v0 ReplicaNodes. */
    static const uint8_t rbig[] = {0, 0, 0, 0,                   /* Brokers [] */
                                   0, 0, 0, 1,                   /* Topics: 1 */
                                   0, 0, 0, 1, 't',              /* err, name */
                                   0, 0, 0, 1,                   /* Partitions: 1 */
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* err, idx, leader */
                                   0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    ck_assert_int_eq(DEC(kfk__desc_metadata_response, 0, rbig, &err), KFK_ERR__TRUNCATED);
    ck_assert_str_eq(err.path, "Topics[0].Partitions[0].ReplicaNodes");
    ck_assert_uint_eq(err.offset, 27);
}
END_TEST

/* A small arena cap stops a message whose counts fit the input but whose
 * decoded form would not fit the cap. */
START_TEST(small_arena_cap)
{
    enum { N = 600 };
    uint8_t *buf = calloc(1, 4 + 4 + N * 10 + 4);
    /* Metadata response v0: Brokers count N, each NodeId 0, Host "", Port 0
     * (10 bytes), then Topics []. */
    kfk__store_be32(buf, N);
    size_t len = 4 + (size_t)N * 10 + 4;
    kfk__arena a;
    kfk__codec_err err;
    void *out;
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(decode_exact(&kfk__desc_metadata_response, 0, buf, len, &a, &out, NULL,
                                  &err),
                     0);
    ck_assert_int_eq(((kfk__metadata_response *)out)->brokers.n, N);
    release(&a);

    kfk__arena_init(&a, 4096);
    int rc = decode_exact(&kfk__desc_metadata_response, 0, buf, len, &a, &out, NULL, &err);
    ck_assert_int_eq(rc, KFK_ERR__TOO_LARGE);
    ck_assert_str_eq(err.path, "Brokers");
    ck_assert_uint_le(a.total, 4096);
    release(&a);

    /* Huge claims against the small cap: never more than the cap. */
    static const uint8_t big[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01};
    kfk__arena_init(&a, 4096);
    rc = decode_exact(&kfk__desc_metadata_request, 0, big, sizeof(big), &a, &out, NULL, &err);
    ck_assert(rc == KFK_ERR__TOO_LARGE || rc == KFK_ERR__TRUNCATED);
    ck_assert_uint_le(a.total, 4096);
    release(&a);
    free(buf);
}
END_TEST

/* A cap smaller than the struct being allocated is TOO_LARGE (as for
 * arrays), not NOMEM: arena.h says kfk__arena_over_cap tells the two
 * apart, and only NOMEM means "retry may help". One test per allocation
 * site in codec.c. */
START_TEST(arena_cap_top_struct)
{
    kfk__arena a;
    kfk__codec_err err;
    void *out;
    static const uint8_t md[] = {0x00, 0x00, 0x00, 0x00};
    kfk__arena_init(&a, 16);
    ck_assert_uint_gt(kfk__desc_metadata_request.body->size, 16);
    ck_assert_int_eq(decode_exact(&kfk__desc_metadata_request, 0, md, sizeof(md), &a, &out,
                                  NULL, &err),
                     KFK_ERR__TOO_LARGE);
    release(&a);
}
END_TEST

START_TEST(arena_cap_nullable_struct)
{
    kfk__arena a;
    kfk__codec_err err;
    void *out;
    /* DescribeTopicPartitions v0 with a Cursor (a nullable struct). */
    static const uint8_t dtp[] = {0x01,                   /* Topics [] */
                                  0x00, 0x00, 0x00, 0x01, /* ResponsePartitionLimit */
                                  0x01,                   /* Cursor present */
                                  0x01,                   /*   TopicName "" */
                                  0x00, 0x00, 0x00, 0x02, /*   PartitionIndex */
                                  0x00, 0x00};            /* tags, tags */
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(decode_exact(&kfk__desc_describe_topic_partitions_request, 0, dtp,
                                  sizeof(dtp), &a, &out, NULL, &err),
                     0);
    release(&a);
    /* Room for the message but not for its Cursor. */
    kfk__arena_init(&a, kfk__desc_describe_topic_partitions_request.body->size);
    ck_assert_int_eq(decode_exact(&kfk__desc_describe_topic_partitions_request, 0, dtp,
                                  sizeof(dtp), &a, &out, NULL, &err),
                     KFK_ERR__TOO_LARGE);
    ck_assert_str_eq(err.path, "Cursor");
    release(&a);
}
END_TEST

START_TEST(arena_cap_unknown_tags)
{
    kfk__arena a;
    kfk__codec_err err;
    void *out;
    /* ApiVersions v3 request with one unknown tag: room for the message,
     * not for the tag list. */
    static const uint8_t av[] = {0x01, 0x01, 0x01, 0x30, 0x01, 0xaa};
    kfk__arena_init(&a, kfk__desc_api_versions_request.body->size);
    ck_assert_int_eq(decode_exact(&kfk__desc_api_versions_request, 3, av, sizeof(av), &a, &out,
                                  NULL, &err),
                     KFK_ERR__TOO_LARGE);
    release(&a);
}
END_TEST

/* Elements of a nullable []string are not themselves nullable: the JSON's
 * nullableVersions is about the array (Kafka's generated Java code throws
 * "non-nullable field ... element was serialized as null"). */
START_TEST(null_element_in_nullable_string_array)
{
    kfk__codec_err err;
    /* DescribeConfigs v1: Resources [ {type 2, name "x", ConfigurationKeys
     * [null]} ], IncludeSynonyms false. */
    static const uint8_t dc[] = {0, 0, 0, 1, 2, 0, 1, 'x', 0, 0, 0, 1, 0xff, 0xff, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_describe_configs_request, 1, dc, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "Resources[0].ConfigurationKeys[0]");
    /* And the encoder refuses to write one. */
    kfk__describe_configs_request rq;
    kfk__describe_configs_request_resource res;
    kfk__str keys[1] = {KFK__STR_NULL};
    kfk__msg_init(&kfk__desc_describe_configs_request, &rq);
    memset(&res, 0, sizeof(res));
    res.resource_type = 2;
    res.resource_name = KFK__STR("x");
    res.configuration_keys.v = keys;
    res.configuration_keys.n = 1;
    rq.resources.v = &res;
    rq.resources.n = 1;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_describe_configs_request, 1, &rq, &w, &err),
                     KFK_ERR__NOT_ENCODABLE);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(bad_varints)
{
    kfk__codec_err err;
    /* ApiVersions v3 request: ClientSoftwareName length as varints. */
    static const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, six, &err), KFK_ERR__MALFORMED);
    ck_assert_str_eq(err.path, "ClientSoftwareName");
    ck_assert_uint_eq(err.offset, 0);
    static const uint8_t high[] = {0xff, 0xff, 0xff, 0xff, 0x1f, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, high, &err), KFK_ERR__MALFORMED);
    /* 0xffffffff: fits 32 bits, but length+1 beyond INT32_MAX. */
    static const uint8_t ffff[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, ffff, &err), KFK_ERR__MALFORMED);
    static const uint8_t x8000[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, x8000, &err), KFK_ERR__MALFORMED);
    /* INT32_MAX+... : 0x7fffffff = length 2^31-2, more than there is. */
    static const uint8_t x7fff[] = {0xff, 0xff, 0xff, 0xff, 0x07, 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, x7fff, &err), KFK_ERR__TRUNCATED);
    /* Non-minimal but valid encodings are accepted: 0x82 0x00 = 2. */
    static const uint8_t loose[] = {0x82, 0x00, 'a', 0x01, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, loose, &err), 0);
    /* Over-long tag count, tag number and tag size. */
    static const uint8_t tcount[] = {0x01, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, tcount, &err), KFK_ERR__MALFORMED);
    ck_assert_uint_eq(err.offset, 2);
    static const uint8_t tnum[] = {0x01, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, tnum, &err), KFK_ERR__MALFORMED);
    static const uint8_t tsize[] = {0x01, 0x01, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x7f};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, tsize, &err), KFK_ERR__MALFORMED);
}
END_TEST

START_TEST(tag_sections)
{
    kfk__codec_err err;
    /* Five tags claimed, two bytes left. */
    static const uint8_t many[] = {0x01, 0x01, 0x05, 0x00, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, many, &err), KFK_ERR__TRUNCATED);
    ck_assert_uint_eq(err.offset, 2);
    static const uint8_t max[] = {0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, max, &err), KFK_ERR__TRUNCATED);
    /* One tag whose size runs past the end. */
    static const uint8_t size[] = {0x01, 0x01, 0x01, 0x50, 0x10, 0xaa};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, size, &err), KFK_ERR__TRUNCATED);
    ck_assert_uint_eq(err.offset, 3);
    /* A known tag whose value is shorter than its type: ApiVersions v3
     * response tag 1 (FinalizedFeaturesEpoch int64) with 4 bytes. */
    static const uint8_t shortval[] = {0, 0, 0x01, 0, 0, 0, 0, 0x01, 0x01, 0x04, 0, 0, 0, 1};
    ck_assert_int_eq(DEC(kfk__desc_api_versions_response, 3, shortval, &err),
                     KFK_ERR__TRUNCATED);
    ck_assert_str_eq(err.path, "FinalizedFeaturesEpoch");
    ck_assert_uint_eq(err.offset, 10);
    /* Unknown tags, even many, are kept. */
    static const uint8_t unk[] = {0x01, 0x01, 0x03, 0x20, 0x00, 0x21, 0x01, 0x09, 0x22, 0x00};
    kfk__arena a;
    void *out;
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(decode_exact(&kfk__desc_api_versions_request, 3, unk, sizeof(unk), &a,
                                  &out, NULL, &err),
                     0);
    ck_assert_int_eq(((kfk__api_versions_request *)out)->unknown_tags.n, 3);
    release(&a);
}
END_TEST

START_TEST(trailing_bytes)
{
    static const uint8_t extra[] = {0x01, 0x01, 0x00, 0xff, 0xee};
    kfk__codec_err err;
    kfk__arena a;
    void *out;
    size_t used;
    ck_assert_int_eq(DEC(kfk__desc_api_versions_request, 3, extra, &err), KFK_ERR__MALFORMED);
    ck_assert_uint_eq(err.offset, 3);
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(decode_exact(&kfk__desc_api_versions_request, 3, extra, sizeof(extra), &a,
                                  &out, &used, &err),
                     0);
    ck_assert_uint_eq(used, 3);
    /* ApiVersions v0 has an empty body: any byte is trailing. */
    ck_assert_int_eq(decode_exact(&kfk__desc_api_versions_request, 0, extra, 1, &a, &out, NULL,
                                  &err),
                     KFK_ERR__MALFORMED);
    ck_assert_uint_eq(err.offset, 0);
    release(&a);
}
END_TEST

/* An empty message encodes to nothing, and an empty kfk__wbuf's data is
 * NULL: decoding (NULL, 0) must work. kfk__rbuf_init computes NULL + 0,
 * which is undefined behaviour in C; clang's -fsanitize=undefined (the
 * fuzz build) reports it, gcc's does not check pointer overflow. */
START_TEST(decode_null_empty_input)
{
    kfk__arena a;
    void *out;
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(kfk__decode(&kfk__desc_api_versions_request, 0, NULL, 0, &a, &out, NULL,
                                 NULL),
                     0);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(kfk__decode(&kfk__desc_api_versions_request, 3, NULL, 0, &a, &out, NULL,
                                 NULL),
                     KFK_ERR__TRUNCATED);
    release(&a);
}
END_TEST

/* ---- error paths and offsets ----------------------------------------------- */

static size_t find4(const uint8_t *p, size_t n, uint32_t marker)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (kfk__load_be32(p + i) == marker)
            return i;
    ck_abort_msg("marker %08x not found", marker);
    return 0;
}

START_TEST(error_path_and_offset)
{
    static int32_t r1[] = {0x5a5a5a5a};
    kfk__metadata_response_partition p0, p1;
    memset(&p0, 0, sizeof(p0));
    memset(&p1, 0, sizeof(p1));
    p1.leader_epoch = 0x5b5b5b5b;
    p1.replica_nodes.v = r1;
    p1.replica_nodes.n = 1;
    kfk__metadata_response_topic t[2];
    memset(t, 0, sizeof(t));
    t[0].name = KFK__STR("a");
    t[0].partitions.v = &p0;
    t[0].partitions.n = 1;
    t[1].name = KFK__STR("b");
    t[1].partitions.v = &p1;
    t[1].partitions.n = 1;
    kfk__metadata_response rs;
    kfk__msg_init(&kfk__desc_metadata_response, &rs);
    rs.topics.v = t;
    rs.topics.n = 2;
    for (int16_t v = 8; v <= 12; v += 4) {
        kfk__wbuf w;
        kfk__codec_err err;
        kfk__wbuf_init(&w, 0);
        ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, v, &rs, &w, NULL), 0);
        size_t le = find4(w.data, w.len, 0x5b5b5b5b);
        /* Cut inside Topics[1].Partitions[0].LeaderEpoch. */
        ck_assert_int_eq(dec(&kfk__desc_metadata_response, v, w.data, le + 2, &err),
                         KFK_ERR__TRUNCATED);
        ck_assert_str_eq(err.path, "Topics[1].Partitions[0].LeaderEpoch");
        ck_assert_uint_eq(err.offset, le);
        /* Replica count made null (v12 compact 0) / -2 (v8 int32). */
        size_t rn = find4(w.data, w.len, 0x5a5a5a5a);
        size_t at = v >= 9 ? rn - 1 : rn - 4;
        if (v >= 9)
            w.data[at] = 0x00;
        else
            kfk__store_be32(w.data + at, 0xfffffffe);
        ck_assert_int_eq(dec(&kfk__desc_metadata_response, v, w.data, w.len, &err),
                         KFK_ERR__MALFORMED);
        ck_assert_str_eq(err.path, "Topics[1].Partitions[0].ReplicaNodes");
        ck_assert_uint_eq(err.offset, at);
        kfk__wbuf_free(&w);
    }
}
END_TEST

/* Inside a tagged field the path and offset still refer to the whole
 * input. */
START_TEST(error_path_in_tag)
{
    kfk__fetch_response_partition_data p;
    memset(&p, 0, sizeof(p));
    p.diverging_epoch.epoch = 0x5c5c5c5c;
    p.current_leader.leader_id = -1;
    p.current_leader.leader_epoch = -1;
    p.snapshot_id.end_offset = -1;
    p.snapshot_id.epoch = -1;
    kfk__fetch_response_fetchable_topic_response t;
    memset(&t, 0, sizeof(t));
    t.partitions.v = &p;
    t.partitions.n = 1;
    kfk__fetch_response rs;
    kfk__msg_init(&kfk__desc_fetch_response, &rs);
    rs.responses.v = &t;
    rs.responses.n = 1;
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_fetch_response, 12, &rs, &w, NULL), 0);
    size_t m = find4(w.data, w.len, 0x5c5c5c5c);
    ck_assert_uint_eq(w.data[m - 1], 13); /* tag size */
    ck_assert_uint_eq(w.data[m - 2], 0);  /* tag 0 */
    w.data[m - 1] = 2;
    ck_assert_int_eq(dec(&kfk__desc_fetch_response, 12, w.data, w.len, &err),
                     KFK_ERR__TRUNCATED);
    ck_assert_str_eq(err.path, "Responses[0].Partitions[0].DivergingEpoch.Epoch");
    ck_assert_uint_eq(err.offset, m);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- allocation failures ----------------------------------------------------- */

static void *rich_metadata(kfk__arena *a)
{
    kfk__metadata_response *rs = kfk__arena_alloc(a, sizeof(*rs));
    kfk__msg_init(&kfk__desc_metadata_response, rs);
    enum { NT = 40, NP = 12, NB = 6 };
    kfk__metadata_response_broker *b = kfk__arena_alloc(a, NB * sizeof(*b));
    for (int i = 0; i < NB; i++) {
        b[i].node_id = i;
        b[i].host = KFK__STR("broker.example.com");
        b[i].port = 9092;
        b[i].rack = (i & 1) ? KFK__STR("rack-a") : KFK__STR_NULL;
    }
    rs->brokers.v = b;
    rs->brokers.n = NB;
    rs->cluster_id = KFK__STR("cluster");
    kfk__metadata_response_topic *t = kfk__arena_alloc(a, NT * sizeof(*t));
    for (int i = 0; i < NT; i++) {
        t[i].name = KFK__STR("some-topic-name");
        t[i].topic_id.b[0] = (uint8_t)(i + 1);
        t[i].topic_authorized_operations = INT32_MIN;
        kfk__metadata_response_partition *p = kfk__arena_alloc(a, NP * sizeof(*p));
        for (int j = 0; j < NP; j++) {
            int32_t *r = kfk__arena_alloc(a, 3 * sizeof(int32_t));
            r[0] = j % NB;
            r[1] = (j + 1) % NB;
            r[2] = (j + 2) % NB;
            p[j].partition_index = j;
            p[j].leader_id = r[0];
            p[j].leader_epoch = i;
            p[j].replica_nodes.v = r;
            p[j].replica_nodes.n = 3;
            p[j].isr_nodes.v = r;
            p[j].isr_nodes.n = 2;
        }
        t[i].partitions.v = p;
        t[i].partitions.n = NP;
    }
    rs->topics.v = t;
    rs->topics.n = NT;
    return rs;
}

START_TEST(alloc_failures_decode)
{
    kfk__arena src;
    kfk__wbuf w;
    kfk__arena_init(&src, 0);
    kfk__wbuf_init(&w, 0);
    void *msg = rich_metadata(&src);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 12, msg, &w, NULL), 0);
    long failures = 0;
    for (long n = 0;; n++) {
        kfk__arena a;
        kfk__codec_err err;
        void *out = NULL;
        kfk__arena_init(&a, 0);
        kfk__alloc_fail_after(n);
        int rc = kfk__decode(&kfk__desc_metadata_response, 12, w.data, w.len, &a, &out, NULL,
                             &err);
        kfk__alloc_fail_after(-1);
        if (rc == 0) {
            char where[512];
            ck_assert_msg(cf_equal(kfk__desc_metadata_response.body, msg, out, where,
                                   sizeof(where)),
                          "after %ld failures: %s", n, where);
            release(&a);
            break;
        }
        ck_assert_msg(rc == KFK_ERR__NOMEM, "allocation %ld failing gave %d", n, rc);
        ck_assert_ptr_null(out);
        failures++;
        release(&a);
        ck_assert_int_lt(n, 100000);
    }
    ck_assert_int_ge(failures, 3); /* the message spans several arena chunks */

    /* Framed decode too. */
    kfk__wbuf f;
    kfk__wbuf_init(&f, 0);
    ck_assert_int_eq(kfk__encode_response(&f, 3, 12, 5, msg, NULL), 0);
    for (long n = 0;; n++) {
        kfk__arena a;
        int32_t corr;
        void *out;
        kfk__arena_init(&a, 0);
        kfk__alloc_fail_after(n);
        int rc = kfk__decode_response(3, 12, f.data + 4, f.len - 4, &a, &corr, &out, NULL);
        kfk__alloc_fail_after(-1);
        release(&a);
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, KFK_ERR__NOMEM);
    }
    kfk__wbuf_free(&f);
    kfk__wbuf_free(&w);
    kfk__arena_free(&src);
}
END_TEST

START_TEST(alloc_failures_encode)
{
    kfk__arena src;
    kfk__wbuf ref;
    kfk__arena_init(&src, 0);
    kfk__wbuf_init(&ref, 0);
    void *msg = rich_metadata(&src);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 12, msg, &ref, NULL), 0);
    long failures = 0;
    for (long n = 0;; n++) {
        kfk__wbuf w;
        kfk__codec_err err;
        kfk__wbuf_init(&w, 0);
        kfk__alloc_fail_after(n);
        int rc = kfk__encode(&kfk__desc_metadata_response, 12, msg, &w, &err);
        kfk__alloc_fail_after(-1);
        if (rc == 0) {
            ck_assert_uint_eq(w.len, ref.len);
            ck_assert_mem_eq(w.data, ref.data, ref.len);
            kfk__wbuf_free(&w);
            break;
        }
        ck_assert_msg(rc == KFK_ERR__NOMEM, "allocation %ld failing gave %d", n, rc);
        ck_assert_int_eq(err.code, KFK_ERR__NOMEM);
        failures++;
        kfk__wbuf_free(&w);
        ck_assert_int_lt(n, 1000);
    }
    ck_assert_int_ge(failures, 3);
    /* Framed request, with tagged fields (which move bytes after encoding):
     * Fetch v12 with a ClusterId. */
    kfk__fetch_request rq;
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    rq.cluster_id = KFK__STR("a-cluster-id");
    for (long n = 0;; n++) {
        kfk__wbuf w;
        kfk__wbuf_init(&w, 0);
        kfk__alloc_fail_after(n);
        int rc = kfk__encode_request(&w, 1, 12, 1, "client", &rq, NULL);
        kfk__alloc_fail_after(-1);
        kfk__wbuf_free(&w);
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, KFK_ERR__NOMEM);
    }
    /* A full wbuf (max) gives TOO_LARGE, not a partial success. */
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 1000);
    ck_assert_uint_gt(ref.len, 1000);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 12, msg, &w, &err),
                     KFK_ERR__TOO_LARGE);
    ck_assert_int_eq(err.code, KFK_ERR__TOO_LARGE);
    kfk__wbuf_free(&w);
    kfk__wbuf_free(&ref);
    kfk__arena_free(&src);
}
END_TEST

/* A wbuf whose max is below its first allocation (256 bytes) must still
 * stop at max. (Checked with a message of 100-200 bytes: a longer one
 * would make kfk__wbuf_reserve loop for ever once len passes 256.) */
START_TEST(small_wbuf_max)
{
    kfk__api_versions_request rq;
    char name[150];
    memset(name, 'n', sizeof(name));
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    rq.client_software_name.ptr = name;
    rq.client_software_name.len = (int32_t)sizeof(name);
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 64);
    int rc = kfk__encode(&kfk__desc_api_versions_request, 3, &rq, &w, &err);
    ck_assert_msg(rc == KFK_ERR__TOO_LARGE, "encode into a 64-byte wbuf gave %d with %zu bytes",
                  rc, w.len);
    ck_assert_uint_le(w.len, 64);
    kfk__wbuf_free(&w);
}
END_TEST

static Suite *robust_suite(void)
{
    msgs = kfk__msg_list(&nmsgs);
    Suite *s = suite_create("codec_robust");
    TCase *tc = tcase_create("truncation");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, every_truncation, 0, nchunks(nmsgs));
    suite_add_tcase(s, tc);

    tc = tcase_create("mutation");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, random_mutations, 0, nchunks(nmsgs));
    suite_add_tcase(s, tc);

    tc = tcase_create("crafted");
    tcase_add_test(tc, negative_lengths);
    tcase_add_test(tc, huge_counts);
    tcase_add_test(tc, small_arena_cap);
    tcase_add_test(tc, arena_cap_top_struct);
    tcase_add_test(tc, arena_cap_nullable_struct);
    tcase_add_test(tc, arena_cap_unknown_tags);
    tcase_add_test(tc, null_element_in_nullable_string_array);
    tcase_add_test(tc, bad_varints);
    tcase_add_test(tc, tag_sections);
    tcase_add_test(tc, trailing_bytes);
    tcase_add_test(tc, decode_null_empty_input);
    tcase_add_test(tc, error_path_and_offset);
    tcase_add_test(tc, error_path_in_tag);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_test(tc, alloc_failures_decode);
    tcase_add_test(tc, alloc_failures_encode);
    tcase_add_test(tc, small_wbuf_max);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(robust_suite)
