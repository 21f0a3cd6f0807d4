/*
 * sender.c: the producer's I/O-thread half (see sender.h).
 *
 * One pass (run on every wakeup and timer): make sure an idempotent
 * producer has its id, expire batches past delivery.timeout.ms, ask the
 * accumulator which leaders are ready, and send each ready leader one
 * Produce request with a batch per ready partition, while that broker has
 * fewer than max.in.flight requests out. Responses complete batches;
 * errors decide between retry and failure per Kafka's retriable flag.
 */
#include "producer/sender.h"

#include <string.h>

#include "common/alloc.h"
#include "proto/gen/all.h"

#define MAX_NODES 256
#define IDLE_MS 100

struct kfk__sender {
    kfk__client *c;
    kfk__accum *acc;
    kfk__sender_conf conf;
    kfk__zctx *z;
    kfk__timer *timer;
    bool stopped;
    /* idempotence */
    int64_t pid;
    int16_t epoch;
    bool pid_inflight;
    int pid_failures;
    bool bump_pending; /* an epoch bump is due once nothing is in flight */
    /* Produce requests in flight, per node id (index by id % MAX_NODES;
     * broker ids of a cluster are small) */
    int inflight[MAX_NODES];
    int total_inflight; /* read by other threads: atomics */
};

typedef struct produce_ctx {
    kfk__sender *s;
    int32_t node;
    kfk__pbatch *batches;
    int32_t nbatches;
} produce_ctx;

static void run(kfk__sender *s);

/* ---- Produce ---------------------------------------------------------------
 */

static void *build_produce(int16_t version, kfk__arena *a, void *opaque)
{
    produce_ctx *p = opaque;
    kfk__sender *s = p->s;
    (void)version;
    kfk__produce_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_produce_request, rq);
    rq->transactional_id = KFK__STR_NULL;
    rq->acks = s->conf.acks;
    rq->timeout_ms = s->conf.request_timeout_ms;
    /* One topic entry per batch: simple, and allowed (brokers group by
     * topic themselves); batches of one topic are usually adjacent. */
    rq->topic_data.v = kfk__struct_array_new(
        a, &kfk__produce_request_topic_produce_data_desc, p->nbatches);
    if (!rq->topic_data.v)
        return NULL;
    rq->topic_data.n = p->nbatches;
    int32_t i = 0;
    for (kfk__pbatch *b = p->batches; b; b = b->next, i++) {
        kfk__produce_request_topic_produce_data *td = &rq->topic_data.v[i];
        kfk__produce_request_partition_produce_data *pd = kfk__struct_array_new(
            a, &kfk__produce_request_partition_produce_data_desc, 1);
        if (!pd)
            return NULL;
        td->name = kfk__str_c(b->topic_name);
        pd->index = b->partition;
        pd->records.ptr = b->data;
        pd->records.len = (int32_t)b->size;
        td->partition_data.v = pd;
        td->partition_data.n = 1;
    }
    return rq;
}

static int64_t backoff_ms(const kfk__sender *s, int attempts)
{
    int shift = attempts > 1 ? (attempts - 1 < 10 ? attempts - 1 : 10) : 0;
    int64_t b = s->conf.retry_backoff_ms << shift;
    return b > s->conf.retry_backoff_max_ms ? s->conf.retry_backoff_max_ms : b;
}

/* Decides one batch's fate from its partition's error. */
static void complete_batch(kfk__sender *s, kfk__pbatch *b, int err,
                           int64_t base_offset, int64_t append_time)
{
    int64_t now = kfk__now_ms();
    switch (err) {
    case 0:
        kfk__accum_complete_ok(s->acc, b, base_offset, append_time);
        return;
    case KFK_ERR_DUPLICATE_SEQUENCE_NUMBER: /* written before: success */
        kfk__accum_complete_ok(s->acc, b, -1, -1);
        return;
    case KFK_ERR_NOT_LEADER_OR_FOLLOWER:
    case KFK_ERR_LEADER_NOT_AVAILABLE:
    case KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KFK_ERR_FENCED_LEADER_EPOCH:
    case KFK_ERR__TRANSPORT:
    case KFK_ERR__TIMED_OUT:
        kfk__client_metadata_refresh(s->c);
        break;
    case KFK_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        /* Usually an earlier batch of the partition was lost with a
         * connection and is being resent: retry in order behind it. A
         * batch that keeps getting it means the broker lost our state:
         * bump the epoch (KIP-360) and resend from sequence 0. */
        if (s->conf.idempotence && b->attempts >= 5)
            s->bump_pending = true;
        break;
    case KFK_ERR_UNKNOWN_PRODUCER_ID:
        if (s->conf.idempotence)
            s->bump_pending = true; /* KIP-360: bump, then resend */
        break;
    case KFK_ERR_PRODUCER_FENCED:
    case KFK_ERR_INVALID_PRODUCER_EPOCH:
    case KFK_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case KFK_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        /* The producer id is no longer ours to use (or never was):
         * nothing sent from now on could keep the ordering promise. */
        if (s->conf.idempotence)
            kfk__handle_set_fatal(s->conf.handle, (kfk_err_t)err,
                                  "Produce to %s [%d] failed", b->topic_name,
                                  (int)b->partition);
        kfk__accum_complete_fail(s->acc, b, err);
        return;
    default:
        if (err < 0 || !kfk_err_is_retriable((kfk_err_t)err)) {
            kfk__accum_complete_fail(s->acc, b, err);
            return;
        }
    }
    kfk__accum_complete_retry(s->acc, b, now, now + backoff_ms(s, b->attempts));
}

static const kfk__produce_response_partition_produce_response *
find_part(const kfk__produce_response *r, const char *topic, int32_t partition)
{
    for (int32_t i = 0; i < r->responses.n; i++) {
        const kfk__produce_response_topic_produce_response *t =
            &r->responses.v[i];
        if (!kfk__str_eq(t->name, topic))
            continue;
        for (int32_t k = 0; k < t->partition_responses.n; k++)
            if (t->partition_responses.v[k].index == partition)
                return &t->partition_responses.v[k];
    }
    return NULL;
}

static void on_produce(kfk__cbroker *cb, int err, int16_t version, void *resp,
                       void *opaque)
{
    produce_ctx *p = opaque;
    kfk__sender *s = p->s;
    (void)cb;
    (void)version;
    kfk__produce_response *r = resp;
    kfk__pbatch *b = p->batches;
    while (b) {
        kfk__pbatch *next = b->next;
        if (err == KFK_ERR__DESTROYED) {
            kfk__accum_complete_fail(s->acc, b, KFK_ERR__DESTROYED);
        } else if (err) {
            complete_batch(s, b, err, -1, -1);
        } else if (!r) { /* acks=0: nothing comes back; sent is done */
            kfk__accum_complete_ok(s->acc, b, -1, -1);
        } else {
            const kfk__produce_response_partition_produce_response *pr =
                find_part(r, b->topic_name, b->partition);
            if (!pr) {
                complete_batch(s, b, KFK_ERR__MALFORMED, -1, -1);
            } else {
                if (pr->error_code == KFK_ERR_NOT_LEADER_OR_FOLLOWER &&
                    pr->current_leader.leader_id >= 0) /* KIP-951 */
                    kfk__mdcache_set_leader(kfk__client_metadata(s->c),
                                            b->topic_name, b->partition,
                                            pr->current_leader.leader_id,
                                            pr->current_leader.leader_epoch);
                complete_batch(s, b, pr->error_code, pr->base_offset,
                               pr->log_append_time_ms);
            }
        }
        b = next;
    }
    s->inflight[p->node % MAX_NODES]--;
    __atomic_sub_fetch(&s->total_inflight, 1, __ATOMIC_SEQ_CST);
    kfk__free(p);
    if (!s->stopped)
        run(s);
}

/* ---- idempotence
 * -------------------------------------------------------------- */

static void *build_init_pid(int16_t version, kfk__arena *a, void *opaque)
{
    (void)version;
    (void)opaque;
    kfk__init_producer_id_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (rq) {
        kfk__msg_init(&kfk__desc_init_producer_id_request, rq);
        rq->transactional_id = KFK__STR_NULL;
        rq->transaction_timeout_ms = 60000;
    }
    return rq;
}

static void on_init_pid(kfk__cbroker *b, int err, int16_t version, void *resp,
                        void *opaque)
{
    kfk__sender *s = opaque;
    (void)b;
    (void)version;
    s->pid_inflight = false;
    kfk__init_producer_id_response *r = resp;
    if (!err && r && !r->error_code && r->producer_id >= 0) {
        s->pid = r->producer_id;
        s->epoch = r->producer_epoch;
        s->pid_failures = 0;
        kfk__accum_set_producer(s->acc, s->pid, s->epoch);
        KFK__DBG(&s->conf.handle->log, KFK__DEBUG_EOS, "producer id %lld epoch %d",
                 (long long)s->pid, (int)s->epoch);
    } else if (!err && r && r->error_code &&
               !kfk_err_is_retriable((kfk_err_t)r->error_code)) {
        kfk__handle_set_fatal(s->conf.handle, (kfk_err_t)r->error_code,
                              "InitProducerId refused");
    } else {
        KFK__LOG(&s->conf.handle->log,
                 s->pid_failures ? KFK__LOG_DEBUG : KFK__LOG_WARNING, KFK__DEBUG_EOS,
                 "InitProducerId failed: %s",
                 kfk_err_str((kfk_err_t)(err ? err : r ? r->error_code : KFK_ERR__MALFORMED)));
        s->pid_failures++;
        kfk__client_metadata_refresh(s->c);
    }
    if (!s->stopped)
        kfk__timer_again(s->timer,
                         s->pid < 0 ? backoff_ms(s, s->pid_failures) : 0);
}

/* Returns true when batches may be drained (the producer id is known). */
static bool ensure_pid(kfk__sender *s)
{
    if (!s->conf.idempotence)
        return true;
    bool bump = s->bump_pending || kfk__accum_need_epoch_bump(s->acc);
    if (s->pid >= 0 && bump) {
        if (s->total_inflight > 0)
            return false; /* drain nothing until the bump */
        /* KIP-360 for an idempotent (non-transactional) producer: bump the
         * epoch locally; on overflow get a new id. */
        s->bump_pending = false;
        KFK__LOG(&s->conf.handle->log, KFK__LOG_INFO, KFK__DEBUG_EOS,
                 "bumping the producer epoch after a sequence gap (KIP-360)");
        if (s->epoch < INT16_MAX) {
            s->epoch++;
            kfk__accum_set_producer(s->acc, s->pid, s->epoch);
        } else {
            s->pid = -1;
        }
    }
    if (s->pid >= 0)
        return true;
    if (!s->pid_inflight) {
        kfk__cbroker *b = kfk__client_any_broker(s->c, (unsigned)s->pid_failures);
        if (!b) {
            kfk__client_metadata_refresh(s->c);
            return false;
        }
        if (kfk__cbroker_request(b, 22, 0, 5, build_init_pid, on_init_pid, s) ==
            0)
            s->pid_inflight = true;
    }
    return false;
}

/* ---- the pass
 * ------------------------------------------------------------------ */

static int32_t leader_of(void *arg, const char *topic, int32_t partition)
{
    kfk__sender *s = arg;
    int32_t leader, epoch;
    return kfk__mdcache_leader(kfk__client_metadata(s->c), topic, partition,
                               &leader, &epoch)
               ? leader
               : -1;
}

static void send_node(kfk__sender *s, int32_t node, int64_t now)
{
    kfk__cbroker *b = kfk__client_broker(s->c, node);
    if (!b) {
        kfk__client_metadata_refresh(s->c);
        return;
    }
    if (s->inflight[node % MAX_NODES] >= s->conf.max_inflight)
        return;
    kfk__pbatch *list = NULL;
    kfk__accum_drain_node(s->acc, node, (size_t)s->conf.max_request_size, now,
                          s->z, &list);
    if (!list)
        return;
    produce_ctx *p = kfk__calloc(1, sizeof(*p));
    if (!p) {
        for (kfk__pbatch *x = list; x;) {
            kfk__pbatch *next = x->next;
            kfk__accum_complete_retry(s->acc, x, now,
                                      now + s->conf.retry_backoff_ms);
            x = next;
        }
        return;
    }
    p->s = s;
    p->node = node;
    p->batches = list;
    for (kfk__pbatch *x = list; x; x = x->next)
        p->nbatches++;
    s->inflight[node % MAX_NODES]++;
    __atomic_add_fetch(&s->total_inflight, 1, __ATOMIC_SEQ_CST);
    int e =
        s->conf.acks == 0
            ? kfk__cbroker_request_oneway(b, 0, 3, 11, build_produce,
                                          on_produce, p)
            : kfk__cbroker_request(b, 0, 3, 11, build_produce, on_produce, p);
    if (e) {
        s->inflight[node % MAX_NODES]--;
        __atomic_sub_fetch(&s->total_inflight, 1, __ATOMIC_SEQ_CST);
        for (kfk__pbatch *x = list; x;) {
            kfk__pbatch *next = x->next;
            kfk__accum_complete_retry(s->acc, x, now,
                                      now + s->conf.retry_backoff_ms);
            x = next;
        }
        kfk__free(p);
    }
}

static void run(kfk__sender *s)
{
    int64_t now = kfk__now_ms();
    int64_t next = now + IDLE_MS;
    kfk__accum_expire(s->acc, now);
    if (kfk__handle_fatal(s->conf.handle)) {
        /* what is in flight completes; nothing more is sent */
        kfk__accum_fail_all(s->acc, true, false, KFK_ERR__FATAL);
    } else if (ensure_pid(s)) {
        kfk__accum_readiness rd;
        kfk__accum_ready(s->acc, now, leader_of, s, &rd);
        if (rd.unknown_leader)
            kfk__client_metadata_refresh(s->c);
        int32_t nodes[MAX_NODES];
        size_t n = rd.node_cnt < MAX_NODES ? rd.node_cnt : MAX_NODES;
        if (n) /* rd.nodes is reused by the next ready call */
            memcpy(nodes, rd.nodes, n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++)
            send_node(s, nodes[i], now);
        if (rd.next_ms < next)
            next = rd.next_ms;
    }
    kfk__timer_again(s->timer, next > now ? next - now : 0);
}

static void on_timer(kfk__timer *t, void *arg)
{
    (void)t;
    run(arg);
}

static void start(kfk__client *c, void *arg)
{
    kfk__sender *s = arg;
    s->timer = kfk__timer_add(kfk__client_loop(c), 0, on_timer, s);
}

static void on_wakeup(kfk__client *c, void *arg)
{
    kfk__sender *s = arg;
    (void)c;
    if (!s->stopped && s->timer)
        run(s);
}

static void stop(kfk__client *c, void *arg)
{
    kfk__sender *s = arg;
    (void)c;
    s->stopped = true;
    kfk__timer_del(s->timer);
    s->timer = NULL;
}

int kfk__sender_new(kfk__client *c, kfk__accum *acc,
                    const kfk__sender_conf *conf, kfk__sender **out)
{
    kfk__sender *s = kfk__calloc(1, sizeof(*s));
    if (!s)
        return KFK_ERR__NOMEM;
    s->c = c;
    s->acc = acc;
    s->conf = *conf;
    if (s->conf.max_inflight < 1)
        s->conf.max_inflight = 1;
    s->pid = -1;
    int e = kfk__zctx_new(&s->z);
    if (!e)
        e = kfk__client_post(c, start, s);
    if (e) {
        kfk__zctx_destroy(s->z);
        kfk__free(s);
        return e;
    }
    *out = s;
    return 0;
}

void kfk__sender_wakeup(kfk__sender *s)
{
    kfk__client_post(s->c, on_wakeup, s);
}

bool kfk__sender_idle(kfk__sender *s)
{
    return __atomic_load_n(&s->total_inflight, __ATOMIC_SEQ_CST) == 0;
}

void kfk__sender_stop(kfk__sender *s)
{
    kfk__client_post(s->c, stop, s);
}

void kfk__sender_free(kfk__sender *s)
{
    if (!s)
        return;
    kfk__zctx_destroy(s->z);
    kfk__free(s);
}
