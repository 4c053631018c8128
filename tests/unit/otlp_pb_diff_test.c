/* otlp_pb_diff_test.c - the wire-level span decoder against the protobuf-c
 * reference: every protobuf body of the tests, fixtures and fuzz corpora,
 * generated sets, and a few thousand seeded mutations of them (byte flips,
 * wire-type flips, truncations, insertions, duplicated and deleted ranges;
 * and, the framing kept, fields dropped, repeated, retyped, renumbered,
 * replaced or added anywhere in the message tree) must give the same success or failure, the same error (message and
 * offset) and the same trace_dump with both decoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../bench/gen.h"
#include "codec/codec.h"
#include "codec/otlp_pb.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 256
#define MUTANTS 6000

typedef struct body {
    uint8_t *p;
    size_t n;
} body;

static body inputs[MAX_INPUTS];
static int n_inputs;
static int n_ok, n_failed;

static void add_input(const uint8_t *p, size_t n)
{
    if (n_inputs == MAX_INPUTS)
        return;
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    inputs[n_inputs].p = c;
    inputs[n_inputs++].n = n;
}

/* Decodes p[0..n) with one decoder: its return code, error and dump. */
static int run(int (*dec)(trace_set *, const uint8_t *, size_t, tc_error *), const uint8_t *p,
               size_t n, tc_error *e, tc_buf *dump)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    assert_non_null(ts);
    memset(e, 0, sizeof *e);
    int rc = dec(ts, p, n, e);
    if (!rc)
        assert_int_equal(trace_dump(ts, dump), 0);
    trace_set_free(&ts);
    return rc;
}

static void compare(const uint8_t *p, size_t n)
{
    tc_error e1, e2;
    tc_buf d1, d2;
    buf_init(&d1, 0);
    buf_init(&d2, 0);
    int rc1 = run(otlp_pb_decode, p, n, &e1, &d1);
    int rc2 = run(otlp_pb_decode_reference, p, n, &e2, &d2);
    if (rc1 != rc2 || (rc1 && (strcmp(e1.msg, e2.msg) || e1.offset != e2.offset)) ||
        d1.len != d2.len || (d1.len && memcmp(d1.ptr, d2.ptr, d1.len))) {
        FILE *f = fopen("otlp_pb_diff_failure.pb", "wb");
        if (f) {
            fwrite(p, 1, n, f);
            fclose(f);
        }
        print_error("differs (body saved to otlp_pb_diff_failure.pb): direct %d \"%s\", "
                    "reference %d \"%s\"\n",
                    rc1, rc1 ? e1.msg : "", rc2, rc2 ? e2.msg : "");
        fail();
    }
    if (rc1)
        n_failed++;
    else
        n_ok++;
    buf_free(&d1);
    buf_free(&d2);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    tc_buf b;
    buf_init(&b, 0);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, got);
    fclose(f);
    buf_putc(&b, 0);
    *n = b.len - 1;
    return (uint8_t *)buf_detach(&b);
}

/* A file as a body: inflated when gzip, without its 5-byte frame header
 * when a gRPC frame. */
static void add_file(const char *path)
{
    size_t n;
    uint8_t *p = read_all(path, &n);
    if (!p)
        return;
    add_input(p, n);
    if (gzip_is_gzip(p, n)) {
        uint8_t *raw;
        size_t raw_n;
        tc_error e;
        if (gzip_inflate(p, n, (size_t)64 << 20, &raw, &raw_n, &e) == 0) {
            add_input(raw, raw_n);
            free(raw);
        }
    }
    if (strstr(path, "grpc-frame") && n >= 5)
        add_input(p + 5, n - 5);
    free(p);
}

/* Every file of dir (and its subdirectories) that ends in one of the
 * suffixes ("" takes all). */
static void add_dir(const char *dir, const char *const *suffixes)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        DIR *sub = opendir(path);
        if (sub) {
            closedir(sub);
            add_dir(path, suffixes);
            continue;
        }
        size_t len = strlen(ent->d_name);
        for (const char *const *s = suffixes; *s; s++) {
            size_t sl = strlen(*s);
            if (len >= sl && strcmp(ent->d_name + len - sl, *s) == 0) {
                add_file(path);
                break;
            }
        }
    }
    closedir(d);
}

/* Generated sets (attributes of every kind, events, links, status),
 * encoded. */
static void add_generated(void)
{
    static const uint32_t sizes[] = {1, 3, 20, 60};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        trace_set *ts = gen_trace_set(sizes[i], 11 + i);
        assert_non_null(ts);
        tc_buf b;
        buf_init(&b, 0);
        assert_int_equal(otlp_pb_encode(ts, &b), 0);
        add_input((const uint8_t *)b.ptr, b.len);
        buf_free(&b);
        trace_set_free(&ts);
    }
}

static void collect(void)
{
    if (n_inputs)
        return;
    const char *data = getenv("TC_DATA");
    static const char *const pb[] = {".pb", ".pb.gz", ".grpc-frame", ".bin", NULL};
    static const char *const all[] = {"", NULL};
    add_dir(data && *data ? data : "tests/data", pb);
    add_dir("fuzz/corpus/otlp_pb", all);
    add_dir("fuzz/corpus/tracefile", all);
    add_dir("fuzz/corpus/recv_grpc", all);
    add_generated();
}

static void test_inputs(void **state)
{
    (void)state;
    collect();
    assert_true(n_inputs >= 10);
    n_ok = n_failed = 0;
    for (int i = 0; i < n_inputs; i++)
        compare(inputs[i].p, inputs[i].n);
    printf("# %d inputs: %d decoded, %d failed alike\n", n_inputs, n_ok, n_failed);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One mutation of b into out (an edit or a few). */
static void mutate(const body *b, uint64_t *r, tc_buf *out)
{
    out->len = 0;
    buf_append(out, b->p, b->n);
    int edits = 1 + (int)(rng_next(r) % 3);
    for (int k = 0; k < edits && out->len; k++) {
        uint8_t *p = (uint8_t *)out->ptr;
        size_t n = out->len, at = (size_t)(rng_next(r) % n);
        size_t span = 1 + (size_t)(rng_next(r) % (n - at < 64 ? n - at : 64));
        switch (rng_next(r) % 8) {
        case 0: p[at] ^= (uint8_t)(1u << (rng_next(r) % 8)); break; /* bit flip */
        case 1: p[at] = (uint8_t)rng_next(r); break;               /* byte */
        case 2: p[at] ^= (uint8_t)(1 + rng_next(r) % 7); break;    /* wire type of a tag */
        case 3: out->len = at; break;                              /* truncation */
        case 4: {                                                  /* insertion */
            uint8_t ins[8];
            size_t m = 1 + (size_t)(rng_next(r) % sizeof ins);
            for (size_t j = 0; j < m; j++)
                ins[j] = (uint8_t)rng_next(r);
            tc_buf t;
            buf_init(&t, 0);
            buf_append(&t, p, at);
            buf_append(&t, ins, m);
            buf_append(&t, p + at, n - at);
            out->len = 0;
            buf_append(out, t.ptr, t.len);
            buf_free(&t);
            break;
        }
        case 5: { /* a range repeated (a field given twice) */
            tc_buf t;
            buf_init(&t, 0);
            buf_append(&t, p, at + span);
            buf_append(&t, p + at, n - at);
            out->len = 0;
            buf_append(out, t.ptr, t.len);
            buf_free(&t);
            break;
        }
        case 6: /* a range deleted */
            memmove(p + at, p + at + span, n - at - span);
            out->len = n - span;
            break;
        default: /* a length or count byte moved by one */
            p[at] = (uint8_t)(p[at] + (rng_next(r) & 1 ? 1 : -1));
            break;
        }
    }
}

/* ---- structure-aware mutations: one field edited, lengths re-encoded ---- */

static void put_varint(tc_buf *b, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        buf_putc(b, (char)((v & 0x7f) | 0x80));
    buf_putc(b, (char)v);
}

static int get_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    *v = 0;
    for (unsigned s = 0; s < 64 && *i < n; s += 7) {
        uint8_t c = p[(*i)++];
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return 0;
    }
    return -1;
}

/* True when p[0..n) parses as a message (well-formed fields to its end). */
static bool is_message(const uint8_t *p, size_t n)
{
    size_t i = 0;
    uint64_t tag, v;
    while (i < n) {
        if (get_varint(p, n, &i, &tag) || (tag >> 3) == 0)
            return false;
        switch (tag & 7) {
        case 0:
            if (get_varint(p, n, &i, &v))
                return false;
            break;
        case 1: if (n - i < 8) return false; i += 8; break;
        case 5: if (n - i < 4) return false; i += 4; break;
        case 2:
            if (get_varint(p, n, &i, &v) || v > n - i)
                return false;
            i += v;
            break;
        default: return false;
        }
    }
    return true;
}

/* A random well-formed field (a small field number, any wire type). */
static void random_field(tc_buf *b, uint64_t *r)
{
    uint32_t num = 1 + (uint32_t)(rng_next(r) % 17);
    static const uint32_t wts[] = {0, 1, 2, 5};
    uint32_t wt = wts[rng_next(r) % 4];
    put_varint(b, (uint64_t)num << 3 | wt);
    uint64_t v = rng_next(r);
    if (wt == 0) {
        if (v % 5 == 0) /* padded zero; bits past 64 */
            buf_append(b, v & 8 ? "\x80\x80\x00" : "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02",
                       v & 8 ? 3 : 10);
        else
            put_varint(b, rng_next(r) & 1 ? v % 4 : v);
    } else if (wt == 1 || wt == 5) {
        buf_append(b, &v, wt == 1 ? 8 : 4);
    } else {
        size_t m = (size_t)(v % 17);
        put_varint(b, m);
        for (size_t j = 0; j < m; j++)
            buf_putc(b, (char)(rng_next(r) % 3 ? (uint64_t)('a' + j % 26) : rng_next(r)));
    }
}

/* Copies message p[0..n) into out, editing field number *target (counted
 * over the whole tree, depth first) when reached. */
static void rebuild(const uint8_t *p, size_t n, long *node, long target, uint64_t *r, int depth,
                    tc_buf *out)
{
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        uint64_t tag, v = 0;
        get_varint(p, n, &i, &tag);
        size_t pay = i;
        if ((tag & 7) == 0)
            get_varint(p, n, &i, &v);
        else if ((tag & 7) == 1)
            i += 8;
        else if ((tag & 7) == 5)
            i += 4;
        else {
            get_varint(p, n, &i, &v);
            pay = i;
            i += v;
        }
        long me = (*node)++;
        if (me == target) {
            switch (rng_next(r) % 6) {
            case 0: continue;                                    /* dropped */
            case 1: buf_append(out, p + at, i - at); break;     /* given twice */
            case 2: random_field(out, r); break;                 /* a field before it */
            case 3:                                              /* another wire type */
                put_varint(out, tag ^ (1 + rng_next(r) % 7));
                buf_append(out, p + pay, i - pay);
                continue;
            case 4:                                              /* another field number */
                put_varint(out, (tag & 7) | (uint64_t)(1 + rng_next(r) % 17) << 3);
                if ((tag & 7) == 2)
                    put_varint(out, v);
                buf_append(out, p + pay, i - pay);
                continue;
            default: /* replaced */
                random_field(out, r);
                continue;
            }
        }
        if ((tag & 7) == 2 && depth < 40 && v && is_message(p + pay, (size_t)v)) {
            tc_buf sub;
            buf_init(&sub, 0);
            rebuild(p + pay, (size_t)v, node, target, r, depth + 1, &sub);
            put_varint(out, tag);
            put_varint(out, sub.len);
            buf_append(out, sub.ptr, sub.len);
            buf_free(&sub);
        } else {
            buf_append(out, p + at, i - at);
        }
    }
}

static void test_structured(void **state)
{
    (void)state;
    collect();
    uint64_t r = 0x2545F4914F6CDD1Dull;
    n_ok = n_failed = 0;
    int done = 0;
    for (int i = 0; i < MUTANTS; i++) {
        const body *b = &inputs[rng_next(&r) % (uint64_t)n_inputs];
        if (b->n > ((size_t)1 << 20) || !b->n || !is_message(b->p, b->n))
            continue;
        long count = 0;
        tc_buf m;
        buf_init(&m, 0);
        rebuild(b->p, b->n, &count, -1, &r, 0, &m);
        buf_reset(&m);
        long node = 0;
        rebuild(b->p, b->n, &node, (long)(rng_next(&r) % (uint64_t)count), &r, 0, &m);
        compare((const uint8_t *)m.ptr, m.len);
        buf_free(&m);
        done++;
    }
    printf("# %d structured mutants: %d decoded, %d failed alike\n", done, n_ok, n_failed);
}

static void test_mutants(void **state)
{
    (void)state;
    collect();
    uint64_t r = 0x9E3779B97F4A7C15ull;
    tc_buf m;
    buf_init(&m, 0);
    n_ok = n_failed = 0;
    for (int i = 0; i < MUTANTS; i++) {
        const body *b = &inputs[rng_next(&r) % (uint64_t)n_inputs];
        if (b->n > ((size_t)4 << 20))
            continue;
        mutate(b, &r, &m);
        compare((const uint8_t *)m.ptr, m.len);
    }
    buf_free(&m);
    printf("# %d mutants: %d decoded, %d failed alike\n", MUTANTS, n_ok, n_failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_mutants),
        cmocka_unit_test(test_structured),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < n_inputs; i++)
        free(inputs[i].p);
    return rc;
}
