/*
 * test_producer_faults.c: the idempotent producer through the failures a
 * cluster can throw at it (broker stop/start, every retriable Produce
 * error, UNKNOWN_PRODUCER_ID and sequence errors, requests that time out
 * after the broker wrote them) and the purge/close promises: every record
 * reported exactly once, and with idempotence stored exactly once, in
 * key order.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>
#include <kfk/producer.h>

#include "../unit/check_main.h"
#include "net/loop.h"
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

static void flush_ok(kfk_t *k)
{
    ck_assert_int_eq(kfk_flush(k, 60000), 0);
    ck_assert_msg(t.errors == 0, "%d errors, last %s", t.errors, kfk_err_name(t.last_err));
}

START_TEST(broker_stop_and_start)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "stops", 3, 3), 0);
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "stops", 0, N / 3, true);
    int victim = kfk_cluster_leader(cluster, "stops", 0);
    ck_assert_int_eq(kfk_cluster_broker_stop(cluster, victim), 0);
    tp_produce_range(k, "stops", N / 3, 2 * N / 3, true);
    kfk_poll(k, 200);
    ck_assert_int_eq(kfk_cluster_broker_start(cluster, victim), 0);
    for (int p = 0; p < 3; p++)
        kfk_cluster_move_leader(cluster, "stops", p, victim);
    tp_produce_range(k, "stops", 2 * N / 3, N, true);
    flush_ok(k);
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "stops", 3, &t);
}
END_TEST

/* Every error a Produce partition response can carry that the producer
 * must get through, twice each, while records flow: the retriable ones,
 * and the sequence errors an idempotent producer recovers from. */
START_TEST(every_retriable_produce_error)
{
    static const kfk_err_t errs[] = {
        KFK_ERR_NOT_LEADER_OR_FOLLOWER, KFK_ERR_LEADER_NOT_AVAILABLE,
        KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION, KFK_ERR_FENCED_LEADER_EPOCH,
        KFK_ERR_NOT_ENOUGH_REPLICAS, KFK_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        KFK_ERR_REQUEST_TIMED_OUT, KFK_ERR_KAFKA_STORAGE_ERROR,
        KFK_ERR_NETWORK_EXCEPTION, KFK_ERR_CORRUPT_MESSAGE,
        KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, KFK_ERR_UNKNOWN_PRODUCER_ID,
        KFK_ERR_THROTTLING_QUOTA_EXCEEDED, KFK_ERR_UNKNOWN_LEADER_EPOCH,
    };
    const int ne = (int)(sizeof(errs) / sizeof(errs[0]));
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "errs", 3, 3), 0);
    kfk_t *k = tp_producer(cluster, &t, NULL);
    int chunk = N / ne;
    for (int i = 0; i < ne; i++) {
        kfk_cluster_inject_error(cluster, -1, 0, "errs", -1, errs[i], 2);
        tp_produce_range(k, "errs", i * chunk, i == ne - 1 ? N : (i + 1) * chunk, true);
        kfk_poll(k, 20);
    }
    flush_ok(k);
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "errs", 3, &t);
}
END_TEST

/* UNKNOWN_PRODUCER_ID over and over on one partition: the producer bumps
 * its epoch (KIP-360) and resends from sequence 0, losing nothing. */
START_TEST(unknown_producer_id_bumps_epoch)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "upid", 2, 3), 0);
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "upid", 0, N / 2, true);
    kfk_flush(k, 30000);
    kfk_cluster_inject_error(cluster, -1, 0, "upid", 1, KFK_ERR_UNKNOWN_PRODUCER_ID, 4);
    kfk_cluster_inject_error(cluster, -1, 0, "upid", 0, KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 7);
    tp_produce_range(k, "upid", N / 2, N, true);
    flush_ok(k);
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "upid", 2, &t);
}
END_TEST

/* The broker writes the batches but answers after request.timeout.ms: the
 * producer times out, reconnects and resends; idempotence makes the
 * resends no-ops, so nothing is stored twice. */
START_TEST(request_timeouts_after_write)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "late", 1, 3), 0);
    static const char *const extra[] = {"request.timeout.ms", "400", "delivery.timeout.ms",
                                        "60000", NULL};
    kfk_t *k = tp_producer(cluster, &t, extra);
    tp_produce_range(k, "late", 0, N / 3, true);
    kfk_flush(k, 30000);
    int leader = kfk_cluster_leader(cluster, "late", 0);
    kfk_cluster_set_latency(cluster, leader, 700);
    tp_produce_range(k, "late", N / 3, 2 * N / 3, true);
    kfk_poll(k, 1500); /* a few timeouts happen */
    kfk_cluster_set_latency(cluster, leader, 0);
    tp_produce_range(k, "late", 2 * N / 3, N, true);
    flush_ok(k);
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "late", 1, &t);
}
END_TEST

static int count_reports(int from, int to, kfk_err_t want, int *other)
{
    int n = 0;
    for (int i = from; i < to; i++) {
        ck_assert_msg(t.reports[i] == 1, "record %d reported %d times", i, t.reports[i]);
        if (t.err[i] == want)
            n++;
        else
            (*other)++;
    }
    return n;
}

/* kfk_purge fails what is queued and in flight at once, each record
 * once; the producer then goes on (after an epoch bump) and what comes
 * next is delivered. */
START_TEST(purge_then_continue)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "purge", 1, 3), 0);
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "purge", 0, 10, false);
    kfk_flush(k, 10000);
    int leader = kfk_cluster_leader(cluster, "purge", 0);
    kfk_cluster_broker_pause(cluster, leader, 1);
    tp_produce_range(k, "purge", 10, 1010, false);
    kfk_poll(k, 100); /* some go in flight */
    ck_assert_int_eq(kfk_purge(k, 0x100), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_purge(k, KFK_PURGE_QUEUED | KFK_PURGE_INFLIGHT), 0);
    ck_assert_int_eq(kfk_poll(k, 1000) > 0, 1);
    while (kfk_outstanding(k) > 0)
        kfk_poll(k, 100);
    int other = 0;
    ck_assert_int_eq(count_reports(10, 1010, KFK_ERR__PURGED, &other), 1000);
    kfk_cluster_broker_pause(cluster, leader, 0);
    t.errors = 0;
    tp_produce_range(k, "purge", 1010, 1100, false);
    flush_ok(k);
    other = 0;
    ck_assert_int_eq(count_reports(1010, 1100, KFK_ERR_NONE, &other), 90);
    kfk_destroy(k);
    static int seen[N];
    tp_count_stored(cluster, "purge", 1, seen);
    for (int i = 0; i < 1100; i++)
        ck_assert_msg(i >= 10 && i < 1010 ? seen[i] <= 1 : seen[i] == 1,
                      "record %d stored %d times", i, seen[i]);
}
END_TEST

/* kfk_close with the leader unreachable: returns TIMED_OUT in about the
 * time given, every record gets its one report, and nothing is accepted
 * afterwards. */
START_TEST(close_reports_everything)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "closing", 1, 1), 0);
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "closing", 0, 5, false);
    kfk_flush(k, 10000);
    kfk_cluster_broker_pause(cluster, kfk_cluster_leader(cluster, "closing", 0), 1);
    tp_produce_range(k, "closing", 5, 500, false);
    int64_t t0 = kfk__now_ms();
    ck_assert_int_eq(kfk_close(k, 500), KFK_ERR__TIMED_OUT);
    ck_assert_int_lt(kfk__now_ms() - t0, 5000);
    ck_assert_int_eq(kfk_outstanding(k), 0);
    int other = 0;
    ck_assert_int_eq(count_reports(0, 5, KFK_ERR_NONE, &other), 5);
    ck_assert_int_eq(count_reports(5, 500, KFK_ERR__PURGED, &other), 495);
    kfk_record_t r = {.topic = "closing", .value = "x", .value_len = 1};
    ck_assert_int_eq(kfk_produce(k, &r, 0), KFK_ERR__STATE);
    ck_assert_int_eq(kfk_close(k, 0), KFK_ERR__STATE);
    kfk_cluster_broker_pause(cluster, -1, 0);
    kfk_destroy(k);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("producer_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, broker_stop_and_start);
    tcase_add_test(tc, every_retriable_produce_error);
    tcase_add_test(tc, unknown_producer_id_bumps_epoch);
    tcase_add_test(tc, request_timeouts_after_write);
    tcase_add_test(tc, purge_then_continue);
    tcase_add_test(tc, close_reports_everything);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(faults_suite)
