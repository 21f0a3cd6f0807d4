/*
 * kfk/consumer.h: the consumer.
 *
 * A consumer is a kfk_t made by kfk_consumer_new. It reads partitions
 * either assigned by hand (kfk_consumer_assign) or by a consumer group
 * (kfk_consumer_subscribe, with group.id set). Its I/O thread fetches
 * ahead (bounded by fetch.max.bytes per broker and one response per
 * partition waiting); kfk_consumer_poll hands records out in offset order
 * per partition, decoded on the calling thread, pointing into the fetched
 * bytes without copying them.
 *
 * Callbacks (rebalance, offset commit, and the log/stats/error ones of
 * kfk/client.h) run only inside kfk_consumer_poll, kfk_consumer_commit
 * (synchronous) and kfk_consumer_close, on the calling thread.
 *
 * Threads: every function may be called from any thread; polls are
 * serialised (one poll at a time per handle). Messages returned by a poll
 * stay valid until the next poll or close on that handle.
 */
#ifndef KFK_CONSUMER_H
#define KFK_CONSUMER_H

#include <kfk/client.h>
#include <kfk/common.h>
#include <kfk/conf.h>
#include <kfk/error.h>

/* Special offsets for assign/seek. */
#define KFK_OFFSET_BEGINNING (-2) /* the log start */
#define KFK_OFFSET_END (-1)       /* the log end (only new records) */
#define KFK_OFFSET_STORED (-1000) /* committed offset, else auto.offset.reset */
#define KFK_OFFSET_INVALID (-1001)

/* Timestamp types. */
#define KFK_TIMESTAMP_CREATE_TIME 0
#define KFK_TIMESTAMP_LOG_APPEND_TIME 1

/* A topic partition with an offset: the argument and result type of
 * assignment, seek, commit and lookups. Plain values; strings belong to
 * whoever made the array. */
typedef struct kfk_topic_partition {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 unknown; as input, 0 counts as unknown too,
                             so a zeroed struct is fine */
    const char *metadata; /* commit metadata; NULL for none */
    kfk_err_t err;        /* per-partition result of a call */
} kfk_topic_partition_t;

/* A record header as fetched: the key is not NUL-terminated. */
typedef struct kfk_message_header {
    const char *key;
    size_t key_len;
    const void *value; /* NULL: a null value */
    size_t value_len;
} kfk_message_header_t;

/* A record, or an event for the application when err is not
 * KFK_ERR_NONE: KFK_ERR__PARTITION_EOF (the end of topic/partition was
 * reached at offset, with enable.partition.eof), KFK_ERR__NO_OFFSET,
 * KFK_ERR__MAX_POLL_EXCEEDED, KFK_ERR__ASSIGNMENT_LOST, KFK_ERR__BAD_CRC
 * or __MALFORMED (a corrupt batch: the partition stops at offset), a
 * Kafka error for the partition (TOPIC_AUTHORIZATION_FAILED, ...). Every
 * pointer stays valid until the next poll or close on the handle. */
typedef struct kfk_message {
    kfk_err_t err;
    const char *errstr; /* with err: what happened */
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 unknown */
    int64_t timestamp;    /* ms since the epoch */
    int timestamp_type;   /* KFK_TIMESTAMP_* */
    const void *key;      /* NULL: a null key */
    size_t key_len;
    const void *value; /* NULL: a null value (tombstone) */
    size_t value_len;
    const kfk_message_header_t *headers;
    size_t header_count;
} kfk_message_t;

/* ---- creation ---------------------------------------------------------- */

/* Rebalance events. */
typedef enum kfk_rebalance_event {
    KFK_REBALANCE_ASSIGNED, /* these partitions are now yours */
    KFK_REBALANCE_REVOKED,  /* give these up: commit what you processed */
    KFK_REBALANCE_LOST      /* these were taken away (membership lost):
                               committing them would fail */
} kfk_rebalance_event_t;

/* Called in kfk_consumer_poll (and close) on the calling thread. The
 * consumer applies the change itself around the call: REVOKED runs before
 * the partitions are given up (commit in it and the commit lands before
 * another member gets them), ASSIGNED after the new ones are in place
 * (seek in it to start elsewhere). With the cooperative protocol, parts
 * are only what changed; with the eager one, everything. */
typedef void(kfk_rebalance_cb)(kfk_t *k, kfk_rebalance_event_t ev,
                               const kfk_topic_partition_t *parts, size_t n,
                               void *opaque);

/* Sets the rebalance callback. Returns KFK_ERR_NONE or
 * KFK_ERR__INVALID_ARG (conf NULL). */
KFK_API kfk_err_t kfk_conf_set_rebalance_cb(kfk_conf_t *conf,
                                            kfk_rebalance_cb *cb,
                                            void *opaque);

/* Called once per commit (auto-commit, kfk_consumer_commit with
 * KFK_COMMIT_ASYNC, or sync) with the overall error and each partition's
 * result. Served by kfk_consumer_poll (async and auto commits) or inside
 * the synchronous call. */
typedef void(kfk_commit_cb)(kfk_t *k, kfk_err_t err,
                            const kfk_topic_partition_t *offsets, size_t n,
                            void *opaque);

KFK_API kfk_err_t kfk_conf_set_commit_cb(kfk_conf_t *conf, kfk_commit_cb *cb,
                                         void *opaque);

/* ---- user assignors ----------------------------------------------------- */

/* A group member as the group leader's assignor sees it. */
typedef struct kfk_group_member {
    const char *member_id;
    const char *instance_id; /* group.instance.id, NULL for none */
    const char *rack;        /* client.rack, NULL for none */
    const char *const *topics; /* what it subscribes to */
    size_t topic_count;
    const kfk_topic_partition_t *owned; /* what it owns now (offset unused) */
    size_t owned_count;
    int32_t generation; /* of owned; -1 unknown */
} kfk_group_member_t;

/* A topic the members subscribe to, as the metadata says. */
typedef struct kfk_group_topic {
    const char *name;
    int32_t partition_count;
} kfk_group_topic_t;

typedef struct kfk_assignment kfk_assignment_t;

/* Inside an assign callback: gives topic/partition to members[member].
 * Returns KFK_ERR_NONE, or KFK_ERR__INVALID_ARG (no such member, topic or
 * partition, or the partition was given already). */
KFK_API kfk_err_t kfk_assignment_add(kfk_assignment_t *a, size_t member,
                                     const char *topic, int32_t partition);

/* A user assignor: called on the group leader's I/O thread (keep it quick
 * and do not call kfk functions other than kfk_assignment_add) with every
 * member and topic; what it does not give out stays unassigned. Returns
 * KFK_ERR_NONE, or an error that makes this rebalance assign nothing. */
typedef kfk_err_t(kfk_assign_cb)(const kfk_group_member_t *members,
                                 size_t member_count,
                                 const kfk_group_topic_t *topics,
                                 size_t topic_count, kfk_assignment_t *out,
                                 void *opaque);

/* Offers a user assignor named name (the protocol name every member of
 * the group must offer for it to be chosen) ahead of those in
 * partition.assignment.strategy. cooperative: 1 if it never moves a
 * partition a member owns straight to another member (KIP-429; the
 * rebalance protocol is cooperative only if every assignor offered is).
 * Up to 4 per conf. Returns KFK_ERR_NONE, KFK_ERR__INVALID_ARG (NULL, an
 * empty name or longer than 63 bytes, or a name taken), or
 * KFK_ERR__QUEUE_FULL (four already). */
KFK_API kfk_err_t kfk_conf_add_assignor(kfk_conf_t *conf, const char *name,
                                        int cooperative, kfk_assign_cb *cb,
                                        void *opaque);

/* Creates a consumer from conf (copied). bootstrap.servers is required;
 * group.id is required for subscribe and commits. Returns NULL with a
 * message in errstr on a bad configuration. */
KFK_API kfk_t *kfk_consumer_new(const kfk_conf_t *conf, char *errstr,
                                size_t errstr_size);

/* ---- what to read ------------------------------------------------------ */

/* Joins the group (group.id) for these topics; a name starting with '^'
 * is a regular expression (POSIX extended) matched against the cluster's
 * topics, followed as topics are created and deleted. Replaces an earlier
 * subscription. Returns KFK_ERR_NONE, KFK_ERR__INVALID_ARG (no topics, a
 * bad regex), KFK_ERR__INVALID_CONFIG (no group.id), KFK_ERR__STATE
 * (partitions were assigned by hand). */
KFK_API kfk_err_t kfk_consumer_subscribe(kfk_t *k, const char *const *topics,
                                         size_t n);

/* Leaves the group's subscription (revoking what is assigned). */
KFK_API kfk_err_t kfk_consumer_unsubscribe(kfk_t *k);

/* Reads exactly these partitions, no group (n 0: stop reading). Each
 * starts at its offset: an offset, KFK_OFFSET_BEGINNING, _END, or
 * _STORED (the group's committed offset, else auto.offset.reset).
 * Returns KFK_ERR_NONE, KFK_ERR__INVALID_ARG, KFK_ERR__STATE
 * (subscribed). */
KFK_API kfk_err_t kfk_consumer_assign(kfk_t *k,
                                      const kfk_topic_partition_t *parts,
                                      size_t n);

/* The current assignment as a new array (*n entries, offset = position)
 * the caller frees with kfk_topic_partitions_free. */
KFK_API kfk_err_t kfk_consumer_assignment(kfk_t *k,
                                          kfk_topic_partition_t **parts,
                                          size_t *n);

/* Frees an array returned by kfk (strings included). NULL is fine. */
KFK_API void kfk_topic_partitions_free(kfk_topic_partition_t *parts,
                                       size_t n);

/* ---- reading ----------------------------------------------------------- */

/* The next record or event, waiting up to timeout_ms (-1 forever), or
 * NULL if none came. Also serves callbacks. Valid until the next poll. */
KFK_API const kfk_message_t *kfk_consumer_poll(kfk_t *k, int timeout_ms);

/* Up to max (and max.poll.records) records and events into msgs, waiting
 * up to timeout_ms for the first. Returns how many. Valid until the next
 * poll. */
KFK_API size_t kfk_consumer_poll_batch(kfk_t *k, int timeout_ms,
                                       const kfk_message_t **msgs,
                                       size_t max);

/* Pause stops fetching the partitions (records already fetched are kept
 * for after resume); resume starts again. Per-partition results in err.
 * Returns KFK_ERR_NONE or KFK_ERR__INVALID_ARG. */
KFK_API kfk_err_t kfk_consumer_pause(kfk_t *k, kfk_topic_partition_t *parts,
                                     size_t n);
KFK_API kfk_err_t kfk_consumer_resume(kfk_t *k,
                                      kfk_topic_partition_t *parts,
                                      size_t n);

/* Moves assigned partitions to their offset (an offset, _BEGINNING or
 * _END): the next record polled from each comes from there. Records
 * fetched before the seek are dropped. Per-partition results in err
 * (UNKNOWN_TOPIC_OR_PARTITION: not assigned). */
KFK_API kfk_err_t kfk_consumer_seek(kfk_t *k, kfk_topic_partition_t *parts,
                                    size_t n);

/* Sets each partition's offset to the first offset whose timestamp is at
 * least parts[i].offset (ms), or to the end (-1) if none is; up to
 * timeout_ms. Per-partition errors in err. */
KFK_API kfk_err_t kfk_consumer_offsets_for_times(kfk_t *k,
                                                 kfk_topic_partition_t *parts,
                                                 size_t n, int timeout_ms);

/* Sets each partition's offset to the next offset poll will return for
 * it (KFK_OFFSET_INVALID if unknown yet). No network. */
KFK_API kfk_err_t kfk_consumer_position(kfk_t *k, kfk_topic_partition_t *parts,
                                        size_t n);

/* The low and high watermarks (log start, high watermark) of a partition:
 * asks the leader (up to timeout_ms), or with timeout_ms 0 returns what
 * the last fetch said (KFK_ERR__STATE if none yet). */
KFK_API kfk_err_t kfk_consumer_watermarks(kfk_t *k, const char *topic,
                                          int32_t partition, int64_t *low,
                                          int64_t *high, int timeout_ms);

/* Records between the position and the high watermark (the lag), -1 if
 * either is unknown. No network. */
KFK_API int64_t kfk_consumer_lag(kfk_t *k, const char *topic,
                                 int32_t partition);

/* ---- offsets ----------------------------------------------------------- */

#define KFK_COMMIT_ASYNC 0x1 /* return at once; the commit callback says */

/* Commits offsets for the group: parts (offset = the next record to read,
 * as Kafka's convention is), or with parts NULL the position of every
 * assigned partition that moved since the last commit. Synchronous
 * unless KFK_COMMIT_ASYNC: waits up to default.api.timeout.ms, retrying
 * retriable errors, and writes each partition's result to parts[i].err.
 * Returns KFK_ERR_NONE, the first error, or KFK_ERR__INVALID_CONFIG (no
 * group.id). */
KFK_API kfk_err_t kfk_consumer_commit(kfk_t *k, kfk_topic_partition_t *parts,
                                      size_t n, int flags);

/* Sets each partition's offset to the group's committed offset
 * (KFK_OFFSET_INVALID: none), with metadata left NULL, waiting up to
 * timeout_ms. */
KFK_API kfk_err_t kfk_consumer_committed(kfk_t *k,
                                         kfk_topic_partition_t *parts,
                                         size_t n, int timeout_ms);

/* ---- group ------------------------------------------------------------- */

/* The member id the coordinator gave (empty before the first join),
 * copied into buf. Returns the generation id, -1 outside a group. */
KFK_API int32_t kfk_consumer_member_id(kfk_t *k, char *buf, size_t size);

/* Leaves cleanly within timeout_ms: commits positions if
 * enable.auto.commit, revokes (calling the rebalance callback), leaves
 * the group (a static member does not: it keeps its assignment for
 * session.timeout.ms), and stops fetching. kfk_destroy does it with
 * default.api.timeout.ms if not called. Returns KFK_ERR_NONE or the
 * commit's error. */
KFK_API kfk_err_t kfk_consumer_close(kfk_t *k, int timeout_ms);

#endif
