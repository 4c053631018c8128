/* flood_http.c - misbehaving OTLP/HTTP clients, and a probe that times a
 * good export, for the receiver's flood tests and bench/flood.sh.
 *
 *   flood_http --port P --conns N --mode MODE [--hold SECONDS] [--rate R] [--no-reconnect]
 *   flood_http --port P --probe [--count K] [--from ADDR]
 *
 * Flood: opens N connections to 127.0.0.1:P and misbehaves on each until
 * --hold seconds pass (default: until killed). A connection the receiver
 * closes is opened again (unless --no-reconnect), so N stay open from this
 * side, at up to R new connections a second (--rate, default 2,000; 0:
 * as fast as it can). Prints "open=N" once each
 * of the N has been connected (the receiver may have shed some since), and
 * at the end "flood: mode=M opened=N closed_by_receiver=N open_at_end=N".
 * Modes:
 *   silent           connect, send nothing
 *   dribble-headers  request headers one byte a second, never complete
 *   stall-body       headers with Content-Length: 1000 and two body bytes, then nothing
 *   idle             one good request (an empty JSON export), its answer read, then
 *                    the keep-alive connection left idle
 *
 * Probe: K good exports (10 spans, OTLP protobuf), each on a fresh
 * connection (from the local address ADDR with --from, e.g. 127.0.0.2),
 * 10 s timeout each; prints the milliseconds of each from
 * connect to answer, then "probe: ok=N failed=N max_ms=F median_ms=F".
 * Exit 0 when every probe got 200. */
#include "codec/codec.h"
#include "core/buf.h"
#include "gen.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { M_SILENT, M_DRIBBLE, M_STALL, M_IDLE };

typedef struct fconn {
    int fd;
    bool connected;
    bool ever;          /* connected once at least */
    size_t sent;        /* bytes of the mode's text sent so far */
    uint64_t next_ms;   /* dribble: when the next byte goes */
} fconn;

static const char dribble_text[] =
    "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char stall_text[] =
    "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"";
static const char idle_text[] =
    "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_conn(int ep, int port, fconn *c, size_t idx)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    *c = (fconn){.fd = fd};
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u64 = idx};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

/* Sends what the mode sends at this point. */
static void act(fconn *c, int mode, uint64_t now)
{
    if (!c->connected || c->fd < 0)
        return;
    const char *text = mode == M_DRIBBLE ? dribble_text : mode == M_STALL ? stall_text : idle_text;
    size_t len = mode == M_DRIBBLE ? sizeof dribble_text - 1 : mode == M_STALL ? sizeof stall_text - 1
                                                                                : sizeof idle_text - 1;
    if (mode == M_SILENT || c->sent >= len)
        return;
    if (mode == M_DRIBBLE) {
        if (now < c->next_ms)
            return;
        if (send(c->fd, text + c->sent, 1, MSG_NOSIGNAL) == 1)
            c->sent++;
        c->next_ms = now + 1000;
        return;
    }
    ssize_t n = send(c->fd, text + c->sent, len - c->sent, MSG_NOSIGNAL);
    if (n > 0)
        c->sent += (size_t)n;
}

static int flood(int port, int n, int mode, double hold, bool reconnect, double rate)
{
    raise_nofile();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    fconn *cs = calloc((size_t)n, sizeof *cs);
    if (ep < 0 || !cs)
        return 1;
    for (int i = 0; i < n; i++)
        cs[i].fd = -1;
    unsigned long opened = 0, closed = 0;
    bool told = false;
    uint64_t t0 = now_ms(), end = hold > 0 ? t0 + (uint64_t)(hold * 1000) : UINT64_MAX;
    struct epoll_event *ev = calloc(1024, sizeof *ev);
    int next_missing = 0;
    double tokens = 0;
    uint64_t last_refill = t0;
    while (!stop && now_ms() < end) {
        /* open what is missing: the first time 500 a turn, again at up
           to 2,000 a second */
        uint64_t t = now_ms();
        if (told) {
            tokens += (double)(t - last_refill) * (rate > 0 ? rate / 1000.0 : 1e9);
            if (tokens > 500)
                tokens = 500;
        }
        last_refill = t;
        int budget = told ? (int)tokens : 500;
        for (int k = 0; k < n && budget > 0; k++) {
            int i = (next_missing + k) % n;
            if (cs[i].fd >= 0)
                continue;
            if (!reconnect && opened >= (unsigned long)n)
                break;
            if (told)
                tokens -= 1;
            bool ever = cs[i].ever;
            if (open_conn(ep, port, &cs[i], (size_t)i) == 0) {
                cs[i].ever = ever;
                opened++;
            }
            budget--;
            next_missing = (i + 1) % n;
        }
        int got = epoll_wait(ep, ev, 1024, 50);
        uint64_t now = now_ms();
        for (int k = 0; k < got; k++) {
            fconn *c = &cs[ev[k].data.u64];
            if (c->fd < 0)
                continue;
            if (ev[k].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLIN)) {
                char buf[4096];
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN) || (ev[k].events & (EPOLLERR | EPOLLHUP))) {
                    if (c->connected)
                        closed++;
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
            }
            if ((ev[k].events & EPOLLOUT) && !c->connected) {
                c->connected = true;
                c->ever = true;
                c->next_ms = now;
                struct epoll_event e2 = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = ev[k].data.u64};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e2);
                act(c, mode, now);
            }
        }
        if (mode == M_DRIBBLE)
            for (int i = 0; i < n; i++)
                act(&cs[i], mode, now);
        if (!told) {
            int connected = 0;
            for (int i = 0; i < n; i++)
                connected += cs[i].ever;
            if (connected >= n) {
                printf("open=%d\n", n);
                fflush(stdout);
                told = true;
            }
        }
    }
    static const char *names[] = {"silent", "dribble-headers", "stall-body", "idle"};
    int open_end = 0;
    for (int i = 0; i < n; i++)
        open_end += cs[i].fd >= 0 && cs[i].connected;
    printf("flood: mode=%s opened=%lu closed_by_receiver=%lu open_at_end=%d\n", names[mode], opened, closed,
           open_end);
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    free(cs);
    free(ev);
    close(ep);
    return 0;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int probe(int port, int count, const char *from)
{
    trace_set *ts = gen_trace_set(10, 4242);
    tc_buf body;
    buf_init(&body, 0);
    if (!ts || otlp_pb_encode(ts, &body))
        return 1;
    trace_set_free(&ts);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    hd = curl_slist_append(hd, "Expect:");
    double *ms = calloc((size_t)count, sizeof *ms);
    int ok = 0, failed = 0;
    for (int i = 0; i < count; i++) {
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(&body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        if (from)
            curl_easy_setopt(h, CURLOPT_INTERFACE, from);
        uint64_t t0 = now_ms();
        long status = 0;
        CURLcode rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        ms[i] = (double)(now_ms() - t0);
        if (rc == CURLE_OK && status == 200)
            ok++;
        else
            failed++;
        printf("probe %d: %s %.0f ms\n", i + 1, rc == CURLE_OK ? (status == 200 ? "200" : "error") : curl_easy_strerror(rc),
               ms[i]);
        curl_easy_cleanup(h);
    }
    qsort(ms, (size_t)count, sizeof *ms, cmp_double);
    printf("probe: ok=%d failed=%d max_ms=%.0f median_ms=%.0f\n", ok, failed, ms[count - 1], ms[(count - 1) / 2]);
    free(ms);
    curl_slist_free_all(hd);
    buf_free(&body);
    curl_global_cleanup();
    return failed ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: flood_http --port P --conns N --mode silent|dribble-headers|stall-body|idle "
                    "[--hold SECONDS] [--rate R] [--no-reconnect]\n       flood_http --port P --probe [--count K]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int port = 0, n = 0, mode = -1, count = 5;
    double hold = 0, rate = 2000;
    bool do_probe = false, reconnect = true;
    const char *from = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--probe") == 0) {
            do_probe = true;
        } else if (strcmp(a, "--no-reconnect") == 0) {
            reconnect = false;
        } else if (i + 1 < argc && strcmp(a, "--port") == 0) {
            port = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--conns") == 0) {
            n = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--from") == 0) {
            from = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--count") == 0) {
            count = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--rate") == 0) {
            rate = atof(argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--hold") == 0) {
            hold = atof(argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--mode") == 0) {
            const char *m = argv[++i];
            mode = strcmp(m, "silent") == 0            ? M_SILENT
                   : strcmp(m, "dribble-headers") == 0 ? M_DRIBBLE
                   : strcmp(m, "stall-body") == 0      ? M_STALL
                   : strcmp(m, "idle") == 0            ? M_IDLE
                                                       : -1;
            if (mode < 0)
                return usage();
        } else {
            return usage();
        }
    }
    if (port <= 0 || port > 65535)
        return usage();
    if (do_probe)
        return count > 0 ? probe(port, count, from) : usage();
    if (n <= 0 || mode < 0)
        return usage();
    return flood(port, n, mode, hold, reconnect, rate);
}
