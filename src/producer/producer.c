/*
 * producer.c: the public producer (kfk/producer.h): a kfk_t ties the
 * client core (I/O thread, brokers, metadata), the accumulator (where
 * kfk_produce copies records) and the sender (which ships batches)
 * together, and serves delivery reports on the application's threads.
 */
#include <kfk/producer.h>

#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "client/conf_int.h"
#include "common/alloc.h"
#include "net/loop.h"
#include "producer/accumulator.h"
#include "producer/sender.h"

struct kfk {
    kfk_conf_t *conf;
    char *bootstrap; /* the list as one string for the client core */
    kfk__client *client;
    kfk__accum *acc;
    kfk__sender *sender;
    kfk_delivery_cb *dr_cb;
    void *app_opaque;
    int closed; /* atomic */
};

kfk_err_t kfk_conf_set_delivery_cb(kfk_conf_t *conf, kfk_delivery_cb *cb, void *app_opaque)
{
    if (!conf)
        return KFK_ERR__INVALID_ARG;
    conf->cbs.delivery = (void (*)(void))cb;
    conf->cbs.opaque = app_opaque;
    return KFK_ERR_NONE;
}

static char *join_bootstrap(const kfk_conf_t *conf)
{
    int n = 0;
    char *const *items = kfk__conf_list(conf, KFK__CONF_BOOTSTRAP_SERVERS, &n);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    char *s = kfk__malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, items[i]);
    }
    return s;
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

static void fill_client_conf(const kfk_t *k, kfk__client_conf *cc)
{
    const kfk_conf_t *c = k->conf;
    memset(cc, 0, sizeof(*cc));
    cc->bootstrap = k->bootstrap;
    cc->broker.client_id = kfk__conf_str(c, KFK__CONF_CLIENT_ID);
    if (!cc->broker.client_id)
        cc->broker.client_id = "kfk";
    cc->broker.software_name = "kfk";
    cc->broker.software_version = KFK_VERSION_STR;
    cc->broker.request_timeout_ms = kfk__conf_int(c, KFK__CONF_REQUEST_TIMEOUT_MS);
    cc->broker.reconnect_backoff_ms = kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MS);
    cc->broker.reconnect_backoff_max_ms = kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MAX_MS);
    cc->broker.connect_timeout_ms =
        kfk__conf_int(c, KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS);
    cc->broker.max_response_size = 100u << 20;
    cc->metadata_max_age_ms = kfk__conf_int(c, KFK__CONF_METADATA_MAX_AGE_MS);
    cc->retry_backoff_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MS);
    cc->retry_backoff_max_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MAX_MS);
}

static int make_accum(kfk_t *k)
{
    const kfk_conf_t *c = k->conf;
    kfk__accum_params p;
    kfk__accum_params_init(&p);
    p.batch_size = (int32_t)kfk__conf_int(c, KFK__CONF_BATCH_SIZE);
    p.linger_ms = kfk__conf_int(c, KFK__CONF_LINGER_MS);
    p.buffer_memory = kfk__conf_int(c, KFK__CONF_BUFFER_MEMORY);
    p.max_request_size = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_REQUEST_SIZE);
    p.codec = (int)kfk__conf_int(c, KFK__CONF_COMPRESSION_TYPE);
    p.level = codec_level(c, p.codec);
    p.idempotence = kfk__conf_int(c, KFK__CONF_ENABLE_IDEMPOTENCE) != 0;
    p.max_inflight = (int32_t)kfk__conf_int(c, KFK__CONF_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
    p.delivery_timeout_ms = kfk__conf_int(c, KFK__CONF_DELIVERY_TIMEOUT_MS);
    p.availability_timeout_ms = kfk__conf_int(c, KFK__CONF_PARTITIONER_AVAILABILITY_TIMEOUT_MS);
    p.partitioner.ignore_keys = kfk__conf_int(c, KFK__CONF_PARTITIONER_IGNORE_KEYS) != 0;
    p.partitioner.adaptive =
        kfk__conf_int(c, KFK__CONF_PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE) != 0;
    /* on_report stays NULL: kfk_poll waits with kfk__accum_wait_reports. */
    return kfk__accum_new(&k->acc, &p);
}

static int make_sender(kfk_t *k)
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
    };
    return kfk__sender_new(k->client, k->acc, &sc, &k->sender);
}

kfk_t *kfk_producer_new(const kfk_conf_t *conf, char *errstr, size_t errstr_size)
{
    char dummy[4];
    if (!errstr) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    errstr[0] = '\0';
    if (!conf) {
        snprintf(errstr, errstr_size, "kfk_producer_new: conf is NULL");
        return NULL;
    }
    kfk_t *k = kfk__calloc(1, sizeof(*k));
    if (!k || !(k->conf = kfk_conf_dup(conf))) {
        snprintf(errstr, errstr_size, "out of memory");
        kfk__free(k);
        return NULL;
    }
    int e = kfk__conf_finalize(k->conf, KFK__CLIENT_PRODUCER, errstr, errstr_size);
    if (!e && kfk__conf_int(k->conf, KFK__CONF_SECURITY_PROTOCOL) != 0) {
        snprintf(errstr, errstr_size, "security.protocol: only PLAINTEXT is implemented so far");
        e = KFK_ERR__INVALID_CONFIG;
    }
    if (!e && kfk__conf_str(k->conf, KFK__CONF_TRANSACTIONAL_ID)) {
        snprintf(errstr, errstr_size, "transactional.id: transactions are not implemented yet");
        e = KFK_ERR__INVALID_CONFIG;
    }
    k->dr_cb = (kfk_delivery_cb *)k->conf->cbs.delivery;
    k->app_opaque = k->conf->cbs.opaque;
    if (!e && !(k->bootstrap = join_bootstrap(k->conf)))
        e = KFK_ERR__NOMEM;
    if (!e)
        e = make_accum(k);
    kfk__client_conf cc;
    fill_client_conf(k, &cc);
    if (!e)
        e = kfk__client_new(&cc, &k->client, errstr, errstr_size);
    if (!e)
        e = make_sender(k);
    if (e) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "%s", kfk_err_str((kfk_err_t)e));
        __atomic_store_n(&k->closed, 1, __ATOMIC_SEQ_CST);
        kfk_destroy(k);
        return NULL;
    }
    return k;
}

/* The topic's accumulator handle, with its partition count from metadata
 * (waiting up to max.block.ms the first time). */
static kfk_err_t topic_handle(kfk_t *k, const char *topic, kfk__accum_topic **t)
{
    int e = kfk__accum_topic_get(k->acc, topic, t);
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
    if (!k || !rec || !rec->topic || !*rec->topic)
        return KFK_ERR__INVALID_ARG;
    if (__atomic_load_n(&k->closed, __ATOMIC_SEQ_CST))
        return KFK_ERR__STATE;
    if (rec->key_len > INT32_MAX || rec->value_len > INT32_MAX || rec->header_count > 100000)
        return KFK_ERR_MESSAGE_TOO_LARGE;
    kfk__accum_topic *t;
    kfk_err_t e = topic_handle(k, rec->topic, &t);
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
    int64_t deadline = kfk__now_ms() + kfk__conf_int(k->conf, KFK__CONF_MAX_BLOCK_MS);
    for (;;) {
        kfk__accum_result res;
        int r = kfk__accum_append(k->acc, t, rec->partition < 0 ? KFK__PARTITION_ANY
                                                                : rec->partition,
                                  &ar, kfk__now_ms(), &res);
        if (r == 0 && res.wakeup)
            kfk__sender_wakeup(k->sender);
        if (r != KFK_ERR__QUEUE_FULL || (flags & KFK_PRODUCE_NONBLOCK)) {
            e = (kfk_err_t)r;
            break;
        }
        kfk__sender_wakeup(k->sender);
        if ((r = kfk__accum_wait_memory(k->acc, res.need, deadline))) {
            e = r == KFK_ERR__TIMED_OUT ? KFK_ERR__QUEUE_FULL : (kfk_err_t)r;
            break;
        }
    }
    if (h != hs)
        kfk__free(h);
    return e;
}

typedef struct dr_ctx {
    kfk_t *k;
    int served;
} dr_ctx;

static void serve_one(const kfk__dr *dr, void *arg)
{
    dr_ctx *d = arg;
    d->served++;
    if (!d->k->dr_cb)
        return;
    kfk_delivery_t out = {
        .topic = dr->topic,
        .partition = dr->partition,
        .offset = dr->offset,
        .timestamp = dr->timestamp,
        .err = (kfk_err_t)dr->err,
        .opaque = dr->opaque,
    };
    d->k->dr_cb(d->k, &out, d->k->app_opaque);
}

int kfk_poll(kfk_t *k, int timeout_ms)
{
    if (!k)
        return 0;
    dr_ctx d = {k, 0};
    if (timeout_ms != 0) {
        int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2 : kfk__now_ms() + timeout_ms;
        kfk__accum_wait_reports(k->acc, deadline);
    }
    kfk__accum_poll(k->acc, 0, serve_one, &d);
    return d.served;
}

int64_t kfk_outstanding(kfk_t *k)
{
    return k ? kfk__accum_pending(k->acc) : 0;
}

kfk_err_t kfk_flush(kfk_t *k, int timeout_ms)
{
    if (!k)
        return KFK_ERR__INVALID_ARG;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2 : kfk__now_ms() + timeout_ms;
    kfk__accum_flush_begin(k->acc);
    kfk__sender_wakeup(k->sender);
    kfk_err_t e = KFK_ERR_NONE;
    while (kfk__accum_pending(k->acc) > 0) {
        int64_t left = deadline - kfk__now_ms();
        if (left <= 0) {
            e = KFK_ERR__TIMED_OUT;
            break;
        }
        kfk_poll(k, left > 100 ? 100 : (int)left);
    }
    kfk__accum_flush_end(k->acc);
    return e;
}

kfk_err_t kfk_close(kfk_t *k, int timeout_ms)
{
    if (!k)
        return KFK_ERR__INVALID_ARG;
    if (__atomic_exchange_n(&k->closed, 1, __ATOMIC_SEQ_CST))
        return KFK_ERR__STATE;
    kfk_err_t e = kfk_flush(k, timeout_ms);
    kfk__accum_close(k->acc);
    kfk__accum_purge(k->acc, true, true);
    kfk_poll(k, 0);
    return e;
}

void kfk_destroy(kfk_t *k)
{
    if (!k)
        return;
    if (!__atomic_load_n(&k->closed, __ATOMIC_SEQ_CST) && k->sender)
        kfk_close(k, 30000);
    if (k->sender)
        kfk__sender_stop(k->sender);
    kfk__client_free(k->client); /* answers what is in flight */
    kfk__sender_free(k->sender);
    if (k->acc) {
        kfk__accum_purge(k->acc, true, true);
        kfk_poll(k, 0);
    }
    kfk__accum_destroy(k->acc);
    kfk__free(k->bootstrap);
    kfk_conf_destroy(k->conf);
    kfk__free(k);
}
