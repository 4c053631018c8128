/* jaeger_map.h - the rules both Jaeger decoders (the query service's JSON,
 * jaeger_json.c, and the gRPC API's protobuf model, jaeger_pb.c) share to
 * map Jaeger's tag conventions onto the trace model, the way the
 * OpenTelemetry Collector does: span kind, status, renamed tags. */
#ifndef TC_CODEC_JAEGER_MAP_H
#define TC_CODEC_JAEGER_MAP_H

#include "core/trace.h"
#include "core/value.h"

/* The string of v, or "" when v is not a string. */
const char *jaeger_str_or_empty(const tc_value *v);

/* Renames the attribute `from` (when present) to `to`, in place. */
void jaeger_rename_attr(tc_attr *attrs, uint32_t n, const char *from, const char *to);

/* The span kind a `span.kind` tag names ("server", ...), else unspecified. */
trace_kind jaeger_kind_of(const char *s);

/* Sets the span's status from Jaeger's conventions: error=true wins; then
 * otel.status_code (+ otel.status_description); then an HTTP status code.
 * Removes the tags it consumed from s->attrs. */
void jaeger_span_status(trace_span *s);

#endif
