/* report_lint.c - the analyzer's result in the reports: pretty (grouped by
 * plugin and rule), the JSON object, and JUnit testcases. */
#include "report.h"

#include <stdio.h>
#include <string.h>

static void finding_span(tc_buf *out, const trace_span *sp, const char *dim, const char *reset)
{
    if (!sp) {
        buf_puts(out, "(the trace)");
        return;
    }
    char id[17];
    hex_encode(sp->span_id, SPAN_ID_LEN, id);
    const char *svc = trace_span_service(sp);
    buf_printf(out, "%s  %s%s%s%s%s", sp->name, dim, svc, *svc ? " " : "", id, reset);
}

int report_lint_pretty(tc_buf *out, const lint_result *r, bool color, const char *indent)
{
    const char *ok = color ? "\033[32m" : "", *bad = color ? "\033[31m" : "", *warn = color ? "\033[33m" : "";
    const char *dim = color ? "\033[2m" : "", *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    buf_printf(out, "%s%s%s%s %sanalyzer%s score %s%d%s/100 (minimum %d)", indent, r->passed ? ok : bad,
               r->passed ? "✔" : "✘", reset, bold, reset, bold, r->score, reset, r->minimum_score);
    if (r->why)
        buf_printf(out, ": %s%s%s", bad, r->why, reset);
    buf_putc(out, '\n');
    for (size_t i = 0; i < r->n_plugins; i++) {
        const lint_plugin_result *p = &r->plugins[i];
        buf_printf(out, "%s  %s%s%s %s%s score %d %s(%s)%s\n", indent, p->passed ? ok : bad,
                   p->passed ? "✔" : "✘", reset, p->info->id, p->required ? " [required]" : "", p->score, dim,
                   p->info->name, reset);
        for (size_t k = 0; k < p->n_rules; k++) {
            const lint_rule_result *ru = &p->rules[k];
            if (ru->level == LINT_DISABLED) {
                buf_printf(out, "%s      %s- %s (disabled)%s\n", indent, dim, ru->info->id, reset);
                continue;
            }
            const char *col = ru->passed ? ok : ru->level == LINT_ERROR ? bad : warn;
            const char *mark = ru->passed ? "✔" : ru->level == LINT_ERROR ? "✘" : "!";
            buf_printf(out, "%s    %s%s%s %s %s(%s, weight %d)%s", indent, col, mark, reset, ru->info->id,
                       dim, lint_level_name(ru->level), ru->weight, reset);
            if (ru->passed) {
                buf_putc(out, '\n');
                continue;
            }
            buf_printf(out, ": %u finding%s\n", ru->n_findings, ru->n_findings == 1 ? "" : "s");
            for (uint32_t f = 0; f < ru->n_kept; f++) {
                buf_printf(out, "%s        ", indent);
                finding_span(out, ru->findings[f].span, dim, reset);
                buf_printf(out, "\n%s          %s\n", indent, ru->findings[f].message);
            }
            if (ru->n_findings > ru->n_kept)
                buf_printf(out, "%s        %s… and %u more%s\n", indent, dim, ru->n_findings - ru->n_kept,
                           reset);
        }
    }
    return out->failed ? TC_ERR_NOMEM : 0;
}

static void jstr(tc_buf *out, const char *s)
{
    if (s)
        buf_json_string(out, s, strlen(s));
    else
        buf_puts(out, "null");
}

int report_lint_json(tc_buf *out, const lint_result *r)
{
    buf_printf(out, "{\"score\":%d,\"minimum_score\":%d,\"passed\":%s,\"rules_passed\":%s,\"why\":", r->score,
               r->minimum_score, r->passed ? "true" : "false", r->rules_passed ? "true" : "false");
    jstr(out, r->why);
    buf_printf(out, ",\"spans\":%u,\"plugins\":[", r->n_spans);
    for (size_t i = 0; i < r->n_plugins; i++) {
        const lint_plugin_result *p = &r->plugins[i];
        buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        jstr(out, p->info->id);
        buf_puts(out, ",\"name\":");
        jstr(out, p->info->name);
        buf_printf(out, ",\"required\":%s,\"passed\":%s,\"score\":%d,\"rules\":[",
                   p->required ? "true" : "false", p->passed ? "true" : "false", p->score);
        for (size_t k = 0; k < p->n_rules; k++) {
            const lint_rule_result *ru = &p->rules[k];
            buf_puts(out, k ? ",{\"id\":" : "{\"id\":");
            jstr(out, ru->info->id);
            buf_puts(out, ",\"name\":");
            jstr(out, ru->info->name);
            buf_puts(out, ",\"description\":");
            jstr(out, ru->info->description);
            buf_printf(out, ",\"level\":\"%s\",\"weight\":%d,\"passed\":%s,\"findings\":%u,\"results\":[",
                       lint_level_name(ru->level), ru->weight, ru->passed ? "true" : "false", ru->n_findings);
            for (uint32_t f = 0; f < ru->n_kept; f++) {
                const trace_span *sp = ru->findings[f].span;
                buf_puts(out, f ? ",{\"span_id\":" : "{\"span_id\":");
                if (sp) {
                    char id[17];
                    hex_encode(sp->span_id, SPAN_ID_LEN, id);
                    buf_printf(out, "\"%s\",\"name\":", id);
                    jstr(out, sp->name);
                    buf_puts(out, ",\"service\":");
                    jstr(out, trace_span_service(sp));
                } else {
                    buf_puts(out, "null,\"name\":null,\"service\":null");
                }
                buf_puts(out, ",\"message\":");
                jstr(out, ru->findings[f].message);
                buf_putc(out, '}');
            }
            buf_puts(out, "]}");
        }
        buf_puts(out, "]}");
    }
    buf_puts(out, "]}");
    return out->failed ? TC_ERR_NOMEM : 0;
}

/* XML-escapes s; drops characters XML 1.0 cannot carry. */
static void xesc(tc_buf *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            buf_puts(out, "&amp;");
        else if (c == '<')
            buf_puts(out, "&lt;");
        else if (c == '>')
            buf_puts(out, "&gt;");
        else if (c == '"')
            buf_puts(out, "&quot;");
        else if (c == '\'')
            buf_puts(out, "&apos;");
        else if (c >= 0x20 || c == '\n' || c == '\t')
            buf_putc(out, (char)c);
    }
}

static bool rule_fails(const lint_rule_result *ru)
{
    return ru->level == LINT_ERROR && !ru->passed;
}

void report_lint_junit_counts(const lint_result *r, uint32_t *cases, uint32_t *failures)
{
    *cases += 1;
    *failures += !r->passed;
    for (size_t i = 0; i < r->n_plugins; i++)
        for (size_t k = 0; k < r->plugins[i].n_rules; k++) {
            const lint_rule_result *ru = &r->plugins[i].rules[k];
            if (ru->level == LINT_DISABLED)
                continue;
            *cases += 1;
            *failures += rule_fails(ru);
        }
}

int report_lint_junit(tc_buf *out, const lint_result *r, const char *name, const char *trace_id)
{
    uint32_t cases = 0, failures = 0;
    report_lint_junit_counts(r, &cases, &failures);
    buf_puts(out, "  <testsuite name=\"");
    xesc(out, name);
    buf_printf(out, ": analyzer\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"0\" time=\"0\">\n",
               cases, failures);
    buf_printf(out,
               "    <properties>\n      <property name=\"analyzer_score\" value=\"%d\"/>\n"
               "      <property name=\"analyzer_minimum_score\" value=\"%d\"/>\n",
               r->score, r->minimum_score);
    if (trace_id)
        buf_printf(out, "      <property name=\"trace_id\" value=\"%s\"/>\n", trace_id);
    buf_puts(out, "    </properties>\n    <testcase name=\"analyzer score\" classname=\"");
    xesc(out, name);
    buf_puts(out, "\" time=\"0\">");
    if (!r->passed) {
        buf_puts(out, "\n      <failure type=\"AnalyzerGate\" message=\"");
        xesc(out, r->why);
        buf_puts(out, "\"/>\n    ");
    }
    buf_puts(out, "</testcase>\n");
    for (size_t i = 0; i < r->n_plugins; i++) {
        const lint_plugin_result *p = &r->plugins[i];
        for (size_t k = 0; k < p->n_rules; k++) {
            const lint_rule_result *ru = &p->rules[k];
            if (ru->level == LINT_DISABLED)
                continue;
            buf_printf(out, "    <testcase name=\"%s/%s\" classname=\"", p->info->id, ru->info->id);
            xesc(out, name);
            buf_puts(out, "\" time=\"0\">");
            if (!ru->passed) {
                tc_buf text;
                buf_init(&text, 0);
                for (uint32_t f = 0; f < ru->n_kept; f++) {
                    buf_puts(&text, "span ");
                    finding_span(&text, ru->findings[f].span, "", "");
                    buf_printf(&text, ": %s\n", ru->findings[f].message);
                }
                if (ru->n_findings > ru->n_kept)
                    buf_printf(&text, "... and %u more\n", ru->n_findings - ru->n_kept);
                if (rule_fails(ru)) {
                    buf_printf(out, "\n      <failure type=\"AnalyzerRule\" message=\"%u finding%s\">",
                               ru->n_findings, ru->n_findings == 1 ? "" : "s");
                    xesc(out, buf_str(&text));
                    buf_puts(out, "</failure>\n    ");
                } else { /* a warning: reported, not failed */
                    buf_puts(out, "\n      <system-out>");
                    xesc(out, buf_str(&text));
                    buf_puts(out, "</system-out>\n    ");
                }
                if (text.failed)
                    out->failed = true;
                buf_free(&text);
            }
            buf_puts(out, "</testcase>\n");
        }
    }
    buf_puts(out, "  </testsuite>\n");
    return out->failed ? TC_ERR_NOMEM : 0;
}
