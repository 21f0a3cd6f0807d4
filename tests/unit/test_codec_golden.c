/*
 * test_codec_golden.c: exact bytes, worked out by hand.
 *
 * The round-trip tests in test_codec.c would pass for a codec that is
 * consistently wrong (say, compact lengths without the +1). These vectors
 * are written from the protocol guide's primitive types
 * (docs/protocol.html) and the message JSON alone, one comment per field,
 * so each pins the wire format independently of the implementation:
 * int16/int32/int64 big-endian; STRING = int16 length; BYTES/RECORDS =
 * int32 length; ARRAY = int32 count (-1 null); in flexible versions
 * COMPACT_* = unsigned varint of length + 1 (0 null) and every struct ends
 * in a tag section: uvarint count, then per field uvarint tag, uvarint size,
 * value. Each vector is encoded (must equal the bytes) and decoded (must
 * equal the struct it was built from).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "codec_fill.h"
#include "proto/gen/all.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_bytes(const char *what, const uint8_t *got, size_t ngot,
                         const uint8_t *want, size_t nwant)
{
    size_t i = 0;
    while (i < ngot && i < nwant && got[i] == want[i])
        i++;
    if (i == ngot && i == nwant)
        return;
    char g[200], w[200];
    size_t from = i > 4 ? i - 4 : 0;
    cf_hex(got + from, ngot > from ? (ngot - from < 16 ? ngot - from : 16) : 0, g, sizeof(g));
    cf_hex(want + from, nwant > from ? (nwant - from < 16 ? nwant - from : 16) : 0, w,
           sizeof(w));
    ck_abort_msg("%s: first difference at byte %zu (got %zu bytes, want %zu)\n"
                 "  got  @%zu: %s\n  want @%zu: %s",
                 what, i, ngot, nwant, from, g, from, w);
}

/* Encodes msg and compares with golden; decodes golden and compares with
 * msg. Returns the decoded message (from arena a). */
static void *golden(const kfk__msg_desc *d, int16_t v, const void *msg,
                    const uint8_t *want, size_t n, kfk__arena *a)
{
    kfk__wbuf w;
    kfk__codec_err err;
    char what[128], where[512];
    snprintf(what, sizeof(what), "%s v%d", d->name, v);
    kfk__wbuf_init(&w, 0);
    int rc = kfk__encode(d, v, msg, &w, &err);
    ck_assert_msg(rc == 0, "%s: encode %d at %s", what, rc, err.path);
    assert_bytes(what, w.data, w.len, want, n);
    kfk__wbuf_free(&w);

    void *out;
    size_t used;
    rc = kfk__decode(d, v, want, n, a, &out, &used, &err);
    ck_assert_msg(rc == 0, "%s: decode %d at %s offset %zu", what, rc, err.path, err.offset);
    ck_assert_uint_eq(used, n);
    ck_assert_msg(cf_equal(d->body, msg, out, where, sizeof(where)), "%s: decoded %s differs",
                  what, where);
    return out;
}

/* ---- ApiVersions ------------------------------------------------------- */

START_TEST(api_versions_request_v0)
{
    kfk__api_versions_request rq;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    /* v0 has no fields: the body is empty. */
    static const uint8_t want[1];
    golden(&kfk__desc_api_versions_request, 0, &rq, want, 0, &a);

    /* Framed with request header v1. */
    static const uint8_t framed[] = {
        0x00, 0x00, 0x00, 0x0d, /* size: 13 bytes follow */
        0x00, 0x12,             /* RequestApiKey 18 */
        0x00, 0x00,             /* RequestApiVersion 0 */
        0x00, 0x00, 0x00, 0x01, /* CorrelationId 1 */
        0x00, 0x03, 'k', 'f', 'k', /* ClientId: STRING (int16 length) */
        /* no tag section in header v1; empty body */
    };
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 18, 0, 1, "kfk", &rq, NULL), 0);
    assert_bytes("framed ApiVersions v0", w.data, w.len, framed, sizeof(framed));
    kfk__request_header *h;
    void *body;
    ck_assert_int_eq(kfk__decode_request(framed + 4, sizeof(framed) - 4, &a, &h, &body, NULL),
                     0);
    ck_assert_int_eq(h->request_api_key, 18);
    ck_assert_int_eq(h->request_api_version, 0);
    ck_assert_int_eq(h->correlation_id, 1);
    ck_assert(kfk__str_eq(h->client_id, "kfk"));
    ck_assert_ptr_nonnull(body);

    /* Null client id: int16 length -1. */
    static const uint8_t nullcid[] = {0x00, 0x00, 0x00, 0x0a, 0x00, 0x12, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x02, 0xff, 0xff};
    kfk__wbuf_reset(&w);
    ck_assert_int_eq(kfk__encode_request(&w, 18, 0, 2, NULL, &rq, NULL), 0);
    assert_bytes("null client id", w.data, w.len, nullcid, sizeof(nullcid));
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(api_versions_request_v3)
{
    kfk__api_versions_request rq;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    rq.client_software_name = KFK__STR("kfk");
    rq.client_software_version = KFK__STR("0.1.0");
    static const uint8_t want[] = {
        0x04, 'k', 'f', 'k',                /* ClientSoftwareName: COMPACT_STRING, 3+1 */
        0x06, '0', '.', '1', '.', '0',      /* ClientSoftwareVersion: 5+1 */
        0x00,                               /* tag section: no tagged fields */
    };
    kfk__api_versions_request *out =
        golden(&kfk__desc_api_versions_request, 3, &rq, want, sizeof(want), &a);
    ck_assert(kfk__str_eq(out->client_software_name, "kfk"));
    ck_assert(kfk__str_eq(out->client_software_version, "0.1.0"));

    /* Framed with request header v2: ClientId keeps its int16 length
     * ("flexibleVersions": "none"), then the header's tag section. */
    static const uint8_t framed[] = {
        0x00, 0x00, 0x00, 0x19,             /* size 25 */
        0x00, 0x12,                         /* RequestApiKey 18 */
        0x00, 0x03,                         /* RequestApiVersion 3 */
        0x7f, 0xff, 0xff, 0xff,             /* CorrelationId INT32_MAX */
        0x00, 0x03, 'k', 'f', 'k',          /* ClientId: int16 length */
        0x00,                               /* header tag section */
        0x04, 'k', 'f', 'k', 0x06, '0', '.', '1', '.', '0', 0x00, /* body */
    };
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 18, 3, INT32_MAX, "kfk", &rq, NULL), 0);
    assert_bytes("framed ApiVersions v3", w.data, w.len, framed, sizeof(framed));
    kfk__request_header *h;
    void *body;
    ck_assert_int_eq(kfk__decode_request(framed + 4, sizeof(framed) - 4, &a, &h, &body, NULL),
                     0);
    ck_assert_int_eq(h->correlation_id, INT32_MAX);
    ck_assert(kfk__str_eq(h->client_id, "kfk"));
    ck_assert(kfk__str_eq(((kfk__api_versions_request *)body)->client_software_version,
                          "0.1.0"));
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(api_versions_response_v0)
{
    kfk__api_versions_response rs;
    kfk__api_versions_response_api_version keys[3] = {
        {0, 0, 11, {NULL, 0}}, {1, 4, 17, {NULL, 0}}, {18, 0, 4, {NULL, 0}}};
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_api_versions_response, &rs);
    rs.api_keys.v = keys;
    rs.api_keys.n = 3;
    static const uint8_t want[] = {
        0x00, 0x00,             /* ErrorCode 0 */
        0x00, 0x00, 0x00, 0x03, /* ApiKeys: ARRAY, 3 elements */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, /* Produce 0..11 */
        0x00, 0x01, 0x00, 0x04, 0x00, 0x11, /* Fetch 4..17 */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x04, /* ApiVersions 0..4 */
        /* ThrottleTimeMs is v1+: absent */
    };
    kfk__api_versions_response *out =
        golden(&kfk__desc_api_versions_response, 0, &rs, want, sizeof(want), &a);
    ck_assert_int_eq(out->api_keys.n, 3);
    ck_assert_int_eq(out->api_keys.v[1].max_version, 17);
    ck_assert_int_eq(out->throttle_time_ms, 0);

    /* Framed: ApiVersions responses always use header v0 (no tags). */
    static const uint8_t framed_head[] = {0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x09};
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_response(&w, 18, 0, 9, &rs, NULL), 0);
    ck_assert_uint_eq(w.len, sizeof(framed_head) + sizeof(want));
    assert_bytes("framed head", w.data, sizeof(framed_head), framed_head, sizeof(framed_head));
    assert_bytes("framed body", w.data + 8, w.len - 8, want, sizeof(want));
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

static const uint8_t api_versions_v3[] = {
    0x00, 0x00,                         /* ErrorCode 0 */
    0x02,                               /* ApiKeys: COMPACT_ARRAY, 1+1 */
    0x00, 0x12, 0x00, 0x00, 0x00, 0x04, /*   ApiVersions 0..4 */
    0x00,                               /*   element tag section */
    0x00, 0x00, 0x00, 0x64,             /* ThrottleTimeMs 100 */
    0x02,                               /* tag section: 2 tagged fields */
    0x00, 0x17,                         /* tag 0 SupportedFeatures, 23 bytes: */
    0x02,                               /*   COMPACT_ARRAY, 1 element */
    0x11, 'm', 'e', 't', 'a', 'd', 'a', 't', 'a', '.', 'v', 'e', 'r', 's', 'i', 'o', 'n',
                                        /*   Name, 16+1 */
    0x00, 0x01,                         /*   MinVersion 1 */
    0x00, 0x14,                         /*   MaxVersion 20 */
    0x00,                               /*   element tag section */
    0x01, 0x08,                         /* tag 1 FinalizedFeaturesEpoch, 8 bytes: */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* 5 */
    /* tag 2 FinalizedFeatures (empty) and tag 3 ZkMigrationReady (false)
     * are at their defaults: not sent. */
};

START_TEST(api_versions_response_v3)
{
    kfk__api_versions_response rs;
    kfk__api_versions_response_api_version key = {18, 0, 4, {NULL, 0}};
    kfk__api_versions_response_supported_feature_key feat = {KFK__STR("metadata.version"), 1,
                                                             20, {NULL, 0}};
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_api_versions_response, &rs);
    ck_assert_int_eq(rs.finalized_features_epoch, -1); /* JSON default */
    rs.api_keys.v = &key;
    rs.api_keys.n = 1;
    rs.throttle_time_ms = 100;
    rs.supported_features.v = &feat;
    rs.supported_features.n = 1;
    rs.finalized_features_epoch = 5;
    kfk__api_versions_response *out = golden(&kfk__desc_api_versions_response, 3, &rs,
                                             api_versions_v3, sizeof(api_versions_v3), &a);
    ck_assert_int_eq(out->supported_features.n, 1);
    ck_assert(kfk__str_eq(out->supported_features.v[0].name, "metadata.version"));
    ck_assert_int_eq(out->finalized_features_epoch, 5);
    ck_assert_int_eq(out->finalized_features.n, 0);
    ck_assert(!out->zk_migration_ready);

    /* Absent tag 1 decodes as its default -1. */
    static const uint8_t bare[] = {0x00, 0x23, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    void *o;
    ck_assert_int_eq(kfk__decode(&kfk__desc_api_versions_response, 3, bare, sizeof(bare), &a,
                                 &o, NULL, NULL),
                     0);
    ck_assert_int_eq(((kfk__api_versions_response *)o)->error_code, 35);
    ck_assert_int_eq(((kfk__api_versions_response *)o)->finalized_features_epoch, -1);

    /* Framed response: still header v0 at v3 (no header tag byte). */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_response(&w, 18, 3, 0x0a0b0c0d, &rs, NULL), 0);
    static const uint8_t head[] = {0x00, 0x00, 0x00, 0x36, 0x0a, 0x0b, 0x0c, 0x0d};
    ck_assert_uint_eq(sizeof(api_versions_v3), 0x36 - 4);
    assert_bytes("framed head", w.data, 8, head, 8);
    assert_bytes("framed body", w.data + 8, w.len - 8, api_versions_v3, sizeof(api_versions_v3));
    int32_t corr;
    void *body;
    ck_assert_int_eq(kfk__decode_response(18, 3, w.data + 4, w.len - 4, &a, &corr, &body, NULL),
                     0);
    ck_assert_int_eq(corr, 0x0a0b0c0d);
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* ---- Metadata ------------------------------------------------------------ */

START_TEST(metadata_request_v12)
{
    kfk__metadata_request rq;
    kfk__metadata_request_topic t[2] = {
        {{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}, KFK__STR_NULL, {NULL, 0}},
        {{{0}}, KFK__STR("orders"), {NULL, 0}},
    };
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    ck_assert(rq.allow_auto_topic_creation); /* JSON default true */
    rq.topics.v = t;
    rq.topics.n = 2;
    rq.allow_auto_topic_creation = false;
    rq.include_topic_authorized_operations = true;
    static const uint8_t want[] = {
        0x03, /* Topics: COMPACT_ARRAY, 2+1 */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /*   TopicId: UUID, 16 bytes */
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
        0x00, /*   Name: COMPACT_NULLABLE_STRING null */
        0x00, /*   tag section */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /*   TopicId: zero */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x07, 'o', 'r', 'd', 'e', 'r', 's', /*   Name: 6+1 */
        0x00, /*   tag section */
        0x00, /* AllowAutoTopicCreation false */
        /* IncludeClusterAuthorizedOperations is v8-10: absent */
        0x01, /* IncludeTopicAuthorizedOperations true */
        0x00, /* tag section */
    };
    kfk__metadata_request *out =
        golden(&kfk__desc_metadata_request, 12, &rq, want, sizeof(want), &a);
    ck_assert_int_eq(out->topics.n, 2);
    ck_assert_int_eq(out->topics.v[0].name.len, -1);
    ck_assert_uint_eq(out->topics.v[0].topic_id.b[15], 16);
    ck_assert(kfk__str_eq(out->topics.v[1].name, "orders"));
    ck_assert(!out->allow_auto_topic_creation);
    ck_assert(out->include_topic_authorized_operations);

    /* All topics: null array, the default booleans. */
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    rq.topics.n = -1;
    static const uint8_t all[] = {0x00 /* null */, 0x01 /* true */, 0x00 /* false */,
                                  0x00 /* tags */};
    out = golden(&kfk__desc_metadata_request, 12, &rq, all, sizeof(all), &a);
    ck_assert_int_eq(out->topics.n, -1);
    ck_assert_ptr_null(out->topics.v);
    kfk__arena_free(&a);
}
END_TEST

static const uint8_t metadata_v12[] = {
    0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs 0 */
    0x03,                               /* Brokers: 2+1 */
    0x00, 0x00, 0x00, 0x01,             /*   NodeId 1 */
    0x03, 'b', '1',                     /*   Host "b1" */
    0x00, 0x00, 0x23, 0x84,             /*   Port 9092 */
    0x00,                               /*   Rack null */
    0x00,                               /*   tags */
    0x00, 0x00, 0x00, 0x02,             /*   NodeId 2 */
    0x03, 'b', '2',                     /*   Host "b2" */
    0x00, 0x00, 0x23, 0x85,             /*   Port 9093 */
    0x03, 'r', '2',                     /*   Rack "r2" */
    0x00,                               /*   tags */
    0x03, 'c', '1',                     /* ClusterId "c1" */
    0x00, 0x00, 0x00, 0x01,             /* ControllerId 1 */
    0x02,                               /* Topics: 1+1 */
    0x00, 0x00,                         /*   ErrorCode 0 */
    0x02, 't',                          /*   Name "t" */
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, /* TopicId */
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0x00,                               /*   IsInternal false */
    0x03,                               /*   Partitions: 2+1 */
    0x00, 0x00,                         /*     ErrorCode 0 */
    0x00, 0x00, 0x00, 0x00,             /*     PartitionIndex 0 */
    0x00, 0x00, 0x00, 0x01,             /*     LeaderId 1 */
    0x00, 0x00, 0x00, 0x05,             /*     LeaderEpoch 5 */
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* ReplicaNodes [1,2] */
    0x02, 0x00, 0x00, 0x00, 0x01,       /*     IsrNodes [1] */
    0x01,                               /*     OfflineReplicas [] */
    0x00,                               /*     tags */
    0x00, 0x09,                         /*     ErrorCode 9 REPLICA_NOT_AVAILABLE */
    0x00, 0x00, 0x00, 0x01,             /*     PartitionIndex 1 */
    0x00, 0x00, 0x00, 0x02,             /*     LeaderId 2 */
    0x00, 0x00, 0x00, 0x06,             /*     LeaderEpoch 6 */
    0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, /* ReplicaNodes [2,1] */
    0x02, 0x00, 0x00, 0x00, 0x02,       /*     IsrNodes [2] */
    0x02, 0x00, 0x00, 0x00, 0x01,       /*     OfflineReplicas [1] */
    0x00,                               /*     tags */
    0x80, 0x00, 0x00, 0x00,             /*   TopicAuthorizedOperations INT32_MIN */
    0x00,                               /*   tags */
    /* ClusterAuthorizedOperations is v8-10: absent */
    0x00,                               /* tags */
};

START_TEST(metadata_response_v12)
{
    static int32_t r0[] = {1, 2}, i0[] = {1}, r1[] = {2, 1}, i1[] = {2}, o1[] = {1};
    kfk__metadata_response_broker b[2] = {
        {1, KFK__STR("b1"), 9092, KFK__STR_NULL, {NULL, 0}},
        {2, KFK__STR("b2"), 9093, KFK__STR("r2"), {NULL, 0}},
    };
    kfk__metadata_response_partition p[2] = {
        {0, 0, 1, 5, {r0, 2}, {i0, 1}, {NULL, 0}, {NULL, 0}},
        {9, 1, 2, 6, {r1, 2}, {i1, 1}, {o1, 1}, {NULL, 0}},
    };
    kfk__metadata_response_topic t = {
        0, KFK__STR("t"),
        {{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
          0xae, 0xaf}},
        false, {p, 2}, INT32_MIN, {NULL, 0}};
    kfk__metadata_response rs;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_metadata_response, &rs);
    rs.brokers.v = b;
    rs.brokers.n = 2;
    rs.cluster_id = KFK__STR("c1");
    rs.controller_id = 1;
    rs.topics.v = &t;
    rs.topics.n = 1;
    kfk__metadata_response *out =
        golden(&kfk__desc_metadata_response, 12, &rs, metadata_v12, sizeof(metadata_v12), &a);
    ck_assert_int_eq(out->brokers.n, 2);
    ck_assert_int_eq(out->brokers.v[0].rack.len, -1);
    ck_assert(kfk__str_eq(out->brokers.v[1].rack, "r2"));
    ck_assert(kfk__str_eq(out->cluster_id, "c1"));
    ck_assert_int_eq(out->topics.v[0].partitions.n, 2);
    ck_assert_int_eq(out->topics.v[0].partitions.v[1].leader_epoch, 6);
    ck_assert_int_eq(out->topics.v[0].partitions.v[1].offline_replicas.v[0], 1);
    ck_assert_int_eq(out->topics.v[0].topic_authorized_operations, INT32_MIN);
    ck_assert_int_eq(out->cluster_authorized_operations, INT32_MIN); /* default */

    /* Framed with response header v1: correlation id + empty tag section. */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_response(&w, 3, 12, 77, &rs, NULL), 0);
    uint8_t head[] = {0, 0, 0, (uint8_t)(sizeof(metadata_v12) + 5), 0x00, 0x00, 0x00, 0x4d,
                      0x00};
    ck_assert_uint_lt(sizeof(metadata_v12) + 5, 256);
    assert_bytes("framed head", w.data, sizeof(head), head, sizeof(head));
    assert_bytes("framed body", w.data + 9, w.len - 9, metadata_v12, sizeof(metadata_v12));
    int32_t corr;
    void *body;
    ck_assert_int_eq(kfk__decode_response(3, 12, w.data + 4, w.len - 4, &a, &corr, &body, NULL),
                     0);
    ck_assert_int_eq(corr, 77);
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* ---- Produce --------------------------------------------------------------- */

/* A magic-2 record batch holding one record (key null, value "hi"), laid
 * out per docs/implementation.html. The codec treats it as opaque bytes. */
static const uint8_t batch[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* baseOffset 0 */
    0x00, 0x00, 0x00, 0x3a,                         /* batchLength 58 */
    0xff, 0xff, 0xff, 0xff,                         /* partitionLeaderEpoch -1 */
    0x02,                                           /* magic 2 */
    0xbb, 0xcc, 0x41, 0x15,                         /* crc (CRC-32C of the rest) */
    0x00, 0x00,                                     /* attributes: none */
    0x00, 0x00, 0x00, 0x00,                         /* lastOffsetDelta 0 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp 1700000000000 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* maxTimestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId -1 */
    0xff, 0xff,                                     /* producerEpoch -1 */
    0xff, 0xff, 0xff, 0xff,                         /* baseSequence -1 */
    0x00, 0x00, 0x00, 0x01,                         /* records: 1 */
    0x10,                                           /* length 8 (zigzag varint) */
    0x00,                                           /* attributes */
    0x00,                                           /* timestampDelta 0 */
    0x00,                                           /* offsetDelta 0 */
    0x01,                                           /* keyLength -1 (null) */
    0x04, 'h', 'i',                                 /* valueLength 2, "hi" */
    0x00,                                           /* headers: 0 */
};

/* Bitwise CRC-32C, so the literal above is checked without the library. */
static uint32_t crc32c_ref(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
    }
    return ~crc;
}

START_TEST(record_batch_literal_valid)
{
    ck_assert_uint_eq(crc32c_ref((const uint8_t *)"Some String", 11), 608512271u);
    ck_assert_uint_eq(sizeof(batch), 70);
    ck_assert_uint_eq(kfk__load_be32(batch + 8), sizeof(batch) - 12);
    ck_assert_uint_eq(kfk__load_be32(batch + 17), crc32c_ref(batch + 21, sizeof(batch) - 21));
}
END_TEST

START_TEST(produce_request_v9)
{
    kfk__produce_request_partition_produce_data pd = {0, {batch, sizeof(batch)}, {NULL, 0}};
    kfk__produce_request_topic_produce_data td = {KFK__STR("t"), {&pd, 1}, {NULL, 0}};
    kfk__produce_request rq;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_produce_request, &rq);
    ck_assert_int_eq(rq.transactional_id.len, -1); /* default null */
    rq.acks = -1;
    rq.timeout_ms = 30000;
    rq.topic_data.v = &td;
    rq.topic_data.n = 1;
    static const uint8_t head[] = {
        0x00,                   /* TransactionalId: COMPACT_NULLABLE_STRING null */
        0xff, 0xff,             /* Acks -1 */
        0x00, 0x00, 0x75, 0x30, /* TimeoutMs 30000 */
        0x02,                   /* TopicData: 1+1 */
        0x02, 't',              /*   Name "t" */
        0x02,                   /*   PartitionData: 1+1 */
        0x00, 0x00, 0x00, 0x00, /*     Index 0 */
        0x47,                   /*     Records: COMPACT_NULLABLE_BYTES, 70+1 */
    };
    static const uint8_t tail[] = {
        0x00, /*     partition tags */
        0x00, /*   topic tags */
        0x00, /* tags */
    };
    ck_assert_uint_eq(sizeof(head) + sizeof(batch) + sizeof(tail), 16 + sizeof(batch) + 3);
    uint8_t full[sizeof(head) + sizeof(batch) + sizeof(tail)];
    memcpy(full, head, sizeof(head));
    memcpy(full + sizeof(head), batch, sizeof(batch));
    memcpy(full + sizeof(head) + sizeof(batch), tail, sizeof(tail));
    kfk__produce_request *out = golden(&kfk__desc_produce_request, 9, &rq, full, sizeof(full), &a);
    ck_assert_int_eq(out->acks, -1);
    ck_assert_int_eq(out->topic_data.v[0].partition_data.v[0].records.len, 70);
    /* Records point into the input, not a copy. */
    ck_assert_ptr_eq(out->topic_data.v[0].partition_data.v[0].records.ptr, full + sizeof(head));

    /* Framed with request header v2. */
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 0, 9, 3, "kfk", &rq, NULL), 0);
    static const uint8_t fhead[] = {
        0x00, 0x00, 0x00, 0x00,             /* size, patched below */
        0x00, 0x00,                         /* RequestApiKey 0 */
        0x00, 0x09,                         /* RequestApiVersion 9 */
        0x00, 0x00, 0x00, 0x03,             /* CorrelationId 3 */
        0x00, 0x03, 'k', 'f', 'k',          /* ClientId */
        0x00,                               /* header tags */
    };
    ck_assert_uint_eq(w.len, sizeof(fhead) + sizeof(full));
    ck_assert_uint_eq(kfk__load_be32(w.data), sizeof(fhead) - 4 + sizeof(full));
    assert_bytes("framed head", w.data + 4, sizeof(fhead) - 4, fhead + 4, sizeof(fhead) - 4);
    assert_bytes("framed body", w.data + sizeof(fhead), w.len - sizeof(fhead), full,
                 sizeof(full));

    /* v8 (not flexible): STRING/ARRAY/BYTES with fixed-width lengths. */
    uint8_t v8[2 + 2 + 4 + 4 + 3 + 4 + 4 + 4 + sizeof(batch)];
    static const uint8_t v8head[] = {
        0xff, 0xff,             /* TransactionalId: NULLABLE_STRING null */
        0xff, 0xff,             /* Acks -1 */
        0x00, 0x00, 0x75, 0x30, /* TimeoutMs */
        0x00, 0x00, 0x00, 0x01, /* TopicData: ARRAY 1 */
        0x00, 0x01, 't',        /*   Name: STRING */
        0x00, 0x00, 0x00, 0x01, /*   PartitionData: 1 */
        0x00, 0x00, 0x00, 0x00, /*     Index 0 */
        0x00, 0x00, 0x00, 0x46, /*     Records: NULLABLE_BYTES, 70 */
    };
    memcpy(v8, v8head, sizeof(v8head));
    memcpy(v8 + sizeof(v8head), batch, sizeof(batch));
    golden(&kfk__desc_produce_request, 8, &rq, v8, sizeof(v8), &a);
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(produce_response_v10_tags)
{
    kfk__produce_response_partition_produce_response p;
    memset(&p, 0, sizeof(p));
    p.index = 0;
    p.error_code = 6; /* NOT_LEADER_OR_FOLLOWER */
    p.base_offset = -1;
    p.log_append_time_ms = -1;
    p.log_start_offset = -1;
    p.error_message = KFK__STR_NULL;
    p.current_leader.leader_id = 2;
    p.current_leader.leader_epoch = 7;
    kfk__produce_response_topic_produce_response t = {KFK__STR("t"), {&p, 1}, {NULL, 0}};
    kfk__produce_response_node_endpoint ne = {2, KFK__STR("h"), 9092, KFK__STR_NULL, {NULL, 0}};
    kfk__produce_response rs;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_produce_response, &rs);
    rs.responses.v = &t;
    rs.responses.n = 1;
    rs.node_endpoints.v = &ne;
    rs.node_endpoints.n = 1;
    static const uint8_t want[] = {
        0x02,                               /* Responses: 1+1 */
        0x02, 't',                          /*   Name "t" */
        0x02,                               /*   PartitionResponses: 1+1 */
        0x00, 0x00, 0x00, 0x00,             /*     Index 0 */
        0x00, 0x06,                         /*     ErrorCode 6 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* BaseOffset -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LogAppendTimeMs -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LogStartOffset -1 */
        0x01,                               /*     RecordErrors: empty */
        0x00,                               /*     ErrorMessage null */
        0x01,                               /*     tags: 1 field */
        0x00, 0x09,                         /*     tag 0 CurrentLeader, 9 bytes */
        0x00, 0x00, 0x00, 0x02,             /*       LeaderId 2 */
        0x00, 0x00, 0x00, 0x07,             /*       LeaderEpoch 7 */
        0x00,                               /*       tags */
        0x00,                               /*   topic tags */
        0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs 0 */
        0x01,                               /* tags: 1 field */
        0x00, 0x0d,                         /* tag 0 NodeEndpoints, 13 bytes */
        0x02,                               /*   1+1 */
        0x00, 0x00, 0x00, 0x02,             /*   NodeId 2 */
        0x02, 'h',                          /*   Host "h" */
        0x00, 0x00, 0x23, 0x84,             /*   Port 9092 */
        0x00,                               /*   Rack null */
        0x00,                               /*   tags */
    };
    kfk__produce_response *out =
        golden(&kfk__desc_produce_response, 10, &rs, want, sizeof(want), &a);
    ck_assert_int_eq(out->responses.v[0].partition_responses.v[0].current_leader.leader_id, 2);
    ck_assert_int_eq(out->responses.v[0].partition_responses.v[0].current_leader.leader_epoch, 7);
    ck_assert_int_eq(out->node_endpoints.n, 1);
    ck_assert_int_eq(out->node_endpoints.v[0].port, 9092);

    /* A CurrentLeader at its default (-1, -1) is not sent. */
    p.current_leader.leader_id = -1;
    p.current_leader.leader_epoch = -1;
    rs.node_endpoints.n = 0;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_produce_response, 10, &rs, &w, NULL), 0);
    ck_assert_uint_eq(w.len, sizeof(want) - 11 - 15);
    ck_assert_uint_eq(w.data[36], 0x00); /* partition tags: none */
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* ---- Fetch ----------------------------------------------------------------- */

static void fetch_partition_defaults(kfk__fetch_response_partition_data *p)
{
    memset(p, 0, sizeof(*p));
    p->last_stable_offset = -1;
    p->log_start_offset = -1;
    p->diverging_epoch.epoch = -1;
    p->diverging_epoch.end_offset = -1;
    p->current_leader.leader_id = -1;
    p->current_leader.leader_epoch = -1;
    p->snapshot_id.end_offset = -1;
    p->snapshot_id.epoch = -1;
    p->preferred_read_replica = -1;
}

START_TEST(fetch_response_v12_aborted)
{
    kfk__fetch_response_aborted_transaction ab[2] = {{5, 10, {NULL, 0}}, {6, 20, {NULL, 0}}};
    kfk__fetch_response_partition_data p[2];
    fetch_partition_defaults(&p[0]);
    fetch_partition_defaults(&p[1]);
    p[0].high_watermark = 100;
    p[0].last_stable_offset = 90;
    p[0].log_start_offset = 0;
    p[0].aborted_transactions.v = ab;
    p[0].aborted_transactions.n = 2;
    p[0].records.ptr = (const uint8_t *)"";
    p[0].records.len = 0;
    p[1].partition_index = 1;
    p[1].error_code = 1; /* OFFSET_OUT_OF_RANGE */
    p[1].high_watermark = -1;
    p[1].aborted_transactions.n = -1;
    p[1].records.len = -1;
    kfk__fetch_response_fetchable_topic_response t;
    memset(&t, 0, sizeof(t));
    t.topic = KFK__STR("t");
    t.partitions.v = p;
    t.partitions.n = 2;
    kfk__fetch_response rs;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_fetch_response, &rs);
    rs.session_id = 7;
    rs.responses.v = &t;
    rs.responses.n = 1;
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs 0 */
        0x00, 0x00,                         /* ErrorCode 0 */
        0x00, 0x00, 0x00, 0x07,             /* SessionId 7 */
        0x02,                               /* Responses: 1+1 */
        0x02, 't',                          /*   Topic "t" (v0-12) */
        0x03,                               /*   Partitions: 2+1 */
        0x00, 0x00, 0x00, 0x00,             /*     PartitionIndex 0 */
        0x00, 0x00,                         /*     ErrorCode 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* HighWatermark 100 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, /* LastStableOffset 90 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* LogStartOffset 0 */
        0x03,                               /*     AbortedTransactions: 2+1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* ProducerId 5 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, /* FirstOffset 10 */
        0x00,                               /*       tags */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, /* ProducerId 6 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, /* FirstOffset 20 */
        0x00,                               /*       tags */
        0xff, 0xff, 0xff, 0xff,             /*     PreferredReadReplica -1 */
        0x01,                               /*     Records: empty, not null */
        0x00,                               /*     tags: DivergingEpoch, CurrentLeader,
                                                   SnapshotId all default */
        0x00, 0x00, 0x00, 0x01,             /*     PartitionIndex 1 */
        0x00, 0x01,                         /*     ErrorCode 1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* HighWatermark -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LastStableOffset -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LogStartOffset -1 */
        0x00,                               /*     AbortedTransactions null */
        0xff, 0xff, 0xff, 0xff,             /*     PreferredReadReplica -1 */
        0x00,                               /*     Records null */
        0x00,                               /*     tags */
        0x00,                               /*   topic tags */
        /* NodeEndpoints is v16+ */
        0x00,                               /* tags */
    };
    kfk__fetch_response *out = golden(&kfk__desc_fetch_response, 12, &rs, want, sizeof(want), &a);
    kfk__fetch_response_partition_data *q = out->responses.v[0].partitions.v;
    ck_assert_int_eq(q[0].aborted_transactions.n, 2);
    ck_assert_int_eq(q[0].aborted_transactions.v[1].first_offset, 20);
    ck_assert_int_eq(q[0].records.len, 0);
    ck_assert_int_eq(q[1].aborted_transactions.n, -1);
    ck_assert_int_eq(q[1].records.len, -1);
    /* Absent tagged structs decode to their defaults. */
    ck_assert_int_eq(q[0].diverging_epoch.epoch, -1);
    ck_assert_int_eq(q[0].diverging_epoch.end_offset, -1);
    ck_assert_int_eq(q[0].current_leader.leader_id, -1);
    ck_assert_int_eq(q[0].snapshot_id.epoch, -1);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(fetch_response_v12_tags)
{
    kfk__fetch_response_partition_data p;
    fetch_partition_defaults(&p);
    p.partition_index = 3;
    p.error_code = 0;
    p.high_watermark = 1;
    p.last_stable_offset = 1;
    p.log_start_offset = 0;
    p.diverging_epoch.epoch = 3;
    p.diverging_epoch.end_offset = 50;
    p.current_leader.leader_id = 2;
    p.current_leader.leader_epoch = 4;
    p.aborted_transactions.n = -1;
    p.records.len = -1;
    kfk__fetch_response_fetchable_topic_response t;
    memset(&t, 0, sizeof(t));
    t.topic = KFK__STR("");
    t.partitions.v = &p;
    t.partitions.n = 1;
    kfk__fetch_response rs;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_fetch_response, &rs);
    rs.throttle_time_ms = 1;
    rs.responses.v = &t;
    rs.responses.n = 1;
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x01,             /* ThrottleTimeMs 1 */
        0x00, 0x00,                         /* ErrorCode */
        0x00, 0x00, 0x00, 0x00,             /* SessionId 0 */
        0x02,                               /* Responses: 1+1 */
        0x01,                               /*   Topic "" */
        0x02,                               /*   Partitions: 1+1 */
        0x00, 0x00, 0x00, 0x03,             /*     PartitionIndex 3 */
        0x00, 0x00,                         /*     ErrorCode */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* HighWatermark 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* LastStableOffset 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* LogStartOffset 0 */
        0x00,                               /*     AbortedTransactions null */
        0xff, 0xff, 0xff, 0xff,             /*     PreferredReadReplica -1 */
        0x00,                               /*     Records null */
        0x02,                               /*     tags: 2 fields */
        0x00, 0x0d,                         /*     tag 0 DivergingEpoch, 13 bytes */
        0x00, 0x00, 0x00, 0x03,             /*       Epoch 3 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, /* EndOffset 50 */
        0x00,                               /*       tags */
        0x01, 0x09,                         /*     tag 1 CurrentLeader, 9 bytes */
        0x00, 0x00, 0x00, 0x02,             /*       LeaderId 2 */
        0x00, 0x00, 0x00, 0x04,             /*       LeaderEpoch 4 */
        0x00,                               /*       tags */
        /* tag 2 SnapshotId default: not sent */
        0x00,                               /*   topic tags */
        0x00,                               /* tags */
    };
    kfk__fetch_response *out = golden(&kfk__desc_fetch_response, 12, &rs, want, sizeof(want), &a);
    kfk__fetch_response_partition_data *q = out->responses.v[0].partitions.v;
    ck_assert_int_eq(q->diverging_epoch.epoch, 3);
    ck_assert_int_eq(q->diverging_epoch.end_offset, 50);
    ck_assert_int_eq(q->current_leader.leader_id, 2);
    ck_assert_int_eq(q->current_leader.leader_epoch, 4);
    ck_assert_int_eq(q->snapshot_id.end_offset, -1);

    /* Tags arrive in any order on the wire; decoding does not care. */
    uint8_t swapped[sizeof(want)];
    size_t tags_at = 49; /* the 0x02 count byte */
    ck_assert_uint_eq(want[tags_at], 0x02);
    memcpy(swapped, want, sizeof(want));
    memcpy(swapped + tags_at + 1, want + tags_at + 1 + 15, 11);
    memcpy(swapped + tags_at + 1 + 11, want + tags_at + 1, 15);
    void *o;
    ck_assert_int_eq(kfk__decode(&kfk__desc_fetch_response, 12, swapped, sizeof(swapped), &a,
                                 &o, NULL, NULL),
                     0);
    q = ((kfk__fetch_response *)o)->responses.v[0].partitions.v;
    ck_assert_int_eq(q->diverging_epoch.end_offset, 50);
    ck_assert_int_eq(q->current_leader.leader_epoch, 4);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(fetch_request_v12_cluster_id_tag)
{
    kfk__fetch_request rq;
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    rq.cluster_id = KFK__STR("cid");
    rq.replica_id = -1;
    rq.max_wait_ms = 500;
    rq.min_bytes = 1;
    rq.max_bytes = 0x7fffffff;
    rq.isolation_level = 1;
    rq.session_id = 0;
    rq.session_epoch = -1;
    rq.rack_id = KFK__STR("r");
    static const uint8_t want[] = {
        /* ClusterId is tagged (tag 0) from v12: it goes to the tag section */
        0xff, 0xff, 0xff, 0xff, /* ReplicaId -1 (v0-14) */
        0x00, 0x00, 0x01, 0xf4, /* MaxWaitMs 500 */
        0x00, 0x00, 0x00, 0x01, /* MinBytes 1 */
        0x7f, 0xff, 0xff, 0xff, /* MaxBytes */
        0x01,                   /* IsolationLevel 1 (read_committed) */
        0x00, 0x00, 0x00, 0x00, /* SessionId 0 */
        0xff, 0xff, 0xff, 0xff, /* SessionEpoch -1 */
        0x01,                   /* Topics: empty */
        0x01,                   /* ForgottenTopicsData: empty */
        0x02, 'r',              /* RackId "r" */
        0x01,                   /* tags: 1 field */
        0x00, 0x04,             /* tag 0 ClusterId, 4 bytes */
        0x04, 'c', 'i', 'd',    /*   COMPACT_NULLABLE_STRING "cid" */
    };
    kfk__fetch_request *out = golden(&kfk__desc_fetch_request, 12, &rq, want, sizeof(want), &a);
    ck_assert(kfk__str_eq(out->cluster_id, "cid"));
    /* Null (the default) is not sent. */
    rq.cluster_id = KFK__STR_NULL;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode(&kfk__desc_fetch_request, 12, &rq, &w, NULL), 0);
    ck_assert_uint_eq(w.len, sizeof(want) - 6);
    ck_assert_mem_eq(w.data + w.len - 3, "\x02" "r" "\x00", 3); /* RackId, no tags */
    kfk__wbuf_free(&w);
    kfk__arena_free(&a);
}
END_TEST

/* Varint boundaries in compact lengths: 126+1 fits one byte, 127+1 needs
 * two (0x80 0x01). */
START_TEST(compact_length_boundary)
{
    char s[200];
    memset(s, 'x', sizeof(s));
    kfk__api_versions_request rq;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    rq.client_software_name.ptr = s;
    rq.client_software_name.len = 126;
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_request, 3, &rq, &w, NULL), 0);
    ck_assert_uint_eq(w.len, 1 + 126 + 1 + 1);
    ck_assert_uint_eq(w.data[0], 0x7f);
    kfk__wbuf_reset(&w);
    rq.client_software_name.len = 127;
    ck_assert_int_eq(kfk__encode(&kfk__desc_api_versions_request, 3, &rq, &w, NULL), 0);
    ck_assert_uint_eq(w.len, 2 + 127 + 1 + 1);
    ck_assert_uint_eq(w.data[0], 0x80);
    ck_assert_uint_eq(w.data[1], 0x01);
    kfk__arena a;
    kfk__arena_init(&a, 0);
    void *o;
    ck_assert_int_eq(kfk__decode(&kfk__desc_api_versions_request, 3, w.data, w.len, &a, &o,
                                 NULL, NULL),
                     0);
    ck_assert_int_eq(((kfk__api_versions_request *)o)->client_software_name.len, 127);
    kfk__arena_free(&a);
    kfk__wbuf_free(&w);
}
END_TEST

static Suite *golden_suite(void)
{
    Suite *s = suite_create("codec_golden");
    TCase *tc = tcase_create("golden");
    tcase_add_test(tc, api_versions_request_v0);
    tcase_add_test(tc, api_versions_request_v3);
    tcase_add_test(tc, api_versions_response_v0);
    tcase_add_test(tc, api_versions_response_v3);
    tcase_add_test(tc, metadata_request_v12);
    tcase_add_test(tc, metadata_response_v12);
    tcase_add_test(tc, record_batch_literal_valid);
    tcase_add_test(tc, produce_request_v9);
    tcase_add_test(tc, produce_response_v10_tags);
    tcase_add_test(tc, fetch_response_v12_aborted);
    tcase_add_test(tc, fetch_response_v12_tags);
    tcase_add_test(tc, fetch_request_v12_cluster_id_tag);
    tcase_add_test(tc, compact_length_boundary);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(golden_suite)
