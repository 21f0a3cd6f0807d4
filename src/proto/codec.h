/*
 * codec.h: the one generic encoder/decoder behind every Kafka message.
 *
 * tools/gen_proto.py turns Apache Kafka's message definitions into two
 * things per message: a plain C struct (what callers read and fill in) and
 * a descriptor table (which field sits at which offset, its type, the
 * versions it exists / is nullable / is tagged in, its default). This file
 * walks those tables. One interpreter instead of ~400 generated functions
 * keeps the library small; docs/DESIGN.md records the measurement behind
 * that choice. Record batches are not interpreted here: a `records` field is
 * a byte slice handed to src/proto/record.h.
 *
 * Memory: a decoded message lives in a kfk__arena (arrays and nested
 * structs); strings, bytes and records point INTO the input buffer, which
 * must outlive the decoded message. Freeing the arena frees the message.
 */
#ifndef KFK_PROTO_CODEC_H
#define KFK_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"

/* Upper bound of an open version range ("3+"). */
#define KFK__VMAX INT16_MAX

/* A string or byte slice; len -1 means null. Not NUL-terminated. */
typedef struct kfk__str {
    const char *ptr;
    int32_t len;
} kfk__str;

typedef struct kfk__bytes {
    const uint8_t *ptr;
    int32_t len;
} kfk__bytes;

typedef struct kfk__uuid {
    uint8_t b[16];
} kfk__uuid;

#define KFK__STR_NULL ((kfk__str){NULL, -1})
#define KFK__STR(lit) ((kfk__str){(lit), (int32_t)sizeof(lit) - 1})
kfk__str kfk__str_c(const char *s); /* NULL gives a null string */
bool kfk__str_eq(kfk__str a, const char *s);

/* A tagged field this version of the codec does not know, kept so that a
 * decode/encode round trip loses nothing. */
typedef struct kfk__raw_tag {
    uint32_t tag;
    kfk__bytes data;
} kfk__raw_tag;

typedef struct kfk__raw_tags {
    kfk__raw_tag *v;
    int32_t n;
} kfk__raw_tags;

/* Every array field has this layout: v points at n elements; n == -1 is a
 * null array. Generated structs spell it with the element type. */
typedef struct kfk__array {
    void *v;
    int32_t n;
} kfk__array;

typedef enum kfk__ftype {
    KFK__T_BOOL,
    KFK__T_INT8,
    KFK__T_INT16,
    KFK__T_UINT16,
    KFK__T_INT32,
    KFK__T_INT64,
    KFK__T_FLOAT64,
    KFK__T_UUID,
    KFK__T_STRING,
    KFK__T_BYTES,
    KFK__T_RECORDS,
    KFK__T_STRUCT,
    KFK__T_ARRAY
} kfk__ftype;

enum {
    KFK__F_IGNORABLE = 1,     /* may be dropped silently when absent */
    KFK__F_NOT_FLEXIBLE = 2,  /* "flexibleVersions": "none" on the field */
    KFK__F_NULL_DEFAULT = 4,  /* default is null (strings, bytes, arrays) */
    KFK__F_STRUCT_PTR = 8,    /* nullable struct: stored as a pointer */
};

struct kfk__struct_desc;

typedef struct kfk__field {
    const char *name;
    uint32_t offset;
    uint8_t type;      /* kfk__ftype */
    uint8_t elem;      /* element kfk__ftype for arrays */
    uint8_t flags;     /* KFK__F_* */
    uint8_t elem_size; /* sizeof one array element (struct: see sub) */
    int16_t v_min, v_max;       /* versions that have the field */
    int16_t null_min, null_max; /* versions where it may be null */
    int16_t tag_min, tag_max;   /* versions where it is a tagged field */
    uint32_t tag;
    const struct kfk__struct_desc *sub; /* struct / struct element */
    int64_t def_int;                    /* numeric and bool default */
    double def_float;
    const char *def_str; /* string default when not null */
} kfk__field;

typedef struct kfk__struct_desc {
    const char *name;
    uint32_t size;
    uint32_t tags_offset; /* where the kfk__raw_tags member sits */
    uint16_t nfields;
    const kfk__field *fields;
} kfk__struct_desc;

typedef enum kfk__msg_kind {
    KFK__MSG_REQUEST,
    KFK__MSG_RESPONSE,
    KFK__MSG_HEADER,
    KFK__MSG_DATA
} kfk__msg_kind;

typedef struct kfk__msg_desc {
    const char *name;
    int16_t api_key; /* -1 for headers and data */
    int16_t min_ver, max_ver;
    int16_t flex_min; /* first flexible version; INT16_MAX if none */
    uint8_t kind;     /* kfk__msg_kind */
    uint8_t latest_unstable;
    const kfk__struct_desc *body;
} kfk__msg_desc;

/* Where a decode or encode failed: the error, the input offset and the
 * field path ("Topics[2].Partitions[0].LeaderEpoch"). */
typedef struct kfk__codec_err {
    int code;
    size_t offset;
    char path[160];
} kfk__codec_err;

/* Fills *msg (of the descriptor's struct type) with every field's default.
 * Callers building a message to encode start here. */
void kfk__msg_init(const kfk__msg_desc *d, void *msg);
void kfk__struct_init(const kfk__struct_desc *s, void *obj);

/*
 * Decodes a message body of the given version from buf[0..len) into a
 * struct allocated from arena, stored in *out. Consumes exactly the bytes of
 * the message; trailing bytes are an error unless consumed is non-NULL, in
 * which case the count read is stored there. Returns 0 or a kfk_err_t
 * (TRUNCATED, MALFORMED, NOMEM, TOO_LARGE, UNSUPPORTED_VERSION), with
 * details in *err if err is non-NULL. On error nothing is left to free but
 * the arena itself. Strings and bytes in *out point into buf.
 */
int kfk__decode(const kfk__msg_desc *d, int16_t version, const uint8_t *buf,
                size_t len, kfk__arena *arena, void **out, size_t *consumed,
                kfk__codec_err *err);

/*
 * Appends the encoding of msg at version to w. Returns 0 or a kfk_err_t:
 * NOT_ENCODABLE (a non-ignorable field set to a non-default value that the
 * version lacks, or null where the version does not allow it),
 * UNSUPPORTED_VERSION, TOO_LARGE, NOMEM; details in *err if non-NULL. On
 * error w may hold a partial encoding; the caller discards it.
 */
int kfk__encode(const kfk__msg_desc *d, int16_t version, const void *msg,
                kfk__wbuf *w, kfk__codec_err *err);

/* n elements of struct s from arena, each initialised to its defaults (for
 * filling an array field: arr.v = kfk__struct_array_new(...); arr.n = n).
 * NULL when out of memory or past the arena's cap; n 0 gives NULL too. */
void *kfk__struct_array_new(kfk__arena *a, const kfk__struct_desc *s, int32_t n);

/* True if every field of obj equals its default for this version (used for
 * tagged struct fields, which are sent only when not default). */
bool kfk__struct_is_default(const kfk__struct_desc *s, const void *obj);

/* ---- the generated catalogue ------------------------------------------ */

typedef struct kfk__api_desc {
    int16_t key;
    const char *name;
    const kfk__msg_desc *request;
    const kfk__msg_desc *response;
} kfk__api_desc;

/* The API with this key, or NULL. */
const kfk__api_desc *kfk__api_get(int16_t api_key);
/* All APIs the codec knows, ascending by key; *n receives the count. */
const kfk__api_desc *kfk__api_list(size_t *n);
/* Every message descriptor (requests, responses, headers, data). */
const kfk__msg_desc *const *kfk__msg_list(size_t *n);

/* ---- headers and framing ---------------------------------------------- */

/* Header versions per CLIENT-FACTS.md: request v2 when the API version is
 * flexible (v1 otherwise, v0 for ControlledShutdown v0); response v1 when
 * flexible, except ApiVersions which always answers with header v0. */
int16_t kfk__request_header_version(int16_t api_key, int16_t api_version);
int16_t kfk__response_header_version(int16_t api_key, int16_t api_version);

/*
 * Appends a complete framed request: int32 size, request header, body.
 * client_id may be NULL. Returns 0 or a kfk_err_t as kfk__encode.
 */
int kfk__encode_request(kfk__wbuf *w, int16_t api_key, int16_t api_version,
                        int32_t correlation_id, const char *client_id,
                        const void *body, kfk__codec_err *err);

/*
 * Decodes a request frame (the bytes after the int32 size): header, then the
 * body of the API and version the header names. *hdr is set as soon as the
 * header decoded, even when the body then fails (UNSUPPORTED_VERSION for an
 * unknown API or version), so a server can still answer the correlation id.
 * Everything is allocated from arena and points into buf.
 */
struct kfk__request_header;
int kfk__decode_request(const uint8_t *buf, size_t len, kfk__arena *arena,
                        struct kfk__request_header **hdr, void **body,
                        kfk__codec_err *err);

/* Decodes a response frame (after the size) of a known API and version. */
int kfk__decode_response(int16_t api_key, int16_t api_version,
                         const uint8_t *buf, size_t len, kfk__arena *arena,
                         int32_t *correlation_id, void **body,
                         kfk__codec_err *err);

/* Appends a complete framed response (size, header, body). */
int kfk__encode_response(kfk__wbuf *w, int16_t api_key, int16_t api_version,
                         int32_t correlation_id, const void *body,
                         kfk__codec_err *err);

#endif
