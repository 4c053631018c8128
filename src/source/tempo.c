/* tempo.c - Grafana Tempo: GET {url}/api/traces/{id} asking for
 * application/protobuf (Trace{batches}, read by the OTLP protobuf decoder;
 * JSON when the server answers JSON), or gRPC tempopb.Querier/FindTraceByID.
 * Headers of the DataStore (X-Scope-OrgID, Authorization) go with each call. */
#include "source_int.h"

#include "codec/codec.h"
#include "tempopb/tempo.pb-c.h"

source_status src_tempo_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    if (!s->c->grpc)
        return src_get_trace(s, "api/traces/", "application/protobuf", -1, tid, ts, deadline_ns, e);
    Tempopb__TraceByIDRequest rq = TEMPOPB__TRACE_BY_IDREQUEST__INIT;
    rq.traceid.data = (uint8_t *)tid;
    rq.traceid.len = 16;
    uint8_t req[64];
    size_t len = tempopb__trace_by_idrequest__pack(&rq, req);
    return src_grpc_trace(s, "/tempopb.Querier/FindTraceByID", req, len, otlp_pb_decode, tid, ts, deadline_ns, e);
}
