/*
 * consume_out.h: how `kfk consume` prints a record: kcat's -f format
 * tokens, its -J JSON envelope, or the value alone (-K: the key, a
 * delimiter, the value). Split from cmd_consume.c, which owns the flags
 * and the consumer, so the formatting reads on its own.
 */
#ifndef KFK_TOOLS_CONSUME_OUT_H
#define KFK_TOOLS_CONSUME_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include <kfk/consumer.h>

/* Bytes with a length: an escape can put a NUL byte in a delimiter. */
typedef struct consume_bytes {
    char *p; /* malloc'd, NUL-terminated; NULL: not given */
    size_t len;
} consume_bytes;

typedef struct consume_out {
    consume_bytes fmt;       /* -f, escapes resolved */
    consume_bytes key_delim; /* -K */
    consume_bytes msg_delim; /* -D; "\n" when not given */
    bool json;               /* -J */
    bool null_str;           /* -Z: null keys and values print as NULL */
} consume_out;

/* Resolves \n \r \t \\ and \xNN in s into *out (freeing what it held), as
 * kcat does for -f, -K and -D. Returns 0, or -1 out of memory. */
int consume_unescape(const char *s, consume_bytes *out);

/* Writes m (a record, not an event) to stdout as o says. Returns 0, or -1
 * out of memory; write errors are left in stdout's error flag. */
int consume_put(const consume_out *o, const kfk_message_t *m);

/* Frees what o holds. */
void consume_out_free(consume_out *o);

#endif
