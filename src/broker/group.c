/*
 * group.c: the classic group membership protocol of the reference broker:
 * JoinGroup, SyncGroup, Heartbeat and LeaveGroup over Kafka's group state
 * machine (Empty -> PreparingRebalance -> CompletingRebalance -> Stable),
 * static membership (KIP-345), session and rebalance timeouts, and which
 * broker coordinates a group.
 *
 * JoinGroup and SyncGroup requests wait (are parked) until the rebalance
 * reaches the point where Kafka answers them. A request is answered by
 * returning from its handler when the answer is known while it is being
 * handled (groups->cur), and by kfk__breq_respond later otherwise. One timer
 * per cluster ticks the deadlines: session expiry, pending member ids, the
 * rebalance timeout and the initial rebalance delay.
 */
#include "broker/group.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define TICK_MS 50
#define OFFSETS_PARTITIONS 50 /* offsets.topic.num.partitions */

/* ---- configuration ------------------------------------------------------- */

void kfk__group_conf_defaults(kfk_cluster_t *c)
{
    /* Kafka's own default is 3000; its shipped server.properties sets 0 for
     * development, and a test broker wants groups to form at once. */
    c->group_initial_delay_ms = 0;
    c->group_min_session_ms = 6000;
    c->group_max_session_ms = 1800000;
    c->group_max_size = INT32_MAX;
}

int kfk__group_conf_set(kfk_cluster_t *c, const char *key, const char *value)
{
    int32_t *dst;
    long min = 0;
    if (!strcmp(key, "group.initial.rebalance.delay.ms"))
        dst = &c->group_initial_delay_ms;
    else if (!strcmp(key, "group.min.session.timeout.ms"))
        dst = &c->group_min_session_ms;
    else if (!strcmp(key, "group.max.session.timeout.ms"))
        dst = &c->group_max_session_ms;
    else if (!strcmp(key, "group.max.size"))
        dst = &c->group_max_size, min = 1;
    else
        return 1;
    char *end;
    long n = strtol(value, &end, 10);
    if (!*value || *end || n < min || n > INT32_MAX)
        return -1;
    *dst = (int32_t)n;
    return 0;
}

/* ---- small helpers -------------------------------------------------------- */

static bool str_is(kfk__str s, const char *z)
{
    if (!z)
        return s.len < 0;
    size_t n = strlen(z);
    return s.len >= 0 && (size_t)s.len == n && (n == 0 || !memcmp(s.ptr, z, n));
}

static bool str_empty(kfk__str s)
{
    return s.len <= 0;
}

static char *dupstr(kfk__str s)
{
    return kfk__strndup(s.len > 0 ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
}

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

const char *kfk__gstate_name(kfk__gstate s)
{
    static const char *const names[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                        "Stable", "Dead"};
    return names[s];
}

/* ---- coordinator choice -------------------------------------------------- */

/* Java's String.hashCode over the UTF-16 code units of a UTF-8 id. */
static int32_t java_hash(const char *s, int32_t len)
{
    uint32_t h = 0;
    for (int32_t i = 0; i < len;) {
        unsigned char c0 = (unsigned char)s[i];
        uint32_t cp = c0;
        int n = c0 < 0x80 ? 1 : c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc0 ? 2 : 1;
        if (n > 1 && i + n <= len) {
            cp = c0 & (0x7f >> n);
            for (int k = 1; k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
        } else {
            n = 1;
        }
        i += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

/* The broker the hash picks, or the next running one after it. */
static int32_t choose_coordinator(kfk_cluster_t *c, const char *id, int32_t len)
{
    int32_t h = java_hash(id, len);
    int32_t part = (h == INT32_MIN ? 0 : abs(h)) % OFFSETS_PARTITIONS;
    for (int32_t i = 0; i < c->nbrokers; i++) {
        kfk__bbroker *b = &c->brokers[(part + i) % c->nbrokers];
        if (b->up)
            return b->id;
    }
    return -1;
}

int32_t kfk__group_coordinator(kfk_cluster_t *c, const char *id, int32_t len)
{
    kfk__group *g = kfk__group_find(c, id, len, false);
    return g ? g->coord : choose_coordinator(c, id, len);
}

kfk__group *kfk__group_find(kfk_cluster_t *c, const char *id, int32_t len, bool create)
{
    if (!c->groups || len < 0)
        return NULL;
    for (kfk__group *g = c->groups->list; g; g = g->next)
        if ((int32_t)strlen(g->id) == len && !memcmp(g->id, id, (size_t)len))
            return g;
    if (!create)
        return NULL;
    kfk__group *g = kfk__calloc(1, sizeof(*g));
    if (!g || !(g->id = kfk__strndup(len ? id : "", (size_t)len))) {
        kfk__free(g);
        return NULL;
    }
    g->coord = choose_coordinator(c, id, len);
    g->next = c->groups->list;
    c->groups->list = g;
    return g;
}

int kfk__group_check(kfk__breq *r, kfk__str group_id)
{
    /* An id with a NUL byte could never be found again by name. */
    if (str_empty(group_id) || memchr(group_id.ptr, 0, (size_t)group_id.len))
        return KFK_ERR_INVALID_GROUP_ID;
    if (kfk__group_coordinator(r->c, group_id.ptr, group_id.len) != r->b->id)
        return KFK_ERR_NOT_COORDINATOR;
    return 0;
}

/* ---- members -------------------------------------------------------------- */

kfk__gmember *kfk__group_member(kfk__group *g, kfk__str id)
{
    if (!g || str_empty(id))
        return NULL;
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (str_is(id, m->id))
            return m;
    return NULL;
}

kfk__gmember *kfk__group_member_by_instance(kfk__group *g, kfk__str instance_id)
{
    if (!g || instance_id.len < 0)
        return NULL;
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (m->instance_id && str_is(instance_id, m->instance_id))
            return m;
    return NULL;
}

static const kfk__gproto *member_proto(const kfk__gmember *m, const char *name)
{
    for (int32_t i = 0; name && i < m->nprotos; i++)
        if (!strcmp(m->protos[i].name, name))
            return &m->protos[i];
    return NULL;
}

kfk__bytes kfk__gmember_meta(const kfk__group *g, const kfk__gmember *m)
{
    const kfk__gproto *p = member_proto(m, g->protocol);
    kfk__bytes b = {(const uint8_t *)"", 0};
    if (p && p->len > 0) {
        b.ptr = p->meta;
        b.len = p->len;
    }
    return b;
}

static void free_protos(kfk__gproto *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        kfk__free(p[i].name);
        kfk__free(p[i].meta);
    }
    kfk__free(p);
}

static int set_protos(kfk__gmember *m, const kfk__join_group_request *req)
{
    int32_t n = req->protocols.n > 0 ? req->protocols.n : 0;
    kfk__gproto *p = kfk__calloc((size_t)(n ? n : 1), sizeof(*p));
    if (!p)
        return KFK_ERR__NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kfk__join_group_request_protocol *in = &req->protocols.v[i];
        p[i].name = dupstr(in->name);
        p[i].len = in->metadata.len > 0 ? in->metadata.len : 0;
        p[i].meta = kfk__malloc(p[i].len ? (size_t)p[i].len : 1);
        if (!p[i].name || !p[i].meta) {
            free_protos(p, i + 1);
            return KFK_ERR__NOMEM;
        }
        if (p[i].len)
            memcpy(p[i].meta, in->metadata.ptr, (size_t)p[i].len);
    }
    free_protos(m->protos, m->nprotos);
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
        if (!str_is(in->name, m->protos[i].name) || len != m->protos[i].len ||
            (len && memcmp(in->metadata.ptr, m->protos[i].meta, (size_t)len)))
            return false;
    }
    return true;
}

/* Answers a parked or current request now. */
static void answer(kfk_cluster_t *c, kfk__breq *r)
{
    if (r == c->groups->cur) {
        r->parked = false; /* its handler returns and the server answers */
        return;
    }
    kfk__breq_respond(r);
}

static void join_error(kfk__breq *r, int err)
{
    kfk__join_group_response *resp = r->resp;
    resp->error_code = (int16_t)err;
    resp->generation_id = -1;
    resp->protocol_name = r->version >= 7 ? KFK__STR_NULL : KFK__STR("");
    resp->leader = KFK__STR("");
    resp->members.n = 0;
}

static void sync_error(kfk__breq *r, int err)
{
    kfk__sync_group_response *resp = r->resp;
    resp->error_code = (int16_t)err;
    resp->assignment = (kfk__bytes){(const uint8_t *)"", 0};
}

/* Fails whatever m has parked (it is fenced, removed or moved). */
static void fail_parked(kfk_cluster_t *c, kfk__gmember *m, int err)
{
    if (m->join) {
        kfk__breq *r = m->join;
        m->join = NULL;
        join_error(r, err);
        answer(c, r);
    }
    if (m->sync) {
        kfk__breq *r = m->sync;
        m->sync = NULL;
        sync_error(r, err);
        answer(c, r);
    }
}

static void member_free(kfk__gmember *m)
{
    kfk__free(m->id);
    kfk__free(m->instance_id);
    kfk__free(m->client_id);
    kfk__free(m->client_host);
    free_protos(m->protos, m->nprotos);
    kfk__free(m->assign);
    kfk__free(m);
}

static void remove_member(kfk_cluster_t *c, kfk__group *g, kfk__gmember *m, int err)
{
    fail_parked(c, m, err);
    for (kfk__gmember **pm = &g->members; *pm; pm = &(*pm)->next)
        if (*pm == m) {
            *pm = m->next;
            break;
        }
    g->nmembers--;
    if (g->leader && !strcmp(g->leader, m->id)) {
        kfk__free(g->leader);
        g->leader = NULL;
    }
    member_free(m);
}

static bool take_pending(kfk__group *g, kfk__str id)
{
    for (kfk__gpending **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (str_is(id, (*pp)->id)) {
            kfk__gpending *p = *pp;
            *pp = p->next;
            kfk__free(p->id);
            kfk__free(p);
            return true;
        }
    return false;
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
        m->instance_id = dupstr(req->group_instance_id);
    if (!m->client_id || !m->client_host || (req->group_instance_id.len >= 0 && !m->instance_id) ||
        set_protos(m, req)) {
        member_free(m);
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
    if (str_empty(req->protocol_type) || req->protocols.n <= 0)
        return false;
    int32_t others = g->nmembers - (self ? 1 : 0);
    if (others <= 0)
        return true;
    if (!g->protocol_type || !str_is(req->protocol_type, g->protocol_type))
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
        join_error(r, KFK_ERR_UNKNOWN_SERVER_ERROR);
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
            sync_error(r, sync_err);
            answer(c, r);
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
            remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
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
            answer(c, r);
        }
    }
}

static void maybe_complete_join(kfk_cluster_t *c, kfk__group *g)
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

static int32_t max_rebalance_ms(const kfk__group *g)
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
    g->join_deadline = now + max_rebalance_ms(g);
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
static void members_changed(kfk_cluster_t *c, kfk__group *g, const char *why)
{
    if (g->state == KFK__G_STABLE || g->state == KFK__G_COMPLETING)
        prepare_rebalance(c, g, why);
    if (g->state == KFK__G_PREPARING)
        maybe_complete_join(c, g);
}

/* Parks m's JoinGroup r in the current rebalance. */
static void park_join(kfk_cluster_t *c, kfk__group *g, kfk__gmember *m, kfk__breq *r,
                      bool is_new)
{
    if (m->join && m->join != r) {
        kfk__breq *old = m->join;
        m->join = NULL;
        join_error(old, KFK_ERR_REBALANCE_IN_PROGRESS);
        answer(c, old);
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
    fail_parked(c, m, KFK_ERR_FENCED_INSTANCE_ID);
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
    if (g->state == KFK__G_STABLE && same) {
        /* No rebalance: the member resumes its assignment. A leader learns
         * the members but is told not to assign again (KIP-814). */
        fill_join(r, g, m, leader);
        return 0;
    }
    park_join(c, g, m, r, false);
    prepare_rebalance(c, g, "a static member rejoined with new metadata");
    maybe_complete_join(c, g);
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
        join_error(r, KFK_ERR_GROUP_MAX_SIZE_REACHED);
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
        join_error(r, KFK_ERR_MEMBER_ID_REQUIRED);
        resp->member_id = rstr(r, id);
        return 0;
    }
    kfk__gmember *m = add_member(r, g, id, req, rebalance_ms);
    if (!m)
        return KFK_ERR__NOMEM;
    if (!g->protocol_type)
        g->protocol_type = dupstr(req->protocol_type);
    prepare_rebalance(c, g, "a new member joined");
    park_join(c, g, m, r, true);
    maybe_complete_join(c, g);
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
            join_error(r, KFK_ERR_FENCED_INSTANCE_ID);
        } else if (take_pending(g, req->member_id)) {
            if (g->nmembers >= c->group_max_size) {
                join_error(r, KFK_ERR_GROUP_MAX_SIZE_REACHED);
                return 0;
            }
            m = add_member(r, g, dupstr(req->member_id), req, rebalance_ms);
            if (!m)
                return KFK_ERR__NOMEM;
            if (!g->protocol_type)
                g->protocol_type = dupstr(req->protocol_type);
            prepare_rebalance(c, g, "a new member joined");
            park_join(c, g, m, r, true);
            maybe_complete_join(c, g);
        } else {
            join_error(r, KFK_ERR_UNKNOWN_MEMBER_ID);
        }
        return 0;
    }
    if (req->group_instance_id.len >= 0 && !(m->instance_id && str_is(req->group_instance_id,
                                                                        m->instance_id))) {
        join_error(r, KFK_ERR_FENCED_INSTANCE_ID);
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
        maybe_complete_join(c, g);
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
        maybe_complete_join(c, g);
        return 0;
    default:
        join_error(r, KFK_ERR_UNKNOWN_MEMBER_ID);
        return 0;
    }
}

int kfk__h_join_group(kfk__breq *r)
{
    kfk__join_group_request *req = r->body;
    kfk__join_group_response *resp = r->resp;
    kfk_cluster_t *c = r->c;
    join_error(r, 0);
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
        join_error(r, e);
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
    if (!self && str_empty(req->member_id))
        self = kfk__group_member_by_instance(g, req->group_instance_id);
    if (!supports(g, self, req)) {
        join_error(r, KFK_ERR_INCONSISTENT_GROUP_PROTOCOL);
        if (!g->exists)
            kfk__group_delete(c, g); /* keep no trace of a refused first join */
        return 0;
    }
    g->exists = true;
    c->groups->cur = r;
    e = str_empty(req->member_id) ? join_new(r, g, req, rebalance_ms)
                                  : join_existing(r, g, req, rebalance_ms);
    c->groups->cur = NULL;
    return e;
}

/* ---- SyncGroup -------------------------------------------------------------- */

/* The checks SyncGroup, Heartbeat and OffsetCommit share: the member is
 * current (not fenced by its instance id) and of this generation. */
static int check_member(kfk__group *g, kfk__str member_id, kfk__str instance_id,
                        int32_t generation, kfk__gmember **out)
{
    *out = NULL;
    kfk__gmember *m = kfk__group_member(g, member_id);
    kfk__gmember *si = kfk__group_member_by_instance(g, instance_id);
    if (si && si != m)
        return KFK_ERR_FENCED_INSTANCE_ID;
    if (!m)
        return KFK_ERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KFK_ERR_ILLEGAL_GENERATION;
    *out = m;
    return 0;
}

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
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (m->sync) {
            kfk__breq *s = m->sync;
            m->sync = NULL;
            fill_sync(s, g, m);
            answer(c, s);
        }
    return 0;
}

int kfk__h_sync_group(kfk__breq *r)
{
    kfk__sync_group_request *req = r->body;
    kfk_cluster_t *c = r->c;
    sync_error(r, 0);
    int e = kfk__fault_take(c, r->b->id, r->api_key, NULL, 0, -1);
    if (!e)
        e = kfk__group_check(r, req->group_id);
    kfk__group *g = e ? NULL : kfk__group_find(c, req->group_id.ptr, req->group_id.len, false);
    kfk__gmember *m = NULL;
    if (!e && (!g || !g->exists))
        e = KFK_ERR_UNKNOWN_MEMBER_ID;
    if (!e)
        e = check_member(g, req->member_id, req->group_instance_id, req->generation_id, &m);
    if (!e && ((req->protocol_type.len >= 0 &&
                !str_is(req->protocol_type, g->protocol_type ? g->protocol_type : "")) ||
               (req->protocol_name.len >= 0 &&
                !str_is(req->protocol_name, g->protocol ? g->protocol : ""))))
        e = KFK_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (!e && g->state == KFK__G_PREPARING)
        e = KFK_ERR_REBALANCE_IN_PROGRESS;
    if (!e && g->state == KFK__G_EMPTY)
        e = KFK_ERR_UNKNOWN_MEMBER_ID;
    if (e) {
        sync_error(r, e);
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
        sync_error(old, KFK_ERR_REBALANCE_IN_PROGRESS);
        answer(c, old);
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
        e = check_member(g, req->member_id, req->group_instance_id, req->generation_id, &m);
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
        if (!str_empty(member_id) && !str_is(member_id, m->id))
            return KFK_ERR_FENCED_INSTANCE_ID;
    } else {
        m = kfk__group_member(g, member_id);
        if (!m)
            return take_pending(g, member_id) ? 0 : KFK_ERR_UNKNOWN_MEMBER_ID;
    }
    kfk__blog(c, 6, "group %s: member %s left", g->id, m->id);
    remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
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
            members_changed(c, g, "a member left");
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
        members_changed(c, g, "members left");
    return 0;
}

/* ---- used by the offset and admin handlers ------------------------------------ */

int kfk__group_commit_check(kfk__group *g, int32_t generation, kfk__str member_id,
                            kfk__str instance_id)
{
    if (generation < 0 && str_empty(member_id) && instance_id.len < 0) {
        /* Not managed by the group protocol (admin tools, "simple"
         * consumers): only while the group has no members. */
        return g && g->nmembers > 0 ? KFK_ERR_UNKNOWN_MEMBER_ID : 0;
    }
    if (!g || !g->exists || g->nmembers == 0)
        return generation < 0 ? KFK_ERR_UNKNOWN_MEMBER_ID : KFK_ERR_ILLEGAL_GENERATION;
    kfk__gmember *m;
    int e = check_member(g, member_id, instance_id, generation, &m);
    if (e)
        return e;
    if (g->state == KFK__G_COMPLETING)
        return KFK_ERR_REBALANCE_IN_PROGRESS;
    m->expires = kfk__now_ms() + m->session_ms;
    return 0;
}

static void group_free(kfk__group *g)
{
    while (g->members) {
        kfk__gmember *m = g->members;
        g->members = m->next;
        /* Parked requests belong to closed connections by now. */
        if (m->join)
            kfk__breq_respond(m->join);
        if (m->sync)
            kfk__breq_respond(m->sync);
        member_free(m);
    }
    while (g->pending) {
        kfk__gpending *p = g->pending;
        g->pending = p->next;
        kfk__free(p->id);
        kfk__free(p);
    }
    kfk__goffsets_free(g);
    kfk__free(g->id);
    kfk__free(g->protocol_type);
    kfk__free(g->protocol);
    kfk__free(g->leader);
    kfk__free(g);
}

void kfk__group_delete(kfk_cluster_t *c, kfk__group *g)
{
    kfk__goffsets_clear(c, g);
    while (g->pending)
        take_pending(g, kfk__str_c(g->pending->id));
    g->exists = false;
    g->generation = 0;
    kfk__free(g->protocol_type);
    g->protocol_type = NULL;
    g->state = KFK__G_EMPTY;
    if (g->pinned)
        return;
    for (kfk__group **pg = &c->groups->list; *pg; pg = &(*pg)->next)
        if (*pg == g) {
            *pg = g->next;
            break;
        }
    group_free(g);
}

void kfk__group_move(kfk_cluster_t *c, kfk__group *g, int32_t broker_id)
{
    if (g->coord == broker_id)
        return;
    kfk__blog(c, 5, "group %s: coordinator %d -> %d", g->id, (int)g->coord, (int)broker_id);
    g->coord = broker_id;
    /* Like a coordinator that unloads the group: waiting members are told
     * to find the new one, and get a fresh session there. */
    int64_t now = kfk__now_ms();
    for (kfk__gmember *m = g->members; m; m = m->next) {
        if (m->join)
            m->rejoined = false;
        fail_parked(c, m, KFK_ERR_NOT_COORDINATOR);
        m->expires = now + m->session_ms;
    }
    if (g->state == KFK__G_PREPARING && g->join_deadline < now + max_rebalance_ms(g))
        g->join_deadline = now + max_rebalance_ms(g);
}

void kfk__groups_broker_stopped(kfk_cluster_t *c)
{
    if (!c->groups)
        return;
    for (kfk__group *g = c->groups->list; g; g = g->next) {
        kfk__bbroker *b = kfk__cluster_broker(c, g->coord);
        if (!b || !b->up)
            kfk__group_move(c, g, choose_coordinator(c, g->id, (int32_t)strlen(g->id)));
    }
}

/* ---- timers and lifecycle ------------------------------------------------------ */

static void tick_group(kfk_cluster_t *c, kfk__group *g, int64_t now)
{
    for (kfk__gpending **pp = &g->pending; *pp;) {
        kfk__gpending *p = *pp;
        if (now >= p->expires) {
            *pp = p->next;
            kfk__free(p->id);
            kfk__free(p);
        } else {
            pp = &p->next;
        }
    }
    bool expired = false;
    for (kfk__gmember *m = g->members, *next; m; m = next) {
        next = m->next;
        /* A member waiting for its JoinGroup or SyncGroup answer is alive. */
        if (!m->join && !m->sync && now >= m->expires) {
            kfk__blog(c, 5, "group %s: member %s session timed out", g->id, m->id);
            remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
            expired = true;
        }
    }
    if (expired)
        members_changed(c, g, "a member's session timed out");
    maybe_complete_join(c, g);
}

static void on_tick(kfk__timer *t, void *arg)
{
    kfk_cluster_t *c = arg;
    int64_t now = kfk__now_ms();
    for (kfk__group *g = c->groups->list; g; g = g->next)
        tick_group(c, g, now);
    kfk__timer_again(t, TICK_MS);
}

int kfk__groups_init(kfk_cluster_t *c, char *err, size_t errlen)
{
    c->groups = kfk__calloc(1, sizeof(*c->groups));
    if (!c->groups) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->groups->log_fd = -1;
    if (kfk__goffsets_load(c, err, errlen))
        return -1;
    c->groups->tick = kfk__timer_add(c->loop, TICK_MS, on_tick, c);
    if (!c->groups->tick) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void kfk__groups_free(kfk_cluster_t *c)
{
    if (!c->groups)
        return;
    kfk__timer_del(c->groups->tick);
    while (c->groups->list) {
        kfk__group *g = c->groups->list;
        c->groups->list = g->next;
        group_free(g);
    }
    kfk__goffsets_close(c);
    kfk__free(c->groups);
    c->groups = NULL;
}
