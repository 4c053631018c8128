/* generate_test.c - test generation from traces built in the test: every
 * generated test passes on its own trace (evaluated with the real
 * evaluator) and fails on a broken copy; selectors pick exactly their spans
 * (with an ancestor step or a position when filters cannot); semantic
 * conventions old and new; triggers; duration bounds; the YAML loads back
 * unchanged whatever the texts hold; limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "core/generate.h"
#include "core/sel.h"
#include "core/spec.h"
#include "resource/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TID "5b8efff798038103d269b633813fc60c"

typedef struct fixture {
    trace_set *ts;
    trace *t;
    arena *a;
    gen_test g;
} fixture;

/* One span of OTLP JSON: id, parent ("" none), name, kind, start and
 * duration in microseconds, status (0 unset, 2 error), attributes JSON. */
static void span_json(char *out, size_t cap, const char *id, const char *parent, const char *name, int kind,
                      long start_us, long dur_us, int status, const char *attrs)
{
    snprintf(out, cap,
             "{\"traceId\":\"" TID "\",\"spanId\":\"%s\"%s%s%s,\"name\":\"%s\",\"kind\":%d,"
             "\"startTimeUnixNano\":\"%ld000\",\"endTimeUnixNano\":\"%ld000\",\"status\":{\"code\":%d%s},"
             "\"attributes\":[%s]}",
             id, *parent ? ",\"parentSpanId\":\"" : "", parent, *parent ? "\"" : "", name, kind,
             1700000000000000L + start_us, 1700000000000000L + start_us + dur_us, status,
             status == 2 ? ",\"message\":\"boom\"" : "", attrs);
}

static char *doc_json(const char *service, const char *const *spans, int n)
{
    size_t cap = 1 << 16;
    char *d = malloc(cap);
    size_t len =
        (size_t)snprintf(d, cap,
                         "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                         "\"value\":{\"stringValue\":\"%s\"}}]},\"scopeSpans\":[{\"spans\":[",
                         service);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s%s", i ? "," : "", spans[i]);
    snprintf(d + len, cap - len, "]}]}]}");
    return d;
}

#define S(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define I(k, v) "{\"key\":\"" k "\",\"value\":{\"intValue\":\"" #v "\"}}"

static void load(fixture *f, const char *json)
{
    memset(f, 0, sizeof *f);
    f->ts = trace_set_new(0);
    f->a = arena_new(0);
    tc_error e;
    assert_int_equal(otlp_json_decode(f->ts, json, strlen(json), &e), 0);
    assert_int_equal(trace_set_index(f->ts), 0);
    f->t = trace_set_at(f->ts, 0);
}

static void gen(fixture *f, const gen_opts *o)
{
    tc_error e;
    assert_int_equal(gen_generate(f->ts, f->t, o, f->a, &f->g, &e), 0);
}

static void done(fixture *f)
{
    arena_free(&f->a);
    trace_set_free(&f->ts);
}

/* Evaluates every generated spec on trace t of ts. */
static bool passes_on(const gen_test *g, trace_set *ts, trace *t)
{
    spec_def *defs = calloc(g->n_specs + 1, sizeof *defs);
    for (uint32_t i = 0; i < g->n_specs; i++) {
        defs[i].name = g->specs[i].name;
        defs[i].selector = g->specs[i].selector;
        defs[i].assertions = g->specs[i].assertions;
        defs[i].n_assertions = g->specs[i].n_assertions;
    }
    spec_env env;
    memset(&env, 0, sizeof env);
    arena *a = arena_new(0);
    spec_run run;
    assert_int_equal(spec_evaluate(ts, t, defs, g->n_specs, NULL, 0, &env, a, &run), 0);
    bool ok = run.passed;
    arena_free(&a);
    free(defs);
    return ok;
}

/* The spans the selector picks. */
static uint32_t picks(fixture *f, const char *selector, const char *only_name)
{
    sel_query *q = NULL;
    tc_error e;
    assert_int_equal(sel_parse(selector, strlen(selector), &q, &e), 0);
    arena *a = arena_new(0);
    trace_span **spans;
    uint32_t n;
    assert_int_equal(sel_match(q, f->ts, f->t, a, &spans, &n), 0);
    for (uint32_t i = 0; only_name && i < n; i++)
        assert_string_equal(spans[i]->name, only_name);
    arena_free(&a);
    sel_free(&q);
    return n;
}

static const gen_spec *spec_named(const gen_test *g, const char *prefix)
{
    for (uint32_t i = 0; i < g->n_specs; i++)
        if (strncmp(g->specs[i].name, prefix, strlen(prefix)) == 0)
            return &g->specs[i];
    return NULL;
}

static bool has_assertion(const gen_spec *s, const char *a)
{
    for (uint32_t i = 0; s && i < s->n_assertions; i++)
        if (strcmp(s->assertions[i], a) == 0)
            return true;
    return false;
}

/* A shop: server entry (new conventions), a DB insert, an HTTP call
 * (old conventions) with its own DB statement, a publish, an internal
 * error, and an internal span that does not matter. */
static char *shop_json(int entry_status, bool drop_db)
{
    static char sp[8][2048];
    span_json(sp[0], sizeof sp[0], "a000000000000001", "", "POST /orders", 2, 0, 100000, 0,
              S("http.request.method", "POST") "," I("http.response.status_code", 201) "," S(
                  "http.route", "/orders") "," S("url.scheme",
                                                 "http") "," S("server.address",
                                                               "shop.local") "," I("server.port",
                                                                                   8080) "," S("url.path",
                                                                                               "/orders"));
    if (entry_status != 201) {
        char attrs[512];
        snprintf(attrs, sizeof attrs,
                 S("http.request.method", "POST") ",{\"key\":\"http.response.status_code\",\"value\":{"
                                                  "\"intValue\":\"%d\"}}," S("http.route", "/orders"),
                 entry_status);
        span_json(sp[0], sizeof sp[0], "a000000000000001", "", "POST /orders", 2, 0, 100000, 0, attrs);
    }
    span_json(sp[1], sizeof sp[1], "a000000000000002", "a000000000000001", "INSERT orders", 3, 1000, 4000, 0,
              S("db.system.name", "postgresql") "," S("db.query.text", "INSERT INTO orders VALUES ($1)"));
    span_json(sp[2], sizeof sp[2], "a000000000000003", "a000000000000001", "GET", 3, 6000, 30000, 0,
              S("http.method", "GET") "," I("http.status_code", 200) "," S("http.url",
                                                                           "http://prices:9000/prices?x=1"));
    span_json(sp[3], sizeof sp[3], "a000000000000004", "a000000000000001", "orders publish", 4, 40000, 2000,
              0,
              S("messaging.system", "kafka") "," S("messaging.destination.name",
                                                   "orders") "," S("messaging.operation.type", "publish"));
    span_json(sp[4], sizeof sp[4], "a000000000000005", "a000000000000001", "validate", 1, 50000, 100, 2, "");
    span_json(sp[5], sizeof sp[5], "a000000000000006", "a000000000000001", "render", 1, 60000, 100, 0, "");
    span_json(sp[6], sizeof sp[6], "a000000000000007", "a000000000000003", "SELECT prices", 3, 7000, 900, 0,
              S("db.system", "mysql") "," S("db.statement", "SELECT price FROM prices WHERE sku = ?"));
    const char *list[8];
    int n = 0;
    for (int i = 0; i < 7; i++)
        if (!(drop_db && i == 1))
            list[n++] = sp[i];
    return doc_json("shop", list, n);
}

static void test_shop(void **state)
{
    (void)state;
    fixture f;
    char *json = shop_json(201, false);
    load(&f, json);
    gen(&f, NULL);
    /* entry, insert, call, its select, publish, error; not "render"; the
     * count of errors */
    assert_int_equal(f.g.n_specs, 7);
    assert_int_equal(f.g.n_notes, 0);
    for (uint32_t i = 0; i < f.g.n_specs; i++)
        assert_int_equal(picks(&f, f.g.specs[i].selector, NULL), 1);
    assert_null(spec_named(&f.g, "Error: shop render"));
    assert_true(has_assertion(spec_named(&f.g, "Spans with an error status: 1"),
                              "attr:tracetest.selected_spans.count = 1"));
    const gen_spec *s = spec_named(&f.g, "Entry span: shop POST /orders");
    assert_non_null(s);
    assert_true(has_assertion(s, "attr:tracetest.selected_spans.count = 1"));
    assert_true(has_assertion(s, "attr:http.request.method = \"POST\""));
    assert_true(has_assertion(s, "attr:http.response.status_code = 201"));
    assert_true(has_assertion(s, "attr:http.route = \"/orders\""));
    assert_true(has_assertion(s, "attr:tracetest.span.status_code != \"STATUS_CODE_ERROR\""));
    assert_true(has_assertion(s, "attr:tracetest.span.duration < 200ms"));
    s = spec_named(&f.g, "Database statement: shop INSERT orders");
    assert_true(has_assertion(s, "attr:db.system.name = \"postgresql\""));
    assert_true(has_assertion(s, "attr:db.query.text = \"INSERT INTO orders VALUES ($1)\""));
    assert_true(has_assertion(s, "attr:tracetest.span.duration < 8ms"));
    s = spec_named(&f.g, "Database statement: shop SELECT prices");
    assert_true(has_assertion(s, "attr:db.system = \"mysql\""));
    assert_true(has_assertion(s, "attr:db.statement = \"SELECT price FROM prices WHERE sku = ?\""));
    assert_true(has_assertion(s, "attr:tracetest.span.duration < 1.8ms"));
    s = spec_named(&f.g, "Outgoing call: shop GET /prices");
    assert_true(has_assertion(s, "attr:http.method = \"GET\""));
    assert_true(has_assertion(s, "attr:http.status_code = 200"));
    s = spec_named(&f.g, "Message published: shop orders publish");
    assert_true(has_assertion(s, "attr:messaging.destination.name = \"orders\""));
    assert_true(has_assertion(s, "attr:messaging.system = \"kafka\""));
    s = spec_named(&f.g, "Error: shop validate");
    assert_true(has_assertion(s, "attr:tracetest.span.status_code = \"STATUS_CODE_ERROR\""));
    assert_true(has_assertion(s, "attr:tracetest.span.status_description = \"boom\""));
    /* the trigger: from the entry span's new-convention attributes */
    assert_int_equal(f.g.trigger.type, GEN_TRIG_HTTP);
    assert_string_equal(f.g.trigger.method, "POST");
    assert_string_equal(f.g.trigger.url, "http://shop.local:8080/orders");
    assert_string_equal(f.g.trigger.trace_id, TID);
    assert_true(passes_on(&f.g, f.ts, f.t));

    /* the same test fails when the status changes or the insert is missing */
    fixture b;
    char *j2 = shop_json(500, false);
    load(&b, j2);
    assert_false(passes_on(&f.g, b.ts, b.t));
    done(&b);
    free(j2);
    j2 = shop_json(201, true);
    load(&b, j2);
    assert_false(passes_on(&f.g, b.ts, b.t));
    done(&b);
    free(j2);
    done(&f);
    free(json);
}

static void test_options(void **state)
{
    (void)state;
    fixture f;
    char *json = shop_json(201, false);
    load(&f, json);
    gen_opts o;
    memset(&o, 0, sizeof o);
    o.test_name = "Create an order";
    o.test_id = "create-order";
    o.headroom = 3;
    o.trigger = GEN_TRIGGER_TRACEID;
    o.max_specs = 2;
    gen(&f, &o);
    assert_string_equal(f.g.name, "Create an order");
    assert_string_equal(f.g.id, "create-order");
    assert_int_equal(f.g.trigger.type, GEN_TRIG_TRACEID);
    assert_int_equal(f.g.n_specs, 3); /* and the count of errors */
    assert_int_equal(f.g.n_notes, 1); /* the groups left out */
    assert_non_null(strstr(f.g.notes[0], "4 more spans"));
    assert_true(has_assertion(&f.g.specs[0], "attr:tracetest.span.duration < 300ms"));
    assert_true(passes_on(&f.g, f.ts, f.t));
    done(&f);
    free(json);

    double h;
    assert_int_equal(gen_parse_headroom("2x", &h), 0);
    assert_true(h == 2);
    assert_int_equal(gen_parse_headroom("1.5", &h), 0);
    assert_true(h == 1.5);
    assert_int_equal(gen_parse_headroom("3X", &h), 0);
    assert_int_not_equal(gen_parse_headroom("0.5x", &h), 0);
    assert_int_not_equal(gen_parse_headroom("x", &h), 0);
    assert_int_not_equal(gen_parse_headroom("2xx", &h), 0);
    assert_int_not_equal(gen_parse_headroom("", &h), 0);
}

/* Identical spans make one spec with their count; statements that differ
 * in their literals too, with `contains` their common start. */
static void test_repetition(void **state)
{
    (void)state;
    static char sp[6][1024];
    span_json(sp[0], sizeof sp[0], "b000000000000001", "", "GET /cart", 2, 0, 5000, 0,
              S("http.request.method", "GET"));
    for (int i = 1; i <= 3; i++) {
        char id[17], attrs[256];
        snprintf(id, sizeof id, "b00000000000000%d", i + 1);
        snprintf(attrs, sizeof attrs,
                 S("db.system", "postgresql") ",{\"key\":\"db.statement\",\"value\":{\"stringValue\":"
                                              "\"SELECT * FROM items WHERE id = %d\"}}",
                 i);
        span_json(sp[i], sizeof sp[i], id, "b000000000000001", "SELECT items", 3, 100 * i, 50 * i, 0, attrs);
    }
    span_json(sp[4], sizeof sp[4], "b000000000000005", "b000000000000001", "GET", 3, 900, 100, 0,
              S("http.request.method", "GET") "," S("url.full", "http://a/x"));
    span_json(sp[5], sizeof sp[5], "b000000000000006", "b000000000000001", "GET", 3, 1000, 100, 0,
              S("http.request.method", "GET") "," S("url.full", "http://a/x"));
    const char *list[] = {sp[0], sp[1], sp[2], sp[3], sp[4], sp[5]};
    char *json = doc_json("cart", list, 6);
    fixture f;
    load(&f, json);
    gen(&f, NULL);
    assert_int_equal(f.g.n_specs, 4);
    assert_true(has_assertion(spec_named(&f.g, "No span has an error status"),
                              "attr:tracetest.selected_spans.count = 0"));
    const gen_spec *s = spec_named(&f.g, "Database statement: cart SELECT items (3 spans)");
    assert_non_null(s);
    assert_int_equal(s->n_spans, 3);
    assert_int_equal(picks(&f, s->selector, "SELECT items"), 3);
    assert_true(has_assertion(s, "attr:tracetest.selected_spans.count = 3"));
    assert_true(has_assertion(s, "attr:db.statement contains \"SELECT * FROM items WHERE id =\""));
    assert_true(has_assertion(s, "attr:tracetest.span.duration < 1ms")); /* at least 1ms */
    s = spec_named(&f.g, "Outgoing call: cart GET /x (2 spans)");
    assert_non_null(s);
    assert_true(has_assertion(s, "attr:tracetest.selected_spans.count = 2"));
    assert_true(passes_on(&f.g, f.ts, f.t));
    done(&f);
    free(json);
}

/* Filters cannot tell two calls apart (an attribute the selector does not
 * use differs): an ancestor step does. A nested copy of the entry span:
 * its position does. */
static void test_ancestor_and_position(void **state)
{
    (void)state;
    static char sp[7][1024];
    span_json(sp[0], sizeof sp[0], "c000000000000001", "", "GET /a", 2, 0, 9000, 0, "");
    span_json(sp[1], sizeof sp[1], "c000000000000002", "c000000000000001", "checkout", 1, 10, 4000, 0, "");
    span_json(sp[2], sizeof sp[2], "c000000000000003", "c000000000000001", "refund", 1, 5000, 3000, 0, "");
    span_json(sp[3], sizeof sp[3], "c000000000000004", "c000000000000002", "send", 4, 20, 100, 0,
              S("messaging.system", "kafka"));
    span_json(sp[4], sizeof sp[4], "c000000000000005", "c000000000000003", "send", 4, 5010, 100, 0,
              S("messaging.system", "rabbitmq"));
    span_json(sp[5], sizeof sp[5], "c000000000000006", "c000000000000003", "GET /a", 2, 6000, 100, 0, "");
    const char *list[] = {sp[0], sp[1], sp[2], sp[3], sp[4], sp[5]};
    char *json = doc_json("svc", list, 6);
    fixture f;
    load(&f, json);
    gen(&f, NULL);
    assert_int_equal(f.g.n_specs, 4);
    const gen_spec *entry = spec_named(&f.g, "Entry span");
    assert_non_null(entry);
    assert_non_null(strstr(entry->selector, ":nth_child(1)"));
    assert_int_equal(picks(&f, entry->selector, "GET /a"), 1);
    int with_ancestor = 0;
    for (uint32_t i = 0; i < f.g.n_specs; i++) {
        if (strncmp(f.g.specs[i].name, "Message published", 17) != 0)
            continue;
        assert_int_equal(picks(&f, f.g.specs[i].selector, "send"), 1);
        if (strstr(f.g.specs[i].selector, "] span["))
            with_ancestor++;
    }
    assert_int_equal(with_ancestor, 2);
    /* the second of two specs with one name is told apart */
    assert_non_null(spec_named(&f.g, "Message published: svc send (2)"));
    assert_true(passes_on(&f.g, f.ts, f.t));
    done(&f);
    free(json);
}

/* Texts that need quoting: quotes in a statement (single-quoted literal),
 * both quotes (the assertion is left out), a long statement (contains its
 * start), ${...} (left out: it would be interpolated), and the YAML of
 * names full of YAML syntax loads back unchanged. */
static void test_texts(void **state)
{
    (void)state;
    static char sp[5][2048];
    char longsql[600];
    memset(longsql, 'x', sizeof longsql);
    memcpy(longsql, "SELECT ", 7);
    longsql[sizeof longsql - 1] = 0;
    char attrs[1024];
    span_json(sp[0], sizeof sp[0], "d000000000000001", "", "a: b #c ${HOME} \\\"q\\\" 'x'", 2, 0, 9000, 0,
              "");
    span_json(sp[1], sizeof sp[1], "d000000000000002", "d000000000000001", "q1", 3, 10, 100, 0,
              S("db.system", "sqlite") "," S("db.statement", "SELECT \\\"a\\\" FROM t"));
    span_json(sp[2], sizeof sp[2], "d000000000000003", "d000000000000001", "q2", 3, 20, 100, 0,
              S("db.system", "sqlite") "," S("db.statement", "SELECT \\\"a\\\", 'b' FROM t"));
    snprintf(attrs, sizeof attrs,
             S("db.system", "sqlite") ",{\"key\":\"db.statement\",\"value\":{\"stringValue\":\"%s\"}}",
             longsql);
    span_json(sp[3], sizeof sp[3], "d000000000000004", "d000000000000001", "q3", 3, 30, 100, 0, attrs);
    span_json(sp[4], sizeof sp[4], "d000000000000005", "d000000000000001", "q4", 3, 40, 100, 0,
              S("db.system", "sqlite") "," S("db.statement", "SELECT '${var:X}'"));
    const char *list[] = {sp[0], sp[1], sp[2], sp[3], sp[4]};
    char *json = doc_json("yaml: [tricky]", list, 5);
    fixture f;
    load(&f, json);
    gen(&f, NULL);
    assert_string_equal(f.g.name, "yaml: [tricky] a: b #c ${HOME} \"q\" 'x'");
    assert_true(has_assertion(spec_named(&f.g, "Database statement: yaml: [tricky] q1"),
                              "attr:db.statement = 'SELECT \"a\" FROM t'"));
    const gen_spec *s = spec_named(&f.g, "Database statement: yaml: [tricky] q2");
    assert_non_null(s);
    for (uint32_t i = 0; i < s->n_assertions; i++)
        assert_null(strstr(s->assertions[i], "db.statement"));
    s = spec_named(&f.g, "Database statement: yaml: [tricky] q3");
    char want[256];
    snprintf(want, sizeof want, "attr:db.statement contains \"%.*s\"", (int)(GEN_MAX_LITERAL / 2), longsql);
    assert_true(has_assertion(s, want));
    s = spec_named(&f.g, "Database statement: yaml: [tricky] q4");
    for (uint32_t i = 0; i < s->n_assertions; i++)
        assert_null(strstr(s->assertions[i], "db.statement"));
    assert_true(passes_on(&f.g, f.ts, f.t));

    /* the YAML loads back into the same texts */
    tc_buf b;
    buf_init(&b, 0);
    assert_int_equal(gen_write_yaml(&f.g, &b), 0);
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_buffer("t.yaml", buf_str(&b), b.len, &rf, &e), 0);
    assert_int_equal(rf->n_items, 1);
    const res_test *t = rf->items[0].u.test;
    assert_string_equal(t->name.s, f.g.name);
    assert_int_equal(t->n_specs, f.g.n_specs);
    for (uint32_t i = 0; i < f.g.n_specs; i++) {
        assert_string_equal(t->specs[i].name.s, f.g.specs[i].name);
        assert_string_equal(t->specs[i].selector.s, f.g.specs[i].selector);
        assert_int_equal(t->specs[i].n_assertions, f.g.specs[i].n_assertions);
        for (uint32_t j = 0; j < f.g.specs[i].n_assertions; j++)
            assert_string_equal(t->specs[i].assertions[j].s, f.g.specs[i].assertions[j]);
    }
    res_file_free(&rf);
    buf_free(&b);
    done(&f);
    free(json);
}

/* The YAML writer on texts YAML would misread as plain scalars. */
static void test_yaml_quoting(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "true",    "null",  "~",           "123",   "-1",     "0x1F",      "1e3",         ".5",
        "yes",     "No",    "- item",      "[a]",   "{a}",    "&x",        "*x",          "!tag",
        "|",       ">",     "#c",          "a #b",  "a: b",   "a:",        "'q'",         "\"q\"",
        "%d",      "@x",    "`x`",         " lead", "trail ", "tab\there", "line\nbreak", "back\\slash",
        "${HOME}", "$${X}", "caf\xc3\xa9", "---",   "...",    "?",         ": x",         "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        gen_test g;
        memset(&g, 0, sizeof g);
        gen_spec s = {.name = texts[i],
                      .selector = "span[]",
                      .assertions = (const char **)&texts[i],
                      .n_assertions = 1};
        g.id = "t";
        g.name = texts[i];
        g.trigger.type = GEN_TRIG_TRACEID;
        g.trigger.trace_id = TID;
        g.specs = &s;
        g.n_specs = 1;
        tc_buf b;
        buf_init(&b, 0);
        assert_int_equal(gen_write_yaml(&g, &b), 0);
        res_file *rf = NULL;
        tc_error e;
        int rc = res_load_buffer("t.yaml", buf_str(&b), b.len, &rf, &e);
        if (rc)
            fail_msg("%s: %s\n%s", texts[i], e.msg, buf_str(&b));
        const res_test *t = rf->items[0].u.test;
        assert_string_equal(t->name.s ? t->name.s : "", texts[i]);
        assert_string_equal(t->specs[0].name.s ? t->specs[0].name.s : "", texts[i]);
        assert_string_equal(t->specs[0].assertions[0].s ? t->specs[0].assertions[0].s : "", texts[i]);
        res_file_free(&rf);
        buf_free(&b);
    }
}

/* Triggers: old-convention HTTP attributes, gRPC, and traceid when the
 * entry span records neither; the runner's trigger span is not the entry. */
static void test_triggers(void **state)
{
    (void)state;
    static char sp[2][1024];
    fixture f;
    span_json(sp[0], sizeof sp[0], "e000000000000001", "", "GET /x", 2, 0, 100, 0,
              S("http.method", "GET") "," S("http.target", "/x?id=1") "," S("net.host.name", "api") "," I(
                  "net.host.port", 81));
    const char *l1[] = {sp[0]};
    char *json = doc_json("api", l1, 1);
    load(&f, json);
    gen(&f, NULL);
    assert_int_equal(f.g.trigger.type, GEN_TRIG_HTTP);
    assert_string_equal(f.g.trigger.url, "http://api:81/x?id=1");
    done(&f);
    free(json);

    span_json(
        sp[0], sizeof sp[0], "e000000000000001", "", "inv.Inventory/Reserve", 2, 0, 100, 0,
        S("rpc.system", "grpc") "," S("rpc.service", "inv.Inventory") "," S("rpc.method", "Reserve") "," S(
            "server.address", "127.0.0.1") "," I("server.port", 8083) "," I("rpc.grpc.status_code", 0));
    json = doc_json("inventory", l1, 1);
    load(&f, json);
    gen(&f, NULL);
    assert_int_equal(f.g.trigger.type, GEN_TRIG_GRPC);
    assert_string_equal(f.g.trigger.method, "inv.Inventory.Reserve");
    assert_string_equal(f.g.trigger.address, "127.0.0.1:8083");
    assert_true(has_assertion(&f.g.specs[0], "attr:rpc.grpc.status_code = 0"));
    assert_true(has_assertion(&f.g.specs[0], "attr:rpc.service = \"inv.Inventory\""));
    done(&f);
    free(json);

    /* a trace with the runner's trigger span: the entry is below it */
    static char tr[2][1024];
    span_json(tr[0], sizeof tr[0], "f000000000000001", "", "Tracetest trigger", 3, 0, 900, 0,
              S("tracetest.response.status", "201"));
    span_json(tr[1], sizeof tr[1], "f000000000000002", "f000000000000001", "work", 1, 10, 100, 0, "");
    char *j1 = doc_json("tracetest", (const char *const[]){tr[0]}, 1);
    char *j2 = doc_json("worker", (const char *const[]){tr[1]}, 1);
    memset(&f, 0, sizeof f);
    f.ts = trace_set_new(0);
    f.a = arena_new(0);
    tc_error e;
    assert_int_equal(otlp_json_decode(f.ts, j1, strlen(j1), &e), 0);
    assert_int_equal(otlp_json_decode(f.ts, j2, strlen(j2), &e), 0);
    assert_int_equal(trace_set_index(f.ts), 0);
    f.t = trace_set_at(f.ts, 0);
    gen(&f, NULL);
    assert_string_equal(f.g.name, "worker work");
    assert_int_equal(f.g.trigger.type, GEN_TRIG_TRACEID);
    const gen_spec *s = spec_named(&f.g, "Trigger response");
    assert_non_null(s);
    assert_true(has_assertion(s, "attr:tracetest.response.status = 201"));
    assert_non_null(spec_named(&f.g, "Entry span: worker work"));
    assert_true(passes_on(&f.g, f.ts, f.t));
    done(&f);
    free(j1);
    free(j2);
}

/* Past GEN_MAX_SPANS: a clear error, nothing generated. */
static void test_limit(void **state)
{
    (void)state;
    trace_set *ts = trace_set_new(0);
    arena *ta = trace_set_arena(ts);
    tc_error e;
    for (uint32_t i = 0; i <= GEN_MAX_SPANS; i++) {
        trace_span *sp = arena_calloc(ta, 1, sizeof *sp);
        sp->trace_id[0] = 1;
        memcpy(sp->span_id + 4, &(uint32_t){i + 1}, 4);
        if (i)
            sp->parent_id[4] = 1;
        sp->name = "s";
        assert_int_equal(trace_set_add_span(ts, sp, &e), 0);
    }
    assert_int_equal(trace_set_index(ts), 0);
    arena *a = arena_new(0);
    gen_test g;
    memset(&g, 0, sizeof g);
    assert_int_equal(gen_generate(ts, trace_set_at(ts, 0), NULL, a, &g, &e), TC_ERR_LIMIT);
    assert_non_null(strstr(e.msg, "generate reads at most 100000"));
    assert_null(g.specs);
    gen_opts o;
    memset(&o, 0, sizeof o);
    o.headroom = 0.5;
    assert_int_equal(gen_generate(ts, NULL, &o, a, &g, &e), TC_ERR_INPUT);
    arena_free(&a);
    trace_set_free(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shop),       cmocka_unit_test(test_options),
        cmocka_unit_test(test_repetition), cmocka_unit_test(test_ancestor_and_position),
        cmocka_unit_test(test_texts),      cmocka_unit_test(test_yaml_quoting),
        cmocka_unit_test(test_triggers),   cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
