/* recv_grpc_test.c - the OTLP/gRPC receiver against a small nghttp2 client:
 * a real SDK message into the span buffer, gzip, gRPC statuses for bad
 * protobuf, oversized messages, unknown methods and encodings, slow calls,
 * garbage instead of the HTTP/2 preface, idle connections, 50 concurrent
 * clients, a 4 MiB message (flow control), and bind failures. Under load
 * and attack: the connection caps shed the connection idle the longest (a
 * silent one before one with a call in progress), the cap follows the
 * descriptor limit, the header, body-progress and idle deadlines, floods
 * of SETTINGS, PINGs, resets and CONTINUATION frames, a stream over the
 * limit, many calls in flight on one connection through the decode
 * threads with a small window and with back-pressure, and a call cancelled
 * while it is decoded. Deadlines are set in milliseconds to keep it fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "core/buf.h"
#include "receiver/otlp_grpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define EXPORT "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define IO_TIMEOUT_MS 10000

/* ---- a minimal gRPC client over nghttp2 ---- */

typedef struct call {
    /* in */
    int port;
    const char *path;     /* default EXPORT */
    const char *ctype;    /* default application/grpc */
    const char *encoding; /* grpc-encoding header, or NULL */
    const char *auth;     /* authorization header, or NULL */
    const uint8_t *body;
    size_t body_len;
    bool stall;     /* send headers, then never finish the body */
    size_t allowed; /* with drip: bytes of the body the client may send so far */
    bool drip;      /* send the body only as far as `allowed` */
    /* out */
    int ok; /* 1 when the call completed (stream closed) */
    int http_status;
    int grpc_status; /* -1 when absent */
    char grpc_message[512];
    uint8_t resp[256];
    size_t resp_len;
    /* state */
    size_t sent;
    int32_t id;
} call;

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    call *c = src->ptr;
    if (c->stall || (c->drip && c->sent >= c->allowed))
        return NGHTTP2_ERR_DEFERRED;
    size_t n = (c->drip ? c->allowed : c->body_len) - c->sent;
    if (n > length)
        n = length;
    memcpy(out, c->body + c->sent, n);
    c->sent += n;
    if (c->sent == c->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int cl_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    call *c = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!c)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        c->http_status = atoi((const char *)value);
    else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->grpc_status = atoi((const char *)value);
    else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
        snprintf(c->grpc_message, sizeof c->grpc_message, "%.*s", (int)valuelen, (const char *)value);
    return 0;
}

static int cl_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
    call *c = nghttp2_session_get_stream_user_data(s, id);
    if (c && c->resp_len + len <= sizeof c->resp) {
        memcpy(c->resp + c->resp_len, data, len);
        c->resp_len += len;
    }
    return 0;
}

static int cl_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    call *c = nghttp2_session_get_stream_user_data(s, id);
    if (c)
        c->ok = 1;
    return 0;
}

static int cl_frame(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    bool *ping_acked = user;
    if (ping_acked && f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK))
        *ping_acked = true;
    return 0;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static nghttp2_session *client_session(void *user)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cl_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cl_frame);
    nghttp2_session *s;
    nghttp2_session_client_new(&s, cbs, user);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    return s;
}

static void call_reset(call *c)
{
    c->ok = 0;
    c->grpc_status = -1;
    c->http_status = 0;
    c->resp_len = 0;
    c->sent = 0;
    c->grpc_message[0] = 0;
}

/* Submits c on session s; its stream's user data is c. */
static void call_submit(nghttp2_session *s, call *c)
{
    call_reset(c);
    const char *path = c->path ? c->path : EXPORT;
    const char *ct = c->ctype ? c->ctype : "application/grpc";
    nghttp2_nv nva[7];
    size_t n = 0;
#define H(k, v) nva[n++] = (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), 0}
    H(":method", "POST");
    H(":scheme", "http");
    H(":authority", "127.0.0.1");
    H(":path", path);
    H("content-type", ct);
    if (c->encoding)
        H("grpc-encoding", c->encoding);
    if (c->auth)
        H("authorization", c->auth);
#undef H
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = body_read};
    c->id = nghttp2_submit_request(s, NULL, nva, n, &dp, c);
}

/* Writes what the session has, then reads once (waiting at most ms).
 * 0, 1 when nothing came in time, -1 when the connection broke. */
static int pump(int fd, nghttp2_session *s, int ms)
{
    const uint8_t *p;
    ssize_t k;
    while ((k = nghttp2_session_mem_send(s, &p)) > 0)
        if (write_all(fd, p, (size_t)k) != 0)
            return -1;
    if (k < 0)
        return -1;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int n = poll(&pf, 1, ms);
    if (n == 0)
        return 1;
    if (n < 0)
        return -1;
    uint8_t buf[16384];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)r) < 0)
        return -1;
    return 0;
}

/* Runs one unary call to completion (or failure within IO_TIMEOUT_MS).
 * Safe to run from many threads at once. */
static void do_call(call *c)
{
    call_reset(c);
    int fd = connect_to(c->port);
    if (fd < 0)
        return;
    nghttp2_session *s = client_session(NULL);
    call_submit(s, c);
    while (!c->ok && pump(fd, s, IO_TIMEOUT_MS) == 0)
        ;
    nghttp2_session_del(s);
    close(fd);
}

/* A client connection kept open across steps of a test. */
typedef struct client {
    int fd;
    nghttp2_session *s;
    bool ping_acked;
} client;

static client *client_open(int port)
{
    client *k = calloc(1, sizeof *k);
    k->fd = connect_to(port);
    assert_true(k->fd >= 0);
    k->s = client_session(&k->ping_acked);
    return k;
}

/* Sends a PING and waits for its ACK: the server has handled everything
 * sent before. 0, or -1 when the connection broke or timed out. */
static int client_sync(client *k)
{
    k->ping_acked = false;
    nghttp2_submit_ping(k->s, NGHTTP2_FLAG_NONE, NULL);
    while (!k->ping_acked)
        if (pump(k->fd, k->s, IO_TIMEOUT_MS) != 0)
            return -1;
    return 0;
}

static void client_close(client *k)
{
    nghttp2_session_del(k->s);
    close(k->fd);
    free(k);
}

/* ---- messages ---- */

static uint8_t *read_fixture(size_t *len)
{
    const char *dir = getenv("TC_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/otlp/node-sdk-hello.grpc-frame", dir ? dir : "tests/data");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    assert_true(*len > 5);
    return b;
}

/* A gRPC message: flag, big-endian length, payload (malloc'd). */
static uint8_t *frame(int flag, const uint8_t *p, size_t n, size_t *out_len)
{
    uint8_t *b = malloc(n + 5);
    b[0] = (uint8_t)flag;
    b[1] = (uint8_t)(n >> 24);
    b[2] = (uint8_t)(n >> 16);
    b[3] = (uint8_t)(n >> 8);
    b[4] = (uint8_t)n;
    memcpy(b + 5, p, n);
    *out_len = n + 5;
    return b;
}

static uint8_t *gzip(const uint8_t *p, size_t n, size_t *out_len)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n);
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void pb_ld(tc_buf *b, uint8_t tag, const void *p, size_t n)
{
    uint8_t v[10];
    size_t k = 0;
    size_t x = n;
    while (x >= 0x80) {
        v[k++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    v[k++] = (uint8_t)x;
    buf_putc(b, (char)tag);
    buf_append(b, v, k);
    buf_append(b, p, n);
}

/* An ExportTraceServiceRequest of about `size` bytes: one span of trace
 * 0x42.. whose attribute "big" holds the filler. */
static uint8_t *big_request(size_t size, size_t *len)
{
    tc_buf any, kv, span, scope, rs, req;
    buf_init(&any, 0), buf_init(&kv, 0), buf_init(&span, 0);
    buf_init(&scope, 0), buf_init(&rs, 0), buf_init(&req, 0);
    char *fill = malloc(size);
    memset(fill, 'x', size);
    pb_ld(&any, 0x0a, fill, size - 100);
    pb_ld(&kv, 0x0a, "big", 3);
    pb_ld(&kv, 0x12, any.ptr, any.len);
    uint8_t tid[16], sid[8];
    memset(tid, 0x42, sizeof tid);
    memset(sid, 0x43, sizeof sid);
    pb_ld(&span, 0x0a, tid, 16);
    pb_ld(&span, 0x12, sid, 8);
    pb_ld(&span, 0x2a, "big", 3);
    pb_ld(&span, 0x4a, kv.ptr, kv.len);
    pb_ld(&scope, 0x12, span.ptr, span.len);
    pb_ld(&rs, 0x12, scope.ptr, scope.len);
    pb_ld(&req, 0x0a, rs.ptr, rs.len);
    *len = req.len;
    uint8_t *out = (uint8_t *)buf_detach(&req);
    buf_free(&any), buf_free(&kv), buf_free(&span), buf_free(&scope), buf_free(&rs);
    free(fill);
    return out;
}

/* ---- fixtures ---- */

typedef struct env {
    spanbuf *buf;
    recv_grpc *r;
    uint8_t *fixture; /* the SDK's gRPC message, prefix included */
    size_t fixture_len;
} env;

static env *env_new(const recv_grpc_opts *o)
{
    env *e = calloc(1, sizeof *e);
    e->buf = spanbuf_new(0);
    tc_error err = {0};
    e->r = recv_grpc_start(":0", e->buf, o, &err);
    if (!e->r)
        fail_msg("start: %s", err.msg);
    assert_true(recv_grpc_port(e->r) > 0);
    e->fixture = read_fixture(&e->fixture_len);
    return e;
}

static void env_free(env *e)
{
    recv_grpc_stop(&e->r);
    assert_null(e->r);
    spanbuf_free(&e->buf);
    free(e->fixture);
    free(e);
}

static long spans_of(spanbuf *b, uint8_t byte)
{
    uint8_t id[16];
    memset(id, byte, sizeof id);
    trace_set *ts = trace_set_new(0);
    long n = spanbuf_snapshot(b, id, ts);
    trace_set_free(&ts);
    return n;
}

static call mkcall(env *e, const uint8_t *body, size_t len)
{
    call c = {.port = recv_grpc_port(e->r), .body = body, .body_len = len};
    return c;
}

/* ---- tests ---- */

static void test_fixture_into_spanbuf(void **state)
{
    env *e = env_new(NULL);
    call c = mkcall(e, e->fixture, e->fixture_len);
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, 0);
    /* an empty ExportTraceServiceResponse, length-prefixed */
    assert_int_equal(c.resp_len, 5);
    assert_memory_equal(c.resp, "\0\0\0\0\0", 5);
    assert_int_equal(spans_of(e->buf, 0x11), 2);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.calls_ok, 1);
    assert_int_equal(st.spans_received, 2);
    /* application/grpc+proto is the same protocol */
    c.ctype = "application/grpc+proto";
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    env_free(e);
}

static void test_partial_success(void **state)
{
    env *e = env_new(NULL);
    /* a buffer too small for the second span */
    recv_grpc_stop(&e->r);
    spanbuf_free(&e->buf);
    e->buf = spanbuf_new(1);
    tc_error err = {0};
    e->r = recv_grpc_start(":0", e->buf, NULL, &err);
    assert_non_null(e->r);
    call c = mkcall(e, e->fixture, e->fixture_len);
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    spanbuf_stats st;
    spanbuf_get_stats(e->buf, &st);
    assert_true(st.spans_rejected > 0);
    /* ExportTraceServiceResponse{partial_success{rejected_spans, error_message}} */
    assert_true(c.resp_len > 5);
    assert_int_equal(c.resp[4], c.resp_len - 5);
    assert_int_equal(c.resp[5], 0x0a);
    assert_int_equal(c.resp[7], 0x08);
    assert_int_equal(c.resp[8], st.spans_rejected);
    assert_non_null(memmem(c.resp, c.resp_len, "span buffer full", 16));
    env_free(e);
}

static void test_gzip(void **state)
{
    env *e = env_new(NULL);
    size_t zl, fl;
    uint8_t *z = gzip(e->fixture + 5, e->fixture_len - 5, &zl);
    uint8_t *f = frame(1, z, zl, &fl);
    call c = mkcall(e, f, fl);
    c.encoding = "gzip";
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    assert_int_equal(spans_of(e->buf, 0x11), 2);
    /* compressed flag without grpc-encoding */
    c.encoding = NULL;
    do_call(&c);
    assert_int_equal(c.grpc_status, 13);
    /* an encoding the receiver does not know */
    c.encoding = "snappy";
    do_call(&c);
    assert_int_equal(c.grpc_status, 12);
    assert_non_null(strstr(c.grpc_message, "snappy"));
    free(z);
    free(f);
    env_free(e);
}

static void test_truncated_protobuf(void **state)
{
    env *e = env_new(NULL);
    size_t fl;
    uint8_t *f = frame(0, e->fixture + 5, (e->fixture_len - 5) / 2, &fl);
    call c = mkcall(e, f, fl);
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, 3);
    assert_true(strlen(c.grpc_message) > 0);
    assert_int_equal(spans_of(e->buf, 0x11), 0);
    /* a length prefix longer than the body */
    c.body = e->fixture;
    c.body_len = e->fixture_len - 10;
    do_call(&c);
    assert_int_equal(c.grpc_status, 3);
    assert_non_null(strstr(c.grpc_message, "truncated"));
    /* no message at all */
    c.body_len = 0;
    do_call(&c);
    assert_int_equal(c.grpc_status, 3);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.calls_failed, 3);
    free(f);
    env_free(e);
}

static void test_over_limit(void **state)
{
    recv_grpc_opts o = {.max_message = 1000};
    env *e = env_new(&o);
    call c = mkcall(e, e->fixture, e->fixture_len); /* 1370-byte message */
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.grpc_status, 8);
    /* small on the wire, past the limit once inflated */
    size_t zl, fl;
    uint8_t *z = gzip(e->fixture + 5, e->fixture_len - 5, &zl);
    assert_true(zl < 1000);
    uint8_t *f = frame(1, z, zl, &fl);
    c.body = f;
    c.body_len = fl;
    c.encoding = "gzip";
    do_call(&c);
    assert_int_equal(c.grpc_status, 8);
    assert_int_equal(spans_of(e->buf, 0x11), 0);
    free(z);
    free(f);
    env_free(e);
}

static void test_big_message_over_default_limit(void **state)
{
    env *e = env_new(NULL);
    size_t pl, fl;
    uint8_t *p = big_request((size_t)5 << 20, &pl);
    uint8_t *f = frame(0, p, pl, &fl);
    call c = mkcall(e, f, fl);
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.grpc_status, 8);
    /* the receiver still serves */
    c.body = e->fixture;
    c.body_len = e->fixture_len;
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    free(p);
    free(f);
    env_free(e);
}

static void test_unknown_method(void **state)
{
    env *e = env_new(NULL);
    call c = mkcall(e, e->fixture, e->fixture_len);
    c.path = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.http_status, 200);
    assert_int_equal(c.grpc_status, 12);
    assert_non_null(strstr(c.grpc_message, "MetricsService"));
    c.path = NULL;
    c.ctype = "application/json";
    do_call(&c);
    assert_int_equal(c.http_status, 415);
    assert_int_equal(spans_of(e->buf, 0x11), 0);
    env_free(e);
}

/* With a token: a call without it, or with another, is UNAUTHENTICATED
 * and stores nothing; with it, the call goes through. */
static void test_token(void **state)
{
    recv_grpc_opts o = {.token = "s3cret-token"};
    env *e = env_new(&o);
    call c = mkcall(e, e->fixture, e->fixture_len);
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.grpc_status, 16);
    assert_non_null(strstr(c.grpc_message, "Bearer"));
    c.auth = "Bearer s3cret-tokem";
    do_call(&c);
    assert_int_equal(c.grpc_status, 16);
    c.auth = "Bearer s3cret-token-and-more";
    do_call(&c);
    assert_int_equal(c.grpc_status, 16);
    c.auth = "Basic s3cret-token";
    do_call(&c);
    assert_int_equal(c.grpc_status, 16);
    assert_int_equal(spans_of(e->buf, 0x11), 0);
    c.auth = "Bearer s3cret-token";
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    assert_int_equal(spans_of(e->buf, 0x11), 2);
    env_free(e);
}

static void test_slow_call_deadline(void **state)
{
    recv_grpc_opts o = {.request_timeout_ms = 200};
    env *e = env_new(&o);
    call c = mkcall(e, e->fixture, e->fixture_len);
    c.stall = true;
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.grpc_status, 4);
    env_free(e);
}

/* Reads until the peer closes; 1 when it did within ms. */
static int closed_within(int fd, int ms)
{
    uint8_t b[4096];
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, ms) <= 0)
            return 0;
        ssize_t n = recv(fd, b, sizeof b, 0);
        if (n <= 0)
            return 1;
    }
}

static void test_garbage_preface(void **state)
{
    env *e = env_new(NULL);
    int fd = connect_to(recv_grpc_port(e->r));
    assert_true(fd >= 0);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write_all(fd, (const uint8_t *)junk, sizeof junk - 1), 0);
    assert_int_equal(closed_within(fd, 5000), 1);
    close(fd);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.conns_dropped, 1);
    call c = mkcall(e, e->fixture, e->fixture_len);
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    env_free(e);
}

static void test_idle_timeout(void **state)
{
    recv_grpc_opts o = {.idle_timeout_ms = 200};
    env *e = env_new(&o);
    int fd = connect_to(recv_grpc_port(e->r));
    assert_true(fd >= 0);
    assert_int_equal(closed_within(fd, 5000), 1);
    close(fd);
    env_free(e);
}

/* ---- under load and attack ---- */

static uint64_t ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Polls the receiver's counters until cond holds (bounded: 5 s). */
#define WAIT_STATS(e, st, cond)                                                                              \
    do {                                                                                                     \
        uint64_t until_ = ms_now() + 5000;                                                                   \
        for (;;) {                                                                                           \
            recv_grpc_get_stats((e)->r, &(st));                                                              \
            if ((cond) || ms_now() > until_)                                                                 \
                break;                                                                                       \
            struct timespec ts_ = {0, 2 * 1000 * 1000};                                                      \
            nanosleep(&ts_, NULL);                                                                           \
        }                                                                                                    \
        assert_true(cond);                                                                                   \
    } while (0)

/* A connection that says nothing, once the receiver has accepted it. */
static int silent_conn(env *e)
{
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    uint64_t before = st.conns_accepted;
    int fd = connect_to(recv_grpc_port(e->r));
    assert_true(fd >= 0);
    WAIT_STATS(e, st, st.conns_accepted == before + 1);
    return fd;
}

/* A connection with a call in progress (headers sent, body stalled) that
 * the receiver has seen. */
static client *busy_conn(env *e, call *c)
{
    client *k = client_open(recv_grpc_port(e->r));
    *c = mkcall(e, e->fixture, e->fixture_len);
    c->stall = true;
    call_submit(k->s, c);
    assert_int_equal(client_sync(k), 0);
    return k;
}

/* Still served: a PING is answered. */
static bool alive(client *k)
{
    return client_sync(k) == 0;
}

static size_t put_frame(uint8_t *p, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)(sid >> 24);
    p[6] = (uint8_t)(sid >> 16);
    p[7] = (uint8_t)(sid >> 8);
    p[8] = (uint8_t)sid;
    return 9;
}

/* An Export call's request headers, HPACK without the dynamic table (the
 * same block serves any stream). */
static size_t header_block(uint8_t *out, size_t cap)
{
    nghttp2_hd_deflater *d;
    assert_int_equal(nghttp2_hd_deflate_new(&d, 0), 0);
    nghttp2_nv nva[] = {
#define HV(k, v) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}
        HV(":method", "POST"),
        HV(":scheme", "http"),
        HV(":authority", "127.0.0.1"),
        HV(":path", EXPORT),
        HV("content-type", "application/grpc"),
#undef HV
    };
    ssize_t n = nghttp2_hd_deflate_hd(d, out, cap, nva, sizeof nva / sizeof nva[0]);
    nghttp2_hd_deflate_del(d);
    assert_true(n > 0);
    return (size_t)n;
}

/* A raw HTTP/2 client: the preface, an empty SETTINGS and the ACK of the
 * server's SETTINGS (sent at accept). */
static int raw_conn(env *e)
{
    int fd = connect_to(recv_grpc_port(e->r));
    assert_true(fd >= 0);
    uint8_t b[64];
    memcpy(b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    size_t n = 24;
    n += put_frame(b + n, 0, NGHTTP2_SETTINGS, 0, 0);
    n += put_frame(b + n, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0);
    assert_int_equal(write_all(fd, b, n), 0);
    return fd;
}

/* Sends `count` copies of one frame as fast as the socket takes them
 * (without reading); stops early when the server has closed. */
static void send_repeated(int fd, const uint8_t *f, size_t len, int count)
{
    for (int i = 0; i < count; i++)
        if (write_all(fd, f, len) != 0)
            return;
}

static void test_shed_per_addr(void **state)
{
    recv_grpc_opts o = {.max_conns_per_addr = 3};
    env *e = env_new(&o);
    int s1 = silent_conn(e), s2 = silent_conn(e);
    call c;
    client *busy = busy_conn(e, &c);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.conns_open, 3);
    /* over the cap: the silent ones go first, oldest first; never the call */
    int n1 = silent_conn(e);
    assert_int_equal(closed_within(s1, 2000), 1);
    int n2 = silent_conn(e);
    assert_int_equal(closed_within(s2, 2000), 1);
    int n3 = silent_conn(e);
    assert_int_equal(closed_within(n1, 2000), 1);
    assert_true(alive(busy));
    assert_int_equal(c.ok, 0); /* the call is still open */
    WAIT_STATS(e, st, st.conns_shed == 3 && st.conns_open == 3);
    assert_int_equal(st.conns_refused, 0);
    /* a good call still gets in (and sheds the oldest idle, n2) */
    call g = mkcall(e, e->fixture, e->fixture_len);
    do_call(&g);
    assert_int_equal(g.grpc_status, 0);
    assert_int_equal(closed_within(n2, 2000), 1);
    assert_true(alive(busy));
    close(s1), close(s2), close(n1), close(n2), close(n3);
    client_close(busy);
    env_free(e);
}

static void test_shed_total_cap(void **state)
{
    recv_grpc_opts o = {.max_conns = 2};
    env *e = env_new(&o);
    call c;
    client *busy = busy_conn(e, &c);
    int a = silent_conn(e);
    int b = silent_conn(e); /* sheds a, the idle one, though busy is older */
    assert_int_equal(closed_within(a, 2000), 1);
    assert_true(alive(busy));
    call g = mkcall(e, e->fixture, e->fixture_len);
    do_call(&g); /* sheds b */
    assert_int_equal(g.grpc_status, 0);
    assert_int_equal(closed_within(b, 2000), 1);
    assert_true(alive(busy));
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_shed == 2);
    assert_int_equal(st.conns_refused, 0);
    assert_int_equal(st.conns_cap, 2);
    /* only busy connections left: the one without progress the longest goes */
    client *busy2 = busy_conn(e, &c);
    call c3;
    client *busy3 = busy_conn(e, &c3);
    assert_false(alive(busy));
    assert_true(alive(busy2));
    assert_true(alive(busy3));
    close(a), close(b);
    client_close(busy), client_close(busy2), client_close(busy3);
    env_free(e);
}

static void test_cap_follows_fd_limit(void **state)
{
    struct rlimit saved, rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rl = saved;
    rl.rlim_cur = RECV_GRPC_FD_RESERVE + 2 * 8; /* room for 8 connections */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    env *e = env_new(NULL);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.conns_cap, 8);
    int fds[10];
    for (int i = 0; i < 10; i++)
        fds[i] = silent_conn(e);
    WAIT_STATS(e, st, st.conns_open == 8 && st.conns_shed == 2);
    assert_int_equal(closed_within(fds[0], 2000), 1);
    assert_int_equal(closed_within(fds[1], 2000), 1);
    for (int i = 0; i < 10; i++)
        close(fds[i]);
    env_free(e);
    /* a smaller max_conns stays */
    recv_grpc_opts o = {.max_conns = 5};
    e = env_new(&o);
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.conns_cap, 5);
    env_free(e);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void test_header_deadline(void **state)
{
    recv_grpc_opts o = {.header_timeout_ms = 200};
    env *e = env_new(&o);
    uint64_t t0 = ms_now();
    int silent = silent_conn(e);
    int half = connect_to(recv_grpc_port(e->r)); /* the preface, no SETTINGS */
    assert_int_equal(write_all(half, (const uint8_t *)"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24), 0);
    int good = raw_conn(e);
    assert_int_equal(closed_within(silent, 3000), 1);
    assert_true(ms_now() - t0 >= 150); /* the deadline, not at once */
    assert_int_equal(closed_within(half, 3000), 1);
    assert_int_equal(closed_within(good, 600), 0); /* a clean start stays */
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_dropped == 2);
    assert_int_equal(st.conns_open, 1);
    close(silent), close(half), close(good);
    env_free(e);
}

static void test_body_deadline(void **state)
{
    recv_grpc_opts o = {.body_timeout_ms = 400};
    env *e = env_new(&o);
    /* a call whose body stops: DEADLINE_EXCEEDED, and its connection
       (nothing else on it) is closed */
    call c;
    client *k = busy_conn(e, &c);
    uint64_t t0 = ms_now();
    while (!c.ok && pump(k->fd, k->s, 3000) == 0)
        ;
    assert_int_equal(c.grpc_status, 4);
    assert_non_null(strstr(c.grpc_message, "no request data"));
    assert_true(ms_now() - t0 >= 350);
    assert_int_equal(closed_within(k->fd, 3000), 1);
    client_close(k);
    /* a body that keeps coming, a piece every 100 ms for 700 ms, is fine
       (longer in all than the deadline for a pause) */
    k = client_open(recv_grpc_port(e->r));
    call d = mkcall(e, e->fixture, e->fixture_len);
    d.drip = true;
    call_submit(k->s, &d);
    size_t step = e->fixture_len / 7 + 1;
    uint64_t next = ms_now();
    while (!d.ok) {
        if (ms_now() >= next && d.allowed < d.body_len) {
            d.allowed = d.allowed + step < d.body_len ? d.allowed + step : d.body_len;
            nghttp2_session_resume_data(k->s, d.id);
            next += 100;
        }
        if (pump(k->fd, k->s, 100) < 0 || ms_now() > t0 + 10000)
            break;
    }
    assert_int_equal(d.grpc_status, 0);
    assert_int_equal(spans_of(e->buf, 0x11), 2);
    client_close(k);
    env_free(e);
}

static void test_ping_is_not_progress(void **state)
{
    recv_grpc_opts o = {.idle_timeout_ms = 300};
    env *e = env_new(&o);
    int fd = raw_conn(e);
    uint8_t ping[17];
    put_frame(ping, 8, NGHTTP2_PING, 0, 0);
    memset(ping + 9, 7, 8);
    uint64_t t0 = ms_now();
    bool closed = false;
    while (!closed && ms_now() - t0 < 3000) {
        if (write_all(fd, ping, sizeof ping) != 0)
            break;
        closed = closed_within(fd, 100);
    }
    assert_true(closed || closed_within(fd, 1000));
    assert_true(ms_now() - t0 >= 250);
    close(fd);
    env_free(e);
}

static void test_settings_and_ping_floods(void **state)
{
    env *e = env_new(NULL);
    uint8_t settings[15];
    put_frame(settings, 6, NGHTTP2_SETTINGS, 0, 0);
    memcpy(settings + 9, "\0\2\0\0\0\0", 6); /* ENABLE_PUSH = 0 */
    int a = raw_conn(e);
    send_repeated(a, settings, sizeof settings, 5000);
    assert_int_equal(closed_within(a, 5000), 1);
    uint8_t ping[17];
    put_frame(ping, 8, NGHTTP2_PING, 0, 0);
    memset(ping + 9, 1, 8);
    int b = raw_conn(e);
    send_repeated(b, ping, sizeof ping, 5000);
    assert_int_equal(closed_within(b, 5000), 1);
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_flooded == 2);
    /* the others were not harmed */
    call c = mkcall(e, e->fixture, e->fixture_len);
    do_call(&c);
    assert_int_equal(c.grpc_status, 0);
    close(a), close(b);
    env_free(e);
}

static void test_reset_flood(void **state)
{
    env *e = env_new(NULL);
    int fd = raw_conn(e);
    uint8_t hb[256], f[512];
    size_t hl = header_block(hb, sizeof hb);
    bool broke = false;
    for (uint32_t i = 0; i < 3000 && !broke; i++) {
        uint32_t sid = 1 + 2 * i;
        size_t n = put_frame(f, hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, sid);
        memcpy(f + n, hb, hl);
        n += hl;
        n += put_frame(f + n, 4, NGHTTP2_RST_STREAM, 0, sid);
        memcpy(f + n, "\0\0\0\x08", 4); /* CANCEL */
        n += 4;
        broke = write_all(fd, f, n) != 0;
    }
    assert_int_equal(closed_within(fd, 5000), 1);
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_flooded + st.conns_dropped == 1 && st.conns_open == 0);
    close(fd);
    env_free(e);
}

static void test_continuation_flood(void **state)
{
    env *e = env_new(NULL);
    int fd = raw_conn(e);
    uint8_t hb[256], f[512];
    size_t hl = header_block(hb, sizeof hb);
    size_t n = put_frame(f, hl, NGHTTP2_HEADERS, 0, 1); /* no END_HEADERS */
    memcpy(f + n, hb, hl);
    assert_int_equal(write_all(fd, f, n + hl), 0);
    /* then empty CONTINUATION frames, never the last one */
    uint8_t cont[9];
    put_frame(cont, 0, NGHTTP2_CONTINUATION, 0, 1);
    send_repeated(fd, cont, sizeof cont, 100);
    assert_int_equal(closed_within(fd, 5000), 1);
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_flooded == 1);
    close(fd);
    env_free(e);
}

static void test_stream_limit(void **state)
{
    recv_grpc_opts o = {.max_streams = 10};
    env *e = env_new(&o);
    int fd = raw_conn(e);
    uint8_t hb[256], f[512];
    size_t hl = header_block(hb, sizeof hb);
    uint8_t ping[17];
    put_frame(ping, 8, NGHTTP2_PING, 0, 0);
    memset(ping + 9, 3, 8);
    for (uint32_t i = 0; i < 10; i++) { /* up to the limit: fine */
        size_t n = put_frame(f, hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1 + 2 * i);
        memcpy(f + n, hb, hl);
        assert_int_equal(write_all(fd, f, n + hl), 0);
    }
    assert_int_equal(write_all(fd, ping, sizeof ping), 0);
    assert_int_equal(closed_within(fd, 300), 0);
    size_t n = put_frame(f, hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 21); /* one more */
    memcpy(f + n, hb, hl);
    assert_int_equal(write_all(fd, f, n + hl), 0);
    assert_int_equal(closed_within(fd, 5000), 1);
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_dropped == 1 && st.conns_open == 0);
    close(fd);
    env_free(e);
}

#define PIPELINED 60
#define IN_FLIGHT 20

/* PIPELINED calls on one connection, IN_FLIGHT at a time; all must pass. */
static void run_pipelined(env *e)
{
    client *k = client_open(recv_grpc_port(e->r));
    static call cs[PIPELINED];
    int submitted = 0, done = 0;
    while (done < PIPELINED) {
        while (submitted < PIPELINED && submitted - done < IN_FLIGHT) {
            cs[submitted] = mkcall(e, e->fixture, e->fixture_len);
            call_submit(k->s, &cs[submitted++]);
        }
        assert_int_equal(pump(k->fd, k->s, IO_TIMEOUT_MS), 0);
        done = 0;
        for (int i = 0; i < submitted; i++)
            done += cs[i].ok;
    }
    for (int i = 0; i < PIPELINED; i++)
        assert_int_equal(cs[i].grpc_status, 0);
    client_close(k);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.calls_ok, PIPELINED);
    assert_int_equal(st.spans_received, 2 * PIPELINED);
}

static void test_pipelined_small_window(void **state)
{
    /* 60 calls of 1375 bytes through a 64 KiB connection window: the
       window must be given back as calls are decoded */
    recv_grpc_opts o = {.max_message = 16384, .max_conn_bytes = 65535, .decode_threads = 2};
    env *e = env_new(&o);
    run_pipelined(e);
    env_free(e);
}

static void test_back_pressure(void **state)
{
    /* every queued byte is over the bound: reading stops until the
       decoder is done, then resumes */
    recv_grpc_opts o = {.max_queued = 1, .decode_threads = 1};
    env *e = env_new(&o);
    run_pipelined(e);
    env_free(e);
}

/* An ExportTraceServiceRequest of n small spans of trace 0x44.. (slow
 * enough to decode that a client can give up meanwhile). */
static uint8_t *many_spans_request(uint32_t n, size_t *len)
{
    tc_buf spans, rs, req;
    buf_init(&spans, 0), buf_init(&rs, 0), buf_init(&req, 0);
    uint8_t tid[16], sid[8];
    memset(tid, 0x44, sizeof tid);
    for (uint32_t i = 0; i < n; i++) {
        tc_buf sp;
        buf_init(&sp, 0);
        memset(sid, 0, sizeof sid);
        sid[4] = (uint8_t)(i >> 24), sid[5] = (uint8_t)(i >> 16), sid[6] = (uint8_t)(i >> 8),
        sid[7] = (uint8_t)i;
        sid[0] = 1;
        pb_ld(&sp, 0x0a, tid, 16);
        pb_ld(&sp, 0x12, sid, 8);
        pb_ld(&sp, 0x2a, "span", 4);
        pb_ld(&spans, 0x12, sp.ptr, sp.len);
        buf_free(&sp);
    }
    pb_ld(&rs, 0x12, spans.ptr, spans.len); /* scope_spans { spans... } */
    pb_ld(&req, 0x0a, rs.ptr, rs.len);
    *len = req.len;
    uint8_t *out = (uint8_t *)buf_detach(&req);
    buf_free(&spans), buf_free(&rs);
    return out;
}

static void test_cancel_while_decoding(void **state)
{
    recv_grpc_opts o = {.decode_threads = 1};
    env *e = env_new(&o);
    size_t pl, fl;
    uint8_t *p = many_spans_request(20000, &pl);
    uint8_t *f = frame(0, p, pl, &fl);
    for (int round = 0; round < 4; round++) {
        client *k = client_open(recv_grpc_port(e->r));
        call c = mkcall(e, f, fl);
        call_submit(k->s, &c);
        uint64_t until = ms_now() + IO_TIMEOUT_MS;
        while (c.sent < c.body_len && ms_now() < until && pump(k->fd, k->s, 20) >= 0)
            ;
        assert_int_equal(c.sent, c.body_len);
        if (round % 2 == 0) { /* the client cancels the call and stays */
            nghttp2_submit_rst_stream(k->s, NGHTTP2_FLAG_NONE, c.id, NGHTTP2_CANCEL);
            assert_int_equal(client_sync(k), 0);
        } /* else it just goes away */
        client_close(k);
    }
    recv_grpc_stats st;
    WAIT_STATS(e, st, st.conns_open == 0);
    call g = mkcall(e, e->fixture, e->fixture_len);
    do_call(&g);
    assert_int_equal(g.grpc_status, 0);
    free(p);
    free(f);
    env_free(e);
}

#define NCLIENTS 50

typedef struct worker {
    call c;
    uint8_t *body;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    do_call(&w->c);
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    env *e = env_new(NULL);
    static worker w[NCLIENTS];
    pthread_t th[NCLIENTS];
    uint8_t tid[16];
    memset(tid, 0x11, sizeof tid);
    for (int i = 0; i < NCLIENTS; i++) {
        /* each client its own trace id: 0x80 + i in every id byte */
        w[i].body = malloc(e->fixture_len);
        memcpy(w[i].body, e->fixture, e->fixture_len);
        int replaced = 0;
        for (size_t k = 0; k + 16 <= e->fixture_len; k++) {
            if (memcmp(w[i].body + k, tid, 16) == 0) {
                memset(w[i].body + k, 0x80 + i, 16);
                replaced++;
            }
        }
        assert_true(replaced > 0);
        w[i].c = mkcall(e, w[i].body, e->fixture_len);
        assert_int_equal(pthread_create(&th[i], NULL, run_worker, &w[i]), 0);
    }
    for (int i = 0; i < NCLIENTS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_int_equal(w[i].c.grpc_status, 0);
        assert_int_equal(spans_of(e->buf, (uint8_t)(0x80 + i)), 2);
        free(w[i].body);
    }
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.calls_ok, NCLIENTS);
    env_free(e);
}

static void test_4mib_message(void **state)
{
    env *e = env_new(NULL);
    size_t pl, fl;
    uint8_t *p = big_request(RECV_GRPC_DEFAULT_MAX_MESSAGE - 64, &pl);
    assert_true(pl <= RECV_GRPC_DEFAULT_MAX_MESSAGE && pl > RECV_GRPC_DEFAULT_MAX_MESSAGE - 200);
    uint8_t *f = frame(0, p, pl, &fl);
    call c = mkcall(e, f, fl);
    do_call(&c);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.grpc_status, 0);
    assert_int_equal(spans_of(e->buf, 0x42), 1);
    free(p);
    free(f);
    env_free(e);
}

static void test_bind_failure(void **state)
{
    env *e = env_new(NULL);
    char addr[64], want[128];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", recv_grpc_port(e->r));
    tc_error err = {0};
    recv_grpc *r2 = recv_grpc_start(addr, e->buf, NULL, &err);
    assert_null(r2);
    snprintf(want, sizeof want, "cannot listen on %s: ", addr);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, strerror(EADDRINUSE)));
    assert_null(recv_grpc_start("nocolon", e->buf, NULL, &err));
    assert_null(recv_grpc_start("127.0.0.1:99999", e->buf, NULL, &err));
    recv_grpc_stop(&r2); /* NULL is fine */
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_into_spanbuf),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_truncated_protobuf),
        cmocka_unit_test(test_over_limit),
        cmocka_unit_test(test_big_message_over_default_limit),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_slow_call_deadline),
        cmocka_unit_test(test_garbage_preface),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_shed_per_addr),
        cmocka_unit_test(test_shed_total_cap),
        cmocka_unit_test(test_cap_follows_fd_limit),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_body_deadline),
        cmocka_unit_test(test_ping_is_not_progress),
        cmocka_unit_test(test_settings_and_ping_floods),
        cmocka_unit_test(test_reset_flood),
        cmocka_unit_test(test_continuation_flood),
        cmocka_unit_test(test_stream_limit),
        cmocka_unit_test(test_pipelined_small_window),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_cancel_while_decoding),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_4mib_message),
        cmocka_unit_test(test_bind_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
