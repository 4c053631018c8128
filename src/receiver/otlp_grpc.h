/* otlp_grpc.h - the built-in OTLP/gRPC receiver: an HTTP/2 server over
 * cleartext with prior knowledge (h2c, what exporters use with http://
 * endpoints) that accepts TraceService/Export calls and adds their spans
 * to a spanbuf. It runs on its own thread with a poll() loop over
 * non-blocking sockets; one slow or hostile client never blocks the others.
 *
 * Ownership: recv_grpc_start returns a receiver the caller stops with
 * recv_grpc_stop. The spanbuf stays the caller's and must outlive the
 * receiver. The receiver writes nothing to stdout or stderr.
 *
 * Threading: start, port, stats and stop may be called from any thread,
 * but stop only once and not concurrently with the others. */
#ifndef TC_OTLP_GRPC_H
#define TC_OTLP_GRPC_H

#include "core/error.h"
#include "receiver/spanbuf.h"

#include <stddef.h>
#include <stdint.h>

#define RECV_GRPC_DEFAULT_MAX_MESSAGE ((size_t)4 << 20)
#define RECV_GRPC_DEFAULT_MAX_CONNS 256
#define RECV_GRPC_DEFAULT_MAX_STREAMS 100
#define RECV_GRPC_DEFAULT_IDLE_MS 60000
#define RECV_GRPC_DEFAULT_REQUEST_MS 30000

typedef struct recv_grpc recv_grpc;

/* Settings; a zero field takes its default. */
typedef struct recv_grpc_opts {
    size_t max_message;          /* bytes of a request's messages, and of each one inflated: 4 MiB */
    size_t max_conn_bytes;       /* request bytes buffered per connection: 4 x max_message */
    unsigned max_conns;          /* open connections; more are accepted and closed at once: 256 */
    unsigned max_streams;        /* concurrent calls per connection: 100 */
    unsigned idle_timeout_ms;    /* nothing received for this long: GOAWAY and close: 60 s */
    unsigned request_timeout_ms; /* a call not complete after this long: DEADLINE_EXCEEDED: 30 s */
} recv_grpc_opts;

typedef struct recv_grpc_stats {
    uint64_t conns_accepted;  /* connections served */
    uint64_t conns_refused;   /* closed at once: over max_conns */
    uint64_t conns_dropped;   /* closed for a protocol error (e.g. no HTTP/2 preface) or a timeout */
    uint64_t calls_ok;        /* Export calls answered with grpc-status 0 */
    uint64_t calls_failed;    /* calls answered with another status */
    uint64_t spans_received;  /* spans decoded from accepted calls */
    uint32_t conns_open;      /* connections open now */
} recv_grpc_stats;

/* Listens on addr ("host:port", "[v6]:port"; an empty host is 127.0.0.1,
 * port 0 an ephemeral port: ":0") and starts the receiver thread, which
 * adds every exported span to buf. opts may be NULL (all defaults).
 * Returns the receiver, or NULL with e set: TC_ERR_INPUT for a malformed
 * address, TC_ERR_IO when resolving, binding or listening fails (the
 * message names the address and the system's reason), TC_ERR_NOMEM. */
recv_grpc *recv_grpc_start(const char *addr, spanbuf *buf, const recv_grpc_opts *opts, tc_error *e);

/* The port the receiver listens on (useful after ":0"). */
int recv_grpc_port(const recv_grpc *r);

/* Copies the receiver's counters into *out (a consistent snapshot). */
void recv_grpc_get_stats(recv_grpc *r, recv_grpc_stats *out);

/* Wakes the receiver thread, waits for it to end, closes every connection
 * (calls in progress are dropped) and frees the receiver. Sets *r to NULL;
 * accepts NULL and *r == NULL. */
void recv_grpc_stop(recv_grpc **r);

#endif
