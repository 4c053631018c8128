/* fmt.h - small text formatting helpers shared by commands and reports. */
#ifndef TC_CLI_FMT_H
#define TC_CLI_FMT_H

#include "core/buf.h"

#include <stdint.h>

/* Appends a human duration: 850ns, 12.3µs, 5.93ms, 1.24s, 2m3s. */
int fmt_duration(tc_buf *out, uint64_t ns);

#endif
