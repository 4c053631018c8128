/* jaeger.c - Jaeger's query service: gRPC jaeger.api_v2.QueryService/GetTrace
 * (port 16685, server-streaming SpansResponseChunk: what Tracetest's Jaeger
 * DataStore uses) when the endpoint is host:port, falling back to
 * jaeger.api_v3.QueryService/GetTrace (OTLP TracesData chunks) when api_v2
 * is not served; HTTP GET {endpoint}/api/traces/{id} (port 16686, the UI's
 * JSON) when the endpoint is a URL. */
#include "source_int.h"

#include "codec/codec.h"
#include "codec/jaeger_pb.h"

/* api_v3 GetTraceRequest { string trace_id = 1; ... }: one field, written
 * here as its two wire bytes and the hex id. */
static size_t v3_request(const uint8_t tid[16], uint8_t out[40])
{
    out[0] = 0x0a; /* field 1, length-delimited */
    out[1] = 32;
    hex_encode(tid, 16, (char *)out + 2);
    return 34;
}

source_status src_jaeger_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    if (!s->c->grpc)
        return src_get_trace(s, "api/traces/", "application/json", TF_JAEGER_JSON, tid, ts, deadline_ns, e);
    if (!s->v3) {
        tc_buf req;
        buf_init(&req, 1 << 10);
        if (jaeger_pb_get_trace_request(tid, &req)) {
            buf_free(&req);
            tc_error_set(e, TC_ERR_NOMEM, "out of memory");
            return SOURCE_FATAL;
        }
        source_status st = src_grpc_trace(s, "/jaeger.api_v2.QueryService/GetTrace", buf_str(&req), req.len,
                                          jaeger_pb_decode_chunk, tid, ts, deadline_ns, e);
        buf_free(&req);
        if (!(st == SOURCE_FATAL && s->grpc_status == 12)) /* UNIMPLEMENTED: a Jaeger with api_v3 only */
            return st;
        s->v3 = true;
    }
    uint8_t v3[40];
    size_t len = v3_request(tid, v3);
    return src_grpc_trace(s, "/jaeger.api_v3.QueryService/GetTrace", v3, len, otlp_pb_decode, tid, ts, deadline_ns, e);
}
