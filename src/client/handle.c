/*
 * handle.c: the part of struct kfk every kind of client shares (see
 * handle.h), and the public calls that act on any handle: the log,
 * statistics and error callbacks, kfk_name, kfk_fatal_error, kfk_poll and
 * kfk_destroy.
 */
#include "client/handle.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "net/loop.h"

/* ---- callbacks on the conf ------------------------------------------------ */

#define SET_CB(conf, field, cb, opaque)                                        \
    do {                                                                       \
        if (!(conf))                                                           \
            return KFK_ERR__INVALID_ARG;                                       \
        (conf)->cbs.field = (void (*)(void))(cb);                              \
        (conf)->cbs.field##_opaque = (opaque);                                 \
        return KFK_ERR_NONE;                                                   \
    } while (0)

kfk_err_t kfk_conf_set_log_cb(kfk_conf_t *conf, kfk_log_cb *cb, void *opaque)
{
    SET_CB(conf, log, cb, opaque);
}

kfk_err_t kfk_conf_set_stats_cb(kfk_conf_t *conf, kfk_stats_cb *cb, void *opaque)
{
    SET_CB(conf, stats, cb, opaque);
}

kfk_err_t kfk_conf_set_error_cb(kfk_conf_t *conf, kfk_error_cb *cb, void *opaque)
{
    SET_CB(conf, error, cb, opaque);
}

/* ---- naming and configuration ------------------------------------------- */

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

static unsigned next_seq(void)
{
    static unsigned seq;
    return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

kfk_t *kfk__handle_alloc(const kfk_conf_t *conf, size_t impl_size, const char *fn,
                         char **errstr, size_t *errstr_size, char *scratch,
                         size_t scratch_size)
{
    if (!*errstr) {
        *errstr = scratch;
        *errstr_size = scratch_size;
    }
    (*errstr)[0] = '\0';
    if (!conf) {
        snprintf(*errstr, *errstr_size, "%s: conf is NULL", fn);
        return NULL;
    }
    kfk_t *k = kfk__calloc(1, sizeof(*k));
    void *impl = kfk__calloc(1, impl_size);
    if (!k || !impl) {
        snprintf(*errstr, *errstr_size, "out of memory");
        kfk__free(k);
        kfk__free(impl);
        return NULL;
    }
    k->impl = impl;
    return k;
}

int kfk__handle_init(kfk_t *k, const kfk__handle_ops *ops, int client_kind,
                     const kfk_conf_t *conf, char *errstr, size_t errstr_size)
{
    k->ops = ops;
    k->created_ms = kfk__now_ms();
    pthread_mutex_init(&k->fatal_mu, NULL);
    if (!(k->conf = kfk_conf_dup(conf))) {
        snprintf(errstr, errstr_size, "out of memory");
        return KFK_ERR__NOMEM;
    }
    int e = kfk__conf_finalize(k->conf, client_kind, errstr, errstr_size);
    if (e)
        return e;
    const char *id = kfk__conf_str(k->conf, KFK__CONF_CLIENT_ID);
    if (id && *id)
        snprintf(k->name, sizeof(k->name), "%s", id);
    else
        snprintf(k->name, sizeof(k->name), "%s-%u", ops->kind, next_seq());
    if ((e = kfk__evq_init(&k->evq, 0))) {
        snprintf(errstr, errstr_size, "cannot create the event queue");
        return e;
    }
    k->evq_ready = true;
    k->log.level = (int)kfk__conf_int(k->conf, KFK__CONF_LOG_LEVEL);
    k->log.debug = (uint32_t)kfk__conf_int(k->conf, KFK__CONF_DEBUG);
    k->log.q = k->conf->cbs.log ? &k->evq : NULL;
    k->log.name = k->name;
    if (!(k->bootstrap = join_bootstrap(k->conf))) {
        snprintf(errstr, errstr_size, "out of memory");
        return KFK_ERR__NOMEM;
    }
    return 0;
}

static void stats_tick(kfk__client *c, void *arg);

static bool client_kind_is_consumer(const kfk_t *k)
{
    return !strcmp(k->ops->kind, "consumer");
}

void kfk__handle_client_conf(kfk_t *k, kfk__client_conf *cc)
{
    const kfk_conf_t *c = k->conf;
    memset(cc, 0, sizeof(*cc));
    cc->bootstrap = k->bootstrap;
    cc->broker.client_id = k->name;
    cc->broker.software_name = "kfk";
    cc->broker.software_version = KFK_VERSION_STR;
    cc->broker.request_timeout_ms = kfk__conf_int(c, KFK__CONF_REQUEST_TIMEOUT_MS);
    cc->broker.reconnect_backoff_ms = kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MS);
    cc->broker.reconnect_backoff_max_ms = kfk__conf_int(c, KFK__CONF_RECONNECT_BACKOFF_MAX_MS);
    cc->broker.connect_timeout_ms =
        kfk__conf_int(c, KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS);
    cc->broker.max_response_size = 100u << 20;
    cc->broker.log = &k->log;
    cc->metadata_max_age_ms = kfk__conf_int(c, KFK__CONF_METADATA_MAX_AGE_MS);
    cc->retry_backoff_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MS);
    cc->retry_backoff_max_ms = kfk__conf_int(c, KFK__CONF_RETRY_BACKOFF_MAX_MS);
    /* allow.auto.create.topics is the consumer's to set; a producer's
     * metadata requests create topics, as Java's do */
    cc->no_auto_create = client_kind_is_consumer(k) &&
                         !kfk__conf_int(c, KFK__CONF_ALLOW_AUTO_CREATE_TOPICS);
    if (k->conf->cbs.stats) {
        cc->stats_interval_ms = kfk__conf_int(c, KFK__CONF_STATISTICS_INTERVAL_MS);
        cc->stats_fn = stats_tick;
        cc->stats_arg = k;
    }
}

int kfk__handle_start(kfk_t *k, const kfk__client_conf *cc, char *errstr,
                      size_t errstr_size)
{
    return kfk__client_new(cc, &k->client, errstr, errstr_size);
}

void kfk__handle_free(kfk_t *k)
{
    if (k->evq_ready)
        kfk__evq_destroy(&k->evq);
    pthread_mutex_destroy(&k->fatal_mu);
    kfk__free(k->bootstrap);
    kfk_conf_destroy(k->conf);
    kfk__free(k);
}

const char *kfk_name(const kfk_t *k)
{
    return k ? k->name : "";
}

/* ---- fatal errors ----------------------------------------------------------- */

void kfk__handle_set_fatal(kfk_t *k, kfk_err_t err, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&k->fatal_mu);
    bool first = k->fatal == KFK_ERR_NONE;
    if (first) {
        snprintf(k->fatal_reason, sizeof(k->fatal_reason), "%s: %s", kfk_err_name(err), why);
        __atomic_store_n(&k->fatal, err, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&k->fatal_mu);
    if (!first)
        return;
    KFK__LOG(&k->log, KFK__LOG_ERR, KFK__DEBUG_GENERIC, "fatal error: %s", k->fatal_reason);
    if (k->conf->cbs.error)
        kfk__evq_push(&k->evq, KFK__EV_ERROR, 0, 0, KFK_ERR__FATAL, k->fatal_reason,
                      strlen(k->fatal_reason));
}

kfk_err_t kfk_fatal_error(kfk_t *k, char *errstr, size_t errstr_size)
{
    if (!k)
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&k->fatal_mu);
    kfk_err_t e = k->fatal;
    if (e && errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s", k->fatal_reason);
    pthread_mutex_unlock(&k->fatal_mu);
    return e;
}

/* ---- statistics ------------------------------------------------------------ */

/* The I/O thread, every statistics.interval.ms: the common fields, the
 * brokers, and what the kind adds; queued for kfk_poll as one line. */
static void stats_tick(kfk__client *c, void *arg)
{
    kfk_t *k = arg;
    json_t *brokers = json_object();
    json_t *root = json_pack("{s:s, s:s, s:I, s:I, s:I}", "name", k->name, "type",
                             k->ops->kind, "ts", (json_int_t)kfk__now_ms(), "time",
                             (json_int_t)(kfk__wall_ms() / 1000), "age_ms",
                             (json_int_t)(kfk__now_ms() - k->created_ms));
    if (!root || !brokers || kfk__client_stats_brokers(c, brokers) ||
        json_object_set(root, "brokers", brokers))
        goto done;
    if (k->ops->stats)
        k->ops->stats(k, root);
    char *text = json_dumps(root, JSON_COMPACT);
    if (text) {
        kfk__evq_push(&k->evq, KFK__EV_STATS, 0, 0, 0, text, strlen(text));
        free(text); /* jansson's allocator */
    }
done:
    json_decref(brokers);
    json_decref(root);
}

/* ---- poll ------------------------------------------------------------------- */

static void serve_log(kfk_t *k, int level, uint32_t ctx, const char *text)
{
    ((kfk_log_cb *)k->conf->cbs.log)(k, level, ctx ? kfk__log_ctx_name(ctx) : "", text,
                                     k->conf->cbs.log_opaque);
}

static int serve_events(kfk_t *k)
{
    uint64_t dropped;
    kfk__event *e = kfk__evq_take(&k->evq, &dropped), *next;
    int n = 0;
    if (dropped && k->conf->cbs.log) {
        char line[100];
        snprintf(line, sizeof(line), "%llu log lines dropped: no kfk_poll in time",
                 (unsigned long long)dropped);
        serve_log(k, KFK__LOG_WARNING, KFK__DEBUG_GENERIC, line);
        n++;
    }
    for (; e; e = next) {
        next = e->next;
        switch (e->type) {
        case KFK__EV_LOG:
            if (k->conf->cbs.log)
                serve_log(k, e->level, e->ctx, e->text);
            break;
        case KFK__EV_STATS:
            if (k->conf->cbs.stats)
                ((kfk_stats_cb *)k->conf->cbs.stats)(k, e->text, e->len,
                                                     k->conf->cbs.stats_opaque);
            break;
        case KFK__EV_ERROR:
            if (k->conf->cbs.error)
                ((kfk_error_cb *)k->conf->cbs.error)(k, (kfk_err_t)e->err, e->text,
                                                     k->conf->cbs.error_opaque);
            break;
        }
        n++;
        kfk__free(e);
    }
    return n;
}

int kfk_poll(kfk_t *k, int timeout_ms)
{
    if (!k)
        return 0;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : kfk__now_ms() + timeout_ms;
    for (;;) {
        uint64_t gen = kfk__evq_gen(&k->evq);
        int n = serve_events(k);
        if (k->ops->serve)
            n += k->ops->serve(k);
        if (n || timeout_ms == 0 || kfk__now_ms() >= deadline)
            return n;
        kfk__evq_wait(&k->evq, gen, deadline);
    }
}

void kfk_destroy(kfk_t *k)
{
    if (!k)
        return;
    if (k->ops->close)
        k->ops->close(k);
    kfk__client_free(k->client); /* answers what is in flight */
    k->client = NULL;
    if (k->ops->free)
        k->ops->free(k);
    if (k->evq_ready && k->conf)
        serve_events(k);
    kfk__handle_free(k);
}
