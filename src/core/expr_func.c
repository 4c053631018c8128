/* expr_func.c - built-in expression functions (fake data, dates, random
 * numbers), driven by the caller's clock and random callbacks. */
#include "expr_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *first_names[] = {"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael",
                                    "Linda", "William", "Elizabeth", "David", "Barbara", "Richard", "Susan",
                                    "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen"};
static const char *last_names[] = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
                                   "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
                                   "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin"};
#define NNAMES 20

typedef struct fn_state {
    xeval *ev;
    const char *name;
} fn_state;

static int rnd(xeval *ev, const char *name, uint64_t *out)
{
    if (!ev->ctx->random_u64)
        return xev_fail(ev, false, "function %s needs a random source", name);
    *out = ev->ctx->random_u64(ev->ctx->env_user);
    return 0;
}

/* Uniform in [0, n). */
static int rnd_below(xeval *ev, const char *name, uint64_t n, uint64_t *out)
{
    uint64_t r = 0;
    if (rnd(ev, name, &r))
        return TC_ERR_INPUT;
    *out = n ? r % n : 0;
    return 0;
}

static int digits(xeval *ev, const char *name, char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t d;
        if (rnd_below(ev, name, 10, &d))
            return TC_ERR_INPUT;
        buf[i] = (char)('0' + d);
    }
    buf[n] = '\0';
    return 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static const char *month_names[] = {"January", "February", "March", "April", "May", "June", "July",
                                    "August", "September", "October", "November", "December"};
static const char *day_names[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};

/* Formats now (UTC) with fmtdate-style placeholders: YYYY YY MMMM MMM MM M
 * DDDD DDD DD D hh h mm m ss s; anything else is copied. */
static int format_date(xeval *ev, const char *fmt, expr_value *out)
{
    if (!ev->ctx->now_ns)
        return xev_fail(ev, false, "date functions need a clock");
    int64_t ns = ev->ctx->now_ns(ev->ctx->env_user);
    int64_t secs = ns / 1000000000LL - (ns % 1000000000LL < 0);
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int mo, d;
    civil(days, &y, &mo, &d);
    int hh = (int)(sod / 3600), mi = (int)(sod / 60 % 60), ss = (int)(sod % 60);
    int wd = (int)(((days % 7) + 7) % 7);
    tc_buf b;
    buf_init(&b, 4096);
    for (const char *p = fmt; *p;) {
#define TOK(s) (strncmp(p, s, strlen(s)) == 0 && (p += strlen(s), 1))
        if (TOK("YYYY"))
            buf_printf(&b, "%04lld", (long long)y);
        else if (TOK("YY"))
            buf_printf(&b, "%02lld", (long long)(y % 100));
        else if (TOK("MMMM"))
            buf_puts(&b, month_names[mo - 1]);
        else if (TOK("MMM"))
            buf_printf(&b, "%.3s", month_names[mo - 1]);
        else if (TOK("MM"))
            buf_printf(&b, "%02d", mo);
        else if (TOK("M"))
            buf_printf(&b, "%d", mo);
        else if (TOK("DDDD"))
            buf_puts(&b, day_names[wd]);
        else if (TOK("DDD"))
            buf_printf(&b, "%.3s", day_names[wd]);
        else if (TOK("DD"))
            buf_printf(&b, "%02d", d);
        else if (TOK("D"))
            buf_printf(&b, "%d", d);
        else if (TOK("hh"))
            buf_printf(&b, "%02d", hh);
        else if (TOK("h"))
            buf_printf(&b, "%d", hh % 12 ? hh % 12 : 12);
        else if (TOK("mm"))
            buf_printf(&b, "%02d", mi);
        else if (TOK("m"))
            buf_printf(&b, "%d", mi);
        else if (TOK("ss"))
            buf_printf(&b, "%02d", ss);
        else if (TOK("s"))
            buf_printf(&b, "%d", ss);
        else
            buf_putc(&b, *p++);
#undef TOK
    }
    if (b.failed) {
        buf_free(&b);
        return xev_fail(ev, false, "date format too long");
    }
    int rc = xv_from_string(ev, buf_str(&b), b.len, out);
    buf_free(&b);
    return rc;
}

static int str_out(xeval *ev, const char *s, expr_value *out)
{
    return xv_from_string(ev, s, strlen(s), out);
}

int xev_function(xeval *ev, const char *name, size_t nlen, const expr_value *args, size_t nargs, expr_value *out)
{
    static const struct {
        const char *name;
        int required, optional;
        expr_type type;
    } fns[] = {
        {"uuid", 0, 0, EXPR_NIL},       {"firstName", 0, 0, EXPR_NIL},  {"lastName", 0, 0, EXPR_NIL},
        {"fullName", 0, 0, EXPR_NIL},   {"email", 0, 0, EXPR_NIL},      {"phone", 0, 0, EXPR_NIL},
        {"date", 0, 1, EXPR_STRING},    {"dateTime", 0, 1, EXPR_STRING}, {"creditCard", 0, 0, EXPR_NIL},
        {"creditCardCvv", 0, 0, EXPR_NIL}, {"creditCardExpDate", 0, 0, EXPR_NIL},
        {"randomInt", 2, 0, EXPR_NUMBER},
    };
    int f = -1;
    for (int i = 0; i < (int)(sizeof fns / sizeof *fns); i++)
        if (strlen(fns[i].name) == nlen && memcmp(fns[i].name, name, nlen) == 0)
            f = i;
    if (f < 0)
        return xev_fail(ev, true, "could not find function \"%s\"", name);
    if ((int)nargs < fns[f].required)
        return xev_fail(ev, false, "missing required parameters. Expected at least %d params, got %zu",
                        fns[f].required, nargs);
    if ((int)nargs > fns[f].required + fns[f].optional)
        return xev_fail(ev, false, "too many parameters. Expected at most %d params, got %zu",
                        fns[f].required + fns[f].optional, nargs);
    for (size_t i = 0; i < nargs; i++) {
        expr_type t = args[i].list ? EXPR_ARRAY : args[i].type;
        if (t != fns[f].type)
            return xev_fail(ev, false, "invalid argument type on index %zu: expected %s, got %s", i,
                            expr_type_name(fns[f].type), expr_type_name(t));
    }
    char buf[128];
    uint64_t r = 0, r2 = 0;
    switch (f) {
    case 0: { /* uuid v4 */
        if (rnd(ev, name, &r) || rnd(ev, name, &r2))
            return TC_ERR_INPUT;
        unsigned char b[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (unsigned char)(r >> (8 * i));
            b[8 + i] = (unsigned char)(r2 >> (8 * i));
        }
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        return str_out(ev, buf, out);
    }
    case 1:
    case 2:
        if (rnd_below(ev, name, NNAMES, &r))
            return TC_ERR_INPUT;
        return str_out(ev, f == 1 ? first_names[r] : last_names[r], out);
    case 3:
    case 4:
        if (rnd_below(ev, name, NNAMES, &r) || rnd_below(ev, name, NNAMES, &r2))
            return TC_ERR_INPUT;
        if (f == 3) {
            snprintf(buf, sizeof buf, "%s %s", first_names[r], last_names[r2]);
        } else {
            uint64_t k;
            if (rnd_below(ev, name, 1000, &k))
                return TC_ERR_INPUT;
            snprintf(buf, sizeof buf, "%s.%s%llu@example.com", first_names[r], last_names[r2],
                     (unsigned long long)k);
            for (char *p = buf; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
        }
        return str_out(ev, buf, out);
    case 5:
        if (digits(ev, name, buf, 10))
            return TC_ERR_INPUT;
        if (buf[0] == '0')
            buf[0] = '5';
        return str_out(ev, buf, out);
    case 6:
        return format_date(ev, nargs ? args[0].text : "YYYY-MM-DD", out);
    case 7:
        return format_date(ev, nargs ? args[0].text : "YYYY-MM-DDThh:mm:ssZ", out);
    case 8: { /* a Luhn-valid 16-digit card number starting with 4 */
        buf[0] = '4';
        if (digits(ev, name, buf + 1, 14))
            return TC_ERR_INPUT;
        int sum = 0;
        for (int i = 14; i >= 0; i--) {
            int dg = buf[i] - '0';
            if ((14 - i) % 2 == 0) {
                dg *= 2;
                if (dg > 9)
                    dg -= 9;
            }
            sum += dg;
        }
        buf[15] = (char)('0' + (10 - sum % 10) % 10);
        buf[16] = '\0';
        return str_out(ev, buf, out);
    }
    case 9:
        if (digits(ev, name, buf, 3))
            return TC_ERR_INPUT;
        return str_out(ev, buf, out);
    case 10: {
        if (!ev->ctx->now_ns)
            return xev_fail(ev, false, "date functions need a clock");
        int64_t days = ev->ctx->now_ns(ev->ctx->env_user) / 86400000000000LL;
        int64_t y;
        int m, d;
        civil(days, &y, &m, &d);
        if (rnd_below(ev, name, 12, &r) || rnd_below(ev, name, 9, &r2))
            return TC_ERR_INPUT;
        snprintf(buf, sizeof buf, "%02d/%02lld", (int)r + 1, (long long)((y + 1 + (int64_t)r2) % 100));
        return str_out(ev, buf, out);
    }
    default: { /* randomInt(min, max), both inclusive */
        long long lo = strtoll(args[0].text, NULL, 10), hi = strtoll(args[1].text, NULL, 10);
        if (hi < lo)
            return xev_fail(ev, false, "randomInt: min %lld is greater than max %lld", lo, hi);
        uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
        if (rnd(ev, name, &r))
            return TC_ERR_INPUT;
        long long v = (long long)((uint64_t)lo + (span ? r % span : r));
        snprintf(buf, sizeof buf, "%lld", v);
        return xv_typed(ev, EXPR_NUMBER, buf, strlen(buf), out);
    }
    }
}
