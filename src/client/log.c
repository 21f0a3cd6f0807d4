/*
 * log.c: a handle's logger (see log.h).
 */
#include "client/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/loop.h"

static const char *const ctx_names[] = {
    "generic", "broker", "protocol", "metadata", "producer", "consumer",
    "fetch",   "cgrp",   "eos",      "admin",    "security", "conf",
};

_Static_assert(KFK__DEBUG_CONF == 1 << 11, "ctx_names follows the KFK__DEBUG_* bits");

const char *kfk__log_ctx_name(uint32_t ctx)
{
    for (unsigned i = 0; i < sizeof(ctx_names) / sizeof(ctx_names[0]); i++)
        if (ctx & (1u << i))
            return ctx_names[i];
    return "";
}

static const char *level_name(int level)
{
    static const char *const names[] = {"EMERG", "ALERT", "CRIT",   "ERROR",
                                        "WARN",  "NOTICE", "INFO", "DEBUG"};
    return level >= 0 && level <= 7 ? names[level] : "?";
}

void kfk__log_emit(const kfk__log *lg, int level, uint32_t ctx,
                   const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (lg->q) {
        kfk__evq_push(lg->q, KFK__EV_LOG, level, ctx, 0, line, len);
        return;
    }
    if (level > KFK__LOG_WARNING && !(lg->debug & ctx))
        return; /* no callback: warnings, and everything of the debug contexts */
    int64_t ms = kfk__wall_ms();
    fprintf(stderr, "%lld.%03d kfk %s [%s] %s: %s\n", (long long)(ms / 1000),
            (int)(ms % 1000), level_name(level), lg->name ? lg->name : "",
            ctx ? kfk__log_ctx_name(ctx) : "-", line);
}
