/* config.c - a DataStore resource (Tracetest's format) as a source_config:
 * which backend, where, how to authenticate, which values are secrets. */
#include "source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    int type; /* source_type, or -1: known, cannot be polled */
} types[] = {
    {"jaeger", SOURCE_JAEGER},
    {"tempo", SOURCE_TEMPO},
    {"zipkin", SOURCE_ZIPKIN},
    {"opensearch", SOURCE_OPENSEARCH},
    {"elasticapm", SOURCE_ELASTICAPM},
    {"awsxray", SOURCE_XRAY},
    /* collector-fed: the collector sends spans to tracecheck's receiver */
    {"otlp", SOURCE_RECEIVER},
    {"newrelic", SOURCE_RECEIVER},
    {"lightstep", SOURCE_RECEIVER},
    {"honeycomb", SOURCE_RECEIVER},
    {"datadog", SOURCE_RECEIVER},
    {"dynatrace", SOURCE_RECEIVER},
    {"signoz", SOURCE_RECEIVER},
    {"dash0", SOURCE_RECEIVER},
    {"otelstore", SOURCE_RECEIVER},
    {"agent", SOURCE_RECEIVER},
    /* read through a vendor API tracecheck does not speak */
    {"signalfx", -1},
    {"sumologic", -1},
    {"azureappinsights", -1},
    {"instana", -1},
};

int source_type_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(name, types[i].name) == 0)
            return types[i].type;
    return -1;
}

const char *source_type_name(source_type t)
{
    switch (t) {
    case SOURCE_RECEIVER: return "receiver";
    case SOURCE_JAEGER: return "jaeger";
    case SOURCE_TEMPO: return "tempo";
    case SOURCE_ZIPKIN: return "zipkin";
    case SOURCE_OPENSEARCH: return "opensearch";
    case SOURCE_ELASTICAPM: return "elasticapm";
    case SOURCE_XRAY: return "awsxray";
    }
    return "?";
}

typedef struct cfg_ctx {
    source_config *c;
    arena *a;
    source_lookup_fn lookup;
    void *user;
    tc_error *e;
    const char **secrets;
    size_t n_secrets, cap_secrets;
} cfg_ctx;

static int fail_at(cfg_ctx *x, const res_node *n, int code, const char *fmt, const char *arg, const char *arg2)
{
    tc_error_set(x->e, code, fmt, arg, arg2 ? arg2 : "");
    if (n) {
        x->e->line = n->line;
        x->e->col = n->col;
    }
    return code;
}

static const char *env_default(void *user, const char *name)
{
    (void)user;
    return getenv(name);
}

/* A scalar's text with ${env:NAME} (and ${NAME}) replaced. */
static int expand(cfg_ctx *x, const res_node *n, const char **out)
{
    const char *s = n->str ? n->str : "";
    if (!strstr(s, "${")) { /* a copy: the config outlives the resource file */
        *out = arena_strdup(x->a, s);
        return *out ? 0 : TC_ERR_NOMEM;
    }
    tc_buf b;
    buf_init(&b, 1 << 20);
    int rc = 0;
    for (const char *p = s; *p;) {
        const char *open = strstr(p, "${");
        if (!open) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (!close) {
            buf_puts(&b, open);
            break;
        }
        const char *name = open + 2;
        if (strncmp(name, "env:", 4) == 0)
            name += 4;
        char key[256];
        size_t kl = (size_t)(close - name);
        bool ident = kl > 0 && kl < sizeof key && (isalpha((unsigned char)name[0]) || name[0] == '_');
        for (size_t i = 0; ident && i < kl; i++)
            ident = isalnum((unsigned char)name[i]) || name[i] == '_';
        if (!ident) {
            buf_append(&b, open, (size_t)(close - open + 1));
            p = close + 1;
            continue;
        }
        memcpy(key, name, kl);
        key[kl] = 0;
        const char *v = x->lookup(x->user, key);
        if (!v) {
            rc = fail_at(x, n, TC_ERR_INPUT, "environment variable \"%s\" is not set%s", key, NULL);
            break;
        }
        buf_puts(&b, v);
        p = close + 1;
    }
    if (!rc) {
        *out = arena_strdup(x->a, buf_str(&b));
        if (!*out)
            rc = TC_ERR_NOMEM;
    }
    buf_free(&b);
    return rc;
}

static int add_secret(cfg_ctx *x, const char *s)
{
    if (!s || strlen(s) < 3)
        return 0;
    if (x->n_secrets == x->cap_secrets) {
        size_t cap = x->cap_secrets ? x->cap_secrets * 2 : 8;
        const char **n = arena_alloc(x->a, cap * sizeof *n);
        if (!n)
            return TC_ERR_NOMEM;
        if (x->n_secrets)
            memcpy(n, x->secrets, x->n_secrets * sizeof *n);
        x->secrets = n;
        x->cap_secrets = cap;
    }
    x->secrets[x->n_secrets++] = s;
    return 0;
}

/* A copy of the lookup's value of name (in the arena), or NULL. */
static const char *env_copy(cfg_ctx *x, const char *name)
{
    const char *v = x->lookup(x->user, name);
    return v && *v ? arena_strdup(x->a, v) : NULL;
}

/* The string at m.key, expanded; NULL when absent or null. */
static int get(cfg_ctx *x, const res_node *m, const char *key, const char **out, const res_node **where)
{
    *out = NULL;
    const res_node *n = m ? res_node_get(m, key) : NULL;
    if (where)
        *where = n;
    if (!n || res_node_is_null(n))
        return 0;
    if (n->kind != RES_SCALAR)
        return fail_at(x, n, TC_ERR_INPUT, "%s: expected a text value%s", key, NULL);
    int rc = expand(x, n, out);
    if (!rc && *out && !**out)
        *out = NULL;
    return rc;
}

static bool truthy(const res_node *m, const char *key, bool dflt)
{
    const res_node *n = m ? res_node_get(m, key) : NULL;
    if (!n || n->kind != RES_SCALAR || res_node_is_null(n))
        return dflt;
    return strcasecmp(n->str, "true") == 0 || strcmp(n->str, "1") == 0 || strcasecmp(n->str, "yes") == 0;
}

static bool secret_header(const char *name)
{
    static const char *const words[] = {"auth", "token", "key", "secret", "cookie", "password", NULL};
    char low[128];
    size_t i = 0;
    for (; name[i] && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = 0;
    for (const char *const *w = words; *w; w++)
        if (strstr(low, *w))
            return true;
    return false;
}

/* headers: a map {Name: value} or a list [{key, value}]. */
static int read_headers(cfg_ctx *x, const res_node *m)
{
    const res_node *h = m ? res_node_get(m, "headers") : NULL;
    if (!h || res_node_is_null(h))
        return 0;
    if (h->kind == RES_SCALAR)
        return fail_at(x, h, TC_ERR_INPUT, "headers: expected a map of names to values%s%s", "", NULL);
    size_t n = h->n > SOURCE_MAX_HEADERS ? SOURCE_MAX_HEADERS : h->n;
    source_header *hs = arena_calloc(x->a, n ? n : 1, sizeof *hs);
    if (!hs)
        return TC_ERR_NOMEM;
    size_t k = 0;
    for (const res_node *it = h->first; it && k < n; it = it->next) {
        const char *name = NULL, *value = NULL;
        int rc;
        if (h->kind == RES_MAP) {
            name = it->key ? arena_strdup(x->a, it->key) : NULL;
            if (it->kind != RES_SCALAR)
                return fail_at(x, it, TC_ERR_INPUT, "headers.%s: expected a text value%s", name, NULL);
            if ((rc = expand(x, it, &value)))
                return rc;
        } else {
            if ((rc = get(x, it, "key", &name, NULL)) || (rc = get(x, it, "value", &value, NULL)))
                return rc;
        }
        if (!name || !*name)
            continue;
        hs[k].name = name;
        hs[k].value = value ? value : "";
        if (secret_header(name) && (rc = add_secret(x, hs[k].value)))
            return rc;
        k++;
    }
    x->c->headers = hs;
    x->c->n_headers = k;
    return 0;
}

/* Tracetest's gRPC/HTTP client TLS block: {insecure, insecureSkipVerify,
 * serverName, settings: {cAFile, certFile, keyFile, serverName}}. TLS is on
 * when insecure is false, or a certificate is named. */
static int read_tls(cfg_ctx *x, const res_node *m, bool grpc)
{
    const res_node *t = m ? res_node_get(m, "tls") : NULL;
    source_config *c = x->c;
    if (!t || t->kind != RES_MAP)
        return 0;
    const res_node *set = res_node_get(t, "settings");
    const res_node *ins = res_node_get(t, "insecure");
    int rc;
    if ((rc = get(x, set, "cAFile", &c->ca_file, NULL)) || (rc = get(x, set, "certFile", &c->cert_file, NULL)) ||
        (rc = get(x, set, "keyFile", &c->key_file, NULL)) || (rc = get(x, t, "serverName", &c->server_name, NULL)))
        return rc;
    if (!c->server_name && (rc = get(x, set, "serverName", &c->server_name, NULL)))
        return rc;
    c->skip_verify = truthy(t, "insecureSkipVerify", false);
    if (grpc && ((ins && !truthy(t, "insecure", true)) || c->ca_file || c->cert_file))
        c->tls = true;
    return 0;
}

static int need(cfg_ctx *x, const char *v, const res_node *block, const char *what)
{
    if (v)
        return 0;
    return fail_at(x, block, TC_ERR_INPUT, "%s: %s is required", x->c->type_name, what);
}

/* Removes user:password@ from a URL into the config's credentials. */
static int url_userinfo(cfg_ctx *x, const char **url)
{
    const char *u = *url;
    const char *scheme = strstr(u, "://");
    if (!scheme)
        return 0;
    const char *host = scheme + 3;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (!at || (slash && slash < at))
        return 0;
    const char *colon = memchr(host, ':', (size_t)(at - host));
    if (!x->c->username)
        x->c->username = arena_strndup(x->a, host, (size_t)((colon ? colon : at) - host));
    if (colon && !x->c->password) {
        x->c->password = arena_strndup(x->a, colon + 1, (size_t)(at - colon - 1));
        if (add_secret(x, x->c->password))
            return TC_ERR_NOMEM;
    }
    tc_buf b;
    buf_init(&b, 1 << 20);
    buf_append(&b, u, (size_t)(host - u));
    buf_puts(&b, at + 1);
    *url = arena_strdup(x->a, buf_str(&b));
    buf_free(&b);
    return *url ? 0 : TC_ERR_NOMEM;
}

static bool is_url(const char *s)
{
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

int source_config_load(const res_datastore *ds, const char *file, source_lookup_fn lookup, void *user, arena *a,
                       source_config **out, tc_error *e)
{
    source_config *c = arena_calloc(a, 1, sizeof *c);
    if (!c)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    cfg_ctx x = {c, a, lookup ? lookup : env_default, user, e, NULL, 0, 0};
    c->file = file ? arena_strdup(a, file) : NULL;
    c->name = ds->name.s ? arena_strdup(a, ds->name.s) : NULL;
    c->type_name = ds->type.s ? arena_strdup(a, ds->type.s) : NULL;
    c->line = ds->type.line;
    c->col = ds->type.col;
    if (!ds->type.s) {
        tc_error_set(e, TC_ERR_INPUT, "the DataStore has no type");
        return TC_ERR_INPUT;
    }
    int t = source_type_of(ds->type.s);
    if (t < 0) {
        bool known = false;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            known |= strcasecmp(ds->type.s, types[i].name) == 0;
        tc_error_set(e, known ? TC_ERR_UNSUPPORTED : TC_ERR_INPUT,
                     known ? "%s: not supported; export to tracecheck's receiver from your collector "
                             "(docs/datastores.md)"
                           : "unknown DataStore type \"%s\" (tracecheck polls jaeger, tempo, zipkin, opensearch, "
                             "elasticapm and awsxray; otlp means its own receiver)",
                     ds->type.s);
        e->line = ds->type.line;
        e->col = ds->type.col;
        return known ? TC_ERR_UNSUPPORTED : TC_ERR_INPUT;
    }
    c->type = (source_type)t;
    const res_node *b = ds->block;
    int rc = 0;
    switch (c->type) {
    case SOURCE_RECEIVER:
        break;
    case SOURCE_JAEGER:
    case SOURCE_ZIPKIN: {
        const char *ep = NULL;
        if ((rc = get(&x, b, "endpoint", &ep, NULL)))
            return rc;
        if (!ep && (rc = get(&x, b, "url", &ep, NULL)))
            return rc;
        if ((rc = need(&x, ep, b, "endpoint")))
            return rc;
        c->grpc = c->type == SOURCE_JAEGER && !is_url(ep);
        if (is_url(ep) && (rc = url_userinfo(&x, &ep)))
            return rc;
        c->endpoint = ep;
        if ((rc = read_headers(&x, b)) || (rc = read_tls(&x, b, c->grpc)))
            return rc;
        c->tls = c->tls || strncasecmp(ep, "https://", 8) == 0;
        break;
    }
    case SOURCE_TEMPO: {
        const char *kind = NULL;
        if ((rc = get(&x, b, "type", &kind, NULL)))
            return rc;
        const res_node *g = b ? res_node_get(b, "grpc") : NULL, *h = b ? res_node_get(b, "http") : NULL;
        c->grpc = kind ? strcasecmp(kind, "grpc") == 0 : (g && !h);
        const res_node *sub = c->grpc ? g : h;
        const char *ep = NULL;
        if ((rc = get(&x, sub, c->grpc ? "endpoint" : "url", &ep, NULL)))
            return rc;
        if (!ep && (rc = get(&x, sub, c->grpc ? "url" : "endpoint", &ep, NULL)))
            return rc;
        if ((rc = need(&x, ep, sub ? sub : b, c->grpc ? "grpc.endpoint" : "http.url")))
            return rc;
        if (is_url(ep) && c->grpc && strncasecmp(ep, "https://", 8) == 0)
            c->tls = true;
        if (is_url(ep) && (rc = url_userinfo(&x, &ep)))
            return rc;
        if (!c->grpc && !is_url(ep)) { /* "tempo:3200" */
            size_t n = strlen(ep) + 8;
            char *u = arena_alloc(a, n);
            if (!u)
                return TC_ERR_NOMEM;
            snprintf(u, n, "http://%s", ep);
            ep = u;
        }
        c->endpoint = ep;
        if ((rc = read_headers(&x, sub)) || (rc = read_tls(&x, sub, c->grpc)))
            return rc;
        if (!c->grpc && strncasecmp(ep, "https://", 8) == 0)
            c->tls = true;
        break;
    }
    case SOURCE_OPENSEARCH:
    case SOURCE_ELASTICAPM: {
        const res_node *addrs = b ? res_node_get(b, "addresses") : NULL;
        if (addrs && addrs->kind == RES_SEQ && addrs->n) {
            c->addresses = arena_calloc(a, addrs->n, sizeof *c->addresses);
            if (!c->addresses)
                return TC_ERR_NOMEM;
            for (const res_node *it = addrs->first; it; it = it->next) {
                const char *ad = NULL;
                if (it->kind != RES_SCALAR)
                    return fail_at(&x, it, TC_ERR_INPUT, "addresses: expected a list of URLs%s%s", "", NULL);
                if ((rc = expand(&x, it, &ad)))
                    return rc;
                if (!is_url(ad))
                    return fail_at(&x, it, TC_ERR_INPUT, "addresses: \"%s\" is not an http:// or https:// URL%s", ad,
                                   NULL);
                if ((rc = url_userinfo(&x, &ad)))
                    return rc;
                c->addresses[c->n_addresses++] = ad;
            }
        } else if (addrs && addrs->kind == RES_SCALAR && !res_node_is_null(addrs)) {
            c->addresses = arena_calloc(a, 1, sizeof *c->addresses);
            if (!c->addresses || (rc = expand(&x, addrs, &c->addresses[0])))
                return rc ? rc : TC_ERR_NOMEM;
            c->n_addresses = 1;
        }
        if (!c->n_addresses)
            return fail_at(&x, b, TC_ERR_INPUT, "%s: addresses is required (a list of URLs)%s", c->type_name, NULL);
        c->endpoint = c->addresses[0];
        const char *user_name = NULL, *pass = NULL;
        if ((rc = get(&x, b, "index", &c->index, NULL)) || (rc = get(&x, b, "username", &user_name, NULL)) ||
            (rc = get(&x, b, "password", &pass, NULL)) || (rc = get(&x, b, "certificate", &c->ca_pem, NULL)))
            return rc;
        if (user_name)
            c->username = user_name;
        if (pass)
            c->password = pass;
        if ((rc = add_secret(&x, c->password)))
            return rc;
        if (!c->index)
            c->index = c->type == SOURCE_OPENSEARCH ? "otel-v1-apm-span-*" : "traces-apm*";
        c->skip_verify = truthy(b, "insecureSkipVerify", false);
        c->tls = strncasecmp(c->endpoint, "https://", 8) == 0;
        if ((rc = read_headers(&x, b)))
            return rc;
        break;
    }
    case SOURCE_XRAY: {
        if ((rc = get(&x, b, "region", &c->region, NULL)) || (rc = get(&x, b, "accessKeyId", &c->access_key, NULL)) ||
            (rc = get(&x, b, "secretAccessKey", &c->secret_key, NULL)) ||
            (rc = get(&x, b, "sessionToken", &c->session_token, NULL)) ||
            (rc = get(&x, b, "endpoint", &c->endpoint, NULL)))
            return rc;
        if (truthy(b, "useDefaultAuth", false) || !c->access_key) { /* the standard AWS environment */
            c->access_key = env_copy(&x, "AWS_ACCESS_KEY_ID");
            c->secret_key = env_copy(&x, "AWS_SECRET_ACCESS_KEY");
            c->session_token = env_copy(&x, "AWS_SESSION_TOKEN");
        }
        if (!c->region)
            c->region = env_copy(&x, "AWS_REGION");
        if (!c->region)
            c->region = env_copy(&x, "AWS_DEFAULT_REGION");
        if ((rc = need(&x, c->region, b, "region (or AWS_REGION)")))
            return rc;
        if (!c->access_key || !c->secret_key)
            return fail_at(&x, b, TC_ERR_INPUT,
                           "awsxray: no credentials: set accessKeyId and secretAccessKey, or AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY%s%s",
                           "", NULL);
        if (!c->endpoint) {
            size_t n = strlen(c->region) + 40;
            char *u = arena_alloc(a, n);
            if (!u)
                return TC_ERR_NOMEM;
            snprintf(u, n, "https://xray.%s.amazonaws.com", c->region);
            c->endpoint = u;
        }
        c->tls = strncasecmp(c->endpoint, "https://", 8) == 0;
        if ((rc = add_secret(&x, c->secret_key)) || (rc = add_secret(&x, c->session_token)))
            return rc;
        break;
    }
    }
    c->secrets = x.secrets;
    c->n_secrets = x.n_secrets;
    *out = c;
    return 0;
}

const char *source_mask(const source_config *c, const char *s, arena *a)
{
    if (!s || !c)
        return s;
    const char *cur = s;
    for (size_t i = 0; i < c->n_secrets; i++) {
        const char *sec = c->secrets[i];
        size_t sl = strlen(sec);
        if (sl < 3 || !strstr(cur, sec))
            continue;
        tc_buf b;
        buf_init(&b, 0);
        for (const char *p = cur;;) {
            const char *hit = strstr(p, sec);
            if (!hit) {
                buf_puts(&b, p);
                break;
            }
            buf_append(&b, p, (size_t)(hit - p));
            buf_puts(&b, "****");
            p = hit + sl;
        }
        const char *m = arena_strdup(a, buf_str(&b));
        buf_free(&b);
        if (!m)
            return "****";
        cur = m;
    }
    return cur;
}

const char *source_endpoint_label(const source_config *c, arena *a)
{
    if (c->type == SOURCE_RECEIVER)
        return "receiver";
    return source_mask(c, c->endpoint ? c->endpoint : "", a);
}

int source_config_dump(const source_config *c, arena *a, tc_buf *out)
{
    buf_printf(out, "type: %s (%s)\n", source_type_name(c->type), c->type_name ? c->type_name : "");
    if (c->name)
        buf_printf(out, "name: %s\n", c->name);
    if (c->type == SOURCE_RECEIVER)
        return buf_puts(out, "spans: tracecheck's OTLP receiver (the collector sends them)\n");
    buf_printf(out, "protocol: %s%s\n", c->grpc ? "grpc" : "http", c->tls ? " over TLS" : "");
    buf_printf(out, "endpoint: %s\n", source_endpoint_label(c, a));
    for (size_t i = 1; i < c->n_addresses; i++)
        buf_printf(out, "address: %s\n", source_mask(c, c->addresses[i], a));
    if (c->index)
        buf_printf(out, "index: %s\n", c->index);
    if (c->username)
        buf_printf(out, "username: %s\n", c->username);
    if (c->password)
        buf_printf(out, "password: %s\n", source_mask(c, c->password, a));
    for (size_t i = 0; i < c->n_headers; i++)
        buf_printf(out, "header: %s: %s\n", c->headers[i].name, source_mask(c, c->headers[i].value, a));
    if (c->skip_verify)
        buf_puts(out, "tls: certificate not verified\n");
    if (c->ca_file)
        buf_printf(out, "ca file: %s\n", c->ca_file);
    if (c->ca_pem)
        buf_puts(out, "ca: (PEM in the DataStore)\n");
    if (c->cert_file)
        buf_printf(out, "client certificate: %s\n", c->cert_file);
    if (c->key_file)
        buf_printf(out, "client key: %s\n", c->key_file);
    if (c->server_name)
        buf_printf(out, "server name: %s\n", c->server_name);
    if (c->region)
        buf_printf(out, "region: %s\n", c->region);
    if (c->access_key)
        buf_printf(out, "access key id: %s\n", c->access_key);
    if (c->secret_key)
        buf_printf(out, "secret access key: %s\n", source_mask(c, c->secret_key, a));
    if (c->session_token)
        buf_printf(out, "session token: %s\n", source_mask(c, c->session_token, a));
    return out->failed ? TC_ERR_LIMIT : 0;
}
