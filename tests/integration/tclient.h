/*
 * tclient.h: a deliberately simple, blocking Kafka protocol client for the
 * integration tests: one socket, one request at a time, the real codec on
 * both sides. It is what the tests use to poke the reference broker before
 * (and independently of) the library's own client.
 */
#ifndef KFK_TEST_TCLIENT_H
#define KFK_TEST_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h"
#include "proto/gen/all.h"
#include "proto/record.h"

typedef struct tclient {
    int fd;
    int32_t corr;
    kfk__arena arena; /* responses of the last call */
    uint8_t *frame;   /* bytes the last response points into */
} tclient;

/* Connects to "host:port" (or the first entry of a bootstrap list).
 * Returns 0 or -1. */
int tclient_connect(tclient *t, const char *bootstrap);
/* Connects to the broker with this node id as listed in a bootstrap list
 * (1-based position). */
int tclient_connect_nth(tclient *t, const char *bootstrap, int nth);
void tclient_close(tclient *t);

/* Sends body as api_key/version and waits up to 10 s for the response,
 * decoded into *resp (valid until the next call). Returns 0, a kfk_err_t
 * from the codec, or KFK_ERR__TRANSPORT when the connection closed or
 * timed out. */
int tclient_call(tclient *t, int16_t api_key, int16_t version, const void *body,
                 void **resp);

/* Sends raw bytes (a whole frame including its size) and reads a response
 * frame; returns its length, 0 when the broker closed the connection, -1
 * on timeout. */
long tclient_raw(tclient *t, const void *frame, size_t len, uint8_t **out);

/* A plain, sessionless Fetch v12 of one partition from offset (no
 * waiting). NULL if the call failed; the response lives until the next
 * call. */
kfk__fetch_response *tclient_fetch(tclient *t, const char *topic,
                                   int32_t partition, int64_t offset,
                                   int32_t max_bytes);

/* Calls fn for every record of a records blob (any codec), checking each
 * batch's shape and CRC. Returns the number of records, or -1 at a bad
 * batch. */
int tclient_each_record(kfk__bytes records,
                        void (*fn)(const kfk__record *rec, void *arg),
                        void *arg);

/* Waits up to ms for the broker to close the connection; true if it did. */
bool tclient_closed(tclient *t, int ms);

#endif
