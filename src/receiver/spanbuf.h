/* spanbuf.h - the built-in receiver's span store: spans grouped by trace id
 * as they arrive from any number of exporter connections, and the place a
 * run waits for its trace. Memory is bounded: past the byte cap the traces
 * nobody waits for are dropped, least recently updated first, so spans
 * exported before a run starts waiting are kept while there is room.
 *
 * Batches are kept as they were decoded, not copied: a trace's spans are
 * the spans of that trace id in every batch that held some, and a batch is
 * freed when no trace it holds is kept any more. The cap is checked for a
 * whole batch before it is taken in; the bookkeeping added then (span id
 * sets, batch lists) may pass it by a few kilobytes.
 *
 * Threading: every function is safe to call from any thread; the lock is
 * held for bookkeeping only, never while spans are decoded or copied in.
 * Ownership: spanbuf_add_owned takes the batch; spanbuf_add copies it;
 * spanbuf_snapshot copies spans out. */
#ifndef TC_SPANBUF_H
#define TC_SPANBUF_H

#include "core/trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPANBUF_DEFAULT_MAX_BYTES ((size_t)256 << 20)

typedef struct spanbuf spanbuf;

typedef struct spanbuf_stats {
    uint64_t spans_accepted;   /* spans copied in since creation */
    uint64_t spans_rejected;   /* spans refused (no room even after eviction) */
    uint64_t traces_evicted;   /* traces dropped to make room */
    uint32_t traces;           /* traces held now */
    size_t bytes;              /* bytes held now */
} spanbuf_stats;

/* A new buffer holding at most max_bytes (0: SPANBUF_DEFAULT_MAX_BYTES).
 * NULL when out of memory. */
spanbuf *spanbuf_new(size_t max_bytes);

/* Frees the buffer; no thread may be using it. Sets *b to NULL. */
void spanbuf_free(spanbuf **b);

/* Takes the decoded batch *batch (sets *batch to NULL; it is freed when no
 * longer needed) and adds its spans to the traces of their trace ids (a
 * repeated span id replaces the earlier copy in snapshots) and wakes the
 * waiters. When the cap would be passed, unwatched traces are evicted
 * oldest first; a batch that still does not fit is rejected whole.
 * *accepted / *rejected (may be NULL) get the span counts. Returns 0 or
 * TC_ERR_NOMEM. */
int spanbuf_add_owned(spanbuf *b, trace_set **batch, uint32_t *accepted, uint32_t *rejected);

/* As spanbuf_add_owned with a copy of `batch`, which stays the caller's. */
int spanbuf_add(spanbuf *b, trace_set *batch, uint32_t *accepted, uint32_t *rejected);

/* Marks a trace id as awaited: it is never evicted while a watch is on
 * (watches count: each watch is ended by one forget or unwatch). */
int spanbuf_watch(spanbuf *b, const uint8_t id[TRACE_ID_LEN]);
/* Ends a watch; the last one drops the trace's spans. */
void spanbuf_forget(spanbuf *b, const uint8_t id[TRACE_ID_LEN]);
/* Ends a watch and keeps the spans, evictable and expirable again like a
 * trace nobody waits for (a trace that came from outside may be run on
 * again). */
void spanbuf_unwatch(spanbuf *b, const uint8_t id[TRACE_ID_LEN]);

/* Blocks until a span of the trace arrives later than after_ns (a time of
 * spanbuf_now_ns(); 0 = any span already held counts) or the monotonic
 * clock reaches deadline_ns. Returns the trace's span count now; *last_ns
 * (may be NULL) gets the time its last span arrived (0 when none). A
 * retried span that replaces its copy counts as an arrival. */
uint32_t spanbuf_wait(spanbuf *b, const uint8_t id[TRACE_ID_LEN], uint64_t after_ns, uint64_t deadline_ns,
                      uint64_t *last_ns);

/* Copies the trace's spans into dst (a caller-owned set). Returns the
 * number of spans copied, or -1 when out of memory. */
long spanbuf_snapshot(spanbuf *b, const uint8_t id[TRACE_ID_LEN], trace_set *dst);

/* Drops the traces nobody watches whose last span arrived before
 * before_ns (a time of spanbuf_now_ns()), oldest first: a long-running
 * receiver keeps unwatched spans for a while, not until the cap. Returns
 * how many traces were dropped (counted in traces_evicted). */
uint32_t spanbuf_expire(spanbuf *b, uint64_t before_ns);

void spanbuf_get_stats(spanbuf *b, spanbuf_stats *out);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t spanbuf_now_ns(void);

#endif
