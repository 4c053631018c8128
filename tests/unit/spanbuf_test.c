/* spanbuf_test.c - the receiver's span store: merging batches by trace id,
 * waking a waiter from another thread, timeouts, eviction of unwatched
 * traces oldest first, watched traces kept, rejection when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "receiver/spanbuf.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static trace_set *batch(uint8_t tid, uint8_t first_span, int n)
{
    trace_set *ts = trace_set_new(0);
    for (int i = 0; i < n; i++) {
        trace_span *sp = arena_calloc(trace_set_arena(ts), 1, sizeof *sp);
        sp->trace_id[15] = tid;
        sp->span_id[7] = (uint8_t)(first_span + i);
        sp->name = "op";
        trace_set_add_span(ts, sp, NULL);
    }
    return ts;
}

static void add(spanbuf *b, uint8_t tid, uint8_t first, int n, uint32_t *acc, uint32_t *rej)
{
    trace_set *ts = batch(tid, first, n);
    assert_int_equal(spanbuf_add(b, ts, acc, rej), 0);
    trace_set_free(&ts);
}

static void test_merge_and_snapshot(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    uint32_t acc, rej;
    add(b, 1, 1, 3, &acc, &rej);
    assert_int_equal(acc, 3);
    add(b, 1, 3, 2, &acc, &rej); /* span 3 again: replaced */
    add(b, 2, 1, 1, NULL, NULL);
    uint8_t id[16] = {0};
    id[15] = 1;
    trace_set *dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, id, dst), 4);
    assert_int_equal(trace_set_count(dst), 1);
    spanbuf_stats st;
    spanbuf_get_stats(b, &st);
    assert_int_equal(st.traces, 2);
    assert_int_equal(st.spans_accepted, 6);
    trace_set_free(&dst);
    spanbuf_free(&b);
    assert_null(b);
}

/* Watches count: one run ending (forget) does not drop the spans another
 * still waits for; unwatch keeps them, expirable again. */
static void test_watch_counts_and_unwatch(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    uint8_t id[16] = {0};
    id[15] = 7;
    trace_set *dst = trace_set_new(0);
    spanbuf_watch(b, id);
    spanbuf_watch(b, id);
    add(b, 7, 1, 2, NULL, NULL);
    spanbuf_forget(b, id); /* one of two runs ends */
    assert_int_equal(spanbuf_snapshot(b, id, dst), 2);
    assert_int_equal(spanbuf_expire(b, spanbuf_now_ns() + 1), 0); /* still watched: not expired */
    spanbuf_unwatch(b, id); /* the other ends, keeping them */
    trace_set_free(&dst);
    dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, id, dst), 2);
    spanbuf_watch(b, id); /* a later run finds them */
    spanbuf_forget(b, id);
    trace_set_free(&dst);
    dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, id, dst), 0); /* the last forget drops them */
    /* unwatched, they expire like any trace nobody waits for */
    add(b, 7, 1, 2, NULL, NULL);
    spanbuf_watch(b, id);
    spanbuf_unwatch(b, id);
    assert_int_equal(spanbuf_expire(b, spanbuf_now_ns() + 1), 1);
    trace_set_free(&dst);
    spanbuf_free(&b);
}

struct late {
    spanbuf *b;
};

static void *late_exporter(void *arg)
{
    struct late *l = arg;
    usleep(50 * 1000);
    add(l->b, 7, 1, 2, NULL, NULL);
    return NULL;
}

static void test_wait_wakes_and_times_out(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    uint8_t id[16] = {0};
    id[15] = 7;
    spanbuf_watch(b, id);
    uint64_t t0 = spanbuf_now_ns();
    /* nothing arrives: returns at the deadline with no spans */
    uint64_t last = 1;
    assert_int_equal(spanbuf_wait(b, id, 0, t0 + 30000000ull, &last), 0);
    assert_int_equal(last, 0);
    assert_true(spanbuf_now_ns() >= t0 + 30000000ull);
    pthread_t th;
    struct late l = {b};
    pthread_create(&th, NULL, late_exporter, &l);
    uint64_t t1 = spanbuf_now_ns();
    uint32_t n = spanbuf_wait(b, id, 0, t1 + 5000000000ull, &last);
    pthread_join(th, NULL);
    assert_true(n >= 1);
    assert_true(last > t1);
    assert_true(spanbuf_now_ns() < t1 + 5000000000ull); /* woke on arrival, not at the deadline */
    /* nothing newer than last: times out again */
    uint64_t t2 = spanbuf_now_ns();
    assert_int_equal(spanbuf_wait(b, id, last, t2 + 20000000ull, NULL), 2);
    spanbuf_free(&b);
}

static void test_eviction(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(64 << 10); /* small: a few traces fit */
    uint8_t watched[16] = {0};
    watched[15] = 1;
    spanbuf_watch(b, watched);
    add(b, 1, 1, 5, NULL, NULL);
    for (int t = 2; t < 200; t++)
        add(b, (uint8_t)t, 1, 5, NULL, NULL);
    spanbuf_stats st;
    spanbuf_get_stats(b, &st);
    assert_true(st.traces_evicted > 0);
    assert_true(st.bytes <= (64 << 10));
    trace_set *dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, watched, dst), 5); /* the watched trace survived */
    trace_set_free(&dst);
    uint8_t old[16] = {0};
    old[15] = 2;
    dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, old, dst), 0); /* the oldest unwatched one went */
    trace_set_free(&dst);
    uint8_t newest[16] = {0};
    newest[15] = 199;
    dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, newest, dst), 5);
    trace_set_free(&dst);
    spanbuf_forget(b, watched);
    spanbuf_get_stats(b, &st);
    spanbuf_free(&b);
}

static void test_reject_when_full_of_watched(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(64 << 10);
    uint8_t id[16] = {0};
    id[15] = 9;
    spanbuf_watch(b, id);
    uint32_t acc = 0, rej = 0, total_rej = 0;
    for (int i = 0; i < 400; i++) {
        trace_set *ts = trace_set_new(0);
        for (int k = 0; k < 5; k++) { /* distinct span ids: 2 bytes of counter */
            trace_span *sp = arena_calloc(trace_set_arena(ts), 1, sizeof *sp);
            sp->trace_id[15] = 9;
            sp->span_id[6] = (uint8_t)(i >> 3);
            sp->span_id[7] = (uint8_t)((i & 7) * 5 + k + 1);
            sp->name = "op";
            trace_set_add_span(ts, sp, NULL);
        }
        assert_int_equal(spanbuf_add(b, ts, &acc, &rej), 0);
        trace_set_free(&ts);
        total_rej += rej;
    }
    assert_true(total_rej > 0);
    spanbuf_stats st;
    spanbuf_get_stats(b, &st);
    assert_true(st.bytes <= (128 << 10)); /* the cap, overshot by at most one arena chunk */
    assert_int_equal(st.spans_rejected, total_rej);
    spanbuf_free(&b);
}

static void test_expire(void **state)
{
    (void)state;
    spanbuf *b = spanbuf_new(0);
    uint8_t watched[16] = {0};
    watched[15] = 1;
    spanbuf_watch(b, watched);
    add(b, 1, 1, 2, NULL, NULL);
    add(b, 2, 1, 2, NULL, NULL); /* unwatched, old */
    uint64_t cut = spanbuf_now_ns();
    usleep(2000);
    add(b, 3, 1, 2, NULL, NULL); /* unwatched, recent */
    assert_int_equal(spanbuf_expire(b, cut), 1);
    trace_set *dst = trace_set_new(0);
    uint8_t id[16] = {0};
    id[15] = 2;
    assert_int_equal(spanbuf_snapshot(b, id, dst), 0); /* expired */
    id[15] = 3;
    assert_int_equal(spanbuf_snapshot(b, id, dst), 2); /* kept: recent */
    trace_set_free(&dst);
    dst = trace_set_new(0);
    assert_int_equal(spanbuf_snapshot(b, watched, dst), 2); /* kept: watched */
    trace_set_free(&dst);
    spanbuf_stats st;
    spanbuf_get_stats(b, &st);
    assert_int_equal(st.traces, 2);
    spanbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_and_snapshot),
        cmocka_unit_test(test_watch_counts_and_unwatch),
        cmocka_unit_test(test_wait_wakes_and_times_out),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_reject_when_full_of_watched),
        cmocka_unit_test(test_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
