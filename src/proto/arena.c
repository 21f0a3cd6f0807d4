/*
 * arena.c: chunked bump allocation (see arena.h). Chunks double from 1 KiB
 * up to 64 KiB; a larger request gets a chunk of its own.
 */
#include "proto/arena.h"

#include <stdint.h>
#include <string.h>

#include "common/alloc.h"

struct kfk__arena_chunk {
    kfk__arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char mem[];
};

#define CHUNK_MIN 1024
#define CHUNK_MAX (64 * 1024)

void kfk__arena_init(kfk__arena *a, size_t cap)
{
    a->head = NULL;
    a->total = 0;
    a->cap = cap ? cap : KFK__ARENA_DEFAULT_CAP;
}

int kfk__arena_over_cap(const kfk__arena *a, size_t n)
{
    return n > a->cap - a->total;
}

void *kfk__arena_alloc(kfk__arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (kfk__arena_over_cap(a, n))
        return NULL;
    kfk__arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = c ? c->size * 2 : CHUNK_MIN;
        if (size > CHUNK_MAX)
            size = CHUNK_MAX;
        if (size < n)
            size = n;
        kfk__arena_chunk *nc = kfk__malloc(sizeof(*nc) + size);
        if (!nc)
            return NULL;
        nc->size = size;
        nc->used = 0;
        /* A one-off large chunk goes behind the current one so the
         * current chunk's free space is not abandoned. */
        if (c && size == n && c->size - c->used >= 256) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->mem + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

void kfk__arena_free(kfk__arena *a)
{
    if (!a)
        return;
    kfk__arena_chunk *c = a->head;
    while (c) {
        kfk__arena_chunk *next = c->next;
        kfk__free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
