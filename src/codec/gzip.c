/* gzip.c - inflating gzip or zlib bodies with zlib, capped against bombs. */
#include "codec/codec.h"
#include "codec/limits.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int gzip_is_gzip(const uint8_t *buf, size_t len)
{
    return buf && len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

int gzip_inflate(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len, tc_error *e)
{
    if (!in || len == 0)
        return tc_error_set(e, TC_ERR_INPUT, "gzip: empty input");
    if (len > UINT_MAX)
        return tc_error_set(e, TC_ERR_LIMIT, "gzip: compressed body too large");
    /* the output may be at most max_out bytes and at most RATIO x the input */
    size_t cap = max_out ? max_out : CODEC_MAX_BODY;
    if (len <= SIZE_MAX / CODEC_MAX_GZIP_RATIO && len * CODEC_MAX_GZIP_RATIO < cap)
        cap = len * CODEC_MAX_GZIP_RATIO;
    if (cap > UINT_MAX)
        cap = UINT_MAX;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 32: gzip or zlib header, auto-detected */
        return tc_error_set(e, TC_ERR_NOMEM, "gzip: out of memory");
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;

    size_t alloc = len * 4 < cap ? len * 4 : cap;
    if (alloc < 256)
        alloc = cap < 256 ? cap : 256;
    uint8_t *dst = malloc(alloc + 1);
    int rc = TC_OK;
    if (!dst) {
        rc = tc_error_set(e, TC_ERR_NOMEM, "gzip: out of memory");
        goto out;
    }
    size_t used = 0;
    for (;;) {
        if (used == alloc) {
            if (alloc >= cap) {
                /* full: the stream must end without one more byte of output */
                uint8_t probe;
                int zr;
                do {
                    zs.next_out = &probe;
                    zs.avail_out = 1;
                    zr = inflate(&zs, Z_NO_FLUSH);
                } while (zr == Z_OK && zs.avail_out == 1);
                if (zs.avail_out == 0) {
                    rc = tc_error_set(e, TC_ERR_LIMIT,
                                      "gzip: inflated body exceeds %zu bytes (%zu compressed)", cap, len);
                    goto out;
                }
                if (zr == Z_STREAM_END)
                    break;
                rc = tc_error_at(e, TC_ERR_INPUT, zr == Z_BUF_ERROR ? len : zs.total_in, "gzip: %s",
                                 zr == Z_BUF_ERROR ? "truncated stream"
                                 : zs.msg          ? zs.msg
                                                   : "corrupt stream");
                goto out;
            }
            size_t n = alloc * 2 < cap ? alloc * 2 : cap;
            uint8_t *p = realloc(dst, n + 1);
            if (!p) {
                rc = tc_error_set(e, TC_ERR_NOMEM, "gzip: out of memory");
                goto out;
            }
            dst = p;
            alloc = n;
        }
        zs.next_out = dst + used;
        zs.avail_out = (uInt)(alloc - used);
        int zr = inflate(&zs, Z_NO_FLUSH);
        used = alloc - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_OK || (zr == Z_BUF_ERROR && zs.avail_out == 0))
            continue;
        if (zr == Z_BUF_ERROR) {
            rc = tc_error_at(e, TC_ERR_INPUT, len, "gzip: truncated stream");
            goto out;
        }
        if (zr == Z_MEM_ERROR) {
            rc = tc_error_set(e, TC_ERR_NOMEM, "gzip: out of memory");
            goto out;
        }
        rc = tc_error_at(e, TC_ERR_INPUT, zs.total_in, "gzip: %s", zs.msg ? zs.msg : "corrupt stream");
        goto out;
    }
    dst[used] = 0; /* convenience for text formats; not counted */
    *out = dst;
    *out_len = used;
    dst = NULL;
out:
    inflateEnd(&zs);
    free(dst);
    return rc;
}
