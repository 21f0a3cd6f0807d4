/*
 * sender.h: the producer's I/O-thread half. It asks the accumulator which
 * leaders have batches ready, drains them into Produce requests (one per
 * broker at a time up to the in-flight limit), and completes each batch
 * from the response: success, retry (with backoff, following leader moves
 * at once via KIP-951 hints or a metadata refresh), or failure. With
 * idempotence it gets the producer id first and bumps the epoch locally
 * when a sequence gap makes that necessary (KIP-360).
 */
#ifndef KFK_PRODUCER_SENDER_H
#define KFK_PRODUCER_SENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/handle.h"
#include "producer/accumulator.h"

typedef struct kfk__sender kfk__sender;

typedef struct kfk__sender_conf {
    int16_t acks;               /* -1, 0, 1 */
    int32_t request_timeout_ms; /* the Produce request's timeout */
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    int32_t max_request_size;
    int32_t max_inflight; /* Produce requests per broker */
    bool idempotence;
    kfk_t *handle; /* for fatal errors and logging */
} kfk__sender_conf;

/* Creates the sender; it starts on the client's I/O thread (posted).
 * The client and accumulator must outlive it. Returns 0 or a kfk_err_t. */
int kfk__sender_new(kfk__client *c, kfk__accum *acc, const kfk__sender_conf *conf,
                    kfk__sender **out);

/* Any thread: something may be ready to send (a full batch, a flush). */
void kfk__sender_wakeup(kfk__sender *s);

/* Any thread: true once everything in flight came back (for close). */
bool kfk__sender_idle(kfk__sender *s);

/* Any thread: stops the sender (its timer goes, posted to the I/O
 * thread). Call before kfk__client_free. */
void kfk__sender_stop(kfk__sender *s);

/* Frees the sender. Call after kfk__client_free (the I/O thread is gone
 * and every request was answered). NULL is fine. */
void kfk__sender_free(kfk__sender *s);

#endif
