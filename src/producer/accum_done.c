/*
 * accum_done.c: how batches leave the accumulator - completion by the
 * sender (success, retry, failure), delivery.timeout.ms expiry, purge -
 * the idempotent producer's sequence renumbering after an epoch bump, and
 * the delivery-report queue the application's poll drains.
 *
 * The invariant this file keeps: a batch's records are reported exactly
 * once. Whoever marks a batch `reported` (under its partition's lock)
 * queues its report; everyone else who later finds it marked only
 * releases what they hold. A batch purged while in flight is referenced
 * twice - by the report queue and by the sender - and recycled when both
 * let go.
 */
#include "producer/accum_int.h"

#include <errno.h>
#include <kfk/error.h>
#include <time.h>

#include "common/alloc.h"
#include "common/thread.h"

/* Marks b (taken out of every partition list by the caller, or in flight
 * for a purge) as failed with err. Under its partition's lock. */
static void mark_failed(kfk__accum *acc, pb *b, int err)
{
    b->part->failed += b->pub.count;
    b->reported = true;
    b->err = err;
    b->base_offset = -1;
    if (acc->p.idempotence && b->pub.base_sequence >= 0)
        atomic_store(&acc->need_bump, true); /* a hole in the sequence */
}

/* Takes b off its partition's in-flight list. Under the lock. Returns true
 * if it was purged in flight (already reported). */
static bool leave_flight(apart *ap, pb *b)
{
    pblist_remove(&ap->fl, b);
    ap->inflight--;
    return b->reported;
}

/* Releases a batch purged in flight: its report is already queued. */
static void drop_purged(kfk__accum *acc, pb *b)
{
    kfk__accum_release_bytes(acc, b);
    kfk__accum_unref(acc, b);
}

void kfk__accum_complete_ok(kfk__accum *acc, kfk__pbatch *kb,
                            int64_t base_offset, int64_t log_append_time)
{
    pb *b = pb_of(kb);
    apart *ap = b->part;
    pthread_mutex_lock(&ap->lock);
    bool purged = leave_flight(ap, b);
    if (!purged) {
        ap->acked += b->pub.count;
        ap->acked_bytes += (int64_t)b->pub.size;
        b->reported = true;
        b->state = PB_DONE;
        b->err = 0;
        b->base_offset = base_offset;
        b->log_append_time = log_append_time;
    }
    pthread_mutex_unlock(&ap->lock);
    if (purged) {
        drop_purged(acc, b);
        return;
    }
    kfk__accum_release_bytes(acc, b);
    kfk__accum_report(acc, b, b);
}

void kfk__accum_complete_fail(kfk__accum *acc, kfk__pbatch *kb, int err)
{
    pb *b = pb_of(kb);
    apart *ap = b->part;
    pthread_mutex_lock(&ap->lock);
    bool purged = leave_flight(ap, b);
    if (!purged) {
        b->state = PB_DONE;
        mark_failed(acc, b, err);
    }
    pthread_mutex_unlock(&ap->lock);
    if (purged) {
        drop_purged(acc, b);
        return;
    }
    kfk__accum_release_bytes(acc, b);
    kfk__accum_report(acc, b, b);
}

int kfk__accum_complete_retry(kfk__accum *acc, kfk__pbatch *kb, int64_t now,
                              int64_t retry_at_ms)
{
    pb *b = pb_of(kb);
    apart *ap = b->part;
    pthread_mutex_lock(&ap->lock);
    if (leave_flight(ap, b)) {
        pthread_mutex_unlock(&ap->lock);
        drop_purged(acc, b);
        return KFK_ERR__PURGED;
    }
    if (now - b->pub.created_ms >= acc->p.delivery_timeout_ms) {
        b->state = PB_DONE;
        mark_failed(acc, b, KFK_ERR__TIMED_OUT);
        pthread_mutex_unlock(&ap->lock);
        kfk__accum_release_bytes(acc, b);
        kfk__accum_report(acc, b, b);
        return KFK_ERR__TIMED_OUT;
    }
    b->retry_at = retry_at_ms;
    b->state = PB_CLOSED;
    pblist_insert_sorted(&ap->q, b, true);
    atomic_store_explicit(&ap->qlen, atomic_load(&ap->qlen) + 1,
                          memory_order_relaxed);
    pthread_mutex_unlock(&ap->lock);
    return 0;
}

/* Calls fn on every partition of every topic. */
static void each_part(kfk__accum *acc, void (*fn)(apart *ap, void *arg),
                      void *arg)
{
    kfk__accum_topic *t =
        atomic_load_explicit(&acc->topics, memory_order_acquire);
    for (; t; t = t->next) {
        int32_t cnt = atomic_load_explicit(&t->cnt, memory_order_acquire);
        apart **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
        for (int32_t i = 0; i < cnt; i++)
            fn(parts[i], arg);
    }
}

/* A list of batches to report, chained through rnext. */
typedef struct rlist {
    kfk__accum *acc;
    pb *head, *tail;
    int64_t msgs;
    int64_t now;
} rlist;

static void rlist_add(rlist *l, pb *b)
{
    b->rnext = NULL;
    if (l->tail)
        l->tail->rnext = b;
    else
        l->head = b;
    l->tail = b;
    l->msgs += b->pub.count;
}

/* Queued batches leaving for good: their bytes go now. */
static void rlist_flush(rlist *l, bool release)
{
    if (!l->head)
        return;
    if (release)
        for (pb *b = l->head; b; b = b->rnext)
            kfk__accum_release_bytes(l->acc, b);
    kfk__accum_report(l->acc, l->head, l->tail);
}

static void expire_part(apart *ap, void *arg)
{
    rlist *l = arg;
    kfk__accum *acc = l->acc;
    if (!atomic_load_explicit(&ap->qlen, memory_order_relaxed))
        return;
    pthread_mutex_lock(&ap->lock);
    pb *b;
    while ((b = ap->q.head) &&
           l->now - b->pub.created_ms >= acc->p.delivery_timeout_ms) {
        pblist_remove(&ap->q, b);
        atomic_store_explicit(&ap->qlen, atomic_load(&ap->qlen) - 1,
                              memory_order_relaxed);
        b->state = PB_DONE;
        mark_failed(acc, b, KFK_ERR__TIMED_OUT);
        rlist_add(l, b);
    }
    pthread_mutex_unlock(&ap->lock);
}

int64_t kfk__accum_expire(kfk__accum *acc, int64_t now)
{
    rlist l = {.acc = acc, .now = now};
    each_part(acc, expire_part, &l);
    rlist_flush(&l, true);
    return l.msgs;
}

/* ---- purge --------------------------------------------------------------- */

typedef struct purge_ctx {
    rlist queued, flying;
    bool in_queue, in_flight;
    int err;
} purge_ctx;

static void purge_part(apart *ap, void *arg)
{
    purge_ctx *c = arg;
    kfk__accum *acc = c->queued.acc;
    pthread_mutex_lock(&ap->lock);
    pb *b;
    if (c->in_queue) {
        while ((b = ap->q.head)) {
            pblist_remove(&ap->q, b);
            b->state = PB_DONE;
            mark_failed(acc, b, c->err);
            rlist_add(&c->queued, b);
        }
        atomic_store_explicit(&ap->qlen, 0, memory_order_relaxed);
    }
    if (c->in_flight) {
        for (b = ap->fl.head; b; b = b->next) {
            if (b->reported)
                continue;
            atomic_fetch_add(&b->refs,
                             1); /* the report's; the sender keeps its own */
            mark_failed(acc, b, c->err);
            if (acc->p.idempotence)
                atomic_store(&acc->need_bump, true); /* fate unknown */
            rlist_add(&c->flying, b);
        }
    }
    pthread_mutex_unlock(&ap->lock);
}

int64_t kfk__accum_purge(kfk__accum *acc, bool in_queue, bool in_flight)
{
    return kfk__accum_fail_all(acc, in_queue, in_flight, KFK_ERR__PURGED);
}

int64_t kfk__accum_fail_all(kfk__accum *acc, bool in_queue, bool in_flight,
                            int err)
{
    purge_ctx c = {.queued = {.acc = acc},
                   .flying = {.acc = acc},
                   .in_queue = in_queue,
                   .in_flight = in_flight,
                   .err = err};
    each_part(acc, purge_part, &c);
    rlist_flush(&c.queued, true);
    rlist_flush(&c.flying, false); /* the sender still holds the bytes */
    return c.queued.msgs + c.flying.msgs;
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct stats_ctx {
    kfk__accum_stats_cb *cb;
    void *arg;
} stats_ctx;

static void stats_part(apart *ap, void *arg)
{
    stats_ctx *c = arg;
    kfk__accum_part_stats st = {.topic = ap->topic->name, .partition = ap->id};
    pthread_mutex_lock(&ap->lock);
    for (pb *b = ap->q.head; b; b = b->next) {
        st.queued_msgs += b->pub.count;
        st.queued_bytes += (int64_t)b->w.len;
    }
    for (pb *b = ap->fl.head; b; b = b->next)
        st.inflight_msgs += b->pub.count;
    st.inflight_batches = ap->inflight;
    st.acked_msgs = ap->acked;
    st.acked_bytes = ap->acked_bytes;
    st.failed_msgs = ap->failed;
    st.leader = ap->leader;
    pthread_mutex_unlock(&ap->lock);
    c->cb(&st, c->arg);
}

void kfk__accum_stats(kfk__accum *acc, kfk__accum_stats_cb *cb, void *arg)
{
    stats_ctx c = {cb, arg};
    each_part(acc, stats_part, &c);
}

/* ---- idempotence --------------------------------------------------------- */

typedef struct bump_ctx {
    int64_t pid;
    int16_t epoch;
} bump_ctx;

static void renumber(pb *b, const bump_ctx *c, int32_t *seq)
{
    if (b->pub.base_sequence < 0)
        return;
    b->pub.producer_id = c->pid;
    b->pub.producer_epoch = c->epoch;
    b->pub.base_sequence = *seq;
    *seq = seq_add(*seq, b->pub.count);
}

static void bump_part(apart *ap, void *arg)
{
    const bump_ctx *c = arg;
    int32_t seq = 0;
    pthread_mutex_lock(&ap->lock);
    /* in-flight and queued batches merged by creation order */
    pb *f = ap->fl.head, *q = ap->q.head;
    while (f || q) {
        if (f && (!q || f->id < q->id)) {
            renumber(f, c, &seq);
            f = f->next;
        } else {
            renumber(q, c, &seq);
            q = q->next;
        }
    }
    ap->next_seq = seq;
    pthread_mutex_unlock(&ap->lock);
}

void kfk__accum_set_producer(kfk__accum *acc, int64_t producer_id,
                             int16_t producer_epoch)
{
    bump_ctx c = {producer_id, producer_epoch};
    acc->pid = producer_id;
    acc->epoch = producer_epoch;
    each_part(acc, bump_part, &c);
    atomic_store(&acc->need_bump, false);
}

bool kfk__accum_need_epoch_bump(const kfk__accum *acc)
{
    return atomic_load(&acc->need_bump);
}

/* ---- delivery reports ---------------------------------------------------- */

void kfk__accum_report(kfk__accum *acc, pb *first, pb *last)
{
    last->rnext = NULL;
    pthread_mutex_lock(&acc->dr_lock);
    bool was_empty = acc->dr_head == NULL;
    if (acc->dr_tail)
        acc->dr_tail->rnext = first;
    else
        acc->dr_head = first;
    acc->dr_tail = last;
    pthread_cond_broadcast(&acc->dr_cond);
    pthread_mutex_unlock(&acc->dr_lock);
    if (was_empty && acc->p.on_report)
        acc->p.on_report(acc->p.on_report_arg);
}

size_t kfk__accum_poll(kfk__accum *acc, size_t max, kfk__dr_cb *cb, void *arg)
{
    size_t n = 0;
    if (!max)
        max = SIZE_MAX;
    pthread_mutex_lock(&acc->dr_lock);
    pb *first = acc->dr_head, *b = first, *last = NULL;
    while (b && n < max) {
        n += (size_t)b->pub.count;
        last = b;
        b = b->rnext;
    }
    if (last) {
        acc->dr_head = b;
        if (!b)
            acc->dr_tail = NULL;
        last->rnext = NULL;
    }
    pthread_mutex_unlock(&acc->dr_lock);
    if (!last)
        return 0;

    pb *next;
    for (b = first; b; b = next) {
        next = b->rnext;
        kfk__dr dr = {.topic = b->pub.topic_name,
                      .partition = b->pub.partition,
                      .err = b->err};
        for (int32_t i = 0; cb && i < b->pub.count; i++) {
            dr.opaque = b->pub.opaques[i];
            dr.offset =
                !b->err && b->base_offset >= 0 ? b->base_offset + i : -1;
            dr.timestamp = !b->err && b->log_append_time >= 0
                               ? b->log_append_time
                               : b->pub.timestamps[i];
            cb(&dr, arg);
        }
        atomic_fetch_add(&acc->served, b->pub.count);
        kfk__accum_unref(acc, b);
    }
    return n;
}

int kfk__accum_wait_reports(kfk__accum *acc, int64_t deadline_ms)
{
    int err = 0;
    pthread_mutex_lock(&acc->dr_lock);
    while (!acc->dr_head) {
        if (kfk__cond_wait_until(&acc->dr_cond, &acc->dr_lock, deadline_ms) ==
            ETIMEDOUT) {
            if (!acc->dr_head)
                err = KFK_ERR__TIMED_OUT;
            break;
        }
    }
    pthread_mutex_unlock(&acc->dr_lock);
    return err;
}
