/*
 * cbroker.c: one broker as the client sees it (see cbroker.h).
 *
 * States: DOWN -> CONNECTING -> VERSIONS -> UP, and back to DOWN on any
 * failure, with the next connect attempt after an exponential backoff with
 * +-20% jitter (reconnect.backoff.ms doubling up to .max.ms). Requests are
 * built only when they are sent, for the version negotiated on that very
 * connection, so a reconnect to an upgraded broker just works. Responses
 * arrive in request order (Kafka guarantees it per connection), but are
 * matched by correlation id anyway; a mismatch means the stream is broken
 * and the connection is dropped.
 */
#include "client/cbroker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "proto/gen/all.h"

#define MAX_API 128
#define TICK_MS 100
#define RTT_WINDOW 512

struct kfk__creq {
    kfk__creq *next;
    int16_t api_key, min_ver, max_ver, version;
    int32_t corr;
    bool oneway; /* no response comes (Produce with acks=0) */
    int64_t deadline_us;
    int64_t sent_us;
    int64_t timeout_ms; /* 0: request.timeout.ms */
    kfk__creq_build *build;
    kfk__creq_cb *cb;
    void *opaque;
};

typedef struct creq_list {
    kfk__creq *head, *tail;
    int n;
} creq_list;

struct kfk__cbroker {
    kfk__loop *loop;
    int32_t id;
    char host[256];
    int port;
    char name[300];
    kfk__cbroker_conf conf;
    kfk__cbroker_state st;
    kfk__conn *conn;
    creq_list queue;    /* waiting for the connection */
    creq_list inflight; /* sent, in order */
    int32_t next_corr;
    int32_t versions_corr;
    int16_t versions_ver; /* ApiVersions version to try next */
    int16_t api_min[MAX_API], api_max[MAX_API];
    int failures;
    int64_t next_connect_us;
    int64_t connect_deadline_us;
    kfk__timer *tick;
    kfk__timer *kick; /* pending 0 ms timer that sends new requests */
    uint64_t rng;
    kfk__cbroker_state_cb *state_cb;
    void *opaque;
    kfk__cbroker_stats st_tot; /* rtt fields unused: see rtt[] */
    int64_t rtt[RTT_WINDOW];
    uint64_t nrtt; /* samples since the window's reset */
    int64_t rtt_min, rtt_max, rtt_sum;
    uint8_t *cur_frame; /* the response being delivered (take_frame) */
    /* the size of the last request of each API: the next one's buffer is
     * made that big at once instead of growing by doubling (a 1 MB
     * Produce would be copied ten times over) */
    size_t size_hint[MAX_API];
};

#define LG(b) ((b)->conf.log)

static const char *api_name(int16_t key)
{
    const kfk__api_desc *d = kfk__api_get(key);
    return d ? d->name : "?";
}

static void push(creq_list *l, kfk__creq *r)
{
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static kfk__creq *pop(creq_list *l)
{
    kfk__creq *r = l->head;
    if (r) {
        l->head = r->next;
        if (!l->head)
            l->tail = NULL;
        l->n--;
    }
    return r;
}

static void complete(kfk__cbroker *b, kfk__creq *r, int err, void *resp)
{
    r->cb(b, err, r->version, resp, r->opaque);
    kfk__free(r);
}

static void fail_list(kfk__cbroker *b, creq_list *l, int err)
{
    kfk__creq *r;
    while ((r = pop(l)))
        complete(b, r, err, NULL);
}

static const char *const state_names[] = {"DOWN", "CONNECTING", "VERSIONS", "UP"};

static void set_state(kfk__cbroker *b, kfk__cbroker_state st, int err, const char *why)
{
    KFK__DBG(LG(b), KFK__DEBUG_BROKER, "%s: %s -> %s: %s%s%s", b->name,
             state_names[b->st], state_names[st], why, err ? ": " : "",
             err ? kfk_err_str((kfk_err_t)err) : "");
    b->st = st;
    if (b->state_cb)
        b->state_cb(b, st, err, why, b->opaque);
}

/* Drops the connection: in-flight requests fail (the first with err, as
 * it is the one that timed out or broke), and so do queued ones, with
 * TRANSPORT: like Kafka's clients, a request goes only to a ready node, and
 * its owner retries elsewhere or later. The next connection comes after
 * the backoff. */
static void disconnect(kfk__cbroker *b, int err, const char *why)
{
    if (b->st == KFK__CB_UP)
        KFK__LOG(LG(b), KFK__LOG_INFO, KFK__DEBUG_BROKER, "%s: disconnected: %s (%s)",
                 b->name, why, kfk_err_str((kfk_err_t)err));
    else if (b->failures == 0) /* the first failure in a row; then debug */
        KFK__LOG(LG(b), KFK__LOG_WARNING, KFK__DEBUG_BROKER,
                 "%s: connection failed: %s (%s)", b->name, why,
                 kfk_err_str((kfk_err_t)err));
    if (err == KFK_ERR__TIMED_OUT)
        b->st_tot.timeouts++;
    if (b->conn)
        b->st_tot.disconnects++;
    kfk__conn_free(b->conn);
    b->conn = NULL;
    b->failures++;
    int shift = b->failures < 20 ? b->failures - 1 : 19;
    int64_t backoff = b->conf.reconnect_backoff_ms << shift;
    if (backoff > b->conf.reconnect_backoff_max_ms || backoff <= 0)
        backoff = b->conf.reconnect_backoff_max_ms;
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    double jitter = 0.8 + 0.4 * (double)(b->rng % 1000001) / 1e6;
    b->next_connect_us = kfk__now_us() + (int64_t)((double)backoff * jitter * 1000);
    kfk__creq *first = pop(&b->inflight);
    if (first)
        complete(b, first, err, NULL);
    fail_list(b, &b->inflight, KFK_ERR__TRANSPORT);
    fail_list(b, &b->queue, KFK_ERR__TRANSPORT);
    set_state(b, KFK__CB_DOWN, err, why);
}

/* ---- sending ---------------------------------------------------------- */

static int send_frame(kfk__cbroker *b, kfk__wbuf *w)
{
    size_t len;
    uint8_t *buf = kfk__wbuf_take(w, &len);
    if (!buf)
        return KFK_ERR__NOMEM;
    b->st_tot.tx++;
    b->st_tot.tx_bytes += len;
    return kfk__conn_send(b->conn, buf, len);
}

static void send_versions(kfk__cbroker *b)
{
    kfk__api_versions_request rq;
    kfk__wbuf w;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    rq.client_software_name = kfk__str_c(b->conf.software_name);
    rq.client_software_version = kfk__str_c(b->conf.software_version);
    kfk__wbuf_init(&w, 0);
    b->versions_corr = b->next_corr++;
    int e = kfk__encode_request(&w, 18, b->versions_ver, b->versions_corr,
                                b->conf.client_id, &rq, NULL);
    if (!e)
        e = send_frame(b, &w);
    kfk__wbuf_free(&w);
    if (e)
        disconnect(b, e, "cannot send ApiVersions");
}

/* Picks the version for r on this connection; -1 if none fits. */
static int16_t pick_version(const kfk__cbroker *b, const kfk__creq *r)
{
    if (r->api_key < 0 || r->api_key >= MAX_API || b->api_max[r->api_key] < 0)
        return -1;
    int16_t v = r->max_ver < b->api_max[r->api_key] ? r->max_ver : b->api_max[r->api_key];
    int16_t lo = r->min_ver > b->api_min[r->api_key] ? r->min_ver : b->api_min[r->api_key];
    return v >= lo ? v : -1;
}

static void send_one(kfk__cbroker *b, kfk__creq *r)
{
    r->version = pick_version(b, r);
    if (r->version < 0) {
        complete(b, r, KFK_ERR__UNSUPPORTED_VERSION, NULL);
        return;
    }
    kfk__arena a;
    kfk__wbuf w;
    kfk__arena_init(&a, 0);
    kfk__wbuf_init(&w, 0);
    void *body = r->build(r->version, &a, r->opaque);
    r->corr = b->next_corr++;
    if (body && r->api_key >= 0 && r->api_key < MAX_API && b->size_hint[r->api_key])
        kfk__wbuf_reserve(&w, b->size_hint[r->api_key] + b->size_hint[r->api_key] / 8);
    int e = body ? kfk__encode_request(&w, r->api_key, r->version, r->corr,
                                       b->conf.client_id, body, NULL)
                 : KFK_ERR__INVALID_ARG;
    kfk__arena_free(&a);
    if (!e && r->api_key >= 0 && r->api_key < MAX_API)
        b->size_hint[r->api_key] = w.len;
    if (!e)
        e = send_frame(b, &w);
    kfk__wbuf_free(&w);
    if (e) {
        complete(b, r, e, NULL);
        return;
    }
    KFK__DBG(LG(b), KFK__DEBUG_PROTOCOL, "%s: sent %s v%d corr %d", b->name,
             api_name(r->api_key), (int)r->version, (int)r->corr);
    if (r->oneway) {
        complete(b, r, 0, NULL); /* written to the socket: that is all */
        return;
    }
    r->sent_us = kfk__now_us();
    r->deadline_us = r->sent_us + (r->timeout_ms ? r->timeout_ms : b->conf.request_timeout_ms) * 1000;
    push(&b->inflight, r);
}

static void send_queued(kfk__cbroker *b)
{
    kfk__creq *r;
    while (b->st == KFK__CB_UP && (r = pop(&b->queue)))
        send_one(b, r);
}

/* ---- receiving --------------------------------------------------------- */

static void on_versions(kfk__cbroker *b, const uint8_t *frame, size_t len)
{
    kfk__arena a;
    kfk__arena_init(&a, 0);
    int32_t corr;
    void *resp;
    int e = kfk__decode_response(18, b->versions_ver, frame, len, &a, &corr, &resp, NULL);
    /* A broker that does not know our version answers v0 with
     * UNSUPPORTED_VERSION and its own list: retry with what it knows. */
    if (e && b->versions_ver > 0) {
        kfk__arena_free(&a);
        e = kfk__decode_response(18, 0, frame, len, &a, &corr, &resp, NULL);
    }
    kfk__api_versions_response *r = resp;
    if (e || corr != b->versions_corr) {
        kfk__arena_free(&a);
        disconnect(b, KFK_ERR__MALFORMED, "bad ApiVersions response");
        return;
    }
    if (r->error_code == KFK_ERR_UNSUPPORTED_VERSION) {
        int16_t theirs = 0;
        for (int32_t i = 0; i < r->api_keys.n; i++)
            if (r->api_keys.v[i].api_key == 18)
                theirs = r->api_keys.v[i].max_version;
        kfk__arena_free(&a);
        if (theirs >= b->versions_ver) {
            disconnect(b, KFK_ERR__UNSUPPORTED_VERSION, "ApiVersions negotiation failed");
            return;
        }
        b->versions_ver = theirs;
        send_versions(b);
        return;
    }
    if (r->error_code) {
        kfk__arena_free(&a);
        disconnect(b, r->error_code, "ApiVersions failed");
        return;
    }
    for (int i = 0; i < MAX_API; i++)
        b->api_min[i] = b->api_max[i] = -1;
    for (int32_t i = 0; i < r->api_keys.n; i++) {
        int16_t k = r->api_keys.v[i].api_key;
        const kfk__api_desc *d = kfk__api_get(k);
        if (!d || k < 0 || k >= MAX_API)
            continue;
        int16_t lo = r->api_keys.v[i].min_version > d->request->min_ver
                         ? r->api_keys.v[i].min_version
                         : d->request->min_ver;
        int16_t hi = r->api_keys.v[i].max_version < d->request->max_ver
                         ? r->api_keys.v[i].max_version
                         : d->request->max_ver;
        if (lo <= hi) {
            b->api_min[k] = lo;
            b->api_max[k] = hi;
        }
    }
    kfk__arena_free(&a);
    b->failures = 0;
    set_state(b, KFK__CB_UP, 0, "connected");
    send_queued(b);
}

static void record_rtt(kfk__cbroker *b, int64_t us, size_t len)
{
    b->st_tot.rx++;
    b->st_tot.rx_bytes += len + 4;
    b->rtt[b->nrtt % RTT_WINDOW] = us;
    if (b->nrtt == 0 || us < b->rtt_min)
        b->rtt_min = us;
    if (b->nrtt == 0 || us > b->rtt_max)
        b->rtt_max = us;
    b->rtt_sum += us;
    b->nrtt++;
}

static void on_frame(kfk__conn *conn, uint8_t *frame, size_t len, void *arg)
{
    kfk__cbroker *b = arg;
    (void)conn;
    if (b->st == KFK__CB_VERSIONS) {
        on_versions(b, frame, len);
        kfk__free(frame);
        return;
    }
    kfk__creq *r = b->inflight.head;
    if (len < 4 || !r || (int32_t)kfk__load_be32(frame) != r->corr) {
        kfk__free(frame);
        disconnect(b, KFK_ERR__MALFORMED, "response out of order");
        return;
    }
    pop(&b->inflight);
    record_rtt(b, kfk__now_us() - r->sent_us, len);
    KFK__DBG(LG(b), KFK__DEBUG_PROTOCOL, "%s: received %s v%d corr %d (%zu bytes)",
             b->name, api_name(r->api_key), (int)r->version, (int)r->corr, len);
    kfk__arena a;
    kfk__arena_init(&a, 0);
    int32_t corr;
    void *resp;
    kfk__codec_err err;
    int e = kfk__decode_response(r->api_key, r->version, frame, len, &a, &corr, &resp, &err);
    b->cur_frame = frame;
    complete(b, r, e, e ? NULL : resp);
    kfk__arena_free(&a);
    kfk__free(b->cur_frame); /* NULL if the callback took it */
    b->cur_frame = NULL;
}

static void on_connect(kfk__conn *conn, void *arg)
{
    kfk__cbroker *b = arg;
    (void)conn;
    b->st_tot.connects++;
    set_state(b, KFK__CB_VERSIONS, 0, "negotiating versions");
    send_versions(b);
}

static void on_close(kfk__conn *conn, int err, const char *msg, void *arg)
{
    (void)conn;
    disconnect(arg, err, msg);
}

static const kfk__conn_cbs conn_cbs = {
    .on_frame = on_frame,
    .on_connect = on_connect,
    .on_close = on_close,
};

/* ---- the tick: connects, timeouts ---------------------------------------- */

static void try_connect(kfk__cbroker *b, int64_t now)
{
    if (b->st != KFK__CB_DOWN || !b->queue.n || now < b->next_connect_us)
        return;
    b->conn = kfk__conn_connect(b->loop, b->host, b->port, b->conf.max_response_size,
                                &conn_cbs, b);
    if (!b->conn) {
        disconnect(b, KFK_ERR__NOMEM, "out of memory");
        return;
    }
    b->versions_ver = kfk__desc_api_versions_request.max_ver;
    b->connect_deadline_us = now + b->conf.connect_timeout_ms * 1000;
    set_state(b, KFK__CB_CONNECTING, 0, "connecting");
}

/* Queued requests wait at most request.timeout.ms for a connection. */
static void expire_queued(kfk__cbroker *b, int64_t now)
{
    creq_list keep = {0};
    kfk__creq *r;
    while ((r = pop(&b->queue))) {
        if (now >= r->deadline_us)
            complete(b, r, KFK_ERR__TIMED_OUT, NULL);
        else
            push(&keep, r);
    }
    b->queue = keep;
}

static void on_tick(kfk__timer *t, void *arg)
{
    kfk__cbroker *b = arg;
    int64_t now = kfk__now_us();
    if ((b->st == KFK__CB_CONNECTING || b->st == KFK__CB_VERSIONS) &&
        now >= b->connect_deadline_us)
        disconnect(b, KFK_ERR__TIMED_OUT, "connection setup timed out");
    else if (b->st == KFK__CB_UP && b->inflight.head && now >= b->inflight.head->deadline_us)
        disconnect(b, KFK_ERR__TIMED_OUT, "request timed out");
    expire_queued(b, now);
    try_connect(b, now);
    kfk__timer_again(t, TICK_MS);
}

/* ---- public --------------------------------------------------------------- */

kfk__cbroker *kfk__cbroker_new(kfk__loop *loop, int32_t node_id, const char *host,
                               int port, const kfk__cbroker_conf *conf,
                               kfk__cbroker_state_cb *state_cb, void *opaque)
{
    kfk__cbroker *b = kfk__calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->loop = loop;
    b->id = node_id;
    b->conf = *conf;
    b->state_cb = state_cb;
    b->opaque = opaque;
    b->next_corr = 1;
    b->rng = (uint64_t)kfk__now_us() * 0x9E3779B97F4A7C15ULL | 1;
    kfk__cbroker_set_address(b, host, port);
    b->tick = kfk__timer_add(loop, TICK_MS, on_tick, b);
    if (!b->tick) {
        kfk__free(b);
        return NULL;
    }
    return b;
}

void kfk__cbroker_free(kfk__cbroker *b)
{
    if (!b)
        return;
    kfk__timer_del(b->tick);
    kfk__timer_del(b->kick);
    kfk__conn_free(b->conn);
    b->conn = NULL;
    fail_list(b, &b->inflight, KFK_ERR__DESTROYED);
    fail_list(b, &b->queue, KFK_ERR__DESTROYED);
    kfk__free(b);
}

/* Requests are never sent inside kfk__cbroker_request: the next tick (or a
 * 0 ms kick) does it, so callbacks never run inside the call. */
static void on_kick(kfk__timer *t, void *arg)
{
    kfk__cbroker *b = arg;
    kfk__timer_del(t);
    b->kick = NULL;
    if (b->st == KFK__CB_UP)
        send_queued(b);
    else
        try_connect(b, kfk__now_us());
}

static int enqueue(kfk__cbroker *b, int16_t api_key, int16_t min_ver, int16_t max_ver,
                   kfk__creq_build *build, kfk__creq_cb *cb, void *opaque, bool oneway,
                   int64_t timeout_ms)
{
    kfk__creq *r = kfk__calloc(1, sizeof(*r));
    if (!r)
        return KFK_ERR__NOMEM;
    r->api_key = api_key;
    r->min_ver = min_ver;
    r->max_ver = max_ver;
    r->build = build;
    r->cb = cb;
    r->opaque = opaque;
    r->oneway = oneway;
    r->timeout_ms = timeout_ms;
    r->deadline_us = kfk__now_us() + b->conf.request_timeout_ms * 1000;
    push(&b->queue, r);
    if (!b->kick) /* on failure the next tick picks it up */
        b->kick = kfk__timer_add(b->loop, 0, on_kick, b);
    return 0;
}

int kfk__cbroker_request(kfk__cbroker *b, int16_t api_key, int16_t min_ver, int16_t max_ver,
                         kfk__creq_build *build, kfk__creq_cb *cb, void *opaque)
{
    return enqueue(b, api_key, min_ver, max_ver, build, cb, opaque, false, 0);
}

int kfk__cbroker_request_timeout(kfk__cbroker *b, int16_t api_key, int16_t min_ver,
                                 int16_t max_ver, kfk__creq_build *build, kfk__creq_cb *cb,
                                 void *opaque, int64_t timeout_ms)
{
    return enqueue(b, api_key, min_ver, max_ver, build, cb, opaque, false, timeout_ms);
}

int kfk__cbroker_request_oneway(kfk__cbroker *b, int16_t api_key, int16_t min_ver,
                                int16_t max_ver, kfk__creq_build *build, kfk__creq_cb *cb,
                                void *opaque)
{
    return enqueue(b, api_key, min_ver, max_ver, build, cb, opaque, true, 0);
}

uint8_t *kfk__cbroker_take_frame(kfk__cbroker *b)
{
    uint8_t *f = b->cur_frame;
    b->cur_frame = NULL;
    return f;
}

int32_t kfk__cbroker_id(const kfk__cbroker *b)
{
    return b->id;
}

const char *kfk__cbroker_name(const kfk__cbroker *b)
{
    return b->name;
}

kfk__cbroker_state kfk__cbroker_state_get(const kfk__cbroker *b)
{
    return b->st;
}

int kfk__cbroker_outstanding(const kfk__cbroker *b)
{
    return b->queue.n + b->inflight.n;
}

void kfk__cbroker_api_range(const kfk__cbroker *b, int16_t api_key, int16_t *min_ver,
                            int16_t *max_ver)
{
    bool known = b->st == KFK__CB_UP && api_key >= 0 && api_key < MAX_API;
    *min_ver = known ? b->api_min[api_key] : -1;
    *max_ver = known ? b->api_max[api_key] : -1;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

void kfk__cbroker_stats_get(kfk__cbroker *b, kfk__cbroker_stats *out, bool reset_rtt)
{
    *out = b->st_tot;
    size_t n = b->nrtt < RTT_WINDOW ? (size_t)b->nrtt : RTT_WINDOW;
    out->rtt_cnt = b->nrtt;
    if (n) {
        int64_t sorted[RTT_WINDOW];
        memcpy(sorted, b->rtt, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_i64);
        out->rtt_min_us = b->rtt_min;
        out->rtt_max_us = b->rtt_max;
        out->rtt_avg_us = b->rtt_sum / (int64_t)b->nrtt;
        out->rtt_p50_us = sorted[n / 2];
        out->rtt_p99_us = sorted[n * 99 / 100];
    }
    if (reset_rtt) {
        b->nrtt = 0;
        b->rtt_sum = 0;
    }
}

void kfk__cbroker_set_address(kfk__cbroker *b, const char *host, int port)
{
    bool moved = strcmp(b->host, host) || b->port != port;
    snprintf(b->host, sizeof(b->host), "%s", host);
    b->port = port;
    snprintf(b->name, sizeof(b->name), "%s:%d/%d", host, port, (int)b->id);
    if (moved && b->st != KFK__CB_DOWN) {
        b->failures = 0;
        disconnect(b, KFK_ERR__TRANSPORT, "broker address changed");
        b->next_connect_us = 0;
    }
}
