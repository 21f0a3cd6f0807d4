/*
 * assignor.h: consumer group partition assignors (classic protocol).
 *
 * In the classic group protocol the group leader, a client, decides who
 * consumes which partition. Every member sends a subscription (its topics,
 * what it owns now, its generation, rack and assignor-specific user data);
 * the leader runs the assignor all members agreed on and sends back one
 * assignment per member. An assignor is therefore a pure function of the
 * members and the topic metadata, which is what this interface is: no I/O,
 * no locks, no state kept between calls. The consumer feeds it what
 * JoinGroup returned and encodes what it produced into SyncGroup.
 *
 * Built in, with the Java client's names and observable results:
 *   "range"              per topic, contiguous ranges (EAGER)
 *   "roundrobin"         all partitions dealt round robin (EAGER)
 *   "sticky"             balanced, keeps what members owned (EAGER); the
 *                        previous assignment travels in the user data
 *   "cooperative-sticky" the same target, reached without ever giving a
 *                        partition to a member while another still owns it
 *                        (COOPERATIVE, KIP-429)
 *
 * A user assignor fills in a kfk__assignor with its own functions; the
 * consumer treats built-in and user assignors alike.
 */
#ifndef KFK_CONSUMER_ASSIGNOR_H
#define KFK_CONSUMER_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"

/* How members move from one assignment to the next. EAGER: every member
 * revokes everything before it rejoins. COOPERATIVE: members keep their
 * partitions through the rebalance and revoke only what the new assignment
 * takes away, then rejoin once more so the revoked partitions can be
 * handed on. */
typedef enum kfk__rebalance_protocol {
    KFK__REBALANCE_EAGER = 0,
    KFK__REBALANCE_COOPERATIVE = 1,
} kfk__rebalance_protocol;

/* Partitions of one topic: an input (owned partitions) or an output
 * (assigned partitions). */
typedef struct kfk__assign_tp {
    const char *topic;
    int32_t *partitions;
    int32_t n;
} kfk__assign_tp;

/* One group member as its subscription describes it. The consumer fills
 * member_id and instance_id from JoinGroup and the rest from the decoded
 * subscription (kfk__subscription_decode). */
typedef struct kfk__assign_member {
    const char *member_id;
    const char *instance_id;   /* group.instance.id; NULL for dynamic members */
    const char *rack;          /* client.rack; NULL if unset */
    const char *const *topics; /* subscribed topics (any order) */
    int32_t ntopics;
    const kfk__assign_tp *owned; /* owned partitions (Subscription v1+) */
    int32_t nowned;
    int32_t generation;       /* Subscription v2+; -1 unknown */
    const uint8_t *user_data; /* assignor-specific; NULL = none */
    int32_t user_data_len;
} kfk__assign_member;

/* What the leader knows of one topic from metadata. */
typedef struct kfk__assign_topic {
    const char *name;
    int32_t partition_cnt;
    /* NULL, or per partition a NULL-terminated list of its replicas' racks
     * (NULL when unknown); "range" prefers members in those racks. */
    const char *const *const *racks;
} kfk__assign_topic;

/* The whole input of one assignment. Topic names are unique; member ids
 * are unique. Subscribed topics absent from topics[] are not assigned. */
typedef struct kfk__assign_group {
    const kfk__assign_member *members;
    int32_t nmembers;
    const kfk__assign_topic *topics;
    int32_t ntopics;
} kfk__assign_group;

/* One member's result: topics sorted by name, each with its partitions in
 * ascending order (a member with nothing has ntopics 0), plus user data
 * for the member's Assignment (NULL = none). */
typedef struct kfk__member_assignment {
    kfk__assign_tp *topics;
    int32_t ntopics;
    const uint8_t *user_data;
    int32_t user_data_len;
} kfk__member_assignment;

typedef struct kfk__assignor kfk__assignor;

/*
 * Computes the assignment of g. out has g->nmembers entries; out[i] is
 * members[i]'s assignment. Arrays written to out are allocated from
 * arena (which the caller frees); topic names point at g->topics' names.
 * Nothing in g is modified.
 * Returns 0, KFK_ERR__NOMEM / TOO_LARGE (arena), or KFK_ERR__INVALID_ARG
 * (duplicate member ids or topic names, negative counts, NULL where a
 * name or a non-empty array is due). Runs on the
 * leader's consumer thread; must not block.
 */
typedef int kfk__assign_fn(const kfk__assignor *self,
                           const kfk__assign_group *g, kfk__arena *arena,
                           kfk__member_assignment *out);

/*
 * The user data this member puts in its subscription, appended to w
 * (nothing appended = null user data). owned is the member's assignment
 * from its last completed rebalance, before any eager revocation, and
 * generation that rebalance's generation (-1 before the first). Returns 0
 * or an error (w's sticky error is checked by the caller too).
 */
typedef int kfk__subscription_user_data_fn(const kfk__assignor *self,
                                           const kfk__assign_tp *owned,
                                           int32_t nowned, int32_t generation,
                                           kfk__wbuf *w);

struct kfk__assignor {
    const char *name; /* the protocol name in JoinGroup */
    kfk__rebalance_protocol protocol;
    kfk__assign_fn *assign;
    kfk__subscription_user_data_fn *user_data; /* NULL: no user data */
    void *opaque;                              /* for user assignors */
};

/* A built-in assignor by name, or NULL. The result is static. */
const kfk__assignor *kfk__assignor_builtin(const char *name);

extern const kfk__assignor kfk__assignor_range;
extern const kfk__assignor kfk__assignor_roundrobin;
extern const kfk__assignor kfk__assignor_sticky;
extern const kfk__assignor kfk__assignor_cooperative_sticky;

/* ---- the consumer protocol's bytes ------------------------------------- */

/* The newest ConsumerProtocolSubscription / Assignment version kfk writes
 * (what the Java client writes). */
#define KFK__CONSUMER_PROTOCOL_VERSION 3

/*
 * Appends the subscription of m (topics, user data, owned partitions,
 * generation, rack; member and instance id are not part of it) as
 * Metadata bytes for JoinGroup: int16 version, then the body. Fields the
 * version lacks are left out (all of them are ignorable). Returns 0 or a
 * codec error (KFK_ERR__NOMEM, TOO_LARGE, INVALID_ARG for version < 0).
 */
int kfk__subscription_encode(const kfk__assign_member *m, int16_t version,
                             kfk__wbuf *w);

/*
 * Decodes subscription bytes into *m (everything but member_id and
 * instance_id, which stay NULL). Versions above the newest known are read
 * as the newest, and bytes after the known fields are ignored, as the
 * protocol's definition asks. Fields a version lacks get their defaults
 * (no owned partitions, generation -1, no rack). All of *m lives in arena;
 * buf may be freed afterwards. Returns 0, KFK_ERR__TRUNCATED,
 * KFK_ERR__MALFORMED (negative version, a NUL inside a name), NOMEM or
 * TOO_LARGE.
 */
int kfk__subscription_decode(const uint8_t *buf, size_t len, kfk__arena *arena,
                             kfk__assign_member *m);

/* The same pair for the assignment a member receives in SyncGroup. */
int kfk__assignment_encode(const kfk__member_assignment *a, int16_t version,
                           kfk__wbuf *w);
int kfk__assignment_decode(const uint8_t *buf, size_t len, kfk__arena *arena,
                           kfk__member_assignment *a);

#endif
