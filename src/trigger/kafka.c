/* kafka.c - the Kafka trigger: building the request from a test, producing
 * one message with librdkafka and waiting for its delivery report (see
 * kafka.h). */
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REASON 512

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

/* ---- building the request ---- */

/* Places an error set by the caller at line:col; returns TC_ERR_INPUT. */
static int located(tc_error *e, int line, int col)
{
    e->line = line;
    e->col = col;
    return TC_ERR_INPUT;
}

int trigger_kafka_from_test(const res_test *t, trigger_interp_fn interp, void *user, arena *a,
                            trigger_kafka_request *out, tc_error *e)
{
    memset(out, 0, sizeof *out);
    const __typeof__(t->trigger.kafka) *k = &t->trigger.kafka;
    int rc;
    out->brokers = arena_calloc(a, k->n_broker_urls ? k->n_broker_urls : 1, sizeof *out->brokers);
    out->headers = arena_calloc(a, k->n_headers ? k->n_headers : 1, sizeof *out->headers);
    if (!out->brokers || !out->headers)
        return tc_error_set(e, TC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k->n_broker_urls; i++) {
        const char *b;
        if ((rc = trigger_field(interp, user, a, &k->broker_urls[i], "brokerUrls", &b, e)))
            return rc;
        if (b && *b)
            out->brokers[out->n_brokers++] = b;
    }
    if (!out->n_brokers) {
        tc_error_set(e, TC_ERR_INPUT, "trigger brokerUrls: missing");
        return located(e, t->trigger.type_name.line, t->trigger.type_name.col);
    }
    if ((rc = trigger_field(interp, user, a, &k->topic, "topic", &out->topic, e)) ||
        (rc = trigger_field(interp, user, a, &k->message_key, "messageKey", &out->key, e)) ||
        (rc = trigger_field(interp, user, a, &k->message_value, "messageValue", &out->value, e)))
        return rc;
    if (!out->topic || !*out->topic) {
        const res_str *at = k->topic.s ? &k->topic : &t->trigger.type_name;
        tc_error_set(e, TC_ERR_INPUT, "trigger topic: missing");
        return located(e, at->line, at->col);
    }
    for (size_t i = 0; i < k->n_headers; i++) {
        trigger_kv *kv = &out->headers[out->n_headers];
        if ((rc = trigger_field(interp, user, a, &k->headers[i].key, "header key", &kv->key, e)) ||
            (rc = trigger_field(interp, user, a, &k->headers[i].value, "header value", &kv->value, e)))
            return rc;
        if (kv->key && *kv->key) {
            if (!kv->value)
                kv->value = "";
            out->n_headers++;
        }
    }
    /* Tracetest authenticates whenever authentication.plain is given, and
     * the API knows no other type */
    const char *type = NULL;
    if ((rc = trigger_field(interp, user, a, &k->auth_type, "authentication type", &type, e)))
        return rc;
    if (type && *type && strcasecmp(type, "plain") != 0) {
        tc_error_set(e, TC_ERR_INPUT, "trigger authentication type: unknown type \"%s\" (plain)", type);
        return located(e, k->auth_type.line, k->auth_type.col);
    }
    if (k->auth_username.s || k->auth_password.s) {
        out->auth_type = "plain";
        if ((rc = trigger_field(interp, user, a, &k->auth_username, "authentication username", &out->user, e)) ||
            (rc = trigger_field(interp, user, a, &k->auth_password, "authentication password", &out->password, e)))
            return rc;
    }
    /* Tracetest's sslVerification switches TLS on (off by default) */
    out->ssl_verification = k->ssl_verification.set && k->ssl_verification.v;
    return 0;
}

/* ---- security ---- */

size_t trigger_kafka_security(const trigger_kafka_request *req, trigger_kv out[5])
{
    bool tls = req->ssl_verification;
    bool sasl = req->auth_type != NULL;
    size_t n = 0;
    out[n++] = (trigger_kv){"security.protocol",
                            tls ? (sasl ? "sasl_ssl" : "ssl") : (sasl ? "sasl_plaintext" : "plaintext")};
    /* only read when TLS is used, which is exactly when verification is asked for */
    out[n++] = (trigger_kv){"enable.ssl.certificate.verification", req->ssl_verification ? "true" : "false"};
    if (sasl) {
        out[n++] = (trigger_kv){"sasl.mechanisms", "PLAIN"};
        out[n++] = (trigger_kv){"sasl.username", req->user ? req->user : ""};
        out[n++] = (trigger_kv){"sasl.password", req->password ? req->password : ""};
    }
    return n;
}

/* ---- producing ---- */

typedef struct produce_state {
    bool delivered;          /* the delivery report arrived */
    rd_kafka_resp_err_t err; /* its error */
    int32_t partition;
    int64_t offset;
    char reason[MAX_REASON];      /* the first connection-level error librdkafka reported */
    char last_reason[MAX_REASON]; /* the latest one */
} produce_state;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    produce_state *s = opaque;
    s->delivered = true;
    s->err = m->err;
    s->partition = m->partition;
    s->offset = m->offset;
}

/* Served by rd_kafka_poll on the calling thread. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    produce_state *s = opaque;
    if (!*s->reason && err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        snprintf(s->reason, sizeof s->reason, "%s", reason);
    snprintf(s->last_reason, sizeof s->last_reason, "%s", reason);
}

/* librdkafka logs to stderr by default; its errors reach on_error. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static void fail(trigger_result *r, tc_buf *msg)
{
    r->ok = false;
    r->error = msg->failed ? strdup("kafka: out of memory") : buf_detach(msg);
}

static void brokers_list(const trigger_kafka_request *req, tc_buf *b)
{
    for (size_t i = 0; i < req->n_brokers; i++)
        buf_printf(b, "%s%s", i ? "," : "", req->brokers[i]);
}

static int set_prop(rd_kafka_conf_t *conf, const char *k, const char *v, tc_buf *msg)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
        return 0;
    buf_printf(msg, "kafka: cannot set %s: %s", k, errstr);
    return -1;
}

static bool header_replaced(const trigger_kafka_request *req, size_t i, bool b3)
{
    const char *k = req->headers[i].key;
    if (strcmp(k, "traceparent") == 0 || (b3 && strcmp(k, "b3") == 0))
        return true;
    /* a later header of the same key wins, as in Tracetest's header map */
    if (req->n_headers > 1000)
        return false;
    for (size_t j = i + 1; j < req->n_headers; j++)
        if (strcmp(req->headers[j].key, k) == 0)
            return true;
    return false;
}

static int add_attr(trigger_result *r, const char *k, const char *v)
{
    trigger_kv *a = realloc(r->attrs, (r->n_attrs + 1) * sizeof *a);
    if (!a)
        return -1;
    r->attrs = a;
    char *kk = strdup(k), *vv = strdup(v);
    if (!kk || !vv) {
        free(kk);
        free(vv);
        return -1;
    }
    r->attrs[r->n_attrs++] = (trigger_kv){kk, vv};
    return 0;
}

void trigger_kafka_run(const trigger_kafka_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                       const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out)
{
    memset(out, 0, sizeof *out);
    out->start_ns = trigger_unix_ns();
    uint64_t t0 = mono_ms();
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : (long)TRIGGER_DEFAULT_TIMEOUT_MS;
    tc_buf msg, brokers;
    buf_init(&msg, 1 << 16);
    buf_init(&brokers, 1 << 16);
    brokers_list(req, &brokers);
    produce_state st = {0};
    rd_kafka_t *rk = NULL;
    rd_kafka_headers_t *hdrs = NULL;

    if (!req->n_brokers || !req->topic || !*req->topic) {
        buf_puts(&msg, "kafka: no broker or no topic");
        goto failed;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char num[32], conn_ms[32];
    snprintf(num, sizeof num, "%ld", timeout);
    snprintf(conn_ms, sizeof conn_ms, "%ld",
             timeout < TRIGGER_CONNECT_TIMEOUT_MS ? (timeout < 1000 ? 1000 : timeout)
                                                  : TRIGGER_CONNECT_TIMEOUT_MS);
    trigger_kv sec[5];
    size_t n_sec = trigger_kafka_security(req, sec);
    const trigger_kv props[] = {
        {"bootstrap.servers", buf_str(&brokers)},
        {"client.id", "tracecheck"},
        {"acks", "all"},                 /* Tracetest: WaitForAll */
        {"retries", "5"},                /* TRIGGER_KAFKA_MAX_RETRIES */
        {"partitioner", "fnv1a_random"}, /* Sarama's hash partitioner */
        {"linger.ms", "0"},
        {"message.timeout.ms", num},
        {"socket.connection.setup.timeout.ms", conn_ms},
    };
    _Static_assert(TRIGGER_KAFKA_MAX_RETRIES == 5, "retries above");
    bool conf_ok = true;
    for (size_t i = 0; conf_ok && i < sizeof props / sizeof props[0]; i++)
        conf_ok = set_prop(conf, props[i].key, props[i].value, &msg) == 0;
    for (size_t i = 0; conf_ok && i < n_sec; i++)
        conf_ok = set_prop(conf, sec[i].key, sec[i].value, &msg) == 0;
    if (!conf_ok) {
        rd_kafka_conf_destroy(conf);
        goto failed;
    }
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    char errstr[512];
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf); /* still ours when rd_kafka_new fails */
        buf_printf(&msg, "kafka: cannot create a producer for %s: %s", buf_str(&brokers), errstr);
        goto failed;
    }

    char tid[2 * TRACE_ID_LEN + 1], sid[2 * SPAN_ID_LEN + 1], tp[128];
    hex_encode(trace_id, TRACE_ID_LEN, tid);
    hex_encode(span_id, SPAN_ID_LEN, sid);
    hdrs = rd_kafka_headers_new(req->n_headers + 2);
    for (size_t i = 0; i < req->n_headers; i++)
        if (!header_replaced(req, i, b3))
            rd_kafka_header_add(hdrs, req->headers[i].key, -1,
                                req->headers[i].value ? req->headers[i].value : "", -1);
    snprintf(tp, sizeof tp, "00-%s-%s-01", tid, sid);
    rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    if (b3) {
        snprintf(tp, sizeof tp, "%s-%s-1", tid, sid);
        rd_kafka_header_add(hdrs, "b3", -1, tp, -1);
    }
    const char *value = req->value ? req->value : "";
    rd_kafka_resp_err_t perr = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(req->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(req->key, req->key ? strlen(req->key) : 0),
        RD_KAFKA_V_VALUE((void *)value, strlen(value)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (perr) {
        buf_printf(&msg, "kafka: cannot produce to topic \"%s\" on %s: %s", req->topic, buf_str(&brokers),
                   rd_kafka_err2str(perr));
        goto failed; /* the headers are still ours */
    }
    hdrs = NULL; /* the message's now */

    uint64_t deadline = t0 + (uint64_t)timeout;
    for (uint64_t now = mono_ms(); !st.delivered && now < deadline; now = mono_ms()) {
        uint64_t left = deadline - now;
        rd_kafka_poll(rk, left < 100 ? (int)left : 100);
    }
    bool timed_out = false;
    if (!st.delivered) {
        timed_out = true;
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0);
    }
    out->end_ns = trigger_unix_ns();
    if (st.delivered && !st.err) {
        char part[24], off[24];
        snprintf(part, sizeof part, "%d", (int)st.partition);
        snprintf(off, sizeof off, "%lld", (long long)st.offset);
        tc_buf body;
        buf_init(&body, 1 << 10);
        /* as Tracetest's web UI shows a Kafka response: JSON, 4 spaces */
        buf_printf(&body, "{\n    \"offset\": \"%s\",\n    \"partition\": \"%s\"\n}", off, part);
        out->body_len = body.len;
        out->body = buf_detach(&body);
        buf_free(&body);
        if (!out->body || add_attr(out, "tracetest.run.trigger.kafka.partition", part) != 0 ||
            add_attr(out, "tracetest.run.trigger.kafka.offset", off) != 0) {
            buf_puts(&msg, "kafka: out of memory");
            goto failed;
        }
        out->ok = true;
        out->status = 0;
        goto done;
    }
    if (timed_out || st.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        buf_printf(&msg, "kafka: no acknowledgement from %s for topic \"%s\" within %ld ms",
                   buf_str(&brokers), req->topic, timeout);
    else
        buf_printf(&msg, "kafka: %s refused the message for topic \"%s\": %s", buf_str(&brokers), req->topic,
                   rd_kafka_err2str(st.err));
    if (*st.reason || *st.last_reason)
        buf_printf(&msg, " (%s)", *st.reason ? st.reason : st.last_reason);
    else if (timed_out || st.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        buf_printf(&msg, " (%s)", rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));

failed:
    if (!out->end_ns)
        out->end_ns = trigger_unix_ns();
    fail(out, &msg);
    free(out->body); /* no partial result */
    out->body = NULL;
    out->body_len = 0;
    for (size_t i = 0; i < out->n_attrs; i++) {
        free((char *)out->attrs[i].key);
        free((char *)out->attrs[i].value);
    }
    free(out->attrs);
    out->attrs = NULL;
    out->n_attrs = 0;
done:
    if (!out->body)
        out->body = calloc(1, 1);
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    if (rk)
        rd_kafka_destroy(rk);
    buf_free(&msg);
    buf_free(&brokers);
}

/* ---- describing ---- */

static bool is_secret_header(const char *key)
{
    return strcasecmp(key, "authorization") == 0 || strcasecmp(key, "proxy-authorization") == 0 ||
           strcasecmp(key, "x-api-key") == 0 || strcasecmp(key, "api-key") == 0 ||
           strcasecmp(key, "cookie") == 0;
}

int trigger_kafka_describe(const trigger_kafka_request *req, tc_buf *out)
{
    buf_puts(out, "KAFKA ");
    brokers_list(req, out);
    buf_printf(out, " topic %s", req->topic ? req->topic : "");
    if (req->key)
        buf_printf(out, "\nkey: %s", req->key);
    buf_printf(out, "\nvalue: %zu bytes", req->value ? strlen(req->value) : (size_t)0);
    for (size_t i = 0; i < req->n_headers; i++)
        buf_printf(out, "\n%s: %s", req->headers[i].key,
                   is_secret_header(req->headers[i].key) ? "****" : req->headers[i].value);
    trigger_kv sec[5];
    trigger_kafka_security(req, sec);
    buf_printf(out, "\nsecurity: %s", sec[0].value);
    if (req->auth_type)
        buf_printf(out, "\nauth: plain %s:****", req->user ? req->user : "");
    return out->failed ? TC_ERR_NOMEM : 0;
}
