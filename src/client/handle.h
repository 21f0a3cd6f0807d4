/*
 * handle.h: struct kfk, the public handle, as every kind of client shares
 * it: the configuration, the name, the client core (I/O thread, brokers,
 * metadata), the logger and the event queue kfk_poll serves, the fatal
 * error, and statistics. The kind (producer, later consumer and admin)
 * hangs its own state on impl and hooks into poll, statistics and
 * destroy through kfk__handle_ops.
 */
#ifndef KFK_CLIENT_HANDLE_H
#define KFK_CLIENT_HANDLE_H

#include <pthread.h>
#include <stdbool.h>

#include <kfk/client.h>

#include "client/client.h"
#include "client/conf_int.h"
#include "client/evq.h"
#include "client/log.h"

typedef struct kfk__handle_ops {
    const char *kind; /* "producer", "consumer", "admin" */
    /* Serves up to what is there of the kind's own work (delivery
     * reports); returns how many. NULL: none. */
    int (*serve)(kfk_t *k);
    /* I/O thread: adds the kind's statistics to root (a json_t *). */
    void (*stats)(kfk_t *k, void *root);
    /* Closes (as kfk_destroy does without kfk_close), stops what runs on
     * the I/O thread, and after the client core is gone frees impl. */
    void (*close)(kfk_t *k);
    void (*free)(kfk_t *k);
} kfk__handle_ops;

struct kfk {
    const kfk__handle_ops *ops;
    void *impl;
    kfk_conf_t *conf;
    char name[256];
    char *bootstrap; /* the list as one string for the client core */
    kfk__client *client;
    kfk__evq evq;
    bool evq_ready;
    kfk__log log;
    int64_t created_ms; /* monotonic, for statistics' age */

    pthread_mutex_t fatal_mu;
    kfk_err_t fatal; /* atomic read: KFK_ERR_NONE while the handle works */
    char fatal_reason[512];
};

/* The first steps of every kfk_*_new: points *errstr at scratch when the
 * caller gave none (so messages can always be written), refuses a NULL
 * conf, and allocates the handle with the kind's zeroed state (impl_size
 * bytes) in k->impl. NULL with the reason in *errstr on failure. */
kfk_t *kfk__handle_alloc(const kfk_conf_t *conf, size_t impl_size, const char *fn,
                         char **errstr, size_t *errstr_size, char *scratch,
                         size_t scratch_size);

/* Makes the common part: copies conf, finalises it for kind (errstr
 * names a bad property), names the handle, sets up logging and the event
 * queue. Does not start the client core: fill what the kind adds to
 * *cc after kfk__handle_client_conf, then call kfk__handle_start.
 * Returns 0 or a kfk_err_t with errstr set. On error, free k with
 * kfk__handle_free. */
int kfk__handle_init(kfk_t *k, const kfk__handle_ops *ops, int client_kind,
                     const kfk_conf_t *conf, char *errstr, size_t errstr_size);

/* Fills the client core's configuration from the handle's. */
void kfk__handle_client_conf(kfk_t *k, kfk__client_conf *cc);

/* Starts the client core. Returns 0 or a kfk_err_t with errstr set. */
int kfk__handle_start(kfk_t *k, const kfk__client_conf *cc, char *errstr,
                      size_t errstr_size);

/* Frees the common part (after the kind freed its own). */
void kfk__handle_free(kfk_t *k);

/* Any thread: the handle failed for good with err. The first call wins;
 * it logs and queues an error event. */
void kfk__handle_set_fatal(kfk_t *k, kfk_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The handle's fatal error or KFK_ERR_NONE. Any thread. */
static inline kfk_err_t kfk__handle_fatal(const kfk_t *k)
{
    return (kfk_err_t)__atomic_load_n(&k->fatal, __ATOMIC_ACQUIRE);
}

#endif
