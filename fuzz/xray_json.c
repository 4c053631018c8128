/* xray_json.c - fuzz harness: feeds the input to the X-Ray BatchGetTraces
 * decoder on a fresh trace set and dumps what decoded. */
#include "codec/codec.h"
#include "codec/xray_json.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_set *ts = trace_set_new((size_t)64 << 20);
    tc_error e;
    tc_buf out;
    char *tok = NULL;
    bool unprocessed;
    buf_init(&out, 0);
    if (ts && xray_json_decode(ts, (const char *)data, size, &tok, &unprocessed, &e) == 0)
        trace_dump(ts, &out);
    free(tok);
    buf_free(&out);
    trace_set_free(&ts);
    return 0;
}
