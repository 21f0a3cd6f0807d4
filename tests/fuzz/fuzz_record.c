/*
 * fuzz_record.c: libFuzzer target for the record layer. One input is used
 * four ways: as a Fetch response's records blob (every magic, walked to
 * the end, headers and control records included, CRC checks off so the
 * parsers see the damage), as a single magic-2 batch, as a single magic-0/1
 * message, and, after its first byte picks a codec, as compressed data
 * decompressed under a small cap. Records that parse are re-encoded with
 * the writer and must read back. Any crash, leak or UB is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/compress.h"
#include "proto/msgset.h"
#include "proto/record.h"

#define CAP ((size_t)256 << 10) /* decompression cap: keep runs fast */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_record(const kfk__record *r, bool control)
{
    kfk__header_iter hi;
    kfk__rec_header h;
    kfk__control c;
    kfk__header_iter_init(&hi, r);
    while (kfk__header_next(&hi, &h))
        if (h.key_len < 0 || (h.value_len >= 0 && !h.value))
            abort(); /* validated headers cannot look like this */
    if (control)
        (void)kfk__control_parse(r, &c);
}

/* Re-encodes one record into a fresh batch and reads it back. */
static void reencode(kfk__zctx *z, const kfk__record *r)
{
    kfk__wbuf w;
    kfk__batch_writer bw;
    kfk__batch_opts o;
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record back;
    kfk__wbuf_init(&w, 0);
    kfk__batch_opts_init(&o);
    o.base_offset = r->offset;
    o.codec = (int)((uint64_t)r->offset % KFK__CODEC_COUNT);
    if (!kfk__batch_begin(&bw, &w, &o) && !kfk__batch_append_record(&bw, r) &&
        !kfk__batch_finish(&bw, z)) {
        kfk__wbuf buf;
        kfk__wbuf_init(&buf, 0);
        if (kfk__batch_parse(w.data, w.len, &b) || kfk__batch_check_crc(&b) ||
            kfk__rec_iter_init(&it, &b, z, &buf, (size_t)64 << 20) ||
            kfk__rec_iter_next(&it, &back) != 1 ||
            back.value_len != r->value_len || back.key_len != r->key_len ||
            back.header_count != r->header_count)
            abort(); /* what the writer wrote, the reader must read */
        kfk__wbuf_free(&buf);
    }
    kfk__wbuf_free(&w);
}

static void as_blob(kfk__zctx *z, const uint8_t *data, size_t size)
{
    kfk__recs_reader rd;
    kfk__record r;
    kfk__wbuf buf;
    int rc, n = 0;
    kfk__wbuf_init(&buf, 0);
    kfk__recs_reader_init(&rd, data, size, z, &buf, CAP, false);
    while ((rc = kfk__recs_reader_next_batch(&rd)) != 0 &&
           rc != KFK__RECORDS_INCOMPLETE) {
        if (rc < 0) {
            if (rd.err_pos > size)
                abort();
            if (rd.entry.size == 0)
                break; /* the walk itself failed: it would repeat */
            continue;
        }
        while (kfk__recs_reader_next_record(&rd, &r) == 1) {
            use_record(&r, kfk__batch_is_control(&rd.batch));
            if (n++ < 4)
                reencode(z, &r);
        }
    }
    kfk__wbuf_free(&buf);
}

static void as_batch(kfk__zctx *z, const uint8_t *data, size_t size)
{
    kfk__batch b;
    kfk__rec_iter it;
    kfk__record r;
    kfk__wbuf buf;
    if (kfk__batch_parse(data, size, &b))
        return;
    (void)kfk__batch_check_crc(&b);
    kfk__wbuf_init(&buf, 0);
    if (!kfk__rec_iter_init(&it, &b, z, &buf, CAP))
        while (kfk__rec_iter_next(&it, &r) == 1)
            use_record(&r, kfk__batch_is_control(&b));
    kfk__wbuf_free(&buf);
}

static void as_message(kfk__zctx *z, const uint8_t *data, size_t size)
{
    kfk__msgset_iter it;
    kfk__record r;
    kfk__wbuf buf;
    kfk__wbuf_init(&buf, 0);
    if (!kfk__msgset_iter_init(&it, data, size, false, z, &buf, CAP))
        while (kfk__msgset_iter_next(&it, &r) == 1)
            use_record(&r, false);
    kfk__wbuf_free(&buf);
}

static void as_compressed(kfk__zctx *z, const uint8_t *data, size_t size)
{
    kfk__wbuf out;
    int err;
    if (!size)
        return;
    kfk__wbuf_init(&out, 0);
    if (data[0] % 6 == 5)
        err = kfk__decompress_lz4_legacy(z, data + 1, size - 1, &out, CAP);
    else
        err = kfk__decompress(z, data[0] % 6, data + 1, size - 1, &out, CAP);
    if (out.len > CAP || (err && out.len))
        abort(); /* the cap holds; a failure leaves nothing behind */
    kfk__wbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kfk__zctx *z;
    if (kfk__zctx_new(&z))
        return 0;
    as_blob(z, data, size);
    as_batch(z, data, size);
    as_message(z, data, size);
    as_compressed(z, data, size);
    kfk__zctx_destroy(z);
    return 0;
}
