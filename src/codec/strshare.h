/* strshare.h - a small two-way cache that lets equal short strings (keys,
 * repeated values) share one copy while a body is decoded: less memory,
 * and evaluation then recognises a key by its address.
 *
 * Ownership: the cache holds pointers to copies the caller made (in the
 * trace set); it owns nothing. */
#ifndef TC_STRSHARE_H
#define TC_STRSHARE_H

#include <stddef.h>

#define STRSHARE_MAX 64 /* longer strings are not shared */

typedef struct strshare_slot {
    const char *s; /* NULL: empty */
    size_t len;
} strshare_slot;

/* The copy of s[0..n) (n <= STRSHARE_MAX) kept in slots[0..n_slots) (a
 * power of two, at least 2), or NULL when there is none; then *put is the
 * slot to record a new copy in (strshare_put). */
const char *strshare_find(strshare_slot *slots, size_t n_slots, const char *s, size_t n, strshare_slot **put);

/* Records copy (of n bytes) in the slot strshare_find gave. */
void strshare_put(strshare_slot *put, const char *copy, size_t n);

#endif
