/* search.c - OpenSearch (Data Prepper's span index) and Elastic APM
 * (traces-apm* data streams): POST {address}/{index}/_search with a term
 * query on the trace id, paged with search_after (SOURCE_PAGE_SIZE
 * documents a page) until a page comes back short, so a trace of tens of
 * thousands of spans arrives whole. An address that does not answer is
 * skipped for the next one. */
#include "source_int.h"

#include "codec/search_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One page from one address. */
static source_status page(source *s, const char *address, const char *hex, const char *after, trace_set *ts,
                          search_page *pg, uint64_t deadline_ns, tc_error *e)
{
    const source_config *c = s->c;
    bool os = c->type == SOURCE_OPENSEARCH;
    tc_buf body, url, ix;
    buf_init(&body, 1 << 20);
    buf_init(&url, 1 << 16);
    buf_init(&ix, 1 << 12);
    source_status st = SOURCE_FATAL;
    int rc = os ? opensearch_search_body(hex, SOURCE_PAGE_SIZE, after, &body)
                : elasticapm_search_body(hex, SOURCE_PAGE_SIZE, after, &body);
    if (rc) {
        tc_error_set(e, rc, "cannot make the search request");
        goto out;
    }
    /* the index may be a pattern with '*' and ',': keep those as they are */
    for (const char *p = c->index; *p; p++) {
        if (*p == '*' || *p == ',' || *p == '-' || *p == '_' || *p == '.' ||
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            buf_putc(&ix, *p);
        else
            buf_printf(&ix, "%%%02X", (unsigned char)*p);
    }
    buf_puts(&ix, "/_search");
    src_url(c, address, buf_str(&ix), &url);
    src_request rq = {.method = "POST", .url = buf_str(&url), .content_type = "application/json",
                      .body = buf_str(&body), .len = body.len, .accept = "application/json"};
    long status;
    st = src_http(s, &rq, deadline_ns, &status, e);
    if (st != SOURCE_FOUND)
        goto out;
    tc_error de;
    memset(&de, 0, sizeof de);
    rc = os ? opensearch_json_decode(ts, buf_str(&s->body), s->body.len, pg, &de)
            : elasticapm_json_decode(ts, buf_str(&s->body), s->body.len, pg, &de);
    if (rc) {
        tc_error_set(e, TC_ERR_INPUT, "%s: cannot read the answer (%s%s%zu bytes): %s", buf_str(&url), s->content_type,
                     s->content_type[0] ? ", " : "", s->body.len, de.msg);
        st = SOURCE_FATAL;
    }
out:
    buf_free(&body);
    buf_free(&url);
    buf_free(&ix);
    return st;
}

source_status src_search_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    const source_config *c = s->c;
    char hex[33];
    hex_encode(tid, 16, hex);
    source_status st = SOURCE_RETRY;
    for (size_t a = 0; a < c->n_addresses && st == SOURCE_RETRY; a++) {
        char *after = NULL;
        st = SOURCE_FOUND;
        for (int pages = 0; st == SOURCE_FOUND; pages++) {
            if (pages == SOURCE_MAX_PAGES) {
                tc_error_set(e, TC_ERR_LIMIT, "%s: the trace spans more than %d pages of %u documents",
                             c->addresses[a], SOURCE_MAX_PAGES, SOURCE_PAGE_SIZE);
                st = SOURCE_FATAL;
                break;
            }
            search_page pg = {0, -1, NULL};
            st = page(s, c->addresses[a], hex, after, ts, &pg, deadline_ns, e);
            free(after);
            after = NULL;
            if (st != SOURCE_FOUND)
                break;
            trace *t = trace_set_find(ts, tid);
            if (t && t->n_spans > source_max_spans()) {
                free(pg.last_sort);
                tc_error_set(e, TC_ERR_LIMIT, "the trace has more than %u spans (TRACECHECK_MAX_SPANS)", source_max_spans());
                st = SOURCE_FATAL;
                break;
            }
            if (pg.hits < SOURCE_PAGE_SIZE || !pg.last_sort) {
                free(pg.last_sort);
                break;
            }
            after = pg.last_sort;
        }
        free(after);
    }
    if (st == SOURCE_FOUND && !trace_set_find(ts, tid)) {
        tc_error_set(e, TC_ERR_IO, "%s: no document of the trace yet", c->index);
        st = SOURCE_NOT_FOUND;
    }
    return st;
}
