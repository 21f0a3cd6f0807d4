/*
 * compress.c: gzip, snappy, lz4 and zstd behind kfk__compress and
 * kfk__decompress (see compress.h for the formats and the memory rules).
 *
 * Output goes through a "sink": the caller's kfk__wbuf with its maximum
 * temporarily lowered to what the cap allows, so the buffer's own doubling
 * can never allocate past the cap. A streaming decoder that has filled the
 * sink is given one spare byte: if it writes it, the data was too large.
 *
 * Snappy: Kafka's Java producer wraps snappy in xerial framing (snappy-java's
 * SnappyOutputStream, 32 KiB blocks); librdkafka writes one raw snappy
 * block. Java consumers read both (snappy-java falls back to raw when the
 * xerial magic is absent), and every consumer that reads Java-produced
 * data reads xerial, so we write xerial and read both.
 */
#include "proto/compress.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define LZ4F_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "common/alloc.h"

#define XERIAL_HEADER_SIZE 16
#define XERIAL_BLOCK 32768

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
/* snappy's own framing format (not Kafka's); recognised only to reject. */
static const uint8_t snappy_stream_id[10] = {0xff, 0x06, 0,   0,   's',
                                             'N',  'a',  'P', 'p', 'Y'};

struct kfk__zctx {
    z_stream def;
    bool def_ready;
    int def_level;
    z_stream inf;
    bool inf_ready;
    LZ4F_cctx *lz4c;
    LZ4F_dctx *lz4d;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    kfk__wbuf scratch;
};

/* ---- allocation hooks: codec memory goes through kfk__malloc ---------- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return kfk__malloc((size_t)items * size); /* size_t: no overflow */
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    kfk__free(p);
}

static void *gen_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return kfk__malloc(size);
}

static void gen_free(void *opaque, void *p)
{
    (void)opaque;
    kfk__free(p);
}

static const ZSTD_customMem zstd_mem = {gen_alloc, gen_free, NULL};
static const LZ4F_CustomMem lz4_mem = {gen_alloc, NULL, gen_free, NULL};

/* ---- contexts --------------------------------------------------------- */

static void zctx_clear(kfk__zctx *z)
{
    memset(z, 0, sizeof(*z));
    kfk__wbuf_init(&z->scratch, 0);
}

static void zctx_release(kfk__zctx *z)
{
    if (z->def_ready)
        deflateEnd(&z->def);
    if (z->inf_ready)
        inflateEnd(&z->inf);
    LZ4F_freeCompressionContext(z->lz4c);
    LZ4F_freeDecompressionContext(z->lz4d);
    ZSTD_freeCCtx(z->zc);
    ZSTD_freeDCtx(z->zd);
    kfk__wbuf_free(&z->scratch);
}

int kfk__zctx_new(kfk__zctx **out)
{
    *out = kfk__malloc(sizeof(**out));
    if (!*out)
        return KFK_ERR__NOMEM;
    zctx_clear(*out);
    return 0;
}

void kfk__zctx_destroy(kfk__zctx *z)
{
    if (!z)
        return;
    zctx_release(z);
    kfk__free(z);
}

kfk__wbuf *kfk__zctx_scratch(kfk__zctx *z)
{
    kfk__wbuf_reset(&z->scratch);
    return &z->scratch;
}

/* ---- names and levels ------------------------------------------------- */

static const char *const names[KFK__CODEC_COUNT] = {"none", "gzip", "snappy",
                                                    "lz4", "zstd"};

const char *kfk__codec_name(int codec)
{
    return codec >= 0 && codec < KFK__CODEC_COUNT ? names[codec] : "unknown";
}

int kfk__codec_from_name(const char *name, kfk__codec *codec)
{
    for (int i = 0; name && i < KFK__CODEC_COUNT; i++) {
        if (!strcmp(name, names[i])) {
            *codec = (kfk__codec)i;
            return 0;
        }
    }
    return KFK_ERR__UNKNOWN_CODEC;
}

int kfk__codec_level_ok(int codec, int level)
{
    if (level == KFK__LEVEL_DEFAULT)
        return codec >= 0 && codec < KFK__CODEC_COUNT;
    switch (codec) {
    case KFK__CODEC_GZIP:
        return level >= 0 && level <= 9;
    case KFK__CODEC_LZ4:
        return level >= 0 && level <= 17; /* the Java client's range */
    case KFK__CODEC_ZSTD:
        return level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel();
    default:
        return 0;
    }
}

/* ---- the output sink -------------------------------------------------- */

typedef struct sink {
    kfk__wbuf *w;
    size_t start;     /* w->len on entry: restored on error */
    size_t limit;     /* w->len may not pass this */
    size_t saved_max; /* w->max on entry */
    size_t hint;      /* first allocation size */
} sink;

static void sink_open(sink *s, kfk__wbuf *w, size_t max_out, size_t hint)
{
    s->w = w;
    s->start = w->len;
    s->saved_max = w->max;
    s->limit = max_out < w->max - w->len ? w->len + max_out : w->max;
    s->hint = hint < 4096 ? 4096 : hint;
    if (w->max > s->limit)
        w->max = s->limit; /* the buffer's doubling stops at the cap */
}

static int sink_close(sink *s, int err)
{
    s->w->max = s->saved_max;
    if (err)
        s->w->len = s->start;
    return err;
}

/* Free space in the sink, allocating some if there is none: 0 with *n
 * bytes at *p, *n == 0 only when the cap is reached; or w's error. */
static int sink_room(sink *s, uint8_t **p, size_t *n)
{
    kfk__wbuf *w = s->w;
    size_t left = s->limit - w->len;

    if (w->err)
        return w->err;
    if (w->cap == w->len && left) {
        size_t want = w->len - s->start;
        want = want < s->hint ? s->hint : want;
        int err = kfk__wbuf_reserve(w, want < left ? want : left);
        if (err)
            return err;
    }
    *n = w->cap - w->len < left ? w->cap - w->len : left;
    *p = *n ? w->data + w->len : NULL;
    return 0;
}

/* Makes sure n more bytes fit under the cap and are allocated; *p is
 * where they go (spare, which needs no room, when n is 0). */
static int sink_need(sink *s, size_t n, uint8_t **p, uint8_t *spare)
{
    if (n > s->limit - s->w->len)
        return KFK_ERR__TOO_LARGE;
    if (!n) {
        *p = spare;
        return 0;
    }
    int err = kfk__wbuf_reserve(s->w, n);
    if (err)
        return err;
    *p = s->w->data + s->w->len;
    return 0;
}

/* ---- gzip ------------------------------------------------------------- */

static int deflater(kfk__zctx *z, int level, z_stream **out)
{
    if (z->def_ready && z->def_level == level) {
        *out = &z->def;
        return deflateReset(&z->def) == Z_OK ? 0 : KFK_ERR__COMPRESSION;
    }
    if (z->def_ready)
        deflateEnd(&z->def);
    z->def_ready = false;
    memset(&z->def, 0, sizeof(z->def));
    z->def.zalloc = z_alloc;
    z->def.zfree = z_free;
    /* windowBits 15 + 16: a gzip wrapper, as Java's GZIPOutputStream. */
    int rc = deflateInit2(&z->def, level, Z_DEFLATED, 15 + 16, 8,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KFK_ERR__NOMEM : KFK_ERR__COMPRESSION;
    z->def_ready = true;
    z->def_level = level;
    *out = &z->def;
    return 0;
}

static int gzip_compress(kfk__zctx *z, int level, const uint8_t *src,
                         size_t len, kfk__wbuf *w)
{
    z_stream *zs;
    int err = deflater(z, level < 0 ? Z_DEFAULT_COMPRESSION : level, &zs);
    if (err)
        return err;
    size_t bound = deflateBound(zs, (uLong)len);
    uint8_t *p = kfk__wr_space(w, bound);
    if (!p)
        return w->err;
    w->len -= bound;
    zs->next_in = (Bytef *)(uintptr_t)src; /* zlib's API is not const */
    zs->next_out = p;
    int rc;
    do {
        size_t in = len - (size_t)((const uint8_t *)zs->next_in - src);
        zs->avail_in = in > UINT_MAX ? UINT_MAX : (uInt)in;
        size_t room = bound - (size_t)(zs->next_out - p);
        zs->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        rc = deflate(zs, in > UINT_MAX ? Z_NO_FLUSH : Z_FINISH);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END)
        return rc == Z_MEM_ERROR ? KFK_ERR__NOMEM : KFK_ERR__COMPRESSION;
    w->len += (size_t)(zs->next_out - p);
    return 0;
}

static int inflater(kfk__zctx *z, z_stream **out)
{
    *out = &z->inf;
    if (z->inf_ready)
        return inflateReset(&z->inf) == Z_OK ? 0 : KFK_ERR__COMPRESSION;
    memset(&z->inf, 0, sizeof(z->inf));
    z->inf.zalloc = z_alloc;
    z->inf.zfree = z_free;
    int rc = inflateInit2(&z->inf, 15 + 16); /* gzip only, as Java */
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? KFK_ERR__NOMEM : KFK_ERR__COMPRESSION;
    z->inf_ready = true;
    return 0;
}

/* After a member ends: 1 if another gzip member follows. Like Java's
 * GZIPInputStream, bytes after the last member that do not start a new
 * one are ignored. */
static int next_member(z_stream *zs, const uint8_t *end)
{
    const uint8_t *p = zs->next_in;
    if (end - p < 2 || p[0] != 0x1f || p[1] != 0x8b)
        return 0;
    return inflateReset(zs) == Z_OK;
}

static int gzip_decompress(kfk__zctx *z, const uint8_t *src, size_t len,
                           sink *s)
{
    z_stream *zs;
    const uint8_t *end = src + len;
    int err = inflater(z, &zs);
    if (err)
        return err;
    zs->next_in = (Bytef *)(uintptr_t)src;
    for (;;) {
        uint8_t *p, spare;
        size_t n;
        if ((err = sink_room(s, &p, &n)))
            return err;
        bool probe = n == 0;
        if (probe) {
            p = &spare;
            n = 1;
        }
        size_t in = (size_t)(end - zs->next_in);
        zs->avail_in = in > UINT_MAX ? UINT_MAX : (uInt)in;
        zs->next_out = p;
        zs->avail_out = n > UINT_MAX ? UINT_MAX : (uInt)n;
        const Bytef *before = zs->next_in;
        int rc = inflate(zs, Z_NO_FLUSH);
        size_t made = (size_t)(zs->next_out - p);
        if (probe && made)
            return KFK_ERR__TOO_LARGE;
        s->w->len += probe ? 0 : made;
        if (rc == Z_STREAM_END) {
            if (!next_member(zs, end))
                return 0;
        } else if (rc == Z_MEM_ERROR) {
            return KFK_ERR__NOMEM;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return KFK_ERR__COMPRESSION;
        } else if (!made && zs->next_in == before) {
            return KFK_ERR__COMPRESSION; /* truncated: no way forward */
        }
    }
}

/* ---- snappy ----------------------------------------------------------- */

static int snappy_block(const uint8_t *src, size_t len, kfk__wbuf *w)
{
    size_t max = snappy_max_compressed_length(len), n = max;
    uint8_t *p = kfk__wr_space(w, 4 + max);
    if (!p)
        return w->err;
    if (snappy_compress((const char *)src, len, (char *)p + 4, &n) != SNAPPY_OK)
        return KFK_ERR__COMPRESSION;
    if (n > INT32_MAX)
        return KFK_ERR__TOO_LARGE;
    kfk__store_be32(p, (uint32_t)n);
    w->len -= max - n;
    return 0;
}

static int snappy_compress_xerial(const uint8_t *src, size_t len, kfk__wbuf *w)
{
    kfk__wr_raw(w, xerial_magic, sizeof(xerial_magic));
    kfk__wr_i32(w, 1); /* version */
    kfk__wr_i32(w, 1); /* compatible version */
    for (size_t off = 0; off < len && !w->err; off += XERIAL_BLOCK) {
        size_t n = len - off < XERIAL_BLOCK ? len - off : XERIAL_BLOCK;
        int err = snappy_block(src + off, n, w);
        if (err)
            return err;
    }
    return w->err;
}

/* One raw snappy block: its preamble states the size, checked against the
 * cap before anything is allocated. */
static int unsnappy_raw(const uint8_t *src, size_t len, sink *s)
{
    size_t n;
    uint8_t *p, spare;
    if (snappy_uncompressed_length((const char *)src, len, &n) != SNAPPY_OK)
        return KFK_ERR__COMPRESSION;
    int err = sink_need(s, n, &p, &spare);
    if (err)
        return err;
    if (snappy_uncompress((const char *)src, len, (char *)p, &n) != SNAPPY_OK)
        return KFK_ERR__COMPRESSION;
    s->w->len += n;
    return 0;
}

static int snappy_decompress(const uint8_t *src, size_t len, sink *s)
{
    if (len >= sizeof(snappy_stream_id) &&
        !memcmp(src, snappy_stream_id, sizeof(snappy_stream_id)))
        return KFK_ERR__COMPRESSION;
    if (len < XERIAL_HEADER_SIZE || memcmp(src, xerial_magic, 8))
        return unsnappy_raw(src, len, s);
    /* xerial: the two version ints are not checked, as librdkafka. */
    size_t off = XERIAL_HEADER_SIZE;
    while (off < len) {
        if (len - off < 4)
            return KFK_ERR__COMPRESSION;
        uint32_t n = kfk__load_be32(src + off);
        off += 4;
        if (n == 0 || n > len - off)
            return KFK_ERR__COMPRESSION;
        int err = unsnappy_raw(src + off, n, s);
        if (err)
            return err;
        off += n;
    }
    return 0;
}

/* ---- lz4 -------------------------------------------------------------- */

static int lz4_err(size_t rc)
{
    return LZ4F_getErrorCode(rc) == LZ4F_ERROR_allocation_failed
               ? KFK_ERR__NOMEM
               : KFK_ERR__COMPRESSION;
}

static int lz4_compress(kfk__zctx *z, int level, const uint8_t *src, size_t len,
                        kfk__wbuf *w)
{
    /* What the Java client writes: 64 KiB independent blocks, no
     * checksums, no content size. */
    LZ4F_preferences_t prefs = LZ4F_INIT_PREFERENCES;
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.compressionLevel = level < 0 ? 0 : level;
    if (!z->lz4c) {
        z->lz4c = LZ4F_createCompressionContext_advanced(lz4_mem, LZ4F_VERSION);
        if (!z->lz4c)
            return KFK_ERR__NOMEM;
    }
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *p = kfk__wr_space(w, bound);
    if (!p)
        return w->err;
    w->len -= bound;
    size_t rc = LZ4F_compressFrame_usingCDict(z->lz4c, p, bound, src, len, NULL,
                                              &prefs);
    if (LZ4F_isError(rc))
        return lz4_err(rc);
    w->len += rc;
    return 0;
}

/* Decodes LZ4 frames from head (the first head_len bytes, e.g. a repaired
 * header) and then src. */
static int lz4_decode(kfk__zctx *z, const uint8_t *head, size_t head_len,
                      const uint8_t *src, size_t len, sink *s)
{
    if (!z->lz4d) {
        z->lz4d =
            LZ4F_createDecompressionContext_advanced(lz4_mem, LZ4F_VERSION);
        if (!z->lz4d)
            return KFK_ERR__NOMEM;
    }
    LZ4F_resetDecompressionContext(z->lz4d);
    for (;;) {
        uint8_t *p, spare;
        size_t n;
        int err = sink_room(s, &p, &n);
        if (err)
            return err;
        bool probe = n == 0;
        if (probe) {
            p = &spare;
            n = 1;
        }
        const uint8_t *in = head_len ? head : src;
        size_t in_n = head_len ? head_len : len;
        size_t rc = LZ4F_decompress(z->lz4d, p, &n, in, &in_n, NULL);
        if (LZ4F_isError(rc))
            return lz4_err(rc);
        if (probe && n)
            return KFK_ERR__TOO_LARGE;
        s->w->len += probe ? 0 : n;
        if (head_len) {
            head += in_n;
            head_len -= in_n;
        } else {
            src += in_n;
            len -= in_n;
        }
        if (rc == 0 && !head_len && !len)
            return 0; /* a frame ended with the input */
        if (!n && !in_n)
            return KFK_ERR__COMPRESSION; /* truncated: no way forward */
    }
}

/* Kafka's XXH32 header checksum is over a descriptor of at most 15 bytes,
 * so only XXH32's short-input path is needed (seed 0). */
static uint32_t xxh32_short(const uint8_t *p, size_t len)
{
    const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u,
                   P4 = 668265263u, P5 = 374761393u;
    uint32_t h = P5 + (uint32_t)len;
    for (; len >= 4; len -= 4, p += 4) {
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        h += v * P3;
        h = ((h << 17) | (h >> 15)) * P4;
    }
    for (; len; len--, p++) {
        h += *p * P5;
        h = ((h << 11) | (h >> 21)) * P1;
    }
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

int kfk__decompress_lz4_legacy(kfk__zctx *z, const void *src, size_t len,
                               kfk__wbuf *out, size_t max_out)
{
    const uint8_t *p = src;
    uint8_t head[4 + 14 + 1];
    if (len < 7 || kfk__load_be32(p) != 0x04224d18) /* LE 0x184d2204 */
        return KFK_ERR__COMPRESSION;
    size_t desc = 2 + (p[4] & 0x08 ? 8 : 0) + (p[4] & 0x01 ? 4 : 0);
    if (len < 4 + desc + 1)
        return KFK_ERR__COMPRESSION;
    memcpy(head, p, 4 + desc);
    head[4 + desc] = (uint8_t)(xxh32_short(p + 4, desc) >> 8);

    kfk__zctx tmp, *zz = z ? z : &tmp;
    if (!z)
        zctx_clear(&tmp);
    sink s;
    sink_open(&s, out, max_out, len * 4);
    int err = sink_close(
        &s, lz4_decode(zz, head, 5 + desc, p + 5 + desc, len - 5 - desc, &s));
    if (!z)
        zctx_release(&tmp);
    return err;
}

/* ---- zstd ------------------------------------------------------------- */

static int zstd_err(size_t rc)
{
    return ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation
               ? KFK_ERR__NOMEM
               : KFK_ERR__COMPRESSION;
}

static int zstd_compress(kfk__zctx *z, int level, const uint8_t *src,
                         size_t len, kfk__wbuf *w)
{
    if (!z->zc && !(z->zc = ZSTD_createCCtx_advanced(zstd_mem)))
        return KFK_ERR__NOMEM;
    ZSTD_CCtx_reset(z->zc, ZSTD_reset_session_and_parameters);
    size_t rc = ZSTD_CCtx_setParameter(
        z->zc, ZSTD_c_compressionLevel,
        level == KFK__LEVEL_DEFAULT ? ZSTD_CLEVEL_DEFAULT : level);
    if (ZSTD_isError(rc))
        return zstd_err(rc);
    size_t bound = ZSTD_compressBound(len);
    uint8_t *p = kfk__wr_space(w, bound);
    if (!p)
        return w->err;
    w->len -= bound;
    rc = ZSTD_compress2(z->zc, p, bound, src, len);
    if (ZSTD_isError(rc))
        return zstd_err(rc);
    w->len += rc;
    return 0;
}

/* Decodes all frames in one call straight into the sink, so zstd never
 * allocates a window buffer, however large a window the frame declares.
 * The output is sized from the frames' content sizes or block counts
 * (ZSTD_decompressBound), clipped to the cap. */
static int zstd_decompress(kfk__zctx *z, const uint8_t *src, size_t len,
                           sink *s)
{
    unsigned long long bound = ZSTD_decompressBound(src, len);
    if (bound == ZSTD_CONTENTSIZE_ERROR)
        return KFK_ERR__COMPRESSION;
    if (!z->zd && !(z->zd = ZSTD_createDCtx_advanced(zstd_mem)))
        return KFK_ERR__NOMEM;
    size_t left = s->limit - s->w->len;
    size_t want = bound < left ? (size_t)bound : left;
    uint8_t *p, spare;
    int err = sink_need(s, want, &p, &spare);
    if (err)
        return err;
    size_t rc = ZSTD_decompressDCtx(z->zd, p, want, src, len);
    if (ZSTD_isError(rc)) {
        if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall &&
            bound > left)
            return KFK_ERR__TOO_LARGE;
        return zstd_err(rc);
    }
    s->w->len += rc;
    return 0;
}

/* ---- dispatch --------------------------------------------------------- */

int kfk__compress(kfk__zctx *z, int codec, int level, const void *src,
                  size_t len, kfk__wbuf *out)
{
    if (codec < 0 || codec >= KFK__CODEC_COUNT)
        return KFK_ERR__UNKNOWN_CODEC;
    if (!kfk__codec_level_ok(codec, level))
        return KFK_ERR__INVALID_ARG;
    if (out->err)
        return out->err;

    kfk__zctx tmp, *zz = z ? z : &tmp;
    if (!z)
        zctx_clear(&tmp);
    size_t start = out->len;
    const uint8_t *in = len ? src : (const uint8_t *)"";
    int err = 0;
    switch ((kfk__codec)codec) {
    case KFK__CODEC_NONE:
        kfk__wr_raw(out, in, len);
        err = out->err;
        break;
    case KFK__CODEC_GZIP:
        err = gzip_compress(zz, level, in, len, out);
        break;
    case KFK__CODEC_SNAPPY:
        err = snappy_compress_xerial(in, len, out);
        break;
    case KFK__CODEC_LZ4:
        err = lz4_compress(zz, level, in, len, out);
        break;
    case KFK__CODEC_ZSTD:
        err = zstd_compress(zz, level, in, len, out);
        break;
    }
    if (err)
        out->len = start;
    if (!z)
        zctx_release(&tmp);
    return err;
}

static int decompress_with(kfk__zctx *z, int codec, const uint8_t *src,
                           size_t len, sink *s)
{
    if (codec == KFK__CODEC_NONE) {
        uint8_t *p, spare;
        int err = sink_need(s, len, &p, &spare);
        if (!err && len) {
            memcpy(p, src, len);
            s->w->len += len;
        }
        return err;
    }
    if (len == 0)
        return KFK_ERR__COMPRESSION; /* no codec emits nothing */
    switch ((kfk__codec)codec) {
    case KFK__CODEC_GZIP:
        return gzip_decompress(z, src, len, s);
    case KFK__CODEC_SNAPPY:
        return snappy_decompress(src, len, s);
    case KFK__CODEC_LZ4:
        return lz4_decode(z, NULL, 0, src, len, s);
    case KFK__CODEC_ZSTD:
        return zstd_decompress(z, src, len, s);
    case KFK__CODEC_NONE:
        break;
    }
    return KFK_ERR__UNKNOWN_CODEC;
}

int kfk__decompress(kfk__zctx *z, int codec, const void *src, size_t len,
                    kfk__wbuf *out, size_t max_out)
{
    if (codec < 0 || codec >= KFK__CODEC_COUNT)
        return KFK_ERR__UNKNOWN_CODEC;
    if (out->err)
        return out->err;

    kfk__zctx tmp, *zz = z ? z : &tmp;
    if (!z)
        zctx_clear(&tmp);
    sink s;
    sink_open(&s, out, max_out, len * 4);
    int err = sink_close(&s, decompress_with(zz, codec, src, len, &s));
    if (!z)
        zctx_release(&tmp);
    return err;
}
