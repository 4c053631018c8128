/* protodyn.c - fuzz harness: the gRPC trigger's request mapping. A fixed
 * .proto (scalars, enum, repeated, maps, oneof, nested and well-known
 * types) is parsed once; each input is mapped as JSON to the input message
 * and back, and read as a serialized message. google.protobuf.Any is left
 * out: libprotobuf 3.21's JSON parser fails a CHECK on some Any values
 * (protodyn turns the exception into an error, but the library leaks what
 * it had built). */
#include "trigger/protodyn.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char proto[] =
    "syntax = \"proto3\";\n"
    "package fz;\n"
    "import \"google/protobuf/timestamp.proto\";\n"
    "import \"google/protobuf/duration.proto\";\n"
    "import \"google/protobuf/struct.proto\";\n"
    "import \"google/protobuf/wrappers.proto\";\n"

    "enum E { E0 = 0; E1 = 1; }\n"
    "message In { string s = 1; int32 n = 2; repeated In kids = 3; }\n"
    "message M {\n"
    "  double d = 1; float f = 2; int32 i32 = 3; int64 i64 = 4; uint32 u32 = 5; uint64 u64 = 6;\n"
    "  sint32 s32 = 7; sint64 s64 = 8; fixed32 x32 = 9; fixed64 x64 = 10; bool b = 11;\n"
    "  string s = 12; bytes by = 13; E e = 14; repeated int64 ns = 15; repeated In ins = 16;\n"
    "  map<string, In> m = 17; map<int64, string> mi = 18; In in = 19;\n"
    "  oneof o { string os = 20; In oin = 21; }\n"
    "  google.protobuf.Timestamp at = 22; google.protobuf.Duration took = 23;\n"
    "  google.protobuf.Struct st = 24; google.protobuf.Value v = 25; google.protobuf.Int64Value w = 26;\n"
    "  optional int32 opt = 28;\n"
    "}\n"
    "service S { rpc Call (M) returns (M); }\n";

static protodyn *pd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_error e;
    if (!pd && protodyn_load("fuzz.proto", proto, NULL, &pd, &e))
        abort(); /* the fixed .proto must load */
    tc_buf bin, json;
    buf_init(&bin, (size_t)1 << 24);
    buf_init(&json, (size_t)1 << 24);
    if (protodyn_encode_request(pd, "fz.S.Call", (const char *)data, size, &bin, &e) == 0 &&
        protodyn_decode_request(pd, "fz.S.Call", (const uint8_t *)buf_str(&bin), bin.len, &json, &e) != 0)
        abort(); /* what was encoded must read back */
    buf_reset(&json);
    protodyn_decode_response(pd, "fz.S.Call", data, size, &json, &e);
    buf_free(&bin);
    buf_free(&json);
    return 0;
}
