/* lint.c - case handlers for the trace analyzer (core/lint.h) and the
 * Analyzer resource:
 *   lint           @trace FILE (under tests/data); input: "PLUGIN/RULE"
 *                  and optional "key=value" lines (n_plus_one=N, skew=NS,
 *                  level=warning); output: "pass" or "fail N" (the number
 *                  of findings), then "SPANID NAME: message" per finding
 *                  ("- (trace): message" when it names no span)
 *   lint_score     @trace FILE; input: an Analyzer resource (YAML), or
 *                  nothing for the defaults; output: the score, the gate
 *                  and a line per plugin ("standards 50 failed")
 *   lint_analyzer  input: an Analyzer resource; output: its fields, one a
 *                  line, or the load error "L:C: message" */
#include "case.h"
#include "codec/codec.h"
#include "core/lint.h"
#include "resource/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static trace_set *load(const tc_case *c, tc_buf *out, trace **t)
{
    const char *file = case_param(c, "trace");
    if (!file) {
        buf_puts(out, "missing @trace");
        return NULL;
    }
    size_t len;
    char *data = case_read_file(case_data_path(file), &len);
    if (!data) {
        buf_printf(out, "cannot read %s", file);
        return NULL;
    }
    trace_set *ts = trace_set_new(0);
    tc_error e;
    if (tracefile_decode(ts, (const uint8_t *)data, len, TF_AUTO, NULL, &e) || trace_set_index(ts) ||
        trace_set_count(ts) != 1) {
        buf_printf(out, "%s: %s", file, trace_set_count(ts) != 1 ? "want exactly one trace" : e.msg);
        trace_set_free(&ts);
    }
    free(data);
    if (ts)
        *t = trace_set_at(ts, 0);
    return ts;
}

static void print_findings(tc_buf *out, const lint_rule_result *r)
{
    if (r->passed) {
        buf_puts(out, "pass\n");
        return;
    }
    buf_printf(out, "fail %u\n", r->n_findings);
    for (uint32_t i = 0; i < r->n_kept; i++) {
        const trace_span *sp = r->findings[i].span;
        if (sp) {
            char id[17];
            hex_encode(sp->span_id, SPAN_ID_LEN, id);
            buf_printf(out, "%s %s: %s\n", id, sp->name, r->findings[i].message);
        } else {
            buf_printf(out, "- (trace): %s\n", r->findings[i].message);
        }
    }
}

CASE_HANDLER(lint)
{
    char plugin[64] = "", rule[64] = "";
    lint_rule_cfg rc = {rule, -1, LINT_ERROR};
    lint_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *line = c->input;
    int ln = 0;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), line);
        if (ln++ == 0) {
            char *slash = strchr(buf, '/');
            if (!slash) {
                buf_puts(out, "want PLUGIN/RULE");
                return 1;
            }
            *slash = '\0';
            snprintf(plugin, sizeof plugin, "%.63s", buf);
            snprintf(rule, sizeof rule, "%.63s", slash + 1);
        } else if (strncmp(buf, "n_plus_one=", 11) == 0) {
            cfg.n_plus_one = (uint32_t)atoi(buf + 11);
        } else if (strncmp(buf, "skew=", 5) == 0) {
            cfg.skew_ns = strtoull(buf + 5, NULL, 10);
        } else if (strncmp(buf, "level=", 6) == 0) {
            rc.level = (lint_level)lint_level_parse(buf + 6);
        } else if (*buf) {
            buf_printf(out, "unknown line \"%s\"", buf);
            return 1;
        }
        line = nl ? nl + 1 : line + n;
    }
    const lint_rule_info *ri = lint_rule_find(lint_plugin_find(plugin), rule);
    if (!ri) {
        buf_printf(out, "no rule %s/%s", plugin, rule);
        return 1;
    }
    rc.weight = ri->weight;
    lint_plugin_cfg pc = {plugin, true, false, &rc, 1};
    cfg.plugins = &pc;
    cfg.n_plugins = 1;
    trace *t = NULL;
    trace_set *ts = load(c, out, &t);
    if (!ts)
        return 1;
    arena *a = arena_new(0);
    lint_result *res = NULL;
    tc_error e;
    int rcode = lint_run(&cfg, t, a, &res, &e);
    if (rcode)
        buf_puts(out, e.msg);
    else
        print_findings(out, &res->plugins[0].rules[0]);
    arena_free(&a);
    trace_set_free(&ts);
    return rcode;
}

/* Fills cfg from the Analyzer of the case's input (rf keeps its strings). */
static int analyzer_config(const tc_case *c, tc_buf *out, res_file **rf, arena *a, lint_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (!*c->input)
        return 0;
    tc_error e;
    if (res_load_buffer("analyzer.yaml", c->input, strlen(c->input), rf, &e)) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        return 1;
    }
    const res_analyzer *an = NULL;
    for (size_t i = 0; i < (*rf)->n_items && !an; i++)
        an = (*rf)->items[i].u.analyzer;
    if (!an) {
        buf_puts(out, "no Analyzer in the input");
        return 1;
    }
    cfg->minimum_score = (int)an->minimum_score;
    if (!an->plugins)
        return 0;
    lint_plugin_cfg *pl = arena_calloc(a, an->n_plugins, sizeof *pl);
    for (size_t i = 0; pl && i < an->n_plugins; i++) {
        const res_analyzer_plugin *p = &an->plugins[i];
        pl[i] = (lint_plugin_cfg){p->id.s, p->enabled.v, p->required.v, NULL, 0};
        if (!p->rules)
            continue;
        lint_rule_cfg *rules = arena_calloc(a, p->n_rules ? p->n_rules : 1, sizeof *rules);
        for (size_t k = 0; rules && k < p->n_rules; k++)
            rules[k] =
                (lint_rule_cfg){p->rules[k].id.s, (int)p->rules[k].weight, (lint_level)p->rules[k].level};
        pl[i].rules = rules;
        pl[i].n_rules = p->n_rules;
    }
    cfg->plugins = pl;
    cfg->n_plugins = an->n_plugins;
    return 0;
}

CASE_HANDLER(lint_score)
{
    arena *a = arena_new(0);
    res_file *rf = NULL;
    lint_config cfg;
    int rc = analyzer_config(c, out, &rf, a, &cfg);
    trace *t = NULL;
    trace_set *ts = rc ? NULL : load(c, out, &t);
    if (!rc && !ts)
        rc = 1;
    lint_result *res = NULL;
    tc_error e;
    if (!rc && (rc = lint_run(&cfg, t, a, &res, &e)) != 0)
        buf_puts(out, e.msg);
    if (!rc) {
        buf_printf(out, "score %d minimum %d %s%s%s\n", res->score, res->minimum_score,
                   res->passed ? "passed" : "failed", res->why ? ": " : "", res->why ? res->why : "");
        for (size_t i = 0; i < res->n_plugins; i++) {
            const lint_plugin_result *p = &res->plugins[i];
            buf_printf(out, "%s %d %s%s", p->info->id, p->score, p->passed ? "passed" : "failed",
                       p->required ? " required" : "");
            for (size_t k = 0; k < p->n_rules; k++)
                if (!p->rules[k].passed)
                    buf_printf(out, " %s(%s)", p->rules[k].info->id, lint_level_name(p->rules[k].level));
            buf_putc(out, '\n');
        }
    }
    trace_set_free(&ts);
    res_file_free(&rf);
    arena_free(&a);
    return rc;
}

CASE_HANDLER(lint_analyzer)
{
    res_file *rf = NULL;
    tc_error e;
    if (res_load_buffer("analyzer.yaml", c->input, strlen(c->input), &rf, &e)) {
        buf_printf(out, "%d:%d: %s", e.line, e.col, e.msg);
        return 1;
    }
    const res_analyzer *an = NULL;
    for (size_t i = 0; i < rf->n_items && !an; i++)
        an = rf->items[i].u.analyzer;
    if (!an) {
        buf_puts(out, "no Analyzer in the input");
        res_file_free(&rf);
        return 1;
    }
    buf_printf(out, "id %s\nname %s\nenabled %s\nminimumScore %lld\n", an->id.s ? an->id.s : "-",
               an->name.s ? an->name.s : "-", an->enabled.v ? "true" : "false", an->minimum_score);
    if (!an->plugins)
        buf_puts(out, "plugins (defaults)\n");
    for (size_t i = 0; i < an->n_plugins; i++) {
        const res_analyzer_plugin *p = &an->plugins[i];
        buf_printf(out, "plugin %s enabled=%s required=%s%s\n", p->id.s, p->enabled.v ? "true" : "false",
                   p->required.v ? "true" : "false", p->rules ? "" : " rules=(defaults)");
        for (size_t k = 0; k < p->n_rules; k++)
            buf_printf(out, "  rule %s weight=%lld level=%s\n", p->rules[k].id.s, p->rules[k].weight,
                       lint_level_name((lint_level)p->rules[k].level));
    }
    for (size_t i = 0; i < rf->n_warnings; i++)
        buf_printf(out, "warning %d:%d: %s\n", rf->warnings[i].line, rf->warnings[i].col,
                   rf->warnings[i].msg);
    res_file_free(&rf);
    return 0;
}
