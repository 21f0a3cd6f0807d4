/*
 * arena.h: a bump allocator for decoded messages. A decoded message is a
 * tree of arrays and structs that all die together; one arena makes that
 * one free, and makes every decoder error path leak-free by construction.
 * The arena has a hard cap so a hostile length cannot make it allocate
 * without bound.
 */
#ifndef KFK_PROTO_ARENA_H
#define KFK_PROTO_ARENA_H

#include <stddef.h>

typedef struct kfk__arena_chunk kfk__arena_chunk;

typedef struct kfk__arena {
    kfk__arena_chunk *head;
    size_t total; /* bytes handed out so far */
    size_t cap;   /* hard cap on total */
} kfk__arena;

#define KFK__ARENA_DEFAULT_CAP ((size_t)64 << 20)

/* An empty arena that hands out at most cap bytes (0 = default, 64 MiB). */
void kfk__arena_init(kfk__arena *a, size_t cap);
/* n zeroed bytes aligned for any scalar; NULL when out of memory or past
 * the cap (the caller reports KFK_ERR__NOMEM or __TOO_LARGE respectively:
 * kfk__arena_over_cap tells which). */
void *kfk__arena_alloc(kfk__arena *a, size_t n);
int kfk__arena_over_cap(const kfk__arena *a, size_t n);
/* Frees everything the arena handed out; it may be used again. */
void kfk__arena_free(kfk__arena *a);

#endif
