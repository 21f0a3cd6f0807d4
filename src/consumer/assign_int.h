/*
 * assign_int.h: what the built-in assignors share. Each of them needs the
 * same view of its input: topics sorted by name (Java iterates a sorted
 * set), members in the Java client's MemberInfo order, who subscribes to
 * what as small sorted index lists, and a way to turn (topic, partition)
 * pairs into the sorted output. kfk__asg_prep builds that view once.
 */
#ifndef KFK_CONSUMER_ASSIGN_INT_H
#define KFK_CONSUMER_ASSIGN_INT_H

#include "consumer/assignor.h"

/*
 * Topics are named by their rank in name order ("topic rank"), members by
 * their rank in MemberInfo order ("member rank"): static members first,
 * ordered by group.instance.id, then dynamic ones by member id, compared
 * byte by byte (Java compares UTF-16 units; the two orders differ only
 * for characters above U+FFFF against U+E000..U+FFFF).
 */
typedef struct kfk__asg_prep {
    const kfk__assign_group *g;
    int32_t nt;      /* metadata topics */
    int32_t *t_idx;  /* topic rank -> index in g->topics */
    int32_t *t_cnt;  /* topic rank -> partition count */
    int32_t *t_hash; /* open addressing: topic rank + 1, 0 empty */
    uint32_t t_mask; /* t_hash has t_mask + 1 slots */
    int32_t nm;      /* members */
    int32_t *m_idx;  /* member rank -> index in g->members */
    /* Member rank m subscribes to topic ranks sub[sub_off[m] ..
     * sub_off[m + 1]), ascending, without duplicates; topics without
     * metadata are left out. */
    int32_t *sub_off, *sub;
    /* Topic rank t's subscribers: member ranks tsub[tsub_off[t] ..
     * tsub_off[t + 1]), ascending. */
    int32_t *tsub_off, *tsub;
} kfk__asg_prep;

/* Builds p for g. Returns 0, KFK_ERR__NOMEM or KFK_ERR__INVALID_ARG
 * (duplicate names or ids, negative counts, NULL names). */
int kfk__asg_prep_init(kfk__asg_prep *p, const kfk__assign_group *g);
void kfk__asg_prep_free(kfk__asg_prep *p);

/* The rank of topic name (len bytes, not NUL-terminated), or -1 when the
 * metadata lacks it. */
int32_t kfk__asg_topic_rank(const kfk__asg_prep *p, const char *name,
                            size_t len);

/* True if member rank m subscribes to topic rank t. */
bool kfk__asg_subscribed(const kfk__asg_prep *p, int32_t m, int32_t t);

/* A topic-partition as one sortable number: topic rank, then partition. */
static inline uint64_t kfk__asg_key(int32_t t, int32_t partition)
{
    return (uint64_t)(uint32_t)t << 32 | (uint32_t)partition;
}

/* A growable list of keys: one member's assignment while it is built. */
typedef struct kfk__asg_list {
    uint64_t *v;
    int32_t n, cap;
} kfk__asg_list;

int kfk__asg_push(kfk__asg_list *l, uint64_t key); /* 0 or NOMEM */

/* Writes lists[m] (indexed by member rank, keys in any order) to out
 * (indexed as g->members) in arena, sorted. Returns 0, NOMEM or TOO_LARGE. */
int kfk__asg_emit(const kfk__asg_prep *p, kfk__asg_list *lists,
                  kfk__arena *arena, kfk__member_assignment *out);

/* qsort comparator for uint64_t keys. */
int kfk__asg_cmp_u64(const void *x, const void *y);

/* The error for a failed kfk__arena_alloc of n bytes: TOO_LARGE past the
 * arena's cap, NOMEM otherwise. */
int kfk__asg_arena_err(const kfk__arena *a, size_t n);

/* Frees nm lists and the array holding them. NULL is fine. */
void kfk__asg_lists_free(kfk__asg_list *lists, int32_t nm);

#endif
