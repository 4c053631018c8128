/* kafka_test.c - the Kafka trigger against librdkafka's mock cluster on
 * 127.0.0.1: the message read back by a consumer (key, value, headers,
 * traceparent and b3 with the run's ids) and the partition and offset the
 * result reports; a closed port and TLS against a plaintext broker as
 * failures within the timeout; the security properties; the description
 * with the password masked; and building requests from Tracetest's Kafka
 * test files and from a test with variables and credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "trigger/kafka.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOPIC "orders"
#define PARTITIONS 3

static rd_kafka_t *owner; /* the handle that owns the mock cluster */
static rd_kafka_mock_cluster_t *mock;
static const char *bootstraps;

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!owner)
        return -1;
    mock = rd_kafka_mock_cluster_new(owner, 1);
    if (!mock)
        return -1;
    if (rd_kafka_mock_topic_create(mock, TOPIC, PARTITIONS, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    bootstraps = rd_kafka_mock_cluster_bootstraps(mock);
    return strncmp(bootstraps, "127.0.0.1:", 10) == 0 ? 0 : -1; /* loopback only */
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(owner);
    return 0;
}

static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static const char *attr(const trigger_result *r, const char *key)
{
    for (size_t i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return r->attrs[i].value;
    return NULL;
}

/* What the consumer read of one message. */
typedef struct got {
    int32_t partition;
    int64_t offset;
    char key[64], value[256];
    bool has_key;
    char names[8][32], values[8][128];
    size_t n_headers;
} got;

static const char *got_header(const got *g, const char *name)
{
    for (size_t i = 0; i < g->n_headers; i++)
        if (strcmp(g->names[i], name) == 0)
            return g->values[i];
    return NULL;
}

/* Reads every partition of TOPIC from the start until the message at
 * (partition, offset) arrives, at most 10 s. Returns 0 when found. */
static int consume_at(int32_t partition, int64_t offset, got *g)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", "kafka-test", err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) != RD_KAFKA_CONF_OK)
        return -1;
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c)
        return -1;
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int32_t p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int found = -1;
    uint64_t deadline = mono_ms() + 10000;
    while (found != 0 && mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (!m->err && m->partition == partition && m->offset == offset) {
            memset(g, 0, sizeof *g);
            g->partition = m->partition;
            g->offset = m->offset;
            g->has_key = m->key != NULL;
            snprintf(g->key, sizeof g->key, "%.*s", (int)m->key_len, m->key ? (const char *)m->key : "");
            snprintf(g->value, sizeof g->value, "%.*s", (int)m->len,
                     m->payload ? (const char *)m->payload : "");
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char *name;
                const void *val;
                size_t len;
                for (size_t i = 0; i < 8 && rd_kafka_header_get_all(h, i, &name, &val, &len) == 0; i++) {
                    snprintf(g->names[i], sizeof g->names[i], "%s", name);
                    snprintf(g->values[i], sizeof g->values[i], "%.*s", (int)len,
                             val ? (const char *)val : "");
                    g->n_headers++;
                }
            }
            found = 0;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return found;
}

static void test_produce_and_read_back(void **state)
{
    (void)state;
    const char *brokers[] = {bootstraps};
    trigger_kv h[] = {{"X-Tenant", "acme"}, {"X-Empty", ""}, {"traceparent", "00-ffff-old-00"}};
    trigger_kafka_request req = {.brokers = brokers,
                                 .n_brokers = 1,
                                 .topic = TOPIC,
                                 .key = "order-1",
                                 .value = "{\"id\":42}",
                                 .headers = h,
                                 .n_headers = 3,
                                 .timeout_ms = 10000};
    trigger_result r;
    trigger_kafka_run(&req, tid, sid, true, &r);
    assert_true(r.ok);
    assert_null(r.error);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n_headers, 0);
    assert_true(r.end_ns >= r.start_ns && r.start_ns > 0);
    assert_non_null(attr(&r, "tracetest.run.trigger.kafka.partition"));
    assert_non_null(attr(&r, "tracetest.run.trigger.kafka.offset"));
    char part[24], off[24];
    snprintf(part, sizeof part, "%s", attr(&r, "tracetest.run.trigger.kafka.partition"));
    snprintf(off, sizeof off, "%s", attr(&r, "tracetest.run.trigger.kafka.offset"));
    int32_t p = (int32_t)atoi(part);
    int64_t o = atoll(off);
    assert_true(p >= 0 && p < PARTITIONS);
    char body[128];
    snprintf(body, sizeof body, "{\n    \"offset\": \"%s\",\n    \"partition\": \"%s\"\n}", off, part);
    assert_string_equal(r.body, body);
    assert_int_equal(r.body_len, strlen(body));

    got g;
    assert_int_equal(consume_at(p, o, &g), 0);
    assert_int_equal(g.partition, p);
    assert_int_equal(g.offset, o);
    assert_true(g.has_key);
    assert_string_equal(g.key, "order-1");
    assert_string_equal(g.value, "{\"id\":42}");
    assert_int_equal(g.n_headers, 4); /* X-Tenant, X-Empty, traceparent (replaced), b3 */
    assert_string_equal(got_header(&g, "X-Tenant"), "acme");
    assert_string_equal(got_header(&g, "X-Empty"), "");
    assert_string_equal(got_header(&g, "traceparent"),
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_string_equal(got_header(&g, "b3"), "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");

    /* the trigger span carries the partition and offset */
    trace_set *ts = trace_set_new(0);
    assert_int_equal(trigger_span_add(ts, tid, sid, &r, "kafka"), 0);
    trace_span *sp = trace_set_at(ts, 0)->spans[0];
    const tc_value *v = trace_span_attr(sp, "tracetest.run.trigger.kafka.offset", 34);
    assert_non_null(v);
    assert_string_equal(v->u.str, off);
    v = trace_span_attr(sp, "tracetest.run.trigger.type", 26);
    assert_string_equal(v->u.str, "kafka");
    trace_set_free(&ts);
    trigger_result_free(&r);

    /* the same key goes to the same partition, at the next offset; no b3 unless asked */
    trigger_kafka_run(&req, tid, sid, false, &r);
    assert_true(r.ok);
    assert_string_equal(attr(&r, "tracetest.run.trigger.kafka.partition"), part);
    assert_int_equal(atoll(attr(&r, "tracetest.run.trigger.kafka.offset")), o + 1);
    assert_int_equal(consume_at(p, o + 1, &g), 0);
    assert_null(got_header(&g, "b3"));
    assert_non_null(got_header(&g, "traceparent"));
    trigger_result_free(&r);

    /* no key: a null key, not an empty one */
    req.key = NULL;
    req.n_headers = 0;
    trigger_kafka_run(&req, tid, sid, false, &r);
    assert_true(r.ok);
    assert_int_equal(consume_at((int32_t)atoi(attr(&r, "tracetest.run.trigger.kafka.partition")),
                                atoll(attr(&r, "tracetest.run.trigger.kafka.offset")), &g),
                     0);
    assert_false(g.has_key);
    assert_int_equal(g.n_headers, 1);
    trigger_result_free(&r);
}

/* A 127.0.0.1 port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static void test_unreachable_broker(void **state)
{
    (void)state;
    int port = closed_port();
    assert_true(port > 0);
    char broker[64];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", port);
    const char *brokers[] = {broker};
    trigger_kafka_request req = {
        .brokers = brokers, .n_brokers = 1, .topic = TOPIC, .value = "x", .timeout_ms = 2000};
    trigger_result r;
    uint64_t t0 = mono_ms();
    trigger_kafka_run(&req, tid, sid, false, &r);
    uint64_t took = mono_ms() - t0;
    assert_false(r.ok);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, broker));
    assert_non_null(strstr(r.error, "within 2000 ms"));
    assert_non_null(strstr(r.error, "Connection refused")); /* librdkafka's reason */
    assert_null(r.attrs);
    assert_string_equal(r.body, "");
    assert_true(took >= 1500 && took < 3500);
    trigger_result_free(&r);

    /* with SASL the configuration is accepted and the failure is the broker's */
    req.auth_type = "plain";
    req.user = "ada";
    req.password = "s3cret";
    req.timeout_ms = 1000;
    trigger_kafka_run(&req, tid, sid, false, &r);
    assert_false(r.ok);
    assert_non_null(strstr(r.error, "no acknowledgement from"));
    assert_null(strstr(r.error, "s3cret"));
    trigger_result_free(&r);
}

static void test_tls_against_plaintext_broker(void **state)
{
    (void)state;
    const char *brokers[] = {bootstraps};
    trigger_kafka_request req = {.brokers = brokers,
                                 .n_brokers = 1,
                                 .topic = TOPIC,
                                 .value = "x",
                                 .ssl_verification = true,
                                 .timeout_ms = 2000};
    trigger_result r;
    uint64_t t0 = mono_ms();
    trigger_kafka_run(&req, tid, sid, false, &r);
    assert_false(r.ok);
    assert_true(mono_ms() - t0 < 3500);
    assert_non_null(strstr(r.error, bootstraps));
    assert_non_null(strstr(r.error, "SSL")); /* the handshake failed: TLS was used */
    trigger_result_free(&r);
}

static const char *prop(const trigger_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

static void test_security(void **state)
{
    (void)state;
    trigger_kv kv[5];
    trigger_kafka_request req = {0};
    size_t n = trigger_kafka_security(&req, kv);
    assert_string_equal(prop(kv, n, "security.protocol"), "plaintext");
    assert_null(prop(kv, n, "sasl.mechanisms"));
    req.ssl_verification = true;
    n = trigger_kafka_security(&req, kv);
    assert_string_equal(prop(kv, n, "security.protocol"), "ssl");
    assert_string_equal(prop(kv, n, "enable.ssl.certificate.verification"), "true");
    req.auth_type = "plain";
    req.user = "ada";
    req.password = "pw";
    n = trigger_kafka_security(&req, kv);
    assert_int_equal(n, 5);
    assert_string_equal(prop(kv, n, "security.protocol"), "sasl_ssl");
    assert_string_equal(prop(kv, n, "sasl.mechanisms"), "PLAIN");
    assert_string_equal(prop(kv, n, "sasl.username"), "ada");
    assert_string_equal(prop(kv, n, "sasl.password"), "pw");
    req.ssl_verification = false;
    n = trigger_kafka_security(&req, kv);
    assert_string_equal(prop(kv, n, "security.protocol"), "sasl_plaintext");
    assert_string_equal(prop(kv, n, "enable.ssl.certificate.verification"), "false");
}

static void test_describe(void **state)
{
    (void)state;
    const char *brokers[] = {"k1:9092", "k2:9092"};
    trigger_kv h[] = {{"Authorization", "Bearer xyz"}, {"X-Tenant", "acme"}};
    trigger_kafka_request req = {.brokers = brokers,
                                 .n_brokers = 2,
                                 .topic = "t",
                                 .key = "k",
                                 .value = "hello",
                                 .headers = h,
                                 .n_headers = 2,
                                 .auth_type = "plain",
                                 .user = "ada",
                                 .password = "s3cret"};
    tc_buf b;
    buf_init(&b, 0);
    assert_int_equal(trigger_kafka_describe(&req, &b), 0);
    assert_string_equal(buf_str(&b), "KAFKA k1:9092,k2:9092 topic t\n"
                                     "key: k\n"
                                     "value: 5 bytes\n"
                                     "Authorization: ****\n"
                                     "X-Tenant: acme\n"
                                     "security: sasl_plaintext\n"
                                     "auth: plain ada:****");
    buf_free(&b);
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
        const char *end = start ? strchr(start, '}') : NULL;
        if (!end) {
            buf_puts(&b, s);
            break;
        }
        buf_append(&b, s, (size_t)(start - s));
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

/* Loads test file rel under the test data folder into req. */
static void load(const char *rel, res_file **rf, arena *a, varmap *vars, trigger_kafka_request *req)
{
    char path[1024];
    const char *root = getenv("TC_DATA");
    snprintf(path, sizeof path, "%s/tracetest-resources/%s", root ? root : "tests/data", rel);
    tc_error e;
    int rc = res_load_file(path, rf, &e);
    if (rc)
        fail_msg("%s: %s", path, e.msg);
    const res_test *t = (*rf)->items[0].u.test;
    assert_int_equal(t->trigger.type, RES_TRIG_KAFKA);
    rc = trigger_kafka_from_test(t, interp, vars, a, req, &e);
    if (rc)
        fail_msg("%s: %s", path, e.msg);
}

static void test_tracetest_files(void **state)
{
    (void)state;
    arena *a = arena_new(0);
    varmap vars[] = {{"POKESHOP_KAFKA_BROKER", "stream.demo:9092"}, {NULL, NULL}};
    res_file *rf = NULL;
    trigger_kafka_request req;

    load("examples/quick-start-go-and-kafka/resources/test.yaml", &rf, a, vars, &req);
    assert_int_equal(req.n_brokers, 1);
    assert_string_equal(req.brokers[0], "kafka:9092");
    assert_string_equal(req.topic, "messaging");
    assert_string_equal(req.key, "message-key");
    assert_string_equal(req.value, "{\n  \"hello\": \"kafka!\"\n}");
    assert_int_equal(req.n_headers, 1);
    assert_string_equal(req.headers[0].key, "my-header");
    assert_string_equal(req.headers[0].value, "my-value");
    assert_false(req.ssl_verification);
    assert_null(req.auth_type);
    assert_int_equal(req.timeout_ms, 0);
    res_file_free(&rf);

    static const struct {
        const char *file, *value_end;
    } orders[] = {
        {"test-payment-order-submit-with-message.yaml", "\"value\": 10000\n}"},
        {"test-risk-analysis-using-order-with-high-value.yaml", "\"value\": 100000\n}"},
        {"test-risk-analysis-using-order-with-low-value.yaml", "\"value\": 100\n}"},
    };
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "examples/tracetesting-event-driven-systems/%s", orders[i].file);
        load(rel, &rf, a, vars, &req);
        assert_string_equal(req.brokers[0], "kafka:9092");
        assert_string_equal(req.topic, "paymentOrders");
        assert_string_equal(req.key, "transaction-1");
        static const char start[] = "{\n  \"originCustomerID\": \"bob\",\n";
        assert_true(strncmp(req.value, start, sizeof start - 1) == 0);
        size_t vl = strlen(req.value), el = strlen(orders[i].value_end);
        assert_true(vl > el);
        assert_string_equal(req.value + vl - el, orders[i].value_end);
        assert_int_equal(req.n_headers, 0);
        res_file_free(&rf);
    }

    load("testing/cli-e2etest/testscenarios/test/resources/kafka-trigger.yaml", &rf, a, vars, &req);
    assert_string_equal(req.brokers[0], "stream:9092");
    assert_string_equal(req.topic, "pokemon");
    assert_string_equal(req.key, "snorlax-key");
    assert_string_equal(req.value, "{\"id\":143}");
    assert_int_equal(req.n_headers, 0);
    res_file_free(&rf);

    /* a broker from a variable */
    load("testing/synthetic-monitoring/pokeshop/03-import-pokemon-with-stream.yaml", &rf, a, vars, &req);
    assert_int_equal(req.n_brokers, 1);
    assert_string_equal(req.brokers[0], "stream.demo:9092");
    assert_string_equal(req.value, "{\"id\":144}");
    res_file_free(&rf);
    arena_free(&a);
}

static void test_from_test_with_variables(void **state)
{
    (void)state;
    static const char yaml[] = "type: Test\n"
                               "spec:\n"
                               "  name: t\n"
                               "  trigger:\n"
                               "    type: kafka\n"
                               "    kafka:\n"
                               "      brokerUrls:\n"
                               "        - ${var:BROKER}\n"
                               "        - k2:9093\n"
                               "      topic: ${var:TOPIC}\n"
                               "      messageKey: key-${var:ID}\n"
                               "      messageValue: '{\"id\": ${var:ID}}'\n"
                               "      sslVerification: true\n"
                               "      headers:\n"
                               "        - key: X-Tenant\n"
                               "          value: ${var:TENANT}\n"
                               "        - key: ''\n"
                               "          value: dropped\n"
                               "      authentication:\n"
                               "        type: plain\n"
                               "        plain:\n"
                               "          username: ${var:USER}\n"
                               "          password: ${var:PASS}\n";
    res_file *rf = NULL;
    tc_error e;
    assert_int_equal(res_load_buffer("t.yaml", yaml, sizeof yaml - 1, &rf, &e), 0);
    const res_test *t = rf->items[0].u.test;
    arena *a = arena_new(0);
    varmap vars[] = {{"BROKER", "k1:9092"}, {"TOPIC", "orders"}, {"ID", "7"}, {"TENANT", "acme"},
                     {"USER", "ada"},       {"PASS", "s3cret"},  {NULL, NULL}};
    trigger_kafka_request req;
    assert_int_equal(trigger_kafka_from_test(t, interp, vars, a, &req, &e), 0);
    assert_int_equal(req.n_brokers, 2);
    assert_string_equal(req.brokers[0], "k1:9092");
    assert_string_equal(req.brokers[1], "k2:9093");
    assert_string_equal(req.topic, "orders");
    assert_string_equal(req.key, "key-7");
    assert_string_equal(req.value, "{\"id\": 7}");
    assert_true(req.ssl_verification);
    assert_int_equal(req.n_headers, 1);
    assert_string_equal(req.headers[0].key, "X-Tenant");
    assert_string_equal(req.headers[0].value, "acme");
    assert_string_equal(req.auth_type, "plain");
    assert_string_equal(req.user, "ada");
    assert_string_equal(req.password, "s3cret");

    /* an unresolved variable names the field and its place */
    varmap missing[] = {{"BROKER", "k1:9092"}, {"ID", "7"}, {NULL, NULL}};
    assert_int_equal(trigger_kafka_from_test(t, interp, missing, a, &req, &e), TC_ERR_INPUT);
    assert_string_equal(e.msg, "trigger topic: variable \"TOPIC\" not found");
    assert_int_equal(e.line, 10);
    assert_int_equal(e.col, 14);
    res_file_free(&rf);

    /* no topic; an unknown authentication type */
    static const char no_topic[] = "type: Test\nspec:\n  trigger:\n    type: kafka\n    kafka:\n"
                                   "      brokerUrls: [k:9092]\n";
    assert_int_equal(res_load_buffer("t.yaml", no_topic, sizeof no_topic - 1, &rf, &e), 0);
    assert_int_equal(trigger_kafka_from_test(rf->items[0].u.test, interp, vars, a, &req, &e), TC_ERR_INPUT);
    assert_string_equal(e.msg, "trigger topic: missing");
    res_file_free(&rf);
    static const char bad_auth[] = "type: Test\nspec:\n  trigger:\n    type: kafka\n    kafka:\n"
                                   "      brokerUrls: [k:9092]\n      topic: t\n"
                                   "      authentication:\n        type: scram\n";
    assert_int_equal(res_load_buffer("t.yaml", bad_auth, sizeof bad_auth - 1, &rf, &e), 0);
    assert_int_equal(trigger_kafka_from_test(rf->items[0].u.test, interp, vars, a, &req, &e), TC_ERR_INPUT);
    assert_string_equal(e.msg, "trigger authentication type: unknown type \"scram\" (plain)");
    assert_int_equal(e.line, 9);
    res_file_free(&rf);
    static const char no_broker[] = "type: Test\nspec:\n  trigger:\n    type: kafka\n    kafka:\n"
                                    "      topic: t\n";
    assert_int_equal(res_load_buffer("t.yaml", no_broker, sizeof no_broker - 1, &rf, &e), 0);
    assert_int_equal(trigger_kafka_from_test(rf->items[0].u.test, interp, vars, a, &req, &e), TC_ERR_INPUT);
    assert_string_equal(e.msg, "trigger brokerUrls: missing");
    res_file_free(&rf);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_and_read_back),
        cmocka_unit_test(test_unreachable_broker),
        cmocka_unit_test(test_tls_against_plaintext_broker),
        cmocka_unit_test(test_security),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_tracetest_files),
        cmocka_unit_test(test_from_test_with_variables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
