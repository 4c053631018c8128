/* trigger_test.c - the HTTP trigger against a small server on an
 * ephemeral 127.0.0.1 port that records each request: W3C traceparent (and
 * b3) with the run's ids, method, body and headers, the three kinds of
 * auth, an HTTP 500 as a response, a closed port and a timeout as trigger
 * failures, the trigger span, and building requests from a test file with
 * variables (an unresolved one names the field and its place), and the
 * GraphQL trigger's request (query from a file, typed variables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "trigger/trigger.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct seen {
    char method[16], url[256], traceparent[128], b3[128], auth[256], apikey[128], ctype[64];
    char body[1024];
    size_t body_len;
} seen;

static seen last;
static int answer_status = 200;
static unsigned delay_ms;

static void copy_hdr(struct MHD_Connection *c, const char *name, char *dst, size_t n)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(dst, n, "%s", v ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    if (!*con_cls) {
        memset(&last, 0, sizeof last);
        *con_cls = &last;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t room = sizeof last.body - 1 - last.body_len;
        size_t n = *upload_size < room ? *upload_size : room;
        memcpy(last.body + last.body_len, upload, n);
        last.body_len += n;
        *upload_size = 0;
        return MHD_YES;
    }
    snprintf(last.method, sizeof last.method, "%s", method);
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api_key");
    snprintf(last.url, sizeof last.url, "%s%s%s", url, q ? "?api_key=" : "", q ? q : "");
    copy_hdr(c, "traceparent", last.traceparent, sizeof last.traceparent);
    copy_hdr(c, "b3", last.b3, sizeof last.b3);
    copy_hdr(c, "Authorization", last.auth, sizeof last.auth);
    copy_hdr(c, "X-Api-Key", last.apikey, sizeof last.apikey);
    copy_hdr(c, "Content-Type", last.ctype, sizeof last.ctype);
    if (delay_ms)
        usleep(delay_ms * 1000);
    static const char body[] = "{\"id\": 42}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Order", "42");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)answer_status, r);
    MHD_destroy_response(r);
    return ok;
}

static struct MHD_Daemon *d;
static int port;

static int setup(void **state)
{
    (void)state;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL, MHD_OPTION_END);
    if (!d)
        return -1;
    port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(d);
    return 0;
}

static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static void url_of(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", port, path);
}

static void test_traceparent_method_body_headers(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/orders");
    trigger_kv h[] = {{"Content-Type", "application/json"}};
    trigger_http_request req = {.method = "POST", .url = url, .body = "{\"item\":\"book\"}", .headers = h,
                                .n_headers = 1, .ssl_verification = true};
    trigger_result r;
    answer_status = 201;
    trigger_http_run(&req, tid, sid, true, &r);
    assert_true(r.ok);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"id\": 42}");
    assert_string_equal(last.method, "POST");
    assert_string_equal(last.url, "/orders");
    assert_string_equal(last.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_string_equal(last.b3, "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
    assert_string_equal(last.ctype, "application/json");
    assert_string_equal(last.body, "{\"item\":\"book\"}");
    bool found = false;
    for (size_t i = 0; i < r.n_headers; i++)
        found |= strcasecmp(r.headers[i].key, "X-Order") == 0 && strcmp(r.headers[i].value, "42") == 0;
    assert_true(found);
    assert_true(r.end_ns >= r.start_ns && r.start_ns > 0);

    /* the trigger span carries the response */
    trace_set *ts = trace_set_new(0);
    assert_int_equal(trigger_span_add(ts, tid, sid, &r, "http"), 0);
    trace *t = trace_set_at(ts, 0);
    trace_span *sp = t->spans[0];
    assert_string_equal(sp->name, "Tracetest trigger");
    assert_string_equal(trace_span_service(sp), "tracetest");
    const tc_value *v = trace_span_attr(sp, "tracetest.response.status", 25);
    assert_non_null(v);
    assert_string_equal(v->u.str, "201");
    v = trace_span_attr(sp, "tracetest.response.body", 23);
    assert_string_equal(v->u.str, "{\"id\": 42}");
    v = trace_span_attr(sp, "tracetest.response.headers", 26);
    assert_non_null(strstr(v->u.str, "{\"key\":\"X-Order\",\"value\":\"42\"}"));
    trace_set_free(&ts);
    trigger_result_free(&r);
    answer_status = 200;

    trigger_http_run(&req, tid, sid, false, &r);
    assert_string_equal(last.b3, ""); /* only when asked */
    trigger_result_free(&r);
}

static void test_auth(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/a");
    trigger_result r;
    trigger_http_request basic = {.url = url, .auth = TRIGGER_AUTH_BASIC, .user = "ada", .password = "s3cret"};
    trigger_http_run(&basic, tid, sid, false, &r);
    assert_string_equal(last.auth, "Basic YWRhOnMzY3JldA==");
    trigger_result_free(&r);
    trigger_http_request bearer = {.url = url, .auth = TRIGGER_AUTH_BEARER, .token = "Bearer tok"};
    trigger_http_run(&bearer, tid, sid, false, &r);
    assert_string_equal(last.auth, "Bearer tok"); /* the token as written, as Tracetest */
    trigger_result_free(&r);
    trigger_http_request hkey = {.url = url, .auth = TRIGGER_AUTH_APIKEY, .key = "X-Api-Key", .value = "k1"};
    trigger_http_run(&hkey, tid, sid, false, &r);
    assert_string_equal(last.apikey, "k1");
    trigger_result_free(&r);
    trigger_http_request qkey = {.url = url, .auth = TRIGGER_AUTH_APIKEY, .key = "api_key", .value = "a b&c",
                                 .key_in_query = true};
    trigger_http_run(&qkey, tid, sid, false, &r);
    assert_string_equal(last.url, "/a?api_key=a b&c"); /* escaped on the wire, decoded by the server */
    trigger_result_free(&r);
    /* described with secrets masked */
    tc_buf b;
    buf_init(&b, 0);
    trigger_kv h[] = {{"Authorization", "Bearer xyz"}, {"Accept", "text/plain"}};
    trigger_http_request shown = {.method = "GET", .url = url, .headers = h, .n_headers = 2,
                                  .auth = TRIGGER_AUTH_BASIC, .user = "ada", .password = "s3cret"};
    trigger_http_describe(&shown, &b);
    assert_null(strstr(buf_str(&b), "xyz"));
    assert_null(strstr(buf_str(&b), "s3cret"));
    assert_non_null(strstr(buf_str(&b), "Accept: text/plain"));
    buf_free(&b);
}

static void test_error_status_is_a_response(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/boom");
    answer_status = 500;
    trigger_http_request req = {.url = url};
    trigger_result r;
    trigger_http_run(&req, tid, sid, false, &r);
    assert_true(r.ok);
    assert_int_equal(r.status, 500);
    assert_null(r.error);
    trigger_result_free(&r);
    answer_status = 200;
}

static void test_failures(void **state)
{
    (void)state;
    trigger_result r;
    trigger_http_request closed = {.url = "http://127.0.0.1:1/"};
    trigger_http_run(&closed, tid, sid, false, &r);
    assert_false(r.ok);
    assert_non_null(r.error);
    assert_true(r.end_ns - r.start_ns < 2000000000ull);
    trigger_result_free(&r);
    char url[128];
    url_of(url, sizeof url, "/slow");
    delay_ms = 1500;
    trigger_http_request slow = {.url = url, .timeout_ms = 300};
    trigger_http_run(&slow, tid, sid, false, &r);
    delay_ms = 0;
    assert_false(r.ok);
    assert_non_null(strstr(r.error, "imeout") ? r.error : strstr(r.error, "timed out"));
    trigger_result_free(&r);
}

typedef struct varmap {
    const char *name, *value;
} varmap;

static int interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    /* replaces ${var:NAME} from a small table; anything else is copied */
    const varmap *vars = user;
    tc_buf b;
    buf_init(&b, 0);
    while (*s) {
        const char *start = strstr(s, "${var:");
        if (!start) {
            buf_puts(&b, s);
            break;
        }
        buf_append(&b, s, (size_t)(start - s));
        const char *end = strchr(start, '}');
        size_t n = (size_t)(end - start - 6);
        const varmap *v = vars;
        while (v->name && (strlen(v->name) != n || strncmp(v->name, start + 6, n) != 0))
            v++;
        if (!v->name) {
            buf_free(&b);
            return tc_error_set(e, TC_ERR_INPUT, "variable \"%.*s\" not found", (int)n, start + 6);
        }
        buf_puts(&b, v->value);
        s = end + 1;
    }
    *out = arena_strdup(a, buf_str(&b));
    buf_free(&b);
    return 0;
}

static void test_from_test_file(void **state)
{
    (void)state;
    static const char yaml[] = "type: Test\n"
                               "spec:\n"
                               "  name: t\n"
                               "  trigger:\n"
                               "    type: http\n"
                               "    httpRequest:\n"
                               "      method: POST\n"
                               "      url: ${var:BASE}/orders\n"
                               "      headers:\n"
                               "        - key: X-Tenant\n"
                               "          value: ${var:TENANT}\n"
                               "      body: body.json\n"
                               "      auth:\n"
                               "        type: bearer\n"
                               "        bearer:\n"
                               "          token: ${var:TOKEN}\n";
    char dir[] = "/tmp/tc-trigger-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/body.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"from\": \"file\"}", f);
    fclose(f);
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_buffer("t.yaml", yaml, sizeof yaml - 1, &rf, &e), 0);
    const res_test *t = rf->items[0].u.test;
    arena *a = arena_new(0);
    varmap vars[] = {{"BASE", "http://h"}, {"TENANT", "acme"}, {"TOKEN", "tk"}, {NULL, NULL}};
    trigger_http_request req;
    assert_int_equal(trigger_http_from_test(t, dir, interp, vars, a, &req, &e), 0);
    assert_string_equal(req.url, "http://h/orders");
    assert_string_equal(req.method, "POST");
    assert_int_equal(req.n_headers, 1);
    assert_string_equal(req.headers[0].value, "acme");
    assert_string_equal(req.body, "{\"from\": \"file\"}");
    assert_int_equal(req.auth, TRIGGER_AUTH_BEARER);
    assert_string_equal(req.token, "tk");
    assert_false(req.ssl_verification); /* Tracetest's default */
    varmap missing[] = {{"BASE", "http://h"}, {"TOKEN", "tk"}, {NULL, NULL}};
    assert_int_not_equal(trigger_http_from_test(t, dir, interp, missing, a, &req, &e), 0);
    assert_string_equal(e.msg, "trigger header value: variable \"TENANT\" not found");
    assert_int_equal(e.line, 11);
    assert_int_equal(e.col, 18);
    unlink(path);
    rmdir(dir);
    arena_free(&a);
    res_file_free(&rf);
}

static void test_graphql(void **state)
{
    (void)state;
    static const char yaml[] = "type: Test\n"
                               "spec:\n"
                               "  name: g\n"
                               "  trigger:\n"
                               "    type: graphql\n"
                               "    graphql:\n"
                               "      url: ${var:BASE}/graphql\n"
                               "      headers:\n"
                               "        - key: X-Tenant\n"
                               "          value: acme\n"
                               "      auth:\n"
                               "        type: bearer\n"
                               "        bearer:\n"
                               "          token: tk\n"
                               "      body:\n"
                               "        query: ./query.graphql\n"
                               "        variables:\n"
                               "          id: ${var:ID}\n"
                               "          limit: 10\n"
                               "          name: \"Bulbasaur\"\n"
                               "          ok: true\n"
                               "          code: \"007\"\n"
                               "        operationName: Order\n"
                               "      schema: ./schema.graphql\n";
    char dir[] = "/tmp/tc-trigger-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/query.graphql", dir);
    FILE *f = fopen(path, "w");
    fputs("query Order($id: ID!) {\n  order(id: $id) { id status }\n}\n", f);
    fclose(f);
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_buffer("g.yaml", yaml, sizeof yaml - 1, &rf, &e), 0);
    const res_test *t = rf->items[0].u.test;
    arena *a = arena_new(0);
    char base[64];
    url_of(base, sizeof base, "");
    varmap vars[] = {{"BASE", base}, {"ID", "o-17"}, {NULL, NULL}};
    trigger_http_request req;
    assert_int_equal(trigger_graphql_from_test(t, dir, interp, vars, a, &req, &e), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.body, "{\"query\":\"query Order($id: ID!) {\\n  order(id: $id) { id status }\\n}\\n\","
                                  "\"variables\":{\"id\":\"o-17\",\"limit\":10,\"name\":\"Bulbasaur\",\"ok\":true,"
                                  "\"code\":\"007\"},\"operationName\":\"Order\"}");
    assert_int_equal(req.auth, TRIGGER_AUTH_BEARER);
    trigger_result r;
    trigger_http_run(&req, tid, sid, false, &r);
    assert_true(r.ok);
    assert_int_equal(r.status, 200);
    assert_string_equal(last.method, "POST");
    assert_string_equal(last.url, "/graphql");
    assert_string_equal(last.ctype, "application/json"); /* added: the test sets none */
    assert_string_equal(last.auth, "tk");
    assert_int_equal(last.body_len, strlen(req.body));
    assert_memory_equal(last.body, req.body, last.body_len);
    trigger_result_free(&r);
    unlink(path);
    rmdir(dir);
    arena_free(&a);
    res_file_free(&rf);
}

static void test_ids(void **state)
{
    (void)state;
    uint8_t a[16], b[16], s1[8], s2[8];
    assert_int_equal(trigger_ids_new(a, s1), 0);
    assert_int_equal(trigger_ids_new(b, s2), 0);
    assert_memory_not_equal(a, b, 16);
    assert_memory_not_equal(s1, s2, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_method_body_headers),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_error_status_is_a_response),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_from_test_file),
        cmocka_unit_test(test_graphql),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
