/* api_res.c - the resource endpoints of the REST API (docs/api.md,
 * "Resources"): PUT /api/resources, and list, get and delete of each kind.
 * Documents are kept as given (YAML or JSON text); a GET converts them to
 * JSON, or gives the text back for YAML, with secrets masked. */
#include "server_int.h"

#include "run/mask.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *kind_name(res_kind k)
{
    return res_kind_name(k);
}

static const char *resource_id(const res_resource *r)
{
    switch (r->kind) {
    case RES_TEST:
        return r->u.test->id.s;
    case RES_TESTSUITE:
        return r->u.suite->id.s;
    case RES_VARSET:
        return r->u.varset->id.s;
    case RES_POLLING:
        return r->u.polling->id.s;
    case RES_DATASTORE:
        return r->u.datastore->id.s;
    default:
        return NULL;
    }
}

static const char *resource_name(const res_resource *r)
{
    const char *n = NULL;
    switch (r->kind) {
    case RES_TEST:
        n = r->u.test->name.s;
        break;
    case RES_TESTSUITE:
        n = r->u.suite->name.s;
        break;
    case RES_VARSET:
        n = r->u.varset->name.s;
        break;
    case RES_POLLING:
        n = r->u.polling->name.s;
        break;
    case RES_DATASTORE:
        n = r->u.datastore->name.s;
        break;
    default:
        break;
    }
    return n && *n ? n : resource_id(r);
}

/* A suite step the server cannot run: a file path rather than a test id. */
static const res_str *path_step(const res_suite *su)
{
    for (size_t i = 0; i < su->n_steps; i++) {
        const char *st = su->steps[i].s;
        size_t n = st ? strlen(st) : 0;
        if (st && (strchr(st, '/') || (n > 5 && strcmp(st + n - 5, ".yaml") == 0) ||
                   (n > 4 && strcmp(st + n - 4, ".yml") == 0)))
            return &su->steps[i];
    }
    return NULL;
}

/* Whether the document says what the latest stored version says (the same
 * data as JSON, whatever its format or comments, and the same name; a
 * VariableSet also when it equals the stored one with its secrets masked,
 * as a GET gives it). Returns 1 unchanged (*version set to the stored
 * one), 0 changed or new, -1 with rs set. */
static int unchanged(server *s, res_kind kind, const char *id, const char *name, const resdoc *d,
                     int *version, srv_resp *rs)
{
    store_resource *old = NULL;
    tc_error e;
    int rc = store_resource_get(s->api, kind, id, 0, &old, &e);
    if (rc == STORE_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return srv_fail_store(rs, rc, &e);
    int same = 0;
    if (strcmp(old->name, name) == 0) {
        json_t *was = resdoc_to_jansson(old->document, old->document_len);
        json_t *now = resdoc_to_jansson(d->text, d->len);
        same = was && now && json_equal(was, now);
        if (!same && was && now && kind == RES_VARSET && resdoc_mask_varset(was))
            same = json_equal(was, now);
        json_decref(was);
        json_decref(now);
    }
    if (same)
        *version = old->version;
    store_resource_free(&old);
    return same;
}

/* A secret of the VariableSet whose value is MASK_TEXT, or NULL. */
static const res_var *masked_secret(const res_varset *vs)
{
    for (size_t i = 0; i < vs->n_values; i++) {
        const res_var *x = &vs->values[i];
        bool secret = x->secret.v || (x->type.s && strcmp(x->type.s, "secret") == 0);
        if (secret && x->value.s && strcmp(x->value.s, MASK_TEXT) == 0)
            return x;
    }
    return NULL;
}

/* A selector, assertion or output value that does not parse: a warning
 * (the test is stored and runs; that spec fails), at its place in the body. */
static void invalid_warning(void *user, const res_str *where, const char *what, const char *src,
                            const tc_error *e)
{
    (void)src;
    tc_buf *warn = user;
    const char *msg = e->msg;
    if (strncmp(msg, "column ", 7) == 0 && strstr(msg, ": ")) /* the column is in the location */
        msg = strstr(msg, ": ") + 2;
    char text[TC_ERROR_MSG_MAX + 64];
    snprintf(text, sizeof text, "%s (the spec fails): %s", what, msg);
    buf_printf(warn, "%s{\"line\":%d,\"column\":%d,\"message\":", warn->len ? "," : "", where->line,
               where->col + (e->col > 0 ? e->col - 1 : 0));
    buf_json_string(warn, text, strlen(text));
    buf_putc(warn, '}');
}

typedef struct put_item {
    res_file *f;
    const res_resource *r;
    const resdoc *d;
    int version;  /* unchanged: the stored version; else 0 until stored */
    bool created; /* this PUT made the version */
} put_item;

void api_resources_put(srv_req *rq, srv_resp *rs)
{
    server *s = rq->s;
    char mt[128] = {0};
    const char *ct = srv_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE);
    for (size_t i = 0; ct && ct[i] && ct[i] != ';' && i + 1 < sizeof mt; i++)
        mt[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
    bool json;
    if (strcmp(mt, "application/json") == 0)
        json = true;
    else if (!mt[0] || strcmp(mt, "application/yaml") == 0 || strcmp(mt, "application/x-yaml") == 0 ||
             strcmp(mt, "text/yaml") == 0 || strcmp(mt, "text/x-yaml") == 0)
        json = false;
    else {
        srv_fail(rs, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                 "resources are sent as application/yaml or application/json, not %s", mt);
        return;
    }
    resdoc *docs = NULL;
    size_t n = 0;
    tc_error e;
    memset(&e, 0, sizeof e);
    if (resdoc_split(rq->body, rq->body_len, json, &docs, &n, &e)) {
        srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", e.line, e.col, "%s", e.msg);
        return;
    }
    put_item *items = calloc(n, sizeof *items);
    tc_buf warn, scratch;
    buf_init(&warn, 1 << 20);
    buf_init(&scratch, 0);
    if (!items) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        goto out;
    }
    /* all or nothing: every document is checked before any is stored */
    for (size_t i = 0; i < n; i++) {
        put_item *it = &items[i];
        it->d = &docs[i];
        memset(&e, 0, sizeof e);
        if (resdoc_load(&docs[i], &it->f, &e)) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", e.line, e.col, "document %zu (line %d): %s",
                        i + 1, docs[i].line, e.msg);
            goto out;
        }
        const res_resource *r = &it->f->items[0];
        it->r = r;
        if (it->f->n_items != 1 || r->kind == RES_OTHER) {
            srv_fail_at(
                rs, MHD_HTTP_BAD_REQUEST, "bad_request", r->line, r->col,
                "document %zu: a %s is not kept by the server (it keeps Test, TestSuite, VariableSet, "
                "PollingProfile and DataStore)",
                i + 1, r->type ? r->type : "document");
            goto out;
        }
        const char *id = resource_id(r);
        if (!id || !*id) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", r->line, r->col,
                        "document %zu: the %s has no id (spec.id): the server keeps resources by id", i + 1,
                        kind_name(r->kind));
            goto out;
        }
        if (strlen(id) > STORE_MAX_ID) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", r->line, r->col,
                        "document %zu: an id is at most %d bytes", i + 1, STORE_MAX_ID);
            goto out;
        }
        if (r->kind == RES_TESTSUITE) {
            const res_str *ps = path_step(r->u.suite);
            if (ps) {
                srv_fail_at(
                    rs, MHD_HTTP_BAD_REQUEST, "bad_request", ps->line, ps->col,
                    "document %zu: suite step \"%s\" is a file path; the server runs stored tests by id "
                    "(apply the test and name its id)",
                    i + 1, ps->s);
                goto out;
            }
        }
        buf_reset(&scratch);
        memset(&e, 0, sizeof e);
        if (resdoc_to_json(docs[i].text, docs[i].len, &scratch, &e)) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", r->line, r->col, "document %zu: %s", i + 1,
                        e.msg);
            goto out;
        }
        int same = unchanged(s, r->kind, id, resource_name(r), &docs[i], &it->version, rs);
        if (same < 0)
            goto out;
        const res_var *masked = r->kind == RES_VARSET && !same ? masked_secret(r->u.varset) : NULL;
        if (masked) {
            srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", masked->value.line, masked->value.col,
                        "document %zu: the secret value of \"%s\" is masked (%s); send the value itself",
                        i + 1, masked->key.s ? masked->key.s : "", MASK_TEXT);
            goto out;
        }
        if (r->kind == RES_TEST)
            server_check_test(r->u.test, invalid_warning, &warn);
        for (size_t w = 0; w < it->f->n_warnings; w++) {
            const res_warning *rw = &it->f->warnings[w];
            buf_printf(&warn, "%s{\"line\":%d,\"column\":%d,\"message\":", warn.len ? "," : "", rw->line,
                       rw->col);
            buf_json_string(&warn, rw->msg, strlen(rw->msg));
            buf_putc(&warn, '}');
        }
    }
    /* the changed ones, in one transaction: all or none */
    {
        store_resource_in *in = calloc(n ? n : 1, sizeof *in);
        size_t *idx = calloc(n ? n : 1, sizeof *idx);
        int *versions = calloc(n ? n : 1, sizeof *versions);
        bool *made = calloc(n ? n : 1, sizeof *made);
        size_t m = 0, failed = 0;
        int rc = in && idx && versions && made ? 0 : tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < n; i++) {
            put_item *it = &items[i];
            if (it->version)
                continue; /* the latest version says the same */
            char *text = strndup(it->d->text, it->d->len);
            if (!text) {
                rc = tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
                break;
            }
            in[m] = (store_resource_in){it->r->kind, resource_id(it->r), resource_name(it->r), text};
            idx[m++] = i;
        }
        if (!rc && m)
            rc = store_resource_put_many(s->api, in, m, versions, made, &failed, &e);
        for (size_t k = 0; !rc && k < m; k++) {
            items[idx[k]].version = versions[k];
            items[idx[k]].created = made[k];
        }
        size_t bad_doc = rc && m ? idx[failed < m ? failed : 0] : 0;
        for (size_t k = 0; in && k < m; k++)
            free((char *)in[k].document);
        free(in);
        free(idx);
        free(versions);
        free(made);
        if (rc) {
            if (rc == TC_ERR_INPUT)
                srv_fail_at(rs, MHD_HTTP_BAD_REQUEST, "bad_request", items[bad_doc].d->line, 0,
                            "document %zu: %s", bad_doc + 1, e.msg);
            else
                srv_fail_store(rs, rc, &e);
            goto out;
        }
    }
    buf_puts(&rs->body, "{\"items\":[");
    for (size_t i = 0; i < n; i++) {
        put_item *it = &items[i];
        const char *id = resource_id(it->r), *name = resource_name(it->r);
        buf_printf(&rs->body, "%s{\"kind\":\"%s\",\"id\":", i ? "," : "", kind_name(it->r->kind));
        buf_json_string(&rs->body, id, strlen(id));
        buf_puts(&rs->body, ",\"name\":");
        buf_json_string(&rs->body, name, strlen(name));
        buf_printf(&rs->body, ",\"version\":%d,\"created\":%s}", it->version, it->created ? "true" : "false");
    }
    buf_printf(&rs->body, "],\"warnings\":[%s]}\n", buf_str(&warn));
    srv_json(rs, MHD_HTTP_OK);
out:
    for (size_t i = 0; items && i < n; i++)
        res_file_free(&items[i].f);
    free(items);
    free(docs);
    buf_free(&warn);
    buf_free(&scratch);
}

/* ?limit=N: 1..STORE_PAGE_MAX, default STORE_PAGE_DEFAULT. -1 after setting rs. */
static int parse_limit(srv_req *rq, srv_resp *rs, unsigned *limit)
{
    const char *l = srv_arg(rq, "limit");
    *limit = STORE_PAGE_DEFAULT;
    if (!l)
        return 0;
    char *end;
    long v = strtol(l, &end, 10);
    if (!*l || *end || v < 1 || v > (long)STORE_PAGE_MAX)
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "limit must be 1 to %u, not \"%s\"",
                        STORE_PAGE_MAX, l);
    *limit = (unsigned)v;
    return 0;
}

static bool matches(const store_resource *r, const char *q)
{
    return !q || !*q || strcasestr(r->id, q) || (r->name && strcasestr(r->name, q));
}

static void last_run(server *s, tc_buf *out, res_kind kind, const char *id)
{
    store_run_filter f = {.resource_id = id, .limit = 10};
    store_run_page *p = NULL;
    const store_run *hit = NULL;
    store_run_kind want = kind == RES_TEST ? STORE_TEST_RUN : STORE_SUITE_RUN;
    if (store_run_list(s->api, &f, &p, NULL) == 0)
        for (size_t i = 0; i < p->n && !hit; i++)
            if (p->runs[i].kind == want)
                hit = &p->runs[i];
    if (!hit) {
        buf_puts(out, "null");
    } else {
        char t[32];
        buf_printf(
            out,
            "{\"id\":%lld,\"state\":\"%s\",\"result\":\"%s\",\"passed\":%u,\"failed\":%u,\"duration_ms\":",
            (long long)hit->id, store_run_state_name(hit->state), store_result_name(hit->result), hit->passed,
            hit->failed);
        if (hit->finished_ns)
            buf_printf(out, "%lld", (long long)((hit->finished_ns - hit->created_ns) / 1000000));
        else
            buf_puts(out, "null");
        buf_printf(out, ",\"created\":\"%s\"}", srv_time(hit->created_ns, t));
    }
    store_run_page_free(&p);
}

static void list_item(server *s, tc_buf *out, res_kind kind, const store_resource *r, bool first)
{
    char t[32];
    buf_puts(out, first ? "{\"id\":" : ",{\"id\":");
    buf_json_string(out, r->id, strlen(r->id));
    buf_puts(out, ",\"name\":");
    buf_json_string(out, r->name ? r->name : r->id, strlen(r->name ? r->name : r->id));
    buf_printf(out, ",\"version\":%d,\"updated\":\"%s\"", r->version, srv_time(r->updated_ns, t));
    if (kind == RES_TEST || kind == RES_TESTSUITE) {
        buf_puts(out, ",\"last_run\":");
        last_run(s, out, kind, r->id);
    }
    buf_putc(out, '}');
}

void api_resource_list(srv_req *rq, srv_resp *rs, res_kind kind)
{
    server *s = rq->s;
    unsigned limit;
    if (parse_limit(rq, rs, &limit))
        return;
    const char *q = srv_arg(rq, "q");
    const char *cursor = srv_arg(rq, "cursor");
    char *cur = cursor && *cursor ? strdup(cursor) : NULL, *next = NULL;
    store_resource_page *p = NULL;
    tc_error e;
    unsigned have = 0;
    buf_puts(&rs->body, "{\"items\":[");
    for (;;) {
        /* without a filter one page is the answer; with one, pages are read
           until `limit` items match, and the last is read again up to the
           item that filled the answer so that its cursor is exact */
        unsigned want = q && *q ? 100 : limit;
        int rc = store_resource_list(s->api, kind, cur, want, &p, &e);
        if (rc) {
            srv_fail_store(rs, rc, &e);
            goto out;
        }
        size_t cut = p->n; /* items of this page taken */
        unsigned m = 0;
        for (size_t i = 0; i < p->n; i++)
            if (matches(&p->items[i], q) && have + ++m == limit) {
                cut = i + 1;
                break;
            }
        if (cut < p->n) {
            store_resource_page_free(&p);
            if ((rc = store_resource_list(s->api, kind, cur, (unsigned)cut, &p, &e))) {
                srv_fail_store(rs, rc, &e);
                goto out;
            }
        }
        for (size_t i = 0; i < p->n && i < cut; i++)
            if (matches(&p->items[i], q))
                list_item(s, &rs->body, kind, &p->items[i], have++ == 0);
        free(cur);
        cur = p->next ? strdup(p->next) : NULL;
        store_resource_page_free(&p);
        if (!cur || have >= limit) {
            next = cur;
            cur = NULL;
            break;
        }
    }
    buf_puts(&rs->body, "]");
    if (next) {
        buf_puts(&rs->body, ",\"next\":");
        buf_json_string(&rs->body, next, strlen(next));
    }
    buf_puts(&rs->body, "}\n");
    srv_json(rs, MHD_HTTP_OK);
out:
    store_resource_page_free(&p);
    free(cur);
    free(next);
}

static bool wants_yaml(const srv_req *rq)
{
    const char *a = srv_header(rq, MHD_HTTP_HEADER_ACCEPT);
    return a && (strcasestr(a, "application/yaml") || strcasestr(a, "text/yaml") ||
                 strcasestr(a, "application/x-yaml"));
}

void api_resource_get(srv_req *rq, srv_resp *rs, res_kind kind, const char *id)
{
    server *s = rq->s;
    int version = 0;
    const char *v = srv_arg(rq, "version");
    if (v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 1000000000) {
            srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                     "version must be a positive integer, not \"%s\"", v);
            return;
        }
        version = (int)n;
    }
    store_resource *r = NULL;
    tc_error e;
    int rc = store_resource_get(s->api, kind, id, version, &r, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        if (version)
            srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no version %d of %s \"%s\"", version,
                     kind_name(kind), id);
        else
            srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no %s \"%s\"", kind_name(kind), id);
        return;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    /* a VariableSet's secrets are masked: it goes through jansson */
    json_t *masked = NULL;
    if (kind == RES_VARSET) {
        masked = resdoc_to_jansson(r->document, r->document_len);
        if (masked && !resdoc_mask_varset(masked)) {
            json_decref(masked);
            masked = NULL;
        }
    }
    if (wants_yaml(rq)) {
        if (masked) { /* JSON is YAML: with its secrets masked it can be applied again */
            char *text = json_dumps(masked, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            buf_puts(&rs->body, text ? text : "");
            free(text);
        } else {
            buf_append(&rs->body, r->document, r->document_len);
        }
        if (rs->body.len && buf_str(&rs->body)[rs->body.len - 1] != '\n')
            buf_putc(&rs->body, '\n');
        rs->status = MHD_HTTP_OK;
        rs->content_type = "application/yaml";
        goto out;
    }
    char t1[32], t2[32];
    buf_printf(&rs->body, "{\"kind\":\"%s\",\"id\":", kind_name(kind));
    buf_json_string(&rs->body, r->id, strlen(r->id));
    buf_puts(&rs->body, ",\"name\":");
    buf_json_string(&rs->body, r->name, strlen(r->name));
    buf_printf(&rs->body,
               ",\"version\":%d,\"latest_version\":%d,\"created\":\"%s\",\"updated\":\"%s\",\"deleted\":%s,"
               "\"document\":",
               r->version, r->latest_version, srv_time(r->created_ns, t1), srv_time(r->updated_ns, t2),
               r->deleted ? "true" : "false");
    if (masked) {
        char *text = json_dumps(masked, JSON_COMPACT | JSON_PRESERVE_ORDER);
        buf_puts(&rs->body, text ? text : "null");
        free(text);
    } else if (resdoc_to_json(r->document, r->document_len, &rs->body, &e)) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", e.msg);
        goto out;
    }
    buf_puts(&rs->body, "}\n");
    srv_json(rs, MHD_HTTP_OK);
out:
    json_decref(masked);
    store_resource_free(&r);
}

void api_resource_delete(srv_req *rq, srv_resp *rs, res_kind kind, const char *id)
{
    tc_error e;
    int rc = store_resource_delete(rq->s->api, kind, id, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no %s \"%s\"", kind_name(kind), id);
        return;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    rs->status = MHD_HTTP_NO_CONTENT;
}
