/* trace.h - the in-memory trace model: spans grouped by trace id, with
 * resources and scopes shared by the spans of a batch, and indexes (span by
 * id, children by start time, pre-order, roots, orphans) built once.
 *
 * Ownership: a trace_set owns one arena; every span, string, attribute,
 * resource, scope and trace in it lives until trace_set_free(). Decoders
 * allocate the pieces of a span from trace_set_arena() and hand the span to
 * trace_set_add_span(). Pointers into the set stay valid until it is freed
 * (adding spans never moves a span; it may move the traces' span arrays).
 *
 * Threading: none; a set is used by one thread at a time. */
#ifndef TC_TRACE_H
#define TC_TRACE_H

#include "arena.h"
#include "error.h"
#include "value.h"

#include <stdbool.h>
#include <stdint.h>

#define TRACE_ID_LEN 16
#define SPAN_ID_LEN 8

/* Limits of the model itself (decoders have their own, in codec/limits.h). */
#define TRACE_MAX_SPANS_PER_SET (16u * 1024 * 1024)

typedef enum trace_kind {
    TRACE_KIND_UNSPECIFIED = 0,
    TRACE_KIND_INTERNAL = 1,
    TRACE_KIND_SERVER = 2,
    TRACE_KIND_CLIENT = 3,
    TRACE_KIND_PRODUCER = 4,
    TRACE_KIND_CONSUMER = 5,
} trace_kind;

typedef enum trace_status {
    TRACE_STATUS_UNSET = 0,
    TRACE_STATUS_OK = 1,
    TRACE_STATUS_ERROR = 2,
} trace_status;

typedef struct trace_resource {
    tc_attr *attrs;
    uint32_t n_attrs;
    uint32_t dropped_attrs;
    const char *schema_url;
} trace_resource;

typedef struct trace_scope {
    const char *name;    /* "" when absent */
    const char *version; /* "" when absent */
    tc_attr *attrs;
    uint32_t n_attrs;
    uint32_t dropped_attrs;
    const char *schema_url;
} trace_scope;

typedef struct trace_event {
    const char *name;
    uint64_t time_ns;
    tc_attr *attrs;
    uint32_t n_attrs;
    uint32_t dropped_attrs;
} trace_event;

typedef struct trace_link {
    uint8_t trace_id[TRACE_ID_LEN];
    uint8_t span_id[SPAN_ID_LEN];
    const char *trace_state; /* "" when absent */
    tc_attr *attrs;
    uint32_t n_attrs;
    uint32_t dropped_attrs;
    uint32_t flags;
} trace_link;

typedef struct trace_span trace_span;

struct trace_span {
    uint8_t trace_id[TRACE_ID_LEN];
    uint8_t span_id[SPAN_ID_LEN];
    uint8_t parent_id[SPAN_ID_LEN]; /* all zero: no parent */
    const char *name;               /* never NULL ("" when absent) */
    const char *trace_state;        /* never NULL */
    const char *status_message;     /* never NULL */
    uint64_t start_ns;              /* Unix epoch, nanoseconds */
    uint64_t end_ns;
    uint32_t flags;       /* W3C trace flags + OTLP SpanFlags bits */
    uint8_t kind;         /* trace_kind */
    uint8_t status_code;  /* trace_status */
    uint32_t n_attrs, n_events, n_links;
    uint32_t dropped_attrs, dropped_events, dropped_links;
    tc_attr *attrs;
    trace_event *events;
    trace_link *links;
    const trace_resource *resource; /* never NULL after trace_set_add_span */
    const trace_scope *scope;       /* never NULL after trace_set_add_span */

    /* Filled by trace_index(); invalid after further spans are added. */
    trace_span *parent;    /* NULL for roots and orphans */
    trace_span **children; /* sorted by start time, then arrival */
    uint32_t n_children;
    uint32_t depth;        /* 0 for top-level spans */
    uint32_t order;        /* position in trace.preorder */
    uint32_t subtree;      /* spans in this span's subtree, itself excluded:
                              its descendants are preorder[order+1 .. order+subtree] */
    void *ext;             /* free for higher layers (e.g. computed attributes) */
};

#define TRACE_MAX_DUPS 1000 /* duplicate spans listed per trace */

typedef struct trace {
    uint8_t trace_id[TRACE_ID_LEN];
    trace_span **spans; /* arrival order; a replaced duplicate keeps its slot */
    uint32_t n_spans;

    /* Filled by trace_index(). */
    bool indexed;
    trace_span **preorder; /* depth-first, top-level spans and children by start time */
    trace_span **roots;    /* spans without a parent id, by start time */
    uint32_t n_roots;
    trace_span **orphans;  /* spans whose parent is absent (or in a cycle), by start time */
    uint32_t n_orphans;
    uint64_t start_ns, end_ns; /* earliest start, latest end */

    /* Spans that came again with the same id but another name or start (a
     * retried export repeats a span unchanged): the later copy was kept,
     * the earlier is listed here (the first TRACE_MAX_DUPS of them). */
    trace_span **dups;
    uint32_t n_dups;     /* listed */
    uint32_t n_dups_all; /* all of them */

    /* private */
    uint32_t cap;
    uint32_t *slots; /* open-addressing hash: span id -> index+1 in spans */
    uint32_t n_slots;
} trace;

typedef struct trace_set trace_set;

/* Creates an empty set whose arena holds at most arena_cap bytes (0: the
 * arena default). NULL when out of memory. */
trace_set *trace_set_new(size_t arena_cap);

/* Frees the set and everything in it; sets *ts to NULL. Accepts NULL. */
void trace_set_free(trace_set **ts);

/* The arena decoders allocate a span's pieces from. */
arena *trace_set_arena(trace_set *ts);

/* A resource and a scope with no attributes, for spans that have none. */
const trace_resource *trace_set_empty_resource(trace_set *ts);
const trace_scope *trace_set_empty_scope(trace_set *ts);

/* Adds a span (allocated from the set's arena; NULL string fields become "",
 * NULL resource/scope become the empty ones) to the trace of its trace id,
 * creating the trace on first sight. A span whose id is already in that
 * trace replaces the earlier copy in its slot (exporters retry). Marks the
 * trace as not indexed. Returns 0, TC_ERR_NOMEM or TC_ERR_LIMIT (with e). */
int trace_set_add_span(trace_set *ts, trace_span *sp, tc_error *e);

/* Deep-copies a span (attributes, events, links, resource and scope) from
 * another set into this one and adds it. Returns as trace_set_add_span. */
int trace_set_copy_span(trace_set *ts, const trace_span *sp, tc_error *e);

/* Number of traces / spans in the set; traces in order of first arrival. */
uint32_t trace_set_count(const trace_set *ts);
uint64_t trace_set_span_count(const trace_set *ts);
trace *trace_set_at(trace_set *ts, uint32_t i);

/* The trace with this id, or NULL. */
trace *trace_set_find(trace_set *ts, const uint8_t id[TRACE_ID_LEN]);

/* Builds the indexes of every trace that is not indexed. Linear in the
 * number of spans apart from sorting siblings. Returns 0 or TC_ERR_NOMEM. */
int trace_set_index(trace_set *ts);

/* Builds one trace's indexes (allocating from ts's arena). */
int trace_index(trace_set *ts, trace *t);

/* The span with this id in t, or NULL. Works before indexing too. */
trace_span *trace_find_span(const trace *t, const uint8_t id[SPAN_ID_LEN]);

/* True when the span has a parent id (not all zero). */
bool trace_span_has_parent(const trace_span *sp);

/* Attribute lookup as a selector sees it: the span's own attributes, then
 * its resource's, then its scope's. NULL when none has the key. */
const tc_value *trace_span_attr(const trace_span *sp, const char *key, size_t n);

/* The span's service name (resource attribute service.name), or "". */
const char *trace_span_service(const trace_span *sp);

/* Names: "unspecified", "internal", "server", "client", "producer",
 * "consumer"; "unset", "ok", "error". */
const char *trace_kind_name(unsigned kind);
const char *trace_status_name(unsigned status);

/* Parses a kind name (either "server" or "SPAN_KIND_SERVER", any case) or
 * a status name ("ok", "STATUS_CODE_OK"). Returns -1 when unknown. */
int trace_kind_parse(const char *s, size_t n);
int trace_status_parse(const char *s, size_t n);

#endif

/* Appends a canonical, deterministic text dump of every trace in the set
 * (indexing it first): one line per span in pre-order with ids, name, kind,
 * times, status and flags, then indented lines for its resource, scope,
 * attributes (typed: key=int:200, key=string:"x"), events and links.
 * Used by codec tests to compare formats. Returns 0 or TC_ERR_*. */
int trace_dump(trace_set *ts, tc_buf *out);
