/*
 * cluster.c: topics, partitions, leadership and topic configs of the
 * reference broker (see cluster.h). Leadership follows Kafka's rules in
 * miniature: the preferred leader is the first replica; when a broker
 * stops, its partitions move to the first running in-sync replica with the
 * leader epoch bumped, and a partition with no running replica goes
 * offline (leader -1).
 */
#include "broker/cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/partition.h"
#include "common/alloc.h"

void kfk__blog(kfk_cluster_t *c, int level, const char *fmt, ...)
{
    if (level > c->log_level)
        return;
    static const char *names[] = {"EMERG", "ALERT", "CRIT", "ERROR",
                                  "WARN",  "NOTICE", "INFO", "DEBUG"};
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(stderr, "%lld.%03ld kfk-broker %s %s\n", (long long)ts.tv_sec,
            ts.tv_nsec / 1000000, names[level & 7], msg);
}

uint64_t kfk__cluster_rand(kfk_cluster_t *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

int64_t kfk__cluster_new_pid(kfk_cluster_t *c)
{
    int64_t pid = c->next_producer_id++;
    kfk__cluster_save(c);
    return pid;
}

kfk__bbroker *kfk__cluster_broker(kfk_cluster_t *c, int32_t id)
{
    if (id < 1 || id > c->nbrokers)
        return NULL;
    return &c->brokers[id - 1];
}

kfk__btopic *kfk__cluster_topic(kfk_cluster_t *c, const char *name, int32_t len)
{
    if (!name || len < 0)
        return NULL;
    for (int32_t i = 0; i < c->ntopics; i++) {
        kfk__btopic *t = c->topics[i];
        if ((int32_t)strlen(t->name) == len && memcmp(t->name, name, (size_t)len) == 0)
            return t;
    }
    return NULL;
}

kfk__btopic *kfk__cluster_topic_by_id(kfk_cluster_t *c, const kfk__uuid *id)
{
    for (int32_t i = 0; i < c->ntopics; i++)
        if (memcmp(&c->topics[i]->id, id, sizeof(*id)) == 0)
            return c->topics[i];
    return NULL;
}

kfk__bpart *kfk__cluster_part(kfk_cluster_t *c, const char *topic, int32_t len,
                              int32_t partition)
{
    kfk__btopic *t = kfk__cluster_topic(c, topic, len);
    if (!t || partition < 0 || partition >= t->npart)
        return NULL;
    return &t->parts[partition];
}

bool kfk__topic_name_valid(const char *name, int32_t len)
{
    if (len <= 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (int32_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* ---- topic configs ------------------------------------------------------ */

static const kfk__tconf_def tconf_defs[] = {
    {"cleanup.policy", "list"},
    {"delete.retention.ms", "long"},
    {"max.message.bytes", "int"},
    {"message.timestamp.type", "string"},
    {"retention.bytes", "long"},
    {"retention.ms", "long"},
    {"segment.bytes", "int"},
};

const kfk__tconf_def *kfk__tconf_defs(size_t *n)
{
    *n = sizeof(tconf_defs) / sizeof(tconf_defs[0]);
    return tconf_defs;
}

static int parse_long(const char *v, int64_t min, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < min)
        return -1;
    *out = x;
    return 0;
}

int kfk__tconf_set(kfk__tconf *conf, const char *name, const char *value,
                   char *errbuf, size_t errlen)
{
    int64_t x;
    if (!strcmp(name, "cleanup.policy")) {
        bool compact = strstr(value, "compact") != NULL;
        bool del = strstr(value, "delete") != NULL;
        if (!compact && !del) {
            snprintf(errbuf, errlen, "Invalid value %s for configuration cleanup.policy: "
                     "String must be one of: compact, delete", value);
            return KFK_ERR_INVALID_CONFIG;
        }
        conf->compact = compact;
        conf->delete_ = del;
        return 0;
    }
    if (!strcmp(name, "message.timestamp.type")) {
        if (strcmp(value, "CreateTime") && strcmp(value, "LogAppendTime")) {
            snprintf(errbuf, errlen, "Invalid value %s for configuration "
                     "message.timestamp.type: String must be one of: CreateTime, LogAppendTime",
                     value);
            return KFK_ERR_INVALID_CONFIG;
        }
        conf->log_append_time = !strcmp(value, "LogAppendTime");
        return 0;
    }
    int64_t *dst64 = NULL;
    int64_t min = 0;
    if (!strcmp(name, "retention.ms"))
        dst64 = &conf->retention_ms, min = -1;
    else if (!strcmp(name, "retention.bytes"))
        dst64 = &conf->retention_bytes, min = -1;
    else if (!strcmp(name, "segment.bytes"))
        dst64 = &conf->segment_bytes, min = 14;
    else if (!strcmp(name, "delete.retention.ms"))
        dst64 = &conf->delete_retention_ms;
    else if (!strcmp(name, "max.message.bytes")) {
        if (parse_long(value, 0, &x) || x > INT32_MAX)
            goto bad_value;
        conf->max_message_bytes = (int32_t)x;
        return 0;
    } else {
        snprintf(errbuf, errlen, "Unknown topic config name: %s", name);
        return KFK_ERR_INVALID_CONFIG;
    }
    if (parse_long(value, min, &x))
        goto bad_value;
    *dst64 = x;
    return 0;
bad_value:
    snprintf(errbuf, errlen, "Invalid value %s for configuration %s", value, name);
    return KFK_ERR_INVALID_CONFIG;
}

void kfk__tconf_get(const kfk__tconf *conf, const char *name, char *buf, size_t len)
{
    if (!strcmp(name, "cleanup.policy"))
        snprintf(buf, len, "%s", conf->compact && conf->delete_ ? "compact,delete"
                                 : conf->compact                ? "compact"
                                                                : "delete");
    else if (!strcmp(name, "message.timestamp.type"))
        snprintf(buf, len, "%s", conf->log_append_time ? "LogAppendTime" : "CreateTime");
    else if (!strcmp(name, "retention.ms"))
        snprintf(buf, len, "%" PRId64, conf->retention_ms);
    else if (!strcmp(name, "retention.bytes"))
        snprintf(buf, len, "%" PRId64, conf->retention_bytes);
    else if (!strcmp(name, "segment.bytes"))
        snprintf(buf, len, "%" PRId64, conf->segment_bytes);
    else if (!strcmp(name, "delete.retention.ms"))
        snprintf(buf, len, "%" PRId64, conf->delete_retention_ms);
    else if (!strcmp(name, "max.message.bytes"))
        snprintf(buf, len, "%d", (int)conf->max_message_bytes);
    else
        snprintf(buf, len, "%s", "");
}

static void rederive(kfk__btopic *t, const kfk__tconf *defaults)
{
    char err[128];
    t->conf = *defaults;
    for (int32_t i = 0; i < t->nover; i++)
        kfk__tconf_set(&t->conf, t->over[i].name, t->over[i].value, err, sizeof(err));
}

int kfk__topic_set_config(kfk__btopic *t, const kfk__tconf *defaults,
                          const char *name, const char *value, char *errbuf,
                          size_t errlen)
{
    int32_t i;
    for (i = 0; i < t->nover; i++)
        if (!strcmp(t->over[i].name, name))
            break;
    if (!value) {
        if (i < t->nover) {
            kfk__free(t->over[i].name);
            kfk__free(t->over[i].value);
            t->over[i] = t->over[--t->nover];
        }
        rederive(t, defaults);
        return 0;
    }
    kfk__tconf probe = t->conf;
    int err = kfk__tconf_set(&probe, name, value, errbuf, errlen);
    if (err)
        return err;
    char *v = kfk__strndup(value, strlen(value));
    if (!v)
        return KFK_ERR__NOMEM;
    if (i < t->nover) {
        kfk__free(t->over[i].value);
        t->over[i].value = v;
    } else {
        kfk__tconf_entry *o = kfk__realloc(t->over, (size_t)(t->nover + 1) * sizeof(*o));
        char *n = kfk__strndup(name, strlen(name));
        if (!o || !n) {
            if (o)
                t->over = o;
            kfk__free(n);
            kfk__free(v);
            return KFK_ERR__NOMEM;
        }
        t->over = o;
        t->over[t->nover].name = n;
        t->over[t->nover].value = v;
        t->nover++;
    }
    rederive(t, defaults);
    kfk__partitions_reconfigure(t);
    return 0;
}

/* ---- topics ------------------------------------------------------------- */

static void free_topic(kfk__btopic *t)
{
    if (!t)
        return;
    for (int32_t i = 0; i < t->npart; i++)
        kfk__partition_close(&t->parts[i]);
    for (int32_t i = 0; i < t->nover; i++) {
        kfk__free(t->over[i].name);
        kfk__free(t->over[i].value);
    }
    kfk__free(t->over);
    kfk__free(t->parts);
    kfk__free(t->name);
    kfk__free(t);
}

/* Running brokers, for replica placement. */
static int32_t running(kfk_cluster_t *c, int32_t *ids)
{
    int32_t n = 0;
    for (int32_t i = 0; i < c->nbrokers; i++)
        if (c->brokers[i].up)
            ids[n++] = c->brokers[i].id;
    return n;
}

/* Round-robin placement starting at a random broker, as Kafka does. */
static int init_partition(kfk_cluster_t *c, kfk__btopic *t, int32_t p, int32_t rf,
                          const int32_t *ids, int32_t nids, int32_t start)
{
    kfk__bpart *bp = &t->parts[p];
    memset(bp, 0, sizeof(*bp));
    bp->id = p;
    bp->replicas = kfk__calloc((size_t)rf, sizeof(int32_t));
    bp->isr = kfk__calloc((size_t)rf, sizeof(int32_t));
    if (!bp->replicas || !bp->isr)
        return KFK_ERR__NOMEM;
    for (int32_t r = 0; r < rf; r++)
        bp->replicas[r] = bp->isr[r] = ids[(start + p + r) % nids];
    bp->nreplicas = bp->nisr = rf;
    bp->leader = bp->replicas[0];
    bp->leader_epoch = 0;
    return kfk__partition_open(c, t, bp);
}

int kfk__cluster_create_topic(kfk_cluster_t *c, const char *name, int32_t len,
                              int32_t partitions, int32_t rf,
                              const kfk__tconf_entry *configs, int32_t nconfigs,
                              bool validate_only, char *errbuf, size_t errlen)
{
    errbuf[0] = '\0';
    if (!kfk__topic_name_valid(name, len)) {
        snprintf(errbuf, errlen, "Topic name \"%.*s\" is illegal", (int)(len > 0 ? len : 0), name);
        return KFK_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (kfk__cluster_topic(c, name, len)) {
        snprintf(errbuf, errlen, "Topic '%.*s' already exists.", (int)len, name);
        return KFK_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (partitions == -1)
        partitions = c->num_partitions;
    if (rf == -1)
        rf = c->default_rf;
    if (partitions <= 0 || partitions > 100000) {
        snprintf(errbuf, errlen, "Number of partitions must be larger than 0.");
        return KFK_ERR_INVALID_PARTITIONS;
    }
    int32_t ids[256];
    int32_t nids = running(c, ids);
    if (rf <= 0 || rf > nids) {
        snprintf(errbuf, errlen, "Replication factor: %d larger than available brokers: %d.",
                 (int)rf, (int)nids);
        return KFK_ERR_INVALID_REPLICATION_FACTOR;
    }
    kfk__tconf conf = c->defaults;
    for (int32_t i = 0; i < nconfigs; i++) {
        int err = kfk__tconf_set(&conf, configs[i].name, configs[i].value, errbuf, errlen);
        if (err)
            return err;
    }
    if (validate_only)
        return 0;
    kfk__btopic *t = kfk__calloc(1, sizeof(*t));
    if (!t || !(t->name = kfk__strndup(name, (size_t)len)) ||
        !(t->parts = kfk__calloc((size_t)partitions, sizeof(kfk__bpart))))
        goto nomem;
    for (int i = 0; i < 16; i++)
        t->id.b[i] = (uint8_t)kfk__cluster_rand(c);
    t->conf = c->defaults;
    for (int32_t i = 0; i < nconfigs; i++)
        if (kfk__topic_set_config(t, &c->defaults, configs[i].name, configs[i].value,
                                  errbuf, errlen))
            goto nomem;
    int32_t start = (int32_t)(kfk__cluster_rand(c) % (uint64_t)nids);
    for (int32_t p = 0; p < partitions; p++) {
        t->npart = p + 1;
        int err = init_partition(c, t, p, rf, ids, nids, start);
        if (err) {
            snprintf(errbuf, errlen, "cannot open the log of partition %d", (int)p);
            free_topic(t);
            return err;
        }
    }
    if (c->ntopics == c->captopics) {
        int32_t cap = c->captopics ? c->captopics * 2 : 16;
        kfk__btopic **tt = kfk__realloc(c->topics, (size_t)cap * sizeof(*tt));
        if (!tt)
            goto nomem;
        c->topics = tt;
        c->captopics = cap;
    }
    c->topics[c->ntopics++] = t;
    kfk__cluster_save(c);
    kfk__blog(c, 6, "created topic %s with %d partitions, replication factor %d",
              t->name, (int)partitions, (int)rf);
    return 0;
nomem:
    free_topic(t);
    snprintf(errbuf, errlen, "out of memory");
    return KFK_ERR__NOMEM;
}

int kfk__cluster_delete_topic(kfk_cluster_t *c, kfk__btopic *t, bool remove_data)
{
    for (int32_t i = 0; i < c->ntopics; i++) {
        if (c->topics[i] != t)
            continue;
        c->topics[i] = c->topics[--c->ntopics];
        if (remove_data) {
            kfk__blog(c, 6, "deleted topic %s", t->name);
            kfk__partitions_remove_data(c, t);
            kfk__groups_topic_deleted(c, t->name);
        }
        free_topic(t);
        if (remove_data)
            kfk__cluster_save(c);
        return 0;
    }
    return KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

int kfk__cluster_add_partitions(kfk_cluster_t *c, kfk__btopic *t, int32_t total,
                                bool validate_only, char *errbuf, size_t errlen)
{
    if (total <= t->npart) {
        snprintf(errbuf, errlen, "Topic currently has %d partitions, which is higher "
                 "than the requested %d.", (int)t->npart, (int)total);
        return KFK_ERR_INVALID_PARTITIONS;
    }
    if (total > 100000) {
        snprintf(errbuf, errlen, "Too many partitions requested: %d", (int)total);
        return KFK_ERR_INVALID_PARTITIONS;
    }
    int32_t ids[256];
    int32_t nids = running(c, ids);
    int32_t rf = t->parts[0].nreplicas;
    if (rf > nids) {
        snprintf(errbuf, errlen, "Replication factor %d larger than available brokers %d",
                 (int)rf, (int)nids);
        return KFK_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (validate_only)
        return 0;
    kfk__bpart *parts = kfk__realloc(t->parts, (size_t)total * sizeof(*parts));
    if (!parts)
        return KFK_ERR__NOMEM;
    t->parts = parts;
    int32_t start = (int32_t)(kfk__cluster_rand(c) % (uint64_t)nids);
    for (int32_t p = t->npart; p < total; p++) {
        int err = init_partition(c, t, p, rf, ids, nids, start);
        if (err) {
            kfk__partition_close(&t->parts[p]);
            return err;
        }
        t->npart = p + 1;
    }
    kfk__cluster_save(c);
    return 0;
}

/* ---- leadership ---------------------------------------------------------- */

static bool broker_up(kfk_cluster_t *c, int32_t id)
{
    kfk__bbroker *b = kfk__cluster_broker(c, id);
    return b && b->up;
}

static void reassign_partition(kfk_cluster_t *c, kfk__bpart *p)
{
    /* ISR: every running replica (replication is instant). */
    int32_t n = 0;
    for (int32_t r = 0; r < p->nreplicas; r++)
        if (broker_up(c, p->replicas[r]))
            p->isr[n++] = p->replicas[r];
    p->nisr = n;
    if (p->leader >= 0 && broker_up(c, p->leader))
        return;
    int32_t old = p->leader;
    p->leader = n > 0 ? p->isr[0] : -1;
    if (p->leader != old) {
        p->leader_epoch++;
        kfk__partition_leader_changed(p);
    }
}

void kfk__cluster_reassign(kfk_cluster_t *c)
{
    for (int32_t i = 0; i < c->ntopics; i++)
        for (int32_t p = 0; p < c->topics[i]->npart; p++)
            reassign_partition(c, &c->topics[i]->parts[p]);
}

/* ---- faults ------------------------------------------------------------- */

int kfk__fault_take(kfk_cluster_t *c, int32_t broker_id, int api_key,
                    const char *topic, int32_t topic_len, int32_t partition)
{
    for (kfk__fault **pf = &c->faults; *pf; pf = &(*pf)->next) {
        kfk__fault *f = *pf;
        if (f->broker_id != -1 && f->broker_id != broker_id)
            continue;
        if (f->api_key != -1 && f->api_key != api_key)
            continue;
        if (f->topic && (!topic || (int32_t)strlen(f->topic) != topic_len ||
                         memcmp(f->topic, topic, (size_t)topic_len)))
            continue;
        if (f->partition != -1 && f->partition != partition)
            continue;
        int err = f->err;
        if (--f->count <= 0) {
            *pf = f->next;
            kfk__free(f->topic);
            kfk__free(f);
        }
        return err;
    }
    return 0;
}
