/* value.h - typed attribute values, as OTLP's AnyValue.
 *
 * Ownership: values never own memory; strings, bytes, arrays and key-value
 * lists point into an arena (normally the trace set's). Strings are
 * NUL-terminated and also carry their length. */
#ifndef TC_VALUE_H
#define TC_VALUE_H

#include "buf.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum tc_vtype {
    TC_V_EMPTY = 0, /* OTLP AnyValue with nothing set */
    TC_V_STRING,
    TC_V_BOOL,
    TC_V_INT,
    TC_V_DOUBLE,
    TC_V_BYTES,
    TC_V_ARRAY,
    TC_V_KVLIST,
} tc_vtype;

typedef struct tc_attr tc_attr;

typedef struct tc_value {
    uint32_t type; /* tc_vtype */
    uint32_t len;  /* bytes of str/bytes; items of arr/kv */
    union {
        const char *str;
        const uint8_t *bytes;
        bool b;
        int64_t i;
        double d;
        struct tc_value *arr;
        tc_attr *kv;
    } u;
} tc_value;

struct tc_attr {
    const char *key; /* NUL-terminated */
    uint32_t key_len;
    tc_value value;
};

/* Finds `key` (length n) in attrs[0..count); NULL when absent. When a key
 * repeats, the last one wins (OTLP says keys are unique; producers differ). */
const tc_attr *attr_find(const tc_attr *attrs, uint32_t count, const char *key, size_t n);

/* A value's identity, for caches of results that depend only on a value's
 * text: equal keys mean equal texts. Short strings are keyed by content,
 * longer strings, bytes, arrays and kvlists by address (equal texts at two
 * addresses are two keys), scalars by their bits. A key does not own the
 * value: it is valid while the value is. */
#define VALUE_KEY_TEXT 64
typedef struct tc_vkey {
    uint32_t type; /* tc_vtype, or VALUE_KEY_OTHER + n for a caller's n */
    uint32_t len;
    uint64_t bits;
} tc_vkey;
#define VALUE_KEY_OTHER 0x100u

/* The key of v. */
void value_key(const tc_value *v, tc_vkey *k);

/* A key for something that is not a value (an absent attribute, say):
 * VALUE_KEY_OTHER + n with no bits. */
void value_key_other(uint32_t n, tc_vkey *k);

/* A hash of a key (constant time: a short string's length and first and
 * last eight bytes). */
uint32_t value_key_hash(const tc_vkey *k);

/* True when two keys name the same text. */
bool value_key_same(const tc_vkey *a, const tc_vkey *b);

/* Appends the value as text, the way tracetest shows attribute values:
 * strings raw, ints in decimal, doubles shortest round-trip, bools
 * true/false, bytes as base64, arrays and kvlists as JSON. */
int value_to_text(tc_buf *out, const tc_value *v);

/* Appends the value as JSON (strings quoted; bytes as a base64 string;
 * kvlist as an object). */
int value_to_json(tc_buf *out, const tc_value *v);

/* Deep equality (same type and contents; ints and doubles compare as
 * numbers). */
bool value_equal(const tc_value *a, const tc_value *b);

/* Name of a value type: "string", "bool", "int", "double", "bytes",
 * "array", "kvlist", "empty". */
const char *value_type_name(tc_vtype t);

/* Appends base64 (standard alphabet, padded) of p[0..n). */
int base64_encode(tc_buf *out, const uint8_t *p, size_t n);

/* Decodes standard or URL-safe base64 (padding optional, no whitespace)
 * into out (capacity cap). Returns the decoded length, or -1 when the
 * input is invalid or does not fit. */
long base64_decode(const char *s, size_t n, uint8_t *out, size_t cap);

/* Decodes hex (either case) into exactly `n` bytes; s must have 2n digits.
 * Returns 0 or -1. */
int hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);

/* Writes 2n lower-case hex digits and a NUL into out (size >= 2n+1). */
void hex_encode(const uint8_t *p, size_t n, char *out);

#endif
