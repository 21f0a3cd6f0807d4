/*
 * test_broker_data.c: the reference broker's data path over real sockets:
 * Produce (acks, idempotence, leadership, KIP-951 hints, compacted topics),
 * Fetch (offsets, limits, long polling, sessions), ListOffsets,
 * OffsetForLeaderEpoch, DeleteRecords, and durability across a restart.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "proto/record.h"
#include "tclient.h"

static kfk_cluster_t *cluster;
static tclient cli;

static void start_with(const char *const *props)
{
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "cluster: %s", err);
    ck_assert_int_eq(tclient_connect(&cli, kfk_cluster_bootstrap(cluster)), 0);
}

static void setup(void)
{
    static const char *const props[] = {"brokers=3", NULL};
    start_with(props);
}

static void teardown(void)
{
    tclient_close(&cli);
    kfk_cluster_destroy(cluster);
    cluster = NULL;
}

/* A batch of n records "k<i>" -> "v<first+i>", optionally idempotent. */
static kfk__wbuf make_batch(int first, int n, int64_t pid, int16_t epoch, int32_t seq,
                            int codec, bool null_keys)
{
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__wbuf_init(&w, 0);
    kfk__batch_opts_init(&o);
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.codec = codec;
    ck_assert_int_eq(kfk__batch_begin(&bw, &w, &o), 0);
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        int kl = snprintf(k, sizeof(k), "k%d", i);
        int vl = snprintf(v, sizeof(v), "v%d", first + i);
        ck_assert_int_eq(kfk__batch_append(&bw, kfk__wall_ms(), k, null_keys ? -1 : kl, v, vl,
                                           NULL, 0),
                         0);
    }
    ck_assert_int_eq(kfk__batch_finish(&bw, NULL), 0);
    return w;
}

static kfk__produce_response_partition_produce_response *
produce(tclient *t, int16_t v, const char *topic, int32_t part, int16_t acks, kfk__wbuf *batch,
        kfk__produce_response **whole)
{
    kfk__produce_request rq;
    kfk__produce_request_topic_produce_data td;
    kfk__produce_request_partition_produce_data pd;
    kfk__msg_init(&kfk__desc_produce_request, &rq);
    kfk__struct_init(&kfk__produce_request_topic_produce_data_desc, &td);
    kfk__struct_init(&kfk__produce_request_partition_produce_data_desc, &pd);
    pd.index = part;
    pd.records.ptr = batch->data;
    pd.records.len = (int32_t)batch->len;
    td.name = kfk__str_c(topic);
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    rq.topic_data.v = &td;
    rq.topic_data.n = 1;
    rq.acks = acks;
    rq.timeout_ms = 5000;
    kfk__produce_response *r;
    ck_assert_int_eq(tclient_call(t, 0, v, &rq, (void **)&r), 0);
    if (whole)
        *whole = r;
    ck_assert_int_eq(r->responses.n, 1);
    ck_assert_int_eq(r->responses.v[0].partition_responses.n, 1);
    return &r->responses.v[0].partition_responses.v[0];
}

typedef struct fetch_args {
    int16_t version;
    int32_t session_id, session_epoch;
    int32_t max_wait, min_bytes, max_bytes, part_max;
    int64_t offset;
} fetch_args;

static kfk__fetch_response *fetch(tclient *t, const char *topic, const kfk__uuid *id,
                                  int32_t part, const fetch_args *a)
{
    kfk__fetch_request rq;
    kfk__fetch_request_topic ft;
    kfk__fetch_request_partition fp;
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    kfk__struct_init(&kfk__fetch_request_topic_desc, &ft);
    kfk__struct_init(&kfk__fetch_request_partition_desc, &fp);
    fp.partition = part;
    fp.fetch_offset = a->offset;
    fp.partition_max_bytes = a->part_max ? a->part_max : 1 << 20;
    ft.topic = kfk__str_c(topic);
    if (id)
        ft.topic_id = *id;
    ft.partitions.v = &fp;
    ft.partitions.n = part < 0 ? 0 : 1;
    rq.topics.v = &ft;
    rq.topics.n = 1;
    rq.replica_id = -1;
    rq.max_wait_ms = a->max_wait;
    rq.min_bytes = a->min_bytes;
    rq.max_bytes = a->max_bytes ? a->max_bytes : 50 << 20;
    rq.session_id = a->session_id;
    rq.session_epoch = a->session_epoch;
    kfk__fetch_response *r;
    ck_assert_int_eq(tclient_call(t, 1, a->version, &rq, (void **)&r), 0);
    return r;
}

typedef struct counting {
    int first, n;
    int64_t *next;
} counting;

static void count_one(const kfk__record *rec, void *arg)
{
    counting *c = arg;
    char want[32];
    snprintf(want, sizeof(want), "v%d", c->first + c->n);
    ck_assert_int_eq(rec->value_len, (int)strlen(want));
    ck_assert(!memcmp(rec->value, want, strlen(want)));
    if (c->next)
        *c->next = rec->offset + 1;
    c->n++;
}

/* Counts records and checks values are v<first>.. in order. */
static int count_records(kfk__bytes recs, int first, int64_t *next)
{
    counting c = {first, 0, next};
    ck_assert_int_ge(tclient_each_record(recs, count_one, &c), 0);
    return c.n;
}

START_TEST(produce_fetch_roundtrip)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "rt", 1, 3), 0);
    int leader = kfk_cluster_leader(cluster, "rt", 0);
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster), leader), 0);
    int codecs[] = {KFK__CODEC_NONE, KFK__CODEC_GZIP, KFK__CODEC_SNAPPY, KFK__CODEC_LZ4,
                    KFK__CODEC_ZSTD};
    int total = 0;
    for (int16_t v = 3; v <= 11; v++) {
        kfk__wbuf b = make_batch(total, 10, -1, -1, -1, codecs[v % 5], false);
        kfk__produce_response_partition_produce_response *pr = produce(&t, v, "rt", 0, -1, &b, NULL);
        kfk__wbuf_free(&b);
        ck_assert_int_eq(pr->error_code, 0);
        ck_assert_int_eq(pr->base_offset, total);
        total += 10;
    }
    for (int16_t v = 4; v <= 12; v++) { /* v13+ address topics by id */
        fetch_args a = {.version = v, .session_epoch = -1};
        kfk__fetch_response *r = fetch(&t, "rt", NULL, 0, &a);
        ck_assert_int_eq(r->responses.n, 1);
        kfk__fetch_response_partition_data *pd = &r->responses.v[0].partitions.v[0];
        ck_assert_int_eq(pd->error_code, 0);
        ck_assert_int_eq(pd->high_watermark, total);
        ck_assert_int_eq(count_records(pd->records, 0, NULL), total);
    }
    /* Fetch from the middle: the batch containing offset 15 comes whole. */
    fetch_args a = {.version = 12, .session_epoch = -1, .offset = 15};
    kfk__fetch_response *r = fetch(&t, "rt", NULL, 0, &a);
    ck_assert_int_eq(count_records(r->responses.v[0].partitions.v[0].records, 10, NULL),
                     total - 10);
    /* Out of range. */
    a.offset = total + 5;
    r = fetch(&t, "rt", NULL, 0, &a);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, KFK_ERR_OFFSET_OUT_OF_RANGE);
    /* v13+ by topic id (from Metadata). */
    kfk__metadata_request mq;
    kfk__metadata_request_topic mt;
    kfk__msg_init(&kfk__desc_metadata_request, &mq);
    kfk__struct_init(&kfk__metadata_request_topic_desc, &mt);
    mt.name = KFK__STR("rt");
    mq.topics.v = &mt;
    mq.topics.n = 1;
    kfk__metadata_response *m;
    ck_assert_int_eq(tclient_call(&t, 3, 12, &mq, (void **)&m), 0);
    kfk__uuid id = m->topics.v[0].topic_id;
    fetch_args a16 = {.version = 16, .session_epoch = -1};
    r = fetch(&t, "", &id, 0, &a16);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, 0);
    ck_assert_int_eq(count_records(r->responses.v[0].partitions.v[0].records, 0, NULL), total);
    kfk__uuid bogus = {{1, 2, 3}};
    r = fetch(&t, "", &bogus, 0, &a16);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, KFK_ERR_UNKNOWN_TOPIC_ID);
    tclient_close(&t);
}
END_TEST

START_TEST(not_leader_hint)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "nl", 1, 3), 0);
    int leader = kfk_cluster_leader(cluster, "nl", 0);
    int other = leader % 3 + 1;
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster), other), 0);
    kfk__wbuf b = make_batch(0, 1, -1, -1, -1, 0, false);
    kfk__produce_response *whole;
    kfk__produce_response_partition_produce_response *pr = produce(&t, 10, "nl", 0, -1, &b, &whole);
    ck_assert_int_eq(pr->error_code, KFK_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(pr->current_leader.leader_id, leader);
    ck_assert_int_ge(whole->node_endpoints.n, 1);
    fetch_args a = {.version = 12, .session_epoch = -1};
    kfk__fetch_response *r = fetch(&t, "nl", NULL, 0, &a);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, KFK_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].current_leader.leader_id, leader);
    /* Unknown partition and topic. */
    pr = produce(&t, 9, "nl", 7, -1, &b, NULL);
    ck_assert_int_eq(pr->error_code, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    pr = produce(&t, 9, "no-such-topic", 0, -1, &b, NULL);
    ck_assert_int_eq(pr->error_code, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kfk__wbuf_free(&b);
    tclient_close(&t);
}
END_TEST

START_TEST(idempotence)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "idem", 1, 1), 0);
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster),
                                         kfk_cluster_leader(cluster, "idem", 0)),
                     0);
    kfk__init_producer_id_request ip;
    kfk__msg_init(&kfk__desc_init_producer_id_request, &ip);
    ip.transactional_id = KFK__STR_NULL; /* idempotent only */
    ip.transaction_timeout_ms = 60000;
    kfk__init_producer_id_response *ir;
    ck_assert_int_eq(tclient_call(&t, 22, 4, &ip, (void **)&ir), 0);
    ck_assert_int_eq(ir->error_code, 0);
    int64_t pid = ir->producer_id;
    ck_assert_int_ge(pid, 0);
    kfk__wbuf b0 = make_batch(0, 5, pid, 0, 0, 0, false);
    kfk__wbuf b1 = make_batch(5, 5, pid, 0, 5, 0, false);
    kfk__wbuf gap = make_batch(10, 5, pid, 0, 20, 0, false);
    ck_assert_int_eq(produce(&t, 9, "idem", 0, -1, &b0, NULL)->base_offset, 0);
    ck_assert_int_eq(produce(&t, 9, "idem", 0, -1, &b1, NULL)->base_offset, 5);
    /* A retried batch is answered with its original offset, not stored. */
    kfk__produce_response_partition_produce_response *pr = produce(&t, 9, "idem", 0, -1, &b0, NULL);
    ck_assert_int_eq(pr->error_code, 0);
    ck_assert_int_eq(pr->base_offset, 0);
    pr = produce(&t, 9, "idem", 0, -1, &gap, NULL);
    ck_assert_int_eq(pr->error_code, KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    int64_t hi = 0;
    ck_assert_int_eq(kfk_cluster_offsets(cluster, "idem", 0, NULL, &hi), 0);
    ck_assert_int_eq(hi, 10);
    kfk__wbuf_free(&b0);
    kfk__wbuf_free(&b1);
    kfk__wbuf_free(&gap);
    tclient_close(&t);
}
END_TEST

START_TEST(acks_zero_and_compacted_keys)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "a0", 1, 1), 0);
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster),
                                         kfk_cluster_leader(cluster, "a0", 0)),
                     0);
    kfk__wbuf b = make_batch(0, 3, -1, -1, -1, 0, false);
    /* acks=0: no response; the next request's answer arrives first. */
    kfk__produce_request rq;
    kfk__produce_request_topic_produce_data td;
    kfk__produce_request_partition_produce_data pd;
    kfk__msg_init(&kfk__desc_produce_request, &rq);
    kfk__struct_init(&kfk__produce_request_topic_produce_data_desc, &td);
    kfk__struct_init(&kfk__produce_request_partition_produce_data_desc, &pd);
    pd.records.ptr = b.data;
    pd.records.len = (int32_t)b.len;
    td.name = KFK__STR("a0");
    td.partition_data.v = &pd;
    td.partition_data.n = 1;
    rq.topic_data.v = &td;
    rq.topic_data.n = 1;
    rq.acks = 0;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 0, 9, 1000, "t", &rq, NULL), 0);
    ck_assert_int_eq(write(t.fd, w.data, w.len), (ssize_t)w.len);
    kfk__wbuf_free(&w);
    fetch_args a = {.version = 12, .session_epoch = -1};
    kfk__fetch_response *r = fetch(&t, "a0", NULL, 0, &a);
    ck_assert_int_eq(count_records(r->responses.v[0].partitions.v[0].records, 0, NULL), 3);
    kfk__wbuf_free(&b);
    /* A compacted topic refuses records without keys. */
    kfk__create_topics_request cq;
    kfk__create_topics_request_creatable_topic ct;
    kfk__create_topics_request_creatable_topic_config cc;
    kfk__msg_init(&kfk__desc_create_topics_request, &cq);
    kfk__struct_init(&kfk__create_topics_request_creatable_topic_desc, &ct);
    kfk__struct_init(&kfk__create_topics_request_creatable_topic_config_desc, &cc);
    cc.name = KFK__STR("cleanup.policy");
    cc.value = KFK__STR("compact");
    ct.name = KFK__STR("cmp");
    ct.num_partitions = 1;
    ct.replication_factor = 1;
    ct.configs.v = &cc;
    ct.configs.n = 1;
    cq.topics.v = &ct;
    cq.topics.n = 1;
    kfk__create_topics_response *cr;
    ck_assert_int_eq(tclient_call(&t, 19, 7, &cq, (void **)&cr), 0);
    ck_assert_int_eq(cr->topics.v[0].error_code, 0);
    tclient_close(&t);
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster),
                                         kfk_cluster_leader(cluster, "cmp", 0)),
                     0);
    kfk__wbuf nk = make_batch(0, 2, -1, -1, -1, KFK__CODEC_LZ4, true);
    ck_assert_int_eq(produce(&t, 9, "cmp", 0, -1, &nk, NULL)->error_code, KFK_ERR_INVALID_RECORD);
    kfk__wbuf_free(&nk);
    nk = make_batch(0, 2, -1, -1, -1, KFK__CODEC_LZ4, false);
    ck_assert_int_eq(produce(&t, 9, "cmp", 0, -1, &nk, NULL)->error_code, 0);
    kfk__wbuf_free(&nk);
    tclient_close(&t);
}
END_TEST

START_TEST(long_poll_and_sessions)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "lp", 1, 1), 0);
    tclient t, p;
    const char *bs = kfk_cluster_bootstrap(cluster);
    int leader = kfk_cluster_leader(cluster, "lp", 0);
    ck_assert_int_eq(tclient_connect_nth(&t, bs, leader), 0);
    ck_assert_int_eq(tclient_connect_nth(&p, bs, leader), 0);
    /* Nothing there: waits max_wait. */
    int64_t t0 = kfk__now_ms();
    fetch_args a = {.version = 12, .session_epoch = 0, .max_wait = 300, .min_bytes = 1};
    kfk__fetch_response *r = fetch(&t, "lp", NULL, 0, &a);
    ck_assert_int_ge(kfk__now_ms() - t0, 280);
    ck_assert_int_ne(r->session_id, 0);
    int32_t sid = r->session_id;
    ck_assert_int_eq(r->responses.n, 1);
    /* Incremental, nothing changed: empty response after the wait. */
    fetch_args inc = {.version = 12, .session_id = sid, .session_epoch = 1, .max_wait = 100,
                      .min_bytes = 1};
    r = fetch(&t, "lp", NULL, -1, &inc);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->responses.n, 0);
    /* Data arrives while a fetch waits: it returns early with the data.
     * Send the fetch, then produce from the other connection. */
    kfk__fetch_request rq;
    kfk__msg_init(&kfk__desc_fetch_request, &rq);
    rq.max_wait_ms = 5000;
    rq.min_bytes = 1;
    rq.max_bytes = 1 << 20;
    rq.session_id = sid;
    rq.session_epoch = 2;
    rq.topics.n = 0;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 1, 12, 77, "t", &rq, NULL), 0);
    t0 = kfk__now_ms();
    ck_assert_int_eq(write(t.fd, w.data, w.len), (ssize_t)w.len);
    kfk__wbuf_free(&w);
    usleep(100 * 1000);
    kfk__wbuf b = make_batch(0, 4, -1, -1, -1, 0, false);
    ck_assert_int_eq(produce(&p, 9, "lp", 0, -1, &b, NULL)->error_code, 0);
    kfk__wbuf_free(&b);
    uint8_t hdr[4];
    ck_assert_int_eq(read(t.fd, hdr, 4), 4);
    ck_assert_int_lt(kfk__now_ms() - t0, 3000);
    size_t n = kfk__load_be32(hdr);
    uint8_t *resp = malloc(n);
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(t.fd, resp + got, n - got);
        ck_assert_int_gt(k, 0);
        got += (size_t)k;
    }
    kfk__arena ar;
    kfk__arena_init(&ar, 0);
    int32_t corr;
    kfk__fetch_response *fr;
    ck_assert_int_eq(kfk__decode_response(1, 12, resp, n, &ar, &corr, (void **)&fr, NULL), 0);
    ck_assert_int_eq(corr, 77);
    ck_assert_int_eq(fr->responses.n, 1);
    ck_assert_int_eq(count_records(fr->responses.v[0].partitions.v[0].records, 0, NULL), 4);
    kfk__arena_free(&ar);
    free(resp);
    /* Wrong epoch, unknown session. */
    inc.session_epoch = 9;
    inc.max_wait = 0;
    r = fetch(&t, "lp", NULL, -1, &inc);
    ck_assert_int_eq(r->error_code, KFK_ERR_INVALID_FETCH_SESSION_EPOCH);
    inc.session_id = sid ^ 0x5555;
    inc.session_epoch = 1;
    r = fetch(&t, "lp", NULL, -1, &inc);
    ck_assert_int_eq(r->error_code, KFK_ERR_FETCH_SESSION_ID_NOT_FOUND);
    tclient_close(&p);
    tclient_close(&t);
}
END_TEST

START_TEST(list_offsets_and_delete_records)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "lo", 1, 1), 0);
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, kfk_cluster_bootstrap(cluster),
                                         kfk_cluster_leader(cluster, "lo", 0)),
                     0);
    for (int i = 0; i < 5; i++) {
        kfk__wbuf b = make_batch(i * 2, 2, -1, -1, -1, 0, false);
        ck_assert_int_eq(produce(&t, 9, "lo", 0, 1, &b, NULL)->error_code, 0);
        kfk__wbuf_free(&b);
    }
    int64_t want[] = {10, 0, 0};
    int64_t ts[] = {-1, -2, 0};
    for (int i = 0; i < 3; i++) {
        kfk__list_offsets_request rq;
        kfk__list_offsets_request_topic lt;
        kfk__list_offsets_request_partition lp;
        kfk__msg_init(&kfk__desc_list_offsets_request, &rq);
        kfk__struct_init(&kfk__list_offsets_request_topic_desc, &lt);
        kfk__struct_init(&kfk__list_offsets_request_partition_desc, &lp);
        lp.timestamp = ts[i];
        lt.name = KFK__STR("lo");
        lt.partitions.v = &lp;
        lt.partitions.n = 1;
        rq.topics.v = &lt;
        rq.topics.n = 1;
        rq.replica_id = -1;
        kfk__list_offsets_response *r;
        ck_assert_int_eq(tclient_call(&t, 2, 7, &rq, (void **)&r), 0);
        ck_assert_int_eq(r->topics.v[0].partitions.v[0].error_code, 0);
        ck_assert_int_eq(r->topics.v[0].partitions.v[0].offset, want[i]);
    }
    kfk__delete_records_request dq;
    kfk__delete_records_request_topic dt;
    kfk__delete_records_request_partition dp;
    kfk__msg_init(&kfk__desc_delete_records_request, &dq);
    kfk__struct_init(&kfk__delete_records_request_topic_desc, &dt);
    kfk__struct_init(&kfk__delete_records_request_partition_desc, &dp);
    dp.offset = 4;
    dt.name = KFK__STR("lo");
    dt.partitions.v = &dp;
    dt.partitions.n = 1;
    dq.topics.v = &dt;
    dq.topics.n = 1;
    kfk__delete_records_response *dr;
    ck_assert_int_eq(tclient_call(&t, 21, 2, &dq, (void **)&dr), 0);
    ck_assert_int_eq(dr->topics.v[0].partitions.v[0].error_code, 0);
    ck_assert_int_eq(dr->topics.v[0].partitions.v[0].low_watermark, 4);
    fetch_args a = {.version = 12, .session_epoch = -1, .offset = 2};
    kfk__fetch_response *r = fetch(&t, "lo", NULL, 0, &a);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].error_code, KFK_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(r->responses.v[0].partitions.v[0].log_start_offset, 4);
    dp.offset = 99;
    ck_assert_int_eq(tclient_call(&t, 21, 2, &dq, (void **)&dr), 0);
    ck_assert_int_eq(dr->topics.v[0].partitions.v[0].error_code, KFK_ERR_OFFSET_OUT_OF_RANGE);
    tclient_close(&t);
}
END_TEST

START_TEST(epochs_follow_leader_moves)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "ep", 1, 3), 0);
    const char *bs = kfk_cluster_bootstrap(cluster);
    int l1 = kfk_cluster_leader(cluster, "ep", 0);
    tclient t;
    ck_assert_int_eq(tclient_connect_nth(&t, bs, l1), 0);
    kfk__wbuf b = make_batch(0, 3, -1, -1, -1, 0, false);
    ck_assert_int_eq(produce(&t, 9, "ep", 0, -1, &b, NULL)->error_code, 0);
    tclient_close(&t);
    int l2 = l1 % 3 + 1;
    ck_assert_int_eq(kfk_cluster_move_leader(cluster, "ep", 0, l2), 0);
    ck_assert_int_eq(tclient_connect_nth(&t, bs, l2), 0);
    ck_assert_int_eq(produce(&t, 9, "ep", 0, -1, &b, NULL)->base_offset, 3);
    kfk__wbuf_free(&b);
    kfk__offset_for_leader_epoch_request rq;
    kfk__offset_for_leader_epoch_request_offset_for_leader_topic ot;
    kfk__offset_for_leader_epoch_request_offset_for_leader_partition op;
    kfk__msg_init(&kfk__desc_offset_for_leader_epoch_request, &rq);
    kfk__struct_init(&kfk__offset_for_leader_epoch_request_offset_for_leader_topic_desc, &ot);
    kfk__struct_init(&kfk__offset_for_leader_epoch_request_offset_for_leader_partition_desc, &op);
    op.leader_epoch = 0;
    op.current_leader_epoch = 1;
    ot.topic = KFK__STR("ep");
    ot.partitions.v = &op;
    ot.partitions.n = 1;
    rq.topics.v = &ot;
    rq.topics.n = 1;
    rq.replica_id = -1;
    kfk__offset_for_leader_epoch_response *r;
    ck_assert_int_eq(tclient_call(&t, 23, 4, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].error_code, 0);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].leader_epoch, 0);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].end_offset, 3);
    op.current_leader_epoch = 0; /* stale */
    ck_assert_int_eq(tclient_call(&t, 23, 4, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].error_code, KFK_ERR_FENCED_LEADER_EPOCH);
    tclient_close(&t);
}
END_TEST

START_TEST(durable_restart)
{
    char dir[] = "/tmp/kfk-broker-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char prop[300];
    snprintf(prop, sizeof(prop), "data.dir=%s", dir);
    const char *props[] = {prop, NULL};
    char err[256];
    kfk_cluster_t *c = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(c, "%s", err);
    ck_assert_int_eq(kfk_cluster_create_topic(c, "keep", 2, 1), 0);
    tclient t;
    ck_assert_int_eq(tclient_connect(&t, kfk_cluster_bootstrap(c)), 0);
    for (int i = 0; i < 20; i++) {
        kfk__wbuf b = make_batch(i * 5, 5, -1, -1, -1, i % 5, false);
        ck_assert_int_eq(produce(&t, 9, "keep", 1, -1, &b, NULL)->error_code, 0);
        kfk__wbuf_free(&b);
    }
    tclient_close(&t);
    kfk_cluster_destroy(c);
    c = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(c, "%s", err);
    int64_t lo, hi;
    ck_assert_int_eq(kfk_cluster_offsets(c, "keep", 1, &lo, &hi), 0);
    ck_assert_int_eq(hi, 100);
    ck_assert_int_eq(tclient_connect(&t, kfk_cluster_bootstrap(c)), 0);
    fetch_args a = {.version = 12, .session_epoch = -1};
    kfk__fetch_response *r = fetch(&t, "keep", NULL, 1, &a);
    ck_assert_int_eq(count_records(r->responses.v[0].partitions.v[0].records, 0, NULL), 100);
    tclient_close(&t);
    kfk_cluster_destroy(c);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *broker_data_suite(void)
{
    Suite *s = suite_create("broker_data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, produce_fetch_roundtrip);
    tcase_add_test(tc, not_leader_hint);
    tcase_add_test(tc, idempotence);
    tcase_add_test(tc, acks_zero_and_compacted_keys);
    tcase_add_test(tc, long_poll_and_sessions);
    tcase_add_test(tc, list_offsets_and_delete_records);
    tcase_add_test(tc, epochs_follow_leader_moves);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("durable");
    tcase_set_timeout(tc2, 60);
    tcase_add_test(tc2, durable_restart);
    suite_add_tcase(s, tc2);
    return s;
}

KFK_CHECK_MAIN(broker_data_suite)
