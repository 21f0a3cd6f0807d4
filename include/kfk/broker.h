/*
 * kfk/broker.h: the reference broker, embeddable.
 *
 * A kfk_cluster_t is a whole Kafka cluster in one process: N brokers, each
 * listening on its own loopback port, speaking the real Kafka protocol, run
 * by one event-loop thread that the cluster starts and stops itself. Tests
 * use it instead of a real Kafka, and its fault injection instead of
 * sleeps; `kfk broker` runs it standalone.
 *
 * Every function here is thread-safe: faults may be injected from any
 * thread while clients talk to the cluster.
 */
#ifndef KFK_BROKER_H
#define KFK_BROKER_H

#include <kfk/common.h>
#include <kfk/error.h>

typedef struct kfk_cluster kfk_cluster_t;

/*
 * Creates a cluster configured by NULL-terminated "key=value" strings
 * (props may be NULL):
 *   brokers=N                 number of brokers (default 1)
 *   listen=HOST:PORT          first broker's address (default 127.0.0.1:0 =
 *                             ephemeral); broker i listens on PORT+i when
 *                             PORT is not 0
 *   data.dir=DIR              make logs durable under DIR (default: memory)
 *   num.partitions=N          partitions of auto-created topics (default 1)
 *   default.replication.factor=N  (default min(3, brokers))
 *   auto.create.topics.enable=true|false (default true)
 *   log.level=0..7            stderr log level (default 4: warnings)
 *   group.initial.rebalance.delay.ms=N  wait for more members before a new
 *                             group's first generation (default 0, as in
 *                             Kafka's shipped server.properties)
 *   group.min.session.timeout.ms=N, group.max.session.timeout.ms=N
 *                             session timeouts JoinGroup may ask for
 *                             (default 6000 and 1800000)
 *   group.max.size=N          members per group (default unlimited)
 *   and topic defaults: retention.ms, retention.bytes, cleanup.policy,
 *   max.message.bytes, message.timestamp.type, segment.bytes.
 * Starts the I/O thread and listeners. Returns NULL and writes a message
 * into errstr (if non-NULL) on a bad property or a port that cannot be
 * bound. The caller owns the cluster and frees it with kfk_cluster_destroy.
 */
KFK_API kfk_cluster_t *kfk_cluster_new(const char *const *props, char *errstr,
                                       size_t errstr_size);

/* Stops the I/O thread, closes every connection and frees the cluster.
 * NULL is fine. */
KFK_API void kfk_cluster_destroy(kfk_cluster_t *c);

/* "host:port,host:port,..." of every broker. Valid until destroy. */
KFK_API const char *kfk_cluster_bootstrap(kfk_cluster_t *c);

/* Number of brokers; broker ids are 1..N. */
KFK_API int kfk_cluster_broker_count(kfk_cluster_t *c);

/* Creates a topic (replication_factor <= 0: the cluster default). Returns
 * KFK_ERR_NONE, KFK_ERR_TOPIC_ALREADY_EXISTS, KFK_ERR_INVALID_PARTITIONS,
 * KFK_ERR_INVALID_REPLICATION_FACTOR or KFK_ERR_INVALID_TOPIC_EXCEPTION. */
KFK_API kfk_err_t kfk_cluster_create_topic(kfk_cluster_t *c, const char *topic,
                                           int partitions,
                                           int replication_factor);

/* Leader broker id of a partition, or -1 (unknown partition, or offline). */
KFK_API int kfk_cluster_leader(kfk_cluster_t *c, const char *topic,
                               int partition);

/* Log start and end offsets of a partition (either pointer may be NULL).
 * Returns KFK_ERR_NONE or KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION. */
KFK_API kfk_err_t kfk_cluster_offsets(kfk_cluster_t *c, const char *topic,
                                      int partition, int64_t *log_start,
                                      int64_t *log_end);

/* ---- fault injection ----------------------------------------------------
 * broker_id -1 means every broker. api_key -1 means every API. */

/* The next `count` requests of api_key handled by broker_id (optionally
 * only those naming topic/partition; topic NULL = any, partition -1 = any)
 * fail with err, at the level the response carries errors (partition,
 * topic or top level). */
KFK_API kfk_err_t kfk_cluster_inject_error(kfk_cluster_t *c, int broker_id,
                                           int api_key, const char *topic,
                                           int partition, kfk_err_t err,
                                           int count);

/* Adds latency_ms before every response of broker_id (0 removes it). */
KFK_API kfk_err_t kfk_cluster_set_latency(kfk_cluster_t *c, int broker_id,
                                          int latency_ms);

/* Closes a client connection to broker_id after it has received
 * `requests` more requests (the last one is not answered). */
KFK_API kfk_err_t kfk_cluster_drop_after(kfk_cluster_t *c, int broker_id,
                                         int requests);

/* Stops a broker: closes its listener and connections, takes it out of
 * every ISR and moves leadership of its partitions to another in-sync
 * replica with a new leader epoch (partitions with no other replica go
 * offline). */
KFK_API kfk_err_t kfk_cluster_broker_stop(kfk_cluster_t *c, int broker_id);

/* Starts a stopped broker again on the same port; it rejoins the ISRs and
 * leads again nothing until leadership is moved to it. */
KFK_API kfk_err_t kfk_cluster_broker_start(kfk_cluster_t *c, int broker_id);

/* Paused brokers accept connections and read requests but answer nothing
 * until unpaused. */
KFK_API kfk_err_t kfk_cluster_broker_pause(kfk_cluster_t *c, int broker_id,
                                           int paused);

/* Makes broker_id (a running replica) the leader of a partition, bumping
 * the leader epoch. */
KFK_API kfk_err_t kfk_cluster_move_leader(kfk_cluster_t *c, const char *topic,
                                          int partition, int broker_id);

/* Makes broker_id (a running broker) the coordinator of a consumer group,
 * as when __consumer_offsets leadership moves. Members waiting in JoinGroup
 * or SyncGroup get NOT_COORDINATOR; the old coordinator answers every
 * request for the group with NOT_COORDINATOR from now on. The group keeps
 * its members, generation and offsets. The group need not exist yet.
 * Returns KFK_ERR_NONE, KFK_ERR__INVALID_ARG (no such broker, empty name)
 * or KFK_ERR_COORDINATOR_NOT_AVAILABLE (the broker is stopped). A group
 * whose coordinator stops moves to another running broker by itself. */
KFK_API kfk_err_t kfk_cluster_move_coordinator(kfk_cluster_t *c, const char *group,
                                               int broker_id);

/* Removes every injected fault (errors, latency, drops, pauses). */
KFK_API void kfk_cluster_clear_faults(kfk_cluster_t *c);

#endif
