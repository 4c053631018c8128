/* lint.c - the trace analyzer (see lint.h): the plugin and rule tables,
 * one function a rule, Tracetest's scoring and the gate. */
#include "lint.h"

#include "spanattr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- tables ---- */

static const lint_rule_info standards_rules[] = {
    {"span-naming", "Span Naming", "Enforce span names that identify a class of spans (semantic conventions)",
     25, LINT_ERROR},
    {"required-attributes", "Required Attributes", "Enforce the attributes each span type requires", 25,
     LINT_ERROR},
    {"attribute-naming", "Attribute Naming", "Enforce namespaced snake_case attribute keys", 25, LINT_ERROR},
    {"no-empty-attributes", "No Empty Attributes", "Disallow empty attribute values", 25, LINT_ERROR},
};
static const lint_rule_info common_rules[] = {
    {"prefer-dns", "Prefer DNS", "Enforce host names instead of IP addresses", 100, LINT_ERROR},
};
static const lint_rule_info security_rules[] = {
    {"secure-https-protocol", "Secure HTTPS Protocol", "Enforce the https scheme on HTTP spans", 30,
     LINT_ERROR},
    {"no-api-key-leak", "No API Key Leak", "Disallow credentials in URLs and attributes", 70, LINT_ERROR},
};
static const lint_rule_info structure_rules[] = {
    {"n-plus-one", "N+1 Queries", "Disallow the same statement repeated many times under one parent", 15,
     LINT_ERROR},
    {"missing-parent", "Missing Parent", "Disallow spans whose parent is absent or in a cycle", 15,
     LINT_ERROR},
    {"duplicate-span-id", "Duplicate Span Id", "Disallow two different spans with one span id", 10, LINT_ERROR},
    {"error-without-exception", "Error Without Exception", "A span with status error records an exception",
     10, LINT_ERROR},
    {"exception-without-error", "Exception Without Error",
     "A span that records an exception has status error (handled exceptions aside)", 5, LINT_WARNING},
    {"span-outlives-parent", "Span Outlives Parent", "A span ends before its parent of the same service ends",
     10, LINT_WARNING},
    {"clock-skew", "Clock Skew", "A server span lies within its client span across services", 15, LINT_ERROR},
    {"server-root", "Server Root", "The trace starts with a server (or consumer) span", 5, LINT_WARNING},
    {"unbounded-span-name", "Unbounded Span Name", "Span names hold no ids (low cardinality)", 15,
     LINT_ERROR},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const lint_plugin_info plugins[] = {
    {"standards", "OTel Semantic Conventions", "Enforce trace standards following OTel Semantic Conventions",
     standards_rules, N_OF(standards_rules)},
    {"common", "Common Problems", "Help you find common mistakes with your application", common_rules,
     N_OF(common_rules)},
    {"security", "Security", "Help you find security problems with your application", security_rules,
     N_OF(security_rules)},
    {"structure", "Trace Structure", "Find broken, skewed and wasteful traces", structure_rules,
     N_OF(structure_rules)},
};

const lint_plugin_info *lint_plugins(size_t *n)
{
    *n = N_OF(plugins);
    return plugins;
}

const lint_plugin_info *lint_plugin_find(const char *id)
{
    for (size_t i = 0; id && i < N_OF(plugins); i++)
        if (strcmp(plugins[i].id, id) == 0)
            return &plugins[i];
    return NULL;
}

const lint_rule_info *lint_rule_find(const lint_plugin_info *p, const char *id)
{
    for (size_t i = 0; p && id && i < p->n_rules; i++)
        if (strcmp(p->rules[i].id, id) == 0)
            return &p->rules[i];
    return NULL;
}

int lint_level_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "error") == 0)
        return LINT_ERROR;
    if (strcasecmp(s, "warning") == 0)
        return LINT_WARNING;
    if (strcasecmp(s, "disabled") == 0)
        return LINT_DISABLED;
    return -1;
}

const char *lint_level_name(lint_level l)
{
    return l == LINT_ERROR ? "error" : l == LINT_WARNING ? "warning" : "disabled";
}

/* ---- context, findings ---- */

typedef struct lint_ctx {
    const lint_config *cfg;
    const trace *t;
    arena *a;
    uint32_t n_plus_one;
    uint64_t skew_ns;
    int nomem;
    const char **types; /* span type by pre-order position (NULL: computed on use) */
} lint_ctx;

static void add(lint_ctx *c, lint_rule_result *r, const trace_span *sp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(lint_ctx *c, lint_rule_result *r, const trace_span *sp, const char *fmt, ...)
{
    r->n_findings++;
    r->passed = false;
    if (r->n_kept >= LINT_MAX_KEPT)
        return;
    if (!r->findings && !(r->findings = arena_alloc(c->a, LINT_MAX_KEPT * sizeof *r->findings))) {
        c->nomem = 1;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *m = arena_strdup(c->a, msg);
    if (!m) {
        c->nomem = 1;
        return;
    }
    r->findings[r->n_kept++] = (lint_finding){sp, m};
}

/* ---- attribute helpers ---- */

static const tc_value *attr(const trace_span *sp, const char *k)
{
    return trace_span_attr(sp, k, strlen(k));
}

/* A string attribute's text (the first key of a NULL-terminated list that
 * the span has as a non-empty string), or NULL. */
static const char *str_any(const trace_span *sp, const char *k1, const char *k2, const char *k3)
{
    const char *ks[] = {k1, k2, k3};
    for (size_t i = 0; i < 3 && ks[i]; i++) {
        const tc_value *v = attr(sp, ks[i]);
        if (v && v->type == TC_V_STRING && v->len)
            return v->u.str;
    }
    return NULL;
}

static const char *str1(const trace_span *sp, const char *k)
{
    return str_any(sp, k, NULL, NULL);
}

static bool has_any(const trace_span *sp, const char *const *keys)
{
    for (; *keys; keys++)
        if (attr(sp, *keys))
            return true;
    return false;
}

/* "a" or "an" before a word. */
static const char *an(const char *word)
{
    return word[0] && strchr("aeiou", word[0]) ? "an" : "a";
}

static void fmt_ns(char *out, size_t n, uint64_t ns)
{
    if (ns < 1000)
        snprintf(out, n, "%lluns", (unsigned long long)ns);
    else if (ns < 1000000)
        snprintf(out, n, "%.1fµs", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(out, n, "%.1fms", (double)ns / 1e6);
    else
        snprintf(out, n, "%.2fs", (double)ns / 1e9);
}

/* The span's type (tracetest.span.type), computed once per span. */
static const char *type_of(const lint_ctx *c, const trace_span *sp)
{
    if (c->types && sp->order < c->t->n_spans && c->t->preorder[sp->order] == sp)
        return c->types[sp->order];
    return spanattr_type(sp);
}

#define EACH_SPAN(c, sp)                                                                                     \
    for (uint32_t i_ = 0; i_ < (c)->t->n_spans; i_++)                                                        \
        for (const trace_span *sp = (c)->t->indexed ? (c)->t->preorder[i_] : (c)->t->spans[i_]; sp; sp = NULL)

/* ---- standards ---- */

static bool name_is(const trace_span *sp, const char *want)
{
    return want && strcmp(sp->name, want) == 0;
}

static void rule_span_naming(lint_ctx *c, lint_rule_result *r)
{
    char want[5][300];
    EACH_SPAN(c, sp)
    {
        const char *type = type_of(c, sp);
        int n = 0;
        bool ok = false;
        if (strcmp(type, "http") == 0) {
            const char *m = str_any(sp, "http.request.method", "http.method", NULL);
            if (!m || (sp->kind != TRACE_KIND_SERVER && sp->kind != TRACE_KIND_CLIENT))
                continue;
            if (strcmp(m, "_OTHER") == 0)
                m = "HTTP";
            const char *route = sp->kind == TRACE_KIND_SERVER ? str1(sp, "http.route") : NULL;
            if (route) {
                snprintf(want[n++], sizeof want[0], "%s %s", m, route);
            } else {
                size_t ml = strlen(m);
                /* {method} or {method} {target} (a route or url template) */
                ok = strcmp(sp->name, m) == 0 || (strncmp(sp->name, m, ml) == 0 && sp->name[ml] == ' ');
                snprintf(want[n++], sizeof want[0], "%s", m);
            }
        } else if (strcmp(type, "database") == 0) {
            const char *op = str_any(sp, "db.operation.name", "db.operation", NULL);
            const char *coll = str_any(sp, "db.collection.name", "db.sql.table", "db.mongodb.collection");
            const char *ns = str_any(sp, "db.namespace", "db.name", NULL);
            const char *sys = str_any(sp, "db.system.name", "db.system", NULL);
            const char *summary = str1(sp, "db.query.summary");
            const char *st = str_any(sp, "db.query.text", "db.statement", NULL);
            char parsed[32];
            bool op_parsed = false;
            if (!op && st && !(sys && strcasecmp(sys, "redis") == 0)) {
                /* the operation parsed from the statement: its first word */
                while (*st == ' ' || *st == '\n' || *st == '\t' || *st == '(')
                    st++;
                size_t wl = 0;
                while (st[wl] && st[wl] != ' ' && st[wl] != '\n' && st[wl] != '\t' && st[wl] != '(' &&
                       wl < 31)
                    wl++;
                if (wl) {
                    for (size_t k = 0; k < wl; k++)
                        parsed[k] = (char)(st[k] >= 'a' && st[k] <= 'z' ? st[k] - 32 : st[k]);
                    parsed[wl] = '\0';
                    op = parsed;
                    op_parsed = true;
                    /* {operation} {target}, the target parsed from the statement too */
                    ok = (strncmp(sp->name, op, wl) == 0 || strncmp(sp->name, st, wl) == 0) &&
                         (sp->name[wl] == '\0' || sp->name[wl] == ' ');
                }
            }
            if (summary)
                snprintf(want[n++], sizeof want[0], "%s", summary);
            if (op && coll)
                snprintf(want[n++], sizeof want[0], "%s %s", op, coll);
            if (op && ns && coll)
                snprintf(want[n++], sizeof want[0], "%s %s.%s", op, ns, coll);
            if (op && ns)
                snprintf(want[n++], sizeof want[0], "%s %s", op, ns);
            if (op)
                snprintf(want[n++], sizeof want[0], "%s", op);
            if ((!op || op_parsed) && (ns || sys) && n < 5)
                snprintf(want[n++], sizeof want[0], "%s", ns ? ns : sys);
            if (sys && strcasecmp(sys, "redis") == 0) { /* a command name: the statement starts with it */
                size_t nl = strlen(sp->name);
                ok = st && nl && strncasecmp(st, sp->name, nl) == 0;
            }
        } else if (strcmp(type, "rpc") == 0) {
            const char *svc = str1(sp, "rpc.service"), *m = str1(sp, "rpc.method");
            if (svc && m)
                snprintf(want[n++], sizeof want[0], "%s/%s", svc, m);
            if (m && strchr(m, '/'))
                snprintf(want[n++], sizeof want[0], "%s", m);
        } else if (strcmp(type, "messaging") == 0) {
            const char *op =
                str_any(sp, "messaging.operation.name", "messaging.operation", "messaging.operation.type");
            const char *dest = str_any(sp, "messaging.destination.name", "messaging.destination", NULL);
            if (op && dest) {
                snprintf(want[n++], sizeof want[0], "%s %s", op, dest);
                snprintf(want[n++], sizeof want[0], "%s %s", dest, op);
            }
            if (op)
                snprintf(want[n++], sizeof want[0], "%s", op);
        }
        if (n == 0 || ok)
            continue;
        for (int k = 0; k < n && !ok; k++)
            ok = name_is(sp, want[k]);
        if (!ok)
            add(c, r, sp, "name \"%s\" does not follow the %s naming convention: expected \"%s\"", sp->name,
                type, want[0]);
    }
}

typedef struct requirement {
    const char *type;
    int kind;            /* -1: any */
    const char *keys[4]; /* alternatives, new name first */
} requirement;

static const requirement requirements[] = {
    {"http", -1, {"http.request.method", "http.method", NULL}},
    {"http", TRACE_KIND_CLIENT, {"url.full", "http.url", NULL}},
    {"http", TRACE_KIND_CLIENT, {"server.address", "net.peer.name", NULL}},
    {"http", TRACE_KIND_SERVER, {"url.path", "http.target", NULL}},
    {"http", TRACE_KIND_SERVER, {"url.scheme", "http.scheme", NULL}},
    {"database", -1, {"db.system.name", "db.system", NULL}},
    {"rpc", -1, {"rpc.system", NULL}},
    {"rpc", TRACE_KIND_CLIENT, {"server.address", "net.peer.name", NULL}},
    {"messaging", -1, {"messaging.system", NULL}},
    {"messaging", -1, {"messaging.operation.type", "messaging.operation.name", "messaging.operation", NULL}},
    {"faas", TRACE_KIND_SERVER, {"faas.trigger", NULL}},
    {"faas", TRACE_KIND_CLIENT, {"faas.invoked_name", NULL}},
    {"faas", TRACE_KIND_CLIENT, {"faas.invoked_provider", NULL}},
};

static void rule_required_attributes(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        const char *type = type_of(c, sp);
        char miss[400];
        size_t used = 0;
        miss[0] = '\0';
        for (size_t k = 0; k < N_OF(requirements); k++) {
            const requirement *q = &requirements[k];
            if (strcmp(q->type, type) != 0 || (q->kind >= 0 && q->kind != sp->kind) || has_any(sp, q->keys))
                continue;
            int w =
                snprintf(miss + used, sizeof miss - used, "%s\"%s\"%s%s%s", used ? ", " : "", q->keys[0],
                         q->keys[1] ? " (or \"" : "", q->keys[1] ? q->keys[1] : "", q->keys[1] ? "\")" : "");
            if (w > 0 && (size_t)w < sizeof miss - used)
                used += (size_t)w;
        }
        if (used)
            add(c, r, sp, "missing %s on %s %s span of type \"%s\"", miss, an(trace_kind_name(sp->kind)),
                trace_kind_name(sp->kind), type);
    }
}

/* Keys whose last part is free text (a header or metadata name, a label). */
static const char *const template_prefixes[] = {
    "http.request.header.",
    "http.response.header.",
    "rpc.grpc.request.metadata.",
    "rpc.grpc.response.metadata.",
    "rpc.connect_rpc.request.metadata.",
    "rpc.connect_rpc.response.metadata.",
    "db.operation.parameter.",
    "db.query.parameter.",
    "k8s.pod.label.",
    "k8s.pod.annotation.",
    "container.label.",
    "process.environment_variable.",
    NULL,
};

static bool key_template(const char *k, size_t n)
{
    for (const char *const *p = template_prefixes; *p; p++) {
        size_t pl = strlen(*p);
        if (n > pl && strncmp(k, *p, pl) == 0)
            return true;
    }
    return false;
}

static bool key_well_named(const char *k, size_t n)
{
    size_t seg = 0, segs = 1;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        if (ch == '.') {
            if (seg == 0)
                return false;
            seg = 0;
            segs++;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') {
            seg++;
        } else {
            return key_template(k, n);
        }
    }
    return (seg > 0 && segs >= 2) || key_template(k, n);
}

static int key_cmp(const void *a, const void *b)
{
    const tc_attr *x = *(const tc_attr *const *)a, *y = *(const tc_attr *const *)b;
    return strcmp(x->key, y->key);
}

/* True when another key of the sorted keys[0..n) starts with keys[i] ".". */
static bool is_namespace(const tc_attr **keys, uint32_t n, uint32_t i)
{
    const tc_attr *k = keys[i];
    /* keys starting with "k." sort after k, among the keys with prefix k */
    for (uint32_t j = i + 1; j < n; j++) {
        const tc_attr *o = keys[j];
        if (o->key_len <= k->key_len || memcmp(o->key, k->key, k->key_len) != 0)
            return false;
        if (o->key[k->key_len] == '.')
            return true;
        /* a character below '.' ('-', ',', ...) may sort between: go on */
        if ((unsigned char)o->key[k->key_len] > '.')
            return false;
    }
    return false;
}

static void rule_attribute_naming(lint_ctx *c, lint_rule_result *r)
{
    const tc_attr *small[64];
    EACH_SPAN(c, sp)
    {
        for (uint32_t k = 0; k < sp->n_attrs; k++)
            if (!key_well_named(sp->attrs[k].key, sp->attrs[k].key_len))
                add(c, r, sp,
                    "attribute \"%s\" does not follow the naming convention (namespaced snake_case)",
                    sp->attrs[k].key);
        if (sp->n_attrs < 2)
            continue;
        const tc_attr **keys = small;
        if (sp->n_attrs > N_OF(small) && !(keys = arena_alloc(c->a, sp->n_attrs * sizeof *keys))) {
            c->nomem = 1;
            return;
        }
        for (uint32_t k = 0; k < sp->n_attrs; k++)
            keys[k] = &sp->attrs[k];
        qsort(keys, sp->n_attrs, sizeof *keys, key_cmp);
        for (uint32_t k = 0; k < sp->n_attrs; k++)
            if ((k == 0 || strcmp(keys[k - 1]->key, keys[k]->key) != 0) && is_namespace(keys, sp->n_attrs, k))
                add(c, r, sp, "attribute \"%s\" is also the namespace of another attribute of the span",
                    keys[k]->key);
    }
}

static void rule_no_empty_attributes(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        for (uint32_t k = 0; k < sp->n_attrs; k++) {
            const tc_value *v = &sp->attrs[k].value;
            if (v->type == TC_V_EMPTY || (v->type == TC_V_STRING && v->len == 0))
                add(c, r, sp, "attribute \"%s\" is empty", sp->attrs[k].key);
        }
    }
}

/* ---- common ---- */

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* True when s holds a dotted-quad IPv4 address (octets 0..255, not part of a
 * longer dotted number) or a bracketed or bare IPv6 literal. */
static bool has_ip(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]) ||
            (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '_' ||
                       (s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= 'A' && s[i - 1] <= 'Z'))))
            continue;
        size_t j = i;
        int octets = 0;
        for (; octets < 4; octets++) {
            size_t d = 0;
            unsigned v = 0;
            while (j < n && is_digit(s[j]) && d < 4) {
                v = v * 10 + (unsigned)(s[j] - '0');
                j++;
                d++;
            }
            if (d == 0 || d > 3 || v > 255)
                break;
            if (octets < 3) {
                if (j >= n || s[j] != '.')
                    break;
                j++;
            }
        }
        if (octets == 4 && (j >= n || (s[j] != '.' && !is_digit(s[j]))))
            return true;
    }
    /* IPv6: [h:h::h] in a URL, or the whole value hex digits and colons */
    const char *lb = strchr(s, '[');
    const char *text = lb ? lb + 1 : s;
    size_t colons = 0, k = 0;
    for (; text[k] && (is_hex(text[k]) || text[k] == ':' || text[k] == '.'); k++)
        colons += text[k] == ':';
    return colons >= 2 && (lb ? text[k] == ']' : text[k] == '\0');
}

static void rule_prefer_dns(lint_ctx *c, lint_rule_result *r)
{
    static const char *const any_kind[] = {"url.full", "http.url", "db.connection_string", NULL};
    static const char *const client[] = {"server.address", "net.peer.name", NULL};
    EACH_SPAN(c, sp)
    {
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1 && sp->kind != TRACE_KIND_CLIENT && sp->kind != TRACE_KIND_PRODUCER)
                break;
            for (const char *const *k = pass ? client : any_kind; *k; k++) {
                const char *v = str1(sp, *k);
                if (v && has_ip(v))
                    add(c, r, sp, "attribute \"%s\" uses an IP address instead of a host name: %s", *k, v);
            }
        }
    }
}

/* ---- security ---- */

static void rule_secure_https(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        if (strcmp(type_of(c, sp), "http") != 0)
            continue;
        static const char *const scheme_keys[] = {"url.scheme", "http.scheme", NULL};
        static const char *const url_keys[] = {"url.full", "http.url", NULL};
        for (const char *const *k = scheme_keys; *k; k++) {
            const char *v = str1(sp, *k);
            if (v && strcasecmp(v, "http") == 0)
                add(c, r, sp, "attribute \"%s\" is \"%s\": use https", *k, v);
        }
        for (const char *const *k = url_keys; *k; k++) {
            const char *v = str1(sp, *k);
            if (v && strncasecmp(v, "http://", 7) == 0)
                add(c, r, sp, "attribute \"%s\" is an insecure http URL: %s", *k, v);
        }
    }
}

static const char *const secret_names[] = {
    "authorization", "proxy-authorization", "x-api-key",  "api-key",      "apikey", "api_key",
    "x-auth-token",  "access_token",        "auth_token", "access-token", NULL,
};
static const char *const secret_params[] = {
    "api_key", "apikey", "api-key", "x-api-key", "access_token", "auth_token", "token", "key", NULL,
};

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && strncasecmp(s, *list, n) == 0)
            return true;
    return false;
}

static bool value_nonempty(const tc_value *v)
{
    switch (v->type) {
    case TC_V_STRING:
    case TC_V_BYTES:
    case TC_V_ARRAY:
    case TC_V_KVLIST:
        return v->len > 0;
    case TC_V_EMPTY:
        return false;
    default:
        return true;
    }
}

/* The name of the first credential parameter in the query of url, or NULL
 * (its length in *n). */
static const char *secret_param(const char *url, size_t *n)
{
    const char *q = strchr(url, '?');
    if (!q)
        return NULL;
    for (const char *p = q + 1; *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && eq + 1 < end && in_list(p, (size_t)(eq - p), secret_params)) {
            *n = (size_t)(eq - p);
            return p;
        }
        p = amp ? amp + 1 : end;
    }
    return NULL;
}

static void rule_no_api_key_leak(lint_ctx *c, lint_rule_result *r)
{
    static const char *const url_keys[] = {"url.full", "http.url", "http.target", "url.query", NULL};
    EACH_SPAN(c, sp)
    {
        for (uint32_t k = 0; k < sp->n_attrs; k++) {
            const tc_attr *at = &sp->attrs[k];
            const char *last = at->key + at->key_len;
            while (last > at->key && last[-1] != '.')
                last--;
            size_t ll = (size_t)(at->key + at->key_len - last);
            if (ll >= 6 && ll <= 19 && in_list(last, ll, secret_names) && value_nonempty(&at->value))
                add(c, r, sp, "attribute \"%s\" carries a credential", at->key);
        }
        for (const char *const *k = url_keys; *k; k++) {
            const char *v = str1(sp, *k);
            if (!v)
                continue;
            char tmp[2048];
            if (strcmp(*k, "url.query") == 0) { /* the query alone, without '?' */
                snprintf(tmp, sizeof tmp, "?%s", v);
                v = tmp;
            }
            size_t n = 0;
            const char *p = secret_param(v, &n);
            if (p)
                add(c, r, sp, "the URL in \"%s\" carries a credential in its query (\"%.*s\")", *k, (int)n,
                    p);
        }
    }
}

/* ---- structure ---- */

size_t lint_statement_shape(const char *s, size_t n, char *out)
{
    size_t o = 0, cap = LINT_MAX_SHAPE - 1;
    bool space = false;
    for (size_t i = 0; i < n && o < cap;) {
        char ch = s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = o > 0;
            i++;
            continue;
        }
        if (space && o < cap)
            out[o++] = ' ';
        space = false;
        bool literal = false;
        if (ch == '\'' || ch == '"') {
            i++;
            while (i < n) {
                if (s[i] == ch && i + 1 < n && s[i + 1] == ch) { /* '' inside a string */
                    i += 2;
                    continue;
                }
                if (s[i] == '\\' && i + 1 < n) {
                    i += 2;
                    continue;
                }
                if (s[i++] == ch)
                    break;
            }
            literal = true;
        } else if (is_digit(ch) &&
                   (o == 0 ||
                    !((out[o - 1] >= 'a' && out[o - 1] <= 'z') || (out[o - 1] >= 'A' && out[o - 1] <= 'Z') ||
                      out[o - 1] == '_' || out[o - 1] == '$' || is_digit(out[o - 1])))) {
            while (i < n && (is_hex(s[i]) || s[i] == '.' || s[i] == 'x' || s[i] == 'X'))
                i++;
            literal = true;
        }
        if (literal) {
            /* "?, ?" (and "?,?") collapse into one ? */
            size_t b = o;
            while (b > 0 && out[b - 1] == ' ')
                b--;
            if (b > 0 && out[b - 1] == ',') {
                size_t q = b - 1;
                while (q > 0 && out[q - 1] == ' ')
                    q--;
                if (q > 0 && out[q - 1] == '?') {
                    o = q;
                    continue;
                }
            }
            out[o++] = '?';
            continue;
        }
        out[o++] = ch;
        i++;
    }
    out[o] = '\0';
    return o;
}

typedef struct shaped {
    uint64_t hash; /* of the shape; after grouping, the group's size */
    const trace_span *sp;
} shaped;

static int shaped_cmp(const void *a, const void *b)
{
    const shaped *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->sp->order < y->sp->order ? -1 : x->sp->order > y->sp->order;
}

static int by_span_order(const void *a, const void *b)
{
    const shaped *x = a, *y = b;
    return x->sp->order < y->sp->order ? -1 : x->sp->order > y->sp->order;
}

/* The statement a database span runs, or its name, as a shape. */
static size_t span_shape(const trace_span *sp, char *out)
{
    const char *st = str_any(sp, "db.query.text", "db.statement", NULL);
    if (!st)
        st = sp->name;
    return lint_statement_shape(st, strlen(st), out);
}

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void rule_n_plus_one(lint_ctx *c, lint_rule_result *r)
{
    shaped *v = NULL;
    size_t cap = 0;
    char shape[LINT_MAX_SHAPE];
    EACH_SPAN(c, p)
    {
        if (p->n_children < c->n_plus_one)
            continue;
        size_t n = 0;
        for (uint32_t k = 0; k < p->n_children; k++) {
            const trace_span *ch = p->children[k];
            if (strcmp(type_of(c, ch), "database") != 0)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                shaped *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    c->nomem = 1;
                    free(v);
                    return;
                }
                v = nv;
                cap = nc;
            }
            size_t len = span_shape(ch, shape);
            v[n++] = (shaped){fnv(shape, len), ch};
        }
        if (n < c->n_plus_one)
            continue;
        qsort(v, n, sizeof *v, shaped_cmp);
        /* each repeated shape becomes one entry {first span, count} at the
         * front of v, then the entries are reported in trace order */
        size_t groups = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && v[j].hash == v[i].hash)
                j++;
            if (j - i >= c->n_plus_one)
                v[groups++] = (shaped){j - i, v[i].sp};
            i = j;
        }
        qsort(v, groups, sizeof *v, by_span_order);
        for (size_t g = 0; g < groups; g++) {
            char id[17];
            hex_encode(v[g].sp->span_id, SPAN_ID_LEN, id);
            span_shape(v[g].sp, shape);
            add(c, r, p, "%llu database spans run \"%s\" under this span (first %s): an N+1 query",
                (unsigned long long)v[g].hash, shape, id);
        }
    }
    free(v);
}

static void rule_missing_parent(lint_ctx *c, lint_rule_result *r)
{
    if (!c->t->indexed)
        return;
    for (uint32_t i = 0; i < c->t->n_orphans; i++) {
        const trace_span *sp = c->t->orphans[i];
        char pid[17];
        hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
        if (trace_find_span(c->t, sp->parent_id))
            add(c, r, sp, "its parent %s is in the trace but the parent chain is a cycle", pid);
        else
            add(c, r, sp, "its parent %s is not in the trace", pid);
    }
}

/* The model keeps the later of two spans with one id (trace.h: dups): the
 * finding points at the kept one and names the other. */
static void rule_duplicate_span_id(lint_ctx *c, lint_rule_result *r)
{
    const trace *t = c->t;
    for (uint32_t i = 0; i < t->n_dups; i++) {
        const trace_span *gone = t->dups[i];
        const trace_span *kept = trace_find_span(t, gone->span_id);
        add(c, r, kept ? kept : gone, "another span has this id too (\"%s\"): only one of them can be read",
            gone->name);
    }
    if (t->n_dups_all > t->n_dups)
        add(c, r, NULL, "%u more spans share an id with another", t->n_dups_all - t->n_dups);
}

static bool has_exception_event(const trace_span *sp)
{
    for (uint32_t k = 0; k < sp->n_events; k++)
        if (strcmp(sp->events[k].name, "exception") == 0)
            return true;
    return false;
}

static void rule_error_without_exception(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        if (sp->status_code == TRACE_STATUS_ERROR && !has_exception_event(sp) &&
            !attr(sp, "exception.type") && !attr(sp, "exception.message"))
            add(c, r, sp, "status is error but the span records no exception event");
    }
}

static void rule_exception_without_error(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        if (sp->status_code != TRACE_STATUS_ERROR && has_exception_event(sp))
            add(c, r, sp, "records an exception event but its status is %s",
                trace_status_name(sp->status_code));
    }
}

static void rule_span_outlives_parent(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        const trace_span *p = sp->parent;
        if (!p || sp->kind == TRACE_KIND_PRODUCER || sp->kind == TRACE_KIND_CONSUMER ||
            p->kind == TRACE_KIND_PRODUCER || sp->end_ns <= p->end_ns + 1000 ||
            strcmp(trace_span_service(sp), trace_span_service(p)) != 0)
            continue;
        char d[32], id[17];
        fmt_ns(d, sizeof d, sp->end_ns - p->end_ns);
        hex_encode(p->span_id, SPAN_ID_LEN, id);
        add(c, r, sp, "ends %s after its parent \"%s\" (%s) of the same service", d, p->name, id);
    }
}

typedef struct skew_pair {
    const char *parent_svc, *child_svc;
    const trace_span *span; /* the child with the largest skew */
    uint64_t skew;
    uint32_t count;
} skew_pair;

#define SKEW_PAIRS 64

static void rule_clock_skew(lint_ctx *c, lint_rule_result *r)
{
    skew_pair pairs[SKEW_PAIRS];
    size_t n = 0;
    EACH_SPAN(c, sp)
    {
        const trace_span *p = sp->parent;
        if (!p)
            continue;
        bool rpc = p->kind == TRACE_KIND_CLIENT && sp->kind == TRACE_KIND_SERVER;
        bool msg = p->kind == TRACE_KIND_PRODUCER && sp->kind == TRACE_KIND_CONSUMER;
        if (!rpc && !msg)
            continue;
        const char *ps = trace_span_service(p), *cs = trace_span_service(sp);
        if (!*ps || !*cs || strcmp(ps, cs) == 0)
            continue;
        uint64_t skew = 0;
        /* a server (consumer) span cannot start before its client sent the
         * request; ending after the client's end is common without skew (a
         * server span ends after the response is flushed) and not checked */
        if (sp->start_ns + c->skew_ns < p->start_ns) {
            skew = p->start_ns - sp->start_ns;
        }
        if (!skew)
            continue;
        size_t k = 0;
        while (k < n && !(strcmp(pairs[k].parent_svc, ps) == 0 && strcmp(pairs[k].child_svc, cs) == 0))
            k++;
        if (k == n) {
            if (n == SKEW_PAIRS) { /* too many pairs to group: report the span alone */
                char d[32];
                fmt_ns(d, sizeof d, skew);
                add(c, r, sp, "%s's clock and %s's disagree by %s", cs, ps, d);
                continue;
            }
            pairs[n++] = (skew_pair){ps, cs, sp, skew, 0};
        }
        pairs[k].count++;
        if (skew > pairs[k].skew) {
            pairs[k].skew = skew;
            pairs[k].span = sp;
        }
    }
    for (size_t k = 0; k < n; k++) {
        char d[32];
        fmt_ns(d, sizeof d, pairs[k].skew);
        add(c, r, pairs[k].span,
            "clock skew between %s and %s: this %s span starts before its %s parent by %s (%u span%s "
            "affected)",
            pairs[k].parent_svc, pairs[k].child_svc, trace_kind_name(pairs[k].span->kind),
            pairs[k].span->kind == TRACE_KIND_SERVER ? "client" : "producer", d, pairs[k].count,
            pairs[k].count == 1 ? "" : "s");
    }
}

static bool is_trigger(const trace_span *sp)
{
    return strcmp(sp->name, "Tracetest trigger") == 0;
}

static void rule_server_root(lint_ctx *c, lint_rule_result *r)
{
    const trace *t = c->t;
    if (!t->indexed || t->n_spans == 0)
        return;
    if (t->n_roots == 0) {
        add(c, r, t->orphans && t->n_orphans ? t->orphans[0] : NULL,
            "the trace has no root span (every span names a parent)");
        return;
    }
    for (uint32_t i = 0; i < t->n_roots; i++) {
        const trace_span *root = t->roots[i];
        if (root->kind == TRACE_KIND_SERVER || root->kind == TRACE_KIND_CONSUMER)
            return;
        if (is_trigger(root))
            for (uint32_t k = 0; k < root->n_children; k++)
                if (root->children[k]->kind == TRACE_KIND_SERVER ||
                    root->children[k]->kind == TRACE_KIND_CONSUMER)
                    return;
    }
    const trace_span *first = t->roots[0];
    if (is_trigger(first) && first->n_children)
        first = first->children[0];
    const char *kn = trace_kind_name(first->kind);
    add(c, r, first, "the trace starts with %s %s span, not a server or consumer span", an(kn), kn);
}

static bool is_alnum(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* The first id-like token of a span name (its start and length), or NULL:
 * a UUID, a run of 16+ hex digits with a digit, a number of 3+ digits, or
 * a number that is a whole path segment (/users/7). */
static const char *id_in_name(const char *s, size_t *len)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        if (!is_alnum(s[i]) || (i > 0 && is_alnum(s[i - 1]))) {
            i++;
            continue;
        }
        /* UUID: 8-4-4-4-12 hex */
        static const int groups[] = {8, 4, 4, 4, 12};
        size_t j = i;
        int g = 0;
        for (; g < 5; g++) {
            size_t d = 0;
            while (j < n && is_hex(s[j]))
                j++, d++;
            if (d != (size_t)groups[g])
                break;
            if (g < 4) {
                if (j >= n || s[j] != '-')
                    break;
                j++;
            }
        }
        if (g == 5 && (j >= n || !is_alnum(s[j]))) {
            *len = j - i;
            return s + i;
        }
        size_t e = i;
        bool all_digit = true, all_hex = true, any_digit = false;
        while (e < n && is_alnum(s[e])) {
            all_digit = all_digit && is_digit(s[e]);
            all_hex = all_hex && is_hex(s[e]);
            any_digit = any_digit || is_digit(s[e]);
            e++;
        }
        size_t tl = e - i;
        bool segment = i > 0 && s[i - 1] == '/' && (e == n || s[e] == '/' || s[e] == '?');
        if ((all_digit && (tl >= 3 || segment)) || (all_hex && any_digit && tl >= 16)) {
            *len = tl;
            return s + i;
        }
        i = e;
    }
    return NULL;
}

static void rule_unbounded_span_name(lint_ctx *c, lint_rule_result *r)
{
    EACH_SPAN(c, sp)
    {
        size_t n = 0;
        const char *id = id_in_name(sp->name, &n);
        if (id)
            add(c, r, sp, "name \"%s\" holds an id (\"%.*s\"): use a template or route", sp->name, (int)n,
                id);
    }
}

/* ---- running ---- */

typedef void (*rule_fn)(lint_ctx *c, lint_rule_result *r);

static const struct {
    const char *id;
    rule_fn fn;
} rule_fns[] = {
    {"span-naming", rule_span_naming},
    {"required-attributes", rule_required_attributes},
    {"attribute-naming", rule_attribute_naming},
    {"no-empty-attributes", rule_no_empty_attributes},
    {"prefer-dns", rule_prefer_dns},
    {"secure-https-protocol", rule_secure_https},
    {"no-api-key-leak", rule_no_api_key_leak},
    {"n-plus-one", rule_n_plus_one},
    {"missing-parent", rule_missing_parent},
    {"duplicate-span-id", rule_duplicate_span_id},
    {"error-without-exception", rule_error_without_exception},
    {"exception-without-error", rule_exception_without_error},
    {"span-outlives-parent", rule_span_outlives_parent},
    {"clock-skew", rule_clock_skew},
    {"server-root", rule_server_root},
    {"unbounded-span-name", rule_unbounded_span_name},
};

static rule_fn fn_of(const char *id)
{
    for (size_t i = 0; i < N_OF(rule_fns); i++)
        if (strcmp(rule_fns[i].id, id) == 0)
            return rule_fns[i].fn;
    return NULL;
}

int lint_config_check(const lint_config *cfg, tc_error *e)
{
    if (!cfg)
        return 0;
    if (cfg->minimum_score < 0 || cfg->minimum_score > 100)
        return tc_error_set(e, TC_ERR_INPUT, "minimum score %d is not in 0..100", cfg->minimum_score);
    for (size_t i = 0; cfg->plugins && i < cfg->n_plugins; i++) {
        const lint_plugin_cfg *pc = &cfg->plugins[i];
        const lint_plugin_info *p = lint_plugin_find(pc->id);
        if (!p)
            return tc_error_set(
                e, TC_ERR_INPUT,
                "unknown analyzer plugin \"%s\" (expected standards, common, security or structure)",
                pc->id ? pc->id : "");
        for (size_t k = 0; pc->rules && k < pc->n_rules; k++) {
            if (!lint_rule_find(p, pc->rules[k].id))
                return tc_error_set(e, TC_ERR_INPUT, "plugin \"%s\" has no rule \"%s\"", p->id,
                                    pc->rules[k].id ? pc->rules[k].id : "");
            if (pc->rules[k].weight < 0)
                return tc_error_set(e, TC_ERR_INPUT, "rule \"%s\": negative weight", pc->rules[k].id);
        }
    }
    return 0;
}

static int run_plugin(lint_ctx *c, const lint_plugin_info *p, const lint_plugin_cfg *pc,
                      lint_plugin_result *out)
{
    size_t n = pc && pc->rules ? pc->n_rules : p->n_rules;
    out->info = p;
    out->required = pc && pc->required;
    out->rules = arena_calloc(c->a, n ? n : 1, sizeof *out->rules);
    if (!out->rules)
        return TC_ERR_NOMEM;
    out->n_rules = n;
    int total = 0, pass = 0;
    out->passed = true;
    for (size_t k = 0; k < n; k++) {
        lint_rule_result *rr = &out->rules[k];
        const lint_rule_info *ri = pc && pc->rules ? lint_rule_find(p, pc->rules[k].id) : &p->rules[k];
        rr->info = ri;
        rr->weight = pc && pc->rules ? pc->rules[k].weight : ri->weight;
        rr->level = pc && pc->rules ? pc->rules[k].level : ri->level;
        rr->passed = true;
        if (rr->level != LINT_DISABLED)
            fn_of(ri->id)(c, rr);
        if (c->nomem)
            return TC_ERR_NOMEM;
        if (rr->level == LINT_ERROR) {
            total += rr->weight;
            if (rr->passed)
                pass += rr->weight;
            else
                out->passed = false;
        }
    }
    out->score = total > 0 ? (int)((100LL * pass) / total) : 100;
    return 0;
}

static int run_all(lint_ctx *cp, const lint_config *cfg, arena *a, lint_result **out, tc_error *e);

int lint_run(const lint_config *cfg, const trace *t, arena *a, lint_result **out, tc_error *e)
{
    int rc = lint_config_check(cfg, e);
    if (rc)
        return rc;
    lint_ctx c = {cfg,
                  t,
                  a,
                  cfg && cfg->n_plus_one ? cfg->n_plus_one : LINT_DEFAULT_N_PLUS_ONE,
                  cfg && cfg->skew_ns ? cfg->skew_ns : LINT_DEFAULT_SKEW_NS,
                  0,
                  NULL};
    if (c.n_plus_one < 2)
        c.n_plus_one = 2;
    if (t->indexed && t->n_spans && (c.types = malloc(t->n_spans * sizeof *c.types)) != NULL)
        for (uint32_t i = 0; i < t->n_spans; i++)
            c.types[i] = spanattr_type(t->preorder[i]);
    rc = run_all(&c, cfg, a, out, e);
    free(c.types);
    return rc;
}

static int run_all(lint_ctx *cp, const lint_config *cfg, arena *a, lint_result **out, tc_error *e)
{
    lint_ctx c = *cp;
    const trace *t = c.t;
    lint_result *res = arena_calloc(a, 1, sizeof *res);
    size_t np = cfg && cfg->plugins ? cfg->n_plugins : N_OF(plugins);
    if (!res || !(res->plugins = arena_calloc(a, np ? np : 1, sizeof *res->plugins)))
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    res->minimum_score = cfg ? cfg->minimum_score : 0;
    res->n_spans = t->n_spans;
    res->rules_passed = true;
    int sum = 0;
    const char *required_failed = NULL;
    for (size_t i = 0; i < np; i++) {
        const lint_plugin_cfg *pc = cfg && cfg->plugins ? &cfg->plugins[i] : NULL;
        if (pc && !pc->enabled)
            continue;
        const lint_plugin_info *p = pc ? lint_plugin_find(pc->id) : &plugins[i];
        lint_plugin_result *pr = &res->plugins[res->n_plugins];
        if (run_plugin(&c, p, pc, pr))
            return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
        res->n_plugins++;
        sum += pr->score;
        if (!pr->passed) {
            res->rules_passed = false;
            if (pr->required && !required_failed)
                required_failed = p->id;
        }
    }
    res->score = res->n_plugins ? sum / (int)res->n_plugins : 100;
    res->passed = res->score >= res->minimum_score && !required_failed;
    if (res->score < res->minimum_score) {
        char m[128];
        snprintf(m, sizeof m, "analyzer score %d is under the minimum %d", res->score, res->minimum_score);
        res->why = arena_strdup(a, m);
    } else if (required_failed) {
        char m[128];
        snprintf(m, sizeof m, "a rule of the required analyzer plugin \"%s\" failed", required_failed);
        res->why = arena_strdup(a, m);
    }
    if (!res->passed && !res->why)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    *out = res;
    return 0;
}
