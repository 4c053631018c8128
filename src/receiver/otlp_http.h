/* otlp_http.h - the built-in OTLP/HTTP receiver (libmicrohttpd): POST
 * /v1/traces with application/x-protobuf or application/json bodies,
 * optionally gzip-encoded, decoded into a spanbuf. Errors are answered
 * with the OTLP status codes and a google.rpc.Status body.
 *
 * The receiver accepts connections itself and hands them to libmicrohttpd
 * serving threads; it keeps every connection's phase and last progress so
 * that slow or idle clients cannot take the receiver from a good exporter:
 * deadlines for headers, for pauses in a body and for idle keep-alive, a
 * cap per client address and a total cap, the most idle connection shed
 * when a cap is reached (docs/receiver.md, "Under load").
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
#define RECV_HTTP_DEFAULT_HEADER_MS 10000            /* accept to request headers complete */
#define RECV_HTTP_DEFAULT_BODY_MS 10000              /* longest pause inside a request body */
#define RECV_HTTP_DEFAULT_IDLE_MS 30000              /* keep-alive connection with no request */
#define RECV_HTTP_DEFAULT_MAX_CONNS 16384
#define RECV_HTTP_DEFAULT_MAX_CONNS_PER_ADDR 1024

typedef struct recv_http recv_http;

typedef struct recv_http_opts {
    size_t max_body;       /* bytes of a decompressed body: 20 MiB (0 = default) */
    size_t max_compressed; /* bytes of a body as received, gzip or not: max_body (0 = default) */
    size_t max_buffered;   /* body bytes held by all connections at once: 8 x max_compressed, at
                              least 64 MiB; past it a request gets 503 and Retry-After */
    unsigned header_timeout_ms; /* a connection's first request headers complete within: 10 s */
    unsigned body_timeout_ms;   /* a request body that pauses this long is cut off: 10 s */
    unsigned idle_timeout_ms;   /* a connection with no request in progress is closed after: 30 s */
    unsigned max_conns;         /* connections at once: 16384, and at most half of what the
                                   descriptor limit leaves; past it the most idle one is shed */
    unsigned max_conns_per_addr; /* connections at once from one client address: 1024; past it
                                   that address's most idle connection is shed */
    unsigned threads;           /* serving threads: the number of CPUs, 2 to 8 (0 = default) */
    const char *token;          /* non-NULL: every request needs Authorization: Bearer TOKEN
                                   (else 401, before its body is read); copied */
    /* Called from the receiver's threads with one line per refused request
     * (status, path, reason) and per server error; NULL: silent. */
    void (*log)(void *user, const char *msg);
    void *log_user;
} recv_http_opts;

/* Whether an Authorization value (len bytes, not NUL-terminated) is
 * "Bearer TOKEN" for this token; constant time in the token's length. */
bool recv_bearer_ok(const char *value, size_t len, const char *token);

typedef struct recv_http_stats {
    uint64_t requests_ok;     /* 200 answers */
    uint64_t requests_failed; /* 4xx and 503 answers */
    uint64_t spans_received;
    uint64_t conns_accepted;  /* connections taken from the listen queue */
    uint64_t conns_shed;      /* closed to make room: over max_conns or max_conns_per_addr */
    uint64_t conns_timed_out; /* closed by a deadline: headers, body pause or idle */
    uint32_t conns_open;      /* connections open now */
} recv_http_stats;

/* Listens on addr ("host:port" or "[v6]:port"; an empty host is
 * 127.0.0.1; port 0 picks a free port) and serves until stopped. opts may
 * be NULL. Returns NULL with e set (the address and the system's reason,
 * e.g. "cannot listen on 127.0.0.1:4318: Address already in use") when it
 * cannot listen. Memory held at once is bounded by max_buffered body bytes
 * plus, per serving thread, one inflated body and its decoded spans. */
recv_http *recv_http_start(const char *addr, spanbuf *buf, const recv_http_opts *opts, tc_error *e);

/* The port it listens on. */
int recv_http_port(const recv_http *r);

void recv_http_get_stats(recv_http *r, recv_http_stats *out);

/* Stops serving (requests in progress are finished or dropped), frees the
 * receiver and sets *r to NULL. Accepts NULL. */
void recv_http_stop(recv_http **r);

#endif
