/*
 * kfk/conf.h: client configuration.
 *
 * A kfk_conf_t holds one value for every configuration property a kfk
 * client (producer, consumer, admin client) knows. Properties have the Java
 * client's names and meanings ("bootstrap.servers", "linger.ms", "acks",
 * ...) and Apache Kafka 4.0's defaults; docs/CONFIGURATION.md lists them
 * all with their types, defaults, allowed values and which clients read
 * them.
 *
 * Values are given as text and checked at once: kfk_conf_set() refuses an
 * unknown name or a bad value with a message that says what is allowed, so
 * nothing is discovered later in a client. Rules that involve several
 * properties (acks and enable.idempotence, for instance) are checked when a
 * client is created from the configuration.
 *
 * Threads: a kfk_conf_t has no lock. Use one from one thread at a time;
 * distinct objects are independent. A client copies the configuration it is
 * created with, so the application may change or destroy its object
 * afterwards.
 */
#ifndef KFK_CONF_H
#define KFK_CONF_H

#include <kfk/common.h>
#include <kfk/error.h>

typedef struct kfk_conf kfk_conf_t;

/*
 * Creates a configuration with every property at its default. The caller
 * owns it and frees it with kfk_conf_destroy(). Returns NULL when out of
 * memory. Any thread.
 */
KFK_API kfk_conf_t *kfk_conf_new(void);

/*
 * Returns a deep copy of conf (values and which properties were set
 * explicitly), owned by the caller and independent of conf. Returns NULL
 * when out of memory or when conf is NULL. The thread using conf.
 */
KFK_API kfk_conf_t *kfk_conf_dup(const kfk_conf_t *conf);

/* Frees conf and every value it holds. NULL is fine. The thread using
 * conf. */
KFK_API void kfk_conf_destroy(kfk_conf_t *conf);

/*
 * Sets property name to value, given as text ("5", "true", "all",
 * "host1:9092,host2:9092"). The value is parsed and checked now and stored
 * typed; surrounding whitespace is ignored (except in passwords), and an
 * empty string clears a string property. value NULL resets the property to
 * its default and marks it as not set. Neither string is kept: conf copies
 * what it needs.
 *
 * Returns KFK_ERR_NONE, or, leaving conf unchanged:
 *   KFK_ERR__INVALID_CONFIG  unknown name (with a "did you mean" suggestion
 *                            when one is close) or a bad value (the message
 *                            names the property and what it allows);
 *   KFK_ERR__INVALID_ARG     conf or name is NULL;
 *   KFK_ERR__NOMEM           out of memory.
 * On error a NUL-terminated message is written into errstr (when errstr is
 * not NULL and errstr_size > 0), truncated to errstr_size; on success errstr
 * is left alone. The thread using conf.
 */
KFK_API kfk_err_t kfk_conf_set(kfk_conf_t *conf, const char *name,
                               const char *value, char *errstr,
                               size_t errstr_size);

/*
 * Copies the current value of property name, as text, into buf. On entry
 * *len is the size of buf; on return it is the size the value needs,
 * including the terminating NUL. With buf NULL only the size is reported.
 * Enumerated values come back in their canonical spelling ("acks" set to
 * "-1" reads "all"); a string that is not set reads "". Sensitive values
 * (passwords) are returned as they are: this is the application's own
 * data. Booleans read "true" or "false".
 *
 * Returns KFK_ERR_NONE; KFK_ERR__TOO_LARGE when buf is too small (nothing
 * is copied, *len says how much is needed); KFK_ERR__INVALID_CONFIG for an
 * unknown name; KFK_ERR__INVALID_ARG when conf, name or len is NULL. The
 * thread using conf.
 */
KFK_API kfk_err_t kfk_conf_get(const kfk_conf_t *conf, const char *name,
                               char *buf, size_t *len);

/*
 * One property in a kfk_conf_dump(). Read-only; fields may be added at the
 * end in later versions (the dump hands out pointers, so that is safe).
 */
typedef struct kfk_conf_entry {
    const char *name;          /* property name */
    const char *value;         /* current value as kfk_conf_get() reads it,
                                * except that a sensitive value that is set
                                * reads "[hidden]" */
    const char *default_value; /* the default, as text */
    int is_set;                /* 1 if set by kfk_conf_set(), else 0 */
    int is_sensitive;          /* 1 for passwords and other secrets */
} kfk_conf_entry_t;

/*
 * Lists every property with its current value, sorted by name, for logging
 * or a "show configuration" command. On success *entriesp points to *cntp
 * entry pointers (followed by a NULL pointer), all in one allocation that
 * the caller owns and frees with kfk_conf_dump_free(); the entries do not
 * refer to conf and stay valid after it changes or is destroyed.
 *
 * Returns KFK_ERR_NONE; KFK_ERR__NOMEM (nothing allocated, *entriesp NULL);
 * KFK_ERR__INVALID_ARG when an argument is NULL. The thread using conf.
 */
KFK_API kfk_err_t kfk_conf_dump(const kfk_conf_t *conf,
                                kfk_conf_entry_t ***entriesp, size_t *cntp);

/* Frees what kfk_conf_dump() returned. NULL is fine. Any thread. */
KFK_API void kfk_conf_dump_free(kfk_conf_entry_t **entries);

#endif
