/* decode.c - decoding throughput: a synthetic set of 100k spans encoded as
 * OTLP protobuf and as OTLP JSON; each body decoded by the reference
 * library alone (protobuf-c's unpack with its default malloc allocator;
 * jansson's json_loadb) and by tracecheck into the trace model, indexed and
 * freed. Prints spans/s per row, best of 3 runs. One function a row. */
#include "codec/codec.h"
#include "gen.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_SPANS 100000
#define BENCH_RUNS 3

typedef struct body {
    const uint8_t *p;
    size_t len;
    uint64_t spans;
} body;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One timed run of a row; returns seconds, or a negative value on failure. */
typedef double (*row_fn)(const body *b);

static double row_protobuf_c(const body *b)
{
    double t0 = now();
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, b->len, b->p);
    if (!req)
        return -1;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                           NULL);
    return now() - t0;
}

static double row_otlp_pb(const body *b)
{
    double t0 = now();
    trace_set *ts = trace_set_new(0);
    tc_error e;
    if (!ts || otlp_pb_decode(ts, b->p, b->len, &e) || trace_set_index(ts) ||
        trace_set_span_count(ts) != b->spans) {
        trace_set_free(&ts);
        return -1;
    }
    trace_set_free(&ts);
    return now() - t0;
}

static double row_jansson(const body *b)
{
    double t0 = now();
    json_error_t err;
    json_t *root = json_loadb((const char *)b->p, b->len, 0, &err);
    if (!root)
        return -1;
    json_decref(root);
    return now() - t0;
}

static double row_otlp_json(const body *b)
{
    double t0 = now();
    trace_set *ts = trace_set_new(0);
    tc_error e;
    if (!ts || otlp_json_decode(ts, (const char *)b->p, b->len, &e) || trace_set_index(ts) ||
        trace_set_span_count(ts) != b->spans) {
        trace_set_free(&ts);
        return -1;
    }
    trace_set_free(&ts);
    return now() - t0;
}

/* Best of BENCH_RUNS runs, in spans per second (0 on failure). */
static double best_rate(row_fn fn, const body *b)
{
    double best = -1;
    for (int i = 0; i < BENCH_RUNS; i++) {
        double s = fn(b);
        if (s < 0)
            return 0;
        if (best < 0 || s < best)
            best = s;
    }
    return (double)b->spans / best;
}

static void row(const char *name, double rate, double base)
{
    printf("%-48s %14.0f %8.2f\n", name, rate, base > 0 ? rate / base : 0);
}

int main(void)
{
    trace_set *ts = gen_trace_set(BENCH_SPANS, 42);
    tc_buf pb, js;
    buf_init(&pb, 0);
    buf_init(&js, 0);
    if (!ts || otlp_pb_encode(ts, &pb) || otlp_json_encode(ts, &js)) {
        fprintf(stderr, "cannot build the benchmark bodies\n");
        return 1;
    }
    uint64_t spans = trace_set_span_count(ts);
    trace_set_free(&ts);
    body b = {(const uint8_t *)pb.ptr, pb.len, spans};
    body j = {(const uint8_t *)js.ptr, js.len, spans};
    printf("%llu spans: OTLP protobuf body %.1f MB, OTLP JSON body %.1f MB\n", (unsigned long long)spans,
           (double)b.len / 1e6, (double)j.len / 1e6);

    double pb_base = best_rate(row_protobuf_c, &b);
    double pb_model = best_rate(row_otlp_pb, &b);
    double js_base = best_rate(row_jansson, &j);
    double js_model = best_rate(row_otlp_json, &j);
    printf("%-48s %14s %8s\n", "decoder", "spans/s", "ratio");
    row("protobuf-c unpack + free_unpacked (malloc)", pb_base, pb_base);
    row("otlp_pb_decode + trace_set_index + free", pb_model, pb_base);
    row("jansson json_loadb + json_decref (DOM)", js_base, js_base);
    row("otlp_json_decode + trace_set_index + free", js_model, js_base);
    printf("targets: protobuf >= 2.00x protobuf-c, JSON >= 4.00x jansson\n");
    buf_free(&pb);
    buf_free(&js);
    return pb_base > 0 && pb_model > 0 && js_base > 0 && js_model > 0 ? 0 : 1;
}
