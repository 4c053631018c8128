/* strshare.c - shared copies of short strings while decoding (see strshare.h). */
#include "strshare.h"

#include <stdint.h>
#include <string.h>

const char *strshare_find(strshare_slot *slots, size_t n_slots, const char *s, size_t n, strshare_slot **put)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        memcpy(&a, s, n);
    }
    uint64_t h = (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full) ^ n;
    h ^= h >> 32; /* the last bytes only reach the top bits: fold them down */
    h *= 0x94D049BB133111EBull;
    size_t i = (size_t)(h >> 40) & (n_slots - 1);
    strshare_slot *k0 = &slots[i], *k1 = &slots[i ^ 1];
    if (k0->s && k0->len == n && memcmp(k0->s, s, n) == 0)
        return k0->s;
    if (k1->s && k1->len == n && memcmp(k1->s, s, n) == 0)
        return k1->s;
    *put = !k0->s ? k0 : !k1->s ? k1 : (h >> 39) & 1 ? k0 : k1;
    return NULL;
}

void strshare_put(strshare_slot *put, const char *copy, size_t n)
{
    put->s = copy;
    put->len = n;
}
