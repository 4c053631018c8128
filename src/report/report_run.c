/* report_run.c - the report of a live run, from the runner's result (see
 * report.h): what `tracecheck run` prints and `tracecheck serve` keeps. */
#include "report.h"

#include "run/runner.h"

#include <string.h>

int report_from_run(report_test *rt, const run_result *rr, const source *src, arena *a)
{
    rt->state = run_state_name(rr->state);
    tc_buf tl;
    buf_init(&tl, 4096);
    buf_putc(&tl, '{');
    for (int k = RUN_TRIGGERING; k < RUN_N_STATES; k++)
        if (rr->state_ns[k])
            buf_printf(&tl, "%s\"%s\":%.3f", tl.len > 1 ? "," : "", run_state_name((run_state)k),
                       (double)(rr->state_ns[k] - rr->state_ns[RUN_CREATED]) / 1e6);
    buf_putc(&tl, '}');
    rt->timeline = tl.failed ? NULL : arena_strdup(a, buf_str(&tl));
    bool failed = tl.failed || !rt->timeline;
    buf_reset(&tl);
    if (src) {
        const source_config *sc = source_config_of(src);
        buf_printf(&tl, "{\"type\":\"%s\",\"name\":", source_type_name(sc->type));
        if (sc->name)
            buf_json_string(&tl, sc->name, strlen(sc->name));
        else
            buf_puts(&tl, "null");
        buf_puts(&tl, ",\"endpoint\":");
        const char *ep = source_endpoint_label(sc, a);
        buf_json_string(&tl, ep ? ep : "", ep ? strlen(ep) : 0);
        buf_printf(&tl, ",\"polls\":%u,\"spans_per_poll\":", rr->polls);
        if (rr->poll_log)
            buf_json_string(&tl, rr->poll_log, strlen(rr->poll_log));
        else
            buf_puts(&tl, "null");
        buf_putc(&tl, '}');
    } else {
        buf_puts(&tl, "{\"type\":\"receiver\"}");
    }
    rt->source = tl.failed ? NULL : arena_strdup(a, buf_str(&tl));
    failed = failed || !rt->source;
    buf_free(&tl);
    rt->trace_id = rr->trace_id[0] ? rr->trace_id : NULL;
    if (rr->state == RUN_FINISHED)
        rt->run = &rr->specs;
    else
        rt->error = rr->error ? rr->error : run_state_name(rr->state);
    return failed ? TC_ERR_NOMEM : 0;
}
