/* otlp_http.c - the OTLP/HTTP receiver (see otlp_http.h). */
#include "otlp_http.h"

#include "codec/codec.h"

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 8
#define PEER_BUCKETS 4096
#define SWEEP_MS 100
#define FD_RESERVE 256 /* descriptors left for everything else in the process */

/* Where a connection is; each phase has its own deadline. */
enum { PH_NEW, PH_BODY, PH_BUSY, PH_IDLE };

typedef struct peer peer;

/* One accepted connection, from accept until libmicrohttpd closes it. It
 * sits on two lists ordered by its last progress (mark_ms), oldest first:
 * the receiver's and its client address's. */
typedef struct hconn {
    int fd;
    uint8_t phase;
    bool listed;               /* on the lists (not shed or timed out yet) */
    uint64_t mark_ms;          /* accept, headers complete, a body chunk, a request done */
    peer *peer;
    struct hconn *prev, *next; /* receiver list */
    struct hconn *pprev, *pnext; /* address list */
} hconn;

struct peer {
    uint8_t addr[16];
    unsigned n;
    hconn *oldest, *newest;
    peer *hnext;
};

struct recv_http {
    struct MHD_Daemon *d[MAX_THREADS];
    unsigned nd;
    unsigned next_d;
    int lfd, epfd, wakefd;
    pthread_t front;
    bool front_started;
    spanbuf *buf;
    size_t max_body;
    size_t max_compressed;
    size_t max_buffered;
    _Atomic size_t buffered;
    char *token; /* or NULL */
    unsigned header_ms, body_ms, idle_ms;
    unsigned max_conns, max_per_addr;
    void (*log)(void *user, const char *msg);
    void *log_user;
    int port;
    pthread_mutex_t mu; /* guards stats */
    recv_http_stats stats;
    /* the connection table, guarded by cmu */
    pthread_mutex_t cmu;
    hconn **byfd;
    unsigned nfd;
    hconn *oldest, *newest;
    unsigned nconns;
    peer *peers[PEER_BUCKETS];
};

typedef struct request {
    tc_buf body;    /* as received (maybe gzip) */
    bool json;
    bool gzip;
    int error;      /* an HTTP status decided before the body ended */
    const char *why;
    char what[96];  /* "METHOD /path" for the log */
    size_t received; /* body bytes read, kept or not */
    size_t held;     /* body bytes counted in the receiver's buffered total */
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

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void stat_add(recv_http *rh, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&rh->mu);
    *field += n;
    pthread_mutex_unlock(&rh->mu);
}

/* ---- the connection table (every function here runs under cmu) ---- */

static void addr_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
    memset(key, 0, 16);
    if (ss->ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    } else if (ss->ss_family == AF_INET) {
        key[10] = key[11] = 0xff; /* as a v4-mapped v6 address */
        memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    }
}

static peer **peer_slot(recv_http *rh, const uint8_t key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    peer **pp = &rh->peers[h % PEER_BUCKETS];
    while (*pp && memcmp((*pp)->addr, key, 16) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

/* The two lists, without counting. */
static void lists_remove(recv_http *rh, hconn *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        rh->oldest = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        rh->newest = h->prev;
    peer *p = h->peer;
    if (h->pprev)
        h->pprev->pnext = h->pnext;
    else
        p->oldest = h->pnext;
    if (h->pnext)
        h->pnext->pprev = h->pprev;
    else
        p->newest = h->pprev;
    h->prev = h->next = h->pprev = h->pnext = NULL;
}

static void lists_append(recv_http *rh, hconn *h)
{
    peer *p = h->peer;
    h->next = NULL;
    h->prev = rh->newest;
    if (rh->newest)
        rh->newest->next = h;
    else
        rh->oldest = h;
    rh->newest = h;
    h->pnext = NULL;
    h->pprev = p->newest;
    if (p->newest)
        p->newest->pnext = h;
    else
        p->oldest = h;
    p->newest = h;
}

/* Takes h off the lists and out of the counts (its peer goes with its last
 * connection). */
static void conn_unlist(recv_http *rh, hconn *h)
{
    if (!h->listed)
        return;
    lists_remove(rh, h);
    h->listed = false;
    rh->nconns--;
    peer *p = h->peer;
    h->peer = NULL;
    if (--p->n == 0) {
        *peer_slot(rh, p->addr) = p->hnext;
        free(p);
    }
}

/* A connection made progress: it becomes the newest of its lists. */
static void conn_mark(recv_http *rh, hconn *h, int phase)
{
    if (!h)
        return;
    pthread_mutex_lock(&rh->cmu);
    h->phase = (uint8_t)phase;
    h->mark_ms = now_ms();
    if (h->listed && (h->next || h->pnext)) {
        lists_remove(rh, h);
        lists_append(rh, h);
    }
    pthread_mutex_unlock(&rh->cmu);
}

/* Ends a connection libmicrohttpd serves: shutdown() wakes its thread,
 * which reads the end and closes it (and tells connection_notify, which
 * frees h). The descriptor stays open until then, so it cannot be another
 * connection's by now. */
static void conn_cut(recv_http *rh, hconn *h, uint64_t *counter)
{
    conn_unlist(rh, h);
    stat_add(rh, counter, 1); /* counted before the client can see it */
    shutdown(h->fd, SHUT_RDWR);
}

static uint64_t deadline_of(const recv_http *rh, const hconn *h)
{
    switch (h->phase) {
    case PH_NEW:
        return h->mark_ms + rh->header_ms;
    case PH_BODY:
        return h->mark_ms + rh->body_ms;
    default:
        return h->mark_ms + rh->idle_ms;
    }
}

/* Closes the connections whose deadline passed. The list is in mark order
 * and the shortest deadline bounds how far to look. */
static void sweep(recv_http *rh, uint64_t now)
{
    unsigned shortest = rh->header_ms < rh->body_ms ? rh->header_ms : rh->body_ms;
    if (rh->idle_ms < shortest)
        shortest = rh->idle_ms;
    pthread_mutex_lock(&rh->cmu);
    for (hconn *h = rh->oldest; h && h->mark_ms + shortest <= now;) {
        hconn *next = h->next;
        if (deadline_of(rh, h) <= now)
            conn_cut(rh, h, &rh->stats.conns_timed_out);
        h = next;
    }
    pthread_mutex_unlock(&rh->cmu);
}

/* Registers a connection just accepted, shedding the most idle one of its
 * address, or of all, when a cap is reached. Returns the connection, or
 * NULL when out of memory (the caller closes fd). */
static hconn *conn_admit(recv_http *rh, int fd, const struct sockaddr_storage *ss)
{
    if ((unsigned)fd >= rh->nfd)
        return NULL;
    uint8_t key[16];
    addr_key(ss, key);
    hconn *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->fd = fd;
    h->phase = PH_NEW;
    h->mark_ms = now_ms();
    pthread_mutex_lock(&rh->cmu);
    if (rh->byfd[fd]) { /* libmicrohttpd closed it without telling: forget it */
        conn_unlist(rh, rh->byfd[fd]);
        free(rh->byfd[fd]);
    }
    /* make room first: shedding may free the address's peer */
    peer **pp = peer_slot(rh, key);
    if (*pp && (*pp)->n >= rh->max_per_addr) {
        conn_cut(rh, (*pp)->oldest, &rh->stats.conns_shed);
    }
    if (rh->nconns >= rh->max_conns && rh->oldest) {
        conn_cut(rh, rh->oldest, &rh->stats.conns_shed);
    }
    pp = peer_slot(rh, key);
    peer *p = *pp;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p) {
            rh->byfd[fd] = NULL;
            pthread_mutex_unlock(&rh->cmu);
            free(h);
            return NULL;
        }
        memcpy(p->addr, key, 16);
        *pp = p;
    }
    rh->byfd[fd] = h;
    h->peer = p;
    h->listed = true;
    p->n++;
    rh->nconns++;
    lists_append(rh, h);
    pthread_mutex_unlock(&rh->cmu);
    return h;
}

/* libmicrohttpd took a connection (STARTED) or is about to close its
 * descriptor (CLOSED). */
static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    recv_http *rh = cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    int fd = ci->connect_fd;
    pthread_mutex_lock(&rh->cmu);
    hconn *h = fd >= 0 && (unsigned)fd < rh->nfd ? rh->byfd[fd] : NULL;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = h;
    } else if (h) {
        conn_unlist(rh, h);
        rh->byfd[fd] = NULL;
        free(h);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&rh->cmu);
}

static hconn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
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
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
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
    stat_add(rh, &rh->stats.requests_failed, 1);
    logf_(rh, "otlp-http: %u %s: %s", status, rq->what, msg);
    /* gRPC codes: RESOURCE_EXHAUSTED, UNIMPLEMENTED, UNAVAILABLE, UNAUTHENTICATED, INVALID_ARGUMENT */
    int code = status == 413                 ? 8
               : status == 404 || status == 405 ? 12
               : status == 503                 ? 14
               : status == 401                 ? 16
                                               : 3;
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

bool recv_bearer_ok(const char *value, size_t len, const char *token)
{
    if (!value || !token || len < 7 || strncasecmp(value, "Bearer ", 7) != 0)
        return false;
    const char *got = value + 7;
    size_t gl = len - 7;
    while (gl && *got == ' ') {
        got++;
        gl--;
    }
    size_t tl = strlen(token);
    unsigned char diff = (unsigned char)(gl != tl);
    for (size_t i = 0; i < tl; i++) /* every byte of the token is compared */
        diff |= (unsigned char)(token[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
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
        conn_mark(rh, conn_of(c), PH_BODY);
        if (rh->token) {
            const char *au = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
            if (!recv_bearer_ok(au, au ? strlen(au) : 0, rh->token))
                return send_error(rh, c, rq, MHD_HTTP_UNAUTHORIZED, rq->json,
                                  "unauthorized: this receiver needs Authorization: Bearer TOKEN");
        }
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
        size_t n = *upload_size;
        rq->received += n;
        conn_mark(rh, conn_of(c), PH_BODY);
        if (!rq->error && atomic_fetch_add(&rh->buffered, n) + n > rh->max_buffered) {
            atomic_fetch_sub(&rh->buffered, n);
            rq->error = MHD_HTTP_SERVICE_UNAVAILABLE;
            rq->why = "the receiver holds too many request bodies: retry later";
            atomic_fetch_sub(&rh->buffered, rq->held);
            rq->held = 0;
            buf_free(&rq->body);
        } else if (!rq->error) {
            rq->held += n;
            if (buf_append(&rq->body, upload, n)) {
                rq->error = MHD_HTTP_CONTENT_TOO_LARGE;
                rq->why = "request body over the limit";
                atomic_fetch_sub(&rh->buffered, rq->held);
                rq->held = 0;
                buf_free(&rq->body); /* keep reading, keep nothing */
            }
        }
        *upload_size = 0;
        /* a body that goes on well past the limit: close the connection */
        if (rq->error && rq->received > 2 * rh->max_compressed + ((size_t)1 << 20)) {
            logf_(rh, "otlp-http: %s: body over the limit, connection closed", rq->what);
            return MHD_NO;
        }
        return MHD_YES;
    }
    conn_mark(rh, conn_of(c), PH_BUSY);
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
        if (spanbuf_add_owned(rh->buf, &ts, &acc, &rej))
            res = send_error(rh, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, rq->json, "out of memory: retry later");
        else
            res = send_ok(rh, c, rq->json, rej, acc);
    }
    trace_set_free(&ts);
    return res;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    recv_http *rh = cls;
    request *rq = *con_cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        conn_mark(rh, conn_of(c), PH_IDLE);
    if (rq) {
        atomic_fetch_sub(&rh->buffered, rq->held);
        buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ---- accepting ---- */

/* The front thread: accepts, admits (shedding when a cap is reached) and
 * hands each connection to the serving thread with the fewest; every
 * SWEEP_MS it closes the connections whose deadline passed. */
static void *front(void *arg)
{
    recv_http *rh = arg;
    uint64_t last_sweep = now_ms(), pause_until = 0;
    bool paused = false;
    for (;;) {
        struct epoll_event ev[4];
        int n = epoll_wait(rh->epfd, ev, 4, SWEEP_MS);
        bool accept_now = false;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == rh->wakefd)
                return NULL;
            accept_now = true;
        }
        uint64_t now = now_ms();
        if (paused && now >= pause_until) {
            struct epoll_event le = {.events = EPOLLIN, .data.fd = rh->lfd};
            epoll_ctl(rh->epfd, EPOLL_CTL_ADD, rh->lfd, &le);
            paused = false;
            accept_now = true;
        }
        for (int k = 0; accept_now && k < 256; k++) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            int fd = accept4(rh->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    /* out of descriptors: shed the most idle connection and
                       stop accepting for a moment, or the queue spins */
                    pthread_mutex_lock(&rh->cmu);
                    if (rh->oldest)
                        conn_cut(rh, rh->oldest, &rh->stats.conns_shed);
                    pthread_mutex_unlock(&rh->cmu);
                    epoll_ctl(rh->epfd, EPOLL_CTL_DEL, rh->lfd, NULL);
                    paused = true;
                    pause_until = now + 20;
                }
                break; /* EAGAIN, or a client gone before it was taken */
            }
            hconn *h = conn_admit(rh, fd, &ss);
            if (!h) {
                close(fd);
                continue;
            }
            stat_add(rh, &rh->stats.conns_accepted, 1);
            /* the serving thread with the fewest connections */
            unsigned best = rh->next_d;
            unsigned best_n = ~0u;
            for (unsigned j = 0; j < rh->nd; j++) {
                unsigned d = (rh->next_d + j) % rh->nd;
                const union MHD_DaemonInfo *di = MHD_get_daemon_info(rh->d[d], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
                unsigned cnt = di ? di->num_connections : 0;
                if (cnt < best_n) {
                    best_n = cnt;
                    best = d;
                }
            }
            rh->next_d = (best + 1) % rh->nd;
            if (MHD_add_connection(rh->d[best], fd, (struct sockaddr *)&ss, sl) != MHD_YES) {
                /* libmicrohttpd closed the descriptor */
                pthread_mutex_lock(&rh->cmu);
                if (rh->byfd[fd] == h) {
                    conn_unlist(rh, h);
                    rh->byfd[fd] = NULL;
                    free(h);
                }
                pthread_mutex_unlock(&rh->cmu);
            }
        }
        if (now - last_sweep >= SWEEP_MS) {
            last_sweep = now;
            sweep(rh, now);
        }
    }
}

/* Raises the soft descriptor limit to the hard one and returns the soft
 * limit now in force. */
static rlim_t nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
        struct rlimit nl = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
}

static void recv_free(recv_http *rh)
{
    for (unsigned i = 0; i < rh->nd; i++)
        if (rh->d[i])
            MHD_stop_daemon(rh->d[i]);
    /* connection_notify freed every connection the daemons had; what is
       left was never handed over */
    for (unsigned fd = 0; rh->byfd && fd < rh->nfd; fd++) {
        if (rh->byfd[fd]) {
            conn_unlist(rh, rh->byfd[fd]);
            free(rh->byfd[fd]);
        }
    }
    free(rh->byfd);
    if (rh->lfd >= 0)
        close(rh->lfd);
    if (rh->epfd >= 0)
        close(rh->epfd);
    if (rh->wakefd >= 0)
        close(rh->wakefd);
    pthread_mutex_destroy(&rh->mu);
    pthread_mutex_destroy(&rh->cmu);
    free(rh->token);
    free(rh);
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
    rh->lfd = rh->epfd = rh->wakefd = -1;
    pthread_mutex_init(&rh->mu, NULL);
    pthread_mutex_init(&rh->cmu, NULL);
    recv_http_opts o = opts ? *opts : (recv_http_opts){0};
    rh->buf = buf;
    rh->max_body = o.max_body ? o.max_body : RECV_HTTP_DEFAULT_MAX_BODY;
    rh->max_compressed = o.max_compressed ? o.max_compressed : rh->max_body;
    rh->max_buffered = o.max_buffered ? o.max_buffered : 8 * rh->max_compressed;
    if (!o.max_buffered && rh->max_buffered < ((size_t)64 << 20))
        rh->max_buffered = (size_t)64 << 20;
    rh->header_ms = o.header_timeout_ms ? o.header_timeout_ms : RECV_HTTP_DEFAULT_HEADER_MS;
    rh->body_ms = o.body_timeout_ms ? o.body_timeout_ms : RECV_HTTP_DEFAULT_BODY_MS;
    rh->idle_ms = o.idle_timeout_ms ? o.idle_timeout_ms : RECV_HTTP_DEFAULT_IDLE_MS;
    rh->log = o.log;
    rh->log_user = o.log_user;
    if (o.token && !(rh->token = strdup(o.token))) {
        recv_free(rh);
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    rlim_t lim = nofile_limit();
    rlim_t room = lim > 2 * FD_RESERVE ? (lim - FD_RESERVE) / 2 : lim / 4;
    rh->max_conns = o.max_conns ? o.max_conns : RECV_HTTP_DEFAULT_MAX_CONNS;
    if (rh->max_conns > room)
        rh->max_conns = (unsigned)room;
    if (rh->max_conns < 1)
        rh->max_conns = 1;
    rh->max_per_addr = o.max_conns_per_addr ? o.max_conns_per_addr : RECV_HTTP_DEFAULT_MAX_CONNS_PER_ADDR;
    rh->nfd = lim > ((rlim_t)1 << 20) ? 1u << 20 : (unsigned)lim;
    rh->byfd = calloc(rh->nfd, sizeof *rh->byfd);
    if (!rh->byfd) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        recv_free(rh);
        return NULL;
    }

    char why[128];
    rh->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (rh->lfd >= 0)
        setsockopt(rh->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rh->lfd < 0 || bind(rh->lfd, (struct sockaddr *)&ss, len) != 0 || listen(rh->lfd, 4096) != 0) {
        tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, strerror_r(errno, why, sizeof why));
        recv_free(rh);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(rh->lfd, (struct sockaddr *)&bound, &bl) == 0)
        rh->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                     : ((struct sockaddr_in *)&bound)->sin_port);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    rh->nd = o.threads ? o.threads : (unsigned)(cpus < 2 ? 2 : cpus);
    if (rh->nd > MAX_THREADS)
        rh->nd = MAX_THREADS;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_ITC;
    if (v6)
        flags |= MHD_USE_IPv6;
    /* libmicrohttpd's own timeout is the idle one, a backstop to ours */
    unsigned mhd_timeout = (rh->idle_ms + 999) / 1000 + 1;
    for (unsigned i = 0; i < rh->nd; i++) {
        errno = 0;
        rh->d[i] = MHD_start_daemon(flags, 0, NULL, NULL, handle, rh, MHD_OPTION_CONNECTION_TIMEOUT, mhd_timeout,
                                    MHD_OPTION_CONNECTION_LIMIT, rh->max_conns + 64, MHD_OPTION_NOTIFY_COMPLETED,
                                    completed, rh, MHD_OPTION_NOTIFY_CONNECTION, connection_notify, rh,
                                    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, rh, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                    (size_t)(128 << 10), MHD_OPTION_END);
        if (!rh->d[i]) {
            int err = errno;
            tc_error_set(e, TC_ERR_IO, "receiver on %s: cannot start its serving threads: %s", addr,
                         err ? strerror_r(err, why, sizeof why) : "libmicrohttpd refused");
            recv_free(rh);
            return NULL;
        }
    }
    rh->epfd = epoll_create1(EPOLL_CLOEXEC);
    rh->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event le = {.events = EPOLLIN, .data.fd = rh->lfd};
    struct epoll_event we = {.events = EPOLLIN, .data.fd = rh->wakefd};
    if (rh->epfd < 0 || rh->wakefd < 0 || epoll_ctl(rh->epfd, EPOLL_CTL_ADD, rh->lfd, &le) != 0 ||
        epoll_ctl(rh->epfd, EPOLL_CTL_ADD, rh->wakefd, &we) != 0) {
        tc_error_set(e, TC_ERR_IO, "receiver on %s: epoll: %s", addr, strerror_r(errno, why, sizeof why));
        recv_free(rh);
        return NULL;
    }
    int rc = pthread_create(&rh->front, NULL, front, rh);
    if (rc != 0) {
        tc_error_set(e, TC_ERR_IO, "receiver on %s: thread: %s", addr, strerror_r(rc, why, sizeof why));
        recv_free(rh);
        return NULL;
    }
    rh->front_started = true;
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
    pthread_mutex_lock(&r->cmu);
    out->conns_open = r->nconns;
    pthread_mutex_unlock(&r->cmu);
}

void recv_http_stop(recv_http **rp)
{
    if (!rp || !*rp)
        return;
    recv_http *rh = *rp;
    if (rh->front_started) {
        uint64_t one = 1;
        while (write(rh->wakefd, &one, sizeof one) < 0 && errno == EINTR)
            ;
        pthread_join(rh->front, NULL);
    }
    recv_free(rh);
    *rp = NULL;
}
