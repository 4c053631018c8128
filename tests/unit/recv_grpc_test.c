/* recv_grpc_test.c - the OTLP/gRPC receiver against a small nghttp2 client:
 * a real SDK message into the span buffer, gzip, gRPC statuses for bad
 * protobuf, oversized messages, unknown methods and encodings, slow calls,
 * garbage instead of the HTTP/2 preface, idle connections, 50 concurrent
 * clients, a 4 MiB message (flow control), and bind failures. */
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
    const uint8_t *body;
    size_t body_len;
    bool stall; /* send headers, then never finish the body */
    /* out */
    int ok;           /* 1 when the call completed (stream closed) */
    int http_status;
    int grpc_status;  /* -1 when absent */
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
    call *c = user;
    if (c->stall)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = c->body_len - c->sent;
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
    call *c = user;
    if (f->hd.stream_id != c->id)
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
    call *c = user;
    if (id == c->id && c->resp_len + len <= sizeof c->resp) {
        memcpy(c->resp + c->resp_len, data, len);
        c->resp_len += len;
    }
    return 0;
}

static int cl_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    call *c = user;
    if (id == c->id)
        c->ok = 1;
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

/* Runs one unary call to completion (or failure within IO_TIMEOUT_MS).
 * Safe to run from many threads at once. */
static void do_call(call *c)
{
    c->ok = 0;
    c->grpc_status = -1;
    c->http_status = 0;
    c->resp_len = 0;
    c->sent = 0;
    c->grpc_message[0] = 0;
    int fd = connect_to(c->port);
    if (fd < 0)
        return;
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cl_close);
    nghttp2_session *s;
    nghttp2_session_client_new(&s, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    const char *path = c->path ? c->path : EXPORT;
    const char *ct = c->ctype ? c->ctype : "application/grpc";
    nghttp2_nv nva[6];
    size_t n = 0;
#define H(k, v) nva[n++] = (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), 0}
    H(":method", "POST");
    H(":scheme", "http");
    H(":authority", "127.0.0.1");
    H(":path", path);
    H("content-type", ct);
    if (c->encoding)
        H("grpc-encoding", c->encoding);
#undef H
    nghttp2_data_provider dp = {.read_callback = body_read};
    c->id = nghttp2_submit_request(s, NULL, nva, n, &dp, NULL);
    while (!c->ok) {
        const uint8_t *p;
        ssize_t k;
        while ((k = nghttp2_session_mem_send(s, &p)) > 0)
            if (write_all(fd, p, (size_t)k) != 0)
                goto out;
        if (k < 0)
            goto out;
        if (c->ok)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
            goto out;
        uint8_t buf[16384];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            goto out;
        if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0)
            goto out;
    }
out:
    nghttp2_session_del(s);
    close(fd);
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

static void test_connection_cap(void **state)
{
    recv_grpc_opts o = {.max_conns = 2};
    env *e = env_new(&o);
    int a = connect_to(recv_grpc_port(e->r)), b = connect_to(recv_grpc_port(e->r));
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int x = connect_to(recv_grpc_port(e->r));
    assert_true(a >= 0 && b >= 0 && x >= 0);
    assert_int_equal(closed_within(x, 5000), 1);
    recv_grpc_stats st;
    recv_grpc_get_stats(e->r, &st);
    assert_int_equal(st.conns_refused, 1);
    close(x);
    close(a);
    close(b);
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
        cmocka_unit_test(test_slow_call_deadline),
        cmocka_unit_test(test_garbage_preface),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_4mib_message),
        cmocka_unit_test(test_bind_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
