/*
 * evq.c: a handle's event queue (see evq.h).
 */
#include "client/evq.h"

#include <string.h>

#include <kfk/error.h>

#include "common/alloc.h"
#include "common/thread.h"

int kfk__evq_init(kfk__evq *q, size_t max)
{
    memset(q, 0, sizeof(*q));
    q->max = max ? max : 10000;
    if (pthread_mutex_init(&q->mu, NULL))
        return KFK_ERR__SYSTEM;
    if (kfk__cond_init_mono(&q->cond)) {
        pthread_mutex_destroy(&q->mu);
        return KFK_ERR__SYSTEM;
    }
    return 0;
}

void kfk__evq_destroy(kfk__evq *q)
{
    kfk__event *e = q->head, *next;
    for (; e; e = next) {
        next = e->next;
        kfk__free(e);
    }
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
}

/* Unlinks the oldest statistics event to make room for a newer one. */
static kfk__event *unlink_oldest_stats(kfk__evq *q)
{
    kfk__event *prev = NULL;
    for (kfk__event *e = q->head; e; prev = e, e = e->next) {
        if (e->type != KFK__EV_STATS)
            continue;
        if (prev)
            prev->next = e->next;
        else
            q->head = e->next;
        if (q->tail == e)
            q->tail = prev;
        q->n--;
        return e;
    }
    return NULL;
}

int kfk__evq_push(kfk__evq *q, int type, int level, uint32_t ctx, int err,
                  const char *text, size_t len)
{
    kfk__event *e = kfk__malloc(sizeof(*e) + len + 1);
    if (!e)
        return KFK_ERR__NOMEM;
    e->next = NULL;
    e->type = type;
    e->level = level;
    e->ctx = ctx;
    e->err = err;
    e->len = len;
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    kfk__event *gone = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->n >= q->max) {
        if (type == KFK__EV_LOG) {
            q->dropped++;
            pthread_mutex_unlock(&q->mu);
            kfk__free(e);
            return KFK_ERR__QUEUE_FULL;
        }
        if (type == KFK__EV_STATS)
            gone = unlink_oldest_stats(q);
    }
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->n++;
    q->gen++;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
    kfk__free(gone);
    return 0;
}

kfk__event *kfk__evq_take(kfk__evq *q, uint64_t *dropped)
{
    pthread_mutex_lock(&q->mu);
    kfk__event *e = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    *dropped = q->dropped;
    q->dropped = 0;
    pthread_mutex_unlock(&q->mu);
    return e;
}

void kfk__evq_wake(kfk__evq *q)
{
    pthread_mutex_lock(&q->mu);
    q->gen++;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

uint64_t kfk__evq_gen(kfk__evq *q)
{
    pthread_mutex_lock(&q->mu);
    uint64_t g = q->gen;
    pthread_mutex_unlock(&q->mu);
    return g;
}

void kfk__evq_wait(kfk__evq *q, uint64_t gen, int64_t deadline_ms)
{
    pthread_mutex_lock(&q->mu);
    while (q->gen == gen)
        if (kfk__cond_wait_until(&q->cond, &q->mu, deadline_ms) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&q->mu);
}
