/*
 * group.h: the reference broker's group coordinator: classic consumer
 * groups (JoinGroup / SyncGroup / Heartbeat / LeaveGroup and their state
 * machine), committed offsets, and which broker coordinates which group.
 *
 * Every group lives in one process-wide table (the cluster's), like the
 * topics; "coordinator" is only which broker answers for it. A group's
 * coordinator is chosen as Kafka does (abs(hashCode(group)) % 50 picks a
 * __consumer_offsets partition, here mapped onto a broker) and stays put
 * until that broker stops or kfk_cluster_move_coordinator moves it.
 * Requests for a group at any other broker get NOT_COORDINATOR.
 *
 * Everything runs under the cluster lock, like the rest of the broker.
 */
#ifndef KFK_BROKER_GROUP_H
#define KFK_BROKER_GROUP_H

#include "broker/server.h"

typedef enum kfk__gstate {
    KFK__G_EMPTY,
    KFK__G_PREPARING,  /* PreparingRebalance: waiting for members to (re)join */
    KFK__G_COMPLETING, /* CompletingRebalance: waiting for the leader's SyncGroup */
    KFK__G_STABLE,
    KFK__G_DEAD,       /* only reported for groups that do not exist */
} kfk__gstate;

/* One protocol a member offers in its JoinGroup, with its metadata. */
typedef struct kfk__gproto {
    char *name;
    uint8_t *meta;
    int32_t len;
} kfk__gproto;

typedef struct kfk__gmember {
    struct kfk__gmember *next;
    char *id;
    char *instance_id; /* static membership (KIP-345), NULL if dynamic */
    char *client_id;
    char *client_host;
    int32_t session_ms;
    int32_t rebalance_ms;
    int32_t nprotos;
    kfk__gproto *protos;
    uint8_t *assign; /* from the leader's SyncGroup */
    int32_t assign_len;
    kfk__breq *join; /* parked JoinGroup, answered when the join phase ends */
    kfk__breq *sync; /* parked SyncGroup, answered when the leader syncs */
    int64_t expires; /* monotonic ms; the session ends here without a heartbeat */
    bool rejoined;   /* has joined the rebalance in progress */
} kfk__gmember;

/* A member id handed out with MEMBER_ID_REQUIRED, not yet joined. */
typedef struct kfk__gpending {
    struct kfk__gpending *next;
    char *id;
    int64_t expires;
} kfk__gpending;

typedef struct kfk__goffset {
    char *topic;
    int32_t partition;
    int32_t leader_epoch;
    int64_t offset;
    int64_t commit_ts;
    char *meta; /* never NULL */
} kfk__goffset;

typedef struct kfk__group {
    struct kfk__group *next;
    char *id;
    int32_t coord; /* coordinating broker id */
    bool exists;   /* joined or committed to; else only a coordinator pin */
    bool pinned;   /* moved by kfk_cluster_move_coordinator */
    kfk__gstate state;
    int32_t generation;
    char *protocol_type; /* NULL until the first member joins */
    char *protocol;      /* selected protocol of this generation, or NULL */
    char *leader;        /* member id, or NULL */
    kfk__gmember *members;
    int32_t nmembers;
    kfk__gpending *pending;
    int64_t join_deadline;   /* the rebalance timeout ends the join phase here */
    int64_t join_not_before; /* group.initial.rebalance.delay.ms */
    int32_t noffsets, capoffsets;
    kfk__goffset *offsets;
} kfk__group;

struct kfk__groups {
    kfk__group *list;
    kfk__timer *tick;
    kfk__breq *cur; /* the request being handled: answered by returning */
    int log_fd;     /* offsets log with a data dir, else -1 */
    long log_records;
};

/* Sets one group.* broker property; returns 0, 1 (not a group property)
 * or -1 (bad value). */
int kfk__group_conf_set(kfk_cluster_t *c, const char *key, const char *value);
/* Sets the group defaults before properties are parsed. */
void kfk__group_conf_defaults(kfk_cluster_t *c);

/* Starts the coordinator (its timer; with a data dir, recovers committed
 * offsets). Returns 0 or -1 with a message. */
int kfk__groups_init(kfk_cluster_t *c, char *err, size_t errlen);
/* Frees every group; parked requests are answered into the void (their
 * connections are already closed). NULL-safe on a cluster never inited. */
void kfk__groups_free(kfk_cluster_t *c);
/* A broker stopped: its groups move to another running broker. */
void kfk__groups_broker_stopped(kfk_cluster_t *c);

/* The group, or NULL; create makes an empty, non-existing one. id need not
 * be NUL-terminated. */
kfk__group *kfk__group_find(kfk_cluster_t *c, const char *id, int32_t len, bool create);
/* Broker that coordinates group id (for FindCoordinator), -1 if none runs. */
int32_t kfk__group_coordinator(kfk_cluster_t *c, const char *id, int32_t len);
/* 0 if this request's broker coordinates the group, else NOT_COORDINATOR
 * (or INVALID_GROUP_ID for an empty id). */
int kfk__group_check(kfk__breq *r, kfk__str group_id);
/* Moves the group's coordinator (pinning it); answers its parked requests
 * with NOT_COORDINATOR so the members look it up again. */
void kfk__group_move(kfk_cluster_t *c, kfk__group *g, int32_t broker_id);
/* Kafka's state name ("Stable", ...). */
const char *kfk__gstate_name(kfk__gstate s);
/* The member with this id / instance id, or NULL. */
kfk__gmember *kfk__group_member(kfk__group *g, kfk__str id);
kfk__gmember *kfk__group_member_by_instance(kfk__group *g, kfk__str instance_id);
/* The metadata member m sent for the group's selected protocol (len 0 if
 * none). */
kfk__bytes kfk__gmember_meta(const kfk__group *g, const kfk__gmember *m);
/* Validates a commit's generation / member (OffsetCommit): 0 or the
 * error; a valid member's session is extended. */
int kfk__group_commit_check(kfk__group *g, int32_t generation, kfk__str member_id,
                            kfk__str instance_id);
/* DeleteGroups of an empty group: forgets its offsets (durably); frees it
 * unless pinned. */
void kfk__group_delete(kfk_cluster_t *c, kfk__group *g);
/* Forgets members, pending ids, generation and protocols (not offsets). */
void kfk__group_reset(kfk_cluster_t *c, kfk__group *g);

/* ---- shared by group.c and group_rebalance.c ---- */

/* kfk__str helpers: equal to a NUL-terminated string (NULL matches a null
 * string), empty or null, a malloc'd NUL-terminated copy ("" for null). */
bool kfk__gstr_is(kfk__str s, const char *z);
bool kfk__gstr_empty(kfk__str s);
char *kfk__gstr_dup(kfk__str s);
void kfk__gprotos_free(kfk__gproto *p, int32_t n);
/* Frees a member that is in no group (nothing parked). */
void kfk__gmember_free(kfk__gmember *m);

/* Answers a parked request now, or, if it is the request being handled
 * (groups->cur), lets its handler's return answer it. */
void kfk__group_answer(kfk_cluster_t *c, kfk__breq *r);
/* Fill a JoinGroup / SyncGroup response with an error. */
void kfk__join_error(kfk__breq *r, int err);
void kfk__sync_error(kfk__breq *r, int err);
/* Fails whatever m has parked with err. */
void kfk__gmember_fail_parked(kfk_cluster_t *c, kfk__gmember *m, int err);
/* Removes and frees m, failing its parked requests with err; the caller
 * then calls kfk__group_members_changed. */
void kfk__group_remove_member(kfk_cluster_t *c, kfk__group *g, kfk__gmember *m, int err);
/* Forgets a pending member id; true if it was pending. */
bool kfk__group_take_pending(kfk__group *g, kfk__str id);
/* The checks SyncGroup, Heartbeat and OffsetCommit share: 0 with *out set,
 * FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION. */
int kfk__group_check_member(kfk__group *g, kfk__str member_id, kfk__str instance_id,
                            int32_t generation, kfk__gmember **out);

/* group_rebalance.c: members left or expired (rebalance, or finish the
 * join phase); the join phase may end now; the longest rebalance timeout
 * of the members. */
void kfk__group_members_changed(kfk_cluster_t *c, kfk__group *g, const char *why);
void kfk__group_maybe_complete_join(kfk_cluster_t *c, kfk__group *g);
int32_t kfk__group_max_rebalance_ms(const kfk__group *g);

/* ---- committed offsets (group_offsets.c) ---- */

kfk__goffset *kfk__goffset_find(kfk__group *g, const char *topic, int32_t tlen,
                                int32_t partition);
/* Stores (and with a data dir, logs) one commit. Returns 0 or NOMEM. */
int kfk__goffset_commit(kfk_cluster_t *c, kfk__group *g, const char *topic, int32_t tlen,
                        int32_t partition, int64_t offset, int32_t leader_epoch,
                        kfk__str meta, int64_t ts);
void kfk__goffset_delete(kfk_cluster_t *c, kfk__group *g, const char *topic, int32_t tlen,
                         int32_t partition);
/* With a data dir, logs g's membership: at the end of a rebalance (Stable
 * or Empty) and when a static member's id changes, as Kafka stores group
 * metadata. A restart brings the group back as it was logged. */
void kfk__group_store(kfk_cluster_t *c, kfk__group *g);
/* Forgets every offset of g (DeleteGroups), durably. */
void kfk__goffsets_clear(kfk_cluster_t *c, kfk__group *g);
void kfk__goffsets_free(kfk__group *g);
/* Opens / recovers the offsets log (data dir only). */
int kfk__goffsets_load(kfk_cluster_t *c, char *err, size_t errlen);
void kfk__goffsets_close(kfk_cluster_t *c);

#endif
