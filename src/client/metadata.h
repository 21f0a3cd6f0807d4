/*
 * metadata.h: the client's cached view of the cluster: brokers, and per
 * topic its id, error and partitions with leader and leader epoch. Filled
 * from Metadata responses; read by application threads (partition counts
 * for the partitioner) and the I/O thread (leaders for routing), so reads
 * and updates go through a read-write lock.
 *
 * KIP-320: an update never moves a partition back to an older leader epoch
 * (a stale broker's answer), unless the topic was re-created (new id).
 */
#ifndef KFK_CLIENT_METADATA_H
#define KFK_CLIENT_METADATA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/codec.h"
#include "proto/gen/metadata.h"

typedef struct kfk__md_broker {
    int32_t id;
    char host[256];
    int32_t port;
    char rack[64];
} kfk__md_broker;

typedef struct kfk__md_part {
    int32_t leader; /* -1 unknown */
    int32_t leader_epoch;
    int16_t error;
} kfk__md_part;

typedef struct kfk__md_topic {
    char *name;
    kfk__uuid id;
    int16_t error;
    int32_t npart;
    kfk__md_part *parts;
    int64_t updated_ms;
} kfk__md_topic;

typedef struct kfk__mdcache {
    pthread_rwlock_t lock;
    int32_t nbrokers;
    kfk__md_broker *brokers;
    int32_t ntopics, captopics;
    kfk__md_topic *topics;
    char cluster_id[64];
    int32_t controller_id;
    int64_t updated_ms; /* last successful update, 0 = never */
} kfk__mdcache;

/* Returns 0 or KFK_ERR__NOMEM. */
int kfk__mdcache_init(kfk__mdcache *md);
void kfk__mdcache_destroy(kfk__mdcache *md);

/* Merges a Metadata response received at now_ms. Topics it does not
 * mention are kept (and, when it was an all-topics request, removed).
 * Returns 0 or KFK_ERR__NOMEM (the cache then holds the old data). */
int kfk__mdcache_update(kfk__mdcache *md, const kfk__metadata_response *resp,
                        bool all_topics, int64_t now_ms);

/* Partition count of topic: > 0; 0 when the topic is unknown; or a
 * negative kfk_err_t-style Kafka error (-code) when the broker reported
 * one (e.g. -KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION). Any thread. */
int32_t kfk__mdcache_partition_count(kfk__mdcache *md, const char *topic);

/* Leader and leader epoch of a partition; false if unknown. Any thread. */
bool kfk__mdcache_leader(kfk__mdcache *md, const char *topic, int32_t partition,
                         int32_t *leader, int32_t *epoch);

/* Applies a leader hint (KIP-951 CurrentLeader from Produce/Fetch) if its
 * epoch is newer. Any thread. */
void kfk__mdcache_set_leader(kfk__mdcache *md, const char *topic,
                             int32_t partition, int32_t leader, int32_t epoch);

/* Copies broker id's address; false if unknown. Any thread. */
bool kfk__mdcache_broker(kfk__mdcache *md, int32_t id, kfk__md_broker *out);

#endif
