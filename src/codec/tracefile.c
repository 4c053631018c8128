/* tracefile.c - reads a trace body in any supported format: inflates gzip,
 * sniffs the format, dispatches to the decoder (see codec.h). */
#include "codec.h"
#include "jaeger_pb.h"
#include "limits.h"
#include "search_json.h"
#include "xray_json.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    tracefile_format f;
    const char *name;
} names[] = {
    {TF_AUTO, "auto"},
    {TF_OTLP_PROTO, "otlp-proto"},
    {TF_OTLP_GRPC, "otlp-grpc"},
    {TF_OTLP_JSON, "otlp-json"},
    {TF_JAEGER_JSON, "jaeger-json"},
    {TF_ZIPKIN_JSON, "zipkin-json"},
    {TF_JAEGER_PROTO, "jaeger-proto"},
    {TF_OPENSEARCH_JSON, "opensearch-json"},
    {TF_ELASTICAPM_JSON, "elasticapm-json"},
    {TF_XRAY_JSON, "xray-json"},
};

const char *tracefile_format_name(tracefile_format f)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].f == f)
            return names[i].name;
    return "auto";
}

tracefile_format tracefile_format_parse(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].f;
    if (strcmp(name, "tempo-json") == 0 || strcmp(name, "json") == 0)
        return TF_OTLP_JSON;
    if (strcmp(name, "tempo-proto") == 0 || strcmp(name, "proto") == 0 || strcmp(name, "protobuf") == 0)
        return TF_OTLP_PROTO;
    if (strcmp(name, "jaeger") == 0)
        return TF_JAEGER_JSON;
    if (strcmp(name, "zipkin") == 0)
        return TF_ZIPKIN_JSON;
    return TF_AUTO;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_grpc_frame(const uint8_t *buf, size_t len)
{
    return len >= 5 && buf[0] <= 1 && be32(buf + 1) == len - 5;
}

/* The first key of a JSON object starting at p (after '{'), or NULL. */
static const char *first_key(const char *p, const char *end, size_t *klen)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p != '"')
        return NULL;
    const char *k = ++p;
    while (p < end && *p != '"')
        p++;
    if (p >= end)
        return NULL;
    *klen = (size_t)(p - k);
    return k;
}

static int key_is(const char *k, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(k, want, n) == 0;
}

tracefile_format tracefile_sniff(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        i = 3; /* UTF-8 byte order mark */
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (i < len && buf[i] == '[')
        return TF_ZIPKIN_JSON;
    if (i < len && buf[i] == '{') {
        const char *p = (const char *)buf + i + 1, *end = (const char *)buf + len;
        size_t kn = 0;
        const char *k = first_key(p, end, &kn);
        if (k && key_is(k, kn, "data"))
            return TF_JAEGER_JSON;
        if (k && (key_is(k, kn, "Traces") || key_is(k, kn, "UnprocessedTraceIds")))
            return TF_XRAY_JSON;
        if (k && (key_is(k, kn, "took") || key_is(k, kn, "timed_out") || key_is(k, kn, "_shards") ||
                  key_is(k, kn, "hits"))) { /* a _search answer: Data Prepper's documents have traceId */
            size_t win = len - i < 65536 ? len - i : 65536;
            return memmem(buf + i, win, "\"traceId\"", 9) ? TF_OPENSEARCH_JSON : TF_ELASTICAPM_JSON;
        }
        if (k && (key_is(k, kn, "resourceSpans") || key_is(k, kn, "resource_spans") ||
                  key_is(k, kn, "batches") || key_is(k, kn, "trace") || key_is(k, kn, "result")))
            return TF_OTLP_JSON;
        /* keys in another order: look for a telling key early in the body */
        size_t window = len - i < 65536 ? len - i : 65536;
        const char *w = (const char *)buf + i;
        if (memmem(w, window, "\"resourceSpans\"", 15) || memmem(w, window, "\"batches\"", 9) ||
            memmem(w, window, "\"resource_spans\"", 16))
            return TF_OTLP_JSON;
        if (memmem(w, window, "\"data\"", 6))
            return TF_JAEGER_JSON;
        return TF_OTLP_JSON;
    }
    if (is_grpc_frame(buf, len))
        return TF_OTLP_GRPC;
    if (len == 0 || buf[0] == 0x0a)
        return TF_OTLP_PROTO;
    return TF_AUTO;
}

static int decode_grpc(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e)
{
    if (!is_grpc_frame(buf, len))
        return tc_error_at(e, TC_ERR_INPUT, 0,
                           "not a gRPC message: want a flag byte and a 4-byte length matching the body");
    if (buf[0] == 0)
        return otlp_pb_decode(ts, buf + 5, len - 5, e);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int rc = gzip_inflate(buf + 5, len - 5, CODEC_MAX_BODY, &plain, &plain_len, e);
    if (rc)
        return rc;
    rc = otlp_pb_decode(ts, plain, plain_len, e);
    free(plain);
    return rc;
}

int tracefile_decode(trace_set *ts, const uint8_t *buf, size_t len, tracefile_format fmt,
                     tracefile_format *detected, tc_error *e)
{
    uint8_t *plain = NULL;
    int rc = 0;
    if (len > CODEC_MAX_BODY)
        return tc_error_set(e, TC_ERR_LIMIT, "body of %zu bytes is over the limit of %zu", len,
                            (size_t)CODEC_MAX_BODY);
    if (gzip_is_gzip(buf, len)) {
        size_t plain_len = 0;
        rc = gzip_inflate(buf, len, CODEC_MAX_BODY, &plain, &plain_len, e);
        if (rc)
            return rc;
        buf = plain;
        len = plain_len;
    }
    if (fmt == TF_AUTO)
        fmt = tracefile_sniff(buf, len);
    switch (fmt) {
    case TF_OTLP_PROTO:
        rc = otlp_pb_decode(ts, buf, len, e);
        break;
    case TF_OTLP_GRPC:
        rc = decode_grpc(ts, buf, len, e);
        break;
    case TF_OTLP_JSON:
        rc = otlp_json_decode(ts, (const char *)buf, len, e);
        break;
    case TF_JAEGER_JSON:
        rc = jaeger_json_decode(ts, (const char *)buf, len, e);
        break;
    case TF_ZIPKIN_JSON:
        rc = zipkin_json_decode(ts, (const char *)buf, len, e);
        break;
    case TF_JAEGER_PROTO:
        rc = jaeger_pb_decode_chunk(ts, buf, len, e);
        break;
    case TF_OPENSEARCH_JSON:
        rc = opensearch_json_decode(ts, (const char *)buf, len, NULL, e);
        break;
    case TF_ELASTICAPM_JSON:
        rc = elasticapm_json_decode(ts, (const char *)buf, len, NULL, e);
        break;
    case TF_XRAY_JSON: {
        char *next = NULL;
        bool unprocessed = false;
        rc = xray_json_decode(ts, (const char *)buf, len, &next, &unprocessed, e);
        free(next);
        break;
    }
    default:
        rc = tc_error_set(e, TC_ERR_INPUT,
                          "unknown trace format (not OTLP protobuf or JSON, Jaeger, Tempo or Zipkin JSON)");
    }
    if (!rc && detected)
        *detected = fmt;
    free(plain);
    return rc;
}
