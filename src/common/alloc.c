/*
 * alloc.c: the single allocation hook behind libkfk (see alloc.h). The
 * failure counter costs one predictable branch per allocation.
 */
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int should_fail(void)
{
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void kfk__alloc_fail_after(long n)
{
    fail_after = n;
}

void *kfk__malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *kfk__calloc(size_t nmemb, size_t size)
{
    return should_fail() ? NULL : calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *kfk__realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void kfk__free(void *p)
{
    free(p);
}

char *kfk__strndup(const char *s, size_t n)
{
    char *d = kfk__malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
