/*
 * compact.c: the log cleaner for cleanup.policy=compact topics.
 *
 * It exists apart from log.c because it is the one place that looks
 * inside batches: it decompresses and walks records to learn each key's
 * latest offset, then rewrites the segments below the active one, keeping
 * a record only if no later record in those segments has its key. Like
 * Kafka's cleaner it works in two passes (build the offset map, then
 * copy), preserves offsets and batch identities (base offset, last offset
 * delta, producer fields, codec), copies untouched batches byte for byte,
 * and swaps each group of merged segments in at once (in a file log
 * through a committed <base>.log.swap.<end> rename that recovery
 * completes, see log_disk.c). Unlike Kafka's MD5 map, keys are compared
 * exactly: the map owns copies of them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker/log_int.h"
#include "common/alloc.h"
#include "proto/crc32c.h"

#define MAX_DECOMPRESSED ((size_t)1 << 30)
#define ARENA_BLOCK ((size_t)64 << 10)
#define DIGITS 20

/* ---- key -> latest offset -------------------------------------------- */

typedef struct key_ent {
    uint64_t hash;
    int64_t offset; /* -1: free slot */
    const uint8_t *key;
    size_t len;
} key_ent;

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    uint8_t data[];
} arena_blk;

typedef struct keymap {
    key_ent *v;
    size_t cap, n; /* cap: a power of two */
    arena_blk *blocks;
} keymap;

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a 64-bit mixer */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static const uint8_t *arena_copy(keymap *m, const uint8_t *p, size_t n)
{
    arena_blk *b = m->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (!(b = kfk__malloc(sizeof(*b) + cap)))
            return NULL;
        b->next = m->blocks;
        b->used = 0;
        b->cap = cap;
        m->blocks = b;
    }
    uint8_t *d = b->data + b->used;
    if (n)
        memcpy(d, p, n);
    b->used += n;
    return d;
}

static key_ent *km_slot(key_ent *v, size_t cap, uint64_t h, const uint8_t *k,
                        size_t n)
{
    size_t i = (size_t)h & (cap - 1);
    while (v[i].offset >= 0 &&
           !(v[i].hash == h && v[i].len == n && !memcmp(v[i].key, k, n)))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static int km_grow(keymap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    key_ent *v = kfk__malloc(cap * sizeof(*v));
    if (!v)
        return KFK_ERR__NOMEM;
    for (size_t i = 0; i < cap; i++)
        v[i].offset = -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].offset >= 0)
            *km_slot(v, cap, m->v[i].hash, m->v[i].key, m->v[i].len) = m->v[i];
    kfk__free(m->v);
    m->v = v;
    m->cap = cap;
    return 0;
}

static int km_put(keymap *m, const uint8_t *k, size_t n, int64_t offset)
{
    if ((m->n + 1) * 2 > m->cap && km_grow(m))
        return KFK_ERR__NOMEM;
    uint64_t h = hash_bytes(k, n);
    key_ent *e = km_slot(m->v, m->cap, h, k, n);
    if (e->offset < 0) {
        const uint8_t *copy = arena_copy(m, k, n);
        if (!copy)
            return KFK_ERR__NOMEM;
        *e = (key_ent){h, offset, copy, n};
        m->n++;
    } else if (offset > e->offset) {
        e->offset = offset;
    }
    return 0;
}

static int64_t km_get(const keymap *m, const uint8_t *k, size_t n)
{
    if (!m->cap)
        return -1;
    return km_slot(m->v, m->cap, hash_bytes(k, n), k, n)->offset;
}

static void km_free(keymap *m)
{
    while (m->blocks) {
        arena_blk *b = m->blocks;
        m->blocks = b->next;
        kfk__free(b);
    }
    kfk__free(m->v);
}

/* ---- producer id -> last offset of its last data batch ----------------- */

typedef struct pid_ent {
    int64_t pid; /* -1: free */
    int64_t last;
} pid_ent;

typedef struct pidmap {
    pid_ent *v;
    size_t cap, n;
} pidmap;

static pid_ent *pm_slot(pid_ent *v, size_t cap, int64_t pid)
{
    size_t i =
        (size_t)((uint64_t)pid * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
    while (v[i].pid >= 0 && v[i].pid != pid)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static int pm_put(pidmap *m, int64_t pid, int64_t last)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        pid_ent *v = kfk__malloc(cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        for (size_t i = 0; i < cap; i++)
            v[i].pid = -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].pid >= 0)
                *pm_slot(v, cap, m->v[i].pid) = m->v[i];
        kfk__free(m->v);
        m->v = v;
        m->cap = cap;
    }
    pid_ent *e = pm_slot(m->v, m->cap, pid);
    m->n += e->pid < 0;
    *e = (pid_ent){pid, last};
    return 0;
}

static int64_t pm_get(const pidmap *m, int64_t pid)
{
    if (!m->cap)
        return -1;
    pid_ent *e = pm_slot(m->v, m->cap, pid);
    return e->pid < 0 ? -1 : e->last;
}

/* ---- the cleaner's state ---------------------------------------------- */

typedef struct cleaner {
    kfk__plog *log;
    int64_t now;
    keymap keys;
    pidmap pids;
    kfk__zctx *z;
    kfk__wbuf dec;     /* decompressed records of one batch */
    kfk__wbuf out;     /* one rewritten batch */
    kfk__record *recs; /* the records of one batch that stay */
    size_t nrecs, caprecs;
    kfk__plog_compact_info *info;
} cleaner;

static int keep_rec(cleaner *c, const kfk__record *rec)
{
    if (c->nrecs == c->caprecs) {
        size_t cap = c->caprecs ? c->caprecs * 2 : 64;
        kfk__record *v = kfk__realloc(c->recs, cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        c->recs = v;
        c->caprecs = cap;
    }
    c->recs[c->nrecs++] = *rec;
    return 0;
}

/* ---- pass 1: the maps ------------------------------------------------- */

/* Adds b's keys. A batch that cannot be decoded adds none (and is kept
 * whole later). */
static int map_batch(cleaner *c, const kfk__batch *b)
{
    kfk__rec_iter it;
    kfk__record rec;
    if (kfk__batch_is_control(b))
        return 0;
    int r = kfk__rec_iter_init(&it, b, c->z, &c->dec, MAX_DECOMPRESSED);
    while (!r && (r = kfk__rec_iter_next(&it, &rec)) == 1) {
        r = rec.key ? km_put(&c->keys, rec.key, (size_t)rec.key_len, rec.offset)
                    : 0;
        if (r)
            return r;
    }
    return r == KFK_ERR__NOMEM ? r : 0;
}

static int build_maps(cleaner *c, size_t nclean)
{
    const kfk__plog *log = c->log;
    kfk__seg_pos p;
    kfk__batch b;
    int err = 0;
    for (size_t i = 0; !err && i < log->nsegs; i++) {
        for (kfk__seg_first(log->segs[i], &p);
             !err && kfk__seg_next(log->segs[i], &p, &b);) {
            if (b.h.producer_id >= 0 && !kfk__batch_is_control(&b))
                err = pm_put(&c->pids, b.h.producer_id,
                             kfk__batch_last_offset(&b));
            if (!err && i < nclean)
                err = map_batch(c, &b);
        }
    }
    return err;
}

/* ---- pass 2: filtering one batch -------------------------------------- */

enum { KEEP, DROP, REWRITE };

/* Patches lastOffsetDelta (and for an empty batch the timestamps) back to
 * the original's and recomputes the CRC. */
static void patch(uint8_t *p, size_t size, const kfk__batch *orig, bool empty)
{
    kfk__store_be32(p + KFK__BATCH_LAST_OFFSET_DELTA,
                    (uint32_t)orig->h.last_offset_delta);
    if (empty) {
        kfk__store_be64(p + KFK__BATCH_BASE_TIMESTAMP,
                        (uint64_t)orig->h.max_timestamp);
        kfk__store_be64(p + KFK__BATCH_MAX_TIMESTAMP,
                        (uint64_t)orig->h.max_timestamp);
    }
    uint32_t crc =
        kfk__crc32c(0, p + KFK__BATCH_ATTRIBUTES, size - KFK__BATCH_ATTRIBUTES);
    kfk__store_be32(p + KFK__BATCH_CRC, crc);
}

/* Writes c->recs as b's replacement into c->out. */
static int rewrite(cleaner *c, const kfk__batch *b)
{
    kfk__batch_opts o;
    kfk__batch_writer bw;
    kfk__batch_opts_init(&o);
    o.base_offset = b->h.base_offset;
    o.leader_epoch = b->h.leader_epoch;
    o.producer_id = b->h.producer_id;
    o.producer_epoch = b->h.producer_epoch;
    o.base_sequence = b->h.base_sequence;
    o.flags = (int16_t)(b->h.attributes &
                        (KFK__ATTR_TRANSACTIONAL | KFK__ATTR_LOG_APPEND_TIME));
    o.codec = c->nrecs ? kfk__batch_codec(b) : KFK__CODEC_NONE;
    kfk__wbuf_reset(&c->out);
    int err = kfk__batch_begin(&bw, &c->out, &o);
    for (size_t i = 0; !err && i < c->nrecs; i++)
        err = kfk__batch_append_record(&bw, &c->recs[i]);
    if (!err)
        err = kfk__batch_finish(&bw, c->z);
    if (!err)
        patch(c->out.data, c->out.len, b, c->nrecs == 0);
    return err;
}

/* Whether rec stays: no later record has its key, and a tombstone only
 * until its segment's horizon passed. */
static bool stays(cleaner *c, const kfk__record *rec, bool expired, bool *tomb)
{
    if (!rec->key)
        return true;
    if (km_get(&c->keys, rec->key, (size_t)rec->key_len) > rec->offset)
        return false;
    if (rec->value)
        return true;
    if (expired)
        return false;
    *tomb = true;
    return true;
}

/* Decides what becomes of b: KEEP (copy as is), DROP, or REWRITE (the
 * replacement is in c->out). *tomb: a tombstone stays. */
static int filter_batch(cleaner *c, const kfk__batch *b, bool expired,
                        int *verdict, bool *tomb)
{
    kfk__rec_iter it;
    kfk__record rec;
    int32_t seen = 0;
    *verdict = KEEP;
    *tomb = false;
    c->nrecs = 0;
    int r = kfk__batch_is_control(b)
                ? 1
                : kfk__rec_iter_init(&it, b, c->z, &c->dec, MAX_DECOMPRESSED);
    while (!r && (r = kfk__rec_iter_next(&it, &rec)) == 1) {
        seen++;
        r = stays(c, &rec, expired, tomb) ? keep_rec(c, &rec) : 0;
    }
    if (r == KFK_ERR__NOMEM)
        return r;
    if (r != 0 || c->nrecs == (size_t)seen) { /* undecodable or intact */
        c->info->records_in += (uint64_t)b->h.count;
        c->info->records_out += (uint64_t)b->h.count;
        return 0;
    }
    c->info->records_in += (uint64_t)seen;
    c->info->records_out += c->nrecs;
    bool last_of_producer =
        b->h.producer_id >= 0 &&
        pm_get(&c->pids, b->h.producer_id) == kfk__batch_last_offset(b);
    if (c->nrecs == 0 && !last_of_producer) {
        *verdict = DROP;
        return 0;
    }
    *verdict = REWRITE;
    return rewrite(c, b);
}

/* ---- pass 2: groups of segments --------------------------------------- */

static int copy_in(kfk__segment *out, const uint8_t *p, size_t n, size_t room)
{
    uint8_t *where;
    kfk__batch b;
    int err = kfk__seg_reserve(out, n, 1, room);
    if (err == KFK__SEG_FULL)
        err = KFK_ERR__TOO_LARGE; /* recompression grew past the slack */
    if (!err)
        err = kfk__seg_write(out, p, n, &where);
    if (!err && !(err = kfk__batch_parse(where, n, &b)))
        kfk__seg_add_batch(out, &b);
    return err;
}

static int64_t later(int64_t now, int64_t delta)
{
    int64_t t;
    return __builtin_add_overflow(now, delta, &t) ? INT64_MAX : t;
}

/* Filters segment s into out. *changed: some batch was not copied as is;
 * *horizon: the latest tombstone horizon of what stays (-1 none). */
static int clean_segment(cleaner *c, const kfk__segment *s, kfk__segment *out,
                         size_t room, bool *changed, int64_t *horizon)
{
    bool expired = s->horizon_ms >= 0 && c->now >= s->horizon_ms;
    kfk__seg_pos p;
    kfk__batch b;
    int err = 0;
    for (kfk__seg_first(s, &p); !err && kfk__seg_next(s, &p, &b);) {
        int verdict;
        bool tomb;
        if ((err = filter_batch(c, &b, expired, &verdict, &tomb)))
            break;
        if (tomb) {
            int64_t h = s->horizon_ms >= 0
                            ? s->horizon_ms
                            : later(c->now, c->log->conf.delete_retention_ms);
            *horizon = h > *horizon ? h : *horizon;
        }
        size_t left = room > out->bytes ? room - out->bytes : 0;
        *changed |= verdict != KEEP;
        if (verdict == KEEP)
            err = copy_in(out, b.data, b.size, left);
        else if (verdict == REWRITE)
            err = copy_in(out, c->out.data, c->out.len, left);
    }
    return err;
}

/* Puts out in place of segs[first .. first+count) on disk: commit it as
 * <base>.log.swap.<end>, remove the other inputs, rename it over the
 * first input's file. *committed: the swap happened (recovery finishes
 * it even if a later step failed). */
static int swap_files(kfk__plog *log, kfk__segment *out, size_t first,
                      size_t count, int64_t end, bool *committed)
{
    char suffix[8 + DIGITS];
    snprintf(suffix, sizeof(suffix), ".swap.%020" PRId64, end);
    char *final = kfk__seg_path(log->dir, out->base, NULL);
    int err = final ? kfk__seg_flush(out) : KFK_ERR__NOMEM;
    if (!err)
        err = kfk__seg_publish(out, log->dir, suffix);
    *committed = !err;
    if (err) {
        kfk__free(final);
        return err;
    }
    /* committed: from here on nothing allocates */
    for (size_t k = first + 1; k < first + count; k++)
        kfk__seg_delete(log->segs[k]);
    err = kfk__seg_rename(out, final);
    return err ? err : kfk__plog_disk_sync_dir(log);
}

static int new_output(const kfk__plog *log, const kfk__segment *first,
                      size_t room, int64_t now, kfk__segment **out)
{
    int err = log->dir ? kfk__seg_create(log->dir, first->base, ".cleaned",
                                         room, now, out)
                       : kfk__seg_new_mem(first->base, now, out);
    if (!err)
        (*out)->created_ms = first->created_ms;
    return err;
}

static int clean_group(cleaner *c, size_t first, size_t count)
{
    kfk__plog *log = c->log;
    kfk__segment *out;
    uint64_t in = 0;
    bool changed = count > 1;
    int64_t horizon = -1;
    for (size_t k = first; k < first + count; k++)
        in += log->segs[k]->bytes;
    size_t room = (size_t)(in + in / 8 + 65536);
    int err = new_output(log, log->segs[first], room, c->now, &out);
    for (size_t k = first; !err && k < first + count; k++)
        err = clean_segment(c, log->segs[k], out, room, &changed, &horizon);
    if (err || !changed) {
        kfk__seg_delete(out);
        if (!err) /* kept as it is: only its tombstones' horizon changes */
            log->segs[first]->horizon_ms = horizon;
        return err;
    }
    out->horizon_ms = horizon;
    kfk__seg_seal(out);
    bool committed = true;
    if (log->dir)
        err = swap_files(log, out, first, count, log->segs[first + count]->base,
                         &committed);
    if (!committed) {
        kfk__seg_delete(out); /* the inputs stay */
        return err;
    }
    for (size_t k = first + 1; !log->dir && k < first + count; k++)
        kfk__seg_free(log->segs[k]);
    kfk__seg_free(log->segs[first]); /* a file: replaced by the rename */
    kfk__plog_splice(log, first, count, out);
    c->info->segments += count;
    c->info->bytes_in += in;
    c->info->bytes_out += out->bytes;
    return err;
}

/* ---- the entry point -------------------------------------------------- */

/* How many leading segments lie wholly below limit (never the active). */
static size_t cleanable(const kfk__plog *log, int64_t limit)
{
    size_t k = 0;
    while (k + 1 < log->nsegs && log->segs[k + 1]->base <= limit)
        k++;
    return k;
}

static void update_horizon_min(kfk__plog *log)
{
    log->horizon_min = INT64_MAX;
    for (size_t i = 0; i < log->nsegs; i++) {
        int64_t h = log->segs[i]->horizon_ms;
        if (h >= 0 && h < log->horizon_min)
            log->horizon_min = h;
    }
}

static int run(cleaner *c, size_t k)
{
    kfk__plog *log = c->log;
    int err = kfk__zctx_new(&c->z);
    if (!err)
        err = build_maps(c, k);
    for (size_t i = 0; !err && i < k; i++) {
        size_t j = i + 1;
        uint64_t sum = log->segs[i]->bytes;
        while (j < k &&
               sum + log->segs[j]->bytes <= (uint64_t)log->conf.segment_bytes)
            sum += log->segs[j++]->bytes;
        err = clean_group(c, i, j - i);
        k -= j - i - 1;
    }
    return err;
}

int kfk__plog_compact(kfk__plog *log, int64_t now_ms, int64_t upper_bound,
                      kfk__plog_compact_info *info)
{
    kfk__plog_compact_info local;
    cleaner c = {.log = log, .now = now_ms};
    if (!info)
        info = &local;
    memset(info, 0, sizeof(*info));
    c.info = info;
    if (!log->conf.cleanup_compact)
        return 0;
    if (upper_bound < 0 || upper_bound > log->end)
        upper_bound = log->end;
    int64_t limit = log->segs[log->nsegs - 1]->base;
    size_t k = cleanable(log, upper_bound < limit ? upper_bound : limit);
    if (k == 0)
        return 0;
    int64_t clean_end = log->segs[k]->base;
    if (clean_end == log->compact_done && now_ms < log->horizon_min)
        return 0;
    kfk__wbuf_init(&c.dec, MAX_DECOMPRESSED);
    kfk__wbuf_init(&c.out, 0);
    int err = run(&c, k);
    if (!err)
        log->compact_done = clean_end;
    update_horizon_min(log);
    km_free(&c.keys);
    kfk__free(c.pids.v);
    kfk__free(c.recs);
    kfk__wbuf_free(&c.dec);
    kfk__wbuf_free(&c.out);
    kfk__zctx_destroy(c.z);
    return err;
}
