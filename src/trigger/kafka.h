/* kafka.h - the Kafka trigger: one message produced with librdkafka,
 * carrying W3C trace context in its headers, acknowledged by the broker.
 *
 * As Tracetest's kafka trigger: TLS exactly when sslVerification is true
 * (then the broker certificate is verified), SASL PLAIN when the test has
 * authentication.plain credentials, acks from all in-sync replicas, at most
 * 5 retries, keys hashed with FNV-1a as Sarama's default partitioner. The
 * result has no status, headers or response body of its own (Tracetest sets
 * tracetest.response.* for http and grpc only); the partition and offset
 * become the attributes tracetest.run.trigger.kafka.partition and
 * tracetest.run.trigger.kafka.offset.
 *
 * Ownership: a trigger_kafka_request's strings and arrays live in the arena
 * given to trigger_kafka_from_test (or are the caller's); a trigger_result
 * owns its heap memory (free it with trigger_result_free). */
#ifndef TC_TRIGGER_KAFKA_H
#define TC_TRIGGER_KAFKA_H

#include "trigger.h"

#define TRIGGER_KAFKA_MAX_RETRIES 5 /* Tracetest's producer retries */

typedef struct trigger_kafka_request {
    const char **brokers; /* brokerUrls: host:port */
    size_t n_brokers;
    const char *topic;
    const char *key;   /* messageKey, NULL: none */
    const char *value; /* messageValue, NULL: empty */
    trigger_kv *headers;
    size_t n_headers;
    bool ssl_verification;       /* sslVerification: TLS, with the certificate verified */
    const char *auth_type;       /* "plain" or NULL: none */
    const char *user, *password; /* authentication.plain */
    long timeout_ms;             /* 0: TRIGGER_DEFAULT_TIMEOUT_MS */
} trigger_kafka_request;

/* Builds the request of test t's kafka trigger, every field (broker URLs,
 * topic, key, value, header keys and values, credentials) interpolated.
 * Authentication is "plain" when authentication.plain has a username or a
 * password. Headers with an empty key are dropped. Returns 0, or
 * TC_ERR_INPUT with e naming the field, its line:col in the test file and
 * what failed (an unresolved variable, no broker, no topic, an
 * authentication type other than plain), or TC_ERR_NOMEM. */
int trigger_kafka_from_test(const res_test *t, trigger_interp_fn interp, void *user, arena *a,
                            trigger_kafka_request *out, tc_error *e);

/* The librdkafka properties for the connection's security, as Tracetest
 * decides it: security.protocol (plaintext, ssl, sasl_plaintext or
 * sasl_ssl), enable.ssl.certificate.verification, and with SASL
 * sasl.mechanisms=PLAIN, sasl.username and sasl.password. Fills out[] (keys
 * static, values static or the request's) and returns how many (at most
 * 5). */
size_t trigger_kafka_security(const trigger_kafka_request *req, trigger_kv out[5]);

/* Produces one message to req->topic with the request's headers plus
 * `traceparent: 00-<trace>-<span>-01` (and, when b3, `b3: <trace>-<span>-1`;
 * a request header of the same name is replaced, as Tracetest's propagators
 * do) and waits for the broker's acknowledgement within the timeout. Always
 * fills *out: ok with status 0, no headers, body {"offset": "O",
 * "partition": "P"} (as Tracetest shows a Kafka response) and the attrs
 * tracetest.run.trigger.kafka.partition and .offset; or !ok with an error
 * naming the brokers and librdkafka's reason (no acknowledgement within
 * the timeout, including unreachable brokers, is an error). */
void trigger_kafka_run(const trigger_kafka_request *req, const uint8_t trace_id[TRACE_ID_LEN],
                       const uint8_t span_id[SPAN_ID_LEN], bool b3, trigger_result *out);

/* Describes the request for reports and logs: brokers, topic, key, the
 * value's size, headers (Authorization-like values masked), security, and
 * the SASL user with the password masked. Appends to out; returns 0 or
 * TC_ERR_NOMEM / TC_ERR_LIMIT from the buffer. */
int trigger_kafka_describe(const trigger_kafka_request *req, tc_buf *out);

#endif
