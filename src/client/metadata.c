/*
 * metadata.c: the client's metadata cache (see metadata.h). Topics live in
 * a sorted array searched by binary search: updates are rare next to
 * lookups, and a sorted array keeps lookups cache-friendly and simple.
 */
#include "client/metadata.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

int kfk__mdcache_init(kfk__mdcache *md)
{
    memset(md, 0, sizeof(*md));
    md->controller_id = -1;
    return pthread_rwlock_init(&md->lock, NULL) ? KFK_ERR__NOMEM : 0;
}

static void free_topic(kfk__md_topic *t)
{
    kfk__free(t->name);
    kfk__free(t->parts);
}

void kfk__mdcache_destroy(kfk__mdcache *md)
{
    if (!md)
        return;
    for (int32_t i = 0; i < md->ntopics; i++)
        free_topic(&md->topics[i]);
    kfk__free(md->topics);
    kfk__free(md->brokers);
    pthread_rwlock_destroy(&md->lock);
}

/* Index of name, or -(insertion point) - 1. */
static int32_t find(const kfk__mdcache *md, const char *name, size_t len)
{
    int32_t lo = 0, hi = md->ntopics - 1;
    while (lo <= hi) {
        int32_t mid = (lo + hi) / 2;
        const char *n = md->topics[mid].name;
        int c = strncmp(n, name, len);
        if (c == 0)
            c = n[len] ? 1 : 0;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

static int insert(kfk__mdcache *md, int32_t at, const char *name, size_t len)
{
    if (md->ntopics == md->captopics) {
        int32_t cap = md->captopics ? md->captopics * 2 : 16;
        kfk__md_topic *t = kfk__realloc(md->topics, (size_t)cap * sizeof(*t));
        if (!t)
            return KFK_ERR__NOMEM;
        md->topics = t;
        md->captopics = cap;
    }
    char *n = kfk__strndup(name, len);
    if (!n)
        return KFK_ERR__NOMEM;
    memmove(&md->topics[at + 1], &md->topics[at],
            (size_t)(md->ntopics - at) * sizeof(*md->topics));
    memset(&md->topics[at], 0, sizeof(*md->topics));
    md->topics[at].name = n;
    md->ntopics++;
    return 0;
}

/* Replaces a topic's partitions from the response, keeping newer epochs
 * we already know unless the topic id changed. */
static int update_topic(kfk__md_topic *t, const kfk__metadata_response_topic *rt, int64_t now)
{
    bool same_id = !memcmp(&t->id, &rt->topic_id, sizeof(t->id));
    int32_t n = rt->partitions.n > 0 ? rt->partitions.n : 0;
    kfk__md_part *parts = NULL;
    if (n) {
        parts = kfk__calloc((size_t)n, sizeof(*parts));
        if (!parts)
            return KFK_ERR__NOMEM;
        for (int32_t i = 0; i < n; i++)
            parts[i].leader = -1;
    }
    for (int32_t i = 0; i < n; i++) {
        const kfk__metadata_response_partition *rp = &rt->partitions.v[i];
        if (rp->partition_index < 0 || rp->partition_index >= n)
            continue; /* a broker bug; skip rather than trust it */
        kfk__md_part *p = &parts[rp->partition_index];
        p->leader = rp->leader_id;
        p->leader_epoch = rp->leader_epoch;
        p->error = rp->error_code;
        if (same_id && rp->partition_index < t->npart) {
            const kfk__md_part *old = &t->parts[rp->partition_index];
            if (old->leader_epoch > rp->leader_epoch && rp->leader_epoch >= 0)
                *p = *old; /* stale answer: keep what we know */
        }
    }
    kfk__free(t->parts);
    t->parts = parts;
    t->npart = n;
    t->id = rt->topic_id;
    t->error = rt->error_code;
    t->updated_ms = now;
    return 0;
}

static int update_brokers(kfk__mdcache *md, const kfk__metadata_response *resp)
{
    int32_t n = resp->brokers.n > 0 ? resp->brokers.n : 0;
    kfk__md_broker *b = n ? kfk__calloc((size_t)n, sizeof(*b)) : NULL;
    if (n && !b)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kfk__metadata_response_broker *rb = &resp->brokers.v[i];
        b[i].id = rb->node_id;
        b[i].port = rb->port;
        snprintf(b[i].host, sizeof(b[i].host), "%.*s", rb->host.len > 0 ? (int)rb->host.len : 0,
                 rb->host.ptr ? rb->host.ptr : "");
        snprintf(b[i].rack, sizeof(b[i].rack), "%.*s", rb->rack.len > 0 ? (int)rb->rack.len : 0,
                 rb->rack.ptr ? rb->rack.ptr : "");
    }
    kfk__free(md->brokers);
    md->brokers = b;
    md->nbrokers = n;
    return 0;
}

int kfk__mdcache_update(kfk__mdcache *md, const kfk__metadata_response *resp,
                        bool all_topics, int64_t now_ms)
{
    int e = 0;
    pthread_rwlock_wrlock(&md->lock);
    if (resp->brokers.n > 0 && (e = update_brokers(md, resp)))
        goto out;
    snprintf(md->cluster_id, sizeof(md->cluster_id), "%.*s",
             resp->cluster_id.len > 0 ? (int)resp->cluster_id.len : 0,
             resp->cluster_id.ptr ? resp->cluster_id.ptr : "");
    md->controller_id = resp->controller_id;
    for (int32_t i = 0; i < resp->topics.n; i++) {
        const kfk__metadata_response_topic *rt = &resp->topics.v[i];
        if (rt->name.len <= 0)
            continue;
        int32_t at = find(md, rt->name.ptr, (size_t)rt->name.len);
        if (at < 0) {
            at = -at - 1;
            if ((e = insert(md, at, rt->name.ptr, (size_t)rt->name.len)))
                goto out;
        }
        if ((e = update_topic(&md->topics[at], rt, now_ms)))
            goto out;
    }
    if (all_topics) { /* topics the cluster no longer has */
        int32_t k = 0;
        for (int32_t i = 0; i < md->ntopics; i++) {
            if (md->topics[i].updated_ms == now_ms)
                md->topics[k++] = md->topics[i];
            else
                free_topic(&md->topics[i]);
        }
        md->ntopics = k;
    }
    md->updated_ms = now_ms;
out:
    pthread_rwlock_unlock(&md->lock);
    return e;
}

int32_t kfk__mdcache_partition_count(kfk__mdcache *md, const char *topic)
{
    pthread_rwlock_rdlock(&md->lock);
    int32_t at = find(md, topic, strlen(topic));
    int32_t n = 0;
    if (at >= 0)
        n = md->topics[at].error ? -md->topics[at].error : md->topics[at].npart;
    pthread_rwlock_unlock(&md->lock);
    return n;
}

bool kfk__mdcache_leader(kfk__mdcache *md, const char *topic, int32_t partition,
                         int32_t *leader, int32_t *epoch)
{
    bool ok = false;
    pthread_rwlock_rdlock(&md->lock);
    int32_t at = find(md, topic, strlen(topic));
    if (at >= 0 && partition >= 0 && partition < md->topics[at].npart) {
        const kfk__md_part *p = &md->topics[at].parts[partition];
        *leader = p->leader;
        *epoch = p->leader_epoch;
        ok = p->leader >= 0;
    }
    pthread_rwlock_unlock(&md->lock);
    return ok;
}

void kfk__mdcache_set_leader(kfk__mdcache *md, const char *topic, int32_t partition,
                             int32_t leader, int32_t epoch)
{
    pthread_rwlock_wrlock(&md->lock);
    int32_t at = find(md, topic, strlen(topic));
    if (at >= 0 && partition >= 0 && partition < md->topics[at].npart) {
        kfk__md_part *p = &md->topics[at].parts[partition];
        if (epoch > p->leader_epoch) {
            p->leader = leader;
            p->leader_epoch = epoch;
        }
    }
    pthread_rwlock_unlock(&md->lock);
}

bool kfk__mdcache_broker(kfk__mdcache *md, int32_t id, kfk__md_broker *out)
{
    bool ok = false;
    pthread_rwlock_rdlock(&md->lock);
    for (int32_t i = 0; i < md->nbrokers && !ok; i++)
        if (md->brokers[i].id == id) {
            *out = md->brokers[i];
            ok = true;
        }
    pthread_rwlock_unlock(&md->lock);
    return ok;
}
