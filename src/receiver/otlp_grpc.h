/* otlp_grpc.h - the built-in OTLP/gRPC receiver: an HTTP/2 server over
 * cleartext with prior knowledge (h2c, what exporters use with http://
 * endpoints) that accepts TraceService/Export calls and adds their spans
 * to a spanbuf. One thread runs an epoll loop over non-blocking sockets
 * (HTTP/2 framing, caps, deadlines); a small pool of decode threads turns
 * complete requests into spans. One slow or hostile client never blocks
 * the others: connections past a cap shed the one idle the longest, every
 * phase of a connection has a deadline, and floods of control frames end
 * the connection that sends them.
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
#define RECV_GRPC_DEFAULT_MAX_QUEUED ((size_t)64 << 20)
#define RECV_GRPC_DEFAULT_MAX_CONNS 16384
#define RECV_GRPC_DEFAULT_MAX_CONNS_PER_ADDR 1024
#define RECV_GRPC_DEFAULT_MAX_STREAMS 100
#define RECV_GRPC_DEFAULT_HEADER_MS 10000
#define RECV_GRPC_DEFAULT_BODY_MS 10000
#define RECV_GRPC_DEFAULT_IDLE_MS 60000
#define RECV_GRPC_DEFAULT_REQUEST_MS 30000
#define RECV_GRPC_MAX_DECODE_THREADS 16
/* descriptors left to the rest of the process: max_conns is at most
 * (RLIMIT_NOFILE soft limit - RECV_GRPC_FD_RESERVE) / 2 */
#define RECV_GRPC_FD_RESERVE 256

typedef struct recv_grpc recv_grpc;

/* Settings; a zero field takes its default. */
typedef struct recv_grpc_opts {
    size_t max_message;          /* bytes of a request's messages, and of each one inflated: 4 MiB */
    size_t max_conn_bytes;       /* request bytes held per connection (its HTTP/2 window): 4 x max_message */
    size_t max_queued;           /* request bytes waiting for or under decoding, all connections: 64 MiB */
    unsigned max_conns;          /* open connections: 16384, never more than the descriptor limit allows */
    unsigned max_conns_per_addr; /* open connections from one client address: 1024 */
    unsigned max_streams;        /* concurrent calls per connection: 100 */
    unsigned decode_threads;     /* threads decoding requests: one per online CPU (at most 16) */
    unsigned header_timeout_ms;  /* HTTP/2 preface and first SETTINGS due after accept: 10 s */
    unsigned body_timeout_ms;    /* a call's request data must progress this often: 10 s */
    unsigned idle_timeout_ms;    /* no open call and no progress for this long: GOAWAY and close: 60 s */
    unsigned request_timeout_ms; /* a call not complete after this long: DEADLINE_EXCEEDED: 30 s */
    const char *token;           /* non-NULL: every call needs authorization: Bearer TOKEN (else
                                    UNAUTHENTICATED before its body is read); copied */
} recv_grpc_opts;

typedef struct recv_grpc_stats {
    uint64_t conns_accepted; /* connections served */
    uint64_t conns_refused;  /* closed at once: no memory or descriptor to serve them */
    uint64_t conns_shed;     /* closed to make room for a new one (a cap was reached) */
    uint64_t conns_dropped;  /* closed for a protocol error or a deadline */
    uint64_t conns_flooded;  /* closed for a flood (control frames, resets, unread ACKs) */
    uint64_t calls_ok;       /* Export calls answered with grpc-status 0 */
    uint64_t calls_failed;   /* calls answered with another status */
    uint64_t spans_received; /* spans decoded from accepted calls */
    uint32_t conns_open;     /* connections open now */
    uint32_t conns_cap;      /* max_conns in effect (after the descriptor limit) */
} recv_grpc_stats;

/* Listens on addr ("host:port", "[v6]:port"; an empty host is 127.0.0.1,
 * port 0 an ephemeral port: ":0") and starts the receiver threads, which
 * add every exported span to buf. opts may be NULL (all defaults).
 * Returns the receiver, or NULL with e set: TC_ERR_INPUT for a malformed
 * address, TC_ERR_IO when resolving, binding or listening fails (the
 * message names the address and the system's reason) or a thread cannot
 * start, TC_ERR_NOMEM. */
recv_grpc *recv_grpc_start(const char *addr, spanbuf *buf, const recv_grpc_opts *opts, tc_error *e);

/* The port the receiver listens on (useful after ":0"). */
int recv_grpc_port(const recv_grpc *r);

/* Copies the receiver's counters into *out (a consistent snapshot). */
void recv_grpc_get_stats(recv_grpc *r, recv_grpc_stats *out);

/* Wakes the receiver's threads, waits for them to end, closes every
 * connection (calls in progress are dropped) and frees the receiver. Sets
 * *r to NULL; accepts NULL and *r == NULL. */
void recv_grpc_stop(recv_grpc **r);

#endif
