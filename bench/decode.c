/* decode.c - decoding throughput: a synthetic set of 100k spans encoded as
 * OTLP protobuf, decoded (1) by protobuf-c alone with its default malloc
 * allocator and (2) by otlp_pb_decode into the trace model, indexed and
 * freed. Prints spans/s per row, best of 3 runs. One function a row. */
#include "codec/codec.h"
#include "gen.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

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

int main(void)
{
    trace_set *ts = gen_trace_set(BENCH_SPANS, 42);
    tc_buf pb;
    buf_init(&pb, 0);
    if (!ts || otlp_pb_encode(ts, &pb)) {
        fprintf(stderr, "cannot build the benchmark body\n");
        return 1;
    }
    body b = {(const uint8_t *)pb.ptr, pb.len, trace_set_span_count(ts)};
    trace_set_free(&ts);
    printf("%llu spans, OTLP protobuf body of %.1f MB\n", (unsigned long long)b.spans,
           (double)b.len / 1e6);

    double base = best_rate(row_protobuf_c, &b);
    double model = best_rate(row_otlp_pb, &b);
    printf("%-48s %14s %8s\n", "decoder", "spans/s", "ratio");
    printf("%-48s %14.0f %8s\n", "protobuf-c unpack + free_unpacked (malloc)", base, "1.00");
    printf("%-48s %14.0f %8.2f\n", "otlp_pb_decode + trace_set_index + free", model,
           base > 0 ? model / base : 0);
    buf_free(&pb);
    return base > 0 && model > 0 ? 0 : 1;
}
