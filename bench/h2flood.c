/* h2flood.c - misbehaving HTTP/2 clients against an OTLP/gRPC receiver,
 * and a probe that measures how fast a good export is answered meanwhile.
 *
 *   h2flood --port P --conns N --mode MODE [--hold SECONDS] [--rate R] [--host H]
 *   h2flood --port P --probe [--count K] [--trace-id HEX] [--timeout-ms T]
 *
 * Flood: opens N connections (one epoll loop, RLIMIT_NOFILE raised to the
 * hard limit; --rate R opens at most R a second, else as fast as the
 * kernel completes them, which can fill the server's listen queue) and
 * misbehaves on each until killed (SIGTERM, SIGINT), until --hold seconds
 * pass, or until the server has closed them all:
 *   silent           connect, send nothing
 *   preface-dribble  the HTTP/2 preface (then SETTINGS) one byte a second
 *   open-streams     preface and SETTINGS, then 100 HEADERS without
 *                    END_STREAM (the receiver's stream limit), no DATA ever
 *   stall-body       one call whose DATA stops after 8 bytes of a message
 *                    announced as 1000
 *   settings-flood   SETTINGS frames as fast as the socket takes them; the
 *                    ACKs are never read
 *   idle             a clean preface and SETTINGS, then nothing
 * It prints "open=N" once every connection is established (with
 * "connect_failed=F" when some could not be; until then a "connecting:"
 * line every 5 s), and when it ends one line
 * "h2flood: mode=M opened=N closed_by_server=K connect_failed=F seconds=S".
 * The frames are written by hand: misbehaving is the point (the header
 * block comes from nghttp2's HPACK encoder).
 *
 * Probe: K (default 5) Export calls of 10 spans, each on a fresh
 * connection, one after the other; prints for each the milliseconds from
 * connect to the OK answer ("probe 1: 3.2 ms ok"), then
 * "probe: ok=N failed=N max_ms=F median_ms=F". --trace-id gives the spans
 * that trace id (32 hex digits); a call not answered within --timeout-ms
 * (5000) fails. Exit status 0 when every probe was answered OK.
 * Without arguments it prints its usage and exits 0. */
#include "codec/codec.h"
#include "gen.h"

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define FLOOD_STREAMS 100
#define CONNECTS_IN_FLIGHT 1024 /* connects started and not yet established */

enum { M_SILENT, M_DRIBBLE, M_OPEN_STREAMS, M_STALL_BODY, M_SETTINGS_FLOOD, M_IDLE };
static const char *const mode_names[] = {"silent",     "preface-dribble", "open-streams",
                                         "stall-body", "settings-flood",  "idle"};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: h2flood --port P --conns N --mode MODE [--hold SECONDS] [--rate R] [--host H]\n"
               "       h2flood --port P --probe [--count K] [--trace-id HEX] [--timeout-ms T] [--host H]\n"
               "modes: silent preface-dribble open-streams stall-body settings-flood idle\n");
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A non-blocking socket with a connect started; -1 on failure. */
static int start_connect(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* ---- raw frames ---- */

static size_t frame(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)(sid >> 24 & 0x7f);
    p[6] = (uint8_t)(sid >> 16);
    p[7] = (uint8_t)(sid >> 8);
    p[8] = (uint8_t)sid;
    return 9;
}

/* The request header block of an Export call, HPACK-encoded without the
 * dynamic table so that one block serves every stream of every connection. */
static size_t header_block(uint8_t *out, size_t cap)
{
    nghttp2_hd_deflater *d;
    if (nghttp2_hd_deflate_new(&d, 0) != 0)
        return 0;
    nghttp2_nv nva[] = {
#define H(k, v) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}
        H(":method", "POST"),
        H(":scheme", "http"),
        H(":authority", "127.0.0.1"),
        H(":path", EXPORT),
        H("content-type", "application/grpc"),
        H("te", "trailers"),
#undef H
    };
    ssize_t n = nghttp2_hd_deflate_hd(d, out, cap, nva, sizeof nva / sizeof nva[0]);
    nghttp2_hd_deflate_del(d);
    return n > 0 ? (size_t)n : 0;
}

/* What each mode writes once connected (settings-flood: its opening). */
static size_t opening(int mode, uint8_t *p, size_t cap)
{
    uint8_t hb[256];
    size_t hl = header_block(hb, sizeof hb), n = 0;
    if (mode == M_SILENT || !hl)
        return 0;
    memcpy(p, PREFACE, 24);
    n = 24;
    n += frame(p + n, 0, NGHTTP2_SETTINGS, 0, 0);
    if (mode == M_DRIBBLE || mode == M_SETTINGS_FLOOD)
        return n;
    n += frame(p + n, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0); /* the server's SETTINGS came at accept */
    if (mode == M_OPEN_STREAMS) {
        for (uint32_t i = 0; i < FLOOD_STREAMS && n + 9 + hl <= cap; i++) {
            n += frame(p + n, hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1 + 2 * i);
            memcpy(p + n, hb, hl);
            n += hl;
        }
    } else if (mode == M_STALL_BODY) {
        n += frame(p + n, hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1);
        memcpy(p + n, hb, hl);
        n += hl;
        static const uint8_t part[] = {0, 0, 0, 0x03, 0xe8, 'a', 'b', 'c'}; /* 1000 bytes announced */
        n += frame(p + n, sizeof part, NGHTTP2_DATA, 0, 1);
        memcpy(p + n, part, sizeof part);
        n += sizeof part;
    }
    return n;
}

/* ---- flood ---- */

typedef struct fconn {
    int fd;
    size_t off;  /* bytes of the opening written */
    size_t foff; /* settings-flood: where in the frame buffer the next write starts */
    bool connected, closed;
} fconn;

static int flood(const char *host, int port, int n, int mode, double hold_s, double rate)
{
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    static uint8_t open_bytes[FLOOD_STREAMS * 300 + 256];
    size_t open_len = opening(mode, open_bytes, sizeof open_bytes);
    uint8_t flood_frames[15 * 512];
    size_t flood_len = 0;
    for (int i = 0; i < 512; i++) { /* SETTINGS_ENABLE_PUSH = 0: each must be ACKed */
        flood_len += frame(flood_frames + flood_len, 6, NGHTTP2_SETTINGS, 0, 0);
        static const uint8_t entry[] = {0, 2, 0, 0, 0, 0};
        memcpy(flood_frames + flood_len, entry, 6);
        flood_len += 6;
    }
    fconn *cs = calloc((size_t)n, sizeof *cs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || ep < 0)
        return 2;
    bool reads = mode == M_OPEN_STREAMS || mode == M_STALL_BODY || mode == M_IDLE;
    int started = 0, connecting = 0, opened = 0, failed = 0, closed = 0;
    bool announced = false;
    double t0 = now_ms(), next_tick = t0 + 1000;
    static uint8_t sink[65536];
    while (!stop_flag) {
        double now0 = now_ms();
        while (started < n && connecting < CONNECTS_IN_FLIGHT &&
               (rate <= 0 || started < rate * (now0 - t0) / 1e3 + 1)) {
            fconn *c = &cs[started++];
            c->fd = start_connect(host, port);
            if (c->fd < 0) {
                failed++;
                c->closed = true;
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            connecting++;
        }
        if (!announced && opened + failed == n) {
            announced = true;
            if (failed)
                printf("open=%d connect_failed=%d\n", opened, failed);
            else
                printf("open=%d\n", opened);
            fflush(stdout);
        }
        if (announced && closed + failed == n)
            break; /* the server closed every one */
        double now = now_ms();
        if (hold_s > 0 && now - t0 >= hold_s * 1000)
            break;
        double wait_ms = next_tick - now > 0 ? next_tick - now : 0;
        if (rate > 0 && started < n && connecting < CONNECTS_IN_FLIGHT) { /* until the next one is due */
            double due = t0 + started * 1e3 / rate - now;
            wait_ms = due < wait_ms ? (due > 1 ? due : 1) : wait_ms;
        }
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, (int)wait_ms);
        for (int i = 0; i < k; i++) {
            fconn *c = evs[i].data.ptr;
            uint32_t ev = evs[i].events;
            if (c->closed)
                continue;
            bool gone = false;
            if (!c->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                connecting--;
                if (err) {
                    failed++;
                    c->closed = true;
                    close(c->fd);
                    continue;
                }
                c->connected = true;
                opened++;
            }
            if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                gone = true;
            if (!gone && reads && (ev & EPOLLIN)) {
                ssize_t r;
                while ((r = recv(c->fd, sink, sizeof sink, 0)) > 0)
                    ;
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                    gone = true;
            }
            /* the opening, then (settings-flood) frames for as long as the socket takes them */
            while (!gone && mode != M_DRIBBLE && (c->off < open_len || mode == M_SETTINGS_FLOOD)) {
                bool opening_left = c->off < open_len;
                const uint8_t *p = opening_left ? open_bytes + c->off : flood_frames + c->foff;
                size_t len = opening_left ? open_len - c->off : flood_len - c->foff;
                ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                        gone = true;
                    break;
                }
                if (opening_left)
                    c->off += (size_t)w;
                else /* the buffer is whole frames: carry on where the socket stopped */
                    c->foff = (c->foff + (size_t)w) % flood_len;
            }
            if (gone) {
                closed++;
                c->closed = true;
                close(c->fd);
                continue;
            }
            uint32_t want = EPOLLRDHUP | (reads ? EPOLLIN : 0u) |
                            (mode == M_SETTINGS_FLOOD || c->off < open_len ? EPOLLOUT : 0u);
            if (mode == M_DRIBBLE)
                want = EPOLLRDHUP;
            struct epoll_event e = {.events = want, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
        if (now_ms() >= next_tick) {
            next_tick += 1000;
            if (!announced && (int)((next_tick - t0) / 1000) % 5 == 0) {
                printf("connecting: opened=%d connect_failed=%d in_progress=%d closed_by_server=%d\n", opened,
                       failed, connecting, closed);
                fflush(stdout);
            }
            if (mode == M_DRIBBLE) {
                for (int i = 0; i < started; i++) {
                    fconn *c = &cs[i];
                    if (!c->connected || c->closed || c->off >= open_len)
                        continue;
                    ssize_t w = send(c->fd, open_bytes + c->off, 1, MSG_NOSIGNAL);
                    if (w == 1) {
                        c->off++;
                    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                        closed++;
                        c->closed = true;
                        close(c->fd);
                    }
                }
            }
        }
    }
    printf("h2flood: mode=%s opened=%d closed_by_server=%d connect_failed=%d seconds=%.1f\n",
           mode_names[mode], opened, closed, failed, (now_ms() - t0) / 1e3);
    for (int i = 0; i < started; i++)
        if (!cs[i].closed)
            close(cs[i].fd);
    free(cs);
    close(ep);
    return 0;
}

/* ---- probe ---- */

typedef struct probe {
    int http_status, grpc_status;
    bool closed;
    uint32_t close_code;
    const uint8_t *body;
    size_t len, off;
    int32_t id;
} probe;

static ssize_t probe_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t length, uint32_t *flags,
                          nghttp2_data_source *src, void *user)
{
    probe *p = user;
    size_t n = p->len - p->off;
    if (n > length)
        n = length;
    memcpy(out, p->body + p->off, n);
    p->off += n;
    if (p->off == p->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int probe_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    probe *p = user;
    char v[16];
    size_t n = valuelen < sizeof v - 1 ? valuelen : sizeof v - 1;
    memcpy(v, value, n);
    v[n] = 0;
    if (f->hd.stream_id != p->id)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        p->http_status = atoi(v);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        p->grpc_status = atoi(v);
    return 0;
}

static int probe_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    probe *p = user;
    if (id == p->id) {
        p->closed = true;
        p->close_code = code;
    }
    return 0;
}

/* One call on a fresh connection; the milliseconds from connect to the OK
 * answer, or -1 (why in err). */
static double probe_once(const char *host, int port, const uint8_t *body, size_t len, int timeout_ms,
                         char *err, size_t errcap)
{
    double t0 = now_ms();
    probe p = {.grpc_status = -1, .body = body, .len = len};
    int fd = start_connect(host, port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    nghttp2_session *s = NULL;
    double result = -1;
    snprintf(err, errcap, "cannot connect");
    if (fd < 0 || ep < 0)
        goto out;
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        goto out;
    nghttp2_session_callbacks_set_on_header_callback(cbs, probe_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, probe_close);
    int rc = nghttp2_session_client_new(&s, cbs, &p);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0)
        goto out;
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    nghttp2_nv nva[] = {
#define H(k, v) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}
        H(":method", "POST"),
        H(":scheme", "http"),
        H(":authority", "127.0.0.1"),
        H(":path", EXPORT),
        H("content-type", "application/grpc"),
        H("te", "trailers"),
#undef H
    };
    nghttp2_data_provider dp = {.read_callback = probe_read};
    p.id = nghttp2_submit_request(s, NULL, nva, sizeof nva / sizeof nva[0], &dp, NULL);
    struct epoll_event e = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    bool connected = false;
    uint8_t pend[65536];
    size_t pend_len = 0, pend_off = 0;
    while (!p.closed) {
        double left = t0 + timeout_ms - now_ms();
        if (left <= 0) {
            snprintf(err, errcap, connected ? "no answer in %d ms" : "not connected in %d ms", timeout_ms);
            goto out;
        }
        struct epoll_event ev;
        int k = epoll_wait(ep, &ev, 1, (int)left + 1);
        if (k <= 0)
            continue;
        if (!connected) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) {
                snprintf(err, errcap, "connect: %s", strerror(soerr));
                goto out;
            }
            connected = true;
        }
        if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            uint8_t buf[16384];
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                snprintf(err, errcap, "connection closed by the server");
                goto out;
            }
            if (r > 0 && nghttp2_session_mem_recv(s, buf, (size_t)r) < 0) {
                snprintf(err, errcap, "HTTP/2 error");
                goto out;
            }
        }
        for (;;) { /* write what nghttp2 has, keeping what the socket did not take */
            if (pend_off == pend_len) {
                const uint8_t *q;
                ssize_t n = nghttp2_session_mem_send(s, &q);
                if (n <= 0)
                    break;
                memcpy(pend, q, (size_t)n); /* at most one frame: well under 64 KiB */
                pend_len = (size_t)n;
                pend_off = 0;
            }
            ssize_t w = send(fd, pend + pend_off, pend_len - pend_off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            pend_off += (size_t)w;
        }
        e.events = EPOLLIN | (pend_off < pend_len ? EPOLLOUT : 0u);
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
    }
    if (p.close_code == NGHTTP2_NO_ERROR && p.http_status == 200 && p.grpc_status == 0) {
        result = now_ms() - t0;
    } else {
        snprintf(err, errcap, "stream closed: http %d, grpc-status %d, h2 error %u", p.http_status,
                 p.grpc_status, p.close_code);
    }
out:
    nghttp2_session_del(s);
    if (fd >= 0)
        close(fd);
    if (ep >= 0)
        close(ep);
    return result;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int run_probes(const char *host, int port, int count, const char *trace_hex, int timeout_ms)
{
    uint8_t tid[16];
    if (trace_hex) {
        if (strlen(trace_hex) != 32)
            return 2;
        for (int i = 0; i < 16; i++) {
            int a = hexval(trace_hex[2 * i]), b = hexval(trace_hex[2 * i + 1]);
            if (a < 0 || b < 0)
                return 2;
            tid[i] = (uint8_t)(a << 4 | b);
        }
    }
    trace_set *ts = gen_trace_set(10, (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20);
    if (!ts)
        return 2;
    for (uint32_t i = 0; trace_hex && i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        for (uint32_t k = 0; k < t->n_spans; k++)
            memcpy(t->spans[k]->trace_id, tid, 16);
    }
    tc_buf b;
    buf_init(&b, 0);
    if (otlp_pb_encode(ts, &b) != 0)
        return 2;
    trace_set_free(&ts);
    size_t len = b.len + 5;
    uint8_t *body = malloc(len);
    if (!body)
        return 2;
    body[0] = 0;
    body[1] = (uint8_t)(b.len >> 24);
    body[2] = (uint8_t)(b.len >> 16);
    body[3] = (uint8_t)(b.len >> 8);
    body[4] = (uint8_t)b.len;
    memcpy(body + 5, b.ptr, b.len);
    buf_free(&b);
    double *ms = calloc((size_t)count, sizeof *ms);
    int ok = 0, failed = 0;
    double max = 0;
    for (int i = 0; i < count; i++) {
        char err[160];
        double t = probe_once(host, port, body, len, timeout_ms, err, sizeof err);
        if (t < 0) {
            failed++;
            printf("probe %d: failed (%s)\n", i + 1, err);
        } else {
            ms[ok++] = t;
            if (t > max)
                max = t;
            printf("probe %d: %.1f ms ok\n", i + 1, t);
        }
        fflush(stdout);
    }
    qsort(ms, (size_t)ok, sizeof *ms, cmp_double);
    printf("probe: ok=%d failed=%d max_ms=%.1f median_ms=%.1f\n", ok, failed, max, ok ? ms[ok / 2] : 0.0);
    free(ms);
    free(body);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    int port = 0, conns = 0, mode = -1, count = 5, timeout_ms = 5000;
    double hold = 0, rate = 0;
    bool probe_mode = false;
    const char *host = "127.0.0.1", *trace_hex = NULL;
    if (argc == 1) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--probe") == 0) {
            probe_mode = true;
            continue;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--port") == 0) {
            port = atoi(v);
        } else if (strcmp(a, "--conns") == 0) {
            conns = atoi(v);
        } else if (strcmp(a, "--hold") == 0) {
            hold = atof(v);
        } else if (strcmp(a, "--rate") == 0) {
            rate = atof(v);
        } else if (strcmp(a, "--count") == 0) {
            count = atoi(v);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            timeout_ms = atoi(v);
        } else if (strcmp(a, "--trace-id") == 0) {
            trace_hex = v;
        } else if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--mode") == 0) {
            for (int m = 0; m < (int)(sizeof mode_names / sizeof mode_names[0]); m++)
                if (strcmp(v, mode_names[m]) == 0)
                    mode = m;
            if (mode < 0) {
                usage(stderr);
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || (probe_mode ? count <= 0 || timeout_ms <= 0 : conns <= 0 || mode < 0)) {
        usage(stderr);
        return 2;
    }
    if (probe_mode) {
        int rc = run_probes(host, port, count, trace_hex, timeout_ms);
        if (rc == 2)
            usage(stderr);
        return rc;
    }
    return flood(host, port, conns, mode, hold, rate);
}
