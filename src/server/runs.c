/* runs.c - the runs the server has in hand: preparing a run from the
 * stored documents (POST .../run), the queue and its worker threads, the
 * registry the event streams follow, cancellation, and the drain when the
 * server stops. */
#include "server_int.h"

#include "core/expr.h"
#include "run/mask.h"
#include "source/source.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the registry ---- */

static void run_free(srv_run *r)
{
    if (!r)
        return;
    job_free(&r->job);
    free(r->timeline);
    free(r->wait.unmatched);
    free(r->resource_id);
    free(r);
}

void runs_push_state_locked(server *s, srv_run *r, store_run_state st, int64_t at_ns)
{
    r->state = st;
    if (r->n_timeline == r->cap_timeline) {
        size_t cap = r->cap_timeline ? r->cap_timeline * 2 : 8;
        store_state_change *t = realloc(r->timeline, cap * sizeof *t);
        if (!t)
            return; /* the state is current; only its history line is lost */
        r->timeline = t;
        r->cap_timeline = cap;
    }
    r->timeline[r->n_timeline++] = (store_state_change){st, at_ns};
    pthread_cond_broadcast(&s->changed);
}

srv_run *runs_get(server *s, int64_t id)
{
    pthread_mutex_lock(&s->mu);
    srv_run *r = s->runs;
    while (r && r->id != id)
        r = r->next;
    if (r)
        r->refs++;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void put_locked(srv_run *r, srv_run **to_free)
{
    if (--r->refs == 0)
        *to_free = r;
}

void runs_put(server *s, srv_run *r)
{
    if (!r)
        return;
    srv_run *dead = NULL;
    pthread_mutex_lock(&s->mu);
    put_locked(r, &dead);
    pthread_mutex_unlock(&s->mu);
    run_free(dead);
}

/* Takes r out of the registry, dropping the registry's reference. */
static void unlist_locked(server *s, srv_run *r, srv_run **to_free)
{
    if (!r->listed)
        return;
    for (srv_run **p = &s->runs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    r->listed = false;
    put_locked(r, to_free);
}

static void unqueue_locked(server *s, srv_run *r)
{
    if (!r->queued)
        return;
    srv_run *prev = NULL;
    for (srv_run *q = s->q_head; q; prev = q, q = q->qnext)
        if (q == r) {
            if (prev)
                prev->qnext = q->qnext;
            else
                s->q_head = q->qnext;
            if (s->q_tail == q)
                s->q_tail = prev;
            break;
        }
    r->qnext = NULL;
    r->queued = false;
    s->q_len--;
}

/* Ends a run that no worker runs (queued, or abandoned) in the store with
 * the API's handle. Returns the store's code. */
static int end_unrun(server *s, srv_run *r, store_run_state st, const char *why, tc_error *e)
{
    store_run_end end = {.state = st, .result = STORE_RESULT_ERROR, .error = why};
    return store_run_finish(s->api, r->id, &end, e);
}

/* ---- preparing a run ---- */

typedef struct names {
    char **v;
    size_t n;
} names;

static void names_add(names *ns, const char *s, size_t n)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == n && memcmp(ns->v[i], s, n) == 0)
            return;
    char **nv = realloc(ns->v, (ns->n + 1) * sizeof *nv);
    if (!nv)
        return;
    ns->v = nv;
    if ((ns->v[ns->n] = strndup(s, n)))
        ns->n++;
}

static void names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static bool ident(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Every `var:NAME` and `env:NAME` in s (in ${...} or in an expression). */
static void refs_in(const char *s, names *ns)
{
    for (const char *p = s; p && *p; p++) {
        if ((strncmp(p, "var:", 4) != 0 && strncmp(p, "env:", 4) != 0) ||
            (p > s && (ident(p[-1], false) || p[-1] == '.')))
            continue;
        const char *n = p + 4, *e = n;
        if (!ident(*e, true))
            continue;
        while (ident(*e, false))
            e++;
        names_add(ns, n, (size_t)(e - n));
        p = e - 1;
    }
}

static void refs_kv(const res_kv *kv, size_t n, names *ns)
{
    for (size_t i = 0; i < n; i++) {
        refs_in(kv[i].key.s, ns);
        refs_in(kv[i].value.s, ns);
    }
}

static void refs_auth(const res_auth *a, names *ns)
{
    if (!a)
        return;
    const char *f[] = {a->key.s, a->value.s, a->in.s, a->username.s, a->password.s, a->token.s};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        refs_in(f[i], ns);
}

/* The variables a test reads: in its trigger, selectors, assertions and
 * outputs. */
static void test_refs(const res_test *t, names *ns)
{
    const res_trigger *tr = &t->trigger;
    const char *f[] = {tr->http.url.s,
                       tr->http.method.s,
                       tr->http.body.s,
                       tr->grpc.protobuf_file.s,
                       tr->grpc.address.s,
                       tr->grpc.service.s,
                       tr->grpc.method.s,
                       tr->grpc.request.s,
                       tr->traceid.id.s,
                       tr->kafka.topic.s,
                       tr->kafka.message_key.s,
                       tr->kafka.message_value.s,
                       tr->kafka.auth_username.s,
                       tr->kafka.auth_password.s,
                       tr->graphql.url.s,
                       tr->graphql.schema.s,
                       tr->graphql.query.s,
                       tr->graphql.operation_name.s};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        refs_in(f[i], ns);
    refs_kv(tr->http.headers, tr->http.n_headers, ns);
    refs_kv(tr->grpc.metadata, tr->grpc.n_metadata, ns);
    refs_kv(tr->kafka.headers, tr->kafka.n_headers, ns);
    refs_kv(tr->graphql.headers, tr->graphql.n_headers, ns);
    refs_kv(tr->graphql.variables, tr->graphql.n_variables, ns);
    for (size_t i = 0; i < tr->kafka.n_broker_urls; i++)
        refs_in(tr->kafka.broker_urls[i].s, ns);
    refs_auth(tr->http.auth, ns);
    refs_auth(tr->grpc.auth, ns);
    refs_auth(tr->graphql.auth, ns);
    if (tr->type == RES_TRIG_CYPRESS || tr->type == RES_TRIG_PLAYWRIGHT || tr->type == RES_TRIG_K6 ||
        tr->type == RES_TRIG_ARTILLERY)
        names_add(ns, "TRACE_ID", 8); /* read as ${env:TRACE_ID} */
    for (size_t i = 0; i < t->n_specs; i++) {
        refs_in(t->specs[i].selector.s, ns);
        for (size_t k = 0; k < t->specs[i].n_assertions; k++)
            refs_in(t->specs[i].assertions[k].s, ns);
    }
    for (size_t i = 0; i < t->n_outputs; i++) {
        refs_in(t->outputs[i].selector.s, ns);
        refs_in(t->outputs[i].value.s, ns);
    }
}

void job_free(srv_job **jp)
{
    srv_job *j = jp ? *jp : NULL;
    if (!j)
        return;
    vars_free(&j->v);
    for (size_t i = 0; i < j->n_steps; i++) {
        res_file_free(&j->tests[i]);
        free(j->step_ids ? j->step_ids[i] : NULL);
    }
    for (size_t i = 0; i < j->n_files; i++)
        res_file_free(&j->files[i]);
    free(j->files);
    free(j->tests);
    free(j->steps);
    free(j->step_ids);
    free(j->step_versions);
    free(j->polling);
    arena_free(&j->a);
    free(j);
    *jp = NULL;
}

/* Loads a stored document of the given kind; the file is kept by the job. */
static int load_stored(srv_job *j, const store_resource *sr, res_kind kind, const res_resource **out,
                       tc_error *e)
{
    char label[STORE_MAX_ID + 32];
    snprintf(label, sizeof label, "%s@%d", sr->id, sr->version);
    res_file *f = NULL;
    int rc = res_load_buffer(label, sr->document, sr->document_len, &f, e);
    if (rc)
        return rc;
    res_file **nf = realloc(j->files, (j->n_files + 1) * sizeof *nf);
    if (!nf) {
        res_file_free(&f);
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    }
    j->files = nf;
    j->files[j->n_files++] = f;
    for (size_t i = 0; i < f->n_items; i++)
        if (f->items[i].kind == kind) {
            *out = &f->items[i];
            return 0;
        }
    return tc_error_set(e, TC_ERR_INPUT, "the stored %s \"%s\" holds no %s", res_kind_name(kind), sr->id,
                        res_kind_name(kind));
}

/* The one of a kind marked default, or the only one: *out NULL when none.
 * -1 with rs set on failure. */
static int pick_default(server *s, srv_job *j, res_kind kind, const res_resource **out, srv_resp *rs)
{
    *out = NULL;
    store_resource_page *p = NULL;
    tc_error e;
    int rc = store_resource_list(s->api, kind, NULL, STORE_PAGE_MAX, &p, &e);
    if (rc)
        return srv_fail_store(rs, rc, &e);
    const res_resource *only = NULL, *dflt = NULL;
    size_t count = 0;
    for (size_t i = 0; i < p->n; i++) {
        store_resource *sr = NULL;
        const res_resource *r = NULL;
        if ((rc = store_resource_get(s->api, kind, p->items[i].id, 0, &sr, &e)))
            break;
        rc = load_stored(j, sr, kind, &r, &e);
        store_resource_free(&sr);
        if (rc)
            break;
        count++;
        only = r;
        bool is_default = kind == RES_POLLING ? r->u.polling->is_default.v : r->u.datastore->is_default.v;
        if (is_default && !dflt)
            dflt = r;
    }
    store_resource_page_free(&p);
    if (rc == STORE_ERR_NOT_FOUND) /* deleted meanwhile */
        rc = 0;
    if (rc)
        return store_unavailable(rc) ? srv_fail_store(rs, rc, &e)
                                     : srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", e.msg);
    if (dflt)
        *out = dflt;
    else if (count == 1)
        *out = only;
    else if (count > 1 && kind == RES_DATASTORE)
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                        "%zu DataStores are stored and none is marked `default: true`", count);
    return 0;
}

static const char *env_lookup(void *user, const char *name)
{
    (void)user;
    return getenv(name);
}

static int interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    expr_ctx ctx = {.var = vars_lookup_var, .env = vars_lookup_env, .user = user};
    return expr_interpolate(s, strlen(s), &ctx, a, out, e);
}

/* Reads the request body's variables into j->v. -1 with rs set. */
static int body_vars(server *s, srv_job *j, json_t *body, srv_resp *rs)
{
    json_t *sets = json_object_get(body, "variableSets");
    if (sets && !json_is_null(sets) && !json_is_array(sets))
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "variableSets must be an array of ids");
    size_t i;
    json_t *it;
    json_array_foreach(sets, i, it)
    {
        if (!json_is_string(it))
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "variableSets[%zu] must be an id", i);
        store_resource *sr = NULL;
        tc_error e;
        int rc = store_resource_get(s->api, RES_VARSET, json_string_value(it), 0, &sr, &e);
        if (rc == STORE_ERR_NOT_FOUND)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "no VariableSet \"%s\"",
                            json_string_value(it));
        if (rc)
            return srv_fail_store(rs, rc, &e);
        const res_resource *r = NULL;
        rc = load_stored(j, sr, RES_VARSET, &r, &e);
        store_resource_free(&sr);
        if (rc)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", e.msg);
        server_add_varset(&j->v, r->u.varset, "variableSet");
    }
    json_t *vs = json_object_get(body, "variables");
    if (vs && !json_is_null(vs) && !json_is_object(vs))
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                        "variables must be an object of NAME: value");
    const char *k;
    json_object_foreach(vs, k, it)
    {
        const char *value = NULL;
        bool secret = false;
        if (json_is_string(it)) {
            value = json_string_value(it);
        } else if (json_is_object(it)) {
            const char *kk;
            json_t *x;
            json_object_foreach(it, kk, x)
            {
                if (strcmp(kk, "value") == 0 && json_is_string(x))
                    value = json_string_value(x);
                else if (strcmp(kk, "secret") == 0 && json_is_boolean(x))
                    secret = json_is_true(x);
                else if (strcmp(kk, "value") != 0 && strcmp(kk, "secret") != 0)
                    return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "unknown_field",
                                    "unknown field \"variables.%s.%s\" (known: \"value\", \"secret\")", k,
                                    kk);
            }
        }
        if (!value || !*k)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                            "variables.%s must be a string or {\"value\": string, \"secret\": bool}", k);
        int rc = vars_set(&j->v, k, value, secret, "request");
        if (rc)
            return srv_fail(rs,
                            rc == TC_ERR_LIMIT ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_INTERNAL_SERVER_ERROR,
                            rc == TC_ERR_LIMIT ? "too_large" : "internal", "variable %s: %s", k,
                            rc == TC_ERR_LIMIT ? "too large or too many" : "out of memory");
    }
    return 0;
}

/* Adds a step (a test, by id and version) to the job. -1 with rs set. */
static int add_step(server *s, srv_job *j, const char *id, int version, bool in_suite, srv_resp *rs)
{
    store_resource *sr = NULL;
    tc_error e;
    int rc = store_resource_get(s->api, RES_TEST, id, version, &sr, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        if (in_suite)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "suite step \"%s\" is not a stored test",
                            id);
        if (version)
            return srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no version %d of test \"%s\"", version, id);
        return srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no test \"%s\"", id);
    }
    if (rc)
        return srv_fail_store(rs, rc, &e);
    size_t n = j->n_steps + 1;
    res_file **tests = realloc(j->tests, n * sizeof *tests);
    if (tests)
        j->tests = tests;
    const res_test **steps = realloc(j->steps, n * sizeof *steps);
    if (steps)
        j->steps = steps;
    char **ids = realloc(j->step_ids, n * sizeof *ids);
    if (ids)
        j->step_ids = ids;
    int *versions = realloc(j->step_versions, n * sizeof *versions);
    if (versions)
        j->step_versions = versions;
    const res_polling **pol = realloc(j->polling, n * sizeof *pol);
    if (pol)
        j->polling = pol;
    char label[STORE_MAX_ID + 32];
    snprintf(label, sizeof label, "%s@%d", sr->id, sr->version);
    res_file *f = NULL;
    if (!tests || !steps || !ids || !versions || !pol) {
        store_resource_free(&sr);
        return srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    }
    rc = res_load_buffer(label, sr->document, sr->document_len, &f, &e);
    int v = sr->version;
    store_resource_free(&sr);
    if (rc)
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "test \"%s\" version %d does not load: %s",
                        id, v, e.msg);
    const res_test *t = NULL;
    for (size_t i = 0; i < f->n_items && !t; i++)
        if (f->items[i].kind == RES_TEST)
            t = f->items[i].u.test;
    char *cid = strdup(id);
    if (!t || !cid) {
        res_file_free(&f);
        free(cid);
        return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "test \"%s\" holds no Test", id);
    }
    j->tests[j->n_steps] = f;
    j->steps[j->n_steps] = t;
    j->step_ids[j->n_steps] = cid;
    j->step_versions[j->n_steps] = v;
    j->polling[j->n_steps] = NULL;
    j->n_steps++;
    return 0;
}

/* The job of a run: its tests, variables, polling profiles and DataStore.
 * Returns the version run (the suite's or the test's), or -1 with rs set. */
static int prepare(server *s, srv_job *j, store_run_kind kind, const char *id, int version, json_t *body,
                   srv_resp *rs)
{
    if (kind == STORE_TEST_RUN) {
        if (add_step(s, j, id, version, false, rs))
            return -1;
        version = j->step_versions[0];
    } else {
        store_resource *sr = NULL;
        tc_error e;
        int rc = store_resource_get(s->api, RES_TESTSUITE, id, version, &sr, &e);
        if (rc == STORE_ERR_NOT_FOUND)
            return version ? srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found",
                                      "no version %d of test suite \"%s\"", version, id)
                           : srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no test suite \"%s\"", id);
        if (rc)
            return srv_fail_store(rs, rc, &e);
        const res_resource *r = NULL;
        rc = load_stored(j, sr, RES_TESTSUITE, &r, &e);
        version = sr->version;
        store_resource_free(&sr);
        if (rc)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", e.msg);
        j->suite_res = r->u.suite;
        if (r->u.suite->n_steps == 0)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "test suite \"%s\" has no steps", id);
        for (size_t i = 0; i < r->u.suite->n_steps; i++)
            if (add_step(s, j, r->u.suite->steps[i].s ? r->u.suite->steps[i].s : "", 0, true, rs))
                return -1;
    }
    if (body_vars(s, j, body, rs))
        return -1;

    /* the variables the tests read must be there (outputs of the steps count) */
    names refs = {0}, outs = {0};
    for (size_t i = 0; i < j->n_steps; i++) {
        test_refs(j->steps[i], &refs);
        for (size_t k = 0; k < j->steps[i]->n_outputs; k++)
            if (j->steps[i]->outputs[k].name.s)
                names_add(&outs, j->steps[i]->outputs[k].name.s, strlen(j->steps[i]->outputs[k].name.s));
    }
    tc_buf missing;
    buf_init(&missing, 1 << 16);
    for (size_t i = 0; i < refs.n; i++) {
        bool out = false;
        for (size_t k = 0; k < outs.n && !out; k++)
            out = strcmp(outs.v[k], refs.v[i]) == 0;
        if (!out && !vars_get(&j->v, refs.v[i], strlen(refs.v[i])))
            buf_printf(&missing, "%s%s", missing.len ? ", " : "", refs.v[i]);
    }
    names_free(&refs);
    names_free(&outs);
    if (missing.len) {
        srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                 "missing variable%s: %s (give them in \"variables\" or a "
                 "VariableSet in \"variableSets\")",
                 strchr(buf_str(&missing), ',') ? "s" : "", buf_str(&missing));
        buf_free(&missing);
        return -1;
    }
    buf_free(&missing);

    /* polling profiles: the one a test names, else the default (or only) one */
    const res_resource *dflt = NULL;
    if (pick_default(s, j, RES_POLLING, &dflt, rs))
        return -1;
    for (size_t i = 0; i < j->n_steps; i++) {
        const char *pp = j->steps[i]->polling_profile.s;
        j->polling[i] = dflt ? dflt->u.polling : NULL;
        if (!pp || !*pp)
            continue;
        store_resource *sr = NULL;
        tc_error e;
        int rc = store_resource_get(s->api, RES_POLLING, pp, 0, &sr, &e);
        if (rc == STORE_ERR_NOT_FOUND)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request",
                            "test \"%s\" names PollingProfile \"%s\", which is not stored", j->step_ids[i],
                            pp);
        if (rc)
            return srv_fail_store(rs, rc, &e);
        const res_resource *r = NULL;
        rc = load_stored(j, sr, RES_POLLING, &r, &e);
        store_resource_free(&sr);
        if (rc)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "%s", e.msg);
        j->polling[i] = r->u.polling;
    }

    /* where traces come from: the stored DataStore (default or only), else the receiver */
    const res_resource *ds = NULL;
    if (pick_default(s, j, RES_DATASTORE, &ds, rs))
        return -1;
    if (ds) {
        tc_error e;
        memset(&e, 0, sizeof e);
        source_config *sc = NULL;
        int rc = source_config_load(ds->u.datastore, ds->u.datastore->id.s, env_lookup, NULL, j->a, &sc, &e);
        if (rc)
            return srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "DataStore \"%s\": %s",
                            ds->u.datastore->id.s ? ds->u.datastore->id.s : "", e.msg);
        j->scfg = sc->type == SOURCE_RECEIVER ? NULL : sc;
    }
    return version;
}

/* The run's variables as stored and shown: secrets masked. */
static char *vars_json(const vars *v)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < v->n; i++)
        json_object_set_new(o, v->items[i].name,
                            json_string(v->items[i].secret ? MASK_TEXT : v->items[i].value));
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

void runs_create(server *s, store_run_kind kind, const char *id, json_t *body, srv_resp *rs)
{
    json_t *jv = json_object_get(body, "version");
    int version = 0;
    if (jv && !json_is_null(jv)) {
        if (!json_is_integer(jv) || json_integer_value(jv) < 1 || json_integer_value(jv) > 1000000000) {
            srv_fail(rs, MHD_HTTP_BAD_REQUEST, "bad_request", "version must be a positive integer");
            return;
        }
        version = (int)json_integer_value(jv);
    }
    srv_job *j = calloc(1, sizeof *j);
    srv_run *r = calloc(1, sizeof *r);
    char *vj = NULL;
    if (!j || !r || !(j->a = arena_new(0)) || !(r->resource_id = strdup(id))) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        goto out;
    }
    vars_init(&j->v);
    j->v.env_fallback = false; /* env:X reads the run's variables, never the server's environment */
    version = prepare(s, j, kind, id, version, body, rs);
    if (version < 0)
        goto out;
    vj = vars_json(&j->v);
    if (!vj) {
        srv_fail(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        goto out;
    }
    /* a traceid trigger's trace id is known now: the spans so far can be shown */
    const res_test *t0 = j->steps[0];
    if (t0->trigger.type == RES_TRIG_TRACEID && t0->trigger.traceid.id.s) {
        const char *tid = NULL;
        tc_error e;
        if (interp(&j->v, t0->trigger.traceid.id.s, j->a, &tid, &e) == 0 && strlen(tid) == 32 &&
            hex_decode(tid, 32, r->tid, sizeof r->tid) == 0)
            r->have_tid = true;
    }
    pthread_mutex_lock(&s->mu);
    bool stopping = s->stopping, full = s->q_len >= SERVER_MAX_QUEUE;
    pthread_mutex_unlock(&s->mu);
    if (stopping || full) {
        rs->retry_after = true;
        srv_fail(rs, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                 stopping ? "the server is stopping" : "%d runs are waiting already; retry later",
                 SERVER_MAX_QUEUE);
        goto out;
    }
    store_run_new in = {kind, id, version, vj};
    tc_error e;
    int rc = store_run_create(s->api, &in, &r->id, &e);
    if (rc) {
        srv_fail_store(rs, rc, &e);
        goto out;
    }
    r->kind = kind;
    r->version = version;
    r->job = j;
    j = NULL;
    r->refs = 1; /* the registry's */
    pthread_mutex_lock(&s->mu);
    runs_push_state_locked(s, r, STORE_RUN_QUEUED, srv_now_ns());
    r->listed = true;
    r->next = s->runs;
    s->runs = r;
    bool late = s->stopping;
    if (!late) {
        r->queued = true;
        if (s->q_tail)
            s->q_tail->qnext = r;
        else
            s->q_head = r;
        s->q_tail = r;
        s->q_len++;
        pthread_cond_signal(&s->work);
    }
    int64_t rid = r->id;
    pthread_mutex_unlock(&s->mu);
    if (late) { /* the server began to stop meanwhile: the run ends at once */
        end_unrun(s, r, STORE_RUN_INTERRUPTED, "the server stopped before the run started", &e);
        srv_run *dead = NULL;
        pthread_mutex_lock(&s->mu);
        runs_push_state_locked(s, r, STORE_RUN_INTERRUPTED, srv_now_ns());
        r->done = true;
        unlist_locked(s, r, &dead);
        pthread_mutex_unlock(&s->mu);
        run_free(dead);
        r = NULL;
        rs->retry_after = true;
        srv_fail(rs, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "the server is stopping");
        goto out;
    }
    r = NULL;
    srv_log(s, "run %lld: %s \"%s\" version %d queued", (long long)rid,
            kind == STORE_TEST_RUN ? "test" : "suite", id, version);
    buf_printf(&rs->body, "{\"id\":%lld,\"state\":\"QUEUED\",\"url\":\"/api/runs/%lld\"}\n", (long long)rid,
               (long long)rid);
    srv_json(rs, MHD_HTTP_ACCEPTED);
out:
    free(vj);
    job_free(&j);
    run_free(r);
}

/* ---- cancelling ---- */

void runs_cancel(server *s, int64_t id, srv_resp *rs)
{
    tc_error e;
    pthread_mutex_lock(&s->mu);
    srv_run *r = s->runs;
    while (r && r->id != id)
        r = r->next;
    if (r && !r->done) {
        r->refs++;
        bool was_queued = r->queued;
        unqueue_locked(s, r);
        pthread_mutex_unlock(&s->mu);
        int rc = end_unrun(s, r, STORE_RUN_CANCELLED, "cancelled", &e);
        srv_run *dead = NULL;
        pthread_mutex_lock(&s->mu);
        if (rc == 0) {
            r->cancelled = true; /* a worker running it drops its result */
            runs_push_state_locked(s, r, STORE_RUN_CANCELLED, srv_now_ns());
            r->done = true;
            if (was_queued)
                unlist_locked(s, r, &dead);
        } else if (was_queued && !s->stopping) { /* not cancelled: back to the head of the queue */
            r->queued = true;
            r->qnext = s->q_head;
            s->q_head = r;
            if (!s->q_tail)
                s->q_tail = r;
            s->q_len++;
            pthread_cond_signal(&s->work);
        }
        put_locked(r, &dead);
        pthread_mutex_unlock(&s->mu);
        run_free(dead);
        if (rc == STORE_ERR_CONFLICT)
            srv_fail(rs, MHD_HTTP_CONFLICT, "conflict", "run %lld has ended", (long long)id);
        else if (rc)
            srv_fail_store(rs, rc, &e);
        else {
            srv_log(s, "run %lld: cancelled", (long long)id);
            buf_printf(&rs->body, "{\"id\":%lld,\"state\":\"CANCELLED\"}\n", (long long)id);
            srv_json(rs, MHD_HTTP_ACCEPTED);
        }
        return;
    }
    pthread_mutex_unlock(&s->mu);
    /* not in hand: ended already, or left open by a failure to store its end */
    store_run *sr = NULL;
    int rc = store_run_get(s->api, id, &sr, &e);
    if (rc == STORE_ERR_NOT_FOUND) {
        srv_fail(rs, MHD_HTTP_NOT_FOUND, "not_found", "no run %lld", (long long)id);
        return;
    }
    if (rc) {
        srv_fail_store(rs, rc, &e);
        return;
    }
    bool final = store_run_state_final(sr->state);
    char st[32];
    snprintf(st, sizeof st, "%s", store_run_state_name(sr->state));
    store_run_free(&sr);
    if (final) {
        srv_fail(rs, MHD_HTTP_CONFLICT, "conflict", "run %lld has ended (%s)", (long long)id, st);
        return;
    }
    store_run_end end = {.state = STORE_RUN_CANCELLED, .result = STORE_RESULT_ERROR, .error = "cancelled"};
    rc = store_run_finish(s->api, id, &end, &e);
    if (rc == STORE_ERR_CONFLICT)
        srv_fail(rs, MHD_HTTP_CONFLICT, "conflict", "run %lld has ended", (long long)id);
    else if (rc)
        srv_fail_store(rs, rc, &e);
    else {
        buf_printf(&rs->body, "{\"id\":%lld,\"state\":\"CANCELLED\"}\n", (long long)id);
        srv_json(rs, MHD_HTTP_ACCEPTED);
    }
}

/* ---- workers ---- */

typedef struct worker_arg {
    server *s;
    unsigned index;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    server *s = wa->s;
    store *st = s->wstore[wa->index];
    free(wa);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && !s->q_head)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->stopping)
            break;
        srv_run *r = s->q_head;
        s->q_head = r->qnext;
        if (!s->q_head)
            s->q_tail = NULL;
        s->q_len--;
        r->qnext = NULL;
        r->queued = false;
        r->started = true;
        r->refs++;
        s->busy++;
        pthread_mutex_unlock(&s->mu);
        exec_run(s, st, r);
        srv_run *dead = NULL;
        pthread_mutex_lock(&s->mu);
        s->busy--;
        unlist_locked(s, r, &dead);
        put_locked(r, &dead);
        pthread_cond_broadcast(&s->changed);
        if (dead) {
            pthread_mutex_unlock(&s->mu);
            run_free(dead);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int runs_start_workers(server *s, tc_error *e)
{
    s->threads = calloc(s->o.workers, sizeof *s->threads);
    if (!s->threads)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < s->o.workers; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa)
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        *wa = (worker_arg){s, i};
        if (pthread_create(&s->threads[i], NULL, worker, wa) != 0) {
            free(wa);
            return tc_error_set(e, TC_ERR_IO, "cannot start a worker thread");
        }
        s->n_threads++;
    }
    return 0;
}

bool runs_drain(server *s, uint64_t grace_ns)
{
    tc_error e;
    /* the queued runs end now */
    pthread_mutex_lock(&s->mu);
    srv_run *q = s->q_head;
    s->q_head = s->q_tail = NULL;
    s->q_len = 0;
    for (srv_run *r = q; r; r = r->qnext) {
        r->queued = false;
        r->refs++;
    }
    pthread_mutex_unlock(&s->mu);
    size_t n_queued = 0;
    while (q) {
        srv_run *r = q, *dead = NULL;
        q = r->qnext;
        r->qnext = NULL;
        int rc = end_unrun(s, r, STORE_RUN_INTERRUPTED, "the server stopped before the run started", &e);
        if (rc && rc != STORE_ERR_CONFLICT)
            srv_log(s, "run %lld: cannot store its end (%s); the next start ends it", (long long)r->id,
                    e.msg);
        pthread_mutex_lock(&s->mu);
        if (!r->done) {
            runs_push_state_locked(s, r, STORE_RUN_INTERRUPTED, srv_now_ns());
            r->done = true;
        }
        unlist_locked(s, r, &dead);
        put_locked(r, &dead);
        pthread_mutex_unlock(&s->mu);
        run_free(dead);
        n_queued++;
    }
    if (n_queued)
        srv_log(s, "%zu queued run%s ended as INTERRUPTED", n_queued, n_queued == 1 ? "" : "s");

    /* the running ones may finish within the grace period */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(grace_ns / 1000000000ull);
    until.tv_nsec += (long)(grace_ns % 1000000000ull);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (s->busy)
        srv_log(s, "waiting up to %.1fs for %u running run%s", (double)grace_ns / 1e9, s->busy,
                s->busy == 1 ? "" : "s");
    while (s->busy > 0)
        if (pthread_cond_timedwait(&s->changed, &s->mu, &until) != 0)
            break;
    /* still running: ended as INTERRUPTED; their workers' results are dropped */
    for (;;) {
        srv_run *r = s->runs;
        while (r && (r->done || !r->started))
            r = r->next;
        if (!r)
            break;
        r->refs++;
        r->cancelled = true;
        runs_push_state_locked(s, r, STORE_RUN_INTERRUPTED, srv_now_ns());
        r->done = true;
        pthread_mutex_unlock(&s->mu);
        int rc = end_unrun(s, r, STORE_RUN_INTERRUPTED, "the server stopped during the run", &e);
        if (rc && rc != STORE_ERR_CONFLICT)
            srv_log(s, "run %lld: cannot store its end (%s); the next start ends it", (long long)r->id,
                    e.msg);
        else
            srv_log(s, "run %lld: INTERRUPTED (the server stopped)", (long long)r->id);
        runs_put(s, r);
        pthread_mutex_lock(&s->mu);
    }
    /* a worker that only waited for the database to store its end sees the
       run ended within a second; one inside the runner does not return */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    while (s->busy > 0)
        if (pthread_cond_timedwait(&s->changed, &s->mu, &until) != 0)
            break;
    bool idle = s->busy == 0;
    pthread_mutex_unlock(&s->mu);
    return idle;
}

void runs_join_workers(server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    s->n_threads = 0;
}

void runs_free_all(server *s)
{
    pthread_mutex_lock(&s->mu);
    srv_run *r = s->runs;
    s->runs = NULL;
    s->q_head = s->q_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (r) {
        srv_run *next = r->next;
        run_free(r);
        r = next;
    }
}
