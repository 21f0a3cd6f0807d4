/*
 * test_accumulator.c: the producer's record accumulator without a network.
 * The tests play the I/O thread (ready, drain, complete) and a small
 * broker (offsets, idempotent sequence checks), and check what the
 * application sees: batches that fill to batch.size, linger and wakeup
 * times, size and memory limits, order, retries with their sequence
 * numbers, epoch bumps, expiry, purge, and above all that every message
 * gets exactly one delivery report - also with four threads producing at
 * once and with allocations failing.
 */
#include <check.h>
#include <kfk/error.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "common/alloc.h"
#include "producer/accumulator.h"
#include "producer/murmur2.h"
#include "proto/record.h"

#define MAXMSG 200000

/* ---- helpers ------------------------------------------------------------- */

static kfk__accum_params base_params(void)
{
    kfk__accum_params p;
    kfk__accum_params_init(&p);
    p.idempotence = false;
    p.max_inflight = 0;
    p.linger_ms = 0;
    return p;
}

static kfk__accum *make(const kfk__accum_params *p, const char *topic,
                        int32_t parts, kfk__accum_topic **t)
{
    kfk__accum *acc;
    ck_assert_int_eq(kfk__accum_new(&acc, p), 0);
    ck_assert_int_eq(kfk__accum_topic_get(acc, topic, t), 0);
    ck_assert_int_eq(kfk__accum_topic_set_partitions(*t, parts), 0);
    return acc;
}

/* Leaders: leader[p] per partition (default node 0 for all). */
typedef struct lmap {
    int32_t leader[64];
} lmap;

static int32_t leader_of(void *arg, const char *topic, int32_t p)
{
    (void)topic;
    lmap *m = arg;
    return m ? m->leader[p] : 0;
}

static uint8_t value_buf[1 << 20];

static int put(kfk__accum *acc, kfk__accum_topic *t, int32_t partition,
               int32_t vlen, size_t id, int64_t now, kfk__accum_result *res)
{
    kfk__accum_rec r = {.key_len = -1,
                        .value = value_buf,
                        .value_len = vlen,
                        .timestamp = 1700000000000 + (int64_t)id,
                        .opaque = (void *)(uintptr_t)(id + 1)};
    return kfk__accum_append(acc, t, partition, &r, now, res);
}

/* What the reports said, per message id. */
typedef struct coll {
    int seen[MAXMSG];
    int err[MAXMSG];
    int64_t off[MAXMSG];
    int64_t ts[MAXMSG];
    int32_t part[MAXMSG];
    size_t total;
} coll;

static coll *C;

static void collect(const kfk__dr *dr, void *arg)
{
    coll *c = arg;
    size_t id = (uintptr_t)dr->opaque - 1;
    ck_assert_uint_lt(id, MAXMSG);
    c->seen[id]++;
    c->err[id] = dr->err;
    c->off[id] = dr->offset;
    c->ts[id] = dr->timestamp;
    c->part[id] = dr->partition;
    c->total++;
}

static void setup(void)
{
    C = calloc(1, sizeof(*C));
}

static void teardown(void)
{
    free(C);
}

/* Every id below n reported exactly once, none beyond. */
static void assert_once(size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(C->seen[i] == 1, "message %zu reported %d times", i,
                      C->seen[i]);
    ck_assert_uint_eq(C->total, n);
}

/* ready() then drain each ready node; returns the chained batches. */
static kfk__pbatch *drain_ready(kfk__accum *acc, int64_t now, lmap *m)
{
    kfk__accum_readiness r;
    ck_assert_int_eq(kfk__accum_ready(acc, now, leader_of, m, &r), 0);
    kfk__pbatch *all = NULL, *tail = NULL;
    for (size_t i = 0; i < r.node_cnt; i++) {
        kfk__pbatch *l;
        ck_assert_int_eq(
            kfk__accum_drain_node(acc, r.nodes[i], SIZE_MAX, now, NULL, &l), 0);
        if (!l)
            continue;
        if (tail)
            tail->next = l;
        else
            all = l;
        for (tail = l; tail->next; tail = tail->next)
            ;
    }
    return all;
}

static size_t ready_nodes(kfk__accum *acc, int64_t now, lmap *m, int64_t *next)
{
    kfk__accum_readiness r;
    ck_assert_int_eq(kfk__accum_ready(acc, now, leader_of, m, &r), 0);
    if (next)
        *next = r.next_ms;
    return r.node_cnt;
}

/* Parses a drained batch, checks its CRC and returns its header. */
static kfk__batch_hdr check_batch(const kfk__pbatch *b)
{
    kfk__batch kb;
    ck_assert_int_eq(kfk__batch_parse(b->data, b->size, &kb), 0);
    ck_assert_uint_eq(kb.size, b->size);
    ck_assert_int_eq(kfk__batch_check_crc(&kb), 0);
    ck_assert_int_eq(kb.h.count, b->count);
    ck_assert_int_eq(kb.h.base_sequence, b->base_sequence);
    ck_assert_int_eq(kb.h.producer_id, b->producer_id);
    ck_assert_int_eq(kb.h.producer_epoch, b->producer_epoch);
    return kb.h;
}

static void complete_all_ok(kfk__accum *acc, kfk__pbatch *l, int64_t *log_end)
{
    kfk__pbatch *next;
    for (; l; l = next) {
        next = l->next;
        int64_t base = log_end ? log_end[l->partition] : 0;
        if (log_end)
            log_end[l->partition] += l->count;
        kfk__accum_complete_ok(acc, l, base, -1);
    }
}

/* ---- filling, linger, wakeups -------------------------------------------- */

START_TEST(batches_fill_to_batch_size)
{
    kfk__accum_params p = base_params();
    p.batch_size = 1000;
    p.linger_ms = 1000000;
    p.delivery_timeout_ms = 100000000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 1, &t);
    kfk__accum_result res;
    size_t id = 0;

    /* first record: a new linger deadline, so wake the I/O thread */
    ck_assert_int_eq(put(acc, t, 0, 100, id++, 10, &res), 0);
    ck_assert(res.wakeup);
    ck_assert_int_eq(res.partition, 0);
    int64_t next;
    ck_assert_uint_eq(ready_nodes(acc, 10, NULL, &next), 0);
    ck_assert_int_eq(next, 10 + 1000000);
    /* the rest of the batch: no wakeups, not ready */
    while (1) {
        ck_assert_int_eq(put(acc, t, 0, 100, id++, 11, &res), 0);
        if (res.wakeup)
            break;
        ck_assert_uint_eq(ready_nodes(acc, 11, NULL, NULL), 0);
    }
    /* the record that did not fit started batch 2; batch 1 is ready */
    ck_assert_uint_eq(ready_nodes(acc, 12, NULL, &next), 1);
    kfk__pbatch *b = drain_ready(acc, 12, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(b->next); /* one batch per partition per drain */
    ck_assert_int_eq(b->count, (int32_t)id - 1);
    ck_assert_uint_le(b->size, 1000);
    ck_assert_uint_gt(b->size + 120, 1000); /* no room for one more */
    ck_assert_int_eq(b->attempts, 1);
    ck_assert_int_eq(b->created_ms, 10);
    check_batch(b);
    /* records hold our values and timestamps, deltas are the indexes */
    kfk__batch kb;
    kfk__batch_parse(b->data, b->size, &kb);
    kfk__rec_iter it;
    ck_assert_int_eq(kfk__rec_iter_init(&it, &kb, NULL, NULL, 0), 0);
    kfk__record r;
    int i = 0;
    while (kfk__rec_iter_next(&it, &r) == 1) {
        ck_assert_int_eq(r.offset, i);
        ck_assert_int_eq(r.value_len, 100);
        ck_assert_int_eq(r.key_len, -1);
        ck_assert_int_eq(r.timestamp, b->timestamps[i]);
        ck_assert_ptr_eq(b->opaques[i], (void *)(uintptr_t)(i + 1));
        i++;
    }
    ck_assert_int_eq(i, b->count);
    kfk__accum_complete_ok(acc, b, 500, -1);
    ck_assert_uint_eq(kfk__accum_poll(acc, 0, collect, C), (size_t)id - 1);
    for (size_t k = 0; k + 1 < id; k++) {
        ck_assert_int_eq(C->off[k], 500 + (int64_t)k);
        ck_assert_int_eq(C->err[k], 0);
        ck_assert_int_eq(C->ts[k], 1700000000000 + (int64_t)k);
    }
    /* batch 2 is still lingering; the open batch is not ready */
    ck_assert_uint_eq(ready_nodes(acc, 13, NULL, NULL), 0);
    ck_assert_int_eq(kfk__accum_pending(acc), 1);
    kfk__accum_destroy(acc);
}
END_TEST

/* A record larger than batch.size is a batch of its own, ready at once. */
START_TEST(big_record_own_batch)
{
    kfk__accum_params p = base_params();
    p.batch_size = 1000;
    p.linger_ms = 1000000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 1, &t);
    kfk__accum_result res;
    ck_assert_int_eq(put(acc, t, 0, 100, 0, 0, &res), 0);
    ck_assert_int_eq(put(acc, t, 0, 5000, 1, 0, &res), 0);
    ck_assert(res.wakeup);
    ck_assert_int_eq(put(acc, t, 0, 100, 2, 0, &res), 0);
    kfk__pbatch *b1 = NULL, *b2 = NULL;
    ck_assert_uint_eq(ready_nodes(acc, 0, NULL, NULL), 1);
    kfk__accum_drain_partition(acc, t, 0, 0, NULL, &b1);
    kfk__accum_drain_partition(acc, t, 0, 0, NULL, &b2);
    ck_assert_int_eq(b1->count, 1);
    ck_assert_int_eq(b2->count, 1);
    ck_assert_uint_gt(b2->size, 5000);
    check_batch(b2);
    kfk__accum_complete_ok(acc, b1, 0, -1);
    kfk__accum_complete_ok(acc, b2, 1, -1);
    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(3);
    ck_assert_int_eq(kfk__accum_memory_used(acc), 0);
    kfk__accum_destroy(acc);
}
END_TEST

START_TEST(linger_and_next_wakeup)
{
    kfk__accum_params p = base_params();
    p.linger_ms = 10;
    p.delivery_timeout_ms = 1000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 4, &t);
    lmap m = {{0, 1, 2, 3}};
    kfk__accum_result res;
    int64_t next;

    ck_assert_uint_eq(ready_nodes(acc, 0, &m, &next), 0);
    ck_assert_int_eq(next, INT64_MAX); /* nothing queued */

    ck_assert_int_eq(put(acc, t, 0, 10, 0, 100, &res), 0);
    ck_assert(res.wakeup); /* the I/O thread planned nothing */
    ck_assert_uint_eq(ready_nodes(acc, 100, &m, &next), 0);
    ck_assert_int_eq(next, 110);
    /* a second partition lingering past the planned wakeup: no wakeup */
    ck_assert_int_eq(put(acc, t, 1, 10, 1, 105, &res), 0);
    ck_assert(!res.wakeup);
    /* one whose deadline comes first: wakeup */
    ck_assert_int_eq(put(acc, t, 2, 10, 2, 95, &res), 0);
    ck_assert(res.wakeup);
    /* appending to a queue that already lingers: no wakeup */
    ck_assert_int_eq(put(acc, t, 2, 10, 3, 96, &res), 0);
    ck_assert(!res.wakeup);

    ck_assert_uint_eq(ready_nodes(acc, 104, &m, &next), 0);
    ck_assert_int_eq(next, 105);
    ck_assert_uint_eq(ready_nodes(acc, 105, &m, &next), 1); /* p2 */
    ck_assert_int_eq(next, 110);
    ck_assert_uint_eq(ready_nodes(acc, 110, &m, &next), 2); /* p0, p2 */
    ck_assert_int_eq(next, 115);
    kfk__pbatch *l = drain_ready(acc, 110, &m);
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_nonnull(l->next);
    ck_assert_ptr_null(l->next->next);
    complete_all_ok(acc, l, NULL);
    ck_assert_uint_eq(ready_nodes(acc, 111, &m, &next), 0);
    ck_assert_int_eq(next, 115);

    /* a flush makes everything ready at once */
    kfk__accum_flush_begin(acc);
    ck_assert_uint_eq(ready_nodes(acc, 111, &m, &next), 1);
    kfk__accum_flush_end(acc);
    ck_assert_uint_eq(ready_nodes(acc, 111, &m, &next), 0);

    /* unknown leader: skipped, flagged, but its expiry still counts */
    m.leader[1] = -1;
    kfk__accum_readiness r;
    ck_assert_int_eq(kfk__accum_ready(acc, 200, leader_of, &m, &r), 0);
    ck_assert_uint_eq(r.node_cnt, 0);
    ck_assert(r.unknown_leader);
    ck_assert_int_eq(r.next_ms, 105 + 1000);
    m.leader[1] = 1;

    /* close: no more appends, everything ready */
    kfk__accum_close(acc);
    ck_assert_int_eq(put(acc, t, 3, 10, 9, 0, &res), KFK_ERR__DESTROYED);
    complete_all_ok(acc, drain_ready(acc, 200, &m), NULL);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(4);
    ck_assert_int_eq(kfk__accum_pending(acc), 0);
    kfk__accum_destroy(acc);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(max_request_size)
{
    kfk__accum_params p = base_params();
    p.max_request_size = 2000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 2, &t);
    kfk__accum_result res;
    ck_assert_int_eq(put(acc, t, 0, 2000, 0, 0, &res),
                     KFK_ERR_MESSAGE_TOO_LARGE);
    /* the largest value that fits with the batch header */
    int32_t v = 1900;
    while (KFK__BATCH_HEADER_SIZE +
               kfk__record_size(0, 0, -1, v + 1, NULL, 0) <=
           2000)
        v++;
    ck_assert_int_eq(put(acc, t, 0, v + 1, 0, 0, &res),
                     KFK_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(put(acc, t, 0, v, 0, 0, &res), 0);
    ck_assert_int_eq(kfk__accum_pending(acc), 1);
    /* other argument errors */
    ck_assert_int_eq(put(acc, t, 2, 10, 1, 0, &res),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(put(acc, t, -7, 10, 1, 0, &res),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(put(acc, t, 0, -2, 1, 0, &res), KFK_ERR__INVALID_ARG);
    kfk__rec_header h = {.key = NULL, .key_len = -1};
    kfk__accum_rec r = {
        .key_len = -1, .value_len = -1, .headers = &h, .header_count = 1};
    ck_assert_int_eq(kfk__accum_append(acc, t, 0, &r, 0, NULL),
                     KFK_ERR__INVALID_ARG);
    kfk__accum_topic *empty;
    ck_assert_int_eq(kfk__accum_topic_get(acc, "none-yet", &empty), 0);
    ck_assert_int_eq(put(acc, empty, KFK__PARTITION_ANY, 10, 1, 0, &res),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kfk__accum_topic_get(acc, "", &empty),
                     KFK_ERR__INVALID_ARG);
    /* buffer.memory smaller than the record */
    kfk__accum_params q = base_params();
    q.buffer_memory = 500;
    kfk__accum_topic *t2;
    kfk__accum *small = make(&q, "t", 1, &t2);
    ck_assert_int_eq(put(small, t2, 0, 600, 0, 0, &res),
                     KFK_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(put(small, t2, 0, 300, 0, 0, &res), 0);
    ck_assert_int_eq(kfk__accum_memory_used(small), 500);
    kfk__accum_destroy(small);

    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(1);
    kfk__accum_destroy(acc);
}
END_TEST

typedef struct waiter {
    kfk__accum *acc;
    size_t need;
    int64_t deadline;
    int result;
    atomic_bool done;
} waiter;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->result = kfk__accum_wait_memory(w->acc, w->need, w->deadline);
    atomic_store(&w->done, true);
    return NULL;
}

START_TEST(buffer_memory_queue_full_and_wait)
{
    kfk__accum_params p = base_params();
    p.batch_size = 1000;
    p.buffer_memory = 3000;
    p.linger_ms = 1000000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 4, &t);
    kfk__accum_result res;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(put(acc, t, i, 100, (size_t)i, 0, &res), 0);
    ck_assert_int_eq(kfk__accum_memory_used(acc), 3000);
    /* more records fit the open batches */
    ck_assert_int_eq(put(acc, t, 0, 100, 3, 0, &res), 0);
    /* a fourth batch does not */
    ck_assert_int_eq(put(acc, t, 3, 100, 4, 0, &res), KFK_ERR__QUEUE_FULL);
    ck_assert_uint_eq(res.need, 1000);
    ck_assert_int_eq(kfk__accum_wait_memory(acc, res.need, mono_ms() - 1),
                     KFK_ERR__TIMED_OUT);

    /* a waiter makes every partition ready (memory must come back) */
    waiter w = {.acc = acc, .need = res.need, .deadline = mono_ms() + 10000};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    while (ready_nodes(acc, 0, NULL, NULL) == 0)
        sched_yield(); /* until the waiter is registered */
    kfk__pbatch *b = NULL;
    ck_assert_int_eq(kfk__accum_drain_partition(acc, t, 1, 0, NULL, &b), 0);
    ck_assert_ptr_nonnull(b);
    struct timespec ms = {0, 20 * 1000000};
    nanosleep(&ms, NULL);
    ck_assert(!atomic_load(&w.done)); /* in flight still holds memory */
    kfk__accum_complete_ok(acc, b, 0, -1);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.result, 0);
    ck_assert_int_eq(put(acc, t, 3, 100, 4, 0, &res), 0);

    /* close releases waiters */
    ck_assert_int_eq(put(acc, t, 3, 900, 5, 0, &res), KFK_ERR__QUEUE_FULL);
    waiter w2 = {.acc = acc, .need = 1000, .deadline = INT64_MAX};
    pthread_create(&th, NULL, wait_thread, &w2);
    nanosleep(&ms, NULL);
    kfk__accum_close(acc);
    pthread_join(th, NULL);
    ck_assert_int_eq(w2.result, KFK_ERR__DESTROYED);

    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(5);
    ck_assert_int_eq(kfk__accum_memory_used(acc), 0);
    kfk__accum_destroy(acc);
}
END_TEST

/* ---- order, retries, sequences ------------------------------------------- */

START_TEST(drain_order_per_partition)
{
    kfk__accum_params p = base_params();
    p.batch_size = 500;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 2, &t);
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(put(acc, t, i % 2, 50, n++, 0, NULL), 0);
    int64_t log_end[2] = {0, 0};
    for (int round = 0; round < 100; round++) {
        kfk__pbatch *l = drain_ready(acc, 0, NULL);
        if (!l)
            break;
        for (kfk__pbatch *b = l; b; b = b->next) {
            /* ids appended to a partition in this order */
            check_batch(b);
            for (int32_t i = 1; i < b->count; i++)
                ck_assert_uint_eq((uintptr_t)b->opaques[i],
                                  (uintptr_t)b->opaques[i - 1] + 2);
        }
        complete_all_ok(acc, l, log_end);
    }
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(C->part[i], (int32_t)(i % 2));
        ck_assert_int_eq(C->off[i], (int64_t)(i / 2)); /* in append order */
    }
    kfk__accum_destroy(acc);
}
END_TEST

/* Drains up to n batches of t's partition 0 into v. */
static int drain_n(kfk__accum *acc, kfk__accum_topic *t, int64_t now,
                   kfk__pbatch **v, int n)
{
    int k = 0;
    while (k < n) {
        kfk__pbatch *b = NULL;
        ck_assert_int_eq(kfk__accum_drain_partition(acc, t, 0, now, NULL, &b),
                         0);
        if (!b)
            break;
        v[k++] = b;
    }
    return k;
}

START_TEST(retry_keeps_order_and_sequences)
{
    kfk__accum_params p = base_params();
    p.idempotence = true;
    p.batch_size = 300;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 1, &t);
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        ck_assert_int_eq(put(acc, t, 0, 50, n++, 0, NULL), 0);

    /* no producer id yet: nothing goes */
    kfk__pbatch *v[16];
    ck_assert_uint_eq(ready_nodes(acc, 0, NULL, NULL), 0);
    ck_assert_int_eq(drain_n(acc, t, 0, v, 16), 0);
    kfk__accum_set_producer(acc, 1000, 3);

    /* five in flight at most, sequences consecutive */
    ck_assert_int_eq(drain_n(acc, t, 0, v, 16), 5);
    int32_t seq = 0;
    int32_t seqs[5];
    for (int i = 0; i < 5; i++) {
        kfk__batch_hdr h = check_batch(v[i]);
        ck_assert_int_eq(h.producer_id, 1000);
        ck_assert_int_eq(h.producer_epoch, 3);
        ck_assert_int_eq(h.base_sequence, seq);
        seqs[i] = seq;
        seq += v[i]->count;
    }
    /* 2, then 0, then 1 fail retriably: back in creation order */
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[2], 0, 0), 0);
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[0], 0, 50), 0);
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[1], 0, 0), 0);
    /* backing off: nothing before 50 */
    kfk__pbatch *r[16];
    ck_assert_int_eq(drain_n(acc, t, 10, r, 16), 0);
    int64_t next;
    ck_assert_uint_eq(ready_nodes(acc, 10, NULL, &next), 0);
    ck_assert_int_eq(next, 50);
    /* 0 goes again; 1 waits while an older batch (0) is in flight */
    ck_assert_int_eq(drain_n(acc, t, 50, r, 16), 1);
    ck_assert_ptr_eq(r[0], v[0]);
    ck_assert_int_eq(r[0]->attempts, 2);
    ck_assert_int_eq(check_batch(r[0]).base_sequence, seqs[0]);
    /* 3 and 4 (in flight) come back out of order for the broker */
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[3], 50, 0), 0);
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[4], 50, 0), 0);
    int64_t off = r[0]->count;
    kfk__accum_complete_ok(acc, r[0], 0, -1);
    /* now 1, 2, 3, 4 one at a time, each keeping its sequence (after 4,
     * fresh batches could follow it at once) */
    for (int i = 1; i < 5; i++) {
        ck_assert_int_eq(drain_n(acc, t, 60, r, i < 4 ? 16 : 1), 1);
        ck_assert_ptr_eq(r[0], v[i]);
        ck_assert_int_eq(check_batch(r[0]).base_sequence, seqs[i]);
        int32_t cnt = r[0]->count;
        kfk__accum_complete_ok(acc, r[0], off, -1);
        off += cnt;
    }
    /* new batches continue the sequence */
    ck_assert_int_eq(drain_n(acc, t, 60, r, 1), 1);
    ck_assert_int_eq(check_batch(r[0]).base_sequence, seq);
    int32_t cnt = r[0]->count;
    kfk__accum_complete_ok(acc, r[0], off, -1);
    off += cnt;
    while (drain_n(acc, t, 60, r, 1)) {
        cnt = r[0]->count;
        kfk__accum_complete_ok(acc, r[0], off, -1);
        off += cnt;
    }
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(C->off[i], (int64_t)i);
    kfk__accum_destroy(acc);
}
END_TEST

START_TEST(epoch_bump_restamps)
{
    kfk__accum_params p = base_params();
    p.idempotence = true;
    p.batch_size = 300;
    p.codec = KFK__CODEC_LZ4;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 1, &t);
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(put(acc, t, 0, 50, n++, 0, NULL), 0);
    kfk__accum_set_producer(acc, 77, 0);
    kfk__pbatch *v[3], *r[3];
    ck_assert_int_eq(drain_n(acc, t, 0, v, 3), 3);
    for (int i = 0; i < 3; i++) {
        kfk__batch_hdr h = check_batch(v[i]);
        ck_assert_int_eq(h.attributes & KFK__ATTR_CODEC_MASK, KFK__CODEC_LZ4);
    }
    int32_t c0 = v[0]->count, c1 = v[1]->count;
    /* 0 written; 1 fails for good (a hole: stop until the bump); 2 is
     * refused out of order and will be retried */
    kfk__accum_complete_ok(acc, v[0], 0, -1);
    ck_assert(!kfk__accum_need_epoch_bump(acc));
    kfk__accum_complete_fail(acc, v[1], KFK_ERR_INVALID_RECORD);
    ck_assert(kfk__accum_need_epoch_bump(acc));
    ck_assert_int_eq(kfk__accum_complete_retry(acc, v[2], 0, 0), 0);
    ck_assert_uint_eq(ready_nodes(acc, 0, NULL, NULL), 0);
    ck_assert_int_eq(drain_n(acc, t, 0, r, 1), 0);

    /* KIP-360: new epoch, sequences from 0 again; the retried batch is
     * re-stamped (CRC recomputed) when it goes out again */
    kfk__accum_set_producer(acc, 77, 1);
    ck_assert(!kfk__accum_need_epoch_bump(acc));
    ck_assert_int_eq(drain_n(acc, t, 0, r, 1), 1);
    ck_assert_ptr_eq(r[0], v[2]);
    kfk__batch_hdr h = check_batch(r[0]);
    ck_assert_int_eq(h.producer_id, 77);
    ck_assert_int_eq(h.producer_epoch, 1);
    ck_assert_int_eq(h.base_sequence, 0);
    int32_t c2 = r[0]->count;
    kfk__pbatch *nb;
    ck_assert_int_eq(kfk__accum_drain_partition(acc, t, 0, 0, NULL, &nb), 0);
    ck_assert_int_eq(check_batch(nb).base_sequence, c2);
    ck_assert_int_eq(nb->producer_epoch, 1);
    kfk__accum_complete_ok(acc, r[0], 100, -1);
    kfk__accum_complete_ok(acc, nb, 200, 1234);
    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    for (int32_t i = 0; i < c1; i++) {
        ck_assert_int_eq(C->err[c0 + i], KFK_ERR_INVALID_RECORD);
        ck_assert_int_eq(C->off[c0 + i], -1);
    }
    /* LogAppendTime replaces the create time */
    ck_assert_int_eq(C->ts[c0 + c1 + c2], 1234);
    ck_assert_int_eq(C->off[c0 + c1 + c2 + 1], 201);
    kfk__accum_destroy(acc);
}
END_TEST

/* ---- expiry and purge ---------------------------------------------------- */

START_TEST(delivery_timeout_expiry)
{
    kfk__accum_params p = base_params();
    p.batch_size = 300;
    p.linger_ms = 100000;
    p.delivery_timeout_ms = 1000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 2, &t);
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        put(acc, t, 0, 50, n++, 0, NULL);
    size_t first = n;
    for (int i = 0; i < 20; i++)
        put(acc, t, i % 2, 50, n++, 500, NULL);
    int64_t next;
    ck_assert_uint_eq(ready_nodes(acc, 0, NULL, &next), 1); /* p0 full */
    ck_assert_int_eq(next, 1000); /* p0's first batch expires */
    kfk__pbatch *inflight;
    kfk__accum_drain_partition(acc, t, 0, 0, NULL, &inflight);
    int32_t fc = inflight->count;

    ck_assert_int_eq(kfk__accum_expire(acc, 999), 0);
    int64_t gone = kfk__accum_expire(acc, 1000);
    ck_assert_int_eq(gone, (int64_t)first - fc); /* queued from t=0 */
    ck_assert_int_eq(kfk__accum_expire(acc, 1000), 0);
    ck_assert_int_eq(kfk__accum_expire(acc, 1500), (int64_t)(n - first));
    /* the in-flight one fails on retry once it is too old */
    ck_assert_int_eq(kfk__accum_complete_retry(acc, inflight, 1000, 1000),
                     KFK_ERR__TIMED_OUT);
    ck_assert_int_eq(kfk__accum_memory_used(acc), 0);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(C->err[i], KFK_ERR__TIMED_OUT);
        ck_assert_int_eq(C->ts[i], 1700000000000 + (int64_t)i);
    }
    ck_assert_int_eq(kfk__accum_pending(acc), 0);
    kfk__accum_destroy(acc);
}
END_TEST

START_TEST(purge_reports_once)
{
    kfk__accum_params p = base_params();
    p.idempotence = true;
    p.batch_size = 300;
    p.linger_ms = 100000;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 3, &t);
    kfk__accum_set_producer(acc, 5, 0);
    size_t n = 0;
    for (int i = 0; i < 90; i++)
        put(acc, t, i % 3, 50, n++, 0, NULL);
    kfk__pbatch *l = drain_ready(acc, 0, NULL);
    ck_assert_ptr_nonnull(l);
    int64_t flying = 0;
    for (kfk__pbatch *b = l; b; b = b->next)
        flying += b->count;

    /* queued only: open batches too */
    ck_assert_int_eq(kfk__accum_purge(acc, true, false), (int64_t)n - flying);
    ck_assert_int_eq(kfk__accum_poll(acc, 0, collect, C),
                     (size_t)((int64_t)n - flying));
    ck_assert(!kfk__accum_need_epoch_bump(acc)); /* none had a sequence */
    ck_assert_int_eq(kfk__accum_pending(acc), flying);
    /* in flight: reported now, released when the sender is done */
    ck_assert_int_eq(kfk__accum_purge(acc, false, true), flying);
    ck_assert_int_eq(kfk__accum_purge(acc, true, true), 0);
    ck_assert(kfk__accum_need_epoch_bump(acc));
    ck_assert_int_gt(kfk__accum_memory_used(acc), 0);
    kfk__accum_poll(acc, 0, collect, C);
    ck_assert_int_eq(kfk__accum_pending(acc), 0);
    /* late answers change nothing */
    kfk__pbatch *next;
    int k = 0;
    for (; l; l = next, k++) {
        next = l->next;
        if (k % 2)
            kfk__accum_complete_ok(acc, l, 0, -1);
        else
            kfk__accum_complete_retry(acc, l, 0, 0);
    }
    ck_assert_int_eq(kfk__accum_memory_used(acc), 0);
    ck_assert_uint_eq(kfk__accum_poll(acc, 0, collect, C), 0);
    assert_once(n);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(C->err[i], KFK_ERR__PURGED);
    ck_assert_uint_eq(ready_nodes(acc, 0, NULL, NULL), 0);
    kfk__accum_destroy(acc);
}
END_TEST

/* Reports served in slices; the report hook fires on empty -> non-empty. */
static int hook_calls;
static void hook(void *arg)
{
    (void)arg;
    hook_calls++;
}

START_TEST(poll_slices_and_hook)
{
    kfk__accum_params p = base_params();
    p.batch_size = 200;
    p.on_report = hook;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 1, &t);
    size_t n = 0;
    for (int i = 0; i < 30; i++)
        put(acc, t, 0, 50, n++, 0, NULL);
    int64_t end = 0;
    int64_t *log_end = &end;
    for (kfk__pbatch *l; (l = drain_ready(acc, 0, NULL));)
        complete_all_ok(acc, l, log_end);
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_int_eq(kfk__accum_wait_reports(acc, mono_ms() + 1000), 0);
    size_t got = kfk__accum_poll(acc, 1, collect, C);
    ck_assert_uint_gt(got, 0);
    ck_assert_uint_lt(got, n);
    while (kfk__accum_poll(acc, 1, collect, C))
        ;
    assert_once(n);
    ck_assert_int_eq(kfk__accum_wait_reports(acc, mono_ms() + 10),
                     KFK_ERR__TIMED_OUT);
    kfk__accum_destroy(acc);
}
END_TEST

/* ---- the sticky partitioner through append ------------------------------- */

static uint32_t lcg(void *state)
{
    uint64_t *s = state;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

START_TEST(sticky_runs_about_batch_size)
{
    kfk__accum_params p = base_params();
    p.batch_size = 1000;
    p.linger_ms = 100000;
    uint64_t seed = 12345;
    p.partitioner.rng = lcg;
    p.partitioner.rng_state = &seed;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 8, &t);
    size_t n = 0, total = 0;
    int32_t cur = -1;
    size_t run = 0;
    int runs = 0, hits[8] = {0};
    kfk__accum_result res;
    for (int i = 0; i < 4000; i++) {
        ck_assert_int_eq(put(acc, t, KFK__PARTITION_ANY, 100, n++, 0, &res), 0);
        if (res.partition != cur) {
            if (cur >= 0) {
                /* a switch falls after batch.size .. 2 x batch.size bytes
                 * (a switch may pick the same partition again: then two
                 * runs look like one) */
                ck_assert_msg(run >= 1000 - 110, "run of %zu bytes", run);
                runs++;
                total += run;
            }
            cur = res.partition;
            run = 0;
        }
        hits[cur]++;
        run += 110;
    }
    ck_assert_int_gt(runs, 100);
    ck_assert_msg(total / (size_t)runs >= 1000 &&
                      total / (size_t)runs <= 2000 * 8 / 7 + 61 + 110,
                  "mean run %zu", total / (size_t)runs);
    for (int i = 0; i < 8; i++)
        ck_assert_int_gt(hits[i], 100);
    /* keyed records: Java's mapping */
    kfk__accum_rec r = {.key = "foobar",
                        .key_len = 6,
                        .value_len = -1,
                        .opaque = (void *)(uintptr_t)(n + 1)};
    ck_assert_int_eq(kfk__accum_append(acc, t, KFK__PARTITION_ANY, &r, 0, &res),
                     0);
    ck_assert_int_eq(res.partition,
                     (int32_t)((uint32_t)-790332482 & 0x7fffffffu) % 8);
    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, NULL, NULL);
    kfk__accum_destroy(acc);
}
END_TEST

/* Queue sizes steer switches; a leader that is not drained for longer than
 * the availability timeout takes its partitions out of the choice. */
START_TEST(adaptive_and_availability)
{
    kfk__accum_params p = base_params();
    p.batch_size = 1000;
    p.linger_ms = 100000;
    p.availability_timeout_ms = 100;
    kfk__accum_topic *t;
    kfk__accum *acc = make(&p, "t", 2, &t);
    lmap m = {{0, 1}};
    size_t n = 0;
    /* p1 has a full batch; node 1 is never drained */
    for (int i = 0; i < 20; i++)
        put(acc, t, 1, 100, n++, 0, NULL);
    ck_assert_uint_eq(ready_nodes(acc, 0, &m, NULL), 1);
    ck_assert_uint_eq(ready_nodes(acc, 200, &m, NULL), 1);
    ck_assert_uint_eq(ready_nodes(acc, 300, &m, NULL), 1);
    /* now p1 is unavailable: every sticky choice is p0 */
    kfk__accum_result res;
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(put(acc, t, KFK__PARTITION_ANY, 100, n++, 300, &res),
                         0);
        ck_assert_int_eq(res.partition, 0);
    }
    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    kfk__accum_destroy(acc);
}
END_TEST

/* ---- many threads -------------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_MSGS 10000
#define STRESS_PARTS 6

typedef struct stress {
    kfk__accum *acc;
    kfk__accum_topic *t;
    atomic_int producers_left;
    atomic_bool stop;
    int32_t part[STRESS_THREADS * STRESS_MSGS];
    atomic_int full_waits;
    int retries, bumps;
} stress;

typedef struct prod_arg {
    stress *s;
    int idx;
} prod_arg;

static void *producer(void *arg)
{
    prod_arg *a = arg;
    stress *s = a->s;
    for (int i = 0; i < STRESS_MSGS; i++) {
        size_t id = (size_t)a->idx * STRESS_MSGS + (size_t)i;
        char key[16];
        int klen = snprintf(key, sizeof(key), "k%d", i % 50);
        kfk__accum_rec r = {.key = key,
                            .key_len = i % 3 ? -1 : klen,
                            .value = value_buf,
                            .value_len = 20 + (int32_t)(id % 200),
                            .timestamp = (int64_t)id,
                            .opaque = (void *)(uintptr_t)(id + 1)};
        kfk__accum_result res;
        int err;
        while ((err = kfk__accum_append(s->acc, s->t, KFK__PARTITION_ANY, &r,
                                        mono_ms(), &res)) ==
               KFK_ERR__QUEUE_FULL) {
            atomic_fetch_add(&s->full_waits, 1);
            int w = kfk__accum_wait_memory(s->acc, res.need, mono_ms() + 5000);
            if (w)
                return NULL;
        }
        if (err)
            return NULL;
        s->part[id] = res.partition;
    }
    atomic_fetch_sub(&s->producers_left, 1);
    return s;
}

static void *poller(void *arg)
{
    stress *s = arg;
    while (!atomic_load(&s->stop)) {
        if (!kfk__accum_poll(s->acc, 1000, collect, C))
            kfk__accum_wait_reports(s->acc, mono_ms() + 5);
    }
    while (kfk__accum_poll(s->acc, 0, collect, C))
        ;
    return NULL;
}

static uint64_t xs = 88172645463325252ull;
static uint32_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)xs;
}

/* The drainer plays the I/O thread and an idempotent broker: per partition
 * the sequence it expects next and its log end. Answers come back in send
 * order; a random 8% fail retriably, 2% for good (then the epoch is
 * bumped once nothing is in flight). */
static void run_drainer(stress *s)
{
    kfk__accum *acc = s->acc;
    int64_t expect[STRESS_PARTS] = {0}, log_end[STRESS_PARTS] = {0};
    kfk__pbatch *fifo[4096];
    size_t head = 0, tail = 0;
    int16_t epoch = 0;
    kfk__accum_set_producer(acc, 42, epoch);
    kfk__zctx *z;
    kfk__zctx_new(&z);
    while (atomic_load(&s->producers_left) > 0 || kfk__accum_pending(acc) > 0) {
        int64_t now = mono_ms();
        kfk__accum_readiness r;
        kfk__accum_ready(acc, now, leader_of, NULL, &r);
        for (size_t i = 0; i < r.node_cnt; i++) {
            kfk__pbatch *l, *next;
            kfk__accum_drain_node(acc, r.nodes[i], 1 << 20, now, z, &l);
            for (; l; l = next) {
                next = l->next;
                ck_assert_uint_lt(tail - head, 4096);
                check_batch(l);
                fifo[tail++ % 4096] = l;
            }
        }
        /* answer some (all if the producers are done or a bump waits) */
        size_t answer = tail - head;
        if (answer && atomic_load(&s->producers_left) > 0 &&
            !kfk__accum_need_epoch_bump(acc))
            answer = rnd() % (answer + 1);
        for (size_t i = 0; i < answer; i++) {
            kfk__pbatch *b = fifo[head++ % 4096];
            int32_t pt = b->partition;
            uint32_t x = rnd() % 1000;
            if (x < 80 || b->producer_epoch != epoch ||
                b->base_sequence != expect[pt]) {
                kfk__accum_complete_retry(acc, b, now, now);
                s->retries++;
            } else if (x < 100) {
                kfk__accum_complete_fail(acc, b, KFK_ERR_CORRUPT_MESSAGE);
            } else {
                expect[pt] += b->count;
                int64_t base = log_end[pt];
                log_end[pt] += b->count;
                kfk__accum_complete_ok(acc, b, base, -1);
            }
        }
        if (kfk__accum_need_epoch_bump(acc) && head == tail) {
            kfk__accum_set_producer(acc, 42, ++epoch);
            memset(expect, 0, sizeof(expect));
            s->bumps++;
        }
        if (!r.node_cnt && head == tail)
            sched_yield();
    }
    kfk__zctx_destroy(z);
}

START_TEST(stress_threads)
{
    kfk__accum_params p = base_params();
    p.idempotence = true;
    p.batch_size = 4000;
    p.linger_ms = 1;
    p.buffer_memory = 64 * 1024;
    p.codec = _i ? KFK__CODEC_ZSTD : KFK__CODEC_NONE;
    stress *s = calloc(1, sizeof(*s));
    s->acc = make(&p, "t", STRESS_PARTS, &s->t);
    atomic_init(&s->producers_left, STRESS_THREADS);
    pthread_t pt[STRESS_THREADS], pollth;
    prod_arg a[STRESS_THREADS];
    pthread_create(&pollth, NULL, poller, s);
    for (int i = 0; i < STRESS_THREADS; i++) {
        a[i] = (prod_arg){s, i};
        pthread_create(&pt[i], NULL, producer, &a[i]);
    }
    run_drainer(s);
    for (int i = 0; i < STRESS_THREADS; i++) {
        void *r;
        pthread_join(pt[i], &r);
        ck_assert_ptr_nonnull(r);
    }
    atomic_store(&s->stop, true);
    pthread_join(pollth, NULL);

    size_t n = STRESS_THREADS * STRESS_MSGS;
    assert_once(n);
    ck_assert_int_eq(kfk__accum_pending(s->acc), 0);
    ck_assert_int_eq(kfk__accum_memory_used(s->acc), 0);
    /* per producer and partition, successful offsets strictly increase in
     * append order; offsets are never handed out twice */
    size_t ok = 0, failed = 0;
    for (int th = 0; th < STRESS_THREADS; th++) {
        int64_t last[STRESS_PARTS];
        for (int i = 0; i < STRESS_PARTS; i++)
            last[i] = -1;
        for (int i = 0; i < STRESS_MSGS; i++) {
            size_t id = (size_t)th * STRESS_MSGS + (size_t)i;
            ck_assert_int_eq(C->part[id], s->part[id]);
            if (C->err[id]) {
                ck_assert_int_eq(C->err[id], KFK_ERR_CORRUPT_MESSAGE);
                failed++;
                continue;
            }
            ok++;
            ck_assert_msg(C->off[id] > last[s->part[id]],
                          "thread %d message %d: offset %lld after %lld", th, i,
                          (long long)C->off[id], (long long)last[s->part[id]]);
            last[s->part[id]] = C->off[id];
        }
    }
    ck_assert_uint_gt(ok, n / 2);
    ck_assert_uint_gt(failed, 0);
    ck_assert_int_gt(s->retries, 0);
    ck_assert_int_gt(s->bumps, 0);
    ck_assert_int_gt(atomic_load(&s->full_waits), 0); /* memory ran out */
    /* keyed records went by the hash */
    for (int i = 0; i < STRESS_MSGS; i += 3) {
        char key[16];
        int klen = snprintf(key, sizeof(key), "k%d", i % 50);
        ck_assert_int_eq(s->part[i], kfk__murmur2_partition(key, (size_t)klen,
                                                            STRESS_PARTS));
    }
    kfk__accum_destroy(s->acc);
    free(s);
}
END_TEST

/* ---- allocation failures ------------------------------------------------- */

/* Runs a scenario with the nth and every later allocation failing: every
 * call either works or says NOMEM, and afterwards (allocations back) every
 * message appended gets exactly one report and nothing leaks (ASan).
 * Returns false once the scenario no longer reaches the nth allocation. */
static bool nomem_scenario(long nth, int codec)
{
    memset(C, 0, sizeof(*C));
    kfk__accum_params p = base_params();
    p.idempotence = true;
    p.batch_size = 400;
    p.codec = codec;
    kfk__accum *acc;
    kfk__alloc_fail_after(nth);
    int err = kfk__accum_new(&acc, &p);
    if (err) {
        kfk__alloc_fail_after(-1);
        ck_assert_int_eq(err, KFK_ERR__NOMEM);
        return true;
    }
    kfk__accum_topic *t = NULL;
    err = kfk__accum_topic_get(acc, "t", &t);
    if (!err)
        err = kfk__accum_topic_set_partitions(t, 3);
    if (err) {
        ck_assert_int_eq(err, KFK_ERR__NOMEM);
        kfk__alloc_fail_after(-1);
        kfk__accum_destroy(acc);
        return true;
    }
    kfk__accum_set_producer(acc, 1, 0);
    size_t n = 0;
    lmap m = {{0, 1, 2}};
    kfk__pbatch *flying = NULL;
    for (int i = 0; i < 120; i++) {
        /* tiny records make the per-record arrays grow */
        int32_t v = i % 7 ? 1 : 60;
        err = put(acc, t, i % 3, v, n, 0, NULL);
        if (err == 0)
            n++;
        else
            ck_assert_int_eq(err, KFK_ERR__NOMEM);
        if (i % 40 == 39) {
            kfk__accum_readiness r;
            err = kfk__accum_ready(acc, 0, leader_of, &m, &r);
            if (err)
                ck_assert_int_eq(err, KFK_ERR__NOMEM);
            for (size_t k = 0; k < r.node_cnt; k++) {
                kfk__pbatch *l;
                err = kfk__accum_drain_node(acc, r.nodes[k], SIZE_MAX, 0, NULL,
                                            &l);
                if (err)
                    ck_assert_int_eq(err, KFK_ERR__NOMEM);
                kfk__pbatch *next;
                for (; l; l = next) {
                    next = l->next;
                    l->next = flying;
                    flying = l;
                }
            }
        }
    }
    void *probe = kfk__malloc(1); /* NULL: the failures were reached */
    kfk__alloc_fail_after(-1);
    kfk__free(probe);
    /* answer what went out, retrying one, and let the rest drain */
    kfk__pbatch *next;
    int k = 0;
    for (; flying; flying = next, k++) {
        next = flying->next;
        if (k == 0)
            kfk__accum_complete_retry(acc, flying, 0, 0);
        else
            kfk__accum_complete_ok(acc, flying, 0, -1);
    }
    for (int round = 0; round < 100; round++) {
        kfk__pbatch *l = drain_ready(acc, 0, &m);
        if (!l)
            break;
        complete_all_ok(acc, l, NULL);
    }
    kfk__accum_close(acc);
    complete_all_ok(acc, drain_ready(acc, 0, &m), NULL);
    kfk__accum_purge(acc, true, true);
    kfk__accum_poll(acc, 0, collect, C);
    assert_once(n);
    ck_assert_int_eq(kfk__accum_memory_used(acc), 0);
    kfk__accum_destroy(acc);
    return probe == NULL;
}

START_TEST(alloc_failures)
{
    long nth = 0;
    while (nomem_scenario(nth, _i ? KFK__CODEC_ZSTD : KFK__CODEC_NONE))
        nth++;
    ck_assert_int_gt(nth, 50);
    ck_assert_int_lt(nth, 5000);
}
END_TEST

static Suite *accumulator_suite(void)
{
    Suite *s = suite_create("accumulator");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, batches_fill_to_batch_size);
    tcase_add_test(tc, big_record_own_batch);
    tcase_add_test(tc, linger_and_next_wakeup);
    tcase_add_test(tc, max_request_size);
    tcase_add_test(tc, buffer_memory_queue_full_and_wait);
    tcase_add_test(tc, drain_order_per_partition);
    tcase_add_test(tc, retry_keeps_order_and_sequences);
    tcase_add_test(tc, epoch_bump_restamps);
    tcase_add_test(tc, delivery_timeout_expiry);
    tcase_add_test(tc, purge_reports_once);
    tcase_add_test(tc, poll_slices_and_hook);
    tcase_add_test(tc, sticky_runs_about_batch_size);
    tcase_add_test(tc, adaptive_and_availability);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("stress");
    tcase_set_timeout(st, 120);
    tcase_add_checked_fixture(st, setup, teardown);
    tcase_add_loop_test(st, stress_threads, 0, 2);
    suite_add_tcase(s, st);
    TCase *nm = tcase_create("nomem");
    tcase_set_timeout(nm, 120);
    tcase_add_checked_fixture(nm, setup, teardown);
    tcase_add_loop_test(nm, alloc_failures, 0, 2);
    suite_add_tcase(s, nm);
    return s;
}

KFK_CHECK_MAIN(accumulator_suite)
