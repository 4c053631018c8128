/* replay_main.c - runs a libFuzzer harness over every file of a corpus
 * folder without libFuzzer, so normal test runs (and the sanitizer build)
 * replay the corpus. Prints "N passed, 0 failed": a crash fails the run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "cannot open corpus %s\n", argv[i]);
            printf("0 passed, 1 failed\n");
            return 1;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            fseek(f, 0, SEEK_END);
            long len = ftell(f);
            fseek(f, 0, SEEK_SET);
            uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
            size_t got = buf ? fread(buf, 1, (size_t)(len > 0 ? len : 0), f) : 0;
            fclose(f);
            if (buf) {
                LLVMFuzzerTestOneInput(buf, got);
                free(buf);
                n++;
            }
        }
        closedir(d);
    }
    printf("%d passed, 0 failed\n", n);
    return 0;
}
