/* cli.c - case handler that runs the tracecheck binary: the input is the
 * argument list as a shell would read it, run in the test data folder;
 * the output is what it printed (stdout, then stderr) and "exit N". */
#include "case.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

CASE_HANDLER(cli)
{
    const char *bin = getenv("TRACECHECK_BIN");
    const char *data = getenv("TC_DATA");
    if (!bin || !data) {
        buf_puts(out, "TRACECHECK_BIN and TC_DATA must be set");
        return 1;
    }
    char err_path[] = "/tmp/tc-cli-stderr-XXXXXX";
    int fd = mkstemp(err_path);
    if (fd >= 0)
        close(fd);
    if (fd < 0) {
        buf_puts(out, "mkstemp failed");
        return 1;
    }
    tc_buf cmd;
    buf_init(&cmd, 0);
    buf_printf(&cmd, "cd '%s' && export NO_COLOR=1 && { '%s' %s ; } 2>'%s'; echo \"exit $?\"", data, bin, c->input,
               err_path);
    FILE *p = popen(buf_str(&cmd), "r");
    buf_free(&cmd);
    if (!p) {
        buf_puts(out, "popen failed");
        return 1;
    }
    char tmp[4096];
    size_t n;
    tc_buf so;
    buf_init(&so, 0);
    while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
        buf_append(&so, tmp, n);
    pclose(p);
    /* stdout without its last line ("exit N"), then stderr, then exit */
    const char *s = buf_str(&so);
    size_t len = so.len;
    while (len && s[len - 1] == '\n')
        len--;
    size_t cut = len;
    while (cut && s[cut - 1] != '\n')
        cut--;
    buf_append(out, s, cut);
    size_t elen = 0;
    char *err = case_read_file(err_path, &elen);
    if (err && elen) {
        buf_append(out, err, elen);
        if (err[elen - 1] != '\n')
            buf_putc(out, '\n');
    }
    free(err);
    buf_append(out, s + cut, len - cut);
    buf_free(&so);
    remove(err_path);
    return 0;
}
