/* resource.c - typed reading of Tracetest resources from the YAML trees:
 * kinds, their fields, the old forms still found in the wild, warnings for
 * unknown keys, and file loading. */
#include "resource/resource_int.h"

#include "core/lint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 200

typedef struct ctx {
    arena *a;
    res_file *f;
    tc_error *e;
} ctx;

/* ---- generic tree access ---- */

bool res_node_is_null(const res_node *n)
{
    if (!n || n->kind != RES_SCALAR || n->quoted)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const res_node *res_node_get(const res_node *m, const char *key)
{
    if (!m || m->kind != RES_MAP)
        return NULL;
    for (const res_node *c = m->first; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    for (const res_node *c = m->first; c; c = c->next)
        if (strcasecmp(c->key, key) == 0)
            return c;
    return NULL;
}

/* Looks a key up and marks it read; NULL when absent. */
static res_node *take(const res_node *m, const char *key)
{
    res_node *n = (res_node *)res_node_get(m, key);
    if (n)
        n->used = true;
    return n;
}

/* The first of several spellings of a key (NULL-terminated list). */
static res_node *take_any(const res_node *m, ...)
{
    va_list ap;
    va_start(ap, m);
    res_node *found = NULL;
    const char *k;
    while (!found && (k = va_arg(ap, const char *)) != NULL)
        found = take(m, k);
    va_end(ap);
    return found;
}

static void mark_used(const res_node *m, const char *const *keys)
{
    for (; *keys; keys++)
        take(m, *keys);
}

/* ---- errors, warnings, paths ---- */

static int fail(ctx *c, const res_node *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(ctx *c, const res_node *n, int code, const char *fmt, ...)
{
    if (c->e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->e->msg, sizeof c->e->msg, fmt, ap);
        va_end(ap);
        c->e->line = n ? n->line : 0;
        c->e->col = n ? n->col : 0;
        c->e->offset = (size_t)-1;
    }
    return code;
}

static int nomem(ctx *c)
{
    return fail(c, NULL, TC_ERR_NOMEM, "out of memory");
}

static void warn(ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void warn(ctx *c, int line, int col, const char *fmt, ...)
{
    res_file *f = c->f;
    if (f->n_warnings >= RES_MAX_WARNINGS) {
        f->n_warnings_dropped++;
        return;
    }
    char msg[TC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    res_warning *w = &f->warnings[f->n_warnings];
    w->msg = arena_strdup(c->a, msg);
    if (!w->msg)
        return;
    w->line = line;
    w->col = col;
    f->n_warnings++;
}

/* Warns once for every entry of map m the loader did not read. */
static void check_unused(ctx *c, const res_node *m, const char *path)
{
    if (!m || m->kind != RES_MAP)
        return;
    for (const res_node *n = m->first; n; n = n->next)
        if (!n->used) {
            if (*path)
                warn(c, n->key_line, n->key_col, "unknown key \"%s\" in %s", n->key, path);
            else
                warn(c, n->key_line, n->key_col, "unknown key \"%s\"", n->key);
        }
}

/* dst = path "." key (or key alone at the top), truncated to fit. */
static void join(char *dst, const char *path, const char *key)
{
    size_t n = 0;
    for (const char *s = path; *s && n < PATH_MAX_LEN - 1; s++)
        dst[n++] = *s;
    if (*path && n < PATH_MAX_LEN - 1)
        dst[n++] = '.';
    for (const char *s = key; *s && n < PATH_MAX_LEN - 1; s++)
        dst[n++] = *s;
    dst[n] = '\0';
}

static void join_index(char *dst, const char *path, size_t i)
{
    char idx[32];
    int k = snprintf(idx, sizeof idx, "[%zu]", i);
    size_t n = strlen(path);
    if (n > PATH_MAX_LEN - 1 - (size_t)k)
        n = PATH_MAX_LEN - 1 - (size_t)k;
    memcpy(dst, path, n);
    memcpy(dst + n, idx, (size_t)k + 1);
}

/* ---- typed values ---- */

static int to_str(ctx *c, const res_node *n, const char *path, res_str *out)
{
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_SCALAR)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a string, got a %s", path,
                    n->kind == RES_MAP ? "mapping" : "list");
    out->s = n->str;
    out->line = n->line;
    out->col = n->col;
    return 0;
}

static int get_str(ctx *c, const res_node *m, const char *key, const char *path, res_str *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    return to_str(c, take(m, key), p, out);
}

static int to_bool(ctx *c, const res_node *n, const char *path, res_bool *out)
{
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind == RES_SCALAR && strcasecmp(n->str, "true") == 0)
        out->v = true;
    else if (n->kind == RES_SCALAR && strcasecmp(n->str, "false") == 0)
        out->v = false;
    else
        return fail(c, n, TC_ERR_INPUT, "%s: expected true or false", path);
    out->set = true;
    out->line = n->line;
    out->col = n->col;
    return 0;
}

static int get_bool(ctx *c, const res_node *m, const char *key, const char *path, res_bool *out)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    return to_bool(c, take(m, key), p, out);
}

/* A mapping (or nothing, when null/absent: returns 0 with *out NULL). */
static int to_map(ctx *c, const res_node *n, const char *path, const res_node **out)
{
    *out = NULL;
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_MAP)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a mapping", path);
    *out = n;
    return 0;
}

/* A list of scalars. */
static int to_str_list(ctx *c, const res_node *n, const char *path, res_str **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_SEQ)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a list of strings", path);
    res_str *v = arena_calloc(c->a, n->n ? n->n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    size_t i = 0;
    for (const res_node *it = n->first; it; it = it->next, i++) {
        if (it->kind != RES_SCALAR) {
            char p[PATH_MAX_LEN];
            join_index(p, path, i);
            return fail(c, it, TC_ERR_INPUT, "%s: expected a list of strings", path);
        }
        v[i].s = res_node_is_null(it) ? "" : it->str;
        v[i].line = it->line;
        v[i].col = it->col;
    }
    *out = v;
    *count = i;
    return 0;
}

/* A list of {key, value} mappings (headers, metadata). */
static int to_kv_list(ctx *c, const res_node *n, const char *path, res_kv **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_SEQ)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a list of {key, value}", path);
    res_kv *v = arena_calloc(c->a, n->n ? n->n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    size_t i = 0;
    for (const res_node *it = n->first; it; it = it->next, i++) {
        char p[PATH_MAX_LEN];
        join_index(p, path, i);
        if (it->kind != RES_MAP)
            return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with key and value", p);
        int rc;
        if ((rc = get_str(c, it, "key", p, &v[i].key)) || (rc = get_str(c, it, "value", p, &v[i].value)))
            return rc;
        check_unused(c, it, p);
    }
    *out = v;
    *count = i;
    return 0;
}

/* A mapping of scalars as a key/value list (old suite env, graphql variables). */
static int map_to_kv(ctx *c, const res_node *n, const char *path, res_kv **out, size_t *count)
{
    const res_node *m;
    int rc = to_map(c, n, path, &m);
    *count = 0;
    if (rc || !m)
        return rc;
    res_kv *v = arena_calloc(c->a, m->n ? m->n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    size_t i = 0;
    for (const res_node *it = m->first; it; it = it->next, i++) {
        char p[PATH_MAX_LEN];
        join(p, path, it->key);
        v[i].key.s = it->key;
        v[i].key.line = it->key_line;
        v[i].key.col = it->key_col;
        if ((rc = to_str(c, it, p, &v[i].value)))
            return rc;
    }
    *out = v;
    *count = i;
    return 0;
}

/* Go duration syntax ("300ms", "1m30s", "1.5h"); returns 0 and ms, or -1. */
static int parse_duration_ms(const char *s, long long *ms)
{
    double total = 0;
    const char *p = s;
    if (*p == '+')
        p++;
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*p)
        return -1;
    while (*p) {
        char *end;
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return -1;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno)
            return -1;
        p = end;
        static const struct {
            const char *u;
            double ns;
        } units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
        size_t best = 0;
        double mul = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].u);
            if (strncmp(p, units[i].u, l) == 0 && l > best) {
                best = l;
                mul = units[i].ns;
            }
        }
        if (!best)
            return -1;
        p += best;
        total += v * mul;
        if (total > 9.2e18)
            return -1;
    }
    *ms = (long long)(total / 1e6);
    return 0;
}

/* ---- triggers ---- */

static const struct {
    const char *name;
    res_trigger_type t;
} trigger_types[] = {
    {"http", RES_TRIG_HTTP},       {"grpc", RES_TRIG_GRPC},
    {"traceid", RES_TRIG_TRACEID}, {"kafka", RES_TRIG_KAFKA},
    {"graphql", RES_TRIG_GRAPHQL}, {"playwrightengine", RES_TRIG_PLAYWRIGHTENGINE},
    {"cypress", RES_TRIG_CYPRESS}, {"playwright", RES_TRIG_PLAYWRIGHT},
    {"k6", RES_TRIG_K6},           {"artillery", RES_TRIG_ARTILLERY},
};

const char *res_trigger_type_name(res_trigger_type t)
{
    for (size_t i = 0; i < sizeof trigger_types / sizeof trigger_types[0]; i++)
        if (trigger_types[i].t == t)
            return trigger_types[i].name;
    return "";
}

static int read_auth(ctx *c, const res_node *n, const char *path, res_auth **out)
{
    const res_node *m;
    int rc = to_map(c, n, path, &m);
    if (rc || !m)
        return rc;
    res_auth *a = arena_calloc(c->a, 1, sizeof *a);
    if (!a)
        return nomem(c);
    char p[PATH_MAX_LEN];
    if ((rc = get_str(c, m, "type", path, &a->type)))
        return rc;
    const res_node *sub;
    join(p, path, "apiKey");
    if ((rc = to_map(c, take(m, "apiKey"), p, &sub)))
        return rc;
    if (sub) {
        if ((rc = get_str(c, sub, "key", p, &a->key)) || (rc = get_str(c, sub, "value", p, &a->value)) ||
            (rc = get_str(c, sub, "in", p, &a->in)))
            return rc;
        check_unused(c, sub, p);
    }
    join(p, path, "basic");
    if ((rc = to_map(c, take(m, "basic"), p, &sub)))
        return rc;
    if (sub) {
        if ((rc = get_str(c, sub, "username", p, &a->username)) ||
            (rc = get_str(c, sub, "password", p, &a->password)))
            return rc;
        check_unused(c, sub, p);
    }
    join(p, path, "bearer");
    if ((rc = to_map(c, take(m, "bearer"), p, &sub)))
        return rc;
    if (sub) {
        char q[PATH_MAX_LEN];
        join(q, p, "token");
        if ((rc = to_str(c, take_any(sub, "token", "bearer", (char *)NULL), q, &a->token)))
            return rc;
        check_unused(c, sub, p);
    }
    check_unused(c, m, path);
    *out = a->type.s || a->key.s || a->username.s || a->token.s ? a : NULL;
    return 0;
}

static int read_http(ctx *c, const res_node *m, const char *path, res_trigger *t)
{
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "url", path, &t->http.url)) ||
        (rc = get_str(c, m, "method", path, &t->http.method)) ||
        (rc = get_str(c, m, "body", path, &t->http.body)) ||
        (rc = get_bool(c, m, "sslVerification", path, &t->http.ssl_verification)))
        return rc;
    join(p, path, "headers");
    if ((rc = to_kv_list(c, take(m, "headers"), p, &t->http.headers, &t->http.n_headers)))
        return rc;
    const res_node *an = take_any(m, "auth", "authentication", (char *)NULL);
    join(p, path, an ? an->key : "auth");
    if ((rc = read_auth(c, an, p, &t->http.auth)))
        return rc;
    check_unused(c, m, path);
    return 0;
}

static int read_grpc(ctx *c, const res_node *m, const char *path, res_trigger *t)
{
    char p[PATH_MAX_LEN];
    int rc;
    const res_node *pf = take_any(m, "protobufFile", "protobuf_file", (char *)NULL);
    join(p, path, pf ? pf->key : "protobufFile");
    if ((rc = to_str(c, pf, p, &t->grpc.protobuf_file)) ||
        (rc = get_str(c, m, "address", path, &t->grpc.address)) ||
        (rc = get_str(c, m, "service", path, &t->grpc.service)) ||
        (rc = get_str(c, m, "method", path, &t->grpc.method)) ||
        (rc = get_str(c, m, "request", path, &t->grpc.request)))
        return rc;
    join(p, path, "metadata");
    if ((rc = to_kv_list(c, take(m, "metadata"), p, &t->grpc.metadata, &t->grpc.n_metadata)))
        return rc;
    const res_node *an = take_any(m, "auth", "authentication", (char *)NULL);
    join(p, path, an ? an->key : "auth");
    if ((rc = read_auth(c, an, p, &t->grpc.auth)))
        return rc;
    check_unused(c, m, path);
    return 0;
}

static int read_kafka(ctx *c, const res_node *m, const char *path, res_trigger *t)
{
    char p[PATH_MAX_LEN];
    int rc;
    join(p, path, "brokerUrls");
    if ((rc = to_str_list(c, take(m, "brokerUrls"), p, &t->kafka.broker_urls, &t->kafka.n_broker_urls)) ||
        (rc = get_str(c, m, "topic", path, &t->kafka.topic)) ||
        (rc = get_str(c, m, "messageKey", path, &t->kafka.message_key)) ||
        (rc = get_str(c, m, "messageValue", path, &t->kafka.message_value)) ||
        (rc = get_bool(c, m, "sslVerification", path, &t->kafka.ssl_verification)))
        return rc;
    join(p, path, "headers");
    if ((rc = to_kv_list(c, take(m, "headers"), p, &t->kafka.headers, &t->kafka.n_headers)))
        return rc;
    /* Tracetest's own field tag is spelled "authetication" */
    const res_node *an = take_any(m, "authentication", "authetication", "auth", (char *)NULL);
    const res_node *am;
    join(p, path, an ? an->key : "authentication");
    if ((rc = to_map(c, an, p, &am)))
        return rc;
    if (am) {
        if ((rc = get_str(c, am, "type", p, &t->kafka.auth_type)))
            return rc;
        char q[PATH_MAX_LEN];
        join(q, p, "plain");
        const res_node *pm;
        if ((rc = to_map(c, take(am, "plain"), q, &pm)))
            return rc;
        if (pm) {
            if ((rc = get_str(c, pm, "username", q, &t->kafka.auth_username)) ||
                (rc = get_str(c, pm, "password", q, &t->kafka.auth_password)))
                return rc;
            check_unused(c, pm, q);
        }
        check_unused(c, am, p);
    }
    check_unused(c, m, path);
    return 0;
}

static int read_graphql(ctx *c, const res_node *m, const char *path, res_trigger *t)
{
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "url", path, &t->graphql.url)) ||
        (rc = get_str(c, m, "schema", path, &t->graphql.schema)) ||
        (rc = get_bool(c, m, "sslVerification", path, &t->graphql.ssl_verification)))
        return rc;
    join(p, path, "headers");
    if ((rc = to_kv_list(c, take(m, "headers"), p, &t->graphql.headers, &t->graphql.n_headers)))
        return rc;
    join(p, path, "auth");
    if ((rc = read_auth(c, take(m, "auth"), p, &t->graphql.auth)))
        return rc;
    const res_node *body;
    join(p, path, "body");
    if ((rc = to_map(c, take(m, "body"), p, &body)))
        return rc;
    if (body) {
        char q[PATH_MAX_LEN];
        join(q, p, "variables");
        if ((rc = get_str(c, body, "query", p, &t->graphql.query)) ||
            (rc = get_str(c, body, "operationName", p, &t->graphql.operation_name)) ||
            (rc = map_to_kv(c, take(body, "variables"), q, &t->graphql.variables,
                            &t->graphql.n_variables)))
            return rc;
        check_unused(c, body, p);
    }
    check_unused(c, m, path);
    return 0;
}

static int read_trigger(ctx *c, const res_node *n, const char *path, res_trigger *t)
{
    const res_node *m;
    int rc = to_map(c, n, path, &m);
    if (rc || !m)
        return rc;
    char p[PATH_MAX_LEN];
    const res_node *tn = take_any(m, "type", "triggerType", (char *)NULL);
    join(p, path, tn ? tn->key : "type");
    if ((rc = to_str(c, tn, p, &t->type_name)))
        return rc;
    if (!t->type_name.s)
        return fail(c, m, TC_ERR_INPUT, "%s: missing key \"type\"", path);
    for (size_t i = 0; i < sizeof trigger_types / sizeof trigger_types[0]; i++)
        if (strcasecmp(t->type_name.s, trigger_types[i].name) == 0)
            t->type = trigger_types[i].t;
    if (t->type == RES_TRIG_NONE)
        return fail(c, tn, TC_ERR_INPUT,
                    "%s: unknown trigger type \"%s\" (expected http, grpc, traceid, kafka, "
                    "graphql, playwrightengine, cypress, playwright, k6 or artillery)",
                    p, t->type_name.s);

    static const char *const block_key[] = {
        [RES_TRIG_HTTP] = "httpRequest", [RES_TRIG_GRPC] = "grpc",
        [RES_TRIG_TRACEID] = "traceid",  [RES_TRIG_KAFKA] = "kafka",
        [RES_TRIG_GRAPHQL] = "graphql",  [RES_TRIG_PLAYWRIGHTENGINE] = "playwrightEngine",
    };
    const res_node *blocks[RES_TRIG_PLAYWRIGHTENGINE + 1] = {0};
    blocks[RES_TRIG_HTTP] = take_any(m, "httpRequest", "http", "http_request", (char *)NULL);
    blocks[RES_TRIG_GRPC] = take(m, "grpc");
    blocks[RES_TRIG_TRACEID] = take(m, "traceid");
    blocks[RES_TRIG_KAFKA] = take(m, "kafka");
    blocks[RES_TRIG_GRAPHQL] = take(m, "graphql");
    blocks[RES_TRIG_PLAYWRIGHTENGINE] = take(m, "playwrightEngine");
    for (int k = RES_TRIG_HTTP; k <= RES_TRIG_PLAYWRIGHTENGINE; k++) {
        const res_node *b;
        join(p, path, blocks[k] ? blocks[k]->key : block_key[k]);
        if ((rc = to_map(c, blocks[k], p, &b)))
            return rc;
        if (!b) {
            if ((int)t->type == k)
                return fail(c, m, TC_ERR_INPUT, "%s: trigger type %s needs a \"%s\" block", path,
                            res_trigger_type_name(t->type), block_key[k]);
            continue;
        }
        switch (k) {
        case RES_TRIG_HTTP:
            rc = read_http(c, b, p, t);
            break;
        case RES_TRIG_GRPC:
            rc = read_grpc(c, b, p, t);
            break;
        case RES_TRIG_TRACEID:
            rc = get_str(c, b, "id", p, &t->traceid.id);
            check_unused(c, b, p);
            break;
        case RES_TRIG_KAFKA:
            rc = read_kafka(c, b, p, t);
            break;
        case RES_TRIG_GRAPHQL:
            rc = read_graphql(c, b, p, t);
            break;
        case RES_TRIG_PLAYWRIGHTENGINE:
            if (!(rc = get_str(c, b, "target", p, &t->playwright_engine.target)) &&
                !(rc = get_str(c, b, "script", p, &t->playwright_engine.script)))
                rc = get_str(c, b, "method", p, &t->playwright_engine.method);
            check_unused(c, b, p);
            break;
        }
        if (rc)
            return rc;
    }
    check_unused(c, m, path);
    return 0;
}

/* ---- specs and outputs ---- */

/* A selector: a string, or the JSON export form {query: ..., parsedSelector: ...}. */
static int read_selector(ctx *c, const res_node *n, const char *path, res_str *out)
{
    if (n && n->kind == RES_MAP) {
        char p[PATH_MAX_LEN];
        join(p, path, "query");
        int rc = to_str(c, take(n, "query"), p, out);
        take(n, "parsedSelector");
        check_unused(c, n, path);
        if (!rc && !out->s) {
            out->s = "";
            out->line = n->line;
            out->col = n->col;
        }
        return rc;
    }
    return to_str(c, n, path, out);
}

static int read_specs(ctx *c, const res_node *n, const char *path, res_test *t)
{
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind == RES_SCALAR)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a list of specs", path);
    res_spec *v = arena_calloc(c->a, n->n ? n->n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    size_t i = 0;
    int rc;
    for (const res_node *it = n->first; it; it = it->next, i++) {
        char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
        res_spec *s = &v[i];
        if (n->kind == RES_MAP) {
            /* old form: selector -> assertions, or selector -> {name, assertions} */
            join(p, path, it->key);
            s->selector.s = it->key;
            s->selector.line = s->line = it->key_line;
            s->selector.col = s->col = it->key_col;
            if (it->kind == RES_MAP) {
                join(q, p, "assertions");
                if ((rc = get_str(c, it, "name", p, &s->name)) ||
                    (rc = to_str_list(c, take(it, "assertions"), q, &s->assertions, &s->n_assertions)))
                    return rc;
                check_unused(c, it, p);
            } else if ((rc = to_str_list(c, it, p, &s->assertions, &s->n_assertions))) {
                return rc;
            }
            continue;
        }
        join_index(p, path, i);
        if (it->kind != RES_MAP)
            return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with selector and assertions", p);
        s->line = it->line;
        s->col = it->col;
        join(q, p, "selector");
        if ((rc = get_str(c, it, "name", p, &s->name)) ||
            (rc = read_selector(c, take(it, "selector"), q, &s->selector)))
            return rc;
        join(q, p, "assertions");
        if ((rc = to_str_list(c, take(it, "assertions"), q, &s->assertions, &s->n_assertions)))
            return rc;
        if (!s->selector.s) {
            s->selector.s = ""; /* every span */
            s->selector.line = it->line;
            s->selector.col = it->col;
        }
        check_unused(c, it, p);
    }
    t->specs = v;
    t->n_specs = i;
    return 0;
}

static int read_outputs(ctx *c, const res_node *n, const char *path, res_test *t)
{
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind == RES_SCALAR)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a list of outputs", path);
    res_output *v = arena_calloc(c->a, n->n ? n->n : 1, sizeof *v);
    if (!v)
        return nomem(c);
    size_t i = 0;
    int rc;
    for (const res_node *it = n->first; it; it = it->next, i++) {
        char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
        res_output *o = &v[i];
        if (n->kind == RES_MAP) { /* old form: name -> {selector, value} */
            join(p, path, it->key);
            o->name.s = it->key;
            o->name.line = it->key_line;
            o->name.col = it->key_col;
        } else {
            join_index(p, path, i);
        }
        if (it->kind != RES_MAP)
            return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with name, selector and value", p);
        if (n->kind == RES_SEQ && (rc = get_str(c, it, "name", p, &o->name)))
            return rc;
        join(q, p, "selector");
        if ((rc = read_selector(c, take(it, "selector"), q, &o->selector)) ||
            (rc = get_str(c, it, "value", p, &o->value)))
            return rc;
        if (!o->name.s)
            return fail(c, it, TC_ERR_INPUT, "%s: missing key \"name\"", p);
        if (!o->value.s)
            return fail(c, it, TC_ERR_INPUT, "%s: missing key \"value\"", p);
        if (!o->selector.s) {
            o->selector.s = "";
            o->selector.line = it->line;
            o->selector.col = it->col;
        }
        check_unused(c, it, p);
    }
    t->outputs = v;
    t->n_outputs = i;
    return 0;
}

/* ---- kinds ---- */

static int read_test(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_test *t = arena_calloc(c->a, 1, sizeof *t);
    if (!t)
        return nomem(c);
    r->u.test = t;
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "id", path, &t->id)) || (rc = get_str(c, m, "name", path, &t->name)) ||
        (rc = get_str(c, m, "description", path, &t->description)) ||
        (rc = get_bool(c, m, "skipTraceCollection", path, &t->skip_trace_collection)) ||
        (rc = get_str(c, m, "pollingProfile", path, &t->polling_profile)))
        return rc;
    join(p, path, "trigger");
    if ((rc = read_trigger(c, take(m, "trigger"), p, &t->trigger)))
        return rc;
    const res_node *sn = take_any(m, "specs", "testDefinition", (char *)NULL);
    join(p, path, sn ? sn->key : "specs");
    if ((rc = read_specs(c, sn, p, t)))
        return rc;
    join(p, path, "outputs");
    if ((rc = read_outputs(c, take(m, "outputs"), p, t)))
        return rc;
    static const char *const ignored[] = {"version", "createdAt", "summary", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

static int read_suite(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_suite *s = arena_calloc(c->a, 1, sizeof *s);
    if (!s)
        return nomem(c);
    r->u.suite = s;
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "id", path, &s->id)) || (rc = get_str(c, m, "name", path, &s->name)) ||
        (rc = get_str(c, m, "description", path, &s->description)))
        return rc;
    join(p, path, "steps");
    if ((rc = to_str_list(c, take(m, "steps"), p, &s->steps, &s->n_steps)))
        return rc;
    join(p, path, "env");
    if ((rc = map_to_kv(c, take(m, "env"), p, &s->env, &s->n_env)))
        return rc;
    static const char *const ignored[] = {"version", "createdAt", "summary", "fullSteps", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

static int read_varset(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_varset *v = arena_calloc(c->a, 1, sizeof *v);
    if (!v)
        return nomem(c);
    r->u.varset = v;
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "id", path, &v->id)) || (rc = get_str(c, m, "name", path, &v->name)) ||
        (rc = get_str(c, m, "description", path, &v->description)))
        return rc;
    join(p, path, "values");
    const res_node *vals = take(m, "values");
    if (vals && !res_node_is_null(vals)) {
        if (vals->kind != RES_SEQ)
            return fail(c, vals, TC_ERR_INPUT, "%s: expected a list of {key, value}", p);
        v->values = arena_calloc(c->a, vals->n ? vals->n : 1, sizeof *v->values);
        if (!v->values)
            return nomem(c);
        size_t i = 0;
        for (const res_node *it = vals->first; it; it = it->next, i++) {
            char q[PATH_MAX_LEN];
            join_index(q, p, i);
            res_var *x = &v->values[i];
            if (it->kind != RES_MAP)
                return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with key and value", q);
            if ((rc = get_str(c, it, "key", q, &x->key)) || (rc = get_str(c, it, "value", q, &x->value)) ||
                (rc = get_str(c, it, "type", q, &x->type)) ||
                (rc = get_bool(c, it, "secret", q, &x->secret)))
                return rc;
            if (!x->key.s)
                return fail(c, it, TC_ERR_INPUT, "%s: missing key \"key\"", q);
            if (!x->value.s) {
                x->value.s = "";
                x->value.line = it->line;
                x->value.col = it->col;
            }
            if (x->type.s && strcasecmp(x->type.s, "secret") == 0 && !x->secret.set)
                x->secret.v = true;
            check_unused(c, it, q);
        }
        v->n_values = i;
    }
    /* Tracetest Cloud's Environment resource (agent settings, no values) */
    static const char *const ignored[] = {"createdAt", "agentConfiguration", "resources", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

static int read_duration(ctx *c, const res_node *m, const char *key, const char *path,
                         const char *def, res_str *out, long long *ms)
{
    char p[PATH_MAX_LEN];
    join(p, path, key);
    const res_node *n = take(m, key);
    int rc = to_str(c, n, p, out);
    if (rc)
        return rc;
    if (!out->s)
        out->s = def;
    if (parse_duration_ms(out->s, ms) != 0)
        return fail(c, n, TC_ERR_INPUT, "%s: invalid duration \"%s\" (expected e.g. 500ms, 5s, 1m)",
                    p, out->s);
    return 0;
}

static int read_polling(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_polling *pp = arena_calloc(c->a, 1, sizeof *pp);
    if (!pp)
        return nomem(c);
    r->u.polling = pp;
    char p[PATH_MAX_LEN];
    int rc;
    if ((rc = get_str(c, m, "id", path, &pp->id)) || (rc = get_str(c, m, "name", path, &pp->name)) ||
        (rc = get_bool(c, m, "default", path, &pp->is_default)) ||
        (rc = get_str(c, m, "strategy", path, &pp->strategy)))
        return rc;
    if (!pp->strategy.s) {
        pp->strategy.s = "periodic";
    } else if (strcmp(pp->strategy.s, "periodic") != 0) {
        join(p, path, "strategy");
        return fail(c, res_node_get(m, "strategy"), TC_ERR_INPUT,
                    "%s: unknown polling strategy \"%s\" (expected periodic)", p, pp->strategy.s);
    }
    const res_node *per;
    join(p, path, "periodic");
    if ((rc = to_map(c, take(m, "periodic"), p, &per)))
        return rc;
    pp->selector_match_retries = 3;
    if ((rc = read_duration(c, per, "retryDelay", p, "5s", &pp->retry_delay, &pp->retry_delay_ms)) ||
        (rc = read_duration(c, per, "timeout", p, "1m", &pp->timeout, &pp->timeout_ms)) ||
        (rc = read_duration(c, per, "quietWindow", p, "250ms", &pp->quiet_window, &pp->quiet_window_ms)))
        return rc;
    const res_node *smr = take(per, "selectorMatchRetries");
    if (smr && !res_node_is_null(smr)) {
        char q[PATH_MAX_LEN];
        join(q, p, "selectorMatchRetries");
        char *end = NULL;
        long long v = smr->kind == RES_SCALAR ? strtoll(smr->str, &end, 10) : -1;
        if (smr->kind != RES_SCALAR || end == smr->str || *end || v < 0 || v > 1000000)
            return fail(c, smr, TC_ERR_INPUT, "%s: expected a whole number from 0 to 1000000", q);
        pp->selector_match_retries = v;
        pp->retries_line = smr->line;
        pp->retries_col = smr->col;
    }
    check_unused(c, per, p);
    static const char *const ignored[] = {"createdAt", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

static const char *const datastore_types[] = {
    "agent",     "awsxray",   "azureappinsights", "dash0",      "datadog", "dynatrace",
    "elasticapm", "honeycomb", "instana",          "jaeger",     "lightstep", "newrelic",
    "opensearch", "otelstore", "otlp",             "signalfx",   "signoz",  "sumologic",
    "tempo",      "zipkin",    NULL,
};

static int read_datastore(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_datastore *d = arena_calloc(c->a, 1, sizeof *d);
    if (!d)
        return nomem(c);
    r->u.datastore = d;
    int rc;
    if ((rc = get_str(c, m, "id", path, &d->id)) || (rc = get_str(c, m, "name", path, &d->name)) ||
        (rc = get_str(c, m, "type", path, &d->type)) ||
        (rc = get_bool(c, m, "default", path, &d->is_default)))
        return rc;
    bool known = false;
    for (const char *const *t = datastore_types; *t; t++)
        if (d->type.s && strcasecmp(d->type.s, *t) == 0)
            known = true;
    if (d->type.s && !known)
        warn(c, d->type.line, d->type.col, "%s.type: unknown data store type \"%s\"", path, d->type.s);
    if (d->type.s) {
        char p[PATH_MAX_LEN];
        join(p, path, d->type.s);
        if ((rc = to_map(c, take(m, d->type.s), p, &d->block)))
            return rc;
    }
    mark_used(m, datastore_types); /* other blocks are allowed and ignored, as Tracetest does */
    static const char *const ignored[] = {"createdAt", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

/* A whole number in lo..hi; *out untouched when absent. */
static int read_int(ctx *c, const res_node *n, const char *path, long long lo, long long hi, long long *out)
{
    if (!n || res_node_is_null(n))
        return 0;
    char *end = NULL;
    long long v = n->kind == RES_SCALAR && !n->quoted ? strtoll(n->str, &end, 10) : lo - 1;
    if (n->kind != RES_SCALAR || n->quoted || end == n->str || *end || v < lo || v > hi)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a whole number from %lld to %lld", path, lo, hi);
    *out = v;
    return 0;
}

static int read_analyzer_rules(ctx *c, const res_node *n, const char *path, const lint_plugin_info *pi,
                               res_analyzer_plugin *pl)
{
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_SEQ)
        return fail(c, n, TC_ERR_INPUT, "%s: expected a list of rules", path);
    if (n->n > RES_MAX_ITEMS)
        return fail(c, n, TC_ERR_LIMIT, "%s: more than %d rules", path, RES_MAX_ITEMS);
    pl->rules = arena_calloc(c->a, n->n ? n->n : 1, sizeof *pl->rules);
    if (!pl->rules)
        return nomem(c);
    size_t i = 0;
    int rc;
    for (const res_node *it = n->first; it; it = it->next, i++) {
        char q[PATH_MAX_LEN], k[PATH_MAX_LEN];
        join_index(q, path, i);
        res_analyzer_rule *ru = &pl->rules[i];
        if (it->kind != RES_MAP)
            return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with id, weight and errorLevel", q);
        ru->line = it->line;
        ru->col = it->col;
        const res_node *idn = take_any(it, "id", "slug", NULL);
        join(k, q, "id");
        if ((rc = to_str(c, idn, k, &ru->id)))
            return rc;
        if (!ru->id.s)
            return fail(c, it, TC_ERR_INPUT, "%s: missing key \"id\"", q);
        const lint_rule_info *ri = lint_rule_find(pi, ru->id.s);
        if (!ri)
            return fail(c, idn, TC_ERR_INPUT, "%s: plugin \"%s\" has no rule \"%s\"", k, pi->id, ru->id.s);
        ru->weight = ri->weight;
        ru->level = ri->level;
        join(k, q, "weight");
        if ((rc = read_int(c, take(it, "weight"), k, 0, 1000000, &ru->weight)) ||
            (rc = get_str(c, it, "errorLevel", q, &ru->error_level)))
            return rc;
        if (ru->error_level.s) {
            int lv = lint_level_parse(ru->error_level.s);
            if (lv < 0)
                return fail(c, res_node_get(it, "errorLevel"), TC_ERR_INPUT,
                            "%s.errorLevel: unknown level \"%s\" (expected error, warning or disabled)", q,
                            ru->error_level.s);
            ru->level = lv;
        }
        static const char *const exported[] = {"name", "description", "errorDescription", "tips", NULL};
        mark_used(it, exported);
        check_unused(c, it, q);
    }
    pl->n_rules = i;
    return 0;
}

static int read_analyzer(ctx *c, const res_node *m, const char *path, res_resource *r)
{
    res_analyzer *an = arena_calloc(c->a, 1, sizeof *an);
    if (!an)
        return nomem(c);
    r->u.analyzer = an;
    char p[PATH_MAX_LEN];
    int rc;
    an->enabled.v = true;
    if ((rc = get_str(c, m, "id", path, &an->id)) || (rc = get_str(c, m, "name", path, &an->name)) ||
        (rc = get_bool(c, m, "enabled", path, &an->enabled)))
        return rc;
    const res_node *ms = take(m, "minimumScore");
    join(p, path, "minimumScore");
    if ((rc = read_int(c, ms, p, 0, 100, &an->minimum_score)))
        return rc;
    if (ms) {
        an->score_line = ms->line;
        an->score_col = ms->col;
    }
    const res_node *pls = take(m, "plugins");
    join(p, path, "plugins");
    if (pls && !res_node_is_null(pls)) {
        if (pls->kind != RES_SEQ)
            return fail(c, pls, TC_ERR_INPUT, "%s: expected a list of plugins", p);
        if (pls->n > RES_MAX_ITEMS)
            return fail(c, pls, TC_ERR_LIMIT, "%s: more than %d plugins", p, RES_MAX_ITEMS);
        an->plugins = arena_calloc(c->a, pls->n ? pls->n : 1, sizeof *an->plugins);
        if (!an->plugins)
            return nomem(c);
        size_t i = 0;
        for (const res_node *it = pls->first; it; it = it->next, i++) {
            char q[PATH_MAX_LEN], k[PATH_MAX_LEN];
            join_index(q, p, i);
            res_analyzer_plugin *pl = &an->plugins[i];
            if (it->kind != RES_MAP)
                return fail(c, it, TC_ERR_INPUT, "%s: expected a mapping with id, enabled and rules", q);
            pl->line = it->line;
            pl->col = it->col;
            pl->enabled.v = true;
            const res_node *idn = take_any(it, "id", "slug", NULL);
            join(k, q, "id");
            if ((rc = to_str(c, idn, k, &pl->id)) || (rc = get_str(c, it, "name", q, &pl->name)) ||
                (rc = get_bool(c, it, "enabled", q, &pl->enabled)) ||
                (rc = get_bool(c, it, "required", q, &pl->required)))
                return rc;
            if (!pl->id.s) { /* the newest form names the plugin by `name` */
                pl->id = pl->name;
                idn = res_node_get(it, "name");
            }
            if (!pl->id.s)
                return fail(c, it, TC_ERR_INPUT, "%s: missing key \"id\"", q);
            const lint_plugin_info *pi = lint_plugin_find(pl->id.s);
            if (!pi)
                return fail(c, idn, TC_ERR_INPUT,
                            "%s: unknown analyzer plugin \"%s\" (expected standards, common, security or structure)",
                            k, pl->id.s);
            for (size_t j = 0; j < i; j++)
                if (strcmp(an->plugins[j].id.s, pl->id.s) == 0)
                    return fail(c, idn, TC_ERR_INPUT, "%s: plugin \"%s\" is listed twice", k, pl->id.s);
            join(k, q, "rules");
            if ((rc = read_analyzer_rules(c, take(it, "rules"), k, pi, pl)))
                return rc;
            static const char *const exported[] = {"description", NULL};
            mark_used(it, exported);
            check_unused(c, it, q);
        }
        an->n_plugins = i;
    }
    static const char *const ignored[] = {"createdAt", NULL};
    mark_used(m, ignored);
    check_unused(c, m, path);
    return 0;
}

static const struct {
    const char *type;
    res_kind kind;
} kinds[] = {
    {"Test", RES_TEST},
    {"TestSuite", RES_TESTSUITE},
    {"Transaction", RES_TESTSUITE},
    {"VariableSet", RES_VARSET},
    {"Environment", RES_VARSET},
    {"PollingProfile", RES_POLLING},
    {"DataStore", RES_DATASTORE},
    {"Analyzer", RES_OTHER},
    {"Linter", RES_OTHER},
    {"TestRunner", RES_OTHER},
    {"Config", RES_OTHER},
    {"Demo", RES_OTHER},
    {"Monitor", RES_OTHER},
};

const char *res_kind_name(res_kind k)
{
    switch (k) {
    case RES_TEST:
        return "Test";
    case RES_TESTSUITE:
        return "TestSuite";
    case RES_VARSET:
        return "VariableSet";
    case RES_POLLING:
        return "PollingProfile";
    case RES_DATASTORE:
        return "DataStore";
    default:
        return "Other";
    }
}

static int read_document(ctx *c, const res_node *root, int doc, res_resource *r)
{
    r->doc = doc;
    r->line = root->line;
    r->col = root->col;
    if (root->kind != RES_MAP)
        return fail(c, root, TC_ERR_INPUT, "expected a mapping with \"type\" and \"spec\"");
    const res_node *tn = take(root, "type");
    res_str type = {0};
    int rc = to_str(c, tn, "type", &type);
    if (rc)
        return rc;
    if (!type.s) {
        if (res_node_get(root, "trigger") && !res_node_get(root, "spec")) {
            /* the first test format: name, trigger, testDefinition at the top */
            warn(c, root->line, root->col, "no \"type\": read as a Test in the old top-level form");
            r->kind = RES_TEST;
            r->type = "Test";
            r->spec = root;
            return read_test(c, root, "", r);
        }
        return fail(c, root, TC_ERR_INPUT, "missing key \"type\"");
    }
    bool found = false;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(type.s, kinds[i].type) == 0) {
            r->kind = kinds[i].kind;
            found = true;
        }
    if (!found)
        return fail(c, tn, TC_ERR_INPUT,
                    "type: unknown resource type \"%s\" (expected Test, TestSuite, VariableSet, "
                    "PollingProfile, DataStore, ...)",
                    type.s);
    r->type = type.s;
    const res_node *spec = take(root, "spec");
    if (!spec)
        return fail(c, root, TC_ERR_INPUT, "missing key \"spec\"");
    if (r->kind != RES_OTHER || !res_node_is_null(spec)) {
        if (spec->kind != RES_MAP)
            return fail(c, spec, TC_ERR_INPUT, "spec: expected a mapping");
    }
    r->spec = spec;
    check_unused(c, root, "");
    switch (r->kind) {
    case RES_TEST:
        return read_test(c, spec, "spec", r);
    case RES_TESTSUITE:
        return read_suite(c, spec, "spec", r);
    case RES_VARSET:
        return read_varset(c, spec, "spec", r);
    case RES_POLLING:
        return read_polling(c, spec, "spec", r);
    case RES_DATASTORE:
        return read_datastore(c, spec, "spec", r);
    default:
        if ((strcmp(r->type, "Analyzer") == 0 || strcmp(r->type, "Linter") == 0) && spec->kind == RES_MAP)
            return read_analyzer(c, spec, "spec", r);
        return 0;
    }
}

/* ---- loading ---- */

static const char *dir_of(arena *a, const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (!slash)
        return ".";
    if (slash == name)
        return "/";
    return arena_strndup(a, name, (size_t)(slash - name));
}

int res_load_buffer(const char *name, const char *text, size_t len, res_file **out, tc_error *e)
{
    if (len > RES_MAX_FILE) {
        if (e) {
            tc_error_set(e, TC_ERR_LIMIT, "file too large (%zu bytes, limit %zu)", len, RES_MAX_FILE);
            e->line = e->col = 1;
        }
        return TC_ERR_LIMIT;
    }
    arena *a = arena_new(RES_ARENA_CAP);
    if (!a)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    res_file *f = arena_calloc(a, 1, sizeof *f);
    ctx c = {a, f, e};
    int rc = 0;
    if (!f || !(f->warnings = arena_calloc(a, RES_MAX_WARNINGS, sizeof *f->warnings))) {
        rc = nomem(&c);
        goto out;
    }
    f->arena = a;
    f->name = arena_strdup(a, name ? name : "");
    f->base_dir = dir_of(a, name);
    if (!f->name || !f->base_dir) {
        rc = nomem(&c);
        goto out;
    }
    res_node *stream = NULL;
    if ((rc = res_yaml_parse(a, text, len, &stream, e)))
        goto out;
    size_t n = 0;
    for (const res_node *d = stream->first; d; d = d->next)
        if (!res_node_is_null(d))
            n++;
    if (n == 0) {
        rc = fail(&c, NULL, TC_ERR_INPUT, "no resource in the file (expected \"type:\" and \"spec:\")");
        if (e)
            e->line = e->col = 1;
        goto out;
    }
    f->items = arena_calloc(a, n, sizeof *f->items);
    if (!f->items) {
        rc = nomem(&c);
        goto out;
    }
    int doc = 0;
    for (const res_node *d = stream->first; d; d = d->next, doc++) {
        if (res_node_is_null(d))
            continue;
        if ((rc = read_document(&c, d, doc, &f->items[f->n_items])))
            goto out;
        f->n_items++;
    }
    /* warnings in file order (they are found inner maps first) */
    for (size_t i = 1; i < f->n_warnings; i++) {
        res_warning w = f->warnings[i];
        size_t j = i;
        while (j > 0 && (f->warnings[j - 1].line > w.line ||
                         (f->warnings[j - 1].line == w.line && f->warnings[j - 1].col > w.col))) {
            f->warnings[j] = f->warnings[j - 1];
            j--;
        }
        f->warnings[j] = w;
    }
    *out = f;
    return 0;
out:
    arena_free(&a);
    return rc;
}

int res_load_file(const char *path, res_file **out, tc_error *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return tc_error_set(e, TC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    tc_buf b;
    buf_init(&b, RES_MAX_FILE + 1);
    char tmp[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        if (buf_append(&b, tmp, n) != 0) {
            rc = TC_ERR_LIMIT;
            break;
        }
    bool err = ferror(fp);
    fclose(fp);
    if (rc || b.len > RES_MAX_FILE) {
        buf_free(&b);
        tc_error_set(e, TC_ERR_LIMIT, "%s: file too large (limit %zu bytes)", path, RES_MAX_FILE);
        return TC_ERR_LIMIT;
    }
    if (err) {
        buf_free(&b);
        return tc_error_set(e, TC_ERR_IO, "cannot read %s", path);
    }
    rc = res_load_buffer(path, buf_str(&b), b.len, out, e);
    buf_free(&b);
    return rc;
}

void res_file_free(res_file **f)
{
    if (!f || !*f)
        return;
    arena *a = (*f)->arena;
    arena_free(&a);
    *f = NULL;
}
