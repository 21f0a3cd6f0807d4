/*
 * offsets.c: the consumer's offset calls: the group coordinator
 * (FindCoordinator), commits (OffsetCommit), committed offsets
 * (OffsetFetch, for the application and for partitions starting at their
 * committed offset), and offsets by time or watermark (ListOffsets).
 *
 * Blocking public calls hand a kfk__call to the I/O thread and wait on
 * it; whoever lets go last frees it, so a call that timed out on the
 * application side finishes harmlessly later. Requests that need the
 * coordinator retry (coordinator lookups and retriable errors) until
 * their deadline.
 */
#include "consumer/consumer_int.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/thread.h"
#include "net/loop.h"
#include "proto/gen/all.h"

#define RETRY_MS 50

/* ---- calls ------------------------------------------------------------------------- */

kfk__call *kfk__call_new(kfk__consumer *cs, const kfk_topic_partition_t *parts, size_t n)
{
    kfk__call *c = kfk__calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (!(c->parts = kfk__parts_dup(parts, n))) {
        kfk__free(c);
        return NULL;
    }
    c->n = n;
    c->cs = cs;
    c->refs = 1; /* the caller's; whatever starts work on it takes its own */
    c->deadline_ms = kfk__now_ms() + cs->api_timeout_ms;
    pthread_mutex_init(&c->mu, NULL);
    kfk__cond_init_mono(&c->cond);
    return c;
}

void kfk__call_unref(kfk__call *c)
{
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    kfk_topic_partitions_free(c->parts, c->n);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    kfk__free(c);
}

void kfk__call_finish(kfk__call *c, int err)
{
    pthread_mutex_lock(&c->mu);
    c->done = true;
    c->err = err;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

int kfk__call_wait(kfk__call *c, int64_t deadline_ms)
{
    int err;
    pthread_mutex_lock(&c->mu);
    while (!c->done)
        if (kfk__cond_wait_until(&c->cond, &c->mu, deadline_ms) == ETIMEDOUT)
            break;
    err = c->done ? c->err : KFK_ERR__TIMED_OUT;
    pthread_mutex_unlock(&c->mu);
    return err;
}

/* ---- the coordinator ----------------------------------------------------------------- */

bool kfk__coord_error(int err)
{
    return err == KFK_ERR_NOT_COORDINATOR || err == KFK_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS || err == KFK_ERR__TRANSPORT ||
           err == KFK_ERR__TIMED_OUT || err == KFK_ERR_REQUEST_TIMED_OUT;
}

static void *build_find_coord(int16_t version, kfk__arena *a, void *opaque)
{
    kfk__consumer *cs = opaque;
    kfk__find_coordinator_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_find_coordinator_request, rq);
    rq->key_type = 0; /* group */
    if (version >= 4) {
        rq->coordinator_keys.v = kfk__arena_alloc(a, sizeof(kfk__str));
        if (!rq->coordinator_keys.v)
            return NULL;
        rq->coordinator_keys.v[0] = kfk__str_c(cs->group_id);
        rq->coordinator_keys.n = 1;
    } else {
        rq->key = kfk__str_c(cs->group_id);
    }
    return rq;
}

static void on_find_coord(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    kfk__consumer *cs = opaque;
    kfk__find_coordinator_response *r = resp;
    (void)b;
    cs->coord_inflight = false;
    int32_t node = -1;
    if (!err && r) {
        if (version >= 4 && r->coordinators.n > 0) {
            err = r->coordinators.v[0].error_code;
            node = r->coordinators.v[0].node_id;
        } else {
            err = r->error_code;
            node = r->node_id;
        }
    }
    if (err || node < 0) {
        cs->coord_failures++;
        KFK__LOG(&cs->k->log, cs->coord_failures > 1 ? KFK__LOG_DEBUG : KFK__LOG_INFO,
                 KFK__DEBUG_CGRP, "group %s: coordinator lookup failed: %s", cs->group_id,
                 kfk_err_str((kfk_err_t)(err ? err : KFK_ERR_COORDINATOR_NOT_AVAILABLE)));
        return;
    }
    cs->coord_failures = 0;
    if (node != cs->coord_id)
        KFK__DBG(&cs->k->log, KFK__DEBUG_CGRP, "group %s: coordinator is broker %d",
                 cs->group_id, (int)node);
    cs->coord_id = node;
    kfk__fetcher_wakeup(cs);
}

kfk__cbroker *kfk__coord_get(kfk__consumer *cs)
{
    if (cs->coord_id >= 0) {
        kfk__cbroker *b = kfk__client_broker(cs->k->client, cs->coord_id);
        if (b)
            return b;
        kfk__client_metadata_refresh(cs->k->client);
    }
    if (!cs->coord_inflight && cs->group_id) {
        kfk__cbroker *b = kfk__client_any_broker(cs->k->client, (unsigned)cs->coord_failures);
        if (!b)
            kfk__client_metadata_refresh(cs->k->client);
        else if (!kfk__cbroker_request(b, 10, 0, 5, build_find_coord, on_find_coord, cs))
            cs->coord_inflight = true;
    }
    return NULL;
}

void kfk__coord_dead(kfk__consumer *cs)
{
    if (cs->coord_id >= 0)
        KFK__DBG(&cs->k->log, KFK__DEBUG_CGRP, "group %s: coordinator %d lost", cs->group_id,
                 (int)cs->coord_id);
    cs->coord_id = -1;
}

/* ---- operations that need the coordinator -------------------------------------------- */

typedef struct cop cop;
typedef void cop_send_fn(cop *op, kfk__cbroker *b);

/* One OffsetCommit or OffsetFetch, retried until its deadline. */
struct cop {
    kfk__retry retry; /* first: waiting on a retry timer */
    kfk__consumer *cs;
    kfk__call *call;           /* application calls; NULL for lookups */
    kfk__toppar **tps;         /* lookups: the partitions */
    uint32_t *versions;
    int ntps;
    int64_t deadline_ms;
    cop_send_fn *send;
};

static void cop_free(cop *op)
{
    if (op->call)
        kfk__call_unref(op->call);
    kfk__free(op->tps);
    kfk__free(op->versions);
    kfk__free(op);
}

static void cop_try(kfk__client *c, void *arg);

/* ---- operations waiting on a retry timer ------------------------------------------
 * The loop frees its timers without running them when the client goes, so
 * the consumer keeps the waiting operations on a list and ends them at
 * destroy (kfk__offsets_destroy). */

static void retry_wait(kfk__consumer *cs, kfk__retry *r, void (*destroy)(kfk__retry *))
{
    r->destroy = destroy;
    r->prev = NULL;
    r->next = cs->retries;
    if (cs->retries)
        cs->retries->prev = r;
    cs->retries = r;
}

static void retry_done(kfk__consumer *cs, kfk__retry *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        cs->retries = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

void kfk__offsets_destroy(kfk__consumer *cs)
{
    while (cs->retries) {
        kfk__retry *r = cs->retries;
        retry_done(cs, r);
        r->destroy(r);
    }
}

static void cop_retry_timer(kfk__timer *t, void *arg)
{
    cop *op = arg;
    kfk__timer_del(t);
    retry_done(op->cs, &op->retry);
    cop_try(op->cs->k->client, op);
}

/* At destroy: the application gets DESTROYED; lookups just go. */
static void cop_destroy(kfk__retry *r)
{
    cop *op = (cop *)r;
    if (op->call)
        kfk__call_finish(op->call, KFK_ERR__DESTROYED);
    cop_free(op);
}

static void cop_finish(cop *op, int err);

/* Later (coordinator not known yet, or a retriable error), if there is
 * time left. */
static void cop_later(cop *op, int err)
{
    if (kfk__now_ms() + RETRY_MS >= op->deadline_ms ||
        !kfk__timer_add(kfk__client_loop(op->cs->k->client), RETRY_MS, cop_retry_timer, op)) {
        cop_finish(op, err ? err : KFK_ERR__TIMED_OUT);
        return;
    }
    retry_wait(op->cs, &op->retry, cop_destroy);
}

static void cop_try(kfk__client *c, void *arg)
{
    cop *op = arg;
    (void)c;
    kfk__cbroker *b = kfk__coord_get(op->cs);
    if (!b) {
        cop_later(op, KFK_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    op->send(op, b);
}

/* Splits kfk_topic_partition_t entries into request topics: calls add
 * for each, with the index of its topic (first appearance order). */
static int32_t topic_index(const kfk__str *names, int32_t n, const char *topic)
{
    for (int32_t i = 0; i < n; i++)
        if (kfk__str_eq(names[i], topic))
            return i;
    return -1;
}

/* ---- OffsetCommit ------------------------------------------------------------------ */

static void *build_commit(int16_t version, kfk__arena *a, void *opaque)
{
    cop *op = opaque;
    kfk__consumer *cs = op->cs;
    kfk__call *call = op->call;
    (void)version;
    kfk__offset_commit_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    kfk__str *names = kfk__arena_alloc(a, (call->n ? call->n : 1) * sizeof(*names));
    if (!rq || !names)
        return NULL;
    kfk__msg_init(&kfk__desc_offset_commit_request, rq);
    rq->group_id = kfk__str_c(cs->group_id);
    const char *member = "", *instance = NULL;
    rq->generation_id_or_member_epoch = cs->g ? kfk__group_generation(cs->g, &member, &instance)
                                              : -1;
    rq->member_id = kfk__str_c(member);
    rq->group_instance_id = instance ? kfk__str_c(instance) : KFK__STR_NULL;
    rq->retention_time_ms = -1;
    rq->topics.v =
        kfk__struct_array_new(a, &kfk__offset_commit_request_topic_desc, (int32_t)call->n);
    if (!rq->topics.v && call->n)
        return NULL;
    for (size_t i = 0; i < call->n; i++) {
        const kfk_topic_partition_t *p = &call->parts[i];
        int32_t t = topic_index(names, rq->topics.n, p->topic);
        if (t < 0) {
            t = rq->topics.n++;
            names[t] = kfk__str_c(p->topic);
            rq->topics.v[t].name = names[t];
            rq->topics.v[t].partitions.v = kfk__struct_array_new(
                a, &kfk__offset_commit_request_partition_desc, (int32_t)call->n);
            if (!rq->topics.v[t].partitions.v)
                return NULL;
        }
        kfk__offset_commit_request_topic *rt = &rq->topics.v[t];
        kfk__offset_commit_request_partition *rp = &rt->partitions.v[rt->partitions.n++];
        rp->partition_index = p->partition;
        rp->committed_offset = p->offset;
        rp->committed_leader_epoch = p->leader_epoch;
        rp->commit_timestamp = -1;
        rp->committed_metadata = p->metadata ? kfk__str_c(p->metadata) : kfk__str_c("");
    }
    return rq;
}

static void on_commit(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    cop *op = opaque;
    kfk__consumer *cs = op->cs;
    kfk__offset_commit_response *r = resp;
    kfk__call *call = op->call;
    (void)b;
    (void)version;
    int first = err;
    for (size_t i = 0; i < call->n; i++) {
        kfk_topic_partition_t *p = &call->parts[i];
        int e = err ? err : KFK_ERR__MALFORMED;
        for (int32_t t = 0; r && !err && t < r->topics.n; t++)
            if (kfk__str_eq(r->topics.v[t].name, p->topic))
                for (int32_t k = 0; k < r->topics.v[t].partitions.n; k++)
                    if (r->topics.v[t].partitions.v[k].partition_index == p->partition)
                        e = r->topics.v[t].partitions.v[k].error_code;
        p->err = (kfk_err_t)e;
        if (e && !first)
            first = e;
    }
    if (first && kfk__coord_error(first)) {
        kfk__coord_dead(cs);
        /* as Java: a sync commit retries; an async one reports the error
         * (a retried old commit could land after a newer one) */
        if (!call->async) {
            cop_later(op, first);
            return;
        }
    }
    if (!first || !err) {
        pthread_mutex_lock(&cs->mu);
        for (size_t i = 0; i < call->n; i++) {
            kfk__toppar *tp;
            if (!call->parts[i].err &&
                (tp = kfk__tp_find(cs, call->parts[i].topic, call->parts[i].partition))) {
                tp->committed = call->parts[i].offset;
                /* what the application committed itself it has processed:
                 * auto-commit must not go back behind it */
                if (tp->consumed < tp->committed) {
                    tp->consumed = tp->committed;
                    tp->consumed_epoch = call->parts[i].leader_epoch;
                }
            }
        }
        pthread_mutex_unlock(&cs->mu);
    }
    if (first)
        KFK__LOG(&cs->k->log, KFK__LOG_WARNING, KFK__DEBUG_CGRP, "group %s: commit failed: %s",
                 cs->group_id, kfk_err_str((kfk_err_t)first));
    else
        KFK__DBG(&cs->k->log, KFK__DEBUG_CGRP, "group %s: committed %zu offsets", cs->group_id,
                 call->n);
    cop_finish(op, first);
}

static void send_commit(cop *op, kfk__cbroker *b)
{
    if (kfk__cbroker_request(b, 8, 2, 8, build_commit, on_commit, op))
        cop_later(op, KFK_ERR__NOMEM);
}

/* ---- OffsetFetch ------------------------------------------------------------------- */

/* The partitions an OffsetFetch asks for: a call's, or a lookup's. */
static size_t fetch_count(const cop *op)
{
    return op->call ? op->call->n : (size_t)op->ntps;
}

static const char *fetch_topic(const cop *op, size_t i, int32_t *partition)
{
    if (op->call) {
        *partition = op->call->parts[i].partition;
        return op->call->parts[i].topic;
    }
    *partition = op->tps[i]->partition;
    return op->tps[i]->topic;
}

static void *build_offset_fetch(int16_t version, kfk__arena *a, void *opaque)
{
    cop *op = opaque;
    size_t n = fetch_count(op);
    (void)version;
    kfk__offset_fetch_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    kfk__str *names = kfk__arena_alloc(a, (n ? n : 1) * sizeof(*names));
    if (!rq || !names)
        return NULL;
    kfk__msg_init(&kfk__desc_offset_fetch_request, rq);
    rq->group_id = kfk__str_c(op->cs->group_id);
    rq->require_stable = true;
    rq->topics.v = kfk__struct_array_new(a, &kfk__offset_fetch_request_topic_desc, (int32_t)n);
    if (!rq->topics.v && n)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int32_t partition;
        const char *topic = fetch_topic(op, i, &partition);
        int32_t t = topic_index(names, rq->topics.n, topic);
        if (t < 0) {
            t = rq->topics.n++;
            names[t] = kfk__str_c(topic);
            rq->topics.v[t].name = names[t];
            rq->topics.v[t].partition_indexes.v = kfk__arena_alloc(a, n * sizeof(int32_t));
            if (!rq->topics.v[t].partition_indexes.v)
                return NULL;
        }
        kfk__offset_fetch_request_topic *rt = &rq->topics.v[t];
        rt->partition_indexes.v[rt->partition_indexes.n++] = partition;
    }
    return rq;
}

static void on_offset_fetch(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    cop *op = opaque;
    kfk__consumer *cs = op->cs;
    kfk__offset_fetch_response *r = resp;
    (void)b;
    (void)version;
    int top = err ? err : r ? r->error_code : KFK_ERR__MALFORMED;
    if (kfk__coord_error(top) || top == KFK_ERR_UNSTABLE_OFFSET_COMMIT) {
        if (top != KFK_ERR_UNSTABLE_OFFSET_COMMIT)
            kfk__coord_dead(cs);
        cop_later(op, top);
        return;
    }
    size_t n = fetch_count(op);
    int first = top;
    for (size_t i = 0; i < n; i++) {
        int32_t partition;
        const char *topic = fetch_topic(op, i, &partition);
        const kfk__offset_fetch_response_partition *pr = NULL;
        for (int32_t t = 0; !top && t < r->topics.n && !pr; t++)
            if (kfk__str_eq(r->topics.v[t].name, topic))
                for (int32_t k = 0; k < r->topics.v[t].partitions.n; k++)
                    if (r->topics.v[t].partitions.v[k].partition_index == partition)
                        pr = &r->topics.v[t].partitions.v[k];
        int e = top ? top : pr ? pr->error_code : KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (e == KFK_ERR_UNSTABLE_OFFSET_COMMIT) {
            cop_later(op, e);
            return;
        }
        int64_t off = !e && pr ? pr->committed_offset : -1;
        int32_t epoch = !e && pr ? pr->committed_leader_epoch : -1;
        if (op->call) {
            op->call->parts[i].err = (kfk_err_t)e;
            op->call->parts[i].offset = off >= 0 ? off : KFK_OFFSET_INVALID;
            op->call->parts[i].leader_epoch = epoch;
        } else {
            kfk__fetcher_committed(cs, op->tps[i], op->versions[i], e, off, epoch);
        }
        if (e && !first)
            first = e;
    }
    cop_finish(op, first);
}

static void send_offset_fetch(cop *op, kfk__cbroker *b)
{
    if (kfk__cbroker_request(b, 9, 1, 7, build_offset_fetch, on_offset_fetch, op))
        cop_later(op, KFK_ERR__NOMEM);
}

static void cop_finish(cop *op, int err)
{
    kfk__consumer *cs = op->cs;
    if (!op->call) { /* a lookup: the partitions try again later */
        if (err)
            for (int i = 0; i < op->ntps; i++)
                kfk__fetcher_committed(cs, op->tps[i], op->versions[i], err, -1, -1);
        cop_free(op);
        return;
    }
    kfk__call *call = op->call;
    if (call->async && op->send == send_commit && cs->commit_cb) {
        kfk__cevent *ev = kfk__calloc(1, sizeof(*ev));
        if (ev && (ev->parts = kfk__parts_dup(call->parts, call->n))) {
            ev->type = CEV_COMMIT;
            ev->err = (kfk_err_t)err;
            ev->n = call->n;
            pthread_mutex_lock(&cs->mu);
            kfk__cevent_queue(cs, ev);
            pthread_mutex_unlock(&cs->mu);
        } else {
            kfk__free(ev);
        }
    }
    kfk__call_finish(call, err);
    cop_free(op);
}

static int cop_start(kfk__consumer *cs, kfk__call *call, cop_send_fn *send)
{
    cop *op = kfk__calloc(1, sizeof(*op));
    if (!op)
        return KFK_ERR__NOMEM;
    op->cs = cs;
    op->call = call;
    op->deadline_ms = call->deadline_ms;
    op->send = send;
    pthread_mutex_lock(&call->mu);
    call->refs++; /* the op's */
    pthread_mutex_unlock(&call->mu);
    int e = kfk__client_post(cs->k->client, cop_try, op);
    if (e)
        cop_free(op);
    return e;
}

int kfk__offsets_commit(kfk__consumer *cs, kfk__call *c)
{
    return cop_start(cs, c, send_commit);
}

int kfk__offsets_fetch(kfk__consumer *cs, kfk__call *c)
{
    return cop_start(cs, c, send_offset_fetch);
}

void kfk__offsets_lookup(kfk__consumer *cs, kfk__toppar **tps, int n)
{
    cop *op = kfk__calloc(1, sizeof(*op));
    if (op) {
        op->tps = kfk__malloc((size_t)n * sizeof(*op->tps));
        op->versions = kfk__malloc((size_t)n * sizeof(*op->versions));
    }
    if (!op || !op->tps || !op->versions) {
        if (op)
            cop_free(op);
        for (int i = 0; i < n; i++)
            tps[i]->fstate = TP_NEED_OFFSET;
        return;
    }
    op->cs = cs;
    op->ntps = n;
    for (int i = 0; i < n; i++) {
        op->tps[i] = tps[i];
        op->versions[i] = tps[i]->version;
    }
    op->deadline_ms = kfk__now_ms() + cs->api_timeout_ms;
    op->send = send_offset_fetch;
    /* on the I/O thread already, with mu held: start on the next turn */
    if (kfk__client_post(cs->k->client, cop_try, op)) {
        for (int i = 0; i < n; i++)
            tps[i]->fstate = TP_NEED_OFFSET;
        cop_free(op);
    }
}

/* ---- ListOffsets for the application ------------------------------------------------- */

/* One partition of a call: its leader's ListOffsets. */
typedef struct lop {
    kfk__retry retry; /* first: waiting on a retry timer */
    kfk__call *call;
    size_t i;
    int64_t deadline_ms;
} lop;

static void lop_try(kfk__client *c, void *arg);

static void lop_done(lop *l, int err)
{
    kfk__call *call = l->call;
    pthread_mutex_lock(&call->mu);
    if (err)
        call->parts[l->i].err = (kfk_err_t)err;
    bool last = ++call->attempts == (int)call->n;
    pthread_mutex_unlock(&call->mu);
    if (last) {
        int first = 0;
        for (size_t i = 0; i < call->n && !first; i++)
            first = call->parts[i].err;
        kfk__call_finish(call, first);
    }
    kfk__call_unref(call);
    kfk__free(l);
}

static void lop_timer(kfk__timer *t, void *arg)
{
    lop *l = arg;
    kfk__timer_del(t);
    retry_done(l->call->cs, &l->retry);
    lop_try(l->call->cs->k->client, l);
}

static void lop_destroy(kfk__retry *r)
{
    lop_done((lop *)r, KFK_ERR__DESTROYED);
}

static void lop_later(lop *l, int err)
{
    if (kfk__now_ms() + RETRY_MS >= l->deadline_ms ||
        !kfk__timer_add(kfk__client_loop(l->call->cs->k->client), RETRY_MS, lop_timer, l)) {
        lop_done(l, err);
        return;
    }
    retry_wait(l->call->cs, &l->retry, lop_destroy);
}

kfk__list_offsets_request *kfk__list_offsets_new(kfk__arena *a, int isolation, int32_t ntopics)
{
    kfk__list_offsets_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_list_offsets_request, rq);
    rq->replica_id = -1; /* a client, not a follower */
    rq->isolation_level = (int8_t)isolation;
    rq->topics.v = kfk__struct_array_new(a, &kfk__list_offsets_request_topic_desc, ntopics);
    return rq->topics.v ? rq : NULL;
}

static void *build_lop(int16_t version, kfk__arena *a, void *opaque)
{
    lop *l = opaque;
    const kfk_topic_partition_t *p = &l->call->parts[l->i];
    (void)version;
    kfk__list_offsets_request *rq = kfk__list_offsets_new(a, l->call->cs->isolation, 1);
    if (!rq)
        return NULL;
    rq->topics.n = 1;
    rq->topics.v[0].name = kfk__str_c(p->topic);
    rq->topics.v[0].partitions.v =
        kfk__struct_array_new(a, &kfk__list_offsets_request_partition_desc, 1);
    if (!rq->topics.v[0].partitions.v)
        return NULL;
    rq->topics.v[0].partitions.n = 1;
    rq->topics.v[0].partitions.v[0].partition_index = p->partition;
    rq->topics.v[0].partitions.v[0].current_leader_epoch = -1;
    rq->topics.v[0].partitions.v[0].timestamp = p->offset;
    rq->topics.v[0].partitions.v[0].max_num_offsets = 1;
    return rq;
}

static void on_lop(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    lop *l = opaque;
    kfk__list_offsets_response *r = resp;
    (void)b;
    (void)version;
    const kfk__list_offsets_response_partition_response *pr = NULL;
    if (!err && r && r->topics.n == 1 && r->topics.v[0].partitions.n == 1)
        pr = &r->topics.v[0].partitions.v[0];
    int e = err ? err : pr ? pr->error_code : KFK_ERR__MALFORMED;
    if (e && (kfk_err_is_retriable((kfk_err_t)e) || e == KFK_ERR__TRANSPORT)) {
        kfk__client_metadata_refresh(l->call->cs->k->client);
        lop_later(l, e);
        return;
    }
    if (!e) {
        l->call->parts[l->i].offset = pr->offset;
        l->call->parts[l->i].leader_epoch = pr->leader_epoch;
    }
    lop_done(l, e);
}

static void lop_try(kfk__client *c, void *arg)
{
    lop *l = arg;
    const kfk_topic_partition_t *p = &l->call->parts[l->i];
    int32_t leader = -1, epoch;
    kfk__cbroker *b = NULL;
    if (kfk__client_want_topic(c, p->topic) == 0 &&
        kfk__mdcache_leader(kfk__client_metadata(c), p->topic, p->partition, &leader, &epoch) &&
        leader >= 0)
        b = kfk__client_broker(c, leader);
    if (!b) {
        int32_t cnt = kfk__mdcache_partition_count(kfk__client_metadata(c), p->topic);
        if (cnt < 0 || (cnt > 0 && p->partition >= cnt)) {
            lop_done(l, cnt < 0 ? -cnt : KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
            return;
        }
        kfk__client_metadata_refresh(c);
        lop_later(l, KFK_ERR_LEADER_NOT_AVAILABLE);
        return;
    }
    if (kfk__cbroker_request(b, 2, 1, 7, build_lop, on_lop, l))
        lop_later(l, KFK_ERR__NOMEM);
}

int kfk__offsets_list(kfk__consumer *cs, kfk__call *c)
{
    if (c->n == 0) {
        kfk__call_finish(c, 0);
        return 0;
    }
    lop **ls = kfk__calloc(c->n, sizeof(*ls));
    for (size_t i = 0; ls && i < c->n; i++) {
        if (!(ls[i] = kfk__calloc(1, sizeof(**ls)))) {
            while (i--)
                kfk__free(ls[i]);
            kfk__free(ls);
            ls = NULL;
        }
    }
    if (!ls)
        return KFK_ERR__NOMEM;
    pthread_mutex_lock(&c->mu);
    c->refs += (int)c->n; /* one per partition's request */
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        ls[i]->call = c;
        ls[i]->i = i;
        ls[i]->deadline_ms = c->deadline_ms;
        if (kfk__client_post(cs->k->client, lop_try, ls[i]))
            lop_done(ls[i], KFK_ERR__DESTROYED);
    }
    kfk__free(ls);
    return 0;
}

/* ---- public calls --------------------------------------------------------------------- */

/* Runs a call to the end (or timeout) and copies results back. */
static kfk_err_t run_call(kfk__call *c, int (*start)(kfk__consumer *, kfk__call *),
                          kfk_topic_partition_t *parts, bool offsets_out)
{
    kfk__consumer *cs = c->cs;
    int e = start(cs, c);
    if (e) {
        kfk__call_unref(c);
        return (kfk_err_t)e;
    }
    e = kfk__call_wait(c, c->deadline_ms);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; parts && i < c->n; i++) {
        parts[i].err = e == KFK_ERR__TIMED_OUT && !c->done ? KFK_ERR__TIMED_OUT : c->parts[i].err;
        if (offsets_out && c->done) {
            parts[i].offset = c->parts[i].offset;
            parts[i].leader_epoch = c->parts[i].leader_epoch;
        }
    }
    pthread_mutex_unlock(&c->mu);
    kfk__call_unref(c);
    return (kfk_err_t)e;
}

/* The positions that moved since the last commit (mu held). */
static kfk_topic_partition_t *moved_positions(kfk__consumer *cs, size_t *n)
{
    size_t cnt = 0;
    for (kfk__toppar *tp = cs->tps; tp; tp = tp->next)
        cnt += tp->assigned && tp->app_pos >= 0 && tp->app_pos != tp->committed;
    *n = cnt;
    kfk_topic_partition_t *parts = kfk__calloc(cnt ? cnt : 1, sizeof(*parts));
    size_t i = 0;
    for (kfk__toppar *tp = cs->tps; parts && tp; tp = tp->next)
        if (tp->assigned && tp->app_pos >= 0 && tp->app_pos != tp->committed) {
            parts[i].topic = tp->topic;
            parts[i].partition = tp->partition;
            parts[i].offset = tp->app_pos;
            parts[i].leader_epoch = tp->app_epoch;
            i++;
        }
    return parts;
}

kfk_err_t kfk_consumer_commit(kfk_t *k, kfk_topic_partition_t *parts, size_t n, int flags)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    return kfk__consumer_commit(k, parts, n, flags,
                                kfk__now_ms() + (cs ? cs->api_timeout_ms : 0));
}

kfk_err_t kfk__consumer_commit(kfk_t *k, kfk_topic_partition_t *parts, size_t n, int flags,
                               int64_t deadline_ms)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (n && !parts) || (flags & ~KFK_COMMIT_ASYNC))
        return KFK_ERR__INVALID_ARG;
    if (!cs->group_id)
        return KFK_ERR__INVALID_CONFIG;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || parts[i].partition < 0 || parts[i].offset < 0)
            return KFK_ERR__INVALID_ARG;
    kfk__call *c;
    if (!parts) {
        pthread_mutex_lock(&cs->mu);
        size_t cnt;
        kfk_topic_partition_t *pos = moved_positions(cs, &cnt);
        c = pos ? kfk__call_new(cs, pos, cnt) : NULL;
        pthread_mutex_unlock(&cs->mu);
        kfk__free(pos);
        if (c && c->n == 0) {
            kfk__call_unref(c);
            return KFK_ERR_NONE; /* nothing moved */
        }
    } else {
        c = kfk__call_new(cs, parts, n);
    }
    if (!c)
        return KFK_ERR__NOMEM;
    c->deadline_ms = deadline_ms;
    if (flags & KFK_COMMIT_ASYNC) {
        c->async = true;
        int e = kfk__offsets_commit(cs, c);
        kfk__call_unref(c);
        return (kfk_err_t)e;
    }
    pthread_mutex_lock(&c->mu);
    c->refs++; /* for the callback below */
    pthread_mutex_unlock(&c->mu);
    kfk_err_t e = run_call(c, kfk__offsets_commit, parts, false);
    if (cs->commit_cb)
        cs->commit_cb(k, e, c->parts, c->n, cs->commit_opaque);
    kfk__call_unref(c);
    return e;
}

kfk_err_t kfk_consumer_committed(kfk_t *k, kfk_topic_partition_t *parts, size_t n,
                                 int timeout_ms)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (n && !parts))
        return KFK_ERR__INVALID_ARG;
    if (!cs->group_id)
        return KFK_ERR__INVALID_CONFIG;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || parts[i].partition < 0)
            return KFK_ERR__INVALID_ARG;
    kfk__call *c = kfk__call_new(cs, parts, n);
    if (!c)
        return KFK_ERR__NOMEM;
    c->deadline_ms = kfk__now_ms() + (timeout_ms < 0 ? cs->api_timeout_ms : timeout_ms);
    return run_call(c, kfk__offsets_fetch, parts, true);
}

kfk_err_t kfk_consumer_offsets_for_times(kfk_t *k, kfk_topic_partition_t *parts, size_t n,
                                         int timeout_ms)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || (n && !parts))
        return KFK_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || parts[i].partition < 0 || parts[i].offset < 0)
            return KFK_ERR__INVALID_ARG;
    kfk__call *c = kfk__call_new(cs, parts, n);
    if (!c)
        return KFK_ERR__NOMEM;
    c->deadline_ms = kfk__now_ms() + (timeout_ms < 0 ? cs->api_timeout_ms : timeout_ms);
    return run_call(c, kfk__offsets_list, parts, true);
}

kfk_err_t kfk_consumer_watermarks(kfk_t *k, const char *topic, int32_t partition, int64_t *low,
                                  int64_t *high, int timeout_ms)
{
    kfk__consumer *cs = kfk__consumer_of(k);
    if (!cs || !topic || partition < 0)
        return KFK_ERR__INVALID_ARG;
    if (timeout_ms == 0) {
        pthread_mutex_lock(&cs->mu);
        kfk__toppar *tp = kfk__tp_find(cs, topic, partition);
        bool known = tp && tp->hw >= 0;
        if (known) {
            if (low)
                *low = tp->log_start;
            if (high)
                *high = tp->hw;
        }
        pthread_mutex_unlock(&cs->mu);
        return known ? KFK_ERR_NONE : KFK_ERR__STATE;
    }
    kfk_topic_partition_t q[2] = {{.topic = topic, .partition = partition, .offset = -2},
                                  {.topic = topic, .partition = partition, .offset = -1}};
    kfk__call *c = kfk__call_new(cs, q, 2);
    if (!c)
        return KFK_ERR__NOMEM;
    c->deadline_ms = kfk__now_ms() + (timeout_ms < 0 ? cs->api_timeout_ms : timeout_ms);
    kfk_err_t e = run_call(c, kfk__offsets_list, q, true);
    if (!e) {
        if (low)
            *low = q[0].offset;
        if (high)
            *high = q[1].offset;
    }
    return e;
}
