/* jdom.h - shared pieces of the JSON trace decoders that work on a jansson
 * tree (Jaeger, Zipkin): loading a body under the codec limits, errors that
 * name the field's path, ids, strings, timestamps and attribute lists.
 *
 * Ownership: jdom_load hands the caller a jansson tree to release with
 * json_decref. Strings, attributes, scopes and resources come from the
 * context's arena (the trace set's) and live as long as the set. */
#ifndef TC_CODEC_JDOM_H
#define TC_CODEC_JDOM_H

#include "core/trace.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JDOM_PATH_MAX 96
#define JDOM_SCOPE_CACHE 32

typedef struct jdom_ctx {
    trace_set *ts;
    arena *a;
    tc_error *e;
    char path[JDOM_PATH_MAX]; /* where in the document, e.g. "data[0].spans[3]" */
    uint32_t n_scopes;
    trace_scope *scopes[JDOM_SCOPE_CACHE]; /* shared scopes by name and version */
} jdom_ctx;

/* Sets up a context for decoding into ts, reporting to e. */
void jdom_init(jdom_ctx *c, trace_set *ts, tc_error *e);

/* Parses buf[0..len) as one JSON object or array. Rejects bodies over
 * CODEC_MAX_BODY and nesting deeper than CODEC_MAX_JSON_DEPTH (checked by a
 * scan before parsing). Returns 0 with *out set (caller json_decref()s it),
 * or TC_ERR_INPUT / TC_ERR_LIMIT with e located (offset, line, column). */
int jdom_load(const char *buf, size_t len, json_t **out, tc_error *e);

/* Sets the error "PATH.FIELD: message" (FIELD may be NULL) and returns code. */
int jdom_fail(jdom_ctx *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Decodes a hex id of 1..2n digits into n bytes, left-padded with zeros.
 * Returns 0, or -1 when s is not such a string. */
int jdom_hex_id(const json_t *s, uint8_t *out, size_t n);

/* True when the n bytes are all zero. */
bool jdom_is_zero(const uint8_t *id, size_t n);

/* Reads a field holding a trace id (16 bytes) or span id (8 bytes):
 * required ids must be present; a zero id is refused when !zero_ok.
 * Returns 0 (out untouched when absent and optional) or TC_ERR_INPUT. */
int jdom_id_field(jdom_ctx *c, const json_t *obj, const char *field, uint8_t *out, size_t n, bool required,
                  bool zero_ok);

/* Copies a JSON string into the arena (at most CODEC_MAX_STRING bytes).
 * Returns 0 with *out set, TC_ERR_LIMIT or TC_ERR_NOMEM (error names field). */
int jdom_str(jdom_ctx *c, const json_t *s, const char *field, const char **out);

/* Reads an optional string field; absent or null gives def. Returns 0 or
 * TC_ERR_* when the field is not a string. */
int jdom_str_field(jdom_ctx *c, const json_t *obj, const char *field, const char *def, const char **out);

/* Reads an optional non-negative integer count of microseconds and gives
 * nanoseconds (absent or null: 0). Returns 0 or TC_ERR_INPUT. */
int jdom_micros_field(jdom_ctx *c, const json_t *obj, const char *field, uint64_t *ns);

/* Removes every attribute named key from attrs[0..*n), keeping the order,
 * and copies the value of the last one into *out (may be NULL). Returns
 * true when the key was there. */
bool jdom_take(tc_attr *attrs, uint32_t *n, const char *key, tc_value *out);

/* Sets attribute key (a static string) to v: replaces an attribute of that
 * key or appends (attrs must have room). */
void jdom_put(tc_attr *attrs, uint32_t *n, const char *key, tc_value v);

/* A string value of a NUL-terminated arena (or static) string. */
tc_value jdom_string_value(const char *s);

/* A scope with this name and version (shared by equal ones; the empty scope
 * when both are empty). NULL when out of memory. */
const trace_scope *jdom_scope(jdom_ctx *c, const char *name, const char *version);

#endif
