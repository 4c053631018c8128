/* search_json.h - Elasticsearch/OpenSearch _search responses whose hits are
 * trace spans: Data Prepper's OTel span documents in OpenSearch
 * (otel-v1-apm-span-*) and Elastic APM's transaction and span documents
 * (traces-apm*). Decoders into the trace model, and the request bodies a
 * poller POSTs to INDEX/_search to page through one trace with
 * search_after.
 *
 * Ownership: decoders allocate spans from the trace set's arena as every
 * codec does (codec.h: on failure some spans may have been added). The
 * page's last_sort is malloc'd and belongs to the caller. Body builders
 * append to a caller-owned tc_buf. */
#ifndef TC_CODEC_SEARCH_JSON_H
#define TC_CODEC_SEARCH_JSON_H

#include "core/buf.h"
#include "core/error.h"
#include "core/trace.h"

#include <stddef.h>
#include <stdint.h>

/* Largest page a body may ask for (the default index.max_result_window). */
#define SEARCH_MAX_PAGE 10000u

typedef struct search_page {
    uint32_t hits;   /* documents in this page */
    int64_t total;   /* hits.total(.value), -1 when absent */
    char *last_sort; /* the last hit's "sort" array as compact JSON text (malloc'd, caller
                        frees), NULL when absent: the next page's search_after */
} search_page;

/* Decodes an OpenSearch _search response whose hits' _source are Data
 * Prepper span documents (flat "span.attributes.http@method" keys, '@'
 * standing for '.'; or the nested "attributes"/"resource" form). Ids are hex
 * (base64 is accepted for old documents). Returns 0 and fills *page (may be
 * NULL), or TC_ERR_INPUT / TC_ERR_LIMIT / TC_ERR_NOMEM with e located: a
 * response holding "error" fails with the error's status, type and reason.
 * *page is written only on success. */
int opensearch_json_decode(trace_set *ts, const char *buf, size_t len, search_page *page, tc_error *e);

/* Decodes an Elasticsearch _search response over Elastic APM documents: a
 * "transaction" becomes a SERVER span (CONSUMER for type "messaging"), a
 * "span" of type external, db or messaging a CLIENT span, other spans
 * INTERNAL; other processor.event documents (errors, metrics) are skipped.
 * Returns as opensearch_json_decode. */
int elasticapm_json_decode(trace_set *ts, const char *buf, size_t len, search_page *page, tc_error *e);

/* Append the _search body for one page of a trace: a term query on the
 * trace id field (traceId for OpenSearch; trace.id, transactions and spans
 * only, for Elastic APM), size n, track_total_hits, a stable sort for
 * search_after paging (startTime then spanId for OpenSearch; timestamp.us
 * then span.id then transaction.id for Elastic APM), and search_after =
 * after (a JSON array text, as search_page.last_sort) when after is not
 * NULL. trace_id_hex must be 32 hex digits (written in lower case), n from
 * 1 to SEARCH_MAX_PAGE. Returns 0, TC_ERR_INPUT for a bad id, size or
 * after, or the tc_buf's error (out then holds a partial body). */
int opensearch_search_body(const char *trace_id_hex, uint32_t n, const char *after, tc_buf *out);
int elasticapm_search_body(const char *trace_id_hex, uint32_t n, const char *after, tc_buf *out);

#endif
