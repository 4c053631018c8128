/* runjson.c - a run as the API gives it: the summary of lists and the
 * whole GET /api/runs/{id} body (docs/api.md, "Runs"). The run's stored
 * JSON documents are copied in as they are. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

static void str_or_null(tc_buf *out, const char *s)
{
    if (s)
        buf_json_string(out, s, strlen(s));
    else
        buf_puts(out, "null");
}

void runjson_summary(server *s, tc_buf *out, const store_run *r)
{
    char t[32], name[STORE_MAX_NAME + 1];
    res_kind rk = r->kind == STORE_SUITE_RUN ? RES_TESTSUITE : RES_TEST;
    buf_printf(out, "\"id\":%lld,\"kind\":\"%s\",\"test_id\":", (long long)r->id,
               store_run_kind_name(r->kind));
    buf_json_string(out, r->resource_id, strlen(r->resource_id));
    buf_puts(out, ",\"test_name\":");
    str_or_null(out, srv_resource_name(s, rk, r->resource_id, r->resource_version, name, sizeof name));
    buf_printf(out,
               ",\"version\":%d,\"state\":\"%s\",\"result\":\"%s\",\"passed\":%u,\"failed\":%u,\"trace_id\":",
               r->resource_version, store_run_state_name(r->state), store_result_name(r->result), r->passed,
               r->failed);
    str_or_null(out, r->trace_id);
    buf_printf(out, ",\"created\":\"%s\",\"finished\":", srv_time(r->created_ns, t));
    if (r->finished_ns)
        buf_printf(out, "\"%s\",\"duration_ms\":%lld", srv_time(r->finished_ns, t),
                   (long long)((r->finished_ns - r->created_ns) / 1000000));
    else
        buf_puts(out, "null,\"duration_ms\":null");
}

void runjson_full(server *s, tc_buf *out, const store_run *r, const srv_run *live)
{
    char t[32];
    buf_putc(out, '{');
    runjson_summary(s, out, r);
    buf_puts(out, ",\"timeline\":[");
    for (size_t i = 0; i < r->n_timeline; i++)
        buf_printf(out, "%s{\"state\":\"%s\",\"at\":\"%s\"}", i ? "," : "",
                   store_run_state_name(r->timeline[i].state), srv_time(r->timeline[i].at_ns, t));
    buf_puts(out, "],\"variables\":");
    buf_puts(out, r->variables ? r->variables : "{}");
    /* the trigger document carries the span count the server adds at the end */
    long long spans = live ? (long long)live->spans : 0;
    buf_puts(out, ",\"trigger\":");
    json_t *trig = r->trigger ? json_loads(r->trigger, JSON_DECODE_ANY, NULL) : NULL;
    if (trig && json_is_object(trig)) {
        json_t *n = json_object_get(trig, "spans");
        if (json_is_integer(n) && !live)
            spans = json_integer_value(n);
        json_object_del(trig, "spans");
        char *text = json_dumps(trig, JSON_COMPACT | JSON_PRESERVE_ORDER);
        buf_puts(out, text ? text : "null");
        free(text);
    } else {
        buf_puts(out, r->trigger ? r->trigger : "null");
    }
    json_decref(trig);
    buf_puts(out, ",\"results\":");
    buf_puts(out, r->results ? r->results : "null");
    buf_puts(out, ",\"outputs\":");
    buf_puts(out, r->outputs ? r->outputs : "null");
    buf_puts(out, ",\"error\":");
    str_or_null(out, r->error);
    buf_printf(out, ",\"spans\":%lld}", spans);
}
