/* trigger.c - trace ids, building the HTTP request from a test, the
 * trigger span (see trigger.h). */
#include "trigger.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

int trigger_ids_new(uint8_t trace_id[TRACE_ID_LEN], uint8_t span_id[SPAN_ID_LEN])
{
    uint8_t b[TRACE_ID_LEN + SPAN_ID_LEN];
    for (int tries = 0; tries < 4; tries++) {
        if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
            return -1;
        static const uint8_t zero[TRACE_ID_LEN];
        if (memcmp(b, zero, TRACE_ID_LEN) != 0 && memcmp(b + TRACE_ID_LEN, zero, SPAN_ID_LEN) != 0) {
            memcpy(trace_id, b, TRACE_ID_LEN);
            memcpy(span_id, b + TRACE_ID_LEN, SPAN_ID_LEN);
            return 0;
        }
    }
    return -1;
}

/* Interpolates one located field; on failure names it and its place. */
int trigger_field(trigger_interp_fn interp, void *user, arena *a, const res_str *src, const char *name,
                  const char **out, tc_error *e)
{
    if (!src->s) {
        *out = NULL;
        return 0;
    }
    tc_error ie;
    if (interp(user, src->s, a, out, &ie) != 0) {
        tc_error_set(e, TC_ERR_INPUT, "trigger %s: %s", name, ie.msg);
        e->line = src->line;
        e->col = src->col;
        return TC_ERR_INPUT;
    }
    if (!*out)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    return 0;
}

const char *trigger_file_text(const char *base_dir, const char *name, size_t max, arena *a, const char **path_out)
{
    if (!base_dir || !name || !*name || strlen(name) > 1024 || strchr(name, '\n') || strchr(name, '{'))
        return NULL; /* text, not a file name */
    char path[2048];
    if (name[0] == '/' || !*base_dir)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", base_dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = arena_alloc(a, (size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (path_out && !(*path_out = arena_strdup(a, path)))
        return NULL;
    return buf;
}

/* Headers and auth of an http or graphql trigger, interpolated. */
static int headers_auth(const res_kv *hs, size_t n_hs, const res_auth *au, trigger_interp_fn interp, void *user,
                        arena *a, trigger_http_request *out, tc_error *e)
{
    int rc;
    out->headers = arena_calloc(a, n_hs + 1, sizeof *out->headers);
    if (!out->headers)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_hs; i++) {
        trigger_kv *kv = &out->headers[out->n_headers];
        if ((rc = trigger_field(interp, user, a, &hs[i].key, "header key", &kv->key, e)) ||
            (rc = trigger_field(interp, user, a, &hs[i].value, "header value", &kv->value, e)))
            return rc;
        if (kv->key && *kv->key)
            out->n_headers++;
    }
    if (au && au->type.s) {
        if (strcasecmp(au->type.s, "basic") == 0) {
            out->auth = TRIGGER_AUTH_BASIC;
            if ((rc = trigger_field(interp, user, a, &au->username, "auth username", &out->user, e)) ||
                (rc = trigger_field(interp, user, a, &au->password, "auth password", &out->password, e)))
                return rc;
        } else if (strcasecmp(au->type.s, "bearer") == 0) {
            out->auth = TRIGGER_AUTH_BEARER;
            if ((rc = trigger_field(interp, user, a, &au->token, "auth token", &out->token, e)))
                return rc;
        } else if (strcasecmp(au->type.s, "apiKey") == 0) {
            out->auth = TRIGGER_AUTH_APIKEY;
            if ((rc = trigger_field(interp, user, a, &au->key, "auth key", &out->key, e)) ||
                (rc = trigger_field(interp, user, a, &au->value, "auth value", &out->value, e)))
                return rc;
            out->key_in_query = au->in.s && strcasecmp(au->in.s, "query") == 0;
        } else {
            tc_error_set(e, TC_ERR_INPUT, "trigger auth: unknown type \"%s\" (basic, bearer or apiKey)", au->type.s);
            e->line = au->type.line;
            e->col = au->type.col;
            return TC_ERR_INPUT;
        }
    }
    return 0;
}

int trigger_http_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user, arena *a,
                           trigger_http_request *out, tc_error *e)
{
    memset(out, 0, sizeof *out);
    const __typeof__(t->trigger.http) *h = &t->trigger.http;
    int rc;
    if ((rc = trigger_field(interp, user, a, &h->url, "url", &out->url, e)) ||
        (rc = trigger_field(interp, user, a, &h->method, "method", &out->method, e)) ||
        (rc = trigger_field(interp, user, a, &h->body, "body", &out->body, e)))
        return rc;
    if (!out->url || !*out->url) {
        tc_error_set(e, TC_ERR_INPUT, "trigger url: missing");
        e->line = t->trigger.type_name.line;
        e->col = t->trigger.type_name.col;
        return TC_ERR_INPUT;
    }
    if (!out->method || !*out->method)
        out->method = "GET";
    const char *file_body = trigger_file_text(base_dir, out->body, TRIGGER_MAX_BODY, a, NULL);
    if (file_body)
        out->body = file_body;
    /* Tracetest verifies certificates only when the test says so */
    out->ssl_verification = h->ssl_verification.set && h->ssl_verification.v;
    return headers_auth(h->headers, h->n_headers, h->auth, interp, user, a, out, e);
}

/* True when v is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *v)
{
    const char *p = v;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return false;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

/* A GraphQL variable's value as JSON: numbers, true, false and null as
 * they are (YAML reads them so), anything else as a string. */
static void json_scalar(tc_buf *b, const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || strcmp(v, "null") == 0 || json_number(v))
        buf_puts(b, v);
    else
        buf_json_string(b, v, strlen(v));
}

int trigger_graphql_from_test(const res_test *t, const char *base_dir, trigger_interp_fn interp, void *user,
                              arena *a, trigger_http_request *out, tc_error *e)
{
    memset(out, 0, sizeof *out);
    const __typeof__(t->trigger.graphql) *g = &t->trigger.graphql;
    const char *query = NULL, *op = NULL;
    int rc;
    if ((rc = trigger_field(interp, user, a, &g->url, "url", &out->url, e)) ||
        (rc = trigger_field(interp, user, a, &g->query, "body.query", &query, e)) ||
        (rc = trigger_field(interp, user, a, &g->operation_name, "body.operationName", &op, e)))
        return rc;
    if (!out->url || !*out->url) {
        tc_error_set(e, TC_ERR_INPUT, "trigger url: missing");
        e->line = t->trigger.type_name.line;
        e->col = t->trigger.type_name.col;
        return TC_ERR_INPUT;
    }
    const char *file_query = trigger_file_text(base_dir, query, TRIGGER_MAX_BODY, a, NULL); /* ./query.graphql */
    if (file_query)
        query = file_query;
    tc_buf b;
    buf_init(&b, TRIGGER_MAX_BODY);
    buf_puts(&b, "{\"query\":");
    buf_json_string(&b, query ? query : "", query ? strlen(query) : 0);
    buf_puts(&b, ",\"variables\":{");
    for (size_t i = 0; i < g->n_variables; i++) {
        const char *k = NULL, *v = NULL;
        if ((rc = trigger_field(interp, user, a, &g->variables[i].key, "body.variables", &k, e)) ||
            (rc = trigger_field(interp, user, a, &g->variables[i].value, "body.variables", &v, e))) {
            buf_free(&b);
            return rc;
        }
        if (i)
            buf_putc(&b, ',');
        buf_json_string(&b, k ? k : "", k ? strlen(k) : 0);
        buf_putc(&b, ':');
        json_scalar(&b, v ? v : "");
    }
    buf_putc(&b, '}');
    if (op && *op) {
        buf_puts(&b, ",\"operationName\":");
        buf_json_string(&b, op, strlen(op));
    }
    buf_putc(&b, '}');
    out->body = b.failed ? NULL : arena_strdup(a, buf_str(&b));
    bool failed = b.failed;
    buf_free(&b);
    if (failed || !out->body)
        return tc_error_set(e, failed ? TC_ERR_LIMIT : TC_ERR_NOMEM, "trigger body: the GraphQL request is too large");
    out->method = "POST";
    out->ssl_verification = g->ssl_verification.set && g->ssl_verification.v;
    if ((rc = headers_auth(g->headers, g->n_headers, g->auth, interp, user, a, out, e)))
        return rc;
    bool has_ct = false;
    for (size_t i = 0; i < out->n_headers; i++)
        has_ct |= strcasecmp(out->headers[i].key, "content-type") == 0;
    if (!has_ct) /* headers has room for one more */
        out->headers[out->n_headers++] = (trigger_kv){"Content-Type", "application/json"};
    return 0;
}

static bool is_secret_header(const char *key, const trigger_http_request *req)
{
    if (strcasecmp(key, "authorization") == 0 || strcasecmp(key, "proxy-authorization") == 0 ||
        strcasecmp(key, "x-api-key") == 0 || strcasecmp(key, "api-key") == 0 || strcasecmp(key, "cookie") == 0)
        return true;
    return req->auth == TRIGGER_AUTH_APIKEY && req->key && strcasecmp(key, req->key) == 0;
}

int trigger_http_describe(const trigger_http_request *req, tc_buf *out)
{
    buf_printf(out, "%s %s", req->method ? req->method : "GET", req->url ? req->url : "");
    for (size_t i = 0; i < req->n_headers; i++)
        buf_printf(out, "\n%s: %s", req->headers[i].key,
                   is_secret_header(req->headers[i].key, req) ? "****" : req->headers[i].value);
    switch (req->auth) {
    case TRIGGER_AUTH_BASIC: buf_printf(out, "\nauth: basic %s:****", req->user ? req->user : ""); break;
    case TRIGGER_AUTH_BEARER: buf_puts(out, "\nauth: bearer ****"); break;
    case TRIGGER_AUTH_APIKEY:
        buf_printf(out, "\nauth: apiKey %s=**** in %s", req->key ? req->key : "", req->key_in_query ? "query" : "header");
        break;
    default: break;
    }
    return out->failed ? TC_ERR_NOMEM : 0;
}

static tc_attr str_attr(arena *a, const char *k, const char *v, size_t n)
{
    tc_attr at = {k, (uint32_t)strlen(k), {TC_V_STRING, (uint32_t)n, {.str = arena_strndup(a, v, n)}}};
    return at;
}

int trigger_span_add(trace_set *ts, const uint8_t trace_id[TRACE_ID_LEN], const uint8_t span_id[SPAN_ID_LEN],
                     const trigger_result *r, const char *trigger_type)
{
    arena *a = trace_set_arena(ts);
    trace_span *sp = arena_calloc(a, 1, sizeof *sp);
    trace_resource *res = arena_calloc(a, 1, sizeof *res);
    tc_attr *rattrs = arena_calloc(a, 1, sizeof *rattrs);
    tc_attr *attrs = arena_calloc(a, 5 + r->n_attrs, sizeof *attrs);
    if (!sp || !res || !rattrs || !attrs)
        return TC_ERR_NOMEM;
    rattrs[0] = str_attr(a, "service.name", "tracetest", 9);
    res->attrs = rattrs;
    res->n_attrs = 1;
    res->schema_url = "";
    memcpy(sp->trace_id, trace_id, TRACE_ID_LEN);
    memcpy(sp->span_id, span_id, SPAN_ID_LEN);
    sp->name = "Tracetest trigger";
    sp->kind = TRACE_KIND_CLIENT;
    sp->start_ns = r->start_ns;
    sp->end_ns = r->end_ns;
    sp->resource = res;
    uint32_t n = 0;
    const char *type = trigger_type ? trigger_type : "http";
    attrs[n++] = str_attr(a, "tracetest.run.trigger.type", type, strlen(type));
    bool kafka = strcmp(type, "kafka") == 0; /* Tracetest sets no tracetest.response.* for Kafka */
    if (r->ok && !kafka) {
        char status[16];
        snprintf(status, sizeof status, "%d", r->status);
        attrs[n++] = str_attr(a, "tracetest.response.status", status, strlen(status));
        attrs[n++] = str_attr(a, "tracetest.response.body", r->body ? r->body : "", r->body ? r->body_len : 0);
        tc_buf h;
        buf_init(&h, 0);
        buf_putc(&h, '[');
        for (size_t i = 0; i < r->n_headers; i++) {
            buf_puts(&h, i ? ",{\"key\":" : "{\"key\":");
            buf_json_string(&h, r->headers[i].key, strlen(r->headers[i].key));
            buf_puts(&h, ",\"value\":");
            buf_json_string(&h, r->headers[i].value, strlen(r->headers[i].value));
            buf_putc(&h, '}');
        }
        buf_putc(&h, ']');
        attrs[n++] = str_attr(a, "tracetest.response.headers", buf_str(&h), h.len);
        buf_free(&h);
    }
    if (r->ok) {
        for (size_t i = 0; i < r->n_attrs; i++) { /* copied: the span outlives the result */
            const char *key = arena_strdup(a, r->attrs[i].key);
            if (!key)
                return TC_ERR_NOMEM;
            attrs[n++] = str_attr(a, key, r->attrs[i].value, strlen(r->attrs[i].value));
        }
    }
    for (uint32_t i = 0; i < n; i++)
        if (!attrs[i].value.u.str)
            return TC_ERR_NOMEM;
    sp->attrs = attrs;
    sp->n_attrs = n;
    return trace_set_add_span(ts, sp, NULL);
}

void trigger_result_free(trigger_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_headers; i++) {
        free((char *)r->headers[i].key);
        free((char *)r->headers[i].value);
    }
    free(r->headers);
    for (size_t i = 0; i < r->n_attrs; i++) {
        free((char *)r->attrs[i].key);
        free((char *)r->attrs[i].value);
    }
    free(r->attrs);
    free(r->body);
    free(r->error);
    memset(r, 0, sizeof *r);
}
