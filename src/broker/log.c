/*
 * log.c: the partition log's hot paths: appending producers' batches and
 * reading them back for fetches, plus the lookups ListOffsets needs.
 *
 * Appends are all-or-nothing: every batch of a request is checked first,
 * then the target segment is rolled and reserved (the only steps that
 * allocate), and only then are bytes stored, so a failed allocation or
 * write leaves the log as it was. Each batch is stored as a patched copy
 * of its 61-byte header (offset, leader epoch, LogAppendTime) followed by
 * the producer's bytes; stored bytes never move or change afterwards, so
 * a read is a list of pointers into the segments. Directory recovery and
 * the checkpoint are in log_disk.c, retention and truncation in
 * log_retention.c, compaction in compact.c.
 */
#include "broker/log.h"

#include <string.h>

#include "broker/log_int.h"
#include "common/alloc.h"
#include "proto/crc32c.h"

#define MAX_DECOMPRESSED ((size_t)1 << 30)

/* ---- configuration ---------------------------------------------------- */

void kfk__plog_conf_init(kfk__plog_conf *conf)
{
    conf->retention_ms = 7 * 24 * 3600 * 1000LL;
    conf->retention_bytes = -1;
    conf->segment_bytes = 1LL << 30;
    conf->segment_ms = 7 * 24 * 3600 * 1000LL;
    conf->delete_retention_ms = 24 * 3600 * 1000LL;
    conf->max_message_bytes = 1048588;
    conf->cleanup_delete = true;
    conf->cleanup_compact = false;
    conf->log_append_time = false;
}

static int conf_check(const kfk__plog_conf *conf)
{
    if (conf->segment_bytes < 1 || conf->segment_bytes > INT32_MAX ||
        conf->max_message_bytes < 0)
        return KFK_ERR__INVALID_CONFIG;
    return 0;
}

int kfk__plog_set_conf(kfk__plog *log, const kfk__plog_conf *conf)
{
    int err = conf_check(conf);
    if (err)
        return err;
    if (conf->cleanup_compact != log->conf.cleanup_compact)
        log->compact_done = -1;
    log->conf = *conf;
    return 0;
}

/* ---- life cycle ------------------------------------------------------- */

int kfk__plog_open(const char *dir, const kfk__plog_conf *conf, int64_t now_ms,
                   kfk__plog **out)
{
    int err = conf_check(conf);
    *out = NULL;
    if (err)
        return err;
    kfk__plog *log = kfk__calloc(1, sizeof(*log));
    if (!log)
        return KFK_ERR__NOMEM;
    log->conf = *conf;
    log->compact_done = -1;
    log->horizon_min = INT64_MAX;
    if (dir && !(log->dir = kfk__strndup(dir, strlen(dir))))
        err = KFK_ERR__NOMEM;
    else if (dir)
        err = kfk__plog_disk_load(log, now_ms);
    else
        err = kfk__plog_add_segment(log, 0, now_ms);
    if (err) {
        kfk__plog_close(log);
        return err;
    }
    *out = log;
    return 0;
}

void kfk__plog_close(kfk__plog *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->nsegs; i++)
        kfk__seg_free(log->segs[i]);
    kfk__free(log->segs);
    kfk__free(log->epochs);
    kfk__free(log->dir);
    kfk__free(log);
}

int kfk__plog_flush(kfk__plog *log)
{
    for (size_t i = 0; i < log->nsegs; i++) {
        int err = kfk__seg_flush(log->segs[i]);
        if (err)
            return err;
    }
    return log->dir ? kfk__plog_disk_sync_dir(log) : 0;
}

/* ---- segments --------------------------------------------------------- */

static kfk__segment *active(const kfk__plog *log)
{
    return log->segs[log->nsegs - 1];
}

int kfk__plog_add_segment(kfk__plog *log, int64_t base, int64_t now_ms)
{
    kfk__segment *s;
    int err = 0;
    if (log->nsegs == log->capsegs) {
        size_t cap = log->capsegs ? log->capsegs * 2 : 8;
        kfk__segment **v = kfk__realloc(log->segs, cap * sizeof(*v));
        if (!v)
            return KFK_ERR__NOMEM;
        log->segs = v;
        log->capsegs = cap;
    }
    if (log->dir)
        err = kfk__seg_create(log->dir, base, NULL,
                              (size_t)log->conf.segment_bytes, now_ms, &s);
    else
        err = kfk__seg_new_mem(base, now_ms, &s);
    if (err)
        return err;
    if (log->nsegs)
        kfk__seg_seal(active(log));
    log->segs[log->nsegs++] = s;
    return 0;
}

void kfk__plog_splice(kfk__plog *log, size_t first, size_t count,
                      kfk__segment *with)
{
    size_t tail = log->nsegs - first - count;
    log->segs[first] = with;
    memmove(&log->segs[first + 1], &log->segs[first + count],
            tail * sizeof(*log->segs));
    log->nsegs -= count - 1;
}

/* Whether the active segment must give way before n more bytes. */
static bool must_roll(const kfk__plog *log, size_t n, int64_t now_ms)
{
    const kfk__segment *s = active(log);
    if (s->nbatches == 0)
        return false;
    if (s->bytes + n > (uint64_t)log->conf.segment_bytes)
        return true;
    return log->conf.segment_ms >= 0 &&
           kfk__plog_older(s->created_ms, now_ms, log->conf.segment_ms - 1);
}

/* Makes the active segment ready to take n bytes in nbatches batches. */
static int prepare(kfk__plog *log, size_t n, size_t nbatches, int64_t now_ms)
{
    int err = 0;
    if (must_roll(log, n, now_ms))
        err = kfk__plog_add_segment(log, log->end, now_ms);
    for (int tries = 0; !err && tries < 2; tries++) {
        kfk__segment *s = active(log);
        size_t room = (uint64_t)log->conf.segment_bytes > s->bytes
                          ? (size_t)log->conf.segment_bytes - s->bytes
                          : n;
        err = kfk__seg_reserve(s, n, nbatches, room);
        if (err != KFK__SEG_FULL)
            return err;
        err = kfk__plog_add_segment(log, log->end, now_ms);
    }
    return err ? err : KFK_ERR_KAFKA_STORAGE_ERROR;
}

/* ---- appending -------------------------------------------------------- */

static int parse_err(int err)
{
    return err == KFK_ERR__UNSUPPORTED_VERSION ? KFK_ERR_INVALID_RECORD
                                               : KFK_ERR_CORRUPT_MESSAGE;
}

/* Checks one incoming batch (see kfk__plog_append). */
static int check_batch(const kfk__plog *log, const kfk__batch *b,
                       kfk__plog_origin origin)
{
    if (b->size > (size_t)log->conf.max_message_bytes)
        return KFK_ERR_MESSAGE_TOO_LARGE;
    if (kfk__batch_check_crc(b))
        return KFK_ERR_CORRUPT_MESSAGE;
    if (b->h.last_offset_delta < 0)
        return KFK_ERR_INVALID_RECORD;
    if (origin == KFK__PLOG_CLIENT &&
        (kfk__batch_is_control(b) || b->h.count == 0 ||
         b->h.last_offset_delta != b->h.count - 1))
        return KFK_ERR_INVALID_RECORD;
    return 0;
}

/* Checks every batch; counts them and the offsets they will take. */
static int check_all(const kfk__plog *log, const uint8_t *p, size_t len,
                     kfk__plog_origin origin, size_t *nbatches, int64_t *span)
{
    kfk__batch b;
    size_t pos = 0;
    *nbatches = 0;
    *span = 0;
    if (len == 0)
        return KFK_ERR_INVALID_RECORD;
    while (pos < len) {
        if (len - pos < KFK__BATCH_HEADER_SIZE ||
            kfk__load_be32(p + pos + KFK__BATCH_LENGTH) >
                len - pos - KFK__LOG_OVERHEAD)
            return KFK_ERR_CORRUPT_MESSAGE; /* cut short */
        int err = kfk__batch_parse(p + pos, len - pos, &b);
        if (err)
            return parse_err(err);
        if ((err = check_batch(log, &b, origin)))
            return err;
        *span += (int64_t)b.h.last_offset_delta + 1;
        (*nbatches)++;
        pos += b.size;
    }
    if (len > (uint64_t)log->conf.segment_bytes)
        return KFK_ERR_RECORD_LIST_TOO_LARGE;
    return 0;
}

/* The batches as they will be stored: a patched copy of each header
 * (offsets, leader epoch, LogAppendTime and CRC) and, next to it, the rest
 * of the caller's batch, so the caller's bytes are never modified and a
 * file log writes each append with one pwritev. */
#define INLINE_BATCHES 8

typedef struct staging {
    uint8_t (*hdr)[KFK__BATCH_HEADER_SIZE];
    kfk__seg_iov *iov;
    uint8_t hdr_inl[INLINE_BATCHES][KFK__BATCH_HEADER_SIZE];
    kfk__seg_iov iov_inl[2 * INLINE_BATCHES];
    void *heap;
} staging;

static void stamp(uint8_t *h, const kfk__batch *b, int64_t base,
                  int32_t leader_epoch, bool lat, int64_t now_ms)
{
    memcpy(h, b->data, KFK__BATCH_HEADER_SIZE);
    kfk__store_be64(h + KFK__BATCH_BASE_OFFSET, (uint64_t)base);
    kfk__store_be32(h + KFK__BATCH_LEADER_EPOCH, (uint32_t)leader_epoch);
    if (!lat)
        return; /* neither field is covered by the CRC */
    uint16_t attr = kfk__load_be16(h + KFK__BATCH_ATTRIBUTES);
    kfk__store_be16(h + KFK__BATCH_ATTRIBUTES,
                    (uint16_t)(attr | KFK__ATTR_LOG_APPEND_TIME));
    kfk__store_be64(h + KFK__BATCH_MAX_TIMESTAMP, (uint64_t)now_ms);
    uint32_t crc = kfk__crc32c(0, h + KFK__BATCH_ATTRIBUTES,
                               KFK__BATCH_HEADER_SIZE - KFK__BATCH_ATTRIBUTES);
    crc = kfk__crc32c(crc, b->records, b->records_len);
    kfk__store_be32(h + KFK__BATCH_CRC, crc);
}

static int stage(const kfk__plog *log, const uint8_t *p, size_t len,
                 size_t nbatches, int32_t leader_epoch, int64_t now_ms,
                 staging *st)
{
    st->heap = NULL;
    st->hdr = st->hdr_inl;
    st->iov = st->iov_inl;
    if (nbatches > INLINE_BATCHES) {
        /* Headers are 61 bytes each: round up so the iovs after them are
         * aligned. */
        size_t hs = (nbatches * sizeof(*st->hdr) + 15) & ~(size_t)15;
        if (!(st->heap = kfk__malloc(hs + 2 * nbatches * sizeof(*st->iov))))
            return KFK_ERR__NOMEM;
        st->hdr = st->heap;
        st->iov = (kfk__seg_iov *)(void *)((uint8_t *)st->heap + hs);
    }
    int64_t off = log->end;
    kfk__batch b;
    for (size_t i = 0, pos = 0; i < nbatches; i++, pos += b.size) {
        kfk__batch_parse(p + pos, len - pos, &b); /* checked before */
        stamp(st->hdr[i], &b, off, leader_epoch, log->conf.log_append_time,
              now_ms);
        st->iov[2 * i] = (kfk__seg_iov){st->hdr[i], KFK__BATCH_HEADER_SIZE};
        st->iov[2 * i + 1] = (kfk__seg_iov){b.records, b.records_len};
        off += (int64_t)b.h.last_offset_delta + 1;
    }
    return 0;
}

/* Indexes the stored batches, reading the headers from the caller's
 * bytes and the stamps (a file segment's mapping is not touched: its
 * first touch costs a page fault). */
static void index_all(kfk__plog *log, const uint8_t *in, size_t len,
                      const uint8_t *stored, int64_t now_ms,
                      kfk__plog_append_info *info)
{
    kfk__segment *s = active(log);
    int64_t off = log->end;
    kfk__batch b;
    info->max_timestamp = -1;
    for (size_t pos = 0; pos < len; pos += b.size) {
        kfk__batch_parse(in + pos, len - pos, &b);
        b.data = stored + pos;
        b.h.base_offset = off;
        if (log->conf.log_append_time)
            b.h.max_timestamp = now_ms;
        kfk__seg_add_batch(s, &b);
        if (b.h.max_timestamp > info->max_timestamp)
            info->max_timestamp = b.h.max_timestamp;
        off += (int64_t)b.h.last_offset_delta + 1;
    }
}

int kfk__plog_append(kfk__plog *log, const void *batches, size_t len,
                     int32_t leader_epoch, kfk__plog_origin origin,
                     int64_t now_ms, kfk__plog_append_info *info)
{
    kfk__plog_append_info local;
    staging st = {0};
    size_t nbatches;
    int64_t span;
    uint8_t *where;
    if (!info)
        info = &local;
    int err = check_all(log, batches, len, origin, &nbatches, &span);
    if (!err && span > INT64_MAX - log->end)
        err = KFK_ERR_INVALID_RECORD;
    if (!err && leader_epoch > kfk__plog_latest_epoch(log))
        err = kfk__plog_epochs_reserve(log, 1);
    if (!err)
        err = stage(log, batches, len, nbatches, leader_epoch, now_ms, &st);
    if (!err)
        err = prepare(log, len, nbatches, now_ms);
    if (!err)
        err = kfk__seg_writev(active(log), st.iov, 2 * nbatches, &where);
    kfk__free(st.heap);
    if (err)
        return err;

    info->base_offset = log->end;
    index_all(log, batches, len, where, now_ms, info);
    if (leader_epoch > kfk__plog_latest_epoch(log))
        kfk__plog_epochs_push(log, leader_epoch, log->end);
    log->end += span;
    info->last_offset = log->end - 1;
    info->log_end_offset = log->end;
    info->log_append_time = log->conf.log_append_time ? now_ms : -1;
    info->nbatches = (int32_t)nbatches;
    return 0;
}

/* ---- iterating -------------------------------------------------------- */

/* The last segment whose base is <= offset (0 when offset is below all). */
static size_t find_segment(const kfk__plog *log, int64_t offset)
{
    size_t lo = 0, hi = log->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void kfk__plog_iter_init(kfk__plog_iter *it, const kfk__plog *log,
                         int64_t offset)
{
    kfk__seg_pos p = {0, 0};
    size_t i = find_segment(log, offset);
    it->log = log;
    if (!kfk__seg_seek(log->segs[i], offset, &p)) {
        i++; /* everything after segment i is above offset */
        p = (kfk__seg_pos){0, 0};
    }
    it->seg = i;
    it->chunk = p.chunk;
    it->pos = p.pos;
}

int kfk__plog_iter_next(kfk__plog_iter *it, kfk__batch *b)
{
    const kfk__plog *log = it->log;
    while (it->seg < log->nsegs) {
        kfk__seg_pos p = {it->chunk, it->pos};
        bool ok = kfk__seg_next(log->segs[it->seg], &p, b);
        it->chunk = p.chunk;
        it->pos = p.pos;
        if (ok)
            return 1;
        it->seg++;
        it->chunk = it->pos = 0;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

/* Calls take(b, arg) for each batch a fetch returns; take returns false
 * to stop early. */
typedef bool (*take_fn)(const kfk__batch *b, void *arg);

static int read_batches(const kfk__plog *log, int64_t offset, int64_t upper,
                        size_t max_bytes, bool min_one, take_fn take, void *arg,
                        kfk__plog_read_info *info)
{
    kfk__plog_iter it;
    kfk__batch b;
    info->nslices = info->bytes = 0;
    info->next_offset = offset;
    if (offset < log->start || offset > log->end)
        return KFK_ERR_OFFSET_OUT_OF_RANGE;
    if (upper < 0 || upper > log->end)
        upper = log->end;
    if (max_bytes > SIZE_MAX / 2)
        max_bytes = SIZE_MAX / 2; /* so bytes + size cannot wrap */
    kfk__plog_iter_init(&it, log, offset);
    while (kfk__plog_iter_next(&it, &b)) {
        int64_t last = kfk__batch_last_offset(&b);
        if (last >= upper)
            break;
        if (info->bytes + b.size > max_bytes && (info->bytes || !min_one))
            break;
        if (!take(&b, arg))
            break;
        info->bytes += b.size;
        info->next_offset = last + 1;
    }
    return 0;
}

typedef struct slice_sink {
    kfk__plog_slice *v;
    size_t max;
    kfk__plog_read_info *info;
} slice_sink;

static bool take_slice(const kfk__batch *b, void *arg)
{
    slice_sink *s = arg;
    size_t n = s->info->nslices;
    if (n && s->v[n - 1].data + s->v[n - 1].len == b->data) {
        s->v[n - 1].len += b->size;
        return true;
    }
    if (n == s->max)
        return false;
    s->v[n] = (kfk__plog_slice){b->data, b->size};
    s->info->nslices++;
    return true;
}

int kfk__plog_read(const kfk__plog *log, int64_t offset, int64_t upper_bound,
                   size_t max_bytes, bool min_one, kfk__plog_slice *slices,
                   size_t max_slices, kfk__plog_read_info *info)
{
    slice_sink sink = {slices, max_slices, info};
    return read_batches(log, offset, upper_bound, max_bytes, min_one,
                        take_slice, &sink, info);
}

static bool take_copy(const kfk__batch *b, void *arg)
{
    kfk__wbuf *w = arg;
    kfk__wr_raw(w, b->data, b->size);
    return !kfk__wbuf_err(w);
}

int kfk__plog_read_copy(const kfk__plog *log, int64_t offset,
                        int64_t upper_bound, size_t max_bytes, bool min_one,
                        kfk__wbuf *out, kfk__plog_read_info *info)
{
    size_t was = out->len;
    if (kfk__wbuf_err(out))
        return kfk__wbuf_err(out);
    int err = read_batches(log, offset, upper_bound, max_bytes, min_one,
                           take_copy, out, info);
    if (!err && kfk__wbuf_err(out)) {
        err = kfk__wbuf_err(out);
        out->len = was;
    }
    if (!err)
        info->nslices = info->bytes ? 1 : 0;
    return err;
}

/* ---- queries ---------------------------------------------------------- */

int64_t kfk__plog_start_offset(const kfk__plog *log)
{
    return log->start;
}

int64_t kfk__plog_end_offset(const kfk__plog *log)
{
    return log->end;
}

uint64_t kfk__plog_size(const kfk__plog *log)
{
    uint64_t n = 0;
    for (size_t i = 0; i < log->nsegs; i++)
        n += log->segs[i]->bytes;
    return n;
}

uint64_t kfk__plog_batch_count(const kfk__plog *log)
{
    uint64_t n = 0;
    for (size_t i = 0; i < log->nsegs; i++)
        n += log->segs[i]->nbatches;
    return n;
}

size_t kfk__plog_segment_count(const kfk__plog *log)
{
    return log->nsegs;
}

/* The first record of b at or after min_offset that match() accepts, into
 * *offset / *ts. Returns 1 found, 0 not in this batch, or KFK_ERR__NOMEM.
 * A batch that cannot be decoded answers with its base offset and max
 * timestamp. */
typedef bool (*rec_match)(int64_t ts, int64_t want);

static int find_record(const kfk__batch *b, int64_t min_offset, rec_match match,
                       int64_t want, kfk__wbuf *buf, int64_t *offset,
                       int64_t *ts)
{
    kfk__rec_iter it;
    kfk__record rec;
    int r = kfk__rec_iter_init(&it, b, NULL, buf, MAX_DECOMPRESSED);
    while (!r && (r = kfk__rec_iter_next(&it, &rec)) == 1) {
        if (rec.offset >= min_offset && match(rec.timestamp, want)) {
            *offset = rec.offset;
            *ts = rec.timestamp;
            return 1;
        }
        r = 0;
    }
    if (r == 0)
        return 0;
    if (r == KFK_ERR__NOMEM)
        return r;
    *offset = b->h.base_offset > min_offset ? b->h.base_offset : min_offset;
    *ts = b->h.max_timestamp;
    return 1;
}

static bool ts_at_least(int64_t ts, int64_t want)
{
    return ts >= want;
}

static bool ts_equal(int64_t ts, int64_t want)
{
    return ts == want;
}

/* Keeps a found offset only when it is below upper (else "none"). */
static void bound(int64_t upper, int64_t *offset, int64_t *ts)
{
    if (*offset >= upper) {
        *offset = -1;
        *ts = -1;
    }
}

int kfk__plog_offset_for_timestamp(const kfk__plog *log, int64_t ts,
                                   int64_t upper_bound, int64_t *offset,
                                   int64_t *timestamp)
{
    kfk__wbuf buf;
    kfk__plog_iter it;
    kfk__batch b;
    int r = 0;
    size_t i = 0;
    *offset = *timestamp = -1;
    if (upper_bound < 0 || upper_bound > log->end)
        upper_bound = log->end;
    while (i < log->nsegs && log->segs[i]->max_ts < ts)
        i++;
    if (i == log->nsegs)
        return 0;
    kfk__wbuf_init(&buf, MAX_DECOMPRESSED);
    kfk__plog_iter_init(&it, log,
                        log->segs[i]->base > log->start ? log->segs[i]->base
                                                        : log->start);
    while (r == 0 && kfk__plog_iter_next(&it, &b)) {
        if (b.h.max_timestamp >= ts && kfk__batch_last_offset(&b) >= log->start)
            r = find_record(&b, log->start, ts_at_least, ts, &buf, offset,
                            timestamp);
    }
    kfk__wbuf_free(&buf);
    if (r < 0)
        return r;
    bound(upper_bound, offset, timestamp);
    return 0;
}

int kfk__plog_max_timestamp(const kfk__plog *log, int64_t upper_bound,
                            int64_t *offset, int64_t *timestamp)
{
    const kfk__segment *best = NULL;
    kfk__plog_iter it;
    kfk__batch b;
    kfk__wbuf buf;
    int r = 0;
    *offset = *timestamp = -1;
    for (size_t i = 0; i < log->nsegs; i++) {
        if (log->segs[i]->max_ts >= 0 &&
            (!best || log->segs[i]->max_ts > best->max_ts))
            best = log->segs[i];
    }
    if (!best)
        return 0;
    if (upper_bound < 0 || upper_bound > log->end)
        upper_bound = log->end;
    kfk__wbuf_init(&buf, MAX_DECOMPRESSED);
    kfk__plog_iter_init(&it, log, best->max_ts_offset);
    if (kfk__plog_iter_next(&it, &b))
        r = find_record(&b, b.h.base_offset, ts_equal, best->max_ts, &buf,
                        offset, timestamp);
    kfk__wbuf_free(&buf);
    if (r < 0)
        return r;
    bound(upper_bound, offset, timestamp);
    return 0;
}
