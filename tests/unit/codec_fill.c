/*
 * codec_fill.c: descriptor-driven test values and deep comparison for the
 * codec tests (see codec_fill.h for why it exists and why it repeats the
 * default rules instead of calling codec.c's).
 */
#include "codec_fill.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 8

uint64_t cf_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t cf_seed(const char *name, int16_t version, unsigned variant)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    h ^= (uint64_t)(uint16_t)version << 32 | variant;
    uint64_t s = h;
    return cf_rand(&s);
}

void cf_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x ", p[i]);
}

/* ---- defaults, independently of codec.c -------------------------------- */

bool cf_field_is_default(const kfk__field *f, const void *obj)
{
    const char *p = (const char *)obj + f->offset;
    switch (f->type) {
    case KFK__T_BOOL:
        return *(const bool *)p == (f->def_int != 0);
    case KFK__T_INT8:
        return *(const int8_t *)p == (int8_t)f->def_int;
    case KFK__T_INT16:
        return *(const int16_t *)p == (int16_t)f->def_int;
    case KFK__T_UINT16:
        return *(const uint16_t *)p == (uint16_t)f->def_int;
    case KFK__T_INT32:
        return *(const int32_t *)p == (int32_t)f->def_int;
    case KFK__T_INT64:
        return *(const int64_t *)p == f->def_int;
    case KFK__T_FLOAT64:
        return *(const double *)p == f->def_float;
    case KFK__T_UUID: {
        for (int i = 0; i < 16; i++)
            if (((const kfk__uuid *)p)->b[i])
                return false;
        return true;
    }
    case KFK__T_STRING: {
        const kfk__str *s = (const kfk__str *)p;
        if (f->flags & KFK__F_NULL_DEFAULT)
            return s->len == -1;
        size_t n = f->def_str ? strlen(f->def_str) : 0;
        return s->len >= 0 && (size_t)s->len == n &&
               (n == 0 || memcmp(s->ptr, f->def_str, n) == 0);
    }
    case KFK__T_BYTES:
    case KFK__T_RECORDS:
        return ((const kfk__bytes *)p)->len ==
               ((f->flags & KFK__F_NULL_DEFAULT) ? -1 : 0);
    case KFK__T_STRUCT:
        if (f->flags & KFK__F_STRUCT_PTR)
            return *(void *const *)p == NULL;
        for (uint16_t i = 0; i < f->sub->nfields; i++)
            if (!cf_field_is_default(&f->sub->fields[i], p))
                return false;
        return true;
    case KFK__T_ARRAY: {
        const kfk__array *arr = (const kfk__array *)p;
        return arr->n == ((f->flags & KFK__F_NULL_DEFAULT) ? -1 : 0);
    }
    }
    return true;
}

bool cf_tag_known(const kfk__struct_desc *s, uint32_t tag)
{
    for (uint16_t i = 0; i < s->nfields; i++)
        if (s->fields[i].tag_min <= s->fields[i].tag_max && s->fields[i].tag == tag)
            return true;
    return false;
}

/* ---- filling ----------------------------------------------------------- */

static void *alloc(kfk__arena *a, size_t n)
{
    return kfk__arena_alloc(a, n ? n : 1);
}

static int32_t pick_len(uint64_t *rng)
{
    static const int32_t lens[] = {1, 2, 3, 5, 8, 13, 21, 0, 4, 7, 11, 1, 6, 9, 17, 0};
    uint64_t r = cf_rand(rng);
    if (r % 29 == 0)
        return 130 + (int32_t)(r % 200); /* two-byte varint / int16 length */
    return lens[(r >> 8) % (sizeof(lens) / sizeof(lens[0]))];
}

static void fill_chars(uint64_t *rng, kfk__arena *a, int32_t len, const char **out)
{
    char *s = alloc(a, (size_t)len);
    for (int32_t i = 0; s && i < len; i++)
        s[i] = (char)('a' + cf_rand(rng) % 26);
    *out = s;
}

/* A random value of a scalar type; `def` is avoided for numbers. */
static void fill_scalar(uint8_t type, const kfk__field *f, bool use_def,
                        uint64_t *rng, kfk__arena *a, void *dst)
{
    uint64_t r = cf_rand(rng);
    int64_t def = use_def ? f->def_int : INT64_MIN;
    switch (type) {
    case KFK__T_BOOL:
        *(bool *)dst = use_def ? !(f->def_int != 0) : (r & 1);
        break;
    case KFK__T_INT8: {
        int8_t x = (int8_t)r;
        if (x == (int8_t)def)
            x++;
        *(int8_t *)dst = x;
        break;
    }
    case KFK__T_INT16: {
        int16_t x = (int16_t)r;
        if (x == (int16_t)def)
            x++;
        *(int16_t *)dst = x;
        break;
    }
    case KFK__T_UINT16: {
        uint16_t x = (uint16_t)r;
        if (x == (uint16_t)def)
            x++;
        *(uint16_t *)dst = x;
        break;
    }
    case KFK__T_INT32: {
        /* Mix small and full-width values. */
        int32_t x = (r & 0x100000000ULL) ? (int32_t)(r % 1000) - 1 : (int32_t)r;
        if (x == (int32_t)def)
            x++;
        *(int32_t *)dst = x;
        break;
    }
    case KFK__T_INT64: {
        int64_t x = (r & 1) ? (int64_t)(r >> 1) * ((r & 2) ? -1 : 1)
                            : (int64_t)(r % 100000);
        if (x == def)
            x++;
        *(int64_t *)dst = x;
        break;
    }
    case KFK__T_FLOAT64: {
        double x = (double)(int64_t)(r % 2000000) / 8.0 - 1000.0;
        if (use_def && x == f->def_float)
            x += 0.5;
        *(double *)dst = x;
        break;
    }
    case KFK__T_UUID: {
        kfk__uuid *u = dst;
        for (int i = 0; i < 16; i++)
            u->b[i] = (uint8_t)cf_rand(rng);
        u->b[0] |= 1;
        break;
    }
    case KFK__T_STRING: {
        kfk__str *s = dst;
        s->len = pick_len(rng);
        fill_chars(rng, a, s->len, &s->ptr);
        break;
    }
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        kfk__bytes *b = dst;
        b->len = pick_len(rng);
        uint8_t *p = alloc(a, (size_t)b->len);
        for (int32_t i = 0; p && i < b->len; i++)
            p[i] = (uint8_t)cf_rand(rng);
        b->ptr = p;
        break;
    }
    default:
        break;
    }
}

static void fill_unknown_tags(const kfk__struct_desc *s, uint64_t *rng,
                              kfk__arena *a, void *obj)
{
    kfk__raw_tags *t = (kfk__raw_tags *)((char *)obj + s->tags_offset);
    int32_t n = 1 + (int32_t)(cf_rand(rng) % 2);
    t->v = alloc(a, (size_t)n * sizeof(kfk__raw_tag));
    if (!t->v)
        return;
    uint32_t tag = 40 + (uint32_t)(cf_rand(rng) % 60);
    for (int32_t i = 0; i < n; i++) {
        while (cf_tag_known(s, tag))
            tag++;
        kfk__raw_tag *rt = &t->v[t->n++];
        rt->tag = tag;
        rt->data.len = (int32_t)(cf_rand(rng) % 6);
        uint8_t *p = alloc(a, (size_t)rt->data.len);
        for (int32_t k = 0; p && k < rt->data.len; k++)
            p[k] = (uint8_t)cf_rand(rng);
        rt->data.ptr = p;
        tag += 1 + (uint32_t)(cf_rand(rng) % 300); /* sometimes 2-byte tags */
    }
}

static void fill_field(const kfk__field *f, int16_t v, bool flex, uint64_t *rng,
                       unsigned flags, int depth, kfk__arena *a, void *obj)
{
    void *dst = (char *)obj + f->offset;
    bool nullable = cf_in(v, f->null_min, f->null_max);
    bool make_null = nullable && (flags & CF_NULLS) && cf_rand(rng) % 4 == 0;
    switch (f->type) {
    case KFK__T_STRING:
        if (make_null)
            *(kfk__str *)dst = KFK__STR_NULL;
        else
            fill_scalar(f->type, f, true, rng, a, dst);
        break;
    case KFK__T_BYTES:
    case KFK__T_RECORDS:
        if (make_null) {
            kfk__bytes b = {NULL, -1};
            *(kfk__bytes *)dst = b;
        } else {
            fill_scalar(f->type, f, true, rng, a, dst);
        }
        break;
    case KFK__T_STRUCT: {
        void *sub = dst;
        if (f->flags & KFK__F_STRUCT_PTR) {
            if (make_null) {
                *(void **)dst = NULL;
                break;
            }
            sub = alloc(a, f->sub->size);
            if (!sub)
                break;
            kfk__struct_init(f->sub, sub);
            *(void **)dst = sub;
        }
        cf_fill_struct(f->sub, v, flex, rng, flags, depth + 1, a, sub);
        break;
    }
    case KFK__T_ARRAY: {
        kfk__array arr = {NULL, 0};
        if (make_null) {
            arr.n = -1;
        } else if (depth < MAX_DEPTH) {
            arr.n = (int32_t)(cf_rand(rng) % ((flags & CF_SMALL) ? 2 : 4));
            size_t es = f->elem == KFK__T_STRUCT ? f->sub->size : f->elem_size;
            arr.v = alloc(a, (size_t)arr.n * es);
            if (!arr.v)
                arr.n = 0;
            for (int32_t i = 0; i < arr.n; i++) {
                void *e = (char *)arr.v + (size_t)i * es;
                if (f->elem == KFK__T_STRUCT) {
                    kfk__struct_init(f->sub, e);
                    cf_fill_struct(f->sub, v, flex, rng, flags, depth + 1, a, e);
                } else {
                    fill_scalar(f->elem, f, false, rng, a, e);
                }
            }
        }
        memcpy(dst, &arr, sizeof(arr));
        break;
    }
    default:
        fill_scalar(f->type, f, true, rng, a, dst);
        break;
    }
}

void cf_fill_struct(const kfk__struct_desc *s, int16_t version, bool flex,
                    uint64_t *rng, unsigned flags, int depth, kfk__arena *a,
                    void *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kfk__field *f = &s->fields[i];
        if (cf_in(version, f->v_min, f->v_max))
            fill_field(f, version, flex, rng, flags, depth, a, obj);
    }
    if (flex && (flags & CF_UNKNOWN_TAGS) && cf_rand(rng) % 3 == 0)
        fill_unknown_tags(s, rng, a, obj);
}

void *cf_fill(const kfk__msg_desc *d, int16_t version, uint64_t seed,
              unsigned flags, kfk__arena *a)
{
    void *msg = alloc(a, d->body->size);
    if (!msg)
        return NULL;
    kfk__msg_init(d, msg);
    uint64_t rng = seed;
    cf_fill_struct(d->body, version, version >= d->flex_min, &rng, flags, 0, a, msg);
    return msg;
}

void cf_set_non_default(const kfk__field *f, int16_t fill_version,
                        uint64_t *rng, kfk__arena *a, void *obj)
{
    void *dst = (char *)obj + f->offset;
    switch (f->type) {
    case KFK__T_STRING:
        *(kfk__str *)dst = KFK__STR("not-the-default");
        break;
    case KFK__T_BYTES:
    case KFK__T_RECORDS: {
        static const uint8_t three[3] = {1, 2, 3};
        kfk__bytes b = {three, 3};
        *(kfk__bytes *)dst = b;
        break;
    }
    case KFK__T_STRUCT: {
        void *sub = dst;
        if (f->flags & KFK__F_STRUCT_PTR) {
            sub = alloc(a, f->sub->size);
            kfk__struct_init(f->sub, sub);
            *(void **)dst = sub;
            break;
        }
        cf_fill_struct(f->sub, fill_version, false, rng, 0, 1, a, sub);
        break;
    }
    case KFK__T_ARRAY: {
        size_t es = f->elem == KFK__T_STRUCT ? f->sub->size : f->elem_size;
        kfk__array arr = {alloc(a, es), 1};
        if (f->elem == KFK__T_STRUCT)
            kfk__struct_init(f->sub, arr.v);
        else
            fill_scalar(f->elem, f, false, rng, a, arr.v);
        memcpy(dst, &arr, sizeof(arr));
        break;
    }
    default:
        fill_scalar(f->type, f, true, rng, a, dst);
        break;
    }
}

int cf_encode_filled(const kfk__msg_desc *d, int16_t version, uint64_t seed,
                     unsigned flags, kfk__wbuf *w)
{
    kfk__arena a;
    kfk__arena_init(&a, 0);
    kfk__wbuf_reset(w);
    void *msg = cf_fill(d, version, seed, flags, &a);
    int err = msg ? kfk__encode(d, version, msg, w, NULL) : KFK_ERR__NOMEM;
    kfk__arena_free(&a);
    return err;
}

/* ---- comparison -------------------------------------------------------- */

typedef struct path {
    char *buf;
    size_t cap;
} path;

static bool differ(path *p, const char *prefix, const char *name, int32_t idx)
{
    if (p->buf && p->cap) {
        if (idx >= 0)
            snprintf(p->buf, p->cap, "%s%s%s[%d]", prefix, *prefix ? "." : "", name, (int)idx);
        else
            snprintf(p->buf, p->cap, "%s%s%s", prefix, *prefix ? "." : "", name);
    }
    return false;
}

static bool eq_struct(const kfk__struct_desc *s, const void *a, const void *b,
                      path *p, const char *prefix);

static bool eq_slice(const kfk__bytes *x, const kfk__bytes *y)
{
    if (x->len != y->len)
        return false;
    return x->len <= 0 || memcmp(x->ptr, y->ptr, (size_t)x->len) == 0;
}

static bool eq_scalar(uint8_t type, const void *x, const void *y)
{
    switch (type) {
    case KFK__T_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case KFK__T_INT8:
        return *(const int8_t *)x == *(const int8_t *)y;
    case KFK__T_INT16:
    case KFK__T_UINT16:
        return *(const int16_t *)x == *(const int16_t *)y;
    case KFK__T_INT32:
        return *(const int32_t *)x == *(const int32_t *)y;
    case KFK__T_INT64:
    case KFK__T_FLOAT64: /* bit patterns, so NaNs compare too */
        return memcmp(x, y, 8) == 0;
    case KFK__T_UUID:
        return memcmp(x, y, 16) == 0;
    case KFK__T_STRING:
    case KFK__T_BYTES:
    case KFK__T_RECORDS:
        return eq_slice(x, y);
    }
    return false;
}

static bool eq_field(const kfk__field *f, const void *x, const void *y, path *p,
                     const char *prefix)
{
    char here[512];
    switch (f->type) {
    case KFK__T_STRUCT: {
        if (f->flags & KFK__F_STRUCT_PTR) {
            x = *(void *const *)x;
            y = *(void *const *)y;
            if (!x || !y) {
                if (x == y)
                    return true;
                return differ(p, prefix, f->name, -1);
            }
        }
        snprintf(here, sizeof(here), "%s%s%s", prefix, *prefix ? "." : "", f->name);
        return eq_struct(f->sub, x, y, p, here);
    }
    case KFK__T_ARRAY: {
        kfk__array ax, ay;
        memcpy(&ax, x, sizeof(ax));
        memcpy(&ay, y, sizeof(ay));
        if (ax.n != ay.n)
            return differ(p, prefix, f->name, -1);
        size_t es = f->elem == KFK__T_STRUCT ? f->sub->size : f->elem_size;
        for (int32_t i = 0; i < ax.n; i++) {
            const char *ex = (const char *)ax.v + (size_t)i * es;
            const char *ey = (const char *)ay.v + (size_t)i * es;
            if (f->elem == KFK__T_STRUCT) {
                snprintf(here, sizeof(here), "%s%s%s[%d]", prefix, *prefix ? "." : "",
                         f->name, (int)i);
                if (!eq_struct(f->sub, ex, ey, p, here))
                    return false;
            } else if (!eq_scalar(f->elem, ex, ey)) {
                return differ(p, prefix, f->name, i);
            }
        }
        return true;
    }
    default:
        return eq_scalar(f->type, x, y) ? true : differ(p, prefix, f->name, -1);
    }
}

static bool eq_struct(const kfk__struct_desc *s, const void *a, const void *b,
                      path *p, const char *prefix)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const kfk__field *f = &s->fields[i];
        if (!eq_field(f, (const char *)a + f->offset, (const char *)b + f->offset, p, prefix))
            return false;
    }
    const kfk__raw_tags *ta = (const kfk__raw_tags *)((const char *)a + s->tags_offset);
    const kfk__raw_tags *tb = (const kfk__raw_tags *)((const char *)b + s->tags_offset);
    int32_t na = ta->n > 0 ? ta->n : 0, nb = tb->n > 0 ? tb->n : 0;
    if (na != nb)
        return differ(p, prefix, "<unknown tags>", -1);
    for (int32_t i = 0; i < na; i++)
        if (ta->v[i].tag != tb->v[i].tag || !eq_slice(&ta->v[i].data, &tb->v[i].data))
            return differ(p, prefix, "<unknown tag>", i);
    return true;
}

bool cf_equal(const kfk__struct_desc *s, const void *a, const void *b,
              char *where, size_t cap)
{
    path p = {where, cap};
    if (where && cap)
        where[0] = '\0';
    return eq_struct(s, a, b, &p, "");
}
