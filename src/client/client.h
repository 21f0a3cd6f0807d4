/*
 * client.h: what every client handle (producer, consumer, admin) shares:
 * the I/O thread and its loop, the brokers (bootstrap addresses first,
 * then every node the metadata names), and the metadata cache with its
 * refresh policy (on demand, on errors with backoff, and every
 * metadata.max.age.ms).
 *
 * Threads: the I/O thread owns the loop, the brokers and the refresh
 * state. Other threads talk to it only through kfk__client_post (run a
 * function on the I/O thread), kfk__client_metadata_wait, and the
 * read-write-locked metadata cache.
 */
#ifndef KFK_CLIENT_CLIENT_H
#define KFK_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "client/cbroker.h"
#include "client/metadata.h"
#include "net/loop.h"

typedef struct kfk__client kfk__client;

/* Called on the I/O thread every statistics interval. */
typedef void(kfk__client_stats_fn)(kfk__client *c, void *arg);

typedef struct kfk__client_conf {
    const char *bootstrap; /* "host:port,host:port" */
    kfk__cbroker_conf broker; /* broker.log is the client's logger too */
    int64_t metadata_max_age_ms;
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    int64_t stats_interval_ms; /* 0: no statistics */
    bool no_auto_create; /* metadata requests must not create topics */
    kfk__client_stats_fn *stats_fn;
    void *stats_arg;
} kfk__client_conf;

/* Parses the bootstrap list, starts the I/O thread and a first metadata
 * request. Strings in conf must outlive the client. Returns 0, or
 * KFK_ERR__INVALID_CONFIG (bad bootstrap list; message in errbuf),
 * KFK_ERR__NOMEM, KFK_ERR__SYSTEM. */
int kfk__client_new(const kfk__client_conf *conf, kfk__client **out,
                    char *errbuf, size_t errlen);

/* Stops the thread; outstanding requests fail with KFK_ERR__DESTROYED
 * (their callbacks run on the I/O thread before this returns). NULL ok. */
void kfk__client_free(kfk__client *c);

/* The metadata cache (any thread; it locks itself). */
kfk__mdcache *kfk__client_metadata(kfk__client *c);

/* Any thread: makes sure topic is in the metadata the client asks for
 * (NULL: no topic, just refresh now) and waits up to timeout_ms for a
 * cache update that knows it. Returns its partition count (> 0), the
 * negated Kafka error the cluster reported for it, or KFK_ERR__TIMED_OUT. */
int32_t kfk__client_metadata_wait(kfk__client *c, const char *topic,
                                  int timeout_ms);

/* Any thread: adds topic to the metadata the client asks for (a refresh
 * follows if it is new), without waiting. Returns 0 or KFK_ERR__NOMEM. */
int kfk__client_want_topic(kfk__client *c, const char *topic);

/* Any thread: from now on metadata requests ask for every topic (a regex
 * subscription needs to see them all). */
void kfk__client_want_all_topics(kfk__client *c);

/* Any thread: asks for a refresh soon (after an error, say). */
void kfk__client_metadata_refresh(kfk__client *c);

/* Any thread: runs fn(c, arg) on the I/O thread soon. Returns 0 or
 * KFK_ERR__NOMEM / KFK_ERR__DESTROYED. */
int kfk__client_post(kfk__client *c, void (*fn)(kfk__client *, void *),
                     void *arg);

/* I/O thread only: the broker with this node id (created from the
 * metadata's address on first use), or NULL if the metadata does not know
 * it. */
kfk__cbroker *kfk__client_broker(kfk__client *c, int32_t node_id);

/* I/O thread only: adds an object per broker the client knows, keyed by
 * its name ("host:port/id"), to brokers (a jansson object, passed as
 * void * to keep jansson out of this header), and resets the brokers'
 * round-trip windows. Returns 0 or KFK_ERR__NOMEM. */
int kfk__client_stats_brokers(kfk__client *c, void *brokers);

/* I/O thread only: some broker the metadata names that has a connection
 * object, for requests any broker answers (FindCoordinator,
 * InitProducerId); rotate picks another one each time it changes (a
 * failure count, say). NULL if the metadata names none yet. */
kfk__cbroker *kfk__client_any_broker(kfk__client *c, unsigned rotate);

/* I/O thread only: the loop (for timers). */
kfk__loop *kfk__client_loop(kfk__client *c);

#endif
