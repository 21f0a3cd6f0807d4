/*
 * test_consumer.c: the consumer with partitions assigned by hand, against
 * the in-process reference broker: every record read back once and in
 * order (keys, values, headers, timestamps), every codec, seek, pause,
 * position, watermarks, lag, offsets by time, end-of-partition events,
 * auto.offset.reset, and commits with committed offsets.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>
#include <kfk/kfk.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "producer/murmur2.h"
#include "tproducer.h"

#define N TP_N

static kfk_cluster_t *cluster;
static tracker t;

static void setup(void)
{
    static const char *const props[] = {"brokers=3", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
    memset(&t, 0, sizeof(t));
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
}

static kfk_t *consumer(const char *const *extra)
{
    kfk_conf_t *conf = kfk_conf_new();
    char err[512];
    ck_assert_int_eq(kfk_conf_set(conf, "bootstrap.servers", kfk_cluster_bootstrap(cluster), err,
                                  sizeof(err)),
                     0);
    for (int i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kfk_conf_set(conf, extra[i], extra[i + 1], err, sizeof(err)) == 0, "%s",
                      err);
    kfk_t *k = kfk_consumer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(k, "%s", err);
    return k;
}

static void assign_all(kfk_t *k, const char *topic, int partitions, int64_t offset)
{
    kfk_topic_partition_t parts[16];
    for (int p = 0; p < partitions; p++)
        parts[p] = (kfk_topic_partition_t){.topic = topic, .partition = p, .offset = offset,
                                           .leader_epoch = -1};
    ck_assert_int_eq(kfk_consumer_assign(k, parts, (size_t)partitions), 0);
}

/* Produces records from..to-1 (tp_produce_range) and waits for them. */
static void fill(const char *topic, int partitions, int from, int to, const char *const *extra)
{
    ck_assert_int_ge(kfk_cluster_create_topic(cluster, topic, partitions, 3), 0);
    kfk_t *p = tp_producer(cluster, &t, extra);
    tp_produce_range(p, topic, from, to, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    ck_assert_int_eq(t.errors, 0);
    kfk_destroy(p);
}

typedef struct seen {
    int count[N];
    int64_t next_offset[16];
    int total, events;
    kfk_err_t last_event;
} seen;

/* Polls until want records came (or 20 s), checking order and content. */
static void consume(kfk_t *k, seen *s, int want, int partitions)
{
    int64_t t0 = kfk__now_ms();
    while (s->total < want && kfk__now_ms() - t0 < 20000) {
        const kfk_message_t *msgs[100];
        size_t n = kfk_consumer_poll_batch(k, 200, msgs, 100);
        for (size_t i = 0; i < n; i++) {
            const kfk_message_t *m = msgs[i];
            if (m->err) {
                s->events++;
                s->last_event = m->err;
                continue;
            }
            ck_assert_int_lt(m->partition, partitions);
            ck_assert_int_eq(m->offset, s->next_offset[m->partition]);
            s->next_offset[m->partition] = m->offset + 1;
            ck_assert_uint_gt(m->value_len, 6);
            char val[32];
            snprintf(val, sizeof(val), "%.*s", (int)m->value_len, (const char *)m->value);
            int idx = atoi(val + 6);
            ck_assert(idx >= 0 && idx < N);
            char key[16];
            snprintf(key, sizeof(key), "key-%d", idx % 50);
            ck_assert_uint_eq(m->key_len, strlen(key));
            ck_assert_int_eq(memcmp(m->key, key, m->key_len), 0);
            ck_assert_int_eq(m->partition, kfk__murmur2_partition(key, strlen(key), partitions));
            ck_assert_int_gt(m->timestamp, 0);
            ck_assert_int_eq(m->timestamp_type, KFK_TIMESTAMP_CREATE_TIME);
            s->count[idx]++;
            s->total++;
        }
    }
}

START_TEST(manual_assign_reads_everything_in_order)
{
    fill("all", 3, 0, N, NULL);
    kfk_t *k = consumer(NULL);
    assign_all(k, "all", 3, KFK_OFFSET_BEGINNING);
    static seen s;
    memset(&s, 0, sizeof(s));
    consume(k, &s, N, 3);
    ck_assert_int_eq(s.total, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(s.count[i] == 1, "record %d read %d times", i, s.count[i]);
    /* nothing more comes */
    const kfk_message_t *m = kfk_consumer_poll(k, 300);
    ck_assert_ptr_null(m);
    kfk_topic_partition_t *as;
    size_t n;
    ck_assert_int_eq(kfk_consumer_assignment(k, &as, &n), 0);
    ck_assert_uint_eq(n, 3);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += as[i].offset;
    ck_assert_int_eq(sum, N);
    kfk_topic_partitions_free(as, n);
    ck_assert_int_eq(kfk_consumer_close(k, 5000), 0);
    kfk_destroy(k);
}
END_TEST

START_TEST(every_codec)
{
    static const char *const codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    for (int c = 0; c < 4; c++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "z-%s", codecs[c]);
        memset(&t, 0, sizeof(t));
        const char *const extra[] = {"compression.type", codecs[c], "linger.ms", "20", NULL};
        fill(topic, 2, 0, 1000, extra);
        kfk_t *k = consumer(NULL);
        assign_all(k, topic, 2, KFK_OFFSET_BEGINNING);
        static seen s;
        memset(&s, 0, sizeof(s));
        consume(k, &s, 1000, 2);
        ck_assert_msg(s.total == 1000, "%s: %d records", codecs[c], s.total);
        for (int i = 0; i < 1000; i++)
            ck_assert_int_eq(s.count[i], 1);
        kfk_destroy(k);
    }
}
END_TEST

/* Records with headers and explicit timestamps, for the calls below
 * (recent ones: the broker's retention.ms would delete old ones). */
static int64_t base_ts;

static void fill_timed(const char *topic, int count)
{
    base_ts = kfk__wall_ms() - 100000;
    ck_assert_int_ge(kfk_cluster_create_topic(cluster, topic, 1, 3), 0);
    kfk_t *p = tp_producer(cluster, &t, NULL);
    for (int i = 0; i < count; i++) {
        char val[32];
        snprintf(val, sizeof(val), "value-%d", i);
        kfk_header_t h[2] = {{.key = "n", .value = val, .value_len = strlen(val)},
                             {.key = "null", .value = NULL}};
        kfk_record_t r = {.topic = topic, .partition = 0, .value = val,
                          .value_len = strlen(val), .headers = h, .header_count = 2,
                          .timestamp = base_ts + i * 10, .opaque = (void *)(intptr_t)i};
        ck_assert_int_eq(kfk_produce(p, &r, 0), 0);
    }
    ck_assert_int_eq(kfk_flush(p, 10000), 0);
    kfk_destroy(p);
}

static const kfk_message_t *next_record(kfk_t *k)
{
    for (int i = 0; i < 100; i++) {
        const kfk_message_t *m = kfk_consumer_poll(k, 100);
        if (m && !m->err)
            return m;
    }
    return NULL;
}

START_TEST(seek_pause_position_and_lookups)
{
    fill_timed("timed", 100);
    kfk_t *k = consumer(NULL);
    kfk_topic_partition_t p = {.topic = "timed", .partition = 0, .offset = 50, .leader_epoch = -1};
    ck_assert_int_eq(kfk_consumer_assign(k, &p, 1), 0);
    const kfk_message_t *m = next_record(k);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->offset, 50);
    ck_assert_int_eq(m->timestamp, base_ts + 500);
    ck_assert_uint_eq(m->header_count, 2);
    ck_assert_uint_eq(m->headers[0].key_len, 1);
    ck_assert_int_eq(memcmp(m->headers[0].key, "n", 1), 0);
    ck_assert_uint_eq(m->headers[0].value_len, strlen("value-50"));
    ck_assert_ptr_null(m->headers[1].value);
    ck_assert_int_eq(m->leader_epoch >= 0, 1);
    for (int i = 51; i < 60; i++)
        ck_assert_int_eq(next_record(k)->offset, i);
    kfk_topic_partition_t q = {.topic = "timed", .partition = 0};
    ck_assert_int_eq(kfk_consumer_position(k, &q, 1), 0);
    ck_assert_int_eq(q.offset, 60);
    ck_assert_int_eq(kfk_consumer_lag(k, "timed", 0), 40);
    int64_t lo = -5, hi = -5;
    ck_assert_int_eq(kfk_consumer_watermarks(k, "timed", 0, &lo, &hi, 5000), 0);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 100);
    ck_assert_int_eq(kfk_consumer_watermarks(k, "timed", 0, &lo, &hi, 0), 0);
    ck_assert_int_eq(hi, 100);

    /* seek back */
    q.offset = 5;
    ck_assert_int_eq(kfk_consumer_seek(k, &q, 1), 0);
    ck_assert_int_eq(next_record(k)->offset, 5);
    /* seek a partition that is not assigned */
    kfk_topic_partition_t bad = {.topic = "timed", .partition = 7, .offset = 0};
    ck_assert_int_eq(kfk_consumer_seek(k, &bad, 1), KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(bad.err, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    /* pause: nothing comes; resume: it goes on where it was */
    ck_assert_int_eq(kfk_consumer_pause(k, &q, 1), 0);
    int64_t t0 = kfk__now_ms();
    while (kfk__now_ms() - t0 < 400)
        ck_assert_ptr_null(kfk_consumer_poll(k, 50));
    ck_assert_int_eq(kfk_consumer_resume(k, &q, 1), 0);
    ck_assert_int_eq(next_record(k)->offset, 6);

    /* offsets by time */
    kfk_topic_partition_t ts[2] = {{.topic = "timed", .partition = 0, .offset = base_ts + 425},
                                   {.topic = "timed", .partition = 0, .offset = base_ts + 9000000}};
    ck_assert_int_eq(kfk_consumer_offsets_for_times(k, ts, 1, 5000), 0);
    ck_assert_int_eq(ts[0].offset, 43);
    ck_assert_int_eq(kfk_consumer_offsets_for_times(k, &ts[1], 1, 5000), 0);
    ck_assert_int_eq(ts[1].offset, -1);
    kfk_destroy(k);
}
END_TEST

START_TEST(end_of_partition_events)
{
    fill("eof", 2, 0, 200, NULL);
    static const char *const extra[] = {"enable.partition.eof", "true", NULL};
    kfk_t *k = consumer(extra);
    assign_all(k, "eof", 2, KFK_OFFSET_BEGINNING);
    int records = 0, eofs = 0;
    int64_t t0 = kfk__now_ms();
    while (eofs < 2 && kfk__now_ms() - t0 < 10000) {
        const kfk_message_t *m = kfk_consumer_poll(k, 100);
        if (!m)
            continue;
        if (m->err == KFK_ERR__PARTITION_EOF) {
            eofs++;
            ck_assert_ptr_nonnull(m->errstr);
        } else {
            ck_assert_int_eq(m->err, 0);
            records++;
        }
    }
    ck_assert_int_eq(eofs, 2);
    ck_assert_int_eq(records, 200);
    kfk_destroy(k);
}
END_TEST

START_TEST(auto_offset_reset)
{
    fill("reset", 1, 0, 100, NULL);
    /* none: an error event, no records */
    static const char *const none[] = {"group.id", "g-none", "auto.offset.reset", "none", NULL};
    kfk_t *k = consumer(none);
    assign_all(k, "reset", 1, KFK_OFFSET_STORED);
    const kfk_message_t *m = NULL;
    for (int i = 0; i < 50 && !m; i++)
        m = kfk_consumer_poll(k, 100);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->err, KFK_ERR__NO_OFFSET);
    kfk_destroy(k);
    /* latest: only what comes after */
    static const char *const latest[] = {"group.id", "g-latest", "auto.offset.reset", "latest",
                                         NULL};
    k = consumer(latest);
    assign_all(k, "reset", 1, KFK_OFFSET_STORED);
    ck_assert_ptr_null(kfk_consumer_poll(k, 1000));
    fill("reset", 1, 100, 110, NULL);
    m = next_record(k);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->offset, 100);
    kfk_destroy(k);
    /* earliest */
    static const char *const earliest[] = {"group.id", "g-earliest", "auto.offset.reset",
                                           "earliest", NULL};
    k = consumer(earliest);
    assign_all(k, "reset", 1, KFK_OFFSET_STORED);
    m = next_record(k);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->offset, 0);
    kfk_destroy(k);
}
END_TEST

START_TEST(commit_and_resume_from_committed)
{
    fill("commits", 2, 0, 400, NULL);
    static const char *const g[] = {"group.id", "g-commit", "enable.auto.commit", "false",
                                    NULL};
    kfk_t *k = consumer(g);
    assign_all(k, "commits", 2, KFK_OFFSET_BEGINNING);
    static seen s;
    memset(&s, 0, sizeof(s));
    consume(k, &s, 400, 2);
    ck_assert_int_eq(s.total, 400);
    /* commit explicit offsets for partition 0, positions for the rest */
    kfk_topic_partition_t c0 = {.topic = "commits", .partition = 0, .offset = 7,
                                .leader_epoch = -1, .metadata = "hello"};
    ck_assert_int_eq(kfk_consumer_commit(k, &c0, 1, 0), 0);
    ck_assert_int_eq(c0.err, 0);
    kfk_topic_partition_t q[2] = {{.topic = "commits", .partition = 0},
                                  {.topic = "commits", .partition = 1}};
    ck_assert_int_eq(kfk_consumer_committed(k, q, 2, 5000), 0);
    ck_assert_int_eq(q[0].offset, 7);
    ck_assert_int_eq(q[1].offset, KFK_OFFSET_INVALID);
    ck_assert_int_eq(kfk_consumer_commit(k, NULL, 0, 0), 0);
    ck_assert_int_eq(kfk_consumer_committed(k, q, 2, 5000), 0);
    ck_assert_int_eq(q[0].offset + q[1].offset, 400);
    /* async commit with a callback served by poll */
    kfk_topic_partition_t c1 = {.topic = "commits", .partition = 1, .offset = 3,
                                .leader_epoch = -1};
    ck_assert_int_eq(kfk_consumer_commit(k, &c1, 1, KFK_COMMIT_ASYNC), 0);
    int64_t t0 = kfk__now_ms();
    for (;;) {
        ck_assert_int_eq(kfk_consumer_committed(k, q, 2, 5000), 0);
        if (q[1].offset == 3 || kfk__now_ms() - t0 > 5000)
            break;
        kfk_consumer_poll(k, 50);
    }
    ck_assert_int_eq(q[1].offset, 3);
    kfk_destroy(k);
    /* a new consumer of the group starts from the committed offsets */
    k = consumer(g);
    assign_all(k, "commits", 2, KFK_OFFSET_STORED);
    memset(&s, 0, sizeof(s));
    s.next_offset[0] = q[0].offset;
    s.next_offset[1] = 3;
    consume(k, &s, (int)(400 - q[0].offset - 3), 2);
    ck_assert_int_eq(s.total, 400 - q[0].offset - 3);
    /* commit without a group: a clear error */
    kfk_destroy(k);
    k = consumer(NULL);
    ck_assert_int_eq(kfk_consumer_commit(k, &c0, 1, 0), KFK_ERR__INVALID_CONFIG);
    ck_assert_int_eq(kfk_consumer_subscribe(k, (const char *const[]){"x"}, 1),
                     KFK_ERR__INVALID_CONFIG);
    kfk_destroy(k);
}
END_TEST

/* Leaders move, a broker stops and starts, fetches fail and connections
 * drop while the consumer reads: every record still arrives once, in
 * order. */
START_TEST(reads_through_leader_changes)
{
    fill("moving", 3, 0, N / 2, NULL);
    kfk_t *k = consumer(NULL);
    assign_all(k, "moving", 3, KFK_OFFSET_BEGINNING);
    static seen s;
    memset(&s, 0, sizeof(s));
    consume(k, &s, N / 4, 3);
    for (int p = 0; p < 3; p++)
        kfk_cluster_move_leader(cluster, "moving", p, kfk_cluster_leader(cluster, "moving", p) % 3 + 1);
    kfk_cluster_inject_error(cluster, -1, 1, "moving", -1, KFK_ERR_NOT_LEADER_OR_FOLLOWER, 2);
    kfk_cluster_inject_error(cluster, -1, 1, "moving", -1, KFK_ERR_FENCED_LEADER_EPOCH, 2);
    kfk_cluster_inject_error(cluster, -1, 1, "moving", -1, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION, 1);
    consume(k, &s, N / 3, 3);
    int victim = kfk_cluster_leader(cluster, "moving", 0);
    kfk_cluster_broker_stop(cluster, victim);
    kfk_t *p = tp_producer(cluster, &t, NULL);
    tp_produce_range(p, "moving", N / 2, N, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
    kfk_cluster_drop_after(cluster, -1, 3);
    consume(k, &s, 3 * N / 4, 3);
    kfk_cluster_broker_start(cluster, victim);
    consume(k, &s, N, 3);
    ck_assert_int_eq(s.total, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(s.count[i] == 1, "record %d read %d times", i, s.count[i]);
    kfk_destroy(k);
}
END_TEST

/* allow.auto.create.topics=false: reading a missing topic does not make
 * it; the default (true) does, as in Java. */
START_TEST(auto_create_follows_the_property)
{
    static const char *const no[] = {"allow.auto.create.topics", "false", NULL};
    kfk_t *k = consumer(no);
    assign_all(k, "nosuch", 1, KFK_OFFSET_BEGINNING);
    for (int i = 0; i < 10; i++)
        kfk_consumer_poll(k, 100);
    ck_assert_int_eq(kfk_cluster_offsets(cluster, "nosuch", 0, NULL, NULL),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kfk_destroy(k);
    k = consumer(NULL);
    assign_all(k, "made", 1, KFK_OFFSET_BEGINNING);
    kfk_err_t e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    for (int i = 0; i < 50 && e; i++) {
        kfk_consumer_poll(k, 100);
        e = kfk_cluster_offsets(cluster, "made", 0, NULL, NULL);
    }
    ck_assert_int_eq(e, KFK_ERR_NONE);
    kfk_destroy(k);
}
END_TEST

START_TEST(bad_arguments)
{
    kfk_t *k = consumer(NULL);
    kfk_topic_partition_t bad = {.topic = NULL, .partition = 0};
    ck_assert_int_eq(kfk_consumer_assign(k, &bad, 1), KFK_ERR__INVALID_ARG);
    bad.topic = "x";
    bad.offset = -77;
    ck_assert_int_eq(kfk_consumer_assign(k, &bad, 1), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_consumer_assign(NULL, NULL, 0), KFK_ERR__INVALID_ARG);
    ck_assert_ptr_null(kfk_consumer_poll(NULL, 0));
    ck_assert_int_eq(kfk_consumer_close(k, 1000), 0);
    ck_assert_int_eq(kfk_consumer_close(k, 1000), KFK_ERR__STATE);
    kfk_destroy(k);
    /* a producer is not a consumer */
    kfk_t *p = tp_producer(cluster, &t, NULL);
    ck_assert_ptr_null(kfk_consumer_poll(p, 0));
    ck_assert_int_eq(kfk_consumer_assign(p, NULL, 0), KFK_ERR__INVALID_ARG);
    kfk_destroy(p);
}
END_TEST

static Suite *consumer_suite(void)
{
    Suite *s = suite_create("consumer");
    TCase *tc = tcase_create("consumer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, manual_assign_reads_everything_in_order);
    tcase_add_test(tc, every_codec);
    tcase_add_test(tc, seek_pause_position_and_lookups);
    tcase_add_test(tc, end_of_partition_events);
    tcase_add_test(tc, auto_offset_reset);
    tcase_add_test(tc, commit_and_resume_from_committed);
    tcase_add_test(tc, reads_through_leader_changes);
    tcase_add_test(tc, auto_create_follows_the_property);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(consumer_suite)
