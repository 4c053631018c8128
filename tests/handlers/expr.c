/* expr.c - case handler for the expression language: evaluates a statement
 * ("pass 200 = 200") or an expression ("number 2"), or interpolates a plain
 * string (@interpolate). Parameters: @attrs, @vars, @env as JSON objects of
 * strings; @nospan makes every attribute lookup report "no matching span". */
#include "case.h"
#include "core/expr.h"

#include <jansson.h>
#include <string.h>

typedef struct lookups {
    json_t *attrs, *vars, *env;
    bool nospan;
    uint64_t rnd;
} lookups;

static int find(json_t *obj, const char *name, size_t n, const char **val, size_t *len)
{
    char key[512];
    if (!obj || n >= sizeof key)
        return EXPR_MISSING;
    memcpy(key, name, n);
    key[n] = '\0';
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return EXPR_MISSING;
    *val = json_string_value(v);
    *len = json_string_length(v);
    return EXPR_FOUND;
}

static int attr_fn(void *u, const char *name, size_t n, const char **val, size_t *len)
{
    lookups *l = u;
    return l->nospan ? EXPR_NO_SPAN : find(l->attrs, name, n, val, len);
}

static int var_fn(void *u, const char *name, size_t n, const char **val, size_t *len)
{
    return find(((lookups *)u)->vars, name, n, val, len);
}

static int env_fn(void *u, const char *name, size_t n, const char **val, size_t *len)
{
    return find(((lookups *)u)->env, name, n, val, len);
}

static int64_t fixed_now(void *u)
{
    (void)u;
    return 1709647629123456789LL; /* 2024-03-05T14:07:09.123456789Z */
}

static uint64_t fixed_random(void *u)
{
    lookups *l = u; /* xorshift64 from a fixed seed */
    l->rnd ^= l->rnd << 13;
    l->rnd ^= l->rnd >> 7;
    l->rnd ^= l->rnd << 17;
    return l->rnd;
}

static json_t *param_json(const tc_case *c, const char *key)
{
    const char *s = case_param(c, key);
    return s ? json_loads(s, 0, NULL) : NULL;
}

CASE_HANDLER(expr);
CASE_HANDLER(expr)
{
    lookups l = {param_json(c, "attrs"), param_json(c, "vars"), param_json(c, "env"),
                 case_param(c, "nospan") != NULL, 0x9E3779B97F4A7C15ULL};
    expr_ctx ctx = {attr_fn, var_fn, env_fn, &l, fixed_now, fixed_random, &l, false, NULL};
    arena *a = arena_new(0);
    tc_error err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    expr *e = NULL;
    if (case_param(c, "interpolate")) {
        const char *s;
        rc = expr_interpolate(c->input, strlen(c->input), &ctx, a, &s, &err);
        if (!rc)
            buf_puts(out, s);
    } else if (!(rc = expr_parse(c->input, strlen(c->input), EXPR_PARSE_ANY, &e, &err))) {
        if (expr_comparator(e) != EXPR_CMP_NONE) {
            expr_result r;
            rc = expr_eval_statement(e, &ctx, a, &r);
            if (!rc && r.error) {
                buf_puts(out, r.error);
                rc = 1;
            } else if (!rc) {
                buf_printf(out, "%s %s %s %s", r.passed ? "pass" : "fail", r.observed,
                           expr_cmp_name(expr_comparator(e)), r.expected);
            }
        } else {
            expr_value v;
            rc = expr_eval(e, &ctx, a, &v, &err);
            if (!rc)
                buf_printf(out, "%s %s", expr_type_name(v.list ? EXPR_ARRAY : v.type), expr_value_text(&v, a));
        }
    }
    if (rc && !out->len) {
        if (case_param(c, "col"))
            buf_printf(out, "col %d: ", err.col);
        buf_puts(out, err.msg);
    }
    expr_free(&e);
    arena_free(&a);
    json_decref(l.attrs);
    json_decref(l.vars);
    json_decref(l.env);
    return rc;
}
