/* watch.c - `tracecheck run --watch`: runs the tests, then again each time
 * a file they come from changes, until Ctrl-C. Each run is a child process
 * running `run` without --watch, so every run starts clean (receivers,
 * memory) and reports exactly as a single run does. Changes are read with
 * inotify on the folders of the files given (test files, --trace, --vars,
 * --datastore; a folder argument with its subfolders), so a body file or a
 * .proto next to a test counts, and an editor that saves by renaming is
 * seen. Events within WATCH_SETTLE_MS of each other make one run. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WATCH_SETTLE_MS 150
#define WATCH_MAX_DIRS 4096
#define WATCH_MAX_DEPTH 16

/* run's options that take a value (the value is not a file to watch,
 * except where `watched` says so) */
static const struct {
    const char *name;
    bool watched;
} valued[] = {
    {"--trace", true},      {"--vars", true},        {"--datastore", true},   {"--var", false},
    {"--format", false},    {"--junit", false},      {"--timeout", false},    {"--quiet-window", false},
    {"--otlp-http", false}, {"--otlp-grpc", false},  {"--save-trace", false}, {"--server", false},
    {"--token-file", false}, {"--baseline", false},  {"--fail-on-diff", false}, {"--analyzer", true},
};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    stop_sig = sig;
}

bool cli_watch_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--watch") == 0)
            return true;
    }
    return false;
}

typedef struct watcher {
    int fd;
    int n_dirs;
    bool over; /* more folders than WATCH_MAX_DIRS */
} watcher;

static void add_dir(watcher *w, const char *dir, bool recurse, int depth)
{
    if (w->n_dirs >= WATCH_MAX_DIRS) {
        w->over = true;
        return;
    }
    uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB;
    if (inotify_add_watch(w->fd, dir, mask) >= 0)
        w->n_dirs++;
    if (!recurse || depth >= WATCH_MAX_DEPTH)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "node_modules") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            add_dir(w, path, true, depth + 1);
    }
    closedir(d);
}

/* Watches the folder of a file, or a folder and its subfolders. */
static void add_path(watcher *w, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        add_dir(w, path, true, 0);
        return;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    add_dir(w, dir, false, 0);
}

/* Whether a changed name is worth a run: not hidden, not an editor's
 * backup or swap file. */
static bool interesting(const char *name)
{
    size_t n = strlen(name);
    if (!n || name[0] == '.' || name[n - 1] == '~' || name[0] == '#')
        return false;
    static const char *const skip[] = {".swp", ".swx", ".tmp", ".part"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
        size_t k = strlen(skip[i]);
        if (n > k && strcmp(name + n - k, skip[i]) == 0)
            return false;
    }
    return true;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the events there are; true when one names an interesting file
 * (the last such name in `what`). */
static bool drain(int fd, char *what, size_t n)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool hit = false;
    for (;;) {
        ssize_t len = read(fd, buf, sizeof buf);
        if (len <= 0)
            return hit;
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len && interesting(ev->name)) {
                snprintf(what, n, "%s", ev->name); /* the last: a save by rename ends on the real name */
                hit = true;
            }
            p += sizeof *ev + ev->len;
        }
    }
}

/* Waits for a change that settles; false on a stop signal. */
static bool wait_change(int fd, char *what, size_t n)
{
    bool seen = false;
    int64_t last = 0;
    for (;;) {
        if (stop_sig)
            return false;
        int timeout = seen ? (int)(last + WATCH_SETTLE_MS - mono_ms()) : -1;
        if (seen && timeout <= 0)
            return true;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout);
        if (r < 0 && errno != EINTR)
            return false;
        if (r > 0 && drain(fd, what, n)) {
            seen = true;
            last = mono_ms();
        }
    }
}

/* One run in a child process; its exit status, or -1 when stopped. */
static int run_child(int argc, char **argv, int (*run)(int, char **))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "tracecheck: run --watch: cannot start a run: %s\n", strerror(errno));
        return EXIT_RUN;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int rc = run(argc, argv);
        fflush(NULL);
        _exit(rc);
    }
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return EXIT_RUN;
        if (stop_sig) {
            kill(pid, SIGTERM);
            waitpid(pid, &st, 0);
            return -1;
        }
    }
    if (stop_sig)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_RUN;
}

int cli_watch(int argc, char **argv, int (*run)(int, char **))
{
    /* the arguments without --watch, and the files to watch */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!args || !files) {
        free(args);
        free(files);
        return cli_usage_error("out of memory");
    }
    int n = 0, nf = 0, positional = 0;
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i > 0 && !rest && strcmp(a, "--watch") == 0)
            continue;
        args[n++] = argv[i];
        if (i == 0)
            continue;
        if (!rest && strcmp(a, "--") == 0) {
            rest = true;
            continue;
        }
        if (!rest && a[0] == '-' && a[1]) {
            const char *eq = strchr(a, '=');
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
                size_t kl = strlen(valued[k].name);
                if (strncmp(a, valued[k].name, kl) != 0 || (a[kl] != '\0' && a[kl] != '='))
                    continue;
                if (eq && valued[k].watched)
                    files[nf++] = eq + 1;
                else if (!eq && i + 1 < argc) {
                    args[n++] = argv[++i];
                    if (valued[k].watched)
                        files[nf++] = argv[i];
                }
                break;
            }
            continue;
        }
        files[nf++] = a;
        positional++;
    }
    args[n] = NULL;
    if (positional == 0) {
        free(args);
        free(files);
        return cli_usage_error("run --watch: no test file to watch");
    }

    watcher w = {inotify_init1(IN_NONBLOCK | IN_CLOEXEC), 0, false};
    if (w.fd < 0) {
        free(args);
        free(files);
        fprintf(stderr, "tracecheck: run --watch: cannot watch files: %s\n", strerror(errno));
        return EXIT_RUN;
    }
    for (int i = 0; i < nf; i++)
        add_path(&w, files[i]);
    if (w.over)
        fprintf(stderr, "tracecheck: run --watch: more than %d folders: only the first are watched\n",
                WATCH_MAX_DIRS);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    bool tty = isatty(STDOUT_FILENO);
    int rc = 0;
    char what[NAME_MAX + 1] = "";
    for (unsigned round = 1;; round++) {
        if (tty)
            fputs("\033[H\033[2J\033[3J", stdout); /* a clean screen for the new report */
        else if (round > 1)
            printf("\n--- run %u (%s changed) ---\n", round, what);
        fflush(stdout);
        rc = run_child(n, args, run);
        if (rc < 0)
            break;
        fprintf(stderr, "\nwatching %d folder%s for changes (Ctrl-C to stop)\n", w.n_dirs,
                w.n_dirs == 1 ? "" : "s");
        if (!wait_change(w.fd, what, sizeof what))
            break;
    }
    close(w.fd);
    free(args);
    free(files);
    return stop_sig ? 130 : rc;
}
