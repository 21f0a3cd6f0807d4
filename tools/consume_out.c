/*
 * consume_out.c: the output formats of `kfk consume` (consume_out.h).
 * Records are written with stdio to stdout; keys and values are bytes,
 * printed as they are except in JSON, which can only hold text.
 */
#include "consume_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Shells pass escapes through as two characters. */
int consume_unescape(const char *s, consume_bytes *out)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            p[j++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'n') {
            p[j++] = '\n';
        } else if (c == 'r') {
            p[j++] = '\r';
        } else if (c == 't') {
            p[j++] = '\t';
        } else if (c == '\\') {
            p[j++] = '\\';
        } else if (c == 'x' && i + 1 < n && hexval(s[i + 1]) >= 0) {
            int v = hexval(s[++i]);
            if (i + 1 < n && hexval(s[i + 1]) >= 0)
                v = v * 16 + hexval(s[++i]);
            p[j++] = (char)v;
        } else { /* not an escape we know: keep it as written */
            p[j++] = '\\';
            p[j++] = c;
        }
    }
    p[j] = '\0';
    free(out->p);
    out->p = p;
    out->len = j;
    return 0;
}

static void put(const void *p, size_t n)
{
    if (n)
        fwrite(p, 1, n, stdout);
}

/* A key or value as text; NULL prints as nothing, or NULL with -Z. */
static void put_data(const consume_out *o, const void *p, size_t n)
{
    if (p)
        put(p, n);
    else if (o->null_str)
        fputs("NULL", stdout);
}

static void put_headers(const consume_out *o, const kfk_message_t *m)
{
    for (size_t i = 0; i < m->header_count; i++) {
        const kfk_message_header_t *h = &m->headers[i];
        if (i)
            putchar(',');
        put(h->key, h->key_len);
        putchar('=');
        put_data(o, h->value, h->value_len);
    }
}

static void put_format(const consume_out *o, const kfk_message_t *m)
{
    const char *f = o->fmt.p, *end = f + o->fmt.len;
    while (f < end) {
        const char *pct = memchr(f, '%', (size_t)(end - f));
        if (!pct || pct + 1 == end) {
            put(f, (size_t)(end - f));
            return;
        }
        put(f, (size_t)(pct - f));
        f = pct + 2;
        switch (pct[1]) {
        case 's':
            put_data(o, m->value, m->value_len);
            break;
        case 'S':
            printf("%lld", m->value ? (long long)m->value_len : -1LL);
            break;
        case 'R': {
            int32_t len = m->value ? (int32_t)m->value_len : -1;
            uint32_t u = (uint32_t)len;
            unsigned char be[4] = {(unsigned char)(u >> 24),
                                   (unsigned char)(u >> 16),
                                   (unsigned char)(u >> 8), (unsigned char)u};
            put(be, 4);
            break;
        }
        case 'k':
            put_data(o, m->key, m->key_len);
            break;
        case 'K':
            printf("%lld", m->key ? (long long)m->key_len : -1LL);
            break;
        case 't':
            fputs(m->topic, stdout);
            break;
        case 'p':
            printf("%d", (int)m->partition);
            break;
        case 'o':
            printf("%" PRId64, m->offset);
            break;
        case 'T':
            printf("%" PRId64, m->timestamp);
            break;
        case 'h':
            put_headers(o, m);
            break;
        case '%':
            putchar('%');
            break;
        default: /* not a token: printed as written */
            put(pct, 2);
        }
    }
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if the
 * bytes there are not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, a surrogate, or past U+10FFFF */
    return len;
}

/* A JSON string of bytes that may not be UTF-8: JSON has no bytes, so
 * each invalid byte becomes U+FFFD, as decoders that replace do. NULL
 * data is JSON null. */
static json_t *json_bytes(const void *data, size_t n)
{
    if (!data)
        return json_null();
    const unsigned char *s = data;
    size_t i = 0, l;
    while (i < n && (l = utf8_len(s + i, n - i)))
        i += l;
    if (i == n)
        return json_stringn(data, n);
    char *buf = malloc(n * 3 + 1);
    if (!buf)
        return NULL;
    size_t j = 0;
    for (i = 0; i < n;) {
        l = utf8_len(s + i, n - i);
        if (l) {
            memcpy(buf + j, s + i, l);
            j += l;
            i += l;
        } else {
            memcpy(buf + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
        }
    }
    json_t *js = json_stringn(buf, j);
    free(buf);
    return js;
}

/* kcat's -J envelope: headers as [name, value, name, value, ...] since
 * names may repeat; always present here (kcat leaves it out when empty). */
static int put_json(const kfk_message_t *m)
{
    json_t *hs = json_array();
    for (size_t i = 0; hs && i < m->header_count; i++) {
        const kfk_message_header_t *h = &m->headers[i];
        if (json_array_append_new(hs, json_bytes(h->key, h->key_len)) ||
            json_array_append_new(hs, json_bytes(h->value, h->value_len))) {
            json_decref(hs);
            hs = NULL;
        }
    }
    json_t *obj =
        hs ? json_pack("{s:s, s:i, s:I, s:s, s:I, s:o, s:o?, s:o?}", "topic",
                       m->topic, "partition", (int)m->partition, "offset",
                       (json_int_t)m->offset, "tstype",
                       m->timestamp_type == KFK_TIMESTAMP_LOG_APPEND_TIME
                           ? "logappend"
                           : "create",
                       "ts", (json_int_t)m->timestamp, "headers", hs, "key",
                       json_bytes(m->key, m->key_len), "payload",
                       json_bytes(m->value, m->value_len))
           : NULL;
    if (!obj)
        return -1;
    int rc = json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return rc;
}

int consume_put(const consume_out *o, const kfk_message_t *m)
{
    if (o->json) {
        if (put_json(m))
            return -1;
        put(o->msg_delim.p, o->msg_delim.len);
    } else if (o->fmt.p) {
        put_format(o, m); /* the format says where a record ends */
    } else {
        if (o->key_delim.p) {
            put_data(o, m->key, m->key_len);
            put(o->key_delim.p, o->key_delim.len);
        }
        put_data(o, m->value, m->value_len);
        put(o->msg_delim.p, o->msg_delim.len);
    }
    return 0;
}

void consume_out_free(consume_out *o)
{
    free(o->fmt.p);
    free(o->key_delim.p);
    free(o->msg_delim.p);
}
