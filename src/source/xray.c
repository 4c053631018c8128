/* xray.c - AWS X-Ray: POST {endpoint}/Traces (BatchGetTraces) signed with
 * SigV4 by libcurl (CURLOPT_AWS_SIGV4, service "xray"), paged with
 * NextToken. Keys come from the DataStore or the AWS_* environment. */
#include "source_int.h"

#include "codec/xray_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

source_status src_xray_fetch(source *s, const uint8_t tid[16], trace_set *ts, uint64_t deadline_ns, tc_error *e)
{
    const source_config *c = s->c;
    char sigv4[160], token[2200];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:xray", c->region ? c->region : "us-east-1");
    if (c->session_token)
        snprintf(token, sizeof token, "X-Amz-Security-Token: %s", c->session_token);
    tc_buf url, body;
    buf_init(&url, 1 << 16);
    buf_init(&body, 1 << 16);
    src_url(c, c->endpoint, "Traces", &url);
    char *next = NULL;
    bool unprocessed = false;
    source_status st = SOURCE_FOUND;
    for (int pages = 0; st == SOURCE_FOUND; pages++) {
        if (pages == SOURCE_MAX_PAGES) {
            tc_error_set(e, TC_ERR_LIMIT, "X-Ray: the trace spans more than %d pages", SOURCE_MAX_PAGES);
            st = SOURCE_FATAL;
            break;
        }
        buf_reset(&body);
        if (xray_batch_get_body(tid, next, &body)) {
            tc_error_set(e, TC_ERR_NOMEM, "cannot make the X-Ray request");
            st = SOURCE_FATAL;
            break;
        }
        free(next);
        next = NULL;
        src_request rq = {.method = "POST", .url = buf_str(&url), .content_type = "application/json",
                          .body = buf_str(&body), .len = body.len, .accept = "application/json",
                          .extra = {c->session_token ? token : NULL}, .aws_sigv4 = sigv4};
        long status;
        st = src_http(s, &rq, deadline_ns, &status, e);
        if (st != SOURCE_FOUND)
            break;
        tc_error de;
        memset(&de, 0, sizeof de);
        bool up = false;
        if (xray_json_decode(ts, buf_str(&s->body), s->body.len, &next, &up, &de)) {
            tc_error_set(e, TC_ERR_INPUT, "%s: cannot read the answer (%zu bytes): %s", buf_str(&url), s->body.len,
                         de.msg);
            st = SOURCE_FATAL;
            break;
        }
        unprocessed |= up;
        trace *t = trace_set_find(ts, tid);
        if (t && t->n_spans > source_max_spans()) {
            tc_error_set(e, TC_ERR_LIMIT, "the trace has more than %u spans (TRACECHECK_MAX_SPANS)", source_max_spans());
            st = SOURCE_FATAL;
            break;
        }
        if (!next)
            break;
    }
    free(next);
    buf_free(&url);
    buf_free(&body);
    if (st == SOURCE_FOUND && !trace_set_find(ts, tid)) {
        tc_error_set(e, TC_ERR_IO, unprocessed ? "X-Ray did not process the trace id yet (UnprocessedTraceIds)"
                                               : "X-Ray has no segment of the trace yet");
        st = unprocessed ? SOURCE_RETRY : SOURCE_NOT_FOUND;
    }
    return st;
}
