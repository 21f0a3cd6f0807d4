/*
 * client.c: the client core every handle shares (see client.h): the I/O
 * thread, the broker set and metadata refreshes.
 *
 * Refresh policy: at most one Metadata request in flight, sent to a
 * connected broker when there is one (else a bootstrap address, rotating),
 * asking for the topics the handle uses. A refresh is due when someone
 * asks (a new topic, an error), every metadata.max.age.ms, and after a
 * failed refresh once the retry backoff (doubling up to
 * retry.backoff.max.ms) has passed.
 */
#include "client/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "proto/gen/all.h"

#define MAX_BOOTSTRAP 32
#define MAX_NODES 1024

typedef struct op {
    struct op *next;
    void (*fn)(kfk__client *, void *);
    void *arg;
} op;

struct kfk__client {
    kfk__client_conf conf;
    kfk__loop *loop;
    pthread_t thread;
    bool started;

    /* shared with other threads, under mu */
    pthread_mutex_t mu;
    pthread_cond_t md_cond; /* signalled after each metadata update */
    op *ops, *ops_tail;
    bool stopping;
    char **wanted; /* topics the metadata requests ask for */
    int32_t nwanted, capwanted;
    bool refresh_asked;
    bool want_all; /* every topic (regex subscriptions) */
    uint64_t md_gen; /* metadata updates so far */

    /* I/O thread only */
    kfk__cbroker *bootstrap[MAX_BOOTSTRAP];
    int nbootstrap, next_bootstrap;
    kfk__cbroker **nodes; /* by index in nodes_ids */
    int32_t *node_ids;
    int32_t nnodes, capnodes;
    bool md_inflight;
    int md_failures;
    kfk__timer *md_timer;
    kfk__timer *stats_timer;

    kfk__mdcache md;
};

/* ---- metadata refresh ----------------------------------------------------- */

typedef struct md_req {
    kfk__client *c;
    int32_t n;
    char **topics;
    bool all;
} md_req;

static void *build_metadata(int16_t version, kfk__arena *a, void *opaque)
{
    md_req *m = opaque;
    kfk__metadata_request *rq = kfk__arena_alloc(a, sizeof(*rq));
    if (!rq)
        return NULL;
    kfk__msg_init(&kfk__desc_metadata_request, rq);
    (void)version; /* requested from v1: an empty list means brokers only */
    rq->allow_auto_topic_creation = !m->all && !m->c->conf.no_auto_create;
    if (m->all) {
        rq->topics.n = -1; /* null: every topic */
        return rq;
    }
    if (m->n == 0) {
        rq->topics.n = 0;
        return rq;
    }
    rq->topics.v = kfk__struct_array_new(a, &kfk__metadata_request_topic_desc, m->n);
    if (!rq->topics.v)
        return NULL;
    rq->topics.n = m->n;
    for (int32_t i = 0; i < m->n; i++)
        rq->topics.v[i].name = kfk__str_c(m->topics[i]);
    return rq;
}

static void free_md_req(md_req *m)
{
    for (int32_t i = 0; i < m->n; i++)
        kfk__free(m->topics[i]);
    kfk__free(m->topics);
    kfk__free(m);
}

static void schedule_refresh(kfk__client *c, int64_t delay_ms)
{
    kfk__timer_again(c->md_timer, delay_ms);
}

static void sync_nodes(kfk__client *c);

static void on_metadata(kfk__cbroker *b, int err, int16_t version, void *resp, void *opaque)
{
    md_req *m = opaque;
    kfk__client *c = m->c;
    (void)version;
    c->md_inflight = false;
    if (!err && kfk__mdcache_update(&c->md, resp, m->all, kfk__now_ms()) == 0) {
        const kfk__metadata_response *r = resp;
        KFK__DBG(c->conf.broker.log, KFK__DEBUG_METADATA,
                 "metadata from %s: %d brokers, %d topics, controller %d",
                 kfk__cbroker_name(b), (int)r->brokers.n, (int)r->topics.n,
                 (int)r->controller_id);
        c->md_failures = 0;
        sync_nodes(c);
        pthread_mutex_lock(&c->mu);
        c->md_gen++;
        bool asked = c->refresh_asked; /* while this one was in flight */
        pthread_cond_broadcast(&c->md_cond);
        pthread_mutex_unlock(&c->mu);
        schedule_refresh(c, asked ? 0 : c->conf.metadata_max_age_ms);
    } else if (err != KFK_ERR__DESTROYED) {
        KFK__LOG(c->conf.broker.log, c->md_failures ? KFK__LOG_DEBUG : KFK__LOG_WARNING,
                 KFK__DEBUG_METADATA, "metadata request to %s failed: %s",
                 kfk__cbroker_name(b), err ? kfk_err_str((kfk_err_t)err) : "bad response");
        int shift = c->md_failures < 10 ? c->md_failures : 10;
        int64_t backoff = c->conf.retry_backoff_ms << shift;
        if (backoff > c->conf.retry_backoff_max_ms)
            backoff = c->conf.retry_backoff_max_ms;
        c->md_failures++;
        schedule_refresh(c, backoff);
    }
    free_md_req(m);
}

/* A connected node if there is one, else the next bootstrap address. */
static kfk__cbroker *pick_broker(kfk__client *c)
{
    for (int32_t i = 0; i < c->nnodes; i++)
        if (kfk__cbroker_state_get(c->nodes[i]) == KFK__CB_UP)
            return c->nodes[i];
    if (c->nnodes > 0 && c->md_failures % 2 == 0)
        return c->nodes[(uint32_t)c->md_failures / 2 % (uint32_t)c->nnodes];
    kfk__cbroker *b = c->bootstrap[c->next_bootstrap];
    c->next_bootstrap = (c->next_bootstrap + 1) % c->nbootstrap;
    return b;
}

static void refresh_now(kfk__client *c)
{
    if (c->md_inflight)
        return;
    md_req *m = kfk__calloc(1, sizeof(*m));
    if (!m)
        return;
    m->c = c;
    pthread_mutex_lock(&c->mu);
    c->refresh_asked = false;
    m->all = c->want_all;
    m->topics = kfk__calloc((size_t)(c->nwanted ? c->nwanted : 1), sizeof(char *));
    for (int32_t i = 0; m->topics && i < c->nwanted; i++)
        if ((m->topics[m->n] = kfk__strndup(c->wanted[i], strlen(c->wanted[i]))))
            m->n++;
    pthread_mutex_unlock(&c->mu);
    if (!m->topics || kfk__cbroker_request(pick_broker(c), 3, 1, 12, build_metadata,
                                           on_metadata, m)) {
        free_md_req(m);
        schedule_refresh(c, c->conf.retry_backoff_ms);
        return;
    }
    c->md_inflight = true;
}

static void on_md_timer(kfk__timer *t, void *arg)
{
    (void)t;
    refresh_now(arg);
}

/* ---- statistics ------------------------------------------------------------ */

static void on_stats_timer(kfk__timer *t, void *arg)
{
    kfk__client *c = arg;
    c->conf.stats_fn(c, c->conf.stats_arg);
    kfk__timer_again(t, c->conf.stats_interval_ms);
}

static const char *const cb_state_names[] = {"DOWN", "CONNECTING", "VERSIONS", "UP"};

static int add_broker_stats(kfk__cbroker *b, json_t *brokers)
{
    kfk__cbroker_stats st;
    kfk__cbroker_stats_get(b, &st, true);
    json_t *o = json_pack(
        "{s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
        "name", kfk__cbroker_name(b), "nodeid", (int)kfk__cbroker_id(b), "state",
        cb_state_names[kfk__cbroker_state_get(b)], "outstanding",
        kfk__cbroker_outstanding(b), "tx", (json_int_t)st.tx, "txbytes",
        (json_int_t)st.tx_bytes, "rx", (json_int_t)st.rx, "rxbytes",
        (json_int_t)st.rx_bytes, "connects", (json_int_t)st.connects, "disconnects",
        (json_int_t)st.disconnects, "req_timeouts", (json_int_t)st.timeouts, "rtt",
        "min", (json_int_t)st.rtt_min_us, "max", (json_int_t)st.rtt_max_us, "avg",
        (json_int_t)st.rtt_avg_us, "p50", (json_int_t)st.rtt_p50_us, "p99",
        (json_int_t)st.rtt_p99_us, "cnt", (json_int_t)st.rtt_cnt);
    if (!o || json_object_set_new(brokers, kfk__cbroker_name(b), o))
        return KFK_ERR__NOMEM;
    return 0;
}

int kfk__client_stats_brokers(kfk__client *c, void *brokers)
{
    int e = 0;
    for (int i = 0; !e && i < c->nbootstrap; i++)
        e = add_broker_stats(c->bootstrap[i], brokers);
    for (int32_t i = 0; !e && i < c->nnodes; i++)
        e = add_broker_stats(c->nodes[i], brokers);
    return e;
}

/* ---- brokers from metadata -------------------------------------------------- */

static void sync_nodes(kfk__client *c)
{
    kfk__mdcache *md = &c->md;
    pthread_rwlock_rdlock(&md->lock);
    for (int32_t i = 0; i < md->nbrokers; i++) {
        const kfk__md_broker *mb = &md->brokers[i];
        int32_t k;
        for (k = 0; k < c->nnodes; k++)
            if (c->node_ids[k] == mb->id)
                break;
        if (k < c->nnodes) {
            kfk__cbroker_set_address(c->nodes[k], mb->host, mb->port);
            continue;
        }
        if (c->nnodes == c->capnodes) {
            int32_t cap = c->capnodes ? c->capnodes * 2 : 8;
            kfk__cbroker **n = kfk__realloc(c->nodes, (size_t)cap * sizeof(*n));
            if (n)
                c->nodes = n;
            int32_t *ids = kfk__realloc(c->node_ids, (size_t)cap * sizeof(*ids));
            if (ids)
                c->node_ids = ids;
            if (!n || !ids)
                break;
            c->capnodes = cap;
        }
        kfk__cbroker *b = kfk__cbroker_new(c->loop, mb->id, mb->host, mb->port,
                                           &c->conf.broker, NULL, NULL);
        if (!b)
            break;
        c->nodes[c->nnodes] = b;
        c->node_ids[c->nnodes] = mb->id;
        c->nnodes++;
    }
    pthread_rwlock_unlock(&md->lock);
}

kfk__cbroker *kfk__client_broker(kfk__client *c, int32_t node_id)
{
    for (int32_t k = 0; k < c->nnodes; k++)
        if (c->node_ids[k] == node_id)
            return c->nodes[k];
    return NULL;
}

kfk__cbroker *kfk__client_any_broker(kfk__client *c, unsigned rotate)
{
    kfk__mdcache *md = &c->md;
    int32_t ids[64];
    int n = 0;
    pthread_rwlock_rdlock(&md->lock);
    for (int32_t i = 0; i < md->nbrokers && n < 64; i++)
        ids[n++] = md->brokers[i].id;
    pthread_rwlock_unlock(&md->lock);
    for (int i = 0; i < n; i++) {
        kfk__cbroker *b = kfk__client_broker(c, ids[((unsigned)i + rotate) % (unsigned)n]);
        if (b)
            return b;
    }
    return NULL;
}

kfk__loop *kfk__client_loop(kfk__client *c)
{
    return c->loop;
}

kfk__mdcache *kfk__client_metadata(kfk__client *c)
{
    return &c->md;
}

/* ---- the thread and its ops -------------------------------------------------- */

static void run_ops(void *arg)
{
    kfk__client *c = arg;
    pthread_mutex_lock(&c->mu);
    op *list = c->ops;
    c->ops = c->ops_tail = NULL;
    bool refresh = c->refresh_asked;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        op *o = list;
        list = o->next;
        o->fn(c, o->arg);
        kfk__free(o);
    }
    if (refresh)
        refresh_now(c);
}

static void *run(void *arg)
{
    kfk__client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        if (kfk__loop_run_once(c->loop, 1000) < 0)
            break;
    }
    return NULL;
}

int kfk__client_post(kfk__client *c, void (*fn)(kfk__client *, void *), void *arg)
{
    op *o = kfk__malloc(sizeof(*o));
    if (!o)
        return KFK_ERR__NOMEM;
    o->next = NULL;
    o->fn = fn;
    o->arg = arg;
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        kfk__free(o);
        return KFK_ERR__DESTROYED;
    }
    if (c->ops_tail)
        c->ops_tail->next = o;
    else
        c->ops = o;
    c->ops_tail = o;
    pthread_mutex_unlock(&c->mu);
    kfk__loop_wakeup(c->loop);
    return 0;
}

void kfk__client_metadata_refresh(kfk__client *c)
{
    pthread_mutex_lock(&c->mu);
    c->refresh_asked = true;
    pthread_mutex_unlock(&c->mu);
    kfk__loop_wakeup(c->loop);
}

/* Adds topic to the wanted list (under mu). */
static int want(kfk__client *c, const char *topic)
{
    for (int32_t i = 0; i < c->nwanted; i++)
        if (!strcmp(c->wanted[i], topic))
            return 0;
    if (c->nwanted == c->capwanted) {
        int32_t cap = c->capwanted ? c->capwanted * 2 : 8;
        char **w = kfk__realloc(c->wanted, (size_t)cap * sizeof(*w));
        if (!w)
            return KFK_ERR__NOMEM;
        c->wanted = w;
        c->capwanted = cap;
    }
    if (!(c->wanted[c->nwanted] = kfk__strndup(topic, strlen(topic))))
        return KFK_ERR__NOMEM;
    c->nwanted++;
    return 0;
}

void kfk__client_want_all_topics(kfk__client *c)
{
    pthread_mutex_lock(&c->mu);
    bool was = c->want_all;
    c->want_all = true;
    c->refresh_asked = true;
    pthread_mutex_unlock(&c->mu);
    if (!was)
        kfk__loop_wakeup(c->loop);
}

int kfk__client_want_topic(kfk__client *c, const char *topic)
{
    pthread_mutex_lock(&c->mu);
    int32_t before = c->nwanted;
    int e = want(c, topic);
    if (!e && c->nwanted != before) {
        c->refresh_asked = true;
        kfk__loop_wakeup(c->loop);
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

int32_t kfk__client_metadata_wait(kfk__client *c, const char *topic, int timeout_ms)
{
    int32_t n = topic ? kfk__mdcache_partition_count(&c->md, topic) : 0;
    if (n > 0)
        return n;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    if (topic && want(c, topic)) {
        pthread_mutex_unlock(&c->mu);
        return KFK_ERR__NOMEM;
    }
    c->refresh_asked = true;
    kfk__loop_wakeup(c->loop);
    uint64_t seen = c->md_gen;
    for (;;) {
        int rc = pthread_cond_timedwait(&c->md_cond, &c->mu, &until);
        if (topic) {
            n = kfk__mdcache_partition_count(&c->md, topic);
            if (n != 0)
                break;
        } else if (c->md_gen != seen) {
            n = 1;
            break;
        }
        if (rc == ETIMEDOUT) {
            n = KFK_ERR__TIMED_OUT;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- life cycle ------------------------------------------------------------- */

static int parse_bootstrap(kfk__client *c, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        char entry[300];
        if (n == 0 || n >= sizeof(entry)) {
            snprintf(err, errlen, "bootstrap.servers: empty or overlong entry in \"%s\"", list);
            return KFK_ERR__INVALID_CONFIG;
        }
        memcpy(entry, p, n);
        entry[n] = '\0';
        char *colon = strrchr(entry, ':');
        char *tail;
        long port = colon ? strtol(colon + 1, &tail, 10) : -1;
        if (!colon || colon == entry || *tail || port <= 0 || port > 65535) {
            snprintf(err, errlen, "bootstrap.servers: \"%s\" is not host:port", entry);
            return KFK_ERR__INVALID_CONFIG;
        }
        *colon = '\0';
        char *host = entry;
        if (host[0] == '[' && colon[-1] == ']') { /* [v6::addr]:port */
            colon[-1] = '\0';
            host++;
        }
        if (c->nbootstrap == MAX_BOOTSTRAP) {
            snprintf(err, errlen, "bootstrap.servers: more than %d entries", MAX_BOOTSTRAP);
            return KFK_ERR__INVALID_CONFIG;
        }
        c->bootstrap[c->nbootstrap] =
            kfk__cbroker_new(c->loop, -1, host, (int)port, &c->conf.broker, NULL, NULL);
        if (!c->bootstrap[c->nbootstrap])
            return KFK_ERR__NOMEM;
        c->nbootstrap++;
        p = end ? end + 1 : NULL;
    }
    if (!c->nbootstrap) {
        snprintf(err, errlen, "bootstrap.servers is empty");
        return KFK_ERR__INVALID_CONFIG;
    }
    return 0;
}

int kfk__client_new(const kfk__client_conf *conf, kfk__client **out, char *errbuf,
                    size_t errlen)
{
    char dummy[4];
    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    *out = NULL;
    kfk__client *c = kfk__calloc(1, sizeof(*c));
    if (!c)
        return KFK_ERR__NOMEM;
    c->conf = *conf;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->md_cond, NULL);
    int e = kfk__mdcache_init(&c->md);
    if (!e && !(c->loop = kfk__loop_new(run_ops, c)))
        e = KFK_ERR__NOMEM;
    if (!e)
        e = parse_bootstrap(c, conf->bootstrap ? conf->bootstrap : "", errbuf, errlen);
    if (!e && !(c->md_timer = kfk__timer_add(c->loop, 0, on_md_timer, c)))
        e = KFK_ERR__NOMEM;
    if (!e && conf->stats_interval_ms > 0 && conf->stats_fn &&
        !(c->stats_timer = kfk__timer_add(c->loop, conf->stats_interval_ms,
                                          on_stats_timer, c)))
        e = KFK_ERR__NOMEM;
    if (!e) {
        c->next_bootstrap = (int)((uint64_t)kfk__now_us() % (uint64_t)c->nbootstrap);
        if (pthread_create(&c->thread, NULL, run, c))
            e = KFK_ERR__SYSTEM;
        else
            c->started = true;
    }
    if (e) {
        kfk__client_free(c);
        return e;
    }
    *out = c;
    return 0;
}

void kfk__client_free(kfk__client *c)
{
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_mutex_unlock(&c->mu);
        kfk__loop_wakeup(c->loop);
        pthread_join(c->thread, NULL);
    }
    /* The thread is gone: what is left runs here, in order. */
    run_ops(c);
    for (int i = 0; i < c->nbootstrap; i++)
        kfk__cbroker_free(c->bootstrap[i]);
    for (int32_t i = 0; i < c->nnodes; i++)
        kfk__cbroker_free(c->nodes[i]);
    kfk__free(c->nodes);
    kfk__free(c->node_ids);
    kfk__timer_del(c->md_timer);
    kfk__timer_del(c->stats_timer);
    for (int32_t i = 0; i < c->nwanted; i++)
        kfk__free(c->wanted[i]);
    kfk__free(c->wanted);
    kfk__loop_free(c->loop);
    kfk__mdcache_destroy(&c->md);
    pthread_cond_destroy(&c->md_cond);
    pthread_mutex_destroy(&c->mu);
    kfk__free(c);
}
