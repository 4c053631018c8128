/* otlp_json_test.c - OTLP JSON codec limits that need large generated
 * inputs (attribute, event, link and array item counts), arena exhaustion,
 * error slots left untouched on success, and the encoder's edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "codec/limits.h"

#include <stdio.h>
#include <string.h>

#define SPAN_HEAD                                                                          \
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"                       \
    "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\""
#define SPAN_TAIL "}]}]}]}"

/* Decodes SPAN_HEAD ,"field":[item x n] SPAN_TAIL; returns the code. */
static int decode_repeated(const char *field, const char *item, size_t n, tc_error *e,
                           trace_set **out)
{
    tc_buf b;
    buf_init(&b, 0);
    buf_printf(&b, SPAN_HEAD ",\"%s\":[", field);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_puts(&b, item);
    }
    buf_puts(&b, "]" SPAN_TAIL);
    assert_false(b.failed);
    trace_set *ts = trace_set_new(0);
    int rc = otlp_json_decode(ts, b.ptr, b.len, e);
    buf_free(&b);
    if (out)
        *out = ts;
    else
        trace_set_free(&ts);
    return rc;
}

static void test_attribute_limit(void **state)
{
    (void)state;
    tc_error e;
    trace_set *ts;
    const char *kv = "{\"key\":\"k\",\"value\":{\"intValue\":1}}";
    assert_int_equal(decode_repeated("attributes", kv, CODEC_MAX_ATTRS, &e, &ts), 0);
    assert_int_equal(trace_set_at(ts, 0)->spans[0]->n_attrs, CODEC_MAX_ATTRS);
    trace_set_free(&ts);
    assert_int_equal(decode_repeated("attributes", kv, CODEC_MAX_ATTRS + 1, &e, NULL),
                     TC_ERR_LIMIT);
    assert_string_equal(e.msg, "attributes: more than 16384 attributes");
    assert_int_equal(e.line, 1);
}

static void test_event_and_link_limits(void **state)
{
    (void)state;
    tc_error e;
    assert_int_equal(decode_repeated("events", "{\"name\":\"e\"}", CODEC_MAX_EVENTS + 1, &e,
                                     NULL),
                     TC_ERR_LIMIT);
    assert_string_equal(e.msg, "span.events: more than 65536 events");
    const char *link = "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
                       "\"1112131415161719\"}";
    trace_set *ts;
    assert_int_equal(decode_repeated("links", link, 3, &e, &ts), 0);
    assert_int_equal(trace_set_at(ts, 0)->spans[0]->n_links, 3);
    trace_set_free(&ts);
    assert_int_equal(decode_repeated("links", link, CODEC_MAX_LINKS + 1, &e, NULL),
                     TC_ERR_LIMIT);
    assert_string_equal(e.msg, "span.links: more than 65536 links");
}

static void test_array_item_limit(void **state)
{
    (void)state;
    tc_buf b;
    buf_init(&b, 0);
    buf_puts(&b, SPAN_HEAD ",\"attributes\":[{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":[");
    for (size_t i = 0; i <= CODEC_MAX_ITEMS; i++)
        buf_puts(&b, i ? ",{}" : "{}");
    buf_puts(&b, "]}}}]" SPAN_TAIL);
    trace_set *ts = trace_set_new(0);
    tc_error e;
    assert_int_equal(otlp_json_decode(ts, b.ptr, b.len, &e), TC_ERR_LIMIT);
    assert_string_equal(e.msg, "arrayValue: more than 1048576 items");
    trace_set_free(&ts);
    buf_free(&b);
}

static void test_arena_full(void **state)
{
    (void)state;
    tc_error e;
    tc_buf b;
    buf_init(&b, 0);
    buf_puts(&b, SPAN_HEAD ",\"name\":\"");
    for (int i = 0; i < 100000; i++)
        buf_putc(&b, 'x');
    buf_puts(&b, "\"" SPAN_TAIL);
    trace_set *ts = trace_set_new(65536);
    assert_non_null(ts);
    assert_int_equal(otlp_json_decode(ts, b.ptr, b.len, &e), TC_ERR_NOMEM);
    assert_string_equal(e.msg, "out of memory (trace arena full)");
    trace_set_free(&ts);
    buf_free(&b);
}

static void test_error_untouched_on_success(void **state)
{
    (void)state;
    tc_error e;
    memset(&e, 0x5a, sizeof e);
    trace_set *ts = trace_set_new(0);
    const char *doc = SPAN_HEAD SPAN_TAIL;
    assert_int_equal(otlp_json_decode(ts, doc, strlen(doc), &e), 0);
    assert_int_equal(e.line, 0x5a5a5a5a);
    assert_int_equal(otlp_json_decode(ts, doc, strlen(doc), NULL), 0);
    assert_int_equal(otlp_json_decode(ts, "[", 1, NULL), TC_ERR_INPUT);
    trace_set_free(&ts);
}

static void test_encode_empty_set(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    tc_buf b;
    buf_init(&b, 0);
    assert_int_equal(otlp_json_encode(ts, &b), 0);
    assert_string_equal(buf_str(&b), "{\"resourceSpans\":[]}");
    buf_free(&b);
    trace_set_free(&ts);
}

static void test_encode_buffer_cap(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    const char *doc = SPAN_HEAD SPAN_TAIL;
    assert_int_equal(otlp_json_decode(ts, doc, strlen(doc), NULL), 0);
    tc_buf b;
    buf_init(&b, 32);
    assert_int_equal(otlp_json_encode(ts, &b), TC_ERR_LIMIT);
    buf_free(&b);
    trace_set_free(&ts);
}

/* Equal attribute keys share one copy (evaluation knows keys by address);
 * the values stay as written. */
static void test_keys_shared(void **state)
{
    (void)state;
    tc_buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[");
    for (int i = 0; i < 300; i++)
        buf_printf(&b,
                   "%s{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"%016x\",\"attributes\":["
                   "{\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}},"
                   "{\"key\":\"app.k%d\",\"value\":{\"intValue\":\"%d\"}}]}",
                   i ? "," : "", i + 1, i % 40, i);
    buf_puts(&b, "]}]}]}");
    trace_set *ts = trace_set_new(0);
    tc_error e;
    assert_int_equal(otlp_json_decode(ts, b.ptr, b.len, &e), 0);
    buf_free(&b);
    trace *t = trace_set_at(ts, 0);
    assert_int_equal(t->n_spans, 300);
    for (uint32_t i = 1; i < t->n_spans; i++) {
        assert_ptr_equal(t->spans[i]->attrs[0].key, t->spans[0]->attrs[0].key);
        assert_string_equal(t->spans[i]->attrs[0].key, "http.method");
        char want[16];
        snprintf(want, sizeof want, "app.k%u", i % 40);
        assert_string_equal(t->spans[i]->attrs[1].key, want);
        assert_int_equal(t->spans[i]->attrs[1].value.u.i, (int64_t)i);
        if (i >= 40)
            assert_ptr_equal(t->spans[i]->attrs[1].key, t->spans[i - 40]->attrs[1].key);
    }
    trace_set_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribute_limit),
        cmocka_unit_test(test_keys_shared),
        cmocka_unit_test(test_event_and_link_limits),
        cmocka_unit_test(test_array_item_limit),
        cmocka_unit_test(test_arena_full),
        cmocka_unit_test(test_error_untouched_on_success),
        cmocka_unit_test(test_encode_empty_set),
        cmocka_unit_test(test_encode_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
