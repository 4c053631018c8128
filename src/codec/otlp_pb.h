/* otlp_pb.h - internals of the OTLP protobuf codec shared with its tests and
 * fuzz harness (the codec's API is in codec.h).
 * Ownership: as otlp_pb_decode (codec.h): everything lands in the set. */
#ifndef TC_CODEC_OTLP_PB_H
#define TC_CODEC_OTLP_PB_H

#include "codec/codec.h"

/* otlp_pb_decode with every span unpacked by protobuf-c and converted (the
 * reference the wire-level span decoder is tested against). Same returns,
 * errors and ownership as otlp_pb_decode. */
int otlp_pb_decode_reference(trace_set *ts, const uint8_t *buf, size_t len, tc_error *e);

#endif
