/* trigger.h - triggering the system under test: trace ids, the HTTP
 * trigger (libcurl) with W3C trace context, and the "Tracetest trigger"
 * span that carries the response into the trace.
 *
 * Ownership: a trigger_http_request's strings live in the arena given to
 * trigger_http_from_test; a trigger_result owns its heap memory (free it
 * with trigger_result_free). */
#ifndef TC_TRIGGER_H
#define TC_TRIGGER_H

#include "core/arena.h"
#include "core/error.h"
#include "core/trace.h"
#include "resource/resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRIGGER_MAX_BODY ((size_t)10 << 20)    /* response bytes kept (the rest is read and dropped) */
#define TRIGGER_DEFAULT_TIMEOUT_MS 30000       /* the whole call, as Tracetest */
#define TRIGGER_CONNECT_TIMEOUT_MS 3000

typedef struct trigger_kv {
    const char *key;
    const char *value;
} trigger_kv;

typedef enum trigger_auth {
    TRIGGER_AUTH_NONE,
    TRIGGER_AUTH_BASIC,
    TRIGGER_AUTH_BEARER,
    TRIGGER_AUTH_APIKEY,
} trigger_auth;

typedef struct trigger_http_request {
    const char *method; /* "GET" when absent */
    const char *url;
    const char *body;   /* NULL: none */
    trigger_kv *headers;
    size_t n_headers;
    bool ssl_verification; /* from a test: only when sslVerification: true (Tracetest's default is off) */
    long timeout_ms;    /* 0: TRIGGER_DEFAULT_TIMEOUT_MS */
    trigger_auth auth;
    const char *user, *password;     /* basic */
    const char *token;               /* bearer: sent as the Authorization value, as written */
    const char *key, *value;         /* apiKey */
    bool key_in_query;               /* apiKey in the query string, else a header */
} trigger_http_request;

typedef struct trigger_result {
    bool ok;            /* a response arrived (any status); false: see error */
    int status;         /* HTTP status */
    trigger_kv *headers; /* response headers, in order (heap) */
    size_t n_headers;
    char *body;         /* NUL-terminated (heap), "" when empty */
    size_t body_len;
    bool truncated;     /* the body was longer than TRIGGER_MAX_BODY */
    uint64_t start_ns, end_ns; /* Unix time of the call */
    char *error;        /* why the call failed (heap), NULL when ok */
    trigger_kv *attrs;  /* more attributes for the trigger span (heap; keys and values owned),
                           e.g. a Kafka message's tracetest.run.trigger.kafka.partition */
    size_t n_attrs;
} trigger_result;

/* Interpolates ${...} in s with the run's variables (see expr_interpolate).
 * Returns 0 with *out in a, or non-zero with e set. */
typedef int (*trigger_interp_fn)(void *user, const char *s, arena *a, const char **out, tc_error *e);

/* ---- shared by the triggers (http.c, grpc.c, kafka.c, trigger.c) ---- */

/* Interpolates one located field of a test's trigger (src->s NULL: *out
 * NULL). On failure, TC_ERR_INPUT with e naming the field ("trigger NAME:
 * ...") at its line:col. */
int trigger_field(trigger_interp_fn interp, void *user, arena *a, const res_str *src, const char *name,
                  const char **out, tc_error *e);

/* When `name` names a readable regular file (relative to base_dir unless
 * absolute; "" is the current directory) of at most max bytes: its text,
 * in a, and *path (may be NULL) the path, in a. NULL otherwise: the value
 * is text, not a file name. A NULL base_dir reads no file at all (a test
 * that came with no folder, as on a server: its values are text). */
const char *trigger_file_text(const char *base_dir, const char *name, size_t max, arena *a, const char **path);

/* CLOCK_REALTIME in nanoseconds (a trigger call's times). */
uint64_t trigger_unix_ns(void);

/* curl_global_init, once per process. */
void trigger_curl_init(void);

/* Fills a trace id and a span id from the system's random source.
 * Returns 0, or -1 when it cannot be read. */
int trigger_ids_new(uint8_t trace_id[TRACE_ID_LEN], uint8_t span_id[SPAN_ID_LEN]);

/* Builds the request of test t's http trigger, every field interpolated.
 * A body naming a readable file relative to base_dir is that file's
 * content. Returns 0, or TC_ERR_INPUT with e naming the field, its
 * line:col in the test file, and what failed (e.g. an unresolved
 * variable). */
int trigger_http_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user, arena *a,
                           trigger_http_request *out, tc_error *e);

/* Builds the request of test t's graphql trigger: a POST to its url of
 * {"query", "variables", "operationName"} (operationName only when set)
 * with Content-Type: application/json unless a header sets it, headers and
 * auth as for http. body.query naming a readable file relative to base_dir
 * (Tracetest's examples use ./query.graphql) is that file's content;
 * variables that read as numbers, true, false or null are sent as such.
 * The response is an HTTP response: a GraphQL "errors" array in a 200
 * answer is for the specs to judge. Errors as trigger_http_from_test. */
int trigger_graphql_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user,
                              arena *a, trigger_http_request *out, tc_error *e);

/* Sends the request with `traceparent: 00-<trace>-<span>-01` (and, when b3,
 * `b3: <trace>-<span>-1`). Always fills *out: ok with the response (an
 * HTTP error status is a response), or !ok with curl's reason for a
 * connection failure, timeout or empty reply. */
void trigger_http_run(const trigger_http_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                      const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out);

/* Adds the "Tracetest trigger" span to ts: no parent, the call's times,
 * resource service.name = tracetest, attributes tracetest.response.status,
 * .body and .headers (JSON [{"key", "value"}], as Tracetest; not for
 * "kafka", as Tracetest), tracetest.run.trigger.type and the result's
 * attrs. Returns 0 or TC_ERR_NOMEM. */
int trigger_span_add(trace_set *ts, const uint8_t trace_id[TRACE_ID_LEN], const uint8_t span_id[SPAN_ID_LEN],
                     const trigger_result *r, const char *trigger_type);

/* Describes the request for reports and logs with secrets masked
 * (Authorization and API-key header values, basic password, bearer token,
 * apiKey value). Appends to out. */
int trigger_http_describe(const trigger_http_request *req, tc_buf *out);

void trigger_result_free(trigger_result *r);

#endif
