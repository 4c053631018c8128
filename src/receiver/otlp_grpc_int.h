/* otlp_grpc_int.h - the OTLP/gRPC receiver's protocol handling without
 * sockets or threads, for the fuzz harness and tests.
 * Ownership: nothing is kept; buf stays the caller's. */
#ifndef TC_OTLP_GRPC_INT_H
#define TC_OTLP_GRPC_INT_H

#include "receiver/otlp_grpc.h"

#include <stddef.h>
#include <stdint.h>

/* Feeds `data` (what a client sends after connecting, preface included) to
 * one server session as the receiver's loop would, in pieces, serializing
 * and discarding the answers; complete calls are decoded at once on the
 * calling thread (no decode threads, no timers) and their spans go to buf.
 * Returns 0, or -1 when the session ends the connection (a protocol error,
 * a flood limit) or memory runs out. */
int recv_grpc_feed(spanbuf *buf, const recv_grpc_opts *opts, const uint8_t *data, size_t len);

#endif
