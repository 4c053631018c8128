/* source_int.h - what the backends of src/source share: the poller, its
 * HTTP and gRPC transports (libcurl), and one fetch function a backend. */
#ifndef TC_SOURCE_INT_H
#define TC_SOURCE_INT_H

#include "source.h"

#include <curl/curl.h>

struct source {
    const source_config *c;
    CURL *curl;               /* kept across polls: the connection is reused */
    char errbuf[CURL_ERROR_SIZE];
    tc_buf body;              /* the last response body (capped at SOURCE_MAX_BODY) */
    char content_type[128];
    char content_encoding[32];
    int grpc_status;          /* -1 until a grpc-status header or trailer was seen */
    char grpc_message[256];
    bool v3;                  /* jaeger: the api_v3 service answered where api_v2 did not */
};

typedef struct src_request {
    const char *method;       /* "GET", "POST" */
    const char *url;
    const char *content_type; /* of the body, or NULL */
    const void *body;
    size_t len;
    const char *accept;       /* or NULL */
    const char *extra[4];     /* more "Name: value" lines, NULL-terminated */
    const char *aws_sigv4;    /* "aws:amz:REGION:SERVICE" to sign with SigV4, or NULL */
} src_request;

/* One HTTP(S) request with the config's headers, basic authentication and
 * TLS settings; the body (inflated when gzip) ends in s->body. Returns
 * SOURCE_FOUND for a 2xx answer, SOURCE_NOT_FOUND for 404, SOURCE_RETRY
 * (5xx, 408, 429, resets, time-outs, connection refused) or SOURCE_FATAL
 * (401/403 and other 4xx, TLS, name resolution, a body over the limit),
 * with e->msg saying which. *status gets the HTTP status (0 when none). */
source_status src_http(source *s, const src_request *rq, uint64_t deadline_ns, long *status, tc_error *e);

/* One gRPC call (unary or server-streaming) on the config's endpoint:
 * `path` is the method path ("/pkg.Service/Method"), req the serialized request. The
 * response messages are unframed into *msgs and *lens (pointers into s->body,
 * valid until the next request; *n of them). Returns SOURCE_FOUND for
 * status OK, SOURCE_NOT_FOUND for NOT_FOUND, SOURCE_RETRY for
 * UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL
 * and transport failures, SOURCE_FATAL otherwise; s->grpc_status keeps the
 * code (-1 when no gRPC answer came). */
source_status src_grpc(source *s, const char *path, const void *req, size_t len, uint64_t deadline_ns,
                       const uint8_t ***msgs, size_t **lens, size_t *n, tc_error *e);

/* Percent-encodes s for a URL path segment (into b, reset first). */
int src_url_escape(tc_buf *b, const char *s);

/* The config's URL with `suffix` appended (one '/' between them). */
int src_url(const source_config *c, const char *base, const char *suffix, tc_buf *out);

/* The backends. */
source_status src_jaeger_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);
source_status src_tempo_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);
source_status src_zipkin_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);
source_status src_search_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);
source_status src_xray_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);

/* GET {endpoint}/{path}{trace id in hex} with `accept`, and decodes the
 * answer as `fmt` (a tracefile_format; -1: JSON formats when the answer
 * says JSON, else OTLP protobuf). An answer without a span of tid is
 * SOURCE_NOT_FOUND. */
source_status src_get_trace(source *s, const char *path, const char *accept, int fmt, const uint8_t tid[16],
                            trace_set *ts, uint64_t deadline_ns, tc_error *e);

/* Decodes one message of a gRPC answer into ts. */
typedef int (*src_msg_decoder)(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e);

/* One gRPC call (src_grpc) whose answer messages hold spans: each is
 * decoded with `decode`; an answer without a span of tid is
 * SOURCE_NOT_FOUND. */
source_status src_grpc_trace(source *s, const char *method, const void *req, size_t len, src_msg_decoder decode,
                             const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);

/* Decodes s->body as a trace body (OTLP, Jaeger, Zipkin: tracefile_decode
 * with fmt) into ts; a body tracecheck cannot read is SOURCE_FATAL with the
 * decoder's message and the content type. */
source_status src_decode_body(source *s, trace_set *ts, int fmt, const char *what, tc_error *e);

#endif
