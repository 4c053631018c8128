/* search_json.c - fuzz harness: feeds the input to the OpenSearch and the
 * Elastic APM _search decoders, each on a fresh trace set, dumps what
 * decoded, and builds the next page's bodies from the last sort values. */
#include "codec/search_json.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int (*decoders[])(trace_set *, const char *, size_t, search_page *,
                      tc_error *) = {opensearch_json_decode, elasticapm_json_decode};
    int (*bodies[])(const char *, uint32_t, const char *, tc_buf *) = {opensearch_search_body,
                                                                       elasticapm_search_body};
    for (int i = 0; i < 2; i++) {
        trace_set *ts = trace_set_new((size_t)64 << 20);
        search_page page = {0, 0, NULL};
        tc_error e;
        tc_buf out;
        buf_init(&out, 0);
        if (ts && decoders[i](ts, (const char *)data, size, &page, &e) == 0) {
            trace_dump(ts, &out);
            bodies[i]("0af7651916cd43dd8448eb211c80319c", 100, page.last_sort, &out);
        }
        free(page.last_sort);
        buf_free(&out);
        trace_set_free(&ts);
    }
    return 0;
}
