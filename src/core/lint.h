/* lint.h - the trace analyzer: rules over one trace (Tracetest's analyzer
 * plugins brought up to today's OpenTelemetry semantic conventions, plus
 * structural rules of our own), findings that point at spans, a score per
 * plugin and a total, and the pass/fail gate of an Analyzer resource.
 *
 * Ownership: lint_run allocates its result, every finding and every message
 * from the caller's arena; findings point at spans of the trace, so the
 * trace set and the arena must outlive the result. The rule and plugin
 * tables (ids, names, descriptions) are static. Pure: no I/O, no clock.
 *
 * Threading: none; one trace, one thread. */
#ifndef TC_LINT_H
#define TC_LINT_H

#include "arena.h"
#include "error.h"
#include "trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum lint_level {
    LINT_DISABLED = 0, /* the rule does not run */
    LINT_WARNING = 1,  /* runs and reports; does not count in the score */
    LINT_ERROR = 2,    /* runs, reports, counts in the score and the gate */
} lint_level;

/* Findings kept per rule (every finding is counted; past this many only
 * the count grows), and the defaults of the tunable rules. */
#define LINT_MAX_KEPT 200
#define LINT_DEFAULT_N_PLUS_ONE 5                /* same statement under one parent */
#define LINT_DEFAULT_SKEW_NS ((uint64_t)1000000) /* 1 ms of tolerance */
#define LINT_MAX_SHAPE 512                       /* bytes of a statement shape */

/* ---- configuration (what an Analyzer resource says) ---- */

typedef struct lint_rule_cfg {
    const char *id; /* a rule of the plugin (lint_rule_info) */
    int weight;     /* 0..: its share of the plugin's score */
    lint_level level;
} lint_rule_cfg;

typedef struct lint_plugin_cfg {
    const char *id; /* "standards", "common", "security", "structure" */
    bool enabled;
    bool required;              /* a failing error-level rule fails the gate */
    const lint_rule_cfg *rules; /* NULL: the plugin's rules with their defaults */
    size_t n_rules;
} lint_plugin_cfg;

typedef struct lint_config {
    int minimum_score;              /* 0..100; the gate fails under it */
    const lint_plugin_cfg *plugins; /* NULL: every plugin with its defaults */
    size_t n_plugins;
    uint32_t n_plus_one; /* 0: LINT_DEFAULT_N_PLUS_ONE */
    uint64_t skew_ns;    /* clock-skew tolerance; 0: LINT_DEFAULT_SKEW_NS */
} lint_config;

/* What the tables know of a rule or plugin. */
typedef struct lint_rule_info {
    const char *id, *name, *description;
    int weight;       /* default weight */
    lint_level level; /* default level */
} lint_rule_info;

typedef struct lint_plugin_info {
    const char *id, *name, *description;
    const lint_rule_info *rules;
    size_t n_rules;
} lint_plugin_info;

/* The plugins, in report order: standards, common, security, structure. */
const lint_plugin_info *lint_plugins(size_t *n);

/* A plugin by id, or NULL. */
const lint_plugin_info *lint_plugin_find(const char *id);

/* A rule of plugin p by id, or NULL. */
const lint_rule_info *lint_rule_find(const lint_plugin_info *p, const char *id);

/* Parses "error", "warning", "disabled" (any case). -1 when unknown. */
int lint_level_parse(const char *s);
const char *lint_level_name(lint_level l);

/* ---- results ---- */

typedef struct lint_finding {
    const trace_span *span; /* the span it is about; NULL for the trace as a whole */
    const char *message;
} lint_finding;

typedef struct lint_rule_result {
    const lint_rule_info *info;
    int weight;
    lint_level level;
    bool passed;         /* no finding (always true when disabled) */
    uint32_t n_findings; /* every finding */
    uint32_t n_kept;     /* findings[0..n_kept), at most LINT_MAX_KEPT, in trace pre-order */
    lint_finding *findings;
} lint_rule_result;

typedef struct lint_plugin_result {
    const lint_plugin_info *info;
    bool required;
    bool passed; /* every error-level rule passed */
    int score;   /* 100 * weight of passing error-level rules / weight of all error-level rules */
    lint_rule_result *rules;
    size_t n_rules;
} lint_plugin_result;

typedef struct lint_result {
    lint_plugin_result *plugins; /* the enabled plugins */
    size_t n_plugins;
    int score; /* mean of the plugin scores (integer division); 100 with no plugin */
    int minimum_score;
    bool rules_passed; /* every error-level rule of every plugin passed */
    bool passed;       /* the gate: score >= minimum_score and no required plugin failed */
    const char *why;   /* why the gate failed, NULL when it passed */
    uint32_t n_spans;  /* spans analysed */
} lint_result;

/* Checks cfg against the tables: every plugin and rule id known, weights
 * not negative, minimum score in 0..100. Returns 0, or TC_ERR_INPUT with a
 * message naming the plugin or rule. */
int lint_config_check(const lint_config *cfg, tc_error *e);

/* Runs the enabled plugins of cfg (NULL: every plugin with its defaults)
 * over trace t of ts (indexed). Returns 0 with *out (in a), TC_ERR_INPUT
 * for a bad cfg (see lint_config_check), or TC_ERR_NOMEM. Linear in the
 * spans and their attributes apart from sorting (statement shapes under
 * one parent, attribute keys of one span). */
int lint_run(const lint_config *cfg, const trace *t, arena *a, lint_result **out, tc_error *e);

/* The shape of a statement for the N+1 rule: string and number literals
 * become ?, runs of white space one space, a list of ? one ?; at most
 * LINT_MAX_SHAPE bytes (NUL included) written to out. Returns the length. */
size_t lint_statement_shape(const char *s, size_t n, char *out);

#endif
