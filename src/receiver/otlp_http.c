/* otlp_http.c - the OTLP/HTTP receiver (see otlp_http.h). */
#include "otlp_http.h"

#include "codec/codec.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct recv_http {
    struct MHD_Daemon *d;
    spanbuf *buf;
    size_t max_body;
    size_t max_compressed;
    void (*log)(void *user, const char *msg);
    void *log_user;
    int port;
    pthread_mutex_t mu;
    recv_http_stats stats;
};

typedef struct request {
    tc_buf body;    /* as received (maybe gzip) */
    bool json;
    bool gzip;
    int error;      /* an HTTP status decided before the body ended */
    const char *why;
    char what[96];  /* "METHOD /path" for the log */
    size_t received; /* body bytes read, kept or not */
} request;

static void logf_(recv_http *rh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(recv_http *rh, const char *fmt, ...)
{
    if (!rh->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rh->log(rh->log_user, line);
}

/* libmicrohttpd's own messages go to the log callback, or nowhere. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    recv_http *rh = cls;
    if (!rh->log)
        return;
    char line[512] = "otlp-http: ";
    vsnprintf(line + strlen(line), sizeof line - strlen(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    rh->log(rh->log_user, line);
}

/* Parses "host:port", "[v6]:port" or ":port" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len, bool *v6)
{
    char host[256];
    const char *colon;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof host)
            return -1;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host)
            return -1;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0')
        return -1;
    if (!*host || strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof *in4;
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
        *v6 = true;
        return 0;
    }
    return -1;
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *type, const void *p,
                                 size_t n)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "POST");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* An error answer: google.rpc.Status in the request's encoding. */
static enum MHD_Result send_error(recv_http *rh, struct MHD_Connection *c, const request *rq, unsigned status,
                                  bool json, const char *msg)
{
    pthread_mutex_lock(&rh->mu);
    rh->stats.requests_failed++;
    pthread_mutex_unlock(&rh->mu);
    logf_(rh, "otlp-http: %u %s: %s", status, rq->what, msg);
    /* gRPC codes: RESOURCE_EXHAUSTED, UNIMPLEMENTED, UNAVAILABLE, INVALID_ARGUMENT */
    int code = status == 413 ? 8 : status == 404 || status == 405 ? 12 : status == 503 ? 14 : 3;
    if (json) {
        tc_buf b;
        buf_init(&b, 0);
        buf_printf(&b, "{\"code\":%d,\"message\":", code);
        buf_json_string(&b, msg, strlen(msg));
        buf_putc(&b, '}');
        enum MHD_Result ok = send_body(c, status, "application/json", buf_str(&b), b.len);
        buf_free(&b);
        return ok;
    }
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = code;
    st.message = (char *)msg;
    size_t n = google__rpc__status__get_packed_size(&st);
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return MHD_NO;
    google__rpc__status__pack(&st, p);
    enum MHD_Result ok = send_body(c, status, "application/x-protobuf", p, n);
    free(p);
    return ok;
}

static enum MHD_Result send_ok(recv_http *rh, struct MHD_Connection *c, bool json, uint32_t rejected,
                               uint32_t accepted)
{
    pthread_mutex_lock(&rh->mu);
    rh->stats.requests_ok++;
    rh->stats.spans_received += accepted;
    pthread_mutex_unlock(&rh->mu);
    const char *why = "the receiver is full: spans were dropped";
    if (json) {
        char body[256];
        if (rejected)
            snprintf(body, sizeof body, "{\"partialSuccess\":{\"rejectedSpans\":\"%u\",\"errorMessage\":\"%s\"}}",
                     rejected, why);
        else
            snprintf(body, sizeof body, "{}");
        return send_body(c, MHD_HTTP_OK, "application/json", body, strlen(body));
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    if (rejected) {
        ps.rejected_spans = rejected;
        ps.error_message = (char *)why;
        resp.partial_success = &ps;
    }
    uint8_t out[512];
    size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, out);
    return send_body(c, MHD_HTTP_OK, "application/x-protobuf", out, n);
}

static bool type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    recv_http *rh = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        buf_init(&rq->body, rh->max_compressed);
        snprintf(rq->what, sizeof rq->what, "%.16s %.64s", method, url);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        rq->json = type_is(ct, "application/json");
        const char *ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
        rq->gzip = ce && (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0 ||
                          strcasecmp(ce, "deflate") == 0); /* gzip_inflate reads zlib too */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        *con_cls = rq;
        if (cl) {
            /* refuse a declared body over the limit before reading it */
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > rh->max_compressed)
                return send_error(rh, c, rq, MHD_HTTP_CONTENT_TOO_LARGE, rq->json,
                                  "request body over the limit");
        }
        if (strcmp(url, "/v1/traces") != 0) {
            rq->error = MHD_HTTP_NOT_FOUND;
            rq->why = "not found: OTLP traces are posted to /v1/traces";
        } else if (strcmp(method, "POST") != 0) {
            rq->error = MHD_HTTP_METHOD_NOT_ALLOWED;
            rq->why = "method not allowed: use POST";
        } else if (!rq->json && !type_is(ct, "application/x-protobuf")) {
            rq->error = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
            rq->why = "unsupported content type: use application/x-protobuf or application/json";
        } else if (ce && !rq->gzip && strcasecmp(ce, "identity") != 0) {
            rq->error = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
            rq->why = "unsupported content encoding: use gzip or none";
        }
        return MHD_YES;
    }
    if (*upload_size) {
        rq->received += *upload_size;
        if (!rq->error && buf_append(&rq->body, upload, *upload_size)) {
            rq->error = MHD_HTTP_CONTENT_TOO_LARGE;
            rq->why = "request body over the limit";
            buf_free(&rq->body); /* keep reading, keep nothing */
        }
        *upload_size = 0;
        /* a body that goes on well past the limit: close the connection */
        if (rq->error && rq->received > 2 * rh->max_compressed + ((size_t)1 << 20)) {
            logf_(rh, "otlp-http: %s: body over the limit, connection closed", rq->what);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (rq->error)
        return send_error(rh, c, rq, (unsigned)rq->error, rq->json, rq->why);
    const uint8_t *p = (const uint8_t *)buf_str(&rq->body);
    size_t n = rq->body.len;
    uint8_t *plain = NULL;
    tc_error e;
    if (rq->gzip) {
        int rc = gzip_inflate(p, n, rh->max_body, &plain, &n, &e);
        if (rc)
            return send_error(rh, c, rq,
                              rc == TC_ERR_LIMIT ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST, rq->json,
                              e.msg);
        p = plain;
    }
    trace_set *ts = trace_set_new(rh->max_body * 8 + (64u << 20));
    int rc = ts ? (rq->json ? otlp_json_decode(ts, (const char *)p, n, &e) : otlp_pb_decode(ts, p, n, &e))
                : tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
    free(plain);
    enum MHD_Result res;
    if (rc) {
        char msg[TC_ERROR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "%s%s", rq->json ? "malformed OTLP JSON: " : "malformed OTLP protobuf: ", e.msg);
        res = send_error(rh, c, rq, rc == TC_ERR_LIMIT ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST,
                         rq->json, msg);
    } else {
        uint32_t acc = 0, rej = 0;
        if (spanbuf_add(rh->buf, ts, &acc, &rej))
            res = send_error(rh, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, rq->json, "out of memory: retry later");
        else
            res = send_ok(rh, c, rq->json, rej, acc);
    }
    trace_set_free(&ts);
    return res;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

recv_http *recv_http_start(const char *addr, spanbuf *buf, const recv_http_opts *opts, tc_error *e)
{
    struct sockaddr_storage ss;
    socklen_t len;
    bool v6;
    if (parse_addr(addr, &ss, &len, &v6)) {
        tc_error_set(e, TC_ERR_INPUT, "bad address \"%s\" (want host:port)", addr);
        return NULL;
    }
    recv_http *rh = calloc(1, sizeof *rh);
    if (!rh) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&rh->mu, NULL);
    rh->buf = buf;
    rh->max_body = opts && opts->max_body ? opts->max_body : RECV_HTTP_DEFAULT_MAX_BODY;
    rh->max_compressed = opts && opts->max_compressed ? opts->max_compressed : rh->max_body;
    rh->log = opts ? opts->log : NULL;
    rh->log_user = opts ? opts->log_user : NULL;
    unsigned timeout = opts && opts->timeout_s ? opts->timeout_s : RECV_HTTP_DEFAULT_TIMEOUT_S;
    unsigned conns = opts && opts->max_conns ? opts->max_conns : RECV_HTTP_DEFAULT_MAX_CONNS;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    rh->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, rh, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, conns,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)RECV_HTTP_THREADS,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, rh, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, rh,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 << 10), MHD_OPTION_END);
    if (!rh->d) {
        int err = errno;
        tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, err ? strerror(err) : "address in use or not available");
        pthread_mutex_destroy(&rh->mu);
        free(rh);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rh->d, MHD_DAEMON_INFO_BIND_PORT);
    rh->port = info ? info->port : 0;
    return rh;
}

int recv_http_port(const recv_http *r)
{
    return r->port;
}

void recv_http_get_stats(recv_http *r, recv_http_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}

void recv_http_stop(recv_http **rp)
{
    if (!rp || !*rp)
        return;
    MHD_stop_daemon((*rp)->d);
    pthread_mutex_destroy(&(*rp)->mu);
    free(*rp);
    *rp = NULL;
}
