/*
 * cbroker.h: the client's view of one broker: a connection that comes and
 * goes, ApiVersions negotiation on every new connection, a queue of
 * requests waiting for it, the requests in flight (matched to responses by
 * correlation id, failed on timeout or disconnect), and reconnect backoff
 * with exponential growth and jitter (KIP-580 style).
 *
 * Everything here runs on the client's I/O thread.
 */
#ifndef KFK_CLIENT_CBROKER_H
#define KFK_CLIENT_CBROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/log.h"
#include "net/conn.h"
#include "net/loop.h"
#include "proto/codec.h"

typedef struct kfk__cbroker kfk__cbroker;
typedef struct kfk__creq kfk__creq;

/* Called once per request: with the decoded response (err 0), or with err
 * set (KFK_ERR__TRANSPORT: the connection failed before the answer;
 * KFK_ERR__TIMED_OUT; KFK_ERR__UNSUPPORTED_VERSION: the broker does not
 * speak the API in a version we know; KFK_ERR__DESTROYED). resp lives in
 * arena and the response bytes until the callback returns. */
typedef void(kfk__creq_cb)(kfk__cbroker *b, int err, int16_t version,
                           void *resp, void *opaque);

/* Builds the request body for the negotiated version (the request is
 * encoded only once the connection is up and the version known). Returns
 * a body struct (allocated in arena) or NULL to fail with INVALID_ARG. */
typedef void *(kfk__creq_build)(int16_t version, kfk__arena *arena,
                                void *opaque);

typedef struct kfk__cbroker_conf {
    const char *client_id;
    const char *software_name;
    const char *software_version;
    int64_t request_timeout_ms;
    int64_t reconnect_backoff_ms;
    int64_t reconnect_backoff_max_ms;
    int64_t connect_timeout_ms;
    size_t max_response_size;
    const kfk__log *log; /* NULL: silent */
} kfk__cbroker_conf;

typedef enum kfk__cbroker_state {
    KFK__CB_DOWN,       /* no connection; reconnects on demand after backoff */
    KFK__CB_CONNECTING, /* TCP connect in progress */
    KFK__CB_VERSIONS,   /* ApiVersions in flight */
    KFK__CB_UP          /* ready for requests */
} kfk__cbroker_state;

/* Observer of state changes (the client uses it for metadata and logs). */
typedef void(kfk__cbroker_state_cb)(kfk__cbroker *b, kfk__cbroker_state st,
                                    int err, const char *why, void *opaque);

/* A broker at host:port with node id (-1 for a bootstrap address). Does not
 * connect until a request needs it. conf is copied (strings referenced:
 * they must outlive the broker). */
kfk__cbroker *kfk__cbroker_new(kfk__loop *loop, int32_t node_id,
                               const char *host, int port,
                               const kfk__cbroker_conf *conf,
                               kfk__cbroker_state_cb *state_cb, void *opaque);

/* Fails every queued and in-flight request with KFK_ERR__DESTROYED and
 * frees the broker. NULL is fine. */
void kfk__cbroker_free(kfk__cbroker *b);

/* Queues a request for api_key; it is sent once the connection is up
 * (if connecting fails first, it fails with KFK_ERR__TRANSPORT),
 * built for the highest version both sides know that lies in
 * [min_ver, max_ver]. The callback runs exactly once, from the loop, never
 * inside this call. Returns 0 or KFK_ERR__NOMEM. */
int kfk__cbroker_request(kfk__cbroker *b, int16_t api_key, int16_t min_ver,
                         int16_t max_ver, kfk__creq_build *build,
                         kfk__creq_cb *cb, void *opaque);

/* The same with its own timeout once sent (JoinGroup and SyncGroup wait
 * at the coordinator for the whole rebalance timeout). */
int kfk__cbroker_request_timeout(kfk__cbroker *b, int16_t api_key, int16_t min_ver,
                                 int16_t max_ver, kfk__creq_build *build,
                                 kfk__creq_cb *cb, void *opaque, int64_t timeout_ms);

/* The same for a request the broker does not answer (Produce with
 * acks=0): the callback runs with err 0 and resp NULL once the request was
 * handed to the socket. */
int kfk__cbroker_request_oneway(kfk__cbroker *b, int16_t api_key,
                                int16_t min_ver, int16_t max_ver,
                                kfk__creq_build *build, kfk__creq_cb *cb,
                                void *opaque);

/* Inside a response callback only: hands the callback the received frame
 * (kfk__free it when done) that the response's bytes and strings point
 * into, so they outlive the callback without a copy (a consumer keeps
 * fetched records this way). NULL outside a response callback. */
uint8_t *kfk__cbroker_take_frame(kfk__cbroker *b);

int32_t kfk__cbroker_id(const kfk__cbroker *b);
const char *kfk__cbroker_name(const kfk__cbroker *b); /* "host:port/id" */
kfk__cbroker_state kfk__cbroker_state_get(const kfk__cbroker *b);
/* Requests queued or in flight. */
int kfk__cbroker_outstanding(const kfk__cbroker *b);
/* The negotiated version range of an API (-1, -1 if unknown/unsupported). */
void kfk__cbroker_api_range(const kfk__cbroker *b, int16_t api_key,
                            int16_t *min_ver, int16_t *max_ver);
/* Counters for statistics. Totals since the broker was created, and the
 * round-trip times of responses since the last kfk__cbroker_stats call
 * that asked to reset them (a window of the last 512 kept for the
 * percentiles). */
typedef struct kfk__cbroker_stats {
    uint64_t tx, tx_bytes, rx, rx_bytes; /* requests and responses */
    uint64_t connects, disconnects, timeouts;
    int64_t rtt_min_us, rtt_max_us, rtt_avg_us, rtt_p50_us, rtt_p99_us;
    uint64_t rtt_cnt;
} kfk__cbroker_stats;
void kfk__cbroker_stats_get(kfk__cbroker *b, kfk__cbroker_stats *out,
                            bool reset_rtt);
/* Updates the address (metadata said it moved); reconnects if it did. */
void kfk__cbroker_set_address(kfk__cbroker *b, const char *host, int port);

#endif
