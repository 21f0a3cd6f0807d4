/*
 * test_codec.c: round trips of src/proto/codec.c over the whole catalogue.
 *
 * The codec is one interpreter over ~190 generated descriptor tables, so a
 * hand-picked handful of messages would leave most tables unexercised. Here
 * every message is filled at every version by codec_fill (values from the
 * descriptor, not from the codec), encoded, decoded and compared field by
 * field, then re-encoded byte for byte. The remaining tests pin the rules
 * around versions: unknown tags survive, fields a version lacks are refused
 * or dropped as the JSON's "ignorable" says, null is refused where the
 * version forbids it, and the framing helpers pick the right header.
 * Exact bytes are in test_codec_golden.c; hostile input in
 * test_codec_robust.c.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "codec_fill.h"
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

static void load_catalogue(void)
{
    msgs = kfk__msg_list(&nmsgs);
}

/* Variants per (message, version): plain, with nulls, with nulls and unknown
 * tags, with unknown tags only. */
static const unsigned variants[] = {0, CF_NULLS, CF_NULLS | CF_UNKNOWN_TAGS, CF_UNKNOWN_TAGS};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static size_t field_size(const kfk__field *f)
{
    switch (f->type) {
    case KFK__T_BOOL:
        return sizeof(bool);
    case KFK__T_INT8:
        return 1;
    case KFK__T_INT16:
    case KFK__T_UINT16:
        return 2;
    case KFK__T_INT32:
        return 4;
    case KFK__T_INT64:
    case KFK__T_FLOAT64:
        return 8;
    case KFK__T_UUID:
        return sizeof(kfk__uuid);
    case KFK__T_STRING:
        return sizeof(kfk__str);
    case KFK__T_BYTES:
    case KFK__T_RECORDS:
        return sizeof(kfk__bytes);
    case KFK__T_STRUCT:
        return (f->flags & KFK__F_STRUCT_PTR) ? sizeof(void *) : f->sub->size;
    case KFK__T_ARRAY:
        return sizeof(kfk__array);
    }
    return 0;
}

/* memcmp() must not see NULL, even for 0 bytes. */
static bool same_bytes(const kfk__wbuf *a, const kfk__wbuf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---- every message, every version ---------------------------------------- */

static void roundtrip_one(const kfk__msg_desc *d, int16_t v, unsigned variant)
{
    kfk__arena a, b;
    kfk__wbuf w1, w2;
    kfk__codec_err err;
    char where[512];
    kfk__arena_init(&a, 0);
    kfk__arena_init(&b, 0);
    kfk__wbuf_init(&w1, 0);
    kfk__wbuf_init(&w2, 0);

    void *msg = cf_fill(d, v, cf_seed(d->name, v, variant), variants[variant], &a);
    ck_assert_ptr_nonnull(msg);
    int rc = kfk__encode(d, v, msg, &w1, &err);
    ck_assert_msg(rc == 0, "%s v%d variant %u: encode failed %d at %s", d->name, v,
                  variant, rc, err.path);

    void *out = NULL;
    size_t consumed = 0;
    rc = kfk__decode(d, v, w1.data, w1.len, &b, &out, &consumed, &err);
    ck_assert_msg(rc == 0, "%s v%d variant %u: decode failed %d at %s offset %zu",
                  d->name, v, variant, rc, err.path, err.offset);
    ck_assert_msg(consumed == w1.len, "%s v%d: consumed %zu of %zu", d->name, v,
                  consumed, w1.len);
    ck_assert_msg(cf_equal(d->body, msg, out, where, sizeof(where)),
                  "%s v%d variant %u: decoded value differs at %s", d->name, v,
                  variant, where);
    /* Independent of the comparison above: absent fields are defaults. */
    for (uint16_t i = 0; i < d->body->nfields; i++) {
        const kfk__field *f = &d->body->fields[i];
        if (!cf_in(v, f->v_min, f->v_max))
            ck_assert_msg(cf_field_is_default(f, out), "%s v%d: absent %s not default",
                          d->name, v, f->name);
    }

    rc = kfk__encode(d, v, out, &w2, &err);
    ck_assert_msg(rc == 0, "%s v%d: re-encode failed %d at %s", d->name, v, rc, err.path);
    ck_assert_msg(same_bytes(&w1, &w2),
                  "%s v%d variant %u: re-encoding differs (%zu vs %zu bytes)", d->name,
                  v, variant, w1.len, w2.len);

    /* Without a consumed pointer the whole input must be one message. */
    void *out2;
    rc = kfk__decode(d, v, w1.data, w1.len, &b, &out2, NULL, &err);
    ck_assert_msg(rc == 0, "%s v%d: decode without consumed failed %d", d->name, v, rc);

    kfk__wbuf_free(&w1);
    kfk__wbuf_free(&w2);
    kfk__arena_free(&a);
    kfk__arena_free(&b);
}

static void roundtrip_every_version_one(const kfk__msg_desc *d)
{
    ck_assert_int_le(d->min_ver, d->max_ver);
    for (int16_t v = d->min_ver; v <= d->max_ver; v++)
        for (unsigned k = 0; k < NVARIANTS; k++)
            roundtrip_one(d, v, k);
}

START_TEST(roundtrip_every_version)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        roundtrip_every_version_one(msgs[k]);
}
END_TEST

/* The catalogue itself: sorted keys, request/response pairs that agree. */
START_TEST(catalogue_consistent)
{
    size_t n;
    const kfk__api_desc *apis = kfk__api_list(&n);
    ck_assert_uint_gt(n, 60);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ck_assert_int_lt(apis[i - 1].key, apis[i].key);
        ck_assert_ptr_eq(kfk__api_get(apis[i].key), &apis[i]);
        ck_assert_int_eq(apis[i].request->api_key, apis[i].key);
        ck_assert_int_eq(apis[i].response->api_key, apis[i].key);
        ck_assert_int_eq(apis[i].request->kind, KFK__MSG_REQUEST);
        ck_assert_int_eq(apis[i].response->kind, KFK__MSG_RESPONSE);
    }
    ck_assert_ptr_null(kfk__api_get(-1));
    ck_assert_ptr_null(kfk__api_get(7)); /* ControlledShutdown: not a client API */
    ck_assert_ptr_null(kfk__api_get(32000));
    ck_assert_ptr_nonnull(kfk__api_get(0));
    ck_assert_ptr_nonnull(kfk__api_get(18));
    /* Every API's messages are in the message list. */
    for (size_t i = 0; i < n; i++) {
        bool rq = false, rs = false;
        for (size_t j = 0; j < nmsgs; j++) {
            rq |= msgs[j] == apis[i].request;
            rs |= msgs[j] == apis[i].response;
        }
        ck_assert_msg(rq && rs, "%s missing from kfk__msg_list", apis[i].name);
    }
}
END_TEST

START_TEST(version_out_of_range)
{
    kfk__wbuf w;
    kfk__arena a;
    kfk__codec_err err;
    kfk__metadata_request rq;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    kfk__wbuf_init(&w, 0);
    kfk__arena_init(&a, 0);
    int16_t bad[] = {-1, (int16_t)(kfk__desc_metadata_request.max_ver + 1), INT16_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_request, bad[i], &rq, &w, &err),
                         KFK_ERR__UNSUPPORTED_VERSION);
        ck_assert_int_eq(err.code, KFK_ERR__UNSUPPORTED_VERSION);
        void *out = (void *)&w;
        static const uint8_t zero[8];
        ck_assert_int_eq(kfk__decode(&kfk__desc_metadata_request, bad[i], zero,
                                     sizeof(zero), &a, &out, NULL, &err),
                         KFK_ERR__UNSUPPORTED_VERSION);
        ck_assert_ptr_null(out);
    }
    ck_assert_uint_eq(w.len, 0);
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* ---- unknown tagged fields ---------------------------------------------- */

/* Bytes of the two unknown tags spliced in: tag 90 with 3 bytes, tag 700
 * (a two-byte varint) with 0 bytes. */
static const uint8_t tag_section[] = {0x02, 90, 0x03, 0xaa, 0xbb, 0xcc, 0xbc, 0x05, 0x00};

static void unknown_tags_survive_one(const kfk__msg_desc *d)
{
    for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
        if (v < d->flex_min)
            continue;
        if (cf_tag_known(d->body, 90) || cf_tag_known(d->body, 700))
            ck_abort_msg("%s uses tag 90/700; pick others", d->name);
        kfk__arena a, b;
        kfk__wbuf w, w2;
        kfk__codec_err err;
        kfk__arena_init(&a, 0);
        kfk__arena_init(&b, 0);
        kfk__wbuf_init(&w, 0);
        kfk__wbuf_init(&w2, 0);
        void *msg = cf_fill(d, v, cf_seed(d->name, v, 77), 0, &a);
        /* Known top-level tagged fields back to default, so the message
         * ends in an empty tag section (one 0x00 byte). */
        void *def = kfk__arena_alloc(&a, d->body->size);
        kfk__msg_init(d, def);
        for (uint16_t i = 0; i < d->body->nfields; i++) {
            const kfk__field *f = &d->body->fields[i];
            if (cf_in(v, f->tag_min, f->tag_max))
                memcpy((char *)msg + f->offset, (char *)def + f->offset, field_size(f));
        }
        ck_assert_int_eq(kfk__encode(d, v, msg, &w, &err), 0);
        ck_assert_uint_gt(w.len, 0);
        ck_assert_msg(w.data[w.len - 1] == 0, "%s v%d: no empty tag section", d->name, v);
        w.len--;
        kfk__wr_raw(&w, tag_section, sizeof(tag_section));

        void *out;
        int rc = kfk__decode(d, v, w.data, w.len, &b, &out, NULL, &err);
        ck_assert_msg(rc == 0, "%s v%d: %d at %s", d->name, v, rc, err.path);
        const kfk__raw_tags *t = (const kfk__raw_tags *)((char *)out + d->body->tags_offset);
        ck_assert_int_eq(t->n, 2);
        ck_assert_uint_eq(t->v[0].tag, 90);
        ck_assert_int_eq(t->v[0].data.len, 3);
        ck_assert_mem_eq(t->v[0].data.ptr, "\xaa\xbb\xcc", 3);
        ck_assert_uint_eq(t->v[1].tag, 700);
        ck_assert_int_eq(t->v[1].data.len, 0);
        /* Everything else decoded as set. */
        kfk__raw_tags *mt = (kfk__raw_tags *)((char *)msg + d->body->tags_offset);
        *mt = *t;
        char where[512];
        ck_assert_msg(cf_equal(d->body, msg, out, where, sizeof(where)), "%s v%d: %s",
                      d->name, v, where);

        ck_assert_int_eq(kfk__encode(d, v, out, &w2, &err), 0);
        ck_assert_uint_eq(w2.len, w.len);
        ck_assert_mem_eq(w2.data, w.data, w.len);
        kfk__wbuf_free(&w);
        kfk__wbuf_free(&w2);
        kfk__arena_free(&a);
        kfk__arena_free(&b);
    }
}

START_TEST(unknown_tags_survive)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        unknown_tags_survive_one(msgs[k]);
}
END_TEST

/* Known and unknown tags go out in one ascending sequence. No Kafka struct
 * has a gap in its known tags, so the unknown ones follow: ApiVersions
 * response v3 with tags 0 and 3 known and set, 4 and 9 unknown. */
START_TEST(unknown_tags_after_known)
{
    kfk__api_versions_response m;
    kfk__api_versions_response_supported_feature_key feat = {KFK__STR("f"), 1, 2, {NULL, 0}};
    kfk__msg_init(&kfk__desc_api_versions_response, &m);
    m.supported_features.v = &feat; /* tag 0 */
    m.supported_features.n = 1;
    m.zk_migration_ready = true; /* tag 3 */
    kfk__raw_tag rt[2] = {{4, {(const uint8_t *)"\x01", 1}}, {9, {NULL, 0}}};
    m.unknown_tags.v = rt;
    m.unknown_tags.n = 2;
    kfk__wbuf w;
    kfk__arena a;
    kfk__wbuf_init(&w, 0);
    kfk__arena_init(&a, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_response, 3, &m, &w, NULL), 0);
    static const uint8_t want[] = {
        0x00, 0x00,                   /* ErrorCode */
        0x01,                         /* ApiKeys: empty compact array */
        0x00, 0x00, 0x00, 0x00,       /* ThrottleTimeMs */
        0x04,                         /* four tagged fields */
        0x00, 0x08,                   /* tag 0, 8 bytes: SupportedFeatures */
        0x02, 0x02, 'f', 0x00, 0x01, 0x00, 0x02, 0x00,
        0x03, 0x01, 0x01,             /* tag 3: ZkMigrationReady true */
        0x04, 0x01, 0x01,             /* unknown tag 4 */
        0x09, 0x00,                   /* unknown tag 9, empty */
    };
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.data, want, sizeof(want));

    /* Fetch request v12 knows tag 0 (ClusterId) but not yet tag 1
     * (ReplicaState, v15+): at v12 tag 1 is kept as an unknown tag. */
    kfk__fetch_request f;
    kfk__msg_init(&kfk__desc_fetch_request, &f);
    f.cluster_id = KFK__STR("c");
    kfk__raw_tag one = {1, {(const uint8_t *)"\x07", 1}};
    f.unknown_tags.v = &one;
    f.unknown_tags.n = 1;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_fetch_request, 12, &f, &w, NULL), 0);
    static const uint8_t tail[] = {0x02, 0x00, 0x02, 0x02, 'c', 0x01, 0x01, 0x07};
    ck_assert_mem_eq(w.data + w.len - sizeof(tail), tail, sizeof(tail));
    void *out;
    ck_assert_int_eq(kfk__decode(&kfk__desc_fetch_request, 12, w.data, w.len, &a, &out,
                                 NULL, NULL), 0);
    kfk__fetch_request *g = out;
    ck_assert(kfk__str_eq(g->cluster_id, "c"));
    ck_assert_int_eq(g->unknown_tags.n, 1);
    ck_assert_uint_eq(g->unknown_tags.v[0].tag, 1);
    kfk__arena_free(&a);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- fields a version lacks --------------------------------------------- */

/* For every field of every top-level struct that a version lacks: a
 * non-default value is refused with the field named, unless the JSON marks
 * it ignorable, in which case it is dropped without trace. */
static void absent_fields_one(const kfk__msg_desc *d)
{
    for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
        for (uint16_t i = 0; i < d->body->nfields; i++) {
            const kfk__field *f = &d->body->fields[i];
            if (cf_in(v, f->v_min, f->v_max))
                continue;
            kfk__arena a;
            kfk__wbuf w, w0;
            kfk__codec_err err;
            kfk__arena_init(&a, 0);
            kfk__wbuf_init(&w, 0);
            kfk__wbuf_init(&w0, 0);
            uint64_t rng = cf_seed(f->name, v, 5);
            void *msg = cf_fill(d, v, cf_seed(d->name, v, 0), 0, &a);
            ck_assert_int_eq(kfk__encode(d, v, msg, &w0, NULL), 0);
            cf_set_non_default(f, f->v_min, &rng, &a, msg);
            if (cf_field_is_default(f, msg)) {
                /* A struct whose fields are all absent at v_min: nothing
                 * to set. */
                kfk__wbuf_free(&w);
                kfk__wbuf_free(&w0);
                kfk__arena_free(&a);
                continue;
            }
            int rc = kfk__encode(d, v, msg, &w, &err);
            if (f->flags & KFK__F_IGNORABLE) {
                ck_assert_msg(rc == 0, "%s v%d: ignorable %s refused (%d)", d->name, v,
                              f->name, rc);
                ck_assert_msg(same_bytes(&w, &w0),
                              "%s v%d: ignorable %s changed the bytes", d->name, v, f->name);
            } else {
                ck_assert_msg(rc == KFK_ERR__NOT_ENCODABLE, "%s v%d: %s gave %d", d->name,
                              v, f->name, rc);
                ck_assert_int_eq(err.code, KFK_ERR__NOT_ENCODABLE);
                ck_assert_str_eq(err.path, f->name);
            }
            kfk__wbuf_free(&w);
            kfk__wbuf_free(&w0);
            kfk__arena_free(&a);
        }
    }
}

START_TEST(absent_fields)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        absent_fields_one(msgs[k]);
}
END_TEST

/* A nested non-ignorable field names its whole path. */
START_TEST(absent_nested_field_path)
{
    kfk__metadata_response m;
    kfk__metadata_response_topic t[2];
    kfk__msg_init(&kfk__desc_metadata_response, &m);
    for (int i = 0; i < 2; i++)
        kfk__struct_init(kfk__desc_metadata_response.body->fields[4].sub, &t[i]);
    ck_assert_str_eq(kfk__desc_metadata_response.body->fields[4].name, "Topics");
    t[0].name = KFK__STR("a");
    t[1].name = KFK__STR("b");
    t[1].topic_authorized_operations = 8; /* versions 8+, not ignorable */
    m.topics.v = t;
    m.topics.n = 2;
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 7, &m, &w, &err),
                     KFK_ERR__NOT_ENCODABLE);
    ck_assert_str_eq(err.path, "Topics[1].TopicAuthorizedOperations");
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 8, &m, &w, &err), 0);

    /* TopicId (10+) is ignorable: dropped at v9. */
    t[1].topic_authorized_operations = INT32_MIN;
    t[0].topic_id.b[3] = 7;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 9, &m, &w, &err), 0);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- null where the version forbids it ---------------------------------- */

static bool can_be_null(const kfk__field *f)
{
    switch (f->type) {
    case KFK__T_STRING:
    case KFK__T_BYTES:
    case KFK__T_RECORDS:
    case KFK__T_ARRAY:
        return true;
    case KFK__T_STRUCT:
        return (f->flags & KFK__F_STRUCT_PTR) != 0;
    }
    return false;
}

static void set_null(const kfk__field *f, void *msg)
{
    void *p = (char *)msg + f->offset;
    switch (f->type) {
    case KFK__T_STRING:
        *(kfk__str *)p = KFK__STR_NULL;
        break;
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        kfk__bytes b = {NULL, -1};
        *(kfk__bytes *)p = b;
        break;
    }
    case KFK__T_ARRAY: {
        kfk__array arr = {NULL, -1};
        memcpy(p, &arr, sizeof(arr));
        break;
    }
    default:
        *(void **)p = NULL;
        break;
    }
}

static void null_where_not_nullable_one(const kfk__msg_desc *d)
{
    for (int16_t v = d->min_ver; v <= d->max_ver; v++) {
        bool flex = v >= d->flex_min;
        for (uint16_t i = 0; i < d->body->nfields; i++) {
            const kfk__field *f = &d->body->fields[i];
            if (!cf_in(v, f->v_min, f->v_max) || !can_be_null(f))
                continue;
            bool tagged = flex && cf_in(v, f->tag_min, f->tag_max);
            bool nullable = cf_in(v, f->null_min, f->null_max);
            kfk__arena a;
            kfk__wbuf w;
            kfk__codec_err err;
            kfk__arena_init(&a, 0);
            kfk__wbuf_init(&w, 0);
            void *msg = cf_fill(d, v, cf_seed(d->name, v, 0), 0, &a);
            set_null(f, msg);
            int rc = kfk__encode(d, v, msg, &w, &err);
            if (nullable || (tagged && cf_field_is_default(f, msg))) {
                ck_assert_msg(rc == 0, "%s v%d: null %s refused", d->name, v, f->name);
            } else {
                ck_assert_msg(rc == KFK_ERR__NOT_ENCODABLE, "%s v%d: null %s gave %d",
                              d->name, v, f->name, rc);
                ck_assert_str_eq(err.path, f->name);
            }
            kfk__wbuf_free(&w);
            kfk__arena_free(&a);
        }
    }
}

START_TEST(null_where_not_nullable)
{
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, nmsgs); k++)
        null_where_not_nullable_one(msgs[k]);
}
END_TEST

START_TEST(null_nested)
{
    /* Metadata response Topics[].Name is nullable only from v12. */
    kfk__metadata_response m;
    kfk__metadata_response_topic t;
    kfk__msg_init(&kfk__desc_metadata_response, &m);
    kfk__struct_init(kfk__desc_metadata_response.body->fields[4].sub, &t);
    t.name = KFK__STR_NULL;
    m.topics.v = &t;
    m.topics.n = 1;
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 11, &m, &w, &err),
                     KFK_ERR__NOT_ENCODABLE);
    ck_assert_str_eq(err.path, "Topics[0].Name");
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_response, 12, &m, &w, &err), 0);
    /* Metadata request Topics (array) is nullable from v1. */
    kfk__metadata_request rq;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    rq.topics.n = -1;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_request, 0, &rq, &w, &err),
                     KFK_ERR__NOT_ENCODABLE);
    ck_assert_str_eq(err.path, "Topics");
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_request, 1, &rq, &w, &err), 0);
    ck_assert_uint_eq(w.len, 4);
    ck_assert_mem_eq(w.data, "\xff\xff\xff\xff", 4);
    kfk__wbuf_free(&w);
}
END_TEST

/* ---- caller mistakes ---------------------------------------------------- */

START_TEST(invalid_arguments)
{
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 0);
    kfk__metadata_request rq;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    rq.topics.n = -2; /* neither null nor a count */
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_request, 12, &rq, &w, &err),
                     KFK_ERR__INVALID_ARG);
    ck_assert_str_eq(err.path, "Topics");
    rq.topics.n = 1; /* elements missing */
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_metadata_request, 12, &rq, &w, &err),
                     KFK_ERR__INVALID_ARG);

    kfk__find_coordinator_request fc;
    kfk__msg_init(&kfk__desc_find_coordinator_request, &fc);
    fc.key.ptr = NULL;
    fc.key.len = 3;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_find_coordinator_request, 0, &fc, &w, &err),
                     KFK_ERR__INVALID_ARG);
    ck_assert_str_eq(err.path, "Key");
    fc.key.len = -5;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_find_coordinator_request, 0, &fc, &w, &err),
                     KFK_ERR__INVALID_ARG);
    /* STRING has an int16 length outside flexible versions. */
    static char big[INT16_MAX + 1];
    memset(big, 'k', sizeof(big));
    fc.key.ptr = big;
    fc.key.len = INT16_MAX;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_find_coordinator_request, 0, &fc, &w, &err), 0);
    ck_assert_uint_eq(w.len, 2 + INT16_MAX);
    fc.key.len = INT16_MAX + 1;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_find_coordinator_request, 0, &fc, &w, &err),
                     KFK_ERR__NOT_ENCODABLE);
    ck_assert_str_eq(err.path, "Key");

    /* A raw tag with a negative length, or unknown tags without storage. */
    kfk__api_versions_request av;
    kfk__raw_tag bad = {50, {NULL, -1}};
    kfk__msg_init(&kfk__desc_api_versions_request, &av);
    av.unknown_tags.v = &bad;
    av.unknown_tags.n = 1;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_request, 3, &av, &w, &err),
                     KFK_ERR__INVALID_ARG);
    av.unknown_tags.v = NULL;
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_request, 3, &av, &w, &err),
                     KFK_ERR__INVALID_ARG);
    /* Below the flexible versions there is no tag section to put them in:
     * unknown tags are dropped. */
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_request, 2, &av, &w, &err), 0);
    ck_assert_uint_eq(w.len, 0);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(struct_array_new)
{
    kfk__arena a;
    kfk__arena_init(&a, 4096);
    const kfk__struct_desc *pd = &kfk__metadata_response_partition_desc;
    kfk__metadata_response_partition *p = kfk__struct_array_new(&a, pd, 3);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(p[i].leader_epoch, -1); /* JSON default */
        ck_assert_int_eq(p[i].replica_nodes.n, 0);
        ck_assert(kfk__struct_is_default(pd, &p[i]));
    }
    ck_assert_ptr_null(kfk__struct_array_new(&a, pd, 0));
    ck_assert_ptr_null(kfk__struct_array_new(&a, pd, -1));
    ck_assert_ptr_null(kfk__struct_array_new(&a, pd, INT32_MAX)); /* past the cap */
    ck_assert_ptr_null(kfk__struct_array_new(&a, pd, (int32_t)(4096 / pd->size) + 1));
    kfk__arena_free(&a);
}
END_TEST

/* ---- framing ------------------------------------------------------------ */

static int16_t want_req_hdr(const kfk__api_desc *api, int16_t v)
{
    return v >= api->request->flex_min ? 2 : 1;
}

static int16_t want_resp_hdr(const kfk__api_desc *api, int16_t v)
{
    if (api->key == 18)
        return 0;
    return v >= api->response->flex_min ? 1 : 0;
}

static void framing_roundtrip_one(const kfk__api_desc *api)
{
    for (int16_t v = api->request->min_ver; v <= api->request->max_ver; v++) {
        kfk__arena a, b;
        kfk__wbuf w;
        kfk__codec_err err;
        char where[512];
        kfk__arena_init(&a, 0);
        kfk__arena_init(&b, 0);
        kfk__wbuf_init(&w, 0);
        const char *cid = (v & 1) ? NULL : "kfk-test";
        int32_t corr = 0x01020300 + v;
        int16_t hv = want_req_hdr(api, v);
        ck_assert_int_eq(kfk__request_header_version(api->key, v), hv);

        void *body = cf_fill(api->request, v, cf_seed(api->name, v, 9), CF_NULLS, &a);
        ck_assert_int_eq(kfk__encode_request(&w, api->key, v, corr, cid, body, &err), 0);
        ck_assert_uint_ge(w.len, 4);
        ck_assert_uint_eq(kfk__load_be32(w.data), w.len - 4);
        /* Header length: 2+2+4 + int16-length client id (+ tag byte). */
        void *h;
        size_t used;
        ck_assert_int_eq(kfk__decode(&kfk__desc_request_header, hv, w.data + 4, w.len - 4,
                                     &b, &h, &used, NULL), 0);
        size_t cid_len = cid ? strlen(cid) : 0;
        ck_assert_uint_eq(used, 10 + cid_len + (hv == 2 ? 1 : 0));
        ck_assert_int_eq(kfk__load_be16(w.data + 12), cid ? (int)cid_len : 0xffff);

        kfk__request_header *hdr;
        void *out;
        int rc = kfk__decode_request(w.data + 4, w.len - 4, &b, &hdr, &out, &err);
        ck_assert_msg(rc == 0, "%s v%d: %d at %s", api->name, v, rc, err.path);
        ck_assert_int_eq(hdr->request_api_key, api->key);
        ck_assert_int_eq(hdr->request_api_version, v);
        ck_assert_int_eq(hdr->correlation_id, corr);
        ck_assert(kfk__str_eq(hdr->client_id, cid));
        ck_assert_msg(cf_equal(api->request->body, body, out, where, sizeof(where)),
                      "%s request v%d differs at %s", api->name, v, where);
        kfk__wbuf_free(&w);
        kfk__arena_free(&a);
        kfk__arena_free(&b);
    }
    for (int16_t v = api->response->min_ver; v <= api->response->max_ver; v++) {
        kfk__arena a, b;
        kfk__wbuf w;
        kfk__codec_err err;
        char where[512];
        kfk__arena_init(&a, 0);
        kfk__arena_init(&b, 0);
        kfk__wbuf_init(&w, 0);
        int16_t hv = want_resp_hdr(api, v);
        ck_assert_int_eq(kfk__response_header_version(api->key, v), hv);
        void *body = cf_fill(api->response, v, cf_seed(api->name, v, 10), CF_NULLS, &a);
        ck_assert_int_eq(kfk__encode_response(&w, api->key, v, -7 - v, body, &err), 0);
        ck_assert_uint_eq(kfk__load_be32(w.data), w.len - 4);
        void *h;
        size_t used;
        ck_assert_int_eq(kfk__decode(&kfk__desc_response_header, hv, w.data + 4, w.len - 4,
                                     &b, &h, &used, NULL), 0);
        ck_assert_uint_eq(used, hv == 1 ? 5 : 4);
        ck_assert_int_eq((int32_t)kfk__load_be32(w.data + 4), -7 - v);
        int32_t corr = 0;
        void *out;
        int rc = kfk__decode_response(api->key, v, w.data + 4, w.len - 4, &b, &corr, &out,
                                      &err);
        ck_assert_msg(rc == 0, "%s response v%d: %d at %s", api->name, v, rc, err.path);
        ck_assert_int_eq(corr, -7 - v);
        ck_assert_msg(cf_equal(api->response->body, body, out, where, sizeof(where)),
                      "%s response v%d differs at %s", api->name, v, where);
        kfk__wbuf_free(&w);
        kfk__arena_free(&a);
        kfk__arena_free(&b);
    }
}

START_TEST(framing_roundtrip)
{
    size_t napis;
    const kfk__api_desc *apis = kfk__api_list(&napis);
    for (size_t k = chunk_lo(_i); k < chunk_hi(_i, napis); k++)
        framing_roundtrip_one(&apis[k]);
}
END_TEST

START_TEST(header_versions)
{
    /* ApiVersions: request header follows flexibility, response is v0. */
    for (int16_t v = 0; v <= 4; v++) {
        ck_assert_int_eq(kfk__request_header_version(18, v), v >= 3 ? 2 : 1);
        ck_assert_int_eq(kfk__response_header_version(18, v), 0);
    }
    /* Metadata flexible from 9, Produce from 9, Fetch from 12. */
    ck_assert_int_eq(kfk__request_header_version(3, 8), 1);
    ck_assert_int_eq(kfk__request_header_version(3, 9), 2);
    ck_assert_int_eq(kfk__response_header_version(3, 8), 0);
    ck_assert_int_eq(kfk__response_header_version(3, 9), 1);
    ck_assert_int_eq(kfk__request_header_version(0, 8), 1);
    ck_assert_int_eq(kfk__request_header_version(0, 9), 2);
    ck_assert_int_eq(kfk__request_header_version(1, 11), 1);
    ck_assert_int_eq(kfk__request_header_version(1, 12), 2);
    ck_assert_int_eq(kfk__response_header_version(1, 12), 1);
    /* ControlledShutdown v0 used header v0. */
    ck_assert_int_eq(kfk__request_header_version(7, 0), 0);
}
END_TEST

START_TEST(encode_request_unknown_api)
{
    kfk__wbuf w;
    kfk__codec_err err;
    kfk__wbuf_init(&w, 0);
    kfk__api_versions_request rq;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    ck_assert_int_eq(kfk__encode_request(&w, 32000, 0, 1, NULL, &rq, &err),
                     KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_int_eq(kfk__encode_request(&w, 18, 99, 1, NULL, &rq, &err),
                     KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_int_eq(kfk__encode_response(&w, 32000, 0, 1, &rq, &err),
                     KFK_ERR__UNSUPPORTED_VERSION);
    kfk__arena a;
    kfk__arena_init(&a, 0);
    int32_t corr;
    void *out;
    ck_assert_int_eq(kfk__decode_response(32000, 0, (const uint8_t *)"\0\0\0\1", 4, &a,
                                          &corr, &out, &err),
                     KFK_ERR__UNSUPPORTED_VERSION);
    /* A body error's offset counts from the frame start (after the size):
     * Metadata v12 response, header v1 = 5 bytes, then a null Brokers at
     * body offset 4. */
    static const uint8_t bad[] = {0, 0, 0, 9, 0x00, 0, 0, 0, 0, 0x00, 0x00};
    ck_assert_int_eq(kfk__decode_response(3, 12, bad, sizeof(bad), &a, &corr, &out, &err),
                     KFK_ERR__MALFORMED);
    ck_assert_int_eq(corr, 9);
    ck_assert_uint_eq(err.offset, 9);
    ck_assert_str_eq(err.path, "Brokers");
    kfk__arena_free(&a);
    kfk__wbuf_free(&w);
}
END_TEST

START_TEST(decode_request_unsupported)
{
    kfk__arena a;
    kfk__codec_err err;
    kfk__request_header *hdr;
    void *body;
    kfk__arena_init(&a, 0);

    /* Unknown API key 32000: header read as v1. */
    static const uint8_t unknown[] = {0x7d, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
                                      0x00, 0x03, 'a', 'b', 'c', 0xde, 0xad};
    int rc = kfk__decode_request(unknown, sizeof(unknown), &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_int_eq(err.code, KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(hdr);
    ck_assert_ptr_null(body);
    ck_assert_int_eq(hdr->request_api_key, 32000);
    ck_assert_int_eq(hdr->correlation_id, 0x12345678);
    ck_assert(kfk__str_eq(hdr->client_id, "abc"));

    /* ApiVersions v127: flexible range, so header v2 (tag byte). */
    static const uint8_t high[] = {0x00, 0x12, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x2a,
                                   0xff, 0xff, 0x00, 0x02, 0x01, 'x', 0x01, 0x00};
    rc = kfk__decode_request(high, sizeof(high), &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(hdr);
    ck_assert_int_eq(hdr->correlation_id, 42);
    ck_assert_int_eq(hdr->request_api_version, 127);
    ck_assert_int_eq(hdr->client_id.len, -1);

    /* Metadata v-1: below the range. */
    static const uint8_t neg[] = {0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                  0x00, 0x00};
    rc = kfk__decode_request(neg, sizeof(neg), &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(hdr);
    ck_assert_int_eq(hdr->correlation_id, -2);

    /* Too short for a header: no header. */
    rc = kfk__decode_request(neg, 3, &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__TRUNCATED);
    ck_assert_ptr_null(hdr);
    rc = kfk__decode_request(neg, 7, &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__TRUNCATED);
    ck_assert_ptr_null(hdr);

    /* A known version whose body is bad: header still set. */
    static const uint8_t badbody[] = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
                                      0xff, 0xff, 0x99};
    rc = kfk__decode_request(badbody, sizeof(badbody), &a, &hdr, &body, &err);
    ck_assert_int_eq(rc, KFK_ERR__MALFORMED); /* ApiVersions v0 body is empty */
    ck_assert_ptr_nonnull(hdr);
    ck_assert_int_eq(hdr->correlation_id, 5);
    ck_assert_uint_eq(err.offset, 10);
    kfk__arena_free(&a);
}
END_TEST

/* Header client id is never compact: a v2 header carries an int16 length. */
START_TEST(header_v2_client_id)
{
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__api_versions_request rq;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    rq.client_software_name = KFK__STR("k");
    rq.client_software_version = KFK__STR("1");
    ck_assert_int_eq(kfk__encode_request(&w, 18, 3, 7, "cli", &rq, NULL), 0);
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x13,             /* size 19 */
        0x00, 0x12, 0x00, 0x03,             /* ApiVersions v3 */
        0x00, 0x00, 0x00, 0x07,             /* correlation id */
        0x00, 0x03, 'c', 'l', 'i',          /* client id, int16 length */
        0x00,                               /* header tags */
        0x02, 'k', 0x02, '1', 0x00,         /* compact strings, body tags */
    };
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.data, want, sizeof(want));
    kfk__wbuf_free(&w);
}
END_TEST

static Suite *codec_suite(void)
{
    load_catalogue();
    size_t napis;
    kfk__api_list(&napis);
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, catalogue_consistent);
    tcase_add_loop_test(tc, roundtrip_every_version, 0, nchunks(nmsgs));
    tcase_add_test(tc, version_out_of_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("tags");
    tcase_add_loop_test(tc, unknown_tags_survive, 0, nchunks(nmsgs));
    tcase_add_test(tc, unknown_tags_after_known);
    suite_add_tcase(s, tc);

    tc = tcase_create("versions");
    tcase_add_loop_test(tc, absent_fields, 0, nchunks(nmsgs));
    tcase_add_test(tc, absent_nested_field_path);
    tcase_add_loop_test(tc, null_where_not_nullable, 0, nchunks(nmsgs));
    tcase_add_test(tc, null_nested);
    tcase_add_test(tc, invalid_arguments);
    tcase_add_test(tc, struct_array_new);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_loop_test(tc, framing_roundtrip, 0, nchunks(napis));
    tcase_add_test(tc, header_versions);
    tcase_add_test(tc, encode_request_unknown_api);
    tcase_add_test(tc, decode_request_unsupported);
    tcase_add_test(tc, header_v2_client_id);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(codec_suite)
