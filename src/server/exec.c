/* exec.c - one run on a worker thread: the runner `tracecheck run` uses
 * (trigger, wait for a complete trace, evaluate), its progress read back
 * from the runner's status line and passed to the store and the run's
 * followers, then the run's end: the JSON report of the test, the trigger
 * and outputs documents and the trace (OTLP protobuf), secrets masked,
 * stored in one store_run_finish, retried while the database is down. */
#include "server_int.h"

#include "codec/codec.h"
#include "core/expr.h"
#include "report/report.h"
#include "run/mask.h"
#include "run/runner.h"
#include "source/source.h"
#include "trigger/trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- progress: the runner's callback ---- */

typedef struct progress {
    server *s;
    store *st;
    srv_run *r;
    run_state last;
    bool warned; /* a store failure was logged */
} progress;

static store_run_state to_store_state(run_state s)
{
    store_run_state out = STORE_RUN_EVALUATION_FAILED;
    store_run_state_parse(run_state_name(s), &out);
    return out;
}

static void set_state(progress *p, run_state st, int64_t at_ns)
{
    server *s = p->s;
    store_run_state sst = to_store_state(st);
    pthread_mutex_lock(&s->mu);
    bool dropped = p->r->cancelled;
    if (!dropped)
        runs_push_state_locked(s, p->r, sst, at_ns);
    pthread_mutex_unlock(&s->mu);
    p->last = st;
    if (dropped)
        return;
    tc_error e;
    int rc = store_run_set_state(p->st, p->r->id, sst, &e);
    if (rc && rc != STORE_ERR_CONFLICT && !p->warned) {
        p->warned = true;
        srv_log(s, "run %lld: state %s not stored: %s", (long long)p->r->id, store_run_state_name(sst),
                e.msg);
    }
}

/* The selectors still unmatched, as a JSON array (malloc'd). */
static char *unmatched_json(const run_progress *p)
{
    tc_buf b;
    buf_init(&b, 1 << 16);
    buf_putc(&b, '[');
    for (uint32_t i = 0; i < p->n_unmatched; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_json_string(&b, p->unmatched[i], strlen(p->unmatched[i]));
    }
    buf_putc(&b, ']');
    char *out = b.failed ? NULL : strdup(buf_str(&b));
    buf_free(&b);
    return out;
}

/* The runner's progress: states to the store and the followers, the trace
 * id and trigger span for the live trace, the wait for completeness for
 * the event stream. Returns true (cancel) once the run was cancelled or
 * ended by the server's stop. */
static bool on_progress(void *user, const run_progress *p)
{
    progress *pg = user;
    server *s = pg->s;
    srv_run *r = pg->r;
    if (p->state != pg->last && (p->state == RUN_TRIGGERING || p->state == RUN_AWAITING_TRACE))
        set_state(pg, p->state, srv_now_ns());
    char *unmatched = p->checked ? unmatched_json(p) : NULL;
    pthread_mutex_lock(&s->mu);
    bool changed = false;
    if (!r->have_tid && p->trace_id[0] && hex_decode(p->trace_id, 32, r->tid, sizeof r->tid) == 0)
        r->have_tid = changed = true;
    if (!r->have_sid && p->span_id[0] && hex_decode(p->span_id, 16, r->sid, sizeof r->sid) == 0)
        r->have_sid = changed = true;
    if (p->trigger && !r->trig_done) {
        r->trig_done = changed = true;
        r->trig_ok = p->trigger->ok;
        r->trig_status = p->trigger->status;
        r->trig_start_ns = p->trigger->start_ns;
        r->trig_end_ns = p->trigger->end_ns;
    }
    if (r->spans != p->spans) {
        r->spans = p->spans;
        changed = true;
    }
    if (p->state == RUN_AWAITING_TRACE) {
        r->wait.quiet_ns = p->quiet_ns;
        r->wait.quiet_window_ns = p->quiet_window_ns;
        r->wait.at_ns = spanbuf_now_ns();
        r->wait.checked = p->checked;
        r->wait.missing = p->missing_parents;
        if (unmatched) {
            free(r->wait.unmatched);
            r->wait.unmatched = unmatched;
            unmatched = NULL;
        }
        r->wait.seq++;
        changed = true;
    }
    bool cancel = r->cancelled;
    if (changed)
        pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    free(unmatched);
    return cancel;
}

/* ---- masking the trace ---- */

static bool has_secret(const vars *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].secret && strlen(v->items[i].value) >= 3)
            return true;
    return false;
}

/* s[0..*len) with every secret value replaced by MASK_TEXT (a copy in a),
 * or s when it holds none. */
static const char *mask_n(const vars *v, const char *s, uint32_t *len, arena *a)
{
    const char *cur = s;
    size_t n = *len;
    for (size_t i = 0; cur && i < v->n; i++) {
        const vars_entry *x = &v->items[i];
        size_t sl = strlen(x->value);
        if (!x->secret || sl < 3 || !memmem(cur, n, x->value, sl))
            continue;
        tc_buf b;
        buf_init(&b, 0);
        const char *p = cur, *end = cur + n, *hit;
        while ((hit = memmem(p, (size_t)(end - p), x->value, sl))) {
            buf_append(&b, p, (size_t)(hit - p));
            buf_puts(&b, MASK_TEXT);
            p = hit + sl;
        }
        buf_append(&b, p, (size_t)(end - p));
        char *copy = b.failed ? NULL : arena_strndup(a, buf_str(&b), b.len);
        if (copy) {
            cur = copy;
            n = b.len;
        }
        buf_free(&b);
    }
    *len = (uint32_t)n;
    return cur;
}

static const char *mask_cstr(const vars *v, const char *s, arena *a)
{
    if (!s)
        return s;
    uint32_t n = (uint32_t)strlen(s);
    return mask_n(v, s, &n, a);
}

static void mask_attrs(const vars *v, tc_attr *attrs, uint32_t n, arena *a, int depth);

static void mask_value(const vars *v, tc_value *val, arena *a, int depth)
{
    if (depth > 64)
        return;
    if (val->type == TC_V_STRING && val->u.str)
        val->u.str = mask_n(v, val->u.str, &val->len, a);
    else if (val->type == TC_V_ARRAY)
        for (uint32_t i = 0; i < val->len; i++)
            mask_value(v, &val->u.arr[i], a, depth + 1);
    else if (val->type == TC_V_KVLIST)
        mask_attrs(v, val->u.kv, val->len, a, depth + 1);
}

static void mask_attrs(const vars *v, tc_attr *attrs, uint32_t n, arena *a, int depth)
{
    for (uint32_t i = 0; attrs && i < n; i++)
        mask_value(v, &attrs[i].value, a, depth);
}

/* Masks the secrets of v in every text of the trace: names, attribute
 * values (of spans, events, links, resources and scopes), status messages. */
static void mask_trace(trace_set *ts, const vars *v)
{
    if (!ts || !has_secret(v))
        return;
    arena *a = trace_set_arena(ts);
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        for (uint32_t k = 0; k < t->n_spans; k++) {
            trace_span *sp = t->spans[k];
            sp->name = mask_cstr(v, sp->name, a);
            sp->status_message = mask_cstr(v, sp->status_message, a);
            sp->trace_state = mask_cstr(v, sp->trace_state, a);
            mask_attrs(v, sp->attrs, sp->n_attrs, a, 0);
            for (uint32_t x = 0; x < sp->n_events; x++) {
                sp->events[x].name = mask_cstr(v, sp->events[x].name, a);
                mask_attrs(v, sp->events[x].attrs, sp->events[x].n_attrs, a, 0);
            }
            for (uint32_t x = 0; x < sp->n_links; x++)
                mask_attrs(v, sp->links[x].attrs, sp->links[x].n_attrs, a, 0);
            mask_attrs(v, sp->resource->attrs, sp->resource->n_attrs, a, 0);
            mask_attrs(v, sp->scope->attrs, sp->scope->n_attrs, a, 0);
        }
    }
}

/* ---- the run's documents ---- */

static int interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    expr_ctx ctx = {.var = vars_lookup_var, .env = vars_lookup_env, .user = user};
    return expr_interpolate(s, strlen(s), &ctx, a, out, e);
}

static void jstr(tc_buf *out, const char *s)
{
    if (s)
        buf_json_string(out, s, strlen(s));
    else
        buf_puts(out, "null");
}

static bool hidden_header(const char *name, const trigger_http_request *req)
{
    return strcasecmp(name, "Authorization") == 0 || strcasecmp(name, "Proxy-Authorization") == 0 ||
           strcasecmp(name, "Cookie") == 0 ||
           (req->auth == TRIGGER_AUTH_APIKEY && !req->key_in_query && req->key &&
            strcasecmp(name, req->key) == 0);
}

static void request_doc(tc_buf *out, const res_test *t, const run_result *rr, vars *v, arena *a)
{
    const res_trigger *tr = &t->trigger;
    if (tr->type == RES_TRIG_HTTP || tr->type == RES_TRIG_GRAPHQL) {
        trigger_http_request req;
        tc_error e;
        int rc = tr->type == RES_TRIG_HTTP ? trigger_http_from_test(t, NULL, interp, v, a, &req, &e)
                                           : trigger_graphql_from_test(t, NULL, interp, v, a, &req, &e);
        if (rc) {
            buf_puts(out, "null");
            return;
        }
        static const char *const auth[] = {NULL, "basic", "bearer", "apiKey"};
        buf_puts(out, "{\"method\":");
        jstr(out, req.method ? req.method : "GET");
        buf_puts(out, ",\"url\":");
        jstr(out, mask_text(v, req.url, a));
        buf_puts(out, ",\"headers\":[");
        for (size_t i = 0; i < req.n_headers; i++) {
            buf_puts(out, i ? ",{\"key\":" : "{\"key\":");
            jstr(out, req.headers[i].key);
            buf_puts(out, ",\"value\":");
            jstr(out,
                 hidden_header(req.headers[i].key, &req) ? MASK_TEXT : mask_text(v, req.headers[i].value, a));
            buf_putc(out, '}');
        }
        buf_puts(out, "],\"body\":");
        jstr(out, mask_text(v, req.body, a));
        buf_puts(out, ",\"auth\":");
        jstr(out, (unsigned)req.auth < 4 ? auth[req.auth] : NULL);
        buf_putc(out, '}');
    } else if (tr->type == RES_TRIG_TRACEID) {
        buf_puts(out, "{\"id\":");
        jstr(out, rr->trace_id[0] ? rr->trace_id : NULL);
        buf_putc(out, '}');
    } else if (tr->type == RES_TRIG_GRPC) {
        buf_puts(out, "{\"address\":");
        jstr(out, mask_text(v, tr->grpc.address.s, a));
        buf_puts(out, ",\"service\":");
        jstr(out, tr->grpc.service.s);
        buf_puts(out, ",\"method\":");
        jstr(out, tr->grpc.method.s);
        buf_putc(out, '}');
    } else if (tr->type == RES_TRIG_KAFKA) {
        buf_puts(out, "{\"topic\":");
        jstr(out, mask_text(v, tr->kafka.topic.s, a));
        buf_puts(out, ",\"brokerUrls\":[");
        for (size_t i = 0; i < tr->kafka.n_broker_urls; i++) {
            if (i)
                buf_putc(out, ',');
            jstr(out, mask_text(v, tr->kafka.broker_urls[i].s, a));
        }
        buf_puts(out, "]}");
    } else {
        buf_puts(out, "{}");
    }
}

static const char *attr_text(const trace_span *sp, const char *key, tc_buf *tmp)
{
    const tc_value *val = trace_span_attr(sp, key, strlen(key));
    if (!val)
        return NULL;
    buf_reset(tmp);
    value_to_text(tmp, val);
    return buf_str(tmp);
}

/* The trigger's answer, from the trigger span of the (masked) trace. */
static void response_doc(tc_buf *out, const run_result *rr)
{
    const trace_span *ts = NULL;
    for (uint32_t i = 0; rr->t && i < rr->t->n_spans && !ts; i++) {
        const trace_span *sp = rr->t->spans[i];
        if (trace_span_attr(sp, "tracetest.run.trigger.type", 26) &&
            strcmp(trace_span_service(sp), "tracetest") == 0)
            ts = sp;
    }
    tc_buf tmp;
    buf_init(&tmp, 0);
    const char *status = ts ? attr_text(ts, "tracetest.response.status", &tmp) : NULL;
    if (!status) {
        buf_puts(out, "null");
        buf_free(&tmp);
        return;
    }
    buf_printf(out, "{\"status\":%d,\"headers\":", atoi(status));
    const char *h = attr_text(ts, "tracetest.response.headers", &tmp);
    json_t *hj = h ? json_loads(h, 0, NULL) : NULL;
    char *hs = json_is_array(hj) ? json_dumps(hj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    buf_puts(out, hs ? hs : "[]");
    free(hs);
    json_decref(hj);
    buf_puts(out, ",\"body\":");
    const char *body = attr_text(ts, "tracetest.response.body", &tmp);
    jstr(out, body);
    buf_putc(out, '}');
    buf_free(&tmp);
}

/* A test's trigger document; a suite's step (step_id set) also names its
 * test and trace. */
static void trigger_doc(tc_buf *out, const res_test *t, const run_result *rr, vars *v, arena *a,
                        const char *step_id)
{
    const char *type =
        t->trigger.type_name.s ? t->trigger.type_name.s : res_trigger_type_name(t->trigger.type);
    buf_puts(out, "{\"type\":");
    jstr(out, type);
    if (step_id) {
        buf_puts(out, ",\"test\":");
        jstr(out, step_id);
        buf_puts(out, ",\"trace_id\":");
        if (rr->trace_id[0])
            jstr(out, rr->trace_id);
        else
            buf_puts(out, "null");
    }
    buf_puts(out, ",\"request\":");
    request_doc(out, t, rr, v, a);
    buf_puts(out, ",\"response\":");
    response_doc(out, rr);
    buf_putc(out, '}');
}

/* ---- ending the run ---- */

static void end_wait(server *s, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    pthread_cond_timedwait(&s->changed, &s->mu, &until);
    pthread_mutex_unlock(&s->mu);
}

/* Stores the run's end; while the database is unavailable it keeps trying
 * (the run is kept in memory), until the run is ended by someone else (a
 * cancel, or the server stopping). Returns true when this end was stored. */
static bool finish(server *s, store *st, srv_run *r, store_run_end *end)
{
    bool warned = false;
    tc_error e;
    char why[TC_ERROR_MSG_MAX + 64];
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool dropped = r->cancelled;
        pthread_mutex_unlock(&s->mu);
        if (dropped)
            return false;
        int rc = store_run_finish(st, r->id, end, &e);
        if (rc == 0) {
            pthread_mutex_lock(&s->mu);
            if (!r->cancelled) {
                runs_push_state_locked(s, r, end->state, srv_now_ns());
                r->done = true;
            }
            pthread_mutex_unlock(&s->mu);
            if (warned)
                srv_log(s, "run %lld: the database is back, its end is stored", (long long)r->id);
            return true;
        }
        if (rc == STORE_ERR_CONFLICT) /* ended by a cancel or the stop meanwhile */
            return false;
        if (store_unavailable(rc)) {
            if (!warned)
                srv_log(s, "run %lld: the database is unavailable (%s); its end is kept until it is back",
                        (long long)r->id, e.msg);
            warned = true;
            end_wait(s, 1000);
            continue;
        }
        if (end->trace || end->results || end->trigger || end->outputs) {
            /* refused (too large): the end without its documents */
            srv_log(s, "run %lld: its results cannot be stored (%s); stored without them", (long long)r->id,
                    e.msg);
            snprintf(why, sizeof why, "the run's results could not be stored: %s", e.msg);
            end->trace = NULL;
            end->trace_len = 0;
            end->results = end->trigger = end->outputs = NULL;
            end->error = why;
            end->result = STORE_RESULT_ERROR;
            continue;
        }
        srv_log(s, "run %lld: its end cannot be stored: %s", (long long)r->id, e.msg);
        pthread_mutex_lock(&s->mu);
        r->done = true;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->mu);
        return false;
    }
}

void exec_run(server *s, store *st, srv_run *r)
{
    srv_job *j = r->job;
    pthread_mutex_lock(&s->mu);
    bool dropped = r->cancelled;
    pthread_mutex_unlock(&s->mu);
    if (dropped)
        return;
    progress pg = {s, st, r, RUN_CREATED, false};
    set_state(&pg, RUN_CREATED, srv_now_ns());

    size_t n = j->n_steps;
    report_test *reports = calloc(n, sizeof *reports);
    run_result *results = calloc(n, sizeof *results);
    arena *a = arena_new(0);
    source *src = NULL;
    tc_buf trig, outs, res, pb;
    buf_init(&trig, STORE_MAX_JSON);
    buf_init(&outs, STORE_MAX_JSON);
    buf_init(&res, STORE_MAX_JSON);
    buf_init(&pb, STORE_MAX_TRACE);
    trace_set *merged = NULL;
    const char *open_error = NULL;
    store_run_end end = {.state = STORE_RUN_EVALUATION_FAILED, .result = STORE_RESULT_ERROR};
    if (!reports || !results || !a) {
        end.error = "out of memory";
        goto store;
    }
    if (j->scfg) {
        tc_error e;
        if (source_open(j->scfg, &src, &e))
            open_error = arena_strdup(a, e.msg);
    }

    int stopped = -1; /* the step that could not run (a suite skips the rest) */
    uint32_t passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        const res_test *t = j->steps[i];
        report_test *rt = &reports[i];
        run_result *rr = &results[i];
        rt->name = t->name.s ? t->name.s : j->step_ids[i];
        rt->id = t->id.s ? t->id.s : j->step_ids[i];
        pthread_mutex_lock(&s->mu);
        dropped = r->cancelled;
        pthread_mutex_unlock(&s->mu);
        if (stopped >= 0 || dropped || open_error) {
            rt->skipped = stopped >= 0 || dropped;
            rt->state = open_error ? "TRIGGER_FAILED" : NULL;
            rt->error = open_error ? open_error
                        : dropped  ? "the run was cancelled"
                                   : "an earlier step of the suite could not run";
            if (stopped < 0)
                stopped = (int)i;
            continue;
        }
        char label[STORE_MAX_ID + 32];
        snprintf(label, sizeof label, "%s@%d", j->step_ids[i], j->step_versions[i]);
        pg.last = RUN_CREATED;
        pthread_mutex_lock(&s->mu); /* a suite's step: the live trace is this step's */
        r->have_sid = r->trig_done = false;
        if (i > 0)
            r->have_tid = false;
        pthread_mutex_unlock(&s->mu);
        runner_opts ro = {.buf = s->buf,
                          .timeout_ns = s->o.timeout_ns,
                          .quiet_ns = s->o.quiet_ns,
                          .selector_match_retries = -1,
                          .polling = j->polling[i],
                          .file = label,
                          .src = src,
                          .progress = on_progress,
                          .progress_user = &pg};
        uint64_t t0 = spanbuf_now_ns();
        int rc = runner_run_test(&ro, t, NULL, &j->v, rr); /* NULL: the server's files stay unread */
        if (rc) {
            rt->state = "EVALUATION_FAILED";
            rt->error = "out of memory";
            stopped = (int)i;
            continue;
        }
        if (rr->state_ns[RUN_EVALUATING]) { /* at the time the runner began to evaluate */
            uint64_t mono = spanbuf_now_ns();
            set_state(&pg, RUN_EVALUATING, srv_now_ns() - (int64_t)(mono - rr->state_ns[RUN_EVALUATING]));
        }
        if (report_from_run(rt, rr, src, a)) {
            rt->error = "out of memory";
            stopped = (int)i;
            continue;
        }
        rt->duration_ns = spanbuf_now_ns() - t0;
        if (rt->run)
            for (uint32_t k = 0; k < rt->run->n_outputs; k++)
                if (rt->run->outputs[k].value && rt->run->outputs[k].name)
                    vars_set(&j->v, rt->run->outputs[k].name, rt->run->outputs[k].value, false, "output");
        if (rt->run) {
            mask_spec_run(&j->v, (spec_run *)rt->run, a);
            passed += rt->run->n_specs - rt->run->n_failed;
            failed += rt->run->n_failed;
        }
        rt->error = mask_text(&j->v, rt->error, a);
        mask_trace(rr->ts, &j->v);
        if (rt->error)
            stopped = (int)i;
    }

    /* the end: state and result */
    end.passed = passed;
    end.failed = failed;
    end.state = STORE_RUN_FINISHED;
    for (size_t i = 0; i < n; i++)
        if (reports[i].error) {
            if (results[i].a && results[i].state != RUN_FINISHED)
                end.state = to_store_state(results[i].state);
            else if (open_error)
                end.state = STORE_RUN_TRIGGER_FAILED;
            else
                end.state = STORE_RUN_EVALUATION_FAILED;
            if (n > 1) {
                char *why = arena_alloc(a, strlen(reports[i].error) + STORE_MAX_ID + 32);
                if (why)
                    sprintf(why, "step %zu (%s): %s", i + 1, j->step_ids[i], reports[i].error);
                end.error = why ? why : reports[i].error;
            } else {
                end.error = reports[i].error;
            }
            break;
        }
    end.result = end.state != STORE_RUN_FINISHED ? STORE_RESULT_ERROR
                 : failed                        ? STORE_RESULT_FAILED
                                                 : STORE_RESULT_PASSED;

    /* the documents */
    if (r->kind == STORE_TEST_RUN)
        report_json_test(&res, &reports[0]);
    else
        report_json(&res, reports, n);
    uint32_t spans = 0;
    if (r->kind == STORE_TEST_RUN) {
        trigger_doc(&trig, j->steps[0], &results[0], &j->v, a, NULL);
        spans = results[0].n_spans;
    } else {
        buf_puts(&trig, "{\"type\":\"suite\",\"steps\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_putc(&trig, ',');
            if (results[i].a)
                trigger_doc(&trig, j->steps[i], &results[i], &j->v, a, j->step_ids[i]);
            else
                buf_puts(&trig, "null");
            spans += results[i].n_spans;
        }
        buf_puts(&trig, "]}");
    }
    /* the span count rides in the trigger document (the store has no column for it) */
    if (trig.len && buf_str(&trig)[trig.len - 1] == '}') {
        trig.len--;
        buf_printf(&trig, ",\"spans\":%u}", spans);
    }
    buf_putc(&outs, '{');
    json_t *outputs = json_object();
    for (size_t i = 0; outputs && i < n; i++)
        for (uint32_t k = 0; reports[i].run && k < reports[i].run->n_outputs; k++) {
            const output_result *o = &reports[i].run->outputs[k];
            if (o->name && o->value)
                json_object_set_new(outputs, o->name, json_string(o->value));
        }
    char *outs_text = outputs ? json_dumps(outputs, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(outputs);
    buf_reset(&outs);
    buf_puts(&outs, outs_text ? outs_text : "{}");
    free(outs_text);

    /* the trace: the test's, or every step's in one set */
    trace_set *tr = r->kind == STORE_TEST_RUN ? results[0].ts : NULL;
    if (r->kind == STORE_SUITE_RUN && (merged = trace_set_new(0))) {
        tc_error e;
        for (size_t i = 0; i < n; i++)
            for (uint32_t k = 0; results[i].ts && k < trace_set_count(results[i].ts); k++) {
                trace *t = trace_set_at(results[i].ts, k);
                for (uint32_t x = 0; x < t->n_spans; x++)
                    trace_set_copy_span(merged, t->spans[x], &e);
            }
        tr = merged;
    }
    if (tr && trace_set_span_count(tr) && otlp_pb_encode(tr, &pb)) {
        srv_log(s, "run %lld: the trace is larger than %zu bytes: not kept", (long long)r->id,
                (size_t)STORE_MAX_TRACE);
        buf_reset(&pb);
    }
    end.trace_id = r->kind == STORE_TEST_RUN && results[0].trace_id[0] ? results[0].trace_id : NULL;
    end.trigger = trig.failed ? NULL : buf_str(&trig);
    end.results = res.failed ? NULL : buf_str(&res);
    end.outputs = outs.failed ? NULL : buf_str(&outs);
    end.trace = pb.len && !pb.failed ? pb.ptr : NULL;
    end.trace_len = end.trace ? pb.len : 0;
store:
    if (finish(s, st, r, &end))
        srv_log(s, "run %lld: %s \"%s\" %s %s (specs: %u passed, %u failed)", (long long)r->id,
                r->kind == STORE_TEST_RUN ? "test" : "suite", r->resource_id, store_run_state_name(end.state),
                store_result_name(end.result), end.passed, end.failed);
    else
        srv_log(s, "run %lld: ended elsewhere (cancelled, or the server stopped); this result is dropped",
                (long long)r->id);
    for (size_t i = 0; results && i < n; i++)
        run_result_free(&results[i]);
    free(results);
    free(reports);
    trace_set_free(&merged);
    source_close(&src);
    arena_free(&a);
    buf_free(&trig);
    buf_free(&outs);
    buf_free(&res);
    buf_free(&pb);
}
