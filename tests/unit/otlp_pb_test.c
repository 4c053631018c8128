/* otlp_pb_test.c - the OTLP protobuf codec on messages built in C: every
 * AnyValue kind (nested kvlists and arrays, bytes, double, bool) reaches the
 * model, strings point into the unpacked message, and a synthetic set
 * survives encode -> decode unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "../../bench/gen.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;

static void set_kv(kv_t *kv, any_t *v, const char *key)
{
    *kv = (kv_t)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv->key = (char *)key;
    kv->value = v;
}

/* A one-span TracesData with attributes {k: {inner: [1.5, true, bytes 00ff]}}
 * and "s": "text"; packed with protobuf-c into a malloc'd buffer. */
static uint8_t *build_body(size_t *len)
{
    any_t dbl = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    dbl.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    dbl.double_value = 1.5;
    any_t bl = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    bl.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    bl.bool_value = 1;
    static uint8_t raw[] = {0x00, 0xff};
    any_t by = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    by.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    by.bytes_value.len = 2;
    by.bytes_value.data = raw;
    any_t *items[] = {&dbl, &bl, &by};
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    arr.n_values = 3;
    arr.values = items;
    any_t arrv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    arrv.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    arrv.array_value = &arr;
    kv_t inner;
    set_kv(&inner, &arrv, "inner");
    kv_t *inner_p[] = {&inner};
    Opentelemetry__Proto__Common__V1__KeyValueList kl =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    kl.n_values = 1;
    kl.values = inner_p;
    any_t klv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    klv.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    klv.kvlist_value = &kl;
    any_t str = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    str.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    str.string_value = "text";
    kv_t attrs[2];
    set_kv(&attrs[0], &klv, "k");
    set_kv(&attrs[1], &str, "s");
    kv_t *attr_p[] = {&attrs[0], &attrs[1]};

    static uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static uint8_t sid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Opentelemetry__Proto__Trace__V1__Span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    span.trace_id.len = 16;
    span.trace_id.data = tid;
    span.span_id.len = 8;
    span.span_id.data = sid;
    span.name = "op";
    span.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    span.n_attributes = 2;
    span.attributes = attr_p;
    Opentelemetry__Proto__Trace__V1__Span *spans[] = {&span};
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.n_spans = 1;
    ss.spans = spans;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp[] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.n_scope_spans = 1;
    rs.scope_spans = ssp;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp[] = {&rs};
    Opentelemetry__Proto__Trace__V1__TracesData td =
        OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
    td.n_resource_spans = 1;
    td.resource_spans = rsp;
    *len = opentelemetry__proto__trace__v1__traces_data__get_packed_size(&td);
    uint8_t *out = malloc(*len);
    opentelemetry__proto__trace__v1__traces_data__pack(&td, out);
    return out;
}

static void test_value_kinds(void **state)
{
    (void)state;
    size_t len;
    uint8_t *body = build_body(&len);
    trace_set *ts = trace_set_new(0);
    tc_error e;
    assert_int_equal(otlp_pb_decode(ts, body, len, &e), 0);
    free(body); /* the model must not point into the body */
    assert_int_equal(trace_set_span_count(ts), 1);
    trace_span *sp = trace_set_at(ts, 0)->spans[0];
    assert_string_equal(sp->name, "op");
    assert_int_equal(sp->kind, TRACE_KIND_CLIENT);
    assert_int_equal(sp->n_attrs, 2);
    const tc_value *k = &sp->attrs[0].value;
    assert_int_equal(k->type, TC_V_KVLIST);
    assert_int_equal(k->len, 1);
    assert_string_equal(k->u.kv[0].key, "inner");
    const tc_value *arr = &k->u.kv[0].value;
    assert_int_equal(arr->type, TC_V_ARRAY);
    assert_int_equal(arr->len, 3);
    assert_int_equal(arr->u.arr[0].type, TC_V_DOUBLE);
    assert_true(arr->u.arr[0].u.d == 1.5);
    assert_int_equal(arr->u.arr[1].type, TC_V_BOOL);
    assert_true(arr->u.arr[1].u.b);
    assert_int_equal(arr->u.arr[2].type, TC_V_BYTES);
    assert_int_equal(arr->u.arr[2].len, 2);
    assert_int_equal(arr->u.arr[2].u.bytes[1], 0xff);
    const tc_attr *s = attr_find(sp->attrs, sp->n_attrs, "s", 1);
    assert_non_null(s);
    assert_int_equal(s->value.len, 4);
    assert_string_equal(s->value.u.str, "text");
    tc_buf txt;
    buf_init(&txt, 0);
    value_to_json(&txt, k);
    assert_string_equal(buf_str(&txt), "{\"inner\":[1.5,true,\"AP8=\"]}");
    buf_free(&txt);
    trace_set_free(&ts);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The dump with its traces sorted: encoding groups spans by resource, so
 * traces may come back in another order of arrival. */
static void dump_of(trace_set *ts, tc_buf *out)
{
    tc_buf raw;
    buf_init(&raw, 0);
    assert_int_equal(trace_dump(ts, &raw), 0);
    while (raw.len && raw.ptr[raw.len - 1] == '\n')
        raw.ptr[--raw.len] = '\0';
    char *blocks[4096];
    size_t n = 0;
    for (char *p = strstr(raw.ptr, "trace "); p && n < 4096; p = strstr(p + 1, "\ntrace ")) {
        if (p != raw.ptr)
            *p++ = '\0';
        blocks[n++] = p;
    }
    qsort(blocks, n, sizeof *blocks, cmp_str);
    buf_init(out, 0);
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, blocks[i]);
        buf_putc(out, '\n');
    }
    buf_free(&raw);
}

static void test_round_trip_synthetic(void **state)
{
    (void)state;
    trace_set *ts = gen_trace_set(500, 7);
    assert_non_null(ts);
    tc_buf pb, before, after;
    buf_init(&pb, 0);
    assert_int_equal(otlp_pb_encode(ts, &pb), 0);
    dump_of(ts, &before);
    trace_set *back = trace_set_new(0);
    tc_error e;
    assert_int_equal(otlp_pb_decode(back, (const uint8_t *)pb.ptr, pb.len, &e), 0);
    assert_int_equal(trace_set_span_count(back), 500);
    dump_of(back, &after);
    assert_string_equal(buf_str(&before), buf_str(&after));
    /* one ResourceSpans per service, one ScopeSpans inside each */
    assert_int_equal(trace_set_count(back), trace_set_count(ts));
    buf_free(&pb);
    buf_free(&before);
    buf_free(&after);
    trace_set_free(&ts);
    trace_set_free(&back);
}

static void test_arena_cap(void **state)
{
    (void)state;
    size_t len;
    uint8_t *body = build_body(&len);
    trace_set *ts = trace_set_new(64 << 10); /* smaller than one block */
    tc_error e;
    int rc = otlp_pb_decode(ts, body, len, &e);
    assert_int_equal(rc, TC_ERR_NOMEM);
    free(body);
    trace_set_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_kinds),
        cmocka_unit_test(test_round_trip_synthetic),
        cmocka_unit_test(test_arena_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
