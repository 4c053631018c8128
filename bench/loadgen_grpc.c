/* loadgen_grpc.c - OTLP/gRPC load generator, a process of its own:
 *
 *   loadgen_grpc --port P --conns N --batches B [--spans S] [--gzip]
 *                [--host H] [--inflight K]
 *
 * sends B Export calls in total over N HTTP/2 connections (nghttp2 client
 * sessions over non-blocking sockets, one epoll loop, K calls in flight per
 * connection, 4 by default), each an ExportTraceServiceRequest of S
 * synthetic spans (512 by default) from gen.h. The bodies are built once
 * (at most 64 of them, each with trace ids of its own) and sent in turn;
 * --gzip compresses them (grpc-encoding: gzip). Every answer must carry
 * grpc-status 0. Prints exactly one line:
 *
 *   requests=N spans=N bytes=N seconds=F p50_ms=F p99_ms=F failures=N
 *
 * requests: calls answered or failed; spans: spans of the calls answered
 * with status 0; bytes: gRPC message bytes sent (prefix and payload, as on
 * the wire in DATA frames); seconds: from the first connect to the last
 * answer; p50/p99: per call, from its HEADERS sent to its trailers read.
 * Exit status 0 when nothing failed, 1 when a call failed, 2 for bad usage
 * or when no connection could be made. Without arguments it prints its
 * usage and exits 0 (bench/run.sh runs every bench program bare). */
#include "codec/codec.h"
#include "gen.h"

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define MAX_BODIES 64
#define STALL_S 30.0 /* no answer at all for this long: the remaining calls fail */

typedef struct body {
    uint8_t *p; /* gRPC message: prefix and payload */
    size_t len;
} body;

typedef struct call {
    struct lconn *lc;
    const body *b;
    size_t off;
    int32_t id;
    double t0;
    int http_status, grpc_status;
    bool used;
} call;

typedef struct lconn {
    int fd;
    nghttp2_session *s;
    call *calls; /* inflight slots */
    int inflight;
    uint8_t *pend; /* bytes nghttp2 serialized that the socket did not take */
    size_t pend_len, pend_off, pend_cap;
    bool want_out, dead;
} lconn;

static body bodies[MAX_BODIES];
static int nbodies;
static int total, started, answered, failures, inflight_max = 4, spans_per_call = 512;
static unsigned long long spans_ok, bytes_sent;
static double *lat;
static int nlat;
static bool use_gzip;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen_grpc --port P --conns N --batches B [--spans S] [--gzip] [--host H] "
               "[--inflight K]\n");
}

static int gzip_body(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, n);
    uint8_t *b = malloc(cap);
    if (!b) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = b;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(b);
        return -1;
    }
    *out = b;
    return 0;
}

/* Builds the message bodies: a different seed (trace ids) for each. */
static int build_bodies(void)
{
    nbodies = total < MAX_BODIES ? total : MAX_BODIES;
    uint64_t base = (uint64_t)time(NULL) << 16 ^ (uint64_t)getpid();
    for (int i = 0; i < nbodies; i++) {
        trace_set *ts = gen_trace_set((uint32_t)spans_per_call, base * 977 + (uint64_t)i * 7919 + 1);
        tc_buf b;
        buf_init(&b, 0);
        if (!ts || otlp_pb_encode(ts, &b) != 0) {
            trace_set_free(&ts);
            buf_free(&b);
            return -1;
        }
        trace_set_free(&ts);
        const uint8_t *payload = (const uint8_t *)b.ptr;
        size_t plen = b.len;
        uint8_t *z = NULL;
        if (use_gzip) {
            if (gzip_body(payload, plen, &z, &plen) != 0) {
                buf_free(&b);
                return -1;
            }
            payload = z;
        }
        bodies[i].p = malloc(plen + 5);
        if (!bodies[i].p) {
            free(z);
            buf_free(&b);
            return -1;
        }
        bodies[i].p[0] = use_gzip ? 1 : 0;
        bodies[i].p[1] = (uint8_t)(plen >> 24);
        bodies[i].p[2] = (uint8_t)(plen >> 16);
        bodies[i].p[3] = (uint8_t)(plen >> 8);
        bodies[i].p[4] = (uint8_t)plen;
        memcpy(bodies[i].p + 5, payload, plen);
        bodies[i].len = plen + 5;
        free(z);
        buf_free(&b);
    }
    return 0;
}

/* ---- calls ---- */

static void call_done(call *c, bool ok)
{
    if (!c->used)
        return;
    c->used = false;
    c->lc->inflight--;
    answered++;
    if (ok && c->http_status == 200 && c->grpc_status == 0) {
        spans_ok += (unsigned long long)spans_per_call;
        lat[nlat++] = (now_s() - c->t0) * 1e3;
    } else {
        failures++;
    }
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    call *c = src->ptr;
    size_t n = c->b->len - c->off;
    if (n > length)
        n = length;
    memcpy(out, c->b->p + c->off, n);
    c->off += n;
    if (c->off == c->b->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    call *c = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (c)
        c->t0 = now_s();
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    call *c = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!c)
        return 0;
    char v[16];
    size_t n = valuelen < sizeof v - 1 ? valuelen : sizeof v - 1;
    memcpy(v, value, n);
    v[n] = 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        c->http_status = atoi(v);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->grpc_status = atoi(v);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    call *c = nghttp2_session_get_stream_user_data(s, id);
    if (c)
        call_done(c, code == NGHTTP2_NO_ERROR);
    return 0;
}

static int call_start(lconn *lc)
{
    call *c = NULL;
    for (int i = 0; i < inflight_max; i++)
        if (!lc->calls[i].used)
            c = &lc->calls[i];
    if (!c)
        return -1;
    *c = (call){.lc = lc, .b = &bodies[started % nbodies], .http_status = 0, .grpc_status = -1, .used = true};
    nghttp2_nv nva[] = {
#define H(k, v) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}
        H(":method", "POST"),
        H(":scheme", "http"),
        H(":authority", "127.0.0.1"),
        H(":path", EXPORT),
        H("content-type", "application/grpc"),
        H("te", "trailers"),
        H("grpc-encoding", "gzip"),
#undef H
    };
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = body_read};
    int32_t id = nghttp2_submit_request(lc->s, NULL, nva, use_gzip ? 7 : 6, &dp, c);
    if (id < 0) {
        c->used = false;
        return -1;
    }
    c->id = id;
    c->t0 = now_s();
    lc->inflight++;
    started++;
    bytes_sent += c->b->len;
    return 0;
}

/* ---- connections ---- */

static void conn_fail(lconn *lc)
{
    if (lc->dead)
        return;
    lc->dead = true;
    for (int i = 0; i < inflight_max; i++)
        call_done(&lc->calls[i], false);
    if (lc->fd >= 0)
        close(lc->fd);
    lc->fd = -1;
}

/* Writes what nghttp2 has to send; 0, or -1 when the connection broke. */
static int conn_flush(lconn *lc)
{
    for (;;) {
        while (lc->pend_off < lc->pend_len) {
            ssize_t n = send(lc->fd, lc->pend + lc->pend_off, lc->pend_len - lc->pend_off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    lc->want_out = true;
                    return 0;
                }
                return -1;
            }
            lc->pend_off += (size_t)n;
        }
        lc->pend_off = lc->pend_len = 0;
        const uint8_t *p;
        ssize_t k = nghttp2_session_mem_send(lc->s, &p);
        if (k < 0)
            return -1;
        if (k == 0) {
            lc->want_out = false;
            return 0;
        }
        size_t done = 0;
        while (done < (size_t)k) {
            ssize_t n = send(lc->fd, p + done, (size_t)k - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        if (done < (size_t)k) { /* keep the rest: nghttp2's buffer is reused on the next call */
            size_t rest = (size_t)k - done;
            if (rest > lc->pend_cap) {
                uint8_t *nb = realloc(lc->pend, rest);
                if (!nb)
                    return -1;
                lc->pend = nb;
                lc->pend_cap = rest;
            }
            memcpy(lc->pend, p + done, rest);
            lc->pend_len = rest;
            lc->pend_off = 0;
        }
    }
}

static int connect_to(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Starts calls on lc while it has room and batches remain. */
static void conn_fill(lconn *lc)
{
    while (!lc->dead && lc->inflight < inflight_max && started < total)
        if (call_start(lc) != 0)
            break;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i];
}

int main(int argc, char **argv)
{
    int port = 0, nconns = 0;
    const char *host = "127.0.0.1";
    if (argc == 1) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--gzip") == 0) {
            use_gzip = true;
            continue;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            nconns = atoi(v);
        else if (strcmp(a, "--batches") == 0)
            total = atoi(v);
        else if (strcmp(a, "--spans") == 0)
            spans_per_call = atoi(v);
        else if (strcmp(a, "--inflight") == 0)
            inflight_max = atoi(v);
        else if (strcmp(a, "--host") == 0)
            host = v;
        else {
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (port <= 0 || port > 65535 || nconns <= 0 || total <= 0 || spans_per_call <= 0 || inflight_max <= 0) {
        usage(stderr);
        return 2;
    }
    int rc = 2, ep = -1;
    nghttp2_session_callbacks *cbs = NULL;
    lat = calloc((size_t)total, sizeof *lat);
    lconn *conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; conns && i < nconns; i++)
        conns[i].fd = -1;
    if (!lat || !conns || build_bodies() != 0) {
        fprintf(stderr, "loadgen_grpc: cannot build the request bodies\n");
        goto out;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || nghttp2_session_callbacks_new(&cbs) != 0)
        goto out;
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    double t0 = now_s();
    int live = 0;
    for (int i = 0; i < nconns; i++) {
        lconn *lc = &conns[i];
        lc->calls = calloc((size_t)inflight_max, sizeof *lc->calls);
        lc->fd = connect_to(host, port);
        if (!lc->calls || lc->fd < 0 || nghttp2_session_client_new(&lc->s, cbs, lc) != 0) {
            lc->dead = true;
            continue;
        }
        nghttp2_submit_settings(lc->s, NGHTTP2_FLAG_NONE, NULL, 0);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = lc};
        epoll_ctl(ep, EPOLL_CTL_ADD, lc->fd, &e);
        live++;
    }
    if (!live) {
        fprintf(stderr, "loadgen_grpc: cannot connect to %s:%d\n", host, port);
        goto out;
    }
    static uint8_t rbuf[1 << 18];
    double last_progress = now_s();
    while (answered < total) {
        int alive = 0;
        for (int i = 0; i < nconns; i++) {
            lconn *lc = &conns[i];
            if (lc->dead)
                continue;
            conn_fill(lc);
            if (conn_flush(lc) != 0) {
                conn_fail(lc);
                continue;
            }
            struct epoll_event e = {.events = EPOLLIN | (lc->want_out ? EPOLLOUT : 0u), .data.ptr = lc};
            epoll_ctl(ep, EPOLL_CTL_MOD, lc->fd, &e);
            alive++;
        }
        if (!alive) { /* every connection broke: the rest cannot be sent */
            failures += total - started;
            answered += total - started;
            break;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        int before = answered;
        for (int k = 0; k < n; k++) {
            lconn *lc = evs[k].data.ptr;
            if (lc->dead)
                continue;
            if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = recv(lc->fd, rbuf, sizeof rbuf, 0);
                    if (r < 0 && errno == EINTR)
                        continue;
                    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                    if (r <= 0 || nghttp2_session_mem_recv(lc->s, rbuf, (size_t)r) < 0) {
                        conn_fail(lc);
                        break;
                    }
                    if ((size_t)r < sizeof rbuf)
                        break;
                }
            }
        }
        if (answered != before)
            last_progress = now_s();
        else if (now_s() - last_progress > STALL_S) {
            for (int i = 0; i < nconns; i++)
                conn_fail(&conns[i]);
            failures += total - started;
            answered += total - started;
            break;
        }
    }
    double secs = now_s() - t0;
    qsort(lat, (size_t)nlat, sizeof *lat, cmp_double);
    printf("requests=%d spans=%llu bytes=%llu seconds=%.3f p50_ms=%.2f p99_ms=%.2f failures=%d\n", answered,
           spans_ok, bytes_sent, secs, pct(0.50), pct(0.99), failures);
    rc = failures ? 1 : 0;
out:
    for (int i = 0; conns && i < nconns; i++) {
        nghttp2_session_del(conns[i].s);
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].calls);
        free(conns[i].pend);
    }
    for (int i = 0; i < nbodies; i++)
        free(bodies[i].p);
    nghttp2_session_callbacks_del(cbs);
    free(conns);
    free(lat);
    if (ep >= 0)
        close(ep);
    return rc;
}
