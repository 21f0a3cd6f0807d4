/*
 * kfk/client.h: what every client handle (kfk_t: a producer now, a
 * consumer and an admin client later) has: callbacks for logs,
 * statistics and errors, its name, and kfk_poll, which serves them.
 *
 * Callbacks run only inside the application's own calls (kfk_poll, and
 * the calls documented to serve them, such as kfk_flush), on the calling
 * thread, never on the library's I/O thread. A callback may call any kfk
 * function on the same handle except kfk_destroy.
 */
#ifndef KFK_CLIENT_H
#define KFK_CLIENT_H

#include <kfk/common.h>
#include <kfk/conf.h>
#include <kfk/error.h>

typedef struct kfk kfk_t;

/* ---- logging ------------------------------------------------------------ */

/* Log levels, syslog's numbers. */
#define KFK_LOG_ERR 3
#define KFK_LOG_WARNING 4
#define KFK_LOG_NOTICE 5
#define KFK_LOG_INFO 6
#define KFK_LOG_DEBUG 7

/* One log line: level (KFK_LOG_*), context ("broker", "metadata",
 * "producer", ... as `debug` names them; "" for none) and the message.
 * The strings are valid during the call only. */
typedef void(kfk_log_cb)(kfk_t *k, int level, const char *context,
                         const char *message, void *opaque);

/* Routes the handle's log lines (up to log.level, plus the debug contexts
 * turned on in `debug`) to cb, served by kfk_poll. Up to 10,000 lines
 * wait for a poll; beyond that lines are dropped and the next one served
 * says how many. Without a log callback, warnings and errors (and the
 * debug contexts turned on) go to stderr. cb NULL restores that. Returns
 * KFK_ERR_NONE or KFK_ERR__INVALID_ARG (conf NULL). */
KFK_API kfk_err_t kfk_conf_set_log_cb(kfk_conf_t *conf, kfk_log_cb *cb,
                                      void *opaque);

/* ---- statistics ----------------------------------------------------------- */

/* One statistics report: a JSON object (NUL-terminated, json_len bytes),
 * valid during the call only. Its fields are in docs/STATISTICS.md. */
typedef void(kfk_stats_cb)(kfk_t *k, const char *json, size_t json_len,
                           void *opaque);

/* Emits statistics every statistics.interval.ms (which must be > 0 for
 * any to come) through cb, served by kfk_poll. Returns KFK_ERR_NONE or
 * KFK_ERR__INVALID_ARG (conf NULL). */
KFK_API kfk_err_t kfk_conf_set_stats_cb(kfk_conf_t *conf, kfk_stats_cb *cb,
                                        void *opaque);

/* ---- errors ------------------------------------------------------------- */

/* An error that belongs to no single call or message: KFK_ERR__FATAL when
 * the handle can no longer work (see kfk_fatal_error), or a warning about
 * the cluster that the handle keeps retrying through. */
typedef void(kfk_error_cb)(kfk_t *k, kfk_err_t err, const char *reason,
                           void *opaque);

/* Sets the error callback, served by kfk_poll. Without one, such errors
 * are logged. Returns KFK_ERR_NONE or KFK_ERR__INVALID_ARG. */
KFK_API kfk_err_t kfk_conf_set_error_cb(kfk_conf_t *conf, kfk_error_cb *cb,
                                        void *opaque);

/* KFK_ERR_NONE while the handle works. Once a fatal error happened (for
 * an idempotent producer: the cluster refused it a producer id for good,
 * or fenced it), returns the error that caused it and writes its reason
 * to errstr (if non-NULL). Any thread. */
KFK_API kfk_err_t kfk_fatal_error(kfk_t *k, char *errstr, size_t errstr_size);

/* ---- the handle ----------------------------------------------------------- */

/* The handle's name: client.id, or "producer-N" (N counting handles of
 * that kind in the process) when client.id is not set, as the Java
 * client does. Valid until kfk_destroy. Any thread. */
KFK_API const char *kfk_name(const kfk_t *k);

/* Serves what is waiting for the application: log lines, statistics,
 * errors, and a producer's delivery reports. Waits up to timeout_ms (0 =
 * don't wait, -1 = forever) for the first, then serves what is there.
 * Returns the number of callbacks served (delivery reports, log lines,
 * statistics, errors). Any thread; callbacks run on it. */
KFK_API int kfk_poll(kfk_t *k, int timeout_ms);

/* Closes the handle if kfk_close was not called (a producer: with a 30 s
 * timeout), stops the I/O thread and frees everything. Callbacks still
 * waiting are not served. NULL is fine. Must be the last call on k, from
 * one thread. */
KFK_API void kfk_destroy(kfk_t *k);

#endif
