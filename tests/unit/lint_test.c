/* lint_test.c - the trace analyzer where data files cannot reach: a
 * 1,000,000-span chain and a 1,000,000-span cycle (no recursion, bounded
 * findings), the cap on kept findings, many attributes on one span, the
 * statement shapes of the N+1 rule, configuration checks and the tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/lint.h"
#include "core/trace.h"

#include <stdio.h>
#include <string.h>

static trace_span *mk(trace_set *ts, uint32_t id, uint32_t parent, uint64_t start, uint64_t end)
{
    trace_span *sp = arena_calloc(trace_set_arena(ts), 1, sizeof *sp);
    sp->trace_id[15] = 1;
    for (int i = 0; i < 4; i++) {
        sp->span_id[7 - i] = (uint8_t)(id >> (8 * i));
        sp->parent_id[7 - i] = (uint8_t)(parent >> (8 * i));
    }
    sp->span_id[0] = 0x10; /* never all zero */
    if (parent)
        sp->parent_id[0] = 0x10;
    sp->start_ns = start;
    sp->end_ns = end;
    sp->kind = TRACE_KIND_INTERNAL;
    return sp;
}

static const lint_rule_result *rule(const lint_result *r, const char *plugin, const char *id)
{
    for (size_t i = 0; i < r->n_plugins; i++)
        if (strcmp(r->plugins[i].info->id, plugin) == 0)
            for (size_t k = 0; k < r->plugins[i].n_rules; k++)
                if (strcmp(r->plugins[i].rules[k].info->id, id) == 0)
                    return &r->plugins[i].rules[k];
    return NULL;
}

#define BIG 1000000u

/* A chain of a million spans, each the parent of the next, every span
 * named with an id and every one ending after its parent: each rule runs
 * over all of them, findings are counted in full but kept up to the cap. */
static void test_million_span_chain(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    assert_non_null(ts);
    for (uint32_t i = 1; i <= BIG; i++) {
        trace_span *sp = mk(ts, i, i - 1, i, (uint64_t)i * 10000); /* a child ends 10us after its parent */
        char name[32];
        snprintf(name, sizeof name, "step %u", 100000 + i);
        sp->name = arena_strdup(trace_set_arena(ts), name);
        assert_int_equal(trace_set_add_span(ts, sp, NULL), 0);
    }
    assert_int_equal(trace_set_index(ts), 0);
    trace *t = trace_set_at(ts, 0);
    assert_int_equal(t->n_spans, BIG);
    arena *a = arena_new(0);
    lint_result *r = NULL;
    tc_error e;
    assert_int_equal(lint_run(NULL, t, a, &r, &e), 0);
    assert_int_equal(r->n_spans, BIG);
    const lint_rule_result *names = rule(r, "structure", "unbounded-span-name");
    assert_non_null(names);
    assert_false(names->passed);
    assert_int_equal(names->n_findings, BIG);
    assert_int_equal(names->n_kept, LINT_MAX_KEPT);
    const lint_rule_result *outl = rule(r, "structure", "span-outlives-parent");
    assert_int_equal(outl->n_findings, BIG - 1);
    assert_true(rule(r, "structure", "missing-parent")->passed);
    /* what the result holds stays small: the kept findings and messages */
    assert_true(arena_used(a) < ((size_t)8 << 20));
    arena_free(&a);
    trace_set_free(&ts);
}

/* A million spans in one parent cycle: the index cuts it, the analyzer
 * reports the span where it was cut, once. */
static void test_million_span_cycle(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    for (uint32_t i = 1; i <= BIG; i++)
        assert_int_equal(trace_set_add_span(ts, mk(ts, i, i == 1 ? BIG : i - 1, i, i + 10), NULL), 0);
    assert_int_equal(trace_set_index(ts), 0);
    trace *t = trace_set_at(ts, 0);
    arena *a = arena_new(0);
    lint_result *r = NULL;
    tc_error e;
    assert_int_equal(lint_run(NULL, t, a, &r, &e), 0);
    const lint_rule_result *mp = rule(r, "structure", "missing-parent");
    assert_int_equal(mp->n_findings, 1);
    assert_non_null(strstr(mp->findings[0].message, "cycle"));
    const lint_rule_result *root = rule(r, "structure", "server-root");
    assert_false(root->passed); /* no span without a parent: no root at all */
    assert_non_null(strstr(root->findings[0].message, "no root span"));
    arena_free(&a);
    trace_set_free(&ts);
}

/* 300 attributes on one span, two of them namespaces of others: found
 * through the sorted keys (past the small-array path). */
static void test_many_attributes(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    trace_span *sp = mk(ts, 1, 0, 0, 10);
    arena *ta = trace_set_arena(ts);
    sp->n_attrs = 300;
    sp->attrs = arena_calloc(ta, sp->n_attrs, sizeof *sp->attrs);
    for (uint32_t i = 0; i < sp->n_attrs; i++) {
        char key[32];
        if (i == 10)
            snprintf(key, sizeof key, "app.k5"); /* namespace of app.k5.x */
        else if (i == 11)
            snprintf(key, sizeof key, "app.k5.x");
        else if (i == 12)
            snprintf(key, sizeof key, "app.k5-b"); /* sorts between app.k5 and app.k5.x */
        else if (i == 200)
            snprintf(key, sizeof key, "app.zz");
        else if (i == 201)
            snprintf(key, sizeof key, "app.zz.deep.er");
        else
            snprintf(key, sizeof key, "app.key_%03u", i);
        sp->attrs[i].key = arena_strdup(ta, key);
        sp->attrs[i].key_len = (uint32_t)strlen(key);
        sp->attrs[i].value = (tc_value){.type = TC_V_INT, .u.i = i};
    }
    assert_int_equal(trace_set_add_span(ts, sp, NULL), 0);
    assert_int_equal(trace_set_index(ts), 0);
    lint_plugin_cfg pc = {"standards", true, false, (lint_rule_cfg[]){{"attribute-naming", 25, LINT_ERROR}},
                          1};
    lint_config cfg = {0, &pc, 1, 0, 0};
    arena *a = arena_new(0);
    lint_result *r = NULL;
    tc_error e;
    assert_int_equal(lint_run(&cfg, trace_set_at(ts, 0), a, &r, &e), 0);
    const lint_rule_result *rr = &r->plugins[0].rules[0];
    /* "app.k5-b" is badly named ('-'); app.k5 and app.zz are namespaces */
    assert_int_equal(rr->n_findings, 3);
    assert_non_null(strstr(rr->findings[0].message, "\"app.k5-b\" does not follow"));
    assert_non_null(strstr(rr->findings[1].message, "\"app.k5\" is also the namespace"));
    assert_non_null(strstr(rr->findings[2].message, "\"app.zz\" is also the namespace"));
    arena_free(&a);
    trace_set_free(&ts);
}

static void test_statement_shape(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"},
        {"select  *\n from t where name='O''Brien' and x = 1.5", "select * from t where name=? and x = ?"},
        {"SELECT a FROM t WHERE id IN (1, 2, 3, 4)", "SELECT a FROM t WHERE id IN (?)"},
        {"SELECT a FROM t2 WHERE id = $1", "SELECT a FROM t2 WHERE id = $1"},
        {"INSERT INTO t VALUES ('a', \"b\", 0x1F)", "INSERT INTO t VALUES (?)"},
        {"  GET key:123  ", "GET key:?"},
    };
    char out[LINT_MAX_SHAPE];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lint_statement_shape(cases[i][0], strlen(cases[i][0]), out);
        assert_string_equal(out, cases[i][1]);
    }
    /* a long statement is cut, never overflowed */
    char big[4096];
    memset(big, 'x', sizeof big);
    assert_int_equal(lint_statement_shape(big, sizeof big, out), LINT_MAX_SHAPE - 1);
    assert_int_equal(strlen(out), LINT_MAX_SHAPE - 1);
    /* an unterminated string literal ends the shape */
    lint_statement_shape("SELECT 'abc", 11, out);
    assert_string_equal(out, "SELECT ?");
}

static void test_config_check(void **state)
{
    (void)state;
    tc_error e;
    lint_config cfg = {101, NULL, 0, 0, 0};
    assert_int_equal(lint_config_check(&cfg, &e), TC_ERR_INPUT);
    assert_non_null(strstr(e.msg, "101"));
    lint_plugin_cfg bad_plugin = {"nope", true, false, NULL, 0};
    cfg = (lint_config){0, &bad_plugin, 1, 0, 0};
    assert_int_equal(lint_config_check(&cfg, &e), TC_ERR_INPUT);
    assert_non_null(strstr(e.msg, "\"nope\""));
    lint_rule_cfg neg = {"prefer-dns", -1, LINT_ERROR};
    lint_plugin_cfg p = {"common", true, false, &neg, 1};
    cfg = (lint_config){0, &p, 1, 0, 0};
    assert_int_equal(lint_config_check(&cfg, &e), TC_ERR_INPUT);
    /* lint_run refuses it too, writing nothing */
    trace_set *ts = trace_set_new(0);
    trace_set_add_span(ts, mk(ts, 1, 0, 0, 1), NULL);
    trace_set_index(ts);
    arena *a = arena_new(0);
    lint_result *r = (lint_result *)&p; /* a value lint_run must leave alone */
    assert_int_equal(lint_run(&cfg, trace_set_at(ts, 0), a, &r, &e), TC_ERR_INPUT);
    assert_ptr_equal(r, (lint_result *)&p);
    arena_free(&a);
    trace_set_free(&ts);
}

/* The tables: Tracetest's ids, weights and levels; every plugin's default
 * weights sum to 100. */
static void test_tables(void **state)
{
    (void)state;
    size_t n;
    const lint_plugin_info *p = lint_plugins(&n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        int sum = 0;
        for (size_t k = 0; k < p[i].n_rules; k++)
            sum += p[i].rules[k].weight;
        assert_int_equal(sum, 100);
    }
    const lint_rule_info *r = lint_rule_find(lint_plugin_find("security"), "no-api-key-leak");
    assert_non_null(r);
    assert_int_equal(r->weight, 70);
    assert_int_equal(r->level, LINT_ERROR);
    assert_null(lint_rule_find(lint_plugin_find("common"), "span-naming"));
    assert_int_equal(lint_level_parse("Warning"), LINT_WARNING);
    assert_int_equal(lint_level_parse("fatal"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_span_chain), cmocka_unit_test(test_million_span_cycle),
        cmocka_unit_test(test_many_attributes),    cmocka_unit_test(test_statement_shape),
        cmocka_unit_test(test_config_check),       cmocka_unit_test(test_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
