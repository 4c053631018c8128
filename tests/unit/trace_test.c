/* trace_test.c - the trace model: merging, duplicate replacement, indexes
 * (children by start time, pre-order ranges, roots, orphans, cycles),
 * attribute lookup through resource and scope, and the arena cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/trace.h"

#include <string.h>

static trace_span *mk(trace_set *ts, uint8_t tid, uint8_t id, uint8_t parent, uint64_t start)
{
    trace_span *sp = arena_calloc(trace_set_arena(ts), 1, sizeof *sp);
    sp->trace_id[15] = tid;
    sp->span_id[7] = id;
    sp->parent_id[7] = parent;
    sp->start_ns = start;
    sp->end_ns = start + 10;
    return sp;
}

static void test_merge_and_replace(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    assert_int_equal(trace_set_add_span(ts, mk(ts, 1, 1, 0, 100), NULL), 0);
    assert_int_equal(trace_set_add_span(ts, mk(ts, 2, 1, 0, 100), NULL), 0);
    trace_span *dup = mk(ts, 1, 1, 0, 100);
    dup->name = arena_strdup(trace_set_arena(ts), "retried");
    assert_int_equal(trace_set_add_span(ts, dup, NULL), 0);
    assert_int_equal(trace_set_count(ts), 2);
    assert_int_equal(trace_set_span_count(ts), 2);
    trace *t = trace_set_at(ts, 0);
    assert_int_equal(t->n_spans, 1);
    assert_string_equal(t->spans[0]->name, "retried");
    uint8_t id[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    assert_ptr_equal(trace_find_span(t, id), dup);
    trace_set_free(&ts);
    assert_null(ts);
}

static void test_index(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    /* root 1; children 2 (start 30) and 3 (start 20); 4 under 2; 5 orphan;
     * 6 <-> 7 form a cycle */
    trace_set_add_span(ts, mk(ts, 1, 2, 1, 30), NULL);
    trace_set_add_span(ts, mk(ts, 1, 4, 2, 40), NULL);
    trace_set_add_span(ts, mk(ts, 1, 1, 0, 10), NULL);
    trace_set_add_span(ts, mk(ts, 1, 3, 1, 20), NULL);
    trace_set_add_span(ts, mk(ts, 1, 5, 99, 5), NULL);
    trace_set_add_span(ts, mk(ts, 1, 6, 7, 50), NULL);
    trace_set_add_span(ts, mk(ts, 1, 7, 6, 60), NULL);
    assert_int_equal(trace_set_index(ts), 0);
    trace *t = trace_set_at(ts, 0);
    assert_true(t->indexed);
    assert_int_equal(t->n_roots, 1);
    assert_int_equal(t->roots[0]->span_id[7], 1);
    assert_int_equal(t->n_orphans, 2); /* 5, and the cycle cut at 6 */
    assert_int_equal(t->orphans[0]->span_id[7], 5);
    trace_span *root = t->roots[0];
    assert_int_equal(root->n_children, 2);
    assert_int_equal(root->children[0]->span_id[7], 3); /* by start time */
    assert_int_equal(root->children[1]->span_id[7], 2);
    assert_int_equal(root->subtree, 3);
    const uint8_t want[] = {1, 3, 2, 4, 5, 6, 7};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(t->preorder[i]->span_id[7], want[i]);
        assert_int_equal(t->preorder[i]->order, i);
    }
    assert_int_equal(t->preorder[3]->depth, 2);
    assert_int_equal(t->preorder[6]->depth, 1);
    assert_int_equal(t->start_ns, 5);
    assert_int_equal(t->end_ns, 70);
    trace_set_free(&ts);
}

static void test_attr_lookup(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    arena *a = trace_set_arena(ts);
    trace_resource *res = arena_calloc(a, 1, sizeof *res);
    res->attrs = arena_calloc(a, 2, sizeof(tc_attr));
    res->n_attrs = 2;
    res->attrs[0] = (tc_attr){"service.name", 12, {TC_V_STRING, 8, {.str = "payments"}}};
    res->attrs[1] = (tc_attr){"shared", 6, {TC_V_STRING, 3, {.str = "res"}}};
    trace_span *sp = mk(ts, 1, 1, 0, 1);
    sp->attrs = arena_calloc(a, 1, sizeof(tc_attr));
    sp->n_attrs = 1;
    sp->attrs[0] = (tc_attr){"shared", 6, {TC_V_INT, 0, {.i = 7}}};
    sp->resource = res;
    trace_set_add_span(ts, sp, NULL);
    assert_string_equal(trace_span_service(sp), "payments");
    const tc_value *v = trace_span_attr(sp, "shared", 6);
    assert_non_null(v);
    assert_int_equal(v->type, TC_V_INT); /* the span's own wins */
    assert_null(trace_span_attr(sp, "missing", 7));
    assert_string_equal(sp->name, "");
    assert_non_null(sp->scope);

    trace_set *copy = trace_set_new(0);
    assert_int_equal(trace_set_copy_span(copy, sp, NULL), 0);
    trace_span *c = trace_set_at(copy, 0)->spans[0];
    assert_ptr_not_equal(c, sp);
    assert_string_equal(trace_span_service(c), "payments");
    trace_set_free(&ts);
    assert_string_equal(trace_span_service(c), "payments"); /* survives the source */
    trace_set_free(&copy);
}

static void test_arena_cap(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    assert_non_null(arena_alloc(a, 512));
    assert_null(arena_alloc(a, 1024));
    char *s = arena_strdup(a, "abc");
    assert_string_equal(s, "abc");
    char *g = arena_realloc(a, s, 4, 100);
    assert_ptr_equal(g, s); /* grew in place */
    arena_free(&a);
    assert_null(a);
    arena_free(&a); /* NULL is fine */
}

static void test_kind_status_names(void **state)
{
    (void)state;
    assert_int_equal(trace_kind_parse("SPAN_KIND_SERVER", 16), TRACE_KIND_SERVER);
    assert_int_equal(trace_kind_parse("client", 6), TRACE_KIND_CLIENT);
    assert_int_equal(trace_kind_parse("nope", 4), -1);
    assert_int_equal(trace_status_parse("STATUS_CODE_ERROR", 17), TRACE_STATUS_ERROR);
    assert_string_equal(trace_kind_name(TRACE_KIND_CONSUMER), "consumer");
    assert_string_equal(trace_status_name(9), "unset");
}

/* Adopting an arena keeps its allocations alive in the other (ASan reports
 * a use after free or a leak otherwise), counts them, and leaves the other
 * arena's current chunk serving allocations. */
static void test_arena_adopt(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    char *before = arena_strdup(a, "before");
    for (int round = 0; round < 3; round++) {
        arena *b = arena_new(0);
        char *kept[200];
        for (int i = 0; i < 200; i++) /* several chunks */
            kept[i] = arena_alloc(b, 1000 + (size_t)i);
        memcpy(kept[199], "last", 5);
        size_t used = arena_used(a) + arena_used(b), reserved = arena_reserved(a) + arena_reserved(b);
        arena_adopt(a, &b);
        assert_null(b);
        assert_int_equal(arena_used(a), used);
        assert_int_equal(arena_reserved(a), reserved);
        assert_string_equal(kept[199], "last");
        memset(kept[0], 1, 1000);
    }
    char *p = arena_strdup(a, "after");
    void *q = arena_realloc(a, p, 6, 4000);
    assert_non_null(q);
    assert_string_equal(q, "after");
    assert_string_equal(before, "before");
    arena *empty = arena_new(0);
    arena_adopt(a, &empty);
    assert_null(empty);
    arena *fresh = arena_new(0);
    arena *c = arena_new(0);
    assert_non_null(arena_strdup(c, "into an empty arena"));
    arena_adopt(fresh, &c);
    assert_non_null(arena_alloc(fresh, 10));
    arena_free(&fresh);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_replace), cmocka_unit_test(test_index),
        cmocka_unit_test(test_attr_lookup), cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_kind_status_names), cmocka_unit_test(test_arena_adopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
