/* search_json.c - case handlers for the OpenSearch (Data Prepper) and
 * Elastic APM _search decoders: decode @file (under tests/data) or the
 * case's input and print trace_dump and a line "page: hits=N total=N
 * last_sort=TEXT" (or the error, "LINE:COL: message" when located); and
 * print the _search body for @trace, @size and @after. */
#include "case.h"
#include "codec/search_json.h"

#include <stdlib.h>
#include <string.h>

typedef int (*search_decoder)(trace_set *, const char *, size_t, search_page *, tc_error *);
typedef int (*body_builder)(const char *, uint32_t, const char *, tc_buf *);

static int decode_case(const tc_case *c, tc_buf *out, search_decoder decode)
{
    const char *file = case_param(c, "file");
    char *data = NULL;
    size_t len = strlen(c->input);
    const char *buf = c->input;
    if (file) {
        data = case_read_file(case_data_path(file), &len);
        if (!data) {
            buf_printf(out, "cannot read %s", file);
            return 1;
        }
        buf = data;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    search_page page = {7, 7, NULL}; /* must stay as it is on failure */
    memset(&e, 0, sizeof e);
    int rc = decode(ts, buf, len, &page, &e);
    if (rc) {
        if (page.hits != 7 || page.total != 7 || page.last_sort)
            buf_puts(out, "page written on failure: ");
        if (e.line > 0)
            buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        else
            buf_puts(out, e.msg);
    } else if (!(rc = trace_dump(ts, out))) {
        buf_printf(out, "page: hits=%u total=%lld last_sort=%s\n", page.hits, (long long)page.total,
                   page.last_sort ? page.last_sort : "-");
    }
    free(page.last_sort);
    trace_set_free(&ts);
    free(data);
    return rc;
}

static int body_case(const tc_case *c, tc_buf *out, body_builder build)
{
    const char *id = case_param(c, "trace");
    const char *size = case_param(c, "size");
    const char *after = case_param(c, "after");
    int rc = build(id ? id : "", size ? (uint32_t)strtoul(size, NULL, 10) : 100, after, out);
    if (rc) {
        buf_reset(out);
        buf_printf(out, "search body: error %d", rc);
    } else {
        buf_putc(out, '\n');
    }
    return rc;
}

CASE_HANDLER(opensearch_json)
{
    return decode_case(c, out, opensearch_json_decode);
}

CASE_HANDLER(elasticapm_json)
{
    return decode_case(c, out, elasticapm_json_decode);
}

CASE_HANDLER(opensearch_search_body)
{
    return body_case(c, out, opensearch_search_body);
}

CASE_HANDLER(elasticapm_search_body)
{
    return body_case(c, out, elasticapm_search_body);
}
