/*
 * test_broker_group.c: the reference broker's group coordinator over real
 * sockets: FindCoordinator, the classic JoinGroup / SyncGroup / Heartbeat /
 * LeaveGroup protocol with one to three members (member ids, protocol
 * selection, rebalance and session timeouts, static membership), offset
 * commit / fetch / delete, DescribeGroups / ListGroups / DeleteGroups,
 * coordinator moves and broker stops, durability across a restart, and
 * injected errors. Members that must wait (a JoinGroup parked until the
 * others join) call from a thread on their own connection.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "tclient.h"

static kfk_cluster_t *cluster;

static void start(const char *const *props)
{
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "cluster: %s", err);
}

static void setup3(void)
{
    static const char *const props[] = {"brokers=3", "num.partitions=4",
                                        "group.min.session.timeout.ms=100", NULL};
    start(props);
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "t", 4, 0), KFK_ERR_NONE);
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "u", 2, 0), KFK_ERR_NONE);
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
    cluster = NULL;
}

/* ---- helpers ---------------------------------------------------------------- */

static kfk__find_coordinator_response *find_coord(tclient *t, int16_t v, const char *group,
                                                  int8_t type)
{
    kfk__find_coordinator_request rq;
    kfk__msg_init(&kfk__desc_find_coordinator_request, &rq);
    kfk__str key = kfk__str_c(group);
    if (v >= 4) {
        rq.coordinator_keys.v = &key;
        rq.coordinator_keys.n = 1;
    } else {
        rq.key = key;
    }
    rq.key_type = type;
    void *resp;
    ck_assert_int_eq(tclient_call(t, 10, v, &rq, &resp), 0);
    return resp;
}

static int coordinator_of(const char *group)
{
    tclient t;
    ck_assert_int_eq(tclient_connect(&t, kfk_cluster_bootstrap(cluster)), 0);
    kfk__find_coordinator_response *r = find_coord(&t, 4, group, 0);
    ck_assert_int_eq(r->coordinators.n, 1);
    ck_assert_int_eq(r->coordinators.v[0].error_code, 0);
    int node = r->coordinators.v[0].node_id;
    tclient_close(&t);
    return node;
}

static void connect_to(tclient *t, int node)
{
    ck_assert_int_eq(tclient_connect_nth(t, kfk_cluster_bootstrap(cluster), node), 0);
}

/* A group member: its connection to the coordinator and what it knows. */
typedef struct member {
    tclient t;
    char id[256];
    char instance[64];
    int32_t gen;
    const char *group;
    const char *protos[3]; /* preference order, NULL-terminated */
    const char *meta;      /* metadata sent for every protocol */
    int32_t meta_len;      /* 0: strlen(meta) */
    int32_t session_ms, rebalance_ms;
    int16_t jv; /* JoinGroup version */
    /* the last JoinGroup answer, copied out of the arena */
    int16_t err;
    char leader[256];
    char protocol[64];
    int nmembers;
    bool skip_assignment;
    /* async call */
    pthread_t th;
    int16_t key, ver;
    void *body;
    void *resp;
    int rc;
} member;

static void member_init(member *m, const char *group, int node)
{
    memset(m, 0, sizeof(*m));
    m->group = group;
    m->gen = -1;
    m->protos[0] = "range";
    m->meta = "meta";
    m->session_ms = 10000;
    m->rebalance_ms = 10000;
    m->jv = 9;
    connect_to(&m->t, node);
}

static void copy_str(char *dst, size_t n, kfk__str s)
{
    snprintf(dst, n, "%.*s", s.len > 0 ? (int)s.len : 0, s.len > 0 ? s.ptr : "");
}

static void *call_thread(void *arg)
{
    member *m = arg;
    m->rc = tclient_call(&m->t, m->key, m->ver, m->body, &m->resp);
    return NULL;
}

static kfk__join_group_request *join_body(member *m)
{
    kfk__join_group_request *rq = calloc(1, sizeof(*rq));
    kfk__join_group_request_protocol *p = calloc(3, sizeof(*p));
    kfk__msg_init(&kfk__desc_join_group_request, rq);
    rq->group_id = kfk__str_c(m->group);
    rq->session_timeout_ms = m->session_ms;
    rq->rebalance_timeout_ms = m->rebalance_ms;
    rq->member_id = kfk__str_c(m->id);
    if (m->instance[0])
        rq->group_instance_id = kfk__str_c(m->instance);
    rq->protocol_type = KFK__STR("consumer");
    int n = 0;
    for (; n < 3 && m->protos[n]; n++) {
        kfk__struct_init(&kfk__join_group_request_protocol_desc, &p[n]);
        p[n].name = kfk__str_c(m->protos[n]);
        p[n].metadata = (kfk__bytes){(const uint8_t *)m->meta,
                                     m->meta_len ? m->meta_len : (int32_t)strlen(m->meta)};
    }
    rq->protocols.v = p;
    rq->protocols.n = n;
    return rq;
}

/* Reads a JoinGroup answer into m. */
static int16_t join_result(member *m, kfk__join_group_response *r)
{
    m->err = r->error_code;
    if (r->member_id.len > 0)
        copy_str(m->id, sizeof(m->id), r->member_id);
    if (!r->error_code) {
        m->gen = r->generation_id;
        copy_str(m->leader, sizeof(m->leader), r->leader);
        copy_str(m->protocol, sizeof(m->protocol), r->protocol_name);
        m->nmembers = r->members.n;
        m->skip_assignment = r->skip_assignment;
    }
    return m->err;
}

static void free_body(member *m)
{
    kfk__join_group_request *rq = m->body;
    if (m->key == 11 && rq) {
        free(rq->protocols.v);
        free(rq);
    }
    m->body = NULL;
}

/* JoinGroup, waiting for the answer. */
static int16_t join(member *m)
{
    kfk__join_group_request *rq = join_body(m);
    void *resp;
    ck_assert_int_eq(tclient_call(&m->t, 11, m->jv, rq, &resp), 0);
    free(rq->protocols.v);
    free(rq);
    return join_result(m, resp);
}

/* JoinGroup v4+ from scratch: MEMBER_ID_REQUIRED, then again with the id. */
static int16_t join_new(member *m)
{
    ck_assert_int_eq(join(m), KFK_ERR_MEMBER_ID_REQUIRED);
    ck_assert(m->id[0]);
    return join(m);
}

static void join_async(member *m)
{
    m->key = 11;
    m->ver = m->jv;
    m->body = join_body(m);
    ck_assert_int_eq(pthread_create(&m->th, NULL, call_thread, m), 0);
}

static int16_t join_wait(member *m)
{
    pthread_join(m->th, NULL);
    free_body(m);
    ck_assert_int_eq(m->rc, 0);
    return join_result(m, m->resp);
}

static kfk__sync_group_request *sync_body(member *m, member **assign_to, const char **assign,
                                          int n)
{
    kfk__sync_group_request *rq = calloc(1, sizeof(*rq));
    kfk__sync_group_request_assignment *a = calloc((size_t)(n ? n : 1), sizeof(*a));
    kfk__msg_init(&kfk__desc_sync_group_request, rq);
    rq->group_id = kfk__str_c(m->group);
    rq->generation_id = m->gen;
    rq->member_id = kfk__str_c(m->id);
    if (m->instance[0])
        rq->group_instance_id = kfk__str_c(m->instance);
    rq->protocol_type = KFK__STR("consumer");
    rq->protocol_name = kfk__str_c(m->protocol);
    for (int i = 0; i < n; i++) {
        kfk__struct_init(&kfk__sync_group_request_assignment_desc, &a[i]);
        a[i].member_id = kfk__str_c(assign_to[i]->id);
        a[i].assignment = (kfk__bytes){(const uint8_t *)assign[i], (int32_t)strlen(assign[i])};
    }
    rq->assignments.v = a;
    rq->assignments.n = n;
    return rq;
}

/* SyncGroup v5; the assignment received goes to out. */
static int16_t sync_call(member *m, member **assign_to, const char **assign, int n, char *out,
                         size_t outlen)
{
    kfk__sync_group_request *rq = sync_body(m, assign_to, assign, n);
    kfk__sync_group_response *r;
    ck_assert_int_eq(tclient_call(&m->t, 14, 5, rq, (void **)&r), 0);
    free(rq->assignments.v);
    free(rq);
    if (out)
        snprintf(out, outlen, "%.*s", r->assignment.len > 0 ? (int)r->assignment.len : 0,
                 r->assignment.len > 0 ? (const char *)r->assignment.ptr : "");
    if (!r->error_code) {
        ck_assert(kfk__str_eq(r->protocol_type, "consumer"));
        ck_assert(kfk__str_eq(r->protocol_name, m->protocol));
    }
    return r->error_code;
}

static void sync_async(member *m)
{
    m->key = 14;
    m->ver = 5;
    m->body = sync_body(m, NULL, NULL, 0);
    ck_assert_int_eq(pthread_create(&m->th, NULL, call_thread, m), 0);
}

static int16_t sync_wait(member *m, char *out, size_t outlen)
{
    pthread_join(m->th, NULL);
    kfk__sync_group_request *rq = m->body;
    free(rq->assignments.v);
    free(rq);
    m->body = NULL;
    ck_assert_int_eq(m->rc, 0);
    kfk__sync_group_response *r = m->resp;
    snprintf(out, outlen, "%.*s", r->assignment.len > 0 ? (int)r->assignment.len : 0,
             r->assignment.len > 0 ? (const char *)r->assignment.ptr : "");
    return r->error_code;
}

static int16_t heartbeat(member *m, int16_t v)
{
    kfk__heartbeat_request rq;
    kfk__msg_init(&kfk__desc_heartbeat_request, &rq);
    rq.group_id = kfk__str_c(m->group);
    rq.generation_id = m->gen;
    rq.member_id = kfk__str_c(m->id);
    if (m->instance[0] && v >= 3)
        rq.group_instance_id = kfk__str_c(m->instance);
    kfk__heartbeat_response *r;
    ck_assert_int_eq(tclient_call(&m->t, 12, v, &rq, (void **)&r), 0);
    return r->error_code;
}

static int16_t leave(member *m, int16_t v)
{
    kfk__leave_group_request rq;
    kfk__leave_group_request_member_identity id;
    kfk__msg_init(&kfk__desc_leave_group_request, &rq);
    kfk__struct_init(&kfk__leave_group_request_member_identity_desc, &id);
    rq.group_id = kfk__str_c(m->group);
    if (v < 3) {
        rq.member_id = kfk__str_c(m->id);
    } else {
        id.member_id = kfk__str_c(m->id);
        rq.members.v = &id;
        rq.members.n = 1;
    }
    kfk__leave_group_response *r;
    ck_assert_int_eq(tclient_call(&m->t, 13, v, &rq, (void **)&r), 0);
    if (v >= 3 && !r->error_code) {
        ck_assert_int_eq(r->members.n, 1);
        return r->members.v[0].error_code;
    }
    return r->error_code;
}

/* One member forms a group alone: join, sync its own assignment. */
static void solo(member *m, const char *assignment)
{
    ck_assert_int_eq(m->jv >= 4 && !m->instance[0] ? join_new(m) : join(m), 0);
    ck_assert_str_eq(m->leader, m->id);
    member *to[] = {m};
    char got[64];
    ck_assert_int_eq(sync_call(m, to, &assignment, 1, got, sizeof(got)), 0);
    ck_assert_str_eq(got, assignment);
}

static kfk__describe_groups_response_described_group *describe(tclient *t, int16_t v,
                                                              const char *group)
{
    kfk__describe_groups_request rq;
    kfk__msg_init(&kfk__desc_describe_groups_request, &rq);
    kfk__str g = kfk__str_c(group);
    rq.groups.v = &g;
    rq.groups.n = 1;
    kfk__describe_groups_response *r;
    ck_assert_int_eq(tclient_call(t, 15, v, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->groups.n, 1);
    return &r->groups.v[0];
}

static bool state_is(tclient *t, const char *group, const char *state)
{
    return kfk__str_eq(describe(t, 5, group)->group_state, state);
}

/* Commits one offset (generation/member as given); returns the partition's
 * error. */
static int16_t commit(tclient *t, int16_t v, const char *group, int32_t gen, const char *member_id,
                      const char *topic, int32_t part, int64_t offset, const char *meta)
{
    kfk__offset_commit_request rq;
    kfk__offset_commit_request_topic ct;
    kfk__offset_commit_request_partition cp;
    kfk__msg_init(&kfk__desc_offset_commit_request, &rq);
    kfk__struct_init(&kfk__offset_commit_request_topic_desc, &ct);
    kfk__struct_init(&kfk__offset_commit_request_partition_desc, &cp);
    rq.group_id = kfk__str_c(group);
    if (v >= 1) {
        rq.generation_id_or_member_epoch = gen;
        rq.member_id = kfk__str_c(member_id ? member_id : "");
    }
    cp.partition_index = part;
    cp.committed_offset = offset;
    cp.committed_metadata = kfk__str_c(meta);
    if (v >= 6)
        cp.committed_leader_epoch = 3;
    ct.name = kfk__str_c(topic);
    ct.partitions.v = &cp;
    ct.partitions.n = 1;
    rq.topics.v = &ct;
    rq.topics.n = 1;
    kfk__offset_commit_response *r;
    ck_assert_int_eq(tclient_call(t, 8, v, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->topics.n, 1);
    ck_assert_int_eq(r->topics.v[0].partitions.n, 1);
    return r->topics.v[0].partitions.v[0].error_code;
}

/* Fetches one committed offset (v0-7 layout); *err gets the partition's
 * error, or the top-level one. */
static int64_t fetch_offset(tclient *t, int16_t v, const char *group, const char *topic,
                            int32_t part, char *meta, size_t metalen, int16_t *err)
{
    kfk__offset_fetch_request rq;
    kfk__offset_fetch_request_topic ft;
    kfk__msg_init(&kfk__desc_offset_fetch_request, &rq);
    kfk__struct_init(&kfk__offset_fetch_request_topic_desc, &ft);
    rq.group_id = kfk__str_c(group);
    ft.name = kfk__str_c(topic);
    ft.partition_indexes.v = &part;
    ft.partition_indexes.n = 1;
    rq.topics.v = &ft;
    rq.topics.n = 1;
    kfk__offset_fetch_response *r;
    ck_assert_int_eq(tclient_call(t, 9, v, &rq, (void **)&r), 0);
    if (v >= 2 && r->error_code) {
        *err = r->error_code;
        return -1;
    }
    ck_assert_int_eq(r->topics.n, 1);
    kfk__offset_fetch_response_partition *p = &r->topics.v[0].partitions.v[0];
    *err = p->error_code;
    if (meta)
        copy_str(meta, metalen, p->metadata);
    return p->committed_offset;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(api_versions_advertised)
{
    static const struct {
        int16_t key, max;
    } want[] = {{8, 9}, {9, 9}, {10, 6}, {11, 9}, {12, 4}, {13, 5},
                {14, 5}, {15, 5}, {16, 5}, {42, 2}, {47, 0}};
    tclient t;
    ck_assert_int_eq(tclient_connect(&t, kfk_cluster_bootstrap(cluster)), 0);
    kfk__api_versions_request rq;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    kfk__api_versions_response *r;
    ck_assert_int_eq(tclient_call(&t, 18, 3, &rq, (void **)&r), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (int32_t k = 0; k < r->api_keys.n; k++)
            if (r->api_keys.v[k].api_key == want[i].key) {
                found = true;
                ck_assert_int_eq(r->api_keys.v[k].min_version, 0);
                ck_assert_int_eq(r->api_keys.v[k].max_version, want[i].max);
            }
        ck_assert_msg(found, "api %d not advertised", want[i].key);
    }
    tclient_close(&t);
}
END_TEST

START_TEST(find_coordinator)
{
    tclient t;
    ck_assert_int_eq(tclient_connect(&t, kfk_cluster_bootstrap(cluster)), 0);
    int node = coordinator_of("grp-a");
    ck_assert(node >= 1 && node <= 3);
    for (int16_t v = 0; v <= 6; v++) {
        kfk__find_coordinator_response *r = find_coord(&t, v, "grp-a", 0);
        if (v < 4) {
            ck_assert_int_eq(r->error_code, 0);
            ck_assert_int_eq(r->node_id, node);
            ck_assert_int_gt(r->port, 0);
        } else {
            ck_assert_int_eq(r->coordinators.v[0].error_code, 0);
            ck_assert_int_eq(r->coordinators.v[0].node_id, node);
            ck_assert(kfk__str_eq(r->coordinators.v[0].key, "grp-a"));
        }
    }
    /* Every broker gives the same answer; groups spread over brokers. */
    bool used[4] = {false};
    for (int b = 1; b <= 3; b++) {
        tclient o;
        connect_to(&o, b);
        ck_assert_int_eq(find_coord(&o, 3, "grp-a", 0)->node_id, node);
        tclient_close(&o);
    }
    for (int i = 0; i < 30; i++) {
        char g[32];
        snprintf(g, sizeof(g), "spread-%d", i);
        used[coordinator_of(g)] = true;
    }
    ck_assert(used[1] && used[2] && used[3]);
    /* Transactions are not implemented; an empty key is invalid. */
    ck_assert_int_eq(find_coord(&t, 3, "txn", 1)->error_code, KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(find_coord(&t, 4, "txn", 1)->coordinators.v[0].error_code,
                     KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(find_coord(&t, 2, "", 0)->error_code, KFK_ERR_INVALID_REQUEST);
    /* A v4 batch. */
    kfk__find_coordinator_request rq;
    kfk__msg_init(&kfk__desc_find_coordinator_request, &rq);
    kfk__str keys[3] = {KFK__STR("k1"), KFK__STR("k2"), KFK__STR("k3")};
    rq.coordinator_keys.v = keys;
    rq.coordinator_keys.n = 3;
    kfk__find_coordinator_response *r;
    ck_assert_int_eq(tclient_call(&t, 10, 4, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->coordinators.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert(kfk__str_eq(r->coordinators.v[i].key, i == 0 ? "k1" : i == 1 ? "k2" : "k3"));
        ck_assert_int_eq(r->coordinators.v[i].error_code, 0);
    }
    tclient_close(&t);
}
END_TEST

START_TEST(single_member)
{
    const char *g = "g-single";
    int node = coordinator_of(g);
    member m;
    member_init(&m, g, node);
    /* v4+: the first join only hands out a member id. */
    ck_assert_int_eq(join(&m), KFK_ERR_MEMBER_ID_REQUIRED);
    ck_assert_int_eq(join(&m), 0);
    ck_assert_int_eq(m.gen, 1);
    ck_assert_str_eq(m.leader, m.id);
    ck_assert_str_eq(m.protocol, "range");
    ck_assert_int_eq(m.nmembers, 1);
    ck_assert(state_is(&m.t, g, "CompletingRebalance"));
    ck_assert_int_eq(heartbeat(&m, 4), 0);
    member *to[] = {&m};
    const char *as[] = {"assign-1"};
    char got[64];
    ck_assert_int_eq(sync_call(&m, to, as, 1, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "assign-1");
    ck_assert(state_is(&m.t, g, "Stable"));
    for (int16_t v = 0; v <= 4; v++)
        ck_assert_int_eq(heartbeat(&m, v), 0);
    /* A follower-style rejoin with the same metadata keeps the generation;
     * the leader rejoining rebalances (generation 2). */
    ck_assert_int_eq(join(&m), 0);
    ck_assert_int_eq(m.gen, 2);
    ck_assert_int_eq(sync_call(&m, to, as, 1, got, sizeof(got)), 0);
    /* Errors. */
    int32_t gen = m.gen;
    m.gen = gen + 5;
    ck_assert_int_eq(heartbeat(&m, 4), KFK_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(sync_call(&m, NULL, NULL, 0, NULL, 0), KFK_ERR_ILLEGAL_GENERATION);
    m.gen = gen;
    char saved[256];
    snprintf(saved, sizeof(saved), "%s", m.id);
    snprintf(m.id, sizeof(m.id), "nobody");
    ck_assert_int_eq(heartbeat(&m, 4), KFK_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(join(&m), KFK_ERR_UNKNOWN_MEMBER_ID);
    snprintf(m.id, sizeof(m.id), "%s", saved);
    /* Describe shows the member with its assignment. */
    kfk__describe_groups_response_described_group *d = describe(&m.t, 5, g);
    ck_assert_int_eq(d->error_code, 0);
    ck_assert(kfk__str_eq(d->group_state, "Stable"));
    ck_assert(kfk__str_eq(d->protocol_type, "consumer"));
    ck_assert(kfk__str_eq(d->protocol_data, "range"));
    ck_assert_int_eq(d->members.n, 1);
    ck_assert(kfk__str_eq(d->members.v[0].member_id, m.id));
    ck_assert(kfk__str_eq(d->members.v[0].client_id, "kfk-test"));
    ck_assert(kfk__str_eq(d->members.v[0].client_host, "/127.0.0.1"));
    ck_assert_int_eq(d->members.v[0].member_assignment.len, 8);
    ck_assert_int_eq(d->members.v[0].member_metadata.len, 4);
    /* Leave: the group is empty, the member unknown. */
    ck_assert_int_eq(leave(&m, 4), 0);
    ck_assert(state_is(&m.t, g, "Empty"));
    ck_assert_int_eq(heartbeat(&m, 4), KFK_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(leave(&m, 0), KFK_ERR_UNKNOWN_MEMBER_ID);
    /* Old versions: no MEMBER_ID_REQUIRED, v0 leave. */
    for (int16_t v = 0; v <= 3; v++) {
        m.id[0] = '\0';
        m.jv = v;
        ck_assert_int_eq(join(&m), 0);
        ck_assert_str_eq(m.leader, m.id);
        ck_assert_int_eq(leave(&m, v > 2 ? 2 : v), 0);
    }
    tclient_close(&m.t);
}
END_TEST

START_TEST(two_members_rebalance)
{
    const char *g = "g-two";
    int node = coordinator_of(g);
    member a, b;
    member_init(&a, g, node);
    member_init(&b, g, node);
    solo(&a, "a-all");
    int32_t gen1 = a.gen;
    /* b joins: the group rebalances; a learns it from its heartbeat. */
    ck_assert_int_eq(join(&b), KFK_ERR_MEMBER_ID_REQUIRED);
    join_async(&b);
    for (int i = 0; i < 100 && !state_is(&a.t, g, "PreparingRebalance"); i++)
        usleep(10000);
    ck_assert_int_eq(heartbeat(&a, 4), KFK_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    ck_assert_int_eq(a.gen, gen1 + 1);
    ck_assert_int_eq(b.gen, a.gen);
    ck_assert_str_eq(a.leader, a.id); /* the leader stays */
    ck_assert_str_eq(b.leader, a.id);
    ck_assert_int_eq(a.nmembers, 2);
    ck_assert_int_eq(b.nmembers, 0);
    /* The follower's SyncGroup waits for the leader's. */
    sync_async(&b);
    usleep(100000);
    member *to[] = {&a, &b};
    const char *as[] = {"a-half", "b-half"};
    char got[64];
    ck_assert_int_eq(sync_call(&a, to, as, 2, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "a-half");
    ck_assert_int_eq(sync_wait(&b, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "b-half");
    ck_assert_int_eq(heartbeat(&a, 4), 0);
    ck_assert_int_eq(heartbeat(&b, 4), 0);
    /* b leaves: a must rebalance alone. */
    ck_assert_int_eq(leave(&b, 5), 0);
    ck_assert_int_eq(heartbeat(&a, 4), KFK_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(a.nmembers, 1);
    tclient_close(&a.t);
    tclient_close(&b.t);
}
END_TEST

START_TEST(protocol_selection)
{
    const char *g = "g-proto";
    int node = coordinator_of(g);
    member m[3];
    for (int i = 0; i < 3; i++) {
        member_init(&m[i], g, node);
        m[i].jv = 3; /* no MEMBER_ID_REQUIRED round */
    }
    /* Common: a and b; votes: a (m0), b (m1, m2). */
    m[0].protos[0] = "a", m[0].protos[1] = "b", m[0].protos[2] = "c";
    m[1].protos[0] = "b", m[1].protos[1] = "a";
    m[2].protos[0] = "x", m[2].protos[1] = "b", m[2].protos[2] = "a";
    /* m0 forms the group alone; m1 and m2 join (and wait) until m0
     * rejoins, then all three are in one generation. */
    ck_assert_int_eq(join(&m[0]), 0);
    ck_assert_str_eq(m[0].protocol, "a");
    join_async(&m[1]);
    join_async(&m[2]);
    usleep(100000);
    ck_assert_int_eq(join(&m[0]), 0);
    for (int i = 1; i < 3; i++)
        ck_assert_int_eq(join_wait(&m[i]), 0);
    ck_assert_int_eq(m[0].nmembers, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(m[i].protocol, "b");
    /* A member with nothing in common, or another protocol type, is
     * refused. */
    member x;
    member_init(&x, g, node);
    x.jv = 3;
    x.protos[0] = "c";
    ck_assert_int_eq(join(&x), KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
    kfk__join_group_request *rq = join_body(&x);
    rq->protocol_type = KFK__STR("connect");
    kfk__join_group_response *r;
    ck_assert_int_eq(tclient_call(&x.t, 11, 7, rq, (void **)&r), 0);
    ck_assert_int_eq(r->error_code, KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
    rq->protocols.n = 0; /* no protocols at all */
    rq->protocol_type = KFK__STR("consumer");
    ck_assert_int_eq(tclient_call(&x.t, 11, 7, rq, (void **)&r), 0);
    ck_assert_int_eq(r->error_code, KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
    free(rq->protocols.v);
    free(rq);
    /* SyncGroup v5 checks the protocol name. */
    snprintf(m[1].protocol, sizeof(m[1].protocol), "a");
    ck_assert_int_eq(sync_call(&m[1], NULL, NULL, 0, NULL, 0),
                     KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
    for (int i = 0; i < 3; i++)
        tclient_close(&m[i].t);
    tclient_close(&x.t);
}
END_TEST

START_TEST(rebalance_timeout)
{
    const char *g = "g-slow";
    int node = coordinator_of(g);
    member a, b, c;
    member_init(&a, g, node);
    member_init(&b, g, node);
    member_init(&c, g, node);
    a.rebalance_ms = b.rebalance_ms = c.rebalance_ms = 600;
    solo(&a, "x");
    ck_assert_int_eq(join(&b), KFK_ERR_MEMBER_ID_REQUIRED);
    join_async(&b);
    usleep(50000);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    member *to[] = {&a, &b};
    const char *as[] = {"1", "2"};
    ck_assert_int_eq(sync_call(&a, to, as, 2, NULL, 0), 0);
    /* c joins; a rejoins, b never does: after the rebalance timeout the
     * generation completes without b. */
    ck_assert_int_eq(join(&c), KFK_ERR_MEMBER_ID_REQUIRED);
    int64_t t0 = kfk__now_ms();
    join_async(&c);
    usleep(50000);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&c), 0);
    int64_t took = kfk__now_ms() - t0;
    ck_assert_int_ge(took, 500);
    ck_assert_int_lt(took, 5000);
    ck_assert_int_eq(a.nmembers, 2);
    ck_assert_int_eq(c.gen, a.gen);
    ck_assert_int_eq(heartbeat(&b, 4), KFK_ERR_UNKNOWN_MEMBER_ID);
    tclient_close(&a.t);
    tclient_close(&b.t);
    tclient_close(&c.t);
}
END_TEST

START_TEST(session_expiry)
{
    const char *g = "g-session";
    int node = coordinator_of(g);
    member a;
    member_init(&a, g, node);
    a.session_ms = 400;
    solo(&a, "x");
    /* Heartbeats keep it alive well past the session timeout... */
    for (int i = 0; i < 8; i++) {
        usleep(150000);
        ck_assert_int_eq(heartbeat(&a, 4), 0);
    }
    ck_assert(state_is(&a.t, g, "Stable"));
    /* ...silence ends it. */
    usleep(700000);
    ck_assert(state_is(&a.t, g, "Empty"));
    ck_assert_int_eq(heartbeat(&a, 4), KFK_ERR_UNKNOWN_MEMBER_ID);
    /* A session outside the broker's bounds is refused. */
    a.session_ms = 50;
    a.id[0] = '\0';
    ck_assert_int_eq(join(&a), KFK_ERR_INVALID_SESSION_TIMEOUT);
    tclient_close(&a.t);
}
END_TEST

START_TEST(static_membership)
{
    const char *g = "g-static";
    int node = coordinator_of(g);
    member a, b;
    member_init(&a, g, node);
    member_init(&b, g, node);
    snprintf(a.instance, sizeof(a.instance), "inst-a");
    snprintf(b.instance, sizeof(b.instance), "inst-b");
    a.protos[1] = b.protos[1] = "roundrobin";
    /* Static members need no MEMBER_ID_REQUIRED round. */
    ck_assert_int_eq(join(&a), 0);
    ck_assert(!strncmp(a.id, "inst-a-", 7));
    member *to[] = {&a};
    const char *as1[] = {"a1"};
    ck_assert_int_eq(sync_call(&a, to, as1, 1, NULL, 0), 0);
    join_async(&b);
    usleep(50000);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    member *to2[] = {&a, &b};
    const char *as2[] = {"a2", "b2"};
    sync_async(&b);
    ck_assert_int_eq(sync_call(&a, to2, as2, 2, NULL, 0), 0);
    char got[64];
    ck_assert_int_eq(sync_wait(&b, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "b2");
    int32_t gen = a.gen;
    /* b restarts: same instance id, no member id, same metadata. It gets a
     * new member id at once, no rebalance. */
    char old_id[256];
    snprintf(old_id, sizeof(old_id), "%s", b.id);
    b.id[0] = '\0';
    ck_assert_int_eq(join(&b), 0);
    ck_assert_str_ne(b.id, old_id);
    ck_assert_int_eq(b.gen, gen);
    ck_assert_int_eq(heartbeat(&a, 4), 0);
    ck_assert_int_eq(heartbeat(&b, 4), 0);
    ck_assert_int_eq(sync_call(&b, NULL, NULL, 0, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "b2"); /* its old assignment */
    /* The old member id is fenced. */
    char new_id[256];
    snprintf(new_id, sizeof(new_id), "%s", b.id);
    snprintf(b.id, sizeof(b.id), "%s", old_id);
    ck_assert_int_eq(heartbeat(&b, 4), KFK_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(sync_call(&b, NULL, NULL, 0, NULL, 0), KFK_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(join(&b), KFK_ERR_FENCED_INSTANCE_ID);
    snprintf(b.id, sizeof(b.id), "%s", new_id);
    ck_assert_int_eq(commit(&a.t, 7, g, gen, old_id, "t", 0, 1, NULL), KFK_ERR_UNKNOWN_MEMBER_ID);
    /* The leader restarting: no rebalance either; it learns the members
     * but is told to skip the assignment (v9). */
    snprintf(old_id, sizeof(old_id), "%s", a.id);
    a.id[0] = '\0';
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(a.gen, gen);
    ck_assert_str_eq(a.leader, a.id);
    ck_assert(a.skip_assignment);
    ck_assert_int_eq(a.nmembers, 2);
    ck_assert_int_eq(heartbeat(&b, 4), 0);
    /* New metadata (a restarted consumer owns nothing yet): as in Kafka,
     * no rebalance while the selected protocol stays the same. */
    b.id[0] = '\0';
    b.meta = "changed";
    ck_assert_int_eq(join(&b), 0);
    ck_assert_int_eq(b.gen, gen);
    ck_assert_int_eq(heartbeat(&a, 4), 0);
    /* A restart that changes the protocol the group would select does
     * rebalance. */
    b.id[0] = '\0';
    b.protos[0] = "roundrobin";
    b.protos[1] = NULL;
    join_async(&b);
    usleep(100000);
    ck_assert_int_eq(heartbeat(&a, 4), KFK_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    ck_assert_int_eq(a.gen, gen + 1);
    ck_assert_str_eq(a.protocol, "roundrobin");
    /* LeaveGroup v3+ by instance ids, in one batch. */
    kfk__leave_group_request rq;
    kfk__leave_group_request_member_identity ids[3];
    kfk__msg_init(&kfk__desc_leave_group_request, &rq);
    for (int i = 0; i < 3; i++)
        kfk__struct_init(&kfk__leave_group_request_member_identity_desc, &ids[i]);
    rq.group_id = kfk__str_c(g);
    ids[0].group_instance_id = KFK__STR("inst-a");
    ids[0].member_id = KFK__STR("wrong-id");
    ids[1].group_instance_id = KFK__STR("inst-b");
    ids[2].group_instance_id = KFK__STR("inst-none");
    rq.members.v = ids;
    rq.members.n = 3;
    kfk__leave_group_response *lr;
    ck_assert_int_eq(tclient_call(&a.t, 13, 5, &rq, (void **)&lr), 0);
    ck_assert_int_eq(lr->error_code, 0);
    ck_assert_int_eq(lr->members.n, 3);
    ck_assert_int_eq(lr->members.v[0].error_code, KFK_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(lr->members.v[1].error_code, 0);
    ck_assert_int_eq(lr->members.v[2].error_code, KFK_ERR_UNKNOWN_MEMBER_ID);
    ids[0].member_id = KFK__STR("");
    rq.members.n = 1;
    ck_assert_int_eq(tclient_call(&a.t, 13, 3, &rq, (void **)&lr), 0);
    ck_assert_int_eq(lr->members.v[0].error_code, 0);
    ck_assert(state_is(&a.t, g, "Empty"));
    tclient_close(&a.t);
    tclient_close(&b.t);
}
END_TEST

/* A ConsumerProtocolSubscription v1 naming one topic. */
static char *subscription(const char *topic, int32_t *len)
{
    kfk__consumer_protocol_subscription s;
    kfk__msg_init(&kfk__desc_consumer_protocol_subscription, &s);
    kfk__str tn = kfk__str_c(topic);
    s.topics.v = &tn;
    s.topics.n = 1;
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    kfk__wr_i16(&w, 1);
    ck_assert_int_eq(kfk__encode(&kfk__desc_consumer_protocol_subscription, 1, &s, &w, NULL), 0);
    size_t n;
    char *out = (char *)kfk__wbuf_take(&w, &n);
    out = realloc(out, n + 1);
    *len = (int32_t)n;
    return out;
}

START_TEST(offsets)
{
    const char *g = "g-off";
    int node = coordinator_of(g);
    tclient t;
    connect_to(&t, node);
    int16_t err;
    char meta[64];
    /* Simple (generation -1) commits to a group without members, every
     * version; fetch them back with every version. */
    for (int16_t v = 0; v <= 9; v++) {
        ck_assert_int_eq(commit(&t, v, g, -1, NULL, "t", v % 4, 100 + v, "m"), 0);
        ck_assert_int_eq(fetch_offset(&t, v > 7 ? 7 : v, g, "t", v % 4, meta, sizeof(meta), &err),
                         100 + v);
        ck_assert_int_eq(err, 0);
        ck_assert_str_eq(meta, "m");
    }
    ck_assert_int_eq(fetch_offset(&t, 7, g, "u", 1, meta, sizeof(meta), &err), -1);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(commit(&t, 8, g, -1, NULL, "nope", 0, 1, NULL),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(commit(&t, 8, g, -1, NULL, "t", 9, 1, NULL),
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(commit(&t, 8, g, -1, NULL, "t", 0, 1, big), KFK_ERR_OFFSET_METADATA_TOO_LARGE);
    /* A group with members: generation and member are checked. */
    member m;
    member_init(&m, g, node);
    int32_t sublen;
    char *sub = subscription("t", &sublen);
    m.meta = sub;
    m.meta_len = sublen;
    ck_assert_int_eq(join_new(&m), 0);
    ck_assert_int_eq(commit(&t, 8, g, m.gen, m.id, "t", 0, 5, NULL),
                     KFK_ERR_REBALANCE_IN_PROGRESS); /* CompletingRebalance */
    member *to[] = {&m};
    const char *as[] = {"x"};
    ck_assert_int_eq(sync_call(&m, to, as, 1, NULL, 0), 0);
    ck_assert_int_eq(commit(&t, 8, g, m.gen, m.id, "t", 0, 5, "meta"), 0);
    ck_assert_int_eq(commit(&t, 8, g, m.gen + 1, m.id, "t", 0, 6, NULL),
                     KFK_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(commit(&t, 8, g, m.gen, "stranger", "t", 0, 6, NULL),
                     KFK_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(commit(&t, 8, g, -1, NULL, "t", 0, 6, NULL), KFK_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(fetch_offset(&t, 5, g, "t", 0, meta, sizeof(meta), &err), 5);
    ck_assert_str_eq(meta, "meta");
    /* v8 multi-group fetch, one group with all its topics (null). */
    tclient t2;
    connect_to(&t2, coordinator_of("g-off-2"));
    ck_assert_int_eq(commit(&t2, 2, "g-off-2", -1, NULL, "u", 1, 77, NULL), 0);
    kfk__offset_fetch_request rq;
    kfk__offset_fetch_request_group gs[2];
    kfk__msg_init(&kfk__desc_offset_fetch_request, &rq);
    for (int i = 0; i < 2; i++)
        kfk__struct_init(&kfk__offset_fetch_request_group_desc, &gs[i]);
    gs[0].group_id = kfk__str_c(g);
    gs[0].topics.n = -1;
    gs[1].group_id = KFK__STR("g-off-2");
    gs[1].topics.n = -1;
    rq.groups.v = gs;
    rq.groups.n = 2;
    rq.require_stable = true;
    kfk__offset_fetch_response *fr;
    tclient *at = node == coordinator_of("g-off-2") ? &t : &t2;
    if (at == &t) {
        ck_assert_int_eq(tclient_call(&t, 9, 9, &rq, (void **)&fr), 0);
        ck_assert_int_eq(fr->groups.n, 2);
        ck_assert_int_eq(fr->groups.v[0].error_code, 0);
        ck_assert_int_eq(fr->groups.v[0].topics.n, 1);
        ck_assert_int_eq(fr->groups.v[0].topics.v[0].partitions.n, 4);
        ck_assert_int_eq(fr->groups.v[1].topics.v[0].partitions.v[0].committed_offset, 77);
    } else {
        /* Different coordinators: each answers for its own group. */
        ck_assert_int_eq(tclient_call(&t, 9, 8, &rq, (void **)&fr), 0);
        ck_assert_int_eq(fr->groups.v[0].error_code, 0);
        ck_assert_int_eq(fr->groups.v[0].topics.v[0].partitions.n, 4);
        ck_assert_int_eq(fr->groups.v[1].error_code, KFK_ERR_NOT_COORDINATOR);
        ck_assert_int_eq(tclient_call(&t2, 9, 8, &rq, (void **)&fr), 0);
        ck_assert_int_eq(fr->groups.v[0].error_code, KFK_ERR_NOT_COORDINATOR);
        ck_assert_int_eq(fr->groups.v[1].topics.v[0].partitions.v[0].committed_offset, 77);
    }
    /* Deleting a topic deletes its committed offsets (a topic created
     * again under that name starts afresh). */
    kfk__delete_topics_request del;
    kfk__msg_init(&kfk__desc_delete_topics_request, &del);
    kfk__str uname = KFK__STR("u");
    del.topic_names.v = &uname;
    del.topic_names.n = 1;
    del.timeout_ms = 1000;
    kfk__delete_topics_response *delr;
    ck_assert_int_eq(tclient_call(&t2, 20, 4, &del, (void **)&delr), 0);
    ck_assert_int_eq(delr->responses.v[0].error_code, 0);
    ck_assert_int_eq(fetch_offset(&t2, 7, "g-off-2", "u", 1, NULL, 0, &err), -1);
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "u", 2, 0), KFK_ERR_NONE);
    ck_assert_int_eq(fetch_offset(&t2, 7, "g-off-2", "u", 1, NULL, 0, &err), -1);
    tclient_close(&t2);
    /* OffsetDelete: refused for the subscribed topic while active, fine for
     * the other; everything once the group is empty. */
    kfk__offset_delete_request dr;
    kfk__offset_delete_request_topic dt[2];
    kfk__offset_delete_request_partition dp = {.partition_index = 1};
    kfk__msg_init(&kfk__desc_offset_delete_request, &dr);
    dr.group_id = kfk__str_c(g);
    for (int i = 0; i < 2; i++) {
        kfk__struct_init(&kfk__offset_delete_request_topic_desc, &dt[i]);
        dt[i].partitions.v = &dp;
        dt[i].partitions.n = 1;
    }
    dt[0].name = KFK__STR("t");
    dt[1].name = KFK__STR("u");
    dr.topics.v = dt;
    dr.topics.n = 2;
    kfk__offset_delete_response *dres;
    ck_assert_int_eq(tclient_call(&t, 47, 0, &dr, (void **)&dres), 0);
    ck_assert_int_eq(dres->error_code, 0);
    ck_assert_int_eq(dres->topics.v[0].partitions.v[0].error_code,
                     KFK_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    ck_assert_int_eq(dres->topics.v[1].partitions.v[0].error_code, 0);
    ck_assert_int_eq(leave(&m, 5), 0);
    ck_assert_int_eq(tclient_call(&t, 47, 0, &dr, (void **)&dres), 0);
    ck_assert_int_eq(dres->topics.v[0].partitions.v[0].error_code, 0);
    ck_assert_int_eq(fetch_offset(&t, 7, g, "t", 1, NULL, 0, &err), -1);
    ck_assert_int_eq(fetch_offset(&t, 7, g, "t", 2, NULL, 0, &err), 106);
    dr.group_id = KFK__STR("g-none");
    tclient t3;
    connect_to(&t3, coordinator_of("g-none"));
    ck_assert_int_eq(tclient_call(&t3, 47, 0, &dr, (void **)&dres), 0);
    ck_assert_int_eq(dres->error_code, KFK_ERR_GROUP_ID_NOT_FOUND);
    tclient_close(&t3);
    free(sub);
    tclient_close(&m.t);
    tclient_close(&t);
}
END_TEST

static kfk__list_groups_response *list_groups(tclient *t, int16_t v, const char *state,
                                              const char *type)
{
    kfk__list_groups_request rq;
    kfk__msg_init(&kfk__desc_list_groups_request, &rq);
    kfk__str s = kfk__str_c(state), ty = kfk__str_c(type);
    if (state) {
        rq.states_filter.v = &s;
        rq.states_filter.n = 1;
    }
    if (type) {
        rq.types_filter.v = &ty;
        rq.types_filter.n = 1;
    }
    kfk__list_groups_response *r;
    ck_assert_int_eq(tclient_call(t, 16, v, &rq, (void **)&r), 0);
    return r;
}

static bool listed(kfk__list_groups_response *r, const char *g)
{
    for (int32_t i = 0; i < r->groups.n; i++)
        if (kfk__str_eq(r->groups.v[i].group_id, g))
            return true;
    return false;
}

START_TEST(describe_list_delete)
{
    const char *g = "g-admin";
    int node = coordinator_of(g);
    member m;
    member_init(&m, g, node);
    solo(&m, "x");
    tclient t;
    connect_to(&t, node);
    for (int16_t v = 0; v <= 5; v++) {
        kfk__describe_groups_response_described_group *d = describe(&t, v, g);
        ck_assert_int_eq(d->error_code, 0);
        ck_assert(kfk__str_eq(d->group_state, "Stable"));
        ck_assert_int_eq(d->members.n, 1);
        kfk__list_groups_response *l = list_groups(&t, v, NULL, NULL);
        ck_assert_int_eq(l->error_code, 0);
        ck_assert(listed(l, g));
    }
    tclient u;
    connect_to(&u, coordinator_of("g-unknown"));
    ck_assert(kfk__str_eq(describe(&u, 5, "g-unknown")->group_state, "Dead"));
    tclient_close(&u);
    ck_assert(listed(list_groups(&t, 4, "stable", NULL), g));
    ck_assert(!listed(list_groups(&t, 4, "Empty", NULL), g));
    ck_assert(listed(list_groups(&t, 5, NULL, "classic"), g));
    ck_assert(!listed(list_groups(&t, 5, NULL, "consumer"), g));
    /* Another broker neither lists nor describes it. */
    tclient o;
    connect_to(&o, node % 3 + 1);
    ck_assert(!listed(list_groups(&o, 5, NULL, NULL), g));
    ck_assert_int_eq(describe(&o, 5, g)->error_code, KFK_ERR_NOT_COORDINATOR);
    tclient_close(&o);
    /* DeleteGroups: not while it has members; then gone. */
    kfk__delete_groups_request rq;
    kfk__msg_init(&kfk__desc_delete_groups_request, &rq);
    kfk__str names[2] = {kfk__str_c(g), KFK__STR("g-never")};
    rq.groups_names.v = names;
    rq.groups_names.n = 1;
    kfk__delete_groups_response *r;
    ck_assert_int_eq(tclient_call(&t, 42, 2, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->results.v[0].error_code, KFK_ERR_NON_EMPTY_GROUP);
    ck_assert_int_eq(leave(&m, 5), 0);
    ck_assert_int_eq(commit(&t, 8, g, -1, NULL, "t", 0, 9, NULL), 0);
    ck_assert(listed(list_groups(&t, 4, "Empty", NULL), g));
    ck_assert_int_eq(tclient_call(&t, 42, 0, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->results.v[0].error_code, 0);
    ck_assert(kfk__str_eq(describe(&t, 5, g)->group_state, "Dead"));
    ck_assert(!listed(list_groups(&t, 3, NULL, NULL), g));
    int16_t err;
    ck_assert_int_eq(fetch_offset(&t, 7, g, "t", 0, NULL, 0, &err), -1);
    ck_assert_int_eq(tclient_call(&t, 42, 1, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->results.v[0].error_code, KFK_ERR_GROUP_ID_NOT_FOUND);
    tclient_close(&m.t);
    tclient_close(&t);
}
END_TEST

START_TEST(coordinator_moves)
{
    const char *g = "g-move";
    int node = coordinator_of(g);
    int other = node % 3 + 1;
    member a, b;
    member_init(&a, g, node);
    member_init(&b, g, node);
    solo(&a, "x");
    ck_assert_int_eq(commit(&a.t, 8, g, a.gen, a.id, "t", 0, 42, NULL), 0);
    /* b waits in JoinGroup when the coordinator moves: it is told. */
    ck_assert_int_eq(join(&b), KFK_ERR_MEMBER_ID_REQUIRED);
    join_async(&b);
    usleep(100000);
    ck_assert_int_eq(kfk_cluster_move_coordinator(cluster, g, other), KFK_ERR_NONE);
    ck_assert_int_eq(join_wait(&b), KFK_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(coordinator_of(g), other);
    ck_assert_int_eq(heartbeat(&a, 4), KFK_ERR_NOT_COORDINATOR);
    int16_t err;
    fetch_offset(&a.t, 7, g, "t", 0, NULL, 0, &err);
    ck_assert_int_eq(err, KFK_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(commit(&a.t, 8, g, a.gen, a.id, "t", 0, 43, NULL), KFK_ERR_NOT_COORDINATOR);
    /* At the new coordinator the group goes on, offsets and all. */
    tclient_close(&a.t);
    tclient_close(&b.t);
    connect_to(&a.t, other);
    connect_to(&b.t, other);
    ck_assert_int_eq(fetch_offset(&a.t, 7, g, "t", 0, NULL, 0, &err), 42);
    join_async(&b);
    usleep(50000);
    ck_assert_int_eq(join(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    /* The coordinator stops: another running broker takes over. */
    ck_assert_int_eq(kfk_cluster_broker_stop(cluster, other), KFK_ERR_NONE);
    int now = coordinator_of(g);
    ck_assert_int_ne(now, other);
    tclient t;
    connect_to(&t, now);
    ck_assert_int_eq(fetch_offset(&t, 7, g, "t", 0, NULL, 0, &err), 42);
    ck_assert_int_eq(describe(&t, 5, g)->members.n, 2);
    tclient_close(&t);
    /* The third broker is not the coordinator either. */
    int third = 6 - now - other;
    connect_to(&t, third);
    ck_assert_int_eq(describe(&t, 5, g)->error_code, KFK_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(find_coord(&t, 3, g, 0)->node_id, now);
    tclient_close(&t);
    /* Bad arguments. */
    ck_assert_int_eq(kfk_cluster_move_coordinator(cluster, g, 9), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_cluster_move_coordinator(cluster, g, other),
                     KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(kfk_cluster_move_coordinator(cluster, "", 1), KFK_ERR__INVALID_ARG);
    /* A group that does not exist yet can be placed too. */
    ck_assert_int_eq(kfk_cluster_move_coordinator(cluster, "g-future", now), KFK_ERR_NONE);
    ck_assert_int_eq(coordinator_of("g-future"), now);
    tclient_close(&a.t);
    tclient_close(&b.t);
}
END_TEST

START_TEST(injected_errors)
{
    const char *g = "g-fault";
    int node = coordinator_of(g);
    member m;
    member_init(&m, g, node);
    ck_assert_int_eq(kfk_cluster_inject_error(cluster, -1, 10, NULL, -1,
                                              KFK_ERR_COORDINATOR_NOT_AVAILABLE, 1),
                     KFK_ERR_NONE);
    ck_assert_int_eq(find_coord(&m.t, 3, g, 0)->error_code, KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(find_coord(&m.t, 3, g, 0)->error_code, 0);
    kfk_cluster_inject_error(cluster, node, 11, NULL, -1, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS, 1);
    ck_assert_int_eq(join(&m), KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    solo(&m, "x");
    kfk_cluster_inject_error(cluster, -1, 12, NULL, -1, KFK_ERR_NOT_COORDINATOR, 1);
    ck_assert_int_eq(heartbeat(&m, 4), KFK_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(heartbeat(&m, 4), 0);
    kfk_cluster_inject_error(cluster, -1, 14, NULL, -1, KFK_ERR_REBALANCE_IN_PROGRESS, 1);
    ck_assert_int_eq(sync_call(&m, NULL, NULL, 0, NULL, 0), KFK_ERR_REBALANCE_IN_PROGRESS);
    kfk_cluster_inject_error(cluster, -1, 8, "t", 2, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS, 1);
    ck_assert_int_eq(commit(&m.t, 8, g, m.gen, m.id, "t", 1, 1, NULL), 0);
    ck_assert_int_eq(commit(&m.t, 8, g, m.gen, m.id, "t", 2, 1, NULL),
                     KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    kfk_cluster_inject_error(cluster, -1, 9, NULL, -1, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS, 1);
    int16_t err;
    fetch_offset(&m.t, 7, g, "t", 1, NULL, 0, &err);
    ck_assert_int_eq(err, KFK_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    ck_assert_int_eq(fetch_offset(&m.t, 7, g, "t", 1, NULL, 0, &err), 1);
    kfk_cluster_inject_error(cluster, -1, 13, NULL, -1, KFK_ERR_COORDINATOR_NOT_AVAILABLE, 1);
    ck_assert_int_eq(leave(&m, 4), KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    kfk_cluster_inject_error(cluster, -1, 15, NULL, -1, KFK_ERR_COORDINATOR_NOT_AVAILABLE, 1);
    ck_assert_int_eq(describe(&m.t, 5, g)->error_code, KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    kfk_cluster_inject_error(cluster, -1, 16, NULL, -1, KFK_ERR_COORDINATOR_NOT_AVAILABLE, 1);
    ck_assert_int_eq(list_groups(&m.t, 4, NULL, NULL)->error_code,
                     KFK_ERR_COORDINATOR_NOT_AVAILABLE);
    /* Latency applies to a parked JoinGroup's answer as to any other. */
    kfk_cluster_set_latency(cluster, node, 200);
    int64_t t0 = kfk__now_ms();
    ck_assert_int_eq(join(&m), 0);
    ck_assert_int_ge(kfk__now_ms() - t0, 190);
    kfk_cluster_set_latency(cluster, node, 0);
    /* A paused coordinator answers nothing until resumed. */
    ck_assert_int_eq(kfk_cluster_broker_pause(cluster, node, 1), KFK_ERR_NONE);
    m.key = 12;
    m.ver = 4;
    kfk__heartbeat_request hb;
    kfk__msg_init(&kfk__desc_heartbeat_request, &hb);
    hb.group_id = kfk__str_c(g);
    hb.generation_id = m.gen;
    hb.member_id = kfk__str_c(m.id);
    m.body = &hb;
    t0 = kfk__now_ms();
    ck_assert_int_eq(pthread_create(&m.th, NULL, call_thread, &m), 0);
    usleep(300000);
    kfk_cluster_broker_pause(cluster, node, 0);
    pthread_join(m.th, NULL);
    m.body = NULL;
    ck_assert_int_eq(m.rc, 0);
    ck_assert_int_eq(((kfk__heartbeat_response *)m.resp)->error_code, 0);
    ck_assert_int_ge(kfk__now_ms() - t0, 290);
    /* A dropped connection: the request is not answered. */
    ck_assert_int_eq(kfk_cluster_drop_after(cluster, node, 0), KFK_ERR_NONE);
    kfk__sync_group_request *sr = sync_body(&m, NULL, NULL, 0);
    void *resp;
    ck_assert_int_eq(tclient_call(&m.t, 14, 5, sr, &resp), KFK_ERR__TRANSPORT);
    free(sr->assignments.v);
    free(sr);
    kfk_cluster_clear_faults(cluster);
    tclient_close(&m.t);
}
END_TEST

START_TEST(hostile_values)
{
    const char *g = "g-hostile";
    int node = coordinator_of(g);
    member m;
    member_init(&m, g, node);
    m.session_ms = -1;
    ck_assert_int_eq(join(&m), KFK_ERR_INVALID_SESSION_TIMEOUT);
    m.session_ms = 1000;
    m.rebalance_ms = -5;
    solo(&m, "x");
    m.rebalance_ms = INT32_MAX;
    ck_assert_int_eq(join(&m), 0);
    /* Sync with assignments for unknown and duplicate members. */
    member ghost = m;
    snprintf(ghost.id, sizeof(ghost.id), "ghost");
    member *to[] = {&m, &ghost, &m};
    const char *as[] = {"1", "2", "3"};
    char got[16];
    ck_assert_int_eq(sync_call(&m, to, as, 3, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "3");
    /* Empty and NUL-bearing group ids. */
    member e;
    member_init(&e, "", node);
    ck_assert_int_eq(join(&e), KFK_ERR_INVALID_GROUP_ID);
    ck_assert_int_eq(heartbeat(&e, 4), KFK_ERR_INVALID_GROUP_ID);
    kfk__join_group_request *rq = join_body(&e);
    rq->group_id = (kfk__str){"a\0b", 3};
    kfk__join_group_response *r;
    ck_assert_int_eq(tclient_call(&e.t, 11, 9, rq, (void **)&r), 0);
    ck_assert_int_eq(r->error_code, KFK_ERR_INVALID_GROUP_ID);
    free(rq->protocols.v);
    free(rq);
    /* Null arrays where the version allows them. */
    kfk__leave_group_request lr;
    kfk__msg_init(&kfk__desc_leave_group_request, &lr);
    lr.group_id = kfk__str_c(g);
    lr.members.n = 0;
    kfk__leave_group_response *lres;
    ck_assert_int_eq(tclient_call(&m.t, 13, 5, &lr, (void **)&lres), 0);
    ck_assert_int_eq(lres->members.n, 0);
    kfk__offset_fetch_request fr;
    kfk__msg_init(&kfk__desc_offset_fetch_request, &fr);
    fr.group_id = kfk__str_c(g);
    fr.topics.n = -1;
    kfk__offset_fetch_response *fres;
    ck_assert_int_eq(tclient_call(&m.t, 9, 7, &fr, (void **)&fres), 0);
    ck_assert_int_eq(fres->error_code, 0);
    /* Many MEMBER_ID_REQUIRED rounds that never come back expire. */
    member p;
    member_init(&p, g, node);
    p.session_ms = 200;
    for (int i = 0; i < 20; i++) {
        p.id[0] = '\0';
        ck_assert_int_eq(join(&p), KFK_ERR_MEMBER_ID_REQUIRED);
    }
    /* The group does not wait for them past their session: m's rejoin
     * completes quickly. */
    usleep(400000);
    m.rebalance_ms = 1000;
    ck_assert_int_eq(join(&m), 0);
    tclient_close(&p.t);
    tclient_close(&e.t);
    tclient_close(&m.t);
}
END_TEST

/* ---- chaos ------------------------------------------------------------------- */

/* Workers send random, often wrong, group requests to random brokers while
 * the coordinator moves around: every request must be answered (the
 * connection stays open) and the broker must stay consistent (the
 * sanitizer builds catch the rest). */
typedef struct chaos {
    pthread_t th;
    unsigned seed;
    int64_t until;
    int calls, answered;
    int errs[128];
} chaos;

static const char *const chaos_groups[] = {"chaos-1", "chaos-2"};
static int chaos_coord[2]; /* where the main thread last moved each group */
static const char *const chaos_ids[] = {"", "m-1", "m-2", "nobody"};
static const char *const chaos_instances[] = {NULL, "i-1", "i-2"};

static kfk__str pick(unsigned *seed, const char *const *v, int n)
{
    return kfk__str_c(v[rand_r(seed) % n]);
}

static void *chaos_run(void *arg)
{
    chaos *w = arg;
    tclient t[3];
    for (int b = 0; b < 3; b++)
        ck_assert_int_eq(tclient_connect_nth(&t[b], kfk_cluster_bootstrap(cluster), b + 1), 0);
    /* member ids learnt from answers, so some requests are right */
    char learnt[4][256] = {"", "", "", ""};
    while (kfk__now_ms() < w->until) {
        unsigned *sd = &w->seed;
        int gi = rand_r(sd) % 2;
        kfk__str group = kfk__str_c(chaos_groups[gi]);
        /* Mostly the coordinator, sometimes another broker. */
        int coord = __atomic_load_n(&chaos_coord[gi], __ATOMIC_RELAXED);
        tclient *c = &t[rand_r(sd) % 5 ? coord - 1 : rand_r(sd) % 3];
        kfk__str mid = rand_r(sd) % 2 ? pick(sd, chaos_ids, 4)
                                         : kfk__str_c(learnt[rand_r(sd) % 4]);
        kfk__str inst = pick(sd, chaos_instances, 3);
        int32_t gen = (int32_t)(rand_r(sd) % 6) - 1;
        int op = rand_r(sd) % 9;
        void *resp = NULL;
        int rc = 0;
        w->calls++;
        if (op == 0 || op == 1) {
            kfk__join_group_request rq;
            kfk__join_group_request_protocol p[2];
            kfk__msg_init(&kfk__desc_join_group_request, &rq);
            for (int i = 0; i < 2; i++) {
                kfk__struct_init(&kfk__join_group_request_protocol_desc, &p[i]);
                p[i].name = rand_r(sd) % 3 ? KFK__STR("range") : KFK__STR("other");
                p[i].metadata = (kfk__bytes){(const uint8_t *)"md", (int32_t)(rand_r(sd) % 3)};
            }
            rq.group_id = group;
            rq.session_timeout_ms = 100 + (int32_t)(rand_r(sd) % 300);
            rq.rebalance_timeout_ms = (int32_t)(rand_r(sd) % 300) - 50;
            rq.member_id = mid;
            rq.protocol_type = rand_r(sd) % 8 ? KFK__STR("consumer") : KFK__STR("connect");
            rq.protocols.v = p;
            rq.protocols.n = rand_r(sd) % 6 ? 1 + (int32_t)(rand_r(sd) % 2) : 0;
            int16_t v = (int16_t)(rand_r(sd) % 10);
            if (v >= 5)
                rq.group_instance_id = inst;
            rc = tclient_call(c, 11, v, &rq, &resp);
            if (!rc) {
                kfk__join_group_response *r = resp;
                if (r->member_id.len > 0)
                    copy_str(learnt[rand_r(sd) % 4], 256, r->member_id);
                w->errs[r->error_code & 127]++;
            }
        } else if (op == 2) {
            kfk__sync_group_request rq;
            kfk__sync_group_request_assignment a[2];
            kfk__msg_init(&kfk__desc_sync_group_request, &rq);
            for (int i = 0; i < 2; i++) {
                kfk__struct_init(&kfk__sync_group_request_assignment_desc, &a[i]);
                a[i].member_id = kfk__str_c(learnt[rand_r(sd) % 4]);
                a[i].assignment = (kfk__bytes){(const uint8_t *)"as", 2};
            }
            rq.group_id = group;
            rq.generation_id = gen;
            rq.member_id = mid;
            rq.group_instance_id = inst;
            rq.assignments.v = a;
            rq.assignments.n = (int32_t)(rand_r(sd) % 3);
            rc = tclient_call(c, 14, (int16_t)(3 + rand_r(sd) % 3), &rq, &resp);
        } else if (op == 3) {
            kfk__heartbeat_request rq;
            kfk__msg_init(&kfk__desc_heartbeat_request, &rq);
            rq.group_id = group;
            rq.generation_id = gen;
            rq.member_id = mid;
            rq.group_instance_id = inst;
            rc = tclient_call(c, 12, (int16_t)(3 + rand_r(sd) % 2), &rq, &resp);
        } else if (op == 4) {
            kfk__leave_group_request rq;
            kfk__leave_group_request_member_identity id[2];
            kfk__msg_init(&kfk__desc_leave_group_request, &rq);
            for (int i = 0; i < 2; i++) {
                kfk__struct_init(&kfk__leave_group_request_member_identity_desc, &id[i]);
                id[i].member_id = i ? mid : kfk__str_c(learnt[rand_r(sd) % 4]);
                id[i].group_instance_id = pick(sd, chaos_instances, 3);
            }
            int16_t v = (int16_t)(rand_r(sd) % 6);
            rq.group_id = group;
            if (v < 3) {
                rq.member_id = mid;
            } else {
                rq.members.v = id;
                rq.members.n = (int32_t)(rand_r(sd) % 3);
            }
            rc = tclient_call(c, 13, v, &rq, &resp);
        } else if (op == 5) {
            rc = commit(c, (int16_t)(rand_r(sd) % 10), chaos_groups[gi], gen,
                        learnt[rand_r(sd) % 4], rand_r(sd) % 2 ? "t" : "u",
                        (int32_t)(rand_r(sd) % 5) - 1, rand_r(sd) % 1000, "x") < 0;
        } else if (op == 6) {
            int16_t err;
            fetch_offset(c, (int16_t)(rand_r(sd) % 8), chaos_groups[gi], "t",
                         (int32_t)(rand_r(sd) % 4), NULL, 0, &err);
        } else if (op == 7) {
            describe(c, (int16_t)(rand_r(sd) % 6), chaos_groups[gi]);
            list_groups(c, 5, NULL, NULL);
        } else {
            kfk__delete_groups_request rq;
            kfk__msg_init(&kfk__desc_delete_groups_request, &rq);
            rq.groups_names.v = &group;
            rq.groups_names.n = 1;
            rc = tclient_call(c, 42, 2, &rq, &resp);
        }
        ck_assert_msg(rc == 0, "op %d: the broker did not answer (%d)", op, rc);
        w->answered++;
    }
    for (int b = 0; b < 3; b++)
        tclient_close(&t[b]);
    return NULL;
}

START_TEST(chaos_requests)
{
    chaos w[3];
    int64_t until = kfk__now_ms() + 3000;
    for (int i = 0; i < 2; i++) {
        chaos_coord[i] = coordinator_of(chaos_groups[i]);
    }
    for (int i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].seed = 1234u + (unsigned)i;
        w[i].until = until;
        ck_assert_int_eq(pthread_create(&w[i].th, NULL, chaos_run, &w[i]), 0);
    }
    for (int k = 0; kfk__now_ms() < until; k++) {
        usleep(300000);
        __atomic_store_n(&chaos_coord[k % 2], k % 3 + 1, __ATOMIC_RELAXED);
        kfk_cluster_move_coordinator(cluster, chaos_groups[k % 2], k % 3 + 1);
    }
    int calls = 0, joined = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].th, NULL);
        calls += w[i].answered;
        joined += w[i].errs[0];
    }
    fprintf(stderr, "chaos: %d requests answered, %d joins succeeded; join errors:", calls,
            joined);
    for (int e = 1; e < 128; e++) {
        int n = w[0].errs[e] + w[1].errs[e] + w[2].errs[e];
        if (n)
            fprintf(stderr, " %s %d", kfk_err_name(e), n);
    }
    fprintf(stderr, "\n");
    ck_assert_int_gt(calls, 100);
    ck_assert_int_gt(joined, 0); /* some joins succeeded */
    /* Still serving: a clean member can form a fresh group. */
    member m;
    member_init(&m, "chaos-after", coordinator_of("chaos-after"));
    solo(&m, "ok");
    tclient_close(&m.t);
}
END_TEST

/* ---- broker configs ------------------------------------------------------------ */

START_TEST(initial_delay_and_max_size)
{
    static const char *const props[] = {"brokers=1", "group.initial.rebalance.delay.ms=400",
                                        "group.max.size=2", NULL};
    start(props);
    const char *g = "g-delay";
    member a, b, c;
    member_init(&a, g, 1);
    member_init(&b, g, 1);
    member_init(&c, g, 1);
    a.jv = b.jv = c.jv = 3;
    /* The first generation of a new group waits for more members. */
    int64_t t0 = kfk__now_ms();
    join_async(&a);
    usleep(100000);
    join_async(&b);
    ck_assert_int_eq(join_wait(&a), 0);
    ck_assert_int_eq(join_wait(&b), 0);
    int64_t took = kfk__now_ms() - t0;
    ck_assert_int_ge(took, 380);
    ck_assert_int_lt(took, 3000);
    ck_assert_int_eq(a.gen, 1);
    ck_assert_int_eq(b.gen, 1);
    ck_assert_int_eq(a.nmembers + b.nmembers, 2);
    /* A third member does not fit. */
    ck_assert_int_eq(join(&c), KFK_ERR_GROUP_MAX_SIZE_REACHED);
    c.jv = 9; /* not even a member id, as in Kafka */
    c.id[0] = '\0';
    ck_assert_int_eq(join(&c), KFK_ERR_GROUP_MAX_SIZE_REACHED);
    ck_assert_str_eq(c.id, "");
    /* A later rebalance (the leader rejoins) of a non-empty group does not
     * wait. */
    member *l = strcmp(a.leader, a.id) ? &b : &a, *f = l == &a ? &b : &a;
    member *to[] = {l, f};
    const char *as[] = {"l", "f"};
    char got[16];
    sync_async(f);
    ck_assert_int_eq(sync_call(l, to, as, 2, NULL, 0), 0);
    ck_assert_int_eq(sync_wait(f, got, sizeof(got)), 0);
    ck_assert_str_eq(got, "f");
    t0 = kfk__now_ms();
    join_async(l);
    usleep(20000);
    ck_assert_int_eq(join(f), 0);
    ck_assert_int_eq(join_wait(l), 0);
    ck_assert_int_lt(kfk__now_ms() - t0, 350);
    ck_assert_int_eq(a.gen, 2);
    ck_assert_int_eq(b.gen, 2);
    tclient_close(&a.t);
    tclient_close(&b.t);
    tclient_close(&c.t);
    /* The only broker stops and starts: it coordinates the group again. */
    ck_assert_int_eq(kfk_cluster_broker_stop(cluster, 1), KFK_ERR_NONE);
    ck_assert_int_eq(kfk_cluster_broker_start(cluster, 1), KFK_ERR_NONE);
    ck_assert_int_eq(coordinator_of(g), 1);
    tclient t;
    connect_to(&t, 1);
    ck_assert_int_eq(describe(&t, 5, g)->members.n, 2);
    tclient_close(&t);
    kfk_cluster_destroy(cluster);
    cluster = NULL;
    /* Bad values are refused at creation. */
    char err[256];
    static const char *const bad[] = {"group.max.size=0", NULL};
    ck_assert_ptr_null(kfk_cluster_new(bad, err, sizeof(err)));
    static const char *const bad2[] = {"group.min.session.timeout.ms=x", NULL};
    ck_assert_ptr_null(kfk_cluster_new(bad2, err, sizeof(err)));
}
END_TEST

/* ---- durability --------------------------------------------------------------- */

static char data_dir[64];

static void start_durable(void)
{
    char prop[128];
    snprintf(prop, sizeof(prop), "data.dir=%s", data_dir);
    const char *props[] = {"brokers=2", prop, NULL};
    start(props);
}

START_TEST(durable_offsets)
{
    snprintf(data_dir, sizeof(data_dir), "/tmp/kfk-test-group-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_dir));
    start_durable();
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "t", 3, 0), KFK_ERR_NONE);
    tclient a, b;
    connect_to(&a, coordinator_of("dur-a"));
    connect_to(&b, coordinator_of("dur-\xc3\xa9\xff"));
    ck_assert_int_eq(commit(&a, 8, "dur-a", -1, NULL, "t", 0, 10, "meta-a"), 0);
    ck_assert_int_eq(commit(&a, 8, "dur-a", -1, NULL, "t", 1, 11, NULL), 0);
    ck_assert_int_eq(commit(&a, 8, "dur-a", -1, NULL, "t", 1, 12, "\x01\xfe"), 0);
    ck_assert_int_eq(commit(&b, 8, "dur-\xc3\xa9\xff", -1, NULL, "t", 2, 20, NULL), 0);
    ck_assert_int_eq(commit(&a, 8, "dur-a", -1, NULL, "t", 2, 99, NULL), 0);
    /* Delete one offset (OffsetDelete) and a whole group (DeleteGroups). */
    ck_assert_int_eq(commit(&a, 8, "dur-gone", -1, NULL, "t", 0, 5, NULL), 0);
    kfk__offset_delete_request dr;
    kfk__offset_delete_request_topic dt;
    kfk__offset_delete_request_partition dp = {.partition_index = 2};
    kfk__msg_init(&kfk__desc_offset_delete_request, &dr);
    kfk__struct_init(&kfk__offset_delete_request_topic_desc, &dt);
    dr.group_id = KFK__STR("dur-a");
    dt.name = KFK__STR("t");
    dt.partitions.v = &dp;
    dt.partitions.n = 1;
    dr.topics.v = &dt;
    dr.topics.n = 1;
    kfk__offset_delete_response *dres;
    ck_assert_int_eq(tclient_call(&a, 47, 0, &dr, (void **)&dres), 0);
    ck_assert_int_eq(dres->error_code, 0);
    tclient g;
    connect_to(&g, coordinator_of("dur-gone"));
    kfk__delete_groups_request rq;
    kfk__msg_init(&kfk__desc_delete_groups_request, &rq);
    kfk__str name = KFK__STR("dur-gone");
    rq.groups_names.v = &name;
    rq.groups_names.n = 1;
    kfk__delete_groups_response *r;
    ck_assert_int_eq(tclient_call(&g, 42, 2, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->results.v[0].error_code, 0);
    /* Membership is durable too: a stable group of two (one static), and
     * a group that became empty. */
    member x, y, z;
    int node = coordinator_of("dur-members");
    member_init(&x, "dur-members", node);
    member_init(&y, "dur-members", node);
    snprintf(y.instance, sizeof(y.instance), "dur-static");
    ck_assert_int_eq(join_new(&x), 0);
    join_async(&y);
    usleep(50000);
    ck_assert_int_eq(join(&x), 0);
    ck_assert_int_eq(join_wait(&y), 0);
    member *to[] = {&x, &y};
    const char *as[] = {"x-part", "y-part"};
    sync_async(&y);
    ck_assert_int_eq(sync_call(&x, to, as, 2, NULL, 0), 0);
    char got[32];
    ck_assert_int_eq(sync_wait(&y, got, sizeof(got)), 0);
    int32_t stable_gen = x.gen;
    member_init(&z, "dur-empty", coordinator_of("dur-empty"));
    solo(&z, "z");
    ck_assert_int_eq(leave(&z, 5), 0);
    tclient_close(&x.t);
    tclient_close(&y.t);
    tclient_close(&z.t);
    tclient_close(&a);
    tclient_close(&b);
    tclient_close(&g);
    kfk_cluster_destroy(cluster);

    /* A crash mid-append leaves a torn last line: recovery ignores it. */
    char path[128];
    snprintf(path, sizeof(path), "%s/kfk-groups.log", data_dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    /* A group logged mid-rebalance (compaction can catch one). */
    static const char reb[] =
        "{\"g\":\"dur-reb\",\"grp\":{\"gen\":4,\"pt\":\"consumer\",\"proto\":\"range\","
        "\"leader\":\"m-1\",\"rebalancing\":true,\"members\":[{\"id\":\"m-1\",\"cid\":\"c\","
        "\"host\":\"/h\",\"st\":10000,\"rt\":5000,\"a\":\"\",\"protos\":[{\"n\":\"range\","
        "\"m\":\"6d657461\"}]}]}}\n";
    ck_assert_int_eq(write(fd, reb, strlen(reb)), (ssize_t)strlen(reb));
    static const char torn[] = "{\"g\":\"dur-a\",\"t\":\"t\",\"p\":0,\"o\":7";
    ck_assert_int_eq(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
    close(fd);

    for (int round = 0; round < 2; round++) {
        start_durable();
        connect_to(&a, coordinator_of("dur-a"));
        connect_to(&b, coordinator_of("dur-\xc3\xa9\xff"));
        char meta[64];
        int16_t err;
        ck_assert_int_eq(fetch_offset(&a, 7, "dur-a", "t", 0, meta, sizeof(meta), &err), 10);
        ck_assert_str_eq(meta, "meta-a");
        ck_assert_int_eq(fetch_offset(&a, 7, "dur-a", "t", 1, meta, sizeof(meta), &err), 12);
        ck_assert_str_eq(meta, "\x01\xfe");
        ck_assert_int_eq(fetch_offset(&a, 7, "dur-a", "t", 2, NULL, 0, &err), -1);
        ck_assert_int_eq(fetch_offset(&b, 7, "dur-\xc3\xa9\xff", "t", 2, NULL, 0, &err), 20);
        ck_assert(kfk__str_eq(describe(&a, 5, "dur-a")->group_state, "Empty"));
        connect_to(&g, coordinator_of("dur-gone"));
        ck_assert(kfk__str_eq(describe(&g, 5, "dur-gone")->group_state, "Dead"));
        tclient_close(&g);
        /* The members carry on: same ids, same generation, no rebalance. */
        connect_to(&x.t, coordinator_of("dur-members"));
        connect_to(&y.t, coordinator_of("dur-members"));
        ck_assert_int_eq(heartbeat(&x, 4), 0);
        ck_assert_int_eq(heartbeat(&y, 4), 0);
        ck_assert_int_eq(x.gen, stable_gen);
        ck_assert_int_eq(sync_call(&y, NULL, NULL, 0, got, sizeof(got)), 0);
        ck_assert_str_eq(got, "y-part");
        kfk__describe_groups_response_described_group *d = describe(&x.t, 5, "dur-members");
        ck_assert(kfk__str_eq(d->group_state, "Stable"));
        ck_assert_int_eq(d->members.n, 2);
        ck_assert(kfk__str_eq(d->protocol_data, "range"));
        if (round == 0) {
            /* The static member restarts: a new id, still no rebalance. */
            y.id[0] = '\0';
            ck_assert_int_eq(join(&y), 0);
            ck_assert_int_eq(y.gen, stable_gen);
            ck_assert_int_eq(heartbeat(&x, 4), 0);
        }
        tclient_close(&x.t);
        tclient_close(&y.t);
        if (round == 0) {
            /* The group logged mid-rebalance comes back rebalancing. */
            member rb;
            member_init(&rb, "dur-reb", coordinator_of("dur-reb"));
            snprintf(rb.id, sizeof(rb.id), "m-1");
            rb.gen = 4;
            ck_assert(state_is(&rb.t, "dur-reb", "PreparingRebalance"));
            ck_assert_int_eq(heartbeat(&rb, 4), KFK_ERR_REBALANCE_IN_PROGRESS);
            ck_assert_int_eq(join(&rb), 0);
            ck_assert_int_eq(rb.gen, 5);
            ck_assert_str_eq(rb.leader, "m-1");
            tclient_close(&rb.t);
        }
        /* The empty group kept its generation: the next one follows it. */
        connect_to(&z.t, coordinator_of("dur-empty"));
        ck_assert(kfk__str_eq(describe(&z.t, 5, "dur-empty")->group_state, "Empty"));
        if (round == 1) {
            z.id[0] = '\0';
            ck_assert_int_eq(join_new(&z), 0);
            ck_assert_int_eq(z.gen, 3);
        }
        tclient_close(&z.t);
        tclient_close(&a);
        tclient_close(&b);
        kfk_cluster_destroy(cluster);
    }
    cluster = NULL;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("broker_group");
    TCase *tc = tcase_create("groups");
    tcase_add_checked_fixture(tc, setup3, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, api_versions_advertised);
    tcase_add_test(tc, find_coordinator);
    tcase_add_test(tc, single_member);
    tcase_add_test(tc, two_members_rebalance);
    tcase_add_test(tc, protocol_selection);
    tcase_add_test(tc, rebalance_timeout);
    tcase_add_test(tc, session_expiry);
    tcase_add_test(tc, static_membership);
    tcase_add_test(tc, offsets);
    tcase_add_test(tc, describe_list_delete);
    tcase_add_test(tc, coordinator_moves);
    tcase_add_test(tc, injected_errors);
    tcase_add_test(tc, hostile_values);
    tcase_add_test(tc, chaos_requests);
    suite_add_tcase(s, tc);
    TCase *tc3 = tcase_create("configs");
    tcase_set_timeout(tc3, 60);
    tcase_add_test(tc3, initial_delay_and_max_size);
    suite_add_tcase(s, tc3);
    TCase *tc2 = tcase_create("durable");
    tcase_set_timeout(tc2, 60);
    tcase_add_test(tc2, durable_offsets);
    suite_add_tcase(s, tc2);
    return s;
}

KFK_CHECK_MAIN(suite)
