/* arena.c - chunked bump allocator (see arena.h). */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN (alignof(max_align_t))
#define ARENA_FIRST_CHUNK ((size_t)16 << 10)
#define ARENA_MAX_CHUNK ((size_t)8 << 20)

typedef struct chunk {
    struct chunk *prev;
    size_t size; /* usable bytes in data[] */
    size_t used;
    alignas(max_align_t) unsigned char data[];
} chunk;

struct arena {
    chunk *head;
    size_t reserved;   /* bytes of all chunks */
    size_t cap;
    size_t used;       /* bytes handed out */
    size_t next_chunk; /* size of the next chunk to allocate */
    void *last;        /* most recent allocation, for arena_realloc */
};

arena *arena_new(size_t cap)
{
    arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cap = cap ? cap : ARENA_DEFAULT_CAP;
    a->next_chunk = ARENA_FIRST_CHUNK;
    return a;
}

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
}

static chunk *new_chunk(arena *a, size_t need)
{
    size_t size = a->next_chunk;
    if (size < need)
        size = need;
    chunk *c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    a->reserved += sizeof *c + size;
    c->prev = a->head;
    a->head = c;
    if (a->next_chunk < ARENA_MAX_CHUNK)
        a->next_chunk *= 2;
    return c;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = round_up(n ? n : 1);
    if (need > a->cap - a->used || a->used > a->cap)
        return NULL;
    chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        c = new_chunk(a, need);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used += need;
    a->last = p;
    return p;
}

void *arena_calloc(arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void *arena_realloc(arena *a, void *p, size_t old_n, size_t new_n)
{
    if (!p)
        return arena_alloc(a, new_n);
    if (new_n <= old_n)
        return p;
    chunk *c = a->head;
    if (p == a->last && c) {
        size_t old_r = round_up(old_n ? old_n : 1);
        size_t new_r = round_up(new_n);
        size_t extra = new_r - old_r;
        if (c->size - c->used >= extra && extra <= a->cap - a->used) {
            c->used += extra;
            a->used += extra;
            return p;
        }
    }
    void *q = arena_alloc(a, new_n);
    if (q)
        memcpy(q, p, old_n);
    return q;
}

size_t arena_used(const arena *a)
{
    return a->used;
}

size_t arena_reserved(const arena *a)
{
    return a->reserved;
}

void arena_adopt(arena *a, arena **from)
{
    if (!from || !*from)
        return;
    arena *f = *from;
    if (f->head) {
        chunk *tail = f->head; /* f's oldest chunk */
        while (tail->prev)
            tail = tail->prev;
        if (a->head) { /* behind a's current chunk, which keeps serving allocations */
            tail->prev = a->head->prev;
            a->head->prev = f->head;
        } else {
            a->head = f->head;
            a->last = NULL;
        }
    }
    a->used += f->used;
    a->reserved += f->reserved;
    free(f);
    *from = NULL;
}

void arena_free(arena **ap)
{
    if (!ap || !*ap)
        return;
    chunk *c = (*ap)->head;
    while (c) {
        chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    free(*ap);
    *ap = NULL;
}
