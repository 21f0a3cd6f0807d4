/*
 * test_client.c: the client core against the reference broker: bootstrap
 * parsing, first metadata, topics learnt on demand (auto-created),
 * brokers created from metadata, leader moves seen after a refresh, a dead
 * bootstrap address skipped, and work posted to the I/O thread.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <kfk/broker.h>

#include "../unit/check_main.h"
#include "client/client.h"

static kfk_cluster_t *cluster;

static kfk__client_conf conf(const char *bootstrap)
{
    kfk__client_conf c = {
        .bootstrap = bootstrap,
        .broker = {.client_id = "test-client",
                   .software_name = "kfk-test",
                   .software_version = "0.1",
                   .request_timeout_ms = 1000,
                   .reconnect_backoff_ms = 20,
                   .reconnect_backoff_max_ms = 200,
                   .connect_timeout_ms = 1000,
                   .max_response_size = 100 << 20},
        .metadata_max_age_ms = 300000,
        .retry_backoff_ms = 20,
        .retry_backoff_max_ms = 200,
    };
    return c;
}

static void setup(void)
{
    static const char *const props[] = {"brokers=3", "num.partitions=6", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
}

START_TEST(bad_bootstrap)
{
    const char *bad[] = {"", "host", "host:", "host:0", "host:99999", "a:1,,b:2", ":9092"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kfk__client *c;
        char err[256];
        kfk__client_conf cf = conf(bad[i]);
        ck_assert_int_eq(kfk__client_new(&cf, &c, err, sizeof(err)), KFK_ERR__INVALID_CONFIG);
        ck_assert_msg(strstr(err, "bootstrap.servers"), "case %zu: %s", i, err);
    }
}
END_TEST

START_TEST(learns_topics_and_brokers)
{
    kfk__client *c;
    char err[256];
    kfk__client_conf cf = conf(kfk_cluster_bootstrap(cluster));
    ck_assert_int_eq(kfk__client_new(&cf, &c, err, sizeof(err)), 0);
    ck_assert_int_eq(kfk__client_metadata_wait(c, "orders", 5000), 6);
    kfk__mdcache *md = kfk__client_metadata(c);
    for (int32_t p = 0; p < 6; p++) {
        int32_t leader, epoch;
        ck_assert(kfk__mdcache_leader(md, "orders", p, &leader, &epoch));
        ck_assert_int_eq(leader, kfk_cluster_leader(cluster, "orders", p));
    }
    kfk__md_broker b;
    for (int32_t id = 1; id <= 3; id++)
        ck_assert(kfk__mdcache_broker(md, id, &b));
    /* A leader move shows after a refresh. */
    int32_t old = kfk_cluster_leader(cluster, "orders", 0);
    int32_t next = old % 3 + 1;
    ck_assert_int_eq(kfk_cluster_move_leader(cluster, "orders", 0, next), 0);
    ck_assert_int_gt(kfk__client_metadata_wait(c, NULL, 5000), 0);
    int32_t leader, epoch;
    ck_assert(kfk__mdcache_leader(md, "orders", 0, &leader, &epoch));
    ck_assert_int_eq(leader, next);
    kfk__client_free(c);
}
END_TEST

START_TEST(dead_bootstrap_address_skipped)
{
    char list[512];
    snprintf(list, sizeof(list), "127.0.0.1:1,%s", kfk_cluster_bootstrap(cluster));
    kfk__client *c;
    kfk__client_conf cf = conf(list);
    ck_assert_int_eq(kfk__client_new(&cf, &c, NULL, 0), 0);
    ck_assert_int_eq(kfk__client_metadata_wait(c, "t", 10000), 6);
    kfk__client_free(c);
}
END_TEST

START_TEST(unknown_topic_without_auto_create)
{
    static const char *const props[] = {"auto.create.topics.enable=false", NULL};
    kfk_cluster_t *strict = kfk_cluster_new(props, NULL, 0);
    ck_assert_ptr_nonnull(strict);
    kfk__client *c;
    kfk__client_conf cf = conf(kfk_cluster_bootstrap(strict));
    ck_assert_int_eq(kfk__client_new(&cf, &c, NULL, 0), 0);
    ck_assert_int_eq(kfk__client_metadata_wait(c, "nope", 5000),
                     -KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kfk__client_free(c);
    kfk_cluster_destroy(strict);
}
END_TEST

static void posted(kfk__client *c, void *arg)
{
    int *n = arg;
    (void)c;
    __atomic_add_fetch(n, 1, __ATOMIC_SEQ_CST);
}

START_TEST(post_runs_every_op_once)
{
    kfk__client *c;
    kfk__client_conf cf = conf(kfk_cluster_bootstrap(cluster));
    ck_assert_int_eq(kfk__client_new(&cf, &c, NULL, 0), 0);
    int n = 0;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(kfk__client_post(c, posted, &n), 0);
    kfk__client_free(c); /* runs what is left */
    ck_assert_int_eq(n, 1000);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bad_bootstrap);
    tcase_add_test(tc, learns_topics_and_brokers);
    tcase_add_test(tc, dead_bootstrap_address_skipped);
    tcase_add_test(tc, unknown_topic_without_auto_create);
    tcase_add_test(tc, post_runs_every_op_once);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(client_suite)
