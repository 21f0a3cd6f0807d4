/*
 * partition.c: the glue between the cluster model and a partition's
 * storage (see partition.h): the log (log.h) with the topic's config, the
 * produce-side checks Kafka makes before appending (keys on compacted
 * topics, idempotent sequences), and reads shaped for Fetch.
 */
#include "broker/partition.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/pidstate.h"
#include "common/alloc.h"
#include "net/loop.h"
#include "proto/record.h"

#define MAX_SLICES 16
#define MAX_DECOMPRESSED (64u << 20)

static void plog_conf(const kfk__tconf *tc, kfk__plog_conf *pc)
{
    kfk__plog_conf_init(pc);
    pc->retention_ms = tc->retention_ms;
    pc->retention_bytes = tc->retention_bytes;
    pc->segment_bytes = tc->segment_bytes;
    pc->delete_retention_ms = tc->delete_retention_ms;
    pc->max_message_bytes = tc->max_message_bytes;
    pc->cleanup_delete = tc->delete_;
    pc->cleanup_compact = tc->compact;
    pc->log_append_time = tc->log_append_time;
}

static void part_dir(kfk_cluster_t *c, const kfk__btopic *t, int32_t p, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s-%d", c->data_dir, t->name, (int)p);
}

int kfk__partition_open(kfk_cluster_t *c, kfk__btopic *t, kfk__bpart *bp)
{
    char dir[4096];
    kfk__plog_conf pc;
    plog_conf(&t->conf, &pc);
    if (c->data_dir)
        part_dir(c, t, bp->id, dir, sizeof(dir));
    int e = kfk__plog_open(c->data_dir ? dir : NULL, &pc, kfk__wall_ms(), &bp->log);
    if (e)
        return e;
    /* A recovered log knows the epochs it was written in. */
    int32_t latest = kfk__plog_latest_epoch(bp->log);
    if (latest > bp->leader_epoch)
        bp->leader_epoch = latest;
    if ((e = kfk__plog_assign_epoch(bp->log, bp->leader_epoch)))
        return e;
    if (kfk__pidstate_new(&bp->pids))
        return KFK_ERR__NOMEM;
    return kfk__pidstate_rebuild(bp->pids, bp->log, kfk__wall_ms());
}

void kfk__partition_close(kfk__bpart *bp)
{
    kfk__plog_close(bp->log);
    kfk__pidstate_free(bp->pids);
    kfk__free(bp->replicas);
    kfk__free(bp->isr);
    bp->log = NULL;
    bp->pids = NULL;
    bp->replicas = bp->isr = NULL;
}

void kfk__partition_leader_changed(kfk__bpart *bp)
{
    if (bp->log)
        kfk__plog_assign_epoch(bp->log, bp->leader_epoch);
}

void kfk__partitions_reconfigure(kfk__btopic *t)
{
    kfk__plog_conf pc;
    plog_conf(&t->conf, &pc);
    for (int32_t i = 0; i < t->npart; i++)
        if (t->parts[i].log)
            kfk__plog_set_conf(t->parts[i].log, &pc);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void kfk__partitions_remove_data(kfk_cluster_t *c, kfk__btopic *t)
{
    if (!c->data_dir)
        return;
    char dir[4096];
    for (int32_t i = 0; i < t->npart; i++) {
        kfk__plog_close(t->parts[i].log);
        t->parts[i].log = NULL;
        part_dir(c, t, i, dir, sizeof(dir));
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

int64_t kfk__partition_log_start(const kfk__bpart *bp)
{
    return kfk__plog_start_offset(bp->log);
}

int64_t kfk__partition_log_end(const kfk__bpart *bp)
{
    return kfk__plog_end_offset(bp->log);
}

int64_t kfk__partition_hw(const kfk__bpart *bp)
{
    return kfk__plog_end_offset(bp->log);
}

int64_t kfk__partition_lso(const kfk__bpart *bp)
{
    return kfk__plog_end_offset(bp->log); /* no transactions yet */
}

/* Kafka refuses records without a key on compacted topics. */
static int check_keys(const uint8_t *records, size_t len, char *msg, size_t msglen)
{
    kfk__records_iter it;
    kfk__records_entry e;
    kfk__wbuf buf;
    int err = 0;
    kfk__wbuf_init(&buf, 0);
    kfk__records_iter_init(&it, records, len);
    while (!err && kfk__records_next(&it, &e) == 1) {
        kfk__batch b;
        kfk__rec_iter ri;
        kfk__record rec;
        if (kfk__batch_parse(e.data, e.size, &b) ||
            kfk__rec_iter_init(&ri, &b, NULL, &buf, MAX_DECOMPRESSED))
            break; /* the log's own validation reports it */
        int r;
        while ((r = kfk__rec_iter_next(&ri, &rec)) == 1)
            if (rec.key_len < 0) {
                snprintf(msg, msglen, "Compacted topic cannot accept message without key");
                err = KFK_ERR_INVALID_RECORD;
                break;
            }
    }
    kfk__wbuf_free(&buf);
    return err;
}

/* Kafka codes only on the wire: local failures become storage errors. */
static int wire_error(int e)
{
    return e < 0 && e != KFK_ERR_UNKNOWN_SERVER_ERROR ? KFK_ERR_KAFKA_STORAGE_ERROR : e;
}

/* The producer fields of the first batch, and how many batches there
 * are. */
static int first_batch(const uint8_t *records, size_t len, kfk__batch *b, int *nbatches)
{
    kfk__records_iter it;
    kfk__records_entry e;
    int n = 0, r;
    kfk__records_iter_init(&it, records, len);
    while ((r = kfk__records_next(&it, &e)) == 1) {
        if (n++ == 0 && kfk__batch_parse(e.data, e.size, b))
            return KFK_ERR_CORRUPT_MESSAGE;
    }
    *nbatches = n;
    return r == 0 && n > 0 ? 0 : KFK_ERR_CORRUPT_MESSAGE;
}

int kfk__partition_produce(kfk_cluster_t *c, kfk__btopic *t, kfk__bpart *bp,
                           const uint8_t *records, size_t len, int64_t now_ms,
                           kfk__append_result *res, char *msg, size_t msglen)
{
    (void)c;
    int e, nbatches;
    kfk__batch b;
    if ((e = first_batch(records, len, &b, &nbatches))) {
        snprintf(msg, msglen, "the records are not a sequence of complete batches");
        return e;
    }
    if (t->conf.compact && (e = check_keys(records, len, msg, msglen)))
        return e;
    int64_t pid = b.h.producer_id;
    if (pid >= 0 && nbatches != 1) {
        snprintf(msg, msglen, "an idempotent produce must carry exactly one batch per partition");
        return KFK_ERR_INVALID_RECORD;
    }
    res->log_start = kfk__plog_start_offset(bp->log);
    kfk__pid_dup dup = {0};
    int32_t count = b.h.count;
    e = kfk__pidstate_check(bp->pids, pid, b.h.producer_epoch, b.h.base_sequence, count, &dup);
    if (e) {
        snprintf(msg, msglen, "producer %lld epoch %d sequence %d: %s", (long long)pid,
                 (int)b.h.producer_epoch, (int)b.h.base_sequence, kfk_err_name(e));
        return wire_error(e);
    }
    if (dup.duplicate) {
        res->base_offset = dup.base_offset;
        res->log_append_time = -1;
        return 0;
    }
    kfk__plog_append_info info;
    e = kfk__plog_append(bp->log, records, len, bp->leader_epoch, KFK__PLOG_CLIENT, now_ms,
                         &info);
    if (e) {
        snprintf(msg, msglen, "append failed: %s", kfk_err_str(e));
        return wire_error(e);
    }
    kfk__pidstate_record(bp->pids, pid, b.h.producer_epoch, b.h.base_sequence, count,
                         info.base_offset, info.max_timestamp, now_ms);
    res->base_offset = info.base_offset;
    res->log_append_time = info.log_append_time;
    return 0;
}

int kfk__partition_read(kfk__bpart *bp, int64_t offset, int64_t upper, size_t max_bytes,
                        bool min_one, kfk__arena *arena, kfk__bytes *out)
{
    kfk__plog_slice sl[MAX_SLICES];
    kfk__plog_read_info info;
    out->ptr = NULL;
    out->len = 0;
    int e = kfk__plog_read(bp->log, offset, upper, max_bytes, min_one, sl, MAX_SLICES, &info);
    if (e)
        return e;
    if (info.bytes > INT32_MAX)
        info.bytes = 0; /* cannot happen with int32 fetch limits */
    out->len = (int32_t)info.bytes;
    if (!arena || info.nslices == 0)
        return 0;
    if (info.nslices == 1) {
        out->ptr = sl[0].data;
        return 0;
    }
    uint8_t *d = kfk__arena_alloc(arena, info.bytes);
    if (!d) {
        out->len = 0;
        return 0; /* an empty answer; the client asks again */
    }
    size_t off = 0;
    for (size_t i = 0; i < info.nslices; i++) {
        memcpy(d + off, sl[i].data, sl[i].len);
        off += sl[i].len;
    }
    out->ptr = d;
    return 0;
}

int kfk__partition_offset_for_time(kfk__bpart *bp, int64_t ts, int64_t *offset,
                                   int64_t *timestamp)
{
    return kfk__plog_offset_for_timestamp(bp->log, ts, kfk__partition_hw(bp), offset, timestamp);
}

int kfk__partition_max_timestamp(kfk__bpart *bp, int64_t *offset, int64_t *timestamp)
{
    return kfk__plog_max_timestamp(bp->log, kfk__partition_hw(bp), offset, timestamp);
}

void kfk__partition_epoch_end(const kfk__bpart *bp, int32_t epoch, int32_t *out_epoch,
                              int64_t *end_offset)
{
    kfk__plog_epoch_end(bp->log, epoch, out_epoch, end_offset);
}

int kfk__partition_delete_records(kfk__bpart *bp, int64_t offset, int64_t *low)
{
    int64_t hw = kfk__partition_hw(bp);
    if (offset == -1)
        offset = hw;
    if (offset < 0 || offset > hw)
        return KFK_ERR_OFFSET_OUT_OF_RANGE;
    return wire_error(kfk__plog_delete_records(bp->log, offset, low));
}

void kfk__partition_maintain(kfk__bpart *bp, int64_t now_ms)
{
    int64_t hw = kfk__partition_hw(bp);
    size_t deleted = 0;
    kfk__plog_enforce_retention(bp->log, now_ms, hw, &deleted);
    kfk__plog_compact(bp->log, now_ms, hw, NULL);
    kfk__pidstate_expire(bp->pids, now_ms, KFK__PIDSTATE_EXPIRATION_MS);
}
