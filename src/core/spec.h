/* spec.h - evaluates a test's specs and outputs against a trace: each
 * spec's selector picks spans, each assertion is evaluated on every picked
 * span, and the results form a tree (spec -> span -> assertion) that the
 * reports print.
 *
 * Ownership: everything in a spec_run (strings, arrays) is allocated from
 * the arena given to spec_evaluate and lives as long as it; spans, and
 * observed values read from span attributes, are pointers into the trace
 * set, which must outlive the run. */
#ifndef TC_SPEC_H
#define TC_SPEC_H

#include "arena.h"
#include "expr.h"
#include "trace.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct spec_def {
    const char *name;     /* may be NULL or "": reports show the selector */
    const char *selector; /* NULL or "": every span */
    const char *const *assertions;
    uint32_t n_assertions;
} spec_def;

typedef struct output_def {
    const char *name;
    const char *selector;
    const char *value; /* an expression, e.g. attr:http.response.body | json_path '$.id' */
} output_def;

typedef struct spec_check {
    const char *assertion;
    bool passed;
    const char *observed; /* left value as shown */
    const char *expected; /* right value as shown */
    const char *error;    /* NULL unless the assertion could not be evaluated */
} spec_check;

typedef struct spec_span_result {
    const trace_span *span; /* NULL: the selection was empty */
    bool passed;
    spec_check *checks;
    uint32_t n_checks;
} spec_span_result;

typedef struct spec_result {
    const char *name;
    const char *selector;
    bool passed;
    const char *error;   /* selector or assertion syntax error (the spec fails) */
    int error_col;       /* 1-based column of that error in the selector/assertion, 0 unknown */
    uint32_t n_selected; /* spans the selector matched */
    spec_span_result *spans;
    uint32_t n_spans;    /* n_selected, or 1 for an empty selection */
} spec_result;

typedef struct output_result {
    const char *name;
    const char *value; /* NULL on error */
    const char *error;
} output_result;

typedef struct spec_run {
    spec_result *specs;
    uint32_t n_specs;
    uint32_t n_failed; /* specs that did not pass */
    output_result *outputs;
    uint32_t n_outputs;
    bool passed; /* every spec passed and every output resolved */
} spec_run;

/* Variables, environment, clock and randomness for expressions. */
typedef struct spec_env {
    expr_lookup_fn var;
    expr_lookup_fn env;
    void *user;
    int64_t (*now_ns)(void *env_user);
    uint64_t (*random_u64)(void *env_user);
    void *env_user;
    /* Threads evaluation may use on a large trace (0 or 1: this one only).
     * Results are the same for any number. With more than one, nothing
     * else may use the trace set while spec_evaluate runs, and checks use
     * them only when no assertion reads var:, env: or a function (so the
     * callbacks above are called from this thread alone). */
    unsigned threads;
} spec_env;

/* Evaluates specs and outputs on trace t of set ts (t may be NULL: no
 * trace, every selection is empty). Each assertion runs on every selected
 * span; a spec passes when all pass on all. An empty selection evaluates
 * each assertion once without a span: `attr:tracetest.selected_spans.count`
 * is 0 there, other attr: references fail with Tracetest's no-matching-spans
 * error. An output takes its value from the first selected span.
 * Returns 0 (results in *out, failures are results) or TC_ERR_NOMEM. */
int spec_evaluate(trace_set *ts, trace *t, const spec_def *specs, uint32_t n_specs,
                  const output_def *outputs, uint32_t n_outputs, const spec_env *env, arena *a,
                  spec_run *out);

#endif
