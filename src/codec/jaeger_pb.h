/* jaeger_pb.h - Jaeger's gRPC query API (jaeger.api_v2, protobuf): the
 * spans of a GetTrace / FindTraces response chunk into the trace model, and
 * the GetTrace request.
 *
 * Ownership: as the decoders of codec.h: spans, strings, attributes,
 * resources and scopes are allocated from the trace set's arena and live
 * until the set is freed; the input buffer is not kept. The request
 * encoder appends to a caller-owned tc_buf. */
#ifndef TC_CODEC_JAEGER_PB_H
#define TC_CODEC_JAEGER_PB_H

#include "core/buf.h"
#include "core/error.h"
#include "core/trace.h"

#include <stddef.h>
#include <stdint.h>

/* Decodes one SpansResponseChunk message (protobuf bytes, no gRPC framing)
 * and adds its spans to ts, mapping Jaeger's conventions (span.kind,
 * error / otel.status_code tags, process as resource, references, logs)
 * exactly as jaeger_json_decode does. Returns 0, or TC_ERR_INPUT /
 * TC_ERR_LIMIT / TC_ERR_NOMEM with e set: a wire error names its byte
 * offset ("malformed protobuf at byte N: ..."), a bad span its index and
 * offset ("spans[I] at byte N: field: ..."), and e->offset holds the
 * offset. Spans before a bad one may have been added already. */
int jaeger_pb_decode_chunk(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e);

/* Appends a GetTraceRequest for trace id tid (16 bytes, no start or end
 * time, raw_traces false) to out. Returns 0, or the TC_ERR_* code of the
 * failed append (out then holds what it held before). */
int jaeger_pb_get_trace_request(const uint8_t tid[16], tc_buf *out);

#endif
