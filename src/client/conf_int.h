/*
 * conf_int.h: the configuration as the library sees it.
 *
 * Every property has an id (kfk__conf_id, one per row of the table in
 * conf_table.c) and a typed slot in kfk_conf_t, filled when the property is
 * set, so code inside the library reads a value with an array index, never
 * a name lookup or a parse:
 *
 *     int64_t linger = kfk__conf_int(conf, KFK__CONF_LINGER_MS);
 *     int acks = (int)kfk__conf_int(conf, KFK__CONF_ACKS);  // KFK__ACKS_*
 *     const char *tid = kfk__conf_str(conf, KFK__CONF_TRANSACTIONAL_ID);
 *
 * A client makes its own copy of the application's kfk_conf_t
 * (kfk_conf_dup), runs kfk__conf_finalize() on the copy for its kind, and
 * reads it (or copies the values it needs into its own structs) from then
 * on.
 *
 * Ids are in the order of the property names (strcmp), so the table is
 * sorted: lookups by name are a binary search and dumps come out sorted.
 * A unit test checks the order. Ids are internal and may be renumbered.
 */
#ifndef KFK_CLIENT_CONF_INT_H
#define KFK_CLIENT_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include <kfk/conf.h>

#include "client/log.h"

/* Client kinds, also used as "applies to" bits in the table. */
typedef enum kfk__client_kind {
    KFK__CLIENT_PRODUCER = 1,
    KFK__CLIENT_CONSUMER = 2,
    KFK__CLIENT_ADMIN = 4
} kfk__client_kind;
#define KFK__CLIENT_ALL                                                        \
    (KFK__CLIENT_PRODUCER | KFK__CLIENT_CONSUMER | KFK__CLIENT_ADMIN)

/* Property ids, sorted by name. The comment gives the accessor to use. */
typedef enum kfk__conf_id {
    KFK__CONF_ACKS,                     /* int: KFK__ACKS_* */
    KFK__CONF_ALLOW_AUTO_CREATE_TOPICS, /* int: bool */
    KFK__CONF_AUTO_COMMIT_INTERVAL_MS,  /* int: ms */
    KFK__CONF_AUTO_OFFSET_RESET,        /* int: KFK__OFFSET_RESET_*; arg */
    KFK__CONF_BATCH_SIZE,               /* int */
    KFK__CONF_BOOTSTRAP_SERVERS,        /* list: host:port items */
    KFK__CONF_BUFFER_MEMORY,            /* int */
    KFK__CONF_CHECK_CRCS,               /* int: bool */
    KFK__CONF_CLIENT_DNS_LOOKUP,        /* int: KFK__DNS_* */
    KFK__CONF_CLIENT_ID,                /* str */
    KFK__CONF_CLIENT_RACK,              /* str */
    KFK__CONF_COMPRESSION_GZIP_LEVEL,   /* int */
    KFK__CONF_COMPRESSION_LZ4_LEVEL,    /* int */
    KFK__CONF_COMPRESSION_TYPE,         /* int: kfk__codec (proto/compress.h) */
    KFK__CONF_COMPRESSION_ZSTD_LEVEL,   /* int */
    KFK__CONF_CONNECTIONS_MAX_IDLE_MS,  /* int: ms, -1 = never */
    KFK__CONF_DEBUG,                    /* int: KFK__DEBUG_* bits; list */
    KFK__CONF_DEFAULT_API_TIMEOUT_MS,   /* int: ms */
    KFK__CONF_DELIVERY_TIMEOUT_MS,      /* int: ms */
    KFK__CONF_ENABLE_AUTO_COMMIT,       /* int: bool */
    KFK__CONF_ENABLE_IDEMPOTENCE,       /* int: bool */
    KFK__CONF_ENABLE_METRICS_PUSH,      /* int: bool */
    KFK__CONF_ENABLE_PARTITION_EOF,     /* int: bool */
    KFK__CONF_EXCLUDE_INTERNAL_TOPICS,  /* int: bool */
    KFK__CONF_FETCH_MAX_BYTES,          /* int */
    KFK__CONF_FETCH_MAX_WAIT_MS,        /* int: ms */
    KFK__CONF_FETCH_MIN_BYTES,          /* int */
    KFK__CONF_GROUP_ID,                 /* str */
    KFK__CONF_GROUP_INSTANCE_ID,        /* str */
    KFK__CONF_GROUP_PROTOCOL,           /* int: KFK__GROUP_PROTOCOL_* */
    KFK__CONF_GROUP_REMOTE_ASSIGNOR,    /* str */
    KFK__CONF_HEARTBEAT_INTERVAL_MS,    /* int: ms */
    KFK__CONF_ISOLATION_LEVEL,          /* int: KFK__ISOLATION_* */
    KFK__CONF_LINGER_MS,                /* int: ms */
    KFK__CONF_LOG_LEVEL,                /* int: 0..7 (syslog levels) */
    KFK__CONF_MAX_BLOCK_MS,             /* int: ms */
    KFK__CONF_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,    /* int */
    KFK__CONF_MAX_PARTITION_FETCH_BYTES,                /* int */
    KFK__CONF_MAX_POLL_INTERVAL_MS,                     /* int: ms */
    KFK__CONF_MAX_POLL_RECORDS,                         /* int */
    KFK__CONF_MAX_REQUEST_SIZE,                         /* int */
    KFK__CONF_METADATA_MAX_AGE_MS,                      /* int: ms */
    KFK__CONF_METADATA_MAX_IDLE_MS,                     /* int: ms */
    KFK__CONF_METADATA_RECOVERY_REBOOTSTRAP_TRIGGER_MS, /* int: ms */
    KFK__CONF_METADATA_RECOVERY_STRATEGY,    /* int: KFK__METADATA_RECOVERY_* */
    KFK__CONF_PARTITION_ASSIGNMENT_STRATEGY, /* list; int: KFK__ASSIGNOR_* */
    KFK__CONF_PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE, /* int: bool */
    KFK__CONF_PARTITIONER_AVAILABILITY_TIMEOUT_MS,      /* int: ms */
    KFK__CONF_PARTITIONER_IGNORE_KEYS,                  /* int: bool */
    KFK__CONF_RECEIVE_BUFFER_BYTES,                  /* int, -1 = OS default */
    KFK__CONF_RECONNECT_BACKOFF_MAX_MS,              /* int: ms */
    KFK__CONF_RECONNECT_BACKOFF_MS,                  /* int: ms */
    KFK__CONF_REQUEST_TIMEOUT_MS,                    /* int: ms */
    KFK__CONF_RETRIES,                               /* int */
    KFK__CONF_RETRY_BACKOFF_MAX_MS,                  /* int: ms */
    KFK__CONF_RETRY_BACKOFF_MS,                      /* int: ms */
    KFK__CONF_SASL_KERBEROS_KINIT_CMD,               /* str */
    KFK__CONF_SASL_KERBEROS_MIN_TIME_BEFORE_RELOGIN, /* int: ms */
    KFK__CONF_SASL_KERBEROS_SERVICE_NAME,            /* str */
    KFK__CONF_SASL_KERBEROS_TICKET_RENEW_JITTER,     /* double */
    KFK__CONF_SASL_KERBEROS_TICKET_RENEW_WINDOW_FACTOR, /* double */
    KFK__CONF_SASL_MECHANISM,                           /* int: KFK__SASL_* */
    KFK__CONF_SASL_PASSWORD,                            /* str (sensitive) */
    KFK__CONF_SASL_USERNAME,                            /* str */
    KFK__CONF_SECURITY_PROTOCOL,                      /* int: KFK__SECURITY_* */
    KFK__CONF_SEND_BUFFER_BYTES,                      /* int, -1 = OS default */
    KFK__CONF_SESSION_TIMEOUT_MS,                     /* int: ms */
    KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS, /* int: ms */
    KFK__CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS,     /* int: ms */
    KFK__CONF_SSL_CA_LOCATION,                        /* str */
    KFK__CONF_SSL_CERTIFICATE_LOCATION,               /* str */
    /* int: KFK__SSL_ENDPOINT_ID_* */
    KFK__CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
    KFK__CONF_SSL_KEY_LOCATION,       /* str */
    KFK__CONF_SSL_KEY_PASSWORD,       /* str (sensitive) */
    KFK__CONF_STATISTICS_INTERVAL_MS, /* int: ms, 0 = off */
    KFK__CONF_TRANSACTION_TIMEOUT_MS, /* int: ms */
    KFK__CONF_TRANSACTIONAL_ID,       /* str */
    KFK__CONF__COUNT
} kfk__conf_id;

/* ---- values of enumerated properties ------------------------------------- */

enum { KFK__ACKS_ALL = -1, KFK__ACKS_NONE = 0, KFK__ACKS_LEADER = 1 };
enum {
    KFK__OFFSET_RESET_LATEST,
    KFK__OFFSET_RESET_EARLIEST,
    KFK__OFFSET_RESET_NONE,
    KFK__OFFSET_RESET_BY_DURATION /* kfk__conf_arg(): the duration in ms */
};
enum { KFK__DNS_USE_ALL_DNS_IPS, KFK__DNS_RESOLVE_CANONICAL_BOOTSTRAP_ONLY };
enum { KFK__GROUP_PROTOCOL_CLASSIC, KFK__GROUP_PROTOCOL_CONSUMER };
/* The wire values of IsolationLevel in Fetch and ListOffsets. */
enum { KFK__ISOLATION_READ_UNCOMMITTED = 0, KFK__ISOLATION_READ_COMMITTED = 1 };
enum { KFK__METADATA_RECOVERY_NONE, KFK__METADATA_RECOVERY_REBOOTSTRAP };
enum {
    KFK__SASL_GSSAPI,
    KFK__SASL_PLAIN,
    KFK__SASL_SCRAM_SHA_256,
    KFK__SASL_SCRAM_SHA_512
};
enum {
    KFK__SECURITY_PLAINTEXT,
    KFK__SECURITY_SSL,
    KFK__SECURITY_SASL_PLAINTEXT,
    KFK__SECURITY_SASL_SSL
};
enum { KFK__SSL_ENDPOINT_ID_NONE, KFK__SSL_ENDPOINT_ID_HTTPS };

/* partition.assignment.strategy: a bit per assignor in kfk__conf_int(); the
 * preference order is the order of kfk__conf_list() items. */
enum {
    KFK__ASSIGNOR_RANGE = 1 << 0,
    KFK__ASSIGNOR_ROUNDROBIN = 1 << 1,
    KFK__ASSIGNOR_STICKY = 1 << 2,
    KFK__ASSIGNOR_COOPERATIVE_STICKY = 1 << 3
};

/* debug: the KFK__DEBUG_* bits (client/log.h) in kfk__conf_int(). */

/* ---- the table ----------------------------------------------------------- */

typedef enum kfk__conf_type {
    KFK__CONF_T_STRING, /* text; "" means not set (NULL) */
    KFK__CONF_T_INT,    /* 32-bit integer */
    KFK__CONF_T_LONG,   /* 64-bit integer */
    KFK__CONF_T_MS,     /* a duration in milliseconds (integer) */
    KFK__CONF_T_BOOL,   /* true or false */
    KFK__CONF_T_ENUM,   /* one name from a fixed set */
    KFK__CONF_T_LIST,   /* comma-separated items (of a fixed set if vals) */
    KFK__CONF_T_DOUBLE  /* finite floating point number */
} kfk__conf_type;

typedef enum kfk__conf_importance {
    KFK__CONF_HIGH,
    KFK__CONF_MEDIUM,
    KFK__CONF_LOW
} kfk__conf_importance;

/* Property flags. */
#define KFK__CONF_F_SENSITIVE 0x1 /* a secret: masked in dumps, not trimmed */
#define KFK__CONF_F_KFK 0x2       /* kfk's own: the Java client lacks it */

/* One accepted spelling of an enumerated value. The first entry with a
 * given value is the canonical one (what get and dump print); the others
 * are aliases. Hidden aliases are accepted but not listed in messages and
 * docs. The list ends with a NULL name. */
typedef struct kfk__conf_enum {
    const char *name;
    int64_t value;
    int hidden;
} kfk__conf_enum;

typedef struct kfk__conf_val kfk__conf_val;

typedef struct kfk__conf_prop {
    const char *name;
    kfk__conf_type type;
    unsigned clients; /* KFK__CLIENT_* bits */
    kfk__conf_importance importance;
    unsigned flags;  /* KFK__CONF_F_* */
    const char *def; /* default as text ("" for none), parsed like a value */
    /* A different default for some client kinds (Java's own defaults differ
     * between its producer, consumer and admin configs), applied by
     * kfk__conf_finalize() when the property is not set. */
    unsigned alt_clients;
    const char *alt_def;
    int64_t min, max;           /* INT, LONG, MS */
    double dmin, dmax;          /* DOUBLE */
    const kfk__conf_enum *vals; /* ENUM; LIST of fixed items */
    /* Extra check after parsing (NULL: none): returns 0 or writes why the
     * value is refused ("must be -1 or 1 to 9") and returns -1. */
    int (*check)(const kfk__conf_val *v, char *why, size_t why_size);
    const char *allowed_doc; /* docs: allowed values, when not computed */
    const char *doc;         /* one paragraph, Markdown */
    /* Why the default differs from Apache Kafka 4.0's, NULL when it does
     * not. Printed in docs/CONFIGURATION.md. */
    const char *deviation;
} kfk__conf_prop;

extern const kfk__conf_prop kfk__conf_props[KFK__CONF__COUNT];

/* The id of a property name, or -1. Binary search; names are
 * case-sensitive. */
int kfk__conf_find(const char *name);

/* ---- values -------------------------------------------------------------- */

/* One property's value. Numbers, booleans and enums are in i (bool 0/1,
 * enum value, list of fixed items: the OR of their values); doubles in d.
 * Strings and lists own s (NULL when not set or empty); a list's items
 * are n pointers in the same allocation, NULL-terminated; s is the
 * canonical text ("a,b"). arg is a parameter some enum values carry
 * (auto.offset.reset=by_duration:...: the duration in ms). */
struct kfk__conf_val {
    int64_t i;
    double d;
    char *s;
    char **items;
    int n;
    int64_t arg;
};

/* Where the lead adds callbacks and their opaque pointer (delivery report,
 * error, log, statistics, rebalance, ...). kfk_conf_dup copies this struct
 * as it is: neither the functions nor the opaque pointers are owned. */
typedef struct kfk__conf_cbs {
    /* Callbacks, stored untyped so this header needs no handle types; the
     * kfk_conf_set_*_cb functions set them, each with its own opaque. */
    void (*delivery)(void); /* kfk_delivery_cb (kfk/producer.h) */
    void *delivery_opaque;
    void (*log)(void); /* kfk_log_cb (kfk/client.h) */
    void *log_opaque;
    void (*stats)(void); /* kfk_stats_cb */
    void *stats_opaque;
    void (*error)(void); /* kfk_error_cb */
    void *error_opaque;
    void (*partitioner)(void); /* kfk_partitioner_cb (kfk/producer.h) */
    void *partitioner_opaque;
    void (*rebalance)(void); /* kfk_rebalance_cb (kfk/consumer.h) */
    void *rebalance_opaque;
    void (*commit)(void); /* kfk_commit_cb */
    void *commit_opaque;
    struct {
        char name[64];
        int cooperative;
        void (*cb)(void); /* kfk_assign_cb */
        void *opaque;
    } assignors[4]; /* kfk_conf_add_assignor */
    int nassignors;
} kfk__conf_cbs;

struct kfk_conf {
    kfk__conf_val v[KFK__CONF__COUNT];
    unsigned char set[KFK__CONF__COUNT]; /* 1: set by kfk_conf_set */
    kfk__conf_cbs cbs;
};

/* Typed reads: no lookup, no parse. The property's type must match (see
 * the comment on its id); reading another type gives 0 / NULL. */
static inline int64_t kfk__conf_int(const kfk_conf_t *c, kfk__conf_id id)
{
    return c->v[id].i;
}

static inline double kfk__conf_double(const kfk_conf_t *c, kfk__conf_id id)
{
    return c->v[id].d;
}

/* The string (or a list's canonical text), or NULL when not set. */
static inline const char *kfk__conf_str(const kfk_conf_t *c, kfk__conf_id id)
{
    return c->v[id].s;
}

/* A list's items (NULL-terminated; NULL when empty) and their count. */
static inline char *const *kfk__conf_list(const kfk_conf_t *c, kfk__conf_id id,
                                          int *n)
{
    if (n)
        *n = c->v[id].n;
    return c->v[id].items;
}

static inline int64_t kfk__conf_arg(const kfk_conf_t *c, kfk__conf_id id)
{
    return c->v[id].arg;
}

/* 1 if the application set the property (kfk_conf_set with a value). */
static inline int kfk__conf_is_set(const kfk_conf_t *c, kfk__conf_id id)
{
    return c->set[id];
}

/* Writes the value's text (as kfk_conf_get reads it) into buf, truncated
 * to size; returns the length it needs, without the NUL. */
size_t kfk__conf_format(const kfk_conf_t *c, kfk__conf_id id, char *buf,
                        size_t size);

/* The enum value of name for property id (aliases and case-insensitive
 * spellings included); 0 and *value set when known, -1 otherwise. */
int kfk__conf_enum_value(kfk__conf_id id, const char *name, int64_t *value);

/* Splits a bootstrap.servers item "[scheme://]host:port" (IPv6 hosts in
 * brackets) into host (pointing into item, not NUL-terminated, brackets
 * removed) and port. Returns 0, or -1 when the item is not of that form. */
int kfk__conf_split_hostport(const char *item, const char **host,
                             size_t *host_len, int *port);

/*
 * Applies the rules that span properties for a client of this kind, as the
 * Java client does when it is constructed, and fills in the kind's own
 * defaults of properties that are not set (receive.buffer.bytes is 32768
 * for a producer, 65536 otherwise). Values may change
 * (enable.idempotence turns off when the application set a conflicting
 * acks, retries, without setting enable.idempotence; delivery.timeout.ms
 * grows to linger.ms + request.timeout.ms when it was not set; ...); the
 * "set" marks do not. Call it once, on the client's private copy.
 *
 * Returns KFK_ERR_NONE, or KFK_ERR__INVALID_CONFIG with a message naming
 * every property involved (conf may then be partly updated: discard it).
 */
kfk_err_t kfk__conf_finalize(kfk_conf_t *conf, kfk__client_kind kind,
                             char *errstr, size_t errstr_size);

/* Internal parse/format helpers shared by conf.c and conf_finalize.c. */
kfk_err_t kfk__conf_parse(kfk__conf_id id, const char *text, kfk__conf_val *out,
                          char *errstr, size_t errstr_size);
void kfk__conf_val_clear(kfk__conf_val *v);

#endif
