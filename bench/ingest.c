/* ingest.c - receiver throughput. This process runs the OTLP/HTTP and
 * OTLP/gRPC receivers (as `tracecheck run` does: one span store, ephemeral
 * 127.0.0.1 ports); the load comes from other processes, loadgen_http and
 * loadgen_grpc (built beside this binary), so the CPU measured here is the
 * receiver's alone. For each protocol and 1, 4 and 8 connections it sends
 * BATCHES 512-span OTLP protobuf exports and prints spans/s accepted into
 * the span store, MB/s of request bodies, the receiver's CPU (user + system
 * of this process over the wall time; 100% = one core busy) and the 99th
 * percentile time per export as the client saw it.
 *
 *   ingest [--batches N] [--spans S] [--conns LIST] [--proto http|grpc|both] */
#include "gen.h"
#include "receiver/otlp_grpc.h"
#include "receiver/otlp_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* Runs `tool --port P --conns N --batches B --spans S` and reads its one
 * line into out. 0, or -1 (the tool failed or is not there). */
static int run_tool(const char *tool, int port, int conns, int batches, int spans, char *out, size_t cap)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "'%s' --port %d --conns %d --batches %d --spans %d", tool, port, conns, batches,
             spans);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    out[0] = '\0';
    char *ok = fgets(out, (int)cap, p);
    int st = pclose(p);
    return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static double field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

int main(int argc, char **argv)
{
    int batches = 2000, spans = 512;
    const char *proto = "both", *conn_list = "1,4,8";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--batches") == 0)
            batches = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--spans") == 0)
            spans = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--conns") == 0)
            conn_list = argv[i + 1];
        else if (strcmp(argv[i], "--proto") == 0)
            proto = argv[i + 1];
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    char tool_http[PATH_MAX + 32], tool_grpc[PATH_MAX + 32];
    snprintf(tool_http, sizeof tool_http, "%s/loadgen_http", self);
    snprintf(tool_grpc, sizeof tool_grpc, "%s/loadgen_grpc", self);

    printf("%d-span OTLP protobuf exports, %d per row, load from its own process; %ld cores\n", spans, batches,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-6s %6s %9s %12s %9s %13s %9s %9s\n", "proto", "conns", "seconds", "spans/s", "MB/s", "receiver CPU",
           "p99 ms", "failures");
    int rc = 0;
    for (int pi = 0; pi < 2; pi++) {
        bool grpc = pi == 1;
        if (strcmp(proto, "both") != 0 && strcmp(proto, grpc ? "grpc" : "http") != 0)
            continue;
        char list[128];
        snprintf(list, sizeof list, "%s", conn_list);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            int conns = atoi(tok);
            spanbuf *buf = spanbuf_new(0);
            tc_error e;
            recv_http *rh = NULL;
            recv_grpc *rg = NULL;
            int port;
            if (grpc) {
                rg = recv_grpc_start("127.0.0.1:0", buf, NULL, &e);
                port = rg ? recv_grpc_port(rg) : 0;
            } else {
                rh = recv_http_start("127.0.0.1:0", buf, NULL, &e);
                port = rh ? recv_http_port(rh) : 0;
            }
            if (!port) {
                fprintf(stderr, "receiver: %s\n", e.msg);
                return 1;
            }
            char line[512];
            double t0 = now(), c0 = cpu_seconds();
            int trc = run_tool(grpc ? tool_grpc : tool_http, port, conns, batches, spans, line, sizeof line);
            double wall = now() - t0, cpu = cpu_seconds() - c0;
            spanbuf_stats st;
            spanbuf_get_stats(buf, &st);
            recv_http_stop(&rh);
            recv_grpc_stop(&rg);
            spanbuf_free(&buf);
            double secs = field(line, "seconds="), bytes = field(line, "bytes=");
            if (trc || secs <= 0) {
                printf("%-6s %6d   load generator failed: %s", grpc ? "grpc" : "http", conns,
                       line[0] ? line : "(no output)\n");
                rc = 1;
                continue;
            }
            printf("%-6s %6d %9.2f %12.0f %9.1f %12.0f%% %9.2f %9.0f\n", grpc ? "grpc" : "http", conns, secs,
                   (double)st.spans_accepted / secs, bytes / secs / 1e6, 100 * cpu / wall,
                   field(line, "p99_ms="), field(line, "failures="));
            if (st.spans_accepted != (uint64_t)batches * (uint64_t)spans) {
                printf("       span store holds %llu spans, want %llu\n", (unsigned long long)st.spans_accepted,
                       (unsigned long long)batches * (unsigned long long)spans);
                rc = 1;
            }
        }
    }
    return rc;
}
