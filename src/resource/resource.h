/* resource.h - loads Tracetest-compatible YAML resource files (Test,
 * TestSuite, VariableSet, PollingProfile, DataStore, and the kinds
 * tracecheck reads but does not use) into plain C structs.
 *
 * Ownership: res_load_buffer/res_load_file return a res_file that owns one
 * arena; every string, list and node reachable from it lives in that arena
 * and dies with res_file_free(). Strings are NUL-terminated. Every value
 * read from the file keeps its 1-based line/col (0 when the value is a
 * default or absent) so later stages can point errors at it.
 *
 * Errors: a load fails with TC_ERR_INPUT (malformed YAML, wrong type, missing
 * key), TC_ERR_LIMIT (size, depth or count limit), TC_ERR_NOMEM or TC_ERR_IO
 * (res_load_file only), with e->line/col set and a message naming the key
 * path ("spec.specs[2].assertions: expected a list of strings"). Unknown
 * keys are not errors: they become located warnings on the res_file. */
#ifndef TC_RESOURCE_H
#define TC_RESOURCE_H

#include "core/buf.h"
#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

#define RES_MAX_FILE ((size_t)16 << 20) /* bytes of one resource file */
#define RES_MAX_DEPTH 48                /* nesting of YAML collections */
#define RES_MAX_NODES 1000000           /* YAML nodes in one file (aliases expanded) */
#define RES_MAX_MAP_KEYS 4096           /* keys in one mapping */
#define RES_MAX_DOCS 1024               /* documents in one file */
#define RES_MAX_ITEMS 100000            /* specs, assertions, steps, values... in one list */
#define RES_MAX_WARNINGS 200            /* warnings kept; more are counted */
#define RES_ARENA_CAP ((size_t)512 << 20)

/* ---- the generic YAML tree (every document is kept as one) ---- */
typedef enum res_node_kind { RES_SCALAR, RES_MAP, RES_SEQ } res_node_kind;

typedef struct res_node {
    res_node_kind kind;
    int line, col;          /* start of the node */
    const char *key;        /* when a map entry: its key; else NULL */
    int key_line, key_col;
    const char *str;        /* scalar text ("" for an empty scalar) */
    size_t len;             /* scalar length in bytes (may hold NULs) */
    bool quoted;            /* quoted or block scalar: never null/bool/number */
    bool used;              /* the typed loader read this map entry */
    size_t n;               /* map entries / sequence items */
    struct res_node *first; /* first child */
    struct res_node *next;  /* next sibling */
} res_node;

/* The entry of map `m` whose key is `key` (exact match first, then ASCII
 * case-insensitive, as Tracetest's JSON decoding does). NULL when m is not a
 * map or has no such key. Does not mark the entry used. */
const res_node *res_node_get(const res_node *m, const char *key);

/* True when the scalar is a YAML null (plain "", "~", "null"). */
bool res_node_is_null(const res_node *n);

/* ---- located values ---- */
typedef struct res_str {
    const char *s; /* NULL when absent */
    int line, col;
} res_str;

typedef struct res_bool {
    bool v;
    bool set; /* present in the file */
    int line, col;
} res_bool;

typedef struct res_kv {
    res_str key, value;
} res_kv;

typedef struct res_auth {
    res_str type;                     /* apiKey | basic | bearer */
    res_str key, value, in;           /* apiKey */
    res_str username, password;       /* basic */
    res_str token;                    /* bearer */
} res_auth;

typedef enum res_trigger_type {
    RES_TRIG_NONE = 0,
    RES_TRIG_HTTP,
    RES_TRIG_GRPC,
    RES_TRIG_TRACEID,
    RES_TRIG_KAFKA,
    RES_TRIG_GRAPHQL,
    RES_TRIG_PLAYWRIGHTENGINE,
    RES_TRIG_CYPRESS, /* cypress..artillery: trace id from ${env:TRACE_ID} */
    RES_TRIG_PLAYWRIGHT,
    RES_TRIG_K6,
    RES_TRIG_ARTILLERY,
} res_trigger_type;

typedef struct res_trigger {
    res_trigger_type type;
    res_str type_name; /* as written */
    struct {
        res_str url, method, body;
        res_kv *headers;
        size_t n_headers;
        res_bool ssl_verification;
        res_auth *auth; /* NULL when none */
    } http;
    struct {
        res_str protobuf_file, address, service, method, request;
        res_kv *metadata;
        size_t n_metadata;
        res_auth *auth;
    } grpc;
    struct {
        res_str id;
    } traceid;
    struct {
        res_str *broker_urls;
        size_t n_broker_urls;
        res_str topic, message_key, message_value;
        res_kv *headers;
        size_t n_headers;
        res_bool ssl_verification;
        res_str auth_type, auth_username, auth_password; /* authentication: {type, plain} */
    } kafka;
    struct {
        res_str url, schema, query, operation_name;
        res_kv *headers;
        size_t n_headers;
        res_kv *variables; /* body.variables */
        size_t n_variables;
        res_bool ssl_verification;
        res_auth *auth;
    } graphql;
    struct {
        res_str target, script, method;
    } playwright_engine;
} res_trigger;

typedef struct res_spec {
    res_str name, selector;
    res_str *assertions;
    size_t n_assertions;
    int line, col; /* the spec entry */
} res_spec;

typedef struct res_output {
    res_str name, selector, value;
} res_output;

typedef struct res_test {
    res_str id, name, description;
    res_trigger trigger;
    res_spec *specs;
    size_t n_specs;
    res_output *outputs;
    size_t n_outputs;
    res_bool skip_trace_collection;
    res_str polling_profile; /* id of a PollingProfile */
} res_test;

typedef struct res_suite {
    res_str id, name, description;
    res_str *steps; /* test ids or paths relative to the file */
    size_t n_steps;
    res_kv *env;    /* old form: spec.env map */
    size_t n_env;
} res_suite;

typedef struct res_var {
    res_str key, value;
    res_str type;     /* optional; "secret" also marks the value secret */
    res_bool secret;  /* ours: `secret: true` hides the value in reports */
} res_var;

typedef struct res_varset {
    res_str id, name, description;
    res_var *values;
    size_t n_values;
} res_varset;

typedef struct res_polling {
    res_str id, name, strategy; /* strategy: "periodic" (default) */
    res_bool is_default;
    res_str retry_delay, timeout;  /* as written, or "5s" / "1m" */
    long long retry_delay_ms, timeout_ms;
    res_str quiet_window;          /* ours: periodic.quietWindow, "250ms" when absent */
    long long quiet_window_ms;
    long long selector_match_retries; /* default 3 */
    int retries_line, retries_col;
} res_polling;

typedef struct res_datastore {
    res_str id, name, type;
    res_bool is_default;
    const res_node *block; /* the map under the key named by type, or NULL */
} res_datastore;

/* Analyzer (old name Linter): Tracetest's trace analyzer settings. Plugin
 * and rule ids are checked against the analyzer's tables (core/lint.h). */
typedef struct res_analyzer_rule {
    res_str id;         /* `id` (or the old `slug`) */
    long long weight;   /* the rule's default when absent */
    res_str error_level; /* error | warning | disabled; the rule's default when absent */
    int level;          /* lint_level */
    int line, col;      /* the rule entry */
} res_analyzer_rule;

typedef struct res_analyzer_plugin {
    res_str id;         /* `id`, `slug`, else `name` */
    res_str name;
    res_bool enabled;   /* default true */
    res_bool required;  /* a failing error-level rule fails the run */
    res_analyzer_rule *rules; /* NULL: the plugin's rules with their defaults */
    size_t n_rules;
    int line, col;
} res_analyzer_plugin;

typedef struct res_analyzer {
    res_str id, name;
    res_bool enabled;   /* default true */
    long long minimum_score; /* 0..100, default 0 */
    int score_line, score_col;
    res_analyzer_plugin *plugins; /* NULL: every plugin with its defaults */
    size_t n_plugins;
} res_analyzer;

typedef enum res_kind {
    RES_TEST,
    RES_TESTSUITE,
    RES_VARSET,
    RES_POLLING,
    RES_DATASTORE,
    RES_OTHER, /* Analyzer, Linter, TestRunner, Config, Demo, Monitor: spec kept as a tree */
} res_kind;

typedef struct res_resource {
    res_kind kind;
    const char *type;     /* as written: "Test", "Transaction", "Environment"... */
    int line, col;        /* the document's root */
    int doc;              /* 0-based document index in the file */
    const res_node *spec; /* the spec mapping as a tree (the root for bare old Tests) */
    union {
        res_test *test;
        res_suite *suite;
        res_varset *varset;
        res_polling *polling;
        res_datastore *datastore;
        res_analyzer *analyzer; /* RES_OTHER of type Analyzer or Linter */
    } u; /* NULL for other RES_OTHER kinds */
} res_resource;

typedef struct res_warning {
    int line, col;
    const char *msg;
} res_warning;

typedef struct res_file {
    struct arena *arena;
    const char *name;     /* as given */
    const char *base_dir; /* directory of name ("." when none): bodies and steps are relative to it */
    res_resource *items;
    size_t n_items;
    res_warning *warnings;
    size_t n_warnings;
    size_t n_warnings_dropped; /* past RES_MAX_WARNINGS */
} res_file;

/* Parses every document of text[0..len) (at most RES_MAX_FILE bytes; need
 * not be NUL-terminated). `name` names the file in the result and sets
 * base_dir. Returns 0 and *out (free with res_file_free) or an error code
 * with e located; *out is untouched on failure. A file with no resource at
 * all is an error. */
int res_load_buffer(const char *name, const char *text, size_t len, res_file **out, tc_error *e);

/* Reads the file at path (at most RES_MAX_FILE bytes) and loads it as
 * res_load_buffer does. TC_ERR_IO when it cannot be read. */
int res_load_file(const char *path, res_file **out, tc_error *e);

/* Frees the file and everything in it; sets *f to NULL. Accepts NULL. */
void res_file_free(res_file **f);

/* Name of a kind ("Test", "TestSuite", "VariableSet", "PollingProfile",
 * "DataStore", "Other") and of a trigger type ("http", ...; "" for none). */
const char *res_kind_name(res_kind k);
const char *res_trigger_type_name(res_trigger_type t);

/* Appends a canonical text dump of every resource (one field a line,
 * indented), then the warnings as "warning L:C: message". Returns 0 or the
 * buffer's error code. */
int res_dump(const res_file *f, tc_buf *out);

/* Looks a name up; returns its value or NULL when not set. */
typedef const char *(*res_lookup_fn)(void *user, const char *name);

/* Replaces every `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*, no prefix) of
 * text[0..len) by lookup(user, NAME), appending the result to out (capped at
 * RES_MAX_FILE). `${env:X}`, `${var:X}` and other `${...}` expressions are
 * copied unchanged. Pure: the caller's lookup decides where values come
 * from (the CLI uses the process environment). Returns 0, or TC_ERR_INPUT
 * with e at the reference when a name is not set (`environment variable
 * "NAME" is not set`), or TC_ERR_LIMIT. */
int res_subst_env(const char *text, size_t len, res_lookup_fn lookup, void *user, tc_buf *out,
                  tc_error *e);

#endif
