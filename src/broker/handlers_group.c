/*
 * handlers_group.c: the group coordinator's requests besides membership
 * (which is group.c): FindCoordinator, OffsetCommit / OffsetFetch /
 * OffsetDelete, and the group admin APIs DescribeGroups / ListGroups /
 * DeleteGroups. Errors are answered where each response carries them, and
 * injected faults (kfk_cluster_inject_error) are taken at that same level:
 * per partition for OffsetCommit, per group or coordinator key elsewhere.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "broker/group.h"
#include "common/alloc.h"

#define KEY_GROUP 0
#define KEY_TRANSACTION 1
#define MAX_METADATA 4096 /* offset.metadata.max.bytes */

/* ---- FindCoordinator --------------------------------------------------------- */

typedef struct coord_answer {
    int16_t err;
    int32_t node;
    kfk__str host;
    int32_t port;
    kfk__str msg;
} coord_answer;

static coord_answer find_one(kfk__breq *r, kfk__str key, int8_t type)
{
    coord_answer a = {0, -1, KFK__STR(""), -1, KFK__STR_NULL};
    int e = kfk__fault_take(r->c, r->b->id, r->api_key, NULL, 0, -1);
    int32_t node = -1;
    if (!e && type == KEY_TRANSACTION) {
        e = KFK_ERR_COORDINATOR_NOT_AVAILABLE;
        a.msg = KFK__STR("transactions are not implemented by the kfk reference broker");
    } else if (!e && type != KEY_GROUP) {
        e = KFK_ERR_INVALID_REQUEST;
        a.msg = KFK__STR("unknown coordinator key type");
    } else if (!e && (key.len <= 0 || memchr(key.ptr, 0, (size_t)key.len))) {
        e = KFK_ERR_INVALID_REQUEST;
        a.msg = KFK__STR("empty group id");
    } else if (!e) {
        node = kfk__group_coordinator(r->c, key.ptr, key.len);
        if (node < 0)
            e = KFK_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    a.err = (int16_t)e;
    if (e) {
        if (!a.msg.ptr)
            a.msg = kfk__str_c(kfk_err_str(e));
        return a;
    }
    kfk__bbroker *b = kfk__cluster_broker(r->c, node);
    a.node = node;
    a.host = kfk__s(b->host);
    a.port = b->port;
    return a;
}

int kfk__h_find_coordinator(kfk__breq *r)
{
    kfk__find_coordinator_request *req = r->body;
    kfk__find_coordinator_response *resp = r->resp;
    if (r->version < 4) {
        coord_answer a = find_one(r, req->key, r->version >= 1 ? req->key_type : KEY_GROUP);
        resp->error_code = a.err;
        if (r->version >= 1)
            resp->error_message = a.msg;
        resp->node_id = a.node;
        resp->host = a.host;
        resp->port = a.port;
        return 0;
    }
    int32_t n = req->coordinator_keys.n > 0 ? req->coordinator_keys.n : 0;
    KFK__ARR(r, resp->coordinators, kfk__find_coordinator_response_coordinator, n);
    if (n && !resp->coordinators.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__find_coordinator_response_coordinator *o = &resp->coordinators.v[i];
        coord_answer a = find_one(r, req->coordinator_keys.v[i], req->key_type);
        o->key = req->coordinator_keys.v[i].len >= 0 ? req->coordinator_keys.v[i] : KFK__STR("");
        o->error_code = a.err;
        o->error_message = a.msg;
        o->node_id = a.node;
        o->host = a.host;
        o->port = a.port;
    }
    return 0;
}

/* ---- OffsetCommit -------------------------------------------------------------- */

int kfk__h_offset_commit(kfk__breq *r)
{
    kfk__offset_commit_request *req = r->body;
    kfk__offset_commit_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int gerr = kfk__group_check(r, req->group_id);
    kfk__group *g = gerr ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    /* v0 has no generation: its default (-1) makes it a "simple" commit. */
    if (!gerr)
        gerr = kfk__group_commit_check(g, req->generation_id_or_member_epoch, req->member_id,
                                       req->group_instance_id);
    if (!gerr && !g && !(g = kfk__group_find(c, req->group_id.ptr, req->group_id.len, true)))
        return KFK_ERR__NOMEM;
    int64_t now = kfk__wall_ms();
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__offset_commit_response_topic, nt);
    if (nt && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        const kfk__offset_commit_request_topic *t = &req->topics.v[i];
        kfk__offset_commit_response_topic *ot = &resp->topics.v[i];
        ot->name = t->name.len >= 0 ? t->name : KFK__STR("");
        int32_t np = t->partitions.n > 0 ? t->partitions.n : 0;
        KFK__ARR(r, ot->partitions, kfk__offset_commit_response_partition, np);
        if (np && !ot->partitions.v)
            return KFK_ERR__NOMEM;
        kfk__btopic *bt = kfk__cluster_topic(c, t->name.ptr, t->name.len);
        for (int32_t k = 0; k < np; k++) {
            const kfk__offset_commit_request_partition *p = &t->partitions.v[k];
            int e = kfk__fault_take(c, r->b->id, r->api_key, t->name.ptr, t->name.len,
                                    p->partition_index);
            if (!e)
                e = gerr;
            if (!e && (!bt || p->partition_index < 0 || p->partition_index >= bt->npart))
                e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            if (!e && p->committed_metadata.len > MAX_METADATA)
                e = KFK_ERR_OFFSET_METADATA_TOO_LARGE;
            if (!e)
                e = kfk__goffset_commit(c, g, bt->name, (int32_t)strlen(bt->name),
                                        p->partition_index, p->committed_offset,
                                        r->version >= 6 ? p->committed_leader_epoch : -1,
                                        p->committed_metadata,
                                        r->version == 1 && p->commit_timestamp >= 0
                                            ? p->commit_timestamp
                                            : now);
            if (e < 0)
                e = KFK_ERR_UNKNOWN_SERVER_ERROR;
            ot->partitions.v[k].partition_index = p->partition_index;
            ot->partitions.v[k].error_code = (int16_t)e;
        }
    }
    return 0;
}

/* ---- OffsetFetch ----------------------------------------------------------------- */

/* The answer for one partition, shared by the v0-7 and v8+ layouts (the
 * generated structs differ only in name). */
typedef struct fetched {
    int64_t offset;
    int32_t epoch;
    kfk__str meta;
} fetched;

static fetched fetch_one(kfk__group *g, kfk__str topic, int32_t partition)
{
    fetched f = {-1, -1, KFK__STR("")};
    kfk__goffset *o = g && topic.len >= 0 ? kfk__goffset_find(g, topic.ptr, topic.len, partition)
                                          : NULL;
    if (o) {
        f.offset = o->offset;
        f.epoch = o->leader_epoch;
        f.meta = kfk__s(o->meta);
    }
    return f;
}

/* Distinct topics of g's offsets, in commit order. */
static int32_t offset_topics(kfk__breq *r, kfk__group *g, const char ***out)
{
    int32_t n = 0;
    const char **names = kfk__breq_alloc(r, (size_t)(g && g->noffsets ? g->noffsets : 1) *
                                                sizeof(char *));
    if (!names)
        return -1;
    for (int32_t i = 0; g && i < g->noffsets; i++) {
        bool seen = false;
        for (int32_t k = 0; k < n && !seen; k++)
            seen = !strcmp(names[k], g->offsets[i].topic);
        if (!seen)
            names[n++] = g->offsets[i].topic;
    }
    *out = names;
    return n;
}

/* The partitions answered for one group: the requested ones, or with a
 * null topic list (v2+) every committed offset. v0-7 and v8+ spell these
 * lists with differently named structs of the same shape; both are
 * answered in the v8+ shape, and v0-7 converted (fetch_v0_7). */
static int fill_group(kfk__breq *r, kfk__group *g, const kfk__offset_fetch_request_topics *in,
                      int32_t nin, int err, kfk__offset_fetch_response_group *out)
{
    const char **names = NULL;
    int32_t nt = nin;
    if (nin < 0 && (nt = offset_topics(r, g, &names)) < 0)
        return KFK_ERR__NOMEM;
    KFK__ARR(r, out->topics, kfk__offset_fetch_response_topics, nt);
    if (nt && !out->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        kfk__offset_fetch_response_topics *ot = &out->topics.v[i];
        ot->name = names ? kfk__s(names[i]) : in[i].name.len >= 0 ? in[i].name : KFK__STR("");
        int32_t np = 0;
        for (int32_t k = 0; names && k < g->noffsets; k++)
            np += !strcmp(g->offsets[k].topic, names[i]);
        if (!names)
            np = in[i].partition_indexes.n > 0 ? in[i].partition_indexes.n : 0;
        KFK__ARR(r, ot->partitions, kfk__offset_fetch_response_partitions, np);
        if (np && !ot->partitions.v)
            return KFK_ERR__NOMEM;
        int32_t j = 0;
        for (int32_t k = 0; names && k < g->noffsets; k++)
            if (!strcmp(g->offsets[k].topic, names[i]))
                ot->partitions.v[j++].partition_index = g->offsets[k].partition;
        for (j = 0; j < np; j++) {
            kfk__offset_fetch_response_partitions *op = &ot->partitions.v[j];
            if (!names)
                op->partition_index = in[i].partition_indexes.v[j];
            fetched f = fetch_one(err ? NULL : g, ot->name, op->partition_index);
            op->committed_offset = f.offset;
            op->committed_leader_epoch = f.epoch;
            op->metadata = f.meta;
            op->error_code = (int16_t)err;
        }
    }
    return 0;
}

/* OffsetFetch v0-7: one group, answered through fill_group. */
static int fetch_v0_7(kfk__breq *r, kfk__group *g, int err)
{
    kfk__offset_fetch_request *req = r->body;
    kfk__offset_fetch_response *resp = r->resp;
    int32_t nin = req->topics.n;
    kfk__offset_fetch_request_topics *in =
        kfk__breq_alloc(r, (size_t)(nin > 0 ? nin : 1) * sizeof(*in));
    if (!in)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nin; i++) {
        in[i].name = req->topics.v[i].name;
        in[i].partition_indexes.v = req->topics.v[i].partition_indexes.v;
        in[i].partition_indexes.n = req->topics.v[i].partition_indexes.n;
    }
    kfk__offset_fetch_response_group out;
    memset(&out, 0, sizeof(out));
    int e = fill_group(r, g, in, nin, err, &out);
    if (e)
        return e;
    KFK__ARR(r, resp->topics, kfk__offset_fetch_response_topic, out.topics.n);
    if (out.topics.n && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < out.topics.n; i++) {
        kfk__offset_fetch_response_topics *from = &out.topics.v[i];
        kfk__offset_fetch_response_topic *to = &resp->topics.v[i];
        to->name = from->name;
        KFK__ARR(r, to->partitions, kfk__offset_fetch_response_partition, from->partitions.n);
        if (from->partitions.n && !to->partitions.v)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < from->partitions.n; k++) {
            kfk__offset_fetch_response_partitions *pf = &from->partitions.v[k];
            kfk__offset_fetch_response_partition *pt = &to->partitions.v[k];
            pt->partition_index = pf->partition_index;
            pt->committed_offset = pf->committed_offset;
            if (r->version >= 5)
                pt->committed_leader_epoch = pf->committed_leader_epoch;
            pt->metadata = pf->metadata;
            pt->error_code = pf->error_code;
        }
    }
    return 0;
}

/* Group-level checks of OffsetFetch; RequireStable needs nothing since no
 * transactional offsets can be pending (transactions are not implemented). */
static int fetch_check(kfk__breq *r, kfk__str group_id, kfk__group **g)
{
    int e = kfk__fault_take(r->c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, group_id);
    *g = e ? NULL : kfk__group_find(r->c, group_id.ptr, group_id.len, false);
    return e;
}

int kfk__h_offset_fetch(kfk__breq *r)
{
    kfk__offset_fetch_request *req = r->body;
    kfk__offset_fetch_response *resp = r->resp;
    if (r->version < 8) {
        kfk__group *g;
        int e = fetch_check(r, req->group_id, &g);
        if (req->topics.n < 0 && r->version < 2)
            return KFK_ERR_INVALID_REQUEST; /* v0-1 cannot ask for all */
        /* v2+ carries the error at the top; partitions say it too, as
         * Kafka does, for clients that look only there. */
        if (r->version >= 2)
            resp->error_code = (int16_t)e;
        if (e && r->version >= 2 && req->topics.n < 0)
            return 0;
        return fetch_v0_7(r, g, e);
    }
    int32_t ng = req->groups.n > 0 ? req->groups.n : 0;
    KFK__ARR(r, resp->groups, kfk__offset_fetch_response_group, ng);
    if (ng && !resp->groups.v)
        return KFK_ERR__NOMEM;
    for (int32_t gi = 0; gi < ng; gi++) {
        kfk__offset_fetch_request_group *in = &req->groups.v[gi];
        kfk__offset_fetch_response_group *out = &resp->groups.v[gi];
        kfk__group *g;
        int e = fetch_check(r, in->group_id, &g);
        out->group_id = in->group_id.len >= 0 ? in->group_id : KFK__STR("");
        out->error_code = (int16_t)e;
        if (e)
            continue;
        if ((e = fill_group(r, g, in->topics.v, in->topics.n, 0, out)))
            return e;
    }
    return 0;
}

/* ---- OffsetDelete ----------------------------------------------------------------- */

/* Whether an active consumer group subscribes to topic: any member's
 * ConsumerProtocolSubscription (for the selected protocol) names it. */
static bool subscribed(kfk__breq *r, kfk__group *g, kfk__str topic)
{
    for (kfk__gmember *m = g->members; m; m = m->next) {
        kfk__bytes meta = kfk__gmember_meta(g, m);
        if (meta.len < 2)
            continue;
        int16_t v = (int16_t)((meta.ptr[0] << 8) | meta.ptr[1]);
        if (v < 0)
            continue;
        if (v > 3)
            v = 3; /* newer versions only add fields */
        void *out;
        size_t used;
        if (kfk__decode(&kfk__desc_consumer_protocol_subscription, v, meta.ptr + 2,
                        (size_t)meta.len - 2, &r->arena, &out, &used, NULL))
            continue;
        kfk__consumer_protocol_subscription *s = out;
        for (int32_t i = 0; i < s->topics.n; i++)
            if (s->topics.v[i].len == topic.len &&
                (topic.len == 0 || !memcmp(s->topics.v[i].ptr, topic.ptr, (size_t)topic.len)))
                return true;
    }
    return false;
}

int kfk__h_offset_delete(kfk__breq *r)
{
    kfk__offset_delete_request *req = r->body;
    kfk__offset_delete_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    kfk__group *g = e ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    if (!e && (!g || !g->exists))
        e = KFK_ERR_GROUP_ID_NOT_FOUND;
    bool active = !e && g->state != KFK__G_EMPTY;
    bool consumer = !e && g->protocol_type && !strcmp(g->protocol_type, "consumer");
    if (!e && active && !consumer)
        e = KFK_ERR_NON_EMPTY_GROUP;
    resp->error_code = (int16_t)e;
    if (e)
        return 0;
    int32_t nt = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__offset_delete_response_topic, nt);
    if (nt && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        const kfk__offset_delete_request_topic *t = &req->topics.v[i];
        kfk__offset_delete_response_topic *ot = &resp->topics.v[i];
        ot->name = t->name.len >= 0 ? t->name : KFK__STR("");
        int32_t np = t->partitions.n > 0 ? t->partitions.n : 0;
        KFK__ARR(r, ot->partitions, kfk__offset_delete_response_partition, np);
        if (np && !ot->partitions.v)
            return KFK_ERR__NOMEM;
        kfk__btopic *bt = kfk__cluster_topic(c, t->name.ptr, t->name.len);
        bool sub = active && subscribed(r, g, t->name);
        for (int32_t k = 0; k < np; k++) {
            int32_t p = t->partitions.v[k].partition_index;
            int pe = 0;
            if (!bt || p < 0 || p >= bt->npart)
                pe = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (sub)
                pe = KFK_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            else
                kfk__goffset_delete(c, g, t->name.ptr, t->name.len, p);
            ot->partitions.v[k].partition_index = p;
            ot->partitions.v[k].error_code = (int16_t)pe;
        }
    }
    return 0;
}

/* ---- DescribeGroups / ListGroups / DeleteGroups --------------------------------- */

static void describe_one(kfk__breq *r, kfk__str id,
                         kfk__describe_groups_response_described_group *o)
{
    o->group_id = id.len >= 0 ? id : KFK__STR("");
    o->group_state = KFK__STR("");
    o->protocol_type = KFK__STR("");
    o->protocol_data = KFK__STR("");
    int e = kfk__fault_take(r->c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, id);
    o->error_code = (int16_t)e;
    if (e)
        return;
    kfk__group *g = kfk__group_find(r->c, id.ptr, id.len, false);
    if (!g || !g->exists) {
        o->group_state = kfk__s(kfk__gstate_name(KFK__G_DEAD));
        return;
    }
    bool stable = g->state == KFK__G_STABLE;
    o->group_state = kfk__s(kfk__gstate_name(g->state));
    o->protocol_type = kfk__str_c(g->protocol_type ? g->protocol_type : "");
    o->protocol_data = kfk__str_c(stable && g->protocol ? g->protocol : "");
    KFK__ARR(r, o->members, kfk__describe_groups_response_described_group_member, g->nmembers);
    if (g->nmembers && !o->members.v) {
        o->error_code = KFK_ERR_UNKNOWN_SERVER_ERROR;
        o->members.n = 0;
        return;
    }
    int32_t i = 0;
    for (kfk__gmember *m = g->members; m; m = m->next, i++) {
        kfk__describe_groups_response_described_group_member *om = &o->members.v[i];
        om->member_id = kfk__s(m->id);
        if (r->version >= 4)
            om->group_instance_id = kfk__str_c(m->instance_id);
        om->client_id = kfk__s(m->client_id);
        om->client_host = kfk__s(m->client_host);
        /* Like Kafka: metadata and assignment only once the group is stable. */
        om->member_metadata = (kfk__bytes){(const uint8_t *)"", 0};
        om->member_assignment = (kfk__bytes){(const uint8_t *)"", 0};
        if (stable) {
            om->member_metadata = kfk__gmember_meta(g, m);
            if (m->assign_len > 0)
                om->member_assignment = (kfk__bytes){m->assign, m->assign_len};
        }
    }
}

int kfk__h_describe_groups(kfk__breq *r)
{
    kfk__describe_groups_request *req = r->body;
    kfk__describe_groups_response *resp = r->resp;
    int32_t n = req->groups.n > 0 ? req->groups.n : 0;
    KFK__ARR(r, resp->groups, kfk__describe_groups_response_described_group, n);
    if (n && !resp->groups.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++)
        describe_one(r, req->groups.v[i], &resp->groups.v[i]);
    return 0;
}

static bool in_filter(const kfk__str *v, int32_t n, const char *value)
{
    if (n <= 0)
        return true;
    for (int32_t i = 0; i < n; i++)
        if (v[i].len == (int32_t)strlen(value) && !strncasecmp(v[i].ptr, value, (size_t)v[i].len))
            return true;
    return false;
}

int kfk__h_list_groups(kfk__breq *r)
{
    kfk__list_groups_request *req = r->body;
    kfk__list_groups_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    resp->error_code = (int16_t)kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (resp->error_code)
        return 0;
    int32_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        int32_t i = 0;
        for (kfk__group *g = c->groups->list; g; g = g->next) {
            if (!g->exists || g->coord != r->b->id)
                continue;
            const char *state = kfk__gstate_name(g->state);
            if (r->version >= 4 && !in_filter(req->states_filter.v, req->states_filter.n, state))
                continue;
            if (r->version >= 5 && !in_filter(req->types_filter.v, req->types_filter.n, "classic"))
                continue;
            if (pass == 0) {
                n++;
                continue;
            }
            kfk__list_groups_response_listed_group *o = &resp->groups.v[i++];
            o->group_id = kfk__s(g->id);
            o->protocol_type = kfk__str_c(g->protocol_type ? g->protocol_type : "");
            if (r->version >= 4)
                o->group_state = kfk__s(state);
            if (r->version >= 5)
                o->group_type = KFK__STR("classic");
        }
        if (pass == 0) {
            KFK__ARR(r, resp->groups, kfk__list_groups_response_listed_group, n);
            if (n && !resp->groups.v)
                return KFK_ERR__NOMEM;
        }
    }
    return 0;
}

int kfk__h_delete_groups(kfk__breq *r)
{
    kfk__delete_groups_request *req = r->body;
    kfk__delete_groups_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int32_t n = req->groups_names.n > 0 ? req->groups_names.n : 0;
    KFK__ARR(r, resp->results, kfk__delete_groups_response_deletable_group_result, n);
    if (n && !resp->results.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__str id = req->groups_names.v[i];
        kfk__delete_groups_response_deletable_group_result *o = &resp->results.v[i];
        o->group_id = id.len >= 0 ? id : KFK__STR("");
        int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
        if (!e)
            e = kfk__group_check(r, id);
        kfk__group *g = e ? NULL : kfk__group_find(c, id.ptr, id.len, false);
        if (!e && (!g || !g->exists))
            e = KFK_ERR_GROUP_ID_NOT_FOUND;
        if (!e && g->nmembers > 0)
            e = KFK_ERR_NON_EMPTY_GROUP;
        if (!e)
            kfk__group_delete(c, g);
        o->error_code = (int16_t)e;
    }
    return 0;
}
