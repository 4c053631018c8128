/* grpc_trigger_test.c - the gRPC trigger against tests/grpc/server.js (Node,
 * @grpc/grpc-js, on an ephemeral 127.0.0.1 port): Tracetest's three
 * grpc-trigger-*.yaml tests (embedded, referenced and commented .proto)
 * built with trigger_grpc_from_test and run, traceparent and b3 arriving in
 * the server's metadata, a server stream as a JSON array, a non-OK status
 * as a response; and the failures: a .proto that does not parse, a missing
 * method, a request that does not fit, an unreachable server, a server
 * that never answers and a stream that never ends (both bounded by a short
 * timeout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "trigger/grpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RES_DIR "tests/data/tracetest-resources/testing/cli-e2etest/testscenarios/test/resources"

static pid_t server_pid;
static int server_in = -1; /* the server exits when this closes */
static char address[64];

static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Installs the demo's Node modules when missing, as the shell tests do. */
static int node_modules(void)
{
    struct stat st;
    if (stat("demo/node_modules/@grpc/grpc-js/package.json", &st) == 0 &&
        stat("demo/node_modules/@grpc/proto-loader/package.json", &st) == 0)
        return 0;
    return system(
               "bash -c '. tests/sh/lib/fake.sh && d=$(mktemp -d) && fake_setup \"$d\"; r=$?; rm -rf \"$d\"; "
               "exit $r'") == 0
               ? 0
               : -1;
}

static int setup(void **state)
{
    (void)state;
    if (node_modules())
        return -1;
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *argv[] = {"node", "tests/grpc/server.js", NULL};
    int rc = posix_spawnp(&server_pid, "node", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    server_in = in[1];
    if (rc) {
        close(out[0]);
        return -1;
    }
    /* "port N" within 20 s */
    char line[64] = "";
    size_t n = 0;
    uint64_t end = now_ms() + 20000;
    while (n < sizeof line - 1 && !strchr(line, '\n') && now_ms() < end) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = read(out[0], line + n, sizeof line - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        line[n] = 0;
    }
    close(out[0]);
    int port = 0;
    if (sscanf(line, "port %d", &port) != 1 || port <= 0)
        return -1;
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (server_in >= 0)
        close(server_in);
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

static const char *header(const trigger_result *r, const char *key)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].key, key) == 0)
            return r->headers[i].value;
    return NULL;
}

static const char *attr(const trigger_result *r, const char *key)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return r->attrs[i].value;
    return NULL;
}

static int copy_interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    (void)user;
    (void)e;
    *out = arena_strdup(a, s);
    return 0;
}

static char *read_text(const char *path)
{
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = malloc(1 << 20);
    if (s)
        s[n = fread(s, 1, (1 << 20) - 1, f)] = 0;
    fclose(f);
    return s;
}

static const char pikachu[] = "{\n"
                              "  \"id\": 42,\n"
                              "  \"name\": \"Pikachu\",\n"
                              "  \"type\": \"eletric\",\n"
                              "  \"isFeatured\": true\n"
                              "}";

/* Loads one of Tracetest's tests, builds its request, checks how the
 * .proto was taken, then calls our server instead of demo-rpc:8082. */
static void run_yaml(const char *file, const char *want_name, bool embedded)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", RES_DIR, file);
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_file(path, &rf, &e), 0);
    const res_test *t = rf->items[0].u.test;
    assert_int_equal(t->trigger.type, RES_TRIG_GRPC);
    arena *a = arena_new(0);
    trigger_grpc_request req;
    assert_int_equal(trigger_grpc_from_test(t, rf->base_dir, copy_interp, NULL, a, &req, &e), 0);
    assert_string_equal(req.address, "demo-rpc:8082");
    assert_string_equal(req.method, "pokeshop.Pokeshop.createPokemon");
    assert_string_equal(req.proto_name, want_name);
    assert_non_null(strstr(req.proto_text, "service Pokeshop"));
    assert_true(embedded ==
                (strstr(req.proto_text, "./api.proto") == NULL && strcmp(want_name, "protobufFile") == 0));
    assert_false(req.tls);
    req.address = address;
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, true, &r);
    if (!r.ok)
        fail_msg("%s: %s", file, r.error);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, pikachu);
    assert_int_equal(r.body_len, strlen(pikachu));
    assert_string_equal(header(&r, "x-echo-traceparent"),
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_string_equal(header(&r, "x-echo-b3"), "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
    assert_string_equal(header(&r, "grpc-status"), "0");
    assert_string_equal(attr(&r, "tracetest.run.trigger.grpc.response_status"), "OK");
    assert_true(r.end_ns >= r.start_ns && r.start_ns > 0);

    /* the trigger span carries the status as a number and the JSON body */
    trace_set *ts = trace_set_new(0);
    assert_int_equal(trigger_span_add(ts, tid, sid, &r, "grpc"), 0);
    trace_span *sp = trace_set_at(ts, 0)->spans[0];
    assert_string_equal(trace_span_attr(sp, "tracetest.response.status", 25)->u.str, "0");
    assert_string_equal(trace_span_attr(sp, "tracetest.response.body", 23)->u.str, pikachu);
    assert_string_equal(trace_span_attr(sp, "tracetest.run.trigger.type", 26)->u.str, "grpc");
    trace_set_free(&ts);
    trigger_result_free(&r);
    arena_free(&a);
    res_file_free(&rf);
}

static void test_tracetest_embedded(void **state)
{
    (void)state;
    run_yaml("grpc-trigger-embedded-protobuf.yaml", "protobufFile", true);
}

static void test_tracetest_commented(void **state)
{
    (void)state;
    run_yaml("grpc-trigger-embedded-protobuf-with-comment.yaml", "protobufFile", true);
}

static void test_tracetest_referenced(void **state)
{
    (void)state;
    run_yaml("grpc-trigger-reference-protobuf.yaml", "api.proto", false);
}

static char *probe_proto;

static trigger_grpc_request probe(const char *method, const char *request)
{
    trigger_grpc_request req = {.address = address,
                                .method = method,
                                .proto_name = "probe.proto",
                                .proto_text = probe_proto,
                                .proto_dir = "tests/grpc",
                                .request = request,
                                .timeout_ms = 10000};
    return req;
}

static void test_metadata_auth_and_echo(void **state)
{
    (void)state;
    trigger_kv md[] = {{"x-tenant", "acme"}, {"", "skipped"}};
    trigger_grpc_request req =
        probe("tctest.Probe/Echo", "{\"fInt64\": \"-5\", \"f_string\": \"é\", \"color\": 2,"
                                   " \"at\": \"2024-03-05T14:07:09Z\", \"inners\": [{\"n\": 1}]}");
    req.metadata = md;
    req.n_metadata = 1;
    req.auth = TRIGGER_AUTH_BASIC;
    req.user = "ada";
    req.password = "s3cret";
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    if (!r.ok)
        fail_msg("%s", r.error);
    assert_int_equal(r.status, 0);
    assert_string_equal(header(&r, "x-echo-x-tenant"), "acme");
    assert_string_equal(header(&r, "x-echo-authorization"), "Basic YWRhOnMzY3JldA==");
    assert_null(header(&r, "x-echo-b3")); /* only when asked */
    /* what the server decoded and sent back, read through the same .proto */
    assert_non_null(strstr(r.body, "\"fInt64\": \"-5\","));
    assert_non_null(strstr(r.body, "\"fString\": \"é\","));
    assert_non_null(strstr(r.body, "\"color\": \"GREEN\","));
    assert_non_null(strstr(r.body, "\"at\": \"2024-03-05T14:07:09Z\""));
    assert_non_null(
        strstr(r.body, "\"inners\": [\n    {\n      \"label\": \"\",\n      \"n\": 1\n    }\n  ],"));
    trigger_result_free(&r);

    tc_buf b;
    buf_init(&b, 0);
    trigger_kv secret[] = {{"authorization", "Bearer xyz"}, {"x-tenant", "acme"}};
    req.metadata = secret;
    req.n_metadata = 2;
    assert_int_equal(trigger_grpc_describe(&req, &b), 0);
    assert_null(strstr(buf_str(&b), "xyz"));
    assert_null(strstr(buf_str(&b), "s3cret"));
    assert_non_null(strstr(buf_str(&b), "x-tenant: acme"));
    assert_non_null(strstr(buf_str(&b), "tctest.Probe/Echo"));
    buf_free(&b);
}

static void test_server_stream(void **state)
{
    (void)state;
    trigger_grpc_request req = probe("tctest.Probe.List", "{\"count\": 2}");
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    if (!r.ok)
        fail_msg("%s", r.error);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.body, "[\n"
                                "  {\n"
                                "    \"id\": 1,\n"
                                "    \"name\": \"item 1\"\n"
                                "  },\n"
                                "  {\n"
                                "    \"id\": 2,\n"
                                "    \"name\": \"item 2\"\n"
                                "  }\n"
                                "]");
    assert_string_equal(header(&r, "x-echo-traceparent"),
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    trigger_result_free(&r);
    req.request = "{\"count\": 0}";
    trigger_grpc_run(&req, tid, sid, false, &r);
    assert_true(r.ok);
    assert_string_equal(r.body, "[]");
    trigger_result_free(&r);
}

static void test_non_ok_status_is_a_response(void **state)
{
    (void)state;
    trigger_grpc_request req = probe("tctest.Probe.Fail", "{\"code\": 5, \"message\": \"no pokémon 100%\"}");
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    if (!r.ok)
        fail_msg("%s", r.error);
    assert_int_equal(r.status, 5);
    assert_null(r.error);
    assert_string_equal(r.body, "");
    assert_string_equal(header(&r, "grpc-message"), "no pokémon 100%"); /* percent-decoded */
    assert_string_equal(attr(&r, "tracetest.run.trigger.grpc.response_status_code"), "5");
    assert_string_equal(attr(&r, "tracetest.run.trigger.grpc.response_status"), "NOT_FOUND");
    trigger_result_free(&r);
}

static void expect_error(const trigger_grpc_request *req, const char *want)
{
    trigger_result r;
    trigger_grpc_run(req, tid, sid, false, &r);
    assert_false(r.ok);
    assert_non_null(r.error);
    if (!strstr(r.error, want))
        fail_msg("error \"%s\" does not say \"%s\"", r.error, want);
    assert_string_equal(r.body, "");
    trigger_result_free(&r);
}

static void test_errors_before_the_call(void **state)
{
    (void)state;
    trigger_grpc_request req = probe("a.S.M", "{}");
    req.proto_name = "protobufFile";
    req.proto_text = "syntax = \"proto3\";\nmessage M {\n  int32 x = 1\n}\n";
    expect_error(&req, "cannot read the .proto: protobufFile:4:1: Expected \";\".");
    req = probe("tctest.Probe.Nope", "{}");
    expect_error(&req,
                 "method \"tctest.Probe.Nope\" is not in probe.proto; its methods are tctest.Probe.Echo, "
                 "tctest.Probe.List, tctest.Probe.Fail, tctest.Probe.Upload");
    req = probe("tctest.Probe.Echo", "{\"inner\": {\"colour\": 1}}");
    expect_error(&req, "request (tctest.Types): (inner) colour: Cannot find field.");
    req = probe("tctest.Probe.Echo", "{\"inners\": [{}, {\"n\": \"x\"}]}");
    expect_error(&req, "(inners[1].n): invalid value \"x\"");
    req = probe("tctest.Probe.Upload", "{}");
    expect_error(&req, "client-streaming methods are not supported");
}

static void test_unreachable(void **state)
{
    (void)state;
    trigger_grpc_request req = probe("tctest.Probe.Echo", "{}");
    req.address = "127.0.0.1:1";
    uint64_t t0 = now_ms();
    expect_error(&req, "cannot connect to 127.0.0.1:1");
    assert_true(now_ms() - t0 < 3000);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    /* accepts connections (the kernel does) and never answers */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    char silent[64];
    snprintf(silent, sizeof silent, "127.0.0.1:%d", ntohs(sa.sin_port));
    trigger_grpc_request req = probe("tctest.Probe.Echo", "{}");
    req.address = silent;
    req.timeout_ms = 400;
    uint64_t t0 = now_ms();
    expect_error(&req, "timed out after 400 ms");
    uint64_t took = now_ms() - t0;
    assert_true(took >= 350 && took < 3000);
    close(s);
}

static void test_endless_stream_times_out(void **state)
{
    (void)state;
    trigger_grpc_request req = probe("tctest.Probe.List", "{\"endless\": true}");
    req.timeout_ms = 500;
    uint64_t t0 = now_ms();
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    uint64_t took = now_ms() - t0;
    assert_false(r.ok);
    assert_non_null(strstr(r.error, "timed out after 500 ms"));
    assert_non_null(strstr(r.body, "\"name\": \"item 1\"")); /* what arrived is kept */
    assert_true(took >= 450 && took < 3000);
    trigger_result_free(&r);
}

static void test_not_grpc(void **state)
{
    (void)state;
    /* a TLS address against the plaintext server: the handshake fails */
    char url[80];
    snprintf(url, sizeof url, "https://%s", address);
    trigger_grpc_request req = probe("tctest.Probe.Echo", "{}");
    req.address = url;
    req.tls = true;
    req.timeout_ms = 3000;
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    assert_false(r.ok);
    assert_non_null(r.error);
    trigger_result_free(&r);
}

typedef struct varmap {
    const char *name, *value;
} varmap;

static int var_interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    const varmap *v = user;
    const char *at = strstr(s, "${var:");
    if (!at) {
        *out = arena_strdup(a, s);
        return 0;
    }
    const char *end = strchr(at, '}');
    size_t n = (size_t)(end - at - 6);
    for (; v->name; v++)
        if (strlen(v->name) == n && strncmp(v->name, at + 6, n) == 0) {
            tc_buf b;
            buf_init(&b, 0);
            buf_append(&b, s, (size_t)(at - s));
            buf_puts(&b, v->value);
            buf_puts(&b, end + 1);
            *out = arena_strdup(a, buf_str(&b));
            buf_free(&b);
            return 0;
        }
    return tc_error_set(e, TC_ERR_INPUT, "variable \"%.*s\" not found", (int)n, at + 6);
}

static void test_from_test_fields(void **state)
{
    (void)state;
    static const char yaml[] = "type: Test\n"
                               "spec:\n"
                               "  name: t\n"
                               "  trigger:\n"
                               "    type: grpc\n"
                               "    grpc:\n"
                               "      protobufFile: probe.proto\n"
                               "      address: ${var:HOST}\n"
                               "      method: tctest.Probe.Echo\n"
                               "      request: '{\"fString\": \"${var:NAME}\"}'\n"
                               "      metadata:\n"
                               "        - key: x-tenant\n"
                               "          value: ${var:TENANT}\n"
                               "        - key: ''\n"
                               "          value: dropped\n"
                               "      auth:\n"
                               "        type: bearer\n"
                               "        bearer:\n"
                               "          token: Bearer t0k\n";
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_buffer("t.yaml", yaml, sizeof yaml - 1, &rf, &e), 0);
    const res_test *t = rf->items[0].u.test;
    arena *a = arena_new(0);
    varmap vars[] = {{"HOST", address}, {"NAME", "pika"}, {"TENANT", "acme"}, {NULL, NULL}};
    trigger_grpc_request req;
    assert_int_equal(trigger_grpc_from_test(t, "tests/grpc", var_interp, vars, a, &req, &e), 0);
    assert_string_equal(req.address, address);
    assert_string_equal(req.proto_name, "probe.proto");
    assert_string_equal(req.proto_dir, "tests/grpc");
    assert_string_equal(req.request, "{\"fString\": \"pika\"}");
    assert_int_equal(req.n_metadata, 1);
    assert_int_equal(req.auth, TRIGGER_AUTH_BEARER);
    trigger_result r;
    trigger_grpc_run(&req, tid, sid, false, &r);
    if (!r.ok)
        fail_msg("%s", r.error);
    assert_string_equal(header(&r, "x-echo-authorization"), "Bearer t0k");
    assert_string_equal(header(&r, "x-echo-x-tenant"), "acme");
    assert_non_null(strstr(r.body, "\"fString\": \"pika\""));
    trigger_result_free(&r);

    varmap missing[] = {{"HOST", address}, {"NAME", "pika"}, {NULL, NULL}};
    assert_int_not_equal(trigger_grpc_from_test(t, "tests/grpc", var_interp, missing, a, &req, &e), 0);
    assert_string_equal(e.msg, "trigger metadata value: variable \"TENANT\" not found");
    assert_int_equal(e.line, 13);
    assert_int_equal(e.col, 18);

    static const char no_addr[] = "type: Test\nspec:\n  trigger:\n    type: grpc\n    grpc:\n"
                                  "      protobufFile: probe.proto\n      method: a.B.c\n";
    res_file *rf2 = NULL;
    assert_int_equal(res_load_buffer("t.yaml", no_addr, sizeof no_addr - 1, &rf2, &e), 0);
    assert_int_not_equal(trigger_grpc_from_test(rf2->items[0].u.test, ".", var_interp, vars, a, &req, &e), 0);
    assert_string_equal(e.msg, "trigger address: missing");
    assert_int_equal(e.line, 4);
    res_file_free(&rf2);
    arena_free(&a);
    res_file_free(&rf);
}

int main(void)
{
    probe_proto = read_text("tests/grpc/probe.proto");
    if (!probe_proto) {
        fprintf(stderr, "run from the repository root: tests/grpc/probe.proto not found\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracetest_embedded),
        cmocka_unit_test(test_tracetest_commented),
        cmocka_unit_test(test_tracetest_referenced),
        cmocka_unit_test(test_metadata_auth_and_echo),
        cmocka_unit_test(test_server_stream),
        cmocka_unit_test(test_non_ok_status_is_a_response),
        cmocka_unit_test(test_errors_before_the_call),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_endless_stream_times_out),
        cmocka_unit_test(test_not_grpc),
        cmocka_unit_test(test_from_test_fields),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    free(probe_proto);
    return rc;
}
