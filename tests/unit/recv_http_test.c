/* recv_http_test.c - the OTLP/HTTP receiver on an ephemeral 127.0.0.1
 * port: protobuf, JSON and gzip bodies land in the span store; malformed
 * bodies get 400 with a google.rpc.Status; wrong content type 415; wrong
 * path 404; wrong method 405; over the limit 413 (plain and a gzip bomb);
 * partial success when the store is full; 200 concurrent exporters all
 * answered; a silent client does not block the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "receiver/otlp_http.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct reply {
    long status;
    char type[128];
    tc_buf body;
} reply;

static size_t on_body(char *p, size_t s, size_t n, void *u)
{
    buf_append(&((reply *)u)->body, p, s * n);
    return s * n;
}

static size_t on_header(char *p, size_t s, size_t n, void *u)
{
    reply *r = u;
    if (s * n > 14 && strncasecmp(p, "content-type:", 13) == 0) {
        snprintf(r->type, sizeof r->type, "%.*s", (int)(s * n - 14), p + 14);
        r->type[strcspn(r->type, "\r\n")] = '\0';
    }
    return s * n;
}

static const char *auth_header; /* an Authorization value post() sends, or NULL */

static void post(int port, const char *method, const char *path, const char *type, const char *encoding,
                 const void *body, size_t len, reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = NULL;
    char line[160];
    if (type) {
        snprintf(line, sizeof line, "Content-Type: %s", type);
        h = curl_slist_append(h, line);
    }
    if (encoding) {
        snprintf(line, sizeof line, "Content-Encoding: %s", encoding);
        h = curl_slist_append(h, line);
    }
    if (auth_header) {
        snprintf(line, sizeof line, "Authorization: %s", auth_header);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static char *fixture(const char *name, size_t *len)
{
    char path[512];
    const char *dir = getenv("TC_DATA");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

typedef struct env {
    spanbuf *buf;
    recv_http *r;
    int port;
} env;

static void env_start(env *e, size_t max_bytes, const recv_http_opts *o)
{
    e->buf = spanbuf_new(max_bytes);
    tc_error err;
    e->r = recv_http_start("127.0.0.1:0", e->buf, o, &err);
    assert_non_null(e->r);
    e->port = recv_http_port(e->r);
    assert_true(e->port > 0);
}

static void env_stop(env *e)
{
    recv_http_stop(&e->r);
    assert_null(e->r);
    spanbuf_free(&e->buf);
}

static long spans_of(env *e, const char *trace_hex)
{
    uint8_t id[16];
    hex_decode(trace_hex, 32, id, 16);
    trace_set *ts = trace_set_new(0);
    long n = spanbuf_snapshot(e->buf, id, ts);
    trace_set_free(&ts);
    return n;
}

/* With a token: 401 (UNAUTHENTICATED in the body) without it or with
 * another, nothing stored; with it, 200. */
static void test_token(void **state)
{
    (void)state;
    env e;
    recv_http_opts o = {.token = "s3cret-token"};
    env_start(&e, 0, &o);
    size_t len;
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    const char *wrong[] = {NULL, "Bearer s3cret-tokem", "Bearer s3cret-token2", "Bearer ", "Basic s3cret-token"};
    reply r;
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        auth_header = wrong[i];
        post(e.port, "POST", "/v1/traces", "application/json", NULL, js, len, &r);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(buf_str(&r.body), "\"code\":16"));
        buf_free(&r.body);
    }
    assert_int_equal(spans_of(&e, "4bf92f3577b34da6a3ce929d0e0e4736"), 0);
    auth_header = "bearer s3cret-token"; /* the scheme is case-insensitive */
    post(e.port, "POST", "/v1/traces", "application/json", NULL, js, len, &r);
    auth_header = NULL;
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "4bf92f3577b34da6a3ce929d0e0e4736"), 2);
    free(js);
    env_stop(&e);
}

static void test_protobuf_json_gzip(void **state)
{
    (void)state;
    env e;
    env_start(&e, 0, NULL);
    size_t len;
    char *pb = fixture("otlp/node-sdk-hello.pb", &len);
    reply r;
    post(e.port, "POST", "/v1/traces", "application/x-protobuf", NULL, pb, len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "application/x-protobuf");
    assert_int_equal(r.body.len, 0); /* an empty ExportTraceServiceResponse */
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "0af7651916cd43dd8448eb211c80319c"), 2);
    free(pb);

    char *js = fixture("otlp/node-sdk-hello.json", &len);
    post(e.port, "POST", "/v1/traces", "application/json; charset=utf-8", NULL, js, len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(buf_str(&r.body), "{}");
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "4bf92f3577b34da6a3ce929d0e0e4736"), 2);

    /* the same JSON gzip-compressed, under another trace id */
    char *other = strdup(js);
    char *at;
    while ((at = strstr(other, "4bf92f3577b34da6a3ce929d0e0e4736")))
        memcpy(at, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32);
    uLongf zlen = compressBound(len) + 32;
    uint8_t *z = malloc(zlen);
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)other;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)zlen;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    zlen = zs.total_out;
    deflateEnd(&zs);
    post(e.port, "POST", "/v1/traces", "application/json", "gzip", z, zlen, &r);
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 2);
    free(z);
    free(other);
    free(js);
    recv_http_stats st;
    recv_http_get_stats(e.r, &st);
    assert_int_equal(st.requests_ok, 3);
    assert_int_equal(st.spans_received, 6);
    env_stop(&e);
}

static void test_errors(void **state)
{
    (void)state;
    recv_http_opts o = {.max_body = 64 << 10};
    env e;
    env_start(&e, 0, &o);
    reply r;
    size_t len;
    char *pb = fixture("otlp/node-sdk-hello.pb", &len);
    /* truncated protobuf: 400 with a google.rpc.Status (field 1 = code 3) */
    post(e.port, "POST", "/v1/traces", "application/x-protobuf", NULL, pb, len / 2, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.type, "application/x-protobuf");
    assert_true(r.body.len > 2);
    assert_int_equal((unsigned char)r.body.ptr[0], 0x08);
    assert_int_equal((unsigned char)r.body.ptr[1], 3);
    buf_free(&r.body);
    /* malformed JSON: 400 with a JSON status */
    post(e.port, "POST", "/v1/traces", "application/json", NULL, "{\"resourceSpans\":[", 18, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(buf_str(&r.body), "\"code\":3"));
    buf_free(&r.body);
    post(e.port, "POST", "/v1/traces", "text/plain", NULL, "hello", 5, &r);
    assert_int_equal(r.status, 415);
    buf_free(&r.body);
    post(e.port, "POST", "/v1/metrics", "application/x-protobuf", NULL, pb, len, &r);
    assert_int_equal(r.status, 404);
    buf_free(&r.body);
    post(e.port, "PUT", "/v1/traces", "application/x-protobuf", NULL, pb, len, &r);
    assert_int_equal(r.status, 405);
    buf_free(&r.body);
    /* over the limit */
    size_t big = 200 << 10;
    char *zeros = calloc(1, big);
    post(e.port, "POST", "/v1/traces", "application/x-protobuf", NULL, zeros, big, &r);
    assert_int_equal(r.status, 413);
    buf_free(&r.body);
    /* a gzip bomb: 50 MB of zeros in about 50 KB */
    size_t bomb_in = 50u << 20;
    char *bomb_src = calloc(1, bomb_in);
    uLongf zlen = compressBound(bomb_in);
    uint8_t *z = malloc(zlen);
    z_stream zs = {0};
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)bomb_src;
    zs.avail_in = (uInt)bomb_in;
    zs.next_out = z;
    zs.avail_out = (uInt)zlen;
    deflate(&zs, Z_FINISH);
    zlen = zs.total_out;
    deflateEnd(&zs);
    assert_true(zlen < o.max_body);
    post(e.port, "POST", "/v1/traces", "application/x-protobuf", "gzip", z, zlen, &r);
    assert_true(r.status == 413 || r.status == 400);
    buf_free(&r.body);
    free(z);
    free(bomb_src);
    free(zeros);
    /* still serving */
    post(e.port, "POST", "/v1/traces", "application/x-protobuf", NULL, pb, len, &r);
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    free(pb);
    env_stop(&e);
}

static void test_partial_success(void **state)
{
    (void)state;
    env e;
    env_start(&e, 8 << 10, NULL); /* a store too small for the batch */
    size_t len;
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    uint8_t tid[16];
    hex_decode("4bf92f3577b34da6a3ce929d0e0e4736", 32, tid, 16);
    spanbuf_watch(e.buf, tid);
    reply r = {0};
    buf_init(&r.body, 0);
    for (int i = 0; i < 20 && !strstr(buf_str(&r.body), "rejectedSpans"); i++) {
        if (i)
            buf_free(&r.body);
        post(e.port, "POST", "/v1/traces", "application/json", NULL, js, len, &r);
        assert_int_equal(r.status, 200);
    }
    assert_non_null(strstr(buf_str(&r.body), "\"partialSuccess\":{\"rejectedSpans\""));
    buf_free(&r.body);
    free(js);
    env_stop(&e);
}

typedef struct worker {
    int port;
    int n;
    long status;
} worker;

static void *exporter(void *arg)
{
    worker *w = arg;
    char body[1024];
    int len = snprintf(body, sizeof body,
                       "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"%032x\","
                       "\"spanId\":\"00000000000000%02x\",\"name\":\"s\"}]}]}]}",
                       w->n + 1, (w->n % 250) + 1);
    reply r;
    post(w->port, "POST", "/v1/traces", "application/json", NULL, body, (size_t)len, &r);
    w->status = r.status;
    buf_free(&r.body);
    return NULL;
}

static void test_concurrent_exporters(void **state)
{
    (void)state;
    env e;
    env_start(&e, 0, NULL);
    enum { N = 200 };
    pthread_t th[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){e.port, i, 0};
        pthread_create(&th[i], NULL, exporter, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].status == 200;
    }
    assert_int_equal(ok, N);
    spanbuf_stats st;
    spanbuf_get_stats(e.buf, &st);
    assert_int_equal(st.spans_accepted, N);
    assert_int_equal(st.traces, N);
    env_stop(&e);
}

static void test_silent_client_does_not_block(void **state)
{
    (void)state;
    recv_http_opts o = {.body_timeout_ms = 1000};
    env e;
    env_start(&e, 0, &o);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char partial[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    assert_true(write(fd, partial, sizeof partial - 1) > 0);
    /* meanwhile another exporter is served */
    size_t len;
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    reply r;
    post(e.port, "POST", "/v1/traces", "application/json", NULL, js, len, &r);
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    free(js);
    /* and the silent one is dropped after the timeout */
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b[256];
    ssize_t got;
    while ((got = read(fd, b, sizeof b)) > 0) /* an error answer, if any, then the close */
        ;
    /* closed by the receiver (0 or a reset), not still open when our 5 s ran out */
    assert_false(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    close(fd);
    env_stop(&e);
}

/* a chunked upload: no Content-Length, the body streamed by a read callback */
typedef struct feed {
    const char *p;
    size_t len, off, step;
} feed;

static size_t on_read(char *dst, size_t s, size_t n, void *u)
{
    feed *f = u;
    size_t want = s * n < f->step ? s * n : f->step;
    if (want > f->len - f->off)
        want = f->len - f->off;
    memcpy(dst, f->p + f->off, want);
    f->off += want;
    return want;
}

static long post_chunked(int port, const char *type, const char *encoding, const void *body, size_t len,
                         reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    CURL *c = curl_easy_init();
    char url[128], line[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", port);
    struct curl_slist *h = NULL;
    snprintf(line, sizeof line, "Content-Type: %s", type);
    h = curl_slist_append(h, line);
    if (encoding) {
        snprintf(line, sizeof line, "Content-Encoding: %s", encoding);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    h = curl_slist_append(h, "Expect:");
    feed f = {body, len, 0, 100}; /* 100-byte chunks */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &f);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status;
}

static uint8_t *gzip_of(const void *p, size_t len, size_t *zlen)
{
    uLongf cap = compressBound(len) + 32;
    uint8_t *z = malloc(cap);
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)p;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *zlen = zs.total_out;
    deflateEnd(&zs);
    return z;
}

static void test_chunked(void **state)
{
    (void)state;
    recv_http_opts o = {.max_body = 64 << 10};
    env e;
    env_start(&e, 0, &o);
    size_t len, zlen, pb_len;
    char *pb = fixture("otlp/node-sdk-hello.pb", &pb_len);
    reply r;
    assert_int_equal(post_chunked(e.port, "application/x-protobuf", NULL, pb, pb_len, &r), 200);
    assert_string_equal(r.type, "application/x-protobuf");
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "0af7651916cd43dd8448eb211c80319c"), 2);
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    uint8_t *z = gzip_of(js, len, &zlen);
    assert_int_equal(post_chunked(e.port, "application/json", "gzip", z, zlen, &r), 200);
    assert_string_equal(buf_str(&r.body), "{}");
    buf_free(&r.body);
    assert_int_equal(spans_of(&e, "4bf92f3577b34da6a3ce929d0e0e4736"), 2);
    /* chunked past the limit: 413 once the body ends, nothing kept */
    size_t big = 200 << 10;
    char *zeros = calloc(1, big);
    assert_int_equal(post_chunked(e.port, "application/x-protobuf", NULL, zeros, big, &r), 413);
    assert_non_null(strstr(r.type, "application/x-protobuf"));
    buf_free(&r.body);
    free(zeros);
    /* a chunked body far past the limit: the connection is closed */
    big = 4u << 20;
    zeros = calloc(1, big);
    assert_int_not_equal(post_chunked(e.port, "application/x-protobuf", NULL, zeros, big, &r), 200);
    buf_free(&r.body);
    free(zeros);
    /* still serving */
    assert_int_equal(post_chunked(e.port, "application/x-protobuf", NULL, pb, pb_len, &r), 200);
    buf_free(&r.body);
    free(z);
    free(js);
    free(pb);
    env_stop(&e);
}

/* A raw HTTP/1.1 exchange: sends `req`, reads until close or 5 s. */
static void raw(int port, const char *req, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, out + n, cap - 1 - n)) > 0) {
        n += (size_t)got;
        if (strstr(out, "\r\n\r\n"))
            break;
    }
    out[n] = '\0';
    close(fd);
}

static void log_cb(void *user, const char *msg)
{
    tc_buf *b = user;
    buf_puts(b, msg);
    buf_putc(b, '\n');
}

static void test_limits_and_log(void **state)
{
    (void)state;
    tc_buf log;
    buf_init(&log, 1 << 20);
    recv_http_opts o = {.max_body = 64 << 10, .max_compressed = 1024, .log = log_cb, .log_user = &log};
    env e;
    env_start(&e, 0, &o);
    char resp[4096];
    /* a declared length over the limit is refused before the body is read */
    raw(e.port,
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 104857600\r\n\r\n{",
        resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 413"));
    /* the compressed limit applies to gzip bodies as received */
    size_t len, zlen;
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    char *pad = malloc(len + 8192);
    memcpy(pad, js, len);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < 8192; i++) { /* random whitespace: valid JSON, compresses poorly */
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        pad[len + i] = " \t\r\n"[x & 3];
    }
    uint8_t *z = gzip_of(pad, len + 8192, &zlen);
    assert_true(zlen > 1024);
    reply r;
    post(e.port, "POST", "/v1/traces", "application/json", "gzip", z, zlen, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(buf_str(&r.body), "\"code\":8"));
    buf_free(&r.body);
    /* 405 says what is allowed */
    raw(e.port, "GET /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 405"));
    assert_non_null(strstr(resp, "Allow: POST"));
    /* errors are logged through the callback, with the reason */
    post(e.port, "POST", "/v1/traces", "application/json", NULL, "{\"resourceSpans\":[", 18, &r);
    assert_int_equal(r.status, 400);
    buf_free(&r.body);
    assert_non_null(strstr(buf_str(&log), "400"));
    assert_non_null(strstr(buf_str(&log), "malformed OTLP JSON"));
    free(z);
    free(pad);
    free(js);
    env_stop(&e);
    buf_free(&log);
}

static void test_partial_success_protobuf(void **state)
{
    (void)state;
    env e;
    env_start(&e, 4 << 10, NULL); /* a store too small for the batch */
    size_t len;
    char *pb = fixture("otlp/node-sdk-hello.pb", &len);
    uint8_t tid[16];
    hex_decode("0af7651916cd43dd8448eb211c80319c", 32, tid, 16);
    spanbuf_watch(e.buf, tid);
    reply r = {0};
    buf_init(&r.body, 0);
    for (int i = 0; i < 20 && r.body.len == 0; i++) {
        buf_free(&r.body);
        post(e.port, "POST", "/v1/traces", "application/x-protobuf", NULL, pb, len, &r);
        assert_int_equal(r.status, 200);
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *resp =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, r.body.len, (const uint8_t *)r.body.ptr);
    assert_non_null(resp);
    assert_non_null(resp->partial_success);
    assert_true(resp->partial_success->rejected_spans > 0);
    assert_true(strlen(resp->partial_success->error_message) > 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp, NULL);
    buf_free(&r.body);
    free(pb);
    env_stop(&e);
}

static void test_ipv6(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    tc_error e;
    recv_http *r = recv_http_start("[::1]:0", b, NULL, &e);
    if (!r) { /* no IPv6 loopback here */
        spanbuf_free(&b);
        skip();
    }
    assert_true(recv_http_port(r) > 0);
    recv_http_stop(&r);
    spanbuf_free(&b);
}

static void test_bind_errors(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    tc_error e;
    assert_null(recv_http_start("nowhere", b, NULL, &e));
    assert_non_null(strstr(e.msg, "bad address"));
    recv_http *r = recv_http_start("127.0.0.1:0", b, NULL, &e);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", recv_http_port(r));
    assert_null(recv_http_start(addr, b, NULL, &e)); /* taken */
    assert_non_null(strstr(e.msg, addr));
    assert_non_null(strstr(e.msg, strerror(EADDRINUSE)));
    recv_http_stop(&r);
    spanbuf_free(&b);
}


/* ---- the connection guard: deadlines, caps, shedding ---- */

static int connect_raw(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static long long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads until the receiver closes fd or wait_ms pass. true: it closed
 * (an end of stream or a reset). */
static bool closed_within(int fd, int wait_ms)
{
    long long end = mono_ms() + wait_ms;
    char b[4096];
    for (;;) {
        long long left = end - mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            return false;
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    }
}

static void good_export(int port)
{
    size_t len;
    char *js = fixture("otlp/node-sdk-hello.json", &len);
    reply r;
    post(port, "POST", "/v1/traces", "application/json", NULL, js, len, &r);
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    free(js);
}

static void test_header_deadline(void **state)
{
    (void)state;
    recv_http_opts o = {.header_timeout_ms = 300};
    env e;
    env_start(&e, 0, &o);
    int fd = connect_raw(e.port);
    long long t0 = mono_ms();
    assert_true(write(fd, "POST /v1/tr", 11) == 11); /* headers that never end */
    assert_true(closed_within(fd, 5000));
    long long took = mono_ms() - t0;
    assert_true(took >= 250);
    close(fd);
    recv_http_stats st;
    recv_http_get_stats(e.r, &st);
    assert_true(st.conns_timed_out >= 1);
    env_stop(&e);
}

static void test_idle_deadline(void **state)
{
    (void)state;
    recv_http_opts o = {.idle_timeout_ms = 300};
    env e;
    env_start(&e, 0, &o);
    int fd = connect_raw(e.port);
    const char req[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 2\r\n\r\n{}";
    assert_true(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
    char b[1024];
    ssize_t n = read(fd, b, sizeof b - 1);
    assert_true(n > 0);
    b[n] = '\0';
    assert_non_null(strstr(b, "HTTP/1.1 200"));
    /* answered, kept alive, then closed for being idle */
    long long t0 = mono_ms();
    assert_true(closed_within(fd, 5000));
    assert_true(mono_ms() - t0 >= 250);
    close(fd);
    env_stop(&e);
}

static void test_shed_per_address(void **state)
{
    (void)state;
    recv_http_opts o = {.max_conns_per_addr = 4};
    env e;
    env_start(&e, 0, &o);
    int fd[4];
    for (int i = 0; i < 4; i++) {
        fd[i] = connect_raw(e.port);
        usleep(20000); /* distinct accept times: fd[0] is the oldest */
    }
    usleep(100000);
    /* a fifth connection from the same address is served; the oldest silent one goes */
    good_export(e.port);
    assert_true(closed_within(fd[0], 3000));
    assert_false(closed_within(fd[3], 200));
    recv_http_stats st;
    recv_http_get_stats(e.r, &st);
    assert_true(st.conns_shed >= 1);
    assert_true(st.conns_open <= 4);
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    env_stop(&e);
}

static void test_shed_most_idle_first(void **state)
{
    (void)state;
    recv_http_opts o = {.max_conns = 3};
    env e;
    env_start(&e, 0, &o);
    int busy = connect_raw(e.port); /* the oldest by accept, but it makes progress */
    usleep(20000);
    int quiet = connect_raw(e.port);
    usleep(20000);
    const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100\r\n\r\n{";
    assert_true(write(busy, head, sizeof head - 1) == (ssize_t)(sizeof head - 1));
    usleep(100000);
    good_export(e.port); /* the third connection: no shedding yet needed... */
    int third = connect_raw(e.port);
    usleep(100000);
    good_export(e.port); /* ...the total cap is reached now: the quiet one is shed */
    assert_true(closed_within(quiet, 3000));
    assert_false(closed_within(busy, 200));
    close(busy);
    close(quiet);
    close(third);
    env_stop(&e);
}

static void test_buffered_budget(void **state)
{
    (void)state;
    recv_http_opts o = {.max_buffered = 4096};
    env e;
    env_start(&e, 0, &o);
    int hog = connect_raw(e.port);
    char req[3300];
    int k = snprintf(req, sizeof req, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                      "Content-Length: 10000\r\n\r\n");
    memset(req + k, ' ', sizeof req - (size_t)k);
    assert_true(write(hog, req, sizeof req) == (ssize_t)sizeof req);
    usleep(200000);
    /* the hog holds ~3 KB of 4 KB: a 2 KB body does not fit */
    char body[2048];
    memset(body, ' ', sizeof body);
    body[0] = '{';
    body[sizeof body - 1] = '}';
    reply r;
    post(e.port, "POST", "/v1/traces", "application/json", NULL, body, sizeof body, &r);
    assert_int_equal(r.status, 503);
    buf_free(&r.body);
    /* the hog gone, its bytes are free again */
    close(hog);
    long long end = mono_ms() + 3000;
    do {
        usleep(50000);
        post(e.port, "POST", "/v1/traces", "application/json", NULL, body, sizeof body, &r);
        buf_free(&r.body);
    } while (r.status != 200 && mono_ms() < end);
    assert_int_equal(r.status, 200);
    env_stop(&e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_json_gzip), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_partial_success),    cmocka_unit_test(test_concurrent_exporters),
        cmocka_unit_test(test_silent_client_does_not_block), cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_chunked), cmocka_unit_test(test_limits_and_log),
        cmocka_unit_test(test_partial_success_protobuf), cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_header_deadline), cmocka_unit_test(test_idle_deadline),
        cmocka_unit_test(test_shed_per_address), cmocka_unit_test(test_shed_most_idle_first),
        cmocka_unit_test(test_buffered_budget), cmocka_unit_test(test_token),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
