/* recv_grpc.c - fuzz harness for the OTLP/gRPC receiver's protocol handling:
 * the input is what a client sends after the HTTP/2 preface. */
#include "receiver/otlp_grpc_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    uint8_t *in = malloc(sizeof magic - 1 + size);
    if (!in)
        return 0;
    memcpy(in, magic, sizeof magic - 1);
    if (size)
        memcpy(in + sizeof magic - 1, data, size);
    spanbuf *b = spanbuf_new((size_t)16 << 20);
    recv_grpc_opts o = {.max_message = 65536};
    if (b)
        recv_grpc_feed(b, &o, in, sizeof magic - 1 + size);
    spanbuf_free(&b);
    free(in);
    return 0;
}
