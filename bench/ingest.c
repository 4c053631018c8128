/* ingest.c - receiver throughput: the OTLP/HTTP receiver runs in-process on
 * an ephemeral 127.0.0.1 port; N client threads (libcurl, keep-alive) send
 * 512-span OTLP protobuf batches (synthetic spans from gen.h, a new trace
 * id per batch) until BATCHES batches were sent. Prints spans/s accepted
 * and decoded into the span store, for N = 1, 4, 16, and the share of the
 * wall time the receiver's threads spent on a CPU (their user + system time
 * from /proc, "MHD-*" threads; 100% = one core busy). */
#include "codec/codec.h"
#include "gen.h"
#include "receiver/otlp_http.h"

#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_SPANS 512
#define BODIES 32      /* distinct prebuilt bodies (trace ids differ) */
#define BATCHES 2000   /* per measurement, split across the connections */

typedef struct body {
    uint8_t *p;
    size_t len;
} body;

static body bodies[BODIES];

typedef struct client {
    int port;
    int first, count;
    int failures;
} client;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static void *run_client(void *arg)
{
    client *c = arg;
    CURL *h = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/traces", c->port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    for (int i = 0; i < c->count; i++) {
        const body *b = &bodies[(c->first + i) % BODIES];
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->p);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
        long status = 0;
        if (curl_easy_perform(h) != CURLE_OK ||
            (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), status != 200))
            c->failures++;
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

/* CPU seconds used so far by this process's libmicrohttpd threads (named
 * "MHD-..."); -1 when /proc cannot tell. */
static double receiver_cpu(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    long ticks = sysconf(_SC_CLK_TCK);
    double sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], comm[64] = "", line[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "MHD-", 4) != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        char *close_paren = fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
        fclose(f);
        unsigned long long ut, st;
        /* fields after "pid (comm)": state ... utime is the 12th, stime the 13th */
        if (close_paren && sscanf(close_paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                  &ut, &st) == 2)
            sum += (double)(ut + st) / (double)ticks;
    }
    closedir(d);
    return sum;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    size_t total_bytes = 0;
    for (int i = 0; i < BODIES; i++) {
        trace_set *ts = gen_trace_set(BATCH_SPANS, 1000 + (uint64_t)i);
        tc_buf b;
        buf_init(&b, 0);
        if (!ts || otlp_pb_encode(ts, &b)) {
            fprintf(stderr, "cannot build the batches\n");
            return 1;
        }
        bodies[i].len = b.len;
        bodies[i].p = (uint8_t *)buf_detach(&b);
        total_bytes += bodies[i].len;
        trace_set_free(&ts);
    }
    printf("%d-span OTLP protobuf batches of about %.0f KB, %d batches a row\n", BATCH_SPANS,
           (double)total_bytes / BODIES / 1e3, BATCHES);
    printf("%-12s %10s %12s %10s %14s %9s\n", "connections", "seconds", "spans/s", "MB/s", "receiver CPU", "failures");
    const int conns[] = {1, 4, 16};
    int rc = 0;
    for (size_t k = 0; k < sizeof conns / sizeof conns[0]; k++) {
        spanbuf *buf = spanbuf_new((size_t)1 << 30);
        tc_error e;
        recv_http *r = recv_http_start("127.0.0.1:0", buf, NULL, &e);
        if (!r) {
            fprintf(stderr, "receiver: %s\n", e.msg);
            return 1;
        }
        int n = conns[k];
        pthread_t th[16];
        client cl[16];
        double t0 = now(), cpu0 = receiver_cpu();
        for (int i = 0; i < n; i++) {
            cl[i] = (client){recv_http_port(r), i * (BATCHES / n), BATCHES / n, 0};
            pthread_create(&th[i], NULL, run_client, &cl[i]);
        }
        int failures = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
            failures += cl[i].failures;
        }
        double secs = now() - t0, cpu = receiver_cpu() - cpu0;
        spanbuf_stats st;
        spanbuf_get_stats(buf, &st);
        uint64_t spans = st.spans_accepted + st.spans_rejected;
        char share[32] = "n/a";
        if (cpu0 >= 0)
            snprintf(share, sizeof share, "%.0f%%", 100 * cpu / secs);
        printf("%-12d %10.2f %12.0f %10.1f %14s %9d\n", n, secs, (double)spans / secs,
               (double)total_bytes / BODIES * BATCHES / secs / 1e6, share, failures);
        if (failures)
            rc = 1;
        recv_http_stop(&r);
        spanbuf_free(&buf);
    }
    for (int i = 0; i < BODIES; i++)
        free(bodies[i].p);
    curl_global_cleanup();
    return rc;
}
