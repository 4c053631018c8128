/* selector.c - fuzz harness: any bytes as a selector; when it parses, match
 * it against a small built-in trace (a root with two children and a
 * grandchild); its canonical print must parse back to itself. */
#include "codec/codec.h"
#include "core/sel.h"

#include <stdint.h>
#include <stdlib.h>
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
        /* the canonical form parses back to itself */
        tc_buf b, b2;
        buf_init(&b, 0);
        buf_init(&b2, 0);
        sel_query *q2 = NULL;
        if (sel_print(q, &b) == 0 && (sel_parse(b.ptr ? b.ptr : "", b.len, &q2, &e) != 0 ||
                                      sel_print(q2, &b2) != 0 || strcmp(buf_str(&b), buf_str(&b2)) != 0))
            abort();
        sel_free(&q2);
        buf_free(&b);
        buf_free(&b2);
    }
    arena_free(&a);
    trace_set_free(&ts);
    sel_free(&q);
    return 0;
}
