/* cmd_convert.c - `tracecheck convert FILE... --to FORMAT`: rewrites traces
 * from any readable format as OTLP JSON or protobuf. */
#include "cli.h"
#include "load.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void help_convert(FILE *out)
{
    fputs("Usage: tracecheck convert [OPTIONS] FILE... --to FORMAT\n\n"
          "Reads traces in any supported format (detected; spans of one trace\n"
          "merge across files) and writes them as OTLP.\n\n"
          "Options:\n"
          "  --to otlp-json|otlp-proto  output format (required)\n"
          "  -o, --output FILE          write to FILE (atomically) instead of stdout\n"
          "  --input-format FORMAT      otlp-proto, otlp-grpc, otlp-json, jaeger-json,\n"
          "                             zipkin-json, jaeger-proto, opensearch-json,\n"
          "                             elasticapm-json, xray-json (default: detect)\n"
          "  -h, --help                 show this help\n\n"
          "Exit status: 0 ok, 2 bad input or usage.\n",
          out);
}

/* Writes data to path via a temporary file and rename, so a failure never
 * leaves a half-written file. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    mode_t um = umask(0);
    umask(um);
    int ok = off == len && fchmod(fd, 0666 & ~um) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    unlink(tmp);
    free(tmp);
    return -1;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"input-format", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *to = NULL, *output = NULL;
    tracefile_format in = TF_AUTO;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'i':
            in = tracefile_format_parse(optarg);
            if (in == TF_AUTO && strcmp(optarg, "auto") != 0)
                return cli_usage_error("convert: unknown input format '%s'", optarg);
            break;
        default:
            return cli_usage_error("convert: unknown option '%s' (see 'tracecheck convert --help')",
                                   argv[optind - 1]);
        }
    }
    if (!to)
        return cli_usage_error("convert: --to otlp-json|otlp-proto is required");
    bool proto = strcmp(to, "otlp-proto") == 0 || strcmp(to, "proto") == 0;
    if (!proto && strcmp(to, "otlp-json") != 0 && strcmp(to, "json") != 0)
        return cli_usage_error("convert: --to must be otlp-json or otlp-proto, not '%s'", to);
    if (optind >= argc)
        return cli_usage_error("convert: no trace file given (see 'tracecheck convert --help')");
    if (proto && !output && isatty(STDOUT_FILENO))
        return cli_usage_error("convert: refusing to write protobuf to a terminal; use -o FILE or a pipe");
    trace_set *ts = trace_set_new(0);
    if (!ts)
        return cli_usage_error("out of memory");
    int rc = cli_load_traces(ts, argv + optind, argc - optind, in);
    if (rc) {
        trace_set_free(&ts);
        return EXIT_USAGE;
    }
    tc_buf out;
    buf_init(&out, 0);
    rc = proto ? otlp_pb_encode(ts, &out) : otlp_json_encode(ts, &out);
    if (!rc && !proto)
        rc = buf_putc(&out, '\n');
    int status = EXIT_OK;
    if (rc) {
        status = cli_usage_error("convert: cannot encode (error %d)", rc);
    } else if (output) {
        if (write_atomic(output, out.ptr ? out.ptr : "", out.len))
            status = cli_usage_error("convert: cannot write %s: %s", output, strerror(errno));
    } else if (fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout) != out.len || fflush(stdout)) {
        status = cli_usage_error("convert: write error: %s", strerror(errno));
    }
    buf_free(&out);
    trace_set_free(&ts);
    return status;
}
