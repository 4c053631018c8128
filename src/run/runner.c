/* runner.c - the run state machine: trigger, wait for a complete trace,
 * evaluate (see runner.h). */
#include "runner.h"

#include "core/sel.h"
#include "trigger/grpc.h"
#include "trigger/kafka.h"
#include "trigger/trigger.h"

#include <stdarg.h>
#include <sys/random.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const state_names[RUN_N_STATES] = {
    "CREATED",  "TRIGGERING",     "AWAITING_TRACE", "EVALUATING",
    "FINISHED", "TRIGGER_FAILED", "TRACE_FAILED",   "EVALUATION_FAILED",
};

const char *run_state_name(run_state s)
{
    return (unsigned)s < RUN_N_STATES ? state_names[s] : "UNKNOWN";
}

typedef struct run_ctx {
    const runner_opts *o;
    const res_test *t;
    vars *v;
    run_result *r;
    const char *name;
    unsigned spin;
    /* for the progress callback */
    char tid[33], sid[17];
    const trigger_result *res; /* once the trigger answered */
    uint32_t spans;
    uint64_t last_arrival, quiet_ns, told_ns;
    bool checked, cancel;
    uint32_t missing, n_unmatched;
    const char **unmatched; /* one slot a spec */
} run_ctx;

/* Tells the progress callback where the run is; remembers a cancel. */
static void notify(run_ctx *c)
{
    if (!c->o->progress || c->cancel)
        return;
    uint64_t now = spanbuf_now_ns();
    run_progress p = {
        .state = c->r->state,
        .trace_id = c->tid,
        .span_id = c->sid,
        .trigger = c->res,
        .spans = c->spans,
        .quiet_ns = c->last_arrival && now > c->last_arrival ? now - c->last_arrival : 0,
        .quiet_window_ns = c->quiet_ns,
        .checked = c->checked,
        .missing_parents = c->missing,
        .n_unmatched = c->n_unmatched,
        .unmatched = c->unmatched,
    };
    c->told_ns = now;
    if (c->o->progress(c->o->progress_user, &p))
        c->cancel = true;
}

/* notify at most every RUN_PROGRESS_NS, and within 50 ms of a new count */
static void notify_wait(run_ctx *c, uint32_t spans)
{
    uint64_t now = spanbuf_now_ns();
    bool news = spans != c->spans;
    c->spans = spans;
    if (now >= c->told_ns + RUN_PROGRESS_NS || (news && now >= c->told_ns + 50000000ull))
        notify(c);
}

static void set_state(run_ctx *c, run_state s)
{
    c->r->state = s;
    c->r->state_ns[s] = spanbuf_now_ns();
    notify(c);
}

static const char *fmt(arena *a, const char *f, ...) __attribute__((format(printf, 2, 3)));

static const char *fmt(arena *a, const char *f, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(tmp, sizeof tmp, f, ap);
    va_end(ap);
    return arena_strdup(a, tmp);
}

static void status_line(run_ctx *c, uint32_t spans)
{
    if (!c->o->status)
        return;
    static const char *const frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    uint64_t start = c->r->state_ns[RUN_TRIGGERING] ? c->r->state_ns[RUN_TRIGGERING] : spanbuf_now_ns();
    double secs = (double)(spanbuf_now_ns() - start) / 1e9;
    fprintf(c->o->status, "\r\033[K%s %s  %s  %u span%s  %.1fs", frames[c->spin++ % 10], c->name,
            run_state_name(c->r->state), spans, spans == 1 ? "" : "s", secs);
    if (c->o->src && c->r->state == RUN_AWAITING_TRACE)
        fprintf(c->o->status, "  %s, %u poll%s", source_type_name(source_config_of(c->o->src)->type), c->r->polls,
                c->r->polls == 1 ? "" : "s");
    fflush(c->o->status);
}

static void status_clear(run_ctx *c)
{
    if (c->o->status) {
        fputs("\r\033[K", c->o->status);
        fflush(c->o->status);
    }
}

/* ${...} interpolation of trigger fields with the run's variables. */
static int interpolate(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    vars *v = user;
    expr_ctx ctx = {.var = vars_lookup_var, .env = vars_lookup_env, .user = v};
    return expr_interpolate(s, strlen(s), &ctx, a, out, e);
}

/* The snapshot of the trace as specs see it: the receiver's spans, the
 * trigger span, and every root of the system hung under the trigger span. */
/* Hangs the system's roots under the trigger span, adds it, indexes: the
 * trace as specs see it. Frees ts and returns NULL when out of memory. */
static trace_set *prepare(run_ctx *c, trace_set *ts, const uint8_t tid[16], const uint8_t sid[8],
                          const trigger_result *res, bool with_trigger)
{
    if (with_trigger) {
        trace *t = trace_set_find(ts, tid);
        for (uint32_t i = 0; t && i < t->n_spans; i++)
            if (!trace_span_has_parent(t->spans[i]) && memcmp(t->spans[i]->span_id, sid, 8) != 0)
                memcpy(t->spans[i]->parent_id, sid, 8);
        if (trigger_span_add(ts, tid, sid, res, c->t->trigger.type_name.s ? c->t->trigger.type_name.s : "http")) {
            trace_set_free(&ts);
            return NULL;
        }
    }
    if (trace_set_index(ts)) {
        trace_set_free(&ts);
        return NULL;
    }
    return ts;
}

static trace_set *snapshot(run_ctx *c, const uint8_t tid[16], const uint8_t sid[8], const trigger_result *res,
                           bool with_trigger)
{
    trace_set *ts = trace_set_new(0);
    if (!ts)
        return NULL;
    if (c->o->buf && spanbuf_snapshot(c->o->buf, tid, ts) < 0) {
        trace_set_free(&ts);
        return NULL;
    }
    return prepare(c, ts, tid, sid, res, with_trigger);
}

/* Rule 0-1 of completeness on a snapshot; fills *missing with the absent
 * parents. */
static bool structurally_complete(trace *t, const uint8_t sid[8], bool with_trigger, tc_buf *missing)
{
    uint32_t system_spans = 0;
    for (uint32_t i = 0; t && i < t->n_spans; i++)
        if (!with_trigger || memcmp(t->spans[i]->span_id, sid, 8) != 0)
            system_spans++;
    buf_reset(missing);
    for (uint32_t i = 0; t && i < t->n_orphans; i++) {
        char pid[17];
        hex_encode(t->orphans[i]->parent_id, SPAN_ID_LEN, pid);
        if (!strstr(buf_str(missing), pid)) {
            if (missing->len)
                buf_puts(missing, ", ");
            buf_puts(missing, pid);
        }
    }
    return system_spans > 0 && (!t || t->n_orphans == 0);
}

/* Whether every spec selector matches a span; the ones that do not are
 * kept for the progress callback. */
static bool selectors_match(run_ctx *c, trace_set *ts, trace *t, sel_query **sels, size_t n, arena *scratch)
{
    c->n_unmatched = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sels[i])
            continue; /* a selector that does not parse is reported by the spec */
        trace_span **spans;
        uint32_t k = 0;
        if (sel_match(sels[i], ts, t, scratch, &spans, &k) || k == 0) {
            if (!c->unmatched)
                return false;
            const char *text = c->t->specs[i].selector.s;
            c->unmatched[c->n_unmatched++] = text ? text : "";
        }
    }
    return c->n_unmatched == 0;
}

/* The outcome of one completeness check, for the progress callback. */
static void checked(run_ctx *c, const tc_buf *missing, bool structural)
{
    c->checked = true;
    c->missing = 0;
    if (missing->len) {
        c->missing = 1;
        for (const char *q = buf_str(missing); (q = strchr(q, ',')); q++)
            c->missing++;
    }
    if (!structural)
        c->n_unmatched = 0;
}

int64_t runner_now_unix_ns(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

unsigned runner_eval_threads(void)
{
    const char *s = getenv("TRACECHECK_THREADS");
    long n = s && *s ? strtol(s, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

uint64_t runner_random(void *user)
{
    (void)user;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        static uint64_t s = 0x9E3779B97F4A7C15ull;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        r = s ^ (uint64_t)runner_now_unix_ns(NULL);
    }
    return r;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int runner_test_defs(const res_test *t, arena *a, spec_def **specs, output_def **outputs)
{
    spec_def *defs = arena_calloc(a, t->n_specs ? t->n_specs : 1, sizeof *defs);
    output_def *outs = arena_calloc(a, t->n_outputs ? t->n_outputs : 1, sizeof *outs);
    if (!defs || !outs)
        return TC_ERR_NOMEM;
    for (size_t k = 0; k < t->n_specs; k++) {
        const res_spec *s = &t->specs[k];
        const char **as = arena_calloc(a, s->n_assertions ? s->n_assertions : 1, sizeof *as);
        if (!as)
            return TC_ERR_NOMEM;
        for (size_t m = 0; m < s->n_assertions; m++)
            as[m] = s->assertions[m].s ? s->assertions[m].s : "";
        defs[k] = (spec_def){s->name.s, s->selector.s, as, (uint32_t)s->n_assertions};
    }
    for (size_t k = 0; k < t->n_outputs; k++)
        outs[k] = (output_def){t->outputs[k].name.s, t->outputs[k].selector.s, t->outputs[k].value.s};
    *specs = defs;
    *outputs = outs;
    return 0;
}

/* The spans of one poll, independent of their order: a sum of per-span
 * hashes of the span id, end time and attribute count (a span that ended
 * later, or grew attributes, counts as new). */
static uint64_t spans_digest(const trace *t)
{
    uint64_t d = 0;
    for (uint32_t i = 0; t && i < t->n_spans; i++) {
        const trace_span *sp = t->spans[i];
        uint64_t h = 0xcbf29ce484222325ull;
        for (int k = 0; k < SPAN_ID_LEN; k++)
            h = (h ^ sp->span_id[k]) * 0x100000001b3ull;
        h ^= sp->end_ns + ((uint64_t)sp->n_attrs << 48) + ((uint64_t)sp->n_events << 40);
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        d += h;
    }
    return d;
}

static void sleep_until(uint64_t when)
{
    uint64_t now = spanbuf_now_ns();
    if (when <= now)
        return;
    struct timespec ts = {(time_t)((when - now) / 1000000000ull), (long)((when - now) % 1000000000ull)};
    nanosleep(&ts, NULL);
}

#define POLL_LOG_KEEP 24 /* polls named in a TRACE_FAILED message */

/* AWAITING_TRACE against a backend: polls until the trace is complete (see
 * runner.h), the deadline passes, or the backend fails for good. On return
 * *out_ts is the last trace seen (prepared, indexed; NULL when none),
 * *complete says whether it is complete, *why what went wrong otherwise.
 * Returns 0 or TC_ERR_NOMEM. */
static int await_backend(run_ctx *c, const uint8_t tid[16], const uint8_t sid[8], const trigger_result *res,
                         bool with_trigger, sel_query **sels, uint64_t deadline, uint64_t quiet, int retries,
                         uint64_t ceiling, tc_buf *missing, trace_set **out_ts, bool *complete, const char **why,
                         const char **last)
{
    arena *a = c->r->a;
    *out_ts = NULL;
    *complete = false;
    *why = NULL;
    uint64_t interval = RUN_FIRST_POLL_NS;
    uint64_t next = spanbuf_now_ns() + RUN_FIRST_POLL_NS;
    uint64_t prev_digest = 0;
    uint32_t prev_n = 0, counts[POLL_LOG_KEEP];
    bool have_prev = false;
    int tries = 0;
    const char *last_error = NULL;
    tc_error e;
    while (!*complete && !c->cancel) {
        uint64_t now = spanbuf_now_ns();
        if (now >= deadline)
            break;
        uint64_t until = next < deadline ? next : deadline;
        if (c->o->status && until > now + 100000000ull)
            until = now + 100000000ull;
        if (c->o->progress && until > now + RUN_PROGRESS_NS)
            until = now + RUN_PROGRESS_NS;
        sleep_until(until);
        status_line(c, prev_n + (with_trigger ? 1 : 0));
        notify_wait(c, prev_n + (with_trigger ? 1 : 0));
        if (c->cancel)
            break;
        if (spanbuf_now_ns() < next)
            continue;
        if (spanbuf_now_ns() >= deadline)
            break;
        trace_set *ts = trace_set_new(0);
        if (!ts)
            return TC_ERR_NOMEM;
        source_status st = source_fetch(c->o->src, tid, ts, deadline, &e);
        c->r->polls++;
        trace *t = st == SOURCE_FOUND ? trace_set_find(ts, tid) : NULL;
        uint32_t n = t ? t->n_spans : 0;
        counts[(c->r->polls - 1) % POLL_LOG_KEEP] = n;
        if (st == SOURCE_FATAL) {
            *why = fmt(a, "%s", e.msg);
            trace_set_free(&ts);
            break;
        }
        if (n > source_max_spans()) {
            *why = fmt(a, "the trace has %u spans, more than tracecheck reads (%u, TRACECHECK_MAX_SPANS)", n,
                       source_max_spans());
            trace_set_free(&ts);
            break;
        }
        if (st == SOURCE_RETRY)
            last_error = fmt(a, "%s", e.msg);
        if (st != SOURCE_FOUND || !t) {
            trace_set_free(&ts);
            have_prev = false;
            interval = interval + interval / 2 < ceiling ? interval + interval / 2 : ceiling;
            next = spanbuf_now_ns() + interval;
            continue;
        }
        uint64_t d = spans_digest(t);
        bool same = have_prev && d == prev_digest && n == prev_n;
        prev_digest = d;
        prev_n = n;
        have_prev = true;
        ts = prepare(c, ts, tid, sid, res, with_trigger);
        if (!ts)
            return TC_ERR_NOMEM;
        trace_set_free(out_ts);
        *out_ts = ts;
        if (!same) { /* new spans: look again after a quiet window */
            tries = 0;
            c->last_arrival = spanbuf_now_ns();
            next = spanbuf_now_ns() + quiet;
            continue;
        }
        trace *tr = trace_set_find(ts, tid);
        bool ok = structurally_complete(tr, sid, with_trigger, missing);
        checked(c, missing, ok);
        if (ok) {
            arena *scratch = arena_new(0);
            if (!scratch)
                return TC_ERR_NOMEM;
            if (!selectors_match(c, ts, tr, sels, c->t->n_specs, scratch) && tries < retries) {
                tries++;
                ok = false;
            }
            arena_free(&scratch);
        }
        *complete = ok;
        interval = interval + interval / 2 < ceiling ? interval + interval / 2 : ceiling;
        next = spanbuf_now_ns() + interval;
    }
    /* spans per poll, the last POLL_LOG_KEEP of them */
    tc_buf log;
    buf_init(&log, 1 << 12);
    uint32_t np = c->r->polls, from = np > POLL_LOG_KEEP ? np - POLL_LOG_KEEP : 0;
    if (from)
        buf_puts(&log, "...,");
    for (uint32_t i = from; i < np; i++)
        buf_printf(&log, "%s%u", i > from ? "," : "", counts[i % POLL_LOG_KEEP]);
    c->r->poll_log = np ? arena_strdup(a, buf_str(&log)) : NULL;
    buf_free(&log);
    *last = last_error;
    return 0;
}

int runner_run_test(const runner_opts *o, const res_test *t, const char *base_dir, vars *v, run_result *out)
{
    memset(out, 0, sizeof *out);
    out->a = arena_new(0);
    if (!out->a)
        return TC_ERR_NOMEM;
    run_ctx c = {.o = o, .t = t, .v = v, .r = out, .name = t->name.s ? t->name.s : (t->id.s ? t->id.s : "test")};
    arena *a = out->a;
    if (o->progress && t->n_specs && !(c.unmatched = arena_calloc(a, t->n_specs, sizeof *c.unmatched)))
        return TC_ERR_NOMEM;
    set_state(&c, RUN_CREATED);

    uint64_t timeout = o->timeout_ns;
    if (!timeout && o->polling && o->polling->timeout_ms > 0)
        timeout = (uint64_t)o->polling->timeout_ms * 1000000ull;
    if (!timeout)
        timeout = RUN_DEFAULT_TIMEOUT_NS;
    uint64_t quiet = o->quiet_ns;
    if (!quiet && o->polling && o->polling->quiet_window.line && o->polling->quiet_window_ms > 0)
        quiet = (uint64_t)o->polling->quiet_window_ms * 1000000ull; /* ours: periodic.quietWindow */
    if (!quiet)
        quiet = RUN_DEFAULT_QUIET_NS;
    c.quiet_ns = quiet;
    int retries = o->selector_match_retries;
    if (retries < 0)
        retries = o->polling ? (int)o->polling->selector_match_retries : RUN_DEFAULT_SELECTOR_RETRIES;

    uint8_t tid[TRACE_ID_LEN] = {0}, sid[SPAN_ID_LEN] = {0};
    trigger_result res;
    memset(&res, 0, sizeof res);
    bool with_trigger = true, watching = false;
    tc_error e;
    int rc = 0;
    sel_query **sels = arena_calloc(a, t->n_specs ? t->n_specs : 1, sizeof *sels);
    tc_buf missing;
    buf_init(&missing, 1 << 20);
    if (!sels) {
        rc = TC_ERR_NOMEM;
        goto done;
    }

    /* ---- TRIGGERING ---- */
    set_state(&c, RUN_TRIGGERING);
    status_line(&c, 0);
    if (trigger_ids_new(tid, sid)) {
        out->error = "cannot make a trace id (no random source)";
        set_state(&c, RUN_TRIGGER_FAILED);
        goto done;
    }
    res_trigger_type tt = t->trigger.type;
    if (tt == RES_TRIG_TRACEID || tt == RES_TRIG_CYPRESS || tt == RES_TRIG_PLAYWRIGHT || tt == RES_TRIG_K6 ||
        tt == RES_TRIG_ARTILLERY) {
        const char *src = tt == RES_TRIG_TRACEID && t->trigger.traceid.id.s ? t->trigger.traceid.id.s : "${env:TRACE_ID}";
        const char *id = NULL;
        if (interpolate(v, src, a, &id, &e) || strlen(id) != 32 || hex_decode(id, 32, tid, TRACE_ID_LEN)) {
            out->error = fmt(a, "the trace id %s%s%s is not 32 hex digits%s%s", id ? "\"" : "", id ? id : src,
                             id ? "\"" : "", id ? "" : ": ", id ? "" : e.msg);
            set_state(&c, RUN_TRIGGER_FAILED);
            goto done;
        }
        with_trigger = false;
        if (o->buf && spanbuf_watch(o->buf, tid) == 0)
            watching = true;
        hex_encode(tid, TRACE_ID_LEN, c.tid);
        notify(&c);
    } else if (tt == RES_TRIG_HTTP || tt == RES_TRIG_GRAPHQL || tt == RES_TRIG_GRPC || tt == RES_TRIG_KAFKA) {
        /* build the request (a bad field is located in the test file), watch the
           trace id before the call (early spans are kept), call */
        union {
            trigger_http_request http;
            trigger_grpc_request grpc;
            trigger_kafka_request kafka;
        } req;
        int brc = tt == RES_TRIG_HTTP      ? trigger_http_from_test(t, base_dir, interpolate, v, a, &req.http, &e)
                  : tt == RES_TRIG_GRAPHQL ? trigger_graphql_from_test(t, base_dir, interpolate, v, a, &req.http, &e)
                  : tt == RES_TRIG_GRPC    ? trigger_grpc_from_test(t, base_dir, interpolate, v, a, &req.grpc, &e)
                                           : trigger_kafka_from_test(t, interpolate, v, a, &req.kafka, &e);
        if (brc) {
            out->error = e.line ? fmt(a, "%s:%d:%d: %s", o->file ? o->file : "test", e.line, e.col, e.msg)
                                : fmt(a, "%s", e.msg);
            set_state(&c, RUN_TRIGGER_FAILED);
            goto done;
        }
        if (o->buf && spanbuf_watch(o->buf, tid) == 0)
            watching = true;
        hex_encode(tid, TRACE_ID_LEN, c.tid);
        hex_encode(sid, SPAN_ID_LEN, c.sid);
        notify(&c);
        if (c.cancel) {
            out->cancelled = true;
            out->error = "the run was cancelled";
            set_state(&c, RUN_TRIGGER_FAILED);
            goto done;
        }
        if (tt == RES_TRIG_GRPC) {
            trigger_grpc_run(&req.grpc, tid, sid, o->b3, &res);
        } else if (tt == RES_TRIG_KAFKA) {
            if (timeout / 1000000ull < (uint64_t)TRIGGER_DEFAULT_TIMEOUT_MS) /* no longer than the run waits */
                req.kafka.timeout_ms = (long)(timeout / 1000000ull);
            trigger_kafka_run(&req.kafka, tid, sid, o->b3, &res);
        } else {
            trigger_http_run(&req.http, tid, sid, o->b3, &res);
        }
        c.res = &res;
        if (!res.ok) {
            out->error = arena_strdup(a, res.error ? res.error : "the trigger failed");
            set_state(&c, RUN_TRIGGER_FAILED);
            goto done;
        }
    } else if (tt == RES_TRIG_NONE) {
        out->error = "the test has no trigger (use --trace to evaluate it on a saved trace)";
        set_state(&c, RUN_TRIGGER_FAILED);
        goto done;
    } else {
        out->error = fmt(a, "trigger type \"%s\" is not supported yet", res_trigger_type_name(tt));
        set_state(&c, RUN_TRIGGER_FAILED);
        goto done;
    }
    hex_encode(tid, TRACE_ID_LEN, out->trace_id);

    /* ---- AWAITING_TRACE ---- */
    set_state(&c, RUN_AWAITING_TRACE);
    for (size_t i = 0; i < t->n_specs; i++) {
        const char *s = t->specs[i].selector.s ? t->specs[i].selector.s : "";
        if (sel_parse(s, strlen(s), &sels[i], &e))
            sels[i] = NULL;
    }
    uint64_t deadline = spanbuf_now_ns() + timeout;
    if (o->src && !t->skip_trace_collection.v) {
        uint64_t ceiling = o->retry_delay_ns;
        if (!ceiling && o->polling && o->polling->retry_delay_ms > 0)
            ceiling = (uint64_t)o->polling->retry_delay_ms * 1000000ull;
        if (!ceiling)
            ceiling = RUN_DEFAULT_RETRY_DELAY_NS;
        if (ceiling < RUN_FIRST_POLL_NS)
            ceiling = RUN_FIRST_POLL_NS;
        trace_set *got = NULL;
        bool ok = false;
        const char *why = NULL, *last_error = NULL;
        rc = await_backend(&c, tid, sid, &res, with_trigger, sels, deadline, quiet, retries, ceiling, &missing, &got,
                           &ok, &why, &last_error);
        status_clear(&c);
        if (rc) {
            trace_set_free(&got);
            goto done;
        }
        if (c.cancel && !ok) {
            out->ts = got;
            out->t = got ? trace_set_find(got, tid) : NULL;
            out->n_spans = out->t ? out->t->n_spans : 0;
            c.spans = out->n_spans;
            out->cancelled = true;
            out->error = "the run was cancelled";
            set_state(&c, RUN_TRACE_FAILED);
            goto done;
        }
        const source_config *sc = source_config_of(o->src);
        if (!got) {
            got = trace_set_new(0);
            got = got ? prepare(&c, got, tid, sid, &res, with_trigger) : NULL;
            if (!got) {
                rc = TC_ERR_NOMEM;
                goto done;
            }
        }
        out->ts = got;
        out->t = trace_set_find(got, tid);
        out->n_spans = out->t ? out->t->n_spans : 0;
    c.spans = out->n_spans;
        if (ok)
            goto evaluate;
        const char *where = fmt(a, "%s at %s", source_type_name(sc->type), source_endpoint_label(sc, a));
        structurally_complete(out->t, sid, with_trigger, &missing);
        uint32_t system = out->n_spans - (with_trigger && out->t ? 1 : 0);
        const char *polls = fmt(a, "%u poll%s, spans per poll: %s%s%s", out->polls, out->polls == 1 ? "" : "s",
                                out->poll_log ? out->poll_log : "none", last_error && !why ? "; last error: " : "",
                                last_error && !why ? last_error : "");
        if (why)
            out->error = fmt(a, "reading the trace from %s failed: %s (%s)", where, why, polls);
        else if (system == 0)
            out->error = fmt(a, "trace %s was not found in %s within %.1fs (%s)", out->trace_id, where,
                             (double)timeout / 1e9, polls);
        else if (missing.len)
            out->error = fmt(a, "the trace in %s was incomplete after %.1fs: %u span%s, parent%s %s missing (%s)", where,
                             (double)timeout / 1e9, system, system == 1 ? "" : "s",
                             strchr(buf_str(&missing), ',') ? "s" : "", buf_str(&missing), polls);
        else
            out->error = fmt(a, "the trace in %s did not settle within %.1fs (%u spans; %s)", where,
                             (double)timeout / 1e9, system, polls);
        out->error = source_mask(sc, out->error, a);
        if (missing.len)
            out->missing_parents = arena_strdup(a, buf_str(&missing));
        set_state(&c, RUN_TRACE_FAILED);
        goto done;
    }
    uint64_t last = 0;  /* arrival time of the newest span seen */
    int tries = 0;      /* quiet windows spent waiting for selectors */
    uint32_t n = 0;
    bool complete = t->skip_trace_collection.v || !o->buf;
    while (!complete && !c.cancel) {
        uint64_t now = spanbuf_now_ns();
        if (now >= deadline)
            break;
        uint64_t until = last ? min_u64(deadline, last + quiet) : deadline;
        if (o->status)
            until = min_u64(until, now + 100000000ull); /* animate the status line */
        if (o->progress)
            until = min_u64(until, now + RUN_PROGRESS_NS);
        uint64_t arrived = 0;
        n = spanbuf_wait(o->buf, tid, last, until, &arrived);
        status_line(&c, n + (with_trigger ? 1 : 0));
        if (arrived > last)
            c.last_arrival = arrived;
        notify_wait(&c, n + (with_trigger ? 1 : 0));
        if (arrived > last) {
            last = arrived;
            tries = 0;
            continue;
        }
        if (!last || spanbuf_now_ns() < last + quiet)
            continue; /* woken for the status line, or nothing yet */
        /* quiet for a window: is it complete? */
        trace_set *snap = snapshot(&c, tid, sid, &res, with_trigger);
        if (!snap) {
            rc = TC_ERR_NOMEM;
            break;
        }
        trace *tr = trace_set_find(snap, tid);
        arena *scratch = arena_new(0);
        bool ok = structurally_complete(tr, sid, with_trigger, &missing);
        checked(&c, &missing, ok);
        if (ok && tr && scratch && !selectors_match(&c, snap, tr, sels, t->n_specs, scratch) && tries < retries) {
            tries++;
            ok = false;
            last = spanbuf_now_ns() - 1; /* wait one more quiet window */
        } else if (!ok) {
            last = spanbuf_now_ns() - 1;
        }
        arena_free(&scratch);
        trace_set_free(&snap);
        complete = ok;
    }
    status_clear(&c);
    if (rc)
        goto done;
    out->ts = snapshot(&c, tid, sid, &res, with_trigger);
    out->t = out->ts ? trace_set_find(out->ts, tid) : NULL;
    out->n_spans = out->t ? out->t->n_spans : 0;
    c.spans = out->n_spans;
    if (!out->ts) {
        rc = TC_ERR_NOMEM;
        goto done;
    }
    if (!complete && c.cancel) {
        out->cancelled = true;
        out->error = "the run was cancelled";
        set_state(&c, RUN_TRACE_FAILED);
        goto done;
    }
    if (!complete) {
        structurally_complete(out->t, sid, with_trigger, &missing);
        uint32_t system = out->n_spans - (with_trigger && out->t ? 1 : 0);
        if (system == 0)
            out->error = fmt(a, "no span of trace %s arrived within %.1fs", out->trace_id, (double)timeout / 1e9);
        else if (missing.len)
            out->error = fmt(a, "the trace was incomplete after %.1fs: %u span%s arrived, parent%s %s missing",
                             (double)timeout / 1e9, system, system == 1 ? "" : "s",
                             strchr(buf_str(&missing), ',') ? "s" : "", buf_str(&missing));
        else
            out->error = fmt(a, "the trace did not settle within %.1fs (%u spans)", (double)timeout / 1e9, system);
        if (missing.len)
            out->missing_parents = arena_strdup(a, buf_str(&missing));
        set_state(&c, RUN_TRACE_FAILED);
        goto done;
    }

    /* ---- EVALUATING ---- */
evaluate:
    set_state(&c, RUN_EVALUATING);
    {
        spec_def *defs;
        output_def *outs;
        if (runner_test_defs(t, a, &defs, &outs)) {
            rc = TC_ERR_NOMEM;
            goto done;
        }
        spec_env env = {vars_lookup_var, vars_lookup_env, v, runner_now_unix_ns, runner_random, NULL,
                        runner_eval_threads()};
        if (spec_evaluate(out->ts, out->t, defs, (uint32_t)t->n_specs, outs, (uint32_t)t->n_outputs, &env, a,
                          &out->specs)) {
            out->error = "out of memory evaluating the specs";
            set_state(&c, RUN_EVALUATION_FAILED);
            goto done;
        }
    }
    set_state(&c, RUN_FINISHED);
done:
    status_clear(&c);
    if (watching && !with_trigger)
        spanbuf_unwatch(o->buf, tid); /* a trace from outside: another run may want it */
    else if (watching)
        spanbuf_forget(o->buf, tid);
    for (size_t i = 0; sels && i < t->n_specs; i++)
        sel_free(&sels[i]);
    buf_free(&missing);
    trigger_result_free(&res);
    return rc;
}

void run_result_free(run_result *r)
{
    trace_set_free(&r->ts);
    arena_free(&r->a);
    memset(r, 0, sizeof *r);
}
