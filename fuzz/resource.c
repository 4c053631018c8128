/* resource.c - fuzz harness: load any bytes as a resource file, dump, free. */
#include "resource/resource.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    res_file *f = NULL;
    tc_error e;
    if (res_load_buffer("fuzz.yaml", (const char *)data, size, &f, &e) == 0) {
        tc_buf b;
        buf_init(&b, 0);
        res_dump(f, &b);
        buf_free(&b);
        res_file_free(&f);
    }
    return 0;
}
