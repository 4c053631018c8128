/* gzip_test.c - gzip_inflate and gzip_is_gzip: gzip and zlib round trips,
 * truncated and corrupt streams, the output cap and the bomb ratio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codec/codec.h"
#include "codec/limits.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Compresses src with a gzip (gzip != 0) or zlib wrapper into a malloc'd buffer. */
static uint8_t *deflate_all(const uint8_t *src, size_t n, int gzip, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, n) + 32;
    uint8_t *dst = malloc(cap);
    assert_non_null(dst);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return dst;
}

static uint8_t *sample(size_t n)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)("abcdefgh{}\":,0123"[(x >> 16) % 17]);
    }
    return p;
}

static void test_round_trip_zlib_compress(void **state)
{
    (void)state;
    size_t n = 100000;
    uint8_t *src = sample(n);
    uLongf clen = compressBound(n);
    uint8_t *c = malloc(clen);
    assert_int_equal(compress(c, &clen, src, n), Z_OK);
    assert_false(gzip_is_gzip(c, clen));
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    assert_int_equal(gzip_inflate(c, clen, 0, &out, &out_len, &e), 0);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, src, n);
    free(out);
    free(c);
    free(src);
}

static void test_round_trip_gzip(void **state)
{
    (void)state;
    size_t n = 5000;
    uint8_t *src = sample(n);
    size_t clen;
    uint8_t *c = deflate_all(src, n, 1, &clen);
    assert_true(gzip_is_gzip(c, clen));
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    assert_int_equal(gzip_inflate(c, clen, 0, &out, &out_len, &e), 0);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, src, n);
    assert_int_equal(out[n], 0); /* NUL after the data */
    free(out);
    free(c);
    free(src);
}

static void test_empty_body(void **state)
{
    (void)state;
    size_t clen;
    uint8_t *c = deflate_all((const uint8_t *)"", 0, 1, &clen);
    uint8_t *out = NULL;
    size_t out_len = 99;
    tc_error e;
    assert_int_equal(gzip_inflate(c, clen, 0, &out, &out_len, &e), 0);
    assert_int_equal(out_len, 0);
    free(out);
    free(c);
    assert_int_equal(gzip_inflate(NULL, 0, 0, &out, &out_len, &e), TC_ERR_INPUT);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t n = 20000;
    uint8_t *src = sample(n);
    size_t clen;
    uint8_t *c = deflate_all(src, n, 1, &clen);
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    for (size_t cut = 1; cut < clen; cut += clen / 7 + 1) {
        out = NULL;
        assert_int_equal(gzip_inflate(c, cut, 0, &out, &out_len, &e), TC_ERR_INPUT);
        assert_null(out);
    }
    assert_int_equal(gzip_inflate(c, clen - 1, 0, &out, &out_len, &e), TC_ERR_INPUT);
    assert_string_equal(e.msg, "gzip: truncated stream");
    free(c);
    free(src);
}

static void test_corrupt(void **state)
{
    (void)state;
    uint8_t bad[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    assert_true(gzip_is_gzip(bad, sizeof bad));
    assert_int_equal(gzip_inflate(bad, sizeof bad, 0, &out, &out_len, &e), TC_ERR_INPUT);
    assert_null(out);
    const uint8_t text[] = "{\"data\": []}";
    assert_false(gzip_is_gzip(text, sizeof text - 1));
    assert_int_equal(gzip_inflate(text, sizeof text - 1, 0, &out, &out_len, &e), TC_ERR_INPUT);
}

static void test_bomb_rejected(void **state)
{
    (void)state;
    size_t n = 8u << 20; /* 8 MiB of zeros compress to ~8 KiB: ratio ~1000 */
    uint8_t *zeros = calloc(n, 1);
    size_t clen;
    uint8_t *c = deflate_all(zeros, n, 1, &clen);
    assert_true(clen * CODEC_MAX_GZIP_RATIO < n);
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    assert_int_equal(gzip_inflate(c, clen, 0, &out, &out_len, &e), TC_ERR_LIMIT);
    assert_null(out);
    assert_non_null(strstr(e.msg, "exceeds"));
    free(c);
    free(zeros);
}

static void test_cap(void **state)
{
    (void)state;
    size_t n = 4096;
    uint8_t *src = sample(n);
    size_t clen;
    uint8_t *c = deflate_all(src, n, 0, &clen);
    uint8_t *out = NULL;
    size_t out_len = 0;
    tc_error e;
    assert_int_equal(gzip_inflate(c, clen, n - 1, &out, &out_len, &e), TC_ERR_LIMIT);
    assert_null(out);
    assert_int_equal(gzip_inflate(c, clen, n, &out, &out_len, &e), 0); /* exactly the cap */
    assert_int_equal(out_len, n);
    assert_memory_equal(out, src, n);
    free(out);
    free(c);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_zlib_compress),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_bomb_rejected),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
