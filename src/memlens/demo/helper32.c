/* The 32-bit process of `memlens demo layout32`: built with `cc -m32` on the user's machine.
 * It allocates a little from malloc (so that it has a [heap]), prints {"pid": N}, and waits:
 * it exits when its input closes, or stays until SIGTERM after reading "keep". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char zeroes[1 << 20]; /* 1 MiB of BSS */
static int counter = 42;     /* initialised data */

int main(void) {
    char line[64];
    char *block = malloc(64 * 1024);
    memset(block, 1, 64 * 1024);
    zeroes[0] = (char)counter;
    printf("{\"pid\": %d}\n", (int)getpid());
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "keep", 4) == 0) {
            for (;;)
                pause();
        }
    }
    return 0;
}
