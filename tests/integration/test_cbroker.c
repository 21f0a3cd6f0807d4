/*
 * test_cbroker.c: the client's broker connection against the reference
 * broker: ApiVersions negotiation, requests built for the negotiated
 * version, request timeouts, reconnects with backoff after a broker stop,
 * and every request answered exactly once.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <kfk/broker.h>

#include "../unit/check_main.h"
#include "client/cbroker.h"
#include "net/loop.h"
#include "proto/gen/all.h"

static kfk_cluster_t *cluster;
static kfk__loop *loop;
static char host[64];
static int port;

static const kfk__cbroker_conf conf = {
    .client_id = "test-cbroker",
    .software_name = "kfk-test",
    .software_version = "0.1",
    .request_timeout_ms = 500,
    .reconnect_backoff_ms = 20,
    .reconnect_backoff_max_ms = 200,
    .connect_timeout_ms = 1000,
    .max_response_size = 100 << 20,
};

static void setup(void)
{
    static const char *const props[] = {"brokers=1", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
    ck_assert_int_eq(sscanf(kfk_cluster_bootstrap(cluster), "%63[^:]:%d", host, &port), 2);
    loop = kfk__loop_new(NULL, NULL);
    ck_assert_ptr_nonnull(loop);
}

static void teardown(void)
{
    kfk__loop_free(loop);
    kfk_cluster_destroy(cluster);
}

typedef struct result {
    int calls;
    int err;
    int16_t version;
    int32_t brokers;
    int16_t error_code;
} result;

static void *build_metadata(int16_t version, kfk__arena *a, void *opaque)
{
    (void)version;
    (void)opaque;
    kfk__metadata_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (rq) {
        kfk__msg_init(&kfk__desc_metadata_request, rq);
        rq->topics.n = version == 0 ? 0 : -1;
    }
    return rq;
}

static void on_metadata(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    result *r = opaque;
    (void)b;
    r->calls++;
    r->err = err;
    r->version = version;
    if (!err)
        r->brokers = ((kfk__metadata_response *)resp)->brokers.n;
}

/* Runs the loop until every result has its call (or 10 s pass). */
static void wait_for(result *r, int n)
{
    int64_t end = kfk__now_ms() + 10000;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += r[i].calls > 0;
        if (done == n || kfk__now_ms() > end)
            break;
        kfk__loop_run_once(loop, 50);
    }
}

START_TEST(negotiates_and_requests)
{
    kfk__cbroker *b = kfk__cbroker_new(loop, -1, host, port, &conf, NULL, NULL);
    result r[3] = {{0}};
    /* Any version we know: the broker's highest (12); capped at 4; at
     * least 99: unsupported. */
    ck_assert_int_eq(kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &r[0]), 0);
    ck_assert_int_eq(kfk__cbroker_request(b, 3, 0, 4, build_metadata, on_metadata, &r[1]), 0);
    ck_assert_int_eq(kfk__cbroker_request(b, 3, 99, 99, build_metadata, on_metadata, &r[2]), 0);
    ck_assert_int_eq(r[0].calls + r[1].calls + r[2].calls, 0); /* never inside the call */
    wait_for(r, 3);
    ck_assert_int_eq(r[0].calls, 1);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_int_eq(r[0].version, 12);
    ck_assert_int_eq(r[0].brokers, 1);
    ck_assert_int_eq(r[1].version, 4);
    ck_assert_int_eq(r[1].err, 0);
    ck_assert_int_eq(r[2].err, KFK_ERR__UNSUPPORTED_VERSION);
    int16_t lo, hi;
    kfk__cbroker_api_range(b, 1, &lo, &hi);
    ck_assert_int_eq(lo, 4);
    ck_assert_int_eq(hi, 16);
    ck_assert_int_eq(kfk__cbroker_state_get(b), KFK__CB_UP);
    kfk__cbroker_free(b);
}
END_TEST

START_TEST(timeout_then_recovery)
{
    kfk__cbroker *b = kfk__cbroker_new(loop, 1, host, port, &conf, NULL, NULL);
    result warm = {0};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &warm);
    wait_for(&warm, 1);
    ck_assert_int_eq(warm.err, 0);
    kfk_cluster_broker_pause(cluster, 1, 1);
    result r = {0};
    int64_t t0 = kfk__now_ms();
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &r);
    wait_for(&r, 1);
    ck_assert_int_eq(r.err, KFK_ERR__TIMED_OUT);
    ck_assert_int_ge(kfk__now_ms() - t0, 450);
    kfk_cluster_broker_pause(cluster, 1, 0);
    result again = {0};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &again);
    wait_for(&again, 1);
    ck_assert_int_eq(again.err, 0);
    kfk__cbroker_free(b);
}
END_TEST

START_TEST(broker_down_and_back)
{
    kfk__cbroker *b = kfk__cbroker_new(loop, 1, host, port, &conf, NULL, NULL);
    result warm = {0};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &warm);
    wait_for(&warm, 1);
    ck_assert_int_eq(warm.err, 0);
    kfk_cluster_broker_stop(cluster, 1);
    /* Queued while down: times out after request.timeout.ms, once. */
    result r = {0};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &r);
    wait_for(&r, 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert(r.err == KFK_ERR__TIMED_OUT || r.err == KFK_ERR__TRANSPORT);
    kfk_cluster_broker_start(cluster, 1);
    result back = {0};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &back);
    wait_for(&back, 1);
    ck_assert_int_eq(back.err, 0);
    ck_assert_int_eq(back.calls, 1);
    kfk__cbroker_free(b);
}
END_TEST

START_TEST(free_fails_outstanding)
{
    kfk__cbroker *b = kfk__cbroker_new(loop, -1, "127.0.0.1", 1, &conf, NULL, NULL);
    result r[2] = {{0}};
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &r[0]);
    kfk__cbroker_request(b, 3, 0, 12, build_metadata, on_metadata, &r[1]);
    kfk__loop_run_once(loop, 20);
    kfk__cbroker_free(b);
    ck_assert_int_eq(r[0].calls, 1);
    ck_assert_int_eq(r[1].calls, 1);
    ck_assert_int_eq(r[0].err, KFK_ERR__DESTROYED);
}
END_TEST

static Suite *cbroker_suite(void)
{
    Suite *s = suite_create("cbroker");
    TCase *tc = tcase_create("cbroker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, negotiates_and_requests);
    tcase_add_test(tc, timeout_then_recovery);
    tcase_add_test(tc, broker_down_and_back);
    tcase_add_test(tc, free_fails_outstanding);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(cbroker_suite)
