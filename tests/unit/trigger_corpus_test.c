/* trigger_corpus_test.c - every Test of Tracetest's public corpus with a
 * grpc, graphql or kafka trigger builds its request (variables resolved to
 * a placeholder): the gRPC ones also parse their .proto, find the method
 * and map the request JSON onto its input message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "resource/resource.h"
#include "trigger/grpc.h"
#include "trigger/kafka.h"
#include "trigger/protodyn.h"
#include "trigger/trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const files[] = {
    "examples/quick-start-go-and-kafka/resources/test.yaml",
    "examples/quick-start-grpc-stream-propagation/trace-based-test.yaml",
    "examples/tracetest-jaeger-graphql-pokeshop/resources/test.yaml",
    "examples/tracetesting-event-driven-systems/test-payment-order-submit-with-message.yaml",
    "examples/tracetesting-event-driven-systems/test-risk-analysis-using-order-with-high-value.yaml",
    "examples/tracetesting-event-driven-systems/test-risk-analysis-using-order-with-low-value.yaml",
    "testing/cli-e2etest/testscenarios/test/resources/grpc-trigger-embedded-protobuf-with-comment.yaml",
    "testing/cli-e2etest/testscenarios/test/resources/grpc-trigger-embedded-protobuf.yaml",
    "testing/cli-e2etest/testscenarios/test/resources/grpc-trigger-reference-protobuf.yaml",
    "testing/cli-e2etest/testscenarios/test/resources/kafka-trigger.yaml",
    "testing/synthetic-monitoring/pokeshop/03-import-pokemon-with-stream.yaml",
};

/* Every ${...} becomes "host:9092" (a broker, an address, a value). */
static int interp(void *user, const char *s, arena *a, const char **out, tc_error *e)
{
    (void)user;
    (void)e;
    tc_buf b;
    buf_init(&b, 0);
    for (const char *p = s; *p;) {
        const char *open = strstr(p, "${"), *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        buf_puts(&b, "host:9092");
        p = close + 1;
    }
    *out = arena_strdup(a, buf_str(&b));
    buf_free(&b);
    return 0;
}

static void test_corpus(void **state)
{
    (void)state;
    const char *data = getenv("TC_DATA") ? getenv("TC_DATA") : "tests/data";
    int seen[3] = {0, 0, 0}; /* grpc, graphql, kafka */
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tracetest-resources/%s", data, files[i]);
        res_file *f = NULL;
        tc_error e;
        memset(&e, 0, sizeof e);
        if (res_load_file(path, &f, &e) != 0)
            fail_msg("%s: %d:%d: %s", path, e.line, e.col, e.msg);
        arena *a = arena_new(0);
        for (size_t k = 0; k < f->n_items; k++) {
            if (f->items[k].kind != RES_TEST)
                continue;
            const res_test *t = f->items[k].u.test;
            int rc = 0;
            switch (t->trigger.type) {
            case RES_TRIG_GRPC: {
                trigger_grpc_request rq;
                rc = trigger_grpc_from_test(t, f->base_dir, interp, NULL, a, &rq, &e);
                if (rc)
                    break;
                assert_non_null(rq.address);
                protodyn *p = NULL;
                rc = protodyn_load(rq.proto_name, rq.proto_text, rq.proto_dir, &p, &e);
                char *mpath = NULL;
                bool ss = false, cs = false;
                if (!rc)
                    rc = protodyn_method(p, rq.method, &mpath, &ss, &cs, &e);
                tc_buf msg;
                buf_init(&msg, 0);
                if (!rc && rq.request)
                    rc = protodyn_encode_request(p, rq.method, rq.request, strlen(rq.request), &msg, &e);
                buf_free(&msg);
                free(mpath);
                protodyn_free(&p);
                seen[0]++;
                break;
            }
            case RES_TRIG_GRAPHQL: {
                trigger_http_request rq;
                rc = trigger_graphql_from_test(t, f->base_dir, interp, NULL, a, &rq, &e);
                if (!rc) {
                    assert_string_equal(rq.method, "POST");
                    assert_non_null(strstr(rq.body, "\"query\":"));
                }
                seen[1]++;
                break;
            }
            case RES_TRIG_KAFKA: {
                trigger_kafka_request rq;
                rc = trigger_kafka_from_test(t, interp, NULL, a, &rq, &e);
                if (!rc) {
                    assert_true(rq.n_brokers > 0);
                    assert_non_null(rq.topic);
                }
                seen[2]++;
                break;
            }
            default:
                break;
            }
            if (rc)
                fail_msg("%s: %d:%d: %s", path, e.line, e.col, e.msg);
        }
        arena_free(&a);
        res_file_free(&f);
    }
    assert_int_equal(seen[0], 4);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
