/* spec.c - evaluates specs and outputs on a trace (see spec.h). */
#include "spec.h"

#include "sel.h"
#include "spanattr.h"

#include <stdio.h>
#include <string.h>

#define SELECTED_COUNT "tracetest.selected_spans.count"

/* Keys of the attr: references of one spec, resolved once for all its
 * spans (the expression passes the same name pointer every time). */
#define KEY_CACHE 16
typedef struct key_cache {
    uint32_t n;
    struct {
        const char *name;
        size_t len;
        spanattr_key k;
    } e[KEY_CACHE];
} key_cache;

static spanattr_key *cached_key(key_cache *kc, const char *name, size_t n)
{
    if (!kc)
        return NULL;
    for (uint32_t i = 0; i < kc->n; i++)
        if (kc->e[i].name == name && kc->e[i].len == n)
            return &kc->e[i].k;
    if (kc->n == KEY_CACHE)
        return NULL;
    kc->e[kc->n].name = name;
    kc->e[kc->n].len = n;
    spanattr_key_init(&kc->e[kc->n].k, name, n);
    return &kc->e[kc->n++].k;
}

/* What an attr: lookup sees: one span (or none) of a selection. */
typedef struct span_scope {
    arena *a;     /* the evaluation's arena: strings made for a lookup */
    arena *cache; /* the trace set's arena: span attribute caches */
    key_cache *keys;
    const trace_span *span;
    uint32_t n_selected;
    char count[16];
} span_scope;

static int lookup_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    span_scope *s = user;
    if (n == strlen(SELECTED_COUNT) && memcmp(name, SELECTED_COUNT, n) == 0) {
        snprintf(s->count, sizeof s->count, "%u", s->n_selected);
        *val = s->count;
        *len = strlen(s->count);
        return EXPR_FOUND;
    }
    if (!s->span)
        return EXPR_NO_SPAN;
    tc_value v;
    spanattr_key *k = cached_key(s->keys, name, n);
    if ((k ? spanattr_get_key(s->cache, s->span, k, &v) : spanattr_get(s->cache, s->span, name, n, &v)) != 0)
        return EXPR_MISSING;
    if (v.type == TC_V_STRING) {
        *val = v.u.str;
        *len = v.len;
        return EXPR_FOUND;
    }
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    char *copy = arena_strndup(s->a, buf_str(&b), b.len);
    buf_free(&b);
    if (!copy)
        return EXPR_MISSING;
    *val = copy;
    *len = strlen(copy);
    return EXPR_FOUND;
}

static void make_ctx(expr_ctx *ctx, const spec_env *env, span_scope *scope)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->attr = lookup_attr;
    ctx->user = scope;
    if (env) {
        ctx->var = env->var;
        ctx->env = env->env;
        ctx->now_ns = env->now_ns;
        ctx->random_u64 = env->random_u64;
        ctx->env_user = env->env_user;
    }
}

/* expr callbacks share one `user`: wrap var/env so they get env->user while
 * attr gets the span scope. */
typedef struct both {
    span_scope scope;
    const spec_env *env;
} both;

static int both_attr(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    return lookup_attr(&((both *)user)->scope, name, n, val, len);
}

static int both_var(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const spec_env *env = ((both *)user)->env;
    return env && env->var ? env->var(env->user, name, n, val, len) : EXPR_MISSING;
}

static int both_env(void *user, const char *name, size_t n, const char **val, size_t *len)
{
    const spec_env *env = ((both *)user)->env;
    return env && env->env ? env->env(env->user, name, n, val, len) : EXPR_MISSING;
}

static void make_both_ctx(expr_ctx *ctx, both *b)
{
    make_ctx(ctx, b->env, &b->scope);
    ctx->attr = both_attr;
    ctx->var = both_var;
    ctx->env = both_env;
    ctx->user = b;
}

/* Selects spans; on a selector syntax error returns 1 with *err set. */
static int select_spans(trace_set *ts, trace *t, const char *selector, arena *a, trace_span ***spans,
                        uint32_t *n, const char **err, int *err_col)
{
    *spans = NULL;
    *n = 0;
    sel_query *q = NULL;
    tc_error e;
    const char *src = selector ? selector : "";
    if (sel_parse(src, strlen(src), &q, &e) != 0) {
        *err = arena_strdup(a, e.msg);
        *err_col = e.col;
        return 1;
    }
    int rc = 0;
    if (t)
        rc = sel_match(q, ts, t, a, spans, n);
    sel_free(&q);
    if (rc == TC_ERR_LIMIT) {
        *err = "the selector needs too much work on this trace (a pseudo-class after the first step "
               "on a deep trace)";
        *err_col = 0;
        return 1;
    }
    return rc ? -1 : 0;
}

/* Evaluates spec d on the spans its selector picked: spans[0..n), or the
 * selector's error sel_err at column sel_col. */
static int eval_spec(trace_set *ts, const spec_def *d, trace_span **spans, uint32_t n, const char *sel_err,
                     int sel_col, const spec_env *env, arena *a, spec_result *r)
{
    memset(r, 0, sizeof *r);
    r->name = d->name;
    r->selector = d->selector;
    if (sel_err) {
        r->error = sel_err;
        r->error_col = sel_col;
        r->passed = false;
        return 0;
    }
    /* parse the assertions once */
    expr **parsed = arena_calloc(a, d->n_assertions ? d->n_assertions : 1, sizeof *parsed);
    if (!parsed)
        return TC_ERR_NOMEM;
    int status = 0;
    for (uint32_t i = 0; i < d->n_assertions; i++) {
        tc_error e;
        const char *src = d->assertions[i] ? d->assertions[i] : "";
        if (expr_parse(src, strlen(src), EXPR_PARSE_STATEMENT, &parsed[i], &e) != 0) {
            char *msg = arena_alloc(a, strlen(src) + sizeof e.msg + 32);
            if (msg)
                sprintf(msg, "assertion %u: %s", i + 1, e.msg);
            r->error = msg ? msg : "invalid assertion";
            r->error_col = e.col;
            status = 1;
            break;
        }
    }
    if (status == 0) {
        r->n_selected = n;
        r->n_spans = n ? n : 1;
        r->spans = arena_calloc(a, r->n_spans, sizeof *r->spans);
        if (!r->spans)
            status = -1;
        r->passed = true;
        static key_cache kc_zero;
        key_cache kc = kc_zero;
        for (uint32_t k = 0; status == 0 && k < r->n_spans; k++) {
            spec_span_result *sr = &r->spans[k];
            sr->span = n ? spans[k] : NULL;
            sr->passed = true;
            sr->n_checks = d->n_assertions;
            sr->checks = arena_calloc(a, d->n_assertions ? d->n_assertions : 1, sizeof *sr->checks);
            if (!sr->checks) {
                status = -1;
                break;
            }
            both b = {{a, trace_set_arena(ts), &kc, sr->span, n, {0}}, env};
            expr_ctx ctx;
            make_both_ctx(&ctx, &b);
            for (uint32_t i = 0; i < d->n_assertions; i++) {
                expr_result res;
                if (expr_eval_statement(parsed[i], &ctx, a, &res) != 0) {
                    status = -1;
                    break;
                }
                spec_check *ck = &sr->checks[i];
                ck->assertion = d->assertions[i];
                ck->passed = res.passed && !res.error;
                ck->observed = res.observed;
                ck->expected = res.expected;
                ck->error = res.error;
                if (!ck->passed)
                    sr->passed = false;
            }
            if (!sr->passed)
                r->passed = false;
        }
    } else {
        r->passed = false;
    }
    for (uint32_t i = 0; i < d->n_assertions; i++)
        expr_free(&parsed[i]);
    return status < 0 ? TC_ERR_NOMEM : 0;
}

static int eval_output(trace_set *ts, trace *t, const output_def *d, const spec_env *env, arena *a,
                       output_result *r)
{
    memset(r, 0, sizeof *r);
    r->name = d->name;
    trace_span **spans = NULL;
    uint32_t n = 0;
    const char *err = NULL;
    int col = 0;
    int rc = select_spans(ts, t, d->selector, a, &spans, &n, &err, &col);
    if (rc < 0)
        return TC_ERR_NOMEM;
    if (rc > 0) {
        r->error = err;
        return 0;
    }
    expr *e = NULL;
    tc_error pe;
    const char *src = d->value ? d->value : "";
    if (expr_parse(src, strlen(src), EXPR_PARSE_EXPRESSION, &e, &pe) != 0) {
        r->error = arena_strdup(a, pe.msg);
        return 0;
    }
    key_cache kc = {0};
    both b = {{a, trace_set_arena(ts), &kc, n ? spans[0] : NULL, n, {0}}, env};
    expr_ctx ctx;
    make_both_ctx(&ctx, &b);
    expr_value v;
    tc_error ee;
    if (expr_eval(e, &ctx, a, &v, &ee) != 0) {
        r->error = arena_strdup(a, ee.msg);
    } else {
        r->value = expr_value_text(&v, a);
        if (!r->value)
            rc = -1;
    }
    expr_free(&e);
    return rc < 0 ? TC_ERR_NOMEM : 0;
}

int spec_evaluate(trace_set *ts, trace *t, const spec_def *specs, uint32_t n_specs,
                  const output_def *outputs, uint32_t n_outputs, const spec_env *env, arena *a,
                  spec_run *out)
{
    memset(out, 0, sizeof *out);
    out->specs = arena_calloc(a, n_specs ? n_specs : 1, sizeof *out->specs);
    out->outputs = arena_calloc(a, n_outputs ? n_outputs : 1, sizeof *out->outputs);
    if (!out->specs || !out->outputs)
        return TC_ERR_NOMEM;
    out->passed = true;
    /* every selector first, then one selection pass over the trace for all */
    uint32_t nq = n_specs ? n_specs : 1;
    sel_query **qs = arena_calloc(a, nq, sizeof *qs);
    trace_span ***sel = arena_calloc(a, nq, sizeof *sel);
    uint32_t *ns = arena_calloc(a, nq, sizeof *ns);
    int *rcs = arena_calloc(a, nq, sizeof *rcs);
    const char **errs = arena_calloc(a, nq, sizeof *errs);
    int *cols = arena_calloc(a, nq, sizeof *cols);
    if (!qs || !sel || !ns || !rcs || !errs || !cols)
        return TC_ERR_NOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < n_specs; i++) {
        tc_error e;
        const char *src = specs[i].selector ? specs[i].selector : "";
        if (sel_parse(src, strlen(src), &qs[i], &e) != 0) {
            errs[i] = arena_strdup(a, e.msg);
            cols[i] = e.col;
            if (!errs[i])
                rc = TC_ERR_NOMEM;
        }
    }
    if (!rc && t)
        rc = sel_match_all((const sel_query *const *)qs, n_specs, ts, t, a, sel, ns, rcs);
    for (uint32_t i = 0; i < n_specs; i++) {
        sel_free(&qs[i]);
        if (rcs[i] == TC_ERR_LIMIT) {
            errs[i] = "the selector needs too much work on this trace (a pseudo-class after the first "
                      "step on a deep trace)";
            cols[i] = 0;
        }
    }
    if (rc)
        return TC_ERR_NOMEM;
    for (uint32_t i = 0; i < n_specs; i++) {
        if (eval_spec(ts, &specs[i], sel[i], ns[i], errs[i], cols[i], env, a, &out->specs[i]))
            return TC_ERR_NOMEM;
        out->n_specs++;
        if (!out->specs[i].passed) {
            out->n_failed++;
            out->passed = false;
        }
    }
    for (uint32_t i = 0; i < n_outputs; i++) {
        if (eval_output(ts, t, &outputs[i], env, a, &out->outputs[i]))
            return TC_ERR_NOMEM;
        out->n_outputs++;
        if (out->outputs[i].error)
            out->passed = false;
    }
    return 0;
}
