/*
 * test_consumer_group.c: consumers in groups against the reference
 * broker's coordinator: eager and cooperative rebalancing with members
 * joining and leaving while records flow, never two owners of a partition
 * (checked in the rebalance callbacks), every record delivered, commits
 * across rebalances, max.poll.interval.ms, static membership, and the
 * coordinator moving or failing.
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
#include "tproducer.h"

#define N TP_N
#define NPART 6
#define MAXC 4

static kfk_cluster_t *cluster;
static tracker t;

static void setup(void)
{
    static const char *const props[] = {"brokers=3", "group.min.session.timeout.ms=500", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
    memset(&t, 0, sizeof(t));
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
}

/* Who owns each partition, as the rebalance callbacks say. */
static int owner[NPART];
static int assigned_events, revoked_events, lost_events;

typedef struct member {
    int id;
    kfk_t *k;
    int owned;
} member;

static void on_rebalance(kfk_t *k, kfk_rebalance_event_t ev, const kfk_topic_partition_t *parts,
                         size_t n, void *opaque)
{
    member *m = opaque;
    (void)k;
    if (getenv("KFK_TEST_TRACE")) {
        char ps[128] = "";
        for (size_t i = 0; i < n && strlen(ps) < 100; i++)
            snprintf(ps + strlen(ps), sizeof(ps) - strlen(ps), " %d", (int)parts[i].partition);
        fprintf(stderr, "member %d (%s): %s%s (gen %d)\n", m->id, kfk_name(k),
                ev == KFK_REBALANCE_ASSIGNED ? "assigned" : ev == KFK_REBALANCE_REVOKED ? "revoked" : "lost",
                ps, (int)kfk_consumer_member_id(k, NULL, 0));
    }
    for (size_t i = 0; i < n; i++) {
        int p = parts[i].partition;
        ck_assert(p >= 0 && p < NPART);
        if (strcmp(parts[i].topic, "grp")) { /* only "grp" is tracked by owner */
            m->owned += ev == KFK_REBALANCE_ASSIGNED ? 1 : -1;
            continue;
        }
        if (ev == KFK_REBALANCE_ASSIGNED) {
            ck_assert_msg(owner[p] == -1, "partition %d given to %d while %d owns it", p, m->id,
                          owner[p]);
            owner[p] = m->id;
            m->owned++;
        } else {
            if (owner[p] == m->id)
                owner[p] = -1;
            m->owned--;
        }
    }
    if (ev == KFK_REBALANCE_ASSIGNED)
        assigned_events++;
    else if (ev == KFK_REBALANCE_REVOKED)
        revoked_events++;
    else
        lost_events++;
}

static kfk_t *group_consumer(member *m, int id, const char *group, const char *const *extra)
{
    kfk_conf_t *conf = kfk_conf_new();
    char err[512];
    const char *const base[] = {"bootstrap.servers", kfk_cluster_bootstrap(cluster),
                                "group.id", group,
                                "session.timeout.ms", "3000",
                                "heartbeat.interval.ms", "200",
                                "auto.offset.reset", "earliest",
                                "auto.commit.interval.ms", "200",
                                NULL};
    for (int i = 0; base[i]; i += 2)
        ck_assert_msg(kfk_conf_set(conf, base[i], base[i + 1], err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kfk_conf_set(conf, extra[i], extra[i + 1], err, sizeof(err)) == 0, "%s",
                      err);
    m->id = id;
    m->owned = 0;
    kfk_conf_set_rebalance_cb(conf, on_rebalance, m);
    m->k = kfk_consumer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(m->k, "%s", err);
    const char *topics[] = {"grp"};
    ck_assert_int_eq(kfk_consumer_subscribe(m->k, topics, 1), 0);
    return m->k;
}

static int seen[N];
static int total_seen;

static int poll_member(member *m, int timeout_ms)
{
    const kfk_message_t *msgs[200];
    size_t n = kfk_consumer_poll_batch(m->k, timeout_ms, msgs, 200);
    int recs = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i]->err)
            continue;
        ck_assert_int_eq(owner[msgs[i]->partition], m->id);
        int idx = atoi((const char *)msgs[i]->value + 6);
        ck_assert(idx >= 0 && idx < N);
        if (seen[idx]++ == 0)
            total_seen++;
        recs++;
    }
    return recs;
}

static void reset_state(void)
{
    for (int p = 0; p < NPART; p++)
        owner[p] = -1;
    memset(seen, 0, sizeof(seen));
    total_seen = 0;
    assigned_events = revoked_events = lost_events = 0;
}

/* Polls every live member until pred or timeout. */
static bool poll_until(member *ms, int n, bool (*pred)(void), int timeout_ms)
{
    int64_t t0 = kfk__now_ms();
    while (kfk__now_ms() - t0 < timeout_ms) {
        for (int i = 0; i < n; i++)
            if (ms[i].k)
                poll_member(&ms[i], 20);
        if (pred())
            return true;
    }
    return pred();
}

static bool all_seen(void)
{
    return total_seen == N;
}

static bool all_owned(void)
{
    for (int p = 0; p < NPART; p++)
        if (owner[p] < 0)
            return false;
    return true;
}

static void produce_all(void)
{
    kfk_t *p = tp_producer(cluster, &t, NULL);
    tp_produce_range(p, "grp", 0, N, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
}

static void group_churn(const char *strategy)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[MAXC];
    memset(ms, 0, sizeof(ms));
    const char *const extra[] = {"partition.assignment.strategy", strategy, NULL};
    group_consumer(&ms[0], 0, strategy, extra);
    ck_assert(poll_until(ms, 1, all_owned, 15000));
    /* records flow while members come and go */
    kfk_t *p = tp_producer(cluster, &t, NULL);
    tp_produce_range(p, "grp", 0, N / 3, true);
    group_consumer(&ms[1], 1, strategy, extra);
    poll_until(ms, 2, all_seen, 1500);
    tp_produce_range(p, "grp", N / 3, 2 * N / 3, true);
    group_consumer(&ms[2], 2, strategy, extra);
    poll_until(ms, 3, all_seen, 1500);
    ck_assert_int_eq(kfk_consumer_close(ms[1].k, 10000), 0);
    kfk_destroy(ms[1].k);
    ms[1].k = NULL;
    tp_produce_range(p, "grp", 2 * N / 3, N, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
    ck_assert_msg(poll_until(ms, 3, all_seen, 20000), "%d of %d records seen", total_seen, N);
    ck_assert(poll_until(ms, 3, all_owned, 10000));
    /* the two left split the partitions evenly */
    ck_assert_int_eq(ms[0].owned + ms[2].owned, NPART);
    ck_assert_int_eq(ms[0].owned, NPART / 2);
    ck_assert_int_eq(lost_events, 0);
    for (int i = 0; i < MAXC; i++)
        if (ms[i].k) {
            ck_assert_int_eq(kfk_consumer_close(ms[i].k, 10000), 0);
            kfk_destroy(ms[i].k);
        }
    /* positions are committed (synchronously) at every revoke and close,
     * so the next owner of a partition starts where the last one stopped:
     * every record exactly once */
    for (int i = 0; i < N; i++)
        ck_assert_msg(seen[i] == 1, "record %d delivered %d times", i, seen[i]);
}

START_TEST(eager_range_group_with_churn)
{
    group_churn("range");
}
END_TEST

START_TEST(cooperative_sticky_group_with_churn)
{
    group_churn("cooperative-sticky");
    ck_assert_int_gt(revoked_events, 0);
}
END_TEST

/* Committed offsets carry over to the next member of the group. */
START_TEST(close_commits_and_next_member_resumes)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    produce_all();
    static member ms[2];
    memset(ms, 0, sizeof(ms));
    group_consumer(&ms[0], 0, "resume", NULL);
    ck_assert(poll_until(ms, 1, all_seen, 20000));
    ck_assert_int_eq(kfk_consumer_close(ms[0].k, 10000), 0);
    kfk_destroy(ms[0].k);
    ms[0].k = NULL;
    reset_state();
    group_consumer(&ms[1], 1, "resume", NULL);
    poll_until(ms, 2, all_owned, 15000);
    int extra = 0;
    for (int i = 0; i < 10; i++)
        extra += poll_member(&ms[1], 100);
    ck_assert_int_eq(extra + total_seen, 0);
    kfk_destroy(ms[1].k);
}
END_TEST

START_TEST(max_poll_interval_exceeded)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[1];
    static const char *const extra[] = {"max.poll.interval.ms", "1000", NULL};
    group_consumer(&ms[0], 0, "slow", extra);
    ck_assert(poll_until(ms, 1, all_owned, 15000));
    /* waiting inside one long poll is polling */
    const kfk_message_t *lm = kfk_consumer_poll(ms[0].k, 2500);
    ck_assert(!lm || lm->err != KFK_ERR__MAX_POLL_EXCEEDED);
    ck_assert_int_eq(lost_events, 0);
    sleep(3);
    bool told = false;
    for (int i = 0; i < 20 && !told; i++) {
        const kfk_message_t *m = kfk_consumer_poll(ms[0].k, 100);
        told = m && m->err == KFK_ERR__MAX_POLL_EXCEEDED;
    }
    ck_assert_msg(told, "no MAX_POLL_EXCEEDED event");
    ck_assert_int_eq(lost_events, 1);
    /* polling again rejoins */
    ck_assert(poll_until(ms, 1, all_owned, 15000));
    kfk_destroy(ms[0].k);
}
END_TEST

static member *two;

/* Both members own half: the group settled. */
static bool both_own(void)
{
    return all_owned() && two[0].owned == NPART / 2 && two[1].owned == NPART / 2;
}

static int32_t generation_of(kfk_t *k)
{
    char id[256];
    return kfk_consumer_member_id(k, id, sizeof(id));
}

START_TEST(static_member_restart_keeps_assignment)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[3];
    memset(ms, 0, sizeof(ms));
    static const char *const a[] = {"group.instance.id", "instance-a", NULL};
    static const char *const b[] = {"group.instance.id", "instance-b", NULL};
    group_consumer(&ms[0], 0, "static", a);
    group_consumer(&ms[1], 1, "static", b);
    two = ms;
    ck_assert(poll_until(ms, 2, both_own, 15000));
    int32_t gen = generation_of(ms[1].k);
    int owned_b = ms[1].owned;
    ck_assert_int_gt(gen, 0);
    /* b restarts: a static member does not leave on close */
    kfk_destroy(ms[1].k);
    ms[1].k = NULL;
    for (int p = 0; p < NPART; p++)
        if (owner[p] == 1)
            owner[p] = -1;
    group_consumer(&ms[2], 1, "static", b);
    ck_assert(poll_until(ms, 3, all_owned, 15000));
    ck_assert_int_eq(ms[2].owned, owned_b);
    ck_assert_int_eq(generation_of(ms[2].k), gen);
    ck_assert_int_eq(generation_of(ms[0].k), gen);
    kfk_destroy(ms[0].k);
    kfk_destroy(ms[2].k);
}
END_TEST

START_TEST(coordinator_moves_and_errors)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[2];
    memset(ms, 0, sizeof(ms));
    group_consumer(&ms[0], 0, "moving", NULL);
    group_consumer(&ms[1], 1, "moving", NULL);
    ck_assert(poll_until(ms, 2, all_owned, 15000));
    kfk_t *p = tp_producer(cluster, &t, NULL);
    tp_produce_range(p, "grp", 0, N / 2, true);
    /* coordinator errors on heartbeats, commits and joins */
    kfk_cluster_inject_error(cluster, -1, 12, NULL, -1, KFK_ERR_NOT_COORDINATOR, 2);
    kfk_cluster_inject_error(cluster, -1, 8, NULL, -1, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS, 2);
    kfk_cluster_inject_error(cluster, -1, 12, NULL, -1, KFK_ERR_REBALANCE_IN_PROGRESS, 1);
    poll_until(ms, 2, all_seen, 2000);
    for (int b = 1; b <= 3; b++)
        kfk_cluster_move_coordinator(cluster, "moving", b);
    tp_produce_range(p, "grp", N / 2, N, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
    ck_assert_msg(poll_until(ms, 2, all_seen, 30000), "%d of %d", total_seen, N);
    ck_assert(poll_until(ms, 2, all_owned, 15000));
    kfk_topic_partition_t q[NPART];
    for (int i = 0; i < NPART; i++)
        q[i] = (kfk_topic_partition_t){.topic = "grp", .partition = i};
    ck_assert_int_eq(kfk_consumer_commit(ms[0].k, NULL, 0, 0), 0);
    ck_assert_int_eq(kfk_consumer_commit(ms[1].k, NULL, 0, 0), 0);
    ck_assert_int_eq(kfk_consumer_committed(ms[0].k, q, NPART, 10000), 0);
    int64_t sum = 0;
    for (int i = 0; i < NPART; i++)
        sum += q[i].offset;
    ck_assert_int_eq(sum, N);
    kfk_destroy(ms[0].k);
    kfk_destroy(ms[1].k);
}
END_TEST

/* Cooperative group through injected group errors and commit failures
 * while members come and go: every record delivered at least once,
 * never two owners. */
START_TEST(cooperative_group_through_errors)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[MAXC];
    memset(ms, 0, sizeof(ms));
    static const char *const extra[] = {"partition.assignment.strategy", "cooperative-sticky", "debug", "cgrp",
                                        NULL};
    group_consumer(&ms[0], 0, "chaos", extra);
    group_consumer(&ms[1], 1, "chaos", extra);
    ck_assert(poll_until(ms, 2, all_owned, 15000));
    kfk_t *p = tp_producer(cluster, &t, NULL);
    static const struct {
        int api;
        kfk_err_t err;
    } faults[] = {
        {12, KFK_ERR_ILLEGAL_GENERATION},   {12, KFK_ERR_UNKNOWN_MEMBER_ID},
        {12, KFK_ERR_REBALANCE_IN_PROGRESS}, {14, KFK_ERR_REBALANCE_IN_PROGRESS},
        {11, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS}, {8, KFK_ERR_REQUEST_TIMED_OUT},
        {8, KFK_ERR_ILLEGAL_GENERATION},    {9, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS},
        {14, KFK_ERR_NOT_COORDINATOR},      {11, KFK_ERR_NOT_COORDINATOR},
    };
    int nf = (int)(sizeof(faults) / sizeof(faults[0]));
    for (int round = 0; round < nf; round++) {
        kfk_cluster_inject_error(cluster, -1, faults[round].api, NULL, -1, faults[round].err, 1);
        tp_produce_range(p, "grp", round * (N / nf), (round + 1) * (N / nf), true);
        if (round == 2)
            group_consumer(&ms[2], 2, "chaos", extra);
        if (round == 5) {
            /* its last commit may meet an injected error: not asserted */
            kfk_consumer_close(ms[0].k, 10000);
            kfk_destroy(ms[0].k);
            ms[0].k = NULL;
        }
        poll_until(ms, 3, all_seen, 700);
    }
    tp_produce_range(p, "grp", nf * (N / nf), N, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
    ck_assert_msg(poll_until(ms, 3, all_seen, 30000), "%d of %d records", total_seen, N);
    ck_assert(poll_until(ms, 3, all_owned, 15000));
    for (int i = 0; i < 3; i++)
        if (ms[i].k)
            kfk_destroy(ms[i].k);
}
END_TEST

static int rx_counts[2];

static bool rx_both(void)
{
    return rx_counts[0] >= 100 && rx_counts[1] >= 100;
}

/* A regex subscription picks up a topic created after it. */
START_TEST(regex_subscription_follows_new_topics)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "rx-a", 2, 3), 0);
    kfk_conf_t *conf = kfk_conf_new();
    char err[256];
    const char *const props[] = {"bootstrap.servers", kfk_cluster_bootstrap(cluster), "group.id",
                                 "rx", "auto.offset.reset", "earliest", "session.timeout.ms",
                                 "3000", "heartbeat.interval.ms", "200",
                                 "metadata.max.age.ms", "500", NULL};
    for (int i = 0; props[i]; i += 2)
        ck_assert_int_eq(kfk_conf_set(conf, props[i], props[i + 1], err, sizeof(err)), 0);
    kfk_t *k = kfk_consumer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(k, "%s", err);
    const char *topics[] = {"^rx-.*"};
    ck_assert_int_eq(kfk_consumer_subscribe(k, topics, 1), 0);
    const char *bad[] = {"^(unclosed"};
    ck_assert_int_eq(kfk_consumer_subscribe(k, bad, 1), KFK_ERR__INVALID_ARG);
    kfk_t *p = tp_producer(cluster, &t, NULL);
    tp_produce_range(p, "rx-a", 0, 100, true);
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "rx-b", 3, 3), 0);
    tp_produce_range(p, "rx-b", 100, 200, true);
    ck_assert_int_eq(kfk_flush(p, 30000), 0);
    kfk_destroy(p);
    rx_counts[0] = rx_counts[1] = 0;
    int64_t t0 = kfk__now_ms();
    while (!rx_both() && kfk__now_ms() - t0 < 20000) {
        const kfk_message_t *m = kfk_consumer_poll(k, 100);
        if (m && !m->err)
            rx_counts[strcmp(m->topic, "rx-a") == 0 ? 0 : 1]++;
    }
    ck_assert_int_eq(rx_counts[0], 100);
    ck_assert_int_eq(rx_counts[1], 100);
    kfk_destroy(k);
}
END_TEST

/* Two live consumers with one group.instance.id: the older is fenced,
 * which is fatal for it. */
START_TEST(duplicate_instance_id_is_fatal)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[2];
    memset(ms, 0, sizeof(ms));
    static const char *const same[] = {"group.instance.id", "twin", NULL};
    group_consumer(&ms[0], 0, "twins", same);
    ck_assert(poll_until(ms, 1, all_owned, 15000));
    for (int p = 0; p < NPART; p++)
        owner[p] = -1; /* the twin takes over what the first owned */
    group_consumer(&ms[1], 1, "twins", same);
    int64_t t0 = kfk__now_ms();
    while (kfk_fatal_error(ms[0].k, NULL, 0) == KFK_ERR_NONE && kfk__now_ms() - t0 < 15000) {
        kfk_consumer_poll(ms[0].k, 20);
        kfk_consumer_poll(ms[1].k, 20);
    }
    char why[256];
    ck_assert_int_eq(kfk_fatal_error(ms[0].k, why, sizeof(why)), KFK_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(kfk_fatal_error(ms[1].k, NULL, 0), KFK_ERR_NONE);
    kfk_destroy(ms[0].k);
    kfk_destroy(ms[1].k);
}
END_TEST

static kfk_err_t revoke_commit_err = KFK_ERR__STATE;
static int revoke_commits;

static void commit_in_revoke(kfk_t *k, kfk_rebalance_event_t ev, const kfk_topic_partition_t *parts,
                             size_t n, void *opaque)
{
    on_rebalance(k, ev, parts, n, opaque);
    if (ev == KFK_REBALANCE_REVOKED && n) {
        revoke_commit_err = kfk_consumer_commit(k, NULL, 0, 0);
        revoke_commits++;
    }
}

/* Unsubscribing revokes while still a member: a commit in the callback
 * works, and the group hands the partitions on after it. */
START_TEST(unsubscribe_commits_in_revoke)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    produce_all();
    static member ms[1];
    memset(ms, 0, sizeof(ms));
    kfk_conf_t *conf = kfk_conf_new();
    char err[256];
    const char *const props[] = {"bootstrap.servers", kfk_cluster_bootstrap(cluster), "group.id",
                                 "unsub2", "auto.offset.reset", "earliest",
                                 "enable.auto.commit", "false", "session.timeout.ms", "3000",
                                 "heartbeat.interval.ms", "200", NULL};
    for (int i = 0; props[i]; i += 2)
        ck_assert_int_eq(kfk_conf_set(conf, props[i], props[i + 1], err, sizeof(err)), 0);
    ms[0].id = 0;
    kfk_conf_set_rebalance_cb(conf, commit_in_revoke, &ms[0]);
    ms[0].k = kfk_consumer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(ms[0].k, "%s", err);
    const char *topics[] = {"grp"};
    ck_assert_int_eq(kfk_consumer_subscribe(ms[0].k, topics, 1), 0);
    ck_assert(poll_until(ms, 1, all_seen, 20000));
    ck_assert_int_eq(kfk_consumer_unsubscribe(ms[0].k), 0);
    int64_t t0 = kfk__now_ms();
    while (revoke_commits == 0 && kfk__now_ms() - t0 < 10000)
        kfk_consumer_poll(ms[0].k, 50);
    ck_assert_int_eq(revoke_commits, 1);
    ck_assert_int_eq(revoke_commit_err, KFK_ERR_NONE);
    kfk_topic_partition_t q[NPART];
    for (int i = 0; i < NPART; i++)
        q[i] = (kfk_topic_partition_t){.topic = "grp", .partition = i};
    ck_assert_int_eq(kfk_consumer_committed(ms[0].k, q, NPART, 10000), 0);
    int64_t sum = 0;
    for (int i = 0; i < NPART; i++)
        sum += q[i].offset;
    ck_assert_int_eq(sum, N);
    kfk_destroy(ms[0].k);
}
END_TEST

static kfk_t *subscriber(const char *group, const char *topic, member *m, int id)
{
    kfk_conf_t *conf = kfk_conf_new();
    char err[256];
    const char *const props[] = {"bootstrap.servers", kfk_cluster_bootstrap(cluster), "group.id",
                                 group, "session.timeout.ms", "3000", "heartbeat.interval.ms",
                                 "200", NULL};
    for (int i = 0; props[i]; i += 2)
        ck_assert_int_eq(kfk_conf_set(conf, props[i], props[i + 1], err, sizeof(err)), 0);
    m->id = id;
    m->owned = 0;
    kfk_conf_set_rebalance_cb(conf, on_rebalance, m);
    m->k = kfk_consumer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(m->k, "%s", err);
    const char *topics[] = {topic};
    ck_assert_int_eq(kfk_consumer_subscribe(m->k, topics, 1), 0);
    return m->k;
}

static member *hetero;

static bool both_assigned(void)
{
    return hetero[0].owned == 2 && hetero[1].owned == 3;
}

/* Members subscribing to different topics each get theirs, whoever
 * leads: the leader assigns topics it does not read itself. */
START_TEST(members_with_different_subscriptions)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "h1", 2, 3), 0);
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "h2", 3, 3), 0);
    reset_state();
    static member ms[2];
    memset(ms, 0, sizeof(ms));
    hetero = ms;
    subscriber("hetero", "h1", &ms[0], 0);
    subscriber("hetero", "h2", &ms[1], 1);
    ck_assert_msg(poll_until(ms, 2, both_assigned, 20000), "owned %d and %d", ms[0].owned,
                  ms[1].owned);
    kfk_destroy(ms[0].k);
    kfk_destroy(ms[1].k);
}
END_TEST

static int user_calls;

/* Everything to the member with the smallest id. */
static kfk_err_t all_to_first(const kfk_group_member_t *members, size_t n,
                              const kfk_group_topic_t *topics, size_t nt, kfk_assignment_t *out,
                              void *opaque)
{
    ck_assert_ptr_eq(opaque, &user_calls);
    user_calls++;
    size_t first = 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(members[i].member_id, members[first].member_id) < 0)
            first = i;
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(members[i].topic_count, 1);
    for (size_t ti = 0; ti < nt; ti++)
        for (int32_t p = 0; p < topics[ti].partition_count; p++)
            ck_assert_int_eq(kfk_assignment_add(out, first, topics[ti].name, p), 0);
    ck_assert_int_eq(kfk_assignment_add(out, first, topics[0].name, 0), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_assignment_add(out, n, topics[0].name, 0), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_assignment_add(out, 0, "nope", 0), KFK_ERR__INVALID_ARG);
    return KFK_ERR_NONE;
}

static member *ua_members;

static bool one_has_all(void)
{
    return ua_members[0].owned + ua_members[1].owned == NPART &&
           (ua_members[0].owned == 0 || ua_members[1].owned == 0);
}

START_TEST(user_assignor)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    static member ms[2];
    memset(ms, 0, sizeof(ms));
    ua_members = ms;
    kfk_conf_t *probe = kfk_conf_new();
    ck_assert_int_eq(kfk_conf_add_assignor(probe, "range", 0, all_to_first, NULL),
                     KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_add_assignor(probe, "", 0, all_to_first, NULL), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_add_assignor(probe, "mine", 0, all_to_first, NULL), 0);
    ck_assert_int_eq(kfk_conf_add_assignor(probe, "mine", 0, all_to_first, NULL),
                     KFK_ERR__INVALID_ARG);
    kfk_conf_destroy(probe);
    for (int i = 0; i < 2; i++) {
        kfk_conf_t *conf = kfk_conf_new();
        char err[256];
        const char *const props[] = {"bootstrap.servers", kfk_cluster_bootstrap(cluster),
                                     "group.id", "custom", "session.timeout.ms", "3000",
                                     "heartbeat.interval.ms", "200", NULL};
        for (int k = 0; props[k]; k += 2)
            ck_assert_int_eq(kfk_conf_set(conf, props[k], props[k + 1], err, sizeof(err)), 0);
        ck_assert_int_eq(kfk_conf_add_assignor(conf, "all-to-first", 0, all_to_first, &user_calls),
                         0);
        ms[i].id = i;
        kfk_conf_set_rebalance_cb(conf, on_rebalance, &ms[i]);
        ms[i].k = kfk_consumer_new(conf, err, sizeof(err));
        kfk_conf_destroy(conf);
        ck_assert_msg(ms[i].k, "%s", err);
        const char *topics[] = {"grp"};
        ck_assert_int_eq(kfk_consumer_subscribe(ms[i].k, topics, 1), 0);
    }
    ck_assert(poll_until(ms, 2, all_owned, 15000));
    for (int i = 0; i < 20; i++) /* let the second join settle */
        poll_until(ms, 2, one_has_all, 50);
    ck_assert(poll_until(ms, 2, one_has_all, 15000));
    ck_assert_int_gt(user_calls, 0);
    kfk_destroy(ms[0].k);
    kfk_destroy(ms[1].k);
}
END_TEST

/* With every broker unresponsive, close still returns in about the time
 * it was given. */
START_TEST(close_is_bounded_without_a_coordinator)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "grp", NPART, 3), 0);
    reset_state();
    produce_all();
    static member ms[1];
    group_consumer(&ms[0], 0, "bounded", NULL);
    ck_assert(poll_until(ms, 1, all_seen, 20000));
    kfk_cluster_broker_pause(cluster, -1, 1);
    int64_t t0 = kfk__now_ms();
    kfk_consumer_close(ms[0].k, 2000);
    int64_t took = kfk__now_ms() - t0;
    ck_assert_msg(took < 6000, "close took %lld ms", (long long)took);
    kfk_destroy(ms[0].k);
    kfk_cluster_broker_pause(cluster, -1, 0);
}
END_TEST

static Suite *group_suite(void)
{
    Suite *s = suite_create("consumer_group");
    TCase *tc = tcase_create("group");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eager_range_group_with_churn);
    tcase_add_test(tc, cooperative_sticky_group_with_churn);
    tcase_add_test(tc, close_commits_and_next_member_resumes);
    tcase_add_test(tc, max_poll_interval_exceeded);
    tcase_add_test(tc, static_member_restart_keeps_assignment);
    tcase_add_test(tc, coordinator_moves_and_errors);
    tcase_add_test(tc, close_is_bounded_without_a_coordinator);
    tcase_add_test(tc, cooperative_group_through_errors);
    tcase_add_test(tc, regex_subscription_follows_new_topics);
    tcase_add_test(tc, duplicate_instance_id_is_fatal);
    tcase_add_test(tc, unsubscribe_commits_in_revoke);
    tcase_add_test(tc, members_with_different_subscriptions);
    tcase_add_test(tc, user_assignor);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(group_suite)
