/* protodyn.c - case handlers for the run-time .proto (trigger/protodyn.h):
 *   protodyn_load     the input is a .proto; prints each @method's path and
 *                     kind, or the load or lookup error
 *   protodyn_encode   the input is a request as JSON for @method of @proto
 *                     (a path relative to the case file); prints the
 *                     serialized bytes in hex (with @hex), then the message
 *                     read back as JSON, or the error
 *   protodyn_decode   the input is a response message in hex; prints it as
 *                     JSON, or the error
 * JSON is printed on one line ("{"a": 1, "b": [2, 3]}") unless @pretty is
 * set, which prints it as the trigger's body shows it. */
#include "case.h"
#include "trigger/protodyn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends JSON j, on one line unless @pretty. */
static void put_json(const tc_case *c, tc_buf *out, const tc_buf *j)
{
    const char *s = buf_str(j);
    if (case_param(c, "pretty")) {
        buf_puts(out, s);
        buf_putc(out, '\n');
        return;
    }
    bool in_str = false;
    for (; *s; s++) {
        if (in_str) {
            buf_putc(out, *s);
            if (*s == '\\' && s[1])
                buf_putc(out, *++s);
            else if (*s == '"')
                in_str = false;
        } else if (*s == '\n') {
            if (s > buf_str(j) && s[-1] == ',')
                buf_putc(out, ' ');
            while (s[1] == ' ')
                s++;
        } else {
            in_str = *s == '"';
            buf_putc(out, *s);
        }
    }
    buf_putc(out, '\n');
}

/* Loads @proto relative to the case file's folder (imports from there). */
static int load_param(const tc_case *c, tc_buf *out, protodyn **p)
{
    const char *rel = case_param(c, "proto");
    if (!rel) {
        buf_puts(out, "@proto missing");
        return 1;
    }
    char dir[1024], path[2048];
    snprintf(dir, sizeof dir, "%s", c->file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    size_t len;
    char *text = case_read_file(path, &len);
    if (!text) {
        buf_printf(out, "cannot read %s", path);
        return 1;
    }
    slash = strrchr(path, '/');
    *slash = 0;
    tc_error e;
    int rc = protodyn_load(slash + 1, text, path, p, &e);
    free(text);
    if (rc)
        buf_puts(out, e.msg);
    return rc;
}

CASE_HANDLER(protodyn_load)
{
    protodyn *p = NULL;
    tc_error e;
    memset(&e, 0, sizeof e);
    const char *name = case_param(c, "name");
    if (protodyn_load(name ? name : "test.proto", c->input, NULL, &p, &e)) {
        if (e.line)
            buf_printf(out, "[%d:%d] ", e.line, e.col);
        buf_puts(out, e.msg);
        return 1;
    }
    const char *method = case_param(c, "method");
    int rc = 0;
    if (method) {
        char *path = NULL;
        bool ss = false, cs = false;
        if ((rc = protodyn_method(p, method, &path, &ss, &cs, &e)))
            buf_puts(out, e.msg);
        else
            buf_printf(out, "%s%s%s\n", path, ss ? " server-streaming" : "", cs ? " client-streaming" : "");
        free(path);
    } else {
        buf_puts(out, "ok\n");
    }
    protodyn_free(&p);
    return rc;
}

CASE_HANDLER(protodyn_encode)
{
    protodyn *p = NULL;
    if (load_param(c, out, &p))
        return 1;
    const char *method = case_param(c, "method");
    tc_buf bin;
    buf_init(&bin, 0);
    tc_error e;
    int rc = protodyn_encode_request(p, method ? method : "", c->input, strlen(c->input), &bin, &e);
    if (rc) {
        buf_puts(out, e.msg);
    } else {
        if (case_param(c, "hex")) {
            for (size_t i = 0; i < bin.len; i++)
                buf_printf(out, "%02x", (unsigned char)bin.ptr[i]);
            buf_putc(out, '\n');
        }
        tc_buf j;
        buf_init(&j, 0);
        if ((rc = protodyn_decode_request(p, method, (const uint8_t *)buf_str(&bin), bin.len, &j, &e)))
            buf_puts(out, e.msg);
        else
            put_json(c, out, &j);
        buf_free(&j);
    }
    buf_free(&bin);
    protodyn_free(&p);
    return rc;
}

CASE_HANDLER(protodyn_decode)
{
    protodyn *p = NULL;
    if (load_param(c, out, &p))
        return 1;
    const char *method = case_param(c, "method");
    tc_buf bin;
    buf_init(&bin, 0);
    for (const char *s = c->input; s[0] && s[1]; s += 2) {
        while (*s == ' ' || *s == '\n')
            s++;
        if (!s[0] || !s[1])
            break;
        char hx[3] = {s[0], s[1], 0};
        buf_putc(&bin, (char)strtol(hx, NULL, 16));
    }
    tc_error e;
    tc_buf j;
    buf_init(&j, 0);
    int rc =
        protodyn_decode_response(p, method ? method : "", (const uint8_t *)buf_str(&bin), bin.len, &j, &e);
    if (rc)
        buf_puts(out, e.msg);
    else
        put_json(c, out, &j);
    buf_free(&j);
    buf_free(&bin);
    protodyn_free(&p);
    return rc;
}
