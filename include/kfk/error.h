/*
 * kfk/error.h: one error enum for the whole library.
 *
 * Non-negative values and -1 are Kafka's protocol error codes, with the same
 * numbers as on the wire (generated into kfk/error_codes.h from Apache
 * Kafka's error table). Library-local errors are -100 and below and are
 * spelled with a double underscore (KFK_ERR__TIMED_OUT). Values are
 * append-only: a number never changes meaning.
 */
#ifndef KFK_ERROR_H
#define KFK_ERROR_H

#include <kfk/common.h>

typedef enum kfk_err {
#include <kfk/error_codes.h>

    /* Library-local errors. */
    KFK_ERR__MALFORMED = -100,        /* bytes do not follow the protocol */
    KFK_ERR__TRUNCATED = -101,        /* input ended inside a value */
    KFK_ERR__NOMEM = -102,            /* an allocation failed */
    KFK_ERR__INVALID_ARG = -103,      /* a function argument is invalid */
    KFK_ERR__UNSUPPORTED_VERSION = -104, /* codec lacks this API/version */
    KFK_ERR__TOO_LARGE = -105,        /* a size cap was exceeded */
    KFK_ERR__BAD_CRC = -106,          /* a record batch CRC did not match */
    KFK_ERR__COMPRESSION = -107,      /* (de)compression failed */
    KFK_ERR__NOT_ENCODABLE = -108,    /* value cannot be sent at this version */
    KFK_ERR__UNKNOWN_CODEC = -109,    /* compression codec id unknown */
    KFK_ERR__TIMED_OUT = -110,        /* an operation ran out of time */
    KFK_ERR__TRANSPORT = -111,        /* a connection failed */
    KFK_ERR__QUEUE_FULL = -112,       /* a bounded queue is full */
    KFK_ERR__INVALID_CONFIG = -113,   /* a configuration value is invalid */
    KFK_ERR__STATE = -114,            /* call not allowed in this state */
    KFK_ERR__DESTROYED = -115,        /* the handle is being destroyed */
    KFK_ERR__PURGED = -116,           /* the message was purged */
    KFK_ERR__FATAL = -117,            /* a fatal error was raised earlier */
    KFK_ERR__SYSTEM = -118,           /* an OS call failed (see errno) */
    KFK_ERR__PARTITION_EOF = -119,    /* consumer reached a partition's end */
    KFK_ERR__MAX_POLL_EXCEEDED = -120, /* no poll within max.poll.interval.ms */
    KFK_ERR__NO_OFFSET = -121,        /* no position and auto.offset.reset=none */
    KFK_ERR__ASSIGNMENT_LOST = -122,  /* group membership lost */
    KFK_ERR__LOCAL_END = -123         /* one past the last local code */
} kfk_err_t;

/* The error's constant name without the prefix ("UNKNOWN_TOPIC_OR_PARTITION",
 * "_TIMED_OUT"), or "?" for a value that is not a kfk_err_t. Any thread.
 * Returns a static string. */
KFK_API const char *kfk_err_name(kfk_err_t err);

/* A human-readable message for the error. Any thread. Static string; never
 * NULL. */
KFK_API const char *kfk_err_str(kfk_err_t err);

/* 1 if retrying the same operation may succeed (as the Java client treats
 * the code), else 0. Any thread. */
KFK_API int kfk_err_is_retriable(kfk_err_t err);

#endif
