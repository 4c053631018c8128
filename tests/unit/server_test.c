/* server_test.c - pieces of the server that need no server: cutting a PUT
 * body into documents (YAML markers, a document on the marker's line,
 * comments-only documents, a JSON array) with each document's errors at
 * the body's line and column, a VariableSet's secrets masked, RFC 3339
 * times both ways, and what counts as a loopback address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

static void test_split_yaml(void **state)
{
    (void)state;
    const char *body = "# a comment only\n"
                       "---\n"
                       "type: Test\n"
                       "spec: {id: a, trigger: {type: traceid, traceid: {id: x}}}\n"
                       "---\n"
                       "# nothing here\n"
                       "...\n"
                       "--- {type: VariableSet, spec: {id: v, values: [{key: K, value: x}]}}\n";
    resdoc *d = NULL;
    size_t n = 0;
    tc_error e;
    assert_int_equal(resdoc_split(body, strlen(body), false, &d, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].line, 3);
    assert_int_equal(d[0].col, 1);
    assert_true(strncmp(d[0].text, "type: Test\n", 11) == 0);
    assert_int_equal(d[1].line, 8);
    assert_int_equal(d[1].col, 4);
    res_file *f = NULL;
    assert_int_equal(resdoc_load(&d[1], &f, &e), 0);
    assert_int_equal(f->items[0].kind, RES_VARSET);
    assert_int_equal(f->items[0].line, 8);
    res_file_free(&f);
    free(d);
}

static void test_error_at_body_position(void **state)
{
    (void)state;
    const char *body = "type: Test\nspec: {id: a}\n---\ntype: Test\nspec:\n  id: b\n  specs: 3\n";
    resdoc *d = NULL;
    size_t n = 0;
    tc_error e;
    assert_int_equal(resdoc_split(body, strlen(body), false, &d, &n, &e), 0);
    assert_int_equal(n, 2);
    res_file *f = NULL;
    memset(&e, 0, sizeof e);
    assert_int_not_equal(resdoc_load(&d[1], &f, &e), 0);
    assert_int_equal(e.line, 7); /* "specs: 3" in the body */
    free(d);
}

static void test_split_json_array(void **state)
{
    (void)state;
    const char *body = "[\n  {\"type\": \"Test\", \"spec\": {\"id\": \"a\"}},\n"
                       "  {\"type\": \"Test\",\n   \"spec\": {\"id\": \"b\", \"specs\": 3}}\n]";
    resdoc *d = NULL;
    size_t n = 0;
    tc_error e;
    assert_int_equal(resdoc_split(body, strlen(body), true, &d, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].line, 2);
    assert_int_equal(d[0].col, 3);
    assert_int_equal(d[1].line, 3);
    assert_int_equal(d[1].text[d[1].len - 1], '}');
    res_file *f = NULL;
    memset(&e, 0, sizeof e);
    assert_int_not_equal(resdoc_load(&d[1], &f, &e), 0);
    assert_int_equal(e.line, 4);
    free(d);

    const char *bad = "[{\"type\": \"Test\"}, 3]";
    assert_int_equal(resdoc_split(bad, strlen(bad), true, &d, &n, &e), TC_ERR_INPUT);
    assert_null(d);
    const char *broken = "{\"type\": \n\"Test\"";
    memset(&e, 0, sizeof e);
    assert_int_equal(resdoc_split(broken, strlen(broken), true, &d, &n, &e), TC_ERR_INPUT);
    assert_int_equal(e.line, 2);
}

static void test_mask_varset(void **state)
{
    (void)state;
    const char *doc = "type: VariableSet\nspec:\n  id: v\n  values:\n"
                      "    - {key: A, value: s3cr3t, secret: true}\n"
                      "    - {key: B, value: plain}\n"
                      "    - {key: C, value: also, type: secret}\n";
    json_t *j = resdoc_to_jansson(doc, strlen(doc));
    assert_non_null(j);
    assert_int_equal(resdoc_mask_varset(j), 2);
    json_t *values = json_object_get(json_object_get(j, "spec"), "values");
    assert_string_equal(json_string_value(json_object_get(json_array_get(values, 0), "value")), "****");
    assert_string_equal(json_string_value(json_object_get(json_array_get(values, 1), "value")), "plain");
    assert_string_equal(json_string_value(json_object_get(json_array_get(values, 2), "value")), "****");
    json_decref(j);

    tc_buf b;
    buf_init(&b, 0);
    tc_error e;
    assert_int_equal(resdoc_to_json("a: [1, two]\nb: {c: true}\n", 24, &b, &e), 0);
    json_t *r = json_loads(buf_str(&b), 0, NULL);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r, "a"), 0)), 1);
    assert_true(json_is_true(json_object_get(json_object_get(r, "b"), "c")));
    json_decref(r);
    buf_free(&b);
}

static void test_times(void **state)
{
    (void)state;
    int64_t ns;
    char t[32];
    assert_int_equal(srv_parse_time("2026-12-03T12:00:00.123Z", &ns), 0);
    assert_string_equal(srv_time(ns, t), "2026-12-03T12:00:00.123Z");
    assert_int_equal(srv_parse_time("2026-12-03T13:30:00+01:30", &ns), 0);
    assert_string_equal(srv_time(ns, t), "2026-12-03T12:00:00.000Z");
    assert_int_equal(srv_parse_time("1970-01-01T00:00:00Z", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(srv_parse_time("2999-01-01T00:00:00Z", &ns), 0);
    assert_true(ns == INT64_MAX);
    assert_int_equal(srv_parse_time("2026-12-03", &ns), -1);
    assert_int_equal(srv_parse_time("2026-12-03T12:00:00", &ns), -1);
    assert_int_equal(srv_parse_time("2026-13-03T12:00:00Z", &ns), -1);
    assert_int_equal(srv_parse_time("2026-12-03T12:00:00Zjunk", &ns), -1);
}

static void test_loopback(void **state)
{
    (void)state;
    assert_true(server_addr_is_loopback("127.0.0.1:11633"));
    assert_true(server_addr_is_loopback(":11633"));
    assert_true(server_addr_is_loopback("[::1]:11633"));
    assert_true(server_addr_is_loopback("127.8.9.10:0"));
    assert_false(server_addr_is_loopback("0.0.0.0:11633"));
    assert_false(server_addr_is_loopback("[::]:11633"));
    assert_false(server_addr_is_loopback("10.1.2.3:80"));
    assert_false(server_addr_is_loopback("no-port"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_yaml),
        cmocka_unit_test(test_error_at_body_position),
        cmocka_unit_test(test_split_json_array),
        cmocka_unit_test(test_mask_varset),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
