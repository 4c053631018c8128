/* otlp_grpc.c - OTLP/gRPC receiver: nghttp2 server sessions over
 * non-blocking sockets, driven by one poll() loop on a thread of its own. */
#include "receiver/otlp_grpc.h"
#include "receiver/otlp_grpc_int.h"

#include "codec/codec.h"

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXPORT_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define MAX_HEADER_BYTES 16384  /* request header list, names + values */
#define MAX_HEADERS 100         /* request header fields */
#define MAX_OUT_BYTES (1u << 20) /* bytes waiting to be written on one connection */
#define READ_CHUNK 16384
#define READS_PER_TURN 16       /* fairness: reads per connection per loop turn */
#define ACCEPTS_PER_TURN 64
#define CLOSE_GRACE_MS 1000     /* after GOAWAY, time left to flush before closing */

enum { GRPC_OK = 0, GRPC_INVALID_ARGUMENT = 3, GRPC_DEADLINE_EXCEEDED = 4, GRPC_RESOURCE_EXHAUSTED = 8,
       GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13 };

enum { ENC_IDENTITY = 0, ENC_GZIP, ENC_OTHER };

typedef struct conn conn;

typedef struct stream {
    conn *c;
    int32_t id;
    struct stream *prev, *next; /* the connection's open streams */
    uint8_t *body;              /* request DATA bytes: gRPC length-prefixed messages */
    size_t len, cap;
    size_t scan;                /* offset of the next message prefix not yet checked */
    bool post, path_ok, remote_ended, responded;
    bool rst_after;             /* reset (NO_ERROR) once the early answer is sent */
    int ctype;                  /* 0 missing, 1 gRPC protobuf, 2 other */
    int enc;                    /* ENC_* of grpc-encoding */
    char enc_name[32];
    char path[128];
    unsigned nheaders;
    size_t header_bytes;
    uint64_t opened_ms;
    uint8_t resp[5 + 160];      /* the ExportTraceServiceResponse message, prefixed */
    size_t resp_len, resp_off;
} stream;

struct conn {
    recv_grpc *r;
    int fd;
    nghttp2_session *s;
    stream *streams;
    size_t buffered;           /* body bytes held by its streams */
    uint8_t *out;              /* serialized frames not yet written */
    size_t out_len, out_off, out_cap;
    uint64_t last_rx_ms;
    uint64_t close_at_ms;      /* closing after GOAWAY: hard deadline */
    bool closing;
    bool dead;
};

struct recv_grpc {
    int lfd;
    int wakefd;
    int port;
    spanbuf *buf;
    recv_grpc_opts o;
    int32_t stream_window;
    int32_t conn_window;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *nopt;
    conn **conns;
    unsigned nconns;
    uint64_t accept_pause_until; /* out of descriptors: stop accepting until then */
    pthread_t th;
    pthread_mutex_t mu; /* guards st */
    recv_grpc_stats st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void stat_add(recv_grpc *r, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&r->mu);
    *field += n;
    pthread_mutex_unlock(&r->mu);
}

/* ---- responses ---- */

/* grpc-message is percent-encoded: bytes outside printable ASCII and '%'. */
static void pct_encode(char *dst, size_t cap, const char *src)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 4 < cap; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            dst[o++] = (char)*p;
        } else {
            dst[o++] = '%';
            dst[o++] = hex[*p >> 4];
            dst[o++] = hex[*p & 15];
        }
    }
    dst[o] = 0;
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static void stream_drop_body(stream *st)
{
    st->c->buffered -= st->len;
    free(st->body);
    st->body = NULL;
    st->len = st->cap = st->scan = 0;
}

/* Answers a call with an error status (a trailers-only response) and, when
 * the client is still sending, asks it to stop with RST_STREAM(NO_ERROR)
 * once the answer is out (on_frame_send: a reset queued earlier would
 * cancel the answer). */
static void stream_fail(stream *st, const char *http_status, int code, const char *msg)
{
    if (st->responded)
        return;
    st->responded = true;
    stream_drop_body(st);
    char status[12], pmsg[512];
    snprintf(status, sizeof status, "%d", code);
    pct_encode(pmsg, sizeof pmsg, msg);
    nghttp2_nv nva[] = {
        NV(":status", http_status),
        NV("content-type", "application/grpc"),
        NV("grpc-accept-encoding", "identity,gzip"),
        NV("grpc-status", status),
        NV("grpc-message", pmsg),
    };
    if (nghttp2_submit_response(st->c->s, st->id, nva, sizeof nva / sizeof nva[0], NULL) != 0)
        nghttp2_submit_rst_stream(st->c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    else
        st->rst_after = !st->remote_ended;
    stat_add(st->c->r, &st->c->r->st.calls_failed, 1);
}

static ssize_t resp_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    stream *st = src->ptr;
    size_t n = st->resp_len - st->resp_off;
    if (n > length)
        n = length;
    memcpy(out, st->resp + st->resp_off, n);
    st->resp_off += n;
    if (st->resp_off == st->resp_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv tr[] = {NV("grpc-status", "0")};
        if (nghttp2_submit_trailer(s, id, tr, 1) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* The ExportTraceServiceResponse: empty, or partial_success {rejected_spans,
 * error_message} when the buffer refused spans. */
static void stream_respond_ok(stream *st, uint32_t rejected)
{
    uint8_t *m = st->resp + 5;
    size_t n = 0;
    if (rejected) {
        static const char why[] = "span buffer full";
        uint8_t inner[32];
        size_t k = 0;
        inner[k++] = 0x08; /* rejected_spans, varint */
        k += put_varint(inner + k, rejected);
        inner[k++] = 0x12; /* error_message */
        inner[k++] = (uint8_t)(sizeof why - 1);
        memcpy(inner + k, why, sizeof why - 1);
        k += sizeof why - 1;
        m[n++] = 0x0a; /* partial_success */
        m[n++] = (uint8_t)k;
        memcpy(m + n, inner, k);
        n += k;
    }
    st->resp[0] = 0;
    st->resp[1] = 0;
    st->resp[2] = 0;
    st->resp[3] = 0;
    st->resp[4] = (uint8_t)n;
    st->resp_len = 5 + n;
    st->resp_off = 0;
    st->responded = true;
    nghttp2_nv nva[] = {
        NV(":status", "200"),
        NV("content-type", "application/grpc"),
        NV("grpc-accept-encoding", "identity,gzip"),
    };
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = resp_read};
    if (nghttp2_submit_response(st->c->s, st->id, nva, sizeof nva / sizeof nva[0], &dp) != 0) {
        nghttp2_submit_rst_stream(st->c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    stat_add(st->c->r, &st->c->r->st.calls_ok, 1);
}

/* ---- requests ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks the headers once they are complete; answers at once when the call
 * cannot succeed whatever its body. */
static void stream_check_headers(stream *st)
{
    char msg[200];
    if (!st->post) {
        stream_fail(st, "405", GRPC_UNIMPLEMENTED, "method must be POST");
    } else if (st->ctype != 1) {
        stream_fail(st, "415", GRPC_INVALID_ARGUMENT,
                    "content-type must be application/grpc or application/grpc+proto");
    } else if (!st->path_ok) {
        snprintf(msg, sizeof msg, "unknown method %s", st->path);
        stream_fail(st, "200", GRPC_UNIMPLEMENTED, msg);
    } else if (st->enc == ENC_OTHER) {
        snprintf(msg, sizeof msg, "grpc-encoding %s is not supported (identity, gzip)", st->enc_name);
        stream_fail(st, "200", GRPC_UNIMPLEMENTED, msg);
    }
}

static int status_of(int rc)
{
    return rc == TC_ERR_LIMIT || rc == TC_ERR_NOMEM ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT;
}

/* Decodes one message's payload into ts; 0 or a gRPC status with msg set. */
static int decode_message(stream *st, trace_set *ts, int flag, const uint8_t *p, size_t n, char *msg,
                          size_t msgcap)
{
    recv_grpc *r = st->c->r;
    tc_error e = {0};
    uint8_t *inflated = NULL;
    size_t inflated_len = 0;
    if (flag == 1) {
        if (st->enc != ENC_GZIP) {
            snprintf(msg, msgcap, "compressed message without a supported grpc-encoding");
            return GRPC_INTERNAL;
        }
        int rc = gzip_inflate(p, n, r->o.max_message, &inflated, &inflated_len, &e);
        if (rc != 0) {
            snprintf(msg, msgcap, "gzip: %s", e.msg);
            return status_of(rc);
        }
        p = inflated;
        n = inflated_len;
    } else if (flag != 0) {
        snprintf(msg, msgcap, "bad compressed-flag %d", flag);
        return GRPC_INVALID_ARGUMENT;
    }
    int rc = otlp_pb_decode(ts, p, n, &e);
    free(inflated);
    if (rc != 0) {
        snprintf(msg, msgcap, "ExportTraceServiceRequest: %s (offset %zu)", e.msg, e.offset);
        return status_of(rc);
    }
    return 0;
}

/* The whole request is in: decode every message, add the spans, answer. */
static void stream_process(stream *st)
{
    if (st->responded)
        return;
    recv_grpc *r = st->c->r;
    char msg[TC_ERROR_MSG_MAX + 64];
    size_t cap = r->o.max_message * 16;
    if (cap < ((size_t)64 << 20))
        cap = (size_t)64 << 20;
    trace_set *ts = trace_set_new(cap);
    if (!ts) {
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    int code = 0;
    size_t off = 0, nmsg = 0;
    while (off < st->len && code == 0) {
        size_t left = st->len - off;
        if (left < 5) {
            snprintf(msg, sizeof msg, "truncated message prefix (%zu of 5 bytes)", left);
            code = GRPC_INVALID_ARGUMENT;
            break;
        }
        uint32_t mlen = be32(st->body + off + 1);
        if (mlen > left - 5) {
            snprintf(msg, sizeof msg, "truncated message (%zu of %u bytes)", left - 5, mlen);
            code = GRPC_INVALID_ARGUMENT;
            break;
        }
        code = decode_message(st, ts, st->body[off], st->body + off + 5, mlen, msg, sizeof msg);
        off += 5 + (size_t)mlen;
        nmsg++;
    }
    if (code == 0 && nmsg == 0) {
        snprintf(msg, sizeof msg, "no request message");
        code = GRPC_INVALID_ARGUMENT;
    }
    stream_drop_body(st);
    if (code != 0) {
        trace_set_free(&ts);
        stream_fail(st, "200", code, msg);
        return;
    }
    uint32_t acc = 0, rej = 0;
    uint64_t nspans = trace_set_span_count(ts);
    int rc = spanbuf_add(r->buf, ts, &acc, &rej);
    trace_set_free(&ts);
    if (rc != 0) {
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, "span buffer out of memory");
        return;
    }
    stat_add(r, &r->st.spans_received, nspans);
    stream_respond_ok(st, rej);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    conn *c = user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    st->c = c;
    st->id = f->hd.stream_id;
    st->opened_ms = now_ms();
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static bool eq(const uint8_t *a, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(a, lit, n) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
    stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    st->nheaders++;
    st->header_bytes += namelen + valuelen;
    if (st->nheaders > MAX_HEADERS || st->header_bytes > MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* client trailers: nothing to read in them */
    if (eq(name, namelen, ":method")) {
        st->post = eq(value, valuelen, "POST");
    } else if (eq(name, namelen, ":path")) {
        st->path_ok = eq(value, valuelen, EXPORT_PATH);
        size_t n = valuelen < sizeof st->path - 1 ? valuelen : sizeof st->path - 1;
        memcpy(st->path, value, n);
        st->path[n] = 0;
    } else if (eq(name, namelen, "content-type")) {
        const char *g = "application/grpc";
        size_t gl = strlen(g);
        st->ctype = 2;
        if (valuelen >= gl && strncasecmp((const char *)value, g, gl) == 0) {
            size_t rest = valuelen - gl;
            const char *t = (const char *)value + gl;
            if (rest == 0 || t[0] == ';' || (rest >= 6 && strncasecmp(t, "+proto", 6) == 0 &&
                                               (rest == 6 || t[6] == ';')))
                st->ctype = 1;
        }
    } else if (eq(name, namelen, "grpc-encoding")) {
        if (eq(value, valuelen, "identity"))
            st->enc = ENC_IDENTITY;
        else if (eq(value, valuelen, "gzip"))
            st->enc = ENC_GZIP;
        else
            st->enc = ENC_OTHER;
        size_t n = valuelen < sizeof st->enc_name - 1 ? valuelen : sizeof st->enc_name - 1;
        memcpy(st->enc_name, value, n);
        st->enc_name[n] = 0;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user)
{
    conn *c = user;
    stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st || st->responded)
        return 0; /* answered early: the rest is discarded */
    recv_grpc *r = c->r;
    size_t stream_cap = r->o.max_message + 5;
    char msg[128];
    if (len > stream_cap - st->len) {
        snprintf(msg, sizeof msg, "request larger than %zu bytes", r->o.max_message);
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, msg);
        return 0;
    }
    if (len > r->o.max_conn_bytes - c->buffered) {
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, "too many request bytes buffered on this connection");
        return 0;
    }
    if (st->len + len > st->cap) {
        size_t ncap = st->cap ? st->cap : 16384;
        while (ncap < st->len + len)
            ncap *= 2;
        if (ncap > stream_cap)
            ncap = stream_cap;
        uint8_t *nb = realloc(st->body, ncap);
        if (!nb) {
            stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, "out of memory");
            return 0;
        }
        st->body = nb;
        st->cap = ncap;
    }
    memcpy(st->body + st->len, data, len);
    st->len += len;
    c->buffered += len;
    /* Refuse an oversized message as soon as its prefix shows it. */
    while (st->len - st->scan >= 5) {
        uint32_t mlen = be32(st->body + st->scan + 1);
        if (mlen > r->o.max_message) {
            snprintf(msg, sizeof msg, "message of %u bytes is larger than the limit of %zu", mlen,
                     r->o.max_message);
            stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, msg);
            return 0;
        }
        if (st->len - st->scan - 5 < mlen)
            break;
        st->scan += 5 + (size_t)mlen;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        stream_check_headers(st);
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        st->remote_ended = true;
        stream_process(st);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    if (f->hd.type != NGHTTP2_HEADERS || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (st && st->rst_after && !st->remote_ended) {
        st->rst_after = false;
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *user)
{
    conn *c = user;
    stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    stream_drop_body(st);
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    free(st);
    return 0;
}

/* ---- connections ---- */

static void conn_free(conn *c)
{
    if (!c)
        return;
    nghttp2_session_del(c->s); /* frees its streams without on_stream_close */
    while (c->streams) {
        stream *st = c->streams;
        c->streams = st->next;
        free(st->body);
        free(st);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    free(c);
}

static conn *conn_new(recv_grpc *r, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->r = r;
    c->fd = fd;
    c->last_rx_ms = now_ms();
    if (nghttp2_session_server_new2(&c->s, r->cbs, c, r->nopt) != 0) {
        c->fd = -1;
        conn_free(c);
        return NULL;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, r->o.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)r->stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES},
    };
    if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_submit_window_update(c->s, NGHTTP2_FLAG_NONE, 0,
                                     r->conn_window - NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) != 0) {
        c->fd = -1;
        conn_free(c);
        return NULL;
    }
    return c;
}

static int out_append(conn *c, const uint8_t *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t ncap = c->out_cap ? c->out_cap : 16384;
        while (ncap < c->out_len + n)
            ncap *= 2;
        if (ncap > MAX_OUT_BYTES)
            return -1;
        uint8_t *nb = realloc(c->out, ncap);
        if (!nb)
            return -1;
        c->out = nb;
        c->out_cap = ncap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

/* Serializes what nghttp2 has to send and writes as much as the socket
 * takes. 0, or -1 when the connection is to be closed. */
static int conn_flush(conn *c)
{
    for (;;) {
        while (c->out_off < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
            }
            c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        while (c->out_len < 65536) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(c->s, &p);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            if (out_append(c, p, (size_t)n) != 0)
                return -1;
        }
        if (c->out_len == 0)
            return 0;
    }
}

/* Reads what the socket holds (a bounded amount) into the session.
 * 0, or -1 when the connection is to be closed. */
static int conn_read(conn *c)
{
    uint8_t buf[READ_CHUNK];
    for (int i = 0; i < READS_PER_TURN; i++) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        c->last_rx_ms = now_ms();
        ssize_t rv = nghttp2_session_mem_recv(c->s, buf, (size_t)n);
        if (rv < 0) {
            stat_add(c->r, &c->r->st.conns_dropped, 1);
            return -1;
        }
        if (c->out_len > 0 || (size_t)n < sizeof buf)
            break;
    }
    return 0;
}

/* Idle connections get a GOAWAY, then are closed; calls too slow to arrive
 * get DEADLINE_EXCEEDED. */
static void conn_timeouts(conn *c, uint64_t now)
{
    recv_grpc *r = c->r;
    if (c->closing) {
        if (now >= c->close_at_ms) {
            c->dead = true;
            stat_add(r, &r->st.conns_dropped, 1);
        }
        return;
    }
    if (now - c->last_rx_ms >= r->o.idle_timeout_ms) {
        nghttp2_session_terminate_session(c->s, NGHTTP2_NO_ERROR);
        c->closing = true;
        c->close_at_ms = now + CLOSE_GRACE_MS;
    }
    for (stream *st = c->streams; st; st = st->next) {
        if (!st->responded && now - st->opened_ms >= r->o.request_timeout_ms) {
            char msg[96];
            snprintf(msg, sizeof msg, "request not complete after %u ms", r->o.request_timeout_ms);
            stream_fail(st, "200", GRPC_DEADLINE_EXCEEDED, msg);
        }
    }
    if (conn_flush(c) != 0)
        c->dead = true;
}

static void accept_all(recv_grpc *r)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* out of descriptors: the pending connection stays readable,
             * so pause accepting rather than spin */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                r->accept_pause_until = now_ms() + 100;
            return;
        }
        if (r->nconns >= r->o.max_conns) {
            stat_add(r, &r->st.conns_refused, 1); /* counted before the client can see it */
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = conn_new(r, fd);
        if (!c) {
            stat_add(r, &r->st.conns_refused, 1); /* counted before the client can see it */
            close(fd);
            continue;
        }
        if (conn_flush(c) != 0) {
            conn_free(c);
            continue;
        }
        r->conns[r->nconns++] = c;
        pthread_mutex_lock(&r->mu);
        r->st.conns_accepted++;
        r->st.conns_open = r->nconns;
        pthread_mutex_unlock(&r->mu);
    }
}

static void *loop(void *arg)
{
    recv_grpc *r = arg;
    size_t npfd = (size_t)r->o.max_conns + 2;
    struct pollfd *pfd = calloc(npfd, sizeof *pfd);
    conn **polled = calloc(npfd, sizeof *polled);
    unsigned tick = r->o.idle_timeout_ms < r->o.request_timeout_ms ? r->o.idle_timeout_ms : r->o.request_timeout_ms;
    tick /= 4;
    if (tick < 10)
        tick = 10;
    if (tick > 1000)
        tick = 1000;
    if (!pfd || !polled)
        goto out; /* stop still works: it only joins */
    uint64_t last_sweep = now_ms();
    for (;;) {
        pfd[0] = (struct pollfd){.fd = r->wakefd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = r->lfd, .events = now_ms() >= r->accept_pause_until ? POLLIN : 0};
        size_t n = 2;
        for (unsigned i = 0; i < r->nconns; i++) {
            conn *c = r->conns[i];
            short ev = 0;
            if (c->out_len > c->out_off)
                ev |= POLLOUT; /* no reading while output waits: back-pressure */
            else if (nghttp2_session_want_read(c->s))
                ev |= POLLIN;
            pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
            polled[n++] = c;
        }
        int rc = poll(pfd, n, (int)tick);
        if (rc < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break;
        if (rc > 0) {
            for (size_t i = 2; i < n; i++) {
                conn *c = polled[i];
                short re = pfd[i].revents;
                if (!re)
                    continue;
                if ((re & (POLLIN | POLLHUP | POLLERR)) && conn_read(c) != 0)
                    c->dead = true;
                if (!c->dead && conn_flush(c) != 0)
                    c->dead = true;
                if (!c->dead && !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s) &&
                    c->out_len == c->out_off)
                    c->dead = true;
            }
            if (pfd[1].revents & POLLIN)
                accept_all(r);
        }
        uint64_t now = now_ms();
        if (now - last_sweep >= tick) {
            last_sweep = now;
            for (unsigned i = 0; i < r->nconns; i++)
                if (!r->conns[i]->dead)
                    conn_timeouts(r->conns[i], now);
        }
        unsigned kept = 0;
        for (unsigned i = 0; i < r->nconns; i++) {
            if (r->conns[i]->dead)
                conn_free(r->conns[i]);
            else
                r->conns[kept++] = r->conns[i];
        }
        if (kept != r->nconns) {
            r->nconns = kept;
            pthread_mutex_lock(&r->mu);
            r->st.conns_open = kept;
            pthread_mutex_unlock(&r->mu);
        }
    }
out:
    for (unsigned i = 0; i < r->nconns; i++)
        conn_free(r->conns[i]);
    r->nconns = 0;
    pthread_mutex_lock(&r->mu);
    r->st.conns_open = 0;
    pthread_mutex_unlock(&r->mu);
    free(pfd);
    free(polled);
    return NULL;
}

/* ---- start / stop ---- */

/* Splits "host:port" / "[v6]:port" / ":port" into host (empty: 127.0.0.1)
 * and port. */
static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap, tc_error *e)
{
    const char *colon, *h = addr;
    size_t hl;
    if (!addr)
        return tc_error_set(e, TC_ERR_INPUT, "no listen address");
    if (addr[0] == '[') {
        const char *close_br = strchr(addr, ']');
        if (!close_br || close_br[1] != ':')
            return tc_error_set(e, TC_ERR_INPUT, "listen address %s: expected [host]:port", addr);
        h = addr + 1;
        hl = (size_t)(close_br - h);
        colon = close_br + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return tc_error_set(e, TC_ERR_INPUT, "listen address %s: expected host:port", addr);
        hl = (size_t)(colon - addr);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (pl == 0 || pl >= pcap || strspn(p, "0123456789") != pl || atol(p) > 65535)
        return tc_error_set(e, TC_ERR_INPUT, "listen address %s: bad port", addr);
    if (hl >= hcap)
        return tc_error_set(e, TC_ERR_INPUT, "listen address %s: host too long", addr);
    if (hl == 0) {
        snprintf(host, hcap, "127.0.0.1");
    } else {
        memcpy(host, h, hl);
        host[hl] = 0;
    }
    memcpy(port, p, pl + 1);
    return 0;
}

static int listen_on(const char *addr, int *out_fd, int *out_port, tc_error *e)
{
    char host[256], port[8], why[128];
    int rc = split_addr(addr, host, sizeof host, port, sizeof port, e);
    if (rc)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, gai_strerror(gai));
    int err = 0, fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, strerror_r(err, why, sizeof why));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        err = errno;
        close(fd);
        return tc_error_set(e, TC_ERR_IO, "cannot listen on %s: %s", addr, strerror_r(err, why, sizeof why));
    }
    *out_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out_fd = fd;
    return 0;
}

static void recv_free(recv_grpc *r)
{
    if (r->lfd >= 0)
        close(r->lfd);
    if (r->wakefd >= 0)
        close(r->wakefd);
    nghttp2_session_callbacks_del(r->cbs);
    nghttp2_option_del(r->nopt);
    free(r->conns);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int32_t clamp_window(size_t n)
{
    if (n < NGHTTP2_INITIAL_WINDOW_SIZE)
        return NGHTTP2_INITIAL_WINDOW_SIZE;
    if (n > NGHTTP2_MAX_WINDOW_SIZE)
        return NGHTTP2_MAX_WINDOW_SIZE;
    return (int32_t)n;
}

/* A receiver with its settings and nghttp2 callbacks, no socket or thread. */
static recv_grpc *recv_new(spanbuf *buf, const recv_grpc_opts *opts, tc_error *e)
{
    recv_grpc *r = calloc(1, sizeof *r);
    if (!r) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->lfd = r->wakefd = -1;
    r->buf = buf;
    pthread_mutex_init(&r->mu, NULL);
    if (opts)
        r->o = *opts;
    if (!r->o.max_message)
        r->o.max_message = RECV_GRPC_DEFAULT_MAX_MESSAGE;
    if (r->o.max_message > ((size_t)1 << 30))
        r->o.max_message = (size_t)1 << 30;
    if (!r->o.max_conn_bytes)
        r->o.max_conn_bytes = 4 * r->o.max_message;
    if (!r->o.max_conns)
        r->o.max_conns = RECV_GRPC_DEFAULT_MAX_CONNS;
    if (!r->o.max_streams)
        r->o.max_streams = RECV_GRPC_DEFAULT_MAX_STREAMS;
    if (!r->o.idle_timeout_ms)
        r->o.idle_timeout_ms = RECV_GRPC_DEFAULT_IDLE_MS;
    if (!r->o.request_timeout_ms)
        r->o.request_timeout_ms = RECV_GRPC_DEFAULT_REQUEST_MS;
    r->stream_window = clamp_window(r->o.max_message + 5);
    r->conn_window = clamp_window(r->o.max_conn_bytes);
    if (r->conn_window < r->stream_window)
        r->conn_window = r->stream_window;

    r->conns = calloc(r->o.max_conns, sizeof *r->conns);
    if (!r->conns || nghttp2_session_callbacks_new(&r->cbs) != 0 || nghttp2_option_new(&r->nopt) != 0) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        recv_free(r);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(r->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(r->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(r->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(r->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(r->cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(r->cbs, on_stream_close);
    return r;
}

int recv_grpc_feed(spanbuf *buf, const recv_grpc_opts *opts, const uint8_t *data, size_t len)
{
    recv_grpc *r = recv_new(buf, opts, NULL);
    if (!r)
        return -1;
    int rc = -1;
    conn *c = conn_new(r, -1);
    if (!c)
        goto out;
    /* in pieces, as a socket would deliver them, answering in between */
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < 1000 ? len - off : 1000;
        if (nghttp2_session_mem_recv(c->s, data + off, n) < 0)
            goto out;
        off += n;
        const uint8_t *p;
        ssize_t k;
        size_t sent = 0;
        while ((k = nghttp2_session_mem_send(c->s, &p)) > 0 && sent < MAX_OUT_BYTES)
            sent += (size_t)k;
        if (k < 0)
            goto out;
    }
    rc = 0;
out:
    conn_free(c);
    recv_free(r);
    return rc;
}

recv_grpc *recv_grpc_start(const char *addr, spanbuf *buf, const recv_grpc_opts *opts, tc_error *e)
{
    recv_grpc *r = recv_new(buf, opts, e);
    if (!r)
        return NULL;
    if (listen_on(addr, &r->lfd, &r->port, e) != 0) {
        recv_free(r);
        return NULL;
    }
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->wakefd < 0) {
        char why[128];
        tc_error_set(e, TC_ERR_IO, "receiver on %s: eventfd: %s", addr, strerror_r(errno, why, sizeof why));
        recv_free(r);
        return NULL;
    }
    int rc = pthread_create(&r->th, NULL, loop, r);
    if (rc != 0) {
        char why[128];
        tc_error_set(e, TC_ERR_IO, "receiver on %s: thread: %s", addr, strerror_r(rc, why, sizeof why));
        recv_free(r);
        return NULL;
    }
    return r;
}

int recv_grpc_port(const recv_grpc *r)
{
    return r ? r->port : 0;
}

void recv_grpc_get_stats(recv_grpc *r, recv_grpc_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

void recv_grpc_stop(recv_grpc **rp)
{
    if (!rp || !*rp)
        return;
    recv_grpc *r = *rp;
    uint64_t one = 1;
    while (write(r->wakefd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    pthread_join(r->th, NULL);
    recv_free(r);
    *rp = NULL;
}
