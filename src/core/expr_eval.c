/* expr_eval.c - evaluation of parsed expressions: typed values, durations,
 * arithmetic, comparisons and string interpolation (see expr.h). */
#include "expr_int.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xev_fail(xeval *ev, bool resolution, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->msg, sizeof ev->msg, fmt, ap);
    va_end(ap);
    ev->resolution = resolution;
    return TC_ERR_INPUT;
}

const char *expr_type_name(expr_type t)
{
    static const char *names[] = {"nil", "string", "number", "duration", "json", "array"};
    return (unsigned)t < 6 ? names[t] : "nil";
}

void xfmt_double(double d, char *buf, size_t n)
{
    if (d == 0)
        d = 0; /* no "-0" */
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, n, "%.17g", d);
}

/* ---- raw string typing ---- */

static size_t num_len(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    size_t d = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == d)
        return 0;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return 0;
    }
    return i;
}

static int64_t unit_scale(const char *u, size_t n)
{
    if (n == 2 && u[1] == 's') {
        if (u[0] == 'n')
            return 1;
        if (u[0] == 'u')
            return 1000;
        if (u[0] == 'm')
            return 1000000;
    }
    if (n == 1) {
        if (u[0] == 's')
            return 1000000000LL;
        if (u[0] == 'm')
            return 60000000000LL;
        if (u[0] == 'h')
            return 3600000000000LL;
    }
    return 0;
}

int expr_duration_ns(const char *s, size_t len, int64_t *ns)
{
    size_t n = num_len(s, len);
    if (!n)
        return -1;
    int64_t scale = n == len ? 1 : unit_scale(s + n, len - n);
    if (!scale)
        return -1;
    bool neg = s[0] == '-';
    size_t i = neg;
    int64_t whole = 0;
    for (; i < n && s[i] != '.'; i++) {
        if (whole > (INT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (s[i] - '0');
    }
    if (scale && whole > INT64_MAX / scale)
        return -1;
    int64_t v = whole * scale;
    if (i < n && s[i] == '.') {
        int64_t frac = 0, div = 1;
        for (i++; i < n; i++) {
            if (div <= INT64_MAX / 10 / scale) {
                frac = frac * 10 + (s[i] - '0');
                div *= 10;
            }
        }
        /* frac/div * scale, exact: scale and div are powers of ten times small factors */
        __int128 f = (__int128)frac * scale / div;
        if (v > INT64_MAX - (int64_t)f)
            return -1;
        v += (int64_t)f;
    }
    *ns = neg ? -v : v;
    return 0;
}

char *expr_format_duration(int64_t ns, char *buf)
{
    if (ns < 0) {
        buf[0] = '-';
        expr_format_duration(ns == INT64_MIN ? INT64_MAX : -ns, buf + 1);
        return buf;
    }
    if (ns == 0) {
        strcpy(buf, "0ns");
        return buf;
    }
    static const char *units[] = {"ns", "us", "ms"};
    if (ns < 1000000000LL) {
        /* ns / div rounded half to even, as printf's "%.0f" rounds it */
        int scale = ns < 1000 ? 0 : ns < 1000000 ? 1 : 2;
        int64_t div = scale == 0 ? 1 : scale == 1 ? 1000 : 1000000;
        int64_t q = ns / div, r = ns % div;
        if (2 * r > div || (2 * r == div && (q & 1)))
            q++;
        char tmp[24], *e = tmp + sizeof tmp, *p = e;
        do {
            *--p = (char)('0' + q % 10);
            q /= 10;
        } while (q);
        size_t n = (size_t)(e - p);
        memcpy(buf, p, n);
        memcpy(buf + n, units[scale], 3);
        return buf;
    }
    double v = (double)ns / 1e9;
    const char *unit = "s";
    if (v >= 60) {
        v /= 60;
        unit = "m";
    }
    if (v >= 60) {
        v /= 60;
        unit = "h";
    }
    if (fmod(v, 1.0) == 0)
        snprintf(buf, 32, "%.0f%s", v, unit);
    else
        snprintf(buf, 32, "%.1f%s", v, unit);
    return buf;
}

/* expr_infer_type with the JSON documents from load(s, len) (a new
 * reference or NULL). */
static expr_type infer_with(const char *s, size_t len, json_t *(*load)(void *, const char *, size_t), void *u)
{
    size_t n = num_len(s, len);
    if (n && n == len)
        return EXPR_NUMBER;
    if (n && unit_scale(s + n, len - n))
        return EXPR_DURATION;
    if (len > EXPR_MAX_JSON)
        return EXPR_STRING;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i < len && s[i] == '{') {
        json_t *j = load(u, s, len);
        bool obj = j && json_is_object(j);
        json_decref(j);
        if (obj)
            return EXPR_JSON;
    }
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        json_t *j = load(u, s, len);
        bool objs = j && json_is_array(j);
        for (size_t k = 0; objs && k < json_array_size(j); k++)
            objs = json_is_object(json_array_get(j, k));
        json_decref(j);
        return objs ? EXPR_JSON : EXPR_ARRAY;
    }
    return EXPR_STRING;
}

/* Texts starting with '{' or '[' parse the same with or without
   JSON_DECODE_ANY, so one document serves typing and json_path. */
static json_t *load_plain(void *u, const char *s, size_t len)
{
    (void)u;
    return json_loadb(s, len, 0, NULL);
}

static json_t *load_cached(void *u, const char *s, size_t len)
{
    return xjson_load(u, s, len, NULL, 0);
}

expr_type expr_infer_type(const char *s, size_t len)
{
    return infer_with(s, len, load_plain, NULL);
}

expr_type xv_infer(xeval *ev, const char *s, size_t len)
{
    return ev->ctx->cache ? infer_with(s, len, load_cached, ev) : infer_with(s, len, load_plain, NULL);
}

/* ---- values ---- */

int xv_typed(xeval *ev, expr_type t, const char *s, size_t len, expr_value *out)
{
    if (len > EXPR_MAX_STRING)
        return xev_fail(ev, false, "value too long (%zu bytes, limit %zu)", len, EXPR_MAX_STRING);
    char *c = arena_strndup(ev->a, s, len);
    if (!c)
        return xev_fail(ev, false, "out of memory");
    memset(out, 0, sizeof *out);
    out->type = t;
    out->text = c;
    out->len = len;
    return 0;
}

int xv_from_string(xeval *ev, const char *s, size_t len, expr_value *out)
{
    int rc = xv_typed(ev, EXPR_STRING, s, len, out); /* typed on the copy: a stable text */
    if (!rc)
        out->type = xv_infer(ev, out->text, out->len);
    return rc;
}

const char *expr_value_text(const expr_value *v, arena *a)
{
    if (!v->list)
        return v->text ? v->text : "";
    tc_buf b;
    buf_init(&b, EXPR_MAX_STRING);
    buf_putc(&b, '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            buf_puts(&b, ", ");
        const expr_value *it = &v->items[i];
        if (it->type == EXPR_STRING)
            buf_putc(&b, '"');
        buf_append(&b, it->text, it->len);
        if (it->type == EXPR_STRING)
            buf_putc(&b, '"');
    }
    buf_putc(&b, ']');
    char *r = b.failed ? NULL : arena_strndup(a, buf_str(&b), b.len);
    buf_free(&b);
    return r;
}

static const char *unescape(arena *a, const char *s)
{
    if (!strchr(s, '\\'))
        return s;
    size_t n = strlen(s);
    char *o = arena_alloc(a, n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\''))
            i++;
        o[j++] = s[i];
    }
    o[j] = '\0';
    return o;
}

const char *xv_unescaped(xeval *ev, const expr_value *v)
{
    const char *t = expr_value_text(v, ev->a);
    return t ? unescape(ev->a, t) : NULL;
}

static expr_type vtype(const expr_value *v)
{
    return v->list ? EXPR_ARRAY : v->type;
}

/* ---- terms ---- */

static int lookup(xeval *ev, const xterm *t, expr_value *out)
{
    expr_lookup_fn fn = t->kind == XT_ATTR ? ev->ctx->attr : t->kind == XT_VAR ? ev->ctx->var : ev->ctx->env;
    const char *val = NULL;
    size_t len = 0;
    int rc = fn ? fn(ev->ctx->user, t->text, t->len, &val, &len) : EXPR_MISSING;
    ev->off = t->off;
    if (rc == EXPR_FOUND && t->kind == XT_ATTR && ev->ctx->attr_stable && val && val[len] == '\0' &&
        len <= EXPR_MAX_STRING) {
        memset(out, 0, sizeof *out);
        out->type = xv_infer(ev, val, len);
        out->text = val;
        out->len = len;
        return 0;
    }
    if (rc == EXPR_FOUND)
        return xv_from_string(ev, val ? val : "", val ? len : 0, out);
    if (t->kind != XT_ATTR)
        return xev_fail(ev, true, "variable \"%s\" not found", t->text);
    if (rc == EXPR_NO_SPAN)
        return xev_fail(ev, true,
                        "there are no matching spans to retrieve the attribute \"%s\" from. To fix this "
                        "error, create a selector matching at least one span.",
                        t->text);
    return xev_fail(ev, true, "attribute \"%s\" not found", t->text);
}

static int eval_term(xeval *ev, const xterm *t, expr_value *out);

static int eval_string(xeval *ev, const xterm *t, expr_value *out)
{
    tc_buf b;
    buf_init(&b, EXPR_MAX_STRING);
    for (size_t i = 0; i < t->nparts; i++) {
        const xpart *p = &t->parts[i];
        if (p->lit) {
            buf_append(&b, p->lit, p->len);
            continue;
        }
        expr_value v;
        if (xev_expr(ev, p->e, &v)) {
            buf_free(&b);
            return TC_ERR_INPUT;
        }
        const char *s = expr_value_text(&v, ev->a);
        if (!s) {
            buf_free(&b);
            return xev_fail(ev, false, "out of memory");
        }
        buf_puts(&b, s);
    }
    if (b.failed) {
        buf_free(&b);
        return xev_fail(ev, false, "string too long (limit %zu bytes)", EXPR_MAX_STRING);
    }
    int rc = xv_from_string(ev, buf_str(&b), b.len, out);
    buf_free(&b);
    return rc;
}

static int eval_list(xeval *ev, const xterm *t, expr_value **items)
{
    *items = arena_calloc(ev->a, t->nargs ? t->nargs : 1, sizeof **items);
    if (!*items)
        return xev_fail(ev, false, "out of memory");
    for (size_t i = 0; i < t->nargs; i++) {
        expr_value v;
        if (eval_term(ev, t->args[i], &v))
            return TC_ERR_INPUT;
        if (v.list) {
            const char *s = expr_value_text(&v, ev->a);
            if (!s || xv_typed(ev, EXPR_ARRAY, s, strlen(s), &v))
                return xev_fail(ev, false, "out of memory");
        }
        (*items)[i] = v;
    }
    return 0;
}

static int eval_term(xeval *ev, const xterm *t, expr_value *out)
{
    if (++ev->depth > EXPR_MAX_DEPTH * 4)
        return xev_fail(ev, false, "expression nested too deeply");
    int rc = 0;
    switch (t->kind) {
    case XT_NUMBER:
    case XT_DURATION:
        if (ev->borrow) { /* the text outlives the result: no copy */
            memset(out, 0, sizeof *out);
            out->type = t->kind == XT_NUMBER ? EXPR_NUMBER : EXPR_DURATION;
            out->text = t->text;
            out->len = t->len;
        } else {
            rc = xv_typed(ev, t->kind == XT_NUMBER ? EXPR_NUMBER : EXPR_DURATION, t->text, t->len, out);
        }
        break;
    case XT_STRING:
        if (ev->borrow && t->nparts == 1 && t->parts[0].lit && t->parts[0].lit[t->parts[0].len] == '\0' &&
            t->parts[0].len <= EXPR_MAX_STRING) {
            memset(out, 0, sizeof *out);
            out->type = expr_infer_type(t->parts[0].lit, t->parts[0].len);
            out->text = t->parts[0].lit;
            out->len = t->parts[0].len;
            break;
        }
        rc = eval_string(ev, t, out);
        break;
    case XT_ATTR:
    case XT_VAR:
    case XT_ENV:
        rc = lookup(ev, t, out);
        break;
    case XT_ARRAY: {
        expr_value *items;
        if ((rc = eval_list(ev, t, &items))) {
            /* report which item failed */
            char inner[TC_ERROR_MSG_MAX];
            snprintf(inner, sizeof inner, "%s", ev->msg);
            size_t idx = 0;
            for (size_t k = 0; k < t->nargs; k++)
                if (t->args[k]->off <= ev->off)
                    idx = k;
            rc = xev_fail(ev, true, "at index %zu of array: %s", idx, inner);
            break;
        }
        memset(out, 0, sizeof *out);
        out->type = EXPR_ARRAY;
        out->list = true;
        out->text = "";
        out->items = items;
        out->n = t->nargs;
        break;
    }
    case XT_CALL: {
        expr_value *args;
        if ((rc = eval_list(ev, t, &args))) {
            char inner[TC_ERROR_MSG_MAX];
            snprintf(inner, sizeof inner, "%s", ev->msg);
            size_t idx = 0;
            for (size_t k = 0; k < t->nargs; k++)
                if (t->args[k]->off <= ev->off)
                    idx = k;
            rc = xev_fail(ev, true, "on argument %zu of function %s: %s", idx, t->text, inner);
            break;
        }
        ev->off = t->off;
        rc = xev_function(ev, t->text, t->len, args, t->nargs, out);
        break;
    }
    }
    ev->depth--;
    return rc;
}

/* ---- arithmetic ---- */

static bool has_dot(const expr_value *v)
{
    return strchr(v->text, '.') != NULL;
}

static int arith(xeval *ev, char op, const expr_value *l, const expr_value *r, expr_value *out)
{
    expr_type lt = vtype(l), rt = vtype(r);
    if ((lt != EXPR_NUMBER && lt != EXPR_DURATION) || (rt != EXPR_NUMBER && rt != EXPR_DURATION))
        return xev_fail(ev, false, "operation is only allowed on numbers and duration fields");
    char buf[64];
    if (lt == EXPR_DURATION || rt == EXPR_DURATION) {
        bool scale_op = (op == '*' && (lt == EXPR_NUMBER || rt == EXPR_NUMBER)) ||
                        (op == '/' && rt == EXPR_NUMBER);
        if (lt != rt && !scale_op)
            return xev_fail(ev, false, "types mismatch: %s %c %s", expr_type_name(lt), op, expr_type_name(rt));
        int64_t a = 0, b = 0;
        double da = 0, db = 0;
        if (lt == EXPR_DURATION ? expr_duration_ns(l->text, l->len, &a) : 0)
            return xev_fail(ev, false, "invalid duration \"%s\"", l->text);
        if (rt == EXPR_DURATION ? expr_duration_ns(r->text, r->len, &b) : 0)
            return xev_fail(ev, false, "invalid duration \"%s\"", r->text);
        da = lt == EXPR_DURATION ? (double)a : strtod(l->text, NULL);
        db = rt == EXPR_DURATION ? (double)b : strtod(r->text, NULL);
        double res;
        int64_t ires = 0;
        bool exact = false;
        if (lt == rt && op == '+' && !__builtin_add_overflow(a, b, &ires))
            exact = true;
        else if (lt == rt && op == '-' && !__builtin_sub_overflow(a, b, &ires))
            exact = true;
        if (!exact) {
            if (op == '/' && db == 0)
                return xev_fail(ev, false, "division by zero");
            res = op == '+' ? da + db : op == '-' ? da - db : op == '*' ? da * db : da / db;
            if (!(res > -9.2e18 && res < 9.2e18))
                return xev_fail(ev, false, "duration out of range");
            ires = (int64_t)res;
        }
        bool dur = !(lt == EXPR_DURATION && rt == EXPR_DURATION && op == '/');
        if (!dur) { /* duration / duration: a plain ratio */
            xfmt_double(da / db, buf, sizeof buf);
            return xv_typed(ev, EXPR_NUMBER, buf, strlen(buf), out);
        }
        snprintf(buf, sizeof buf, "%lld", (long long)ires);
        return xv_typed(ev, EXPR_DURATION, buf, strlen(buf), out);
    }
    if (!has_dot(l) && !has_dot(r)) {
        long long a = strtoll(l->text, NULL, 10), b = strtoll(r->text, NULL, 10), c;
        bool ok = true;
        if (op == '+')
            ok = !__builtin_add_overflow(a, b, &c);
        else if (op == '-')
            ok = !__builtin_sub_overflow(a, b, &c);
        else if (op == '*')
            ok = !__builtin_mul_overflow(a, b, &c);
        else {
            if (b == 0)
                return xev_fail(ev, false, "division by zero");
            ok = !(a == LLONG_MIN && b == -1) && a % b == 0;
            c = ok ? a / b : 0;
        }
        if (ok) {
            snprintf(buf, sizeof buf, "%lld", c);
            return xv_typed(ev, EXPR_NUMBER, buf, strlen(buf), out);
        }
    }
    double a = strtod(l->text, NULL), b = strtod(r->text, NULL);
    if (op == '/' && b == 0)
        return xev_fail(ev, false, "division by zero");
    double c = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    if (!isfinite(c))
        return xev_fail(ev, false, "number out of range");
    xfmt_double(c, buf, sizeof buf);
    return xv_typed(ev, EXPR_NUMBER, buf, strlen(buf), out);
}

int xev_expr(xeval *ev, const xexpr *e, expr_value *out)
{
    int rc;
    if (++ev->depth > EXPR_MAX_DEPTH * 4)
        return xev_fail(ev, false, "expression nested too deeply");
    if (e->op == 0) {
        rc = eval_term(ev, e->t, out);
    } else if (e->op == '(') {
        rc = xev_expr(ev, e->l, out);
    } else {
        expr_value l, r;
        rc = xev_expr(ev, e->l, &l);
        if (!rc)
            rc = xev_expr(ev, e->r, &r);
        if (!rc) {
            ev->off = e->off;
            rc = arith(ev, e->op, &l, &r, out);
        }
    }
    for (size_t i = 0; !rc && i < e->nfilters; i++) {
        const xfilter *f = &e->filters[i];
        const char **args = arena_calloc(ev->a, f->nargs ? f->nargs : 1, sizeof *args);
        if (!args)
            return xev_fail(ev, false, "out of memory");
        for (size_t k = 0; !rc && k < f->nargs; k++) {
            expr_value v;
            rc = eval_term(ev, f->args[k], &v);
            if (!rc && !(args[k] = xv_unescaped(ev, &v)))
                rc = xev_fail(ev, false, "out of memory");
        }
        if (rc)
            break;
        ev->off = f->off;
        expr_value in = *out;
        rc = xev_filter(ev, f->name, f->len, args, f->nargs, &in, out);
    }
    ev->depth--;
    return rc;
}

/* ---- comparison ---- */

static bool is_numeric(expr_type t)
{
    return t == EXPR_NUMBER || t == EXPR_DURATION;
}

/* Reads a number or duration as ns (durations) or a double. */
static int to_number(xeval *ev, const expr_value *v, bool as_ns, double *d)
{
    const char *s = v->list ? "" : v->text;
    if (as_ns) {
        int64_t ns;
        if (vtype(v) == EXPR_NUMBER || vtype(v) == EXPR_DURATION) {
            if (expr_duration_ns(s, strlen(s), &ns) == 0) {
                *d = (double)ns;
                return 0;
            }
            if (vtype(v) == EXPR_NUMBER) {
                *d = strtod(s, NULL);
                return 0;
            }
        }
        const char *u = xv_unescaped(ev, v);
        return xev_fail(ev, false, "cannot parse \"%s\" as a duration", u ? u : "");
    }
    if (vtype(v) != EXPR_NUMBER) {
        const char *u = xv_unescaped(ev, v);
        return xev_fail(ev, false, "cannot parse \"%s\" as a number", u ? u : "");
    }
    *d = strtod(s, NULL);
    return 0;
}

/* Exact comparison of two durations / numbers-as-ns. -2 when not both. */
static int cmp_ns(const expr_value *l, const expr_value *r)
{
    int64_t a, b;
    if (l->list || r->list || expr_duration_ns(l->text, l->len, &a) || expr_duration_ns(r->text, r->len, &b))
        return -2;
    return a < b ? -1 : a > b;
}

#define NOMATCH 100

/* 0 pass, NOMATCH no match, TC_ERR_INPUT error (message in ev). */
static int compare(xeval *ev, expr_cmp cmp, const expr_value *l, const expr_value *r);

static int compare_text(xeval *ev, expr_cmp cmp, const expr_value *l, const expr_value *r, const char *ls,
                        const char *rs)
{
    expr_type lt = vtype(l), rt = vtype(r);
    bool dur = (lt == EXPR_DURATION || rt == EXPR_DURATION) && is_numeric(lt) && is_numeric(rt);
    switch (cmp) {
    case EXPR_CMP_EQ:
    case EXPR_CMP_NE: {
        bool eq;
        int c = dur ? cmp_ns(l, r) : -2;
        if (c != -2)
            eq = c == 0;
        else if (lt == EXPR_NUMBER && rt == EXPR_NUMBER)
            eq = strtod(l->text, NULL) == strtod(r->text, NULL);
        else
            eq = strcmp(ls, rs) == 0;
        return (cmp == EXPR_CMP_EQ) == eq ? 0 : NOMATCH;
    }
    case EXPR_CMP_LT:
    case EXPR_CMP_LE:
    case EXPR_CMP_GT:
    case EXPR_CMP_GE: {
        int c;
        bool as_ns = lt == EXPR_DURATION || rt == EXPR_DURATION;
        c = as_ns ? cmp_ns(l, r) : -2;
        if (c == -2) {
            double a, b;
            if (to_number(ev, l, as_ns, &a) || to_number(ev, r, as_ns, &b))
                return TC_ERR_INPUT;
            c = a < b ? -1 : a > b ? 1 : 0;
        }
        bool ok = cmp == EXPR_CMP_LT ? c < 0 : cmp == EXPR_CMP_LE ? c <= 0 : cmp == EXPR_CMP_GT ? c > 0 : c >= 0;
        return ok ? 0 : NOMATCH;
    }
    case EXPR_CMP_CONTAINS:
        if (rt == EXPR_JSON && (lt == EXPR_JSON || lt == EXPR_ARRAY)) {
            int rc = xjson_contains(ev, ls, rs);
            return rc < 0 ? TC_ERR_INPUT : rc ? NOMATCH : 0;
        }
        if (l->list) {
            for (size_t i = 0; i < l->n; i++) {
                expr_value it = l->items[i];
                if (compare(ev, EXPR_CMP_EQ, &it, r) == 0)
                    return 0;
            }
            return NOMATCH;
        }
        return strstr(ls, rs) ? 0 : NOMATCH;
    case EXPR_CMP_NOT_CONTAINS:
        return strstr(ls, rs) ? NOMATCH : 0;
    default:
        return xev_fail(ev, false, "comparator not supported");
    }
}

static int compare(xeval *ev, expr_cmp cmp, const expr_value *l, const expr_value *r)
{
    const char *ls = xv_unescaped(ev, l), *rs = xv_unescaped(ev, r);
    if (!ls || !rs)
        return xev_fail(ev, false, "out of memory");
    return compare_text(ev, cmp, l, r, ls, rs);
}

/* How a side is shown: durations formatted, else its unescaped text u. */
static const char *shown(xeval *ev, const expr_value *v, bool dur, const char *u)
{
    if (dur && !v->list && is_numeric(v->type)) {
        int64_t ns;
        if (expr_duration_ns(v->text, v->len, &ns) == 0) {
            char buf[40];
            return arena_strdup(ev->a, expr_format_duration(ns, buf));
        }
    }
    return u;
}

static void init_ev(xeval *ev, const expr_ctx *ctx, arena *a)
{
    static const expr_ctx none;
    ev->a = a;
    ev->borrow = false;
    ev->ctx = ctx ? ctx : &none;
    ev->depth = 0;
    ev->resolution = false;
    ev->off = 0;
    ev->msg[0] = '\0';
}

static const char *full_msg(xeval *ev)
{
    char m[TC_ERROR_MSG_MAX + 32];
    snprintf(m, sizeof m, "%s%s", ev->resolution ? "resolution error: " : "", ev->msg);
    return arena_strdup(ev->a, m);
}

int expr_eval_statement(const expr *e, const expr_ctx *ctx, arena *a, expr_result *out)
{
    xeval ev;
    init_ev(&ev, ctx, a);
    ev.borrow = e->home == a;
    memset(out, 0, sizeof *out);
    out->observed = "";
    out->expected = "";
    if (!e->right)
        return tc_error_set(NULL, TC_ERR_INPUT, "not a statement");
    expr_value l, r;
    int rc = xev_expr(&ev, e->left, &l);
    if (!rc)
        rc = xev_expr(&ev, e->right, &r);
    if (rc) {
        out->error = full_msg(&ev);
        return out->error ? 0 : TC_ERR_NOMEM;
    }
    bool dur = vtype(&l) == EXPR_DURATION || vtype(&r) == EXPR_DURATION;
    const char *ls = xv_unescaped(&ev, &l), *rs = xv_unescaped(&ev, &r);
    out->observed = ls ? shown(&ev, &l, dur, ls) : NULL;
    out->expected = rs ? shown(&ev, &r, dur, rs) : NULL;
    if (!out->observed || !out->expected)
        return TC_ERR_NOMEM;
    rc = compare_text(&ev, e->cmp, &l, &r, ls, rs);
    out->passed = rc == 0;
    if (rc == TC_ERR_INPUT && !(out->error = full_msg(&ev)))
        return TC_ERR_NOMEM;
    return 0;
}

static int eval_err(xeval *ev, const expr *e, tc_error *err)
{
    tc_error_at(err, TC_ERR_INPUT, ev->off, "%s%s", ev->resolution ? "resolution error: " : "", ev->msg);
    tc_error_locate(err, e->src, e->len);
    return TC_ERR_INPUT;
}

int expr_eval(const expr *e, const expr_ctx *ctx, arena *a, expr_value *out, tc_error *err)
{
    xeval ev;
    init_ev(&ev, ctx, a);
    ev.borrow = e->home == a;
    if (xev_expr(&ev, e->left, out))
        return eval_err(&ev, e, err);
    return 0;
}

int expr_interpolate(const char *s, size_t len, const expr_ctx *ctx, arena *a, const char **out, tc_error *err)
{
    if (len > EXPR_MAX_STRING)
        return tc_error_set(err, TC_ERR_LIMIT, "string too long (%zu bytes, limit %zu)", len, EXPR_MAX_STRING);
    if (!memmem(s, len, "${", 2)) {
        char *c = arena_strndup(a, s, len);
        if (!c)
            return tc_error_set(err, TC_ERR_NOMEM, "out of memory");
        *out = c;
        return 0;
    }
    expr tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = expr_parse_plain_string(a, s, len, &tmp, err);
    if (rc)
        return rc;
    xeval ev;
    init_ev(&ev, ctx, a);
    expr_value v;
    if (xev_expr(&ev, tmp.left, &v))
        return eval_err(&ev, &tmp, err);
    *out = v.text;
    return 0;
}
