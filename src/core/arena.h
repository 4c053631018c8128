/* arena.h - bump allocator: many small allocations, freed all at once.
 *
 * Ownership: everything allocated from an arena lives until arena_free().
 * There is no per-object free. An arena has a byte cap set at creation;
 * an allocation past the cap fails (returns NULL) instead of growing. */
#ifndef TC_ARENA_H
#define TC_ARENA_H

#include <stddef.h>

typedef struct arena arena;

#define ARENA_DEFAULT_CAP ((size_t)4 << 30) /* 4 GiB */

/* Creates an arena that may hold at most `cap` bytes (0: ARENA_DEFAULT_CAP).
 * Returns NULL when out of memory. */
arena *arena_new(size_t cap);

/* Returns `n` bytes aligned for any type, or NULL when the cap would be
 * exceeded or memory is exhausted. n == 0 returns a valid unique pointer. */
void *arena_alloc(arena *a, size_t n);

/* As arena_alloc, zero-filled. */
void *arena_calloc(arena *a, size_t count, size_t size);

/* Copies s[0..n) and a terminating NUL. NULL on failure. */
char *arena_strndup(arena *a, const char *s, size_t n);

/* Copies a NUL-terminated string. NULL on failure or when s is NULL. */
char *arena_strdup(arena *a, const char *s);

/* Grows the most recent allocation `p` (of old_n bytes) to new_n bytes in
 * place when possible, else copies. Returns the new pointer or NULL. */
void *arena_realloc(arena *a, void *p, size_t old_n, size_t new_n);

/* Bytes handed out so far (what the cap is checked against). */
size_t arena_used(const arena *a);

/* Bytes of memory the arena holds from the system (its chunks): what it
 * really costs, at least arena_used(). */
size_t arena_reserved(const arena *a);

/* Moves every allocation of *from into a, where it then lives until
 * arena_free(a), and frees the arena *from (sets it to NULL; accepts NULL).
 * For results built in an arena of their own, by another thread say. The
 * bytes count against a's cap (which may leave a over it: its next
 * allocations fail). */
void arena_adopt(arena *a, arena **from);

/* Frees every allocation and the arena; sets *a to NULL. Accepts NULL. */
void arena_free(arena **a);

#endif
