/* expr_filter.c - expression filters (json_path, regex, regex_group,
 * get_index, length, type), a JSONPath evaluator over jansson, and JSON
 * containment for the contains comparator. */
#include "expr_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON helpers ---- */

#define CACHE_SLOTS 8
#define CACHE_MIN 256 /* shorter texts are parsed each time */

struct expr_cache {
    struct {
        const char *s; /* NULL: empty */
        size_t n;
        json_t *doc;   /* NULL: the text is not JSON */
        char err[JSON_ERROR_TEXT_LENGTH];
    } e[CACHE_SLOTS];
    unsigned next; /* the slot to replace next */
};

expr_cache *expr_cache_new(void)
{
    return calloc(1, sizeof(expr_cache));
}

void expr_cache_free(expr_cache **c)
{
    if (!c || !*c)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        json_decref((*c)->e[i].doc);
    free(*c);
    *c = NULL;
}

json_t *xjson_load(xeval *ev, const char *s, size_t n, char *err, size_t err_size)
{
    expr_cache *c = ev->ctx->cache;
    if (c && n >= CACHE_MIN) {
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (c->e[i].s == s && c->e[i].n == n) {
                if (!c->e[i].doc && err)
                    snprintf(err, err_size, "%s", c->e[i].err);
                return c->e[i].doc ? json_incref(c->e[i].doc) : NULL;
            }
        }
    }
    json_error_t je;
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &je);
    if (!j && err)
        snprintf(err, err_size, "%s", je.text);
    if (c && n >= CACHE_MIN) {
        unsigned k = c->next++ % CACHE_SLOTS;
        json_decref(c->e[k].doc);
        c->e[k].s = s;
        c->e[k].n = n;
        c->e[k].doc = j ? json_incref(j) : NULL;
        snprintf(c->e[k].err, sizeof c->e[k].err, "%s", j ? "" : je.text);
    }
    return j;
}

static json_t *load_json(xeval *ev, const char *s, size_t n, const char *what)
{
    if (n > EXPR_MAX_JSON) {
        xev_fail(ev, false, "%s too large (%zu bytes, limit %zu)", what, n, EXPR_MAX_JSON);
        return NULL;
    }
    char err[JSON_ERROR_TEXT_LENGTH];
    json_t *j = xjson_load(ev, s, n, err, sizeof err);
    if (!j)
        xev_fail(ev, false, "invalid JSON input: %s", err);
    return j;
}

/* Text of a JSON value as a result item: strings raw, numbers shortest,
 * containers as compact JSON. */
static int json_item(xeval *ev, json_t *j, expr_value *out)
{
    char buf[64];
    switch (json_typeof(j)) {
    case JSON_STRING:
        return xv_from_string(ev, json_string_value(j), json_string_length(j), out);
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
        return xv_from_string(ev, buf, strlen(buf), out);
    case JSON_REAL:
        xfmt_double(json_real_value(j), buf, sizeof buf);
        return xv_from_string(ev, buf, strlen(buf), out);
    case JSON_TRUE:
        return xv_from_string(ev, "true", 4, out);
    case JSON_FALSE:
        return xv_from_string(ev, "false", 5, out);
    case JSON_NULL:
        return xv_from_string(ev, "null", 4, out);
    default: {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
            return xev_fail(ev, false, "out of memory");
        int rc = xv_from_string(ev, s, strlen(s), out);
        free(s);
        return rc;
    }
    }
}

/* Deep equality with numbers compared by value. */
static bool json_same(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !json_same(v, w))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

/* Every key of sub is in sup with an equal value; objects recurse. */
static bool json_subset(json_t *sup, json_t *sub)
{
    const char *k;
    json_t *v;
    json_object_foreach(sub, k, v)
    {
        json_t *w = json_object_get(sup, k);
        if (!w)
            return false;
        if (json_is_object(w)) {
            if (!json_is_object(v) || !json_subset(w, v))
                return false;
        } else if (!json_same(w, v)) {
            return false;
        }
    }
    return true;
}

/* Object or array of objects, as a list. */
static json_t *objects(json_t *j)
{
    if (json_is_object(j)) {
        json_t *a = json_array();
        json_array_append(a, j);
        return a;
    }
    if (!json_is_array(j))
        return NULL;
    for (size_t i = 0; i < json_array_size(j); i++)
        if (!json_is_object(json_array_get(j, i)))
            return NULL;
    return json_incref(j);
}

int xjson_contains(xeval *ev, const char *sup, const char *sub)
{
    json_t *a = load_json(ev, sup, strlen(sup), "JSON");
    if (!a)
        return -1;
    json_t *b = load_json(ev, sub, strlen(sub), "JSON");
    json_t *la = a ? objects(a) : NULL, *lb = b ? objects(b) : NULL;
    int rc = 0;
    if (!b) {
        rc = -1;
    } else if (!la || !lb) {
        xev_fail(ev, false, "%s side is not a JSON object", !la ? "left" : "right");
        rc = -1;
    } else {
        for (size_t i = 0; rc == 0 && i < json_array_size(lb); i++) {
            bool any = false;
            for (size_t k = 0; !any && k < json_array_size(la); k++)
                any = json_subset(json_array_get(la, k), json_array_get(lb, i));
            if (!any)
                rc = 1;
        }
    }
    json_decref(la);
    json_decref(lb);
    json_decref(a);
    json_decref(b);
    return rc;
}

/* ---- JSONPath ---- */

typedef struct jp {
    xeval *ev;
    const char *q;
    size_t pos, n;
    json_t *root;
    int depth;
} jp;

typedef struct nodes {
    json_t **v;
    size_t n, cap;
} nodes;

static int jp_fail(jp *p, const char *what)
{
    return xev_fail(p->ev, false, "invalid json_path: %s at position %zu", what, p->pos + 1);
}

static int add(jp *p, nodes *ns, json_t *j)
{
    if (ns->n >= EXPR_MAX_ITEMS)
        return xev_fail(p->ev, false, "json_path: too many results (limit %d)", EXPR_MAX_ITEMS);
    if (ns->n == ns->cap) {
        size_t nc = ns->cap ? ns->cap * 2 : 8;
        json_t **q = arena_realloc(p->ev->a, ns->v, ns->cap * sizeof *q, nc * sizeof *q);
        if (!q)
            return xev_fail(p->ev, false, "out of memory");
        ns->v = q;
        ns->cap = nc;
    }
    ns->v[ns->n++] = j;
    return 0;
}

static int descend(jp *p, nodes *out, json_t *j, int depth)
{
    if (depth > 1000)
        return xev_fail(p->ev, false, "json_path: JSON nested too deeply");
    if (add(p, out, j))
        return TC_ERR_INPUT;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (descend(p, out, json_array_get(j, i), depth + 1))
                return TC_ERR_INPUT;
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (descend(p, out, v, depth + 1))
                return TC_ERR_INPUT;
        }
    }
    return 0;
}

static void skip_ws(jp *p)
{
    while (p->pos < p->n && p->q[p->pos] == ' ')
        p->pos++;
}

/* Quoted name at p->pos into an arena string. */
static int quoted(jp *p, char **out)
{
    char qc = p->q[p->pos++];
    char *s = arena_alloc(p->ev->a, p->n - p->pos + 1);
    if (!s)
        return xev_fail(p->ev, false, "out of memory");
    size_t k = 0;
    while (p->pos < p->n && p->q[p->pos] != qc) {
        if (p->q[p->pos] == '\\' && p->pos + 1 < p->n)
            p->pos++;
        s[k++] = p->q[p->pos++];
    }
    if (p->pos >= p->n)
        return jp_fail(p, "unterminated string");
    p->pos++;
    s[k] = '\0';
    *out = s;
    return 0;
}

static bool parse_int(jp *p, long long *v)
{
    size_t b = p->pos;
    if (p->pos < p->n && p->q[p->pos] == '-')
        p->pos++;
    size_t d = p->pos;
    while (p->pos < p->n && p->q[p->pos] >= '0' && p->q[p->pos] <= '9')
        p->pos++;
    if (p->pos == d || p->pos - d > 18) {
        p->pos = b;
        return false;
    }
    *v = strtoll(p->q + b, NULL, 10);
    return true;
}

/* A filter operand's value (borrowed or new reference in *owned). */
typedef struct operand {
    json_t *v;     /* NULL: missing */
    json_t *owned; /* to decref */
} operand;

static int apply_steps(jp *p, nodes *cur, bool single);

static int operand_parse(jp *p, json_t *at, operand *o)
{
    o->v = NULL;
    o->owned = NULL;
    skip_ws(p);
    if (p->pos >= p->n)
        return jp_fail(p, "missing operand");
    char c = p->q[p->pos];
    if (c == '@' || c == '$') {
        p->pos++;
        nodes ns = {0};
        if (add(p, &ns, c == '@' ? at : p->root) || apply_steps(p, &ns, true))
            return TC_ERR_INPUT;
        o->v = ns.n ? ns.v[0] : NULL;
        return 0;
    }
    if (c == '\'' || c == '"') {
        char *s;
        if (quoted(p, &s))
            return TC_ERR_INPUT;
        o->v = o->owned = json_string(s);
        return 0;
    }
    static const char *words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t l = strlen(words[w]);
        if (p->pos + l <= p->n && memcmp(p->q + p->pos, words[w], l) == 0) {
            p->pos += l;
            o->v = o->owned = w == 0 ? json_true() : w == 1 ? json_false() : json_null();
            return 0;
        }
    }
    char *end;
    double d = strtod(p->q + p->pos, &end);
    if (end == p->q + p->pos || (size_t)(end - p->q) > p->n)
        return jp_fail(p, "bad operand");
    p->pos = (size_t)(end - p->q);
    o->v = o->owned = json_real(d);
    return 0;
}

static int cond_cmp(jp *p, json_t *at, bool *res);

static int cond_or(jp *p, json_t *at, bool *res)
{
    bool acc = false, first = true;
    for (;;) {
        bool andv = true, afirst = true;
        for (;;) {
            bool v;
            skip_ws(p);
            if (p->pos < p->n && p->q[p->pos] == '(') {
                p->pos++;
                if (++p->depth > EXPR_MAX_DEPTH)
                    return jp_fail(p, "nested too deeply");
                if (cond_or(p, at, &v))
                    return TC_ERR_INPUT;
                p->depth--;
                skip_ws(p);
                if (p->pos >= p->n || p->q[p->pos] != ')')
                    return jp_fail(p, "expected ')'");
                p->pos++;
            } else if (cond_cmp(p, at, &v)) {
                return TC_ERR_INPUT;
            }
            andv = afirst ? v : (andv && v);
            afirst = false;
            skip_ws(p);
            if (p->pos + 1 < p->n && p->q[p->pos] == '&' && p->q[p->pos + 1] == '&') {
                p->pos += 2;
                continue;
            }
            break;
        }
        acc = first ? andv : (acc || andv);
        first = false;
        if (p->pos + 1 < p->n && p->q[p->pos] == '|' && p->q[p->pos + 1] == '|') {
            p->pos += 2;
            continue;
        }
        break;
    }
    *res = acc;
    return 0;
}

static int cond_cmp(jp *p, json_t *at, bool *res)
{
    operand a, b;
    if (operand_parse(p, at, &a))
        return TC_ERR_INPUT;
    skip_ws(p);
    static const char *ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    int op = -1;
    for (int i = 0; i < 6; i++) {
        size_t l = strlen(ops[i]);
        if (p->pos + l <= p->n && memcmp(p->q + p->pos, ops[i], l) == 0) {
            op = i;
            p->pos += l;
            break;
        }
    }
    if (op < 0) { /* existence test */
        *res = a.v != NULL && !json_is_false(a.v) && !json_is_null(a.v);
        json_decref(a.owned);
        return 0;
    }
    if (operand_parse(p, at, &b)) {
        json_decref(a.owned);
        return TC_ERR_INPUT;
    }
    bool r = false;
    if (a.v && b.v) {
        int c = 2;
        if (json_is_number(a.v) && json_is_number(b.v)) {
            double x = json_number_value(a.v), y = json_number_value(b.v);
            c = x < y ? -1 : x > y;
        } else if (json_is_string(a.v) && json_is_string(b.v)) {
            c = strcmp(json_string_value(a.v), json_string_value(b.v));
            c = c < 0 ? -1 : c > 0;
        } else if (json_same(a.v, b.v)) {
            c = 0;
        }
        switch (op) {
        case 0: r = c == 0; break;
        case 1: r = c != 0; break;
        case 2: r = c == -1 || c == 0; break;
        case 3: r = c == 1 || c == 0; break;
        case 4: r = c == -1; break;
        default: r = c == 1; break;
        }
    } else {
        r = op == 1 && (a.v || b.v);
    }
    json_decref(a.owned);
    json_decref(b.owned);
    *res = r;
    return 0;
}

static int children(jp *p, nodes *out, json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (add(p, out, json_array_get(j, i)))
                return TC_ERR_INPUT;
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (add(p, out, v))
                return TC_ERR_INPUT;
        }
    }
    return 0;
}

static int index_of(json_t *j, long long i, json_t **out)
{
    long long n = (long long)json_array_size(j);
    if (i < 0)
        i += n;
    *out = i >= 0 && i < n ? json_array_get(j, (size_t)i) : NULL;
    return 0;
}

/* One bracket union (p->pos at its first item) applied to in. */
static int union_sel(jp *p, nodes *in, nodes *out)
{
    size_t start = p->pos;
    for (;;) {
        skip_ws(p);
        if (p->pos < p->n && (p->q[p->pos] == '\'' || p->q[p->pos] == '"')) {
            char *name;
            if (quoted(p, &name))
                return TC_ERR_INPUT;
            for (size_t i = 0; i < in->n; i++) {
                json_t *v = json_is_object(in->v[i]) ? json_object_get(in->v[i], name) : NULL;
                if (v && add(p, out, v))
                    return TC_ERR_INPUT;
            }
        } else {
            long long a = 0, b = 0, step = 1;
            bool has_a = parse_int(p, &a);
            skip_ws(p);
            if (p->pos < p->n && p->q[p->pos] == ':') {
                p->pos++;
                skip_ws(p);
                bool has_b = parse_int(p, &b);
                skip_ws(p);
                if (p->pos < p->n && p->q[p->pos] == ':') {
                    p->pos++;
                    skip_ws(p);
                    if (!parse_int(p, &step) || step == 0)
                        return jp_fail(p, "bad slice step");
                }
                for (size_t i = 0; i < in->n; i++) {
                    json_t *j = in->v[i];
                    if (!json_is_array(j))
                        continue;
                    long long n = (long long)json_array_size(j);
                    long long lo = has_a ? a : (step > 0 ? 0 : n - 1);
                    long long hi = has_b ? b : (step > 0 ? n : -n - 1);
                    if (lo < 0)
                        lo += n;
                    if (hi < 0)
                        hi += n;
                    if (step > 0) {
                        if (lo < 0)
                            lo = 0;
                        for (long long k = lo; k < hi && k < n; k += step)
                            if (add(p, out, json_array_get(j, (size_t)k)))
                                return TC_ERR_INPUT;
                    } else {
                        if (lo >= n)
                            lo = n - 1;
                        for (long long k = lo; k > hi && k >= 0; k += step)
                            if (add(p, out, json_array_get(j, (size_t)k)))
                                return TC_ERR_INPUT;
                    }
                }
            } else if (has_a) {
                for (size_t i = 0; i < in->n; i++) {
                    json_t *v = NULL;
                    if (json_is_array(in->v[i]))
                        index_of(in->v[i], a, &v);
                    if (v && add(p, out, v))
                        return TC_ERR_INPUT;
                }
            } else {
                if (p->pos == start)
                    return jp_fail(p, "empty selector");
                return jp_fail(p, "unexpected character");
            }
        }
        skip_ws(p);
        if (p->pos < p->n && p->q[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->q[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return jp_fail(p, "expected ']'");
    }
}

/* Applies one bracket selector (p->pos just after '[') to every node in
 * in, appending to out. */
static int bracket(jp *p, nodes *in, nodes *out)
{
    skip_ws(p);
    if (p->pos < p->n && p->q[p->pos] == '*') {
        p->pos++;
        skip_ws(p);
        if (p->pos >= p->n || p->q[p->pos] != ']')
            return jp_fail(p, "expected ']'");
        p->pos++;
        for (size_t i = 0; i < in->n; i++)
            if (children(p, out, in->v[i]))
                return TC_ERR_INPUT;
        return 0;
    }
    if (p->pos < p->n && p->q[p->pos] == '?') {
        p->pos++;
        skip_ws(p);
        bool paren = p->pos < p->n && p->q[p->pos] == '(';
        if (paren)
            p->pos++;
        size_t cstart = p->pos;
        size_t cend = 0;
        for (size_t i = 0; i < in->n; i++) {
            nodes kids = {0};
            if (children(p, &kids, in->v[i]))
                return TC_ERR_INPUT;
            for (size_t k = 0; k < kids.n; k++) {
                p->pos = cstart;
                bool ok;
                if (cond_or(p, kids.v[k], &ok))
                    return TC_ERR_INPUT;
                cend = p->pos;
                if (ok && add(p, out, kids.v[k]))
                    return TC_ERR_INPUT;
            }
        }
        if (!cend) { /* nothing evaluated: still check the syntax */
            p->pos = cstart;
            bool ok;
            json_t *dummy = json_object();
            int rc = cond_or(p, dummy, &ok);
            json_decref(dummy);
            if (rc)
                return rc;
            cend = p->pos;
        }
        p->pos = cend;
        skip_ws(p);
        if (paren) {
            if (p->pos >= p->n || p->q[p->pos] != ')')
                return jp_fail(p, "expected ')'");
            p->pos++;
            skip_ws(p);
        }
        if (p->pos >= p->n || p->q[p->pos] != ']')
            return jp_fail(p, "expected ']'");
        p->pos++;
        return 0;
    }
    /* union of names, indexes or slices: applied node by node so results
     * keep document order per node */
    size_t ustart = p->pos;
    if (in->n == 0) {
        nodes none = {0};
        return union_sel(p, &none, out);
    }
    for (size_t i = 0; i < in->n; i++) {
        nodes one = {0};
        p->pos = ustart;
        if (add(p, &one, in->v[i]) || union_sel(p, &one, out))
            return TC_ERR_INPUT;
    }
    return 0;
}

static bool name_char(char c)
{
    return c != '.' && c != '[' && c != ' ' && c != ')' && c != '=' && c != '!' && c != '<' && c != '>' &&
           c != '&' && c != '|' && c != ']' && c != ',';
}

/* Applies steps from p->pos to the node list cur (replaced). With single
 * (inside a filter) it stops at the first character that cannot continue
 * a path. */
static int apply_steps(jp *p, nodes *cur, bool single)
{
    while (p->pos < p->n) {
        char c = p->q[p->pos];
        nodes next = {0};
        nodes *in = cur;
        nodes desc = {0};
        if (c == '.' && p->pos + 1 < p->n && p->q[p->pos + 1] == '.') {
            p->pos += 2;
            for (size_t i = 0; i < cur->n; i++)
                if (descend(p, &desc, cur->v[i], 0))
                    return TC_ERR_INPUT;
            in = &desc;
            if (p->pos < p->n && p->q[p->pos] == '[') {
                p->pos++;
                if (bracket(p, in, &next))
                    return TC_ERR_INPUT;
                *cur = next;
                continue;
            }
            c = '.';
            p->pos--; /* fall into the name step below */
        }
        if (c == '.') {
            p->pos++;
            if (p->pos < p->n && p->q[p->pos] == '*') {
                p->pos++;
                for (size_t i = 0; i < in->n; i++)
                    if (children(p, &next, in->v[i]))
                        return TC_ERR_INPUT;
                *cur = next;
                continue;
            }
            size_t b = p->pos;
            while (p->pos < p->n && name_char(p->q[p->pos]))
                p->pos++;
            if (p->pos == b)
                return jp_fail(p, "missing name");
            char *name = arena_strndup(p->ev->a, p->q + b, p->pos - b);
            if (!name)
                return xev_fail(p->ev, false, "out of memory");
            for (size_t i = 0; i < in->n; i++) {
                json_t *v = json_is_object(in->v[i]) ? json_object_get(in->v[i], name) : NULL;
                if (v && add(p, &next, v))
                    return TC_ERR_INPUT;
            }
            *cur = next;
        } else if (c == '[') {
            p->pos++;
            if (bracket(p, in, &next))
                return TC_ERR_INPUT;
            *cur = next;
        } else if (single) {
            return 0;
        } else {
            return jp_fail(p, "unexpected character");
        }
    }
    return 0;
}

static int json_path(xeval *ev, const char *query, const expr_value *in, expr_value *out)
{
    if (in->list)
        return xev_fail(ev, false, "json_path: cannot process array of json objects");
    json_t *root = load_json(ev, in->text, in->len, "JSON input");
    if (!root) {
        char m[TC_ERROR_MSG_MAX + 16];
        snprintf(m, sizeof m, "json_path: %s", ev->msg);
        return xev_fail(ev, false, "%s", m);
    }
    jp p = {ev, query, 0, strlen(query), root, 0};
    nodes cur = {0};
    int rc = add(&p, &cur, root);
    if (!rc && p.pos < p.n && p.q[0] == '$')
        p.pos++;
    if (!rc && p.pos < p.n && p.q[p.pos] != '.' && p.q[p.pos] != '[') {
        /* a bare name: "$name" / "name" */
        rc = jp_fail(&p, "unexpected character");
    }
    if (!rc)
        rc = apply_steps(&p, &cur, false);
    if (rc) {
        char m[TC_ERROR_MSG_MAX + 16];
        snprintf(m, sizeof m, "json_path: %s", ev->msg);
        json_decref(root);
        return xev_fail(ev, false, "%s", m);
    }
    memset(out, 0, sizeof *out);
    out->text = "";
    if (cur.n == 1) {
        rc = json_item(ev, cur.v[0], out);
    } else if (cur.n > 1) {
        out->items = arena_calloc(ev->a, cur.n, sizeof *out->items);
        if (!out->items)
            rc = xev_fail(ev, false, "out of memory");
        for (size_t i = 0; !rc && i < cur.n; i++)
            rc = json_item(ev, cur.v[i], &out->items[i]);
        out->list = true;
        out->type = EXPR_ARRAY;
        out->n = cur.n;
    }
    json_decref(root);
    return rc;
}

/* ---- regex ---- */

static int regex(xeval *ev, const char *re, const expr_value *in, bool groups, expr_value *out)
{
    const char *fname = groups ? "regex_group" : "regex";
    if (in->list)
        return xev_fail(ev, false, "%s: cannot process array of json objects", fname);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec,
                                     &eo, NULL);
    if (!code) {
        PCRE2_UCHAR m[120];
        pcre2_get_error_message(ec, m, sizeof m);
        return xev_fail(ev, false, "%s: invalid regex: %s at offset %zu", fname, (char *)m, (size_t)eo);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = 0;
    if (!md || !mc) {
        rc = xev_fail(ev, false, "out of memory");
        goto out;
    }
    pcre2_set_match_limit(mc, EXPR_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, 10000);
    size_t cap = 0, n = 0;
    expr_value *items = NULL;
    PCRE2_SIZE at = 0;
    const char *s = in->text;
    size_t len = in->len;
    while (at <= len) {
        int m = pcre2_match(code, (PCRE2_SPTR)s, len, at, 0, md, mc);
        if (m == PCRE2_ERROR_NOMATCH)
            break;
        if (m < 0) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(m, msg, sizeof msg);
            rc = xev_fail(ev, false, "%s: %s", fname, (char *)msg);
            goto out;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t ng = pcre2_get_ovector_count(md);
        for (uint32_t g = groups ? 1 : 0; g < (groups ? ng : 1); g++) {
            if (groups && (int)g >= m && g >= (uint32_t)m) {
                /* unset trailing group */
            }
            if (n >= EXPR_MAX_ITEMS) {
                rc = xev_fail(ev, false, "%s: too many matches (limit %d)", fname, EXPR_MAX_ITEMS);
                goto out;
            }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                expr_value *q = arena_realloc(ev->a, items, cap * sizeof *q, nc * sizeof *q);
                if (!q) {
                    rc = xev_fail(ev, false, "out of memory");
                    goto out;
                }
                items = q;
                cap = nc;
            }
            PCRE2_SIZE b = ov[2 * g], e = ov[2 * g + 1];
            if (b == PCRE2_UNSET || (int)g >= m)
                b = e = 0;
            if ((rc = xv_from_string(ev, s + b, e - b, &items[n++])))
                goto out;
        }
        if (ov[1] == ov[0]) {
            if (ov[1] >= len)
                break;
            at = ov[1] + 1;
            while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80)
                at++;
        } else {
            at = ov[1];
        }
    }
    memset(out, 0, sizeof *out);
    out->text = "";
    if (n == 1) {
        *out = items[0];
    } else {
        out->list = true;
        out->type = EXPR_ARRAY;
        out->items = items;
        out->n = n;
    }
out:
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    return rc;
}

/* ---- the filters ---- */

static size_t utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int want_args(xeval *ev, const char *name, size_t nargs, size_t want)
{
    if (nargs != want)
        return xev_fail(ev, false, "%s: wrong number of args. Expected %zu, got %zu", name, want, nargs);
    return 0;
}

int xev_filter(xeval *ev, const char *name, size_t nlen, const char **args, size_t nargs, const expr_value *in,
               expr_value *out)
{
    char buf[32];
    if (strcmp(name, "json_path") == 0) {
        if (want_args(ev, name, nargs, 1))
            return TC_ERR_INPUT;
        return json_path(ev, args[0], in, out);
    }
    if (strcmp(name, "regex") == 0 || strcmp(name, "regex_group") == 0) {
        if (want_args(ev, name, nargs, 1))
            return TC_ERR_INPUT;
        return regex(ev, args[0], in, name[5] == '_', out);
    }
    if (strcmp(name, "get_index") == 0) {
        if (want_args(ev, name, nargs, 1))
            return TC_ERR_INPUT;
        long long len = in->list ? (long long)in->n : in->type == EXPR_NIL && !in->list ? 0 : 1;
        long long idx;
        if (strcmp(args[0], "last") == 0) {
            idx = len - 1;
        } else {
            char *end;
            idx = strtoll(args[0], &end, 10);
            if (!*args[0] || *end)
                return xev_fail(ev, false, "get_index: index must be an integer");
        }
        if (idx < 0 || idx >= len)
            return xev_fail(ev, false, "get_index: index out of boundaries: %lld out of %lld", idx, len);
        *out = in->list ? in->items[idx] : *in;
        return 0;
    }
    if (strcmp(name, "length") == 0) {
        if (want_args(ev, name, nargs, 0))
            return TC_ERR_INPUT;
        size_t n;
        if (in->list)
            n = in->n;
        else if (in->type == EXPR_NIL)
            n = 0;
        else if (in->type != EXPR_STRING)
            return xev_fail(ev, false, "length: unsupported type: expected array or string, got %s",
                            expr_type_name(in->type));
        else
            n = utf8_len(in->text, in->len);
        snprintf(buf, sizeof buf, "%zu", n);
        return xv_typed(ev, EXPR_NUMBER, buf, strlen(buf), out);
    }
    if (strcmp(name, "type") == 0) {
        if (want_args(ev, name, nargs, 0))
            return TC_ERR_INPUT;
        const char *t = expr_type_name(in->list ? EXPR_ARRAY : in->type);
        return xv_typed(ev, EXPR_STRING, t, strlen(t), out);
    }
    (void)nlen;
    return xev_fail(ev, true, "filter \"%s\" not found", name);
}
