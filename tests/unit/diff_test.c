/* diff_test.c - the structural diff (core/diff.h) where case files cannot
 * reach: 1,000,000-span chains and fan-outs (no recursion, bounded lists),
 * name normalization, glob patterns, --fail-on kinds, partners, path
 * truncation and many-attribute spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/diff.h"

#include <stdio.h>
#include <string.h>

/* A span of trace tid with id (64-bit), parent (0: none) and name. */
static trace_span *mk(trace_set *ts, uint8_t tid, uint64_t id, uint64_t parent, const char *name,
                      uint64_t start)
{
    trace_span *sp = arena_calloc(trace_set_arena(ts), 1, sizeof *sp);
    sp->trace_id[15] = tid;
    memcpy(sp->span_id, &id, 8);
    memcpy(sp->parent_id, &parent, 8);
    sp->name = name;
    sp->kind = TRACE_KIND_INTERNAL;
    sp->start_ns = start;
    sp->end_ns = start + 1000;
    return sp;
}

static trace *build(trace_set *ts, uint8_t tid, uint32_t n, bool chain, const char *name)
{
    for (uint32_t i = 1; i <= n; i++) {
        uint64_t parent = i == 1 ? 0 : chain ? i - 1 : 1;
        assert_int_equal(trace_set_add_span(ts, mk(ts, tid, i, parent, name, i), NULL), 0);
    }
    assert_int_equal(trace_set_index(ts), 0);
    return trace_set_at(ts, 0);
}

static void test_million_chain(void **state)
{
    (void)state;
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    trace *ta = build(sa, 1, 1000000, true, "step 1"), *tb = build(sb, 2, 999990, true, "step 2");
    arena *ar = arena_new(0);
    diff_result d;
    tc_error e;
    diff_opts o = {.slower_pct = -1};
    assert_int_equal(diff_traces(ta, tb, &o, ar, &d, &e), 0);
    assert_int_equal(d.matched, 999990);
    assert_int_equal(d.spans_only_a, 10);
    assert_int_equal(d.n_only_a, 1); /* one subtree: the chain's last ten */
    assert_int_equal(d.only_a[0].n_spans, 10);
    assert_int_equal(diff_kinds(&d), DIFF_SHAPE);
    tc_buf b;
    buf_init(&b, 0);
    assert_int_equal(diff_path(&d, 0, d.only_a[0].span, 3, &b), 0);
    assert_string_equal(buf_str(&b),
                        "… > step {n} (?, internal) > step {n} (?, internal) > step {n} (?, internal)");
    buf_reset(&b);
    assert_int_equal(diff_write_text(&d, &b, 0, false), 0);
    assert_non_null(strstr(buf_str(&b), "only in A (10 spans)"));
    buf_free(&b);
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
}

static void test_million_fanout_capped(void **state)
{
    (void)state;
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    trace *ta = build(sa, 1, 1000000, false, "GET /items/1"), *tb = build(sb, 2, 10, false, "GET /items/2");
    arena *ar = arena_new(0);
    diff_result d;
    tc_error e;
    diff_opts o = {.slower_pct = -1, .max_items = 100};
    assert_int_equal(diff_traces(ta, tb, &o, ar, &d, &e), 0);
    assert_int_equal(d.matched, 10);
    assert_int_equal(d.n_counts_total, 1);
    assert_int_equal(d.counts[0].count_a, 999999);
    assert_int_equal(d.counts[0].count_b, 9);
    assert_int_equal(d.n_only_a, 100);          /* capped */
    assert_int_equal(d.n_only_a_total, 999990); /* counted whole */
    assert_true(d.truncated);
    assert_true(d.only_a[0].repeat);
    /* the lists stay small: the result is linear in spans, not in output */
    assert_true(arena_used(ar) < (size_t)200 << 20);
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
}

/* names through a one-span diff: equal after normalization or not */
static bool names_match(const char *x, const char *y)
{
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    trace_set_add_span(sa, mk(sa, 1, 1, 0, x, 1), NULL);
    trace_set_add_span(sb, mk(sb, 2, 1, 0, y, 1), NULL);
    trace_set_index(sa);
    trace_set_index(sb);
    arena *ar = arena_new(0);
    diff_result d;
    tc_error e;
    assert_int_equal(diff_traces(trace_set_at(sa, 0), trace_set_at(sb, 0), NULL, ar, &d, &e), 0);
    bool m = d.matched == 1;
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
    return m;
}

static void test_normalization(void **state)
{
    (void)state;
    assert_true(names_match("GET /orders/42", "GET /orders/43"));
    assert_true(names_match("GET /u/0b8f3a4e-1c2d-4e5f-9a8b-7c6d5e4f3a2b/x",
                            "GET /u/11111111-2222-3333-4444-555555555555/x"));
    assert_true(names_match("cache get deadbeef12", "cache get 0a1b2c3d4e5f"));
    assert_true(names_match("orders_42", "orders_7"));
    assert_false(
        names_match("GET /api/v1/orders", "GET /api/v2/orders")); /* a digit touching a letter stays */
    assert_false(names_match("GET /orders", "POST /orders"));
    assert_false(
        names_match("cache get cafebabe", "cache get deadbeef")); /* hex words without a digit stay */
    assert_false(names_match("GET /orders/42", "GET /orders/{n}x"));
}

static void test_glob_and_kinds(void **state)
{
    (void)state;
    assert_true(diff_glob("*.id", "order.id", 8));
    assert_false(diff_glob("*.id", "order.idx", 9));
    assert_true(diff_glob("http.*.date", "http.response.header.date", 25));
    assert_true(diff_glob("*", "", 0));
    assert_false(diff_glob("a*b*c", "abx", 3));
    assert_true(diff_glob("a*b*c", "a-b-b-c", 7));
    assert_int_equal(diff_kinds_parse("shape"), DIFF_SHAPE);
    assert_int_equal(diff_kinds_parse("attributes,duration"), DIFF_ATTRIBUTES | DIFF_DURATION);
    assert_int_equal(diff_kinds_parse("any"), DIFF_SHAPE | DIFF_ATTRIBUTES | DIFF_DURATION);
    assert_int_equal(diff_kinds_parse("shape,"), -1);
    assert_int_equal(diff_kinds_parse("size"), -1);
    assert_int_equal(diff_kinds_parse(""), -1);
    const char *const *dflt = diff_default_ignores();
    bool has_id = false;
    for (; *dflt; dflt++)
        has_id |= strcmp(*dflt, "*.id") == 0;
    assert_true(has_id);
}

static void set_attr(arena *a, tc_attr *at, const char *key, int64_t v)
{
    at->key = arena_strdup(a, key);
    at->key_len = (uint32_t)strlen(key);
    at->value.type = TC_V_INT;
    at->value.u.i = v;
}

/* more than 32 attributes in another order: the sorted merge; a repeated
 * key counts once, its last copy; partners */
static void test_many_attributes(void **state)
{
    (void)state;
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    trace_span *x = mk(sa, 1, 1, 0, "root", 1), *y = mk(sb, 2, 9, 0, "root", 1);
    arena *aa = trace_set_arena(sa), *ab = trace_set_arena(sb);
    x->n_attrs = 41;
    y->n_attrs = 41;
    x->attrs = arena_calloc(aa, 41, sizeof *x->attrs);
    y->attrs = arena_calloc(ab, 41, sizeof *y->attrs);
    char key[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        set_attr(aa, &x->attrs[i], key, i);
        set_attr(ab, &y->attrs[39 - i], key, i == 7 ? 700 : i);
    }
    set_attr(aa, &x->attrs[40], "k03", 3); /* a repeat with the same value: no change */
    set_attr(ab, &y->attrs[40], "new", 1);
    trace_set_add_span(sa, x, NULL);
    trace_set_add_span(sb, y, NULL);
    trace_set_index(sa);
    trace_set_index(sb);
    arena *ar = arena_new(0);
    diff_result d;
    tc_error e;
    assert_int_equal(diff_traces(trace_set_at(sa, 0), trace_set_at(sb, 0), NULL, ar, &d, &e), 0);
    assert_int_equal(d.n_changes, 1);
    assert_int_equal(d.changes[0].n_attrs, 2);
    assert_string_equal(d.changes[0].attrs[0].key, "k07");
    assert_int_equal(d.changes[0].attrs[0].kind, DIFF_ATTR_CHANGED);
    assert_string_equal(d.changes[0].attrs[1].key, "new");
    assert_int_equal(d.changes[0].attrs[1].kind, DIFF_ATTR_ADDED);
    assert_ptr_equal(diff_partner(&d, 0, x), y);
    assert_ptr_equal(diff_partner(&d, 1, y), x);
    assert_int_equal(diff_kinds(&d), DIFF_ATTRIBUTES);
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
}

static void test_arena_cap(void **state)
{
    (void)state;
    trace_set *sa = trace_set_new(0), *sb = trace_set_new(0);
    trace *ta = build(sa, 1, 10000, false, "x"), *tb = build(sb, 2, 10000, false, "x");
    arena *ar = arena_new(4096);
    diff_result d;
    tc_error e;
    assert_int_equal(diff_traces(ta, tb, NULL, ar, &d, &e), TC_ERR_NOMEM);
    assert_non_null(strstr(e.msg, "out of memory"));
    arena_free(&ar);
    trace_set_free(&sa);
    trace_set_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_chain),   cmocka_unit_test(test_million_fanout_capped),
        cmocka_unit_test(test_normalization),   cmocka_unit_test(test_glob_and_kinds),
        cmocka_unit_test(test_many_attributes), cmocka_unit_test(test_arena_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
