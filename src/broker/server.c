/*
 * server.c: the reference broker's network side and public API: the I/O
 * thread, one listener per broker, client connections, request decoding
 * and dispatch, responses (with injected latency), and the fault calls of
 * kfk/broker.h.
 *
 * Like Kafka, a connection has at most one request being answered at a
 * time when an answer is delayed (latency, long-poll): reading pauses until
 * that response is queued, which keeps responses in request order.
 */
#include "broker/server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/group.h"
#include "broker/partition.h"
#include "common/alloc.h"
#include "net/conn.h"

#define MAX_REQUEST_SIZE (100 * 1024 * 1024) /* socket.request.max.bytes */

struct kfk__bconn {
    kfk__bconn *next, *prev;
    kfk_cluster_t *c;
    kfk__bbroker *b;
    kfk__conn *conn;
    kfk__breq *inflight; /* requests not yet answered */
    int delayed;         /* responses waiting on a timer or a park */
};

/* ---- API table ----------------------------------------------------------- */

static const kfk__bapi apis[] = {
    {0, 3, 11, kfk__h_produce},
    {1, 4, 16, kfk__h_fetch},
    {2, 1, 9, kfk__h_list_offsets},
    {3, 0, 12, kfk__h_metadata},
    {8, 0, 9, kfk__h_offset_commit},
    {9, 0, 9, kfk__h_offset_fetch},
    {10, 0, 6, kfk__h_find_coordinator},
    {11, 0, 9, kfk__h_join_group},
    {12, 0, 4, kfk__h_heartbeat},
    {13, 0, 5, kfk__h_leave_group},
    {14, 0, 5, kfk__h_sync_group},
    {15, 0, 5, kfk__h_describe_groups},
    {16, 0, 5, kfk__h_list_groups},
    {18, 0, 4, kfk__h_api_versions},
    {19, 0, 7, kfk__h_create_topics},
    {20, 0, 6, kfk__h_delete_topics},
    {21, 0, 2, kfk__h_delete_records},
    {22, 0, 5, kfk__h_init_producer_id},
    {23, 2, 4, kfk__h_offset_for_leader_epoch},
    {32, 0, 4, kfk__h_describe_configs},
    {33, 0, 2, kfk__h_alter_configs},
    {37, 0, 3, kfk__h_create_partitions},
    {42, 0, 2, kfk__h_delete_groups},
    {44, 0, 1, kfk__h_incremental_alter_configs},
    {47, 0, 0, kfk__h_offset_delete},
    {60, 0, 1, kfk__h_describe_cluster},
    {75, 0, 0, kfk__h_describe_topic_partitions},
};

const kfk__bapi *kfk__bapi_list(size_t *n)
{
    *n = sizeof(apis) / sizeof(apis[0]);
    return apis;
}

const kfk__bapi *kfk__bapi_get(int16_t key)
{
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (apis[i].key == key)
            return &apis[i];
    return NULL;
}

/* ---- requests ------------------------------------------------------------ */

void *kfk__breq_alloc(kfk__breq *r, size_t n)
{
    return kfk__arena_alloc(&r->arena, n);
}

char *kfk__breq_strdup(kfk__breq *r, kfk__str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *d = kfk__arena_alloc(&r->arena, n + 1);
    if (d && n)
        memcpy(d, s.ptr, n);
    return d;
}

kfk__bpart *kfk__breq_leader_part(kfk__breq *r, kfk__btopic *t, int32_t partition, int *err)
{
    if (!t || partition < 0 || partition >= t->npart) {
        *err = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    kfk__bpart *p = &t->parts[partition];
    *err = kfk__fault_take(r->c, r->b->id, r->api_key, t->name, (int32_t)strlen(t->name),
                           partition);
    if (!*err && p->leader != r->b->id)
        *err = KFK_ERR_NOT_LEADER_OR_FOLLOWER;
    return *err ? NULL : p;
}

const char *kfk__breq_peer(kfk__breq *r)
{
    return r->bc ? kfk__conn_peer(r->bc->conn) : "";
}

int kfk__breq_i32s(kfk__breq *r, void *arr, const int32_t *vals, int32_t n)
{
    kfk__array a = {NULL, n};
    if (n > 0) {
        a.v = kfk__arena_alloc(&r->arena, (size_t)n * sizeof(int32_t));
        if (!a.v)
            return KFK_ERR__NOMEM;
        memcpy(a.v, vals, (size_t)n * sizeof(int32_t));
    }
    memcpy(arr, &a, sizeof(a));
    return 0;
}

static void breq_free(kfk__breq *r)
{
    kfk__arena_free(&r->arena);
    kfk__free(r->frame);
    kfk__free(r);
}

static void unlink_inflight(kfk__breq *r)
{
    if (!r->bc)
        return;
    for (kfk__breq **pp = &r->bc->inflight; *pp; pp = &(*pp)->next_in_conn)
        if (*pp == r) {
            *pp = r->next_in_conn;
            break;
        }
}

static void conn_close(kfk__bconn *bc)
{
    if (!bc)
        return;
    kfk__bconn **head = &bc->b->conns;
    if (bc->prev)
        bc->prev->next = bc->next;
    else
        *head = bc->next;
    if (bc->next)
        bc->next->prev = bc->prev;
    /* Requests still being answered are orphaned: answered into the void. */
    for (kfk__breq *r = bc->inflight; r; r = r->next_in_conn)
        r->bc = NULL;
    kfk__conn_free(bc->conn);
    kfk__free(bc);
}

/* A response held back by injected latency; its connection is the
 * request's (r->bc, NULL once closed). */
typedef struct delayed_send {
    uint8_t *buf;
    size_t len;
} delayed_send;

static void send_now(kfk__bconn *bc, uint8_t *buf, size_t len)
{
    if (!bc || !buf) {
        kfk__free(buf);
        return;
    }
    kfk__conn_send(bc->conn, buf, len);
}

static void delayed_unlink(kfk__breq *r)
{
    if (r->prev_delayed)
        r->prev_delayed->next_delayed = r->next_delayed;
    else
        r->c->delayed = r->next_delayed;
    if (r->next_delayed)
        r->next_delayed->prev_delayed = r->prev_delayed;
    r->next_delayed = r->prev_delayed = NULL;
}

static void on_delay(kfk__timer *t, void *arg)
{
    kfk__breq *r = arg;
    kfk__timer_del(t);
    r->timer = NULL;
    delayed_unlink(r);
    kfk__bconn *bc = r->bc;
    delayed_send *d = r->park;
    send_now(bc, d->buf, d->len);
    if (bc) {
        unlink_inflight(r);
        if (--bc->delayed == 0)
            kfk__conn_pause_read(bc->conn, bc->b->paused);
    }
    breq_free(r);
}

void kfk__breq_respond(kfk__breq *r)
{
    kfk__bconn *bc = r->bc;
    bool was_parked = r->parked;
    r->parked = false;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!r->no_response && bc) {
        kfk__wbuf w;
        kfk__wbuf_init(&w, 0);
        kfk__codec_err err;
        int e = kfk__encode_response(&w, r->api_key, r->version, r->correlation_id,
                                     r->resp, &err);
        if (e) {
            /* Say so at once rather than leave the client waiting for its
             * timeout: Kafka closes the connection too. */
            kfk__blog(r->c, 3, "broker %d: cannot encode %s v%d response: %s at %s; "
                      "closing the connection", (int)r->b->id,
                      kfk__api_get(r->api_key)->name, r->version, kfk_err_name(e), err.path);
            kfk__wbuf_free(&w);
            unlink_inflight(r);
            if (was_parked)
                bc->delayed--;
            breq_free(r);
            conn_close(bc);
            return;
        } else {
            buf = kfk__wbuf_take(&w, &len);
        }
    }
    int latency = r->b->latency_ms;
    if (buf && latency > 0) {
        delayed_send *d = kfk__arena_alloc(&r->arena, sizeof(*d));
        if (d) {
            d->buf = buf;
            d->len = len;
            r->park = d;
            r->timer = kfk__timer_add(r->c->loop, latency, on_delay, r);
            if (r->timer) {
                r->prev_delayed = NULL;
                r->next_delayed = r->c->delayed;
                if (r->c->delayed)
                    r->c->delayed->prev_delayed = r;
                r->c->delayed = r;
                if (!was_parked) {
                    bc->delayed++;
                    kfk__conn_pause_read(bc->conn, true);
                }
                return;
            }
        }
    }
    send_now(bc, buf, len);
    if (bc) {
        unlink_inflight(r);
        if (was_parked && --bc->delayed == 0)
            kfk__conn_pause_read(bc->conn, bc->b->paused);
    }
    breq_free(r);
}

/* The answer to an ApiVersions request of a version we do not know: v0
 * with UNSUPPORTED_VERSION and our list, so the client can retry. */
static void answer_unsupported_api_versions(kfk__breq *r)
{
    r->version = 0;
    kfk__api_versions_response *resp = r->resp;
    kfk__h_api_versions(r);
    resp->error_code = KFK_ERR_UNSUPPORTED_VERSION;
}

static void handle(kfk__bconn *bc, uint8_t *frame, size_t len)
{
    kfk_cluster_t *c = bc->c;
    kfk__breq *r = kfk__calloc(1, sizeof(*r));
    if (!r) {
        kfk__free(frame);
        return;
    }
    r->c = c;
    r->b = bc->b;
    r->bc = bc;
    r->frame = frame;
    kfk__arena_init(&r->arena, 0);
    kfk__request_header *hdr;
    kfk__codec_err err;
    int e = kfk__decode_request(frame, len, &r->arena, &hdr, &r->body, &err);
    if (!hdr) {
        kfk__blog(c, 4, "broker %d: closing %s: undecodable request header (%s)",
                  (int)bc->b->id, kfk__conn_peer(bc->conn), kfk_err_name(e));
        breq_free(r);
        conn_close(bc);
        return;
    }
    r->api_key = hdr->request_api_key;
    r->version = hdr->request_api_version;
    r->correlation_id = hdr->correlation_id;
    snprintf(r->client_id, sizeof(r->client_id), "%.*s",
             hdr->client_id.len > 0 ? (int)hdr->client_id.len : 0,
             hdr->client_id.ptr ? hdr->client_id.ptr : "");
    const kfk__bapi *api = kfk__bapi_get(r->api_key);
    bool ver_ok = api && r->version >= api->min_ver && r->version <= api->max_ver;
    kfk__blog(c, 7, "broker %d: %s request %d v%d corr %d from %s (%s)", (int)bc->b->id,
              kfk__api_get(r->api_key) ? kfk__api_get(r->api_key)->name : "unknown",
              (int)r->api_key, (int)r->version, (int)r->correlation_id, r->client_id,
              kfk__conn_peer(bc->conn));
    if (r->api_key == 18 && (e == KFK_ERR__UNSUPPORTED_VERSION || !ver_ok)) {
        const kfk__api_desc *d = kfk__api_get(18);
        r->resp = kfk__arena_alloc(&r->arena, d->response->body->size);
        if (!r->resp) {
            breq_free(r);
            return;
        }
        kfk__msg_init(d->response, r->resp);
        r->next_in_conn = bc->inflight;
        bc->inflight = r;
        answer_unsupported_api_versions(r);
        kfk__breq_respond(r);
        return;
    }
    if (e || !ver_ok) {
        kfk__blog(c, 4, "broker %d: closing %s: %s v%d request: %s%s%s", (int)bc->b->id,
                  kfk__conn_peer(bc->conn),
                  kfk__api_get(r->api_key) ? kfk__api_get(r->api_key)->name : "unknown API",
                  (int)r->version, e ? kfk_err_str(e) : "version not supported",
                  e && err.path[0] ? " at " : "", e ? err.path : "");
        breq_free(r);
        conn_close(bc);
        return;
    }
    if (bc->b->drop_after >= 0 && bc->b->drop_after-- == 0) {
        kfk__blog(c, 5, "broker %d: fault: dropping connection %s", (int)bc->b->id,
                  kfk__conn_peer(bc->conn));
        bc->b->drop_after = -1;
        breq_free(r);
        conn_close(bc);
        return;
    }
    const kfk__msg_desc *rd = kfk__api_get(r->api_key)->response;
    r->resp = kfk__arena_alloc(&r->arena, rd->body->size);
    if (!r->resp) {
        breq_free(r);
        return;
    }
    kfk__msg_init(rd, r->resp);
    r->next_in_conn = bc->inflight;
    bc->inflight = r;
    e = api->handler(r);
    if (e) {
        kfk__blog(c, 4, "broker %d: closing %s after a bad %s request: %s", (int)bc->b->id,
                  kfk__conn_peer(bc->conn), kfk__api_get(r->api_key)->name, kfk_err_str(e));
        unlink_inflight(r);
        breq_free(r);
        conn_close(bc);
        return;
    }
    if (r->parked) {
        bc->delayed++;
        kfk__conn_pause_read(bc->conn, true);
        return;
    }
    kfk__breq_respond(r);
}

static void on_frame(kfk__conn *conn, uint8_t *frame, size_t len, void *arg)
{
    (void)conn;
    handle(arg, frame, len);
}

static void on_close(kfk__conn *conn, int err, const char *msg, void *arg)
{
    kfk__bconn *bc = arg;
    (void)conn;
    kfk__blog(bc->c, err == KFK_ERR__TRANSPORT ? 7 : 4, "broker %d: connection %s closed: %s",
              (int)bc->b->id, kfk__conn_peer(bc->conn), msg);
    conn_close(bc);
}

static const kfk__conn_cbs conn_cbs = {
    .on_frame = on_frame,
    .on_close = on_close,
};

static void on_accept(kfk__listener *l, int fd, void *arg)
{
    kfk__bbroker *b = arg;
    kfk_cluster_t *c = b->c;
    (void)l;
    kfk__bconn *bc = kfk__calloc(1, sizeof(*bc));
    if (!bc) {
        close(fd);
        return;
    }
    bc->c = c;
    bc->b = b;
    bc->conn = kfk__conn_accept(c->loop, fd, MAX_REQUEST_SIZE, &conn_cbs, bc);
    if (!bc->conn) {
        kfk__free(bc);
        return;
    }
    bc->next = b->conns;
    if (b->conns)
        b->conns->prev = bc;
    b->conns = bc;
    if (b->paused)
        kfk__conn_pause_read(bc->conn, true);
    kfk__blog(c, 7, "broker %d: accepted %s", (int)b->id, kfk__conn_peer(bc->conn));
}

/* ---- lifecycle ------------------------------------------------------------ */

static void lock_fn(void *arg)
{
    pthread_mutex_lock(&((kfk_cluster_t *)arg)->lock);
}

static void unlock_fn(void *arg)
{
    pthread_mutex_unlock(&((kfk_cluster_t *)arg)->lock);
}

#define MAINTAIN_MS 250

/* Retention and compaction for every partition, a few times a second. */
static void on_maintain(kfk__timer *t, void *arg)
{
    kfk_cluster_t *c = arg;
    int64_t now = kfk__wall_ms();
    for (int32_t i = 0; i < c->ntopics; i++)
        for (int32_t p = 0; p < c->topics[i]->npart; p++)
            kfk__partition_maintain(&c->topics[i]->parts[p], now);
    kfk__timer_again(t, MAINTAIN_MS);
}

static void *run(void *arg)
{
    kfk_cluster_t *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping)
        if (kfk__loop_run_once(c->loop, 1000) < 0)
            break;
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int broker_listen(kfk_cluster_t *c, kfk__bbroker *b, char *err, size_t errlen)
{
    b->listener = kfk__listen(c->loop, b->host, b->port, on_accept, b, err, errlen);
    if (!b->listener)
        return -1;
    b->port = kfk__listener_port(b->listener);
    b->up = true;
    return 0;
}

static void broker_close_all(kfk__bbroker *b)
{
    while (b->conns)
        conn_close(b->conns);
    kfk__listener_free(b->listener);
    b->listener = NULL;
}

/* ---- public API -------------------------------------------------------------- */

static int set_prop(kfk_cluster_t *c, const char *kv, char *host, size_t hostlen,
                    int *port, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq) {
        snprintf(err, errlen, "property \"%s\" is not key=value", kv);
        return -1;
    }
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    const char *v = eq + 1;
    char *end;
    long n = strtol(v, &end, 10);
    bool is_num = *v && !*end;
    int gc;
    if (!strcmp(key, "brokers")) {
        if (!is_num || n < 1 || n > 64)
            goto bad;
        c->nbrokers = (int32_t)n;
    } else if (!strcmp(key, "listen")) {
        const char *colon = strrchr(v, ':');
        if (!colon)
            goto bad;
        snprintf(host, hostlen, "%.*s", (int)(colon - v), v);
        n = strtol(colon + 1, &end, 10);
        if (*end || n < 0 || n > 65535)
            goto bad;
        *port = (int)n;
    } else if (!strcmp(key, "data.dir")) {
        kfk__free(c->data_dir);
        c->data_dir = kfk__strndup(v, strlen(v));
    } else if (!strcmp(key, "num.partitions")) {
        if (!is_num || n < 1 || n > 100000)
            goto bad;
        c->num_partitions = (int32_t)n;
    } else if (!strcmp(key, "default.replication.factor")) {
        if (!is_num || n < 1)
            goto bad;
        c->default_rf = (int32_t)n;
    } else if (!strcmp(key, "auto.create.topics.enable")) {
        if (strcmp(v, "true") && strcmp(v, "false"))
            goto bad;
        c->auto_create = !strcmp(v, "true");
    } else if (!strcmp(key, "log.level")) {
        if (!is_num || n < 0 || n > 7)
            goto bad;
        c->log_level = (int)n;
    } else if ((gc = kfk__group_conf_set(c, key, v)) <= 0) {
        if (gc < 0)
            goto bad;
    } else {
        char e2[200];
        if (kfk__tconf_set(&c->defaults, key, v, e2, sizeof(e2))) {
            snprintf(err, errlen, "unknown or invalid broker property \"%s\": %s", kv, e2);
            return -1;
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "invalid value for broker property \"%s\"", kv);
    return -1;
}

static void set_defaults(kfk_cluster_t *c)
{
    c->nbrokers = 1;
    c->num_partitions = 1;
    c->default_rf = -1;
    c->auto_create = true;
    c->log_level = 4;
    c->defaults.retention_ms = 7 * 24 * 3600 * 1000LL;
    c->defaults.retention_bytes = -1;
    c->defaults.segment_bytes = 1LL << 30;
    c->defaults.delete_retention_ms = 24 * 3600 * 1000LL;
    c->defaults.max_message_bytes = 1048588;
    c->defaults.delete_ = true;
    c->next_producer_id = 1000;
    kfk__group_conf_defaults(c);
}

kfk_cluster_t *kfk_cluster_new(const char *const *props, char *errstr, size_t errstr_size)
{
    char dummy[8];
    if (!errstr) {
        errstr = dummy;
        errstr_size = sizeof(dummy);
    }
    errstr[0] = '\0';
    kfk_cluster_t *c = kfk__calloc(1, sizeof(*c));
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    set_defaults(c);
    pthread_mutex_init(&c->lock, NULL);
    char host[64] = "127.0.0.1";
    int port = 0;
    for (size_t i = 0; props && props[i]; i++)
        if (set_prop(c, props[i], host, sizeof(host), &port, errstr, errstr_size))
            goto fail;
    if (c->default_rf < 0)
        c->default_rf = c->nbrokers < 3 ? c->nbrokers : 3;
    if (c->default_rf > c->nbrokers) {
        snprintf(errstr, errstr_size, "default.replication.factor %d exceeds brokers=%d",
                 (int)c->default_rf, (int)c->nbrokers);
        goto fail;
    }
    c->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c;
    if (!c->rng)
        c->rng = 88172645463325252ULL;
    for (int i = 0; i < 22; i++) {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        c->cluster_id[i] = b64[kfk__cluster_rand(c) % 64];
    }
    c->brokers = kfk__calloc((size_t)c->nbrokers, sizeof(kfk__bbroker));
    c->loop = kfk__loop_new(NULL, NULL);
    if (!c->brokers || !c->loop) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    kfk__loop_set_lock(c->loop, lock_fn, unlock_fn, c);
    c->controller_id = 1;
    size_t bslen = 0;
    c->bootstrap = kfk__calloc((size_t)c->nbrokers, 80);
    for (int32_t i = 0; i < c->nbrokers; i++) {
        kfk__bbroker *b = &c->brokers[i];
        b->c = c;
        b->id = i + 1;
        b->drop_after = -1;
        snprintf(b->rack, sizeof(b->rack), "rack%d", (int)(i % 3));
        snprintf(b->host, sizeof(b->host), "%s", host);
        b->port = port ? port + i : 0;
        if (broker_listen(c, b, errstr, errstr_size))
            goto fail;
        if (c->bootstrap)
            bslen += (size_t)snprintf(c->bootstrap + bslen, 80, "%s%s:%d", i ? "," : "",
                                      b->host, b->port);
    }
    if (!c->bootstrap)
        goto fail;
    if (kfk__cluster_load(c, errstr, errstr_size))
        goto fail;
    if (kfk__groups_init(c, errstr, errstr_size))
        goto fail;
    c->maintain = kfk__timer_add(c->loop, MAINTAIN_MS, on_maintain, c);
    if (!c->maintain) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, run, c)) {
        snprintf(errstr, errstr_size, "cannot start the broker thread");
        goto fail;
    }
    c->thread_started = true;
    return c;
fail:
    kfk_cluster_destroy(c);
    return NULL;
}

void kfk_cluster_destroy(kfk_cluster_t *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_mutex_unlock(&c->lock);
        kfk__loop_wakeup(c->loop);
        pthread_join(c->thread, NULL);
    }
    kfk__fetch_flush(c, NULL);
    kfk__fetch_sessions_free(c);
    kfk__timer_del(c->maintain);
    while (c->delayed) { /* answers still waiting out injected latency */
        kfk__breq *r = c->delayed;
        delayed_unlink(r);
        kfk__timer_del(r->timer);
        r->timer = NULL;
        kfk__free(((delayed_send *)r->park)->buf);
        if (r->bc)
            unlink_inflight(r);
        breq_free(r);
    }
    for (int32_t i = 0; c->brokers && i < c->nbrokers; i++)
        broker_close_all(&c->brokers[i]);
    kfk__groups_free(c);
    while (c->ntopics > 0)
        kfk__cluster_delete_topic(c, c->topics[c->ntopics - 1], false);
    kfk__free(c->topics);
    while (c->faults) {
        kfk__fault *f = c->faults;
        c->faults = f->next;
        kfk__free(f->topic);
        kfk__free(f);
    }
    kfk__loop_free(c->loop);
    kfk__free(c->brokers);
    kfk__free(c->bootstrap);
    kfk__free(c->data_dir);
    pthread_mutex_destroy(&c->lock);
    kfk__free(c);
}

const char *kfk_cluster_bootstrap(kfk_cluster_t *c)
{
    return c->bootstrap;
}

int kfk_cluster_broker_count(kfk_cluster_t *c)
{
    return c->nbrokers;
}

kfk_err_t kfk_cluster_create_topic(kfk_cluster_t *c, const char *topic, int partitions,
                                   int replication_factor)
{
    char err[256];
    if (!topic)
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    int e = kfk__cluster_create_topic(c, topic, (int32_t)strlen(topic), partitions,
                                      replication_factor <= 0 ? -1 : replication_factor,
                                      NULL, 0, false, err, sizeof(err));
    pthread_mutex_unlock(&c->lock);
    return (kfk_err_t)e;
}

int kfk_cluster_leader(kfk_cluster_t *c, const char *topic, int partition)
{
    pthread_mutex_lock(&c->lock);
    kfk__bpart *p = topic ? kfk__cluster_part(c, topic, (int32_t)strlen(topic), partition) : NULL;
    int leader = p ? p->leader : -1;
    pthread_mutex_unlock(&c->lock);
    return leader;
}

kfk_err_t kfk_cluster_offsets(kfk_cluster_t *c, const char *topic, int partition,
                              int64_t *log_start, int64_t *log_end)
{
    pthread_mutex_lock(&c->lock);
    kfk__bpart *p = topic ? kfk__cluster_part(c, topic, (int32_t)strlen(topic), partition) : NULL;
    if (p) {
        if (log_start)
            *log_start = kfk__partition_log_start(p);
        if (log_end)
            *log_end = kfk__partition_log_end(p);
    }
    pthread_mutex_unlock(&c->lock);
    return p ? KFK_ERR_NONE : KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

kfk_err_t kfk_cluster_inject_error(kfk_cluster_t *c, int broker_id, int api_key,
                                   const char *topic, int partition, kfk_err_t err,
                                   int count)
{
    if (count <= 0 || (broker_id != -1 && (broker_id < 1 || broker_id > c->nbrokers)))
        return KFK_ERR__INVALID_ARG;
    kfk__fault *f = kfk__calloc(1, sizeof(*f));
    if (!f)
        return KFK_ERR__NOMEM;
    f->broker_id = broker_id;
    f->api_key = api_key;
    f->partition = partition;
    f->err = err;
    f->count = count;
    if (topic && !(f->topic = kfk__strndup(topic, strlen(topic)))) {
        kfk__free(f);
        return KFK_ERR__NOMEM;
    }
    pthread_mutex_lock(&c->lock);
    kfk__fault **pf = &c->faults; /* keep injection order */
    while (*pf)
        pf = &(*pf)->next;
    *pf = f;
    pthread_mutex_unlock(&c->lock);
    return KFK_ERR_NONE;
}

/* Runs fn on broker_id (or all brokers for -1) under the lock. */
static kfk_err_t for_brokers(kfk_cluster_t *c, int broker_id,
                             void (*fn)(kfk_cluster_t *, kfk__bbroker *, int), int arg)
{
    if (broker_id != -1 && (broker_id < 1 || broker_id > c->nbrokers))
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    for (int32_t i = 0; i < c->nbrokers; i++)
        if (broker_id == -1 || broker_id == c->brokers[i].id)
            fn(c, &c->brokers[i], arg);
    pthread_mutex_unlock(&c->lock);
    kfk__loop_wakeup(c->loop);
    return KFK_ERR_NONE;
}

static void do_latency(kfk_cluster_t *c, kfk__bbroker *b, int ms)
{
    (void)c;
    b->latency_ms = ms;
}

kfk_err_t kfk_cluster_set_latency(kfk_cluster_t *c, int broker_id, int latency_ms)
{
    if (latency_ms < 0)
        return KFK_ERR__INVALID_ARG;
    return for_brokers(c, broker_id, do_latency, latency_ms);
}

static void do_drop(kfk_cluster_t *c, kfk__bbroker *b, int n)
{
    (void)c;
    b->drop_after = n;
}

kfk_err_t kfk_cluster_drop_after(kfk_cluster_t *c, int broker_id, int requests)
{
    if (requests < 0)
        return KFK_ERR__INVALID_ARG;
    return for_brokers(c, broker_id, do_drop, requests);
}

static void do_pause(kfk_cluster_t *c, kfk__bbroker *b, int paused)
{
    (void)c;
    b->paused = paused != 0;
    for (kfk__bconn *bc = b->conns; bc; bc = bc->next)
        if (!bc->delayed)
            kfk__conn_pause_read(bc->conn, b->paused);
}

kfk_err_t kfk_cluster_broker_pause(kfk_cluster_t *c, int broker_id, int paused)
{
    return for_brokers(c, broker_id, do_pause, paused);
}

static void do_stop(kfk_cluster_t *c, kfk__bbroker *b, int unused)
{
    (void)unused;
    if (!b->up)
        return;
    kfk__fetch_flush(c, b);
    broker_close_all(b);
    b->up = false;
    kfk__cluster_reassign(c);
    kfk__groups_broker_stopped(c);
    kfk__fetch_wakeup(c);
    kfk__blog(c, 5, "broker %d stopped", (int)b->id);
}

kfk_err_t kfk_cluster_broker_stop(kfk_cluster_t *c, int broker_id)
{
    if (broker_id < 1 || broker_id > c->nbrokers)
        return KFK_ERR__INVALID_ARG;
    return for_brokers(c, broker_id, do_stop, 0);
}

static void do_start(kfk_cluster_t *c, kfk__bbroker *b, int unused)
{
    char err[256];
    (void)unused;
    if (b->up)
        return;
    if (broker_listen(c, b, err, sizeof(err))) {
        kfk__blog(c, 3, "broker %d cannot restart: %s", (int)b->id, err);
        return;
    }
    kfk__cluster_reassign(c);
    kfk__blog(c, 5, "broker %d started", (int)b->id);
}

kfk_err_t kfk_cluster_broker_start(kfk_cluster_t *c, int broker_id)
{
    if (broker_id < 1 || broker_id > c->nbrokers)
        return KFK_ERR__INVALID_ARG;
    kfk_err_t e = for_brokers(c, broker_id, do_start, 0);
    if (e)
        return e;
    pthread_mutex_lock(&c->lock);
    bool up = c->brokers[broker_id - 1].up;
    pthread_mutex_unlock(&c->lock);
    return up ? KFK_ERR_NONE : KFK_ERR__TRANSPORT;
}

kfk_err_t kfk_cluster_move_leader(kfk_cluster_t *c, const char *topic, int partition,
                                  int broker_id)
{
    kfk_err_t e = KFK_ERR_NONE;
    if (!topic)
        return KFK_ERR__INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    kfk__bpart *p = kfk__cluster_part(c, topic, (int32_t)strlen(topic), partition);
    kfk__bbroker *b = kfk__cluster_broker(c, broker_id);
    bool replica = false;
    for (int32_t i = 0; p && i < p->nisr; i++)
        replica |= p->isr[i] == broker_id;
    if (!p)
        e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    else if (!b || !b->up || !replica)
        e = KFK_ERR_NOT_LEADER_OR_FOLLOWER; /* not a running in-sync replica */
    else if (p->leader != broker_id) {
        p->leader = broker_id;
        p->leader_epoch++;
        kfk__partition_leader_changed(p);
        kfk__fetch_wakeup(c);
    }
    pthread_mutex_unlock(&c->lock);
    kfk__loop_wakeup(c->loop);
    return e;
}

kfk_err_t kfk_cluster_move_coordinator(kfk_cluster_t *c, const char *group, int broker_id)
{
    if (!group || !*group || broker_id < 1 || broker_id > c->nbrokers)
        return KFK_ERR__INVALID_ARG;
    kfk_err_t e = KFK_ERR_NONE;
    pthread_mutex_lock(&c->lock);
    kfk__group *g = kfk__group_find(c, group, (int32_t)strlen(group), true);
    if (!g)
        e = KFK_ERR__NOMEM;
    else if (!c->brokers[broker_id - 1].up)
        e = KFK_ERR_COORDINATOR_NOT_AVAILABLE;
    else {
        g->pinned = true;
        kfk__group_move(c, g, broker_id);
    }
    pthread_mutex_unlock(&c->lock);
    kfk__loop_wakeup(c->loop);
    return e;
}

void kfk_cluster_clear_faults(kfk_cluster_t *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->faults) {
        kfk__fault *f = c->faults;
        c->faults = f->next;
        kfk__free(f->topic);
        kfk__free(f);
    }
    for (int32_t i = 0; i < c->nbrokers; i++) {
        c->brokers[i].latency_ms = 0;
        c->brokers[i].drop_after = -1;
        do_pause(c, &c->brokers[i], 0);
    }
    pthread_mutex_unlock(&c->lock);
    kfk__loop_wakeup(c->loop);
}
