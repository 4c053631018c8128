/* spanbuf.c - the receiver's span store (see spanbuf.h). */
#include "spanbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A decoded export, kept as it was decoded (no copy): the traces it holds
 * refer to it, and it is freed when the last of them lets go. */
typedef struct batch {
    trace_set *ts;
    uint32_t refs;
    size_t bytes;
} batch;

/* One trace's spans from one batch. */
typedef struct seg {
    batch *b;
    trace *t;
} seg;

typedef struct entry {
    uint8_t id[TRACE_ID_LEN];
    seg *segs;           /* in arrival order: a later copy of a span wins */
    uint32_t n_segs, cap_segs;
    uint64_t *ids;       /* distinct span ids seen (open addressing, 0 = free) */
    uint32_t n_ids, cap_ids;
    uint32_t n_spans;
    size_t bytes;        /* the entry's own memory (not its batches') */
    uint64_t last_ns;
    uint32_t watched; /* runs waiting for it */
    struct entry *bucket_next;
    struct entry *older, *newer; /* recency list: head = least recently updated */
} entry;

struct spanbuf {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t max_bytes, bytes;
    entry **buckets;
    uint32_t n_buckets, n_entries;
    entry *oldest, *newest;
    spanbuf_stats stats;
};

uint64_t spanbuf_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint32_t hash_id(const uint8_t *id)
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(h >> 32);
}

spanbuf *spanbuf_new(size_t max_bytes)
{
    spanbuf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->max_bytes = max_bytes ? max_bytes : SPANBUF_DEFAULT_MAX_BYTES;
    b->n_buckets = 256;
    b->buckets = calloc(b->n_buckets, sizeof *b->buckets);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!b->buckets || pthread_mutex_init(&b->mu, NULL) || pthread_cond_init(&b->cv, &ca)) {
        pthread_condattr_destroy(&ca);
        free(b->buckets);
        free(b);
        return NULL;
    }
    pthread_condattr_destroy(&ca);
    return b;
}

static void batch_release(spanbuf *b, batch *bt)
{
    if (--bt->refs == 0) {
        b->bytes -= bt->bytes;
        trace_set_free(&bt->ts);
        free(bt);
    }
}

static void entry_free(spanbuf *b, entry *e)
{
    for (uint32_t i = 0; i < e->n_segs; i++)
        batch_release(b, e->segs[i].b);
    free(e->segs);
    free(e->ids);
    free(e);
}

void spanbuf_free(spanbuf **bp)
{
    if (!bp || !*bp)
        return;
    spanbuf *b = *bp;
    for (entry *e = b->oldest; e;) {
        entry *n = e->newer;
        entry_free(b, e);
        e = n;
    }
    free(b->buckets);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
    *bp = NULL;
}

static entry *find(spanbuf *b, const uint8_t *id)
{
    for (entry *e = b->buckets[hash_id(id) & (b->n_buckets - 1)]; e; e = e->bucket_next)
        if (memcmp(e->id, id, TRACE_ID_LEN) == 0)
            return e;
    return NULL;
}

static void list_unlink(spanbuf *b, entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        b->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        b->newest = e->older;
    e->older = e->newer = NULL;
}

static void list_append(spanbuf *b, entry *e)
{
    e->older = b->newest;
    e->newer = NULL;
    if (b->newest)
        b->newest->newer = e;
    else
        b->oldest = e;
    b->newest = e;
}

static void grow(spanbuf *b)
{
    uint32_t n = b->n_buckets * 2;
    entry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* keep the old table: slower, still correct */
    for (uint32_t i = 0; i < b->n_buckets; i++) {
        for (entry *e = b->buckets[i]; e;) {
            entry *next = e->bucket_next;
            uint32_t k = hash_id(e->id) & (n - 1);
            e->bucket_next = nb[k];
            nb[k] = e;
            e = next;
        }
    }
    free(b->buckets);
    b->buckets = nb;
    b->n_buckets = n;
}

static entry *get_or_create(spanbuf *b, const uint8_t *id)
{
    entry *e = find(b, id);
    if (e)
        return e;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->bytes = sizeof *e;
    b->bytes += e->bytes;
    memcpy(e->id, id, TRACE_ID_LEN);
    if (b->n_entries + 1 > b->n_buckets)
        grow(b);
    uint32_t k = hash_id(id) & (b->n_buckets - 1);
    e->bucket_next = b->buckets[k];
    b->buckets[k] = e;
    list_append(b, e);
    b->n_entries++;
    return e;
}

static void remove_entry(spanbuf *b, entry *e)
{
    entry **pp = &b->buckets[hash_id(e->id) & (b->n_buckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->bucket_next;
    if (*pp)
        *pp = e->bucket_next;
    list_unlink(b, e);
    b->bytes -= e->bytes;
    b->n_entries--;
    entry_free(b, e);
}

/* Evicts unwatched traces, oldest first, other than `keep`, until `need`
 * more bytes fit. Returns true when they fit. */
static bool make_room(spanbuf *b, size_t need, const entry *keep)
{
    entry *e = b->oldest;
    while (b->bytes + need > b->max_bytes && e) {
        entry *next = e->newer;
        if (!e->watched && e != keep) {
            remove_entry(b, e);
            b->stats.traces_evicted++;
        }
        e = next;
    }
    return b->bytes + need <= b->max_bytes;
}

static uint64_t span_key(const trace_span *sp)
{
    uint64_t k;
    memcpy(&k, sp->span_id, 8);
    return k ? k : 0x9E3779B97F4A7C15ull; /* an all-zero id still counts once */
}

/* Adds a span id to the entry's set; true when it was new. false also
 * when out of memory (the count is then low, never wrong the other way). */
static bool ids_add(spanbuf *b, entry *e, uint64_t k)
{
    if ((e->n_ids + 1) * 4 > e->cap_ids * 3) {
        uint32_t ncap = e->cap_ids ? e->cap_ids * 2 : 64;
        uint64_t *nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return false;
        for (uint32_t i = 0; i < e->cap_ids; i++) {
            if (!e->ids[i])
                continue;
            uint32_t h = (uint32_t)((e->ids[i] * 0x9E3779B97F4A7C15ull) >> 32) & (ncap - 1);
            while (nt[h])
                h = (h + 1) & (ncap - 1);
            nt[h] = e->ids[i];
        }
        free(e->ids);
        b->bytes += (size_t)(ncap - e->cap_ids) * sizeof *nt;
        e->bytes += (size_t)(ncap - e->cap_ids) * sizeof *nt;
        e->ids = nt;
        e->cap_ids = ncap;
    }
    uint32_t h = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32) & (e->cap_ids - 1);
    while (e->ids[h]) {
        if (e->ids[h] == k)
            return false;
        h = (h + 1) & (e->cap_ids - 1);
    }
    e->ids[h] = k;
    e->n_ids++;
    return true;
}

static int seg_push(spanbuf *b, entry *e, batch *bt, trace *t)
{
    if (e->n_segs == e->cap_segs) {
        uint32_t ncap = e->cap_segs ? e->cap_segs * 2 : 4;
        seg *ns = realloc(e->segs, ncap * sizeof *ns);
        if (!ns)
            return TC_ERR_NOMEM;
        b->bytes += (size_t)(ncap - e->cap_segs) * sizeof *ns;
        e->bytes += (size_t)(ncap - e->cap_segs) * sizeof *ns;
        e->segs = ns;
        e->cap_segs = ncap;
    }
    e->segs[e->n_segs++] = (seg){bt, t};
    bt->refs++;
    return 0;
}

int spanbuf_add_owned(spanbuf *b, trace_set **batchp, uint32_t *accepted, uint32_t *rejected)
{
    trace_set *ts = *batchp;
    *batchp = NULL;
    uint32_t acc = 0, rej = 0;
    int rc = 0;
    uint64_t nspans = ts ? trace_set_span_count(ts) : 0;
    if (accepted)
        *accepted = 0;
    if (rejected)
        *rejected = 0;
    if (!ts)
        return 0;
    if (nspans == 0) {
        trace_set_free(&ts);
        return 0;
    }
    batch *bt = calloc(1, sizeof *bt);
    if (!bt) {
        trace_set_free(&ts);
        return TC_ERR_NOMEM;
    }
    bt->ts = ts;
    bt->bytes = arena_reserved(trace_set_arena(ts)) + sizeof *bt;
    uint64_t now = spanbuf_now_ns();
    pthread_mutex_lock(&b->mu);
    if (!make_room(b, bt->bytes, NULL)) {
        rej = (uint32_t)nspans; /* no room even after eviction: refused whole */
    } else {
        b->bytes += bt->bytes;
        bt->refs = 1; /* held while it is being attached */
        for (uint32_t i = 0; i < trace_set_count(ts) && !rc; i++) {
            trace *t = trace_set_at(ts, i);
            if (t->n_spans == 0)
                continue;
            entry *e = get_or_create(b, t->trace_id);
            if (!e || seg_push(b, e, bt, t)) {
                rc = TC_ERR_NOMEM;
                rej += t->n_spans;
                if (e && e->n_segs == 0 && !e->watched)
                    remove_entry(b, e);
                continue;
            }
            for (uint32_t k = 0; k < t->n_spans; k++)
                if (ids_add(b, e, span_key(t->spans[k])))
                    e->n_spans++;
            /* a retried span replaces its copy: the count may stay, the
               arrival still counts as activity for the quiet window */
            e->last_ns = now;
            acc += t->n_spans;
            list_unlink(b, e);
            list_append(b, e);
        }
        batch_release(b, bt);
        bt = NULL;
    }
    b->stats.spans_accepted += acc;
    b->stats.spans_rejected += rej;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (bt) {
        trace_set_free(&bt->ts);
        free(bt);
    }
    if (accepted)
        *accepted = acc;
    if (rejected)
        *rejected = rej;
    return rc;
}

int spanbuf_add(spanbuf *b, trace_set *src, uint32_t *accepted, uint32_t *rejected)
{
    trace_set *ts = trace_set_new(0);
    if (!ts)
        return TC_ERR_NOMEM;
    for (uint32_t i = 0; i < trace_set_count(src); i++) {
        trace *t = trace_set_at(src, i);
        for (uint32_t k = 0; k < t->n_spans; k++) {
            if (trace_set_copy_span(ts, t->spans[k], NULL) != 0) {
                trace_set_free(&ts);
                return TC_ERR_NOMEM;
            }
        }
    }
    return spanbuf_add_owned(b, &ts, accepted, rejected);
}

int spanbuf_watch(spanbuf *b, const uint8_t id[TRACE_ID_LEN])
{
    pthread_mutex_lock(&b->mu);
    entry *e = get_or_create(b, id);
    if (e)
        e->watched++;
    pthread_mutex_unlock(&b->mu);
    return e ? 0 : TC_ERR_NOMEM;
}

void spanbuf_forget(spanbuf *b, const uint8_t id[TRACE_ID_LEN])
{
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, id);
    if (e && e->watched)
        e->watched--;
    if (e && !e->watched)
        remove_entry(b, e);
    pthread_mutex_unlock(&b->mu);
}

void spanbuf_unwatch(spanbuf *b, const uint8_t id[TRACE_ID_LEN])
{
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, id);
    if (e && e->watched)
        e->watched--;
    if (e && !e->watched && e->n_spans == 0)
        remove_entry(b, e);
    pthread_mutex_unlock(&b->mu);
}

uint32_t spanbuf_wait(spanbuf *b, const uint8_t id[TRACE_ID_LEN], uint64_t after_ns, uint64_t deadline_ns,
                      uint64_t *last_ns)
{
    struct timespec dl = {(time_t)(deadline_ns / 1000000000ull), (long)(deadline_ns % 1000000000ull)};
    pthread_mutex_lock(&b->mu);
    entry *e;
    for (;;) {
        e = find(b, id);
        if ((e && e->n_spans && e->last_ns > after_ns) || spanbuf_now_ns() >= deadline_ns)
            break;
        pthread_cond_timedwait(&b->cv, &b->mu, &dl);
    }
    uint32_t n = e ? e->n_spans : 0;
    if (last_ns)
        *last_ns = e ? e->last_ns : 0;
    pthread_mutex_unlock(&b->mu);
    return n;
}

long spanbuf_snapshot(spanbuf *b, const uint8_t id[TRACE_ID_LEN], trace_set *dst)
{
    long n = 0;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, id);
    for (uint32_t i = 0; e && i < e->n_segs && n >= 0; i++) {
        const trace *t = e->segs[i].t;
        for (uint32_t k = 0; k < t->n_spans; k++) {
            if (trace_set_copy_span(dst, t->spans[k], NULL) != 0) {
                n = -1;
                break;
            }
        }
    }
    trace *got = n >= 0 && e ? trace_set_find(dst, id) : NULL;
    if (n >= 0)
        n = got ? (long)got->n_spans : 0;
    pthread_mutex_unlock(&b->mu);
    return n;
}

uint32_t spanbuf_expire(spanbuf *b, uint64_t before_ns)
{
    uint32_t n = 0;
    pthread_mutex_lock(&b->mu);
    /* the recency list is in update order: stop at the first recent one */
    for (entry *e = b->oldest; e;) {
        entry *next = e->newer;
        if (e->last_ns >= before_ns && e->n_spans)
            break;
        if (!e->watched && e->last_ns < before_ns) {
            remove_entry(b, e);
            n++;
        }
        e = next;
    }
    b->stats.traces_evicted += n;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void spanbuf_get_stats(spanbuf *b, spanbuf_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->stats;
    out->traces = b->n_entries;
    out->bytes = b->bytes;
    pthread_mutex_unlock(&b->mu);
}
