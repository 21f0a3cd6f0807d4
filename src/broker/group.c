/*
 * group.c: the reference broker's table of groups: which broker
 * coordinates each, their members (lookup, removal, fencing), the checks
 * every group request shares, coordinator moves, and one timer per cluster
 * that ticks the deadlines: session expiry, pending member ids, the
 * rebalance timeout and the initial rebalance delay. The rebalance itself
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) is group_rebalance.c.
 *
 * JoinGroup and SyncGroup requests wait (are parked) until the rebalance
 * reaches the point where Kafka answers them. A request is answered by
 * returning from its handler when the answer is known while it is being
 * handled (groups->cur), and by kfk__breq_respond later otherwise
 * (kfk__group_answer).
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

bool kfk__gstr_is(kfk__str s, const char *z)
{
    if (!z)
        return s.len < 0;
    size_t n = strlen(z);
    return s.len >= 0 && (size_t)s.len == n && (n == 0 || !memcmp(s.ptr, z, n));
}

bool kfk__gstr_empty(kfk__str s)
{
    return s.len <= 0;
}

char *kfk__gstr_dup(kfk__str s)
{
    return kfk__strndup(s.len > 0 ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
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
    if (!g)
        return choose_coordinator(c, id, len);
    kfk__bbroker *b = kfk__cluster_broker(c, g->coord);
    if (!b || !b->up) {
        /* Every broker was down when its coordinator stopped; one is back. */
        int32_t to = choose_coordinator(c, id, len);
        if (to >= 0)
            kfk__group_move(c, g, to);
    }
    return g->coord;
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
    if (kfk__gstr_empty(group_id) || memchr(group_id.ptr, 0, (size_t)group_id.len))
        return KFK_ERR_INVALID_GROUP_ID;
    if (kfk__group_coordinator(r->c, group_id.ptr, group_id.len) != r->b->id)
        return KFK_ERR_NOT_COORDINATOR;
    return 0;
}

/* ---- members -------------------------------------------------------------- */

kfk__gmember *kfk__group_member(kfk__group *g, kfk__str id)
{
    if (!g || kfk__gstr_empty(id))
        return NULL;
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (kfk__gstr_is(id, m->id))
            return m;
    return NULL;
}

kfk__gmember *kfk__group_member_by_instance(kfk__group *g, kfk__str instance_id)
{
    if (!g || instance_id.len < 0)
        return NULL;
    for (kfk__gmember *m = g->members; m; m = m->next)
        if (m->instance_id && kfk__gstr_is(instance_id, m->instance_id))
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

void kfk__gprotos_free(kfk__gproto *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        kfk__free(p[i].name);
        kfk__free(p[i].meta);
    }
    kfk__free(p);
}

/* Answers a parked or current request now. */
void kfk__group_answer(kfk_cluster_t *c, kfk__breq *r)
{
    if (r == c->groups->cur) {
        r->parked = false; /* its handler returns and the server answers */
        return;
    }
    kfk__breq_respond(r);
}

void kfk__join_error(kfk__breq *r, int err)
{
    kfk__join_group_response *resp = r->resp;
    resp->error_code = (int16_t)err;
    resp->generation_id = -1;
    resp->protocol_name = r->version >= 7 ? KFK__STR_NULL : KFK__STR("");
    resp->leader = KFK__STR("");
    resp->members.n = 0;
}

void kfk__sync_error(kfk__breq *r, int err)
{
    kfk__sync_group_response *resp = r->resp;
    resp->error_code = (int16_t)err;
    resp->assignment = (kfk__bytes){(const uint8_t *)"", 0};
}

/* Fails whatever m has parked (it is fenced, removed or moved). */
void kfk__gmember_fail_parked(kfk_cluster_t *c, kfk__gmember *m, int err)
{
    if (m->join) {
        kfk__breq *r = m->join;
        m->join = NULL;
        kfk__join_error(r, err);
        kfk__group_answer(c, r);
    }
    if (m->sync) {
        kfk__breq *r = m->sync;
        m->sync = NULL;
        kfk__sync_error(r, err);
        kfk__group_answer(c, r);
    }
}

void kfk__gmember_free(kfk__gmember *m)
{
    kfk__free(m->id);
    kfk__free(m->instance_id);
    kfk__free(m->client_id);
    kfk__free(m->client_host);
    kfk__gprotos_free(m->protos, m->nprotos);
    kfk__free(m->assign);
    kfk__free(m);
}

void kfk__group_remove_member(kfk_cluster_t *c, kfk__group *g, kfk__gmember *m, int err)
{
    kfk__gmember_fail_parked(c, m, err);
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
    kfk__gmember_free(m);
}

bool kfk__group_take_pending(kfk__group *g, kfk__str id)
{
    for (kfk__gpending **pp = &g->pending; *pp; pp = &(*pp)->next)
        if (kfk__gstr_is(id, (*pp)->id)) {
            kfk__gpending *p = *pp;
            *pp = p->next;
            kfk__free(p->id);
            kfk__free(p);
            return true;
        }
    return false;
}

/* The checks SyncGroup, Heartbeat and OffsetCommit share: the member is
 * current (not fenced by its instance id) and of this generation. */
int kfk__group_check_member(kfk__group *g, kfk__str member_id, kfk__str instance_id,
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

/* ---- used by the offset and admin handlers ------------------------------------ */

int kfk__group_commit_check(kfk__group *g, int32_t generation, kfk__str member_id,
                            kfk__str instance_id)
{
    if (generation < 0 && kfk__gstr_empty(member_id) && instance_id.len < 0) {
        /* Not managed by the group protocol (admin tools, "simple"
         * consumers): only while the group has no members. */
        return g && g->nmembers > 0 ? KFK_ERR_UNKNOWN_MEMBER_ID : 0;
    }
    if (!g || !g->exists || g->nmembers == 0)
        return generation < 0 ? KFK_ERR_UNKNOWN_MEMBER_ID : KFK_ERR_ILLEGAL_GENERATION;
    kfk__gmember *m;
    int e = kfk__group_check_member(g, member_id, instance_id, generation, &m);
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
        kfk__gmember_free(m);
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

void kfk__group_reset(kfk_cluster_t *c, kfk__group *g)
{
    while (g->members)
        kfk__group_remove_member(c, g, g->members, KFK_ERR_UNKNOWN_MEMBER_ID);
    while (g->pending)
        kfk__group_take_pending(g, kfk__str_c(g->pending->id));
    g->exists = false;
    g->generation = 0;
    kfk__free(g->protocol_type);
    kfk__free(g->protocol);
    kfk__free(g->leader);
    g->protocol_type = g->protocol = g->leader = NULL;
    g->state = KFK__G_EMPTY;
}

void kfk__group_delete(kfk_cluster_t *c, kfk__group *g)
{
    kfk__goffsets_clear(c, g);
    kfk__group_reset(c, g);
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
        kfk__gmember_fail_parked(c, m, KFK_ERR_NOT_COORDINATOR);
        m->expires = now + m->session_ms;
    }
    if (g->state == KFK__G_PREPARING && g->join_deadline < now + kfk__group_max_rebalance_ms(g))
        g->join_deadline = now + kfk__group_max_rebalance_ms(g);
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
            kfk__group_remove_member(c, g, m, KFK_ERR_UNKNOWN_MEMBER_ID);
            expired = true;
        }
    }
    if (expired)
        kfk__group_members_changed(c, g, "a member's session timed out");
    kfk__group_maybe_complete_join(c, g);
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
