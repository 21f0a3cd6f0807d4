/*
 * group_rebalance.c: the classic group membership protocol of the reference
 * broker: JoinGroup, SyncGroup, Heartbeat and LeaveGroup over Kafka's group
 * state machine (Empty -> PreparingRebalance -> CompletingRebalance ->
 * Stable): member ids (MEMBER_ID_REQUIRED), protocol checks and selection,
 * the join phase and its timeouts, static membership (KIP-345, KIP-814),
 * and the leader's assignments. The group table, timers and coordinator
 * moves are group.c.
 */
#include "broker/group.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

/* A string of the group's that the response may point at: copied into the
 * request's arena, so the response survives later changes to the group. */
static kfk__str rstr(kfk__breq *r, const char *s)
{
    if (!s)
        return KFK__STR_NULL;
    char *d = kfk__breq_strdup(r, kfk__str_c(s));
    return d ? kfk__s(d) : KFK__STR("");
}

static kfk__bytes rbytes(kfk__breq *r, const uint8_t *p, int32_t len)
{
    kfk__bytes b = {(const uint8_t *)"", 0};
    if (len > 0 && p) {
        uint8_t *d = kfk__breq_alloc(r, (size_t)len);
        if (d) {
            memcpy(d, p, (size_t)len);
            b.ptr = d;
            b.len = len;
        }
    }
    return b;
}

/* A new member id as Kafka makes them: prefix (client or instance id),
 * "-", and a random UUID. */
static char *new_member_id(kfk_cluster_t *c, kfk__str prefix)
{
    uint64_t a = kfk__cluster_rand(c), b = kfk__cluster_rand(c);
    int plen = prefix.len > 0 ? (prefix.len > 200 ? 200 : (int)prefix.len) : 0;
    char buf[300];
    snprintf(buf, sizeof(buf), "%.*s-%08x-%04x-4%03x-%04x-%012llx", plen,
             plen ? prefix.ptr : "", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)((b >> 48) & 0x3fff) | 0x8000,
             (unsigned long long)(b & 0xffffffffffffULL));
    return kfk__strndup(buf, strlen(buf));
}

static int set_protos(kfk__gmember *m, const kfk__join_group_request *req)
{
    int32_t n = req->protocols.n > 0 ? req->protocols.n : 0;
    kfk__gproto *p = kfk__calloc((size_t)(n ? n : 1), sizeof(*p));
    if (!p)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kfk__join_group_request_protocol *in = &req->protocols.v[i];
        p[i].name = kfk__gstr_dup(in->name);
        p[i].len = in->metadata.len > 0 ? in->metadata.len : 0;
        p[i].meta = kfk__malloc(p[i].len ? (size_t)p[i].len : 1);
        if (!p[i].name || !p[i].meta) {
            kfk__gprotos_free(p, i + 1);
            return KFK_ERR__NOMEM;
        }
        if (p[i].len)
            memcpy(p[i].meta, in->metadata.ptr, (size_t)p[i].len);
    }
    kfk__gprotos_free(m->protos, m->nprotos);
    m->protos = p;
    m->nprotos = n;
    return 0;
}

/* Same protocols with the same metadata, in the same order. */
static bool protos_equal(const kfk__gmember *m, const kfk__join_group_request *req)
{
    if (m->nprotos != (req->protocols.n > 0 ? req->protocols.n : 0))
        return false;
    for (int32_t i = 0; i < m->nprotos; i++) {
        const kfk__join_group_request_protocol *in = &req->protocols.v[i];
        int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
        if (!kfk__gstr_is(in->name, m->protos[i].name) || len != m->protos[i].len ||
            (len && memcmp(in->metadata.ptr, m->protos[i].meta, (size_t)len)))
            return false;
    }
    return true;
}

/* The client's address as Kafka shows it ("/127.0.0.1"). */
static char *client_host(kfk__breq *r)
{
    char buf[80];
    const char *peer = kfk__breq_peer(r);
    const char *colon = strrchr(peer, ':');
    int n = colon ? (int)(colon - peer) : (int)strlen(peer);
    snprintf(buf, sizeof(buf), "/%.*s", n, peer);
    return kfk__strndup(buf, strlen(buf));
}

static kfk__gmember *add_member(kfk__breq *r, kfk__group *g, char *id,
                                const kfk__join_group_request *req, int32_t rebalance_ms)
{
    kfk__gmember *m = kfk__calloc(1, sizeof(*m));
    if (!m) {
        kfk__free(id);
        return NULL;
    }
    m->id = id;
    m->client_id = kfk__strndup(r->client_id, strlen(r->client_id));
    m->client_host = client_host(r);
    if (req->group_instance_id.len >= 0)
        m->instance_id = kfk__gstr_dup(req->group_instance_id);
    if (!m->client_id || !m->client_host || (req->group_instance_id.len >= 0 && !m->instance_id) ||
        set_protos(m, req)) {
        kfk__gmember_free(m);
        return NULL;
    }
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = rebalance_ms;
    m->expires = kfk__now_ms() + m->session_ms;
    /* Join order is kept: the first member to join leads. */
    kfk__gmember **pm = &g->members;
    while (*pm)
        pm = &(*pm)->next;
    *pm = m;
    g->nmembers++;
    return m;
}

/* ---- the rebalance -------------------------------------------------------- */

/* A protocol every member but `except` supports, among names. */
static bool supported_by_all(const kfk__group *g, const kfk__gmember *except, const char *name,
                             int32_t len)
{
    for (const kfk__gmember *m = g->members; m; m = m->next) {
        if (m == except)
            continue;
        bool has = false;
        for (int32_t i = 0; i < m->nprotos && !has; i++)
            has = (int32_t)strlen(m->protos[i].name) == len &&
                  !memcmp(m->protos[i].name, name, (size_t)len);
        if (!has)
            return false;
    }
    return true;
}

/* Kafka's supportsProtocols: an empty group takes any type; otherwise the
 * type must match and one offered protocol must be common to all others. */
static bool supports(const kfk__group *g, const kfk__gmember *self,
                     const kfk__join_group_request *req)
{
    if (kfk__gstr_empty(req->protocol_type) || req->protocols.n <= 0)
        return false;
    int32_t others = g->nmembers - (self ? 1 : 0);
    if (others <= 0)
        return true;
    if (!g->protocol_type || !kfk__gstr_is(req->protocol_type, g->protocol_type))
        return false;
    for (int32_t i = 0; i < req->protocols.n; i++) {
        kfk__str n = req->protocols.v[i].name;
        if (n.len >= 0 && supported_by_all(g, self, n.len ? n.ptr : "", n.len))
            return true;
    }
    return false;
}

/* Kafka's selection: among the protocols every member supports, each
 * member votes for the first in its own preference order; most votes win
 * (ties go to the leader's preference order). */
static char *select_protocol(const kfk__group *g)
{
    const kfk__gmember *first = g->members;
    int32_t best = -1, best_votes = -1;
    for (int32_t i = 0; first && i < first->nprotos; i++) {
        const char *cand = first->protos[i].name;
        if (!supported_by_all(g, NULL, cand, (int32_t)strlen(cand)))
            continue;
        int32_t votes = 0;
        for (const kfk__gmember *m = g->members; m; m = m->next)
            for (int32_t k = 0; k < m->nprotos; k++) {
                const char *p = m->protos[k].name;
                if (supported_by_all(g, NULL, p, (int32_t)strlen(p))) {
                    votes += !strcmp(p, cand);
                    break;
                }
            }
        if (votes > best_votes) {
            best = i;
            best_votes = votes;
        }
    }
    return best >= 0 ? kfk__strndup(first->protos[best].name, strlen(first->protos[best].name))
                     : NULL;
}

/* Fills a successful JoinGroup answer for m from the group's generation;
 * the leader also gets every member's metadata. */
static void fill_join(kfk__breq *r, kfk__group *g, kfk__gmember *m, bool skip_assignment)
{
    kfk__join_group_response *resp = r->resp;
    resp->error_code = 0;
    resp->generation_id = g->generation;
    if (r->version >= 7)
        resp->protocol_type = rstr(r, g->protocol_type ? g->protocol_type : "");
    resp->protocol_name = rstr(r, g->protocol ? g->protocol : "");
    resp->leader = rstr(r, g->leader ? g->leader : "");
    resp->member_id = rstr(r, m->id);
    if (r->version >= 9)
        resp->skip_assignment = skip_assignment;
    resp->members.n = 0;
    if (!g->leader || strcmp(g->leader, m->id))
        return;
    KFK__ARR(r, resp->members, kfk__join_group_response_member, g->nmembers);
    if (!resp->members.v) {
        kfk__join_error(r, KFK_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    int32_t i = 0;
    for (kfk__gmember *o = g->members; o; o = o->next, i++) {
        kfk__join_group_response_member *e = &resp->members.v[i];
        kfk__bytes meta = kfk__gmember_meta(g, o);
        e->member_id = rstr(r, o->id);
        if (r->version >= 5)
            e->group_instance_id = rstr(r, o->instance_id);
        e->metadata = rbytes(r, meta.ptr, meta.len);
    }
}

static void reset_assignments(kfk_cluster_t *c, kfk__group *g, int sync_err)
{
    for (kfk__gmember *m = g->members; m; m = m->next) {
        kfk__free(m->assign);
        m->assign = NULL;
        m->assign_len = 0;
        if (m->sync) {
            kfk__breq *r = m->sync;
            m->sync = NULL;
            kfk__sync_error(r, sync_err);
            kfk__group_answer(c, r);
        }
    }
}

/* The join phase ends: members that did not rejoin are out, the
 * generation advances, and every parked JoinGroup is answered. */
static void complete_join(kfk_cluster_t *c, kfk__group *g)
{
    int64_t now = kfk__now_ms();
    for (kfk__gmember *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->rejoined) {
            kfk__blog(c, 6, "group %s: member %s did not rejoin in time; removed", g->id, m->id);
            kfk__group_remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
        }
    }
    g->generation++;
    kfk__free(g->protocol);
    g->protocol = NULL;
    if (g->nmembers == 0) {
        g->state = KFK__G_EMPTY;
        kfk__free(g->leader);
        g->leader = NULL;
        kfk__blog(c, 6, "group %s: empty at generation %d", g->id, (int)g->generation);
        kfk__group_store(c, g);
        return;
    }
    g->protocol = select_protocol(g);
    if (!g->leader)
        g->leader = kfk__strndup(g->members->id, strlen(g->members->id));
    g->state = KFK__G_COMPLETING;
    kfk__blog(c, 6, "group %s: generation %d with %d members, protocol %s, leader %s", g->id,
              (int)g->generation, (int)g->nmembers, g->protocol ? g->protocol : "-",
              g->leader ? g->leader : "-");
    for (kfk__gmember *m = g->members; m; m = m->next) {
        m->rejoined = false;
        m->expires = now + m->session_ms;
        if (m->join) {
            kfk__breq *r = m->join;
            m->join = NULL;
            fill_join(r, g, m, false);
            kfk__group_answer(c, r);
        }
    }
}

void kfk__group_maybe_complete_join(kfk_cluster_t *c, kfk__group *g)
{
    if (g->state != KFK__G_PREPARING)
        return;
    int64_t now = kfk__now_ms();
    bool all = !g->pending;
    for (kfk__gmember *m = g->members; m && all; m = m->next)
        all = m->rejoined;
    if ((all && now >= g->join_not_before) || now >= g->join_deadline)
        complete_join(c, g);
}

int32_t kfk__group_max_rebalance_ms(const kfk__group *g)
{
    int32_t ms = 0;
    for (const kfk__gmember *m = g->members; m; m = m->next)
        if (m->rebalance_ms > ms)
            ms = m->rebalance_ms;
    return ms;
}

/* Starts a rebalance (or, already in one, lets it go on). */
static void prepare_rebalance(kfk_cluster_t *c, kfk__group *g, const char *why)
{
    if (g->state == KFK__G_PREPARING)
        return;
    if (g->state == KFK__G_COMPLETING)
        reset_assignments(c, g, KFK_ERR_REBALANCE_IN_PROGRESS);
    bool was_empty = g->state == KFK__G_EMPTY;
    g->state = KFK__G_PREPARING;
    int64_t now = kfk__now_ms();
    g->join_deadline = now + kfk__group_max_rebalance_ms(g);
    g->join_not_before = 0;
    if (was_empty && c->group_initial_delay_ms > 0) {
        int64_t d = now + c->group_initial_delay_ms;
        g->join_not_before = d < g->join_deadline ? d : g->join_deadline;
    }
    for (kfk__gmember *m = g->members; m; m = m->next)
        m->rejoined = m->join != NULL;
    kfk__blog(c, 6, "group %s: rebalancing at generation %d: %s", g->id, (int)g->generation, why);
}

/* Members left or expired: the others must rebalance. */
void kfk__group_members_changed(kfk_cluster_t *c, kfk__group *g, const char *why)
{
    if (g->state == KFK__G_STABLE || g->state == KFK__G_COMPLETING)
        prepare_rebalance(c, g, why);
    if (g->state == KFK__G_PREPARING)
        kfk__group_maybe_complete_join(c, g);
}

/* Parks m's JoinGroup r in the current rebalance. */
static void park_join(kfk_cluster_t *c, kfk__group *g, kfk__gmember *m, kfk__breq *r,
                      bool is_new)
{
    if (m->join && m->join != r) {
        kfk__breq *old = m->join;
        m->join = NULL;
        kfk__join_error(old, KFK_ERR_REBALANCE_IN_PROGRESS);
        kfk__group_answer(c, old);
    }
    m->join = r;
    r->parked = true;
    m->rejoined = true;
    int64_t now = kfk__now_ms();
    int64_t deadline = now + m->rebalance_ms;
    if (g->state == KFK__G_PREPARING && deadline > g->join_deadline)
        g->join_deadline = deadline;
    if (is_new && g->state == KFK__G_PREPARING && g->join_not_before > now) {
        /* The initial delay restarts with every new member, within the
         * rebalance timeout. */
        int64_t d = now + c->group_initial_delay_ms;
        g->join_not_before = d < g->join_deadline ? d : g->join_deadline;
    }
}

/* ---- JoinGroup --------------------------------------------------------------- */

static void update_member(kfk__breq *r, kfk__gmember *m, const kfk__join_group_request *req,
                          int32_t rebalance_ms)
{
    m->session_ms = req->session_timeout_ms;
    m->rebalance_ms = rebalance_ms;
    m->expires = kfk__now_ms() + m->session_ms;
    char *cid = kfk__strndup(r->client_id, strlen(r->client_id));
    if (cid) {
        kfk__free(m->client_id);
        m->client_id = cid;
    }
}

/* A static member (group.instance.id known to the group) joins with no
 * member id: a restart. It gets a new member id, the old one is fenced,
 * and a stable group with unchanged metadata does not rebalance. */
static int static_rejoin(kfk__breq *r, kfk__group *g, kfk__gmember *m,
                         const kfk__join_group_request *req, int32_t rebalance_ms)
{
    kfk_cluster_t *c = r->c;
    char *id = new_member_id(c, req->group_instance_id);
    if (!id)
        return KFK_ERR__NOMEM;
    kfk__gmember_fail_parked(c, m, KFK_ERR_FENCED_INSTANCE_ID);
    bool leader = g->leader && !strcmp(g->leader, m->id);
    kfk__blog(c, 6, "group %s: static member %s replaces %s with %s", g->id, m->instance_id,
              m->id, id);
    kfk__free(m->id);
    m->id = id;
    if (leader) {
        kfk__free(g->leader);
        g->leader = kfk__strndup(id, strlen(id));
    }
    char *host = client_host(r);
    if (host) {
        kfk__free(m->client_host);
        m->client_host = host;
    }
    bool same = protos_equal(m, req);
    update_member(r, m, req, rebalance_ms);
    if (!same && set_protos(m, req))
        return KFK_ERR__NOMEM;
    /* As Kafka: a restart rebalances a stable group only if it changes
     * the protocol the group would select. Its subscription bytes differ
     * anyway (a restarted client owns nothing yet). */
    char *next = select_protocol(g);
    bool keeps = next && g->protocol && !strcmp(next, g->protocol);
    kfk__free(next);
    if (g->state == KFK__G_STABLE && keeps) {
        /* No rebalance: the member resumes its assignment. A leader learns
         * the members but is told not to assign again (KIP-814). */
        fill_join(r, g, m, leader);
        kfk__group_store(c, g);
        return 0;
    }
    park_join(c, g, m, r, false);
    prepare_rebalance(c, g, "a static member rejoined");
    kfk__group_maybe_complete_join(c, g);
    return 0;
}

/* JoinGroup with no member id. */
static int join_new(kfk__breq *r, kfk__group *g, const kfk__join_group_request *req,
                    int32_t rebalance_ms)
{
    kfk_cluster_t *c = r->c;
    kfk__join_group_response *resp = r->resp;
    bool is_static = req->group_instance_id.len >= 0;
    if (is_static) {
        kfk__gmember *m = kfk__group_member_by_instance(g, req->group_instance_id);
        if (m)
            return static_rejoin(r, g, m, req, rebalance_ms);
    }
    if (g->nmembers >= c->group_max_size) {
        kfk__join_error(r, KFK_ERR_GROUP_MAX_SIZE_REACHED);
        return 0;
    }
    char *id = new_member_id(c, is_static ? req->group_instance_id : kfk__str_c(r->client_id));
    if (!id)
        return KFK_ERR__NOMEM;
    if (!is_static && r->version >= 4) {
        /* KIP-394: the member must come back with this id, so a client that
         * times out and retries does not leave a ghost member behind. */
        kfk__gpending *p = kfk__calloc(1, sizeof(*p));
        if (!p) {
            kfk__free(id);
            return KFK_ERR__NOMEM;
        }
        p->id = id;
        p->expires = kfk__now_ms() + req->session_timeout_ms;
        p->next = g->pending;
        g->pending = p;
        kfk__join_error(r, KFK_ERR_MEMBER_ID_REQUIRED);
        resp->member_id = rstr(r, id);
        return 0;
    }
    kfk__gmember *m = add_member(r, g, id, req, rebalance_ms);
    if (!m)
        return KFK_ERR__NOMEM;
    if (!g->protocol_type)
        g->protocol_type = kfk__gstr_dup(req->protocol_type);
    prepare_rebalance(c, g, "a new member joined");
    park_join(c, g, m, r, true);
    kfk__group_maybe_complete_join(c, g);
    return 0;
}

/* JoinGroup with a member id. */
static int join_existing(kfk__breq *r, kfk__group *g, const kfk__join_group_request *req,
                         int32_t rebalance_ms)
{
    kfk_cluster_t *c = r->c;
    kfk__gmember *m = kfk__group_member(g, req->member_id);
    if (!m) {
        kfk__gmember *si = kfk__group_member_by_instance(g, req->group_instance_id);
        if (si) {
            kfk__join_error(r, KFK_ERR_FENCED_INSTANCE_ID);
        } else if (kfk__group_take_pending(g, req->member_id)) {
            if (g->nmembers >= c->group_max_size) {
                kfk__join_error(r, KFK_ERR_GROUP_MAX_SIZE_REACHED);
                return 0;
            }
            m = add_member(r, g, kfk__gstr_dup(req->member_id), req, rebalance_ms);
            if (!m)
                return KFK_ERR__NOMEM;
            if (!g->protocol_type)
                g->protocol_type = kfk__gstr_dup(req->protocol_type);
            prepare_rebalance(c, g, "a new member joined");
            park_join(c, g, m, r, true);
            kfk__group_maybe_complete_join(c, g);
        } else {
            kfk__join_error(r, KFK_ERR_UNKNOWN_MEMBER_ID);
        }
        return 0;
    }
    if (req->group_instance_id.len >= 0 && !(m->instance_id && kfk__gstr_is(req->group_instance_id,
                                                                        m->instance_id))) {
        kfk__join_error(r, KFK_ERR_FENCED_INSTANCE_ID);
        return 0;
    }
    bool same = protos_equal(m, req);
    bool leader = g->leader && !strcmp(g->leader, m->id);
    update_member(r, m, req, rebalance_ms);
    if (!same && set_protos(m, req))
        return KFK_ERR__NOMEM;
    switch (g->state) {
    case KFK__G_PREPARING:
        park_join(c, g, m, r, false);
        kfk__group_maybe_complete_join(c, g);
        return 0;
    case KFK__G_COMPLETING:
    case KFK__G_STABLE:
        if (same && (g->state == KFK__G_COMPLETING || !leader)) {
            /* A retry or a follower re-learning its generation. */
            fill_join(r, g, m, false);
            return 0;
        }
        park_join(c, g, m, r, false);
        prepare_rebalance(c, g, leader ? "the leader rejoined" : "a member's metadata changed");
        kfk__group_maybe_complete_join(c, g);
        return 0;
    default:
        kfk__join_error(r, KFK_ERR_UNKNOWN_MEMBER_ID);
        return 0;
    }
}

int kfk__h_join_group(kfk__breq *r)
{
    kfk__join_group_request *req = r->body;
    kfk__join_group_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    kfk__join_error(r, 0);
    resp->member_id = req->member_id.len >= 0 ? req->member_id : KFK__STR("");
    if (r->version >= 7)
        resp->protocol_type = req->protocol_type.len >= 0 ? req->protocol_type : KFK__STR("");
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    if (!e && (req->session_timeout_ms < c->group_min_session_ms ||
               req->session_timeout_ms > c->group_max_session_ms))
        e = KFK_ERR_INVALID_SESSION_TIMEOUT;
    if (e) {
        kfk__join_error(r, e);
        return 0;
    }
    /* v0 has no rebalance timeout: the session timeout serves for both. */
    int32_t rebalance_ms = r->version == 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
    if (rebalance_ms < 0)
        rebalance_ms = req->session_timeout_ms;
    kfk__group *g = kfk__group_find(c, req->group_id.ptr, req->group_id.len, true);
    if (!g)
        return KFK_ERR__NOMEM;
    kfk__gmember *self = kfk__group_member(g, req->member_id);
    if (!self && kfk__gstr_empty(req->member_id))
        self = kfk__group_member_by_instance(g, req->group_instance_id);
    if (!supports(g, self, req)) {
        kfk__join_error(r, KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
        if (!g->exists)
            kfk__group_delete(c, g); /* keep no trace of a refused first join */
        return 0;
    }
    g->exists = true;
    c->groups->cur = r;
    e = kfk__gstr_empty(req->member_id) ? join_new(r, g, req, rebalance_ms)
                                  : join_existing(r, g, req, rebalance_ms);
    c->groups->cur = NULL;
    return e;
}

/* ---- SyncGroup -------------------------------------------------------------- */

static void fill_sync(kfk__breq *r, kfk__group *g, kfk__gmember *m)
{
    kfk__sync_group_response *resp = r->resp;
    resp->error_code = 0;
    if (r->version >= 5) {
        resp->protocol_type = rstr(r, g->protocol_type ? g->protocol_type : "");
        resp->protocol_name = rstr(r, g->protocol ? g->protocol : "");
    }
    resp->assignment = rbytes(r, m->assign, m->assign_len);
}

/* The leader's assignments: stored, and every waiting member answered. */
static int apply_assignments(kfk__breq *r, kfk__group *g, const kfk__sync_group_request *req)
{
    kfk_cluster_t *c = r->c;
    for (int32_t i = 0; i < req->assignments.n; i++) {
        const kfk__sync_group_request_assignment *a = &req->assignments.v[i];
        kfk__gmember *m = kfk__group_member(g, a->member_id);
        if (!m)
            continue;
        int32_t len = a->assignment.len > 0 ? a->assignment.len : 0;
        uint8_t *d = len ? kfk__malloc((size_t)len) : NULL;
        if (len && !d)
            return KFK_ERR__NOMEM;
        if (len)
            memcpy(d, a->assignment.ptr, (size_t)len);
        kfk__free(m->assign);
        m->assign = d;
        m->assign_len = len;
    }
    g->state = KFK__G_STABLE;
    kfk__blog(c, 6, "group %s: stable at generation %d", g->id, (int)g->generation);
    kfk__group_store(c, g);
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (m->sync) {
            kfk__breq *s = m->sync;
            m->sync = NULL;
            fill_sync(s, g, m);
            kfk__group_answer(c, s);
        }
    return 0;
}

int kfk__h_sync_group(kfk__breq *r)
{
    kfk__sync_group_request *req = r->body;
    kfk_cluster_t *c = r->c;
    kfk__sync_error(r, 0);
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    kfk__group *g = e ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    kfk__gmember *m = NULL;
    if (!e && (!g || !g->exists))
        e = KFK_ERR_UNKNOWN_MEMBER_ID;
    if (!e)
        e = kfk__group_check_member(g, req->member_id, req->group_instance_id, req->generation_id, &m);
    if (!e && ((req->protocol_type.len >= 0 &&
                !kfk__gstr_is(req->protocol_type, g->protocol_type ? g->protocol_type : "")) ||
               (req->protocol_name.len >= 0 &&
                !kfk__gstr_is(req->protocol_name, g->protocol ? g->protocol : ""))))
        e = KFK_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!e && g->state == KFK__G_PREPARING)
        e = KFK_ERR_REBALANCE_IN_PROGRESS;
    if (!e && g->state == KFK__G_EMPTY)
        e = KFK_ERR_UNKNOWN_MEMBER_ID;
    if (e) {
        kfk__sync_error(r, e);
        return 0;
    }
    m->expires = kfk__now_ms() + m->session_ms;
    if (g->state == KFK__G_STABLE) {
        fill_sync(r, g, m);
        return 0;
    }
    /* CompletingRebalance: wait for the leader's assignments. */
    c->groups->cur = r;
    if (m->sync) {
        kfk__breq *old = m->sync;
        m->sync = NULL;
        kfk__sync_error(old, KFK_ERR_REBALANCE_IN_PROGRESS);
        kfk__group_answer(c, old);
    }
    m->sync = r;
    r->parked = true;
    if (g->leader && !strcmp(g->leader, m->id))
        e = apply_assignments(r, g, req);
    c->groups->cur = NULL;
    return e;
}

/* ---- Heartbeat and LeaveGroup -------------------------------------------------- */

int kfk__h_heartbeat(kfk__breq *r)
{
    kfk__heartbeat_request *req = r->body;
    kfk__heartbeat_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    kfk__group *g = e ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    kfk__gmember *m = NULL;
    if (!e && (!g || !g->exists || g->state == KFK__G_EMPTY))
        e = KFK_ERR_UNKNOWN_MEMBER_ID;
    if (!e)
        e = kfk__group_check_member(g, req->member_id, req->group_instance_id, req->generation_id, &m);
    if (!e) {
        m->expires = kfk__now_ms() + m->session_ms;
        if (g->state == KFK__G_PREPARING)
            e = KFK_ERR_REBALANCE_IN_PROGRESS;
    }
    resp->error_code = (int16_t)e;
    return 0;
}

/* Removes one member named by id and/or instance id; returns its error. */
static int leave_one(kfk_cluster_t *c, kfk__group *g, kfk__str member_id, kfk__str instance_id,
                     bool *removed)
{
    kfk__gmember *m;
    if (instance_id.len >= 0) {
        m = kfk__group_member_by_instance(g, instance_id);
        if (!m)
            return KFK_ERR_UNKNOWN_MEMBER_ID;
        if (!kfk__gstr_empty(member_id) && !kfk__gstr_is(member_id, m->id))
            return KFK_ERR_FENCED_INSTANCE_ID;
    } else {
        m = kfk__group_member(g, member_id);
        if (!m)
            return kfk__group_take_pending(g, member_id) ? 0 : KFK_ERR_UNKNOWN_MEMBER_ID;
    }
    kfk__blog(c, 6, "group %s: member %s left", g->id, m->id);
    kfk__group_remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
    *removed = true;
    return 0;
}

int kfk__h_leave_group(kfk__breq *r)
{
    kfk__leave_group_request *req = r->body;
    kfk__leave_group_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    kfk__group *g = e ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    if (e || r->version < 3) {
        bool removed = false;
        if (!e)
            e = g && g->exists ? leave_one(c, g, req->member_id, KFK__STR_NULL, &removed)
                               : KFK_ERR_UNKNOWN_MEMBER_ID;
        resp->error_code = (int16_t)e;
        if (removed)
            kfk__group_members_changed(c, g, "a member left");
        return 0;
    }
    int32_t n = req->members.n > 0 ? req->members.n : 0;
    KFK__ARR(r, resp->members, kfk__leave_group_response_member_response, n);
    if (n && !resp->members.v)
        return KFK_ERR__NOMEM;
    bool removed = false;
    for (int32_t i = 0; i < n; i++) {
        const kfk__leave_group_request_member_identity *in = &req->members.v[i];
        kfk__leave_group_response_member_response *o = &resp->members.v[i];
        o->member_id = in->member_id.len >= 0 ? in->member_id : KFK__STR("");
        o->group_instance_id = in->group_instance_id;
        o->error_code = (int16_t)(g && g->exists ? leave_one(c, g, in->member_id,
                                                             in->group_instance_id, &removed)
                                                 : KFK_ERR_UNKNOWN_MEMBER_ID);
    }
    if (removed)
        kfk__group_members_changed(c, g, "members left");
    return 0;
}
