/* api_runs.c - the run endpoints of the REST API (docs/api.md, "Runs",
 * "Playground"): starting runs, lists, a run and its trace, cancelling,
 * the event stream (Server-Sent Events, waiting on the run registry's
 * condition variable), select and eval on a stored trace, health and the
 * OpenAPI document. */
#include "server_int.h"

#include "codec/codec.h"
#include "core/expr.h"
#include "core/sel.h"
#include "core/spanattr.h"
#include "trigger/trigger.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* docs/openapi.json, embedded at build time (the Makefile generates it) */
extern const unsigned char server_openapi_json[];
extern const size_t server_openapi_json_len;

#define SSE_KEEPALIVE_NS (15ull * 1000000000ull)
#define SSE_SPANS_NS (100ull * 1000000ull) /* spans events at most this often */
#define SSE_WAIT_NS (250ull * 1000000ull)   /* wait events at most this often */
#define SSE_REMOTE_NS (500ull * 1000000ull) /* a run on another replica: read again this often */

void api_run_start(srv_req *rq, srv_resp *rs, store_run_kind kind, const char *id)
{
    static const char *const fields[] = {"variables", "variableSets", "version", NULL};
    json_t *body = srv_body_object(rq, rs, fields);
    if (!body)
        return;
    runs_create(rq->s, kind, id, body, rs);
    json_decref(body);
}

void api_run_list(srv_req *rq, srv_resp *rs)
{
    server *s = rq->s;
    store_run_filter f = {0};
    const char *v;
    f.resource_id = srv_arg(rq, "test");
    if ((v = srv_arg(rq, "state")) && store_run_state_parse(v, &f.state)) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                 "unknown state \"%s\" (QUEUED, CREATED, TRIGGERING, "
                 "AWAITING_TRACE, EVALUATING, FINISHED, TRIGGER_FAILED, TRACE_FAILED, EVALUATION_FAILED, "
                 "INTERRUPTED, CANCELLED)",
                 v);
        return;
    }
    if ((v = srv_arg(rq, "from")) && srv_parse_time(v, &f.from_ns)) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "from must be an RFC 3339 time, not \"%s\"", v);
        return;
    }
    if ((v = srv_arg(rq, "to")) && srv_parse_time(v, &f.to_ns)) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "to must be an RFC 3339 time, not \"%s\"", v);
        return;
    }
    if ((v = srv_arg(rq, "limit"))) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > (long)STORE_PAGE_MAX) {
            srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "limit must be 1 to %u, not \"%s\"",
                     STORE_PAGE_MAX, v);
            return;
        }
        f.limit = (unsigned)n;
    }
    f.cursor = srv_arg(rq, "cursor");
    if (f.cursor && !*f.cursor)
        f.cursor = NULL;
    store_run_page *p = NULL;
    tc_error e;
    int rc = store_run_list(s->api, &f, &p, &e);
    if (rc == TC_ERR_INPUT) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", e.msg);
        return;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    buf_puts(&rs->body, "{\"items\":[");
    for (size_t i = 0; i < p->n; i++) {
        buf_puts(&rs->body, i ? ",{" : "{");
        runjson_summary(s, &rs->body, &p->runs[i]);
        buf_putc(&rs->body, '}');
    }
    buf_putc(&rs->body, ']');
    if (p->next) {
        buf_puts(&rs->body, ",\"next\":");
        buf_json_string(&rs->body, p->next, strlen(p->next));
    }
    buf_puts(&rs->body, "}\n");
    store_run_page_free(&p);
    srv_json(rs, MHD_HTTP_OK);
}

void api_run_get(srv_req *rq, srv_resp *rs, int64_t id)
{
    server *s = rq->s;
    store_run *r = NULL;
    tc_error e;
    int rc = store_run_get(s->api, id, &r, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no run %lld", (long long)id);
        return;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    srv_run *live = store_run_state_final(r->state) ? NULL : runs_get(s, id);
    if (live) {
        pthread_mutex_lock(&s->mu);
        uint32_t spans = live->spans;
        char tid[33] = "";
        if (live->have_tid)
            hex_encode(live->tid, TRACE_ID_LEN, tid);
        pthread_mutex_unlock(&s->mu);
        if (tid[0] && !r->trace_id) /* known while the run waits */
            r->trace_id = arena_strdup(r->a, tid);
        srv_run snap = {.spans = spans};
        runjson_full(s, &rs->body, r, &snap);
        runs_put(s, live);
    } else {
        runjson_full(s, &rs->body, r, NULL);
    }
    buf_putc(&rs->body, '\n');
    store_run_free(&r);
    srv_json(rs, MHD_HTTP_OK);
}

static bool wants(const srv_req *rq, const char *type)
{
    const char *a = srv_header(rq, MHD_HTTP_HEADER_ACCEPT);
    return a && strcasestr(a, type);
}

/* The trace of a run still in hand as specs will see it: the spans
 * received so far, and, for a trigger that calls the system, the trigger
 * span with the system's roots under it. NULL when no span came yet. */
static trace_set *live_trace(server *s, srv_run *r)
{
    pthread_mutex_lock(&s->mu);
    bool have_tid = r->have_tid, have_sid = r->have_sid;
    uint8_t tid[TRACE_ID_LEN], sid[SPAN_ID_LEN];
    memcpy(tid, r->tid, sizeof tid);
    memcpy(sid, r->sid, sizeof sid);
    trigger_result res = {.ok = r->trig_ok, .status = r->trig_status, .body = ""};
    res.start_ns = r->trig_done ? r->trig_start_ns : (uint64_t)srv_now_ns();
    res.end_ns = r->trig_done ? r->trig_end_ns : res.start_ns;
    pthread_mutex_unlock(&s->mu);
    trace_set *ts = have_tid ? trace_set_new(0) : NULL;
    if (!ts)
        return NULL;
    if (spanbuf_snapshot(s->buf, tid, ts) <= 0) {
        trace_set_free(&ts);
        return NULL;
    }
    if (have_sid) {
        trace *t = trace_set_find(ts, tid);
        for (uint32_t i = 0; t && i < t->n_spans; i++)
            if (!trace_span_has_parent(t->spans[i]))
                memcpy(t->spans[i]->parent_id, sid, SPAN_ID_LEN);
        if (trigger_span_add(ts, tid, sid, &res, NULL))
            trace_set_free(&ts);
    }
    if (ts && trace_set_index(ts))
        trace_set_free(&ts);
    return ts;
}

void api_run_trace(srv_req *rq, srv_resp *rs, int64_t id)
{
    server *s = rq->s;
    uint8_t *data = NULL;
    size_t len = 0;
    tc_error e;
    trace_set *ts = NULL;
    int rc = store_run_trace(s->api, id, &data, &len, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        /* while a run waits: the spans received so far */
        srv_run *live = runs_get(s, id);
        if (live && (ts = live_trace(s, live)) != NULL) {
            tc_buf b;
            buf_init(&b, STORE_MAX_TRACE);
            if (otlp_pb_encode(ts, &b) == 0) {
                len = b.len;
                data = (uint8_t *)buf_detach(&b);
                rc = 0;
            }
            buf_free(&b);
        }
        runs_put(s, live);
        trace_set_free(&ts);
        if (rc) {
            store_run *r = NULL;
            int grc = store_run_get(s->api, id, &r, &e);
            store_run_free(&r);
            if (grc && grc != STORE_ERR_NOT_FOUND)
                srv_fail_store(rs, grc, &e);
            else
                srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found",
                         grc ? "no run %lld" : "run %lld has no trace (yet)", (long long)id);
            return;
        }
    } else if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    if (wants(rq, "application/x-protobuf") || wants(rq, "application/protobuf")) {
        buf_append(&rs->body, data, len);
        rs->status = MHD_HTTP_OK;
        rs->content_type = "application/x-protobuf";
        free(data);
        return;
    }
    ts = trace_set_new(0);
    if (!ts || otlp_pb_decode(ts, data, len, &e) || otlp_json_encode(ts, &rs->body)) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "the stored trace cannot be read");
    } else {
        buf_putc(&rs->body, '\n');
        srv_json(rs, MHD_HTTP_OK);
    }
    trace_set_free(&ts);
    free(data);
}

void api_run_cancel(srv_req *rq, srv_resp *rs, int64_t id)
{
    runs_cancel(rq->s, id, rs);
}

/* ---- events ---- */

typedef struct sse {
    server *s;
    int64_t id;
    srv_run *r; /* the run in hand, or NULL: an ended run */
    size_t sent_states;
    uint32_t sent_spans;
    uint64_t spans_at; /* monotonic: the last spans event */
    uint64_t sent_wait; /* the wait report last sent (its seq) */
    uint64_t wait_at;   /* monotonic: the last wait event */
    bool remote;        /* a run another server (replica) runs: followed in the store */
    uint64_t alive_at; /* monotonic: the last bytes sent */
    bool finished;     /* the stream ends once pend is sent */
    tc_buf pend;
    size_t off;
} sse;

static void state_event(tc_buf *out, store_run_state st, int64_t at)
{
    char t[32];
    buf_printf(out, "event: state\ndata: {\"state\":\"%s\",\"at\":\"%s\"}\n\n", store_run_state_name(st),
               srv_time(at, t));
}

/* The result event (the run as GET gives it), from the store. */
static void result_event(sse *x)
{
    store_run *r = NULL;
    tc_error e;
    int rc = store_run_get(x->s->api, x->id, &r, &e);
    if (rc) {
        buf_printf(&x->pend, "event: error\ndata: {\"code\":\"%s\",\"message\":",
                   store_unavailable(rc) ? "unavailable" : "internal");
        buf_json_string(&x->pend, e.msg, strlen(e.msg));
        buf_puts(&x->pend, "}\n\n");
        return;
    }
    buf_puts(&x->pend, "event: result\ndata: ");
    runjson_full(x->s, &x->pend, r, NULL);
    buf_puts(&x->pend, "\n\n");
    store_run_free(&r);
}

static void abs_deadline(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000ull);
    ts->tv_nsec = (long)(mono_ns % 1000000000ull);
}

/* Fills x->pend with what comes next, waiting for it. */
static void sse_next(sse *x)
{
    server *s = x->s;
    srv_run *r = x->r;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->closing) {
            x->finished = true;
            break;
        }
        if (r->n_timeline > x->sent_states) {
            for (size_t i = x->sent_states; i < r->n_timeline; i++)
                state_event(&x->pend, r->timeline[i].state, r->timeline[i].at_ns);
            x->sent_states = r->n_timeline;
            break;
        }
        if (r->done) {
            pthread_mutex_unlock(&s->mu);
            result_event(x);
            x->finished = true;
            return;
        }
        uint64_t now = spanbuf_now_ns();
        if (r->spans != x->sent_spans && now >= x->spans_at + SSE_SPANS_NS) {
            buf_printf(&x->pend, "event: spans\ndata: {\"count\":%u}\n\n", r->spans);
            x->sent_spans = r->spans;
            x->spans_at = now;
            break;
        }
        bool wait_due = r->state == STORE_RUN_AWAITING_TRACE && r->wait.seq != x->sent_wait;
        if (wait_due && now >= x->wait_at + SSE_WAIT_NS) {
            uint64_t quiet = r->wait.quiet_ns ? r->wait.quiet_ns + (now - r->wait.at_ns) : 0;
            buf_printf(&x->pend,
                       "event: wait\ndata: {\"spans\":%u,\"quiet_ms\":%llu,\"quiet_window_ms\":%llu,"
                       "\"checked\":%s,\"missing_parents\":%u,\"unmatched\":%s}\n\n",
                       r->spans, (unsigned long long)(quiet / 1000000ull),
                       (unsigned long long)(r->wait.quiet_window_ns / 1000000ull),
                       r->wait.checked ? "true" : "false", r->wait.missing,
                       r->wait.checked && r->wait.unmatched ? r->wait.unmatched : "[]");
            x->sent_wait = r->wait.seq;
            x->wait_at = now;
            break;
        }
        if (now >= x->alive_at + SSE_KEEPALIVE_NS) {
            buf_puts(&x->pend, ": keep-alive\n\n");
            break;
        }
        uint64_t until = x->alive_at + SSE_KEEPALIVE_NS;
        if (r->spans != x->sent_spans && x->spans_at + SSE_SPANS_NS < until)
            until = x->spans_at + SSE_SPANS_NS;
        if (wait_due && x->wait_at + SSE_WAIT_NS < until)
            until = x->wait_at + SSE_WAIT_NS;
        struct timespec ts;
        abs_deadline(&ts, until);
        pthread_cond_timedwait(&s->changed, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
}

/* A run on another replica: its new states from the store every
 * SSE_REMOTE_NS, then its result once it has ended. */
static void sse_next_remote(sse *x)
{
    server *s = x->s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool closing = s->closing;
        if (!closing) {
            struct timespec ts;
            abs_deadline(&ts, spanbuf_now_ns() + SSE_REMOTE_NS);
            pthread_cond_timedwait(&s->changed, &s->mu, &ts);
            closing = s->closing;
        }
        pthread_mutex_unlock(&s->mu);
        if (closing) {
            x->finished = true;
            return;
        }
        store_run *r = NULL;
        tc_error e;
        int rc = store_run_get(s->api, x->id, &r, &e);
        if (rc == 0) {
            for (size_t i = x->sent_states; i < r->n_timeline; i++)
                state_event(&x->pend, r->timeline[i].state, r->timeline[i].at_ns);
            x->sent_states = r->n_timeline;
            if (store_run_state_final(r->state)) {
                buf_puts(&x->pend, "event: result\ndata: ");
                runjson_full(s, &x->pend, r, NULL);
                buf_puts(&x->pend, "\n\n");
                x->finished = true;
            }
        }
        store_run_free(&r);
        if (x->pend.len)
            return;
        if (spanbuf_now_ns() >= x->alive_at + SSE_KEEPALIVE_NS) {
            buf_puts(&x->pend, ": keep-alive\n\n");
            return;
        }
    }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *x = cls;
    for (;;) {
        if (x->off < x->pend.len) {
            size_t n = x->pend.len - x->off < max ? x->pend.len - x->off : max;
            memcpy(buf, x->pend.ptr + x->off, n);
            x->off += n;
            x->alive_at = spanbuf_now_ns();
            return (ssize_t)n;
        }
        buf_reset(&x->pend);
        x->off = 0;
        if (x->finished || (!x->r && !x->remote))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (x->remote)
            sse_next_remote(x);
        else
            sse_next(x);
    }
}

static void sse_free(void *cls)
{
    sse *x = cls;
    runs_put(x->s, x->r);
    buf_free(&x->pend);
    free(x);
}

void api_run_events(srv_req *rq, srv_resp *rs, int64_t id)
{
    server *s = rq->s;
    sse *x = calloc(1, sizeof *x);
    if (!x) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    x->s = s;
    x->id = id;
    buf_init(&x->pend, 0);
    x->alive_at = x->spans_at = spanbuf_now_ns();
    x->r = runs_get(s, id);
    if (!x->r) { /* an ended run: its states and result at once */
        store_run *r = NULL;
        tc_error e;
        int rc = store_run_get(s->api, id, &r, &e);
        if (rc) {
            rc == STORE_ERR_NOT_FOUND
                ? srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no run %lld", (long long)id)
                : srv_fail_store(rs, rc, &e);
            sse_free(x);
            return;
        }
        for (size_t i = 0; i < r->n_timeline; i++)
            state_event(&x->pend, r->timeline[i].state, r->timeline[i].at_ns);
        if (store_run_state_final(r->state)) {
            buf_puts(&x->pend, "event: result\ndata: ");
            runjson_full(s, &x->pend, r, NULL);
            buf_puts(&x->pend, "\n\n");
            x->finished = true;
        } else { /* another replica runs it (or ran it and stopped: its sweep ends it) */
            x->remote = true;
            x->sent_states = r->n_timeline;
        }
        store_run_free(&r);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, x, sse_free);
    if (!resp) {
        sse_free(x);
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    rs->stream = resp;
    rs->status = MHD_HTTP_OK;
}

/* ---- select and eval on a stored trace ---- */

/* The stored trace of run `id` (indexed) and the run's trace in it. NULL
 * with rs set. */
static trace_set *stored_trace(server *s, json_t *body, srv_resp *rs, trace **out)
{
    json_t *run = json_object_get(body, "run");
    if (!json_is_integer(run) || json_integer_value(run) < 1) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "\"run\" must be a run id");
        return NULL;
    }
    int64_t id = json_integer_value(run);
    uint8_t *data = NULL;
    size_t len = 0;
    tc_error e;
    int rc = store_run_trace(s->api, id, &data, &len, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "run %lld has no stored trace", (long long)id);
        return NULL;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return NULL;
    }
    trace_set *ts = trace_set_new(0);
    if (!ts || otlp_pb_decode(ts, data, len, &e) || trace_set_index(ts) || trace_set_count(ts) == 0) {
        free(data);
        trace_set_free(&ts);
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                 "the stored trace of run %lld cannot be read", (long long)id);
        return NULL;
    }
    free(data);
    trace *t = trace_set_at(ts, 0);
    if (trace_set_count(ts) > 1) { /* the run's own trace id, when it has one */
        store_run *r = NULL;
        uint8_t tid[TRACE_ID_LEN];
        if (store_run_get(s->api, id, &r, NULL) == 0 && r->trace_id && strlen(r->trace_id) == 32 &&
            hex_decode(r->trace_id, 32, tid, sizeof tid) == 0 && trace_set_find(ts, tid))
            t = trace_set_find(ts, tid);
        store_run_free(&r);
    }
    *out = t;
    return ts;
}

void api_select(srv_req *rq, srv_resp *rs)
{
    static const char *const fields[] = {"run", "selector", NULL};
    json_t *body = srv_body_object(rq, rs, fields);
    if (!body)
        return;
    json_t *sj = json_object_get(body, "selector");
    const char *src = json_is_string(sj) ? json_string_value(sj) : NULL;
    sel_query *q = NULL;
    trace_set *ts = NULL;
    arena *a = NULL;
    tc_error e;
    trace *t = NULL;
    if (!src) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "\"selector\" must be a string");
        goto out;
    }
    if (sel_parse(src, strlen(src), &q, &e)) {
        srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", 0, e.col, "invalid selector: %s", e.msg);
        goto out;
    }
    if (!(ts = stored_trace(rq->s, body, rs, &t)))
        goto out;
    a = arena_new(0);
    trace_span **spans = NULL;
    uint32_t n = 0;
    int rc = a ? sel_match(q, ts, t, a, &spans, &n) : TC_ERR_NOMEM;
    if (rc) {
        srv_fail(rs, rc == TC_ERR_LIMIT ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                 rc == TC_ERR_LIMIT ? "bad_request" : "internal",
                 rc == TC_ERR_LIMIT ? "the selector needs too much work on this trace" : "out of memory");
        goto out;
    }
    buf_puts(&rs->body, "{\"spans\":[");
    for (uint32_t i = 0; i < n; i++) {
        char id[17];
        hex_encode(spans[i]->span_id, SPAN_ID_LEN, id);
        buf_printf(&rs->body, "%s\"%s\"", i ? "," : "", id);
    }
    buf_puts(&rs->body, "]}\n");
    srv_json(rs, MHD_HTTP_OK);
out:
    sel_free(&q);
    arena_free(&a);
    trace_set_free(&ts);
    json_decref(body);
}

typedef struct eval_scope {
    arena *a;
    const trace_span *span;
} eval_scope;

static int eval_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    eval_scope *sc = user;
    if (n == 30 && memcmp(name, "tracetest.selected_spans.count", 30) == 0) {
        *val = "1";
        *len = 1;
        return EXPR_FOUND;
    }
    tc_value v;
    if (spanattr_get(sc->a, sc->span, name, n, &v))
        return EXPR_MISSING;
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    *val = arena_strndup(sc->a, buf_str(&b), b.len);
    *len = b.len;
    buf_free(&b);
    return *val ? EXPR_FOUND : EXPR_MISSING;
}

void api_eval(srv_req *rq, srv_resp *rs)
{
    static const char *const fields[] = {"run", "span", "expression", NULL};
    json_t *body = srv_body_object(rq, rs, fields);
    if (!body)
        return;
    json_t *xj = json_object_get(body, "expression"), *sj = json_object_get(body, "span");
    const char *src = json_is_string(xj) ? json_string_value(xj) : NULL;
    const char *sid = json_is_string(sj) ? json_string_value(sj) : NULL;
    expr *x = NULL;
    trace_set *ts = NULL;
    arena *a = NULL;
    tc_error e;
    trace *t = NULL;
    uint8_t id[SPAN_ID_LEN];
    if (!src) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "\"expression\" must be a string");
        goto out;
    }
    if (!sid || strlen(sid) != 16 || hex_decode(sid, 16, id, sizeof id)) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "\"span\" must be a span id (16 hex digits)");
        goto out;
    }
    if (expr_parse(src, strlen(src), EXPR_PARSE_ANY, &x, &e)) {
        srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", 0, e.col, "%s", e.msg);
        goto out;
    }
    if (!(ts = stored_trace(rq->s, body, rs, &t)))
        goto out;
    eval_scope sc = {trace_set_arena(ts), trace_find_span(t, id)};
    if (!sc.span) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "span %s is not in the run's trace", sid);
        goto out;
    }
    a = arena_new(0);
    if (!a) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        goto out;
    }
    expr_ctx ctx = {.attr = eval_attr, .user = &sc};
    if (expr_comparator(x) != EXPR_CMP_NONE) {
        expr_result r;
        if (expr_eval_statement(x, &ctx, a, &r)) {
            srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
            goto out;
        }
        if (r.error) {
            srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", r.error);
            goto out;
        }
        buf_printf(&rs->body, "{\"passed\":%s,\"observed\":", r.passed ? "true" : "false");
        buf_json_string(&rs->body, r.observed, strlen(r.observed));
        buf_puts(&rs->body, ",\"expected\":");
        buf_json_string(&rs->body, r.expected, strlen(r.expected));
        buf_puts(&rs->body, "}\n");
    } else {
        expr_value val;
        memset(&e, 0, sizeof e);
        if (expr_eval(x, &ctx, a, &val, &e)) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", 0, e.col, "%s", e.msg);
            goto out;
        }
        const char *text = expr_value_text(&val, a);
        buf_puts(&rs->body, "{\"value\":");
        buf_json_string(&rs->body, text ? text : "", text ? strlen(text) : 0);
        buf_printf(&rs->body, ",\"type\":\"%s\"}\n", expr_type_name(val.list ? EXPR_ARRAY : val.type));
    }
    srv_json(rs, MHD_HTTP_OK);
out:
    expr_free(&x);
    arena_free(&a);
    trace_set_free(&ts);
    json_decref(body);
}

/* ---- health, OpenAPI ---- */

void api_health(srv_req *rq, srv_resp *rs)
{
    server *s = rq->s;
    store_resource_page *p = NULL;
    tc_error e;
    int rc = store_resource_list(s->api, RES_TEST, NULL, 1, &p, &e); /* one cheap read */
    store_resource_page_free(&p);
    bool up = rc == 0;
    buf_printf(&rs->body, "{\"status\":\"%s\",\"store\":\"%s\",\"version\":", up ? "ok" : "unavailable",
               store_backend(s->api));
    buf_json_string(&rs->body, s->o.version ? s->o.version : "", s->o.version ? strlen(s->o.version) : 0);
    if (!up) {
        buf_puts(&rs->body, ",\"error\":");
        buf_json_string(&rs->body, e.msg, strlen(e.msg));
        rs->retry_after = true;
    }
    buf_puts(&rs->body, "}\n");
    srv_json(rs, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE);
}

void api_openapi(srv_req *rq, srv_resp *rs)
{
    (void)rq;
    buf_append(&rs->body, server_openapi_json, server_openapi_json_len);
    srv_json(rs, MHD_HTTP_OK);
}
