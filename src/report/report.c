/* report.c - pretty, JSON and JUnit XML reports of test runs (see
 * report.h). */
#include "report.h"

#include <stdio.h>
#include <string.h>

bool report_test_passed(const report_test *t)
{
    return !t->skipped && !t->error && t->run && t->run->passed && (!t->lint || t->lint->passed) &&
           !t->baseline_failed;
}

void report_summarize(const report_test *tests, size_t n, report_summary *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        const report_test *t = &tests[i];
        s->tests++;
        if (t->skipped)
            s->skipped++;
        else if (t->error)
            s->errors++;
        else if (report_test_passed(t))
            s->passed++;
        else
            s->failed++;
        if (t->run) {
            s->specs += t->run->n_specs;
            s->specs_failed += t->run->n_failed;
        }
    }
}

static const char *str_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

static const char *spec_title(const spec_result *r)
{
    if (r->name && *r->name)
        return r->name;
    return r->selector && *r->selector ? r->selector : "every span";
}

static void span_label(tc_buf *out, const trace_span *sp, const char *dim, const char *reset)
{
    if (!sp) {
        buf_puts(out, "no span selected");
        return;
    }
    char id[17];
    hex_encode(sp->span_id, SPAN_ID_LEN, id);
    const char *svc = trace_span_service(sp);
    buf_printf(out, "%s  %s%s%s%s %s%s", sp->name, dim, *svc ? svc : "", *svc ? " " : "", dim, id, reset);
}

/* ---- pretty ---- */

typedef struct palette {
    const char *ok, *bad, *dim, *bold, *reset;
} palette;

int report_pretty(tc_buf *out, const report_test *tests, size_t n, bool color)
{
    palette p = color ? (palette){"\033[32m", "\033[31m", "\033[2m", "\033[1m", "\033[0m"}
                      : (palette){"", "", "", "", ""};
    for (size_t i = 0; i < n; i++) {
        const report_test *t = &tests[i];
        bool ok = report_test_passed(t);
        const char *mark = t->skipped ? "-" : ok ? "✔" : "✘";
        buf_printf(out, "%s%s%s %s%s%s", t->skipped ? p.dim : ok ? p.ok : p.bad, mark, p.reset, p.bold,
                   str_or(t->name, "(unnamed test)"), p.reset);
        if (t->file)
            buf_printf(out, "  %s%s%s", p.dim, t->file, p.reset);
        if (t->trace_id)
            buf_printf(out, "  %strace %s%s", p.dim, t->trace_id, p.reset);
        buf_putc(out, '\n');
        if (t->skipped) {
            buf_printf(out, "  %sskipped: %s%s\n", p.dim, str_or(t->error, "not run"), p.reset);
            continue;
        }
        if (t->error)
            buf_printf(out, "  %s%s%s: %s\n", p.bad, str_or(t->state, "ERROR"), p.reset, t->error);
        if (!t->run)
            continue;
        for (uint32_t s = 0; s < t->run->n_specs; s++) {
            const spec_result *r = &t->run->specs[s];
            buf_printf(out, "  %s%s%s %s", r->passed ? p.ok : p.bad, r->passed ? "✔" : "✘", p.reset,
                       spec_title(r));
            if (r->passed) {
                buf_printf(out, "  %s(%u span%s)%s\n", p.dim, r->n_selected, r->n_selected == 1 ? "" : "s",
                           p.reset);
                continue;
            }
            buf_putc(out, '\n');
            if (r->name && *r->name)
                buf_printf(out, "      %sselector: %s%s\n", p.dim, str_or(r->selector, "(every span)"), p.reset);
            if (r->error) {
                buf_printf(out, "      %serror:%s %s\n", p.bad, p.reset, r->error);
                continue;
            }
            for (uint32_t k = 0; k < r->n_spans; k++) {
                const spec_span_result *sr = &r->spans[k];
                buf_printf(out, "      %s%s%s ", sr->passed ? p.ok : p.bad, sr->passed ? "✔" : "✘", p.reset);
                span_label(out, sr->span, p.dim, p.reset);
                buf_putc(out, '\n');
                if (sr->passed)
                    continue;
                for (uint32_t c = 0; c < sr->n_checks; c++) {
                    const spec_check *ck = &sr->checks[c];
                    buf_printf(out, "          %s%s%s %s", ck->passed ? p.ok : p.bad, ck->passed ? "✔" : "✘",
                               p.reset, ck->assertion);
                    if (ck->error)
                        buf_printf(out, "\n              %serror:%s %s", p.bad, p.reset, ck->error);
                    else if (!ck->passed)
                        buf_printf(out, "\n              observed %s%s%s, expected %s", p.bold,
                                   str_or(ck->observed, "\"\""), p.reset, str_or(ck->expected, "\"\""));
                    buf_putc(out, '\n');
                }
            }
        }
        for (uint32_t o = 0; o < t->run->n_outputs; o++) {
            const output_result *r = &t->run->outputs[o];
            if (r->error)
                buf_printf(out, "  %s✘%s output %s: %s\n", p.bad, p.reset, r->name, r->error);
            else
                buf_printf(out, "  %soutput%s %s = %s\n", p.dim, p.reset, r->name, r->value);
        }
        if (t->lint)
            report_lint_pretty(out, t->lint, p.ok[0] != '\0', "  ");
        if (t->baseline_text) /* run --baseline: its lines, the first marked */
            buf_printf(out, "  %s%s%s %s", t->baseline_failed ? p.bad : p.dim, t->baseline_failed ? "✘" : "·", p.reset,
                       t->baseline_text);
    }
    report_summary s;
    report_summarize(tests, n, &s);
    buf_printf(out, "\n%s%u test%s: %u passed, %u failed", s.failed || s.errors ? p.bad : p.ok, s.tests,
               s.tests == 1 ? "" : "s", s.passed, s.failed + s.errors);
    if (s.errors)
        buf_printf(out, " (%u could not run)", s.errors);
    if (s.skipped)
        buf_printf(out, ", %u skipped", s.skipped);
    buf_printf(out, "%s · %u spec%s: %u passed, %u failed\n", p.reset, s.specs, s.specs == 1 ? "" : "s",
               s.specs - s.specs_failed, s.specs_failed);
    return out->failed ? TC_ERR_NOMEM : 0;
}

/* ---- JSON ---- */

static void jstr(tc_buf *out, const char *s)
{
    if (!s)
        buf_puts(out, "null");
    else
        buf_json_string(out, s, strlen(s));
}

static void json_span(tc_buf *out, const trace_span *sp)
{
    if (!sp) {
        buf_puts(out, "\"span_id\":null,\"name\":null,\"service\":null");
        return;
    }
    char id[17];
    hex_encode(sp->span_id, SPAN_ID_LEN, id);
    buf_printf(out, "\"span_id\":\"%s\",\"name\":", id);
    jstr(out, sp->name);
    buf_puts(out, ",\"service\":");
    jstr(out, trace_span_service(sp));
}

int report_json_test(tc_buf *out, const report_test *t)
{
    buf_putc(out, '{');
    buf_puts(out, "\"name\":");
    jstr(out, t->name);
    buf_puts(out, ",\"id\":");
    jstr(out, t->id);
    buf_puts(out, ",\"file\":");
    jstr(out, t->file);
    buf_puts(out, ",\"trace_id\":");
    jstr(out, t->trace_id);
    buf_puts(out, ",\"state\":");
    jstr(out, t->skipped ? "SKIPPED" : t->state);
    buf_printf(out, ",\"passed\":%s,\"error\":", report_test_passed(t) ? "true" : "false");
    jstr(out, t->error);
    buf_printf(out, ",\"duration_ms\":%.3f,", (double)t->duration_ns / 1e6);
    if (t->timeline)
        buf_printf(out, "\"timeline\":%s,", t->timeline);
    if (t->source)
        buf_printf(out, "\"source\":%s,", t->source);
    if (t->baseline)
        buf_printf(out, "\"baseline\":%s,", t->baseline);
    buf_puts(out, "\"specs\":[");
    for (uint32_t s = 0; t->run && s < t->run->n_specs; s++) {
        const spec_result *r = &t->run->specs[s];
        buf_puts(out, s ? ",{" : "{");
        buf_puts(out, "\"name\":");
        jstr(out, r->name);
        buf_puts(out, ",\"selector\":");
        jstr(out, r->selector);
        buf_printf(out, ",\"passed\":%s,\"error\":", r->passed ? "true" : "false");
        jstr(out, r->error);
        buf_printf(out, ",\"selected_spans\":%u,\"spans\":[", r->n_selected);
        for (uint32_t k = 0; k < r->n_spans; k++) {
            const spec_span_result *sr = &r->spans[k];
            buf_puts(out, k ? ",{" : "{");
            json_span(out, sr->span);
            buf_printf(out, ",\"passed\":%s,\"assertions\":[", sr->passed ? "true" : "false");
            for (uint32_t c = 0; c < sr->n_checks; c++) {
                const spec_check *ck = &sr->checks[c];
                buf_puts(out, c ? ",{" : "{");
                buf_puts(out, "\"assertion\":");
                jstr(out, ck->assertion);
                buf_printf(out, ",\"passed\":%s,\"observed\":", ck->passed ? "true" : "false");
                jstr(out, ck->observed);
                buf_puts(out, ",\"expected\":");
                jstr(out, ck->expected);
                buf_puts(out, ",\"error\":");
                jstr(out, ck->error);
                buf_putc(out, '}');
            }
            buf_puts(out, "]}");
        }
        buf_puts(out, "]}");
    }
    buf_puts(out, "],\"outputs\":[");
    for (uint32_t o = 0; t->run && o < t->run->n_outputs; o++) {
        const output_result *r = &t->run->outputs[o];
        buf_puts(out, o ? ",{" : "{");
        buf_puts(out, "\"name\":");
        jstr(out, r->name);
        buf_puts(out, ",\"value\":");
        jstr(out, r->value);
        buf_puts(out, ",\"error\":");
        jstr(out, r->error);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
    if (t->lint) {
        buf_puts(out, ",\"analyzer\":");
        report_lint_json(out, t->lint);
    }
    buf_putc(out, '}');
    return out->failed ? TC_ERR_NOMEM : 0;
}

int report_json(tc_buf *out, const report_test *tests, size_t n)
{
    buf_puts(out, "{\"tests\":[");
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, i ? ",\n" : "\n");
        report_json_test(out, &tests[i]);
    }
    report_summary s;
    report_summarize(tests, n, &s);
    buf_printf(out,
               "\n],\"summary\":{\"tests\":%u,\"passed\":%u,\"failed\":%u,\"errors\":%u,\"skipped\":%u,"
               "\"specs\":%u,\"specs_failed\":%u}}\n",
               s.tests, s.passed, s.failed, s.errors, s.skipped, s.specs, s.specs_failed);
    return out->failed ? TC_ERR_NOMEM : 0;
}

/* ---- JUnit XML ---- */

/* XML-escapes s; drops characters XML 1.0 cannot carry. */
static void xesc(tc_buf *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': buf_puts(out, "&amp;"); break;
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '"': buf_puts(out, "&quot;"); break;
        case '\'': buf_puts(out, "&apos;"); break;
        default:
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                break;
            buf_putc(out, (char)c);
        }
    }
}

static void junit_failure_text(tc_buf *out, const spec_result *r)
{
    for (uint32_t k = 0; k < r->n_spans; k++) {
        const spec_span_result *sr = &r->spans[k];
        if (sr->passed)
            continue;
        tc_buf label;
        buf_init(&label, 0);
        span_label(&label, sr->span, "", "");
        for (uint32_t c = 0; c < sr->n_checks; c++) {
            const spec_check *ck = &sr->checks[c];
            if (ck->passed)
                continue;
            buf_puts(out, "span ");
            xesc(out, buf_str(&label));
            buf_puts(out, ": ");
            xesc(out, ck->assertion);
            if (ck->error) {
                buf_puts(out, ": ");
                xesc(out, ck->error);
            } else {
                buf_puts(out, ": observed ");
                xesc(out, str_or(ck->observed, "\"\""));
                buf_puts(out, ", expected ");
                xesc(out, str_or(ck->expected, "\"\""));
            }
            buf_putc(out, '\n');
        }
        buf_free(&label);
    }
}

/* run --baseline: a testsuite "NAME: baseline" with one testcase, failed
 * when the diff failed the test; the diff's lines are the failure text. */
static void junit_baseline(tc_buf *out, const report_test *t, const char *name)
{
    buf_puts(out, "  <testsuite name=\"");
    xesc(out, name);
    buf_printf(out, ": baseline\" tests=\"1\" failures=\"%u\" errors=\"0\" skipped=\"0\" time=\"0\">\n",
               t->baseline_failed ? 1u : 0u);
    buf_puts(out, "    <testcase name=\"baseline\" classname=\"");
    xesc(out, name);
    buf_puts(out, "\" time=\"0\">");
    if (t->baseline_failed) {
        const char *nl = strchr(t->baseline_text, '\n');
        size_t n = nl ? (size_t)(nl - t->baseline_text) : strlen(t->baseline_text);
        char first[512];
        snprintf(first, sizeof first, "%.*s", (int)(n < sizeof first ? n : sizeof first - 1), t->baseline_text);
        buf_puts(out, "\n      <failure type=\"BaselineDiff\" message=\"");
        xesc(out, first);
        buf_puts(out, "\">");
        xesc(out, t->baseline_text);
        buf_puts(out, "</failure>\n    ");
    }
    buf_puts(out, "</testcase>\n  </testsuite>\n");
}

int report_junit(tc_buf *out, const report_test *tests, size_t n)
{
    report_summary s;
    report_summarize(tests, n, &s);
    uint64_t total_ns = 0;
    for (size_t i = 0; i < n; i++)
        total_ns += tests[i].duration_ns;
    uint32_t cases = 0, failures = 0, errors = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        const report_test *t = &tests[i];
        if (t->lint)
            report_lint_junit_counts(t->lint, &cases, &failures);
        if (t->baseline_text) { /* run --baseline: a testsuite of its own */
            cases++;
            failures += t->baseline_failed;
        }
        if (t->skipped || t->error || !t->run) {
            cases++;
            t->skipped ? skipped++ : errors++;
            continue;
        }
        for (uint32_t k = 0; k < t->run->n_specs; k++) {
            cases++;
            if (t->run->specs[k].error)
                errors++;
            else if (!t->run->specs[k].passed)
                failures++;
        }
    }
    buf_printf(out,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"tracecheck\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" "
               "time=\"%.3f\">\n",
               cases, failures, errors, skipped, (double)total_ns / 1e9);
    for (size_t i = 0; i < n; i++) {
        const report_test *t = &tests[i];
        const char *name = str_or(t->name, "(unnamed test)");
        uint32_t tc = 0, tf = 0, te = 0, ts = 0;
        if (t->skipped || t->error || !t->run) {
            tc = 1;
            t->skipped ? ts++ : te++;
        } else {
            tc = t->run->n_specs;
            for (uint32_t k = 0; k < t->run->n_specs; k++) {
                if (t->run->specs[k].error)
                    te++;
                else if (!t->run->specs[k].passed)
                    tf++;
            }
        }
        buf_puts(out, "  <testsuite name=\"");
        xesc(out, name);
        buf_printf(out, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\">\n", tc, tf,
                   te, ts, (double)t->duration_ns / 1e9);
        buf_puts(out, "    <properties>\n");
        if (t->trace_id)
            buf_printf(out, "      <property name=\"trace_id\" value=\"%s\"/>\n", t->trace_id);
        if (t->file) {
            buf_puts(out, "      <property name=\"file\" value=\"");
            xesc(out, t->file);
            buf_puts(out, "\"/>\n");
        }
        if (t->id) {
            buf_puts(out, "      <property name=\"test_id\" value=\"");
            xesc(out, t->id);
            buf_puts(out, "\"/>\n");
        }
        buf_puts(out, "      <property name=\"state\" value=\"");
        xesc(out, t->skipped ? "SKIPPED" : str_or(t->state, ""));
        buf_puts(out, "\"/>\n    </properties>\n");
        if (t->skipped || t->error || !t->run) {
            buf_puts(out, "    <testcase name=\"run\" classname=\"");
            xesc(out, name);
            buf_puts(out, "\" time=\"0\">\n");
            if (t->skipped) {
                buf_puts(out, "      <skipped message=\"");
                xesc(out, str_or(t->error, "not run"));
                buf_puts(out, "\"/>\n");
            } else {
                buf_puts(out, "      <error type=\"");
                xesc(out, str_or(t->state, "ERROR"));
                buf_puts(out, "\" message=\"");
                xesc(out, str_or(t->error, "not evaluated"));
                buf_puts(out, "\"/>\n");
            }
            buf_puts(out, "    </testcase>\n  </testsuite>\n");
            continue;
        }
        for (uint32_t k = 0; k < t->run->n_specs; k++) {
            const spec_result *r = &t->run->specs[k];
            buf_puts(out, "    <testcase name=\"");
            xesc(out, spec_title(r));
            buf_puts(out, "\" classname=\"");
            xesc(out, name);
            buf_puts(out, "\" time=\"0\">");
            if (r->error) {
                buf_puts(out, "\n      <error type=\"InvalidSpec\" message=\"");
                xesc(out, r->error);
                buf_puts(out, "\"/>\n    ");
            } else if (!r->passed) {
                uint32_t bad = 0;
                for (uint32_t k2 = 0; k2 < r->n_spans; k2++)
                    bad += !r->spans[k2].passed;
                buf_printf(out, "\n      <failure type=\"AssertionFailed\" message=\"%u of %u span%s failed\">",
                           bad, r->n_spans, r->n_spans == 1 ? "" : "s");
                junit_failure_text(out, r);
                buf_puts(out, "</failure>\n    ");
            }
            buf_puts(out, "</testcase>\n");
        }
        buf_puts(out, "  </testsuite>\n");
        if (t->lint)
            report_lint_junit(out, t->lint, name, t->trace_id);
        if (t->baseline_text)
            junit_baseline(out, t, name);
    }
    buf_puts(out, "</testsuites>\n");
    return out->failed ? TC_ERR_NOMEM : 0;
}
