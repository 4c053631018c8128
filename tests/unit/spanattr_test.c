/* spanattr_test.c - span attributes as specs see them, on spans built in
 * C: precedence of computed, resource, scope and span attributes; the
 * computed values' formats; event times as RFC 3339; the attribute list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/spanattr.h"
#include "core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tc_attr *attrs(arena *a, int n, ...)
{
    tc_attr *at = arena_calloc(a, (size_t)n, sizeof *at);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *), *v = va_arg(ap, const char *);
        at[i].key = k;
        at[i].key_len = (uint32_t)strlen(k);
        at[i].value = (tc_value){TC_V_STRING, (uint32_t)strlen(v), {.str = v}};
    }
    va_end(ap);
    return at;
}

typedef struct fixture {
    trace_set *ts;
    trace_span *sp;
    trace_resource res;
    trace_scope scope;
} fixture;

static void setup_span(fixture *f)
{
    f->ts = trace_set_new(0);
    arena *a = trace_set_arena(f->ts);
    f->sp = arena_calloc(a, 1, sizeof *f->sp);
    f->sp->trace_id[0] = 1;
    f->sp->span_id[7] = 2;
    f->sp->parent_id[7] = 1;
    f->sp->name = "GET /x";
    f->sp->status_message = "";
    f->sp->trace_state = "";
    f->sp->kind = TRACE_KIND_SERVER;
    f->sp->start_ns = 1700000000000000000ull;
    f->sp->end_ns = 1700000000025187564ull;
    f->res.attrs = attrs(a, 2, "service.name", "api", "host", "r");
    f->res.n_attrs = 2;
    f->scope.name = "lib";
    f->scope.version = "";
    f->scope.attrs = attrs(a, 2, "host", "s", "lib.attr", "s");
    f->scope.n_attrs = 2;
    f->sp->resource = &f->res;
    f->sp->scope = &f->scope;
}

static const char *get(fixture *f, const char *key)
{
    static char text[512];
    tc_value v;
    int rc = spanattr_get(trace_set_arena(f->ts), f->sp, key, strlen(key), &v);
    if (rc == 1)
        return "(absent)";
    assert_int_equal(rc, 0);
    tc_buf b;
    buf_init(&b, 0);
    value_to_text(&b, &v);
    snprintf(text, sizeof text, "%s", buf_str(&b));
    buf_free(&b);
    return text;
}

static void test_computed(void **state)
{
    (void)state;
    fixture f;
    setup_span(&f);
    f.sp->attrs =
        attrs(trace_set_arena(f.ts), 3, "http.method", "GET", "host", "span", "tracetest.span.name", "mine");
    f.sp->n_attrs = 3;
    assert_string_equal(get(&f, "name"), "GET /x");
    assert_string_equal(get(&f, "kind"), "server");
    assert_string_equal(get(&f, "tracetest.span.name"), "GET /x"); /* computed wins */
    assert_string_equal(get(&f, "tracetest.span.type"), "http");
    assert_string_equal(get(&f, "tracetest.span.duration"), "25187564");
    assert_string_equal(get(&f, "tracetest.span.start_time"), "1700000000000000000");
    assert_string_equal(get(&f, "tracetest.span.end_time"), "1700000000025187564");
    assert_string_equal(get(&f, "tracetest.span.parent_id"), "0000000000000001");
    assert_string_equal(get(&f, "tracetest.span.status_code"), "STATUS_CODE_UNSET");
    assert_string_equal(get(&f, "tracetest.span.status_description"), "(absent)");
    assert_string_equal(get(&f, "span.events"), "[]");
    assert_string_equal(get(&f, "host"), "r"); /* resource, then scope, then span */
    assert_string_equal(get(&f, "lib.attr"), "s");
    assert_string_equal(get(&f, "service.name"), "api");
    assert_string_equal(get(&f, "tracetest.span.nope"), "(absent)");
    assert_string_equal(get(&f, "nope"), "(absent)");
    trace_set_free(&f.ts);
}

static void test_status_kind_duration(void **state)
{
    (void)state;
    fixture f;
    setup_span(&f);
    f.sp->status_code = TRACE_STATUS_ERROR;
    f.sp->status_message = "boom";
    f.sp->kind = TRACE_KIND_UNSPECIFIED;
    f.sp->end_ns = f.sp->start_ns - 1; /* clock skew: no negative duration */
    memset(f.sp->parent_id, 0, sizeof f.sp->parent_id);
    f.res.n_attrs = 0; /* no service.name: Tracetest names the service after the scope */
    assert_string_equal(get(&f, "tracetest.span.status_code"), "STATUS_CODE_ERROR");
    assert_string_equal(get(&f, "tracetest.span.status_description"), "boom");
    assert_string_equal(get(&f, "kind"), "unespecified");
    assert_string_equal(get(&f, "tracetest.span.duration"), "0");
    assert_string_equal(get(&f, "tracetest.span.parent_id"), "0000000000000000");
    assert_string_equal(get(&f, "service.name"), "lib");
    assert_string_equal(get(&f, "tracetest.span.type"), "general");
    trace_set_free(&f.ts);
}

static const char *type_of(const char *key, const char *name)
{
    fixture f;
    setup_span(&f);
    f.sp->name = name;
    f.sp->attrs = attrs(trace_set_arena(f.ts), 2, "db.system", "pg", key, "x");
    f.sp->n_attrs = 2;
    static char t[32];
    snprintf(t, sizeof t, "%s", spanattr_type(f.sp));
    trace_set_free(&f.ts);
    return t;
}

static void test_type(void **state)
{
    (void)state;
    assert_string_equal(type_of("other", "q"), "database");
    assert_string_equal(type_of("http.method", "q"), "http"); /* http before db */
    assert_string_equal(type_of("url.full", "q"), "http");
    assert_string_equal(type_of("rpc.system", "q"), "database");
    assert_string_equal(type_of("server.address", "q"), "database"); /* db.* first */
    assert_string_equal(type_of("server.address", "documentLoad"), "general");
    assert_string_equal(type_of("event_type", "q"), "general"); /* a browser span */
    assert_string_equal(type_of("other", "documentLoad"), "general");
    fixture f;
    setup_span(&f);
    f.sp->attrs = attrs(trace_set_arena(f.ts), 1, "server.address", "x");
    f.sp->n_attrs = 1;
    assert_string_equal(spanattr_type(f.sp), "http"); /* ours */
    trace_set_free(&f.ts);
}

static void test_events(void **state)
{
    (void)state;
    fixture f;
    setup_span(&f);
    arena *a = trace_set_arena(f.ts);
    static const uint64_t times[] = {0, 1, 951782400000000000ull, 4102444799500000000ull,
                                     1700000000040000000ull};
    f.sp->events = arena_calloc(a, 5, sizeof *f.sp->events);
    f.sp->n_events = 5;
    for (int i = 0; i < 5; i++) {
        f.sp->events[i].name = i ? "e" : "say \"hi\"";
        f.sp->events[i].time_ns = times[i];
    }
    f.sp->events[4].attrs = attrs(a, 4, "k", "v\n", "b", "1", "k2", "x", "b", "2");
    f.sp->events[4].n_attrs = 4;
    assert_string_equal(
        get(&f, "span.events"),
        "[{\"name\":\"say \\\"hi\\\"\",\"timestamp\":\"0001-01-01T00:00:00Z\",\"attributes\":{}},"
        "{\"name\":\"e\",\"timestamp\":\"1970-01-01T00:00:00.000000001Z\",\"attributes\":{}},"
        "{\"name\":\"e\",\"timestamp\":\"2000-02-29T00:00:00Z\",\"attributes\":{}},"
        "{\"name\":\"e\",\"timestamp\":\"2099-12-31T23:59:59.5Z\",\"attributes\":{}},"
        "{\"name\":\"e\",\"timestamp\":\"2023-11-14T22:13:20.04Z\",\"attributes\":{\"b\":\"2\",\"k\":"
        "\"v\\n\",\"k2\":\"x\"}}]");
    trace_set_free(&f.ts);
}

typedef struct seen {
    char keys[64][48];
    char vals[64][48];
    int n;
} seen;

static void collect(void *user, const char *key, const tc_value *v)
{
    seen *s = user;
    assert_true(s->n < 64);
    snprintf(s->keys[s->n], 48, "%s", key);
    snprintf(s->vals[s->n], 48, "%s", v->type == TC_V_STRING ? v->u.str : "?");
    s->n++;
}

static const char *val(seen *s, const char *key)
{
    const char *found = NULL;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) {
            assert_null(found); /* each name once */
            found = s->vals[i];
        }
    return found ? found : "(absent)";
}

static void test_each(void **state)
{
    (void)state;
    fixture f;
    setup_span(&f);
    f.sp->attrs =
        attrs(trace_set_arena(f.ts), 4, "a", "1", "host", "span", "a", "2", "tracetest.span.type", "x");
    f.sp->n_attrs = 4;
    seen s = {0};
    assert_int_equal(spanattr_each(trace_set_arena(f.ts), f.sp, collect, &s), 0);
    assert_string_equal(val(&s, "a"), "2"); /* a repeated key: the last wins */
    assert_string_equal(val(&s, "host"), "r");
    assert_string_equal(val(&s, "lib.attr"), "s");
    assert_string_equal(val(&s, "service.name"), "api");
    assert_string_equal(val(&s, "tracetest.span.type"), "general");
    assert_string_equal(val(&s, "tracetest.span.name"), "GET /x");
    f.res.n_attrs = 0;
    f.sp->ext = NULL;
    s.n = 0;
    assert_int_equal(spanattr_each(trace_set_arena(f.ts), f.sp, collect, &s), 0);
    assert_string_equal(val(&s, "service.name"), "lib");
    assert_string_equal(val(&s, "host"), "s");
    trace_set_free(&f.ts);
}

/* Lookups through a filled key table give what lookups without one give:
 * random spans over shared resources and scopes, keys repeated within a
 * group and across groups (resource > scope > span), computed keys, the
 * name/kind/service.name fallbacks, a span with more attributes than a row
 * records, and spans the table never saw. */
static void test_table_agrees(void **state)
{
    (void)state;
    static const char *const pool[] = {"a", "b", "service.name", "db.system", "http.method", "x.y.z", "name",
                                       "kind", "", "long.key.of.some.length", "url.full", "rpc.service",
                                       "messaging.system", "faas.trigger", "exception.type", "server.address",
                                       "event_type", "ht", "db", "serverless"};
    enum { NP = sizeof pool / sizeof pool[0] };
    static const char *const extra[] = {"tracetest.span.type", "tracetest.span.duration", "missing",
                                        "tracetest.span.name", "tracetest.span.kind", "tracetest.span.status_code",
                                        "tracetest.span.status_description"};
    enum { NX = sizeof extra / sizeof extra[0] };
    srand(4242);
    unsigned n_shared = 0;
    for (int round = 0; round < 40; round++) {
        trace_set *ts = trace_set_new(0);
        arena *a = trace_set_arena(ts);
        trace_resource *res[3];
        trace_scope *sc[3];
        for (int g = 0; g < 3; g++) {
            res[g] = arena_calloc(a, 1, sizeof *res[g]);
            sc[g] = arena_calloc(a, 1, sizeof *sc[g]);
            sc[g]->name = g == 1 ? "" : "scope-lib";
            sc[g]->version = "";
            for (int which = 0; which < 2; which++) {
                uint32_t n = (uint32_t)(rand() % 4);
                tc_attr *at = arena_calloc(a, n ? n : 1, sizeof *at);
                for (uint32_t i = 0; i < n; i++) {
                    at[i].key = pool[rand() % NP];
                    at[i].key_len = (uint32_t)strlen(at[i].key);
                    at[i].value = (tc_value){TC_V_INT, 0, {.i = rand() % 100}};
                }
                if (which == 0) {
                    res[g]->attrs = at;
                    res[g]->n_attrs = n;
                } else {
                    sc[g]->attrs = at;
                    sc[g]->n_attrs = n;
                }
            }
        }
        uint32_t n_spans = 1 + (uint32_t)(rand() % 30);
        for (uint32_t i = 0; i < n_spans; i++) {
            trace_span *sp = arena_calloc(a, 1, sizeof *sp);
            sp->trace_id[0] = 9;
            sp->span_id[7] = (uint8_t)(i + 1);
            sp->parent_id[7] = (uint8_t)(i ? 1 + rand() % i : 0);
            sp->name = rand() % 7 ? "op" : "documentLoad";
            sp->status_message = rand() % 3 ? "" : "boom";
            sp->status_code = (uint8_t)(rand() % 3);
            sp->kind = (uint8_t)(rand() % 6);
            sp->trace_state = "";
            sp->start_ns = 1000;
            sp->end_ns = 5000 + i;
            uint32_t n = i == 3 ? 0x4000 : (uint32_t)(rand() % 8); /* span 3: too many to record */
            sp->attrs = arena_calloc(a, n ? n : 1, sizeof *sp->attrs);
            for (uint32_t k = 0; k < n; k++) {
                const char *key = k < 8 || k == n - 1 ? pool[rand() % NP] : "filler";
                if (rand() % 4 == 0) /* the same text at another address */
                    key = arena_strdup(a, key);
                sp->attrs[k].key = key;
                sp->attrs[k].key_len = (uint32_t)strlen(key);
                sp->attrs[k].value = (tc_value){TC_V_INT, 0, {.i = 1000 + k}};
            }
            sp->n_attrs = n;
            int g = rand() % 3;
            assert_int_equal(trace_set_add_span(ts, sp, NULL), 0);
            sp->resource = res[g];
            sp->scope = sc[rand() % 3];
        }
        assert_int_equal(trace_set_index(ts), 0);
        trace *t = trace_set_at(ts, 0);
        spanattr_key keys[NP + NX];
        spanattr_table *tb = spanattr_table_new();
        for (int k = 0; k < NP + NX; k++) {
            const char *name = k < NP ? pool[k] : extra[k - NP];
            spanattr_key_init(&keys[k], name, strlen(name));
            assert_int_equal(spanattr_table_add(tb, &keys[k]), 0);
        }
        assert_int_equal(spanattr_table_begin(tb, t), 0);
        spanattr_filler *f = round % 4 == 1 ? spanattr_filler_new() : NULL; /* a thread's own */
        for (uint32_t i = 0; i < t->n_spans; i++) /* half the spans recorded */
            if (round % 2 == 0 || i % 2 == 0) {
                if (f)
                    spanattr_table_fill_span_by(tb, f, t->spans[i]);
                else
                    spanattr_table_fill_span(tb, t->spans[i]);
            }
        spanattr_filler_free(&f);
        arena *scratch = arena_new(0);
        for (uint32_t i = 0; i < t->n_spans; i++) {
            const trace_span *sp = t->spans[i];
            for (int k = 0; k < NP + NX; k++) {
                tc_value want, got, ro;
                void *ext = sp->ext;
                int rr = spanattr_get_key_ro(scratch, sp, &keys[k], tb, &ro); /* before anything is cached */
                assert_ptr_equal(sp->ext, ext);
                int rw = spanattr_get(a, sp, keys[k].key, keys[k].n, &want);
                if (rr != rw || (rw == 0 && !value_equal(&want, &ro)))
                    fail_msg("round %d span %u key \"%s\": the read-only lookup differs", round, i, keys[k].key);
                const void *shared = spanattr_table_shared(tb, sp, &keys[k]);
                if (shared) { /* it stands for the value */
                    bool same = rw == 0 && (keys[k].computed >= 0 ? strcmp(shared, want.u.str) == 0
                                                                   : value_equal(&((const tc_attr *)shared)->value, &want));
                    if (!same)
                        fail_msg("round %d span %u key \"%s\": the shared address is another value", round, i,
                                 keys[k].key);
                    n_shared++;
                }
                int rg = spanattr_get_key_in(a, sp, &keys[k], tb, &got);
                if (rw != rg)
                    fail_msg("round %d span %u key \"%s\": %d, want %d", round, i, keys[k].key, rg, rw);
                if (rw == 0 && !value_equal(&want, &got))
                    fail_msg("round %d span %u key \"%s\": another value", round, i, keys[k].key);
            }
        }
        arena_free(&scratch);
        spanattr_table_free(&tb);
        trace_set_free(&ts);
    }
    assert_true(n_shared > 100); /* resources', scopes' and types' values were seen */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_computed), cmocka_unit_test(test_status_kind_duration),
        cmocka_unit_test(test_type),     cmocka_unit_test(test_events),
        cmocka_unit_test(test_each),     cmocka_unit_test(test_table_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
