/* jaeger_zipkin_test.c - the count limits of the Jaeger and Zipkin JSON
 * decoders (too large for case files), and decoding without an error
 * structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "codec/limits.h"

#include <string.h>

static void test_jaeger_too_many_tags(void **state)
{
    (void)state;
    tc_buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"data\": [{\"spans\": [{\"traceID\": \"1\", \"spanID\": \"2\", \"tags\": [");
    for (int i = 0; i <= CODEC_MAX_ATTRS; i++)
        buf_printf(&b, "%s{\"key\": \"k%d\", \"type\": \"int64\", \"value\": %d}", i ? "," : "", i, i);
    buf_puts(&b, "]}]}]}");
    trace_set *ts = trace_set_new(0);
    tc_error e;
    assert_int_equal(jaeger_json_decode(ts, b.ptr, b.len, &e), TC_ERR_LIMIT);
    assert_string_equal(e.msg, "data[0].spans[0].tags: more than 16384 attributes");
    trace_set_free(&ts);
    buf_free(&b);
}

static void test_zipkin_too_many(void **state)
{
    (void)state;
    tc_buf b;
    buf_init(&b, 0);
    buf_puts(&b, "[{\"traceId\": \"1\", \"id\": \"2\", \"tags\": {");
    for (int i = 0; i <= CODEC_MAX_ATTRS; i++)
        buf_printf(&b, "%s\"k%d\": \"v\"", i ? "," : "", i);
    buf_puts(&b, "}}]");
    trace_set *ts = trace_set_new(0);
    tc_error e;
    assert_int_equal(zipkin_json_decode(ts, b.ptr, b.len, &e), TC_ERR_LIMIT);
    assert_string_equal(e.msg, "[0].tags: more than 16384 attributes");

    buf_reset(&b);
    buf_puts(&b, "[{\"traceId\": \"1\", \"id\": \"2\", \"annotations\": [");
    for (int i = 0; i <= CODEC_MAX_EVENTS; i++)
        buf_printf(&b, "%s{\"timestamp\": %d, \"value\": \"a\"}", i ? "," : "", i);
    buf_puts(&b, "]}]");
    assert_int_equal(zipkin_json_decode(ts, b.ptr, b.len, &e), TC_ERR_LIMIT);
    assert_string_equal(e.msg, "[0].annotations: more than 65536 annotations");
    assert_int_equal(trace_set_span_count(ts), 0);
    trace_set_free(&ts);
    buf_free(&b);
}

static void test_null_error_and_replace(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    const char *bad = "[{\"traceId\": 1}]";
    assert_int_equal(zipkin_json_decode(ts, bad, strlen(bad), NULL), TC_ERR_INPUT);
    assert_int_equal(jaeger_json_decode(ts, "{", 1, NULL), TC_ERR_INPUT);
    /* the same span twice (a retried export) is kept once, the later copy */
    const char *twice = "[{\"traceId\": \"1\", \"id\": \"2\", \"name\": \"a\"},"
                        " {\"traceId\": \"1\", \"id\": \"2\", \"name\": \"b\"}]";
    assert_int_equal(zipkin_json_decode(ts, twice, strlen(twice), NULL), 0);
    assert_int_equal(trace_set_span_count(ts), 1);
    assert_string_equal(trace_set_at(ts, 0)->spans[0]->name, "b");
    trace_set_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jaeger_too_many_tags),
        cmocka_unit_test(test_zipkin_too_many),
        cmocka_unit_test(test_null_error_and_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
