/* otlp_http.h - the built-in OTLP/HTTP receiver (libmicrohttpd): POST
 * /v1/traces with application/x-protobuf or application/json bodies,
 * optionally gzip-encoded, decoded into a spanbuf. Errors are answered
 * with the OTLP status codes and a google.rpc.Status body.
 *
 * Ownership: recv_http_start returns a receiver the caller stops with
 * recv_http_stop; the spanbuf stays the caller's and must outlive it.
 * Threading: the receiver serves from its own threads; start and stop are
 * called from one thread. It writes nothing to stdout or stderr. */
#ifndef TC_OTLP_HTTP_H
#define TC_OTLP_HTTP_H

#include "core/error.h"
#include "receiver/spanbuf.h"

#include <stddef.h>
#include <stdint.h>

#define RECV_HTTP_DEFAULT_MAX_BODY ((size_t)20 << 20) /* decompressed */
#define RECV_HTTP_DEFAULT_TIMEOUT_S 10                 /* an idle connection is closed */
#define RECV_HTTP_DEFAULT_MAX_CONNS 256
#define RECV_HTTP_THREADS 2

typedef struct recv_http recv_http;

typedef struct recv_http_opts {
    size_t max_body;       /* bytes of a decompressed body: 20 MiB (0 = default) */
    size_t max_compressed; /* bytes of a body as received, gzip or not: max_body (0 = default) */
    unsigned timeout_s;    /* idle connection timeout: 10 s */
    unsigned max_conns;    /* concurrent connections: 256; more wait in the listen queue */
    /* Called from the receiver's threads with one line per refused request
     * (status, path, reason) and per server error; NULL: silent. */
    void (*log)(void *user, const char *msg);
    void *log_user;
} recv_http_opts;

typedef struct recv_http_stats {
    uint64_t requests_ok;     /* 200 answers */
    uint64_t requests_failed; /* 4xx and 503 answers */
    uint64_t spans_received;
} recv_http_stats;

/* Listens on addr ("host:port" or "[v6]:port"; an empty host is
 * 127.0.0.1; port 0 picks a free port) and serves until stopped. opts may
 * be NULL. Returns NULL with e set (the address and the system's reason,
 * e.g. "cannot listen on 127.0.0.1:4318: Address already in use") when it
 * cannot listen. Memory held at once is bounded by max_conns bodies of
 * max_compressed bytes plus, per serving thread, one inflated body and its
 * decoded spans. */
recv_http *recv_http_start(const char *addr, spanbuf *buf, const recv_http_opts *opts, tc_error *e);

/* The port it listens on. */
int recv_http_port(const recv_http *r);

void recv_http_get_stats(recv_http *r, recv_http_stats *out);

/* Stops serving (requests in progress are finished or dropped), frees the
 * receiver and sets *r to NULL. Accepts NULL. */
void recv_http_stop(recv_http **r);

#endif
