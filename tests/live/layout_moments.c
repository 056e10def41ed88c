/* Processes whose memory does one known thing, for tests/live/test_layout_facts.py (compiled
 * there at test time). Prints one JSON line, then does its part until stdin closes.
 *   threshold  malloc(200 KiB) (mmap'd: above glibc's 128 KiB threshold), free it (which raises
 *              the threshold to its size), malloc(200 KiB) again (now from the brk heap)
 *   zero-read  maps 16 MiB at a time and reads (never writes) one byte of every page, over and
 *              over: minor faults that map the shared zero page and take no RAM (no huge
 *              pages: MADV_NOHUGEPAGE, so one fault per 4 KiB page)
 *   late-map   waits for a line on stdin, then maps 8 MiB and writes 1 MiB of it, and prints
 *              {"late": ADDRESS} */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int stdin_closed(void) {
    struct pollfd p = {0, POLLIN, 0};
    char buf[64];
    return poll(&p, 1, 0) > 0 && read(0, buf, sizeof buf) <= 0;
}

static void wait_eof(void) {
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "threshold")) {
        char *first = malloc(200 << 10);
        memset(first, 1, 200 << 10);
        unsigned long first_at = (unsigned long)first;
        free(first);
        char *second = malloc(200 << 10);
        memset(second, 2, 200 << 10);
        printf("{\"pid\": %d, \"first\": %lu, \"second\": %lu, \"sbrk0\": %lu}\n", getpid(),
               first_at, (unsigned long)second, (unsigned long)sbrk(0));
        fflush(stdout);
        wait_eof();
    } else if (!strcmp(mode, "zero-read")) {
        printf("{\"pid\": %d}\n", getpid());
        fflush(stdout);
        volatile unsigned long sum = 0;
        while (!stdin_closed()) {
            size_t size = 16 << 20;
            volatile char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            madvise((void *)p, size, MADV_NOHUGEPAGE); /* 4 KiB zero pages, a fault each */
            for (size_t off = 0; off < size; off += 4096) {
                sum += p[off];
                if (off % (64 * 4096) == 0) usleep(1000);
            }
            munmap((void *)p, size);
        }
    } else if (!strcmp(mode, "late-map")) {
        printf("{\"pid\": %d}\n", getpid());
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof line, stdin)) return 1;
        char *late = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        madvise(late, 8 << 20, MADV_NOHUGEPAGE); /* 256 faults for 1 MiB, whatever THP says */
        memset(late, 1, 1 << 20);
        printf("{\"late\": %lu}\n", (unsigned long)late);
        fflush(stdout);
        wait_eof();
    } else {
        return 2;
    }
    return 0;
}
