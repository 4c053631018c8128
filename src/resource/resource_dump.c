/* resource_dump.c - canonical text form of loaded resources (for tests and
 * `tracecheck` diagnostics), and ${NAME} substitution before parsing. */
#include "resource/resource.h"

#include <string.h>

static void ind(tc_buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_puts(b, "  ");
}

static void str_field(tc_buf *b, int depth, const char *label, res_str v)
{
    if (!v.s)
        return;
    ind(b, depth);
    buf_printf(b, "%s: ", label);
    buf_json_string(b, v.s, strlen(v.s));
    buf_putc(b, '\n');
}

static void bool_field(tc_buf *b, int depth, const char *label, res_bool v)
{
    if (!v.set)
        return;
    ind(b, depth);
    buf_printf(b, "%s: %s\n", label, v.v ? "true" : "false");
}

static void kv_list(tc_buf *b, int depth, const char *label, const res_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ind(b, depth);
        buf_printf(b, "%s: ", label);
        buf_json_string(b, kv[i].key.s ? kv[i].key.s : "", kv[i].key.s ? strlen(kv[i].key.s) : 0);
        buf_puts(b, " = ");
        buf_json_string(b, kv[i].value.s ? kv[i].value.s : "",
                        kv[i].value.s ? strlen(kv[i].value.s) : 0);
        buf_putc(b, '\n');
    }
}

static void auth(tc_buf *b, int depth, const res_auth *a)
{
    if (!a)
        return;
    ind(b, depth);
    buf_printf(b, "auth: %s\n", a->type.s ? a->type.s : "");
    str_field(b, depth + 1, "key", a->key);
    str_field(b, depth + 1, "value", a->value);
    str_field(b, depth + 1, "in", a->in);
    str_field(b, depth + 1, "username", a->username);
    str_field(b, depth + 1, "password", a->password);
    str_field(b, depth + 1, "token", a->token);
}

static void dump_node(tc_buf *b, int depth, const res_node *n)
{
    for (const res_node *c = n->first; c; c = c->next) {
        ind(b, depth);
        if (n->kind == RES_MAP)
            buf_printf(b, "%s:", c->key);
        else
            buf_putc(b, '-');
        if (c->kind == RES_SCALAR) {
            buf_putc(b, ' ');
            if (res_node_is_null(c))
                buf_puts(b, "null");
            else
                buf_json_string(b, c->str, c->len);
            buf_putc(b, '\n');
        } else {
            buf_puts(b, c->kind == RES_MAP ? " {}\n" : " []\n");
            dump_node(b, depth + 1, c);
        }
    }
}

static void trigger(tc_buf *b, const res_trigger *t)
{
    if (t->type == RES_TRIG_NONE)
        return;
    buf_printf(b, "  trigger: %s\n", res_trigger_type_name(t->type));
    str_field(b, 2, "url", t->http.url);
    str_field(b, 2, "method", t->http.method);
    kv_list(b, 2, "header", t->http.headers, t->http.n_headers);
    str_field(b, 2, "body", t->http.body);
    bool_field(b, 2, "sslVerification", t->http.ssl_verification);
    auth(b, 2, t->http.auth);
    str_field(b, 2, "protobufFile", t->grpc.protobuf_file);
    str_field(b, 2, "address", t->grpc.address);
    str_field(b, 2, "service", t->grpc.service);
    str_field(b, 2, "method", t->grpc.method);
    kv_list(b, 2, "metadata", t->grpc.metadata, t->grpc.n_metadata);
    str_field(b, 2, "request", t->grpc.request);
    auth(b, 2, t->grpc.auth);
    str_field(b, 2, "id", t->traceid.id);
    for (size_t i = 0; i < t->kafka.n_broker_urls; i++)
        str_field(b, 2, "brokerUrl", t->kafka.broker_urls[i]);
    str_field(b, 2, "topic", t->kafka.topic);
    kv_list(b, 2, "header", t->kafka.headers, t->kafka.n_headers);
    str_field(b, 2, "messageKey", t->kafka.message_key);
    str_field(b, 2, "messageValue", t->kafka.message_value);
    bool_field(b, 2, "sslVerification", t->kafka.ssl_verification);
    str_field(b, 2, "authentication", t->kafka.auth_type);
    str_field(b, 2, "username", t->kafka.auth_username);
    str_field(b, 2, "password", t->kafka.auth_password);
    str_field(b, 2, "url", t->graphql.url);
    kv_list(b, 2, "header", t->graphql.headers, t->graphql.n_headers);
    str_field(b, 2, "query", t->graphql.query);
    str_field(b, 2, "operationName", t->graphql.operation_name);
    kv_list(b, 2, "variable", t->graphql.variables, t->graphql.n_variables);
    str_field(b, 2, "schema", t->graphql.schema);
    bool_field(b, 2, "sslVerification", t->graphql.ssl_verification);
    auth(b, 2, t->graphql.auth);
    str_field(b, 2, "target", t->playwright_engine.target);
    str_field(b, 2, "script", t->playwright_engine.script);
    str_field(b, 2, "method", t->playwright_engine.method);
}

static void test(tc_buf *b, const res_test *t)
{
    str_field(b, 1, "id", t->id);
    str_field(b, 1, "name", t->name);
    str_field(b, 1, "description", t->description);
    trigger(b, &t->trigger);
    for (size_t i = 0; i < t->n_specs; i++) {
        const res_spec *s = &t->specs[i];
        buf_printf(b, "  spec %d:%d: ", s->line, s->col);
        buf_json_string(b, s->selector.s, strlen(s->selector.s));
        buf_putc(b, '\n');
        str_field(b, 2, "name", s->name);
        for (size_t k = 0; k < s->n_assertions; k++)
            str_field(b, 2, "assert", s->assertions[k]);
    }
    for (size_t i = 0; i < t->n_outputs; i++) {
        const res_output *o = &t->outputs[i];
        buf_puts(b, "  output: ");
        buf_json_string(b, o->name.s, strlen(o->name.s));
        buf_putc(b, '\n');
        str_field(b, 2, "selector", o->selector);
        str_field(b, 2, "value", o->value);
    }
    bool_field(b, 1, "skipTraceCollection", t->skip_trace_collection);
    str_field(b, 1, "pollingProfile", t->polling_profile);
}

int res_dump(const res_file *f, tc_buf *b)
{
    for (size_t i = 0; i < f->n_items; i++) {
        const res_resource *r = &f->items[i];
        buf_printf(b, "%s", res_kind_name(r->kind));
        if (strcmp(r->type, res_kind_name(r->kind)) != 0)
            buf_printf(b, " (%s)", r->type);
        buf_printf(b, " %d:%d\n", r->line, r->col);
        switch (r->kind) {
        case RES_TEST:
            test(b, r->u.test);
            break;
        case RES_TESTSUITE: {
            const res_suite *s = r->u.suite;
            str_field(b, 1, "id", s->id);
            str_field(b, 1, "name", s->name);
            str_field(b, 1, "description", s->description);
            for (size_t k = 0; k < s->n_steps; k++)
                str_field(b, 1, "step", s->steps[k]);
            kv_list(b, 1, "env", s->env, s->n_env);
            break;
        }
        case RES_VARSET: {
            const res_varset *v = r->u.varset;
            str_field(b, 1, "id", v->id);
            str_field(b, 1, "name", v->name);
            str_field(b, 1, "description", v->description);
            for (size_t k = 0; k < v->n_values; k++) {
                const res_var *x = &v->values[k];
                buf_puts(b, "  value: ");
                buf_json_string(b, x->key.s, strlen(x->key.s));
                buf_puts(b, " = ");
                buf_json_string(b, x->value.s, strlen(x->value.s));
                if (x->type.s)
                    buf_printf(b, " type=%s", x->type.s);
                if (x->secret.v)
                    buf_puts(b, " secret");
                buf_putc(b, '\n');
            }
            break;
        }
        case RES_POLLING: {
            const res_polling *p = r->u.polling;
            str_field(b, 1, "id", p->id);
            str_field(b, 1, "name", p->name);
            bool_field(b, 1, "default", p->is_default);
            buf_printf(b, "  strategy: %s\n", p->strategy.s);
            buf_printf(b, "  retryDelay: %s (%lldms)\n", p->retry_delay.s, p->retry_delay_ms);
            buf_printf(b, "  timeout: %s (%lldms)\n", p->timeout.s, p->timeout_ms);
            if (p->quiet_window.line)
                buf_printf(b, "  quietWindow: %s (%lldms)\n", p->quiet_window.s, p->quiet_window_ms);
            buf_printf(b, "  selectorMatchRetries: %lld\n", p->selector_match_retries);
            break;
        }
        case RES_DATASTORE: {
            const res_datastore *d = r->u.datastore;
            str_field(b, 1, "id", d->id);
            str_field(b, 1, "name", d->name);
            str_field(b, 1, "type", d->type);
            bool_field(b, 1, "default", d->is_default);
            if (d->block) {
                buf_printf(b, "  %s: {}\n", d->type.s);
                dump_node(b, 2, d->block);
            }
            break;
        }
        default:
            if (r->spec && r->spec->kind == RES_MAP)
                dump_node(b, 1, r->spec);
            break;
        }
    }
    for (size_t i = 0; i < f->n_warnings; i++)
        buf_printf(b, "warning %d:%d: %s\n", f->warnings[i].line, f->warnings[i].col,
                   f->warnings[i].msg);
    if (f->n_warnings_dropped)
        buf_printf(b, "warning: %zu more\n", f->n_warnings_dropped);
    return b->failed ? TC_ERR_LIMIT : 0;
}

/* ---- ${NAME} substitution ---- */

static int is_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static int is_ident(char ch)
{
    return is_start(ch) || (ch >= '0' && ch <= '9');
}

int res_subst_env(const char *text, size_t len, res_lookup_fn lookup, void *user, tc_buf *out,
                  tc_error *e)
{
    int line = 1, col = 1;
    size_t i = 0, plain = 0;
    char name[256];
    while (i < len) {
        if (text[i] == '$' && i + 2 < len && text[i + 1] == '{' && is_start(text[i + 2])) {
            size_t j = i + 2;
            while (j < len && is_ident(text[j]))
                j++;
            if (j < len && text[j] == '}' && j - (i + 2) < sizeof name) {
                size_t n = j - (i + 2);
                memcpy(name, text + i + 2, n);
                name[n] = '\0';
                const char *v = lookup(user, name);
                if (!v) {
                    tc_error_set(e, TC_ERR_INPUT, "environment variable \"%s\" is not set", name);
                    if (e) {
                        e->line = line;
                        e->col = col;
                    }
                    return TC_ERR_INPUT;
                }
                buf_append(out, text + plain, i - plain);
                buf_puts(out, v);
                col += (int)(j + 1 - i);
                i = j + 1;
                plain = i;
                if (out->failed || out->len > RES_MAX_FILE)
                    break;
                continue;
            }
        }
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
        }
        i++;
    }
    buf_append(out, text + plain, len - plain);
    if (out->failed || out->len > RES_MAX_FILE)
        return tc_error_set(e, TC_ERR_LIMIT, "file too large after substitution (limit %zu bytes)",
                            RES_MAX_FILE);
    return 0;
}
