/*
 * cluster.h: the reference broker's model of a Kafka cluster: brokers,
 * topics, partitions with replicas / ISR / leader epochs, topic configs,
 * and injected faults. The request handlers read and change it; server.c
 * owns the sockets and the thread. Everything here runs under the
 * cluster's lock (held by the I/O thread while it handles an event, and by
 * public API calls).
 *
 * Replication is simulated: all replicas of a partition share one log, so
 * the high watermark is the log end offset whenever the leader is up.
 */
#ifndef KFK_BROKER_CLUSTER_H
#define KFK_BROKER_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <kfk/broker.h>

#include "net/listen.h"
#include "net/loop.h"
#include "proto/codec.h"

typedef struct kfk__plog kfk__plog;
typedef struct kfk__pidstate kfk__pidstate;
typedef struct kfk__bconn kfk__bconn;
typedef struct kfk__fsession kfk__fsession;
typedef struct kfk__breq kfk__breq;
typedef struct kfk__groups kfk__groups;

/* One topic config entry as set by a user (overrides the default). */
typedef struct kfk__tconf_entry {
    char *name;
    char *value;
} kfk__tconf_entry;

/* The topic configs the broker acts on, parsed. */
typedef struct kfk__tconf {
    int64_t retention_ms;
    int64_t retention_bytes;
    int64_t segment_bytes;
    int64_t delete_retention_ms;
    int32_t max_message_bytes;
    bool compact;        /* cleanup.policy has compact */
    bool delete_;        /* cleanup.policy has delete */
    bool log_append_time; /* message.timestamp.type=LogAppendTime */
} kfk__tconf;

typedef struct kfk__bpart {
    int32_t id;
    int32_t leader; /* broker id, -1 when offline */
    int32_t leader_epoch;
    int32_t nreplicas;
    int32_t *replicas;
    int32_t nisr;
    int32_t *isr;
    kfk__plog *log;
    kfk__pidstate *pids;
} kfk__bpart;

typedef struct kfk__btopic {
    char *name;
    kfk__uuid id;
    int32_t npart;
    kfk__bpart *parts;
    kfk__tconf conf;
    int32_t nover;
    kfk__tconf_entry *over; /* user-set configs */
    bool deleted;
} kfk__btopic;

typedef struct kfk__bbroker {
    kfk_cluster_t *c;
    int32_t id;
    char rack[16];
    char host[64];
    int port;
    bool up;
    bool paused;
    int latency_ms;
    int drop_after; /* -1 = never */
    kfk__listener *listener;
    kfk__bconn *conns; /* list of client connections */
} kfk__bbroker;

typedef struct kfk__fault {
    struct kfk__fault *next;
    int broker_id; /* -1 = any */
    int api_key;   /* -1 = any */
    char *topic;   /* NULL = any */
    int partition; /* -1 = any */
    int err;
    int count;
} kfk__fault;

struct kfk_cluster {
    pthread_mutex_t lock;
    struct kfk__breq *delayed; /* responses waiting out injected latency */
    pthread_t thread;
    bool thread_started;
    bool stopping;
    kfk__loop *loop;
    kfk__timer *maintain; /* retention and compaction */

    int32_t nbrokers;
    kfk__bbroker *brokers;
    int32_t controller_id;
    char cluster_id[24];
    char *bootstrap;

    int32_t ntopics, captopics;
    kfk__btopic **topics;

    /* cluster settings */
    char *data_dir;
    int32_t num_partitions;
    int32_t default_rf;
    bool auto_create;
    int log_level;
    kfk__tconf defaults;

    kfk__fault *faults;
    kfk__fsession *fsessions; /* fetch sessions of every broker */
    kfk__breq *parked;        /* fetches waiting for data */
    int64_t next_producer_id;
    uint64_t rng;
    bool loading; /* re-creating saved topics: do not save meanwhile */

    /* the group coordinator (group.c) and its broker configs */
    kfk__groups *groups;
    int32_t group_initial_delay_ms; /* group.initial.rebalance.delay.ms */
    int32_t group_min_session_ms;   /* group.min.session.timeout.ms */
    int32_t group_max_session_ms;   /* group.max.session.timeout.ms */
    int32_t group_max_size;         /* group.max.size */
};

/* With a data dir: writes the cluster's metadata (topics, ids, replicas,
 * epochs, configs, next producer id) / reads it back and recovers every
 * saved topic's logs at start. Load returns 0 or -1 with a message. */
void kfk__cluster_save(kfk_cluster_t *c);
int kfk__cluster_load(kfk_cluster_t *c, char *err, size_t errlen);

/* A topic was deleted: groups forget its committed offsets, as Kafka's
 * coordinator does (group_offsets.c). */
void kfk__groups_topic_deleted(kfk_cluster_t *c, const char *topic);

/* Logging to stderr at or below the cluster's level (0 emerg .. 7 debug). */
void kfk__blog(kfk_cluster_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

kfk__bbroker *kfk__cluster_broker(kfk_cluster_t *c, int32_t id);
kfk__btopic *kfk__cluster_topic(kfk_cluster_t *c, const char *name, int32_t len);
kfk__btopic *kfk__cluster_topic_by_id(kfk_cluster_t *c, const kfk__uuid *id);
kfk__bpart *kfk__cluster_part(kfk_cluster_t *c, const char *topic, int32_t len,
                              int32_t partition);

/* Topic name rules of Kafka: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool kfk__topic_name_valid(const char *name, int32_t len);

/* Creates a topic; configs may be NULL. Returns a kfk_err_t and, on
 * failure, a message in errbuf. */
int kfk__cluster_create_topic(kfk_cluster_t *c, const char *name, int32_t len,
                              int32_t partitions, int32_t rf,
                              const kfk__tconf_entry *configs, int32_t nconfigs,
                              bool validate_only, char *errbuf, size_t errlen);
/* Removes a topic; remove_data also deletes its durable files (a delete),
 * otherwise they stay (shutdown). */
int kfk__cluster_delete_topic(kfk_cluster_t *c, kfk__btopic *t, bool remove_data);
int kfk__cluster_add_partitions(kfk_cluster_t *c, kfk__btopic *t,
                                int32_t total, bool validate_only,
                                char *errbuf, size_t errlen);

/* Parses and checks one topic config; on success updates *conf. Returns 0,
 * KFK_ERR_INVALID_CONFIG (bad value) or KFK_ERR_INVALID_REQUEST (unknown
 * name), with a message in errbuf. */
int kfk__tconf_set(kfk__tconf *conf, const char *name, const char *value,
                   char *errbuf, size_t errlen);
/* Sets / removes a user override on a topic (value NULL = remove) and
 * re-derives its parsed config. */
int kfk__topic_set_config(kfk__btopic *t, const kfk__tconf *defaults,
                          const char *name, const char *value, char *errbuf,
                          size_t errlen);

/* The known topic configs, for DescribeConfigs: name and the default as a
 * string; *n receives the count. */
typedef struct kfk__tconf_def {
    const char *name;
    const char *type; /* "long", "int", "string", "list" */
} kfk__tconf_def;
const kfk__tconf_def *kfk__tconf_defs(size_t *n);
/* The value of config name for a parsed config, into buf. */
void kfk__tconf_get(const kfk__tconf *conf, const char *name, char *buf,
                    size_t len);

/* Elects a new leader for every partition led by a stopped broker, bumping
 * epochs; shrinks/expands ISRs to the running replicas. */
void kfk__cluster_reassign(kfk_cluster_t *c);

/* Takes the first matching injected fault, decrementing its count; returns
 * its error or 0. topic NULL matches only topic-less faults' "any". */
int kfk__fault_take(kfk_cluster_t *c, int32_t broker_id, int api_key,
                    const char *topic, int32_t topic_len, int32_t partition);

/* A fresh producer id. */
int64_t kfk__cluster_new_pid(kfk_cluster_t *c);

/* Random 64 bits (xorshift, seeded per cluster). */
uint64_t kfk__cluster_rand(kfk_cluster_t *c);

#endif
