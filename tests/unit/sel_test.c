/* sel_test.c - the selector matcher: against a plain recursive reference
 * on random trees and selectors, on deep traces (linear cost where it can
 * be, the work limit where it cannot), and exact integer comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/sel.h"
#include "core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A span with id i+1, parent id parent+1 (0: root), attribute c=int. */
static trace_span *mk(trace_set *ts, uint32_t i, uint32_t parent, int64_t c)
{
    arena *a = trace_set_arena(ts);
    trace_span *sp = arena_calloc(a, 1, sizeof *sp);
    sp->trace_id[15] = 1;
    for (int b = 0; b < 4; b++) {
        sp->span_id[7 - b] = (uint8_t)((i + 1) >> (8 * b));
        sp->parent_id[7 - b] = (uint8_t)(parent >> (8 * b));
    }
    sp->start_ns = 1000 + i;
    sp->end_ns = 2000000 + i;
    char name[24];
    snprintf(name, sizeof name, "s%u", i);
    sp->name = arena_strdup(a, name);
    sp->attrs = arena_calloc(a, 1, sizeof *sp->attrs);
    sp->attrs[0].key = "c";
    sp->attrs[0].key_len = 1;
    sp->attrs[0].value.type = TC_V_INT;
    sp->attrs[0].value.u.i = c;
    sp->n_attrs = 1;
    return sp;
}

/* ---- the reference: the definition, by plain recursion ---- */

typedef struct ref_step {
    int c;      /* -1: any span, else c=<value> */
    int pseudo; /* 0 none, 1 first, 2 last, 3 nth */
    int nth;
} ref_step;

static int64_t c_of(const trace_span *sp)
{
    return sp->attrs[0].value.u.i;
}

static uint32_t ref_match(trace *t, const ref_step *st, int k, int n, uint32_t lo, uint32_t hi,
                          trace_span **out)
{
    uint32_t cnt = 0;
    trace_span **tmp = malloc((t->n_spans + 1) * sizeof *tmp);
    for (uint32_t i = lo; i < hi; i++) {
        trace_span *sp = t->preorder[i];
        if (st[k].c >= 0 && c_of(sp) != st[k].c)
            continue;
        if (k == n - 1) {
            out[cnt++] = sp;
            continue;
        }
        uint32_t m = ref_match(t, st, k + 1, n, i + 1, i + 1 + sp->subtree, tmp);
        for (uint32_t j = 0; j < m; j++) {
            bool seen = false;
            for (uint32_t x = 0; x < cnt && !seen; x++)
                seen = out[x] == tmp[j];
            if (!seen)
                out[cnt++] = tmp[j];
        }
    }
    free(tmp);
    if (st[k].pseudo == 1 && cnt > 1)
        cnt = 1;
    else if (st[k].pseudo == 2 && cnt > 0) {
        out[0] = out[cnt - 1];
        cnt = 1;
    } else if (st[k].pseudo == 3) {
        if (st[k].nth > (int)cnt) {
            cnt = 0;
        } else {
            out[0] = out[st[k].nth - 1];
            cnt = 1;
        }
    }
    return cnt;
}

/* Writes a random selector of up to 4 steps into src (its steps in st). */
static size_t random_selector(ref_step *st, int *steps, char *src, size_t cap)
{
    size_t len = 0;
    *steps = 1 + rand() % 4;
    for (int k = 0; k < *steps; k++) {
        st[k].c = rand() % 4 - 1;
        st[k].pseudo = rand() % 3 == 0 ? 1 + rand() % 3 : 0;
        st[k].nth = 1 + rand() % 3;
        len += (size_t)snprintf(src + len, cap - len, "%sspan[", k ? " " : "");
        if (st[k].c >= 0)
            len += (size_t)snprintf(src + len, cap - len, "c=%d", st[k].c);
        len += (size_t)snprintf(src + len, cap - len, "]%s",
                                st[k].pseudo == 1   ? ":first"
                                : st[k].pseudo == 2 ? ":last"
                                : st[k].pseudo == 3 ? ":nth_child("
                                                    : "");
        if (st[k].pseudo == 3)
            len += (size_t)snprintf(src + len, cap - len, "%d)", st[k].nth);
    }
    return len;
}

/* A random indexed tree of 1-40 spans (in *n), c in 0..2. */
static trace_set *random_tree(uint32_t *n)
{
    trace_set *ts = trace_set_new(0);
    *n = 1 + (uint32_t)(rand() % 40);
    for (uint32_t i = 0; i < *n; i++) {
        /* a random earlier span as parent; a few extra roots */
        uint32_t parent = i == 0 || rand() % 10 == 0 ? 0 : 1 + (uint32_t)(rand() % i);
        assert_int_equal(trace_set_add_span(ts, mk(ts, i, parent, rand() % 3), NULL), 0);
    }
    assert_int_equal(trace_set_index(ts), 0);
    return ts;
}

static void test_against_reference(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < 300; round++) {
        uint32_t n;
        trace_set *ts = random_tree(&n);
        trace *t = trace_set_at(ts, 0);
        for (int q = 0; q < 20; q++) {
            ref_step st[4];
            int steps;
            char src[256];
            size_t len = random_selector(st, &steps, src, sizeof src);
            trace_span **want = malloc((n + 1) * sizeof *want);
            uint32_t n_want = ref_match(t, st, 0, steps, 0, t->n_spans, want);
            sel_query *sq = NULL;
            tc_error e;
            assert_int_equal(sel_parse(src, len, &sq, &e), 0);
            arena *a = arena_new(0);
            trace_span **got;
            uint32_t n_got;
            assert_int_equal(sel_match(sq, ts, t, a, &got, &n_got), 0);
            if (n_got != n_want)
                fail_msg("%s: %u spans, want %u (round %d)", src, n_got, n_want, round);
            for (uint32_t i = 0; i < n_got; i++)
                if (got[i] != want[i])
                    fail_msg("%s: span %u is %s, want %s", src, i, got[i]->name, want[i]->name);
            arena_free(&a);
            sel_free(&sq);
            free(want);
        }
        trace_set_free(&ts);
    }
}

/* Parses nq selectors and matches them in one batch (through a key table
 * when table is set); results in got/n_got, allocated from a. */
static void match_batch(trace_set *ts, trace *t, char (*srcs)[256], int nq, bool table, arena *a,
                        trace_span ***got, uint32_t *n_got)
{
    sel_query *qs[16];
    int rcs[16];
    assert_true(nq <= 16);
    spanattr_table *tb = table ? spanattr_table_new() : NULL;
    for (int q = 0; q < nq; q++) {
        tc_error e;
        assert_int_equal(sel_parse(srcs[q], strlen(srcs[q]), &qs[q], &e), 0);
        if (tb)
            assert_int_equal(sel_add_keys(qs[q], tb), 0);
    }
    if (tb)
        assert_int_equal(spanattr_table_begin(tb, t), 0);
    assert_int_equal(sel_match_all((const sel_query *const *)qs, (uint32_t)nq, ts, t, tb, a, got, n_got, rcs), 0);
    for (int q = 0; q < nq; q++) {
        assert_int_equal(rcs[q], 0);
        sel_free(&qs[q]);
    }
    spanattr_table_free(&tb);
}

/* Many queries at once (one pass, repeated filters shared, keys recorded
 * in a table during the pass) select what each selects alone. */
static void test_batch_against_reference(void **state)
{
    (void)state;
    srand(777);
    enum { NQ = 12 };
    for (int round = 0; round < 200; round++) {
        uint32_t n;
        trace_set *ts = random_tree(&n);
        trace *t = trace_set_at(ts, 0);
        char srcs[NQ][256];
        trace_span **want[NQ];
        uint32_t n_want[NQ];
        for (int q = 0; q < NQ; q++) {
            ref_step st[4];
            int steps;
            random_selector(st, &steps, srcs[q], sizeof srcs[q]);
            want[q] = malloc((n + 1) * sizeof *want[q]);
            n_want[q] = ref_match(t, st, 0, steps, 0, t->n_spans, want[q]);
        }
        arena *a = arena_new(0);
        trace_span **got[NQ];
        uint32_t n_got[NQ];
        match_batch(ts, t, srcs, NQ, round % 2, a, got, n_got);
        for (int q = 0; q < NQ; q++) {
            if (n_got[q] != n_want[q])
                fail_msg("%s: %u spans, want %u (round %d)", srcs[q], n_got[q], n_want[q], round);
            for (uint32_t i = 0; i < n_got[q]; i++)
                if (got[q][i] != want[q][i])
                    fail_msg("%s: span %u is %s, want %s", srcs[q], i, got[q][i]->name, want[q][i]->name);
            free(want[q]);
        }
        arena_free(&a);
        trace_set_free(&ts);
    }
}

/* Filters evaluated once per distinct value must still see every value:
 * many more distinct values than a filter remembers (short strings of one
 * length, long strings, the same long text at two addresses, numbers,
 * booleans, absent), checked against text comparison done here. */
static void test_filters_by_value(void **state)
{
    (void)state;
    enum { N = 700, NQ = 10 };
    static const char long_txt[] = "a long value of more than sixty-four bytes, so it is not kept by content: tail";
    static const char *const q_text[NQ] = {"s042", "s4", "42", "true", "2.5", long_txt, "tail", "s1", "s42", "s6"};
    static const bool q_contains[NQ] = {false, true, false, false, false, false, true, true, false, true};
    static const bool q_name[NQ] = {[8] = true, [9] = true}; /* span names (s0, s1, ...) instead of v */
    trace_set *ts = trace_set_new(0);
    arena *ta = trace_set_arena(ts);
    for (uint32_t i = 0; i < N; i++) {
        trace_span *sp = mk(ts, i, i ? 1 + (uint32_t)(rand() % i) : 0, 0);
        tc_attr *at = arena_calloc(ta, 2, sizeof *at);
        at[0] = sp->attrs[0];
        at[1].key = i % 2 ? "v" : arena_strdup(ta, "v"); /* keys at two addresses too */
        at[1].key_len = 1;
        char buf[160];
        switch (i % 6) {
        case 0:
        case 1:
            snprintf(buf, sizeof buf, "s%03u", (i * 7) % 500);
            at[1].value = (tc_value){TC_V_STRING, 4, {.str = arena_strdup(ta, buf)}};
            break;
        case 2:
            snprintf(buf, sizeof buf, "%s%u", i % 4 ? long_txt : "x", i % 3);
            at[1].value = (tc_value){TC_V_STRING, (uint32_t)strlen(buf), {.str = arena_strdup(ta, buf)}};
            if (i % 5 == 0)
                at[1].value = (tc_value){TC_V_STRING, (uint32_t)strlen(long_txt), {.str = arena_strdup(ta, long_txt)}};
            break;
        case 3:
            at[1].value = (tc_value){TC_V_INT, 0, {.i = (int64_t)(i % 97)}};
            break;
        case 4:
            at[1].value = i % 4 ? (tc_value){TC_V_BOOL, 0, {.b = i % 5 == 0}}
                                : (tc_value){TC_V_DOUBLE, 0, {.d = (double)(i % 11) / 2}};
            break;
        default:
            break; /* no v */
        }
        sp->attrs = at;
        sp->n_attrs = i % 6 == 5 ? 1 : 2;
        assert_int_equal(trace_set_add_span(ts, sp, NULL), 0);
    }
    assert_int_equal(trace_set_index(ts), 0);
    trace *t = trace_set_at(ts, 0);
    for (int with_table = 0; with_table < 2; with_table++) {
        char srcs[NQ][256];
        for (int q = 0; q < NQ; q++)
            snprintf(srcs[q], sizeof srcs[q], "span[%s%s\"%s\"]", q_name[q] ? "name" : "v",
                     q_contains[q] ? " contains " : "=", q_text[q]);
        arena *a = arena_new(0);
        trace_span **got[NQ];
        uint32_t n_got[NQ];
        match_batch(ts, t, srcs, NQ, with_table, a, got, n_got);
        for (int q = 0; q < NQ; q++) {
            uint32_t k = 0, want = 0;
            for (uint32_t i = 0; i < t->n_spans; i++) {
                const trace_span *sp = t->preorder[i];
                bool match = false;
                if (q_name[q]) {
                    match = q_contains[q] ? strstr(sp->name, q_text[q]) != NULL : strcmp(sp->name, q_text[q]) == 0;
                } else if (sp->n_attrs == 2) {
                    tc_buf b;
                    buf_init(&b, 0);
                    value_to_text(&b, &sp->attrs[1].value);
                    match = q_contains[q] ? strstr(buf_str(&b), q_text[q]) != NULL : strcmp(buf_str(&b), q_text[q]) == 0;
                    buf_free(&b);
                }
                if (!match)
                    continue;
                want++;
                if (k >= n_got[q] || got[q][k++] != sp)
                    fail_msg("query %d (table %d): span %s is missing or out of place", q, with_table, sp->name);
            }
            if (n_got[q] != want)
                fail_msg("query %d (table %d): %u spans, want %u", q, with_table, n_got[q], want);
            if (want == 0)
                fail_msg("query %d matches nothing: the test is too weak", q);
        }
        arena_free(&a);
    }
    trace_set_free(&ts);
}

static trace_set *deep_chain(uint32_t n)
{
    trace_set *ts = trace_set_new(0);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(trace_set_add_span(ts, mk(ts, i, i, i % 2), NULL), 0);
    assert_int_equal(trace_set_index(ts), 0);
    return ts;
}

static int run(trace_set *ts, const char *src, uint32_t *n)
{
    sel_query *q = NULL;
    tc_error e;
    assert_int_equal(sel_parse(src, strlen(src), &q, &e), 0);
    arena *a = arena_new(0);
    trace_span **spans;
    int rc = sel_match(q, ts, trace_set_at(ts, 0), a, &spans, n);
    arena_free(&a);
    sel_free(&q);
    return rc;
}

/* Chains without a pseudo-class after the first step, and a pseudo-class
 * on the last step, cost linear work even on a trace 50000 deep. */
static void test_deep_trace_linear(void **state)
{
    (void)state;
    const uint32_t N = 50000;
    trace_set *ts = deep_chain(N);
    uint32_t n;
    assert_int_equal(run(ts, "span[] span[]", &n), 0);
    assert_int_equal(n, N - 1);
    assert_int_equal(run(ts, "span[] span[] span[c=1]", &n), 0);
    assert_int_equal(n, N / 2 - 1);
    assert_int_equal(run(ts, "span[c=0]:last span[c=1] span[]", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(run(ts, "span[] span[]:first", &n), 0);
    assert_int_equal(n, N - 1);
    assert_int_equal(run(ts, "span[c=1] span[c=1]:last", &n), 0);
    assert_int_equal(n, 1); /* every c=1 span has the same last c=1 descendant */
    assert_int_equal(run(ts, "span[] span[]:nth_child(2)", &n), 0);
    assert_int_equal(n, N - 2);
    trace_set_free(&ts);
}

/* A pseudo-class in the middle of a chain needs a walk per span: bounded. */
static void test_work_limit(void **state)
{
    (void)state;
    trace_set *ts = deep_chain(30000);
    uint32_t n = 7;
    assert_int_equal(run(ts, "span[] span[]:first span[name=\"none\"]", &n), TC_ERR_LIMIT);
    assert_int_equal(n, 0);
    trace_set_free(&ts);
}

/* Integers compare exactly, past a double's 53 bits. */
static void test_big_integers(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    trace_set_add_span(ts, mk(ts, 0, 0, 1700000000000000001), NULL);
    trace_set_add_span(ts, mk(ts, 1, 1, 1700000000000000000), NULL);
    trace_set_index(ts);
    uint32_t n;
    assert_int_equal(run(ts, "span[c=1700000000000000001]", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(run(ts, "span[tracetest.span.start_time=1000]", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(run(ts, "span[c=1.7e18]", &n), 0); /* a float compares as a double */
    assert_int_equal(n, 2);
    trace_set_free(&ts);
}

/* Selector length and term limits give located errors. */
static void test_parse_limits(void **state)
{
    (void)state;
    size_t cap = SEL_MAX_LEN + 16;
    char *src = malloc(cap);
    memset(src, ' ', cap);
    memcpy(src, "span[]", 6);
    sel_query *q = NULL;
    tc_error e;
    assert_int_equal(sel_parse(src, SEL_MAX_LEN + 1, &q, &e), TC_ERR_LIMIT);
    assert_null(q);
    assert_non_null(strstr(e.msg, "longer than"));
    assert_int_equal(sel_parse(src, SEL_MAX_LEN, &q, &e), 0);
    sel_free(&q);
    size_t len = 0;
    for (int i = 0; i < SEL_MAX_TERMS + 1; i++)
        len += (size_t)snprintf(src + len, cap - len, "%sspan[]", i ? "," : "");
    assert_int_equal(sel_parse(src, len, &q, &e), TC_ERR_LIMIT);
    assert_int_equal(e.col, 7 * SEL_MAX_TERMS + 1);
    assert_non_null(strstr(e.msg, "more than 1024 terms"));
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference), cmocka_unit_test(test_batch_against_reference),
        cmocka_unit_test(test_filters_by_value),  cmocka_unit_test(test_deep_trace_linear),
        cmocka_unit_test(test_work_limit),        cmocka_unit_test(test_big_integers),
        cmocka_unit_test(test_parse_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
