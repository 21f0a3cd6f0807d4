/*
 * log.h: a handle's logger.
 *
 * Lines are filtered where they are made (one compare when off): levels
 * up to log.level pass; debug lines (level 7) pass when their context is
 * in `debug`, whatever log.level says. With a log callback set, lines go
 * to the handle's event queue and the callback sees them in kfk_poll on
 * the application's thread. Without one, warnings and worse (and the
 * debug contexts asked for) are written to stderr at once, from whatever
 * thread made them.
 */
#ifndef KFK_CLIENT_LOG_H
#define KFK_CLIENT_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "client/evq.h"

/* Log contexts: a bit each, as `debug` lists them (client/conf_int.h). */
enum {
    KFK__DEBUG_GENERIC = 1 << 0,
    KFK__DEBUG_BROKER = 1 << 1,   /* connections, ApiVersions, backoff */
    KFK__DEBUG_PROTOCOL = 1 << 2, /* every request and response */
    KFK__DEBUG_METADATA = 1 << 3,
    KFK__DEBUG_PRODUCER = 1 << 4, /* accumulator, batches, sender */
    KFK__DEBUG_CONSUMER = 1 << 5,
    KFK__DEBUG_FETCH = 1 << 6,
    KFK__DEBUG_CGRP = 1 << 7, /* consumer group membership, assignment */
    KFK__DEBUG_EOS = 1 << 8,  /* idempotence and transactions */
    KFK__DEBUG_ADMIN = 1 << 9,
    KFK__DEBUG_SECURITY = 1 << 10, /* TLS and SASL */
    KFK__DEBUG_CONF = 1 << 11,
    KFK__DEBUG_ALL = (1 << 12) - 1
};

/* syslog levels */
enum {
    KFK__LOG_ERR = 3,
    KFK__LOG_WARNING = 4,
    KFK__LOG_NOTICE = 5,
    KFK__LOG_INFO = 6,
    KFK__LOG_DEBUG = 7
};

typedef struct kfk__log {
    int level;      /* log.level */
    uint32_t debug; /* KFK__DEBUG_* bits from `debug` */
    kfk__evq *q;    /* NULL: write to stderr */
    const char *name; /* the handle's name, for stderr lines */
} kfk__log;

static inline bool kfk__log_on(const kfk__log *lg, int level, uint32_t ctx)
{
    if (!lg)
        return false;
    return level >= KFK__LOG_DEBUG ? (lg->debug & ctx) != 0 : level <= lg->level;
}

/* Formats and emits one line (no trailing newline needed). Use the
 * macros, which skip the formatting when the line is filtered out. */
void kfk__log_emit(const kfk__log *lg, int level, uint32_t ctx,
                   const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The context's name ("broker", "producer", ...), "" for 0. */
const char *kfk__log_ctx_name(uint32_t ctx);

#define KFK__LOG(lg, level, ctx, ...)                                          \
    do {                                                                       \
        if (kfk__log_on((lg), (level), (ctx)))                                 \
            kfk__log_emit((lg), (level), (ctx), __VA_ARGS__);                  \
    } while (0)

#define KFK__DBG(lg, ctx, ...) KFK__LOG((lg), KFK__LOG_DEBUG, (ctx), __VA_ARGS__)

#endif
