/*
 * buf.c: the growing half of the write cursor (see buf.h); the hot inline
 * paths live in the header.
 */
#include "proto/buf.h"

#include "common/alloc.h"

void kfk__wbuf_init(kfk__wbuf *w, size_t max)
{
    w->data = NULL;
    w->len = w->cap = 0;
    w->max = max ? max : KFK__WBUF_DEFAULT_MAX;
    w->err = 0;
}

void kfk__wbuf_free(kfk__wbuf *w)
{
    if (!w)
        return;
    kfk__free(w->data);
    w->data = NULL;
    w->len = w->cap = 0;
    w->err = 0;
}

void kfk__wbuf_reset(kfk__wbuf *w)
{
    w->len = 0;
    w->err = 0;
}

int kfk__wbuf_reserve(kfk__wbuf *w, size_t n)
{
    if (w->err)
        return w->err;
    if (w->cap - w->len >= n)
        return 0;
    if (n > w->max - w->len) {
        w->err = KFK_ERR__TOO_LARGE;
        return w->err;
    }
    size_t want = w->len + n;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < want)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    if (cap > w->max)
        cap = w->max; /* never past the maximum, even at the start */
    uint8_t *d = kfk__realloc(w->data, cap);
    if (!d) {
        w->err = KFK_ERR__NOMEM;
        return w->err;
    }
    w->data = d;
    w->cap = cap;
    return 0;
}

uint8_t *kfk__wbuf_take(kfk__wbuf *w, size_t *len)
{
    if (w->err) {
        *len = 0;
        return NULL;
    }
    uint8_t *d = w->data;
    *len = w->len;
    w->data = NULL;
    w->len = w->cap = 0;
    return d;
}
