/* diff.h - structural diff of two traces: spans matched by their path of
 * (service, name, kind) from the top of the trace, repeated siblings
 * paired in start order; what is only in one trace, sibling counts that
 * changed (an N+1 appearing), and attribute, status and duration changes
 * on the matched spans.
 *
 * Names are compared normalized: a UUID becomes {uuid}, a run of 8 or
 * more hex digits holding a digit becomes {hex}, a run of decimal digits
 * not touching a letter becomes {n} ("GET /orders/42" and "GET
 * /orders/43" are both "GET /orders/{n}"). Paths in the output are
 * written with the normalized names. String attribute values are compared
 * the same way unless diff_opts.exact_values is set (other types exactly).
 *
 * Ownership: a diff_result lives in the arena given to diff_traces; it
 * points at spans, names and values of the two traces, which must outlive
 * it. Both traces must be indexed (trace_index) and are not modified.
 * Memory is linear in the number of spans; the lists of the result hold
 * at most diff_opts.max_items entries each (the totals count everything).
 * No recursion: a 1,000,000-span chain is fine. Pure: no I/O. */
#ifndef TC_DIFF_H
#define TC_DIFF_H

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "trace.h"

#include <stdbool.h>
#include <stdint.h>

#define DIFF_DEFAULT_MAX_ITEMS 10000u
#define DIFF_DEFAULT_SLOWER_MIN_NS 1000000ull /* 1 ms: shorter slowdowns are noise */

/* The kinds of change, as bits (diff_kinds, --fail-on). */
enum {
    DIFF_SHAPE = 1u,      /* spans only in one trace, or a sibling count changed */
    DIFF_ATTRIBUTES = 2u, /* an attribute added, removed or changed, or a status changed */
    DIFF_DURATION = 4u,   /* a matched span slower than the threshold */
};

typedef struct diff_opts {
    const char *const *ignore; /* attribute keys not compared; '*' matches any text */
    uint32_t n_ignore;
    bool no_default_ignores; /* do not add diff_default_ignores() */
    bool exact_values;       /* compare string values as they are, not normalized */
    double slower_pct;       /* report spans slower by more than this percentage; < 0: never */
    uint64_t slower_min_ns;  /* ... and by at least this much (0: DIFF_DEFAULT_SLOWER_MIN_NS) */
    uint32_t max_items;      /* entries kept per list (0: DIFF_DEFAULT_MAX_ITEMS) */
} diff_opts;

/* The keys ignored by default (ids, times, ports that change each run),
 * NULL-terminated. */
const char *const *diff_default_ignores(void);

/* True when key matches the glob pattern ('*' matches any run of
 * characters, everything else itself). */
bool diff_glob(const char *pattern, const char *key, size_t key_len);

typedef enum diff_attr_kind {
    DIFF_ATTR_ADDED,   /* only in B */
    DIFF_ATTR_REMOVED, /* only in A */
    DIFF_ATTR_CHANGED,
} diff_attr_kind;

typedef struct diff_attr {
    const char *key;
    uint8_t kind;      /* diff_attr_kind */
    const tc_value *a; /* NULL when added */
    const tc_value *b; /* NULL when removed */
} diff_attr;

/* A matched pair with at least one change. */
typedef struct diff_change {
    const trace_span *a, *b;
    diff_attr *attrs; /* span attributes: in A's order, then those only in B (by key when
                         a span has more than 32) */
    uint32_t n_attrs;
    bool status; /* the status code differs */
    bool slower; /* B is slower than A beyond the threshold */
} diff_change;

/* The top of a subtree that only one trace has (its parent is matched, or
 * it is at the top of its trace). */
typedef struct diff_only {
    const trace_span *span;
    uint32_t n_spans; /* spans in the subtree, the top included */
    bool repeat;      /* an extra repetition of siblings both traces have
                         (also counted in a diff_count) */
} diff_only;

/* A group of siblings (same parent path, same service, name and kind)
 * whose size differs, both sizes non-zero. */
typedef struct diff_count {
    const trace_span *a, *b; /* the first of the group in each trace */
    uint32_t count_a, count_b;
    uint32_t extra_a, extra_b; /* spans in the extra repetitions' subtrees (one side is 0) */
} diff_count;

typedef struct diff_result {
    uint32_t spans_a, spans_b, matched;
    uint32_t spans_only_a, spans_only_b;     /* spans, subtrees counted whole */
    uint32_t spans_repeat_a, spans_repeat_b; /* of those, in subtrees with repeat set */
    uint32_t n_only_a_total, n_only_b_total; /* diff_only entries before the cap */
    uint32_t n_counts_total, n_changes_total;
    uint32_t n_attr_changes, n_status_changes, n_slower; /* over every matched pair */
    diff_only *only_a, *only_b;                          /* in each trace's pre-order */
    uint32_t n_only_a, n_only_b;
    diff_count *counts; /* in A's pre-order of the groups */
    uint32_t n_counts;
    diff_change *changes; /* in A's pre-order */
    uint32_t n_changes;
    bool truncated; /* a list was cut at max_items */
    double slower_pct;
    uint32_t max_items;
    struct diff_side *side[2]; /* private: per-span keys and partners */
} diff_result;

/* Compares trace a with trace b (both indexed). Everything is allocated
 * from ar. Returns 0 with *out filled, or TC_ERR_NOMEM (the arena's cap
 * reached; e says so). */
int diff_traces(const trace *a, const trace *b, const diff_opts *o, arena *ar, diff_result *out, tc_error *e);

/* The kinds of change the result holds (DIFF_* bits; 0: none). */
unsigned diff_kinds(const diff_result *d);

/* Parses "shape", "attributes", "duration" or "any" (and comma-separated
 * lists of them) into DIFF_* bits. Returns -1 for anything else. */
int diff_kinds_parse(const char *s);

/* The span's partner in the other trace, or NULL (side 0: sp is in A). */
const trace_span *diff_partner(const diff_result *d, int side, const trace_span *sp);

/* Appends the span's path: its ancestors' and its own segments, "name
 * (service, kind)" with the normalized name and " #k" for the k-th (k >= 2)
 * of repeated siblings, joined by " > "; at most max_segments (0: 8), the
 * rest shown as "… > ". side 0: sp is in A. */
int diff_path(const diff_result *d, int side, const trace_span *sp, unsigned max_segments, tc_buf *out);

/* Appends the diff for people: a summary line, then count changes, spans
 * only in A / B (one line per subtree, repeated siblings folded: "×3"),
 * attribute, status and duration changes; at most max_lines lines per
 * section (0: 50). color adds ANSI colours. */
int diff_write_text(const diff_result *d, tc_buf *out, unsigned max_lines, bool color);

/* Appends the diff as one JSON object (docs/diff.md). */
int diff_write_json(const diff_result *d, tc_buf *out);

#endif
