/*
 * alloc.h: every allocation in libkfk goes through these four functions so
 * that tests can make the Nth allocation fail (see kfk__alloc_fail_after)
 * and check that each failure path frees what it took and reports NOMEM.
 */
#ifndef KFK_COMMON_ALLOC_H
#define KFK_COMMON_ALLOC_H

#include <stddef.h>

void *kfk__malloc(size_t n);
void *kfk__calloc(size_t nmemb, size_t size);
void *kfk__realloc(void *p, size_t n);
void kfk__free(void *p);
char *kfk__strndup(const char *s, size_t n);

/* Test hook: the allocation after n more succeed fails; n < 0 disables.
 * Not thread-safe; only tests call it. */
void kfk__alloc_fail_after(long n);

#endif
