/* xray_json.h - AWS X-Ray: decoding a BatchGetTraces response into the trace
 * model, and the trace id and request body that go with it.
 *
 * Ownership: spans, strings, attributes and resources come from the trace
 * set's arena and live as long as the set; the next token handed back is
 * malloc'd and belongs to the caller. Errors are as in codec.h. */
#ifndef TC_CODEC_XRAY_JSON_H
#define TC_CODEC_XRAY_JSON_H

#include "core/buf.h"
#include "core/error.h"
#include "core/trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XRAY_TRACE_ID_LEN 35     /* "1-XXXXXXXX-YYYYYYYYYYYYYYYYYYYYYYYY" */
#define XRAY_MAX_DEPTH 32        /* subsegments nested in one segment document */
#define XRAY_MAX_DOC_SPANS 65536 /* spans (segment and subsegments) from one document */

/* Writes "1-XXXXXXXX-YYYYYYYYYYYYYYYYYYYYYYYY" (35 chars + NUL) for a 16-byte
 * trace id: the first 4 bytes are the epoch seconds, the other 12 random. */
void xray_trace_id(const uint8_t tid[16], char out[36]);

/* Parses an X-Ray trace id (exactly as xray_trace_id writes it, hex digits
 * in either case) into 16 bytes. Returns 0, or -1 when s[0..n) is not one. */
int xray_parse_trace_id(const char *s, size_t n, uint8_t tid[16]);

/* Appends the BatchGetTraces request body {"TraceIds":["1-..."]} (and
 * "NextToken" when next_token is not NULL). Returns 0 or TC_ERR_LIMIT /
 * TC_ERR_NOMEM from the buffer (then out holds a partial body). */
int xray_batch_get_body(const uint8_t tid[16], const char *next_token, tc_buf *out);

/* Decodes one BatchGetTraces response page: every segment document of every
 * trace in "Traces", each (sub)segment a span. A segment is a server span
 * whose resource carries service.name (its name) and the host facts of its
 * "aws" object; its subsegments share that resource and are client spans
 * (namespace "aws" or "remote") or internal ones. Independent subsegment
 * documents (type "subsegment") take the resource of their nearest ancestor
 * in the set once the page is read. Times are float seconds, kept to the
 * microsecond (what a double carries at today's epoch); an in-progress span
 * ends at its start.
 * fault or error makes the status ERROR with the first exception's message.
 *
 * On success returns 0 and sets *next_token (malloc'd, caller frees; NULL
 * when the response has none) and *unprocessed (true when
 * "UnprocessedTraceIds" lists a trace id: the request asks for one). On
 * failure returns TC_ERR_INPUT, TC_ERR_LIMIT or TC_ERR_NOMEM with e set
 * (line and column for the body's JSON syntax; otherwise the message names
 * the field, e.g. "Traces[0].Segments[1].Document.subsegments[0].id"), leaves
 * the out-parameters untouched and may have added some spans already. */
int xray_json_decode(trace_set *ts, const char *buf, size_t len, char **next_token, bool *unprocessed,
                     tc_error *e);

#endif
