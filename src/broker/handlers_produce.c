/*
 * handlers_produce.c: Produce and InitProducerId. Produce checks
 * leadership and injected faults per partition, hands the batches to the
 * partition (which validates and applies the idempotence rules), answers
 * NOT_LEADER_OR_FOLLOWER with the new leader (KIP-951) where the version
 * carries it, and wakes parked fetches after appending.
 */
#include <stdio.h>
#include <string.h>

#include "broker/partition.h"
#include "broker/server.h"
#include "net/loop.h"

/* KIP-951: tell the client who leads now, and where that broker is. */
static void leader_hint(kfk__breq *r, kfk__produce_response_partition_produce_response *o,
                        const kfk__bpart *p, bool *need_endpoints)
{
    if (r->version < 10)
        return;
    o->current_leader.leader_id = p->leader;
    o->current_leader.leader_epoch = p->leader_epoch;
    if (p->leader >= 0)
        *need_endpoints = true;
}

static void add_endpoints(kfk__breq *r, kfk__produce_response *resp)
{
    kfk_cluster_t *c = r->c;
    int32_t n = 0;
    for (int32_t i = 0; i < c->nbrokers; i++)
        n += c->brokers[i].up;
    KFK__ARR(r, resp->node_endpoints, kfk__produce_response_node_endpoint, n);
    for (int32_t i = 0, k = 0; resp->node_endpoints.v && i < c->nbrokers; i++) {
        if (!c->brokers[i].up)
            continue;
        kfk__produce_response_node_endpoint *e = &resp->node_endpoints.v[k++];
        e->node_id = c->brokers[i].id;
        e->host = kfk__s(c->brokers[i].host);
        e->port = c->brokers[i].port;
        e->rack = kfk__s(c->brokers[i].rack);
    }
}

static void produce_partition(kfk__breq *r, kfk__str topic, kfk__btopic *t,
                              const kfk__produce_request_partition_produce_data *in,
                              kfk__produce_response_partition_produce_response *o,
                              int64_t now, bool *need_endpoints, bool *appended)
{
    kfk__produce_request *req = r->body;
    char msg[256] = "";
    o->index = in->index;
    o->base_offset = -1;
    o->log_append_time_ms = -1;
    o->log_start_offset = -1;
    kfk__bpart *p = t && in->index >= 0 && in->index < t->npart ? &t->parts[in->index] : NULL;
    int e = kfk__fault_take(r->c, r->b->id, 0, topic.ptr, topic.len, in->index);
    if (!e && !p)
        e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!e && req->acks != 0 && req->acks != 1 && req->acks != -1)
        e = KFK_ERR_INVALID_REQUIRED_ACKS;
    if (!e && p->leader != r->b->id) {
        e = KFK_ERR_NOT_LEADER_OR_FOLLOWER;
        leader_hint(r, o, p, need_endpoints);
    }
    if (!e && req->transactional_id.len >= 0) {
        e = KFK_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        snprintf(msg, sizeof(msg), "transactions are not supported by the kfk reference "
                 "broker yet");
    }
    if (!e && (in->records.len <= 0)) {
        e = KFK_ERR_INVALID_RECORD;
        snprintf(msg, sizeof(msg), "no record batch");
    }
    if (!e) {
        kfk__append_result res;
        e = kfk__partition_produce(r->c, t, p, in->records.ptr, (size_t)in->records.len, now,
                                   &res, msg, sizeof(msg));
        if (!e) {
            o->base_offset = res.base_offset;
            o->log_append_time_ms = res.log_append_time;
            o->log_start_offset = res.log_start;
            *appended = true;
        }
    }
    o->error_code = (int16_t)e;
    if (msg[0]) {
        o->error_message = kfk__s(kfk__breq_strdup(r, kfk__s(msg)));
        kfk__blog(r->c, 5, "broker %d: produce to %.*s [%d] from %s: %s: %s", (int)r->b->id,
                  (int)topic.len, topic.ptr, (int)in->index, r->client_id, kfk_err_name(e), msg);
    }
}

int kfk__h_produce(kfk__breq *r)
{
    kfk__produce_request *req = r->body;
    kfk__produce_response *resp = r->resp;
    int32_t nt = req->topic_data.n > 0 ? req->topic_data.n : 0;
    bool need_endpoints = false, appended = false;
    int64_t now = kfk__wall_ms();
    KFK__ARR(r, resp->responses, kfk__produce_response_topic_produce_response, nt);
    if (nt && !resp->responses.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        kfk__produce_request_topic_produce_data *td = &req->topic_data.v[i];
        kfk__produce_response_topic_produce_response *to = &resp->responses.v[i];
        kfk__btopic *t = kfk__cluster_topic(r->c, td->name.ptr, td->name.len);
        int32_t np = td->partition_data.n > 0 ? td->partition_data.n : 0;
        to->name = td->name;
        KFK__ARR(r, to->partition_responses, kfk__produce_response_partition_produce_response,
                 np);
        if (np && !to->partition_responses.v)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < np; k++)
            produce_partition(r, td->name, t, &td->partition_data.v[k],
                              &to->partition_responses.v[k], now, &need_endpoints, &appended);
    }
    if (need_endpoints)
        add_endpoints(r, resp);
    if (req->acks == 0)
        r->no_response = true;
    if (appended)
        kfk__fetch_wakeup(r->c);
    return 0;
}

int kfk__h_init_producer_id(kfk__breq *r)
{
    kfk__init_producer_id_request *req = r->body;
    kfk__init_producer_id_response *resp = r->resp;
    int e = kfk__fault_take(r->c, r->b->id, 22, NULL, 0, -1);
    if (!e && req->transactional_id.len >= 0)
        e = KFK_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* not yet supported */
    resp->error_code = (int16_t)e;
    if (e) {
        resp->producer_id = -1;
        resp->producer_epoch = -1;
        return 0;
    }
    /* An idempotent producer always gets a fresh id (as Kafka does without
     * a transactional id); its epoch bumps happen client side. */
    resp->producer_id = kfk__cluster_new_pid(r->c);
    resp->producer_epoch = 0;
    return 0;
}
