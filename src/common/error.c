/*
 * error.c: names and messages for every kfk_err_t. Kafka's codes come from
 * the generated table (src/common/error_table.h, from errors.tsv); local
 * codes are listed here, in the same order as in kfk/error.h.
 */
#include "common/error.h"

static const kfk__err_desc table[] = {
#include "common/error_table.h"
    {KFK_ERR__MALFORMED, "_MALFORMED", 0, "Malformed protocol data"},
    {KFK_ERR__TRUNCATED, "_TRUNCATED", 0, "Input ended inside a value"},
    {KFK_ERR__NOMEM, "_NOMEM", 0, "Out of memory"},
    {KFK_ERR__INVALID_ARG, "_INVALID_ARG", 0, "Invalid argument"},
    {KFK_ERR__UNSUPPORTED_VERSION, "_UNSUPPORTED_VERSION", 0,
     "API or version not supported by this codec"},
    {KFK_ERR__TOO_LARGE, "_TOO_LARGE", 0, "Size limit exceeded"},
    {KFK_ERR__BAD_CRC, "_BAD_CRC", 0, "Record batch CRC mismatch"},
    {KFK_ERR__COMPRESSION, "_COMPRESSION", 0, "Compression or decompression failed"},
    {KFK_ERR__NOT_ENCODABLE, "_NOT_ENCODABLE", 0,
     "Value cannot be encoded at this protocol version"},
    {KFK_ERR__UNKNOWN_CODEC, "_UNKNOWN_CODEC", 0, "Unknown compression codec"},
    {KFK_ERR__TIMED_OUT, "_TIMED_OUT", 1, "Operation timed out"},
    {KFK_ERR__TRANSPORT, "_TRANSPORT", 1, "Broker connection failed"},
    {KFK_ERR__QUEUE_FULL, "_QUEUE_FULL", 1, "Queue is full"},
    {KFK_ERR__INVALID_CONFIG, "_INVALID_CONFIG", 0, "Invalid configuration"},
    {KFK_ERR__STATE, "_STATE", 0, "Operation not allowed in the current state"},
    {KFK_ERR__DESTROYED, "_DESTROYED", 0, "Handle is being destroyed"},
    {KFK_ERR__PURGED, "_PURGED", 0, "Message was purged"},
    {KFK_ERR__FATAL, "_FATAL", 0, "A fatal error occurred earlier"},
    {KFK_ERR__SYSTEM, "_SYSTEM", 0, "System call failed"},
    {KFK_ERR__PARTITION_EOF, "_PARTITION_EOF", 0, "Reached the end of the partition"},
    {KFK_ERR__MAX_POLL_EXCEEDED, "_MAX_POLL_EXCEEDED", 0,
     "Application did not poll within max.poll.interval.ms: left the group"},
    {KFK_ERR__NO_OFFSET, "_NO_OFFSET", 0,
     "No committed offset and auto.offset.reset is none"},
    {KFK_ERR__ASSIGNMENT_LOST, "_ASSIGNMENT_LOST", 0,
     "Group membership was lost: partitions were reassigned"},
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

const kfk__err_desc *kfk__err_desc_list(size_t *n)
{
    *n = NTABLE;
    return table;
}

const kfk__err_desc *kfk__err_desc_get(kfk_err_t err)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].code == (int)err)
            return &table[i];
    return NULL;
}

const char *kfk_err_name(kfk_err_t err)
{
    const kfk__err_desc *d = kfk__err_desc_get(err);
    return d ? d->name : "?";
}

const char *kfk_err_str(kfk_err_t err)
{
    const kfk__err_desc *d = kfk__err_desc_get(err);
    return d ? d->message : "Unknown error code";
}

int kfk_err_is_retriable(kfk_err_t err)
{
    const kfk__err_desc *d = kfk__err_desc_get(err);
    return d ? d->retriable : 0;
}
