/*
 * fuzz_codec.c: libFuzzer target for the protocol codec (src/proto/codec.c).
 *
 * Input layout: byte 0 picks the API (index into kfk__api_list, modulo its
 * length), byte 1 the direction (bit 7: response) and the version (bits
 * 0-6, modulo the API's version count); the rest is a message body. The
 * body is decoded; when that succeeds it is re-encoded, decoded again and
 * re-encoded, and the two encodings must be identical (decode/encode is a
 * fixpoint after one normalising pass). The same bytes also go to
 * kfk__decode_request and kfk__decode_response (framing and headers) and to
 * one entry of kfk__msg_list (headers and the non-API data messages).
 * Any sanitizer report or abort() is a finding.
 *
 * Builds on its own with the library sources:
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       tests/fuzz/fuzz_codec.c src/proto/codec.c src/proto/arena.c \
 *       src/proto/buf.c src/common/alloc.c src/proto/gen/[a-z]*.c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/codec.h"
#include "proto/gen/all.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that a hostile count hits the cap quickly. */
#define ARENA_CAP ((size_t)8 << 20)

static void finding(const char *what, const kfk__msg_desc *d, int16_t v, int rc,
                    const kfk__codec_err *err)
{
    fprintf(stderr, "fuzz_codec: %s: %s v%d rc %d path \"%s\" offset %zu\n", what,
            d->name, v, rc, err ? err->path : "", err ? err->offset : (size_t)0);
    abort();
}

static bool decode_error_ok(int rc)
{
    return rc == KFK_ERR__TRUNCATED || rc == KFK_ERR__MALFORMED ||
           rc == KFK_ERR__TOO_LARGE || rc == KFK_ERR__UNSUPPORTED_VERSION;
}

static void check_err(const kfk__msg_desc *d, int16_t v, int rc, const kfk__codec_err *err,
                      size_t len)
{
    if (!decode_error_ok(rc))
        finding("unexpected decode error", d, v, rc, err);
    if (err->code != rc)
        finding("err.code differs from the return value", d, v, rc, err);
    if (err->offset > len)
        finding("err.offset past the input", d, v, rc, err);
}

static void fixpoint(const kfk__msg_desc *d, int16_t v, const uint8_t *p, size_t n)
{
    kfk__arena a, b;
    kfk__codec_err err;
    void *m1 = NULL, *m2 = NULL;
    kfk__wbuf w1, w2;
    kfk__arena_init(&a, ARENA_CAP);
    kfk__arena_init(&b, ARENA_CAP);
    kfk__wbuf_init(&w1, 0);
    kfk__wbuf_init(&w2, 0);

    size_t used = 0;
    int rc = kfk__decode(d, v, p, n, &a, &m1, &used, &err);
    if (rc) {
        check_err(d, v, rc, &err, n);
        goto out;
    }
    if (used > n)
        finding("consumed past the input", d, v, 0, &err);
    rc = kfk__encode(d, v, m1, &w1, &err);
    if (rc) {
        if (rc != KFK_ERR__NOT_ENCODABLE && rc != KFK_ERR__TOO_LARGE)
            finding("decoded message does not re-encode", d, v, rc, &err);
        goto out;
    }
    /* An empty encoding leaves w1.data NULL; kfk__rbuf_init would then
     * compute NULL + 0, which is undefined in C (reported; see
     * test_codec_robust.c decode_null_empty_input). */
    static const uint8_t empty[1];
    rc = kfk__decode(d, v, w1.len ? w1.data : empty, w1.len, &b, &m2, NULL, &err);
    if (rc)
        finding("re-encoding does not decode", d, v, rc, &err);
    rc = kfk__encode(d, v, m2, &w2, &err);
    if (rc)
        finding("second re-encode failed", d, v, rc, &err);
    if (w1.len != w2.len || (w1.len && memcmp(w1.data, w2.data, w1.len) != 0))
        finding("encode(decode(x)) is not a fixpoint", d, v, 0, &err);
out:
    kfk__wbuf_free(&w1);
    kfk__wbuf_free(&w2);
    kfk__arena_free(&a);
    kfk__arena_free(&b);
}

static void framed(const kfk__api_desc *api, int16_t v, const uint8_t *p, size_t n)
{
    kfk__arena a;
    kfk__codec_err err;
    struct kfk__request_header *hdr;
    void *body;
    int32_t corr;

    kfk__arena_init(&a, ARENA_CAP);
    int rc = kfk__decode_request(p, n, &a, &hdr, &body, &err);
    if (rc && rc != KFK_ERR__TRUNCATED && rc != KFK_ERR__MALFORMED &&
        rc != KFK_ERR__TOO_LARGE && rc != KFK_ERR__UNSUPPORTED_VERSION)
        finding("decode_request error", api->request, v, rc, &err);
    if (rc == 0 && (!hdr || !body))
        finding("decode_request success without header/body", api->request, v, rc, &err);
    if (rc == KFK_ERR__UNSUPPORTED_VERSION && !hdr)
        finding("decode_request unsupported without header", api->request, v, rc, &err);
    kfk__arena_free(&a);

    rc = kfk__decode_response(api->key, v, p, n, &a, &corr, &body, &err);
    if (rc && !decode_error_ok(rc))
        finding("decode_response error", api->response, v, rc, &err);
    kfk__arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t napis, nmsgs;
    const kfk__api_desc *apis = kfk__api_list(&napis);
    const kfk__msg_desc *const *msgs = kfk__msg_list(&nmsgs);
    const kfk__api_desc *api = &apis[data[0] % napis];
    const kfk__msg_desc *d = (data[1] & 0x80) ? api->response : api->request;
    int16_t v = (int16_t)(d->min_ver + (data[1] & 0x7f) % (d->max_ver - d->min_ver + 1));
    const uint8_t *p = data + 2;
    size_t n = size - 2;

    fixpoint(d, v, p, n);
    framed(api, v, p, n);

    const kfk__msg_desc *any = msgs[data[0] % nmsgs];
    int16_t av = (int16_t)(any->min_ver + (data[1] & 0x7f) % (any->max_ver - any->min_ver + 1));
    if (any != d || av != v)
        fixpoint(any, av, p, n);
    return 0;
}
