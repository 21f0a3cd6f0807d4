/*
 * error.h (internal): the table behind kfk_err_name / kfk_err_str, for code
 * that needs to walk every error (tests, docs).
 */
#ifndef KFK_COMMON_ERROR_H
#define KFK_COMMON_ERROR_H

#include <kfk/error.h>

typedef struct kfk__err_desc {
    int code;
    const char *name;
    int retriable;
    const char *message;
} kfk__err_desc;

/* The entry for err, or NULL if err is not a defined kfk_err_t. */
const kfk__err_desc *kfk__err_desc_get(kfk_err_t err);
/* Every entry, Kafka's codes (ascending) then the local ones. */
const kfk__err_desc *kfk__err_desc_list(size_t *n);

#endif
