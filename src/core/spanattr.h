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

/* A key resolved once for many lookups (a selector filter, an assertion's
 * attr:): which computed value it names, if any, and a small memo of its
 * lookups in resources and scopes, which many spans share. Lookups through
 * a key give the same answers as spanattr_get. Not thread-safe. */
#define SPANATTR_MEMO 64
typedef struct spanattr_key {
    const char *key;
    size_t n;
    int computed; /* index of a computed value, -1 for none */
    int col;      /* its column in a spanattr_table, -1 for none */
    uint64_t bloom[2]; /* the key's bit in a span's key filter */
    struct {
        const void *owner;  /* a resource or scope; NULL = empty slot */
        const tc_attr *hit; /* the key's attribute there, NULL = absent */
    } memo[SPANATTR_MEMO];
} spanattr_key;

/* Prepares a key (key[0..n) must outlive it). */
void spanattr_key_init(spanattr_key *k, const char *key, size_t n);

/* As spanattr_get, through a prepared key. */
int spanattr_get_key(arena *a, const trace_span *sp, spanattr_key *k, tc_value *out);

/* A table of where keys sit among the spans' own attributes, for many
 * lookups on one trace: filled by one pass over the spans (each span's
 * attributes scanned once for all keys), it turns a lookup's scan of the
 * span's attributes into one array read. Owns its memory (heap); keys
 * added must outlive it. Not thread-safe. */
typedef struct spanattr_table spanattr_table;

#define SPANATTR_TABLE_MAX ((size_t)128 << 20) /* bytes of one table's rows */

/* A new empty table, or NULL when out of memory. */
spanattr_table *spanattr_table_new(void);

/* Frees a table and sets *tb to NULL. Accepts NULL. */
void spanattr_table_free(spanattr_table **tb);

/* Makes k a column of tb (sets k->col; the same key text added twice shares
 * a column). Computed keys get none. Call before spanattr_table_fill.
 * Returns 0 or TC_ERR_NOMEM. */
int spanattr_table_add(spanattr_table *tb, spanattr_key *k);

/* Prepares tb's rows for trace t (indexed; t must outlive the table's use),
 * every span unrecorded (lookups scan) until spanattr_table_fill_span.
 * Keys can no longer be added. Returns 0, TC_ERR_NOMEM, or TC_ERR_LIMIT
 * when the rows would pass SPANATTR_TABLE_MAX (then tb stays unused and
 * lookups scan). */
int spanattr_table_begin(spanattr_table *tb, const trace *t);

/* Records where sp (a span of the begun trace) has each key: one scan of
 * its attributes; its resource's and scope's are scanned once per table.
 * Out of memory leaves spans unrecorded. */
void spanattr_table_fill_span(spanattr_table *tb, const trace_span *sp);

/* The state that filling rows writes besides the rows (which keys are
 * columns, the resources' and scopes' rows): one per thread when several
 * threads fill rows of one table at once, each its own spans. Owns its
 * memory (heap). */
typedef struct spanattr_filler spanattr_filler;

/* A new filler, or NULL when out of memory. */
spanattr_filler *spanattr_filler_new(void);

/* Frees a filler and sets *f to NULL. Accepts NULL. */
void spanattr_filler_free(spanattr_filler **f);

/* As spanattr_table_fill_span, with f's state: writes only sp's row and f,
 * so threads with their own fillers may fill distinct spans at once. */
void spanattr_table_fill_span_by(const spanattr_table *tb, spanattr_filler *f, const trace_span *sp);

/* Starts loading what lookups of sp through tb will read: stage 0 its
 * row, stage 1 (the row loaded by then) its attributes the row points to.
 * Only a hint: no effect on results. */
void spanattr_table_prefetch(const spanattr_table *tb, const trace_span *sp, int stage);

/* When k's value on sp (a span tb recorded) is one many spans share, an
 * address that stands for it: the resource's or scope's attribute, or the
 * name of the span's type. NULL for a value of the span's own (or absent,
 * or a span tb did not record). Two lookups with the same address give
 * the same value. Writes nothing. */
const void *spanattr_table_shared(const spanattr_table *tb, const trace_span *sp, const spanattr_key *k);

/* Starts loading k's attribute on sp (stage 0; the row loaded by then),
 * or the text of its value (stage 1; the attribute loaded by then). Only a
 * hint. */
void spanattr_table_prefetch_key(const spanattr_table *tb, const trace_span *sp, const spanattr_key *k, int stage);

/* Starts loading the whole of a span (the fields lookups read span
 * several cache lines). Only a hint. */
void spanattr_prefetch_span(const trace_span *sp);

/* spanattr_table_begin, then every span of t recorded. */
int spanattr_table_fill(spanattr_table *tb, const trace *t);

/* As spanattr_get_key, reading the span's own attribute from tb when tb
 * (may be NULL) was filled for the span's trace and k is one of its
 * columns. */
int spanattr_get_key_in(arena *a, const trace_span *sp, spanattr_key *k, const spanattr_table *tb,
                        tc_value *out);

/* As spanattr_get_key_in, writing nothing: no computed value or key memo
 * is cached, so several threads may look up at once (while no thread
 * writes the caches or fills tb). A computed value not cached yet is built
 * in scratch on every call; a span tb has no row for is scanned. */
int spanattr_get_key_ro(arena *scratch, const trace_span *sp, const spanattr_key *k, const spanattr_table *tb,
                        tc_value *out);

/* The span type Tracetest assigns: "http", "database", "rpc", "messaging",
 * "faas", "exception" or "general". */
const char *spanattr_type(const trace_span *sp);

/* Kind as Tracetest spells it: "server", "client", "producer", "consumer",
 * "internal", "unespecified" (sic). */
const char *spanattr_kind(const trace_span *sp);

/* Calls fn for every attribute name and value a spec can see on sp (each
 * name once, with the value spanattr_get returns): the computed values,
 * then the resource's, the scope's and the span's attributes not shadowed,
 * then service.name from the scope name when nothing else has it. The
 * aliases `name` and `kind` are not listed (they repeat tracetest.span.name
 * and tracetest.span.kind). Linear in the number of attributes; scratch
 * memory is the heap's. Returns 0 or TC_ERR_NOMEM. */
int spanattr_each(arena *a, const trace_span *sp,
                  void (*fn)(void *user, const char *key, const tc_value *v), void *user);

#endif
