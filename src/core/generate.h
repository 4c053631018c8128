/* generate.h - a runnable Test from a recorded trace: one spec per span
 * that matters (the entry span, every outgoing call, database statement,
 * messaging publish or receive, and error span; the trigger span's
 * response when the trace has one), each with a selector that picks
 * exactly that span (or that group of identical spans) and assertions that
 * hold on the trace, both checked with the real selector engine and
 * evaluator; then the Test written as Tracetest YAML.
 *
 * Ownership: everything in a gen_test (strings, arrays) is allocated from
 * the arena given to gen_generate and lives as long as it. gen_generate
 * reads the trace set (and caches computed attributes in its arena, as
 * every spec evaluation does); the set must stay alive while it runs only.
 *
 * Pure: no I/O. */
#ifndef TC_GENERATE_H
#define TC_GENERATE_H

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "trace.h"

#include <stdbool.h>
#include <stdint.h>

#define GEN_MAX_SPANS 100000u             /* spans of a trace generate reads */
#define GEN_MAX_SPECS 100u                /* specs of one generated test (more groups: left out, noted) */
#define GEN_MAX_LITERAL 200u              /* bytes of a value written in full; longer: `contains` a prefix */
#define GEN_MAX_NOTES 64u                 /* notes kept; more are counted */
#define GEN_MAX_WORK ((uint64_t)32 << 20) /* spans x steps visited trying selectors, in all */

typedef enum gen_trigger_mode {
    GEN_TRIGGER_AUTO = 0, /* from the entry span's HTTP or gRPC attributes, else traceid */
    GEN_TRIGGER_TRACEID,  /* always a traceid trigger with the trace's id */
} gen_trigger_mode;

typedef struct gen_opts {
    const char *test_name; /* NULL: "<service> <entry span name>" */
    const char *test_id;   /* NULL: "generated-" and the first 16 hex digits of the trace id */
    double headroom;       /* duration bounds: observed x headroom, rounded up; 0 means 2 */
    gen_trigger_mode trigger;
    uint32_t max_specs; /* 0: GEN_MAX_SPECS */
} gen_opts;

typedef enum gen_trigger_type {
    GEN_TRIG_TRACEID = 0,
    GEN_TRIG_HTTP,
    GEN_TRIG_GRPC,
} gen_trigger_type;

typedef struct gen_trigger {
    gen_trigger_type type;
    const char *trace_id; /* 32 hex digits (always set) */
    const char *method;   /* http: GET, POST...; grpc: package.Service.Method */
    const char *url;      /* http: absolute URL */
    const char *address;  /* grpc: host:port */
} gen_trigger;

typedef struct gen_spec {
    const char *name;
    const char *selector;
    const char **assertions;
    uint32_t n_assertions;
    uint32_t n_spans; /* spans the selector picks on the trace */
} gen_spec;

typedef struct gen_test {
    const char *id;
    const char *name;
    const char *description;
    gen_trigger trigger;
    gen_spec *specs;
    uint32_t n_specs;
    const char **notes; /* what was left out and why, for the user */
    uint32_t n_notes;
    uint32_t n_notes_dropped; /* past GEN_MAX_NOTES */
} gen_test;

/* Builds a Test for trace t (indexed) of set ts into *out, allocating from
 * a. Each spec's selector has been matched on t and picks exactly its
 * spans; each assertion has been evaluated on them and passes; what could
 * not be made so is left out with a note. Returns 0; TC_ERR_INPUT (the
 * trace has no spans, or bad options), TC_ERR_LIMIT (more than
 * GEN_MAX_SPANS spans) with e set; or TC_ERR_NOMEM. *out is written only on
 * success. */
int gen_generate(trace_set *ts, trace *t, const gen_opts *o, arena *a, gen_test *out, tc_error *e);

/* Appends the test as a Tracetest `type: Test` YAML document (block style;
 * scalars plain where YAML reads them back unchanged, else double-quoted;
 * `${` written so that ${NAME} substitution leaves it alone). Returns 0 or
 * the buffer's error code. */
int gen_write_yaml(const gen_test *g, tc_buf *out);

/* Parses a headroom factor: "2x", "1.5", "3X" (1 <= factor <= 1000).
 * Returns 0 with *out set, or -1. */
int gen_parse_headroom(const char *s, double *out);

#endif
