/* spec_test.c - spec evaluation on traces built in C: every check of a run
 * equals the same assertion evaluated alone on that span (results reused
 * between spans sharing a value must not differ from fresh ones), and
 * assertions that read variables or call functions are evaluated anew on
 * every span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/spanattr.h"
#include "core/spec.h"
#include "core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SPANS 400

static const char long_a[] = "SELECT id, name, email, created_at FROM users WHERE id = $1 AND tenant = $2 LIMIT 1";

/* A trace of N_SPANS spans under one root; span i has v (a value from a
 * small pool: short and long strings, the long ones sometimes the same
 * text at another address, ints, doubles, booleans), d (a duration-looking text) and, on
 * every third span, w. Resources alternate between two. */
static trace_set *make_trace_n(uint32_t n_spans)
{
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    trace_resource *res[2];
    for (int r = 0; r < 2; r++) {
        res[r] = arena_calloc(a, 1, sizeof *res[r]);
        res[r]->attrs = arena_calloc(a, 1, sizeof *res[r]->attrs);
        res[r]->attrs[0].key = "service.name";
        res[r]->attrs[0].key_len = 12;
        const char *svc = r ? "orders" : "payments";
        res[r]->attrs[0].value = (tc_value){TC_V_STRING, (uint32_t)strlen(svc), {.str = svc}};
        res[r]->n_attrs = 1;
    }
    for (uint32_t i = 0; i < n_spans; i++) {
        trace_span *sp = arena_calloc(a, 1, sizeof *sp);
        sp->trace_id[0] = 1;
        sp->span_id[5] = (uint8_t)((i + 1) >> 16);
        sp->span_id[6] = (uint8_t)((i + 1) >> 8);
        sp->span_id[7] = (uint8_t)(i + 1);
        if (i) /* under the root, or under a recent span */
            sp->parent_id[7] = 1;
        if (i > 8 && i % 4 == 0)
            memcpy(sp->parent_id, (uint8_t[8]){0, 0, 0, 0, 0, (uint8_t)((i - 7) >> 16), (uint8_t)((i - 7) >> 8),
                                               (uint8_t)(i - 7)},
                   8);
        sp->name = i ? "child" : "root";
        sp->status_message = "";
        sp->trace_state = "";
        sp->kind = (uint8_t)(i % 3);
        sp->start_ns = 1000000;
        sp->end_ns = 1000000 + (i % 7) * 250000;
        if (i % 11 == 11 - 1) /* a duration of 20 digits, past int64 */
            sp->end_ns = sp->start_ns + 10000000000000000000ull + i;
        else if (i % 13 == 13 - 1) /* ends before it starts: duration 0 */
            sp->end_ns = sp->start_ns - 1;
        uint32_t n = i % 3 == 0 ? 3 : 2;
        tc_attr *at = arena_calloc(a, n, sizeof *at);
        at[0].key = "v";
        at[0].key_len = 1;
        switch (i % 5) {
        case 0:
            at[0].value = (tc_value){TC_V_STRING, 3, {.str = "GET"}};
            break;
        case 1: { /* texts the evaluator must see: escapes, a leading space or digit, JSON */
            static const char *const texts[] = {"POST", "PO\\\"ST", " POST", "1POST", "{\"a\": \"POST\"}", "1500ms"};
            const char *t = texts[(i / 5) % 6];
            at[0].value = (tc_value){TC_V_STRING, (uint32_t)strlen(t), {.str = arena_strdup(a, t)}};
            break;
        }
        case 2: /* the same long text, sometimes at the same address */
            at[0].value = (tc_value){TC_V_STRING, (uint32_t)strlen(long_a),
                                     {.str = i % 2 ? long_a : arena_strdup(a, long_a)}};
            break;
        case 3:
            /* many values of one length: they share the reuse slots */
            at[0].value = (tc_value){TC_V_INT, 0, {.i = 100 + (int64_t)(i * 37 % 900)}};
            break;
        default: /* the same text from values of other types */
            if (i % 3 == 0)
                at[0].value = (tc_value){TC_V_STRING, 2, {.str = "42"}};
            else if (i % 3 == 1)
                at[0].value = (tc_value){TC_V_DOUBLE, 0, {.d = i % 2 ? 42.0 : 42.5}};
            else
                at[0].value = (tc_value){TC_V_BOOL, 0, {.b = i % 2}};
            break;
        }
        at[1].key = "d";
        at[1].key_len = 1;
        const char *d = i % 2 ? "15ms" : "2s";
        at[1].value = (tc_value){TC_V_STRING, (uint32_t)strlen(d), {.str = d}};
        if (n == 3) {
            at[2].key = "w";
            at[2].key_len = 1;
            at[2].value = (tc_value){TC_V_STRING, 1, {.str = "x"}};
        }
        sp->attrs = at;
        sp->n_attrs = n;
        assert_int_equal(trace_set_add_span(ts, sp, NULL), 0);
        sp->resource = res[i % 2];
    }
    assert_int_equal(trace_set_index(ts), 0);
    return ts;
}

static trace_set *make_trace(void)
{
    return make_trace_n(N_SPANS);
}

typedef struct one_span {
    arena *cache;
    const trace_span *sp;
    uint32_t n_selected;
    char count[16];
} one_span;

/* The reference attr lookup: spanattr_get on one span, values as text. */
static int ref_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    one_span *o = user;
    static char text[256];
    if (n == 30 && memcmp(name, "tracetest.selected_spans.count", 30) == 0) {
        snprintf(o->count, sizeof o->count, "%u", o->n_selected);
        *val = o->count;
        *len = strlen(o->count);
        return EXPR_FOUND;
    }
    tc_value v;
    if (spanattr_get(o->cache, o->sp, name, n, &v) != 0)
        return EXPR_MISSING;
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    snprintf(text, sizeof text, "%s", buf_str(&b));
    buf_free(&b);
    *val = text;
    *len = strlen(text);
    return EXPR_FOUND;
}

static const char *s_or(const char *s)
{
    return s ? s : "(null)";
}

static void test_checks_equal_fresh_evaluation(void **state)
{
    (void)state;
    static const char *const assertions[] = {
        "attr:v = \"GET\"",
        "attr:v contains \"users\"",
        "attr:v = 200",
        "attr:v >= 500",
        "attr:v >= 42",
        "attr:v not-contains \"T\"",
        "attr:v != \"GET\"",
        "attr:v contains \"\"",
        "attr:v = \"\"",
        "attr:v contains \"OS\"",
        "attr:v = \"PO\\\"ST\"",
        "attr:v contains \"{\\\"a\"",
        "attr:d < 1s",
        "attr:d = 15ms",
        "attr:w = \"x\"",
        "attr:service.name = \"orders\"",
        "attr:tracetest.span.duration <= 1ms",
        "attr:tracetest.span.duration < 1.25ms",
        "attr:tracetest.span.duration = 500us",
        "attr:tracetest.span.duration != 0ns",
        "attr:tracetest.span.duration > 250000ns",
        "attr:tracetest.span.duration >= 1s",
        "attr:tracetest.span.duration > 500",
        "attr:tracetest.span.duration contains \"5\"",
        "attr:tracetest.span.duration + 1ms < 2ms",
        "attr:tracetest.span.kind = \"server\"",
        "attr:tracetest.selected_spans.count > 100",
        "attr:v + 1 = 43",
        "attr:v | length > 3",
        "attr:missing = 1",
        "1 = 1",
        "attr:v = attr:w",
    };
    enum { NA = sizeof assertions / sizeof assertions[0] };
    trace_set *ts = make_trace();
    trace *t = trace_set_at(ts, 0);
    spec_def defs[3] = {
        {"all", "span[]", assertions, NA},
        {"children", "span[name=\"child\"]", assertions, NA},
        {"orders", "span[service.name=\"orders\"]", assertions, NA},
    };
    arena *a = arena_new(0);
    spec_run run;
    assert_int_equal(spec_evaluate(ts, t, defs, 3, NULL, 0, NULL, a, &run), 0);
    assert_int_equal(run.n_specs, 3);
    uint64_t checked = 0;
    for (uint32_t s = 0; s < run.n_specs; s++) {
        const spec_result *r = &run.specs[s];
        assert_null(r->error);
        assert_true(r->n_selected > 0);
        for (uint32_t k = 0; k < r->n_spans; k++) {
            one_span o = {trace_set_arena(ts), r->spans[k].span, r->n_selected, {0}};
            expr_ctx ctx = {.attr = ref_attr, .user = &o};
            for (uint32_t i = 0; i < NA; i++) {
                expr *e;
                tc_error err;
                assert_int_equal(expr_parse(assertions[i], strlen(assertions[i]), EXPR_PARSE_STATEMENT, &e, &err), 0);
                arena *ra = arena_new(0);
                expr_result want;
                assert_int_equal(expr_eval_statement(e, &ctx, ra, &want), 0);
                const spec_check *got = &r->spans[k].checks[i];
                bool want_passed = want.passed && !want.error;
                if (got->passed != want_passed || strcmp(s_or(got->observed), s_or(want.observed)) ||
                    strcmp(s_or(got->expected), s_or(want.expected)) || strcmp(s_or(got->error), s_or(want.error)))
                    fail_msg("spec %u span %u `%s`: got %d \"%s\" \"%s\" %s, want %d \"%s\" \"%s\" %s", s, k,
                             assertions[i], got->passed, s_or(got->observed), s_or(got->expected),
                             s_or(got->error), want_passed, s_or(want.observed), s_or(want.expected),
                             s_or(want.error));
                assert_ptr_equal(got->assertion, assertions[i]);
                checked++;
                arena_free(&ra);
                expr_free(&e);
            }
        }
    }
    assert_true(checked > 3 * N_SPANS);
    arena_free(&a);
    trace_set_free(&ts);
}

static uint64_t draws;

static uint64_t counting_random(void *user)
{
    (void)user;
    return ++draws * 2654435761u;
}

/* A function call makes an assertion depend on more than the span: it runs
 * on every span, never from a result kept for an equal value. */
static void test_impure_assertions_run_per_span(void **state)
{
    (void)state;
    static const char *const assertions[] = {"attr:w = randomInt(0, 1000000)"};
    trace_set *ts = make_trace();
    trace *t = trace_set_at(ts, 0);
    spec_def def = {"random", "span[w=\"x\"]", assertions, 1};
    spec_env env = {.random_u64 = counting_random};
    arena *a = arena_new(0);
    spec_run run;
    draws = 0;
    assert_int_equal(spec_evaluate(ts, t, &def, 1, NULL, 0, &env, a, &run), 0);
    assert_int_equal(run.specs[0].n_selected, (N_SPANS + 2) / 3);
    assert_int_equal(draws, run.specs[0].n_selected);
    arena_free(&a);
    trace_set_free(&ts);
}

static void assert_same_text(const char *got, const char *want, const char *what, uint32_t s, uint32_t k)
{
    if (strcmp(s_or(got), s_or(want)))
        fail_msg("spec %u span %u: %s \"%s\", want \"%s\"", s, k, what, s_or(got), s_or(want));
}

/* Several threads give exactly the results of one (a trace large enough
 * for the threads to start, values shared across the two halves). */
static void test_threads_same_results(void **state)
{
    (void)state;
    static const char *const assertions[] = {
        "attr:v = \"GET\"",
        "attr:v contains \"users\"",
        "attr:v >= 500",
        "attr:d < 1s",
        "attr:w = \"x\"",
        "attr:service.name = \"orders\"",
        "attr:tracetest.span.duration <= 1ms",
        "attr:tracetest.span.duration + 1ms < 2ms",
        "attr:tracetest.span.start_time > 0",
        "attr:tracetest.span.parent_id != \"\"",
        "attr:tracetest.selected_spans.count > 100",
        "attr:missing = 1",
        "attr:v = attr:w",
    };
    enum { NA = sizeof assertions / sizeof assertions[0], N = 12000 };
    spec_def defs[] = {
        {"all", "span[]", assertions, NA},
        {"children", "span[name=\"child\"]", assertions, NA},
        {"orders", "span[service.name=\"orders\"] span[v=\"GET\"]", assertions, 4},
        {"first", "span[v contains \"E\"]:first", assertions, NA},
        {"start", "span[tracetest.span.start_time=1000000]", assertions, 3},
        {"none", "span[v=\"nothing\"]", assertions, 2},
    };
    enum { ND = sizeof defs / sizeof defs[0] };
    spec_run run[2];
    arena *a[2];
    trace_set *ts[2];
    for (int r = 0; r < 2; r++) { /* a trace set each: the first caches computed values */
        ts[r] = make_trace_n(N);
        a[r] = arena_new(0);
        spec_env env = {.threads = r ? 2 : 1};
        assert_int_equal(spec_evaluate(ts[r], trace_set_at(ts[r], 0), defs, ND, NULL, 0, &env, a[r], &run[r]), 0);
    }
    assert_true(run[0].specs[0].n_selected == N);
    for (uint32_t s = 0; s < ND; s++) {
        const spec_result *x = &run[1].specs[s], *y = &run[0].specs[s];
        assert_int_equal(x->n_selected, y->n_selected);
        assert_int_equal(x->n_spans, y->n_spans);
        assert_int_equal(x->passed, y->passed);
        for (uint32_t k = 0; k < x->n_spans; k++) {
            assert_int_equal(x->spans[k].passed, y->spans[k].passed);
            assert_true((x->spans[k].span == NULL) == (y->spans[k].span == NULL));
            if (x->spans[k].span)
                assert_memory_equal(x->spans[k].span->span_id, y->spans[k].span->span_id, 8);
            for (uint32_t i = 0; i < x->spans[k].n_checks; i++) {
                const spec_check *p = &x->spans[k].checks[i], *q = &y->spans[k].checks[i];
                assert_int_equal(p->passed, q->passed);
                assert_ptr_equal(p->assertion, q->assertion);
                assert_same_text(p->observed, q->observed, "observed", s, k);
                assert_same_text(p->expected, q->expected, "expected", s, k);
                assert_same_text(p->error, q->error, "error", s, k);
            }
        }
    }
    for (int r = 0; r < 2; r++) {
        arena_free(&a[r]);
        trace_set_free(&ts[r]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_equal_fresh_evaluation),
        cmocka_unit_test(test_impure_assertions_run_per_span),
        cmocka_unit_test(test_threads_same_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
