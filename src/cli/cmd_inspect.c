/* cmd_inspect.c - `tracecheck inspect FILE...`: prints traces as an
 * indented tree (service, span name, kind, duration, status) or as JSON. */
#include "cli.h"
#include "fmt.h"
#include "load.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void help_inspect(FILE *out)
{
    fputs("Usage: tracecheck inspect [OPTIONS] FILE...\n\n"
          "Prints the traces in FILE(s) as a tree: service, span name, kind,\n"
          "duration and status, errors marked. The format of each file is\n"
          "detected: OTLP protobuf or JSON (also gzip and gRPC frames), Jaeger,\n"
          "Tempo (v1/v2) and Zipkin JSON, OpenSearch and Elastic APM search\n"
          "results, X-Ray BatchGetTraces answers (Jaeger's gRPC protobuf with\n"
          "--input-format jaeger-proto). Spans of one trace are merged across\n"
          "files. FILE '-' reads standard input.\n\n"
          "Options:\n"
          "  --format tree|json     output format (default tree)\n"
          "  --input-format FORMAT  otlp-proto, otlp-grpc, otlp-json, jaeger-json,\n"
          "                         zipkin-json, jaeger-proto, opensearch-json,\n"
          "                         elasticapm-json, xray-json (default: detect)\n"
          "  -h, --help             show this help\n\n"
          "JSON output: {\"traces\": [{\"trace_id\", \"span_count\", \"spans\": [{\"span_id\",\n"
          "\"parent_span_id\", \"name\", \"service\", \"kind\", \"start_unix_nano\",\n"
          "\"duration_ns\", \"status\", \"status_message\", \"attributes\", \"resource\"}]}]}\n\n"
          "Exit status: 0 ok, 2 bad input or usage.\n",
          out);
}

typedef struct style {
    const char *dim, *bold, *red, *cyan, *reset;
} style;

static uint64_t dur(const trace_span *sp)
{
    return sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
}

static void print_tree(trace *t, const style *st, tc_buf *out)
{
    char tid[33];
    hex_encode(t->trace_id, TRACE_ID_LEN, tid);
    /* distinct services */
    uint32_t n_services = 0;
    const char **seen = calloc(t->n_spans ? t->n_spans : 1, sizeof *seen);
    for (uint32_t i = 0; seen && i < t->n_spans; i++) {
        const char *s = trace_span_service(t->spans[i]);
        uint32_t k = 0;
        while (k < n_services && strcmp(seen[k], s) != 0)
            k++;
        if (k == n_services && n_services < 1000)
            seen[n_services++] = s;
    }
    free(seen);
    buf_printf(out, "%sTrace %s%s  %u span%s, %u service%s, ", st->bold, tid, st->reset, t->n_spans,
               t->n_spans == 1 ? "" : "s", n_services, n_services == 1 ? "" : "s");
    fmt_duration(out, t->end_ns > t->start_ns ? t->end_ns - t->start_ns : 0);
    buf_putc(out, '\n');

    uint32_t max_depth = 0;
    for (uint32_t i = 0; i < t->n_spans; i++)
        if (t->preorder[i]->depth > max_depth)
            max_depth = t->preorder[i]->depth;
    char *last = calloc(max_depth + 2, 1); /* last[d]: the ancestor at depth d is a last child */
    uint32_t n_top = t->n_roots + t->n_orphans, top_seen = 0;
    for (uint32_t i = 0; last && i < t->n_spans; i++) {
        trace_span *sp = t->preorder[i];
        bool is_last;
        if (!sp->parent)
            is_last = ++top_seen == n_top;
        else
            is_last = sp->parent->children[sp->parent->n_children - 1] == sp;
        last[sp->depth] = is_last;
        for (uint32_t d = 1; d < sp->depth && d <= 40; d++)
            buf_puts(out, last[d] ? "   " : "│  ");
        if (sp->depth > 40)
            buf_puts(out, "… ");
        if (sp->depth > 0)
            buf_puts(out, is_last ? "└─ " : "├─ ");
        const char *svc = trace_span_service(sp);
        buf_printf(out, "%s%s%s  %s  %s%s%s  ", st->cyan, *svc ? svc : "?", st->reset, sp->name, st->dim,
                   trace_kind_name(sp->kind), st->reset);
        fmt_duration(out, dur(sp));
        if (sp->status_code == TRACE_STATUS_ERROR) {
            buf_printf(out, "  %s✘ error", st->red);
            if (*sp->status_message)
                buf_printf(out, ": %s", sp->status_message);
            buf_puts(out, st->reset);
        } else if (sp->status_code == TRACE_STATUS_OK) {
            buf_puts(out, "  ok");
        }
        if (!sp->parent && trace_span_has_parent(sp)) {
            char pid[17];
            hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
            buf_printf(out, "  %s(parent %s not in trace)%s", st->dim, pid, st->reset);
        }
        buf_putc(out, '\n');
    }
    free(last);
}

static void json_attrs(tc_buf *out, const tc_attr *a, uint32_t n)
{
    buf_putc(out, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        buf_json_string(out, a[i].key, a[i].key_len);
        buf_putc(out, ':');
        value_to_json(out, &a[i].value);
    }
    buf_putc(out, '}');
}

static void print_json(trace_set *ts, tc_buf *out)
{
    buf_puts(out, "{\"traces\":[");
    for (uint32_t i = 0; i < trace_set_count(ts); i++) {
        trace *t = trace_set_at(ts, i);
        char tid[33];
        hex_encode(t->trace_id, TRACE_ID_LEN, tid);
        buf_printf(out, "%s{\"trace_id\":\"%s\",\"span_count\":%u,\"spans\":[", i ? "," : "", tid, t->n_spans);
        for (uint32_t k = 0; k < t->n_spans; k++) {
            trace_span *sp = t->preorder[k];
            char id[17], pid[17];
            hex_encode(sp->span_id, SPAN_ID_LEN, id);
            hex_encode(sp->parent_id, SPAN_ID_LEN, pid);
            buf_printf(out, "%s{\"span_id\":\"%s\",\"parent_span_id\":", k ? "," : "", id);
            if (trace_span_has_parent(sp))
                buf_printf(out, "\"%s\"", pid);
            else
                buf_puts(out, "null");
            buf_puts(out, ",\"name\":");
            buf_json_string(out, sp->name, strlen(sp->name));
            const char *svc = trace_span_service(sp);
            buf_puts(out, ",\"service\":");
            buf_json_string(out, svc, strlen(svc));
            buf_printf(out, ",\"kind\":\"%s\",\"start_unix_nano\":\"%llu\",\"duration_ns\":%llu,\"status\":\"%s\"",
                       trace_kind_name(sp->kind), (unsigned long long)sp->start_ns,
                       (unsigned long long)dur(sp), trace_status_name(sp->status_code));
            if (*sp->status_message) {
                buf_puts(out, ",\"status_message\":");
                buf_json_string(out, sp->status_message, strlen(sp->status_message));
            }
            buf_puts(out, ",\"attributes\":");
            json_attrs(out, sp->attrs, sp->n_attrs);
            buf_puts(out, ",\"resource\":");
            json_attrs(out, sp->resource->attrs, sp->resource->n_attrs);
            buf_putc(out, '}');
        }
        buf_puts(out, "]}");
    }
    buf_puts(out, "]}\n");
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"input-format", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    tracefile_format in = TF_AUTO;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "tree") != 0)
                return cli_usage_error("inspect: --format must be tree or json, not '%s'", optarg);
            break;
        case 'i':
            in = tracefile_format_parse(optarg);
            if (in == TF_AUTO && strcmp(optarg, "auto") != 0)
                return cli_usage_error("inspect: unknown input format '%s'", optarg);
            break;
        default:
            return cli_usage_error("inspect: unknown option '%s' (see 'tracecheck inspect --help')",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("inspect: no trace file given (see 'tracecheck inspect --help')");
    trace_set *ts = trace_set_new(0);
    if (!ts)
        return cli_usage_error("out of memory");
    int rc = cli_load_traces(ts, argv + optind, argc - optind, in);
    if (!rc && trace_set_index(ts))
        rc = cli_usage_error("out of memory");
    if (rc) {
        trace_set_free(&ts);
        return EXIT_USAGE;
    }
    tc_buf out;
    buf_init(&out, 0);
    if (json) {
        print_json(ts, &out);
    } else {
        bool color = cli_color(stdout);
        style st = color ? (style){"\033[2m", "\033[1m", "\033[31m", "\033[36m", "\033[0m"}
                         : (style){"", "", "", "", ""};
        if (trace_set_count(ts) == 0)
            buf_puts(&out, "no spans\n");
        for (uint32_t i = 0; i < trace_set_count(ts); i++) {
            if (i)
                buf_putc(&out, '\n');
            print_tree(trace_set_at(ts, i), &st, &out);
        }
    }
    fwrite(buf_str(&out), 1, out.len, stdout);
    buf_free(&out);
    trace_set_free(&ts);
    return EXIT_OK;
}
