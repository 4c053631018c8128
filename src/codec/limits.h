/* limits.h - the limits every trace decoder enforces on untrusted input.
 * Past a limit a decoder fails with TC_ERR_LIMIT and a message naming it. */
#ifndef TC_CODEC_LIMITS_H
#define TC_CODEC_LIMITS_H

#define CODEC_MAX_BODY ((size_t)1 << 30)      /* bytes of one (decompressed) body */
#define CODEC_MAX_DEPTH 32                    /* nesting of array/kvlist values */
#define CODEC_MAX_JSON_DEPTH 96               /* nesting of JSON containers */
#define CODEC_MAX_ATTRS 16384                 /* attributes on one span, event, link, resource or scope */
#define CODEC_MAX_ITEMS 1048576               /* items in one array/kvlist value */
#define CODEC_MAX_STRING ((size_t)64 << 20)   /* bytes of one string or bytes value */
#define CODEC_MAX_EVENTS 65536                /* events on one span */
#define CODEC_MAX_LINKS 65536                 /* links on one span */
#define CODEC_MAX_GZIP_RATIO 1000             /* inflated/compressed, against gzip bombs */

#endif
