/* cmd_serve.c - `tracecheck serve`: the long-running server (src/server):
 * the REST API, the run queue, the always-on OTLP receivers and the run
 * history. Runs until SIGTERM or SIGINT, then stops gracefully. */
#include "cli.h"
#include "load.h"

#include "server/server.h"
#include "store/store.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void help_serve(FILE *out)
{
    fputs("Usage: tracecheck serve [OPTIONS]\n\n"
          "Runs the tracecheck server: a REST API (docs/api.md) to store tests,\n"
          "suites, variable sets, polling profiles and DataStores and to run them,\n"
          "a queue of runs served by worker threads that trigger, wait for the\n"
          "trace and evaluate exactly as `tracecheck run` does, the OTLP receivers\n"
          "(always on), and the run history in SQLite or PostgreSQL. Stops on\n"
          "SIGTERM or SIGINT: no new runs, queued runs end as INTERRUPTED, running\n"
          "ones may finish within --grace (else INTERRUPTED).\n\n"
          "Options:\n"
          "  --listen ADDR          API address (127.0.0.1:11633)\n"
          "  --db URL               the store: a SQLite file (tracecheck.db in the\n"
          "                         current directory), sqlite:PATH, or a\n"
          "                         postgres://user@host:5432/db URL\n"
          "  --workers N            runs at once (4)\n"
          "  --otlp-http ADDR       OTLP/HTTP receiver address (127.0.0.1:4318)\n"
          "  --otlp-grpc ADDR       OTLP/gRPC receiver address (127.0.0.1:4317)\n"
          "  --no-receiver          do not start the receivers\n"
          "  --keep-unwatched DUR   keep spans of traces no run waits for this long,\n"
          "                         so a run started later finds them (10m; 0: until\n"
          "                         the span buffer needs the room)\n"
          "  --timeout DUR          how long a run waits for its trace (default: the\n"
          "                         test's PollingProfile, else 30s)\n"
          "  --quiet-window DUR     a trace is settled after no span for DUR (the\n"
          "                         PollingProfile's, else 250ms)\n"
          "  --grace DUR            on stop, how long running runs may take (10s)\n"
          "  --token-file FILE      require Authorization: Bearer TOKEN (the file's\n"
          "                         first line) on every request but /api/health\n"
          "                         and on every export to the receivers\n"
          "  --insecure             allow a non-loopback address without a token\n"
          "  --cors ORIGIN          send CORS headers allowing ORIGIN\n"
          "  --server-id ID         this server among replicas sharing a PostgreSQL\n"
          "                         database (default: HOST:LISTEN)\n"
          "  --replica-timeout DUR  a replica that has not written its heartbeat for\n"
          "                         DUR is gone: its runs end as INTERRUPTED (30s)\n"
          "  -h, --help             show this help\n\n"
          "The API and the receivers listen on loopback addresses unless told\n"
          "otherwise: another address needs --token-file or --insecure. Exporters\n"
          "send the token with OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer TOKEN\".\n\n"
          "Exit status: 0 stopped, 2 bad usage or a refused address, 3 the server\n"
          "could not start (address in use, database unreachable).\n",
          out);
}

static void log_line(void *user, const char *line)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ tracecheck serve: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, line);
}

/* The token: the file's first line, without surrounding white space. */
static char *read_token(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    tc_error e;
    if (cli_read_file(path, 4096, &text, &len, &e)) {
        cli_print_error(path, &e, NULL, 0);
        return NULL;
    }
    char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    size_t n = strcspn(p, "\r\n");
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    char *tok = n ? strndup(p, n) : NULL;
    free(text);
    if (!n)
        fprintf(stderr, "%s: the token file is empty\n", path);
    return tok;
}

int cmd_serve(int argc, char **argv)
{
    enum {
        O_LISTEN = 256,
        O_DB,
        O_WORKERS,
        O_HTTP,
        O_GRPC,
        O_NO_RECV,
        O_KEEP,
        O_TIMEOUT,
        O_QUIET,
        O_GRACE,
        O_TOKEN,
        O_INSECURE,
        O_CORS,
        O_SERVER_ID,
        O_REPLICA_TIMEOUT
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},       {"db", required_argument, NULL, O_DB},
        {"workers", required_argument, NULL, O_WORKERS},     {"otlp-http", required_argument, NULL, O_HTTP},
        {"otlp-grpc", required_argument, NULL, O_GRPC},      {"no-receiver", no_argument, NULL, O_NO_RECV},
        {"keep-unwatched", required_argument, NULL, O_KEEP}, {"timeout", required_argument, NULL, O_TIMEOUT},
        {"quiet-window", required_argument, NULL, O_QUIET},  {"grace", required_argument, NULL, O_GRACE},
        {"token-file", required_argument, NULL, O_TOKEN},    {"insecure", no_argument, NULL, O_INSECURE},
        {"cors", required_argument, NULL, O_CORS},           {"server-id", required_argument, NULL, O_SERVER_ID},
        {"replica-timeout", required_argument, NULL, O_REPLICA_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    server_opts so = {0};
    so.listen = SERVER_DEFAULT_LISTEN;
    so.otlp_http = "127.0.0.1:4318";
    so.otlp_grpc = "127.0.0.1:4317";
    so.db = SERVER_DEFAULT_DB;
    so.workers = SERVER_DEFAULT_WORKERS;
    so.keep_unwatched_ns = SERVER_DEFAULT_KEEP_NS;
    so.version = TRACECHECK_VERSION;
    so.log = log_line;
    const char *token_file = NULL;
    bool no_receiver = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            so.listen = optarg;
            break;
        case O_DB:
            so.db = optarg;
            break;
        case O_WORKERS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (!*optarg || *end || n < 1 || n > SERVER_MAX_WORKERS)
                return cli_usage_error("serve: --workers wants 1 to %d, not '%s'", SERVER_MAX_WORKERS,
                                       optarg);
            so.workers = (unsigned)n;
            break;
        }
        case O_HTTP:
            so.otlp_http = optarg;
            break;
        case O_GRPC:
            so.otlp_grpc = optarg;
            break;
        case O_NO_RECV:
            no_receiver = true;
            break;
        case O_KEEP:
            if (strcmp(optarg, "0") == 0)
                so.keep_unwatched_ns = 0;
            else if (cli_parse_duration(optarg, &so.keep_unwatched_ns))
                return cli_usage_error("serve: --keep-unwatched wants a duration like 10m or 0, not '%s'",
                                       optarg);
            break;
        case O_TIMEOUT:
            if (cli_parse_duration(optarg, &so.timeout_ns))
                return cli_usage_error("serve: --timeout wants a duration like 30s, not '%s'", optarg);
            break;
        case O_QUIET:
            if (cli_parse_duration(optarg, &so.quiet_ns))
                return cli_usage_error("serve: --quiet-window wants a duration like 250ms, not '%s'", optarg);
            break;
        case O_GRACE:
            if (cli_parse_duration(optarg, &so.grace_ns))
                return cli_usage_error("serve: --grace wants a duration like 10s, not '%s'", optarg);
            break;
        case O_TOKEN:
            token_file = optarg;
            break;
        case O_INSECURE:
            so.insecure = true;
            break;
        case O_CORS:
            so.cors_origin = optarg;
            break;
        case O_SERVER_ID:
            if (!*optarg || strlen(optarg) > STORE_MAX_SERVER_ID)
                return cli_usage_error("serve: --server-id wants 1 to %d characters", STORE_MAX_SERVER_ID);
            so.server_id = optarg;
            break;
        case O_REPLICA_TIMEOUT:
            if (cli_parse_duration(optarg, &so.replica_timeout_ns) || so.replica_timeout_ns < 1000000000ull)
                return cli_usage_error("serve: --replica-timeout wants a duration of at least 1s, not '%s'",
                                       optarg);
            break;
        default:
            return cli_usage_error("serve: unknown option '%s' (see 'tracecheck serve --help')",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("serve: unexpected argument '%s' (see 'tracecheck serve --help')",
                               argv[optind]);
    if (no_receiver)
        so.otlp_http = so.otlp_grpc = NULL;
    char *token = NULL;
    if (token_file && !(token = read_token(token_file)))
        return EXIT_USAGE;
    so.token = token;

    /* SIGINT and SIGTERM are taken by sigwait below; every thread inherits the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* a thread per API connection: without a cap glibc gives threads up to
       8 malloc arenas per processor, and memory freed in one stays there */
    mallopt(M_ARENA_MAX, 4);

    server *s = NULL;
    tc_error e;
    memset(&e, 0, sizeof e);
    int rc = server_start(&so, &s, &e);
    free(token);
    if (rc) {
        fprintf(stderr, "tracecheck: serve: %s\n", e.msg);
        return rc == TC_ERR_INPUT ? EXIT_USAGE : EXIT_RUN;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    log_line(NULL, sig == SIGTERM ? "SIGTERM: stopping" : "SIGINT: stopping");
    if (!server_stop(&s)) {
        fflush(NULL);
        _exit(EXIT_OK); /* a worker is still inside a run: nothing more to free safely */
    }
    return EXIT_OK;
}
