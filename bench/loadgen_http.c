/* loadgen_http.c - OTLP/HTTP load generator, a process of its own so that a
 * benchmark measures the receiver and not its client.
 *
 *   loadgen_http --port P --conns N --batches B [--spans S] [--gzip]
 *
 * Sends B POST /v1/traces requests in total over N keep-alive connections
 * to 127.0.0.1:P (libcurl multi, one request in flight per connection),
 * each an ExportTraceServiceRequest of S synthetic spans (default 512) in
 * protobuf, built once from gen.h with a different trace id per body.
 * Every answer must be 200. Prints exactly one line:
 *   requests=N spans=N bytes=N seconds=F p50_ms=F p99_ms=F failures=N
 * (bytes: request bodies sent; per-request time from start to the answer
 * read). Exit 0 when nothing failed, 1 when something did, 2 on bad usage. */
#include "codec/codec.h"
#include "core/buf.h"
#include "gen.h"

#include <curl/curl.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODIES 64

typedef struct body {
    uint8_t *p;
    size_t len;
} body;

typedef struct slot {
    CURL *h;
    double started;
} slot;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* gzip of p[0..n) into a new buffer; 0 or -1. */
static int gz(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    *out = malloc(cap);
    if (!*out)
        return -1;
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen_http --port P --conns N --batches B [--spans S] [--gzip]\n");
    return 2;
}

int main(int argc, char **argv)
{
    long port = 0, conns = 1, batches = 0, spans = 512;
    bool gzip = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--gzip") == 0) {
            gzip = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        long v = strtol(argv[++i], NULL, 10);
        if (strcmp(a, "--port") == 0)
            port = v;
        else if (strcmp(a, "--conns") == 0)
            conns = v;
        else if (strcmp(a, "--batches") == 0)
            batches = v;
        else if (strcmp(a, "--spans") == 0)
            spans = v;
        else
            return usage();
    }
    if (port <= 0 || port > 65535 || conns < 1 || conns > 1024 || batches < 1 || spans < 1 || spans > 100000)
        return usage();

    static body bodies[BODIES];
    size_t nbodies = (size_t)batches < BODIES ? (size_t)batches : BODIES;
    for (size_t i = 0; i < nbodies; i++) {
        trace_set *ts = gen_trace_set((uint32_t)spans, 7000 + (uint64_t)i);
        tc_buf b;
        buf_init(&b, 0);
        if (!ts || otlp_pb_encode(ts, &b)) {
            fprintf(stderr, "loadgen_http: cannot build the bodies\n");
            return 1;
        }
        trace_set_free(&ts);
        bodies[i].len = b.len;
        bodies[i].p = (uint8_t *)buf_detach(&b);
        if (gzip) {
            uint8_t *z = NULL;
            size_t zn = 0;
            if (gz(bodies[i].p, bodies[i].len, &z, &zn)) {
                fprintf(stderr, "loadgen_http: gzip failed\n");
                return 1;
            }
            free(bodies[i].p);
            bodies[i].p = z;
            bodies[i].len = zn;
        }
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/v1/traces", port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    hd = curl_slist_append(hd, "Expect:");
    if (gzip)
        hd = curl_slist_append(hd, "Content-Encoding: gzip");
    slot *slots = calloc((size_t)conns, sizeof *slots);
    double *lat = calloc((size_t)batches, sizeof *lat);
    if (!slots || !lat)
        return 1;
    long sent = 0, done = 0, failures = 0;
    size_t bytes = 0;
    double t0 = now();
    for (long i = 0; i < conns && sent < batches; i++) {
        CURL *h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &slots[i]);
        slots[i].h = h;
        const body *b = &bodies[(size_t)sent % nbodies];
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->p);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
        bytes += b->len;
        sent++;
        slots[i].started = now();
        curl_multi_add_handle(m, h);
    }
    while (done < batches) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            slot *s = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&s);
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status != 200)
                failures++;
            lat[done++] = (now() - s->started) * 1e3;
            curl_multi_remove_handle(m, h);
            if (sent < batches) {
                const body *b = &bodies[(size_t)sent % nbodies];
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->p);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
                bytes += b->len;
                sent++;
                s->started = now();
                curl_multi_add_handle(m, h);
            }
        }
        if (done < batches)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = now() - t0;
    qsort(lat, (size_t)batches, sizeof *lat, cmp_double);
    printf("requests=%ld spans=%ld bytes=%zu seconds=%.3f p50_ms=%.2f p99_ms=%.2f failures=%ld\n", batches,
           batches * spans, bytes, secs, lat[(size_t)(batches - 1) / 2], lat[(size_t)((batches - 1) * 99 / 100)],
           failures);
    for (long i = 0; i < conns; i++)
        if (slots[i].h)
            curl_easy_cleanup(slots[i].h);
    curl_multi_cleanup(m);
    curl_slist_free_all(hd);
    curl_global_cleanup();
    for (size_t i = 0; i < nbodies; i++)
        free(bodies[i].p);
    free(slots);
    free(lat);
    return failures ? 1 : 0;
}
