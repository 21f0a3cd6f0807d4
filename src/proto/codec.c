/*
 * codec.c: the interpreter for the generated message descriptors (see
 * codec.h for why one interpreter instead of generated functions).
 *
 * Both directions walk a struct's field table in order. For each field the
 * version decides whether it is absent (default), a regular field, or a
 * tagged field (flexible versions only: collected in the trailing tag
 * section). Every length and count read from the input is checked against
 * what remains before anything is allocated, and allocations come from a
 * capped arena, so no input can read out of bounds or allocate without
 * limit.
 */
#include "proto/codec.h"

#include <stdio.h>
#include <string.h>

#include "proto/gen/all.h"

#define MAX_DEPTH 24

typedef struct ctx {
    kfk__arena *arena;
    kfk__codec_err *err;
    const uint8_t *start;
    int depth;
    const char *names[MAX_DEPTH];
    int32_t index[MAX_DEPTH];
} ctx;

static inline bool in_range(int16_t v, int16_t lo, int16_t hi)
{
    return v >= lo && v <= hi;
}

kfk__str kfk__str_c(const char *s)
{
    kfk__str r = {s, s ? (int32_t)strlen(s) : -1};
    return r;
}

bool kfk__str_eq(kfk__str a, const char *s)
{
    if (!s)
        return a.len < 0;
    size_t n = strlen(s);
    return a.len >= 0 && (size_t)a.len == n && memcmp(a.ptr, s, n) == 0;
}

/* ---- errors ------------------------------------------------------------ */

static void format_path(const ctx *c, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < c->depth && n < cap; i++) {
        int w;
        if (c->index[i] >= 0)
            w = snprintf(out + n, cap - n, "%s%s[%d]", i ? "." : "",
                         c->names[i], (int)c->index[i]);
        else
            w = snprintf(out + n, cap - n, "%s%s", i ? "." : "", c->names[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* Records the first failure with its position and field path. */
static int fail(ctx *c, int code, const uint8_t *at)
{
    if (c->err && !c->err->code) {
        c->err->code = code;
        c->err->offset = at && c->start ? (size_t)(at - c->start) : 0;
        format_path(c, c->err->path, sizeof(c->err->path));
    }
    return code;
}

/* An arena allocation that failed: past the cap is TOO_LARGE (hostile
 * input), otherwise the system is out of memory. */
static int alloc_fail(ctx *c, kfk__arena *a, size_t n, const uint8_t *at)
{
    return fail(c, kfk__arena_over_cap(a, (n + 15) & ~(size_t)15) ? KFK_ERR__TOO_LARGE
                                                                   : KFK_ERR__NOMEM, at);
}

static int push(ctx *c, const char *name)
{
    if (c->depth >= MAX_DEPTH)
        return -1;
    c->names[c->depth] = name;
    c->index[c->depth] = -1;
    c->depth++;
    return 0;
}

/* ---- defaults ---------------------------------------------------------- */

static void set_default(const kfk__field *f, void *dst)
{
    switch (f->type) {
    case KFK__T_BOOL:
        *(bool *)dst = f->def_int != 0;
        break;
    case KFK__T_INT8:
        *(int8_t *)dst = (int8_t)f->def_int;
        break;
    case KFK__T_INT16:
        *(int16_t *)dst = (int16_t)f->def_int;
        break;
    case KFK__T_UINT16:
        *(uint16_t *)dst = (uint16_t)f->def_int;
        break;
    case KFK__T_INT32:
        *(int32_t *)dst = (int32_t)f->def_int;
        break;
    case KFK__T_INT64:
        *(int64_t *)dst = f->def_int;
        break;
    case KFK__T_FLOAT64:
        *(double *)dst = f->def_float;
        break;
    case KFK__T_UUID:
        memset(dst, 0, sizeof(kfk__uuid));
        break;
    case KFK__T_STRING:
        *(kfk__str *)dst = (f->flags & KFK__F_NULL_DEFAULT) ? KFK__STR_NULL
                                                            : kfk__str_c(f->def_str);
        break;
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        kfk__bytes b = {NULL, (f->flags & KFK__F_NULL_DEFAULT) ? -1 : 0};
        *(kfk__bytes *)dst = b;
        break;
    }
    case KFK__T_STRUCT:
        if (f->flags & KFK__F_STRUCT_PTR)
            *(void **)dst = NULL;
        else
            kfk__struct_init(f->sub, dst);
        break;
    case KFK__T_ARRAY: {
        kfk__array a = {NULL, (f->flags & KFK__F_NULL_DEFAULT) ? -1 : 0};
        memcpy(dst, &a, sizeof(a));
        break;
    }
    }
}

void kfk__struct_init(const kfk__struct_desc *s, void *obj)
{
    memset(obj, 0, s->size);
    for (uint16_t i = 0; i < s->nfields; i++)
        set_default(&s->fields[i], (char *)obj + s->fields[i].offset);
}

void *kfk__struct_array_new(kfk__arena *a, const kfk__struct_desc *s, int32_t n)
{
    if (n <= 0 || (size_t)n > a->cap / s->size)
        return NULL;
    char *v = kfk__arena_alloc(a, (size_t)n * s->size);
    for (int32_t i = 0; v && i < n; i++)
        kfk__struct_init(s, v + (size_t)i * s->size);
    return v;
}

void kfk__msg_init(const kfk__msg_desc *d, void *msg)
{
    kfk__struct_init(d->body, msg);
}

static bool field_is_default(const kfk__field *f, const void *src)
{
    switch (f->type) {
    case KFK__T_BOOL:
        return *(const bool *)src == (f->def_int != 0);
    case KFK__T_INT8:
        return *(const int8_t *)src == (int8_t)f->def_int;
    case KFK__T_INT16:
        return *(const int16_t *)src == (int16_t)f->def_int;
    case KFK__T_UINT16:
        return *(const uint16_t *)src == (uint16_t)f->def_int;
    case KFK__T_INT32:
        return *(const int32_t *)src == (int32_t)f->def_int;
    case KFK__T_INT64:
        return *(const int64_t *)src == f->def_int;
    case KFK__T_FLOAT64:
        return *(const double *)src == f->def_float;
    case KFK__T_UUID: {
        static const kfk__uuid zero;
        return memcmp(src, &zero, sizeof(zero)) == 0;
    }
    case KFK__T_STRING: {
        kfk__str s = *(const kfk__str *)src;
        return (f->flags & KFK__F_NULL_DEFAULT) ? s.len < 0
                                                : kfk__str_eq(s, f->def_str);
    }
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        int32_t len = ((const kfk__bytes *)src)->len;
        return (f->flags & KFK__F_NULL_DEFAULT) ? len < 0 : len == 0;
    }
    case KFK__T_STRUCT:
        if (f->flags & KFK__F_STRUCT_PTR)
            return *(void *const *)src == NULL;
        return kfk__struct_is_default(f->sub, src);
    case KFK__T_ARRAY: {
        kfk__array a;
        memcpy(&a, src, sizeof(a));
        return (f->flags & KFK__F_NULL_DEFAULT) ? a.n < 0 : a.n == 0;
    }
    }
    return true;
}

bool kfk__struct_is_default(const kfk__struct_desc *s, const void *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++)
        if (!field_is_default(&s->fields[i], (const char *)obj + s->fields[i].offset))
            return false;
    return true;
}

/* ---- decoding ---------------------------------------------------------- */

static int dec_struct(ctx *c, kfk__rbuf *r, const kfk__struct_desc *s,
                      int16_t v, bool flex, void *obj);

/* Reads a length prefix: compact (uvarint, 0 = null) or int16/int32.
 * *len is -1 for null. */
static int rd_len(kfk__rbuf *r, bool compact, bool wide, int32_t *len)
{
    int err;
    if (compact) {
        uint32_t u;
        if ((err = kfk__rd_uvarint(r, &u)))
            return err;
        if (u > (uint32_t)INT32_MAX)
            return KFK_ERR__MALFORMED;
        *len = (int32_t)u - 1;
        return 0;
    }
    if (wide)
        return kfk__rd_i32(r, len);
    int16_t l16;
    if ((err = kfk__rd_i16(r, &l16)))
        return err;
    *len = l16;
    return 0;
}

/* A length read from the wire: -1 is null (if allowed), other negatives are
 * malformed, and the payload must fit in what remains. */
static int check_len(ctx *c, kfk__rbuf *r, const uint8_t *at, int32_t len,
                     bool nullable)
{
    if (len < -1 || (len == -1 && !nullable))
        return fail(c, KFK_ERR__MALFORMED, at);
    if (len > 0 && (size_t)len > kfk__rbuf_left(r))
        return fail(c, KFK_ERR__TRUNCATED, at);
    return 0;
}

/* Smallest encoding of one struct element is at least one byte unless the
 * version has no regular field at all (possible only outside flexible
 * versions); that decides how an array count is bounded. */
static bool struct_has_bytes(const kfk__struct_desc *s, int16_t v, bool flex)
{
    if (flex)
        return true;
    for (uint16_t i = 0; i < s->nfields; i++)
        if (in_range(v, s->fields[i].v_min, s->fields[i].v_max))
            return true;
    return false;
}

static int dec_scalar(ctx *c, kfk__rbuf *r, uint8_t type, const kfk__field *f,
                      int16_t v, bool flex, void *dst);

static int dec_array(ctx *c, kfk__rbuf *r, const kfk__field *f, int16_t v,
                     bool flex, void *dst)
{
    const uint8_t *at = r->p;
    int32_t n;
    int err = rd_len(r, flex, true, &n);
    if (err)
        return fail(c, err, at);
    if ((err = check_len(c, r, at, n < 0 ? n : 0, in_range(v, f->null_min, f->null_max))))
        return err;
    kfk__array a = {NULL, n};
    if (n > 0) {
        bool sized = f->elem != KFK__T_STRUCT || struct_has_bytes(f->sub, v, flex);
        if (sized && (size_t)n > kfk__rbuf_left(r))
            return fail(c, KFK_ERR__TRUNCATED, at);
        size_t esize = f->elem == KFK__T_STRUCT ? f->sub->size : f->elem_size;
        if ((size_t)n > c->arena->cap / esize)
            return fail(c, KFK_ERR__TOO_LARGE, at);
        a.v = kfk__arena_alloc(c->arena, (size_t)n * esize);
        if (!a.v)
            return alloc_fail(c, c->arena, (size_t)n * esize, at);
        for (int32_t i = 0; i < n; i++) {
            c->index[c->depth - 1] = i;
            void *e = (char *)a.v + (size_t)i * esize;
            if (f->elem == KFK__T_STRUCT) {
                kfk__struct_init(f->sub, e);
                err = dec_struct(c, r, f->sub, v, flex, e);
            } else {
                err = dec_scalar(c, r, f->elem, f, v, flex, e);
            }
            if (err)
                return err;
        }
        c->index[c->depth - 1] = -1;
    }
    memcpy(dst, &a, sizeof(a));
    return 0;
}

static int dec_scalar(ctx *c, kfk__rbuf *r, uint8_t type, const kfk__field *f,
                      int16_t v, bool flex, void *dst)
{
    const uint8_t *at = r->p;
    /* The field's nullability is the array's, never its elements'. */
    bool nullable = type == f->type && in_range(v, f->null_min, f->null_max);
    int err = 0;
    switch (type) {
    case KFK__T_BOOL: {
        int8_t b;
        if (!(err = kfk__rd_i8(r, &b)))
            *(bool *)dst = b != 0;
        break;
    }
    case KFK__T_INT8:
        err = kfk__rd_i8(r, dst);
        break;
    case KFK__T_INT16:
        err = kfk__rd_i16(r, dst);
        break;
    case KFK__T_UINT16:
        err = kfk__rd_i16(r, dst);
        break;
    case KFK__T_INT32:
        err = kfk__rd_i32(r, dst);
        break;
    case KFK__T_INT64:
        err = kfk__rd_i64(r, dst);
        break;
    case KFK__T_FLOAT64: {
        int64_t bits;
        if (!(err = kfk__rd_i64(r, &bits)))
            memcpy(dst, &bits, sizeof(double));
        break;
    }
    case KFK__T_UUID: {
        const uint8_t *p;
        if (!(err = kfk__rd_bytes(r, 16, &p)))
            memcpy(dst, p, 16);
        break;
    }
    case KFK__T_STRING:
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        int32_t len;
        bool compact = flex && !(f->flags & KFK__F_NOT_FLEXIBLE);
        if ((err = rd_len(r, compact, type != KFK__T_STRING, &len)))
            break;
        if ((err = check_len(c, r, at, len, nullable)))
            return err;
        const uint8_t *p = r->p;
        if (len > 0)
            r->p += len;
        if (type == KFK__T_STRING) {
            kfk__str s = {len < 0 ? NULL : (const char *)p, len};
            *(kfk__str *)dst = s;
        } else {
            kfk__bytes b = {len < 0 ? NULL : p, len};
            *(kfk__bytes *)dst = b;
        }
        break;
    }
    case KFK__T_STRUCT: {
        void *obj = dst;
        if (f->flags & KFK__F_STRUCT_PTR) {
            int8_t present;
            if ((err = kfk__rd_i8(r, &present)))
                break;
            if (present < 0) {
                if (!nullable)
                    return fail(c, KFK_ERR__MALFORMED, at);
                *(void **)dst = NULL;
                return 0;
            }
            obj = kfk__arena_alloc(c->arena, f->sub->size);
            if (!obj)
                return alloc_fail(c, c->arena, f->sub->size, at);
            *(void **)dst = obj;
        }
        kfk__struct_init(f->sub, obj);
        return dec_struct(c, r, f->sub, v, flex, obj);
    }
    case KFK__T_ARRAY:
        return dec_array(c, r, f, v, flex, dst);
    }
    return err ? fail(c, err, at) : 0;
}

static int dec_field(ctx *c, kfk__rbuf *r, const kfk__field *f, int16_t v,
                     bool flex, void *obj)
{
    if (push(c, f->name))
        return fail(c, KFK_ERR__MALFORMED, r->p);
    int err = dec_scalar(c, r, f->type, f, v, flex, (char *)obj + f->offset);
    c->depth--;
    return err;
}

static const kfk__field *find_tag(const kfk__struct_desc *s, int16_t v, uint32_t tag)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kfk__field *f = &s->fields[i];
        if (f->tag == tag && in_range(v, f->tag_min, f->tag_max) &&
            in_range(v, f->v_min, f->v_max))
            return f;
    }
    return NULL;
}

static int dec_tags(ctx *c, kfk__rbuf *r, const kfk__struct_desc *s,
                    int16_t v, void *obj)
{
    const uint8_t *at = r->p;
    uint32_t count;
    int err = kfk__rd_uvarint(r, &count);
    if (err)
        return fail(c, err, at);
    if (count == 0)
        return 0;
    /* Each tagged field takes at least two bytes (tag, size). */
    if (count > kfk__rbuf_left(r) / 2)
        return fail(c, KFK_ERR__TRUNCATED, at);
    kfk__raw_tags *unknown = (kfk__raw_tags *)((char *)obj + s->tags_offset);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t tag, size;
        at = r->p;
        if ((err = kfk__rd_uvarint(r, &tag)) || (err = kfk__rd_uvarint(r, &size)))
            return fail(c, err, at);
        if (size > kfk__rbuf_left(r))
            return fail(c, KFK_ERR__TRUNCATED, at);
        kfk__rbuf sub = {r->start, r->p, r->p + size};
        r->p += size;
        const kfk__field *f = find_tag(s, v, tag);
        if (f) {
            if ((err = dec_field(c, &sub, f, v, true, obj)))
                return err;
            continue;
        }
        if (!unknown->v) {
            unknown->v = kfk__arena_alloc(c->arena, count * sizeof(kfk__raw_tag));
            if (!unknown->v)
                return alloc_fail(c, c->arena, count * sizeof(kfk__raw_tag), at);
        }
        kfk__raw_tag *t = &unknown->v[unknown->n++];
        t->tag = tag;
        t->data.ptr = sub.p;
        t->data.len = (int32_t)size;
    }
    return 0;
}

static int dec_struct(ctx *c, kfk__rbuf *r, const kfk__struct_desc *s,
                      int16_t v, bool flex, void *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kfk__field *f = &s->fields[i];
        if (!in_range(v, f->v_min, f->v_max))
            continue;
        if (flex && in_range(v, f->tag_min, f->tag_max))
            continue;
        int err = dec_field(c, r, f, v, flex, obj);
        if (err)
            return err;
    }
    return flex ? dec_tags(c, r, s, v, obj) : 0;
}

static bool is_flexible(const kfk__msg_desc *d, int16_t v)
{
    return v >= d->flex_min;
}

int kfk__decode(const kfk__msg_desc *d, int16_t version, const uint8_t *buf,
                size_t len, kfk__arena *arena, void **out, size_t *consumed,
                kfk__codec_err *err)
{
    ctx c = {.arena = arena, .err = err, .start = buf};
    if (err)
        memset(err, 0, sizeof(*err));
    *out = NULL;
    if (!in_range(version, d->min_ver, d->max_ver))
        return fail(&c, KFK_ERR__UNSUPPORTED_VERSION, buf);
    void *obj = kfk__arena_alloc(arena, d->body->size);
    if (!obj)
        return alloc_fail(&c, arena, d->body->size, buf);
    kfk__struct_init(d->body, obj);
    kfk__rbuf r;
    kfk__rbuf_init(&r, buf, len);
    int e = dec_struct(&c, &r, d->body, version, is_flexible(d, version), obj);
    if (e)
        return e;
    if (consumed)
        *consumed = kfk__rbuf_offset(&r);
    else if (kfk__rbuf_left(&r))
        return fail(&c, KFK_ERR__MALFORMED, r.p);
    *out = obj;
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static int enc_struct(ctx *c, kfk__wbuf *w, const kfk__struct_desc *s,
                      int16_t v, bool flex, const void *obj);
static int enc_value(ctx *c, kfk__wbuf *w, uint8_t type, const kfk__field *f,
                     int16_t v, bool flex, const void *src);

static int wr_len(kfk__wbuf *w, bool compact, bool wide, int32_t len)
{
    if (compact)
        kfk__wr_uvarint(w, (uint64_t)((int64_t)len + 1));
    else if (wide)
        kfk__wr_i32(w, len);
    else
        kfk__wr_i16(w, (int16_t)len);
    return 0;
}

static int enc_array(ctx *c, kfk__wbuf *w, const kfk__field *f, int16_t v,
                     bool flex, const void *src)
{
    kfk__array a;
    memcpy(&a, src, sizeof(a));
    if (a.n < -1 || (a.n > 0 && !a.v))
        return fail(c, KFK_ERR__INVALID_ARG, NULL);
    if (a.n == -1 && !in_range(v, f->null_min, f->null_max))
        return fail(c, KFK_ERR__NOT_ENCODABLE, NULL);
    wr_len(w, flex, true, a.n);
    size_t esize = f->elem == KFK__T_STRUCT ? f->sub->size : f->elem_size;
    for (int32_t i = 0; i < a.n; i++) {
        c->index[c->depth - 1] = i;
        const void *e = (const char *)a.v + (size_t)i * esize;
        int err = f->elem == KFK__T_STRUCT ? enc_struct(c, w, f->sub, v, flex, e)
                                           : enc_value(c, w, f->elem, f, v, flex, e);
        if (err)
            return err;
    }
    c->index[c->depth - 1] = -1;
    return 0;
}

static int enc_value(ctx *c, kfk__wbuf *w, uint8_t type, const kfk__field *f,
                     int16_t v, bool flex, const void *src)
{
    bool nullable = type == f->type && in_range(v, f->null_min, f->null_max);
    switch (type) {
    case KFK__T_BOOL:
        kfk__wr_i8(w, *(const bool *)src ? 1 : 0);
        break;
    case KFK__T_INT8:
        kfk__wr_i8(w, *(const int8_t *)src);
        break;
    case KFK__T_INT16:
        kfk__wr_i16(w, *(const int16_t *)src);
        break;
    case KFK__T_UINT16:
        kfk__wr_i16(w, (int16_t) * (const uint16_t *)src);
        break;
    case KFK__T_INT32:
        kfk__wr_i32(w, *(const int32_t *)src);
        break;
    case KFK__T_INT64:
        kfk__wr_i64(w, *(const int64_t *)src);
        break;
    case KFK__T_FLOAT64: {
        int64_t bits;
        memcpy(&bits, src, sizeof(bits));
        kfk__wr_i64(w, bits);
        break;
    }
    case KFK__T_UUID:
        kfk__wr_raw(w, src, 16);
        break;
    case KFK__T_STRING:
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        /* kfk__str and kfk__bytes share one layout. */
        const kfk__bytes *b = src;
        bool compact = flex && !(f->flags & KFK__F_NOT_FLEXIBLE);
        bool wide = type != KFK__T_STRING;
        if (b->len < -1 || (b->len > 0 && !b->ptr))
            return fail(c, KFK_ERR__INVALID_ARG, NULL);
        if ((b->len == -1 && !nullable) || (!compact && !wide && b->len > INT16_MAX))
            return fail(c, KFK_ERR__NOT_ENCODABLE, NULL);
        wr_len(w, compact, wide, b->len);
        if (b->len > 0)
            kfk__wr_raw(w, b->ptr, (size_t)b->len);
        break;
    }
    case KFK__T_STRUCT: {
        const void *obj = src;
        if (f->flags & KFK__F_STRUCT_PTR) {
            obj = *(const void *const *)src;
            if (!obj) {
                if (!nullable)
                    return fail(c, KFK_ERR__NOT_ENCODABLE, NULL);
                kfk__wr_i8(w, -1);
                break;
            }
            kfk__wr_i8(w, 1);
        }
        return enc_struct(c, w, f->sub, v, flex, obj);
    }
    case KFK__T_ARRAY:
        return enc_array(c, w, f, v, flex, src);
    }
    return 0;
}

static int enc_field(ctx *c, kfk__wbuf *w, const kfk__field *f, int16_t v,
                     bool flex, const void *obj)
{
    if (push(c, f->name))
        return fail(c, KFK_ERR__INVALID_ARG, NULL);
    int err = enc_value(c, w, f->type, f, v, flex, (const char *)obj + f->offset);
    c->depth--;
    return err;
}

/* Writes a tagged field's value preceded by its size: encode in place, then
 * slide it right by the size varint's length. */
static int enc_tagged(ctx *c, kfk__wbuf *w, const kfk__field *f, int16_t v,
                      const void *obj)
{
    kfk__wr_uvarint(w, f->tag);
    size_t start = w->len;
    int err = enc_field(c, w, f, v, true, obj);
    if (err || kfk__wbuf_err(w))
        return err;
    size_t n = w->len - start;
    uint8_t tmp[10];
    size_t k = kfk__uvarlong_enc(tmp, n);
    if (!kfk__wr_space(w, k))
        return 0;
    memmove(w->data + start + k, w->data + start, n);
    memcpy(w->data + start, tmp, k);
    return 0;
}

static int enc_tags(ctx *c, kfk__wbuf *w, const kfk__struct_desc *s,
                    int16_t v, const void *obj)
{
    const kfk__field *known[64];
    size_t nk = 0;
    for (uint16_t i = 0; i < s->nfields && nk < 64; i++) {
        const kfk__field *f = &s->fields[i];
        if (!in_range(v, f->v_min, f->v_max) || !in_range(v, f->tag_min, f->tag_max))
            continue;
        if (field_is_default(f, (const char *)obj + f->offset))
            continue;
        size_t j = nk++;
        while (j > 0 && known[j - 1]->tag > f->tag) {
            known[j] = known[j - 1];
            j--;
        }
        known[j] = f;
    }
    const kfk__raw_tags *unknown = (const kfk__raw_tags *)((const char *)obj + s->tags_offset);
    int32_t nu = unknown->n > 0 ? unknown->n : 0;
    if (nu && !unknown->v)
        return fail(c, KFK_ERR__INVALID_ARG, NULL);
    kfk__wr_uvarint(w, nk + (size_t)nu);
    size_t ik = 0;
    int32_t iu = 0;
    while (ik < nk || iu < nu) {
        if (iu >= nu || (ik < nk && known[ik]->tag < unknown->v[iu].tag)) {
            int err = enc_tagged(c, w, known[ik++], v, obj);
            if (err)
                return err;
        } else {
            const kfk__raw_tag *t = &unknown->v[iu++];
            if (t->data.len < 0 || (t->data.len > 0 && !t->data.ptr))
                return fail(c, KFK_ERR__INVALID_ARG, NULL);
            kfk__wr_uvarint(w, t->tag);
            kfk__wr_uvarint(w, (uint64_t)t->data.len);
            kfk__wr_raw(w, t->data.ptr, (size_t)t->data.len);
        }
    }
    return 0;
}

static int enc_struct(ctx *c, kfk__wbuf *w, const kfk__struct_desc *s,
                      int16_t v, bool flex, const void *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kfk__field *f = &s->fields[i];
        int err;
        if (!in_range(v, f->v_min, f->v_max)) {
            if ((f->flags & KFK__F_IGNORABLE) ||
                field_is_default(f, (const char *)obj + f->offset))
                continue;
            if (push(c, f->name))
                return fail(c, KFK_ERR__INVALID_ARG, NULL);
            err = fail(c, KFK_ERR__NOT_ENCODABLE, NULL);
            c->depth--;
            return err;
        }
        if (flex && in_range(v, f->tag_min, f->tag_max))
            continue;
        if ((err = enc_field(c, w, f, v, flex, obj)))
            return err;
    }
    return flex ? enc_tags(c, w, s, v, obj) : 0;
}

int kfk__encode(const kfk__msg_desc *d, int16_t version, const void *msg,
                kfk__wbuf *w, kfk__codec_err *err)
{
    ctx c = {.err = err};
    if (err)
        memset(err, 0, sizeof(*err));
    if (!in_range(version, d->min_ver, d->max_ver))
        return fail(&c, KFK_ERR__UNSUPPORTED_VERSION, NULL);
    int e = enc_struct(&c, w, d->body, version, is_flexible(d, version), msg);
    if (!e && kfk__wbuf_err(w))
        e = fail(&c, kfk__wbuf_err(w), NULL);
    return e;
}

/* ---- catalogue, headers, framing ---------------------------------------- */

const kfk__api_desc *kfk__api_get(int16_t api_key)
{
    size_t n;
    const kfk__api_desc *apis = kfk__api_list(&n);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (apis[mid].key == api_key)
            return &apis[mid];
        if (apis[mid].key < api_key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int16_t kfk__request_header_version(int16_t api_key, int16_t api_version)
{
    const kfk__api_desc *api = kfk__api_get(api_key);
    if (api_key == 7 && api_version == 0) /* ControlledShutdown v0 */
        return 0;
    return api && api_version >= api->request->flex_min ? 2 : 1;
}

int16_t kfk__response_header_version(int16_t api_key, int16_t api_version)
{
    const kfk__api_desc *api = kfk__api_get(api_key);
    if (api_key == 18) /* ApiVersions: always v0 so anyone can read it */
        return 0;
    return api && api_version >= api->response->flex_min ? 1 : 0;
}

/* Appends int32 size + header + body, patching the size at the end. */
static int encode_framed(kfk__wbuf *w, const kfk__msg_desc *hdesc, int16_t hver,
                         const void *hdr, const kfk__msg_desc *bdesc,
                         int16_t bver, const void *body, kfk__codec_err *err)
{
    size_t start = w->len;
    kfk__wr_i32(w, 0);
    int e = kfk__encode(hdesc, hver, hdr, w, err);
    if (!e)
        e = kfk__encode(bdesc, bver, body, w, err);
    if (e)
        return e;
    size_t n = w->len - start - 4;
    if (n > INT32_MAX)
        return KFK_ERR__TOO_LARGE;
    kfk__store_be32(w->data + start, (uint32_t)n);
    return 0;
}

int kfk__encode_request(kfk__wbuf *w, int16_t api_key, int16_t api_version,
                        int32_t correlation_id, const char *client_id,
                        const void *body, kfk__codec_err *err)
{
    const kfk__api_desc *api = kfk__api_get(api_key);
    if (!api) {
        if (err) {
            memset(err, 0, sizeof(*err));
            err->code = KFK_ERR__UNSUPPORTED_VERSION;
        }
        return KFK_ERR__UNSUPPORTED_VERSION;
    }
    kfk__request_header h;
    kfk__msg_init(&kfk__desc_request_header, &h);
    h.request_api_key = api_key;
    h.request_api_version = api_version;
    h.correlation_id = correlation_id;
    h.client_id = kfk__str_c(client_id);
    return encode_framed(w, &kfk__desc_request_header,
                         kfk__request_header_version(api_key, api_version), &h,
                         api->request, api_version, body, err);
}

int kfk__encode_response(kfk__wbuf *w, int16_t api_key, int16_t api_version,
                         int32_t correlation_id, const void *body,
                         kfk__codec_err *err)
{
    const kfk__api_desc *api = kfk__api_get(api_key);
    if (!api) {
        if (err) {
            memset(err, 0, sizeof(*err));
            err->code = KFK_ERR__UNSUPPORTED_VERSION;
        }
        return KFK_ERR__UNSUPPORTED_VERSION;
    }
    kfk__response_header h;
    kfk__msg_init(&kfk__desc_response_header, &h);
    h.correlation_id = correlation_id;
    return encode_framed(w, &kfk__desc_response_header,
                         kfk__response_header_version(api_key, api_version), &h,
                         api->response, api_version, body, err);
}

int kfk__decode_request(const uint8_t *buf, size_t len, kfk__arena *arena,
                        kfk__request_header **hdr, void **body,
                        kfk__codec_err *err)
{
    *hdr = NULL;
    *body = NULL;
    if (len < 4) {
        if (err) {
            memset(err, 0, sizeof(*err));
            err->code = KFK_ERR__TRUNCATED;
        }
        return KFK_ERR__TRUNCATED;
    }
    int16_t key = (int16_t)kfk__load_be16(buf);
    int16_t ver = (int16_t)kfk__load_be16(buf + 2);
    const kfk__api_desc *api = kfk__api_get(key);
    /* An unknown API still gets its header read as v1 (no tags), which is
     * enough to answer with its correlation id. */
    int16_t hver = api ? kfk__request_header_version(key, ver) : 1;
    size_t used;
    void *h;
    int e = kfk__decode(&kfk__desc_request_header, hver, buf, len, arena, &h,
                        &used, err);
    /* A version above what we know: its header version is a guess, and a
     * client probing ApiVersions may send either; v1 is the common part. */
    if (e && hver == 2 && api && ver > api->request->max_ver)
        e = kfk__decode(&kfk__desc_request_header, 1, buf, len, arena, &h,
                        &used, err);
    if (e)
        return e;
    *hdr = h;
    if (!api || ver < api->request->min_ver || ver > api->request->max_ver) {
        if (err)
            err->code = KFK_ERR__UNSUPPORTED_VERSION;
        return KFK_ERR__UNSUPPORTED_VERSION;
    }
    e = kfk__decode(api->request, ver, buf + used, len - used, arena, body,
                    NULL, err);
    if (e && err)
        err->offset += used;
    return e;
}

int kfk__decode_response(int16_t api_key, int16_t api_version,
                         const uint8_t *buf, size_t len, kfk__arena *arena,
                         int32_t *correlation_id, void **body,
                         kfk__codec_err *err)
{
    *body = NULL;
    const kfk__api_desc *api = kfk__api_get(api_key);
    if (!api) {
        if (err) {
            memset(err, 0, sizeof(*err));
            err->code = KFK_ERR__UNSUPPORTED_VERSION;
        }
        return KFK_ERR__UNSUPPORTED_VERSION;
    }
    size_t used;
    void *h;
    int e = kfk__decode(&kfk__desc_response_header,
                        kfk__response_header_version(api_key, api_version), buf,
                        len, arena, &h, &used, err);
    if (e)
        return e;
    *correlation_id = ((kfk__response_header *)h)->correlation_id;
    e = kfk__decode(api->response, api_version, buf + used, len - used, arena,
                    body, NULL, err);
    if (e && err)
        err->offset += used;
    return e;
}
