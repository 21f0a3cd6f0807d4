/*
 * server.h: what the reference broker's request handlers see of the
 * server: one request in flight (kfk__breq), its decoded body, the response
 * struct to fill, and how to answer later (long-polling fetches).
 */
#ifndef KFK_BROKER_SERVER_H
#define KFK_BROKER_SERVER_H

#include "broker/cluster.h"
#include "proto/gen/all.h"

typedef struct kfk__breq kfk__breq;

struct kfk__breq {
    kfk_cluster_t *c;
    kfk__bbroker *b;
    kfk__bconn *bc; /* NULL once the connection closed */
    kfk__breq *next_in_conn;
    int16_t api_key;
    int16_t version;
    int32_t correlation_id;
    char client_id[64];
    void *body;     /* the decoded request */
    void *resp;     /* the response to fill, initialised to defaults */
    kfk__arena arena; /* body, resp and anything handlers allocate */
    uint8_t *frame;   /* the request bytes body points into */
    bool no_response; /* Produce with acks=0 */
    bool parked;      /* the handler answers later with kfk__breq_respond */
    /* handler scratch for parked requests */
    void *park;
    kfk__timer *timer;
    kfk__breq *next_parked;
    /* while a response waits out injected latency: the cluster's list */
    kfk__breq *next_delayed, *prev_delayed;
};

/* A handler fills r->resp (already initialised with the response's
 * defaults) from r->body. It returns 0, or a kfk_err_t to close the
 * connection without answering (a request it cannot make sense of). It may
 * instead set r->parked and answer later with kfk__breq_respond. */
typedef int(kfk__bhandler)(kfk__breq *r);

/* Encodes r->resp and sends it (after the broker's injected latency), then
 * frees r. For parked requests. */
void kfk__breq_respond(kfk__breq *r);

/* Allocates n zeroed bytes that live as long as the request. */
void *kfk__breq_alloc(kfk__breq *r, size_t n);

/* A NUL-terminated copy of s in the request's arena ("" for null). */
char *kfk__breq_strdup(kfk__breq *r, kfk__str s);

/* Sets a response array field to n default-initialised elements of the
 * generated struct type T (T##_desc is its descriptor). */
#define KFK__ARR(r, arr, T, count)                                             \
    ((arr).n = (count),                                                        \
     (arr).v = (T *)kfk__struct_array_new(&(r)->arena, &T##_desc, (count)))

/* The partition a leader-only request names, after the checks they all
 * make: it exists (else UNKNOWN_TOPIC_OR_PARTITION), no fault is injected
 * for it (else that error), and this broker leads it (else
 * NOT_LEADER_OR_FOLLOWER). NULL with *err set when a check fails. */
kfk__bpart *kfk__breq_leader_part(kfk__breq *r, kfk__btopic *t, int32_t partition,
                                  int *err);

/* The client's address ("host:port"; "" once the connection closed). */
const char *kfk__breq_peer(kfk__breq *r);

/* Sets an int32 array field from n values. */
int kfk__breq_i32s(kfk__breq *r, void *arr, const int32_t *vals, int32_t n);

/* A string view of a NUL-terminated string that outlives the response. */
static inline kfk__str kfk__s(const char *s)
{
    return kfk__str_c(s);
}

/* The handlers, grouped by area (handlers_*.c). */
kfk__bhandler kfk__h_api_versions;
kfk__bhandler kfk__h_metadata;
kfk__bhandler kfk__h_describe_cluster;
kfk__bhandler kfk__h_describe_topic_partitions;
kfk__bhandler kfk__h_create_topics;
kfk__bhandler kfk__h_delete_topics;
kfk__bhandler kfk__h_create_partitions;
kfk__bhandler kfk__h_describe_configs;
kfk__bhandler kfk__h_alter_configs;
kfk__bhandler kfk__h_incremental_alter_configs;
kfk__bhandler kfk__h_produce;
kfk__bhandler kfk__h_fetch;
kfk__bhandler kfk__h_list_offsets;
kfk__bhandler kfk__h_offset_for_leader_epoch;
kfk__bhandler kfk__h_delete_records;
kfk__bhandler kfk__h_init_producer_id;
kfk__bhandler kfk__h_find_coordinator;
kfk__bhandler kfk__h_join_group;
kfk__bhandler kfk__h_sync_group;
kfk__bhandler kfk__h_heartbeat;
kfk__bhandler kfk__h_leave_group;
kfk__bhandler kfk__h_offset_commit;
kfk__bhandler kfk__h_offset_fetch;
kfk__bhandler kfk__h_offset_delete;
kfk__bhandler kfk__h_describe_groups;
kfk__bhandler kfk__h_list_groups;
kfk__bhandler kfk__h_delete_groups;

/* The APIs the broker answers, with the version range it advertises. */
typedef struct kfk__bapi {
    int16_t key;
    int16_t min_ver, max_ver;
    kfk__bhandler *handler;
} kfk__bapi;

const kfk__bapi *kfk__bapi_list(size_t *n);
const kfk__bapi *kfk__bapi_get(int16_t key);

/* Re-runs parked fetches that may now be answerable (after an append or a
 * leadership change). */
void kfk__fetch_wakeup(kfk_cluster_t *c);
/* Answers every parked fetch now (shutdown, broker stop). */
void kfk__fetch_flush(kfk_cluster_t *c, kfk__bbroker *b);
/* Frees every fetch session (shutdown). */
void kfk__fetch_sessions_free(kfk_cluster_t *c);

#endif
