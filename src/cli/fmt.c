/* fmt.c - text formatting helpers (see fmt.h). */
#include "fmt.h"

int fmt_duration(tc_buf *out, uint64_t ns)
{
    if (ns < 1000)
        return buf_printf(out, "%lluns", (unsigned long long)ns);
    if (ns < 1000000)
        return buf_printf(out, "%.3gµs", (double)ns / 1e3);
    if (ns < 1000000000)
        return buf_printf(out, "%.3gms", (double)ns / 1e6);
    if (ns < 60000000000ull)
        return buf_printf(out, "%.3gs", (double)ns / 1e9);
    uint64_t s = ns / 1000000000ull;
    if (s < 3600)
        return buf_printf(out, "%llum%llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    return buf_printf(out, "%lluh%llum", (unsigned long long)(s / 3600),
                      (unsigned long long)(s % 3600 / 60));
}
