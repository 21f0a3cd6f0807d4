/*
 * handlers_admin.c: topic administration: CreateTopics, DeleteTopics,
 * CreatePartitions, and topic/broker configs (DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs). Errors are answered per topic/resource with
 * Kafka's codes and messages, so admin tools print something useful.
 */
#include <stdio.h>
#include <string.h>

#include "broker/server.h"
#include "common/alloc.h"

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4

static kfk__str msgdup(kfk__breq *r, const char *msg)
{
    if (!msg || !*msg)
        return KFK__STR_NULL;
    kfk__str s = {msg, (int32_t)strlen(msg)};
    char *d = kfk__breq_strdup(r, s);
    return d ? kfk__s(d) : KFK__STR_NULL;
}

int kfk__h_create_topics(kfk__breq *r)
{
    kfk__create_topics_request *req = r->body;
    kfk__create_topics_response *resp = r->resp;
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->topics, kfk__create_topics_response_creatable_topic_result, n);
    if (n && !resp->topics.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__create_topics_request_creatable_topic *t = &req->topics.v[i];
        kfk__create_topics_response_creatable_topic_result *o = &resp->topics.v[i];
        char msg[256] = "";
        o->name = t->name;
        int32_t nc = t->configs.n > 0 ? t->configs.n : 0;
        kfk__tconf_entry *cfg = kfk__breq_alloc(r, (size_t)(nc ? nc : 1) * sizeof(*cfg));
        if (!cfg)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < nc; k++) {
            cfg[k].name = kfk__breq_strdup(r, t->configs.v[k].name);
            cfg[k].value = kfk__breq_strdup(r, t->configs.v[k].value);
            if (!cfg[k].name || !cfg[k].value)
                return KFK_ERR__NOMEM;
        }
        int e = kfk__fault_take(r->c, r->b->id, 19, t->name.ptr, t->name.len, -1);
        if (!e && t->assignments.n > 0) {
            e = KFK_ERR_INVALID_REQUEST;
            snprintf(msg, sizeof(msg), "manual replica assignment is not supported by the "
                     "kfk reference broker");
        }
        if (!e)
            e = kfk__cluster_create_topic(r->c, t->name.ptr, t->name.len, t->num_partitions,
                                          t->replication_factor, cfg, nc, req->validate_only,
                                          msg, sizeof(msg));
        if (e < 0)
            e = KFK_ERR_UNKNOWN_SERVER_ERROR;
        o->error_code = (int16_t)e;
        o->error_message = msgdup(r, msg);
        kfk__btopic *bt = kfk__cluster_topic(r->c, t->name.ptr, t->name.len);
        if (!e && bt) {
            o->topic_id = bt->id;
            o->num_partitions = bt->npart;
            o->replication_factor = (int16_t)bt->parts[0].nreplicas;
        } else if (!e) { /* validate only */
            o->num_partitions = t->num_partitions > 0 ? t->num_partitions : r->c->num_partitions;
            o->replication_factor = t->replication_factor > 0 ? t->replication_factor
                                                              : (int16_t)r->c->default_rf;
        }
    }
    return 0;
}

int kfk__h_delete_topics(kfk__breq *r)
{
    kfk__delete_topics_request *req = r->body;
    kfk__delete_topics_response *resp = r->resp;
    bool by_state = r->version >= 6;
    int32_t n = by_state ? req->topics.n : req->topic_names.n;
    if (n < 0)
        n = 0;
    KFK__ARR(r, resp->responses, kfk__delete_topics_response_deletable_topic_result, n);
    if (n && !resp->responses.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__delete_topics_response_deletable_topic_result *o = &resp->responses.v[i];
        kfk__btopic *t;
        if (by_state && req->topics.v[i].name.len < 0) {
            o->topic_id = req->topics.v[i].topic_id;
            t = kfk__cluster_topic_by_id(r->c, &o->topic_id);
            if (!t) {
                o->error_code = KFK_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
            o->name = kfk__s(kfk__breq_strdup(r, kfk__s(t->name)));
        } else {
            kfk__str name = by_state ? req->topics.v[i].name : req->topic_names.v[i];
            o->name = name;
            t = kfk__cluster_topic(r->c, name.ptr, name.len);
            if (!t) {
                o->error_code = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            o->topic_id = t->id;
        }
        int e = kfk__fault_take(r->c, r->b->id, 20, t->name, (int32_t)strlen(t->name), -1);
        if (e) {
            o->error_code = (int16_t)e;
            continue;
        }
        kfk__cluster_delete_topic(r->c, t, true);
    }
    kfk__fetch_wakeup(r->c);
    return 0;
}

int kfk__h_create_partitions(kfk__breq *r)
{
    kfk__create_partitions_request *req = r->body;
    kfk__create_partitions_response *resp = r->resp;
    int32_t n = req->topics.n > 0 ? req->topics.n : 0;
    KFK__ARR(r, resp->results, kfk__create_partitions_response_topic_result, n);
    if (n && !resp->results.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__create_partitions_request_topic *t = &req->topics.v[i];
        kfk__create_partitions_response_topic_result *o = &resp->results.v[i];
        char msg[256] = "";
        o->name = t->name;
        kfk__btopic *bt = kfk__cluster_topic(r->c, t->name.ptr, t->name.len);
        int e = kfk__fault_take(r->c, r->b->id, 37, t->name.ptr, t->name.len, -1);
        if (!e && !bt)
            e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (!e && t->assignments.n > 0) {
            e = KFK_ERR_INVALID_REQUEST;
            snprintf(msg, sizeof(msg), "manual replica assignment is not supported by the "
                     "kfk reference broker");
        }
        if (!e)
            e = kfk__cluster_add_partitions(r->c, bt, t->count, req->validate_only, msg,
                                            sizeof(msg));
        o->error_code = (int16_t)(e < 0 ? KFK_ERR_UNKNOWN_SERVER_ERROR : e);
        o->error_message = msgdup(r, msg);
    }
    return 0;
}

/* ---- configs ------------------------------------------------------------- */

static bool is_override(const kfk__btopic *t, const char *name)
{
    for (int32_t i = 0; i < t->nover; i++)
        if (!strcmp(t->over[i].name, name))
            return true;
    return false;
}

static bool wanted(const kfk__describe_configs_request_resource *res, const char *name)
{
    if (res->configuration_keys.n < 0)
        return true;
    for (int32_t i = 0; i < res->configuration_keys.n; i++)
        if (kfk__str_eq(res->configuration_keys.v[i], name))
            return true;
    return false;
}

/* Config source codes of DescribeConfigs v1+. */
#define SRC_TOPIC 1
#define SRC_STATIC_BROKER 4
#define SRC_DEFAULT 5

static int describe_topic(kfk__breq *r, const kfk__describe_configs_request_resource *res,
                          kfk__describe_configs_response_result *o, const kfk__btopic *t)
{
    size_t nd;
    const kfk__tconf_def *defs = kfk__tconf_defs(&nd);
    KFK__ARR(r, o->configs, kfk__describe_configs_response_resource_result, (int32_t)nd);
    if (!o->configs.v)
        return KFK_ERR__NOMEM;
    int32_t k = 0;
    for (size_t i = 0; i < nd; i++) {
        if (!wanted(res, defs[i].name))
            continue;
        char val[64];
        kfk__tconf_get(&t->conf, defs[i].name, val, sizeof(val));
        kfk__describe_configs_response_resource_result *cfg = &o->configs.v[k++];
        bool over = is_override(t, defs[i].name);
        cfg->name = kfk__s(defs[i].name);
        cfg->value = kfk__s(kfk__breq_strdup(r, kfk__s(val)));
        cfg->is_default = r->version == 0 && !over; /* v0 only */
        cfg->config_source = over ? SRC_TOPIC : SRC_DEFAULT;
        cfg->config_type = !strcmp(defs[i].type, "long")   ? 5
                           : !strcmp(defs[i].type, "int")  ? 3
                           : !strcmp(defs[i].type, "list") ? 7
                                                           : 2;
        cfg->documentation = KFK__STR_NULL;
    }
    o->configs.n = k;
    return 0;
}

static int describe_broker(kfk__breq *r, const kfk__describe_configs_request_resource *res,
                           kfk__describe_configs_response_result *o)
{
    char vals[3][32];
    const char *names[3] = {"auto.create.topics.enable", "num.partitions",
                            "default.replication.factor"};
    snprintf(vals[0], sizeof(vals[0]), "%s", r->c->auto_create ? "true" : "false");
    snprintf(vals[1], sizeof(vals[1]), "%d", (int)r->c->num_partitions);
    snprintf(vals[2], sizeof(vals[2]), "%d", (int)r->c->default_rf);
    KFK__ARR(r, o->configs, kfk__describe_configs_response_resource_result, 3);
    if (!o->configs.v)
        return KFK_ERR__NOMEM;
    int32_t k = 0;
    for (int i = 0; i < 3; i++) {
        if (!wanted(res, names[i]))
            continue;
        kfk__describe_configs_response_resource_result *cfg = &o->configs.v[k++];
        cfg->name = kfk__s(names[i]);
        cfg->value = kfk__s(kfk__breq_strdup(r, kfk__s(vals[i])));
        cfg->read_only = true;
        cfg->config_source = SRC_STATIC_BROKER;
        cfg->documentation = KFK__STR_NULL;
    }
    o->configs.n = k;
    return 0;
}

int kfk__h_describe_configs(kfk__breq *r)
{
    kfk__describe_configs_request *req = r->body;
    kfk__describe_configs_response *resp = r->resp;
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    KFK__ARR(r, resp->results, kfk__describe_configs_response_result, n);
    if (n && !resp->results.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__describe_configs_request_resource *res = &req->resources.v[i];
        kfk__describe_configs_response_result *o = &resp->results.v[i];
        o->resource_type = res->resource_type;
        o->resource_name = res->resource_name;
        o->error_message = KFK__STR_NULL;
        int e = kfk__fault_take(r->c, r->b->id, 32, res->resource_name.ptr,
                                res->resource_name.len, -1);
        if (e) {
            o->error_code = (int16_t)e;
            continue;
        }
        if (res->resource_type == RESOURCE_TOPIC) {
            kfk__btopic *t = kfk__cluster_topic(r->c, res->resource_name.ptr,
                                                res->resource_name.len);
            if (!t)
                o->error_code = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if ((e = describe_topic(r, res, o, t)))
                return e;
        } else if (res->resource_type == RESOURCE_BROKER) {
            if ((e = describe_broker(r, res, o)))
                return e;
        } else {
            o->error_code = KFK_ERR_INVALID_REQUEST;
            o->error_message = kfk__s("only topic and broker configs are supported");
        }
    }
    return 0;
}

/* Checks every change first, then applies them all (a resource's changes
 * land together or not at all). op: 0 set, 1 delete. */
typedef struct change {
    const char *name;
    const char *value; /* NULL: delete */
} change;

static int apply_changes(kfk__breq *r, kfk__btopic *t, const change *ch, int32_t n,
                         bool replace_all, bool validate_only, char *msg, size_t msglen)
{
    kfk__tconf probe = t->conf;
    for (int32_t i = 0; i < n; i++) {
        if (!ch[i].value) {
            size_t nd;
            const kfk__tconf_def *defs = kfk__tconf_defs(&nd);
            bool known = false;
            for (size_t k = 0; k < nd; k++)
                known |= !strcmp(defs[k].name, ch[i].name);
            if (!known) {
                snprintf(msg, msglen, "Unknown topic config name: %s", ch[i].name);
                return KFK_ERR_INVALID_CONFIG;
            }
            continue;
        }
        int e = kfk__tconf_set(&probe, ch[i].name, ch[i].value, msg, msglen);
        if (e)
            return e;
    }
    if (validate_only)
        return 0;
    char err[128];
    if (replace_all)
        while (t->nover > 0)
            kfk__topic_set_config(t, &r->c->defaults, t->over[0].name, NULL, err, sizeof(err));
    for (int32_t i = 0; i < n; i++) {
        int e = kfk__topic_set_config(t, &r->c->defaults, ch[i].name, ch[i].value, msg, msglen);
        if (e)
            return e;
    }
    kfk__cluster_save(r->c);
    return 0;
}

/* The shared shape of AlterConfigs and IncrementalAlterConfigs. */
static int alter_one(kfk__breq *r, int8_t type, kfk__str name, const change *ch, int32_t n,
                     bool replace_all, bool validate_only, int16_t *code, kfk__str *msgout)
{
    char msg[256] = "";
    int e = kfk__fault_take(r->c, r->b->id, r->api_key, name.ptr, name.len, -1);
    if (!e && type == RESOURCE_BROKER) {
        e = KFK_ERR_INVALID_REQUEST;
        snprintf(msg, sizeof(msg), "broker configs are read-only in the kfk reference broker");
    } else if (!e && type != RESOURCE_TOPIC) {
        e = KFK_ERR_INVALID_REQUEST;
        snprintf(msg, sizeof(msg), "only topic configs can be altered");
    }
    kfk__btopic *t = e ? NULL : kfk__cluster_topic(r->c, name.ptr, name.len);
    if (!e && !t)
        e = KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!e)
        e = apply_changes(r, t, ch, n, replace_all, validate_only, msg, sizeof(msg));
    *code = (int16_t)(e < 0 ? KFK_ERR_UNKNOWN_SERVER_ERROR : e);
    *msgout = msgdup(r, msg);
    return 0;
}

int kfk__h_alter_configs(kfk__breq *r)
{
    kfk__alter_configs_request *req = r->body;
    kfk__alter_configs_response *resp = r->resp;
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    KFK__ARR(r, resp->responses, kfk__alter_configs_response_resource_response, n);
    if (n && !resp->responses.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__alter_configs_request_resource *res = &req->resources.v[i];
        kfk__alter_configs_response_resource_response *o = &resp->responses.v[i];
        int32_t nc = res->configs.n > 0 ? res->configs.n : 0;
        change *ch = kfk__breq_alloc(r, (size_t)(nc ? nc : 1) * sizeof(*ch));
        if (!ch)
            return KFK_ERR__NOMEM;
        for (int32_t k = 0; k < nc; k++) {
            ch[k].name = kfk__breq_strdup(r, res->configs.v[k].name);
            ch[k].value = res->configs.v[k].value.len < 0
                              ? NULL
                              : kfk__breq_strdup(r, res->configs.v[k].value);
        }
        o->resource_type = res->resource_type;
        o->resource_name = res->resource_name;
        alter_one(r, res->resource_type, res->resource_name, ch, nc, true, req->validate_only,
                  &o->error_code, &o->error_message);
    }
    return 0;
}

int kfk__h_incremental_alter_configs(kfk__breq *r)
{
    kfk__incremental_alter_configs_request *req = r->body;
    kfk__incremental_alter_configs_response *resp = r->resp;
    int32_t n = req->resources.n > 0 ? req->resources.n : 0;
    KFK__ARR(r, resp->responses,
             kfk__incremental_alter_configs_response_alter_configs_resource_response, n);
    if (n && !resp->responses.v)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kfk__incremental_alter_configs_request_alter_configs_resource *res = &req->resources.v[i];
        kfk__incremental_alter_configs_response_alter_configs_resource_response *o =
            &resp->responses.v[i];
        o->resource_type = res->resource_type;
        o->resource_name = res->resource_name;
        int32_t nc = res->configs.n > 0 ? res->configs.n : 0;
        change *ch = kfk__breq_alloc(r, (size_t)(nc ? nc : 1) * sizeof(*ch));
        if (!ch)
            return KFK_ERR__NOMEM;
        bool bad_op = false;
        for (int32_t k = 0; k < nc; k++) {
            int8_t op = res->configs.v[k].config_operation;
            bad_op |= op != 0 && op != 1;
            ch[k].name = kfk__breq_strdup(r, res->configs.v[k].name);
            ch[k].value = op == 1 ? NULL : kfk__breq_strdup(r, res->configs.v[k].value);
        }
        if (bad_op) {
            o->error_code = KFK_ERR_INVALID_REQUEST;
            o->error_message = kfk__s("APPEND and SUBTRACT are not supported by the kfk "
                                      "reference broker; use SET");
            continue;
        }
        alter_one(r, res->resource_type, res->resource_name, ch, nc, false, req->validate_only,
                  &o->error_code, &o->error_message);
    }
    return 0;
}
