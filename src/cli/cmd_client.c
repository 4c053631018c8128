/* cmd_client.c - the commands that talk to `tracecheck serve` (docs/api.md):
 * `apply` (PUT /api/resources), `list`, `get`, `delete`, `export`, and
 * `run --server` (apply the files, start each test, follow its event
 * stream, print the same reports as a local run). */
#include "cli.h"
#include "client.h"
#include "fmt.h"
#include "load.h"

#include "report/report.h"
#include "resource/resource.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_FILES 10000  /* resource files of one apply or run */
#define CLIENT_MAX_DIR_DEPTH 16 /* directories below a DIR argument */
#define CLIENT_MAX_PAGES 100000 /* pages `list --all` follows */
#define CLIENT_STREAM_RETRIES 5 /* reconnections to a run's event stream */

/* ---- kinds ---- */

typedef struct kind_def {
    const char *names; /* words a user may type, space-separated */
    const char *path;  /* in URLs: /api/<path> */
    const char *label; /* in messages */
} kind_def;

static const kind_def kinds[] = {
    {"test tests", "tests", "test"},
    {"suite suites testsuite testsuites transaction transactions", "testsuites", "suite"},
    {"variableset variablesets varset varsets environment environments", "variablesets", "variable set"},
    {"pollingprofile pollingprofiles", "pollingprofiles", "polling profile"},
    {"datastore datastores", "datastores", "data store"},
    {"run runs", "runs", "run"},
};

static const kind_def *find_kind(const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; n && i < sizeof kinds / sizeof kinds[0]; i++) {
        for (const char *p = kinds[i].names; *p;) {
            size_t k = strcspn(p, " ");
            if (k == n && strncasecmp(p, word, n) == 0)
                return &kinds[i];
            p += k + (p[k] == ' ');
        }
    }
    return NULL;
}

static bool is_runs(const kind_def *k)
{
    return strcmp(k->path, "runs") == 0;
}

static const char kinds_usage[] = "test, suite, variableset, pollingprofile, datastore or run";

/* ---- options every client command takes ---- */

enum { O_SERVER = 300, O_TOKEN_FILE, O_FORMAT, O_TEST, O_STATE, O_LIMIT, O_ALL, O_VERSION };

#define CLIENT_OPTIONS_HELP                                                                                  \
    "  --server URL           the server (default: TRACECHECK_SERVER, else\n"                                \
    "                         http://127.0.0.1:11633)\n"                                                     \
    "  --token-file FILE      the bearer token, first line of FILE (default:\n"                              \
    "                         TRACECHECK_TOKEN)\n"                                                           \
    "  -h, --help             show this help\n"

#define CLIENT_EXIT_HELP                                                                                     \
    "Exit status: 0 ok, 2 bad input or usage (a request the server refused,\n"                               \
    "an unknown id), 3 the server cannot be reached, is unavailable or\n"                                    \
    "refused the token.\n"

/* ---- small helpers ---- */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* Prints a JSON value on stdout, indented. */
static int print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (!s)
        return cli_usage_error("out of memory");
    puts(s);
    free(s);
    return EXIT_OK;
}

/* "12s ago", "3m ago", "5h ago", "4d ago" for an RFC 3339 time; the time
 * itself when it does not parse. */
static void age(char *out, size_t cap, const char *when)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!when || !*when) {
        snprintf(out, cap, "-");
        return;
    }
    if (sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6) {
        snprintf(out, cap, "%s", when);
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long d = (long long)(time(NULL) - timegm(&tm));
    if (d < 1)
        snprintf(out, cap, "just now");
    else if (d < 120)
        snprintf(out, cap, "%llds ago", d);
    else if (d < 7200)
        snprintf(out, cap, "%lldm ago", d / 60);
    else if (d < 172800)
        snprintf(out, cap, "%lldh ago", d / 3600);
    else
        snprintf(out, cap, "%lldd ago", d / 86400);
}

/* Writes data (and a newline when nl) to path through a temporary file
 * and a rename: nothing is left on failure. Returns 0 or -1 (errno set). */
static int write_atomic(const char *path, const char *data, size_t len, bool nl)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    bool ok = (!len || fwrite(data, 1, len, f) == len) && (!nl || fputc('\n', f) != EOF);
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        errno = err;
        return -1;
    }
    return 0;
}

/* Sends a request and reads a JSON answer. Returns 0 with *out (2xx), or
 * the exit code after printing why. */
static int call_json(client *c, const char *what, const char *method, const char *path, const char *body,
                     json_t **out)
{
    client_response r;
    tc_error e;
    int rc = client_request(c, method, path, body ? "application/json" : NULL, "application/json", body,
                            body ? strlen(body) : 0, &r, &e);
    if (rc)
        return client_report_failure(rc, &e);
    if (r.status < 200 || r.status > 299) {
        int st = client_report_error(c, what, &r);
        client_response_free(&r);
        return st;
    }
    json_t *j = r.status == 204 ? json_object() : client_response_json(&r);
    client_response_free(&r);
    if (!j) {
        fprintf(stderr, "tracecheck: %s: the server's answer is not JSON\n", what);
        return EXIT_RUN;
    }
    *out = j;
    return 0;
}

/* ---- YAML output (get --format yaml) ---- */

static bool yaml_plain_ok(const char *s)
{
    static const char *const words[] = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"};
    size_t n = strlen(s);
    if (!n || strchr("-?:,[]{}#&*!|>'\"%@` \t.+0123456789", s[0]) || s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f || (ch == ':' && (p[1] == ' ' || !p[1])) || (ch == '#' && p[-1] == ' '))
            return false;
    }
    return true;
}

/* A multi-line string that reads the same as a literal block. */
static bool yaml_block_ok(const char *s)
{
    size_t n = strlen(s);
    if (!strchr(s, '\n') || s[0] == ' ' || s[0] == '\n' || (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n'))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch < 0x20 && ch != '\n') || ch == 0x7f || (ch == ' ' && (p[1] == '\n' || !p[1])))
            return false;
    }
    return true;
}

static void yaml_scalar(tc_buf *b, const json_t *v, int indent)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (yaml_plain_ok(s)) {
            buf_puts(b, s);
        } else if (yaml_block_ok(s)) {
            size_t n = strlen(s);
            buf_puts(b, s[n - 1] == '\n' ? "|" : "|-");
            for (const char *p = s; *p;) {
                const char *nl = strchr(p, '\n');
                size_t k = nl ? (size_t)(nl - p) : strlen(p);
                buf_printf(b, "\n%*s%.*s", k ? indent : 0, "", (int)k, p);
                p += k + (nl != NULL);
            }
        } else {
            buf_json_string(b, s, json_string_length(v));
        }
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    buf_puts(b, s ? s : "null");
    free(s);
}

static bool yaml_is_collection(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static void yaml_value(tc_buf *b, const json_t *v, int indent, bool inline_first);

/* A map entry's or sequence item's value after "key:" or "-". */
static void yaml_after(tc_buf *b, const json_t *v, int indent)
{
    if (json_is_object(v) && !json_object_size(v)) {
        buf_puts(b, " {}\n");
    } else if (json_is_array(v) && !json_array_size(v)) {
        buf_puts(b, " []\n");
    } else if (yaml_is_collection(v)) {
        buf_putc(b, '\n');
        yaml_value(b, v, indent, false);
    } else {
        buf_putc(b, ' ');
        yaml_scalar(b, v, indent);
        buf_putc(b, '\n');
    }
}

/* A collection at `indent`; inline_first: the first line's indentation is
 * written already (after "- "). */
static void yaml_value(tc_buf *b, const json_t *v, int indent, bool inline_first)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x)
        {
            if (!(first && inline_first))
                buf_printf(b, "%*s", indent, "");
            first = false;
            json_t *key = json_string(k);
            if (key)
                yaml_scalar(b, key, indent);
            json_decref(key);
            buf_putc(b, ':');
            yaml_after(b, x, indent + 2);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!(i == 0 && inline_first))
                buf_printf(b, "%*s", indent, "");
            buf_putc(b, '-');
            if (json_is_object(x) && json_object_size(x)) {
                buf_putc(b, ' ');
                yaml_value(b, x, indent + 2, true);
            } else {
                yaml_after(b, x, indent + 2);
            }
        }
    }
}

/* Prints a JSON document as YAML on stdout. */
static int print_yaml(const json_t *j)
{
    tc_buf b;
    buf_init(&b, 0);
    if (yaml_is_collection(j))
        yaml_value(&b, j, 0, false);
    else
        yaml_after(&b, j, 0);
    int st = b.failed ? cli_usage_error("out of memory") : EXIT_OK;
    if (!st)
        fputs(buf_str(&b) + (!yaml_is_collection(j)), stdout);
    buf_free(&b);
    return st;
}

/* ---- resource files: read, ${NAME} replaced, checked locally ---- */

typedef struct cfile {
    char *path;
    bool from_dir; /* found below a DIR argument */
    char *text;    /* after ${NAME} substitution */
    size_t len;
    res_file *res; /* parsed locally */
    json_t *items; /* the server's items for this file, in document order */
} cfile;

typedef struct cfiles {
    cfile *v;
    size_t n, cap;
} cfiles;

static void cfiles_free(cfiles *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].path);
        free(fs->v[i].text);
        res_file_free(&fs->v[i].res);
        json_decref(fs->v[i].items);
    }
    free(fs->v);
    memset(fs, 0, sizeof *fs);
}

/* Reads, substitutes and parses one file into fs. Prints located errors;
 * returns 0 or EXIT_USAGE. */
static int add_file(cfiles *fs, const char *path, bool from_dir)
{
    if (fs->n == CLIENT_MAX_FILES)
        return cli_usage_error("more than %d resource files", CLIENT_MAX_FILES);
    char *raw = NULL;
    size_t raw_len = 0;
    tc_error e;
    if (cli_read_file(path, RES_MAX_FILE, &raw, &raw_len, &e)) {
        cli_print_error(path, &e, NULL, 0);
        return EXIT_USAGE;
    }
    tc_buf subst;
    buf_init(&subst, RES_MAX_FILE);
    cli_subst_ctx sc = {path, raw, raw_len};
    int rc = res_subst_env(raw, raw_len, cli_env_lookup, &sc, &subst, &e);
    res_file *rf = NULL;
    if (rc) {
        tc_error_locate(&e, raw, raw_len);
        cli_print_error(path, &e, raw, raw_len);
    } else if ((rc = res_load_buffer(path, buf_str(&subst), subst.len, &rf, &e))) {
        cli_print_error(path, &e, buf_str(&subst), subst.len);
    }
    free(raw);
    if (rc) {
        buf_free(&subst);
        return EXIT_USAGE;
    }
    /* the files its tests name go with it: the server reads none */
    char *inl = NULL;
    size_t inl_len = 0;
    if ((rc = cli_inline_files(rf, buf_str(&subst), subst.len, &inl, &inl_len, &e))) {
        cli_print_error(path, &e, buf_str(&subst), subst.len);
    } else if (inl) {
        res_file *again = NULL;
        if ((rc = res_load_buffer(path, inl, inl_len, &again, &e))) {
            fprintf(stderr, "%s: the file with the files its tests name put in does not load: %s\n", path, e.msg);
        } else {
            res_file_free(&rf);
            rf = again;
            buf_reset(&subst);
            buf_append(&subst, inl, inl_len);
        }
        free(inl);
    }
    if (rc) {
        res_file_free(&rf);
        buf_free(&subst);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < rf->n_warnings; i++)
        fprintf(stderr, "%s:%d:%d: warning: %s\n", path, rf->warnings[i].line, rf->warnings[i].col,
                rf->warnings[i].msg);
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 8;
        cfile *v = realloc(fs->v, cap * sizeof *v);
        if (!v) {
            res_file_free(&rf);
            buf_free(&subst);
            return cli_usage_error("out of memory");
        }
        fs->v = v;
        fs->cap = cap;
    }
    cfile *f = &fs->v[fs->n];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->from_dir = from_dir;
    f->len = subst.len;
    f->text = buf_detach(&subst);
    f->res = rf;
    buf_free(&subst);
    if (!f->path || !f->text) {
        free(f->path);
        free(f->text);
        res_file_free(&f->res);
        return cli_usage_error("out of memory");
    }
    fs->n++;
    return 0;
}

/* Adds FILE|DIR arguments. Returns 0 or EXIT_USAGE. */
static int add_args(cfiles *fs, const char *const *args, int n)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            cli_path_list pl = {0};
            int rc = cli_collect_yaml(args[i], 0, &pl);
            for (size_t k = 0; !rc && k < pl.n; k++)
                rc = add_file(fs, pl.v[k], true);
            cli_path_list_free(&pl);
            if (rc)
                return EXIT_USAGE;
            continue;
        }
        if (add_file(fs, args[i], false))
            return EXIT_USAGE;
    }
    return 0;
}

/* The server's answer to a file that was refused: FILE:LINE:COL with the
 * line and a caret when the server says where. */
static int apply_error(const client *c, const cfile *f, const client_response *r)
{
    if (r->status != 400) {
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "apply %s", f->path);
        return client_report_error(c, what, r);
    }
    client_api_error ae;
    client_api_error_of(r, &ae);
    tc_error e;
    memset(&e, 0, sizeof e);
    e.offset = (size_t)-1;
    e.line = ae.line;
    e.col = ae.col;
    snprintf(e.msg, sizeof e.msg, "%.*s", (int)sizeof e.msg - 1, ae.message);
    if (ae.line <= 0 && ae.document >= 0 && f->res && (size_t)ae.document < f->res->n_items + 1) {
        for (size_t i = 0; i < f->res->n_items; i++)
            if (f->res->items[i].doc == ae.document) {
                e.line = f->res->items[i].line;
                e.col = f->res->items[i].col;
                break;
            }
    }
    cli_print_error(f->path, &e, f->text, f->len);
    return EXIT_USAGE;
}

static bool looks_json(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i < n && (s[i] == '{' || s[i] == '[');
}

/* Files with a TestSuite go last, so the tests their steps name are on the
 * server first; otherwise in the order given. */
static bool has_suite(const cfile *f)
{
    for (size_t i = 0; f->res && i < f->res->n_items; i++)
        if (f->res->items[i].kind == RES_TESTSUITE)
            return true;
    return false;
}

/* PUTs every file (files with suites last); each file's items are kept on
 * it. Returns 0 or the exit code after printing why. */
static int apply_files(client *c, cfiles *fs)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < fs->n; i++) {
            cfile *f = &fs->v[i];
            if (has_suite(f) != (pass == 1))
                continue;
            client_response r;
            tc_error e;
            const char *ct = looks_json(f->text, f->len) ? "application/json" : "application/yaml";
            int rc =
                client_request(c, "PUT", "/api/resources", ct, "application/json", f->text, f->len, &r, &e);
            if (rc)
                return client_report_failure(rc, &e);
            if (r.status < 200 || r.status > 299) {
                int st = apply_error(c, f, &r);
                client_response_free(&r);
                return st;
            }
            json_t *j = client_response_json(&r);
            client_response_free(&r);
            json_t *items = json_object_get(j, "items");
            if (!json_is_array(items)) {
                json_decref(j);
                fprintf(stderr, "tracecheck: apply %s: the server's answer has no items\n", f->path);
                return EXIT_RUN;
            }
            f->items = json_incref(items);
            json_decref(j);
        }
    }
    return 0;
}

/* ---- apply ---- */

void help_apply(FILE *out)
{
    fputs("Usage: tracecheck apply [OPTIONS] -f FILE|DIR...\n\n"
          "Sends Tracetest resource files (Test, TestSuite, VariableSet,\n"
          "PollingProfile, DataStore; several documents a file) to the server,\n"
          "which keeps each as a new version when it changed. A DIR stands for\n"
          "every *.yaml and *.yml file below it. ${NAME} in a file is replaced\n"
          "from the environment first, as `run` does; the files are checked\n"
          "locally before anything is sent. Prints each resource's kind, id and\n"
          "version. A file the server refuses is reported with the line and\n"
          "column it names, and nothing of that file is kept (one request a\n"
          "file: the files before it are, and are listed).\n\n"
          "Options:\n"
          "  -f, --file FILE|DIR    a file to apply (repeatable; FILEs may also\n"
          "                         follow the options)\n"
          "  --format text|json     output format (default text)\n" CLIENT_OPTIONS_HELP
          "\n`tracecheck run --server URL FILE...` applies the files and runs their\n"
          "tests on the server, with the reports and exit status of a local run\n"
          "(docs/cli.md).\n\n" CLIENT_EXIT_HELP,
          out);
}

int cmd_apply(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"format", required_argument, NULL, O_FORMAT},
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *token_file = NULL;
    bool json = false;
    const char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0, ch;
    if (!files)
        return cli_usage_error("out of memory");
    optind = 1;
    opterr = 0;
    int status = EXIT_USAGE;
    while ((ch = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': files[n_files++] = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "text") != 0) {
                free(files);
                return cli_usage_error("apply: --format must be text or json, not '%s'", optarg);
            }
            break;
        case O_SERVER: server = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        default:
            free(files);
            return cli_usage_error(
                "apply: unknown option or missing value '%s' (see 'tracecheck apply --help')",
                argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        files[n_files++] = argv[i];
    cfiles fs = {0};
    client *c = NULL;
    json_t *all = json_array();
    if (n_files == 0) {
        status = cli_usage_error("apply: no file given (apply -f FILE; see 'tracecheck apply --help')");
        goto out;
    }
    if ((status = client_from_flags("apply", server, token_file, &c)))
        goto out;
    if ((status = add_args(&fs, files, n_files)))
        goto out;
    status = apply_files(c, &fs);
    for (size_t i = 0; i < fs.n; i++) { /* after a refused file too: what the server kept */
        size_t k;
        json_t *it;
        json_array_foreach(fs.v[i].items, k, it)
        {
            if (json)
                json_array_append(all, it);
            else
                printf("%s %s version %lld%s\n", jstr(it, "kind") ? jstr(it, "kind") : "?",
                       jstr(it, "id") ? jstr(it, "id") : "?", jint(it, "version"),
                       json_is_false(json_object_get(it, "created")) ? " (unchanged)" : "");
        }
    }
    if (status)
        goto out;
    if (json) {
        json_t *o = json_pack("{s:O}", "items", all);
        status = o ? print_json(o) : cli_usage_error("out of memory");
        json_decref(o);
    } else {
        status = EXIT_OK;
    }
out:
    json_decref(all);
    cfiles_free(&fs);
    client_close(&c);
    free(files);
    return status;
}

/* ---- list ---- */

void help_list(FILE *out)
{
    fputs("Usage: tracecheck list [OPTIONS] tests|suites|runs\n"
          "       tracecheck list [OPTIONS] variablesets|pollingprofiles|datastores\n\n"
          "Lists what the server keeps, a page at a time: tests and suites with\n"
          "their version and last run, runs (newest first) with their test,\n"
          "state, result and specs. When there are more items than one page,\n"
          "says so on stderr; --all follows the pages to the end.\n\n"
          "Options:\n"
          "  --test ID              runs: only the runs of this test or suite\n"
          "  --state STATE          runs: only runs in this state (QUEUED, FINISHED,\n"
          "                         TRACE_FAILED, ...)\n"
          "  --limit N              items a page (1-500, default 50)\n"
          "  --all                  every page\n"
          "  --format table|json    output format (default table); json prints\n"
          "                         {\"items\": [...]} as the server gives them\n" CLIENT_OPTIONS_HELP
          "\n" CLIENT_EXIT_HELP,
          out);
}

typedef struct table {
    char **cells; /* rows * cols, malloc'd strings (NULL: out of memory, shown empty) */
    size_t rows, cap, cols;
} table;

#define TABLE_MAX_CELL 48 /* columns of a cell; longer ones are cut with … */

/* Columns of UTF-8 text (code points). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* A copy of s at most TABLE_MAX_CELL columns wide. */
static char *cell_dup(const char *s)
{
    if (text_width(s) <= TABLE_MAX_CELL)
        return strdup(s);
    size_t off = 0, w = 0;
    for (; s[off]; off++)
        if (((unsigned char)s[off] & 0xc0) != 0x80 && w++ == TABLE_MAX_CELL - 1)
            break;
    char *c = malloc(off + sizeof "…");
    if (c) {
        memcpy(c, s, off);
        memcpy(c + off, "…", sizeof "…");
    }
    return c;
}

static int table_add(table *t, const char *const *row)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * t->cols * sizeof *c);
        if (!c)
            return TC_ERR_NOMEM;
        t->cells = c;
        t->cap = cap;
    }
    for (size_t k = 0; k < t->cols; k++)
        t->cells[t->rows * t->cols + k] = cell_dup(row[k] ? row[k] : "");
    t->rows++;
    return 0;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Prints the table, columns aligned; the header bold and the column
 * result_col (or -1) green/red when colour is on. */
static void table_print(const table *t, int result_col, bool color)
{
    size_t width[16] = {0};
    for (size_t i = 0; i < t->rows * t->cols; i++) {
        size_t w = t->cells[i] ? text_width(t->cells[i]) : 0;
        if (w > width[i % t->cols])
            width[i % t->cols] = w;
    }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t k = 0; k < t->cols; k++) {
            const char *s = t->cells[r * t->cols + k] ? t->cells[r * t->cols + k] : "";
            const char *on = "", *off = "";
            if (color && r > 0 && (int)k == result_col) {
                on = strcmp(s, "passed") == 0 ? "\033[32m" : *s && strcmp(s, "-") ? "\033[31m" : "";
                off = *on ? "\033[0m" : "";
            } else if (color && r == 0) {
                on = "\033[1m";
                off = "\033[0m";
            }
            bool last = k + 1 == t->cols;
            printf("%s%s%s%*s", on, s, off, last ? 0 : (int)(width[k] - text_width(s) + 2), "");
        }
        putchar('\n');
    }
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"test", required_argument, NULL, O_TEST},
        {"state", required_argument, NULL, O_STATE},
        {"limit", required_argument, NULL, O_LIMIT},
        {"all", no_argument, NULL, O_ALL},
        {"format", required_argument, NULL, O_FORMAT},
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *token_file = NULL, *test = NULL, *state = NULL;
    bool json = false, all = false;
    long limit = 0;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_TEST: test = optarg; break;
        case O_STATE: state = optarg; break;
        case O_LIMIT: {
            char *end;
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > 500)
                return cli_usage_error("list: --limit wants a number from 1 to 500, not '%s'", optarg);
            break;
        }
        case O_ALL: all = true; break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "table") != 0)
                return cli_usage_error("list: --format must be table or json, not '%s'", optarg);
            break;
        case O_SERVER: server = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        default:
            return cli_usage_error(
                "list: unknown option or missing value '%s' (see 'tracecheck list --help')",
                argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(
            "list: say what to list: tests, suites or runs (see 'tracecheck list --help')");
    if (optind + 1 < argc)
        return cli_usage_error("list: one kind at a time ('%s' is extra)", argv[optind + 1]);
    const kind_def *k = find_kind(argv[optind]);
    if (!k)
        return cli_usage_error("list: unknown kind '%s' (%s)", argv[optind], kinds_usage);
    if (!is_runs(k) && (test || state))
        return cli_usage_error("list: --test and --state filter runs, not %ss", k->label);
    if (state)
        for (char *p = (char *)state; *p; p++)
            *p = (char)toupper((unsigned char)*p);

    client *c = NULL;
    int status = client_from_flags("list", server, token_file, &c);
    if (status)
        return status;
    json_t *items = json_array();
    char *next = NULL;
    tc_buf path;
    buf_init(&path, 1 << 16);
    for (int page = 0; page < CLIENT_MAX_PAGES; page++) {
        buf_reset(&path);
        buf_printf(&path, "/api/%s?limit=%ld", k->path, limit ? limit : (all ? 500 : 50));
        if (test) {
            buf_puts(&path, "&test=");
            client_escape(&path, test);
        }
        if (state) {
            buf_puts(&path, "&state=");
            client_escape(&path, state);
        }
        if (next) {
            buf_puts(&path, "&cursor=");
            client_escape(&path, next);
        }
        free(next);
        next = NULL;
        json_t *j = NULL;
        char what[64];
        snprintf(what, sizeof what, "list %s", k->path);
        if (path.failed)
            status = cli_usage_error("list: the query is too long");
        else
            status = call_json(c, what, "GET", buf_str(&path), NULL, &j);
        if (status)
            break;
        json_array_extend(items, json_object_get(j, "items"));
        const char *nx = jstr(j, "next");
        next = nx && *nx ? strdup(nx) : NULL;
        json_decref(j);
        if (!next || !all)
            break;
    }
    buf_free(&path);
    if (status)
        goto out;
    if (json) {
        json_t *o = json_pack("{s:O}", "items", items);
        if (o && next)
            json_object_set_new(o, "next", json_string(next));
        status = o ? print_json(o) : cli_usage_error("out of memory");
        json_decref(o);
        goto out;
    }
    if (json_array_size(items) == 0) {
        fprintf(stderr, "no %s%s\n", is_runs(k) ? "runs" : k->label, is_runs(k) ? "" : "s");
        goto out;
    }
    table t = {0};
    int result_col = -1;
    char when[64], buf1[64], buf2[64];
    size_t i;
    json_t *it;
    if (is_runs(k)) {
        t.cols = 7;
        result_col = 4;
        const char *head[] = {"ID", "TEST", "NAME", "STATE", "RESULT", "SPECS", "WHEN"};
        table_add(&t, head);
        json_array_foreach(items, i, it)
        {
            age(when, sizeof when, jstr(it, "created"));
            snprintf(buf1, sizeof buf1, "%lld", jint(it, "id"));
            const char *res = jstr(it, "result");
            if (jint(it, "passed") || jint(it, "failed"))
                snprintf(buf2, sizeof buf2, "%lld/%lld", jint(it, "passed"),
                         jint(it, "passed") + jint(it, "failed"));
            else
                snprintf(buf2, sizeof buf2, "-");
            const char *row[] = {buf1,
                                 jstr(it, "test_id"),
                                 jstr(it, "test_name"),
                                 jstr(it, "state"),
                                 res && *res ? res : "-",
                                 buf2,
                                 when};
            table_add(&t, row);
        }
    } else {
        bool runnable = strcmp(k->path, "tests") == 0 || strcmp(k->path, "testsuites") == 0;
        t.cols = runnable ? 6 : 4;
        result_col = runnable ? 4 : -1;
        const char *head[] = {"ID",     "NAME",   "VERSION", runnable ? "LAST RUN" : "UPDATED",
                              "RESULT", "UPDATED"};
        table_add(&t, head);
        json_array_foreach(items, i, it)
        {
            age(when, sizeof when, jstr(it, "updated"));
            snprintf(buf1, sizeof buf1, "%lld", jint(it, "version"));
            const json_t *lr = json_object_get(it, "last_run");
            const char *res = jstr(lr, "result");
            if (json_is_object(lr))
                snprintf(buf2, sizeof buf2, "#%lld %s", jint(lr, "id"),
                         jstr(lr, "state") ? jstr(lr, "state") : "");
            else
                snprintf(buf2, sizeof buf2, "-");
            const char *row[] = {jstr(it, "id"),         jstr(it, "name"),        buf1,
                                 runnable ? buf2 : when, res && *res ? res : "-", when};
            table_add(&t, row);
        }
    }
    table_print(&t, result_col, cli_color(stdout));
    table_free(&t);
    if (next)
        fprintf(stderr, "(more %s: --all lists every page)\n", is_runs(k) ? "runs" : "items");
out:
    free(next);
    json_decref(items);
    client_close(&c);
    return status;
}

/* ---- get, export, delete: KIND ID ---- */

static int kind_and_id(const char *cmd, int argc, char **argv, bool runs_ok, const kind_def **k,
                       const char **id, tc_buf *path)
{
    if (optind + 2 > argc)
        return cli_usage_error("%s: give a kind and an id: %s test ID (see 'tracecheck %s --help')", cmd, cmd,
                               cmd);
    if (optind + 2 < argc)
        return cli_usage_error("%s: one kind and one id ('%s' is extra)", cmd, argv[optind + 2]);
    *k = find_kind(argv[optind]);
    if (!*k)
        return cli_usage_error("%s: unknown kind '%s' (%s)", cmd, argv[optind], kinds_usage);
    if (!runs_ok && is_runs(*k))
        return cli_usage_error("%s: runs cannot be %s", cmd,
                               strcmp(cmd, "delete") == 0 ? "deleted" : "exported");
    *id = argv[optind + 1];
    if (!**id)
        return cli_usage_error("%s: the id is empty", cmd);
    if (is_runs(*k)) {
        char *end;
        long long n = strtoll(*id, &end, 10);
        if (*end || n < 1)
            return cli_usage_error("%s: a run id is a number, not '%s'", cmd, *id);
    }
    buf_printf(path, "/api/%s/", (*k)->path);
    client_escape(path, *id);
    return path->failed ? cli_usage_error("%s: the id is too long", cmd) : 0;
}

static int parse_version(const char *cmd, const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1)
        return cli_usage_error("%s: --version wants a number from 1, not '%s'", cmd, s);
    *out = v;
    return 0;
}

void help_get(FILE *out)
{
    fputs("Usage: tracecheck get [OPTIONS] KIND ID\n\n"
          "Shows one thing the server keeps. KIND is test, suite, variableset,\n"
          "pollingprofile, datastore or run. A resource is shown with its version\n"
          "and its document as YAML; a run with its state, result, timeline and\n"
          "the same report `run` prints (specs, spans, assertions).\n\n"
          "Options:\n"
          "  --format FORMAT        pretty, json or yaml (default pretty); json and\n"
          "                         yaml print the server's answer (docs/api.md)\n"
          "  --version N            an older version of a resource\n" CLIENT_OPTIONS_HELP
          "\n" CLIENT_EXIT_HELP,
          out);
}

/* A run for people: the summary, the timeline, then the report. */
static int print_run(const json_t *run)
{
    bool color = cli_color(stdout);
    const char *bold = color ? "\033[1m" : "", *dim = color ? "\033[2m" : "", *reset = color ? "\033[0m" : "";
    const char *res = jstr(run, "result");
    printf("%sRun %lld%s  %s  %s (%s, version %lld)\n", bold, jint(run, "id"), reset,
           jstr(run, "kind") ? jstr(run, "kind") : "test",
           jstr(run, "test_name") ? jstr(run, "test_name") : "",
           jstr(run, "test_id") ? jstr(run, "test_id") : "", jint(run, "version"));
    printf("state %s  result %s  specs %lld passed, %lld failed",
           jstr(run, "state") ? jstr(run, "state") : "?", res && *res ? res : "-", jint(run, "passed"),
           jint(run, "failed"));
    const char *tid = jstr(run, "trace_id");
    if (tid && *tid)
        printf("  trace %s", tid);
    putchar('\n');
    printf("%screated %s", dim, jstr(run, "created") ? jstr(run, "created") : "-");
    const char *fin = jstr(run, "finished");
    if (fin && *fin) {
        tc_buf d;
        buf_init(&d, 64);
        fmt_duration(&d, (uint64_t)(json_number_value(json_object_get(run, "duration_ms")) * 1e6));
        printf("  finished %s  took %s", fin, buf_str(&d));
        buf_free(&d);
    }
    printf("%s\n", reset);
    size_t i;
    json_t *x;
    const json_t *tl = json_object_get(run, "timeline");
    if (json_array_size(tl)) {
        printf("%stimeline:", dim);
        json_array_foreach(tl, i, x)
            printf("%s%s", i ? " → " : " ", jstr(x, "state") ? jstr(x, "state") : "?");
        printf("%s\n", reset);
    }
    if (!json_is_object(json_object_get(run, "results"))) {
        const char *err = jstr(run, "error");
        if (err && *err)
            printf("error: %s\n", err);
        return EXIT_OK;
    }
    arena *a = arena_new(0);
    report_test rt;
    tc_error e;
    if (!a || client_report_from_run(run, NULL, a, &rt, &e)) {
        arena_free(&a);
        return cli_usage_error("get: the server's run cannot be read: %s", a ? e.msg : "out of memory");
    }
    tc_buf out;
    buf_init(&out, 0);
    report_pretty(&out, &rt, 1, color);
    putchar('\n');
    fwrite(buf_str(&out), 1, out.len, stdout);
    buf_free(&out);
    arena_free(&a);
    return EXIT_OK;
}

int cmd_get(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, O_FORMAT},
        {"version", required_argument, NULL, O_VERSION},
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *token_file = NULL, *format = "pretty";
    long version = 0;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_FORMAT:
            if (strcmp(optarg, "json") && strcmp(optarg, "yaml") && strcmp(optarg, "pretty"))
                return cli_usage_error("get: --format must be pretty, json or yaml, not '%s'", optarg);
            format = optarg;
            break;
        case O_VERSION:
            if (parse_version("get", optarg, &version))
                return EXIT_USAGE;
            break;
        case O_SERVER: server = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        default:
            return cli_usage_error("get: unknown option or missing value '%s' (see 'tracecheck get --help')",
                                   argv[optind - 1]);
        }
    }
    const kind_def *k;
    const char *id;
    tc_buf path;
    buf_init(&path, 1 << 16);
    int status = kind_and_id("get", argc, argv, true, &k, &id, &path);
    if (!status && version && is_runs(k))
        status = cli_usage_error("get: runs have no versions");
    if (status) {
        buf_free(&path);
        return status;
    }
    if (version)
        buf_printf(&path, "?version=%ld", version);
    client *c = NULL;
    json_t *j = NULL;
    char what[300];
    snprintf(what, sizeof what, "get %s %.200s", k->label, id);
    if (!(status = client_from_flags("get", server, token_file, &c)) &&
        !(status = call_json(c, what, "GET", buf_str(&path), NULL, &j))) {
        if (strcmp(format, "json") == 0) {
            status = print_json(j);
        } else if (strcmp(format, "yaml") == 0) {
            status = print_yaml(j);
        } else if (is_runs(k)) {
            status = print_run(j);
        } else {
            bool color = cli_color(stdout);
            printf("%s%s %s%s  version %lld  updated %s\n", color ? "\033[1m" : "",
                   jstr(j, "kind") ? jstr(j, "kind") : "", jstr(j, "id") ? jstr(j, "id") : id,
                   color ? "\033[0m" : "", jint(j, "version"), jstr(j, "updated") ? jstr(j, "updated") : "-");
            const char *name = jstr(j, "name");
            if (name && *name)
                printf("name: %s\n", name);
            printf("\n");
            status = print_yaml(json_object_get(j, "document"));
        }
    }
    json_decref(j);
    client_close(&c);
    buf_free(&path);
    return status;
}

void help_export(FILE *out)
{
    fputs("Usage: tracecheck export [OPTIONS] KIND ID\n\n"
          "Writes the document of a resource the server keeps (KIND: test, suite,\n"
          "variableset, pollingprofile, datastore) as YAML, ready to be applied\n"
          "again: `tracecheck export test checkout > checkout.yaml`.\n\n"
          "Options:\n"
          "  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
          "  --version N            an older version\n" CLIENT_OPTIONS_HELP "\n" CLIENT_EXIT_HELP,
          out);
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"version", required_argument, NULL, O_VERSION},
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *token_file = NULL, *output = NULL;
    long version = 0;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': output = optarg; break;
        case O_VERSION:
            if (parse_version("export", optarg, &version))
                return EXIT_USAGE;
            break;
        case O_SERVER: server = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        default:
            return cli_usage_error(
                "export: unknown option or missing value '%s' (see 'tracecheck export --help')",
                argv[optind - 1]);
        }
    }
    const kind_def *k;
    const char *id;
    tc_buf path;
    buf_init(&path, 1 << 16);
    int status = kind_and_id("export", argc, argv, false, &k, &id, &path);
    if (status) {
        buf_free(&path);
        return status;
    }
    if (version)
        buf_printf(&path, "?version=%ld", version);
    client *c = NULL;
    client_response r;
    memset(&r, 0, sizeof r);
    if ((status = client_from_flags("export", server, token_file, &c)))
        goto out;
    tc_error e;
    int rc = client_request(c, "GET", buf_str(&path), NULL, "application/yaml", NULL, 0, &r, &e);
    if (rc) {
        status = client_report_failure(rc, &e);
        goto out;
    }
    if (r.status != 200) {
        char what[300];
        snprintf(what, sizeof what, "export %s %.200s", k->label, id);
        status = client_report_error(c, what, &r);
        goto out;
    }
    if (strstr(r.content_type, "json")) {
        fprintf(stderr, "tracecheck: export: the server answered JSON, not YAML\n");
        status = EXIT_RUN;
        goto out;
    }
    bool nl = r.len && r.body[r.len - 1] != '\n';
    if (!output) {
        if ((r.len && fwrite(r.body, 1, r.len, stdout) != r.len) || (nl && putchar('\n') == EOF) ||
            fflush(stdout) != 0) {
            fprintf(stderr, "tracecheck: export: cannot write the output\n");
            status = EXIT_USAGE;
        }
        goto out;
    }
    if (write_atomic(output, r.body, r.len, nl)) {
        fprintf(stderr, "tracecheck: export: cannot write %s: %s\n", output, strerror(errno));
        status = EXIT_USAGE;
    }
out:
    client_response_free(&r);
    client_close(&c);
    buf_free(&path);
    return status;
}

void help_delete(FILE *out)
{
    fputs("Usage: tracecheck delete [OPTIONS] KIND ID\n\n"
          "Deletes a resource from the server (KIND: test, suite, variableset,\n"
          "pollingprofile, datastore). It no longer lists and cannot be run; its\n"
          "past runs stay readable, and applying it again brings it back.\n\n"
          "Options:\n" CLIENT_OPTIONS_HELP "\n" CLIENT_EXIT_HELP,
          out);
}

int cmd_delete(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, O_SERVER},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *token_file = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_SERVER: server = optarg; break;
        case O_TOKEN_FILE: token_file = optarg; break;
        default:
            return cli_usage_error(
                "delete: unknown option or missing value '%s' (see 'tracecheck delete --help')",
                argv[optind - 1]);
        }
    }
    const kind_def *k;
    const char *id;
    tc_buf path;
    buf_init(&path, 1 << 16);
    int status = kind_and_id("delete", argc, argv, false, &k, &id, &path);
    client *c = NULL;
    json_t *j = NULL;
    char what[300];
    snprintf(what, sizeof what, "delete %s %.200s", k ? k->label : "", id ? id : "");
    if (!status && !(status = client_from_flags("delete", server, token_file, &c)) &&
        !(status = call_json(c, what, "DELETE", buf_str(&path), NULL, &j)))
        printf("deleted %s %s\n", k->label, id);
    json_decref(j);
    client_close(&c);
    buf_free(&path);
    return status;
}

/* ---- run --server ---- */

/* One run to start: a Test or a TestSuite of a given file. */
typedef struct planned {
    const cfile *file;
    const char *kind_path; /* "tests" or "testsuites" */
    const char *id;        /* on the server */
    const char *name;
} planned;

/* What the event stream of one run tells. */
typedef struct follow {
    const char *name;
    char state[32];
    long long spans;
    uint64_t t0_ms;
    int spin;
    FILE *status; /* a terminal for the progress line, or NULL */
    json_t *result;
} follow;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The same live line a local run shows. */
static void follow_tick(void *user)
{
    follow *f = user;
    if (!f->status)
        return;
    static const char *const frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    fprintf(f->status, "\r\033[K%s %s  %s  %lld span%s  %.1fs", frames[f->spin++ % 10], f->name,
            f->state[0] ? f->state : "QUEUED", f->spans, f->spans == 1 ? "" : "s",
            (double)(now_ms() - f->t0_ms) / 1e3);
    fflush(f->status);
}

static int follow_event(void *user, const char *event, const char *data, size_t len)
{
    follow *f = user;
    json_t *j = json_loadb(data, len, 0, NULL);
    if (!j)
        return 0; /* not ours to judge: skip it */
    if (strcmp(event, "state") == 0 && jstr(j, "state")) {
        snprintf(f->state, sizeof f->state, "%s", jstr(j, "state"));
        follow_tick(f);
    } else if (strcmp(event, "spans") == 0) {
        f->spans = jint(j, "count");
        follow_tick(f);
    } else if (strcmp(event, "result") == 0) {
        json_decref(f->result);
        f->result = j;
        return 1; /* the last event */
    }
    json_decref(j);
    return 0;
}

/* Follows run `id` to its end; *out is the run (the result event's data,
 * or GET /api/runs/{id} when the stream ended without it). Returns 0 or
 * the exit code after printing why. */
static int follow_run(client *c, long long id, follow *f, json_t **out)
{
    char path[96];
    snprintf(path, sizeof path, "/api/runs/%lld/events", id);
    for (int attempt = 0; attempt <= CLIENT_STREAM_RETRIES; attempt++) {
        client_response r = {0};
        tc_error e;
        int rc = client_events(c, path, follow_event, follow_tick, f, &r, &e);
        if (rc && client_interrupted()) {
            if (f->status)
                fputs("\r\033[K", f->status);
            char cp[96];
            snprintf(cp, sizeof cp, "/api/runs/%lld/cancel", id);
            client_response cr;
            bool cancelled = false;
            if (client_request(c, "POST", cp, NULL, "application/json", NULL, 0, &cr, &e) == 0) {
                cancelled = cr.status / 100 == 2;
                client_response_free(&cr);
            }
            fprintf(stderr, "tracecheck: interrupted; run %lld %s\n", id,
                    cancelled ? "cancelled" : "goes on on the server");
            return EXIT_RUN;
        }
        if (!rc && r.status != 200) {
            char what[96];
            snprintf(what, sizeof what, "the events of run %lld", id);
            if (f->status)
                fputs("\r\033[K", f->status);
            int st = client_report_error(c, what, &r);
            client_response_free(&r);
            return st;
        }
        client_response_free(&r);
        if (f->result) {
            *out = f->result;
            f->result = NULL;
            return 0;
        }
        if (rc == TC_ERR_LIMIT)
            return client_report_failure(rc, &e);
        /* the stream ended without the result: is the run over? */
        char rp[96];
        snprintf(rp, sizeof rp, "/api/runs/%lld", id);
        client_response gr;
        if (client_request(c, "GET", rp, NULL, "application/json", NULL, 0, &gr, &e) == 0) {
            json_t *j = gr.status == 200 ? client_response_json(&gr) : NULL;
            client_response_free(&gr);
            if (j && client_state_final(jstr(j, "state"))) {
                *out = j;
                return 0;
            }
            json_decref(j);
        } else if (attempt == CLIENT_STREAM_RETRIES) {
            if (f->status)
                fputs("\r\033[K", f->status);
            fprintf(stderr, "tracecheck: run %lld: %s\n", id, e.msg);
            return EXIT_RUN;
        }
        long ms = 200L << (attempt < 3 ? attempt : 3); /* 0.2, 0.4, 0.8, 1.6 s */
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (f->status)
        fputs("\r\033[K", f->status);
    fprintf(stderr, "tracecheck: lost the event stream of run %lld on %s\n", id, client_url(c));
    return EXIT_RUN;
}

/* Loads --vars files: their values, in order (later wins); a secret one
 * as {"value", "secret": true}, so the server masks it too. */
static int load_vars_files(const client_run_opts *o, json_t *vars)
{
    for (int i = 0; i < o->n_vars_files; i++) {
        cfiles one = {0};
        if (add_file(&one, o->vars_files[i], false)) {
            cfiles_free(&one);
            return EXIT_USAGE;
        }
        bool any = false;
        res_file *f = one.v[0].res;
        for (size_t k = 0; k < f->n_items; k++) {
            if (f->items[k].kind != RES_VARSET)
                continue;
            any = true;
            const res_varset *vs = f->items[k].u.varset;
            for (size_t m = 0; m < vs->n_values; m++) {
                const res_var *x = &vs->values[m];
                if (!x->key.s)
                    continue;
                const char *val = x->value.s ? x->value.s : "";
                bool secret = x->secret.v || (x->type.s && strcmp(x->type.s, "secret") == 0);
                json_object_set_new(vars, x->key.s,
                                    secret ? json_pack("{s:s,s:b}", "value", val, "secret", 1)
                                           : json_string(val));
            }
        }
        cfiles_free(&one);
        if (!any) {
            fprintf(stderr, "%s: no VariableSet in this file\n", o->vars_files[i]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static const json_t *server_item(const cfile *f, size_t k)
{
    return json_array_get(f->items, k); /* the server answers in document order */
}

/* A test found below a DIR that a suite of the run also runs (a step
 * names its id) is run in the suite only, as `run` does. */
static bool run_in_suite_only(const cfiles *fs, const cfile *f, const res_test *t)
{
    if (!f->from_dir || !t->id.s)
        return false;
    for (size_t i = 0; i < fs->n; i++) {
        const res_file *rf = fs->v[i].res;
        for (size_t k = 0; k < rf->n_items; k++) {
            if (rf->items[k].kind != RES_TESTSUITE)
                continue;
            const res_suite *s = rf->items[k].u.suite;
            for (size_t m = 0; m < s->n_steps; m++)
                if (s->steps[m].s && strcmp(s->steps[m].s, t->id.s) == 0)
                    return true;
        }
    }
    return false;
}

/* The local file of the test with this id, or NULL. */
static const char *file_of_test(const cfiles *fs, const char *id)
{
    for (size_t i = 0; id && i < fs->n; i++)
        for (size_t k = 0; k < fs->v[i].res->n_items; k++) {
            const res_resource *r = &fs->v[i].res->items[k];
            if (r->kind == RES_TEST && r->u.test->id.s && strcmp(r->u.test->id.s, id) == 0)
                return fs->v[i].path;
        }
    return NULL;
}

/* Reports of one finished run: one for a test; a suite's run has one a
 * step when its results are a report with "tests" (each step's file is
 * the local file of its test, when it is among the files). */
static int add_reports(const json_t *run, const planned *p, const cfiles *fs, arena *a, report_test **rts,
                       size_t *n, size_t *cap)
{
    const json_t *results = json_object_get(run, "results");
    const json_t *tests = json_object_get(results, "tests");
    size_t want = json_is_array(tests) ? json_array_size(tests) : 1;
    if (*n + want > *cap) {
        size_t nc = (*cap ? *cap * 2 : 16) + want;
        report_test *v = realloc(*rts, nc * sizeof *v);
        if (!v)
            return TC_ERR_NOMEM;
        *rts = v;
        *cap = nc;
    }
    tc_error e;
    if (!json_is_array(tests)) {
        if (client_report_from_run(run, p->file->path, a, &(*rts)[*n], &e))
            return cli_usage_error("run: run of %s: %s", p->name, e.msg);
        if (!(*rts)[*n].name)
            (*rts)[*n].name = p->name;
        (*n)++;
        return 0;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        json_t *one = json_pack("{s:O,s:s?}", "results", t, "state", jstr(t, "state"));
        int rc = one ? client_report_from_run(one, file_of_test(fs, jstr(t, "id")), a, &(*rts)[*n], &e)
                     : TC_ERR_NOMEM;
        json_decref(one);
        if (rc)
            return cli_usage_error("run: run of %s: %s", p->name,
                                   rc == TC_ERR_NOMEM ? "out of memory" : e.msg);
        (*n)++;
    }
    return 0;
}

int client_run(const client_run_opts *o)
{
    client *c = NULL;
    cfiles fs = {0};
    planned *plan = NULL;
    size_t n_plan = 0;
    report_test *rts = NULL;
    size_t n_rts = 0, cap_rts = 0;
    arena *a = arena_new(0);
    json_t *vars = json_object(), *sets = json_array();
    int status = client_from_flags("run", o->server, o->token_file, &c);
    if (status)
        goto out;
    if (!a || !vars || !sets) {
        status = cli_usage_error("out of memory");
        goto out;
    }
    if ((status = load_vars_files(o, vars)) || (status = add_args(&fs, o->files, o->n_files)))
        goto out;
    /* variables: --vars, then the VariableSets among FILEs (sent as
     * variableSets, so the server keeps their secrets secret), then --var */
    for (size_t i = 0; i < fs.n; i++)
        for (size_t k = 0; k < fs.v[i].res->n_items; k++)
            if (fs.v[i].res->items[k].kind == RES_VARSET) {
                const res_varset *vs = fs.v[i].res->items[k].u.varset;
                for (size_t m = 0; m < vs->n_values; m++)
                    if (vs->values[m].key.s)
                        json_object_del(vars, vs->values[m].key.s);
            }
    for (int i = 0; i < o->n_var_args; i++) {
        const char *eq = strchr(o->var_args[i], '=');
        if (!eq || eq == o->var_args[i]) {
            status = cli_usage_error("run: --var wants KEY=VALUE, not '%s'", o->var_args[i]);
            goto out;
        }
        char key[512];
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->var_args[i]), o->var_args[i]);
        json_object_set_new(vars, key, json_string(eq + 1));
    }
    bool any = false;
    for (size_t i = 0; i < fs.n; i++)
        for (size_t k = 0; k < fs.v[i].res->n_items; k++)
            any =
                any || fs.v[i].res->items[k].kind == RES_TEST || fs.v[i].res->items[k].kind == RES_TESTSUITE;
    if (!any) {
        status = cli_usage_error("run: no Test or TestSuite in the given files");
        goto out;
    }
    if ((status = apply_files(c, &fs)))
        goto out;

    size_t n_items = 0;
    for (size_t i = 0; i < fs.n; i++)
        n_items += fs.v[i].res->n_items;
    plan = calloc(n_items + 1, sizeof *plan);
    if (!plan) {
        status = cli_usage_error("out of memory");
        goto out;
    }
    for (size_t i = 0; i < fs.n; i++) {
        const cfile *f = &fs.v[i];
        for (size_t k = 0; k < f->res->n_items; k++) {
            const res_resource *r = &f->res->items[k];
            const json_t *it = server_item(f, k);
            const char *sid = jstr(it, "id");
            if (r->kind == RES_VARSET && sid)
                json_array_append_new(sets, json_string(sid));
            if (r->kind != RES_TEST && r->kind != RES_TESTSUITE)
                continue;
            if (!sid) {
                fprintf(stderr, "tracecheck: run: the server gave no id for the %s at %s:%d:%d\n",
                        res_kind_name(r->kind), f->path, r->line, r->col);
                status = EXIT_RUN;
                goto out;
            }
            if (r->kind == RES_TEST && run_in_suite_only(&fs, f, r->u.test))
                continue;
            const char *name = r->kind == RES_TEST ? r->u.test->name.s : r->u.suite->name.s;
            plan[n_plan++] = (planned){f, r->kind == RES_TEST ? "tests" : "testsuites", sid,
                                       name ? name : (jstr(it, "name") ? jstr(it, "name") : sid)};
        }
    }

    FILE *tty = cli_color(stderr) ? stderr : NULL;
    for (size_t i = 0; i < n_plan; i++) {
        const planned *p = &plan[i];
        json_t *body = json_object();
        if (!body) {
            status = cli_usage_error("out of memory");
            goto out;
        }
        if (json_object_size(vars))
            json_object_set(body, "variables", vars);
        if (json_array_size(sets))
            json_object_set(body, "variableSets", sets);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        tc_buf path;
        buf_init(&path, 1 << 16);
        buf_printf(&path, "/api/%s/", p->kind_path);
        client_escape(&path, p->id);
        buf_puts(&path, "/run");
        client_response r;
        tc_error e;
        follow f = {.name = p->name, .t0_ms = now_ms(), .status = tty};
        follow_tick(&f);
        int rc = text ? client_request(c, "POST", buf_str(&path), "application/json", "application/json",
                                       text, strlen(text), &r, &e)
                      : tc_error_set(&e, TC_ERR_NOMEM, "out of memory");
        free(text);
        buf_free(&path);
        if (rc) {
            if (tty)
                fputs("\r\033[K", tty);
            status = client_report_failure(rc, &e);
            goto out;
        }
        json_t *started = r.status / 100 == 2 ? client_response_json(&r) : NULL;
        client_api_error start_err;
        client_api_error_of(&r, &start_err);
        if (r.status == 400 && strncmp(start_err.message, "missing variable", 16) == 0) {
            /* a variable the test needs is not there: the run fails as a local run's trigger does */
            client_response_free(&r);
            planned one = *p;
            json_t *fake = json_pack("{s:s,s:s,s:s,s:s}", "test_name", p->name, "test_id", p->id, "state",
                                     "TRIGGER_FAILED", "error", start_err.message);
            int arc = fake ? add_reports(fake, &one, &fs, a, &rts, &n_rts, &cap_rts) : TC_ERR_NOMEM;
            json_decref(fake);
            if (tty)
                fputs("\r\033[K", tty);
            if (arc) {
                status = EXIT_USAGE;
                goto out;
            }
            continue;
        }
        if (!started || !json_is_integer(json_object_get(started, "id"))) {
            if (tty)
                fputs("\r\033[K", tty);
            char what[300];
            snprintf(what, sizeof what, "run %.200s", p->id);
            status =
                r.status / 100 == 2
                    ? (fprintf(stderr, "tracecheck: %s: the server's answer has no run id\n", what), EXIT_RUN)
                    : client_report_error(c, what, &r);
            json_decref(started);
            client_response_free(&r);
            goto out;
        }
        client_response_free(&r);
        long long run_id = json_integer_value(json_object_get(started, "id"));
        json_decref(started);
        json_t *run = NULL;
        status = follow_run(c, run_id, &f, &run);
        json_decref(f.result);
        if (tty)
            fputs("\r\033[K", tty);
        if (status)
            goto out;
        size_t before = n_rts;
        int arc = add_reports(run, p, &fs, a, &rts, &n_rts, &cap_rts);
        json_decref(run);
        if (arc) {
            status = EXIT_USAGE;
            goto out;
        }
        /* outputs of a test become variables for the tests after it */
        for (size_t k = before; k < n_rts; k++)
            for (uint32_t m = 0; rts[k].run && m < rts[k].run->n_outputs; m++)
                if (rts[k].run->outputs[m].name && rts[k].run->outputs[m].value)
                    json_object_set_new(vars, rts[k].run->outputs[m].name,
                                        json_string(rts[k].run->outputs[m].value));
    }

    tc_buf out;
    buf_init(&out, 0);
    if (o->json)
        report_json(&out, rts, n_rts);
    else
        report_pretty(&out, rts, n_rts, cli_color(stdout));
    fwrite(buf_str(&out), 1, out.len, stdout);
    fflush(stdout);
    status = EXIT_OK;
    if (o->junit) {
        buf_reset(&out);
        report_junit(&out, rts, n_rts);
        if (write_atomic(o->junit, buf_str(&out), out.len, false)) {
            fprintf(stderr, "tracecheck: cannot write %s\n", o->junit);
            status = EXIT_USAGE;
        }
    }
    buf_free(&out);
    if (status == EXIT_OK) {
        report_summary s;
        report_summarize(rts, n_rts, &s);
        status = s.errors || s.skipped ? EXIT_RUN : s.failed ? EXIT_FAILED : EXIT_OK;
    }
out:
    free(rts);
    free(plan);
    json_decref(vars);
    json_decref(sets);
    cfiles_free(&fs);
    arena_free(&a);
    client_close(&c);
    return status;
}
