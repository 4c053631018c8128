/* otlp_grpc.c - OTLP/gRPC receiver: nghttp2 server sessions over
 * non-blocking sockets, driven by one epoll loop on a thread of its own;
 * complete requests are decoded by a small pool of threads. */
#include "receiver/otlp_grpc.h"
#include "receiver/otlp_grpc_int.h"
#include "receiver/otlp_http.h"

#include "codec/codec.h"

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXPORT_PATH "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define MAX_HEADER_BYTES 16384   /* request header list, names + values */
#define MAX_HEADERS 100          /* request header fields */
#define MAX_CONTINUATIONS 8      /* CONTINUATION frames after one HEADERS */
#define MAX_SETTINGS 32          /* entries of one SETTINGS frame */
#define MAX_OUTBOUND_ACK 1000    /* SETTINGS/PING ACKs queued for a client that does not read */
#define RESET_BURST 1000         /* RST_STREAM a client may send at once... */
#define RESET_RATE 33            /* ...and per second after that */
#define CTRL_BURST 1000          /* frames that move no call forward (SETTINGS, PING, */
#define CTRL_RATE 100            /* WINDOW_UPDATE, ...): at once, and per second after */
#define MAX_OUT_BYTES (1u << 20) /* bytes waiting to be written on one connection */
#define OUT_FILL 65536           /* frames serialized ahead of the socket */
#define READ_BUF (256u << 10)
#define READS_PER_TURN 4 /* fairness: reads per connection per loop turn */
#define ACCEPTS_PER_TURN 256
#define SHED_READS 8   /* connections read one last time per shed... */
#define EXTRA_READS 64 /* ...and with the reads at accept, per loop turn: accepting stays cheap in a burst   \
                        */
#define EVENTS_PER_TURN 128
#define LISTEN_BACKLOG 4096
#define CLOSE_GRACE_MS 1000 /* after GOAWAY, time left to flush before closing */
#define TICK_MS 10          /* timer wheel: resolution... */
#define WHEEL_SLOTS 4096    /* ...and slots (41 s a turn; later deadlines go round again) */

enum {
    GRPC_OK = 0,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAUTHENTICATED = 16
};

enum { ENC_IDENTITY = 0, ENC_GZIP, ENC_OTHER };

/* how a connection ended, for the counters */
enum { END_NONE = 0, END_DROPPED, END_FLOODED, END_SHED };

/* ---- intrusive circular lists ---- */

typedef struct dl {
    struct dl *prev, *next;
} dl;

#define DL_ENTRY(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))

static void dl_init(dl *n)
{
    n->prev = n->next = n;
}

static bool dl_empty(const dl *h)
{
    return h->next == h;
}

/* also true of a node: linked into some list */
static bool dl_linked(const dl *n)
{
    return n->next != n;
}

static void dl_del(dl *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

static void dl_push(dl *h, dl *n) /* at the tail */
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static void dl_move(dl *h, dl *n)
{
    dl_del(n);
    dl_push(h, n);
}

/* ---- state ---- */

typedef struct conn conn;

/* One call. While its request arrives it is on its connection's two
 * receiving lists; once complete it is handed to a decode thread, which
 * touches only the body and the result fields; the loop thread owns the
 * rest. A stream whose connection or HTTP/2 stream goes away while it is
 * decoded is orphaned (c = NULL) and freed when the decoder hands it back. */
typedef struct stream {
    conn *c; /* NULL once orphaned */
    int32_t id;
    dl all;                  /* c->streams */
    dl by_open, by_progress; /* c->recv_open, c->recv_progress while receiving */
    struct stream *qnext;    /* the decode queue, then the done list */
    uint8_t *body;           /* request DATA bytes: gRPC length-prefixed messages */
    size_t len, cap;
    size_t scan; /* offset of the next message prefix not yet checked */
    size_t held; /* bytes handed to the decoder */
    bool post, path_ok, remote_ended, responded;
    bool auth_ok;   /* authorization: Bearer with the receiver's token */
    bool rst_after; /* reset (NO_ERROR) once the early answer is sent */
    bool receiving; /* on the receiving lists */
    bool decoding;  /* queued for or under decoding */
    int ctype;      /* 0 missing, 1 gRPC protobuf, 2 other */
    int enc;        /* ENC_* of grpc-encoding */
    char *enc_name; /* copies for the error message, only when not served (malloc'd) */
    char *path;
    unsigned nheaders;
    size_t header_bytes;
    uint64_t opened_ms, progress_ms;
    int code;  /* decoder's result: 0 or a gRPC status... */
    char *msg; /* ...with this message (malloc'd, may be NULL) */
    uint32_t rejected;
    uint64_t nspans;
    uint8_t resp[40]; /* the ExportTraceServiceResponse message, prefixed */
    size_t resp_len, resp_off;
} stream;

typedef struct addr_ent {
    struct addr_ent *next; /* hash chain */
    uint8_t key[17];       /* family, then the address */
    unsigned count;
    dl idle, busy; /* its connections, least recent progress first */
} addr_ent;

struct conn {
    recv_grpc *r;
    int fd;
    nghttp2_session *s;
    addr_ent *addr;
    dl streams;       /* every stream with state */
    dl recv_open;     /* receiving streams, oldest opened first */
    dl recv_progress; /* receiving streams, least recent progress first */
    unsigned nstreams, nreceiving, ndecoding;
    dl g_link;         /* r->idle or r->busy; r->dead once killed */
    dl a_link;         /* addr->idle or addr->busy */
    dl w_link;         /* a timer wheel slot */
    dl p_link;         /* r->paused */
    dl f_link;         /* r->to_flush */
    uint64_t timer_at; /* when its wheel entry is due */
    uint64_t accepted_ms, progress_ms, close_at_ms;
    uint64_t tx_ms;                /* output last written, or became pending */
    uint64_t resume_ms;            /* reading last resumed after back-pressure */
    uint64_t ctrl_tokens, ctrl_ms; /* control-frame budget, in thousandths */
    size_t buffered;               /* request bytes held, not yet given back to the window */
    size_t queued;                 /* of which handed to the decoders */
    uint8_t *out;                  /* serialized frames not yet written */
    size_t out_len, out_off, out_cap;
    uint32_t ev; /* epoll interest registered */
    int end;     /* END_* to count when it ends */
    bool registered, got_settings, closing, dead, flooded, paused;
};

struct recv_grpc {
    int lfd, wakefd, donefd, epfd;
    int port;
    spanbuf *buf;
    recv_grpc_opts o;
    int32_t stream_window;
    int32_t conn_window;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *nopt;
    /* the loop thread's */
    uint64_t now; /* ms, read once per turn */
    unsigned nconns;
    dl idle, busy; /* connections without / with open calls, least recent progress first */
    dl dead, paused, to_flush;
    addr_ent **addrs;
    unsigned naddr_buckets, naddrs;
    dl wheel[WHEEL_SLOTS];
    uint64_t wheel_tick; /* last tick processed */
    unsigned ntimers;
    bool accept_paused;
    unsigned extra_reads;        /* reads at accept or before a shed left this turn */
    uint64_t accept_pause_until; /* out of descriptors: stop accepting until then */
    size_t queued;               /* request bytes handed to the decoders, orphans included */
    uint8_t *rbuf;
    pthread_t th;
    bool th_started;
    /* decode threads */
    pthread_t *workers;
    unsigned nworkers;   /* 0: decode inline (recv_grpc_feed) */
    pthread_mutex_t qmu; /* guards the four list ends and qstop */
    pthread_cond_t qcv;
    stream *qhead, *qtail, *dhead, *dtail;
    bool qstop;
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

static void conn_want_flush(conn *c)
{
    if (!c->dead && !dl_linked(&c->f_link))
        dl_push(&c->r->to_flush, &c->f_link);
}

/* Moves c to the tail of the lists its open calls put it in (busy or
 * idle): it made progress now, or became busy or idle. */
static void conn_relist(conn *c)
{
    if (!c->registered || c->dead)
        return;
    recv_grpc *r = c->r;
    dl_move(c->nstreams ? &r->busy : &r->idle, &c->g_link);
    if (c->addr)
        dl_move(c->nstreams ? &c->addr->busy : &c->addr->idle, &c->a_link);
}

/* A complete frame moved a call forward. */
static void conn_progress(conn *c)
{
    c->progress_ms = c->r->now;
    conn_relist(c);
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

#define NV(n, v)                                                                                             \
    {                                                                                                        \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE                       \
    }

static void stream_stop_receiving(stream *st)
{
    if (!st->receiving)
        return;
    st->receiving = false;
    dl_del(&st->by_open);
    dl_del(&st->by_progress);
    st->c->nreceiving--;
}

/* Frees the request bytes and gives them back to the flow-control windows. */
static void stream_release(stream *st)
{
    conn *c = st->c;
    if (st->len) {
        c->buffered -= st->len;
        nghttp2_session_consume(c->s, st->id, st->len);
    }
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
    stream_stop_receiving(st);
    stream_release(st);
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
    _Static_assert(sizeof st->resp >= 5 + 2 + 2 + 10 + 2 + 16, "room for partial_success");
    memset(st->resp, 0, 4);
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

/* ---- decoding (on a decode thread, or inline) ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int status_of(int rc)
{
    return rc == TC_ERR_LIMIT || rc == TC_ERR_NOMEM ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT;
}

/* Decodes one message's payload into ts; 0 or a gRPC status with msg set. */
static int decode_message(const recv_grpc *r, int enc, trace_set *ts, int flag, const uint8_t *p, size_t n,
                          char *msg, size_t msgcap)
{
    tc_error e = {0};
    uint8_t *inflated = NULL;
    size_t inflated_len = 0;
    if (flag == 1) {
        if (enc != ENC_GZIP) {
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

/* Decodes every message of a complete request straight from its body and
 * adds the spans to the buffer; sets the result fields and frees the body.
 * Touches nothing the loop thread may change meanwhile. */
static void stream_decode(recv_grpc *r, stream *st)
{
    char msg[TC_ERROR_MSG_MAX + 64];
    size_t cap = r->o.max_message * 16;
    if (cap < ((size_t)64 << 20))
        cap = (size_t)64 << 20;
    int code = 0;
    trace_set *ts = trace_set_new(cap);
    if (!ts) {
        snprintf(msg, sizeof msg, "out of memory");
        code = GRPC_RESOURCE_EXHAUSTED;
    }
    size_t off = 0, nmsg = 0;
    while (ts && off < st->held && code == 0) {
        size_t left = st->held - off;
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
        code = decode_message(r, st->enc, ts, st->body[off], st->body + off + 5, mlen, msg, sizeof msg);
        off += 5 + (size_t)mlen;
        nmsg++;
    }
    free(st->body);
    st->body = NULL;
    if (code == 0 && nmsg == 0) {
        snprintf(msg, sizeof msg, "no request message");
        code = GRPC_INVALID_ARGUMENT;
    }
    if (code == 0) {
        uint32_t acc = 0, rej = 0;
        st->nspans = trace_set_span_count(ts);
        if (spanbuf_add_owned(r->buf, &ts, &acc, &rej) != 0) { /* takes ts */
            snprintf(msg, sizeof msg, "span buffer out of memory");
            code = GRPC_RESOURCE_EXHAUSTED;
        }
        st->rejected = rej;
    }
    trace_set_free(&ts);
    st->code = code;
    if (code)
        st->msg = strdup(msg);
}

/* Frees a stream the loop no longer tracks. */
static void stream_free(stream *st)
{
    free(st->body);
    free(st->msg);
    free(st->path);
    free(st->enc_name);
    free(st);
}

/* Back on the loop thread: gives the bytes back to the windows and answers. */
static void stream_complete(recv_grpc *r, stream *st)
{
    r->queued -= st->held;
    conn *c = st->c;
    if (!c || c->dead) {
        if (c) {
            dl_del(&st->all); /* its connection is freed at the end of the turn */
            c->nstreams--;
        }
        stream_free(st);
        return;
    }
    st->decoding = false;
    c->ndecoding--;
    c->queued -= st->held;
    c->buffered -= st->held;
    nghttp2_session_consume(c->s, st->id, st->held);
    st->held = 0;
    st->len = st->cap = st->scan = 0;
    if (st->code) {
        stream_fail(st, "200", st->code, st->msg ? st->msg : "out of memory");
    } else {
        stat_add(r, &r->st.spans_received, st->nspans);
        stream_respond_ok(st, st->rejected);
    }
    free(st->msg);
    st->msg = NULL;
    conn_progress(c);
    conn_want_flush(c);
}

/* The whole request is in: hand it to a decode thread (or decode it now). */
static void stream_process(stream *st)
{
    if (st->responded)
        return;
    conn *c = st->c;
    recv_grpc *r = c->r;
    stream_stop_receiving(st);
    st->held = st->len;
    st->decoding = true;
    c->ndecoding++;
    c->queued += st->held;
    r->queued += st->held;
    if (!r->nworkers) {
        stream_decode(r, st);
        stream_complete(r, st);
        return;
    }
    st->qnext = NULL;
    pthread_mutex_lock(&r->qmu);
    if (r->qtail)
        r->qtail->qnext = st;
    else
        r->qhead = st;
    r->qtail = st;
    pthread_cond_signal(&r->qcv);
    pthread_mutex_unlock(&r->qmu);
}

static void *worker(void *arg)
{
    recv_grpc *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->qmu);
        while (!r->qstop && !r->qhead)
            pthread_cond_wait(&r->qcv, &r->qmu);
        if (r->qstop) {
            pthread_mutex_unlock(&r->qmu);
            return NULL;
        }
        stream *st = r->qhead;
        r->qhead = st->qnext;
        if (!r->qhead)
            r->qtail = NULL;
        pthread_mutex_unlock(&r->qmu);

        stream_decode(r, st);

        st->qnext = NULL;
        pthread_mutex_lock(&r->qmu);
        bool first = !r->dhead;
        if (r->dtail)
            r->dtail->qnext = st;
        else
            r->dhead = st;
        r->dtail = st;
        pthread_mutex_unlock(&r->qmu);
        if (first) {
            uint64_t one = 1;
            while (write(r->donefd, &one, sizeof one) < 0 && errno == EINTR)
                ;
        }
    }
}

/* ---- nghttp2 callbacks ---- */

/* Checks the headers once they are complete; answers at once when the call
 * cannot succeed whatever its body. */
static void stream_check_headers(stream *st)
{
    char msg[200];
    if (st->c->r->o.token && !st->auth_ok) {
        stream_fail(st, "200", GRPC_UNAUTHENTICATED,
                    "unauthenticated: this receiver needs authorization: Bearer TOKEN");
    } else if (!st->post) {
        stream_fail(st, "405", GRPC_UNIMPLEMENTED, "method must be POST");
    } else if (st->ctype != 1) {
        stream_fail(st, "415", GRPC_INVALID_ARGUMENT,
                    "content-type must be application/grpc or application/grpc+proto");
    } else if (!st->path_ok) {
        snprintf(msg, sizeof msg, "unknown method %s", st->path ? st->path : "");
        stream_fail(st, "200", GRPC_UNIMPLEMENTED, msg);
    } else if (st->enc == ENC_OTHER) {
        snprintf(msg, sizeof msg, "grpc-encoding %s is not supported (identity, gzip)",
                 st->enc_name ? st->enc_name : "");
        stream_fail(st, "200", GRPC_UNIMPLEMENTED, msg);
    }
}

/* One frame that moves no call forward; false once the connection has
 * spent its budget (CTRL_BURST, refilled at CTRL_RATE a second). */
static bool ctrl_take(conn *c)
{
    uint64_t now = c->r->now;
    if (now > c->ctrl_ms) {
        c->ctrl_tokens += (now - c->ctrl_ms) * CTRL_RATE;
        if (c->ctrl_tokens > (uint64_t)CTRL_BURST * 1000)
            c->ctrl_tokens = (uint64_t)CTRL_BURST * 1000;
        c->ctrl_ms = now;
    }
    if (c->ctrl_tokens < 1000)
        return false;
    c->ctrl_tokens -= 1000;
    return true;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *user)
{
    conn *c = user;
    if (hd->type == NGHTTP2_DATA || hd->type == NGHTTP2_HEADERS || hd->type == NGHTTP2_CONTINUATION)
        return 0;
    if (ctrl_take(c))
        return 0;
    c->flooded = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
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
    st->opened_ms = st->progress_ms = c->r->now;
    st->receiving = true;
    dl_push(&c->streams, &st->all);
    dl_push(&c->recv_open, &st->by_open);
    dl_push(&c->recv_progress, &st->by_progress);
    c->nreceiving++;
    if (c->nstreams++ == 0)
        conn_relist(c);
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
        free(st->path);
        st->path = st->path_ok ? NULL : strndup((const char *)value, valuelen < 127 ? valuelen : 127);
    } else if (eq(name, namelen, "content-type")) {
        const char *g = "application/grpc";
        size_t gl = strlen(g);
        st->ctype = 2;
        if (valuelen >= gl && strncasecmp((const char *)value, g, gl) == 0) {
            size_t rest = valuelen - gl;
            const char *t = (const char *)value + gl;
            if (rest == 0 || t[0] == ';' ||
                (rest >= 6 && strncasecmp(t, "+proto", 6) == 0 && (rest == 6 || t[6] == ';')))
                st->ctype = 1;
        }
    } else if (eq(name, namelen, "authorization")) {
        st->auth_ok = recv_bearer_ok((const char *)value, valuelen, st->c->r->o.token);
    } else if (eq(name, namelen, "grpc-encoding")) {
        if (eq(value, valuelen, "identity"))
            st->enc = ENC_IDENTITY;
        else if (eq(value, valuelen, "gzip"))
            st->enc = ENC_GZIP;
        else
            st->enc = ENC_OTHER;
        free(st->enc_name);
        st->enc_name =
            st->enc == ENC_OTHER ? strndup((const char *)value, valuelen < 31 ? valuelen : 31) : NULL;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user)
{
    conn *c = user;
    recv_grpc *r = c->r;
    stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st || !st->receiving) {
        nghttp2_session_consume(s, id, len); /* answered early: the rest is discarded */
        return 0;
    }
    st->progress_ms = r->now;
    dl_move(&c->recv_progress, &st->by_progress);
    conn_progress(c);
    size_t stream_cap = r->o.max_message + 5;
    char msg[128];
    if (len > stream_cap - st->len) {
        nghttp2_session_consume(s, id, len);
        snprintf(msg, sizeof msg, "request larger than %zu bytes", r->o.max_message);
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, msg);
        return 0;
    }
    if (len > r->o.max_conn_bytes - c->buffered) {
        nghttp2_session_consume(s, id, len);
        stream_fail(st, "200", GRPC_RESOURCE_EXHAUSTED, "too many request bytes buffered on this connection");
        return 0;
    }
    if (st->len + len > st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 16384;
        if (st->len == 0 && len >= 5 && (size_t)be32(data + 1) + 5 > ncap)
            ncap = (size_t)be32(data + 1) + 5; /* the first message's size, from its prefix */
        if (ncap < st->len + len)
            ncap = st->len + len;
        if (ncap > stream_cap)
            ncap = stream_cap;
        uint8_t *nb = realloc(st->body, ncap);
        if (!nb) {
            nghttp2_session_consume(s, id, len);
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
    conn *c = user;
    if (f->hd.type == NGHTTP2_SETTINGS) {
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
            c->got_settings = true;
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    if (f->hd.type == NGHTTP2_DATA && f->hd.length == 0 && !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        !ctrl_take(c)) {
        c->flooded = true; /* empty DATA frames move nothing forward */
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        st->progress_ms = c->r->now;
        if (st->receiving)
            dl_move(&c->recv_progress, &st->by_progress);
        conn_progress(c);
        stream_check_headers(st);
    }
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        st->remote_ended = true;
        stream_process(st);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    conn *c = user;
    if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR && c->end == END_NONE) {
        /* nghttp2 ends the session itself for a protocol error or a flood */
        c->end = f->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM ? END_FLOODED : END_DROPPED;
        return 0;
    }
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
    stream_stop_receiving(st);
    dl_del(&st->all);
    if (st->decoding) {
        /* the client gave up on it: the decoder hands it back as an orphan */
        c->ndecoding--;
        c->queued -= st->held;
        c->buffered -= st->held;
        nghttp2_session_consume_connection(s, st->held);
        st->c = NULL;
    } else {
        if (st->len) {
            c->buffered -= st->len;
            nghttp2_session_consume_connection(s, st->len);
        }
        stream_free(st);
    }
    if (--c->nstreams == 0)
        conn_relist(c);
    return 0;
}

/* ---- connections ---- */

static void conn_free(conn *c)
{
    if (!c)
        return;
    nghttp2_session_del(c->s); /* frees its streams without on_stream_close */
    while (!dl_empty(&c->streams)) {
        stream *st = DL_ENTRY(c->streams.next, stream, all);
        dl_del(&st->all);
        if (st->receiving) {
            dl_del(&st->by_open);
            dl_del(&st->by_progress);
        }
        if (st->decoding)
            st->c = NULL; /* the decoder hands it back as an orphan */
        else
            stream_free(st);
    }
    dl_del(&c->g_link);
    dl_del(&c->a_link);
    dl_del(&c->w_link);
    dl_del(&c->p_link);
    dl_del(&c->f_link);
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
    dl_init(&c->streams);
    dl_init(&c->recv_open);
    dl_init(&c->recv_progress);
    dl_init(&c->g_link);
    dl_init(&c->a_link);
    dl_init(&c->w_link);
    dl_init(&c->p_link);
    dl_init(&c->f_link);
    c->accepted_ms = c->progress_ms = c->tx_ms = c->ctrl_ms = r->now;
    c->ctrl_tokens = (uint64_t)CTRL_BURST * 1000;
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
 * takes; no more is serialized while written bytes wait, so a client that
 * does not read leaves its ACKs queued in nghttp2, which counts them.
 * 0, or -1 when the connection is to be closed. */
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
            c->tx_ms = c->r->now;
        }
        c->out_off = c->out_len = 0;
        while (c->out_len < OUT_FILL) {
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
        c->tx_ms = c->r->now;
    }
}

/* Whether to read c now: the session wants to, and the calls it already
 * handed to the decoders do not hold the receiver over max_queued. */
static bool conn_may_read(const conn *c)
{
    const recv_grpc *r = c->r;
    return !c->dead && nghttp2_session_want_read(c->s) && !(c->queued > 0 && r->queued >= r->o.max_queued);
}

/* Reads what the socket holds (a bounded amount) into the session.
 * 0, or -1 when the connection is to be closed (c->end says why). */
static int conn_read(conn *c)
{
    recv_grpc *r = c->r;
    for (int i = 0; i < READS_PER_TURN; i++) {
        ssize_t n = recv(c->fd, r->rbuf, READ_BUF, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        ssize_t rv = nghttp2_session_mem_recv(c->s, r->rbuf, (size_t)n);
        if (rv < 0) {
            c->end = c->flooded || rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                         ? END_FLOODED
                         : END_DROPPED;
            return -1;
        }
        if ((size_t)n < READ_BUF || !conn_may_read(c))
            break;
    }
    return 0;
}

/* ---- timers: a hashed wheel, one entry per connection ---- */

static void timer_unset(conn *c)
{
    if (dl_linked(&c->w_link)) {
        dl_del(&c->w_link);
        c->r->ntimers--;
    }
}

static void timer_set(conn *c, uint64_t at)
{
    recv_grpc *r = c->r;
    uint64_t t = (at + TICK_MS - 1) / TICK_MS;
    if (t <= r->wheel_tick)
        t = r->wheel_tick + 1;
    timer_unset(c);
    dl_push(&r->wheel[t % WHEEL_SLOTS], &c->w_link);
    r->ntimers++;
    c->timer_at = at;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The earliest deadline of c, in O(1): the receiving lists are ordered. */
static uint64_t conn_deadline(const conn *c)
{
    const recv_grpc *r = c->r;
    const recv_grpc_opts *o = &r->o;
    if (c->closing)
        return c->close_at_ms;
    uint64_t d = UINT64_MAX;
    if (!c->got_settings)
        d = min_u64(d, c->accepted_ms + o->header_timeout_ms);
    if (!dl_empty(&c->recv_open)) {
        const stream *a = DL_ENTRY(c->recv_open.next, stream, by_open);
        d = min_u64(d, a->opened_ms + o->request_timeout_ms);
        const stream *b = DL_ENTRY(c->recv_progress.next, stream, by_progress);
        uint64_t base = c->paused ? r->now : b->progress_ms > c->resume_ms ? b->progress_ms : c->resume_ms;
        d = min_u64(d, base + o->body_timeout_ms);
    }
    if (c->nstreams == 0)
        d = min_u64(d, c->progress_ms + o->idle_timeout_ms);
    if (c->out_off < c->out_len)
        d = min_u64(d, c->tx_ms + o->body_timeout_ms);
    return d;
}

/* Makes sure c's timer fires no later than its earliest deadline (a timer
 * that fires early finds nothing due and is set again). */
static void conn_arm(conn *c)
{
    if (c->dead || c->r->epfd < 0)
        return;
    uint64_t d = conn_deadline(c);
    if (d == UINT64_MAX) {
        timer_unset(c);
        return;
    }
    if (dl_linked(&c->w_link) && c->timer_at <= d)
        return;
    timer_set(c, d);
}

static void addr_put(recv_grpc *r, addr_ent *a);

/* Closes c now: counted by why it ended, unlinked from everything; freed
 * at the end of the loop turn (events of this turn may still name it). */
static void conn_kill(conn *c, int end)
{
    if (c->dead)
        return;
    recv_grpc *r = c->r;
    c->dead = true;
    if (end == END_NONE)
        end = c->end;
    pthread_mutex_lock(&r->mu);
    if (end == END_DROPPED)
        r->st.conns_dropped++;
    else if (end == END_FLOODED)
        r->st.conns_flooded++;
    else if (end == END_SHED)
        r->st.conns_shed++;
    if (c->registered)
        r->st.conns_open = --r->nconns;
    pthread_mutex_unlock(&r->mu);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    timer_unset(c);
    dl_del(&c->p_link);
    dl_del(&c->f_link);
    dl_del(&c->a_link);
    if (c->addr && --c->addr->count == 0)
        addr_put(r, c->addr);
    c->addr = NULL;
    dl_move(&r->dead, &c->g_link);
}

/* Sends GOAWAY (NO_ERROR): no new calls; the answers already queued still
 * go out, then c is closed (at the latest CLOSE_GRACE_MS later). */
static void conn_goaway(conn *c, int end)
{
    if (c->closing || c->dead)
        return;
    nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->s),
                          NGHTTP2_NO_ERROR, NULL, 0);
    c->closing = true;
    c->close_at_ms = c->r->now + CLOSE_GRACE_MS;
    c->end = end;
    conn_want_flush(c);
}

/* Closes c to make room for a new connection: GOAWAY if the socket takes
 * it at once, then close. */
static void conn_shed(conn *c)
{
    nghttp2_session_terminate_session(c->s, NGHTTP2_NO_ERROR);
    (void)conn_flush(c);
    conn_kill(c, END_SHED);
}

/* Deadlines that passed: the header deadline, write stalls, calls too slow
 * (request_timeout_ms in all, body_timeout_ms between DATA frames), the
 * idle timeout, the grace after GOAWAY. */
static void conn_timeouts(conn *c)
{
    recv_grpc *r = c->r;
    const recv_grpc_opts *o = &r->o;
    uint64_t now = r->now;
    char msg[96];
    if (c->closing) {
        if (now >= c->close_at_ms)
            conn_kill(c, END_NONE);
        else
            conn_arm(c);
        return;
    }
    if (!c->got_settings && now >= c->accepted_ms + o->header_timeout_ms) {
        conn_kill(c, END_DROPPED);
        return;
    }
    if (c->out_off < c->out_len && now >= c->tx_ms + o->body_timeout_ms) {
        conn_kill(c, END_DROPPED); /* the client does not read its answers */
        return;
    }
    while (!dl_empty(&c->recv_open)) {
        stream *st = DL_ENTRY(c->recv_open.next, stream, by_open);
        if (now < st->opened_ms + o->request_timeout_ms)
            break;
        snprintf(msg, sizeof msg, "request not complete after %u ms", o->request_timeout_ms);
        stream_fail(st, "200", GRPC_DEADLINE_EXCEEDED, msg);
    }
    if (!c->paused) {
        unsigned stalled = 0;
        while (!dl_empty(&c->recv_progress)) {
            stream *st = DL_ENTRY(c->recv_progress.next, stream, by_progress);
            uint64_t base = st->progress_ms > c->resume_ms ? st->progress_ms : c->resume_ms;
            if (now < base + o->body_timeout_ms)
                break;
            snprintf(msg, sizeof msg, "no request data for %u ms", o->body_timeout_ms);
            stream_fail(st, "200", GRPC_DEADLINE_EXCEEDED, msg);
            stalled++;
        }
        if (stalled && c->nreceiving == 0 && c->ndecoding == 0)
            conn_goaway(c, END_DROPPED); /* every call it had stalled */
    }
    if (c->nstreams == 0 && now >= c->progress_ms + o->idle_timeout_ms)
        conn_goaway(c, END_NONE);
    conn_want_flush(c); /* writes the answers, then sets the timer again */
}

static void timers_run(recv_grpc *r)
{
    uint64_t now_t = r->now / TICK_MS;
    if (now_t <= r->wheel_tick)
        return;
    uint64_t from = r->wheel_tick + 1;
    if (now_t - r->wheel_tick > WHEEL_SLOTS)
        from = now_t - WHEEL_SLOTS + 1;
    for (uint64_t t = from; t <= now_t; t++) {
        r->wheel_tick = t;
        dl *slot = &r->wheel[t % WHEEL_SLOTS];
        if (dl_empty(slot))
            continue;
        dl due; /* the slot's entries, moved aside: re-set ones may land in it again */
        due.next = slot->next;
        due.prev = slot->prev;
        due.next->prev = &due;
        due.prev->next = &due;
        dl_init(slot);
        while (!dl_empty(&due)) {
            conn *c = DL_ENTRY(due.next, conn, w_link);
            dl_del(&c->w_link);
            r->ntimers--;
            if (c->timer_at <= r->now)
                conn_timeouts(c);
            else
                timer_set(c, c->timer_at); /* a later turn of the wheel */
        }
    }
}

/* epoll_wait's timeout: until the next non-empty wheel slot (at most 1 s
 * ahead is looked at) or the end of an accept pause; -1 when none. */
static int next_timeout(recv_grpc *r)
{
    uint64_t now = now_ms();
    int64_t t = -1;
    if (r->ntimers) {
        uint64_t k = r->wheel_tick + 1, last = r->wheel_tick + 1000 / TICK_MS;
        while (k < last && dl_empty(&r->wheel[k % WHEEL_SLOTS]))
            k++;
        t = k * TICK_MS > now ? (int64_t)(k * TICK_MS - now) : 0;
    }
    if (r->accept_paused) {
        int64_t a = r->accept_pause_until > now ? (int64_t)(r->accept_pause_until - now) : 0;
        if (t < 0 || a < t)
            t = a;
    }
    return (int)t;
}

/* After reading, writing or a decoded call: ends a finished session,
 * updates the epoll interest and back-pressure, sets the timer. */
static void conn_update(conn *c)
{
    if (c->dead)
        return;
    recv_grpc *r = c->r;
    bool pending = c->out_off < c->out_len;
    bool reads = nghttp2_session_want_read(c->s);
    if (!reads && !nghttp2_session_want_write(c->s) && !pending) {
        conn_kill(c, END_NONE);
        return;
    }
    bool pause = reads && c->queued > 0 && r->queued >= r->o.max_queued;
    if (pause != c->paused) {
        c->paused = pause;
        if (pause) {
            dl_push(&r->paused, &c->p_link);
        } else {
            dl_del(&c->p_link);
            c->resume_ms = r->now;
        }
    }
    uint32_t ev = (reads && !pause ? EPOLLIN : 0u) | (pending ? EPOLLOUT : 0u);
    if (ev != c->ev) {
        struct epoll_event e = {.events = ev, .data.ptr = c};
        if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &e) != 0) {
            conn_kill(c, END_DROPPED);
            return;
        }
        c->ev = ev;
    }
    conn_arm(c);
}

static void flush_pending(recv_grpc *r)
{
    while (!dl_empty(&r->to_flush)) {
        conn *c = DL_ENTRY(r->to_flush.next, conn, f_link);
        dl_del(&c->f_link);
        if (conn_flush(c) != 0)
            conn_kill(c, END_NONE);
        else
            conn_update(c);
    }
}

static void conn_event(conn *c, uint32_t ev)
{
    if (c->dead)
        return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (conn_may_read(c)) {
            if (conn_read(c) != 0) {
                conn_kill(c, END_NONE);
                return;
            }
        } else if (ev & (EPOLLHUP | EPOLLERR)) {
            conn_kill(c, END_NONE);
            return;
        }
    }
    conn_want_flush(c);
}

/* Calls the decoders handed back: answers them; resumes the connections
 * back-pressure held once the receiver is under max_queued again. */
static void completions_run(recv_grpc *r)
{
    uint64_t v;
    if (read(r->donefd, &v, sizeof v) < 0 && errno != EAGAIN && errno != EINTR)
        return;
    pthread_mutex_lock(&r->qmu);
    stream *st = r->dhead;
    r->dhead = r->dtail = NULL;
    pthread_mutex_unlock(&r->qmu);
    while (st) {
        stream *next = st->qnext;
        stream_complete(r, st);
        st = next;
    }
    if (r->queued < r->o.max_queued)
        for (dl *p = r->paused.next; p != &r->paused; p = p->next)
            conn_want_flush(DL_ENTRY(p, conn, p_link));
}

/* ---- client addresses and the caps ---- */

static void addr_key(const struct sockaddr_storage *ss, uint8_t key[17])
{
    memset(key, 0, 17);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            key[0] = 4;
            memcpy(key + 1, a6->sin6_addr.s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a6->sin6_addr.s6_addr, 16);
        }
    } else if (ss->ss_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    }
}

static uint32_t addr_hash(const uint8_t key[17])
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

static addr_ent *addr_find(const recv_grpc *r, const uint8_t key[17])
{
    for (addr_ent *a = r->addrs[addr_hash(key) & (r->naddr_buckets - 1)]; a; a = a->next)
        if (memcmp(a->key, key, 17) == 0)
            return a;
    return NULL;
}

/* Forgets an address without connections. */
static void addr_put(recv_grpc *r, addr_ent *a)
{
    addr_ent **pp = &r->addrs[addr_hash(a->key) & (r->naddr_buckets - 1)];
    while (*pp && *pp != a)
        pp = &(*pp)->next;
    if (*pp)
        *pp = a->next;
    free(a);
    r->naddrs--;
}

/* The entry of a client address, made when new; NULL when out of memory. */
static addr_ent *addr_get(recv_grpc *r, const uint8_t key[17])
{
    addr_ent *found = addr_find(r, key);
    if (found)
        return found;
    uint32_t h = addr_hash(key);
    if (r->naddrs >= r->naddr_buckets) {
        unsigned n = r->naddr_buckets * 2;
        addr_ent **nb = calloc(n, sizeof *nb);
        if (nb) {
            for (unsigned i = 0; i < r->naddr_buckets; i++) {
                for (addr_ent *a = r->addrs[i], *next; a; a = next) {
                    next = a->next;
                    uint32_t k = addr_hash(a->key) & (n - 1);
                    a->next = nb[k];
                    nb[k] = a;
                }
            }
            free(r->addrs);
            r->addrs = nb;
            r->naddr_buckets = n;
        }
    }
    addr_ent *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    memcpy(a->key, key, 17);
    dl_init(&a->idle);
    dl_init(&a->busy);
    uint32_t k = h & (r->naddr_buckets - 1);
    a->next = r->addrs[k];
    r->addrs[k] = a;
    r->naddrs++;
    return a;
}

/* The connection to shed from a pair of lists: the one without open calls
 * that made progress the longest time ago, else the oldest busy one. */
static conn *oldest(dl *idle, dl *busy, size_t link_off)
{
    dl *n = !dl_empty(idle) ? idle->next : !dl_empty(busy) ? busy->next : NULL;
    return n ? (conn *)(void *)((char *)n - link_off) : NULL;
}

/* Before a new connection from address key (NULL: out of descriptors) is
 * served, sheds connections until it fits under the caps: the one that
 * made no progress for the longest time goes, after one last read (a
 * request already waiting in its socket is progress, and then the next
 * one is considered; at most SHED_READS reads). */
static void make_room(recv_grpc *r, const uint8_t key[17])
{
    for (int tries = 0;; tries++) {
        addr_ent *a = key ? addr_find(r, key) : NULL; /* found again: shedding may free it */
        conn *v = NULL;
        if (!key && r->nconns > 0)
            v = oldest(&r->idle, &r->busy, offsetof(conn, g_link));
        else if (a && a->count >= r->o.max_conns_per_addr)
            v = oldest(&a->idle, &a->busy, offsetof(conn, a_link));
        else if (r->nconns >= r->o.max_conns)
            v = oldest(&r->idle, &r->busy, offsetof(conn, g_link));
        if (!v)
            return;
        if (tries < SHED_READS && r->extra_reads > 0) {
            r->extra_reads--;
            uint64_t before = v->progress_ms;
            conn_event(v, EPOLLIN);
            if (v->dead || v->progress_ms != before)
                continue; /* it went away, or it moved on */
        }
        conn_shed(v);
        if (!key)
            return;
    }
}

static void accept_all(recv_grpc *r)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(r->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (r->nconns > 0) { /* make room, as for the cap */
                    make_room(r, NULL);
                    continue;
                }
                /* the pending connection stays readable: pause rather than spin */
                struct epoll_event e = {.events = 0, .data.ptr = &r->lfd};
                epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->lfd, &e);
                r->accept_paused = true;
                r->accept_pause_until = r->now + 100;
            }
            return;
        }
        /* a cap reached: the new connection is still served */
        uint8_t key[17];
        addr_key(&ss, key);
        make_room(r, key);
        addr_ent *a = addr_get(r, key);
        conn *c = a ? conn_new(r, fd) : NULL;
        if (!c) {
            if (a && a->count == 0)
                addr_put(r, a);
            stat_add(r, &r->st.conns_refused, 1); /* counted before the client can see it */
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->addr = a;
        a->count++;
        c->registered = true;
        dl_push(&a->idle, &c->a_link);
        dl_push(&r->idle, &c->g_link);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        c->ev = EPOLLIN;
        pthread_mutex_lock(&r->mu);
        r->st.conns_accepted++;
        r->st.conns_open = ++r->nconns;
        pthread_mutex_unlock(&r->mu);
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            conn_kill(c, END_DROPPED);
            continue;
        }
        /* read it now: a client's first call is usually in already, and
           handled at once it is progress, so connections accepted after
           it (up to 4096 may wait in the listen queue) cannot shed it
           before its turn in epoll's ready list comes */
        if (r->extra_reads > 0) {
            r->extra_reads--;
            conn_event(c, EPOLLIN);
        } else {
            conn_want_flush(c); /* our SETTINGS; then the header deadline is set */
        }
    }
}

static void free_dead(recv_grpc *r)
{
    while (!dl_empty(&r->dead))
        conn_free(DL_ENTRY(r->dead.next, conn, g_link));
}

static void *loop(void *arg)
{
    recv_grpc *r = arg;
    struct epoll_event evs[EVENTS_PER_TURN];
    for (;;) {
        int n = epoll_wait(r->epfd, evs, EVENTS_PER_TURN, next_timeout(r));
        if (n < 0 && errno != EINTR)
            break;
        r->now = now_ms();
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &r->wakefd)
                stop = true;
            else if (p != &r->lfd && p != &r->donefd)
                conn_event(p, evs[i].events);
        }
        if (stop)
            break;
        /* every turn, not when their turn in epoll's ready list comes: under
           a flood that list is long, and new clients and answers wait in it */
        completions_run(r);
        r->extra_reads = EXTRA_READS;
        if (!r->accept_paused)
            accept_all(r);
        if (r->accept_paused && r->now >= r->accept_pause_until) {
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = &r->lfd};
            epoll_ctl(r->epfd, EPOLL_CTL_MOD, r->lfd, &e);
            r->accept_paused = false;
        }
        timers_run(r);
        flush_pending(r);
        free_dead(r);
    }
    dl *lists[] = {&r->idle, &r->busy, &r->dead};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        while (!dl_empty(lists[i]))
            conn_free(DL_ENTRY(lists[i]->next, conn, g_link));
    r->nconns = 0;
    pthread_mutex_lock(&r->mu);
    r->st.conns_open = 0;
    pthread_mutex_unlock(&r->mu);
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
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
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
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
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

/* Stops the decode threads and frees the streams they still had. */
static void workers_stop(recv_grpc *r)
{
    pthread_mutex_lock(&r->qmu);
    r->qstop = true;
    pthread_cond_broadcast(&r->qcv);
    pthread_mutex_unlock(&r->qmu);
    for (unsigned i = 0; i < r->nworkers; i++)
        pthread_join(r->workers[i], NULL);
    r->nworkers = 0;
    /* the loop has ended: every stream left here is an orphan */
    stream *lists[] = {r->qhead, r->dhead};
    for (size_t i = 0; i < 2; i++) {
        for (stream *st = lists[i], *next; st; st = next) {
            next = st->qnext;
            stream_free(st);
        }
    }
    r->qhead = r->qtail = r->dhead = r->dtail = NULL;
}

static void recv_free(recv_grpc *r)
{
    int fds[] = {r->lfd, r->wakefd, r->donefd, r->epfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    nghttp2_session_callbacks_del(r->cbs);
    nghttp2_option_del(r->nopt);
    for (unsigned i = 0; r->addrs && i < r->naddr_buckets; i++) {
        for (addr_ent *a = r->addrs[i], *next; a; a = next) {
            next = a->next;
            free(a);
        }
    }
    free(r->addrs);
    free(r->rbuf);
    free(r->workers);
    pthread_cond_destroy(&r->qcv);
    pthread_mutex_destroy(&r->qmu);
    pthread_mutex_destroy(&r->mu);
    free((char *)r->o.token);
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
    r->lfd = r->wakefd = r->donefd = r->epfd = -1;
    r->buf = buf;
    r->now = now_ms();
    r->wheel_tick = r->now / TICK_MS;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->qmu, NULL);
    pthread_cond_init(&r->qcv, NULL);
    dl_init(&r->idle);
    dl_init(&r->busy);
    dl_init(&r->dead);
    dl_init(&r->paused);
    dl_init(&r->to_flush);
    for (size_t i = 0; i < WHEEL_SLOTS; i++)
        dl_init(&r->wheel[i]);
    if (opts)
        r->o = *opts;
    recv_grpc_opts *o = &r->o;
    if (o->token && !(o->token = strdup(o->token))) {
        free(r);
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!o->max_message)
        o->max_message = RECV_GRPC_DEFAULT_MAX_MESSAGE;
    if (o->max_message > ((size_t)1 << 30))
        o->max_message = (size_t)1 << 30;
    if (!o->max_conn_bytes)
        o->max_conn_bytes = 4 * o->max_message;
    if (!o->max_queued)
        o->max_queued = RECV_GRPC_DEFAULT_MAX_QUEUED;
    if (!o->max_conns)
        o->max_conns = RECV_GRPC_DEFAULT_MAX_CONNS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t room = rl.rlim_cur > RECV_GRPC_FD_RESERVE + 2 ? (rl.rlim_cur - RECV_GRPC_FD_RESERVE) / 2 : 1;
        if (o->max_conns > room)
            o->max_conns = (unsigned)room;
    }
    if (!o->max_conns_per_addr)
        o->max_conns_per_addr = RECV_GRPC_DEFAULT_MAX_CONNS_PER_ADDR;
    if (!o->max_streams)
        o->max_streams = RECV_GRPC_DEFAULT_MAX_STREAMS;
    if (!o->decode_threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->decode_threads = n > 0 ? (unsigned)n : 1;
    }
    if (o->decode_threads > RECV_GRPC_MAX_DECODE_THREADS)
        o->decode_threads = RECV_GRPC_MAX_DECODE_THREADS;
    if (!o->header_timeout_ms)
        o->header_timeout_ms = RECV_GRPC_DEFAULT_HEADER_MS;
    if (!o->body_timeout_ms)
        o->body_timeout_ms = RECV_GRPC_DEFAULT_BODY_MS;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = RECV_GRPC_DEFAULT_IDLE_MS;
    if (!o->request_timeout_ms)
        o->request_timeout_ms = RECV_GRPC_DEFAULT_REQUEST_MS;
    r->st.conns_cap = o->max_conns;
    r->stream_window = clamp_window(o->max_message + 5);
    r->conn_window = clamp_window(o->max_conn_bytes);
    if (r->conn_window < r->stream_window)
        r->conn_window = r->stream_window;

    if (nghttp2_session_callbacks_new(&r->cbs) != 0 || nghttp2_option_new(&r->nopt) != 0) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        recv_free(r);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_frame_callback(r->cbs, on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(r->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(r->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(r->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(r->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(r->cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(r->cbs, on_stream_close);
    /* windows are given back as calls are decoded: the connection window
       bounds what one connection holds */
    nghttp2_option_set_no_auto_window_update(r->nopt, 1);
    nghttp2_option_set_no_closed_streams(r->nopt, 1);
    nghttp2_option_set_max_outbound_ack(r->nopt, MAX_OUTBOUND_ACK);
    nghttp2_option_set_max_settings(r->nopt, MAX_SETTINGS);
    nghttp2_option_set_stream_reset_rate_limit(r->nopt, RESET_BURST, RESET_RATE);
    nghttp2_option_set_max_continuations(r->nopt, MAX_CONTINUATIONS);
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
        if (!nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s))
            goto out; /* nghttp2 ended the session (GOAWAY for an error) */
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
    char why[128];
    if (listen_on(addr, &r->lfd, &r->port, e) != 0) {
        recv_free(r);
        return NULL;
    }
    r->naddr_buckets = 256;
    r->addrs = calloc(r->naddr_buckets, sizeof *r->addrs);
    r->rbuf = malloc(READ_BUF);
    r->workers = calloc(r->o.decode_threads, sizeof *r->workers);
    if (!r->addrs || !r->rbuf || !r->workers) {
        tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        recv_free(r);
        return NULL;
    }
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->wakefd < 0 || r->donefd < 0 || r->epfd < 0) {
        tc_error_set(e, TC_ERR_IO, "receiver on %s: %s", addr, strerror_r(errno, why, sizeof why));
        recv_free(r);
        return NULL;
    }
    struct epoll_event ev[] = {{.events = EPOLLIN, .data.ptr = &r->wakefd},
                               {.events = EPOLLIN, .data.ptr = &r->lfd},
                               {.events = EPOLLIN, .data.ptr = &r->donefd}};
    int fds[] = {r->wakefd, r->lfd, r->donefd};
    for (size_t i = 0; i < 3; i++) {
        if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fds[i], &ev[i]) != 0) {
            tc_error_set(e, TC_ERR_IO, "receiver on %s: epoll: %s", addr, strerror_r(errno, why, sizeof why));
            recv_free(r);
            return NULL;
        }
    }
    int rc = 0;
    for (unsigned i = 0; i < r->o.decode_threads && rc == 0; i++) {
        rc = pthread_create(&r->workers[i], NULL, worker, r);
        if (rc == 0)
            r->nworkers++;
    }
    if (rc == 0)
        rc = pthread_create(&r->th, NULL, loop, r);
    if (rc != 0) {
        tc_error_set(e, TC_ERR_IO, "receiver on %s: thread: %s", addr, strerror_r(rc, why, sizeof why));
        workers_stop(r);
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
    workers_stop(r);
    recv_free(r);
    *rp = NULL;
}
