/* selector.c - fuzz harness: any bytes as a selector; when it parses, match
 * it against a small built-in trace (a root with two children and a
 * grandchild) and print it back. */
#include "codec/codec.h"
#include "core/sel.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char trace_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"api\"}}]},"
    "\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0000000000000001\",\"name\":\"root\",\"kind\":2,"
    "\"attributes\":[{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"200\"}}]},"
    "{\"traceId\":\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0000000000000002\",\"parentSpanId\":\"0000000000000001\","
    "\"name\":\"db\",\"kind\":3,\"attributes\":[{\"key\":\"db.system\",\"value\":{\"stringValue\":\"pg\"}}]},"
    "{\"traceId\":\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0000000000000003\",\"parentSpanId\":\"0000000000000001\","
    "\"name\":\"call\",\"kind\":3},"
    "{\"traceId\":\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0000000000000004\",\"parentSpanId\":\"0000000000000003\","
    "\"name\":\"db\",\"kind\":3,\"attributes\":[{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.5}}]}]}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sel_query *q = NULL;
    tc_error e;
    if (sel_parse((const char *)data, size, &q, &e) != 0)
        return 0;
    trace_set *ts = trace_set_new(0);
    arena *a = arena_new(0);
    if (ts && a && otlp_json_decode(ts, trace_json, strlen(trace_json), &e) == 0 && trace_set_index(ts) == 0) {
        trace_span **spans;
        uint32_t n;
        sel_match(q, ts, trace_set_at(ts, 0), a, &spans, &n);
        tc_buf b;
        buf_init(&b, 0);
        sel_print(q, &b);
        buf_free(&b);
    }
    arena_free(&a);
    trace_set_free(&ts);
    sel_free(&q);
    return 0;
}
