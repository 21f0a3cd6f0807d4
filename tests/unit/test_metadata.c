/*
 * test_metadata.c: the client's metadata cache: merging Metadata
 * responses, lookups, KIP-320 epoch rules, KIP-951 leader hints, removal of
 * deleted topics, and allocation failures.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "client/metadata.h"
#include "common/alloc.h"

typedef struct fixture {
    kfk__metadata_response resp;
    kfk__metadata_response_broker brokers[2];
    kfk__metadata_response_topic topics[2];
    kfk__metadata_response_partition parts[2][3];
} fixture;

/* Two brokers; topics "a" (3 partitions) and "b" (1), leaders alternate,
 * every leader epoch = epoch. */
static void make(fixture *f, int32_t epoch, uint8_t id_byte)
{
    memset(f, 0, sizeof(*f));
    kfk__msg_init(&kfk__desc_metadata_response, &f->resp);
    for (int i = 0; i < 2; i++) {
        kfk__struct_init(&kfk__metadata_response_broker_desc, &f->brokers[i]);
        f->brokers[i].node_id = i + 1;
        f->brokers[i].host = KFK__STR("127.0.0.1");
        f->brokers[i].port = 9092 + i;
    }
    const char *names[2] = {"a", "b"};
    int32_t counts[2] = {3, 1};
    for (int t = 0; t < 2; t++) {
        kfk__struct_init(&kfk__metadata_response_topic_desc, &f->topics[t]);
        f->topics[t].name = kfk__str_c(names[t]);
        f->topics[t].topic_id.b[0] = (uint8_t)(id_byte + t);
        for (int p = 0; p < counts[t]; p++) {
            kfk__metadata_response_partition *mp = &f->parts[t][p];
            kfk__struct_init(&kfk__metadata_response_partition_desc, mp);
            mp->partition_index = p;
            mp->leader_id = 1 + p % 2;
            mp->leader_epoch = epoch;
        }
        f->topics[t].partitions.v = f->parts[t];
        f->topics[t].partitions.n = counts[t];
    }
    f->resp.brokers.v = f->brokers;
    f->resp.brokers.n = 2;
    f->resp.topics.v = f->topics;
    f->resp.topics.n = 2;
    f->resp.cluster_id = KFK__STR("cluster");
    f->resp.controller_id = 1;
}

START_TEST(update_and_lookup)
{
    kfk__mdcache md;
    fixture f;
    ck_assert_int_eq(kfk__mdcache_init(&md), 0);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "a"), 0);
    make(&f, 5, 10);
    ck_assert_int_eq(kfk__mdcache_update(&md, &f.resp, true, 1000), 0);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "a"), 3);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "b"), 1);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "c"), 0);
    int32_t leader, epoch;
    ck_assert(kfk__mdcache_leader(&md, "a", 1, &leader, &epoch));
    ck_assert_int_eq(leader, 2);
    ck_assert_int_eq(epoch, 5);
    ck_assert(!kfk__mdcache_leader(&md, "a", 3, &leader, &epoch));
    kfk__md_broker b;
    ck_assert(kfk__mdcache_broker(&md, 2, &b));
    ck_assert_int_eq(b.port, 9093);
    ck_assert_str_eq(b.host, "127.0.0.1");
    ck_assert(!kfk__mdcache_broker(&md, 7, &b));
    ck_assert_str_eq(md.cluster_id, "cluster");
    kfk__mdcache_destroy(&md);
}
END_TEST

START_TEST(epochs_never_go_back)
{
    kfk__mdcache md;
    fixture f;
    kfk__mdcache_init(&md);
    make(&f, 5, 10);
    kfk__mdcache_update(&md, &f.resp, false, 1);
    /* A stale broker answers with epoch 4 and other leaders: ignored. */
    make(&f, 4, 10);
    f.parts[0][0].leader_id = 2;
    kfk__mdcache_update(&md, &f.resp, false, 2);
    int32_t leader, epoch;
    ck_assert(kfk__mdcache_leader(&md, "a", 0, &leader, &epoch));
    ck_assert_int_eq(leader, 1);
    ck_assert_int_eq(epoch, 5);
    /* The topic was re-created (new id): the lower epoch is the truth. */
    make(&f, 0, 99);
    f.parts[0][0].leader_id = 2;
    kfk__mdcache_update(&md, &f.resp, false, 3);
    ck_assert(kfk__mdcache_leader(&md, "a", 0, &leader, &epoch));
    ck_assert_int_eq(leader, 2);
    ck_assert_int_eq(epoch, 0);
    /* A KIP-951 hint applies only when newer. */
    kfk__mdcache_set_leader(&md, "a", 0, 1, 0);
    ck_assert(kfk__mdcache_leader(&md, "a", 0, &leader, &epoch));
    ck_assert_int_eq(leader, 2);
    kfk__mdcache_set_leader(&md, "a", 0, 1, 1);
    ck_assert(kfk__mdcache_leader(&md, "a", 0, &leader, &epoch));
    ck_assert_int_eq(leader, 1);
    ck_assert_int_eq(epoch, 1);
    kfk__mdcache_destroy(&md);
}
END_TEST

START_TEST(errors_and_removal)
{
    kfk__mdcache md;
    fixture f;
    kfk__mdcache_init(&md);
    make(&f, 1, 1);
    kfk__mdcache_update(&md, &f.resp, true, 1);
    /* "b" reported with an error; "a" alone in an all-topics answer. */
    f.topics[1].error_code = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    f.topics[1].partitions.n = 0;
    kfk__mdcache_update(&md, &f.resp, false, 2);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "b"), -KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    f.resp.topics.n = 1;
    kfk__mdcache_update(&md, &f.resp, true, 3);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "b"), 0);
    ck_assert_int_eq(kfk__mdcache_partition_count(&md, "a"), 3);
    kfk__mdcache_destroy(&md);
}
END_TEST

START_TEST(many_topics_sorted)
{
    kfk__mdcache md;
    kfk__mdcache_init(&md);
    char names[200][8];
    kfk__metadata_response resp;
    kfk__metadata_response_topic topics[200];
    kfk__msg_init(&kfk__desc_metadata_response, &resp);
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "t%03d", (i * 37) % 200);
        kfk__struct_init(&kfk__metadata_response_topic_desc, &topics[i]);
        topics[i].name = kfk__str_c(names[i]);
    }
    resp.topics.v = topics;
    resp.topics.n = 200;
    ck_assert_int_eq(kfk__mdcache_update(&md, &resp, true, 1), 0);
    ck_assert_int_eq(md.ntopics, 200);
    for (int i = 1; i < md.ntopics; i++)
        ck_assert(strcmp(md.topics[i - 1].name, md.topics[i].name) < 0);
    kfk__mdcache_destroy(&md);
}
END_TEST

START_TEST(allocation_failures)
{
    fixture f;
    make(&f, 1, 1);
    for (long n = 0;; n++) {
        kfk__mdcache md;
        ck_assert_int_eq(kfk__mdcache_init(&md), 0);
        kfk__alloc_fail_after(n);
        int e = kfk__mdcache_update(&md, &f.resp, true, 1);
        kfk__alloc_fail_after(-1);
        kfk__mdcache_destroy(&md);
        if (!e)
            break;
        ck_assert_int_eq(e, KFK_ERR__NOMEM);
        ck_assert_int_lt(n, 100);
    }
}
END_TEST

static Suite *metadata_suite(void)
{
    Suite *s = suite_create("metadata");
    TCase *tc = tcase_create("metadata");
    tcase_add_test(tc, update_and_lookup);
    tcase_add_test(tc, epochs_never_go_back);
    tcase_add_test(tc, errors_and_removal);
    tcase_add_test(tc, many_topics_sorted);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(metadata_suite)
