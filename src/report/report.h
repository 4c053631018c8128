/* report.h - prints the results of test runs: pretty (for people, colours
 * on request), JSON (docs/report-json.md) and JUnit XML (for CI systems).
 *
 * Ownership: reports read the tests and append to a caller-owned tc_buf;
 * they keep nothing. */
#ifndef TC_REPORT_H
#define TC_REPORT_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/lint.h"
#include "core/spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct report_test {
    const char *name;
    const char *id;       /* may be NULL */
    const char *file;     /* the test file, may be NULL */
    const char *trace_id; /* 32 hex digits, or NULL */
    const char *state;    /* run state: FINISHED, TRIGGER_FAILED, TRACE_FAILED, ... */
    const char *error;    /* why the run did not finish, NULL when it did */
    const spec_run *run;  /* NULL when the specs were not evaluated */
    uint64_t duration_ns; /* the whole run */
    bool skipped;         /* not run (a suite stopped before it) */
    const char *timeline; /* JSON object: state -> ms after the run was created, or NULL */
    const char *source;   /* JSON object: where the trace was read {"type", "endpoint", "polls"}, or NULL */
    const char *baseline;      /* JSON object: the diff against the test's baseline (run --baseline), or NULL */
    const char *baseline_text; /* the same for people: lines ending in \n, or NULL */
    bool baseline_failed;      /* the diff has a change of a kind --fail-on-diff names */
    const lint_result *lint; /* the analyzer's result (an Analyzer among the files), or NULL */
} report_test;

typedef struct report_summary {
    uint32_t tests, passed, failed, errors, skipped;
    uint32_t specs, specs_failed;
} report_summary;

/* Counts the results. */
void report_summarize(const report_test *tests, size_t n, report_summary *out);

/* A test passed when it ran to the end, every spec passed, the
 * analyzer's gate (when an analyzer ran) passed and its baseline (run
 * --baseline) did not fail it. */
bool report_test_passed(const report_test *t);

/* Pretty text: a line per test, per spec (passing specs compact), and for
 * failing specs per span and assertion with observed and expected values;
 * a summary line. `color` adds ANSI colours. */
int report_pretty(tc_buf *out, const report_test *tests, size_t n, bool color);

/* The JSON report (format in docs/report-json.md). */
int report_json(tc_buf *out, const report_test *tests, size_t n);

/* One test's object of the JSON report (the items of "tests"). */
int report_json_test(tc_buf *out, const report_test *t);

struct run_result;
struct source;

/* Fills what a live run's result tells of the test: state, trace id,
 * timeline (ms after CREATED each state began), source (the receiver, or
 * the backend src with its polls; src may be NULL), the specs when the run
 * FINISHED, else the error. Strings in a, or the result's; name, id, file
 * and duration are the caller's. Returns 0 or TC_ERR_NOMEM. */
int report_from_run(report_test *rt, const struct run_result *rr, const struct source *src, arena *a);

/* JUnit XML: one testsuite per test, one testcase per spec; failure text
 * names the assertion, the span and the observed value; the trace id is a
 * property. */
int report_junit(tc_buf *out, const report_test *tests, size_t n);

/* ---- the analyzer (report_lint.c) ---- */

/* Pretty text of an analyzer result, grouped by plugin and rule, each
 * finding with the span's name, service and id; every line starts with
 * indent. */
int report_lint_pretty(tc_buf *out, const lint_result *r, bool color, const char *indent);

/* The analyzer object of the JSON report (docs/report-json.md). */
int report_lint_json(tc_buf *out, const lint_result *r);

/* JUnit: one <testsuite> named "NAME: analyzer" with a testcase per rule
 * that ran and one for the score gate; a failing error-level rule (or the
 * gate) is a <failure> listing its findings. */
int report_lint_junit(tc_buf *out, const lint_result *r, const char *name, const char *trace_id);

/* Adds the testcases and failures report_lint_junit writes for r. */
void report_lint_junit_counts(const lint_result *r, uint32_t *cases, uint32_t *failures);

#endif
