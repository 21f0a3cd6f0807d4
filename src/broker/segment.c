/*
 * segment.c: storage for one log segment (see segment.h).
 *
 * It exists so that log.c can think in batches and offsets while this
 * file deals with where the bytes live: malloc'd chunks that never move
 * (so fetches can hand out pointers into them), or a file that is
 * appended with pwrite and read through a shared mapping (so a durable
 * log costs page cache, not heap, and a restart does not read the data
 * into memory). Recovery after a crash lives here too: a segment file is
 * trusted only up to its first batch that is not whole and valid.
 */
#include "broker/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/alloc.h"

#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_MAX ((size_t)8 << 20)
#define INDEX_INTERVAL 4096 /* bytes of batches between index entries */

/* A big chunk is filled once and read many times: transparent huge pages
 * cut the page faults of filling it by 512 (measured: produce throughput
 * was page-fault bound in bench_broker). Best effort. */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* ---- helpers ---------------------------------------------------------- */

static size_t round_page(size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    if (n == 0)
        n = 1;
    return (n + ps - 1) / ps * ps;
}

/* Grows *arr (elements of size elem) so it holds at least need. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4;
    while (n < need)
        n *= 2;
    void *p = kfk__realloc(*arr, n * elem);
    if (!p)
        return KFK_ERR__NOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

static int64_t last_offset(const kfk__batch *b)
{
    return kfk__batch_last_offset(b);
}

char *kfk__seg_path(const char *dir, int64_t base, const char *suffix)
{
    if (!suffix)
        suffix = "";
    size_t n = strlen(dir) + strlen(suffix) + 32;
    char *p = kfk__malloc(n);
    if (p)
        snprintf(p, n, "%s/%020" PRId64 ".log%s", dir, base, suffix);
    return p;
}

static kfk__segment *seg_alloc(int64_t base, int64_t now_ms)
{
    kfk__segment *s = kfk__calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base = s->next = base;
    s->max_ts = -1;
    s->max_ts_offset = -1;
    s->created_ms = now_ms;
    s->horizon_ms = -1;
    s->fd = -1;
    return s;
}

int kfk__seg_new_mem(int64_t base, int64_t now_ms, kfk__segment **out)
{
    *out = seg_alloc(base, now_ms);
    return *out ? 0 : KFK_ERR__NOMEM;
}

/* ---- files ------------------------------------------------------------ */

/* Maps len bytes (rounded to pages) of s->fd as s's only chunk. */
static int map_file(kfk__segment *s, size_t len, size_t used)
{
    size_t cap = round_page(len);
    void *m = mmap(NULL, cap, PROT_READ, MAP_SHARED, s->fd, 0);
    if (m == MAP_FAILED)
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    s->chunks[0].data = m;
    s->chunks[0].cap = cap;
    s->chunks[0].len = used;
    s->nchunks = 1;
    return 0;
}

/* A file segment shell: one chunk slot and the path, fd still -1. */
static kfk__segment *file_seg_alloc(char *path, int64_t base, int64_t now_ms)
{
    kfk__segment *s = seg_alloc(base, now_ms);
    if (s && (s->chunks = kfk__calloc(1, sizeof(*s->chunks)))) {
        s->capchunks = 1;
        s->path = path;
        return s;
    }
    kfk__free(s);
    return NULL;
}

int kfk__seg_create(const char *dir, int64_t base, const char *suffix,
                    size_t map_len, int64_t now_ms, kfk__segment **out)
{
    char *path = kfk__seg_path(dir, base, suffix);
    kfk__segment *s = path ? file_seg_alloc(path, base, now_ms) : NULL;
    *out = NULL;
    if (!s) {
        kfk__free(path);
        return KFK_ERR__NOMEM;
    }
    s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = s->fd < 0 ? KFK_ERR_KAFKA_STORAGE_ERROR : map_file(s, map_len, 0);
    if (err) {
        kfk__seg_delete(s);
        return err;
    }
    *out = s;
    return 0;
}

/* Checks the batch at p (avail bytes) as recovery must: whole, magic 2,
 * CRC, offsets >= expect and not overflowing. */
static bool batch_valid(const uint8_t *p, size_t avail, int64_t expect,
                        kfk__batch *b)
{
    if (kfk__batch_parse(p, avail, b) || b->h.last_offset_delta < 0 ||
        kfk__batch_check_crc(b))
        return false;
    return b->h.base_offset >= expect &&
           b->h.base_offset <= INT64_MAX - 1 - b->h.last_offset_delta;
}

static void account(kfk__segment *s, const kfk__batch *b, kfk__seg_pos at);

/* Indexes the valid prefix of the file; returns its length via *valid. */
static int scan_file(kfk__segment *s, size_t size, size_t *valid)
{
    const uint8_t *data = s->chunks[0].data;
    size_t pos = 0;
    kfk__batch b;
    while (pos < size) {
        if (!batch_valid(data + pos, size - pos, s->next, &b))
            break;
        if (pos > UINT32_MAX - b.size)
            break;
        if (grow((void **)&s->idx, &s->capidx, s->nidx + 1, sizeof(*s->idx)))
            return KFK_ERR__NOMEM;
        account(s, &b, (kfk__seg_pos){0, (uint32_t)pos});
        pos += b.size;
    }
    *valid = pos;
    return 0;
}

int kfk__seg_recover(const char *path, int64_t base, size_t map_len,
                     int64_t now_ms, kfk__segment **out, size_t *truncated)
{
    char *p = kfk__strndup(path, strlen(path));
    kfk__segment *s = p ? file_seg_alloc(p, base, now_ms) : NULL;
    struct stat st;
    size_t valid = 0;
    int err = 0;

    *out = NULL;
    *truncated = 0;
    if (!s) {
        kfk__free(p);
        return KFK_ERR__NOMEM;
    }
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 || fstat(s->fd, &st) || st.st_size < 0)
        err = KFK_ERR_KAFKA_STORAGE_ERROR;
    size_t size = err ? 0 : (size_t)st.st_size;
    if (!err)
        err = map_file(s, size > map_len ? size : map_len, 0);
    if (!err)
        err = scan_file(s, size, &valid);
    if (!err && valid < size && ftruncate(s->fd, (off_t)valid))
        err = KFK_ERR_KAFKA_STORAGE_ERROR;
    if (err) {
        kfk__seg_free(s);
        return err;
    }
    s->chunks[0].len = valid;
    *truncated = size - valid;
    *out = s;
    return 0;
}

void kfk__seg_free(kfk__segment *s)
{
    if (!s)
        return;
    if (s->fd >= 0 || s->path) {
        if (s->nchunks)
            munmap(s->chunks[0].data, s->chunks[0].cap);
        if (s->fd >= 0)
            close(s->fd);
    } else {
        for (uint32_t i = 0; i < s->nchunks; i++)
            kfk__free(s->chunks[i].data);
    }
    kfk__free(s->chunks);
    kfk__free(s->idx);
    kfk__free(s->path);
    kfk__free(s);
}

void kfk__seg_delete(kfk__segment *s)
{
    if (s && s->path)
        unlink(s->path);
    kfk__seg_free(s);
}

void kfk__seg_seal(kfk__segment *s)
{
    if (s->fd < 0 || !s->nchunks)
        return;
    kfk__seg_chunk *c = &s->chunks[0];
    size_t keep = round_page(c->len);
    if (keep < c->cap && munmap(c->data + keep, c->cap - keep) == 0)
        c->cap = keep;
}

int kfk__seg_flush(kfk__segment *s)
{
    if (s->fd < 0 || !s->dirty)
        return 0;
    if (fdatasync(s->fd))
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    s->dirty = false;
    return 0;
}

int kfk__seg_rename(kfk__segment *s, char *path)
{
    if (rename(s->path, path)) {
        kfk__free(path);
        return KFK_ERR_KAFKA_STORAGE_ERROR;
    }
    kfk__free(s->path);
    s->path = path;
    return 0;
}

int kfk__seg_publish(kfk__segment *s, const char *dir, const char *suffix)
{
    char *path = kfk__seg_path(dir, s->base, suffix);
    return path ? kfk__seg_rename(s, path) : KFK_ERR__NOMEM;
}

/* ---- appending -------------------------------------------------------- */

int kfk__seg_remap(kfk__segment *s, size_t map_len)
{
    if (s->fd < 0 || round_page(map_len) <= s->chunks[0].cap)
        return 0;
    kfk__seg_chunk old = s->chunks[0];
    int err = map_file(s, map_len, old.len);
    if (!err)
        munmap(old.data, old.cap);
    return err;
}

static int reserve_file(kfk__segment *s, size_t n)
{
    kfk__seg_chunk *c = &s->chunks[0];
    if (c->cap - c->len >= n)
        return 0;
    return c->len == 0 ? kfk__seg_remap(s, n) : KFK__SEG_FULL;
}

static int reserve_mem(kfk__segment *s, size_t n, size_t hint)
{
    kfk__seg_chunk *last = s->nchunks ? &s->chunks[s->nchunks - 1] : NULL;
    if (last && last->cap - last->len >= n)
        return 0;
    size_t size = last ? last->cap * 2 : CHUNK_MIN; /* before last moves */
    if (s->nchunks == UINT32_MAX)
        return KFK_ERR__NOMEM;
    size_t cap = s->capchunks;
    if (grow((void **)&s->chunks, &cap, (size_t)s->nchunks + 1,
             sizeof(*s->chunks)))
        return KFK_ERR__NOMEM;
    s->capchunks = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    if (size > CHUNK_MAX)
        size = CHUNK_MAX;
    if (size > hint)
        size = hint;
    if (size < n)
        size = n;
    uint8_t *data = kfk__malloc(size);
    if (!data)
        return KFK_ERR__NOMEM;
    advise_huge(data, size);
    s->chunks[s->nchunks++] = (kfk__seg_chunk){data, size, 0};
    return 0;
}

int kfk__seg_reserve(kfk__segment *s, size_t n, size_t nbatches, size_t hint)
{
    if (n > UINT32_MAX)
        return KFK_ERR__TOO_LARGE;
    if (grow((void **)&s->idx, &s->capidx, s->nidx + nbatches, sizeof(*s->idx)))
        return KFK_ERR__NOMEM;
    return s->fd >= 0 ? reserve_file(s, n) : reserve_mem(s, n, hint);
}

/* pwritev of all of v[0..n) at at, resuming after short writes. */
static int pwritev_all(int fd, const kfk__seg_iov *v, size_t n, off_t at)
{
    struct iovec io[64];
    size_t skip = 0; /* bytes of v[0] already written */
    while (n) {
        size_t k = 0;
        for (; k < n && k < 64; k++) {
            size_t off = k ? 0 : skip;
            io[k].iov_base = (void *)((uintptr_t)v[k].data + off);
            io[k].iov_len = v[k].len - off;
        }
        ssize_t w = pwritev(fd, io, (int)k, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 || (w == 0 && k && io[0].iov_len))
            return -1;
        at += w;
        size_t done = (size_t)w + skip;
        while (n && done >= v->len) {
            done -= v->len;
            v++;
            n--;
        }
        skip = done;
    }
    return 0;
}

int kfk__seg_writev(kfk__segment *s, const kfk__seg_iov *v, size_t n,
                    uint8_t **where)
{
    kfk__seg_chunk *c = &s->chunks[s->nchunks - 1];
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].len;
    if (s->fd >= 0) {
        if (pwritev_all(s->fd, v, n, (off_t)c->len)) {
            if (ftruncate(s->fd, (off_t)c->len)) {
                /* the next recovery cuts the file at the torn batch */
            }
            return KFK_ERR_KAFKA_STORAGE_ERROR;
        }
        s->dirty = true;
    } else {
        uint8_t *p = c->data + c->len;
        for (size_t i = 0; i < n; p += v[i].len, i++)
            if (v[i].len)
                memcpy(p, v[i].data, v[i].len);
    }
    *where = c->data + c->len;
    c->len += total;
    return 0;
}

int kfk__seg_write(kfk__segment *s, const void *data, size_t n, uint8_t **where)
{
    kfk__seg_iov v = {data, n};
    return kfk__seg_writev(s, &v, 1, where);
}

/* Adds b (stored at at) to offsets, size, timestamps and the index. The
 * index has room (reserved by the caller). */
static void account(kfk__segment *s, const kfk__batch *b, kfk__seg_pos at)
{
    if (s->nbatches == 0 || at.pos == 0 || s->since_idx >= INDEX_INTERVAL) {
        s->idx[s->nidx++] = (kfk__seg_idx){b->h.base_offset, at};
        s->since_idx = 0;
    }
    s->since_idx += b->size;
    s->next = last_offset(b) + 1;
    s->bytes += b->size;
    s->nbatches++;
    if (b->h.max_timestamp > s->max_ts) {
        s->max_ts = b->h.max_timestamp;
        s->max_ts_offset = b->h.base_offset;
    }
}

void kfk__seg_add_batch(kfk__segment *s, const kfk__batch *b)
{
    uint32_t ci = s->nchunks - 1;
    size_t pos = (size_t)(b->data - s->chunks[ci].data);
    account(s, b, (kfk__seg_pos){ci, (uint32_t)pos});
}

/* ---- finding batches -------------------------------------------------- */

bool kfk__seg_next(const kfk__segment *s, kfk__seg_pos *pos, kfk__batch *b)
{
    while (pos->chunk < s->nchunks) {
        const kfk__seg_chunk *c = &s->chunks[pos->chunk];
        if (pos->pos < c->len) {
            if (kfk__batch_parse(c->data + pos->pos, c->len - pos->pos, b))
                return false; /* cannot happen: stored batches are valid */
            pos->pos += (uint32_t)b->size;
            return true;
        }
        pos->chunk++;
        pos->pos = 0;
    }
    return false;
}

bool kfk__seg_first(const kfk__segment *s, kfk__seg_pos *pos)
{
    *pos = (kfk__seg_pos){0, 0};
    return s->nbatches > 0;
}

bool kfk__seg_seek(const kfk__segment *s, int64_t offset, kfk__seg_pos *pos)
{
    if (s->nbatches == 0 || offset >= s->next)
        return false;
    size_t lo = 0, hi = s->nidx; /* last entry with offset <= target */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->idx[mid].offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    kfk__seg_pos p = s->idx[lo].at, before = p;
    kfk__batch b;
    while (kfk__seg_next(s, &p, &b)) {
        if (last_offset(&b) >= offset) {
            *pos = before;
            return true;
        }
        before = p;
    }
    return false;
}

/* ---- truncation ------------------------------------------------------- */

static void reindex(kfk__segment *s)
{
    kfk__seg_pos p = {0, 0}, before = p;
    kfk__batch b;
    s->next = s->base;
    s->bytes = s->nbatches = s->nidx = s->since_idx = 0;
    s->max_ts = s->max_ts_offset = -1;
    while (kfk__seg_next(s, &p, &b)) {
        if (before.chunk != p.chunk)
            before = (kfk__seg_pos){p.chunk, 0};
        account(s, &b, before);
        before = p;
    }
}

int kfk__seg_truncate(kfk__segment *s, kfk__seg_pos pos)
{
    if (pos.chunk >= s->nchunks)
        return 0;
    if (s->fd >= 0) {
        if (ftruncate(s->fd, (off_t)pos.pos))
            return KFK_ERR_KAFKA_STORAGE_ERROR;
        s->dirty = true;
    } else {
        for (uint32_t i = pos.chunk + 1; i < s->nchunks; i++)
            kfk__free(s->chunks[i].data);
        s->nchunks = pos.chunk + 1;
    }
    s->chunks[pos.chunk].len = pos.pos;
    reindex(s);
    return 0;
}
