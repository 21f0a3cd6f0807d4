/*
 * handlers_meta.c: what a client asks first: ApiVersions, Metadata,
 * DescribeCluster and DescribeTopicPartitions. Metadata also auto-creates
 * topics when the cluster allows it, as Kafka does.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/server.h"

int kfk__h_api_versions(kfk__breq *r)
{
    kfk__api_versions_response *resp = r->resp;
    size_t n;
    const kfk__bapi *apis = kfk__bapi_list(&n);
    KFK__ARR(r, resp->api_keys, kfk__api_versions_response_api_version, (int32_t)n);
    if (!resp->api_keys.v)
        return KFK_ERR__NOMEM;
    for (size_t i = 0; i < n; i++) {
        resp->api_keys.v[i].api_key = apis[i].key;
        resp->api_keys.v[i].min_version = apis[i].min_ver;
        resp->api_keys.v[i].max_version = apis[i].max_ver;
    }
    return 0;
}

/* Running brokers, as Metadata / DescribeCluster list them. */
static int32_t up_brokers(kfk_cluster_t *c, kfk__bbroker **out)
{
    int32_t n = 0;
    for (int32_t i = 0; i < c->nbrokers; i++)
        if (c->brokers[i].up)
            out[n++] = &c->brokers[i];
    return n;
}

static int fill_partition(kfk__breq *r, kfk__metadata_response_partition *mp,
                          const kfk__bpart *p)
{
    int32_t offline[256];
    int32_t noff = 0;
    for (int32_t i = 0; i < p->nreplicas && noff < 256; i++) {
        kfk__bbroker *b = kfk__cluster_broker(r->c, p->replicas[i]);
        if (!b || !b->up)
            offline[noff++] = p->replicas[i];
    }
    mp->partition_index = p->id;
    mp->leader_id = p->leader;
    mp->leader_epoch = p->leader_epoch;
    mp->error_code = p->leader < 0 ? KFK_ERR_LEADER_NOT_AVAILABLE : 0;
    if (kfk__breq_i32s(r, &mp->replica_nodes, p->replicas, p->nreplicas) ||
        kfk__breq_i32s(r, &mp->isr_nodes, p->isr, p->nisr) ||
        kfk__breq_i32s(r, &mp->offline_replicas, offline, noff))
        return KFK_ERR__NOMEM;
    return 0;
}

static int fill_topic(kfk__breq *r, kfk__metadata_response_topic *mt, kfk__btopic *t)
{
    mt->name = kfk__s(t->name);
    mt->topic_id = t->id;
    mt->error_code = (int16_t)kfk__fault_take(r->c, r->b->id, 3, t->name,
                                              (int32_t)strlen(t->name), -1);
    KFK__ARR(r, mt->partitions, kfk__metadata_response_partition, t->npart);
    if (!mt->partitions.v)
        return KFK_ERR__NOMEM;
    for (int32_t p = 0; p < t->npart; p++)
        if (fill_partition(r, &mt->partitions.v[p], &t->parts[p]))
            return KFK_ERR__NOMEM;
    return 0;
}

/* A requested topic we do not have: create it if allowed. */
static kfk__btopic *maybe_create(kfk__breq *r, kfk__str name, bool allow, int16_t *err)
{
    char msg[256];
    if (!kfk__topic_name_valid(name.ptr, name.len)) {
        *err = KFK_ERR_INVALID_TOPIC_EXCEPTION;
        return NULL;
    }
    if (!allow || !r->c->auto_create) {
        *err = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    int e = kfk__cluster_create_topic(r->c, name.ptr, name.len, -1, -1, NULL, 0, false,
                                      msg, sizeof(msg));
    if (e) {
        *err = (int16_t)(e < 0 ? KFK_ERR_UNKNOWN_SERVER_ERROR : e);
        return NULL;
    }
    /* Kafka answers LEADER_NOT_AVAILABLE for a topic it just created; our
     * leaders exist at once, so the topic is answered in full. */
    return kfk__cluster_topic(r->c, name.ptr, name.len);
}

int kfk__h_metadata(kfk__breq *r)
{
    kfk__metadata_request *req = r->body;
    kfk__metadata_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    kfk__bbroker *bs[64];
    int32_t nb = up_brokers(c, bs);
    KFK__ARR(r, resp->brokers, kfk__metadata_response_broker, nb);
    for (int32_t i = 0; i < nb && resp->brokers.v; i++) {
        resp->brokers.v[i].node_id = bs[i]->id;
        resp->brokers.v[i].host = kfk__s(bs[i]->host);
        resp->brokers.v[i].port = bs[i]->port;
        resp->brokers.v[i].rack = kfk__s(bs[i]->rack);
    }
    resp->cluster_id = kfk__s(c->cluster_id);
    resp->controller_id = c->controller_id;
    /* v0: an empty list means all topics; v1+: null means all. */
    bool all = req->topics.n < 0 || (r->version == 0 && req->topics.n == 0);
    bool allow = r->version < 4 || req->allow_auto_topic_creation;
    int32_t n = all ? c->ntopics : req->topics.n;
    KFK__ARR(r, resp->topics, kfk__metadata_response_topic, n);
    if (n > 0 && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__metadata_response_topic *mt = &resp->topics.v[i];
        kfk__btopic *t;
        if (all) {
            t = c->topics[i];
        } else {
            kfk__metadata_request_topic *rt = &req->topics.v[i];
            static const kfk__uuid zero;
            if (rt->name.len < 0) {
                t = kfk__cluster_topic_by_id(c, &rt->topic_id);
                mt->topic_id = rt->topic_id;
                if (!t || !memcmp(&rt->topic_id, &zero, sizeof(zero))) {
                    mt->error_code = KFK_ERR_UNKNOWN_TOPIC_ID;
                    continue;
                }
            } else {
                mt->name = rt->name;
                t = kfk__cluster_topic(c, rt->name.ptr, rt->name.len);
                if (!t && !(t = maybe_create(r, rt->name, allow, &mt->error_code)))
                    continue;
            }
        }
        if (fill_topic(r, mt, t))
            return KFK_ERR__NOMEM;
    }
    return 0;
}

int kfk__h_describe_cluster(kfk__breq *r)
{
    kfk__describe_cluster_response *resp = r->resp;
    kfk__bbroker *bs[64];
    int32_t nb = up_brokers(r->c, bs);
    KFK__ARR(r, resp->brokers, kfk__describe_cluster_response_broker, nb);
    for (int32_t i = 0; i < nb && resp->brokers.v; i++) {
        resp->brokers.v[i].broker_id = bs[i]->id;
        resp->brokers.v[i].host = kfk__s(bs[i]->host);
        resp->brokers.v[i].port = bs[i]->port;
        resp->brokers.v[i].rack = kfk__s(bs[i]->rack);
    }
    resp->cluster_id = kfk__s(r->c->cluster_id);
    resp->controller_id = r->c->controller_id;
    resp->error_code = (int16_t)kfk__fault_take(r->c, r->b->id, 60, NULL, 0, -1);
    return 0;
}

static int describe_partitions(kfk__breq *r, kfk__describe_topic_partitions_response_topic *rt,
                               kfk__btopic *t, int32_t first, int32_t limit)
{
    int32_t n = t->npart - first;
    if (n > limit)
        n = limit;
    if (n < 0)
        n = 0;
    KFK__ARR(r, rt->partitions, kfk__describe_topic_partitions_response_partition, n);
    if (n > 0 && !rt->partitions.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kfk__bpart *p = &t->parts[first + i];
        kfk__describe_topic_partitions_response_partition *o = &rt->partitions.v[i];
        o->partition_index = p->id;
        o->leader_id = p->leader;
        o->leader_epoch = p->leader_epoch;
        o->error_code = p->leader < 0 ? KFK_ERR_LEADER_NOT_AVAILABLE : 0;
        if (kfk__breq_i32s(r, &o->replica_nodes, p->replicas, p->nreplicas) ||
            kfk__breq_i32s(r, &o->isr_nodes, p->isr, p->nisr) ||
            kfk__breq_i32s(r, &o->eligible_leader_replicas, NULL, 0) ||
            kfk__breq_i32s(r, &o->offline_replicas, NULL, 0))
            return KFK_ERR__NOMEM;
    }
    return n;
}

/* Topics sorted by name, as DescribeTopicPartitions pages through them. */
static int cmp_topic(const void *a, const void *b)
{
    return strcmp((*(kfk__btopic *const *)a)->name, (*(kfk__btopic *const *)b)->name);
}

int kfk__h_describe_topic_partitions(kfk__breq *r)
{
    kfk__describe_topic_partitions_request *req = r->body;
    kfk__describe_topic_partitions_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int32_t limit = req->response_partition_limit > 0 ? req->response_partition_limit : 2000;
    int32_t n = req->topics.n > 0 ? req->topics.n : c->ntopics;
    kfk__btopic **ts = kfk__breq_alloc(r, (size_t)(n > 0 ? n : 1) * sizeof(*ts));
    if (!ts)
        return KFK_ERR__NOMEM;
    int32_t nt = 0;
    if (req->topics.n > 0) {
        for (int32_t i = 0; i < n; i++)
            ts[nt++] = kfk__cluster_topic(c, req->topics.v[i].name.ptr, req->topics.v[i].name.len);
    } else {
        memcpy(ts, c->topics, (size_t)c->ntopics * sizeof(*ts));
        nt = c->ntopics;
        qsort(ts, (size_t)nt, sizeof(*ts), cmp_topic);
    }
    KFK__ARR(r, resp->topics, kfk__describe_topic_partitions_response_topic, nt);
    if (nt > 0 && !resp->topics.v)
        return KFK_ERR__NOMEM;
    int32_t out = 0;
    bool started = !req->cursor;
    for (int32_t i = 0; i < nt; i++) {
        kfk__describe_topic_partitions_response_topic *rt = &resp->topics.v[out];
        int32_t first = 0;
        if (!ts[i]) {
            rt->name = req->topics.v[i].name;
            rt->error_code = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            out++;
            continue;
        }
        if (!started) {
            if (!kfk__str_eq(req->cursor->topic_name, ts[i]->name))
                continue;
            started = true;
            first = req->cursor->partition_index;
        }
        if (limit <= 0) {
            resp->next_cursor = kfk__breq_alloc(r, sizeof(*resp->next_cursor));
            if (!resp->next_cursor)
                return KFK_ERR__NOMEM;
            resp->next_cursor->topic_name = kfk__s(ts[i]->name);
            resp->next_cursor->partition_index = first;
            break;
        }
        rt->name = kfk__s(ts[i]->name);
        rt->topic_id = ts[i]->id;
        int got = describe_partitions(r, rt, ts[i], first, limit);
        if (got < 0)
            return got;
        limit -= got;
        out++;
        if (first + got < ts[i]->npart) {
            resp->next_cursor = kfk__breq_alloc(r, sizeof(*resp->next_cursor));
            if (!resp->next_cursor)
                return KFK_ERR__NOMEM;
            resp->next_cursor->topic_name = kfk__s(ts[i]->name);
            resp->next_cursor->partition_index = first + got;
            break;
        }
    }
    resp->topics.n = out;
    return 0;
}
