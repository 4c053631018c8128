/* load.c - reading input files for commands: whole-file reads with a size
 * cap ("-" is standard input) and decoding trace files into one set. */
#include "load.h"

#include "codec/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_read_file(const char *path, size_t max, char **out, size_t *out_len, tc_error *e)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return tc_error_set(e, TC_ERR_IO, "cannot open: %s", strerror(errno));
    tc_buf b;
    buf_init(&b, max);
    char tmp[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (buf_append(&b, tmp, n)) {
            rc = tc_error_set(e, TC_ERR_LIMIT, "file is larger than the limit of %zu bytes", max);
            break;
        }
    }
    if (!rc && ferror(f))
        rc = tc_error_set(e, TC_ERR_IO, "read error: %s", strerror(errno));
    if (f != stdin)
        fclose(f);
    if (rc) {
        buf_free(&b);
        return rc;
    }
    *out_len = b.len;
    *out = buf_detach(&b);
    return 0;
}

int cli_load_traces(trace_set *ts, char **files, int n_files, tracefile_format fmt)
{
    for (int i = 0; i < n_files; i++) {
        const char *name = strcmp(files[i], "-") == 0 ? "<stdin>" : files[i];
        char *data = NULL;
        size_t len = 0;
        tc_error e;
        int rc = cli_read_file(files[i], CODEC_MAX_BODY, &data, &len, &e);
        if (!rc && len == 0) { /* what `curl -o` leaves when the fetch failed: not a trace */
            memset(&e, 0, sizeof e);
            e.offset = (size_t)-1;
            rc = tc_error_set(&e, TC_ERR_INPUT, "empty file, no trace");
        } else if (!rc) {
            rc = tracefile_decode(ts, (const uint8_t *)data, len, fmt, NULL, &e);
            if (rc && e.offset != (size_t)-1 && e.line == 0 && len && (data[0] == '{' || data[0] == '['))
                tc_error_locate(&e, data, len);
        }
        if (rc) {
            cli_print_error(name, &e, data, len);
            free(data);
            return rc;
        }
        free(data);
    }
    return 0;
}
