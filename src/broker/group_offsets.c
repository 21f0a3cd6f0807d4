/*
 * group_offsets.c: committed offsets of the reference broker's groups, and
 * with a data dir their durability and that of group membership.
 *
 * Kafka keeps both in the compacted __consumer_offsets topic; here they go
 * to one append-only file, kfk-groups.log in the data dir, one JSON object
 * per line: a commit {"g","t","p","o","e","m","ts"}, an offset deletion
 * {"g","t","p","del":true}, a group deletion {"g","delg":true}, or a
 * group's membership {"g","grp":{generation, protocols, members with
 * their metadata and assignments}} as of its last rebalance.
 * Appends are single write(2)s of whole lines. At start the file is read
 * up to its first line that does not parse (a write torn by a crash), and
 * rewritten compacted (temporary file + rename), which also drops that
 * torn tail; it is compacted again the same way when dead lines dominate.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group.h"
#include "common/alloc.h"

#define OFFSETS_FILE "kfk-groups.log"
#define COMPACT_MIN_RECORDS 4096

kfk__goffset *kfk__goffset_find(kfk__group *g, const char *topic, int32_t tlen, int32_t partition)
{
    for (int32_t i = 0; i < g->noffsets; i++) {
        kfk__goffset *o = &g->offsets[i];
        if (o->partition == partition && (int32_t)strlen(o->topic) == tlen &&
            !memcmp(o->topic, topic, (size_t)tlen))
            return o;
    }
    return NULL;
}

/* Stores a commit in memory only. */
static int store(kfk__group *g, const char *topic, int32_t tlen, int32_t partition,
                 int64_t offset, int32_t epoch, const char *meta, size_t mlen, int64_t ts)
{
    char *m = kfk__strndup(meta ? meta : "", meta ? mlen : 0);
    if (!m)
        return KFK_ERR__NOMEM;
    kfk__goffset *o = kfk__goffset_find(g, topic, tlen, partition);
    if (!o) {
        if (g->noffsets == g->capoffsets) {
            int32_t cap = g->capoffsets ? g->capoffsets * 2 : 8;
            kfk__goffset *v = kfk__realloc(g->offsets, (size_t)cap * sizeof(*v));
            if (!v) {
                kfk__free(m);
                return KFK_ERR__NOMEM;
            }
            g->offsets = v;
            g->capoffsets = cap;
        }
        char *t = kfk__strndup(topic, (size_t)tlen);
        if (!t) {
            kfk__free(m);
            return KFK_ERR__NOMEM;
        }
        o = &g->offsets[g->noffsets++];
        memset(o, 0, sizeof(*o));
        o->topic = t;
        o->partition = partition;
    }
    kfk__free(o->meta);
    o->meta = m;
    o->offset = offset;
    o->leader_epoch = epoch;
    o->commit_ts = ts;
    g->exists = true;
    return 0;
}

static void unstore(kfk__group *g, kfk__goffset *o)
{
    kfk__free(o->topic);
    kfk__free(o->meta);
    *o = g->offsets[--g->noffsets];
}

/* ---- the log ------------------------------------------------------------- */

static void path_of(kfk_cluster_t *c, char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "%s/%s%s", c->data_dir, OFFSETS_FILE, suffix);
}

static int write_line(int fd, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return -1;
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps leaves room for the NUL only: write it as \n */
    ssize_t w = write(fd, s, n + 1);
    free(s);
    return w == (ssize_t)(n + 1) ? 0 : -1;
}

/* Sets obj[key] to s; a string that is not UTF-8 (group ids and commit
 * metadata may be any bytes) goes hex-encoded under key + "x". */
static void put_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = json_string(s);
    if (v) {
        json_object_set_new(obj, key, v);
        return;
    }
    size_t n = strlen(s);
    char *hex = kfk__malloc(2 * n + 1), xkey[8];
    for (size_t i = 0; hex && i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
    if (hex) {
        hex[2 * n] = '\0';
        snprintf(xkey, sizeof(xkey), "%sx", key);
        json_object_set_new(obj, xkey, json_string(hex));
    }
    kfk__free(hex);
}

/* obj[key] or the decoded obj[key + "x"], NUL-terminated (caller frees),
 * or NULL. */
static char *get_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s)
        return kfk__strndup(s, strlen(s));
    char xkey[8];
    snprintf(xkey, sizeof(xkey), "%sx", key);
    const char *hex = json_string_value(json_object_get(obj, xkey));
    size_t n = hex ? strlen(hex) / 2 : 0;
    char *d = hex ? kfk__malloc(n + 1) : NULL;
    for (size_t i = 0; d && i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        d[i] = (char)v;
    }
    if (d)
        d[n] = '\0';
    return d;
}

static void put_bytes(json_t *obj, const char *key, const uint8_t *p, int32_t n)
{
    char *hex = kfk__malloc(2 * (size_t)(n > 0 ? n : 0) + 1);
    if (!hex)
        return;
    for (int32_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    hex[2 * (n > 0 ? n : 0)] = '\0';
    json_object_set_new(obj, key, json_string(hex));
    kfk__free(hex);
}

/* obj[key] decoded from hex (caller frees; NULL with *n 0 when absent). */
static uint8_t *get_bytes(json_t *obj, const char *key, int32_t *n)
{
    const char *hex = json_string_value(json_object_get(obj, key));
    size_t len = hex ? strlen(hex) / 2 : 0;
    uint8_t *d = len ? kfk__malloc(len) : NULL;
    *n = d ? (int32_t)len : 0;
    for (size_t i = 0; d && i < len; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        d[i] = (uint8_t)v;
    }
    return d;
}

static json_t *member_json(const kfk__gmember *m)
{
    json_t *protos = json_array();
    for (int32_t i = 0; protos && i < m->nprotos; i++) {
        json_t *p = json_object();
        if (!p)
            break;
        put_str(p, "n", m->protos[i].name);
        put_bytes(p, "m", m->protos[i].meta, m->protos[i].len);
        json_array_append_new(protos, p);
    }
    json_t *j = json_pack("{s:i, s:i, s:o}", "st", (int)m->session_ms, "rt", (int)m->rebalance_ms,
                          "protos", protos);
    if (!j)
        return NULL;
    put_str(j, "id", m->id);
    if (m->instance_id)
        put_str(j, "inst", m->instance_id);
    put_str(j, "cid", m->client_id);
    put_str(j, "host", m->client_host);
    put_bytes(j, "a", m->assign, m->assign_len);
    return j;
}

static json_t *group_json(const kfk__group *g)
{
    json_t *ms = json_array();
    for (const kfk__gmember *m = g->members; ms && m; m = m->next)
        json_array_append_new(ms, member_json(m));
    /* Compaction may catch a group mid-rebalance: say so, and it is
     * restored rebalancing rather than stable with half-made assignments. */
    json_t *grp = json_pack("{s:i, s:o, s:b}", "gen", (int)g->generation, "members", ms,
                            "rebalancing",
                            g->state == KFK__G_PREPARING || g->state == KFK__G_COMPLETING);
    if (!grp)
        return NULL;
    if (g->protocol_type)
        put_str(grp, "pt", g->protocol_type);
    if (g->protocol)
        put_str(grp, "proto", g->protocol);
    if (g->leader)
        put_str(grp, "leader", g->leader);
    json_t *j = json_pack("{s:o}", "grp", grp);
    if (j)
        put_str(j, "g", g->id);
    return j;
}

/* Whether a group's membership is worth a log line: it ever had members. */
static bool has_membership(const kfk__group *g)
{
    return g->generation > 0 || g->nmembers > 0;
}

static json_t *commit_json(const kfk__group *g, const kfk__goffset *o)
{
    json_t *j = json_pack("{s:s, s:i, s:I, s:i, s:I}", "t", o->topic, "p", (int)o->partition,
                          "o", (json_int_t)o->offset, "e", (int)o->leader_epoch, "ts",
                          (json_int_t)o->commit_ts);
    if (j) {
        put_str(j, "g", g->id);
        put_str(j, "m", o->meta);
    }
    return j;
}

/* Rewrites the log with only what is live, atomically, and reopens it for
 * appending. */
static int compact(kfk_cluster_t *c)
{
    char path[4200], tmp[4200];
    path_of(c, path, sizeof(path), "");
    path_of(c, tmp, sizeof(tmp), ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    long n = 0;
    int rc = 0;
    for (kfk__group *g = c->groups->list; g && !rc; g = g->next) {
        if (g->exists && has_membership(g)) {
            rc = write_line(fd, group_json(g));
            n++;
        }
        for (int32_t i = 0; i < g->noffsets && !rc; i++, n++)
            rc = write_line(fd, commit_json(g, &g->offsets[i]));
    }
    if (!rc)
        rc = fsync(fd);
    if (close(fd) || rc || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    if (c->groups->log_fd >= 0)
        close(c->groups->log_fd);
    c->groups->log_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    c->groups->log_records = n;
    return c->groups->log_fd >= 0 ? 0 : -1;
}

static long live_records(kfk_cluster_t *c)
{
    long n = 0;
    for (kfk__group *g = c->groups->list; g; g = g->next)
        n += g->noffsets + has_membership(g);
    return n;
}

static void append(kfk_cluster_t *c, json_t *j)
{
    kfk__groups *gs = c->groups;
    if (gs->log_fd < 0) {
        json_decref(j);
        return;
    }
    if (write_line(gs->log_fd, j))
        kfk__blog(c, 3, "cannot append to %s/%s: %s", c->data_dir, OFFSETS_FILE, strerror(errno));
    if (++gs->log_records > COMPACT_MIN_RECORDS && gs->log_records > 4 * live_records(c) &&
        compact(c))
        kfk__blog(c, 3, "cannot compact %s/%s: %s", c->data_dir, OFFSETS_FILE, strerror(errno));
}

int kfk__goffset_commit(kfk_cluster_t *c, kfk__group *g, const char *topic, int32_t tlen,
                        int32_t partition, int64_t offset, int32_t leader_epoch, kfk__str meta,
                        int64_t ts)
{
    int e = store(g, topic, tlen, partition, offset, leader_epoch, meta.len > 0 ? meta.ptr : "",
                  meta.len > 0 ? (size_t)meta.len : 0, ts);
    if (!e)
        append(c, commit_json(g, kfk__goffset_find(g, topic, tlen, partition)));
    return e;
}

void kfk__goffset_delete(kfk_cluster_t *c, kfk__group *g, const char *topic, int32_t tlen,
                         int32_t partition)
{
    kfk__goffset *o = kfk__goffset_find(g, topic, tlen, partition);
    if (!o)
        return;
    json_t *j = json_pack("{s:s, s:i, s:b}", "t", o->topic, "p", (int)partition, "del", 1);
    if (j)
        put_str(j, "g", g->id);
    append(c, j);
    unstore(g, o);
}

void kfk__group_store(kfk_cluster_t *c, kfk__group *g)
{
    if (c->groups->log_fd >= 0)
        append(c, group_json(g));
}

void kfk__groups_topic_deleted(kfk_cluster_t *c, const char *topic)
{
    int32_t tlen = (int32_t)strlen(topic);
    for (kfk__group *g = c->groups ? c->groups->list : NULL; g; g = g->next)
        for (int32_t i = 0; i < g->noffsets;) {
            kfk__goffset *o = &g->offsets[i];
            if (strcmp(o->topic, topic))
                i++;
            else /* the last one moves into slot i */
                kfk__goffset_delete(c, g, topic, tlen, o->partition);
        }
}

void kfk__goffsets_clear(kfk_cluster_t *c, kfk__group *g)
{
    if (g->noffsets) {
        json_t *j = json_pack("{s:b}", "delg", 1);
        if (j)
            put_str(j, "g", g->id);
        append(c, j);
    }
    kfk__goffsets_free(g);
}

void kfk__goffsets_free(kfk__group *g)
{
    for (int32_t i = 0; i < g->noffsets; i++) {
        kfk__free(g->offsets[i].topic);
        kfk__free(g->offsets[i].meta);
    }
    kfk__free(g->offsets);
    g->offsets = NULL;
    g->noffsets = g->capoffsets = 0;
}

static kfk__gmember *restore_member(json_t *jm, int64_t now)
{
    kfk__gmember *m = kfk__calloc(1, sizeof(*m));
    json_t *protos = json_object_get(jm, "protos");
    if (!m)
        return NULL;
    m->id = get_str(jm, "id");
    m->instance_id = get_str(jm, "inst");
    m->client_id = get_str(jm, "cid");
    m->client_host = get_str(jm, "host");
    m->session_ms = (int32_t)json_integer_value(json_object_get(jm, "st"));
    m->rebalance_ms = (int32_t)json_integer_value(json_object_get(jm, "rt"));
    m->assign = get_bytes(jm, "a", &m->assign_len);
    m->nprotos = (int32_t)json_array_size(protos);
    m->protos = kfk__calloc((size_t)m->nprotos + 1, sizeof(*m->protos));
    bool ok = m->id && *m->id && m->client_id && m->client_host && m->protos;
    for (int32_t i = 0; ok && i < m->nprotos; i++) {
        json_t *p = json_array_get(protos, (size_t)i);
        m->protos[i].name = get_str(p, "n");
        m->protos[i].meta = get_bytes(p, "m", &m->protos[i].len);
        if (!m->protos[i].meta)
            m->protos[i].meta = kfk__malloc(1);
        ok = m->protos[i].name && m->protos[i].meta;
    }
    if (!ok) {
        if (!m->protos)
            m->nprotos = 0;
        kfk__gmember_free(m);
        return NULL;
    }
    /* A fresh session, as a coordinator that loads a group gives. */
    m->expires = now + m->session_ms;
    return m;
}

/* Brings back a group's membership from its log line. */
static int restore_group(kfk_cluster_t *c, kfk__group *g, json_t *grp)
{
    kfk__group_reset(c, g);
    g->generation = (int32_t)json_integer_value(json_object_get(grp, "gen"));
    g->protocol_type = get_str(grp, "pt");
    g->protocol = get_str(grp, "proto");
    g->leader = get_str(grp, "leader");
    json_t *ms = json_object_get(grp, "members");
    kfk__gmember **tail = &g->members;
    int64_t now = kfk__now_ms();
    for (size_t i = 0; i < json_array_size(ms); i++) {
        kfk__gmember *m = restore_member(json_array_get(ms, i), now);
        if (!m)
            return -1;
        *tail = m;
        tail = &m->next;
        g->nmembers++;
    }
    g->state = g->nmembers ? KFK__G_STABLE : KFK__G_EMPTY;
    if (g->nmembers && json_is_true(json_object_get(grp, "rebalancing"))) {
        g->state = KFK__G_PREPARING;
        g->join_deadline = now + kfk__group_max_rebalance_ms(g);
        g->join_not_before = 0;
    }
    return 0;
}

/* Applies one log line; -1 when it does not parse (a torn write). */
static int replay(kfk_cluster_t *c, const char *line)
{
    json_t *j = json_loads(line, 0, NULL);
    char *gid = j ? get_str(j, "g") : NULL;
    char *m = j ? get_str(j, "m") : NULL;
    const char *t = json_string_value(json_object_get(j, "t"));
    int32_t p = (int32_t)json_integer_value(json_object_get(j, "p"));
    int rc = -1;
    kfk__group *g = gid && *gid ? kfk__group_find(c, gid, (int32_t)strlen(gid), true) : NULL;
    if (!g)
        goto out;
    rc = 0;
    if (json_is_true(json_object_get(j, "delg"))) {
        kfk__goffsets_free(g);
        kfk__group_reset(c, g);
    } else if (json_object_get(j, "grp")) {
        rc = restore_group(c, g, json_object_get(j, "grp"));
    } else if (!t) {
        rc = -1;
    } else if (json_is_true(json_object_get(j, "del"))) {
        kfk__goffset *o = kfk__goffset_find(g, t, (int32_t)strlen(t), p);
        if (o)
            unstore(g, o);
    } else if (store(g, t, (int32_t)strlen(t), p, json_integer_value(json_object_get(j, "o")),
                     (int32_t)json_integer_value(json_object_get(j, "e")), m ? m : "",
                     m ? strlen(m) : 0, json_integer_value(json_object_get(j, "ts")))) {
        rc = -1;
    }
    g->exists = g->noffsets > 0 || has_membership(g);
out:
    kfk__free(gid);
    kfk__free(m);
    json_decref(j);
    return rc;
}

int kfk__goffsets_load(kfk_cluster_t *c, char *err, size_t errlen)
{
    if (!c->data_dir)
        return 0;
    char path[4200];
    path_of(c, path, sizeof(path), "");
    FILE *f = fopen(path, "r");
    if (!f && errno != ENOENT) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    long lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (f && (n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n' || replay(c, line)) {
            kfk__blog(c, 4, "%s: line %ld is torn or corrupt; recovered the %ld lines before it",
                      path, lineno, lineno - 1);
            break;
        }
    }
    free(line);
    if (f)
        fclose(f);
    /* Groups named only by deletions were created by replay: drop them. */
    for (kfk__group *g = c->groups->list, *next; g; g = next) {
        next = g->next;
        if (!g->exists)
            kfk__group_delete(c, g);
    }
    if (compact(c)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void kfk__goffsets_close(kfk_cluster_t *c)
{
    if (c->groups && c->groups->log_fd >= 0) {
        close(c->groups->log_fd);
        c->groups->log_fd = -1;
    }
}
