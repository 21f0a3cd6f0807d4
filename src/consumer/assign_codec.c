/*
 * assign_codec.c: the bytes of the consumer protocol, the Metadata a
 * member sends in JoinGroup (ConsumerProtocolSubscription) and the
 * Assignment the leader sends in SyncGroup (ConsumerProtocolAssignment).
 * Both are an int16 version followed by a body the generated codec reads
 * and writes. The definitions promise that newer versions only append
 * fields, so a newer version is read as the newest known one and unread
 * trailing bytes are no error. Decoded values are copied into the arena
 * as NUL-terminated strings, the shape the assignors take.
 */
#include "consumer/assign_int.h"

#include <kfk/error.h>
#include <string.h>

#include "proto/gen/consumer_protocol_assignment.h"
#include "proto/gen/consumer_protocol_subscription.h"

#define ARENA_CAP ((size_t)64 << 20)

/* ---- encoding -------------------------------------------------------- */

static void str_of(kfk__str *s, const char *c)
{
    *s = kfk__str_c(c);
}

/* Fills the codec's topic-partition array (both messages have the same
 * shape: a topic and an int32 array) from ours. */
#define FILL_TPS(arr, desc, src, cnt, a)                                       \
    do {                                                                       \
        if ((cnt) > 0) {                                                       \
            (arr).v = kfk__struct_array_new((a), &(desc), (cnt));              \
            if (!(arr).v)                                                      \
                return kfk__asg_arena_err((a),                                 \
                                          (size_t)(cnt) * sizeof(*(arr).v));   \
        }                                                                      \
        (arr).n = (cnt);                                                       \
        for (int32_t i_ = 0; i_ < (cnt); i_++) {                               \
            str_of(&(arr).v[i_].topic, (src)[i_].topic);                       \
            (arr).v[i_].partitions.v = (src)[i_].partitions;                   \
            (arr).v[i_].partitions.n = (src)[i_].n;                            \
        }                                                                      \
    } while (0)

static int fill_subscription(kfk__consumer_protocol_subscription *s,
                             const kfk__assign_member *m, kfk__arena *a)
{
    kfk__msg_init(&kfk__desc_consumer_protocol_subscription, s);
    if (m->ntopics > 0) {
        size_t sz = (size_t)m->ntopics * sizeof(kfk__str);
        if (!(s->topics.v = kfk__arena_alloc(a, sz)))
            return kfk__asg_arena_err(a, sz);
    }
    s->topics.n = m->ntopics;
    for (int32_t i = 0; i < m->ntopics; i++)
        str_of(&s->topics.v[i], m->topics[i]);
    if (m->user_data)
        s->user_data = (kfk__bytes){m->user_data, m->user_data_len};
    FILL_TPS(s->owned_partitions,
             kfk__consumer_protocol_subscription_topic_partition_desc, m->owned,
             m->nowned, a);
    s->generation_id = m->generation;
    str_of(&s->rack_id, m->rack);
    return 0;
}

/* Writes the version, then the body of msg. */
static int encode_versioned(const kfk__msg_desc *d, int16_t version,
                            const void *msg, kfk__wbuf *w)
{
    if (version < 0)
        return KFK_ERR__INVALID_ARG;
    kfk__wr_i16(w, version);
    int err = kfk__wbuf_err(w);
    return err ? err : kfk__encode(d, version, msg, w, NULL);
}

int kfk__subscription_encode(const kfk__assign_member *m, int16_t version,
                             kfk__wbuf *w)
{
    kfk__arena a;
    kfk__consumer_protocol_subscription s;
    kfk__arena_init(&a, ARENA_CAP);
    int err = fill_subscription(&s, m, &a);
    if (!err)
        err = encode_versioned(&kfk__desc_consumer_protocol_subscription,
                               version, &s, w);
    kfk__arena_free(&a);
    return err;
}

static int fill_assignment(kfk__consumer_protocol_assignment *s,
                           const kfk__member_assignment *m, kfk__arena *a)
{
    kfk__msg_init(&kfk__desc_consumer_protocol_assignment, s);
    FILL_TPS(s->assigned_partitions,
             kfk__consumer_protocol_assignment_topic_partition_desc, m->topics,
             m->ntopics, a);
    if (m->user_data)
        s->user_data = (kfk__bytes){m->user_data, m->user_data_len};
    return 0;
}

int kfk__assignment_encode(const kfk__member_assignment *m, int16_t version,
                           kfk__wbuf *w)
{
    kfk__arena a;
    kfk__consumer_protocol_assignment s;
    kfk__arena_init(&a, ARENA_CAP);
    int err = fill_assignment(&s, m, &a);
    if (!err)
        err = encode_versioned(&kfk__desc_consumer_protocol_assignment, version,
                               &s, w);
    kfk__arena_free(&a);
    return err;
}

/* ---- decoding -------------------------------------------------------- */

/* Reads the version and decodes the body as min(version, newest known),
 * leaving any bytes after the known fields unread. */
static int decode_versioned(const kfk__msg_desc *d, const uint8_t *buf,
                            size_t len, kfk__arena *a, void **out)
{
    kfk__rbuf r;
    int16_t version;
    kfk__rbuf_init(&r, buf, len);
    int err = kfk__rd_i16(&r, &version);
    if (err)
        return err;
    if (version < 0)
        return KFK_ERR__MALFORMED;
    if (version > d->max_ver)
        version = d->max_ver;
    size_t consumed;
    return kfk__decode(d, version, buf + 2, len - 2, a, out, &consumed, NULL);
}

/* A NUL-terminated copy of s in a; a null string stays NULL. */
static int copy_str(kfk__arena *a, kfk__str s, const char **out)
{
    *out = NULL;
    if (s.len < 0)
        return 0;
    if (s.len > 0 && memchr(s.ptr, 0, (size_t)s.len))
        return KFK_ERR__MALFORMED;
    char *c = kfk__arena_alloc(a, (size_t)s.len + 1);
    if (!c)
        return kfk__asg_arena_err(a, (size_t)s.len + 1);
    if (s.len)
        memcpy(c, s.ptr, (size_t)s.len);
    c[s.len] = '\0';
    *out = c;
    return 0;
}

static int copy_bytes(kfk__arena *a, kfk__bytes b, const uint8_t **out,
                      int32_t *len)
{
    *out = NULL;
    *len = 0;
    if (b.len < 0)
        return 0;
    uint8_t *c = kfk__arena_alloc(a, (size_t)b.len + 1);
    if (!c)
        return kfk__asg_arena_err(a, (size_t)b.len + 1);
    if (b.len)
        memcpy(c, b.ptr, (size_t)b.len);
    *out = c;
    *len = b.len;
    return 0;
}

/* Copies the codec's topic-partition array into ours; partitions keep
 * pointing into the arena the codec decoded them into. */
#define COPY_TPS(dst, ndst, arr, a)                                            \
    do {                                                                       \
        int32_t n_ = (arr).n > 0 ? (arr).n : 0;                                \
        kfk__assign_tp *v_ = NULL;                                             \
        if (n_) {                                                              \
            size_t sz_ = (size_t)n_ * sizeof(*v_);                             \
            if (!(v_ = kfk__arena_alloc((a), sz_)))                            \
                return kfk__asg_arena_err((a), sz_);                           \
        }                                                                      \
        for (int32_t i_ = 0; i_ < n_; i_++) {                                  \
            int e_ = copy_str((a), (arr).v[i_].topic, &v_[i_].topic);          \
            if (e_)                                                            \
                return e_;                                                     \
            if (!v_[i_].topic)                                                 \
                return KFK_ERR__MALFORMED;                                     \
            v_[i_].partitions = (arr).v[i_].partitions.v;                      \
            v_[i_].n =                                                         \
                (arr).v[i_].partitions.n > 0 ? (arr).v[i_].partitions.n : 0;   \
        }                                                                      \
        (dst) = v_;                                                            \
        (ndst) = n_;                                                           \
    } while (0)

int kfk__subscription_decode(const uint8_t *buf, size_t len, kfk__arena *arena,
                             kfk__assign_member *m)
{
    kfk__consumer_protocol_subscription *s;
    memset(m, 0, sizeof(*m));
    m->generation = -1;
    int err = decode_versioned(&kfk__desc_consumer_protocol_subscription, buf,
                               len, arena, (void **)&s);
    if (err)
        return err;
    int32_t nt = s->topics.n > 0 ? s->topics.n : 0;
    const char **topics = NULL;
    if (nt) {
        size_t sz = (size_t)nt * sizeof(*topics);
        if (!(topics = kfk__arena_alloc(arena, sz)))
            return kfk__asg_arena_err(arena, sz);
    }
    for (int32_t i = 0; i < nt; i++) {
        if ((err = copy_str(arena, s->topics.v[i], &topics[i])))
            return err;
        if (!topics[i])
            return KFK_ERR__MALFORMED;
    }
    m->topics = topics;
    m->ntopics = nt;
    if ((err =
             copy_bytes(arena, s->user_data, &m->user_data, &m->user_data_len)))
        return err;
    COPY_TPS(m->owned, m->nowned, s->owned_partitions, arena);
    m->generation = s->generation_id;
    return copy_str(arena, s->rack_id, &m->rack);
}

int kfk__assignment_decode(const uint8_t *buf, size_t len, kfk__arena *arena,
                           kfk__member_assignment *a)
{
    kfk__consumer_protocol_assignment *s;
    memset(a, 0, sizeof(*a));
    int err = decode_versioned(&kfk__desc_consumer_protocol_assignment, buf,
                               len, arena, (void **)&s);
    if (err)
        return err;
    kfk__assign_tp *tps;
    COPY_TPS(tps, a->ntopics, s->assigned_partitions, arena);
    a->topics = tps;
    return copy_bytes(arena, s->user_data, &a->user_data, &a->user_data_len);
}
