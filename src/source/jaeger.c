/* jaeger.c - Jaeger's query service: gRPC jaeger.api_v2.QueryService/GetTrace
 * (port 16685, server-streaming SpansResponseChunk: what Tracetest's Jaeger
 * DataStore uses) when the endpoint is host:port, falling back to
 * jaeger.api_v3.QueryService/GetTrace (OTLP TracesData chunks) when api_v2
 * is not served; HTTP GET {endpoint}/api/traces/{id} (port 16686, the UI's
 * JSON) when the endpoint is a URL. */
#include "source_int.h"

#include "codec/codec.h"
#include "codec/jaeger_pb.h"

#include <stdlib.h>
#include <string.h>

/* api_v3 GetTraceRequest { string trace_id = 1; ... }: one field, written
 * here as its three wire bytes and the hex id. */
static size_t v3_request(const uint8_t tid[16], uint8_t out[40])
{
    out[0] = 0x0a; /* field 1, length-delimited */
    out[1] = 32;
    hex_encode(tid, 16, (char *)out + 2);
    return 34;
}

static source_status fetch_grpc(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    tc_buf req;
    buf_init(&req, 1 << 10);
    uint8_t v3[40];
    const uint8_t **msgs = NULL;
    size_t *lens = NULL, n = 0;
    source_status st;
    if (!s->v3) {
        if (jaeger_pb_get_trace_request(tid, &req)) {
            buf_free(&req);
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory"), SOURCE_FATAL;
        }
        st = src_grpc(s, "/jaeger.api_v2.QueryService/GetTrace", buf_str(&req), req.len, deadline_ns, &msgs, &lens,
                      &n, e);
        if (st == SOURCE_FATAL && s->grpc_status == 12) /* UNIMPLEMENTED: a Jaeger v2 with api_v3 only */
            s->v3 = true;
    }
    if (s->v3) {
        size_t len = v3_request(tid, v3);
        st = src_grpc(s, "/jaeger.api_v3.QueryService/GetTrace", v3, len, deadline_ns, &msgs, &lens, &n, e);
    }
    buf_free(&req);
    if (st == SOURCE_FOUND) {
        uint32_t before = trace_set_count(ts);
        for (size_t i = 0; i < n && st == SOURCE_FOUND; i++) {
            tc_error de;
            int rc = s->v3 ? otlp_pb_decode(ts, msgs[i], lens[i], &de) : jaeger_pb_decode_chunk(ts, msgs[i], lens[i], &de);
            if (rc) {
                tc_error_set(e, TC_ERR_INPUT, "%s (gRPC GetTrace): cannot read message %zu of the answer: %s",
                             s->c->endpoint, i + 1, de.msg);
                st = SOURCE_FATAL;
            }
        }
        if (st == SOURCE_FOUND && trace_set_count(ts) == before) {
            tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet (no span in the answer)", s->c->endpoint);
            st = SOURCE_NOT_FOUND;
        }
    }
    free(msgs);
    free(lens);
    return st;
}

source_status src_jaeger_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    if (s->c->grpc)
        return fetch_grpc(s, tid, ts, deadline_ns, e);
    char hex[33], path[64];
    hex_encode(tid, 16, hex);
    snprintf(path, sizeof path, "api/traces/%s", hex);
    tc_buf url;
    buf_init(&url, 1 << 16);
    src_url(s->c, s->c->endpoint, path, &url);
    src_request rq = {.method = "GET", .url = buf_str(&url), .accept = "application/json"};
    long status;
    source_status st = src_http(s, &rq, deadline_ns, &status, e);
    if (st == SOURCE_FOUND) {
        uint32_t before = trace_set_count(ts);
        st = src_decode_body(s, ts, TF_JAEGER_JSON, buf_str(&url), e);
        if (st == SOURCE_FOUND && trace_set_count(ts) == before) {
            tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet (no span in the answer)", buf_str(&url));
            st = SOURCE_NOT_FOUND;
        }
    }
    buf_free(&url);
    return st;
}
