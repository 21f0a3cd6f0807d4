/*
 * codec_fill.h: descriptor-driven test data for the codec tests.
 *
 * The round-trip, robustness and benchmark code needs a valid, non-trivial
 * value of every message at every version. Writing ~190 messages by hand is
 * impossible to keep current, so this helper walks the same descriptor
 * tables the codec interprets and fills every field the version has with a
 * deterministic pseudo-random non-default value; it also compares two
 * decoded structs field by field. It deliberately shares no code with
 * codec.c (its own default and equality logic), so a bug in the codec's
 * tables walk is not mirrored here.
 */
#ifndef KFK_TEST_CODEC_FILL_H
#define KFK_TEST_CODEC_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/codec.h"

enum {
    CF_NULLS = 1,        /* sometimes null where the version allows it */
    CF_UNKNOWN_TAGS = 2, /* sometimes add unknown tags to flexible structs */
    CF_SMALL = 4,        /* arrays of at most one element (fast) */
};

/* splitmix64: tiny, deterministic, good enough for test data. */
uint64_t cf_rand(uint64_t *state);
/* A seed from a message name, a version and a variant number. */
uint64_t cf_seed(const char *name, int16_t version, unsigned variant);

/*
 * A new message of d's struct type, allocated from a, with every field that
 * version has set to a pseudo-random value (non-default where the type
 * allows; strings/bytes vary in length including empty) and every field it
 * lacks at its default. Strings and bytes live in the arena too. Returns
 * NULL only when the arena fails.
 */
void *cf_fill(const kfk__msg_desc *d, int16_t version, uint64_t seed,
              unsigned flags, kfk__arena *a);

/* Fills one struct (already initialised to defaults) the same way. */
void cf_fill_struct(const kfk__struct_desc *s, int16_t version, bool flex,
                    uint64_t *rng, unsigned flags, int depth, kfk__arena *a,
                    void *obj);

/* Sets one field (of any version) to a non-default value; nested values
 * are filled for version fill_version. Used to provoke NOT_ENCODABLE. */
void cf_set_non_default(const kfk__field *f, int16_t fill_version,
                        uint64_t *rng, kfk__arena *a, void *obj);

/*
 * Compares two structs of type s over every field (present or not) and
 * their unknown tags. Returns true when equal; otherwise writes the path of
 * the first difference ("Topics[1].Partitions[0].LeaderEpoch") into where.
 */
bool cf_equal(const kfk__struct_desc *s, const void *a, const void *b,
              char *where, size_t cap);

/* True if f's value in obj is its default (independent of codec.c). */
bool cf_field_is_default(const kfk__field *f, const void *obj);

/* True if some field of s (any version) uses tag number tag. */
bool cf_tag_known(const kfk__struct_desc *s, uint32_t tag);

/* Encodes cf_fill(d, version, seed, flags) into w (reset first). Returns the
 * codec's result. */
int cf_encode_filled(const kfk__msg_desc *d, int16_t version, uint64_t seed,
                     unsigned flags, kfk__wbuf *w);

/* Version ranges: true if v is in [lo, hi]. */
static inline bool cf_in(int16_t v, int16_t lo, int16_t hi)
{
    return v >= lo && v <= hi;
}

/* Hex dump helper for failure messages: writes at most cap-1 chars. */
void cf_hex(const uint8_t *p, size_t n, char *out, size_t cap);

#endif
