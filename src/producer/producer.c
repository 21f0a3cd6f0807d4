/*
 * producer.c: the public producer (kfk/producer.h): a kfk_t ties the
 * client core (I/O thread, brokers, metadata), the accumulator (where
 * kfk_produce copies records) and the sender (which ships batches)
 * together, and serves delivery reports on the application's threads.
 */
#include <kfk/producer.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "client/handle.h"
#include "common/alloc.h"
#include "net/loop.h"
#include "producer/accumulator.h"
#include "producer/sender.h"

typedef struct producer {
    kfk__accum *acc;
    kfk__sender *sender;
    kfk_delivery_cb *dr_cb;
    void *dr_opaque;
    int closed; /* atomic */
} producer;

static const kfk__handle_ops producer_ops;

/* The producer behind k, or NULL if k is not one. */
static producer *P(kfk_t *k)
{
    return k && k->ops == &producer_ops ? k->impl : NULL;
}

kfk_err_t kfk_conf_set_delivery_cb(kfk_conf_t *conf, kfk_delivery_cb *cb, void *app_opaque)
{
    if (!conf)
        return KFK_ERR__INVALID_ARG;
    conf->cbs.delivery = (void (*)(void))cb;
    conf->cbs.delivery_opaque = app_opaque;
    return KFK_ERR_NONE;
}

kfk_err_t kfk_conf_set_partitioner_cb(kfk_conf_t *conf, kfk_partitioner_cb *cb,
                                      void *opaque)
{
    if (!conf)
        return KFK_ERR__INVALID_ARG;
    conf->cbs.partitioner = (void (*)(void))cb;
    conf->cbs.partitioner_opaque = opaque;
    return KFK_ERR_NONE;
}

static int codec_level(const kfk_conf_t *conf, int codec)
{
    switch (codec) {
    case KFK__CODEC_GZIP:
        return (int)kfk__conf_int(conf, KFK__CONF_COMPRESSION_GZIP_LEVEL);
    case KFK__CODEC_ZSTD:
        return (int)kfk__conf_int(conf, KFK__CONF_COMPRESSION_ZSTD_LEVEL);
    default: /* Java's lz4 default (9) means its fast compressor: ours too */
        return KFK__LEVEL_DEFAULT;
    }
}

static void wake_poll(void *arg)
{
    kfk__evq_wake(arg);
}

static int make_accum(kfk_t *k, producer *p)
{
    const kfk_conf_t *c = k->conf;
    kfk__accum_params ap;
    kfk__accum_params_init(&ap);
    ap.batch_size = (int32_t)kfk__conf_int(c, KFK__CONF_BATCH_SIZE);
    ap.linger_ms = kfk__conf_int(c, KFK__CONF_LINGER_MS);
    ap.buffer_memory = kfk__conf_int(c, KFK__CONF_BUFFER_MEMORY);
    ap.max_request_size = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_REQUEST_SIZE);
    ap.codec = (int)kfk__conf_int(c, KFK__CONF_COMPRESSION_TYPE);
    ap.level = codec_level(c, ap.codec);
    ap.idempotence = kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE) != 0;
    ap.max_inflight = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
    ap.delivery_timeout_ms = kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS);
    ap.availability_timeout_ms = kfk__conf_int(c, KFK__CONF_PARTITIONER_AVAILABILITY_TIMEOUT_MS);
    ap.partitioner.ignore_keys = kfk__conf_int(c, KFK__CONF_PARTITIONER_IGNORE_KEYS) != 0;
    ap.partitioner.adaptive =
        kfk__conf_int(c, KFK__CONF_PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE) != 0;
    ap.partitioner.cb = (kfk__partitioner_cb *)c->cbs.partitioner;
    ap.partitioner.cb_opaque = c->cbs.partitioner_opaque;
    ap.on_report = wake_poll;
    ap.on_report_arg = &k->evq;
    return kfk__accum_new(&p->acc, &ap);
}

static int make_sender(kfk_t *k, producer *p)
{
    const kfk_conf_t *c = k->conf;
    kfk__sender_conf sc = {
        .acks = (int16_t)kfk__conf_int(c, KFK__CONF_ACKS),
        .request_timeout_ms = (int32_t)kfk__conf_int(c, KFK__CONF_REQUEST_TIMEOUT_MS),
        .retry_backoff_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MS),
        .retry_backoff_max_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MAX_MS),
        .max_request_size = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_REQUEST_SIZE),
        .max_inflight = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION),
        .idempotence = kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE) != 0,
        .handle = k,
    };
    return kfk__sender_new(k->client, p->acc, &sc, &p->sender);
}

/* ---- statistics (I/O thread) ------------------------------------------------ */

typedef struct stats_ctx {
    json_t *topics;
    int64_t queued, inflight, acked, acked_bytes, failed;
} stats_ctx;

static void part_stats(const kfk__accum_part_stats *st, void *arg)
{
    stats_ctx *c = arg;
    json_t *t = json_object_get(c->topics, st->topic);
    if (!t) {
        t = json_pack("{s:s, s:{}}", "topic", st->topic, "partitions");
        if (!t || json_object_set_new(c->topics, st->topic, t))
            return;
    }
    char key[16];
    snprintf(key, sizeof(key), "%d", (int)st->partition);
    json_object_set_new(json_object_get(t, "partitions"), key,
                        json_pack("{s:i, s:i, s:I, s:I, s:I, s:i, s:I, s:I, s:I}", "partition",
                                  (int)st->partition, "leader", (int)st->leader, "msgq_cnt",
                                  (json_int_t)st->queued_msgs, "msgq_bytes",
                                  (json_int_t)st->queued_bytes, "inflight_cnt",
                                  (json_int_t)st->inflight_msgs, "inflight_batches",
                                  (int)st->inflight_batches, "acked_cnt",
                                  (json_int_t)st->acked_msgs, "acked_bytes",
                                  (json_int_t)st->acked_bytes, "failed_cnt",
                                  (json_int_t)st->failed_msgs));
    c->queued += st->queued_msgs;
    c->inflight += st->inflight_msgs;
    c->acked += st->acked_msgs;
    c->acked_bytes += st->acked_bytes;
    c->failed += st->failed_msgs;
}

static void producer_stats(kfk_t *k, void *root)
{
    producer *p = k->impl;
    stats_ctx c = {.topics = json_object()};
    if (!c.topics)
        return;
    kfk__accum_stats(p->acc, part_stats, &c);
    json_object_set_new(root, "topics", c.topics);
    json_object_set_new(root, "msg_cnt", json_integer(kfk__accum_pending(p->acc)));
    json_object_set_new(root, "msgq_cnt", json_integer(c.queued));
    json_object_set_new(root, "inflight_cnt", json_integer(c.inflight));
    json_object_set_new(root, "txmsgs", json_integer(c.acked));
    json_object_set_new(root, "txmsg_bytes", json_integer(c.acked_bytes));
    json_object_set_new(root, "failed_msgs", json_integer(c.failed));
}

/* ---- life cycle -------------------------------------------------------------- */

static int serve_reports(kfk_t *k);
static void producer_close(kfk_t *k);
static void producer_free(kfk_t *k);

static const kfk__handle_ops producer_ops = {
    .kind = "producer",
    .serve = serve_reports,
    .stats = producer_stats,
    .close = producer_close,
    .free = producer_free,
};

kfk_t *kfk_producer_new(const kfk_conf_t *conf, char *errstr, size_t errstr_size)
{
    char scratch[4];
    kfk_t *k = kfk__handle_alloc(conf, sizeof(producer), "kfk_producer_new", &errstr,
                                 &errstr_size, scratch, sizeof(scratch));
    if (!k)
        return NULL;
    producer *p = k->impl;
    int e = kfk__handle_init(k, &producer_ops, KFK__CLIENT_PRODUCER, conf, errstr, errstr_size);
    if (!e && kfk__conf_int(k->conf, KFK__CONF_SECURITY_PROTOCOL) != 0) {
        snprintf(errstr, errstr_size, "security.protocol: only PLAINTEXT is implemented so far");
        e = KFK_ERR__INVALID_CONFIG;
    }
    if (!e && kfk__conf_str(k->conf, KFK__CONF_TRANSACTIONAL_ID)) {
        snprintf(errstr, errstr_size, "transactional.id: transactions are not implemented yet");
        e = KFK_ERR__INVALID_CONFIG;
    }
    if (!e) {
        p->dr_cb = (kfk_delivery_cb *)k->conf->cbs.delivery;
        p->dr_opaque = k->conf->cbs.delivery_opaque;
        e = make_accum(k, p);
    }
    if (!e) {
        kfk__client_conf cc;
        kfk__handle_client_conf(k, &cc);
        e = kfk__handle_start(k, &cc, errstr, errstr_size);
    }
    if (!e)
        e = make_sender(k, p);
    if (e) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "%s", kfk_err_str((kfk_err_t)e));
        __atomic_store_n(&p->closed, 1, __ATOMIC_SEQ_CST);
        kfk_destroy(k);
        return NULL;
    }
    KFK__DBG(&k->log, KFK__DEBUG_PRODUCER, "producer %s created for %s", k->name,
             k->bootstrap);
    return k;
}

/* ---- producing ---------------------------------------------------------------- */

/* The topic's accumulator handle, with its partition count from metadata
 * (waiting up to max.block.ms the first time). */
static kfk_err_t topic_handle(kfk_t *k, producer *p, const char *topic,
                              kfk__accum_topic **t)
{
    int e = kfk__accum_topic_get(p->acc, topic, t);
    if (e)
        return (kfk_err_t)e;
    if (kfk__accum_topic_partitions(*t) > 0)
        return KFK_ERR_NONE;
    int32_t n = kfk__client_metadata_wait(k->client, topic,
                                          (int)kfk__conf_int(k->conf, KFK__CONF_MAX_BLOCK_MS));
    if (n == KFK_ERR__TIMED_OUT)
        return KFK_ERR__TIMED_OUT;
    if (n <= 0)
        return (kfk_err_t)(n < 0 ? -n : KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    return (kfk_err_t)kfk__accum_topic_set_partitions(*t, n);
}

kfk_err_t kfk_produce(kfk_t *k, const kfk_record_t *rec, int flags)
{
    producer *p = P(k);
    if (!p || !rec || !rec->topic || !*rec->topic)
        return KFK_ERR__INVALID_ARG;
    if (__atomic_load_n(&p->closed, __ATOMIC_SEQ_CST))
        return KFK_ERR__STATE;
    if (kfk__handle_fatal(k))
        return KFK_ERR__FATAL;
    if (rec->key_len > INT32_MAX || rec->value_len > INT32_MAX || rec->header_count > 100000)
        return KFK_ERR_MESSAGE_TOO_LARGE;
    kfk__accum_topic *t;
    kfk_err_t e = topic_handle(k, p, rec->topic, &t);
    if (e)
        return e;
    kfk__rec_header hs[64];
    kfk__rec_header *h = rec->header_count <= 64 ? hs
                                                  : kfk__malloc(rec->header_count * sizeof(*h));
    if (!h)
        return KFK_ERR__NOMEM;
    for (size_t i = 0; i < rec->header_count; i++) {
        const kfk_header_t *in = &rec->headers[i];
        h[i].key = in->key;
        h[i].key_len = in->key ? (int32_t)strlen(in->key) : -1;
        h[i].value = in->value;
        h[i].value_len = in->value ? (int32_t)in->value_len : -1;
    }
    kfk__accum_rec ar = {
        .key = rec->key,
        .key_len = rec->key ? (int32_t)rec->key_len : -1,
        .value = rec->value,
        .value_len = rec->value ? (int32_t)rec->value_len : -1,
        .headers = h,
        .header_count = rec->header_count,
        .timestamp = rec->timestamp ? rec->timestamp : kfk__wall_ms(),
        .opaque = rec->opaque,
    };
    /* one monotonic read per record: the deadline is only needed once
     * the buffer is full */
    int64_t now = kfk__now_ms(), deadline = -1;
    for (;;) {
        kfk__accum_result res;
        int r = kfk__accum_append(p->acc, t, rec->partition < 0 ? KFK__PARTITION_ANY
                                                                : rec->partition,
                                  &ar, now, &res);
        if (r == 0 && res.wakeup)
            kfk__sender_wakeup(p->sender);
        if (r != KFK_ERR__QUEUE_FULL || (flags & KFK_PRODUCE_NONBLOCK)) {
            e = (kfk_err_t)r;
            break;
        }
        kfk__sender_wakeup(p->sender);
        if (deadline < 0)
            deadline = now + kfk__conf_int(k->conf, KFK__CONF_MAX_BLOCK_MS);
        if ((r = kfk__accum_wait_memory(p->acc, res.need, deadline))) {
            e = r == KFK_ERR__TIMED_OUT ? KFK_ERR__QUEUE_FULL : (kfk_err_t)r;
            break;
        }
        now = kfk__now_ms();
    }
    if (h != hs)
        kfk__free(h);
    return e;
}

/* ---- delivery reports ----------------------------------------------------------- */

typedef struct dr_ctx {
    kfk_t *k;
    producer *p;
} dr_ctx;

static void serve_one(const kfk__dr *dr, void *arg)
{
    dr_ctx *d = arg;
    kfk_delivery_t out = {
        .topic = dr->topic,
        .partition = dr->partition,
        .offset = dr->offset,
        .timestamp = dr->timestamp,
        .err = (kfk_err_t)dr->err,
        .opaque = dr->opaque,
    };
    d->p->dr_cb(d->k, &out, d->p->dr_opaque);
}

/* kfk_poll's hook: every report queued now. */
static int serve_reports(kfk_t *k)
{
    producer *p = k->impl;
    dr_ctx d = {k, p};
    size_t n = kfk__accum_poll(p->acc, 0, p->dr_cb ? serve_one : NULL, &d);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

int64_t kfk_outstanding(kfk_t *k)
{
    producer *p = P(k);
    return p ? kfk__accum_pending(p->acc) : 0;
}

kfk_err_t kfk_flush(kfk_t *k, int timeout_ms)
{
    producer *p = P(k);
    if (!p)
        return KFK_ERR__INVALID_ARG;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2 : kfk__now_ms() + timeout_ms;
    kfk__accum_flush_begin(p->acc);
    kfk__sender_wakeup(p->sender);
    kfk_err_t e = KFK_ERR_NONE;
    while (kfk__accum_pending(p->acc) > 0) {
        int64_t left = deadline - kfk__now_ms();
        if (left <= 0) {
            e = KFK_ERR__TIMED_OUT;
            break;
        }
        kfk_poll(k, left > 100 ? 100 : (int)left);
    }
    kfk__accum_flush_end(p->acc);
    return e;
}

kfk_err_t kfk_purge(kfk_t *k, int flags)
{
    producer *p = P(k);
    if (!p || (flags & ~(KFK_PURGE_QUEUED | KFK_PURGE_INFLIGHT)))
        return KFK_ERR__INVALID_ARG;
    int64_t n = kfk__accum_purge(p->acc, (flags & KFK_PURGE_QUEUED) != 0,
                                 (flags & KFK_PURGE_INFLIGHT) != 0);
    if (n)
        KFK__LOG(&k->log, KFK__LOG_INFO, KFK__DEBUG_PRODUCER, "purged %lld records",
                 (long long)n);
    kfk__sender_wakeup(p->sender); /* an epoch bump may be due */
    return KFK_ERR_NONE;
}

kfk_err_t kfk_close(kfk_t *k, int timeout_ms)
{
    producer *p = P(k);
    if (!p)
        return KFK_ERR__INVALID_ARG;
    if (__atomic_exchange_n(&p->closed, 1, __ATOMIC_SEQ_CST))
        return KFK_ERR__STATE;
    kfk_err_t e = kfk_flush(k, timeout_ms);
    kfk__accum_close(p->acc);
    kfk__accum_purge(p->acc, true, true);
    kfk_poll(k, 0);
    return e;
}

static void producer_close(kfk_t *k)
{
    producer *p = k->impl;
    if (!__atomic_load_n(&p->closed, __ATOMIC_SEQ_CST) && p->sender)
        kfk_close(k, 30000);
    if (p->sender)
        kfk__sender_stop(p->sender);
}

/* After the client core is gone: every request was answered. */
static void producer_free(kfk_t *k)
{
    producer *p = k->impl;
    if (!p)
        return;
    kfk__sender_free(p->sender);
    if (p->acc) {
        kfk__accum_purge(p->acc, true, true);
        serve_reports(k);
    }
    kfk__accum_destroy(p->acc);
    kfk__free(p);
    k->impl = NULL;
}
