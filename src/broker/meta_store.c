/*
 * meta_store.c: what a durable reference broker must remember besides the
 * logs: the cluster id, topics with their ids, replica assignments, leader
 * epochs and config overrides, and the next producer id. Kept as one JSON
 * file (kfk-cluster.json) in the data directory, rewritten atomically
 * (temporary file + rename) after every change, read once at start.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/cluster.h"
#include "broker/partition.h"
#include "common/alloc.h"

#define META_FILE "kfk-cluster.json"

static void hex(const kfk__uuid *id, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id->b[i]);
}

static int unhex(const char *s, kfk__uuid *id)
{
    if (!s || strlen(s) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        id->b[i] = (uint8_t)v;
    }
    return 0;
}

static json_t *topic_json(const kfk__btopic *t)
{
    char id[33];
    hex(&t->id, id);
    json_t *parts = json_array(), *cfg = json_object();
    for (int32_t p = 0; p < t->npart; p++) {
        json_t *reps = json_array();
        for (int32_t r = 0; r < t->parts[p].nreplicas; r++)
            json_array_append_new(reps, json_integer(t->parts[p].replicas[r]));
        json_array_append_new(parts, json_pack("{s:o, s:i}", "replicas", reps, "leader_epoch",
                                               (int)t->parts[p].leader_epoch));
    }
    for (int32_t i = 0; i < t->nover; i++)
        json_object_set_new(cfg, t->over[i].name, json_string(t->over[i].value));
    return json_pack("{s:s, s:s, s:o, s:o}", "name", t->name, "id", id, "partitions", parts,
                     "configs", cfg);
}

void kfk__cluster_save(kfk_cluster_t *c)
{
    if (!c->data_dir || c->loading)
        return;
    json_t *topics = json_array();
    for (int32_t i = 0; i < c->ntopics; i++)
        json_array_append_new(topics, topic_json(c->topics[i]));
    json_t *root = json_pack("{s:s, s:I, s:o}", "cluster_id", c->cluster_id,
                             "next_producer_id", (json_int_t)c->next_producer_id, "topics",
                             topics);
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", c->data_dir, META_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!root || json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) ||
        rename(tmp, path))
        kfk__blog(c, 3, "cannot save cluster metadata to %s: %s", path, strerror(errno));
    json_decref(root);
}

/* Re-creates one saved topic and recovers its logs. */
static int load_topic(kfk_cluster_t *c, json_t *jt, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(jt, "name"));
    json_t *parts = json_object_get(jt, "partitions");
    json_t *cfg = json_object_get(jt, "configs");
    size_t np = json_array_size(parts);
    if (!name || !np) {
        snprintf(err, errlen, "a topic entry lacks a name or partitions");
        return -1;
    }
    /* Create it with the saved partition count, then restore what the
     * normal creation path chose differently. */
    kfk__tconf_entry *over = kfk__calloc(json_object_size(cfg) + 1, sizeof(*over));
    int32_t nover = 0;
    if (!over) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v)
    {
        over[nover].name = kfk__strndup(k, strlen(k));
        const char *val = json_string_value(v);
        over[nover].value = val ? kfk__strndup(val, strlen(val)) : NULL;
        if (over[nover].name && over[nover].value) {
            nover++;
        } else {
            kfk__free(over[nover].name);
            kfk__free(over[nover].value);
        }
    }
    int e = kfk__cluster_create_topic(c, name, (int32_t)strlen(name), (int32_t)np, 1, over,
                                      nover, false, err, errlen);
    for (int32_t i = 0; i < nover; i++) {
        kfk__free(over[i].name);
        kfk__free(over[i].value);
    }
    kfk__free(over);
    if (e)
        return -1;
    kfk__btopic *t = kfk__cluster_topic(c, name, (int32_t)strlen(name));
    unhex(json_string_value(json_object_get(jt, "id")), &t->id);
    for (int32_t p = 0; p < t->npart; p++) {
        kfk__bpart *bp = &t->parts[p];
        json_t *jp = json_array_get(parts, (size_t)p);
        json_t *reps = json_object_get(jp, "replicas");
        int32_t n = 0, *r = kfk__calloc(json_array_size(reps) + 1, sizeof(int32_t));
        int32_t *isr = kfk__calloc(json_array_size(reps) + 1, sizeof(int32_t));
        if (!r || !isr) {
            kfk__free(r);
            kfk__free(isr);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(reps); i++) {
            int32_t id = (int32_t)json_integer_value(json_array_get(reps, i));
            if (kfk__cluster_broker(c, id)) /* restarted with fewer brokers */
                r[n++] = id;
        }
        if (n == 0)
            r[n++] = 1;
        memcpy(isr, r, (size_t)n * sizeof(int32_t));
        kfk__free(bp->replicas);
        kfk__free(bp->isr);
        bp->replicas = r;
        bp->isr = isr;
        bp->nreplicas = bp->nisr = n;
        bp->leader = r[0];
        int32_t epoch = (int32_t)json_integer_value(json_object_get(jp, "leader_epoch"));
        if (epoch + 1 > bp->leader_epoch)
            bp->leader_epoch = epoch + 1; /* a restart elects leaders anew */
        kfk__partition_leader_changed(bp);
    }
    return 0;
}

int kfk__cluster_load(kfk_cluster_t *c, char *err, size_t errlen)
{
    if (!c->data_dir)
        return 0;
    if (mkdir(c->data_dir, 0755) && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data dir %s: %s", c->data_dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", c->data_dir, META_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    json_error_t jerr;
    json_t *root = json_loadf(f, 0, &jerr);
    fclose(f);
    if (!root) {
        snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    const char *cid = json_string_value(json_object_get(root, "cluster_id"));
    if (cid)
        snprintf(c->cluster_id, sizeof(c->cluster_id), "%s", cid);
    json_int_t pid = json_integer_value(json_object_get(root, "next_producer_id"));
    if (pid > c->next_producer_id)
        c->next_producer_id = pid;
    json_t *topics = json_object_get(root, "topics");
    int rc = 0;
    c->loading = true;
    for (size_t i = 0; i < json_array_size(topics) && !rc; i++)
        rc = load_topic(c, json_array_get(topics, i), err, errlen);
    c->loading = false;
    json_decref(root);
    if (!rc)
        kfk__cluster_save(c);
    return rc;
}
