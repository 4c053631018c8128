/* cmd_fetch.c - `tracecheck fetch TRACE_ID --datastore FILE`: reads one
 * trace from the team's backend and writes it as OTLP (JSON or protobuf),
 * to keep it, inspect it or run tests on it with `run --trace`. */
#include "cli.h"
#include "datastore.h"

#include "codec/codec.h"
#include "core/expr.h"
#include "core/value.h"
#include "receiver/spanbuf.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void help_fetch(FILE *out)
{
    fputs("Usage: tracecheck fetch TRACE_ID --datastore FILE [OPTIONS]\n\n"
          "Reads the trace TRACE_ID (32 hex digits) from the backend a DataStore\n"
          "file names (jaeger, tempo, zipkin, opensearch, elasticapm, awsxray) and\n"
          "writes it as OTLP. Transient failures (5xx, time-outs) are retried\n"
          "within --timeout; a trace that is not there is an error.\n\n"
          "Options:\n"
          "  --datastore FILE         the DataStore resource (required)\n"
          "  -o, --output FILE        write to FILE (atomically) instead of stdout\n"
          "  --format otlp-json|otlp-proto   output format (default otlp-json)\n"
          "  --timeout DUR            give up after DUR (default 10s)\n"
          "  -h, --help               show this help\n\n"
          "Exit status: 0 written, 2 bad input or usage, 3 not found or the\n"
          "backend could not be read.\n",
          out);
}

int cmd_fetch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"datastore", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},    {"timeout", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *ds_file = NULL, *outfile = NULL;
    bool proto = false;
    uint64_t timeout = 10ull * 1000000000ull;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': ds_file = optarg; break;
        case 'o': outfile = optarg; break;
        case 'f':
            if (strcmp(optarg, "otlp-proto") == 0)
                proto = true;
            else if (strcmp(optarg, "otlp-json") != 0)
                return cli_usage_error("fetch: --format must be otlp-json or otlp-proto, not '%s'", optarg);
            break;
        case 't': {
            int64_t ns;
            if (expr_duration_ns(optarg, strlen(optarg), &ns) || ns <= 0)
                return cli_usage_error("fetch: --timeout wants a duration like 10s, not '%s'", optarg);
            timeout = (uint64_t)ns;
            break;
        }
        default:
            return cli_usage_error("fetch: unknown option '%s' (see 'tracecheck fetch --help')", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("fetch: give one trace id (see 'tracecheck fetch --help')");
    if (!ds_file)
        return cli_usage_error("fetch: --datastore FILE is required");
    const char *id = argv[optind];
    uint8_t tid[16];
    if (strlen(id) != 32 || hex_decode(id, 32, tid, 16))
        return cli_usage_error("fetch: the trace id '%s' is not 32 hex digits", id);

    int status = EXIT_USAGE;
    arena *a = arena_new(0);
    source_config *cfg = NULL;
    source *s = NULL;
    trace_set *ts = NULL;
    tc_buf out;
    buf_init(&out, 0);
    if (!a)
        goto done;
    if ((status = cli_datastore_load(ds_file, a, &cfg)))
        goto done;
    status = EXIT_USAGE;
    tc_error e;
    if (cfg->type == SOURCE_RECEIVER) {
        fprintf(stderr,
                "tracecheck: %s: a %s DataStore means spans go to tracecheck's receiver; there is no backend to "
                "fetch from\n",
                ds_file, cfg->type_name);
        goto done;
    }
    if (source_open(cfg, &s, &e)) {
        fprintf(stderr, "tracecheck: %s\n", e.msg);
        goto done;
    }
    uint64_t deadline = spanbuf_now_ns() + timeout, pause = 100000000ull;
    source_status st;
    for (;;) {
        trace_set_free(&ts);
        ts = trace_set_new(0);
        if (!ts) {
            fprintf(stderr, "tracecheck: out of memory\n");
            goto done;
        }
        st = source_fetch(s, tid, ts, deadline, &e);
        if (st != SOURCE_RETRY || spanbuf_now_ns() + pause >= deadline)
            break;
        struct timespec sl = {(time_t)(pause / 1000000000ull), (long)(pause % 1000000000ull)};
        nanosleep(&sl, NULL);
        pause = pause * 2 < 2000000000ull ? pause * 2 : 2000000000ull;
    }
    status = EXIT_RUN;
    if (st == SOURCE_NOT_FOUND || (st == SOURCE_FOUND && !trace_set_find(ts, tid))) {
        fprintf(stderr, "tracecheck: trace %s was not found in %s at %s\n", id, source_type_name(cfg->type),
                source_endpoint_label(cfg, a));
        goto done;
    }
    if (st != SOURCE_FOUND) {
        fprintf(stderr, "tracecheck: reading the trace from %s failed: %s\n", source_type_name(cfg->type),
                source_mask(cfg, e.msg, a));
        goto done;
    }
    if (proto ? otlp_pb_encode(ts, &out) : otlp_json_encode(ts, &out)) {
        fprintf(stderr, "tracecheck: cannot encode the trace\n");
        goto done;
    }
    if (!proto)
        buf_putc(&out, '\n');
    if (outfile) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", outfile);
        FILE *f = fopen(tmp, "wb");
        if (!f || fwrite(buf_str(&out), 1, out.len, f) != out.len || fclose(f) != 0 || rename(tmp, outfile) != 0) {
            fprintf(stderr, "tracecheck: cannot write %s\n", outfile);
            remove(tmp);
            status = EXIT_USAGE;
            goto done;
        }
    } else if (fwrite(buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        goto done;
    }
    trace *t = trace_set_find(ts, tid);
    fprintf(stderr, "trace %s: %u span%s from %s\n", id, t->n_spans, t->n_spans == 1 ? "" : "s",
            source_type_name(cfg->type));
    status = EXIT_OK;
done:
    buf_free(&out);
    trace_set_free(&ts);
    source_close(&s);
    arena_free(&a);
    return status;
}
