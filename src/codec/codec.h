/* codec.h - bytes <-> trace model, for every trace format tracecheck reads.
 *
 * Decoders add the spans they find to a trace_set (spans of one trace may
 * arrive in many bodies and formats; a repeated span id replaces the
 * earlier copy). They allocate from the set's arena only. On failure they
 * return TC_ERR_INPUT or TC_ERR_LIMIT with a located error (byte offset;
 * line/col for text formats) and may have added some spans already: the
 * caller discards the set when it wants all or nothing. No decoder reads
 * files or sockets.
 *
 * Encoders append to a tc_buf and return 0 or a TC_ERR_* code. */
#ifndef TC_CODEC_H
#define TC_CODEC_H

#include "core/buf.h"
#include "core/error.h"
#include "core/trace.h"

#include <stddef.h>
#include <stdint.h>

typedef enum tracefile_format {
    TF_AUTO = 0,
    TF_OTLP_PROTO,   /* TracesData / ExportTraceServiceRequest (also Tempo protobuf) */
    TF_OTLP_GRPC,    /* one gRPC message: flag byte, 4-byte length, protobuf */
    TF_OTLP_JSON,    /* {"resourceSpans": ...}, also Tempo v1/v2 and Jaeger api_v3 JSON */
    TF_JAEGER_JSON,  /* Jaeger query /api/traces/{id}: {"data": [...]} */
    TF_ZIPKIN_JSON,  /* Zipkin v2: [ {span}, ... ] */
    TF_JAEGER_PROTO, /* Jaeger api_v2 SpansResponseChunk (protobuf; never sniffed) */
    TF_OPENSEARCH_JSON, /* OpenSearch _search over Data Prepper span documents */
    TF_ELASTICAPM_JSON, /* Elasticsearch _search over Elastic APM documents */
    TF_XRAY_JSON,    /* AWS X-Ray BatchGetTraces: {"Traces": [...]} */
} tracefile_format;

/* OTLP protobuf: TracesData or ExportTraceServiceRequest (same wire form);
 * also Tempo's protobuf trace (field 1 = ResourceSpans) and its v2
 * TraceByIDResponse wrapper. */
int otlp_pb_decode(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e);

/* Encodes every trace of the set as one TracesData message. */
int otlp_pb_encode(trace_set *ts, tc_buf *out);

/* OTLP JSON (the OTLP/HTTP JSON mapping, lenient as the real producers
 * are): top-level resourceSpans, or Tempo's "batches", or a wrapper
 * {"trace": {...}} (Tempo v2) or {"result": {...}} (Jaeger api_v3). */
int otlp_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e);

/* Encodes every trace of the set as OTLP JSON (lower-case hex ids, int64 as
 * strings, enums as numbers, one resourceSpans entry per resource). */
int otlp_json_encode(trace_set *ts, tc_buf *out);

/* Jaeger query service JSON ({"data": [trace...]}) */
int jaeger_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e);

/* Zipkin v2 JSON (array of spans). */
int zipkin_json_decode(trace_set *ts, const char *buf, size_t len, tc_error *e);

/* Inflates a gzip (or zlib) body into a malloc'd buffer of at most max_out
 * bytes (and at most CODEC_MAX_GZIP_RATIO times the input). Returns 0 with
 * *out and *out_len set (caller frees), or TC_ERR_INPUT / TC_ERR_LIMIT. */
int gzip_inflate(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
                 tc_error *e);

/* True when buf starts with the gzip magic bytes. */
int gzip_is_gzip(const uint8_t *buf, size_t len);

/* Guesses the format of a body (after any gzip layer). TF_AUTO when unknown. */
tracefile_format tracefile_sniff(const uint8_t *buf, size_t len);

/* Decodes a body in any supported format: inflates gzip, sniffs when fmt is
 * TF_AUTO, and dispatches. *detected (may be NULL) receives the format used. */
int tracefile_decode(trace_set *ts, const uint8_t *buf, size_t len, tracefile_format fmt,
                     tracefile_format *detected, tc_error *e);

/* Name of a format ("otlp-proto", "otlp-grpc", "otlp-json", "jaeger-json",
 * "zipkin-json", "jaeger-proto", "opensearch-json", "elasticapm-json",
 * "xray-json"; "auto"), and the reverse (TF_AUTO for unknown names: check). */
const char *tracefile_format_name(tracefile_format f);
tracefile_format tracefile_format_parse(const char *name);

#endif
