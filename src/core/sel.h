/* sel.h - the span selector language (Tracetest-compatible):
 *
 *   selectors := selector ("," selector)*       union, de-duplicated
 *   selector  := span_sel (" " span_sel)*       descendant combinator
 *   span_sel  := "span[" [filter ([","] filter)*] "]" [pseudo]
 *   filter    := property ("=" | "contains") value
 *   pseudo    := ":first" | ":last" | ":nth_child(" int ")"
 *
 * "" and "span[]" select every span. Matching walks the trace depth-first
 * (children by start time). In `A B`, B runs on the subtree below each span
 * matching A (A itself excluded); a pseudo-class filters the list its own
 * step produced: on B per subtree, on A the combined result.
 *
 * Ownership: a parsed sel_query owns its memory (sel_free). sel_match
 * allocates the result array from the caller's arena. */
#ifndef TC_SEL_H
#define TC_SEL_H

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "spanattr.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

#define SEL_MAX_LEN ((size_t)64 << 10) /* bytes of one selector */
#define SEL_MAX_TERMS 1024             /* filters + steps + selectors in one query */
#define SEL_MAX_WORK ((uint64_t)1 << 28) /* span visits x steps of one sel_match */
#define SEL_MAX_MEMO ((size_t)64 << 20) /* bytes of filter results memoised per chain */

typedef struct sel_query sel_query;

/* Parses src[0..len). On success stores the query in *out (free with
 * sel_free) and returns 0; else TC_ERR_INPUT or TC_ERR_LIMIT with e->col
 * (1-based) and a message "column N: ...". */
int sel_parse(const char *src, size_t len, sel_query **out, tc_error *e);

/* Frees a query; sets *q to NULL. Accepts NULL. */
void sel_free(sel_query **q);

/* Selects spans of trace t (indexed; ts is its set, whose arena caches
 * computed attributes). *out receives an array of *n spans in selection
 * order (Tracetest's: pre-order within one selector unless a step after
 * the first has a pseudo-class; a union's members one after the other,
 * repeats dropped), allocated from `a`; nothing else is taken from
 * `a`. Work is linear in spans x steps unless a step after the first has a
 * pseudo-class; past SEL_MAX_WORK it stops. Returns 0, TC_ERR_NOMEM, or
 * TC_ERR_LIMIT (too much work for this trace); on failure *out is NULL, *n 0. */
int sel_match(const sel_query *q, trace_set *ts, trace *t, arena *a, trace_span ***out, uint32_t *n);

/* As sel_match for each of qs[0..nq) (a NULL query selects nothing), with
 * the filters of all of them evaluated in one pass over the spans (each
 * span loaded once, a filter repeated across queries evaluated once per
 * span): on a large trace much faster than nq calls. outs[i], ns[i]
 * receive query i's spans and rcs[i] its own failure (TC_ERR_LIMIT; then
 * outs[i] is NULL). tb, when not NULL, is a table begun for t holding the
 * queries' keys (sel_add_keys); the pass records each span in it as it
 * visits it (spanattr_table_fill_span), so that later lookups of those
 * keys are array reads. Returns 0 or TC_ERR_NOMEM (then every outs[i] is
 * NULL). */
int sel_match_all(const sel_query *const *qs, uint32_t nq, trace_set *ts, trace *t, spanattr_table *tb,
                  arena *a, trace_span ***outs, uint32_t *ns, int *rcs);

/* Threads for the pass over the spans: at most this many, and only on a
 * trace of at least SEL_THREAD_MIN_SPANS spans. */
#define SEL_MAX_THREADS 8
#define SEL_THREAD_MIN_SPANS 8192

/* As sel_match_all, with the pass over the spans shared by up to threads
 * threads (0 or 1: this one), each taking a range of spans. Same results.
 * While it runs no other thread may use ts, t or tb; the threads look
 * attributes up without writing the spans' caches (spanattr_get_key_ro). */
int sel_match_all_mt(const sel_query *const *qs, uint32_t nq, trace_set *ts, trace *t, spanattr_table *tb,
                     unsigned threads, arena *a, trace_span ***outs, uint32_t *ns, int *rcs);

/* Adds the attribute keys the filters of q read to tb (before it is
 * filled). Returns 0 or TC_ERR_NOMEM. */
int sel_add_keys(sel_query *q, spanattr_table *tb);

/* Appends the canonical form of the query (one spelling for each
 * construct: span[a="x" b=1]:first span[], ...). */
int sel_print(const sel_query *q, tc_buf *out);

#endif
