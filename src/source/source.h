/* source.h - where a live run reads its trace: the trace backend a team
 * already runs (Jaeger, Tempo, Zipkin, OpenSearch, Elastic APM, AWS X-Ray),
 * polled by trace id, or tracecheck's own OTLP receiver. This header is the
 * layer's only interface; each backend is one file (source_jaeger.c, ...)
 * behind source_fetch, over two shared transports: HTTP(S) and gRPC, both
 * on libcurl (HTTP/2 with prior knowledge for plaintext gRPC, ALPN over
 * TLS).
 *
 * A DataStore resource (Tracetest's format) becomes a source_config with
 * source_config_load; collector-fed types (otlp, newrelic, lightstep,
 * honeycomb, datadog, dynatrace, signoz, dash0, otelstore) mean the
 * built-in receiver (SOURCE_RECEIVER: no polling).
 *
 * Ownership: a source_config lives in the arena given to
 * source_config_load; a source (source_open) keeps a pointer to its config
 * and must be closed before that arena is freed. source_fetch adds spans to
 * a caller-owned trace set. No function prints. */
#ifndef TC_SOURCE_H
#define TC_SOURCE_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/trace.h"
#include "resource/resource.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOURCE_MAX_BODY ((size_t)256 << 20)  /* bytes of one response (after any gzip layer);
                                                TRACECHECK_MAX_BODY=N[K|M|G] sets it, up to 1 GB */
#define SOURCE_MAX_SPANS 1000000u            /* spans of one polled trace (default of source_max_spans) */
#define SOURCE_MAX_PAGES 1000                /* pages of one paged search */
#define SOURCE_PAGE_SIZE 10000u              /* documents asked for per page (search backends) */
#define SOURCE_REQUEST_TIMEOUT_NS (15ull * 1000000000ull) /* one request, at most */
#define SOURCE_MAX_HEADERS 64

typedef enum source_type {
    SOURCE_RECEIVER = 0, /* the built-in OTLP receiver: no DataStore, or a collector-fed type */
    SOURCE_JAEGER,
    SOURCE_TEMPO,
    SOURCE_ZIPKIN,
    SOURCE_OPENSEARCH,
    SOURCE_ELASTICAPM,
    SOURCE_XRAY,
} source_type;

typedef struct source_header {
    const char *name, *value;
} source_header;

typedef struct source_config {
    source_type type;
    const char *type_name;  /* as written: "jaeger", "otlp", ... */
    const char *name;       /* the DataStore's name (may be NULL) */
    const char *file;       /* where it was loaded from (may be NULL) */
    int line, col;          /* the DataStore's type key */
    bool grpc;              /* spoken over gRPC (jaeger host:port, tempo type grpc) */
    const char *endpoint;   /* the URL ("http(s)://host:port/prefix") or, for gRPC, "host:port" */
    const char **addresses; /* search backends: every address (endpoint is the first) */
    size_t n_addresses;
    const char *index;      /* search backends: the index or pattern */
    const char *username, *password; /* basic authentication */
    source_header *headers; /* sent with every request */
    size_t n_headers;
    bool tls;               /* TLS (an https URL, or gRPC with tls.insecure false) */
    bool skip_verify;       /* tls.insecureSkipVerify / insecureSkipVerify */
    const char *ca_file;    /* tls.settings.cAFile */
    const char *ca_pem;     /* certificate: PEM text (search backends) */
    const char *cert_file, *key_file; /* client certificate */
    const char *server_name; /* tls.serverName / settings.serverName */
    const char *region;     /* X-Ray */
    const char *access_key, *secret_key, *session_token; /* X-Ray; NULL: AWS_* environment */
    const char **secrets;   /* values to mask wherever tracecheck prints */
    size_t n_secrets;
} source_config;

/* Reads a DataStore resource into *out (allocated from a). `lookup`
 * resolves ${env:NAME} references inside its fields (NULL: the process
 * environment). Fails with TC_ERR_UNSUPPORTED for a type tracecheck cannot
 * poll ("signalfx: not supported; export to tracecheck's receiver from
 * your collector (docs/datastores.md)"), TC_ERR_INPUT for a missing or
 * malformed field (e->line/col at it), TC_ERR_NOMEM. *out is written only
 * on success. */
typedef const char *(*source_lookup_fn)(void *user, const char *name);
int source_config_load(const res_datastore *ds, const char *file, source_lookup_fn lookup, void *user,
                       arena *a, source_config **out, tc_error *e);

/* Appends what tracecheck will use, one "key: value" a line, secrets
 * masked. Returns 0 or TC_ERR_LIMIT. */
int source_config_dump(const source_config *c, arena *a, tc_buf *out);

/* The type a DataStore `type:` names (SOURCE_RECEIVER for collector-fed
 * ones); returns -1 for a type tracecheck does not know or cannot poll. */
int source_type_of(const char *type_name);

/* "jaeger", "tempo", ... ("receiver" for SOURCE_RECEIVER). */
const char *source_type_name(source_type t);

/* Returns s with every secret of c replaced by "****" (a copy in a), or s
 * itself when it holds none. */
const char *source_mask(const source_config *c, const char *s, arena *a);

/* The endpoint as reports show it: the URL or host:port, with no
 * user-info, secrets masked (in a). */
const char *source_endpoint_label(const source_config *c, arena *a);

typedef struct source source;

/* Opens a poller for c (which must outlive it). No network I/O yet.
 * Returns 0, TC_ERR_UNSUPPORTED for SOURCE_RECEIVER, or TC_ERR_NOMEM. */
int source_open(const source_config *c, source **out, tc_error *e);

/* The most spans a polled trace may have: SOURCE_MAX_SPANS, or
 * TRACECHECK_MAX_SPANS from the environment. Past it a poll fails (fatal)
 * before more is read. */
uint32_t source_max_spans(void);

/* The config the poller was opened with. */
const source_config *source_config_of(const source *s);

/* Closes the poller; sets *s to NULL. Accepts NULL. */
void source_close(source **s);

typedef enum source_status {
    SOURCE_FOUND,     /* spans were added to the set */
    SOURCE_NOT_FOUND, /* not yet: 404, an empty result, gRPC NOT_FOUND */
    SOURCE_RETRY,     /* transient: 5xx, a reset, a time-out, connection refused (e->msg says which) */
    SOURCE_FATAL,     /* ends the wait: 401/403, TLS, name resolution, a body tracecheck cannot read */
} source_status;

/* Asks the backend once for trace tid and adds what it has to ts (a fresh
 * set per call is the caller's choice). Gives up on a request at
 * deadline_ns (CLOCK_MONOTONIC) or after SOURCE_REQUEST_TIMEOUT_NS. e->msg
 * says why for SOURCE_RETRY and SOURCE_FATAL. */
source_status source_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e);

/* "found", "not found", "retry", "fatal". */
const char *source_status_name(source_status st);

/* ---- checking a DataStore (`tracecheck datastore check`) ---- */

typedef struct source_check_step {
    const char *what;   /* "name resolution", "connection", "TLS", "authentication", "trace query" */
    bool ok;
    const char *detail; /* what was seen (secrets masked) */
    const char *hint;   /* the usual mistake, or NULL */
} source_check_step;

/* Runs the checks in order and stops at the first that fails; steps are
 * allocated from a. Returns the number of steps written to *steps. */
size_t source_check(const source_config *c, arena *a, uint64_t deadline_ns, source_check_step **steps);

#endif
