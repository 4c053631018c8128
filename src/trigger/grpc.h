/* grpc.h - the gRPC trigger: a test's grpc fields (protobufFile, address,
 * method, request, metadata, auth) and one call over HTTP/2 with libcurl,
 * the request and response mapped from and to JSON through the test's
 * .proto (protodyn.h).
 *
 * Ownership: a trigger_grpc_request's strings live in the arena given to
 * trigger_grpc_from_test (or are the caller's when it fills one itself); a
 * trigger_result owns its heap memory (trigger_result_free). */
#ifndef TC_TRIGGER_GRPC_H
#define TC_TRIGGER_GRPC_H

#include "trigger/trigger.h"

typedef struct trigger_grpc_request {
    const char *address;    /* host:port, or http://host:port / https://host:port */
    const char *method;     /* "package.Service.Method" (or .../Method) */
    const char *proto_name; /* names the .proto in errors and is its own import name */
    const char *proto_text;
    const char *proto_dir; /* imports are read from here; NULL: none */
    const char *request;   /* JSON; NULL or blank: the empty message */
    trigger_kv *metadata;
    size_t n_metadata;
    trigger_auth auth;
    const char *user, *password; /* basic */
    const char *token;           /* bearer: the authorization value, as written */
    const char *key, *value;     /* apiKey: a metadata entry */
    bool tls;                    /* https:// address: TLS with ALPN, else plaintext HTTP/2 */
    bool ssl_verification;       /* with tls: check the certificate */
    long timeout_ms;             /* the whole call; 0: TRIGGER_DEFAULT_TIMEOUT_MS */
} trigger_grpc_request;

/* Builds the request of test t's grpc trigger, every field interpolated.
 * protobufFile is a path relative to base_dir when such a file can be read
 * (its folder then serves its imports), else the .proto text itself, as
 * Tracetest accepts both. An address starting https:// asks for TLS.
 * Returns 0, or TC_ERR_INPUT with e naming the field, its line:col in the
 * test file, and what failed (a missing address, method or protobufFile,
 * an unresolved variable). Does not parse the .proto: trigger_grpc_run
 * reports its errors. */
int trigger_grpc_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user,
                           arena *a, trigger_grpc_request *out, tc_error *e);

/* Calls the method with `traceparent: 00-<trace>-<span>-01` (and, when b3,
 * `b3: <trace>-<span>-1`) in the metadata. Always fills *out: ok with
 * status = the gRPC status code (0 for OK; any other status is a response,
 * not a failure), body = the response as JSON (a server stream: a JSON
 * array of its messages; "" when a unary call brought no message), headers
 * = the response metadata, then the trailers; or !ok with error saying why:
 * the .proto does not parse (FILE:LINE:COL), the method is not in it (the
 * methods that are), the request JSON does not fit (the field path), a
 * client-streaming method, the server is unreachable, the call timed out,
 * the answer is not gRPC. Responses are bounded by TRIGGER_MAX_BODY and the
 * whole call by the timeout (a stream that never ends, or a silent server,
 * ends there as a failure). */
void trigger_grpc_run(const trigger_grpc_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                      const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out);

/* Describes the request for reports and logs, secrets masked (basic
 * password, bearer token, apiKey value, authorization metadata): address,
 * method, metadata, request. Appends to out; returns 0 or the buffer's
 * error code. */
int trigger_grpc_describe(const trigger_grpc_request *req, tc_buf *out);

#endif
