/* tempo.c - Grafana Tempo: GET {url}/api/traces/{id} asking for
 * application/protobuf (Trace{batches}, read by the OTLP protobuf decoder;
 * JSON when the server answers JSON), or gRPC tempopb.Querier/FindTraceByID.
 * Headers of the DataStore (X-Scope-OrgID, Authorization) go with each call. */
#include "source_int.h"

#include "codec/codec.h"
#include "tempopb/tempo.pb-c.h"

#include <stdlib.h>
#include <string.h>

static source_status fetch_grpc(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    Tempopb__TraceByIDRequest rq = TEMPOPB__TRACE_BY_IDREQUEST__INIT;
    rq.traceid.data = (uint8_t *)tid;
    rq.traceid.len = 16;
    uint8_t req[64];
    size_t len = tempopb__trace_by_idrequest__pack(&rq, req);
    const uint8_t **msgs = NULL;
    size_t *lens = NULL, n = 0;
    source_status st = src_grpc(s, "/tempopb.Querier/FindTraceByID", req, len, deadline_ns, &msgs, &lens, &n, e);
    if (st == SOURCE_FOUND) {
        uint32_t before = trace_set_count(ts);
        for (size_t i = 0; i < n && st == SOURCE_FOUND; i++) {
            tc_error de;
            if (otlp_pb_decode(ts, msgs[i], lens[i], &de)) {
                tc_error_set(e, TC_ERR_INPUT, "%s (gRPC FindTraceByID): cannot read the answer: %s", s->c->endpoint,
                             de.msg);
                st = SOURCE_FATAL;
            }
        }
        if (st == SOURCE_FOUND && trace_set_count(ts) == before) {
            tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet", s->c->endpoint);
            st = SOURCE_NOT_FOUND;
        }
    }
    free(msgs);
    free(lens);
    return st;
}

source_status src_tempo_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    if (s->c->grpc)
        return fetch_grpc(s, tid, ts, deadline_ns, e);
    char hex[33], path[64];
    hex_encode(tid, 16, hex);
    snprintf(path, sizeof path, "api/traces/%s", hex);
    tc_buf url;
    buf_init(&url, 1 << 16);
    src_url(s->c, s->c->endpoint, path, &url);
    src_request rq = {.method = "GET", .url = buf_str(&url), .accept = "application/protobuf"};
    long status;
    source_status st = src_http(s, &rq, deadline_ns, &status, e);
    if (st == SOURCE_FOUND) {
        bool json = strstr(s->content_type, "json") != NULL;
        uint32_t before = trace_set_count(ts);
        st = src_decode_body(s, ts, json ? TF_AUTO : TF_OTLP_PROTO, buf_str(&url), e);
        if (st == SOURCE_FOUND && trace_set_count(ts) == before) {
            tc_error_set(e, TC_ERR_IO, "%s: the trace is not there yet (an empty trace)", buf_str(&url));
            st = SOURCE_NOT_FOUND;
        }
    }
    buf_free(&url);
    return st;
}
