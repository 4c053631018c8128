/* spanattr.h - a span's attributes as specs see them (Tracetest's view):
 * the computed tracetest.span.* values and span.events, then the resource's,
 * the scope's and the span's own attributes (in that order of precedence,
 * as Tracetest merges them), then `name` and `kind`.
 *
 * Ownership: computed values are built once per span into the arena given
 * on first use and cached on the span (trace_span.ext), so the same arena
 * (normally the trace set's) must be passed for a span every time and must
 * outlive the cache. Not thread-safe: the first lookup writes the cache. */
#ifndef TC_SPANATTR_H
#define TC_SPANATTR_H

#include "arena.h"
#include "trace.h"
#include "value.h"

#include <stddef.h>

/* Looks key[0..n) up on sp. Returns 0 with *out set (pointing into the
 * span, its resource/scope or the arena), 1 when the span has no such
 * attribute, or TC_ERR_NOMEM. */
int spanattr_get(arena *a, const trace_span *sp, const char *key, size_t n, tc_value *out);

/* The span type Tracetest assigns: "http", "database", "rpc", "messaging",
 * "faas", "exception" or "general". */
const char *spanattr_type(const trace_span *sp);

/* Kind as Tracetest spells it: "server", "client", "producer", "consumer",
 * "internal", "unespecified" (sic). */
const char *spanattr_kind(const trace_span *sp);

/* Calls fn for every attribute name and value a spec can see on sp (each
 * name once, with the value spanattr_get returns). Returns 0 or
 * TC_ERR_NOMEM. */
int spanattr_each(arena *a, const trace_span *sp,
                  void (*fn)(void *user, const char *key, const tc_value *v), void *user);

#endif
