/* diff.c - case handler for the structural diff (core/diff.h):
 *   diff   @a FILE, @b FILE (under tests/data): the two traces; input: one
 *          option a line ("slower PCT", "slower-min NS", "ignore KEY",
 *          "no-default-ignores", "exact-values", "max-items N", "lines N",
 *          "json"); output: the diff as text (diff_write_text, no
 *          colours) or JSON, then "kinds: ..." */
#include "case.h"
#include "codec/codec.h"
#include "core/diff.h"

#include <stdlib.h>
#include <string.h>

static trace_set *load_side(const tc_case *c, const char *param, tc_buf *out)
{
    const char *file = case_param(c, param);
    if (!file) {
        buf_printf(out, "missing @%s", param);
        return NULL;
    }
    size_t len;
    char *data = case_read_file(case_data_path(file), &len);
    if (!data) {
        buf_printf(out, "cannot read %s", file);
        return NULL;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    if (tracefile_decode(ts, (const uint8_t *)data, len, TF_AUTO, NULL, &e) || trace_set_index(ts) ||
        trace_set_count(ts) != 1) {
        buf_printf(out, "%s: %s", file, trace_set_count(ts) != 1 ? "want exactly one trace" : e.msg);
        trace_set_free(&ts);
    }
    free(data);
    return ts;
}

CASE_HANDLER(diff)
{
    const char *ignore[16];
    diff_opts o = {.ignore = ignore, .slower_pct = -1};
    bool json = false;
    unsigned lines = 0;
    char *opts = strdup(c->input);
    for (char *line = strtok(opts, "\n"); line; line = strtok(NULL, "\n")) {
        char *arg = strchr(line, ' ');
        if (arg)
            *arg++ = '\0';
        if (strcmp(line, "slower") == 0 && arg)
            o.slower_pct = atof(arg);
        else if (strcmp(line, "slower-min") == 0 && arg)
            o.slower_min_ns = strtoull(arg, NULL, 10);
        else if (strcmp(line, "ignore") == 0 && arg && o.n_ignore < 16)
            ignore[o.n_ignore++] = arg; /* in opts, freed at the end */
        else if (strcmp(line, "no-default-ignores") == 0)
            o.no_default_ignores = true;
        else if (strcmp(line, "exact-values") == 0)
            o.exact_values = true;
        else if (strcmp(line, "max-items") == 0 && arg)
            o.max_items = (uint32_t)atoi(arg);
        else if (strcmp(line, "lines") == 0 && arg)
            lines = (unsigned)atoi(arg);
        else if (strcmp(line, "json") == 0)
            json = true;
        else {
            buf_printf(out, "unknown option line '%s'", line);
            free(opts);
            return 1;
        }
    }
    trace_set *sa = load_side(c, "a", out), *sb = sa ? load_side(c, "b", out) : NULL;
    int rc = 1;
    if (sb) {
        arena *ar = arena_new(0);
        diff_result d;
        tc_error e;
        rc = diff_traces(trace_set_at(sa, 0), trace_set_at(sb, 0), &o, ar, &d, &e);
        if (rc) {
            buf_puts(out, e.msg);
        } else {
            rc = json ? diff_write_json(&d, out) : diff_write_text(&d, out, lines, false);
            unsigned k = diff_kinds(&d);
            buf_printf(out, "%skinds:%s%s%s%s\n", json ? "\n" : "", k & DIFF_SHAPE ? " shape" : "",
                       k & DIFF_ATTRIBUTES ? " attributes" : "", k & DIFF_DURATION ? " duration" : "",
                       k ? "" : " none");
        }
        arena_free(&ar);
    }
    trace_set_free(&sa);
    trace_set_free(&sb);
    free(opts);
    return rc;
}
