/* json_decode.c - OTLP JSON decoding speed: otlp_json_decode (+ index and
 * free) against jansson's json_loadb + json_decref on the same generated
 * body, in spans per second, best of 3. Usage: json_decode [SPANS [ours]]
 * ("ours" skips jansson, for profiling).
 *
 * json_decref hands the DOM's small nodes back to malloc, and glibc merges
 * them later: on the first freed block of 64 KB or more, or else on the
 * next large request, whoever makes it. Below 82,000 spans here (a spans
 * array of 4,096 entries or fewer, jansson's largest block) that was the
 * next round's otlp_json_decode, which then paid more than twice its own
 * decoding time for jansson's frees. One large request right after
 * json_decref settles the heap; its time has a column of its own, so the
 * jansson figure stays comparable with earlier runs. */
#include "codec/codec.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void put_hex(tc_buf *b, size_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 2 * bytes; i++)
        buf_putc(b, hex[rnd(16)]);
}

static const char *words[] = {"users",  "orders", "items",  "id",     "name",  "total",
                              "status", "created", "amount", "region", "email", "cart"};

static void put_sql(tc_buf *b)
{
    size_t target = 60 + rnd(61), start = b->len;
    buf_puts(b, "SELECT ");
    while (b->len - start < target - 20) {
        buf_puts(b, words[rnd(12)]);
        buf_puts(b, ", ");
    }
    buf_printf(b, "x FROM %s WHERE id = ?", words[rnd(12)]);
}

static void put_attr(tc_buf *b, int i)
{
    buf_printf(b, "%s{\"key\":\"app.attr.%s.%d\",\"value\":", i ? "," : "", words[rnd(12)], i);
    switch (rnd(6)) {
    case 0:
        buf_printf(b, "{\"intValue\":\"%u\"}", rnd(100000));
        break;
    case 1:
        buf_printf(b, "{\"doubleValue\":%u.%u}", rnd(1000), rnd(100));
        break;
    case 2:
        buf_printf(b, "{\"boolValue\":%s}", rnd(2) ? "true" : "false");
        break;
    default:
        buf_printf(b, "{\"stringValue\":\"%s-%s-%u\"}", words[rnd(12)], words[rnd(12)], rnd(1000));
    }
    buf_putc(b, '}');
}

/* A body of about n spans: 20 services, traces of 10-40 spans. */
static void generate(tc_buf *b, int n)
{
    int per_service = n / 20;
    buf_puts(b, "{\"resourceSpans\":[");
    for (int s = 0; s < 20; s++) {
        buf_printf(b,
                   "%s{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
                   "\"stringValue\":\"service-%02d\"}},{\"key\":\"telemetry.sdk.language\","
                   "\"value\":{\"stringValue\":\"nodejs\"}},{\"key\":\"host.name\",\"value\":{"
                   "\"stringValue\":\"host-%d\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
                   "\"@opentelemetry/instrumentation-http\",\"version\":\"0.52.1\"},\"spans\":[",
                   s ? "," : "", s, s % 4);
        char tid[33] = "";
        char parent[17] = "";
        for (int k = 0; k < per_service; k++) {
            tc_buf id;
            buf_init(&id, 0);
            if (k % 25 == 0) {
                put_hex(&id, 16);
                memcpy(tid, id.ptr, 33);
                parent[0] = '\0';
            }
            buf_reset(&id);
            put_hex(&id, 8);
            uint64_t start = 1700000000000000000ull + (uint64_t)k * 1000000 + rnd(1000000);
            buf_printf(b, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"", k ? "," : "", tid, id.ptr);
            if (parent[0])
                buf_printf(b, ",\"parentSpanId\":\"%s\"", parent);
            memcpy(parent, id.ptr, 17);
            buf_free(&id);
            buf_printf(b,
                       ",\"name\":\"%s %s\",\"kind\":%u,\"startTimeUnixNano\":\"%llu\","
                       "\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
                       rnd(2) ? "GET" : "SELECT", words[rnd(12)], 1 + rnd(3),
                       (unsigned long long)start, (unsigned long long)(start + rnd(50000000)));
            buf_puts(b, "{\"key\":\"db.statement\",\"value\":{\"stringValue\":\"");
            put_sql(b);
            buf_puts(b, "\"}}");
            int na = 10 + (int)rnd(21);
            for (int i = 1; i < na; i++)
                put_attr(b, i);
            buf_puts(b, "]");
            if (rnd(10) == 0)
                buf_printf(b, ",\"events\":[{\"timeUnixNano\":\"%llu\",\"name\":\"exception\","
                              "\"attributes\":[{\"key\":\"exception.message\",\"value\":{"
                              "\"stringValue\":\"connection reset by peer\"}}]}]",
                           (unsigned long long)start + 100);
            buf_printf(b, ",\"status\":{\"code\":%u},\"flags\":257}", rnd(3));
        }
        buf_puts(b, "]}]}");
    }
    buf_puts(b, "]}");
}

/* Called through a volatile pointer so that the compiler keeps the
 * allocation below. */
static void *(*volatile settle_alloc)(size_t) = malloc;

/* Makes malloc merge the blocks freed so far (see the head comment). */
static void settle_heap(void)
{
    free(settle_alloc((size_t)64 << 10));
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < 20)
        n = 20;
    tc_buf body;
    buf_init(&body, 0);
    generate(&body, n);
    if (body.failed) {
        fprintf(stderr, "generator ran out of memory\n");
        return 1;
    }
    int spans = n / 20 * 20;
    int only_ours = argc > 2 && strcmp(argv[2], "ours") == 0;
    double best_ours = 1e9, best_jansson = 1e9, best_settle = 1e9;
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        trace_set *ts = trace_set_new(0);
        tc_error e;
        if (otlp_json_decode(ts, body.ptr, body.len, &e) || trace_set_index(ts)) {
            fprintf(stderr, "decode failed: %d:%d: %s\n", e.line, e.col, e.msg);
            return 1;
        }
        if (trace_set_span_count(ts) != (uint64_t)spans) {
            fprintf(stderr, "decoded %llu spans, want %d\n",
                    (unsigned long long)trace_set_span_count(ts), spans);
            return 1;
        }
        trace_set_free(&ts);
        double t1 = now();
        if (only_ours) {
            best_ours = t1 - t0 < best_ours ? t1 - t0 : best_ours;
            continue;
        }
        json_error_t je;
        json_t *j = json_loadb(body.ptr, body.len, 0, &je);
        if (!j) {
            fprintf(stderr, "jansson failed: %s\n", je.text);
            return 1;
        }
        json_decref(j);
        double t2 = now();
        settle_heap();
        double t3 = now();
        if (t1 - t0 < best_ours)
            best_ours = t1 - t0;
        if (t2 - t1 < best_jansson)
            best_jansson = t2 - t1;
        if (t3 - t2 < best_settle)
            best_settle = t3 - t2;
    }
    printf("body: %d spans, %.1f MB\n", spans, (double)body.len / 1e6);
    printf("otlp_json_decode+index+free: %10.0f spans/s  %7.1f MB/s\n", spans / best_ours,
           (double)body.len / 1e6 / best_ours);
    if (only_ours) {
        buf_free(&body);
        return 0;
    }
    printf("jansson json_loadb+decref:   %10.0f spans/s  %7.1f MB/s\n", spans / best_jansson,
           (double)body.len / 1e6 / best_jansson);
    printf("malloc settling jansson's frees: %.1f ms\n", best_settle * 1e3);
    printf("ratio: %.2fx (%.2fx counting the settling as jansson's)\n", best_jansson / best_ours,
           (best_jansson + best_settle) / best_ours);
    buf_free(&body);
    return 0;
}
